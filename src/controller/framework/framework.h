/* framework.h - what every controller is built from (CONVENTIONS.md: watch ->
 * key -> de-duplicating work queue -> level-triggered sync(key) reading a
 * cache, acting, writing status, requeue with back-off).
 *
 *   Informer      one resource listed then watched into a cache of
 *                 "ns/name" -> object (immutable once cached: readers get a
 *                 new reference and must not modify it), with event handlers;
 *                 resumes the watch from the last resourceVersion and re-lists
 *                 on 410 Expired.  Cached copies lack managedFields (and pods
 *                 kubectl's last-applied annotation).  informer_shared gives
 *                 in-process components views of one cache per resource.
 *   WorkQueue     keys, de-duplicated (a key queued twice is processed once;
 *                 a key re-added while processing is processed again after),
 *                 delayed adds and per-key exponential back-off.
 *   Expectations  per controller key, how many creates/deletes were issued
 *                 and not yet seen in the cache, so a sync never acts twice on
 *                 a stale cache.  Expire after 5 minutes as Kubernetes' do.
 *   Selectors     LabelSelector (matchLabels + matchExpressions) matching.
 *
 * Everything here is thread-safe; informer handlers run on the informer's
 * thread with no lock held.
 */
#ifndef BERTH_CONTROLLER_FRAMEWORK_H
#define BERTH_CONTROLLER_FRAMEWORK_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "../../base/err.h"
#include "../../shared/kube.h"

/* ---- informer.c ---- */
typedef enum { INF_ADD, INF_UPDATE, INF_DELETE } InformerEvent;
/* old is NULL for ADD; obj is the deleted object for DELETE. */
typedef void (*InformerFn)(void *ud, InformerEvent ev, const json_t *old, const json_t *obj);
typedef struct Informer Informer;

/* path: the collection across namespaces, "/api/v1/pods", "/apis/apps/v1/replicasets". */
Informer *informer_new(KubeClient *kc, const char *path);
void informer_add_handler(Informer *inf, InformerFn fn, void *ud);
int informer_start(Informer *inf, Error **err);
/* Wait for the first list to land (or stop); true when synced. */
bool informer_wait_synced(Informer *inf, int timeout_ms);
/* New reference or NULL. */
json_t *informer_get(Informer *inf, const char *ns, const char *name);
/* New array of the cached objects of ns (NULL: all namespaces). */
json_t *informer_list(Informer *inf, const char *ns);
/* Detach inf's handlers (none runs after it returns); a private informer
 * also stops its thread. */
void informer_stop(Informer *inf);
/* Stop, and drop the view; the cache goes with its last view. */
void informer_free(Informer *inf);
/* The process-wide informer of path (e.g. "/api/v1/pods"), shared by every
 * in-process component of `berth server`: a new view (its own handlers; a
 * handler added once the cache is filled gets an ADD per cached object) of
 * one cache and one watch.  The shared informers use one client made for
 * the local server (kube_client_wait_local) with the first and freed with
 * the last.  NULL when *stop was set before the server answered. */
Informer *informer_shared(const char *data_dir, const char *listen, const char *path, volatile int *stop);
/* The same over the client make_client(ud) returns (taken; NULL: no view). */
Informer *informer_shared_with(KubeClient *(*make_client)(void *ud), void *ud, const char *path);
/* How many shared caches exist (tests). */
size_t informer_shared_count(void);
/* obj as the cache would keep it (new reference; tests). */
json_t *informer_transform(Informer *inf, const json_t *obj);
/* Feed events without a server (unit tests): same effect as a watch event. */
void informer_inject(Informer *inf, const char *type, const json_t *obj);

/* ---- workqueue.c ---- */
typedef struct WorkQueue WorkQueue;
WorkQueue *wq_new(int64_t (*now_ms)(void));
void wq_free(WorkQueue *q);
void wq_add(WorkQueue *q, const char *key);
void wq_add_after(WorkQueue *q, const char *key, int64_t delay_ms);
/* Back-off: 5 ms doubling per failure of that key, capped at 60 s. */
void wq_add_rate_limited(WorkQueue *q, const char *key);
void wq_forget(WorkQueue *q, const char *key);
int wq_failures(WorkQueue *q, const char *key);
/* Block for the next key (caller frees); -1 after shutdown.  timeout_ms < 0: forever,
 * else return 0 with *ret NULL when nothing is ready in time. */
int wq_get(WorkQueue *q, int timeout_ms, char **ret);
void wq_done(WorkQueue *q, const char *key);
void wq_shutdown(WorkQueue *q);
size_t wq_len(WorkQueue *q);

/* ---- expectations.c ---- */
typedef struct Expectations Expectations;
Expectations *exp_new(int64_t (*now_ms)(void));
void exp_free(Expectations *e);
void exp_expect(Expectations *e, const char *key, int adds, int dels);
void exp_creation_observed(Expectations *e, const char *key);
void exp_deletion_observed(Expectations *e, const char *key);
/* Lower the expectation when an API call failed (the event will never come). */
void exp_lower(Expectations *e, const char *key, int adds, int dels);
bool exp_satisfied(Expectations *e, const char *key);
void exp_delete(Expectations *e, const char *key);

/* ---- selector.c ---- */
/* A metav1.LabelSelector: NULL/JSON null matches nothing, {} matches everything. */
bool sel_matches(const json_t *selector, const json_t *labels);
/* A map selector (ReplicationController): empty matches nothing. */
bool sel_map_matches(const json_t *map, const json_t *labels);

/* ---- util.c: object helpers shared by controllers ---- */
const char *obj_meta(const json_t *obj, const char *key);
const json_t *obj_controller_ref(const json_t *obj);
/* "ns/name" (caller frees). */
char *obj_key(const json_t *obj);
/* Split "ns/name" into buffers. */
void key_split(const char *key, char *ns, size_t nsz, char *name, size_t nz);
int64_t obj_time(const json_t *obj, const char *dotted);  /* RFC 3339 -> epoch s, 0 if none */
int64_t clock_real_ms(void);
void time_rfc3339(char *buf, size_t n, int64_t epoch_s);
bool pod_is_active(const json_t *pod);
bool pod_is_ready(const json_t *pod);
/* Ready for at least min_ready seconds at now_s. */
bool pod_is_available(const json_t *pod, int64_t min_ready, int64_t now_s);
/* An ownerReference to owner (controller: true, blockOwnerDeletion: true). New ref. */
json_t *owner_ref_new(const json_t *owner, const char *api_version, const char *kind);
/* Resolve an IntOrString ("25%" or 3) against total; round up or down. */
int int_or_percent(const json_t *v, int total, bool round_up, int def);

#endif
