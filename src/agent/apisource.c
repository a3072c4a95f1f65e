/* apisource.c - the agent's API-server side (the kubelet's sync with the
 * control plane): Node registration and heartbeats, the node Lease, the
 * pods bound to this node, their statuses, Events, and final deletion.
 *
 * Three parties, so the single-threaded Agent never waits on the network:
 *
 *   watch thread   LIST pods?fieldSelector=spec.nodeName=NODE (all
 *                  namespaces), then WATCH from its resourceVersion (re-list
 *                  on 410); every list / event goes into the inbox and an
 *                  eventfd wakes the caller.
 *   caller thread  agent_api_process applies the inbox to the Agent:
 *                  agent_pod_sync for live pods, agent_pod_kill (with the
 *                  pod's deletionGracePeriodSeconds) for pods being deleted,
 *                  and after each full list kills the API pods the server no
 *                  longer has.  The Agent's callbacks (status, gone, event)
 *                  run here too and only queue work for the writer.
 *   writer thread  registers the Node (create, or update an existing one)
 *                  and PATCHes nodes/NAME/status every 10 s; renews the
 *                  Lease every 10 s; writes pod statuses (GET, merge, PUT
 *                  with the resourceVersion read, retry on conflict; only
 *                  the newest status of a pod is kept while it waits);
 *                  posts Events, bumping count/lastTimestamp of a repeat;
 *                  deletes a terminated pod for good (grace 0, uid
 *                  precondition) once the Agent reports it gone.
 *
 * Static pods get mirror pods (as the kubelet's mirror client): the caller
 * thread hands the writer the wanted set (a copy of each static pod named
 * like it, annotation kubernetes.io/config.mirror = its hash, owned by the
 * Node, and its latest status); the writer creates the missing ones, writes
 * their status, deletes those of static pods that are gone and re-creates one
 * somebody deleted (the static pod keeps running).  Mirror pods the watch
 * reports are never run.  hostPort admission (admit.c) rejects a new API pod
 * whose hostPort another pod holds: status Failed, reason NodePorts.  The
 * caller thread also refreshes the pods' configMap / secret / downwardAPI /
 * projected volumes every volume_refresh_ms (kubelet's periodic sync).
 *
 * Pods from the API carry the annotation kubernetes.io/config.source=api
 * (as the kubelet marks its sources), which is how a restarted agent tells
 * its adopted API pods from static ones, and how static pods are kept out
 * of status writes and Events.  A pod the agent already runs is only
 * re-synced when its labels/annotations change, so the MODIFIED events our
 * own status writes cause cost nothing.  The copy the Agent keeps loses
 * the fields no part of the agent reads (pod_strip_unread).
 */
#include "agent-internal.h"
#include "../base/log.h"
#include "../shared/json.h"
#include "../shared/kube.h"
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NODE_STATUS_PERIOD_MS 10000
#define LEASE_DURATION_S 40
#define RETRY_MS 1000
#define WATCH_TIMEOUT_S 300
#define MAX_QUEUED_EVENTS 1000
#define EVENT_CACHE_MAX 4096
#define CONFLICT_RETRIES 5
#define SA_MOUNT "/var/run/secrets/kubernetes.io/serviceaccount"
#define ROOT_CA_CONFIGMAP "kube-root-ca.crt"
#define ANN_MIRROR "kubernetes.io/config.mirror"
#define VOLUME_REFRESH_MS 60000

struct AgentApi {
	KubeClient *kc;
	const AgentNodeInfo *ni;
	Agent *a;
	char *selector;             /* fieldSelector=spec.nodeName%3DNODE */
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* wakes the writer */
	int efd;                    /* wakes the caller */
	volatile int stop;
	pthread_t watch_th, writer_th;
	bool started;
	/* under lock */
	json_t *inbox;              /* [{"type", "object"} | {"type":"SYNC","items"}] */
	json_t *statuses;           /* uid -> {"ns","name","status"} */
	json_t *events;             /* [Event] */
	json_t *deletes;            /* uid -> {"ns","name"} */
	/* caller thread only */
	json_t *deleting;           /* uid -> {"ns","name"}: killed for a deletionTimestamp */
	json_t *synced;             /* uid -> fingerprint of the metadata last synced */
	json_t *tokens;             /* uid -> when (monotonic ms) its SA tokens are rewritten */
	int64_t token_period_ms;    /* 0: 80% of the token's lifetime */
	int64_t next_token_check;
	json_t *rejected;           /* uid -> true: failed admission (hostPort) */
	int64_t volume_refresh_ms, next_volume_refresh;
	/* mirror pods: wanted set under lock (static uid -> {"pod","status"}),
	 * mirrors_dirty asks the writer for a pass */
	json_t *mirrors;
	bool mirrors_dirty;
	json_t *mirrors_made;       /* writer only: static uid -> {"ns","name"} */
	int64_t next_mirror_pass;   /* writer only */
	/* writer thread only */
	bool registered;
	char *node_uid;
	json_t *node_status;        /* last written (transition times) */
	json_t *event_cache;        /* hash of the aggregation key -> "COUNT NAME" */
	/* set before start */
	int64_t status_period_ms;   /* node status and Lease renewal (default 10 s) */
	json_t *root_ca;            /* the kube-root-ca.crt ConfigMap to fall back on, or NULL */
};

/* ---- small helpers ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void now_micro(char buf[48])
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	time_t t = tv.tv_sec;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 48, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static bool is_api_pod(const json_t *pod)
{
	const char *src = json_str(json_path(pod, "metadata.annotations"), "kubernetes.io/config.source");
	return src && !strcmp(src, "api");
}

/* the same of a pod the Agent runs, from its cached annotation (no tree) */
static bool pod_is_api(const Pod *p) { return !strcmp(p->source, "api"); }
static bool pod_is_file(const Pod *p) { return !strcmp(p->source, "file"); }

static Pod *find_pod(Agent *a, const char *uid)
{
	for (Pod *p = a->pods; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

static void wake_caller(AgentApi *api)
{
	uint64_t one = 1;
	if (write(api->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("agent api: eventfd: %s", strerror(errno));
}

static void inbox_push(AgentApi *api, json_t *item)
{
	pthread_mutex_lock(&api->lock);
	json_array_append_new(api->inbox, item);
	pthread_mutex_unlock(&api->lock);
	wake_caller(api);
}

static void interruptible_sleep(AgentApi *api, int ms)
{
	for (int i = 0; i < ms / 50 && !api->stop; i++)
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
}

/* ---- watch thread ---- */

typedef struct WatchCtx {
	AgentApi *api;
	char *rv;
	bool expired;
} WatchCtx;

static void set_rv(WatchCtx *w, const char *rv)
{
	if (!rv)
		return;
	free(w->rv);
	w->rv = xstrdup(rv);
}

static int on_watch_event(const json_t *ev, void *ud)
{
	WatchCtx *w = ud;
	const char *type = json_str(ev, "type");
	json_t *obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj))
		return 0;
	if (!strcmp(type, "ERROR")) {
		w->expired = json_int(obj, "code", 0) == 410;
		return 1;
	}
	set_rv(w, json_str(json_object_get(obj, "metadata"), "resourceVersion"));
	if (strcmp(type, "BOOKMARK"))
		inbox_push(w->api, json_pack("{s:s, s:O}", "type", type, "object", obj));
	return 0;
}

static int pods_list(AgentApi *api, WatchCtx *w, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/pods?%s", api->selector);
	_cleanup_json_ json_t *list = NULL;
	int r = kube_get(api->kc, path, &list, err);
	if (r < 0)
		return r;
	json_t *items = json_object_get(list, "items");
	inbox_push(api, json_pack("{s:s, s:O}", "type", "SYNC", "items", json_is_array(items) ? items : json_array()));
	set_rv(w, json_str(json_object_get(list, "metadata"), "resourceVersion"));
	return 0;
}

static void *watch_main(void *arg)
{
	AgentApi *api = arg;
	WatchCtx w = { .api = api };
	bool need_list = true;
	int backoff = 100;
	while (!api->stop) {
		_cleanup_err_ Error *err = NULL;
		if (need_list) {
			if (pods_list(api, &w, &err) < 0) {
				log_debug("agent api: list pods: %s", err_msg(err));
				interruptible_sleep(api, RETRY_MS);
				continue;
			}
			need_list = false;
		}
		_cleanup_free_ char *path = xasprintf("/api/v1/pods?%s&watch=1&allowWatchBookmarks=true&timeoutSeconds=%d"
						      "&resourceVersion=%s",
						      api->selector, WATCH_TIMEOUT_S, w.rv ? w.rv : "0");
		w.expired = false;
		int64_t t0 = mono_ms();
		int r = kube_watch(api->kc, path, on_watch_event, &w, &api->stop, &err);
		if (w.expired || r == -ESTALE) {
			need_list = true;
		} else if (r < 0) {
			log_debug("agent api: watch pods: %s", err_msg(err));
			interruptible_sleep(api, RETRY_MS);
			need_list = true; /* the server may have been away: start from a fresh list */
		} else if (mono_ms() - t0 < 1000) {
			interruptible_sleep(api, backoff);
			backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
		} else {
			backoff = 100;
		}
	}
	free(w.rv);
	return NULL;
}

/* ---- writer: the Node and its Lease ---- */

static int node_register(AgentApi *api, Error **err)
{
	char now[48];
	agent_now_rfc3339(now);
	_cleanup_json_ json_t *node = agent_node_object(api->ni, now);
	_cleanup_json_ json_t *got = NULL;
	int r = kube_post(api->kc, "/api/v1/nodes", node, &got, err);
	if (r == -EEXIST) {
		/* registered before (an agent restart): make labels, taints and podCIDR ours */
		err_free(*err);
		*err = NULL;
		_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s", api->ni->name);
		for (int i = 0; i < CONFLICT_RETRIES; i++) {
			json_decref(got);
			got = NULL;
			_cleanup_json_ json_t *cur = NULL;
			if ((r = kube_get(api->kc, path, &cur, err)) < 0)
				return r;
			json_t *meta = json_obj_ensure(cur, "metadata");
			json_object_update(json_obj_ensure(meta, "labels"), json_path(node, "metadata.labels"));
			json_t *spec = json_obj_ensure(cur, "spec");
			json_object_update(spec, json_object_get(node, "spec"));
			r = kube_put(api->kc, path, cur, &got, err);
			if (r != -EBUSY)
				break;
			err_free(*err);
			*err = NULL;
		}
	}
	if (r < 0)
		return r;
	free(api->node_uid);
	api->node_uid = json_str(json_object_get(got, "metadata"), "uid")
				? xstrdup(json_str(json_object_get(got, "metadata"), "uid"))
				: NULL;
	api->registered = true;
	log_info("node %s registered", api->ni->name);
	return 0;
}

static int node_status_write(AgentApi *api, Error **err)
{
	char now[48];
	agent_now_rfc3339(now);
	json_t *st = agent_node_status(api->ni, api->node_status, now);
	_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s/status", api->ni->name);
	_cleanup_json_ json_t *patch = json_pack("{s:O}", "status", st);
	int r = kube_patch(api->kc, path, patch, NULL, err);
	if (r == -ENOENT)
		api->registered = false; /* deleted under us: register again */
	if (r < 0) {
		json_decref(st);
		return r;
	}
	json_decref(api->node_status);
	api->node_status = st;
	return 0;
}

static int node_sync(AgentApi *api)
{
	_cleanup_err_ Error *err = NULL;
	int r = api->registered ? 0 : node_register(api, &err);
	if (r >= 0)
		r = node_status_write(api, &err);
	if (r < 0)
		log_warn("node %s: %s", api->ni->name, err_msg(err));
	return r;
}

static int lease_renew(AgentApi *api)
{
	char now[48];
	now_micro(now);
	_cleanup_err_ Error *err = NULL;
	_cleanup_free_ char *path =
		xasprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", api->ni->name);
	_cleanup_json_ json_t *cur = NULL;
	int r = kube_get(api->kc, path, &cur, &err);
	if (r == -ENOENT) {
		err_free(err);
		err = NULL;
		_cleanup_json_ json_t *lease = agent_lease_object(api->ni->name, now, LEASE_DURATION_S);
		if (api->node_uid)
			json_object_set_new(json_object_get(lease, "metadata"), "ownerReferences",
					    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind", "Node", "name",
						      api->ni->name, "uid", api->node_uid));
		r = kube_post(api->kc, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease, NULL,
			      &err);
	} else if (r >= 0) {
		json_t *spec = json_obj_ensure(cur, "spec");
		json_object_set_new(spec, "holderIdentity", json_string(api->ni->name));
		json_object_set_new(spec, "leaseDurationSeconds", json_integer(LEASE_DURATION_S));
		json_object_set_new(spec, "renewTime", json_string(now));
		r = kube_put(api->kc, path, cur, NULL, &err);
	}
	if (r < 0)
		log_warn("node %s: lease: %s", api->ni->name, err_msg(err));
	return r;
}

/* ---- writer: pods ---- */

/* The agent's status over the server's: conditions the agent does not own
 * (set by others, e.g. a scheduler's or a readiness gate's) are kept;
 * hostIP is the node's. */
static json_t *status_merge(AgentApi *api, const json_t *cur, const json_t *mine)
{
	json_t *st = json_deep_copy(mine);
	json_t *conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	size_t i, j;
	json_t *c, *m;
	json_array_foreach(json_object_get(cur, "conditions"), i, c) {
		bool ours = false;
		json_array_foreach(conds, j, m)
			if (!strcmp(json_str(m, "type") ?: "", json_str(c, "type") ?: ""))
				ours = true;
		if (!ours)
			json_array_append(conds, c);
	}
	if (!json_str(st, "hostIP") && api->ni->ip && *api->ni->ip) {
		json_object_set_new(st, "hostIP", json_string(api->ni->ip));
		json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", api->ni->ip));
	}
	return st;
}

/* 0 done (or nothing to do: the pod is gone or was replaced), < 0 retry. */
static int pod_status_write(AgentApi *api, const char *uid, const json_t *job, Error **err)
{
	const char *ns = json_str(job, "ns"), *name = json_str(job, "name");
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	_cleanup_free_ char *spath = xasprintf("%s/status", path);
	for (int i = 0; i < CONFLICT_RETRIES; i++) {
		_cleanup_json_ json_t *cur = NULL;
		int r = kube_get(api->kc, path, &cur, err);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		if (strcmp(json_str(json_object_get(cur, "metadata"), "uid") ?: "", uid))
			return 0;
		json_t *st = status_merge(api, json_object_get(cur, "status"), json_object_get(job, "status"));
		if (json_bool(json_object_get(cur, "spec"), "hostNetwork", false) && !json_str(st, "podIP") &&
		    api->ni->ip && *api->ni->ip) {
			/* the host's network: the pod's address is the node's */
			json_object_set_new(st, "podIP", json_string(api->ni->ip));
			json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", api->ni->ip));
		}
		if (json_equal(st, json_object_get(cur, "status"))) {
			json_decref(st);
			return 0;
		}
		json_object_set_new(cur, "status", st);
		r = kube_put(api->kc, spath, cur, NULL, err);
		if (r != -EBUSY)
			return r == -ENOENT ? 0 : r;
		err_free(*err);
		*err = NULL;
	}
	return err_set(err, EBUSY, "pod %s/%s: status: conflict after %d tries", ns, name, CONFLICT_RETRIES);
}

static int pod_delete_final(AgentApi *api, const char *uid, const json_t *job, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", json_str(job, "ns"), json_str(job, "name"));
	_cleanup_json_ json_t *opts = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
						"gracePeriodSeconds", 0, "preconditions", "uid", uid);
	int r = kube_request(api->kc, "DELETE", path, opts, NULL, NULL, NULL, err);
	/* gone already, or a new pod of that name (the uid precondition failed) */
	if (r == -ENOENT || r == -EBUSY || r == -EEXIST)
		return 0;
	return r;
}

/* 64-bit FNV-1a of s as 16 hex digits: what per-pod and per-event maps
 * keep instead of long texts (a collision among a few thousand keys is
 * ~1e-12 likely). */
static char *text_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *c = s ? s : ""; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
	return xasprintf("%016llx", (unsigned long long)h);
}

/* The Event cache's key: a hash of agent_event_key (~200 bytes of text
 * each, up to EVENT_CACHE_MAX of them). */
static char *event_cache_key(const json_t *ev)
{
	_cleanup_free_ char *key = agent_event_key(ev);
	return text_hash(key);
}

static int event_write(AgentApi *api, const json_t *ev, Error **err)
{
	_cleanup_free_ char *key = event_cache_key(ev);
	const char *ns = json_str(json_object_get(ev, "metadata"), "namespace");
	json_t *seen = json_object_get(api->event_cache, key);
	long long count = 0;
	int name_at = 0;
	if (seen && sscanf(json_string_value(seen), "%lld %n", &count, &name_at) == 1 && name_at > 0) {
		const char *name = json_string_value(seen) + name_at;
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events/%s", ns, name);
		_cleanup_json_ json_t *patch = json_pack("{s:I, s:s}", "count", (json_int_t)count + 1, "lastTimestamp",
							 json_str(ev, "lastTimestamp"));
		int r = kube_patch(api->kc, path, patch, NULL, err);
		if (r >= 0) {
			json_object_set_new(api->event_cache, key, json_sprintf("%lld %s", count + 1, name));
			return 0;
		}
		if (r != -ENOENT) /* expired: record it anew */
			return r;
		err_free(*err);
		*err = NULL;
		json_object_del(api->event_cache, key);
	}
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
	int r = kube_post(api->kc, path, ev, NULL, err);
	if (r < 0)
		return r;
	if (json_object_size(api->event_cache) >= EVENT_CACHE_MAX)
		json_object_clear(api->event_cache);
	json_object_set_new(api->event_cache, key, json_sprintf("1 %s", json_str(json_object_get(ev, "metadata"), "name")));
	return 0;
}

/* Write what is queued; what failed goes back (unless newer work replaced
 * it).  True when something is left to retry. */
static bool flush_writes(AgentApi *api)
{
	pthread_mutex_lock(&api->lock);
	json_t *sts = api->statuses, *evs = api->events, *dels = api->deletes;
	api->statuses = json_object();
	api->events = json_array();
	api->deletes = json_object();
	pthread_mutex_unlock(&api->lock);
	json_t *failed_sts = json_object(), *failed_evs = json_array(), *failed_dels = json_object();
	const char *uid;
	json_t *job;
	size_t i;
	json_object_foreach(sts, uid, job) {
		_cleanup_err_ Error *err = NULL;
		if (pod_status_write(api, uid, job, &err) < 0) {
			log_debug("pod %s/%s: status: %s", json_str(job, "ns"), json_str(job, "name"), err_msg(err));
			json_object_set(failed_sts, uid, job);
		}
	}
	json_array_foreach(evs, i, job) {
		_cleanup_err_ Error *err = NULL;
		int r = event_write(api, job, &err);
		if (r < 0 && r != -EINVAL && r != -EACCES) /* a rejected event is dropped, a lost connection retried */
			json_array_append(failed_evs, job);
		if (r < 0)
			log_debug("event: %s", err_msg(err));
	}
	json_object_foreach(dels, uid, job) {
		_cleanup_err_ Error *err = NULL;
		if (pod_delete_final(api, uid, job, &err) < 0) {
			log_debug("pod %s/%s: delete: %s", json_str(job, "ns"), json_str(job, "name"), err_msg(err));
			json_object_set(failed_dels, uid, job);
		}
	}
	pthread_mutex_lock(&api->lock);
	json_object_foreach(failed_sts, uid, job)
		if (!json_object_get(api->statuses, uid))
			json_object_set(api->statuses, uid, job);
	json_array_foreach(failed_evs, i, job)
		if (json_array_size(api->events) < MAX_QUEUED_EVENTS)
			json_array_append(api->events, job);
	json_object_update_missing(api->deletes, failed_dels);
	pthread_mutex_unlock(&api->lock);
	bool retry = json_object_size(failed_sts) || json_array_size(failed_evs) || json_object_size(failed_dels);
	json_decref(failed_sts);
	json_decref(failed_evs);
	json_decref(failed_dels);
	json_decref(sts);
	json_decref(evs);
	json_decref(dels);
	return retry;
}

static bool work_waiting(AgentApi *api)
{
	return json_object_size(api->statuses) || json_array_size(api->events) || json_object_size(api->deletes) ||
	       api->mirrors_dirty;
}

/* ---- writer: mirror pods of static pods ---- */

static void queue_delete(AgentApi *api, const char *uid, const char *ns, const char *name);

static const char *mirror_hash(const json_t *pod)
{
	return json_str(json_path(pod, "metadata.annotations"), ANN_MIRROR);
}

/* One static pod's mirror: create it if missing, replace one of an older
 * manifest, write its status.  0 done, < 0 retry. */
static int mirror_one(AgentApi *api, const char *suid, const json_t *want, Error **err)
{
	const json_t *pod = json_object_get(want, "pod");
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace"),
		   *name = json_str(json_object_get(pod, "metadata"), "name");
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	_cleanup_json_ json_t *cur = NULL;
	int r = kube_get(api->kc, path, &cur, err);
	if (r == -ENOENT) {
		err_free(*err);
		*err = NULL;
		_cleanup_json_ json_t *body = json_deep_copy(pod);
		if (api->node_uid)
			json_object_set_new(json_object_get(body, "metadata"), "ownerReferences",
					    json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "v1", "kind", "Node",
						      "name", api->ni->name, "uid", api->node_uid, "controller", 1));
		_cleanup_free_ char *coll = xasprintf("/api/v1/namespaces/%s/pods", ns);
		if ((r = kube_post(api->kc, coll, body, &cur, err)) < 0)
			return r;
		log_info("pod %s/%s: mirror pod created", ns, name);
	} else if (r < 0) {
		return r;
	}
	const json_t *meta = json_object_get(cur, "metadata");
	const char *hash = mirror_hash(cur);
	if (!hash)
		return 0; /* a pod of the API's own holds the name: leave it */
	if (strcmp(hash, suid)) { /* the mirror of an older manifest */
		queue_delete(api, json_str(meta, "uid") ?: "", ns, name);
		return 0;
	}
	json_object_set_new(api->mirrors_made, suid, json_pack("{s:s, s:s}", "ns", ns, "name", name));
	const json_t *st = json_object_get(want, "status");
	if (!json_is_object(st) || json_object_get(meta, "deletionTimestamp"))
		return 0;
	_cleanup_json_ json_t *job = json_pack("{s:s, s:s, s:O}", "ns", ns, "name", name, "status", st);
	return pod_status_write(api, json_str(meta, "uid") ?: "", job, err);
}

/* Bring the mirror pods in line with the static pods the caller wants. */
static void mirror_sync(AgentApi *api)
{
	pthread_mutex_lock(&api->lock);
	json_t *want = json_deep_copy(api->mirrors);
	api->mirrors_dirty = false;
	pthread_mutex_unlock(&api->lock);
	bool retry = false;
	const char *suid;
	json_t *w;
	void *tmp;
	json_object_foreach(want, suid, w) {
		_cleanup_err_ Error *err = NULL;
		if (mirror_one(api, suid, w, &err) < 0) {
			log_debug("mirror pod of %s: %s", suid, err_msg(err));
			retry = true;
		}
	}
	json_object_foreach_safe(api->mirrors_made, tmp, suid, w) {
		if (json_object_get(want, suid))
			continue;
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", json_str(w, "ns"), json_str(w, "name"));
		_cleanup_json_ json_t *cur = NULL;
		_cleanup_err_ Error *err = NULL;
		int r = kube_get(api->kc, path, &cur, &err);
		if (r >= 0 && !strcmp(mirror_hash(cur) ?: "", suid))
			r = pod_delete_final(api, json_str(json_object_get(cur, "metadata"), "uid") ?: "", w, &err);
		if (r < 0 && r != -ENOENT) {
			retry = true;
			continue;
		}
		log_info("pod %s/%s: static pod gone, mirror pod deleted", json_str(w, "ns"), json_str(w, "name"));
		json_object_del(api->mirrors_made, suid);
	}
	json_decref(want);
	if (retry)
		api->next_mirror_pass = mono_ms() + RETRY_MS;
}

static void *writer_main(void *arg)
{
	AgentApi *api = arg;
	int64_t next_node = 0, next_lease = 0, next_retry = 0;
	while (!api->stop) {
		int64_t now = mono_ms();
		if (now >= next_node)
			next_node = now + (node_sync(api) < 0 ? RETRY_MS : api->status_period_ms);
		if (api->registered && now >= next_lease)
			next_lease = now + (lease_renew(api) < 0 ? RETRY_MS : api->status_period_ms);
		if (now >= next_retry && flush_writes(api))
			next_retry = mono_ms() + RETRY_MS;
		if (api->registered && (api->mirrors_dirty || mono_ms() >= api->next_mirror_pass)) {
			api->next_mirror_pass = mono_ms() + api->status_period_ms;
			mirror_sync(api);
			agent_localvol_sweep(api->a->root, api->kc); /* local-path directories of deleted PVs */
		}
		now = mono_ms();
		int64_t due = next_node < next_lease || !api->registered ? next_node : next_lease;
		if (next_retry > now && next_retry < due)
			due = next_retry;
		if (api->registered && api->next_mirror_pass < due)
			due = api->next_mirror_pass;
		pthread_mutex_lock(&api->lock);
		if (!api->stop && (!work_waiting(api) || next_retry > now) && due > now) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t wait = due - now;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&api->cond, &api->lock, &ts);
		}
		pthread_mutex_unlock(&api->lock);
	}
	return NULL;
}

/* ---- the Agent's callbacks (caller thread) ---- */

static int api_lookup(void *ud, const char *kind, const char *ns, const char *name, json_t **ret)
{
	AgentApi *api = ud;
	_cleanup_free_ char *path = !strcmp(kind, "PersistentVolume")
		? xasprintf("/api/v1/persistentvolumes/%s", name)  /* cluster-scoped (volumes.c) */
		: xasprintf("/api/v1/namespaces/%s/%s/%s", ns,
			    !strcmp(kind, "Secret") ? "secrets"
			    : !strcmp(kind, "ServiceAccount") ? "serviceaccounts"
			    : !strcmp(kind, "PersistentVolumeClaim") ? "persistentvolumeclaims" : "configmaps", name);
	_cleanup_err_ Error *err = NULL;
	int r = kube_get(api->kc, path, ret, &err);
	if (r == -ENOENT && api->root_ca && !strcmp(kind, "ConfigMap") && !strcmp(name, ROOT_CA_CONFIGMAP)) {
		*ret = json_incref(api->root_ca); /* no publisher of it on the server: the agent's CA */
		return 0;
	}
	if (r < 0 && r != -ENOENT)
		log_warn("%s %s/%s: %s", kind, ns, name, err_msg(err));
	return r;
}

/* A TokenRequest for the pod's ServiceAccount, bound to the pod. */
static int api_token(void *ud, const json_t *pod, const json_t *src, char **ret, Error **err)
{
	AgentApi *api = ud;
	const json_t *meta = json_object_get(pod, "metadata");
	const char *ns = json_str(meta, "namespace") ?: "default";
	const char *sa = json_str(json_object_get(pod, "spec"), "serviceAccountName") ?: "default";
	json_int_t exp = json_int(src, "expirationSeconds", 3600);
	json_t *spec = json_pack("{s:I, s:{s:s, s:s, s:s, s:s}}", "expirationSeconds", (json_int_t)(exp < 600 ? 600 : exp),
				 "boundObjectRef", "apiVersion", "v1", "kind", "Pod", "name", json_str(meta, "name") ?: "",
				 "uid", json_str(meta, "uid") ?: "");
	if (json_str(src, "audience"))
		json_object_set_new(spec, "audiences", json_pack("[s]", json_str(src, "audience")));
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:o}", "apiVersion", "authentication.k8s.io/v1", "kind",
						"TokenRequest", "spec", spec);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa);
	_cleanup_json_ json_t *got = NULL;
	int r = kube_post(api->kc, path, body, &got, err);
	if (r < 0)
		return err_prefix(err, "serviceaccount %s/%s: token", ns, sa);
	const char *tok = json_str(json_object_get(got, "status"), "token");
	if (!tok)
		return err_set(err, EIO, "serviceaccount %s/%s: token: no token in the answer", ns, sa);
	*ret = xstrdup(tok);
	return 0;
}

static void api_on_status(void *ud, const json_t *pod, const json_t *status)
{
	AgentApi *api = ud;
	if (!is_api_pod(pod))
		return;
	const json_t *meta = json_object_get(pod, "metadata");
	pthread_mutex_lock(&api->lock);
	json_object_set_new(api->statuses, json_str(meta, "uid"),
			    json_pack("{s:s, s:s, s:O}", "ns", json_str(meta, "namespace"), "name", json_str(meta, "name"),
				      "status", status));
	pthread_cond_signal(&api->cond);
	pthread_mutex_unlock(&api->lock);
}

static void queue_delete(AgentApi *api, const char *uid, const char *ns, const char *name)
{
	pthread_mutex_lock(&api->lock);
	json_object_set_new(api->deletes, uid, json_pack("{s:s, s:s}", "ns", ns, "name", name));
	pthread_cond_signal(&api->cond);
	pthread_mutex_unlock(&api->lock);
}

static void api_on_gone(void *ud, const char *uid)
{
	AgentApi *api = ud;
	json_object_del(api->synced, uid);
	json_object_del(api->tokens, uid);
	json_t *d = json_object_get(api->deleting, uid);
	if (d)
		queue_delete(api, uid, json_str(d, "ns"), json_str(d, "name"));
	json_object_del(api->deleting, uid);
}

static void api_on_event(void *ud, const json_t *pod, const char *field_path, const char *type, const char *reason,
			 const char *message)
{
	AgentApi *api = ud;
	if (!is_api_pod(pod))
		return;
	char now[48];
	agent_now_rfc3339(now);
	json_t *ev = agent_event_new(pod, field_path, type, reason, message, api->ni->name, now);
	pthread_mutex_lock(&api->lock);
	if (json_array_size(api->events) < MAX_QUEUED_EVENTS)
		json_array_append(api->events, ev);
	pthread_cond_signal(&api->cond);
	pthread_mutex_unlock(&api->lock);
	json_decref(ev);
}

/* ---- applying pod events (caller thread) ---- */

static char *pod_fingerprint(const json_t *pod)
{
	const json_t *meta = json_object_get(pod, "metadata");
	_cleanup_json_ json_t *fp = json_pack("{s:O?, s:O?, s:O?}", "labels", json_object_get(meta, "labels"),
					      "annotations", json_object_get(meta, "annotations"), "deadline",
					      json_path(pod, "spec.activeDeadlineSeconds"));
	/* kept per pod: a 64-bit FNV-1a hash of the text, not the text (which
	 * holds kubectl's last-applied annotation, ~0.7 KB) */
	_cleanup_free_ char *text = json_dumps(fp, JSON_COMPACT | JSON_SORT_KEYS);
	return text_hash(text);
}

/* The copy of an API pod the agent keeps (and writes to pod.json) loses
 * what no part of the agent reads: managedFields, the scheduler's and the
 * API server's fields (tolerations, priority, affinity...), the deprecated
 * serviceAccount alias and the containers' termination message settings.
 * ~3.5 KB of tree a pod. */
void pod_strip_unread(json_t *pod)
{
	static const char *const meta_keys[] = { "managedFields", "generation", "creationTimestamp" };
	static const char *const spec_keys[] = { "tolerations",	 "schedulerName", "priority",
						 "priorityClassName", "preemptionPolicy", "serviceAccount",
						 "enableServiceLinks", "affinity", "nodeSelector",
						 "topologySpreadConstraints", "schedulingGates", "overhead" };
	static const char *const ctr_keys[] = { "terminationMessagePath", "terminationMessagePolicy" };
	json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	for (size_t i = 0; i < ARRAY_SIZE(meta_keys); i++)
		json_object_del(meta, meta_keys[i]);
	for (size_t i = 0; i < ARRAY_SIZE(spec_keys); i++)
		json_object_del(spec, spec_keys[i]);
	static const char *const lists[] = { "initContainers", "containers" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			for (size_t k = 0; k < ARRAY_SIZE(ctr_keys); k++)
				json_object_del(c, ctr_keys[k]);
	}
}

/* The shortest expirationSeconds of the pod's serviceAccountToken sources,
 * 0 if it has none. */
static int64_t sa_token_lifetime_s(const json_t *pod)
{
	int64_t best = 0;
	size_t i, j;
	json_t *v, *src;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v)
		json_array_foreach(json_path(v, "projected.sources"), j, src) {
			const json_t *t = json_object_get(src, "serviceAccountToken");
			if (!t)
				continue;
			int64_t exp = json_int(t, "expirationSeconds", 3600);
			if (exp < 600)
				exp = 600;
			if (!best || exp < best)
				best = exp;
		}
	return best;
}

static int64_t token_period_ms(AgentApi *api, const json_t *pod)
{
	return api->token_period_ms > 0 ? api->token_period_ms : sa_token_lifetime_s(pod) * 800;
}

/* Remember when the pod's tokens need rewriting: a pod just started has
 * fresh ones; one adopted from an earlier agent gets new ones at once. */
static void tokens_schedule(AgentApi *api, const char *uid, bool adopted)
{
	Pod *p = find_pod(api->a, uid);
	if (!p || json_object_get(api->tokens, uid) || !sa_token_lifetime_s(pod_tree(p)))
		return;
	int64_t now = mono_ms();
	json_object_set_new(api->tokens, uid, json_integer(adopted ? now : now + token_period_ms(api, pod_tree(p))));
}

/* Rewrite the projected volumes of pods whose tokens are due (kubelet: at
 * 80% of the lifetime), through the atomic ..data swap. */
static void tokens_refresh(AgentApi *api)
{
	int64_t now = mono_ms();
	if (now < api->next_token_check)
		return;
	api->next_token_check = now + 1000;
	const char *uid;
	json_t *due;
	void *tmp;
	json_object_foreach_safe(api->tokens, tmp, uid, due) {
		Pod *p = find_pod(api->a, uid);
		if (!p || p->killing) {
			json_object_del(api->tokens, uid);
			continue;
		}
		if (json_integer_value(due) > now || !p->sandbox_ready)
			continue;
		bool ok = true;
		size_t i, j;
		json_t *v, *src;
		json_array_foreach(json_path(pod_tree(p), "spec.volumes"), i, v)
			json_array_foreach(json_path(v, "projected.sources"), j, src) {
				if (!json_object_get(src, "serviceAccountToken"))
					continue;
				_cleanup_err_ Error *err = NULL;
				if (volumes_refresh(api->a, p, json_str(v, "name"), &err) < 0) {
					log_warn("pod %s/%s: %s", p->ns, p->name, err_msg(err));
					ok = false;
				}
				break;
			}
		json_object_set_new(api->tokens, uid, json_integer(now + (ok ? token_period_ms(api, pod_tree(p)) : 10000)));
	}
}

/* Does the pod get the ServiceAccount volume (automountServiceAccountToken
 * of the pod, else of its ServiceAccount; default true) and has it none yet
 * (the server's admission may have added one)? */
static bool sa_volume_wanted(AgentApi *api, const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");
	const json_t *am = json_object_get(spec, "automountServiceAccountToken");
	size_t i, j;
	json_t *v, *c, *m;
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
		if (!strncmp(json_str(v, "name") ?: "", "kube-api-access-", 16))
			return false;
	const char *lists[] = { "initContainers", "containers" };
	for (size_t l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			json_array_foreach(json_object_get(c, "volumeMounts"), j, m)
				if (!strcmp(json_str(m, "mountPath") ?: "", SA_MOUNT))
					return false;
	if (json_is_boolean(am))
		return json_is_true(am);
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace");
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/serviceaccounts/%s", ns ?: "default",
					      json_str(spec, "serviceAccountName") ?: "default");
	_cleanup_json_ json_t *sa = NULL;
	_cleanup_err_ Error *err = NULL;
	if (kube_get(api->kc, path, &sa, &err) < 0) {
		log_warn("pod %s/%s: no ServiceAccount token: %s", ns, json_str(json_object_get(pod, "metadata"), "name"),
			 err_msg(err));
		return false;
	}
	return json_bool(sa, "automountServiceAccountToken", true);
}

/* What the ServiceAccount admission adds to a pod: a projected volume
 * kube-api-access-XXXXX (token, ca.crt, namespace) mounted read-only at
 * SA_MOUNT in every container. */
static void sa_volume_add(json_t *pod)
{
	const char *uid = json_str(json_object_get(pod, "metadata"), "uid") ?: "";
	char suffix[6] = "";
	size_t n = 0;
	for (const char *u = uid; *u && n < 5; u++)
		if ((*u >= 'a' && *u <= 'z') || (*u >= '0' && *u <= '9'))
			suffix[n++] = *u;
	suffix[n] = 0;
	_cleanup_free_ char *name = xasprintf("kube-api-access-%s", suffix);
	json_t *vol = json_pack(
		"{s:s, s:{s:i, s:[{s:{s:i, s:s}}, {s:{s:s, s:[{s:s, s:s}]}}, {s:{s:[{s:s, s:{s:s, s:s}}]}}]}}", "name", name,
		"projected", "defaultMode", 0644, "sources", "serviceAccountToken", "expirationSeconds", 3607, "path",
		"token", "configMap", "name", ROOT_CA_CONFIGMAP, "items", "key", "ca.crt", "path", "ca.crt", "downwardAPI",
		"items", "path", "namespace", "fieldRef", "apiVersion", "v1", "fieldPath", "metadata.namespace");
	json_t *spec = json_obj_ensure(pod, "spec");
	json_t *vols = json_object_get(spec, "volumes");
	if (!json_is_array(vols)) {
		vols = json_array();
		json_object_set_new(spec, "volumes", vols);
	}
	json_array_append_new(vols, vol);
	const char *lists[] = { "initContainers", "containers" };
	size_t i;
	json_t *c;
	for (size_t l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			json_t *mounts = json_object_get(c, "volumeMounts");
			if (!json_is_array(mounts)) {
				mounts = json_array();
				json_object_set_new(c, "volumeMounts", mounts);
			}
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name", name, "mountPath", SA_MOUNT,
								"readOnly", 1));
		}
}

/* hostPort admission of a new pod (admit.c): a rejected one is reported
 * Failed with the kubelet's reason and message and never run. */
static bool admit_reject(AgentApi *api, const json_t *pod)
{
	_cleanup_free_ char *reason = NULL, *message = NULL;
	if (agent_admit_host_ports(api->a, pod, &reason, &message) == 0)
		return false;
	const json_t *meta = json_object_get(pod, "metadata");
	log_info("pod %s/%s: rejected: %s", json_str(meta, "namespace"), json_str(meta, "name"), message);
	json_object_set_new(api->rejected, json_str(meta, "uid"), json_true());
	char now[48];
	agent_now_rfc3339(now);
	_cleanup_json_ json_t *st = json_pack("{s:s, s:s, s:s, s:s}", "phase", "Failed", "reason", reason, "message",
					      message, "startTime", now);
	api_on_status(api, pod, st);
	const char *prefix = "Pod was rejected: ";
	api_on_event(api, pod, NULL, "Warning", reason,
		     !strncmp(message, prefix, strlen(prefix)) ? message + strlen(prefix) : message);
	return true;
}

static void pod_apply(AgentApi *api, const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *uid = json_str(meta, "uid"), *ns = json_str(meta, "namespace"), *name = json_str(meta, "name");
	if (!uid || !ns || !name)
		return;
	if (mirror_hash(obj)) { /* a mirror pod: never run; one being deleted goes now and comes back */
		if (json_object_get(meta, "deletionTimestamp"))
			queue_delete(api, uid, ns, name);
		return;
	}
	if (json_object_get(api->rejected, uid))
		return;
	Pod *p = find_pod(api->a, uid);
	if (p && !pod_is_api(p))
		return;
	if (json_object_get(meta, "deletionTimestamp")) {
		if (p) {
			if (!p->killing) {
				json_int_t grace = json_int(meta, "deletionGracePeriodSeconds", -1);
				log_info("pod %s/%s: deleted, stopping (grace %llds)", ns, name, (long long)grace);
				agent_pod_kill(api->a, uid, grace, NULL);
			}
			json_object_set_new(api->deleting, uid, json_pack("{s:s, s:s}", "ns", ns, "name", name));
		} else {
			queue_delete(api, uid, ns, name); /* nothing runs here: it can go */
		}
		return;
	}
	const char *phase = json_str(json_object_get(obj, "status"), "phase");
	if (!p && phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
		return; /* finished before; never run again */
	_cleanup_free_ char *fp = pod_fingerprint(obj);
	if (p && !strcmp(json_str(api->synced, uid) ?: "", fp))
		return;
	_cleanup_json_ json_t *pod = json_deep_copy(obj);
	pod_strip_unread(pod);
	json_t *ann = json_obj_ensure(json_object_get(pod, "metadata"), "annotations");
	json_object_set_new(ann, "kubernetes.io/config.source", json_string("api"));
	json_object_set_new(pod, "status", api->ni->ip ? json_pack("{s:s}", "hostIP", api->ni->ip) : json_object());
	if (!p && admit_reject(api, pod))
		return;
	if (!p && sa_volume_wanted(api, pod))
		sa_volume_add(pod);
	_cleanup_err_ Error *err = NULL;
	if (agent_pod_sync(api->a, pod, &err) < 0) {
		log_warn("pod %s/%s: %s", ns, name, err_msg(err));
		return;
	}
	if (!p)
		log_info("pod %s/%s: bound to this node, starting", ns, name);
	tokens_schedule(api, uid, p != NULL);
	json_object_set_new(api->synced, uid, json_string(fp));
}

static void pods_resync(AgentApi *api, const json_t *items)
{
	json_t *seen = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		pod_apply(api, o);
		const char *uid = json_str(json_object_get(o, "metadata"), "uid");
		if (uid)
			json_object_set_new(seen, uid, json_true());
	}
	json_array_foreach(items, i, o) { /* mirrors of static pods this node no longer runs */
		const char *hash = mirror_hash(o);
		const json_t *meta = json_object_get(o, "metadata");
		Pod *sp = hash ? find_pod(api->a, hash) : NULL;
		if (hash && (!sp || !pod_is_file(sp)) && json_str(meta, "uid"))
			queue_delete(api, json_str(meta, "uid"), json_str(meta, "namespace"), json_str(meta, "name"));
	}
	for (Pod *p = api->a->pods; p; p = p->next)
		if (pod_is_api(p) && !p->killing && !json_object_get(seen, p->uid)) {
			log_info("pod %s/%s: no longer on the API server, stopping", p->ns, p->name);
			agent_pod_kill(api->a, p->uid, -1, NULL);
		}
	json_decref(seen);
}

static void mirrors_poke(AgentApi *api)
{
	pthread_mutex_lock(&api->lock);
	api->mirrors_dirty = true;
	pthread_cond_signal(&api->cond);
	pthread_mutex_unlock(&api->lock);
}

/* The mirror pod of a static pod (new ref): named like it, its labels,
 * annotations + config.mirror, its spec; the writer adds the owner. */
static json_t *mirror_object(const Pod *p)
{
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata", "name",
				p->name, "namespace", p->ns, "spec", json_object_get(pod_tree(p), "spec"));
	json_t *meta = json_object_get(pod, "metadata");
	const json_t *labels = json_path(pod_tree(p), "metadata.labels");
	if (json_is_object(labels))
		json_object_set(meta, "labels", (json_t *)labels);
	json_t *ann = json_deep_copy(json_path(pod_tree(p), "metadata.annotations"));
	if (!json_is_object(ann)) {
		json_decref(ann);
		ann = json_object();
	}
	json_object_set_new(ann, ANN_MIRROR, json_string(p->uid));
	json_object_set_new(meta, "annotations", ann);
	return pod;
}

/* The mirror pods wanted now: one per running static pod, with its last
 * status; handed to the writer when it changed. */
static void mirrors_update(AgentApi *api)
{
	json_t *want = json_object();
	for (Pod *p = api->a->pods; p; p = p->next) {
		if (!pod_is_file(p) || p->killing)
			continue;
		json_t *m = mirror_object(p);
		json_object_set_new(want, p->uid, json_pack("{s:o, s:o?}", "pod", m, "status", status_last(p)));
	}
	pthread_mutex_lock(&api->lock);
	bool changed = !json_equal(want, api->mirrors);
	if (changed) {
		json_decref(api->mirrors);
		api->mirrors = want;
		api->mirrors_dirty = true;
		pthread_cond_signal(&api->cond);
	}
	pthread_mutex_unlock(&api->lock);
	if (!changed)
		json_decref(want);
}

/* kubelet's periodic sync of the written volumes (only changes are swapped in). */
static void volumes_tick(AgentApi *api)
{
	int64_t now = mono_ms();
	if (now < api->next_volume_refresh)
		return;
	api->next_volume_refresh = now + api->volume_refresh_ms;
	for (Pod *p = api->a->pods; p; p = p->next) {
		if (p->killing || !p->sandbox_ready)
			continue;
		_cleanup_err_ Error *err = NULL;
		int r = volumes_refresh_changed(api->a, p, &err);
		if (r < 0)
			log_warn("pod %s/%s: volume refresh: %s", p->ns, p->name, err_msg(err));
		else if (r > 0)
			log_info("pod %s/%s: %d volume(s) updated", p->ns, p->name, r);
	}
}

static void pod_removed(AgentApi *api, const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *uid = json_str(meta, "uid");
	if (!uid)
		return;
	json_object_del(api->rejected, uid);
	if (mirror_hash(obj)) { /* a mirror pod went: the writer makes it again if still wanted */
		mirrors_poke(api);
		return;
	}
	Pod *p = find_pod(api->a, uid);
	json_object_del(api->deleting, uid); /* the server has no pod left to delete */
	if (p && pod_is_api(p) && !p->killing) {
		log_info("pod %s/%s: removed from the API server, stopping", p->ns, p->name);
		agent_pod_kill(api->a, uid, json_int(meta, "deletionGracePeriodSeconds", -1), NULL);
	}
}

void agent_api_process(AgentApi *api)
{
	uint64_t n;
	while (read(api->efd, &n, sizeof(n)) == sizeof(n))
		;
	pthread_mutex_lock(&api->lock);
	json_t *inbox = api->inbox;
	api->inbox = json_array();
	pthread_mutex_unlock(&api->lock);
	size_t i;
	json_t *ev;
	json_array_foreach(inbox, i, ev) {
		const char *type = json_str(ev, "type");
		if (!strcmp(type, "SYNC"))
			pods_resync(api, json_object_get(ev, "items"));
		else if (!strcmp(type, "DELETED"))
			pod_removed(api, json_object_get(ev, "object"));
		else
			pod_apply(api, json_object_get(ev, "object"));
	}
	json_decref(inbox);
	tokens_refresh(api);
	volumes_tick(api);
	mirrors_update(api);
}

/* ---- lifecycle ---- */

AgentApi *agent_api_new(KubeClient *kc, const AgentNodeInfo *ni)
{
	/* before the API mode's threads (watch, writer, pod network, proxy,
	 * pulls, kubelet connections) first allocate: two malloc arenas between
	 * them rather than one each, whose fragments each stay resident */
	mallopt(M_ARENA_MAX, 2);
	AgentApi *api = xcalloc(1, sizeof(*api));
	api->kc = kc;
	api->ni = ni;
	api->selector = xasprintf("fieldSelector=spec.nodeName%%3D%s", ni->name);
	pthread_mutex_init(&api->lock, NULL);
	pthread_cond_init(&api->cond, NULL);
	api->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	api->inbox = json_array();
	api->statuses = json_object();
	api->events = json_array();
	api->deletes = json_object();
	api->deleting = json_object();
	api->synced = json_object();
	api->tokens = json_object();
	api->event_cache = json_object();
	api->status_period_ms = NODE_STATUS_PERIOD_MS;
	api->rejected = json_object();
	api->mirrors = json_object();
	api->mirrors_made = json_object();
	api->volume_refresh_ms = VOLUME_REFRESH_MS;
	return api;
}

void agent_api_hook(AgentApi *api, AgentConfig *cfg)
{
	cfg->lookup = api_lookup;
	cfg->on_status = api_on_status;
	cfg->on_gone = api_on_gone;
	cfg->on_event = api_on_event;
	cfg->token = api_token;
	cfg->ud = api;
}

void agent_api_set_status_period(AgentApi *api, int64_t period_ms)
{
	api->status_period_ms = period_ms > 0 ? period_ms : NODE_STATUS_PERIOD_MS;
}

void agent_api_set_volume_refresh(AgentApi *api, int64_t period_ms)
{
	api->volume_refresh_ms = period_ms > 0 ? period_ms : VOLUME_REFRESH_MS;
}

void agent_api_set_token_refresh(AgentApi *api, int64_t period_ms)
{
	api->token_period_ms = period_ms;
}

void agent_api_set_root_ca(AgentApi *api, const char *pem, const char *pem_b64)
{
	json_decref(api->root_ca);
	api->root_ca = NULL;
	if (pem)
		api->root_ca = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "data", "ca.crt", pem);
	else if (pem_b64)
		api->root_ca = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "binaryData",
					 "ca.crt", pem_b64);
}

int agent_api_start(AgentApi *api, Agent *a, Error **err)
{
	api->a = a;
	if (api->efd < 0)
		return err_sys(err, errno, "agent api: eventfd");
	Error *e = NULL;
	int r = node_register(api, &e);
	if (r == -EACCES) {
		*err = e;
		return err_prefix(err, "node %s", api->ni->name);
	}
	if (r < 0) {
		log_warn("node %s: %s (retrying)", api->ni->name, err_msg(e));
		err_free(e);
	}
	if ((r = pthread_create(&api->watch_th, NULL, watch_main, api)))
		return err_sys(err, r, "agent api: thread");
	if ((r = pthread_create(&api->writer_th, NULL, writer_main, api))) {
		api->stop = 1;
		pthread_join(api->watch_th, NULL);
		return err_sys(err, r, "agent api: thread");
	}
	api->started = true;
	return 0;
}

int agent_api_fd(AgentApi *api) { return api->efd; }

void agent_api_free(AgentApi *api, int flush_ms)
{
	if (!api)
		return;
	if (api->started) {
		pthread_mutex_lock(&api->lock);
		api->stop = 1;
		pthread_cond_broadcast(&api->cond);
		pthread_mutex_unlock(&api->lock);
		pthread_join(api->writer_th, NULL);
		pthread_join(api->watch_th, NULL);
		if (flush_ms > 0)
			flush_writes(api);
	}
	if (api->efd >= 0)
		close(api->efd);
	pthread_mutex_destroy(&api->lock);
	pthread_cond_destroy(&api->cond);
	json_t *objs[] = { api->inbox,	  api->statuses, api->events,	   api->deletes,
			   api->deleting, api->synced, api->tokens,	 api->node_status, api->event_cache, api->root_ca,
			   api->rejected, api->mirrors, api->mirrors_made };
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
		json_decref(objs[i]);
	free(api->selector);
	free(api->node_uid);
	free(api);
}
