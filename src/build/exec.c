/* exec.c - the executor: stages in dependency order, one step after
 * another, the cache, the progress log, and tagging at the very end.
 *
 * Every step leaves an image in the store (a layer for RUN/COPY/ADD, a
 * config-only image for metadata steps), like Docker's classic builder, so
 * the log can name each step's result and the cache maps a step key to an
 * image.  The step key (cache.c) is the parent image id, the instruction
 * after substitution (with the build args RUN sees), the content digest of
 * COPY/ADD sources, and the commit options (timestamp, compression).
 * Nothing is tagged until the whole build succeeded; a failed step leaves
 * no partial layer (its temp dir is removed).
 */
#include "build-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void build_log(Builder *b, const char *fmt, ...)
{
	if (!b->o->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line)
		b->o->log(line, b->o->ud);
}

char *build_path_join_clean(const char *base, const char *path)
{
	_cleanup_free_ char *joined = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", base ? base : "/", path);
	StrBuf out = STRBUF_INIT;
	const char *p = joined;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = out.len ? strrchr(out.buf, '/') : NULL;
			out.len = slash ? (size_t)(slash - out.buf) : 0;
			if (out.buf)
				out.buf[out.len] = 0;
		} else {
			sb_addc(&out, '/');
			sb_add(&out, p, n);
		}
		p = e;
	}
	if (!out.len)
		sb_addc(&out, '/');
	return sb_detach(&out);
}

const char *build_state_lookup(const char *name, void *state)
{
	StageState *s = state;
	size_t n = strlen(name);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(s->config, "Env"), i, v) {
		const char *e = json_string_value(v);
		if (e && !strncmp(e, name, n) && e[n] == '=')
			return e + n + 1;
	}
	json_t *a = json_object_get(s->args, name);
	return json_is_string(a) ? json_string_value(a) : NULL;
}

int build_expand(Builder *b, StageState *s, const BuildInstr *in, const char *word, char **ret, Error **err)
{
	int r = build_word_expand(word, b->df->escape, build_state_lookup, s, ret, err);
	return r < 0 ? err_prefix(err, "%s:%d", b->df->name, in->line) : 0;
}

int build_tmpdir(Builder *b, char **ret, Error **err)
{
	char *p = xasprintf("%s/step-XXXXXX", b->tmp);
	if (!mkdtemp(p)) {
		int e = errno;
		free(p);
		return err_sys(err, e, "create a temp dir in '%s'", b->tmp);
	}
	*ret = p;
	return 0;
}

static void state_set_image(StageState *s, ImgInfo *img)
{
	img_info_free(s->img);
	s->img = img;
	json_decref(s->config);
	json_t *c = img ? json_object_get(img->config, "config") : NULL;
	s->config = json_is_object(c) ? json_deep_copy(c) : json_object();
}

bool build_step_cached(Builder *b, StageState *s, const char *key)
{
	if (b->o->no_cache)
		return false;
	_cleanup_free_ char *id = build_cache_get(b->cache, b->store, key);
	if (!id)
		return false;
	ImgInfo *img = NULL;
	Error *e = NULL;
	if (img_resolve(b->store, id, &img, &e) < 0) {
		err_free(e);
		return false;
	}
	state_set_image(s, img);
	build_log(b, " ---> Using cache");
	build_log(b, " ---> %.12s", img->id + 7);
	return true;
}

int build_step_finish(Builder *b, StageState *s, const char *key, const char *upperdir, const json_t *config,
		      const char *created_by, Error **err)
{
	ImgCommitOpts co = { .timestamp = b->o->timestamp, .zstd = b->o->zstd, .adopt_upper = upperdir != NULL,
			     .config = config };
	_cleanup_free_ char *id = NULL;
	int r = img_commit_ex(b->store, upperdir, s->img, &co, created_by, NULL, &id, err);
	if (r < 0)
		return r;
	ImgInfo *img = NULL;
	r = img_resolve(b->store, id, &img, err);
	if (r < 0)
		return r;
	build_cache_put(b->cache, key, id);
	state_set_image(s, img);
	build_log(b, " ---> %.12s", id + 7);
	return 0;
}

/* ---- FROM ---- */

static int stage_from(Builder *b, StageState *s, const BuildStage *st, Error **err)
{
	const BuildInstr *in = &b->df->instrs[st->first];
	for (char **f = in->flags; f && *f; f++)
		if (strncmp(*f, "--platform", 10))
			return err_set(err, EINVAL, "%s:%d: FROM: unknown flag: %s", b->df->name, in->line, *f);
	if (st->base_stage >= 0) {
		const char *id = b->plan.stages[st->base_stage].image_id;
		ImgInfo *img = NULL;
		if (id) {
			int r = img_resolve(b->store, id, &img, err);
			if (r < 0)
				return err_prefix(err, "%s:%d", b->df->name, in->line);
		}
		state_set_image(s, img);
	} else if (!strcasecmp(st->base, "scratch")) {
		state_set_image(s, NULL);
	} else {
		ImgInfo *img = NULL;
		int r = img_resolve(b->store, st->base, &img, err);
		if (r == -ENOENT && b->o->pull) {
			/* not here: pull it (as docker build does), then look again */
			err_free(*err);
			*err = NULL;
			r = b->o->pull(st->base, b->o->ud, err);
			if (r < 0)
				return err_prefix(err, "%s:%d: FROM %s: image not found locally, and", b->df->name,
						  in->line, st->base);
			if (r == 0)
				r = img_resolve(b->store, st->base, &img, err);
		} else if (r == -ENOENT) {
			err_free(*err);
			*err = NULL;
			return err_set(err, ENOENT, "%s:%d: FROM %s: image not found locally", b->df->name, in->line,
				       st->base);
		}
		if (r < 0)
			return err_prefix(err, "%s:%d: FROM %s", b->df->name, in->line, st->base);
		state_set_image(s, img);
	}
	build_log(b, " ---> %.12s", s->img ? s->img->id + 7 : "(scratch)");
	return 0;
}

/* ONBUILD triggers of the base image run right after FROM. */
static int stage_triggers(Builder *b, StageState *s, Error **err)
{
	json_t *ob = json_object_get(s->config, "OnBuild");
	size_t n = json_array_size(ob);
	if (!n)
		return 0;
	_cleanup_json_ json_t *triggers = json_incref(ob);
	json_object_del(s->config, "OnBuild");
	build_log(b, "# Executing %zu build trigger%s", n, n == 1 ? "" : "s");
	size_t i;
	json_t *t;
	json_array_foreach(triggers, i, t) {
		const char *text = json_string_value(t);
		if (!text)
			continue;
		BuildDockerfile *tdf = NULL;
		int r = build_dockerfile_parse("ONBUILD", text, strlen(text), &tdf, err);
		for (size_t k = 0; r == 0 && k < tdf->n; k++)
			r = build_instr_exec(b, s, &tdf->instrs[k], err);
		build_dockerfile_free(tdf);
		if (r < 0)
			return r;
	}
	return 0;
}

static int stage_build(Builder *b, BuildStage *st, Error **err)
{
	StageState s = { .args = json_object() };
	b->step++;
	build_log(b, "Step %zu/%zu : %s", b->step, b->plan.n_steps, b->df->instrs[st->first].original);
	int r = stage_from(b, &s, st, err);
	if (r == 0)
		r = stage_triggers(b, &s, err);
	for (size_t i = st->first + 1; r == 0 && i < st->end; i++) {
		b->step++;
		build_log(b, "Step %zu/%zu : %s", b->step, b->plan.n_steps, b->df->instrs[i].original);
		r = build_instr_exec(b, &s, &b->df->instrs[i], err);
	}
	if (r == 0 && !s.img) {
		/* a stage that is nothing but scratch: an empty image */
		_cleanup_free_ char *key = xasprintf("scratch\n%jd\n", (intmax_t)b->o->timestamp);
		if (!build_step_cached(b, &s, key))
			r = build_step_finish(b, &s, key, NULL, s.config, "FROM scratch", err);
	}
	if (r == 0)
		st->image_id = xstrdup(s.img->id);
	img_info_free(s.img);
	json_decref(s.config);
	json_decref(s.args);
	return r;
}

/* --label K=V on the final image. */
static int apply_labels(Builder *b, char **id, Error **err)
{
	if (!b->o->labels || !b->o->labels[0])
		return 0;
	StageState s = { .args = json_object() };
	int r = img_resolve(b->store, *id, &s.img, err);
	if (r < 0) {
		json_decref(s.args);
		return r;
	}
	json_t *c = json_object_get(s.img->config, "config");
	s.config = json_is_object(c) ? json_deep_copy(c) : json_object();
	json_t *labels = json_obj_ensure(s.config, "Labels");
	StrBuf cb = STRBUF_INIT;
	sb_adds(&cb, "LABEL");
	for (char **l = b->o->labels; *l; l++) {
		char *eq = strchr(*l, '=');
		_cleanup_free_ char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
		json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
		sb_addf(&cb, " %s", *l);
	}
	_cleanup_free_ char *dump = json_dumps(s.config, JSON_COMPACT | JSON_SORT_KEYS);
	_cleanup_free_ char *key = xasprintf("label\n%s\n%s\n%jd\n", *id, dump, (intmax_t)b->o->timestamp);
	if (!build_step_cached(b, &s, key))
		r = build_step_finish(b, &s, key, NULL, s.config, sb_str(&cb), err);
	sb_release(&cb);
	if (r == 0) {
		free(*id);
		*id = xstrdup(s.img->id);
	}
	img_info_free(s.img);
	json_decref(s.config);
	json_decref(s.args);
	return r;
}

static const char *const proxy_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
	"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL,
};

static void warn_unused_args(Builder *b)
{
	StrBuf sb = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(b->build_args, k, v) {
		bool proxy = false;
		for (const char *const *p = proxy_args; *p; p++)
			proxy |= !strcmp(*p, k);
		if (!proxy && !json_object_get(b->used_args, k) && !json_object_get(b->plan.global_args, k))
			sb_addf(&sb, "%s%s", sb.len ? " " : "", k);
	}
	if (sb.len)
		build_log(b, "[Warning] One or more build-args [%s] were not consumed", sb.buf);
	sb_release(&sb);
}

static int build_args_parse(Builder *b, Error **err)
{
	b->build_args = json_object();
	b->used_args = json_object();
	for (char **a = b->o->build_args; a && *a; a++) {
		char *eq = strchr(*a, '=');
		_cleanup_free_ char *k = eq ? xstrndup(*a, (size_t)(eq - *a)) : xstrdup(*a);
		if (!*k)
			return err_set(err, EINVAL, "--build-arg '%s': no name", *a);
		const char *v = eq ? eq + 1 : getenv(k);
		if (v)
			json_object_set_new(b->build_args, k, json_string(v));
	}
	return 0;
}

static int builder_open(Builder *b, Error **err)
{
	int r = build_args_parse(b, err);
	if (r < 0)
		return r;
	r = build_dockerfile_parse(b->o->dockerfile_name ? b->o->dockerfile_name : "Dockerfile", b->o->dockerfile_text,
				   b->o->dockerfile_len, &b->df, err);
	if (r < 0)
		return r;
	r = build_plan_make(b->df, b->o, b->build_args, &b->plan, err);
	if (r < 0)
		return r;
	if (b->o->context_dir) {
		b->ctx_fd = open(b->o->context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (b->ctx_fd < 0)
			return err_sys(err, errno, "build context '%s'", b->o->context_dir);
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		_cleanup_free_ char *ip = fs_join(b->o->context_dir, ".dockerignore");
		if (fs_exists(ip) && (r = fs_read_file(ip, BERTH_MAX_DOCKERIGNORE, &text, &len, err)) < 0)
			return r;
		r = build_ignore_parse(text, len, &b->ignore, err);
		if (r < 0)
			return r;
	}
	r = img_store_open(b->o->root, &b->store, err);
	if (r < 0)
		return r;
	r = build_cache_open(b->o->root, &b->cache, err);
	if (r < 0)
		return r;
	b->tmp = xasprintf("%s/build-tmp", b->o->root);
	return fs_mkdir_p(b->tmp, 0700, err);
}

static void builder_close(Builder *b)
{
	build_dockerfile_free(b->df);
	build_plan_release(&b->plan);
	if (b->ctx_fd >= 0)
		close(b->ctx_fd);
	build_ignore_free(b->ignore);
	build_cache_free(b->cache);
	img_store_free(b->store);
	json_decref(b->build_args);
	json_decref(b->used_args);
	free(b->tmp);
}

static int tag_all(Builder *b, const char *id, Error **err)
{
	for (char **t = b->o->tags; t && *t; t++) {
		int r = img_tag(b->store, id, *t, err);
		if (r < 0)
			return r;
	}
	for (char **t = b->o->tags; t && *t; t++) {
		_cleanup_free_ char *norm = NULL;
		if (img_ref_normalize(*t, &norm, NULL) < 0)
			continue;
		_cleanup_free_ char *shrt = img_ref_short(norm);
		build_log(b, "Successfully tagged %s", shrt);
	}
	return 0;
}

int build_run(const BuildOptions *o, char **ret_id, Error **err)
{
	Builder b = { .o = o, .ctx_fd = -1 };
	int r = builder_open(&b, err);
	/* names are checked before anything is built */
	for (char **t = o->tags; r == 0 && t && *t; t++) {
		_cleanup_free_ char *norm = NULL;
		r = img_ref_normalize(*t, &norm, err);
		if (r == 0 && strchr(norm, '@'))
			r = err_set(err, EINVAL, "'%s': a tag cannot have a digest", *t);
	}
	for (size_t k = 0; r == 0 && k < b.plan.n_order; k++)
		r = stage_build(&b, &b.plan.stages[b.plan.order[k]], err);
	_cleanup_free_ char *id = NULL;
	if (r == 0) {
		id = xstrdup(b.plan.stages[b.plan.target].image_id);
		r = apply_labels(&b, &id, err);
	}
	if (r == 0) {
		warn_unused_args(&b);
		build_log(&b, "Successfully built %.12s", id + 7);
		r = tag_all(&b, id, err);
	}
	builder_close(&b);
	if (r < 0)
		return r;
	*ret_id = TAKE_PTR(id);
	return 0;
}
