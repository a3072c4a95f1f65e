/* util.c - small object helpers every controller uses: keys, owner
 * references, times, pod phase/readiness, IntOrString percentages.
 */
#include "framework.h"
#include "../../base/cleanup.h"
#include "../../shared/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *obj_meta(const json_t *obj, const char *key)
{
	return json_str(json_object_get(obj, "metadata"), key);
}

const json_t *obj_controller_ref(const json_t *obj)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, r)
		if (json_is_true(json_object_get(r, "controller")))
			return r;
	return NULL;
}

char *obj_key(const json_t *obj)
{
	return xasprintf("%s/%s", obj_meta(obj, "namespace") ?: "", obj_meta(obj, "name") ?: "");
}

void key_split(const char *key, char *ns, size_t nsz, char *name, size_t nz)
{
	const char *slash = strchr(key, '/');
	size_t nl = slash ? (size_t)(slash - key) : 0;
	snprintf(ns, nsz, "%.*s", (int)nl, key);
	snprintf(name, nz, "%s", slash ? slash + 1 : key);
}

int64_t obj_time(const json_t *obj, const char *dotted)
{
	json_t *v = json_path(obj, dotted);
	const char *s = json_string_value(v);
	struct tm tm = { 0 };
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

int64_t clock_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_rfc3339(char *buf, size_t n, int64_t epoch_s)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool pod_is_active(const json_t *pod)
{
	const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
	return strcmp(phase, "Succeeded") && strcmp(phase, "Failed") && !json_path(pod, "metadata.deletionTimestamp");
}

static const json_t *ready_condition(const json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", "Ready"))
			return c;
	return NULL;
}

bool pod_is_ready(const json_t *pod)
{
	const json_t *c = ready_condition(pod);
	return c && !strcmp(json_str(c, "status") ?: "", "True");
}

bool pod_is_available(const json_t *pod, int64_t min_ready, int64_t now_s)
{
	if (!pod_is_ready(pod))
		return false;
	if (min_ready <= 0)
		return true;
	int64_t since = obj_time(ready_condition(pod), "lastTransitionTime");
	return since && since + min_ready <= now_s;
}

json_t *owner_ref_new(const json_t *owner, const char *api_version, const char *kind)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", api_version, "kind", kind, "name",
			 obj_meta(owner, "name") ?: "", "uid", obj_meta(owner, "uid") ?: "", "controller", 1,
			 "blockOwnerDeletion", 1);
}

int int_or_percent(const json_t *v, int total, bool round_up, int def)
{
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return def;
	char *end;
	long n = strtol(s, &end, 10);
	if (end == s)
		return def;
	if (*end != '%')
		return (int)n;
	double x = (double)n * total / 100.0;
	return (int)(round_up ? ceil(x) : floor(x));
}
