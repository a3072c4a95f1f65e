/* events.c - Events about pods, as the kubelet records them.
 *
 * The runtime (worker.c, probe.c) calls agent_event at the moments the
 * kubelet records one (Pulled, Created, Started, Killing, BackOff,
 * Unhealthy, Failed); it formats the message and hands it to the
 * AgentConfig's on_event callback (nothing happens without one, as for
 * static pods with no API server).  agent_event_new builds the v1 Event
 * the API source posts, and agent_event_key is what repeats of one event
 * share, so a crash loop bumps count/lastTimestamp of one Event instead of
 * writing hundreds (client-go's EventCorrelator does the same).
 */
#include "agent-internal.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void agent_event(Agent *a, Pod *p, const PodCtr *c, const char *type, const char *reason, const char *fmt, ...)
{
	if (!a->cfg.on_event)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	_cleanup_free_ char *fp = c ? xasprintf("spec.%s{%s}", c->init ? "initContainers" : "containers", c->name) : NULL;
	a->cfg.on_event(a->cfg.ud, pod_tree(p), fp, type, reason, msg ? msg : reason);
}

json_t *agent_event_new(const json_t *pod, const char *field_path, const char *type, const char *reason,
			const char *message, const char *node, const char *now)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *name = json_str(meta, "name") ?: "";
	const char *ns = json_str(meta, "namespace") ?: "default";
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	_cleanup_free_ char *ename = xasprintf("%s.%llx", name,
					       (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	json_t *io = json_pack("{s:s, s:s, s:s, s:s}", "kind", "Pod", "apiVersion", "v1", "namespace", ns, "name", name);
	if (json_str(meta, "uid"))
		json_object_set_new(io, "uid", json_string(json_str(meta, "uid")));
	if (json_str(meta, "resourceVersion"))
		json_object_set_new(io, "resourceVersion", json_string(json_str(meta, "resourceVersion")));
	if (field_path)
		json_object_set_new(io, "fieldPath", json_string(field_path));
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i, s:s, s:s}",
			 "apiVersion", "v1", "kind", "Event", "metadata", "name", ename, "namespace", ns,
			 "involvedObject", io, "type", type, "reason", reason, "message", message ?: "", "source",
			 "component", "kubelet", "host", node, "firstTimestamp", now, "lastTimestamp", now, "count", 1,
			 "reportingComponent", "kubelet", "reportingInstance", node);
}

char *agent_event_key(const json_t *ev)
{
	const json_t *io = json_object_get(ev, "involvedObject"), *src = json_object_get(ev, "source");
	const char *parts[] = { json_str(src, "component"), json_str(src, "host"),	 json_str(io, "kind"),
				json_str(io, "namespace"),  json_str(io, "name"),	 json_str(io, "uid"),
				json_str(io, "fieldPath"),  json_str(ev, "type"),	 json_str(ev, "reason"),
				json_str(ev, "message") };
	StrBuf sb = STRBUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		/* length-prefixed, so no two different tuples give one key */
		const char *s = parts[i] ? parts[i] : "";
		sb_addf(&sb, "%zu:%s;", strlen(s), s);
	}
	return sb_detach(&sb);
}
