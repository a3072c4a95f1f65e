/* podspec.c - the pure parts of reading a Pod spec as the kubelet does:
 * command/args against the image's Entrypoint/Cmd, $(VAR) expansion, the
 * environment (envFrom, env value/valueFrom), quantities, the crash
 * back-off schedule, probe parsing and the pod phase.
 *
 * Nothing here touches the system, so all of it is unit-tested directly
 * (tests/unit/test-agent.c).  ConfigMaps and Secrets come through the lookup
 * callback, so the API side plugs in without changing this file.
 */
#include "agent-internal.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- $(VAR) expansion ---- */

static const char *env_get(char *const *env, const char *name, size_t n)
{
	const char *found = NULL;
	for (; env && *env; env++) /* the last definition wins */
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			found = *env + n + 1;
	return found;
}

char *agent_expand(const char *s, char *const *env)
{
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			sb_addc(&sb, '$');
			p += 2;
		} else if (p[0] == '$' && p[1] == '(') {
			const char *end = strchr(p + 2, ')');
			const char *v = end ? env_get(env, p + 2, (size_t)(end - p - 2)) : NULL;
			if (v) {
				sb_adds(&sb, v);
				p = end + 1;
			} else if (end) {
				sb_add(&sb, p, (size_t)(end + 1 - p));
				p = end + 1;
			} else {
				sb_adds(&sb, p);
				break;
			}
		} else {
			sb_addc(&sb, *p++);
		}
	}
	return sb_detach(&sb);
}

/* ---- command ---- */

static void append_expanded(json_t *out, const json_t *arr, char *const *env)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		char *e = agent_expand(json_string_value(v), env);
		json_array_append_new(out, json_string(e));
		free(e);
	}
}

json_t *agent_command_resolve(const json_t *container, const json_t *image_config, char *const *env)
{
	const json_t *cmd = json_object_get(container, "command");
	const json_t *args = json_object_get(container, "args");
	const json_t *icfg = json_object_get(image_config, "config");
	json_t *out = json_array();
	bool have_cmd = json_array_size(cmd) > 0, have_args = json_array_size(args) > 0;
	if (have_cmd) {
		append_expanded(out, cmd, env);
		if (have_args)
			append_expanded(out, args, env);
		return out;
	}
	json_array_extend(out, json_object_get(icfg, "Entrypoint"));
	if (have_args)
		append_expanded(out, args, env);
	else
		json_array_extend(out, json_object_get(icfg, "Cmd"));
	return out;
}

/* ---- quantities ---- */

int agent_quantity_milli(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	long double v = strtold(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	static const struct { const char *suf; long double mul; } sufs[] = {
		{ "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L }, { "Ti", 1099511627776.0L },
		{ "Pi", 1125899906842624.0L }, { "Ei", 1152921504606846976.0L }, { "m", 0.001L }, { "k", 1e3L },
		{ "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L }, { "P", 1e15L }, { "E", 1e18L }, { "", 1.0L },
	};
	for (size_t i = 0; i < ARRAY_SIZE(sufs); i++) {
		if (strcmp(end, sufs[i].suf))
			continue;
		long double m = ceill(v * sufs[i].mul * 1000.0L);
		*ret = m > 9.2e18L ? INT64_MAX : (int64_t)m;
		return 0;
	}
	return -EINVAL;
}

int64_t agent_backoff_ms(int restarts, int64_t base_ms, int64_t max_ms)
{
	if (restarts <= 0)
		return 0;
	int64_t d = base_ms;
	for (int i = 1; i < restarts && d < max_ms; i++)
		d *= 2;
	return d > max_ms ? max_ms : d;
}

/* ---- pod fields ---- */

const char *pod_restart_policy(const json_t *pod)
{
	const char *r = json_str(json_object_get(pod, "spec"), "restartPolicy");
	return r && *r ? r : "Always";
}

int64_t pod_grace_s(const json_t *pod)
{
	json_t *g = json_object_get(json_object_get(pod, "spec"), "terminationGracePeriodSeconds");
	return json_is_integer(g) && json_integer_value(g) >= 0 ? json_integer_value(g) : 30;
}

/* ---- environment ---- */

static char *b64_decode(const char *in, size_t *ret_len)
{
	size_t n = strlen(in);
	unsigned char *out = xmalloc(n / 4 * 3 + 4);
	size_t k = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *pos = in[i] ? strchr(tab, in[i]) : NULL;
		if (in[i] == '=' || !pos)
			continue;
		acc = (acc << 6) | (unsigned)(pos - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (unsigned char)(acc >> bits);
		}
	}
	out[k] = 0;
	*ret_len = k;
	return (char *)out;
}

/* The value of key in a ConfigMap (data, binaryData) or Secret (data base64,
 * stringData); NULL if absent.  Caller frees. */
static char *object_value(const json_t *obj, const char *kind, const char *key)
{
	if (!strcmp(kind, "Secret")) {
		const char *v = json_str(json_object_get(obj, "data"), key);
		size_t n;
		if (v)
			return b64_decode(v, &n);
		v = json_str(json_object_get(obj, "stringData"), key);
		return v ? xstrdup(v) : NULL;
	}
	const char *v = json_str(json_object_get(obj, "data"), key);
	if (v)
		return xstrdup(v);
	v = json_str(json_object_get(obj, "binaryData"), key);
	size_t n;
	return v ? b64_decode(v, &n) : NULL;
}

static int lookup_object(AgentLookupFn lookup, void *ud, const char *kind, const char *ns, const char *name,
			 json_t **ret, Error **err)
{
	int r = lookup ? lookup(ud, kind, ns, name, ret) : -ENOENT;
	if (r < 0)
		return err_set(err, -r, "%s \"%s\" not found", !strcmp(kind, "Secret") ? "secret" : "configmap",
			       name);
	return 0;
}

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static int env_from(const json_t *pod, const json_t *ctr, AgentLookupFn lookup, void *ud, char ***env, size_t *n,
		    Error **err)
{
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace");
	size_t i;
	json_t *src;
	json_array_foreach(json_object_get(ctr, "envFrom"), i, src) {
		const json_t *ref = json_object_get(src, "configMapRef");
		const char *kind = "ConfigMap";
		if (!ref) {
			ref = json_object_get(src, "secretRef");
			kind = "Secret";
		}
		const char *prefix = json_str(src, "prefix");
		_cleanup_json_ json_t *obj = NULL;
		Error *e = NULL;
		if (lookup_object(lookup, ud, kind, ns, json_str(ref, "name"), &obj, &e) < 0) {
			if (json_bool(ref, "optional", false)) {
				err_free(e);
				continue;
			}
			if (err)
				*err = e;
			else
				err_free(e);
			return -ENOENT;
		}
		const json_t *data = json_object_get(obj, "data");
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)data, key, v) {
			if (strchr(key, '='))
				continue;
			_cleanup_free_ char *val = object_value(obj, kind, key);
			strv_push(env, n, xasprintf("%s%s=%s", prefix ? prefix : "", key, val ? val : ""));
		}
	}
	return 0;
}

/* metadata.labels['x'] / metadata.annotations['x'] */
static const char *map_field(const json_t *meta, const char *path, const char *field)
{
	size_t fl = strlen(field);
	if (strncmp(path, field, fl) || path[fl] != '[')
		return NULL;
	const char *k = path + fl + 1;
	char q = *k;
	if (q != '\'' && q != '"')
		return NULL;
	const char *end = strchr(k + 1, q);
	if (!end)
		return NULL;
	_cleanup_free_ char *key = xstrndup(k + 1, (size_t)(end - k - 1));
	const char *v = json_str(json_object_get(meta, field + strlen("metadata.")), key);
	return v ? v : "";
}

static char *map_render(const json_t *m)
{
	/* downward API format: key="value" lines, sorted */
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	const char **keys = xcalloc(json_object_size(m) + 1, sizeof(char *));
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)m, k, v) keys[n++] = k;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%s=\"%s\"", i ? "\n" : "", keys[i], json_str(m, keys[i]) ? json_str(m, keys[i]) : "");
	free(keys);
	return sb_detach(&sb);
}

/* A fieldRef value; caller frees.  NULL + error for unsupported paths. */
char *agent_field_value(const json_t *pod, const char *path, const char *pod_ip, const char *node_name, Error **err);
char *agent_field_value(const json_t *pod, const char *path, const char *pod_ip, const char *node_name, Error **err)
{
	const json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	const char *v = NULL;
	if (!path)
		v = NULL;
	else if (!strcmp(path, "metadata.name"))
		v = json_str(meta, "name");
	else if (!strcmp(path, "metadata.namespace"))
		v = json_str(meta, "namespace");
	else if (!strcmp(path, "metadata.uid"))
		v = json_str(meta, "uid");
	else if (!strcmp(path, "metadata.labels"))
		return map_render(json_object_get(meta, "labels"));
	else if (!strcmp(path, "metadata.annotations"))
		return map_render(json_object_get(meta, "annotations"));
	else if ((v = map_field(meta, path, "metadata.labels")) || (v = map_field(meta, path, "metadata.annotations")))
		;
	else if (!strcmp(path, "spec.nodeName"))
		v = json_str(spec, "nodeName") ? json_str(spec, "nodeName") : node_name;
	else if (!strcmp(path, "spec.serviceAccountName"))
		v = json_str(spec, "serviceAccountName") ? json_str(spec, "serviceAccountName") : "default";
	else if (!strcmp(path, "status.podIP") || !strcmp(path, "status.podIPs"))
		v = pod_ip;
	else if (!strcmp(path, "status.hostIP") || !strcmp(path, "status.hostIPs"))
		v = json_str(json_object_get(pod, "status"), "hostIP");
	else {
		err_set(err, EINVAL, "unsupported fieldRef path '%s'", path);
		return NULL;
	}
	return xstrdup(v ? v : "");
}

static const json_t *find_container(const json_t *pod, const char *name)
{
	static const char *lists[] = { "containers", "initContainers" };
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c)
			if (name && !strcmp(json_str(c, "name"), name))
				return c;
	}
	return NULL;
}

/* resourceFieldRef: ceil(value / divisor); an unset limit is the node's capacity. */
char *agent_resource_value(const json_t *pod, const json_t *ctr, const json_t *ref, Error **err);
char *agent_resource_value(const json_t *pod, const json_t *ctr, const json_t *ref, Error **err)
{
	const char *cname = json_str(ref, "containerName");
	if (cname && *cname)
		ctr = find_container(pod, cname);
	const char *res = json_str(ref, "resource");
	if (!ctr || !res)
		return err_set(err, EINVAL, "resourceFieldRef: no container or resource"), NULL;
	const char *dot = strchr(res, '.');
	if (!dot)
		return err_set(err, EINVAL, "unsupported resourceFieldRef '%s'", res), NULL;
	_cleanup_free_ char *section = xstrndup(res, (size_t)(dot - res));
	const char *q = json_str(json_object_get(json_object_get(ctr, "resources"), section), dot + 1);
	int64_t val = 0, div = 1000;
	bool cpu = !strcmp(dot + 1, "cpu");
	if (q && agent_quantity_milli(q, &val) < 0)
		return err_set(err, EINVAL, "bad quantity '%s'", q), NULL;
	if (!q && !strcmp(section, "limits")) {
		if (cpu)
			val = sysconf(_SC_NPROCESSORS_ONLN) * 1000;
		else
			val = (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) * 1000;
	}
	const char *d = json_str(ref, "divisor");
	if (d && (agent_quantity_milli(d, &div) < 0 || div == 0))
		return err_set(err, EINVAL, "bad divisor '%s'", d), NULL;
	int64_t out = (val + div - 1) / div;
	if (cpu && out == 0 && val > 0)
		out = 1;
	return xasprintf("%lld", (long long)out);
}

static int env_value_from(const json_t *pod, const json_t *ctr, const json_t *vf, const char *pod_ip,
			  const char *node_name, AgentLookupFn lookup, void *ud, char **ret, Error **err)
{
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace");
	const json_t *f;
	*ret = NULL;
	if ((f = json_object_get(vf, "fieldRef")))
		*ret = agent_field_value(pod, json_str(f, "fieldPath"), pod_ip, node_name, err);
	else if ((f = json_object_get(vf, "resourceFieldRef")))
		*ret = agent_resource_value(pod, ctr, f, err);
	else {
		const char *kind = "ConfigMap";
		if (!(f = json_object_get(vf, "configMapKeyRef"))) {
			f = json_object_get(vf, "secretKeyRef");
			kind = "Secret";
		}
		if (!f)
			return err_set(err, EINVAL, "valueFrom: no source");
		bool optional = json_bool(f, "optional", false);
		_cleanup_json_ json_t *obj = NULL;
		Error *e = NULL;
		if (lookup_object(lookup, ud, kind, ns, json_str(f, "name"), &obj, &e) < 0) {
			if (optional) {
				err_free(e);
				return 1; /* skip the variable */
			}
			if (err)
				*err = e;
			else
				err_free(e);
			return -ENOENT;
		}
		*ret = object_value(obj, kind, json_str(f, "key") ? json_str(f, "key") : "");
		if (!*ret) {
			if (optional)
				return 1;
			return err_set(err, ENOENT, "couldn't find key %s in %s %s/%s", json_str(f, "key"), kind, ns,
				       json_str(f, "name"));
		}
	}
	return *ret ? 0 : -EINVAL;
}

int agent_env_resolve(const json_t *pod, const json_t *ctr, const char *pod_ip, const char *node_name,
		      AgentLookupFn lookup, void *ud, char ***ret, Error **err)
{
	char **env = xcalloc(1, sizeof(char *));
	size_t n = 0;
	int r = env_from(pod, ctr, lookup, ud, &env, &n, err);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ctr, "env"), i, e) {
		if (r < 0)
			break;
		const char *name = json_str(e, "name");
		if (!name || !*name)
			continue;
		const json_t *vf = json_object_get(e, "valueFrom");
		char *val = NULL;
		if (vf) {
			r = env_value_from(pod, ctr, vf, pod_ip, node_name, lookup, ud, &val, err);
			if (r == 1) {
				r = 0;
				continue;
			}
			if (r < 0)
				break;
		} else {
			val = agent_expand(json_str(e, "value") ? json_str(e, "value") : "", env);
		}
		strv_push(&env, &n, xasprintf("%s=%s", name, val));
		free(val);
	}
	if (r < 0) {
		strv_free(env);
		return r;
	}
	*ret = env;
	return 0;
}

/* ---- probes ---- */

static int port_of(const json_t *port, const json_t *ctr)
{
	if (json_is_integer(port))
		return (int)json_integer_value(port);
	const char *s = json_string_value(port);
	if (!s)
		return -1;
	int64_t v;
	if (parse_int64(s, &v) == 0)
		return (int)v;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(ctr, "ports"), i, p)
		if (json_str(p, "name") && !strcmp(json_str(p, "name"), s))
			return (int)json_int(p, "containerPort", -1);
	return -1;
}

int agent_probe_parse(const json_t *probe, const json_t *ctr, ProbeSpec *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	ret->termination_grace_s = -1;
	if (!probe || json_is_null(probe))
		return 0;
	ret->initial_delay_s = (int)json_int(probe, "initialDelaySeconds", 0);
	ret->period_s = (int)json_int(probe, "periodSeconds", 10);
	ret->timeout_s = (int)json_int(probe, "timeoutSeconds", 1);
	ret->success_threshold = (int)json_int(probe, "successThreshold", 1);
	ret->failure_threshold = (int)json_int(probe, "failureThreshold", 3);
	ret->termination_grace_s = json_int(probe, "terminationGracePeriodSeconds", -1);
	if (ret->period_s < 1)
		ret->period_s = 1;
	if (ret->timeout_s < 1)
		ret->timeout_s = 1;
	if (ret->success_threshold < 1)
		ret->success_threshold = 1;
	if (ret->failure_threshold < 1)
		ret->failure_threshold = 1;
	const json_t *h;
	if ((h = json_object_get(probe, "exec"))) {
		ret->kind = PROBE_EXEC;
		ret->exec = json_to_strv(json_object_get(h, "command"));
		if (!ret->exec[0])
			return err_set(err, EINVAL, "probe: exec.command is empty");
	} else if ((h = json_object_get(probe, "httpGet"))) {
		ret->kind = PROBE_HTTP;
		ret->port = port_of(json_object_get(h, "port"), ctr);
		const char *host = json_str(h, "host"), *path = json_str(h, "path");
		ret->host = host && *host ? xstrdup(host) : NULL;
		ret->path = xstrdup(path && *path ? path : "/");
		ret->scheme = xstrdup(json_str(h, "scheme") ? json_str(h, "scheme") : "HTTP");
		size_t i, n = json_array_size(json_object_get(h, "httpHeaders"));
		ret->headers = xcalloc(n + 1, sizeof(char *));
		json_t *hd;
		json_array_foreach(json_object_get(h, "httpHeaders"), i, hd)
			ret->headers[i] = xasprintf("%s: %s", json_str(hd, "name"), json_str(hd, "value"));
	} else if ((h = json_object_get(probe, "tcpSocket"))) {
		ret->kind = PROBE_TCP;
		ret->port = port_of(json_object_get(h, "port"), ctr);
		const char *host = json_str(h, "host");
		ret->host = host && *host ? xstrdup(host) : NULL;
	} else {
		return err_set(err, EINVAL, "probe: no handler (exec, httpGet, tcpSocket)");
	}
	if (ret->kind != PROBE_EXEC && (ret->port <= 0 || ret->port > 65535))
		return err_set(err, EINVAL, "probe: invalid port");
	return 0;
}

void agent_probe_spec_release(ProbeSpec *p)
{
	strv_free(p->exec);
	strv_free(p->headers);
	free(p->host);
	free(p->path);
	free(p->scheme);
	memset(p, 0, sizeof(*p));
}

/* ---- phase ---- */

static bool term_of(const json_t *st, int *code)
{
	const json_t *t = json_path(st, "state.terminated");
	if (!t)
		return false;
	*code = (int)json_int(t, "exitCode", 0);
	return true;
}

const char *agent_pod_phase(const json_t *pod, const json_t *init_statuses, const json_t *statuses)
{
	return pod_phase_of(pod_restart_policy(pod), json_array_size(json_path(pod, "spec.initContainers")),
			    json_array_size(json_path(pod, "spec.containers")), init_statuses, statuses);
}

const char *pod_phase_of(const char *policy, size_t n_init, size_t n_app, const json_t *init_statuses,
			 const json_t *statuses)
{
	size_t i;
	json_t *st;
	int pending_init = 0;
	json_array_foreach(init_statuses, i, st) {
		int code;
		if (term_of(st, &code) && code == 0)
			continue;
		if (term_of(st, &code) && !strcmp(policy, "Never"))
			return "Failed";
		pending_init++;
	}
	if (json_array_size(init_statuses) < n_init)
		pending_init++;
	int running = 0, waiting = 0, stopped = 0, succeeded = 0, unknown = 0;
	json_array_foreach(statuses, i, st) {
		int code;
		if (json_path(st, "state.running"))
			running++;
		else if (term_of(st, &code)) {
			stopped++;
			if (code == 0)
				succeeded++;
		} else if (json_path(st, "state.waiting")) {
			if (json_path(st, "lastState.terminated"))
				stopped++;
			else
				waiting++;
		} else
			unknown++;
	}
	unknown += (int)(n_app > json_array_size(statuses) ? n_app - json_array_size(statuses) : 0);
	if (pending_init > 0 || waiting > 0)
		return "Pending";
	if (running > 0 && unknown == 0)
		return "Running";
	if (running == 0 && stopped > 0 && unknown == 0) {
		if (!strcmp(policy, "Always"))
			return "Running";
		if (stopped == succeeded)
			return "Succeeded";
		if (!strcmp(policy, "Never"))
			return "Failed";
		return "Running";
	}
	return "Pending";
}
