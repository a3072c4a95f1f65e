/* events.c - v1 Events the controllers record about the objects they own
 * (SuccessfulCreate, ScalingReplicaSet, Completed...), as Kubernetes'
 * event recorder writes them, so `kubectl describe` lists them.  Posting is
 * best effort: a failure is logged and never fails a sync.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The apiVersion of an object of kind (objects from informers carry none). */
static const char *kind_api_version(const json_t *obj, const char *kind)
{
	static const struct { const char *kind, *api; } t[] = {
		{ "Job", "batch/v1" },		  { "CronJob", "batch/v1" },	   { "ReplicaSet", "apps/v1" },
		{ "Deployment", "apps/v1" },	  { "DaemonSet", "apps/v1" },	   { "StatefulSet", "apps/v1" },
		{ "ReplicationController", "v1" }, { "Pod", "v1" },		   { "Node", "v1" },
	};
	const char *v = json_str(obj, "apiVersion");
	if (v)
		return v;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(t[i].kind, kind))
			return t[i].api;
	return "v1";
}

void ctl_event(Manager *m, const json_t *obj, const char *kind, const char *component, const char *type,
	       const char *reason, const char *fmt, ...)
{
	char now[32], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	time_rfc3339(now, sizeof(now), mgr_now_s(m));
	const char *ns = obj_meta(obj, "namespace") ?: "default";
	_cleanup_free_ char *name = xasprintf("%s.%llx", obj_meta(obj, "name") ?: "x",
					      (unsigned long long)clock_real_ms() * 1000 + (unsigned)rand() % 1000);
	_cleanup_json_ json_t *ev = json_pack(
		"{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns, "involvedObject", "kind",
		kind, "apiVersion", kind_api_version(obj, kind), "namespace", ns, "name", obj_meta(obj, "name") ?: "",
		"uid", obj_meta(obj, "uid") ?: "", "reason", reason, "message", msg, "type", type, "source", "component",
		component, "firstTimestamp", now, "lastTimestamp", now, "count", 1);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
	_cleanup_err_ Error *e = NULL;
	if (kube_post(m->kc, path, ev, NULL, &e) < 0)
		log_debug("event %s for %s/%s: %s", reason, ns, obj_meta(obj, "name"), err_msg(e));
}
