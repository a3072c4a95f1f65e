/* plan.c - the build graph: stages, the target, and what it needs.
 *
 * A stage runs from one FROM to the next.  ARGs before the first FROM are
 * the global scope, usable only in FROM lines (a stage re-declares one with
 * a bare `ARG NAME` to see it).  The target is --target or the last stage;
 * only the stages it reaches through `FROM <stage>` and `COPY --from=<stage>`
 * are built, as BuildKit does.  A dependency loop is an error naming the
 * line that closes it.
 */
#include "build-internal.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <ctype.h>
#include <string.h>

static const char *global_lookup(const char *name, void *ud)
{
	json_t *v = json_object_get(ud, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int build_plan_find_stage(const BuildPlan *p, const char *word, size_t before)
{
	if (!word || !*word)
		return -1;
	for (size_t i = 0; i < p->n && i < before; i++)
		if (p->stages[i].name && !strcasecmp(p->stages[i].name, word))
			return (int)i;
	char *end;
	long idx = strtol(word, &end, 10);
	if (!*end && isdigit((unsigned char)word[0]) && idx >= 0 && (size_t)idx < p->n && (size_t)idx < before)
		return (int)idx;
	return -1;
}

/* ARG NAME[=default] ... in the global scope. */
static int global_arg(const BuildDockerfile *df, const BuildInstr *in, json_t *build_args, json_t *globals,
		      Error **err)
{
	_cleanup_strv_ char **words = NULL;
	int r = build_words_split(in->rest, df->escape, &words, err);
	if (r < 0)
		return err_prefix(err, "%s:%d", df->name, in->line);
	if (!words[0])
		return err_set(err, EINVAL, "%s:%d: ARG requires at least one argument", df->name, in->line);
	for (char **w = words; *w; w++) {
		char *eq = strchr(*w, '=');
		_cleanup_free_ char *name = eq ? xstrndup(*w, (size_t)(eq - *w)) : xstrdup(*w);
		_cleanup_free_ char *val = NULL;
		if (eq && build_word_expand(eq + 1, df->escape, global_lookup, globals, &val, err) < 0)
			return err_prefix(err, "%s:%d", df->name, in->line);
		json_t *ba = json_object_get(build_args, name);
		if (json_is_string(ba))
			json_object_set(globals, name, ba);
		else
			json_object_set_new(globals, name, val ? json_string(val) : json_null());
	}
	return 0;
}

static int stage_from(const BuildDockerfile *df, BuildPlan *p, size_t i, Error **err)
{
	const BuildInstr *in = &df->instrs[i];
	_cleanup_strv_ char **words = NULL;
	int r = build_words_split(in->rest, df->escape, &words, err);
	if (r < 0)
		return err_prefix(err, "%s:%d", df->name, in->line);
	size_t n = 0;
	while (words[n])
		n++;
	if (n != 1 && !(n == 3 && !strcasecmp(words[1], "as")))
		return err_set(err, EINVAL, "%s:%d: FROM requires either one or three arguments", df->name, in->line);
	if (p->n >= BERTH_MAX_BUILD_STAGES)
		return err_set(err, E2BIG, "%s:%d: too many stages", df->name, in->line);
	BuildStage st = { .first = i, .end = df->n, .base_stage = -1 };
	r = build_word_expand(words[0], df->escape, global_lookup, p->global_args, &st.base, err);
	if (r < 0)
		return err_prefix(err, "%s:%d", df->name, in->line);
	if (!*st.base) {
		free(st.base);
		return err_set(err, EINVAL, "%s:%d: FROM: base name (%s) should not be blank", df->name, in->line,
			       words[0]);
	}
	if (n == 3) {
		st.name = xstrdup(words[2]);
		lower(st.name);
		for (size_t k = 0; k < p->n; k++)
			if (p->stages[k].name && !strcmp(p->stages[k].name, st.name)) {
				free(st.name);
				free(st.base);
				return err_set(err, EINVAL, "%s:%d: duplicate stage name '%s'", df->name, in->line,
					       words[2]);
			}
	}
	st.base_stage = build_plan_find_stage(p, st.base, p->n);
	if (p->n)
		p->stages[p->n - 1].end = i;
	p->stages = xrealloc(p->stages, (p->n + 1) * sizeof(BuildStage));
	p->stages[p->n++] = st;
	return 0;
}

/* Visit stage k and what it depends on; state: 0 new, 1 on the path, 2 done. */
static int mark_needed(const BuildDockerfile *df, BuildPlan *p, size_t k, int *state, int line, Error **err)
{
	if (state[k] == 1)
		return err_set(err, EINVAL, "%s:%d: circular dependency between build stages (stage '%s')", df->name,
			       line, p->stages[k].name ? p->stages[k].name : "?");
	if (state[k] == 2)
		return 0;
	state[k] = 1;
	BuildStage *st = &p->stages[k];
	int r = 0;
	if (st->base_stage >= 0)
		r = mark_needed(df, p, (size_t)st->base_stage, state, df->instrs[st->first].line, err);
	for (size_t i = st->first + 1; r == 0 && i < st->end; i++) {
		const BuildInstr *in = &df->instrs[i];
		if (strcmp(in->cmd, "copy") && strcmp(in->cmd, "add"))
			continue;
		const char *from = build_instr_flag(in, "from");
		int dep = build_plan_find_stage(p, from, p->n);
		if (dep >= 0)
			r = mark_needed(df, p, (size_t)dep, state, in->line, err);
	}
	state[k] = 2;
	st->needed = true;
	p->order = xrealloc(p->order, (p->n_order + 1) * sizeof(size_t));
	p->order[p->n_order++] = k;
	return r;
}

int build_plan_make(const BuildDockerfile *df, const BuildOptions *o, json_t *build_args, BuildPlan *ret,
		    Error **err)
{
	BuildPlan p = { .global_args = json_object() };
	int r = 0;
	for (size_t i = 0; r == 0 && i < df->n; i++) {
		const BuildInstr *in = &df->instrs[i];
		if (!strcmp(in->cmd, "from"))
			r = stage_from(df, &p, i, err);
		else if (!p.n && !strcmp(in->cmd, "arg"))
			r = global_arg(df, in, build_args, p.global_args, err);
		else if (!p.n)
			r = err_set(err, EINVAL, "%s:%d: no build stage in current context: %s must come after FROM",
				    df->name, in->line, in->cmd);
	}
	if (r == 0 && !p.n)
		r = err_set(err, EINVAL, "%s: file with no instructions", df->name);
	if (r == 0) {
		p.target = p.n - 1;
		if (o->target) {
			int t = -1;
			for (size_t k = 0; k < p.n; k++)
				if (p.stages[k].name && !strcasecmp(p.stages[k].name, o->target))
					t = (int)k;
			if (t < 0)
				r = err_set(err, ENOENT, "target stage \"%s\" could not be found", o->target);
			else
				p.target = (size_t)t;
		}
	}
	if (r == 0) {
		_cleanup_free_ int *state = xcalloc(p.n, sizeof(int));
		r = mark_needed(df, &p, p.target, state, df->instrs[p.stages[p.target].first].line, err);
	}
	if (r < 0) {
		build_plan_release(&p);
		return r;
	}
	for (size_t k = 0; k < p.n; k++)
		if (p.stages[k].needed)
			p.n_steps += p.stages[k].end - p.stages[k].first;
	*ret = p;
	return 0;
}

void build_plan_release(BuildPlan *p)
{
	for (size_t k = 0; k < p->n; k++) {
		free(p->stages[k].name);
		free(p->stages[k].base);
		free(p->stages[k].image_id);
	}
	free(p->stages);
	free(p->order);
	json_decref(p->global_args);
	memset(p, 0, sizeof(*p));
}
