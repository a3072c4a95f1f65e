/* instr.c - what each Dockerfile instruction does to the stage's state.
 *
 * Metadata instructions (ENV, LABEL, EXPOSE, VOLUME, WORKDIR, USER, CMD,
 * ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER) change a
 * copy of the image config and commit it without a layer; ARG only changes
 * the stage's variables; RUN, COPY and ADD make a layer (step-run.c,
 * step-copy.c).  Docker's rules: ENV wins over ARG of the same name; RUN sees
 * the ARGs in scope as environment variables and they are part of its cache
 * key ("|N K=V" like Docker's history); an ENTRYPOINT resets a CMD inherited
 * from the base image; CMD/ENTRYPOINT/RUN shell forms go through SHELL.
 */
#include "build-internal.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define FAIL(b, in, code, ...) build_fail(b, in, err, code, __VA_ARGS__)

static int __attribute__((format(printf, 5, 6)))
build_fail(Builder *b, const BuildInstr *in, Error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return err_set(err, code, "%s:%d: %s", b->df->name, in->line, msg ? msg : "error");
}

static int check_flags(Builder *b, const BuildInstr *in, const char *const *allowed, Error **err)
{
	for (char **f = in->flags; f && *f; f++) {
		size_t n = strcspn(*f + 2, "=");
		bool ok = false;
		for (const char *const *a = allowed; a && *a; a++)
			ok |= strlen(*a) == n && !strncmp(*a, *f + 2, n);
		if (!ok)
			return FAIL(b, in, EINVAL, "%s: unknown flag: %.*s", in->cmd, (int)n + 2, *f);
	}
	return 0;
}

/* Split and expand the arguments (JSON form: each string expanded). */
static int expanded_words(Builder *b, StageState *s, const BuildInstr *in, char ***ret, Error **err)
{
	_cleanup_strv_ char **raw = NULL;
	if (in->json) {
		size_t n = 0;
		while (in->json[n])
			n++;
		raw = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++) {
			/* JSON strings are literal apart from variables: escape quotes for the lexer */
			StrBuf sb = STRBUF_INIT;
			sb_adds(&sb, "");
			for (const char *c = in->json[i]; *c; c++) {
				if (*c == '\'' || *c == '"' || *c == b->df->escape)
					sb_addc(&sb, b->df->escape);
				sb_addc(&sb, *c);
			}
			raw[i] = sb_detach(&sb);
		}
	} else if (build_words_split(in->rest, b->df->escape, &raw, err) < 0) {
		return err_prefix(err, "%s:%d", b->df->name, in->line);
	}
	size_t n = 0;
	while (raw[n])
		n++;
	char **out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		int r = build_expand(b, s, in, raw[i], &out[i], err);
		if (r < 0) {
			strv_free(out);
			return r;
		}
	}
	*ret = out;
	return 0;
}

/* Commit a metadata change (cfg is the new .config). */
static int commit_meta(Builder *b, StageState *s, json_t *cfg, const char *created_by, Error **err)
{
	_cleanup_free_ char *dump = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	_cleanup_free_ char *key = xasprintf("meta\n%s\n%s\n%s\n%jd\n", s->img ? s->img->id : "scratch", created_by,
					     dump, (intmax_t)b->o->timestamp);
	if (build_step_cached(b, s, key))
		return 0;
	return build_step_finish(b, s, key, NULL, cfg, created_by, err);
}

static void env_set(json_t *cfg, const char *k, const char *v)
{
	json_t *env = json_object_get(cfg, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	size_t n = strlen(k), i;
	json_t *e;
	_cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && !strncmp(s, k, n) && s[n] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

/* ENV/LABEL: "K=V K2=V2" or the old "K V with spaces".  Values are expanded
 * against the state before the instruction. */
static int key_values(Builder *b, StageState *s, const BuildInstr *in, bool env, Error **err)
{
	_cleanup_strv_ char **raw = NULL;
	if (build_words_split(in->rest, b->df->escape, &raw, err) < 0)
		return err_prefix(err, "%s:%d", b->df->name, in->line);
	if (!raw[0])
		return FAIL(b, in, EINVAL, "%s requires at least one argument", env ? "ENV" : "LABEL");
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	json_t *labels = env ? NULL : json_obj_ensure(cfg, "Labels");
	StrBuf cb = STRBUF_INIT;
	sb_adds(&cb, env ? "ENV" : "LABEL");
	int r = 0;
	bool legacy = !strchr(raw[0], '=');
	if (legacy) {
		if (!env && !raw[1])
			r = FAIL(b, in, EINVAL, "LABEL requires a value");
		else if (env && !raw[1])
			r = FAIL(b, in, EINVAL, "ENV must have two arguments");
		const char *v = in->rest + strlen(raw[0]);
		v += strspn(v, " \t");
		_cleanup_free_ char *key = NULL, *val = NULL;
		if (r == 0)
			r = build_expand(b, s, in, raw[0], &key, err);
		if (r == 0)
			r = build_expand(b, s, in, v, &val, err);
		if (r == 0) {
			env ? env_set(cfg, key, val) : (void)json_object_set_new(labels, key, json_string(val));
			sb_addf(&cb, " %s=%s", key, val);
		}
	}
	for (char **w = raw; r == 0 && !legacy && *w; w++) {
		char *eq = strchr(*w, '=');
		if (!eq) {
			r = FAIL(b, in, EINVAL, "%s names can not be blank: '%s' has no '='", env ? "ENV" : "LABEL", *w);
			break;
		}
		_cleanup_free_ char *rk = xstrndup(*w, (size_t)(eq - *w));
		_cleanup_free_ char *key = NULL, *val = NULL;
		r = build_expand(b, s, in, rk, &key, err);
		if (r == 0)
			r = build_expand(b, s, in, eq + 1, &val, err);
		if (r == 0 && !*key)
			r = FAIL(b, in, EINVAL, "%s names can not be blank", env ? "ENV" : "LABEL");
		if (r == 0) {
			env ? env_set(cfg, key, val) : (void)json_object_set_new(labels, key, json_string(val));
			sb_addf(&cb, " %s=%s", key, val);
		}
	}
	if (r == 0)
		r = commit_meta(b, s, cfg, sb_str(&cb), err);
	sb_release(&cb);
	return r;
}

static int instr_arg(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	_cleanup_strv_ char **raw = NULL;
	if (build_words_split(in->rest, b->df->escape, &raw, err) < 0)
		return err_prefix(err, "%s:%d", b->df->name, in->line);
	if (!raw[0])
		return FAIL(b, in, EINVAL, "ARG requires at least one argument");
	for (char **w = raw; *w; w++) {
		char *eq = strchr(*w, '=');
		_cleanup_free_ char *name = eq ? xstrndup(*w, (size_t)(eq - *w)) : xstrdup(*w);
		json_t *given = json_object_get(b->build_args, name);
		json_t *global = json_object_get(b->plan.global_args, name);
		json_object_set_new(b->used_args, name, json_true());
		if (json_is_string(given)) {
			json_object_set(s->args, name, given);
		} else if (eq) {
			_cleanup_free_ char *v = NULL;
			int r = build_expand(b, s, in, eq + 1, &v, err);
			if (r < 0)
				return r;
			json_object_set_new(s->args, name, json_string(v));
		} else {
			json_object_set(s->args, name, json_is_string(global) ? global : json_null());
		}
	}
	build_log(b, " ---> %.12s", s->img ? s->img->id + 7 : "(scratch)");
	return 0;
}

/* CMD/ENTRYPOINT/RUN argv: exec form as is, shell form through SHELL. */
static json_t *command_argv(StageState *s, const BuildInstr *in, const char *shell_text)
{
	if (in->json)
		return json_strv(in->json);
	json_t *shell = json_object_get(s->config, "Shell");
	json_t *argv = json_is_array(shell) && json_array_size(shell) ? json_deep_copy(shell)
								       : json_pack("[s,s]", "/bin/sh", "-c");
	json_array_append_new(argv, json_string(shell_text));
	return argv;
}

static int instr_cmd_entrypoint(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	bool is_cmd = !strcmp(in->cmd, "cmd");
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	json_t *argv = command_argv(s, in, in->rest);
	_cleanup_free_ char *dump = json_dumps(argv, JSON_COMPACT);
	json_object_set_new(cfg, is_cmd ? "Cmd" : "Entrypoint", argv);
	if (is_cmd)
		s->cmd_set = true;
	else if (!s->cmd_set)
		json_object_set_new(cfg, "Cmd", json_null());
	_cleanup_free_ char *cb = xasprintf("%s %s", is_cmd ? "CMD" : "ENTRYPOINT", dump);
	return commit_meta(b, s, cfg, cb, err);
}

/* WORKDIR of a directory the image lacks creates it, as Docker and buildah
 * do: a layer holding just that directory (owned by root, 0755). */
static int workdir_create(Builder *b, StageState *s, const BuildInstr *in, const char *dir, json_t *cfg,
			  const char *created_by, Error **err)
{
	BuildCopySpec cs = { .store = b->store, .parent = s->img, .context_fd = -1, .dest = dir,
			     .dest_is_dir = true, .chmod = -1 };
	_cleanup_free_ char *key = xasprintf("workdir\n%s\n%s\n%jd\n%d\n", s->img ? s->img->id : "scratch", dir,
					     (intmax_t)b->o->timestamp, b->o->zstd);
	if (build_step_cached(b, s, key))
		return 0;
	_cleanup_free_ char *tmp = NULL;
	int r = build_tmpdir(b, &tmp, err);
	cs.workdir = tmp;
	if (r == 0 && (r = build_step_copy(&cs, err)) < 0)
		r = err_prefix(err, "%s:%d: WORKDIR", b->df->name, in->line);
	if (r == 0) {
		_cleanup_free_ char *upper = fs_join(tmp, "upper");
		r = build_step_finish(b, s, key, upper, cfg, created_by, err);
	}
	if (tmp)
		fs_rm_rf(tmp, NULL);
	return r;
}

static int instr_simple(Builder *b, StageState *s, const BuildInstr *in, const char *key, Error **err)
{
	_cleanup_strv_ char **w = NULL;
	int r = expanded_words(b, s, in, &w, err);
	if (r < 0)
		return r;
	if (!w[0] || w[1])
		return FAIL(b, in, EINVAL, "%s requires exactly one argument", in->cmd);
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	const char *val = w[0];
	_cleanup_free_ char *dir = NULL;
	if (!strcmp(key, "WorkingDir"))
		val = dir = build_path_join_clean(json_str(cfg, "WorkingDir"), w[0]);
	if (!strcmp(key, "StopSignal")) {
		int sig;
		if (parse_signal(val, &sig) < 0)
			return FAIL(b, in, EINVAL, "STOPSIGNAL: invalid signal '%s'", val);
	}
	json_object_set_new(cfg, key, json_string(val));
	_cleanup_free_ char *up = xstrdup(in->cmd);
	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	_cleanup_free_ char *cb = xasprintf("%s %s", up, val);
	if (dir && (!s->img || !img_path_in_image(b->store, s->img, dir)))
		return workdir_create(b, s, in, dir, cfg, cb, err);
	return commit_meta(b, s, cfg, cb, err);
}

static int instr_set_of(Builder *b, StageState *s, const BuildInstr *in, const char *key, Error **err)
{
	_cleanup_strv_ char **w = NULL;
	int r = expanded_words(b, s, in, &w, err);
	if (r < 0)
		return r;
	if (!w[0])
		return FAIL(b, in, EINVAL, "%s requires at least one argument", in->cmd);
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	json_t *set = json_obj_ensure(cfg, key);
	StrBuf cb = STRBUF_INIT;
	sb_adds(&cb, !strcmp(key, "Volumes") ? "VOLUME" : "EXPOSE");
	for (char **p = w; *p; p++) {
		_cleanup_free_ char *item = NULL;
		if (!strcmp(key, "ExposedPorts")) {
			const char *port = *p;
			size_t digits = strspn(port, "0123456789-");
			if (!digits || (port[digits] && port[digits] != '/'))
				r = FAIL(b, in, EINVAL, "EXPOSE: invalid port '%s'", port);
			item = strchr(port, '/') ? xstrdup(port) : xasprintf("%s/tcp", port);
		} else {
			item = xstrdup(*p);
			if (!*item)
				r = FAIL(b, in, EINVAL, "VOLUME specified can not be an empty string");
		}
		if (r < 0)
			break;
		json_object_set_new(set, item, json_object());
		sb_addf(&cb, " %s", item);
	}
	if (r == 0)
		r = commit_meta(b, s, cfg, sb_str(&cb), err);
	sb_release(&cb);
	return r;
}

static int instr_shell(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	if (!in->json || !in->json[0])
		return FAIL(b, in, EINVAL, "SHELL requires the arguments to be in JSON form");
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	json_t *sh = json_strv(in->json);
	_cleanup_free_ char *dump = json_dumps(sh, JSON_COMPACT);
	json_object_set_new(cfg, "Shell", sh);
	_cleanup_free_ char *cb = xasprintf("SHELL %s", dump);
	return commit_meta(b, s, cfg, cb, err);
}

static int duration_flag(Builder *b, const BuildInstr *in, const char *name, json_t *hc, const char *key,
			 Error **err)
{
	const char *v = build_instr_flag(in, name);
	if (!v)
		return 0;
	int64_t ms;
	if (parse_duration_ms(v, &ms) < 0 || ms < 0)
		return FAIL(b, in, EINVAL, "HEALTHCHECK --%s: invalid duration '%s'", name, v);
	json_object_set_new(hc, key, json_integer((json_int_t)ms * 1000000));
	return 0;
}

static int instr_healthcheck(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	static const char *const fl[] = { "interval", "timeout", "start-period", "start-interval", "retries", NULL };
	int r = check_flags(b, in, fl, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	json_t *hc = json_object();
	json_object_set_new(cfg, "Healthcheck", hc);
	const char *rest = in->rest;
	if (!strcasecmp(rest, "none")) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else if (strncasecmp(rest, "cmd", 3) || (rest[3] != ' ' && rest[3] != '\t')) {
		return FAIL(b, in, EINVAL, "HEALTHCHECK must be NONE or CMD ...");
	} else {
		const char *c = rest + 3 + strspn(rest + 3, " \t");
		json_t *test;
		_cleanup_strv_ char **j = NULL;
		if (c[0] == '[') {
			json_t *arr = json_loads(c, 0, NULL);
			j = json_is_array(arr) ? json_to_strv(arr) : NULL;
			json_decref(arr);
			if (!j)
				return FAIL(b, in, EINVAL, "HEALTHCHECK CMD: malformed exec form");
			test = json_pack("[s]", "CMD");
			for (char **p = j; *p; p++)
				json_array_append_new(test, json_string(*p));
		} else {
			test = json_pack("[s,s]", "CMD-SHELL", c);
		}
		json_object_set_new(hc, "Test", test);
		if ((r = duration_flag(b, in, "interval", hc, "Interval", err)) < 0 ||
		    (r = duration_flag(b, in, "timeout", hc, "Timeout", err)) < 0 ||
		    (r = duration_flag(b, in, "start-period", hc, "StartPeriod", err)) < 0 ||
		    (r = duration_flag(b, in, "start-interval", hc, "StartInterval", err)) < 0)
			return r;
		const char *retries = build_instr_flag(in, "retries");
		if (retries) {
			int64_t n;
			if (parse_int64(retries, &n) < 0 || n < 0)
				return FAIL(b, in, EINVAL, "HEALTHCHECK --retries: invalid number '%s'", retries);
			json_object_set_new(hc, "Retries", json_integer((json_int_t)n));
		}
	}
	_cleanup_free_ char *cb = xasprintf("HEALTHCHECK %s", in->rest);
	return commit_meta(b, s, cfg, cb, err);
}

static int instr_onbuild(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	char word[16] = "";
	sscanf(in->rest, "%15s", word);
	for (char *c = word; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!*word)
		return FAIL(b, in, EINVAL, "ONBUILD requires at least one argument");
	if (!strcmp(word, "onbuild"))
		return FAIL(b, in, EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	if (!strcmp(word, "from") || !strcmp(word, "maintainer"))
		return FAIL(b, in, EINVAL, "%s isn't allowed as an ONBUILD trigger", word);
	if (!build_instr_known(word))
		return FAIL(b, in, EINVAL, "ONBUILD: unknown instruction: %s", word);
	_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
	json_t *ob = json_object_get(cfg, "OnBuild");
	if (!json_is_array(ob)) {
		ob = json_array();
		json_object_set_new(cfg, "OnBuild", ob);
	}
	json_array_append_new(ob, json_string(in->rest));
	_cleanup_free_ char *cb = xasprintf("ONBUILD %s", in->rest);
	return commit_meta(b, s, cfg, cb, err);
}

/* ---- RUN ---- */

static bool is_proxy_arg(const char *k)
{
	static const char *const p[] = { "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY", NULL };
	for (const char *const *q = p; *q; q++)
		if (!strcasecmp(*q, k))
			return true;
	return false;
}

/* The text a shell-form RUN hands to the shell, heredocs included. */
static char *run_shell_text(const BuildInstr *in)
{
	if (!in->n_heredocs)
		return xstrdup(in->rest);
	const char *r = in->rest;
	if (r[0] == '<' && r[1] == '<' && in->n_heredocs == 1) {
		const char *e = r + 2 + strspn(r + 2, "-\"'");
		e += strlen(in->heredocs[0].name);
		e += strspn(e, "\"'");
		if (!*(e + strspn(e, " \t")))
			return xstrdup(in->heredocs[0].content);
	}
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, in->rest);
	for (size_t i = 0; i < in->n_heredocs; i++)
		sb_addf(&sb, "\n%s%s", in->heredocs[i].content, in->heredocs[i].name);
	return sb_detach(&sb);
}

static int instr_run(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	static const char *const fl[] = { "network", "security", NULL };
	int r = check_flags(b, in, fl, err);
	if (r < 0)
		return r;
	const char *net = build_instr_flag(in, "network");
	if (net && strcmp(net, "none") && strcmp(net, "host") && strcmp(net, "default"))
		return FAIL(b, in, EINVAL, "RUN --network=%s: only none, host or default", net);
	if (!net || !strcmp(net, "default"))
		net = b->o->network && *b->o->network ? b->o->network : "host";
	_cleanup_free_ char *text = run_shell_text(in);
	_cleanup_json_ json_t *argv = command_argv(s, in, text);
	_cleanup_strv_ char **args = json_to_strv(argv);
	/* environment: ENV, then the ARGs in scope that ENV does not set */
	_cleanup_strv_ char **env = json_to_strv(json_object_get(s->config, "Env"));
	if (!env)
		env = xcalloc(1, sizeof(char *));
	size_t ne = 0;
	while (env[ne])
		ne++;
	StrBuf argline = STRBUF_INIT;
	size_t nargs = 0;
	const char *k;
	json_t *v;
	json_object_foreach(s->args, k, v) {
		if (!json_is_string(v))
			continue;
		bool in_env = false;
		for (size_t i = 0; i < ne && !in_env; i++)
			in_env = !strncmp(env[i], k, strlen(k)) && env[i][strlen(k)] == '=';
		if (in_env)
			continue;
		env = xrealloc(env, (ne + 2) * sizeof(char *));
		env[ne++] = xasprintf("%s=%s", k, json_string_value(v));
		env[ne] = NULL;
		if (!is_proxy_arg(k)) {
			sb_addf(&argline, " %s=%s", k, json_string_value(v));
			nargs++;
		}
	}
	bool has_path = false;
	for (size_t i = 0; i < ne; i++)
		has_path |= !strncmp(env[i], "PATH=", 5);
	if (!has_path) {
		env = xrealloc(env, (ne + 2) * sizeof(char *));
		env[ne++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
		env[ne] = NULL;
	}
	StrBuf cb = STRBUF_INIT;
	sb_adds(&cb, "RUN ");
	if (nargs)
		sb_addf(&cb, "|%zu%s ", nargs, argline.buf);
	for (char **a = args; *a; a++)
		sb_addf(&cb, "%s%s", a == args ? "" : " ", *a);
	sb_release(&argline);
	_cleanup_free_ char *created_by = sb_detach(&cb);
	_cleanup_free_ char *key = xasprintf("run\n%s\n%s\n%s\n%jd\n%d\n", s->img ? s->img->id : "scratch",
					     created_by, net, (intmax_t)b->o->timestamp, b->o->zstd);
	if (build_step_cached(b, s, key))
		return 0;
	_cleanup_free_ char *dir = NULL;
	r = build_tmpdir(b, &dir, err);
	if (r < 0)
		return r;
	char cid[65];
	random_hex_id(cid);
	build_log(b, " ---> Running in %.12s", cid);
	BuildRunSpec rs = { .store = b->store, .parent = s->img, .args = args, .env = env,
			    .cwd = json_str(s->config, "WorkingDir"), .user = json_str(s->config, "User"),
			    .network = net, .workdir = dir, .output = b->o->output, .ud = b->o->ud };
	int status = 0;
	r = build_step_run(&rs, &status, err);
	if (r < 0)
		r = err_prefix(err, "%s:%d: RUN", b->df->name, in->line);
	else if (status != 0)
		r = FAIL(b, in, ECANCELED, "RUN: the command '%s' returned a non-zero code: %d",
			 created_by + 4, status);
	if (r == 0) {
		build_log(b, "Removing intermediate container %.12s", cid);
		_cleanup_free_ char *upper = fs_join(dir, "upper");
		r = build_step_finish(b, s, key, upper, s->config, created_by, err);
	}
	fs_rm_rf(dir, NULL);
	return r;
}

/* ---- COPY / ADD ---- */

static int copy_sources(Builder *b, StageState *s, const BuildInstr *in, char **w, size_t n, BuildCopySpec *cs,
			Error **err)
{
	cs->src = xcalloc(n, sizeof(BuildCopySource));
	for (size_t i = 0; i + 1 < n; i++) {
		const char *p = w[i];
		if (p[0] == '<' && p[1] == '<') {
			const char *name = p + 2 + strspn(p + 2, "-\"'");
			size_t len = strcspn(name, "\"'");
			const BuildHeredoc *h = NULL;
			for (size_t k = 0; k < in->n_heredocs; k++)
				if (strlen(in->heredocs[k].name) == len && !strncmp(in->heredocs[k].name, name, len))
					h = &in->heredocs[k];
			if (!h)
				return FAIL(b, in, EINVAL, "%s: no heredoc for '%s'", in->cmd, p);
			char *content = NULL;
			if (h->expand) {
				int r = build_text_expand(h->content, build_state_lookup, s, &content, err);
				if (r < 0)
					return err_prefix(err, "%s:%d", b->df->name, in->line);
			}
			cs->src[cs->n_src++] = (BuildCopySource){ .path = xstrdup(h->name),
								  .heredoc = content ? content : xstrdup(h->content) };
			continue;
		}
		if (strstr(p, "://") || str_has_prefix(p, "git@"))
			return FAIL(b, in, ENOTSUP, "%s: remote source '%s' is not supported (builds have no "
				    "network access)", in->cmd, p);
		cs->src[cs->n_src++] = (BuildCopySource){ .path = xstrdup(p) };
	}
	return 0;
}

static void copy_spec_release(BuildCopySpec *cs)
{
	for (size_t i = 0; i < cs->n_src; i++) {
		free(cs->src[i].path);
		free(cs->src[i].heredoc);
	}
	free(cs->src);
}

static int copy_from_image(Builder *b, const BuildInstr *in, const char *from, ImgInfo **ret, Error **err)
{
	int k = build_plan_find_stage(&b->plan, from, b->plan.n);
	const char *ref = k >= 0 ? b->plan.stages[k].image_id : from;
	if (k >= 0 && !ref)
		return FAIL(b, in, EINVAL, "%s --from=%s: the stage is not built yet", in->cmd, from);
	int r = img_resolve(b->store, ref, ret, err);
	if (r == -ENOENT) {
		err_free(*err);
		*err = NULL;
		return FAIL(b, in, ENOENT, "%s --from=%s: no such stage or local image", in->cmd, from);
	}
	return r < 0 ? err_prefix(err, "%s:%d", b->df->name, in->line) : 0;
}

static int instr_copy(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	bool add = !strcmp(in->cmd, "add");
	static const char *const fl_copy[] = { "from", "chown", "chmod", "link", NULL };
	static const char *const fl_add[] = { "chown", "chmod", "link", NULL };
	int r = check_flags(b, in, add ? fl_add : fl_copy, err);
	if (r < 0)
		return r;
	_cleanup_strv_ char **w = NULL;
	r = expanded_words(b, s, in, &w, err);
	if (r < 0)
		return r;
	size_t n = 0;
	while (w[n])
		n++;
	if (n < 2)
		return FAIL(b, in, EINVAL, "%s requires at least two arguments", add ? "ADD" : "COPY");
	const char *chmod_s = build_instr_flag(in, "chmod");
	int mode = -1;
	if (chmod_s) {
		char *end;
		long m = strtol(chmod_s, &end, 8);
		if (!*chmod_s || *end || m < 0 || m > 07777)
			return FAIL(b, in, EINVAL, "%s --chmod=%s: invalid mode", in->cmd, chmod_s);
		mode = (int)m;
	}
	const char *from = build_instr_flag(in, "from");
	_cleanup_free_ char *dest = build_path_join_clean(json_str(s->config, "WorkingDir"), w[n - 1]);
	bool dest_dir = str_has_suffix(w[n - 1], "/") || !strcmp(w[n - 1], ".");
	if (n > 2 && !dest_dir)
		return FAIL(b, in, EINVAL, "When using %s with more than one source file, the destination must be "
			    "a directory and end with a /", add ? "ADD" : "COPY");
	if (!from && b->ctx_fd < 0)
		for (size_t i = 0; i + 1 < n; i++)
			if (strncmp(w[i], "<<", 2))
				return FAIL(b, in, EINVAL, "%s: no build context (the Dockerfile came from stdin)",
					    in->cmd);
	ImgInfo *src_img = NULL;
	if (from && (r = copy_from_image(b, in, from, &src_img, err)) < 0)
		return r;
	BuildCopySpec cs = { .store = b->store, .parent = s->img, .from = src_img, .context_fd = b->ctx_fd,
			     .ignore = b->ignore, .dest = dest, .dest_is_dir = dest_dir, .chown = build_instr_flag(in, "chown"),
			     .chmod = mode, .add = add };
	r = copy_sources(b, s, in, w, n, &cs, err);
	char digest[72] = "";
	if (r == 0 && !src_img) {
		r = build_copy_hash(&cs, b->cache, digest, err);
		if (r < 0)
			r = err_prefix(err, "%s:%d: %s", b->df->name, in->line, add ? "ADD" : "COPY");
	}
	StrBuf cb = STRBUF_INIT;
	sb_addf(&cb, "%s", add ? "ADD" : "COPY");
	for (char **f = in->flags; f && *f; f++)
		sb_addf(&cb, " %s", *f);
	for (char **p = w; *p; p++)
		sb_addf(&cb, " %s", *p);
	_cleanup_free_ char *created_by = sb_detach(&cb);
	_cleanup_free_ char *key = xasprintf("copy\n%s\n%s\n%s\n%s\n%s\n%jd\n%d\n", s->img ? s->img->id : "scratch",
					     created_by, dest, digest, src_img ? src_img->id : "",
					     (intmax_t)b->o->timestamp, b->o->zstd);
	_cleanup_free_ char *dir = NULL;
	if (r == 0 && !build_step_cached(b, s, key)) {
		r = build_tmpdir(b, &dir, err);
		cs.workdir = dir;
		if (r == 0 && (r = build_step_copy(&cs, err)) < 0)
			r = err_prefix(err, "%s:%d: %s", b->df->name, in->line, add ? "ADD" : "COPY");
		if (r == 0) {
			_cleanup_free_ char *upper = fs_join(dir, "upper");
			r = build_step_finish(b, s, key, upper, s->config, created_by, err);
		}
		fs_rm_rf(dir, NULL);
	}
	copy_spec_release(&cs);
	img_info_free(src_img);
	return r;
}

int build_instr_exec(Builder *b, StageState *s, const BuildInstr *in, Error **err)
{
	static const char *const none[] = { NULL };
	const char *c = in->cmd;
	if (strcmp(c, "run") && strcmp(c, "copy") && strcmp(c, "add") && strcmp(c, "healthcheck")) {
		int r = check_flags(b, in, none, err);
		if (r < 0)
			return r;
	}
	if (!strcmp(c, "run"))
		return instr_run(b, s, in, err);
	if (!strcmp(c, "copy") || !strcmp(c, "add"))
		return instr_copy(b, s, in, err);
	if (!strcmp(c, "env") || !strcmp(c, "label"))
		return key_values(b, s, in, !strcmp(c, "env"), err);
	if (!strcmp(c, "arg"))
		return instr_arg(b, s, in, err);
	if (!strcmp(c, "cmd") || !strcmp(c, "entrypoint"))
		return instr_cmd_entrypoint(b, s, in, err);
	if (!strcmp(c, "workdir"))
		return instr_simple(b, s, in, "WorkingDir", err);
	if (!strcmp(c, "user"))
		return instr_simple(b, s, in, "User", err);
	if (!strcmp(c, "stopsignal"))
		return instr_simple(b, s, in, "StopSignal", err);
	if (!strcmp(c, "expose"))
		return instr_set_of(b, s, in, "ExposedPorts", err);
	if (!strcmp(c, "volume"))
		return instr_set_of(b, s, in, "Volumes", err);
	if (!strcmp(c, "shell"))
		return instr_shell(b, s, in, err);
	if (!strcmp(c, "healthcheck"))
		return instr_healthcheck(b, s, in, err);
	if (!strcmp(c, "onbuild"))
		return instr_onbuild(b, s, in, err);
	if (!strcmp(c, "maintainer")) {
		_cleanup_json_ json_t *cfg = json_deep_copy(s->config);
		_cleanup_free_ char *cb = xasprintf("MAINTAINER %s", in->rest);
		return commit_meta(b, s, cfg, cb, err);
	}
	if (!strcmp(c, "from"))
		return FAIL(b, in, EINVAL, "FROM is not allowed here");
	return FAIL(b, in, EINVAL, "unknown instruction: %s", c);
}
