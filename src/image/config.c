/* config.c - the OCI image config: timestamps, the host platform, and
 * Dockerfile-style `--change` instructions (import, commit).
 *
 * A change is one instruction line: CMD, ENTRYPOINT, ENV, WORKDIR, USER,
 * EXPOSE, LABEL, VOLUME or STOPSIGNAL, with Dockerfile syntax: JSON array or
 * shell form (["/bin/sh","-c",...]) for CMD/ENTRYPOINT, KEY=VALUE pairs with
 * quotes and backslash escapes for ENV and LABEL (or the legacy "KEY value"
 * form), JSON array or words for VOLUME.  Changes edit the "config" object of
 * the image config in place.
 */
#include "image-internal.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <time.h>

const char *config_host_arch(void)
{
	static const struct { const char *uname, *go; } map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" }, { "armv6l", "arm" },
		{ "i686", "386" }, { "i386", "386" }, { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" },
	};
	static char buf[65];
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(u.machine, map[i].uname))
			return map[i].go;
	snprintf(buf, sizeof(buf), "%s", u.machine);
	return buf;
}

int64_t config_parse_time(const char *s)
{
	int64_t ns = config_parse_time_ns(s);
	return ns / 1000000000 - (ns % 1000000000 < 0);
}

int64_t config_parse_time_ns(const char *s)
{
	if (!s)
		return 0;
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++)
			if (digits++ < 9)
				frac = frac * 10 + (*p - '0');
		for (; digits < 9; digits++)
			frac *= 10;
	}
	int64_t t = (int64_t)timegm(&tm);
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) >= 1)
			t -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
	}
	return t * 1000000000 + frac;
}

void config_now(char buf[64])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	format_rfc3339nano(buf, 64, ts.tv_sec, ts.tv_nsec);
}

bool config_layer_media_ok(const char *mt)
{
	static const char *const ok[] = {
		MT_OCI_LAYER, MT_OCI_LAYER_GZ, MT_OCI_LAYER_ZS, MT_DOCKER_LAYER_GZ, MT_DOCKER_FOREIGN,
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	};
	for (size_t i = 0; mt && i < ARRAY_SIZE(ok); i++)
		if (!strcmp(mt, ok[i]))
			return true;
	return false;
}

/* ---- --change ---- */

/* Split Dockerfile words: whitespace separated, "..." and '...' quoting,
 * backslash escapes outside single quotes.  NULL on an unterminated quote. */
static char **split_words(const char *s)
{
	size_t n = 0, cap = 8;
	char **v = xcalloc(cap, sizeof(char *));
	StrBuf w = STRBUF_INIT;
	const char *p = s;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		sb_reset(&w);
		char q = 0;
		for (; *p && (q || !isspace((unsigned char)*p)); p++) {
			if (q == '\'' && *p == '\'') {
				q = 0;
			} else if (q == '"' && *p == '"') {
				q = 0;
			} else if (!q && (*p == '"' || *p == '\'')) {
				q = *p;
			} else if (*p == '\\' && q != '\'' && p[1]) {
				sb_addc(&w, *++p);
			} else {
				sb_addc(&w, *p);
			}
		}
		if (q) {
			sb_release(&w);
			strv_free(v);
			return NULL;
		}
		if (n + 2 > cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(char *));
		}
		v[n++] = xstrdup(w.buf ? w.buf : "");
		v[n] = NULL;
	}
	sb_release(&w);
	return v;
}

/* JSON form ["a","b"] (strings only), else NULL */
static json_t *json_form(const char *arg)
{
	if (*arg != '[')
		return NULL;
	json_t *j = json_loads(arg, JSON_DECODE_ANY, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	size_t i;
	json_t *x;
	json_array_foreach(j, i, x) {
		if (!json_is_string(x)) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static json_t *command_form(const char *arg)
{
	json_t *j = json_form(arg);
	if (j)
		return j;
	return json_pack("[s,s,s]", "/bin/sh", "-c", arg);
}

/* KEY=VALUE pairs, or the legacy "KEY VALUE..." form when the first word has no '=' */
static int key_values(const char *kw, const char *arg, json_t *target, bool env, Error **err)
{
	_cleanup_strv_ char **words = split_words(arg);
	if (!words || !words[0])
		return err_set(err, EINVAL, "%s needs KEY=VALUE arguments", kw);
	if (!strchr(words[0], '=')) {
		const char *sp = arg + strcspn(arg, " \t");
		while (isspace((unsigned char)*sp))
			sp++;
		if (!*sp)
			return err_set(err, EINVAL, "%s %s: missing value", kw, words[0]);
		if (env)
			json_array_append_new(target, json_sprintf("%s=%s", words[0], sp));
		else
			json_object_set_new(target, words[0], json_string(sp));
		return 0;
	}
	for (char **w = words; *w; w++) {
		char *eq = strchr(*w, '=');
		if (!eq || eq == *w)
			return err_set(err, EINVAL, "%s: '%s' is not KEY=VALUE", kw, *w);
		if (!env) {
			*eq = 0;
			json_object_set_new(target, *w, json_string(eq + 1));
			continue;
		}
		/* replace an existing KEY= entry, keeping its position */
		size_t klen = (size_t)(eq - *w) + 1, i;
		json_t *x;
		bool done = false;
		json_array_foreach(target, i, x) {
			const char *cur = json_string_value(x);
			if (cur && !strncmp(cur, *w, klen)) {
				json_array_set_new(target, i, json_string(*w));
				done = true;
				break;
			}
		}
		if (!done)
			json_array_append_new(target, json_string(*w));
	}
	return 0;
}

static json_t *ensure_array(json_t *obj, const char *key)
{
	json_t *a = json_object_get(obj, key);
	if (json_is_array(a))
		return a;
	a = json_array();
	json_object_set_new(obj, key, a);
	return a;
}

static int change_expose(json_t *cfg, const char *arg, Error **err)
{
	_cleanup_strv_ char **words = split_words(arg);
	if (!words || !words[0])
		return err_set(err, EINVAL, "EXPOSE needs a port");
	json_t *ports = json_obj_ensure(cfg, "ExposedPorts");
	for (char **w = words; *w; w++) {
		char *slash = strchr(*w, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		if (slash)
			*slash = 0;
		int64_t port;
		if (parse_int64(*w, &port) < 0 || port < 1 || port > 65535)
			return err_set(err, EINVAL, "EXPOSE: invalid port '%s'", *w);
		if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
			return err_set(err, EINVAL, "EXPOSE: invalid protocol '%s'", proto);
		char key[32];
		snprintf(key, sizeof(key), "%lld/%s", (long long)port, proto);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		json_object_set_new(ports, key, json_object());
	}
	return 0;
}

static int change_volume(json_t *cfg, const char *arg, Error **err)
{
	_cleanup_json_ json_t *arr = json_form(arg);
	_cleanup_strv_ char **words = arr ? json_to_strv(arr) : split_words(arg);
	if (!words || !words[0])
		return err_set(err, EINVAL, "VOLUME needs a path");
	json_t *vols = json_obj_ensure(cfg, "Volumes");
	for (char **w = words; *w; w++) {
		if ((*w)[0] != '/')
			return err_set(err, EINVAL, "VOLUME: '%s' is not an absolute path", *w);
		json_object_set_new(vols, *w, json_object());
	}
	return 0;
}

static int single_word(const char *kw, const char *arg, char **ret, Error **err)
{
	_cleanup_strv_ char **words = split_words(arg);
	if (!words || !words[0] || words[1])
		return err_set(err, EINVAL, "%s takes exactly one argument", kw);
	*ret = xstrdup(words[0]);
	return 0;
}

int img_config_apply_change(json_t *cfg, const char *change, Error **err)
{
	if (strlen(change) > BERTH_MAX_IMAGE_CHANGE)
		return err_set(err, EINVAL, "change longer than %u bytes", BERTH_MAX_IMAGE_CHANGE);
	while (isspace((unsigned char)*change))
		change++;
	size_t kn = strcspn(change, " \t\n="); /* podman also takes "CMD=..." */
	char kw[16];
	if (kn == 0 || kn >= sizeof(kw))
		return err_set(err, EINVAL, "change '%s': expected an instruction", change);
	for (size_t i = 0; i < kn; i++)
		kw[i] = (char)toupper((unsigned char)change[i]);
	kw[kn] = 0;
	const char *arg = change + kn;
	if (*arg == '=')
		arg++;
	while (isspace((unsigned char)*arg))
		arg++;
	_cleanup_free_ char *a = xstrdup(arg);
	for (size_t n = strlen(a); n && isspace((unsigned char)a[n - 1]); n--)
		a[n - 1] = 0;
	if (!*a)
		return err_set(err, EINVAL, "change '%s': %s needs an argument", change, kw);
	int r = 0;
	_cleanup_free_ char *word = NULL;
	if (!strcmp(kw, "CMD") || !strcmp(kw, "ENTRYPOINT")) {
		json_object_set_new(cfg, kw[0] == 'C' ? "Cmd" : "Entrypoint", command_form(a));
	} else if (!strcmp(kw, "ENV")) {
		r = key_values(kw, a, ensure_array(cfg, "Env"), true, err);
	} else if (!strcmp(kw, "LABEL")) {
		r = key_values(kw, a, json_obj_ensure(cfg, "Labels"), false, err);
	} else if (!strcmp(kw, "WORKDIR")) {
		r = single_word(kw, a, &word, err);
		if (r == 0) {
			const char *cur = json_str(cfg, "WorkingDir");
			if (word[0] != '/') {
				char *abs = xasprintf("%s/%s", cur && *cur ? cur : "", word);
				free(word);
				word = abs;
			}
			json_object_set_new(cfg, "WorkingDir", json_string(word));
		}
	} else if (!strcmp(kw, "USER")) {
		r = single_word(kw, a, &word, err);
		if (r == 0)
			json_object_set_new(cfg, "User", json_string(word));
	} else if (!strcmp(kw, "STOPSIGNAL")) {
		int sig;
		r = single_word(kw, a, &word, err);
		if (r == 0 && parse_signal(word, &sig) < 0)
			r = err_set(err, EINVAL, "STOPSIGNAL: unknown signal '%s'", word);
		if (r == 0)
			json_object_set_new(cfg, "StopSignal", json_string(word));
	} else if (!strcmp(kw, "EXPOSE")) {
		r = change_expose(cfg, a, err);
	} else if (!strcmp(kw, "VOLUME")) {
		r = change_volume(cfg, a, err);
	} else {
		return err_set(err, EINVAL, "change '%s': %s is not supported (CMD, ENTRYPOINT, ENV, "
			       "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)", change, kw);
	}
	if (r < 0)
		return err_prefix(err, "change '%s'", change);
	return 0;
}
