/* sweep.c - the API server's periodic work, in one throttled timer
 * (apiserver_run calls api_sweep about once a second):
 *
 *   - Events expire: core v1 and events.k8s.io/v1 Events older than the
 *     event TTL (1 h, kube-apiserver's --event-ttl default; measured from
 *     lastTimestamp / eventTime / creationTimestamp) are deleted, every minute.
 *   - Graceful pod deletion ends: a pod whose deletionTimestamp (now + grace
 *     period, set by DELETE) has passed and that has no finalizers is removed,
 *     as when its kubelet confirms with grace 0 - unless the pod is bound to
 *     a node whose agent is alive (its Lease renewed within a minute): then
 *     the agent removes it once the containers are really gone, as in
 *     Kubernetes.  A full scan runs every 15 s
 *     (pods marked by another API server over the same etcd, or before a
 *     restart); pods this server marked are looked at when their time comes
 *     (api_sweep_pod_hint), so a short grace period ends on time.
 *   - The garbage collector's safety sweep (api_gc_sweep, gc.c), with the
 *     full pod scan: owners in foreground deletion whose dependents went
 *     without telling them, dependents whose owners are gone (a server
 *     restarted in the middle of a cascade, another server's writes), and
 *     a pass over every terminating namespace (api_namespaces_sweep).
 *
 * The work is level-triggered: everything is read back from the store
 * (the pod scan finds terminating pods on the watch cache's texts).
 */
#include "api-internal.h"
#include "handlers.h"
#include "gc.h"
#include "../base/cleanup.h"
#include <string.h>
#include <time.h>

#define EVENT_TTL 3600
#define EVENT_SWEEP_EVERY 60
#define POD_SCAN_EVERY 15

static int64_t event_time(const json_t *ev)
{
	static const char *const fields[] = { "lastTimestamp", "eventTime", "deprecatedLastTimestamp", "firstTimestamp" };
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		int64_t t = api_parse_time(json_str(ev, fields[i]));
		if (t > 0)
			return t;
	}
	return api_parse_time(api_meta_str(ev, "creationTimestamp"));
}

static void sweep_events(Api *api, const char *group, int64_t now)
{
	const ApiResource *r = api_resource_find(api, group, NULL, "events");
	if (!r)
		return;
	_cleanup_free_ char *prefix = api_resource_key(r, NULL, NULL);
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
		return;
	size_t i;
	json_t *ev;
	json_array_foreach(items, i, ev)
		if (event_time(ev) + EVENT_TTL < now)
			api_delete_now(api, r, api_meta_str(ev, "namespace"), api_meta_str(ev, "name"), NULL, NULL);
}

#define AGENT_ALIVE_S 60

/* Is there an agent that will finish this pod's deletion itself?  (A node
 * whose Lease in kube-node-lease was renewed lately.)  Answers are kept in
 * seen (node name -> true/false) for one sweep. */
static bool node_agent_alive(Api *api, const char *node, int64_t now, json_t *seen)
{
	json_t *v = json_object_get(seen, node);
	if (v)
		return json_is_true(v);
	const ApiResource *leases = api_resource_find(api, "coordination.k8s.io", NULL, "leases");
	_cleanup_json_ json_t *lease = NULL;
	bool alive = false;
	if (leases && api_load(api, leases, "kube-node-lease", node, &lease, NULL) == 0) {
		int64_t renewed = api_parse_time(json_str(json_object_get(lease, "spec"), "renewTime"));
		alive = renewed > 0 && now - renewed < AGENT_ALIVE_S;
	}
	json_object_set_new(seen, node, json_boolean(alive));
	return alive;
}

/* The pods with a deletionTimestamp, found on the watch cache's texts and
 * read back from the store (so the decision is on the stored pod): the
 * others are never decoded (decoding 10,000 pods at a server's start-up
 * was ~15% of its CPU while a scheduler bound a backlog).  NULL when there
 * is no cache (the caller lists the store). */
static json_t *terminating_pods(Api *api, const ApiResource *r, const char *prefix)
{
	if (!api->cache)
		return NULL;
	CacheObj **objs;
	size_t n, plen = strlen(prefix);
	int64_t rev;
	bool more;
	api_cache_list(api->cache, prefix, NULL, 0, &objs, &n, &rev, &more);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *ms, *me, *ds, *de;
		const char *raw = objs[i]->raw, *end = raw + objs[i]->raw_len;
		if (cache_json_member(raw, end, "metadata", &ms, &me) == 0 &&
		    cache_json_member(ms, me, "deletionTimestamp", &ds, &de) == -ENOENT)
			continue;  /* not terminating (a text that does not scan is read) */
		_cleanup_free_ char *ns = xstrdup(objs[i]->key + plen);  /* "<ns>/<name>" */
		char *name = strchr(ns, '/');
		if (!name)
			continue;
		*name++ = 0;
		json_t *pod = NULL;
		if (api_load(api, r, ns, name, &pod, NULL) == 0)
			json_array_append_new(items, pod);
	}
	api_cache_objs_free(objs, n);
	return items;
}

/* Remove the pods whose grace period is over; returns the earliest deadline still ahead (0: none). */
static int64_t sweep_pods(Api *api, int64_t now)
{
	const ApiResource *r = api_resource_find(api, "", NULL, "pods");
	_cleanup_free_ char *prefix = api_resource_key(r, NULL, NULL);
	_cleanup_json_ json_t *items = terminating_pods(api, r, prefix);
	int64_t rev, next = 0;
	bool more;
	if (!items) {
		items = json_array();
		if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
			return 0;
	}
	size_t i;
	json_t *pod;
	_cleanup_json_ json_t *agents = json_object();
	json_array_foreach(items, i, pod) {
		int64_t t = api_parse_time(api_meta_str(pod, "deletionTimestamp"));
		if (t <= 0 || json_array_size(json_path(pod, "metadata.finalizers")))
			continue;
		const char *node = json_str(json_object_get(pod, "spec"), "nodeName");
		if (node && *node && node_agent_alive(api, node, now, agents))
			continue;  /* its agent deletes it when the containers are gone */
		if (t <= now)
			api_delete_now(api, r, api_meta_str(pod, "namespace"), api_meta_str(pod, "name"), NULL, NULL);
		else if (!next || t < next)
			next = t;
	}
	return next;
}

void api_sweep_pod_hint(Api *api, int64_t deadline)
{
	pthread_mutex_lock(&api->lock);
	if (!api->grace_next || deadline < api->grace_next)
		api->grace_next = deadline;
	pthread_mutex_unlock(&api->lock);
}

void api_sweep(Api *api)
{
	int64_t now = (int64_t)time(NULL);
	if (now - api->events_swept >= EVENT_SWEEP_EVERY) {
		api->events_swept = now;
		sweep_events(api, "", now);
		sweep_events(api, "events.k8s.io", now);
	}
	pthread_mutex_lock(&api->lock);
	bool due = (api->grace_next && api->grace_next <= now) || now - api->pods_swept >= POD_SCAN_EVERY;
	if (due)
		api->grace_next = 0;
	pthread_mutex_unlock(&api->lock);
	if (!due)
		return;
	bool full = now - api->pods_swept >= POD_SCAN_EVERY;
	api->pods_swept = now;
	int64_t next = sweep_pods(api, now);
	if (next)
		api_sweep_pod_hint(api, next);
	if (full) {
		api_gc_sweep(api);
		api_namespaces_sweep(api);
	}
}
