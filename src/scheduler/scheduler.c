/* scheduler.c - the running scheduler: two informers (pods, nodes) feed a
 * cache of SchedNodes with what their pods request and the scheduling queue;
 * one thread runs scheduling cycles (filter from a rotating start until
 * enough feasible nodes are found, score, pick, assume); binder threads POST
 * pods/binding; one reporter thread writes Events and PodScheduled
 * conditions, off the binding path (it lets the binders go first).
 *
 * Assume/forget as kube-scheduler: a chosen pod is accounted on its node at
 * once (assumed), so the next cycles see its requests while the binding is
 * in flight; the informer's update with spec.nodeName confirms it; a failed
 * binding forgets it and sends the pod to back-off.  The cache lock is held
 * for one cycle (no I/O under it); informer handlers take it briefly.
 * When no node fits, preemption (preempt.c) may nominate a node: a binder
 * thread writes nominatedNodeName and deletes the victims (preempt_one).
 * A FailedScheduling Event and the condition are written when the message
 * for that pod changes, not on every retry (kube-scheduler's event
 * correlator would fold them into one Event with a count).
 */
#include "sched-internal.h"
#include "volumebinding.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../controller/framework/framework.h"
#include "../shared/json.h"
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BINDERS 8
#define SCHED_PDB_PATH "/apis/policy/v1/poddisruptionbudgets"
#define REPORT_YIELD_MS 200
/* Scheduled Events wait for a quiet spell of the binders (no binding for
 * REPORT_QUIET_MS), at most REPORT_DEFER_MS, and at most REPORT_DEFER_MAX
 * of them: under a burst the API server's CPU goes to creates and bindings
 * first (kube-scheduler's event broadcaster is asynchronous too). */
#define REPORT_QUIET_MS 150
#define REPORT_DEFER_MS 10000
#define REPORT_DEFER_MAX 50000
#define REPORT_FLUSH_BATCH 64

typedef struct Placed {
	SchedPod *pod;
	char *node;
	bool assumed;
} Placed;

typedef enum { JOB_BIND, JOB_FAILED, JOB_SCHEDULED, JOB_PREEMPT } JobKind;

typedef struct Job Job;
struct Job {
	JobKind kind;
	char *key, *ns, *name, *uid, *node, *msg;
	bool was_unschedulable;
	bool claims;         /* JOB_BIND: the pod has persistentVolumeClaim volumes */
	int64_t at_ms;       /* JOB_SCHEDULED: when it was bound (monotonic) */
	json_t *victims;     /* JOB_PREEMPT: [{namespace, name, uid}] */
	Job *next;
};

typedef struct JobQueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	Job *head, *tail;
	int active;          /* popped and not done */
	bool shutdown;
} JobQueue;

/* What a pod waiting in VolumeBinding's PreFilter waits for (its queueing
 * hint): a claim, volume or class added or changed. */
static const char *const volume_paths[] = { "/api/v1/persistentvolumeclaims", "/api/v1/persistentvolumes",
					    "/apis/storage.k8s.io/v1/storageclasses" };
#define NVOLINF (sizeof(volume_paths) / sizeof(volume_paths[0]))

struct Scheduler {
	KubeClient *kc;
	Informer *pod_inf, *node_inf;
	Informer *vol_inf[NVOLINF];
	Informer *pdb_inf;             /* PodDisruptionBudgets, for preemption (preempt.c) */
	SchedQueue *q;
	pthread_mutex_t lock;          /* the cache below */
	json_t *node_idx;              /* name -> index in nodes[] */
	SchedNode **nodes;
	size_t nnodes, cnodes, next_start;
	json_t *placed;                /* pod key -> Placed* (as integer) */
	json_t *reported;              /* pod key -> last unschedulable message */
	json_t *vol_wait;              /* pod keys whose last attempt failed on its volumes */
	json_t *nominated;             /* pod key -> Placed* (as integer): preemptors waiting for room */
	int vol_gen;                   /* volume changes seen (atomic): one during a cycle counts */
	unsigned seed;
	JobQueue binds, reports;
	int64_t bound_ms;              /* last binding answered (monotonic ms, atomic) */
	pthread_t loop_th, bind_th[BINDERS], report_th;
	int nbinders;
	bool loop_started, report_started;
	char *instance;
	volatile int stop;
	pthread_t starter;
	bool has_starter;
	char *data_dir, *listen;
	SchedulerLocalFn local;        /* in-process API (atomic), or NULL: HTTP only */
};

/* ---- jobs ---- */
static void job_free(Job *j)
{
	if (!j)
		return;
	free(j->key);
	free(j->ns);
	free(j->name);
	free(j->uid);
	free(j->node);
	free(j->msg);
	json_decref(j->victims);
	free(j);
}

static void jq_init(JobQueue *jq)
{
	pthread_mutex_init(&jq->lock, NULL);
	pthread_cond_init(&jq->cond, NULL);
}

static void jq_push(JobQueue *jq, Job *j)
{
	pthread_mutex_lock(&jq->lock);
	if (jq->tail)
		jq->tail->next = j;
	else
		jq->head = j;
	jq->tail = j;
	pthread_cond_signal(&jq->cond);
	pthread_mutex_unlock(&jq->lock);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* The next job, waiting at most ms (< 0: until one comes); NULL on
 * shutdown with nothing queued, or on timeout (*timed_out set). */
static Job *jq_pop_timed(JobQueue *jq, int ms, bool *timed_out)
{
	struct timespec ts;
	if (ms >= 0)
		deadline_in(&ts, ms);
	*timed_out = false;
	pthread_mutex_lock(&jq->lock);
	while (!jq->head && !jq->shutdown) {
		if (ms < 0)
			pthread_cond_wait(&jq->cond, &jq->lock);
		else if (pthread_cond_timedwait(&jq->cond, &jq->lock, &ts)) {
			*timed_out = !jq->head && !jq->shutdown;
			break;
		}
	}
	Job *j = jq->head;
	if (j) {
		jq->head = j->next;
		if (!jq->head)
			jq->tail = NULL;
		j->next = NULL;
		jq->active++;
	}
	pthread_mutex_unlock(&jq->lock);
	return j;
}

static Job *jq_pop(JobQueue *jq)
{
	bool timed_out;
	return jq_pop_timed(jq, -1, &timed_out);
}

/* Nothing queued or in progress? */
static bool jq_idle(JobQueue *jq)
{
	pthread_mutex_lock(&jq->lock);
	bool idle = !jq->head && !jq->active;
	pthread_mutex_unlock(&jq->lock);
	return idle;
}

static void jq_done(JobQueue *jq)
{
	pthread_mutex_lock(&jq->lock);
	jq->active--;
	pthread_cond_broadcast(&jq->cond);
	pthread_mutex_unlock(&jq->lock);
}

/* Wait (at most ms) until nothing is queued or in progress. */
static void jq_wait_idle(JobQueue *jq, int ms)
{
	struct timespec ts;
	deadline_in(&ts, ms);
	pthread_mutex_lock(&jq->lock);
	while ((jq->head || jq->active) && !jq->shutdown)
		if (pthread_cond_timedwait(&jq->cond, &jq->lock, &ts))
			break;
	pthread_mutex_unlock(&jq->lock);
}

static void jq_shutdown(JobQueue *jq)
{
	pthread_mutex_lock(&jq->lock);
	jq->shutdown = true;
	pthread_cond_broadcast(&jq->cond);
	pthread_mutex_unlock(&jq->lock);
}

static void jq_release(JobQueue *jq)
{
	while (jq->head) {
		Job *j = jq->head;
		jq->head = j->next;
		job_free(j);
	}
	pthread_mutex_destroy(&jq->lock);
	pthread_cond_destroy(&jq->cond);
}

static Job *job_new(JobKind kind, const SchedPod *p, const char *key, const char *node, const char *msg)
{
	Job *j = xcalloc(1, sizeof(*j));
	j->kind = kind;
	j->key = xstrdup(key);
	j->ns = xstrdup(p->ns);
	j->name = xstrdup(p->name);
	j->uid = xstrdup(p->uid);
	j->node = node ? xstrdup(node) : NULL;
	j->msg = msg ? xstrdup(msg) : NULL;
	return j;
}

/* ---- the cache (callers hold s->lock) ---- */
static Placed *placed_get(Scheduler *s, const char *key)
{
	json_t *v = json_object_get(s->placed, key);
	return v ? (Placed *)(intptr_t)json_integer_value(v) : NULL;
}

static SchedNode *node_get(Scheduler *s, const char *name)
{
	json_t *v = json_object_get(s->node_idx, name);
	return v ? s->nodes[json_integer_value(v)] : NULL;
}

static void placed_remove(Scheduler *s, const char *key)
{
	Placed *pl = placed_get(s, key);
	if (!pl)
		return;
	SchedNode *n = node_get(s, pl->node);
	if (n)
		sched_node_remove_pod(n, pl->pod);
	sched_pod_free(pl->pod);
	free(pl->node);
	free(pl);
	json_object_del(s->placed, key);
}

static void placed_add(Scheduler *s, const char *key, SchedPod *p, const char *node, bool assumed)
{
	Placed *pl = xcalloc(1, sizeof(*pl));
	pl->pod = p;
	pl->node = xstrdup(node);
	pl->assumed = assumed;
	json_object_set_new(s->placed, key, json_integer((json_int_t)(intptr_t)pl));
	SchedNode *n = node_get(s, node);
	if (n)
		sched_node_add_pod(n, p);
}

/* A preemptor's nominated node: the room its victims leave stays held for
 * it against pods of lower priority (filters.c) until it is bound or gone. */
static void unnominate(Scheduler *s, const char *key)
{
	json_t *v = json_object_get(s->nominated, key);
	if (!v)
		return;
	Placed *nm = (Placed *)(intptr_t)json_integer_value(v);
	SchedNode *n = node_get(s, nm->node);
	if (n)
		sched_node_unnominate(n, nm->pod);
	sched_pod_free(nm->pod);
	free(nm->node);
	free(nm);
	json_object_del(s->nominated, key);
}

/* p is taken. */
static void nominate(Scheduler *s, const char *key, SchedPod *p, const char *node)
{
	unnominate(s, key);
	Placed *nm = xcalloc(1, sizeof(*nm));
	nm->pod = p;
	nm->node = xstrdup(node);
	json_object_set_new(s->nominated, key, json_integer((json_int_t)(intptr_t)nm));
	SchedNode *n = node_get(s, node);
	if (n)
		sched_node_nominate(n, p);
}

static const char *nominated_node(Scheduler *s, const char *key)
{
	json_t *v = json_object_get(s->nominated, key);
	return v ? ((Placed *)(intptr_t)json_integer_value(v))->node : NULL;
}

/* ---- informer handlers ---- */
static bool spec_changed(const json_t *old, const json_t *obj)
{
	if (!old)
		return true;
	const json_t *om = json_object_get(old, "metadata"), *nm = json_object_get(obj, "metadata");
	return !json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")) ||
	       !json_equal(json_object_get(om, "labels"), json_object_get(nm, "labels")) ||
	       !json_equal(json_object_get(om, "annotations"), json_object_get(nm, "annotations"));
}

/* Does the cached view of a bound pod still hold for obj?  Inter-pod
 * affinity and spreading read its labels and whether it is terminating. */
static bool bound_pod_same(const SchedPod *p, const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata"), *labels = json_object_get(meta, "labels");
	bool same_labels = p->labels == labels || (p->labels && labels && json_equal(p->labels, labels));
	return same_labels && (p->terminating || !json_object_get(meta, "deletionTimestamp"));
}

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	Scheduler *s = ud;
	_cleanup_free_ char *key = obj_key(obj);
	bool freed = false;
	if (ev == INF_DELETE || !sched_pod_is_assigned(obj)) {
		pthread_mutex_lock(&s->lock);
		Placed *pl = placed_get(s, key);
		if (pl && (ev == INF_DELETE || !pl->assumed)) {
			placed_remove(s, key);  /* deleted, or finished: its resources are free */
			freed = true;
		}
		if (ev == INF_DELETE) {
			json_object_del(s->reported, key);
			json_object_del(s->vol_wait, key);
		}
		const char *nom = ev == INF_DELETE ? NULL : json_str(json_object_get(obj, "status"), "nominatedNodeName");
		if (ev == INF_DELETE || !sched_pod_wants_scheduling(obj))
			unnominate(s, key);
		else if (nom && *nom && (!nominated_node(s, key) || strcmp(nominated_node(s, key), nom)))
			nominate(s, key, sched_pod_new(obj), nom);
		pthread_mutex_unlock(&s->lock);
		if (ev == INF_DELETE)
			sched_queue_forget(s->q, key);
		else if (sched_pod_wants_scheduling(obj) && (ev == INF_ADD || spec_changed(old, obj)))
			sched_queue_add_priority(s->q, key, json_int(json_object_get(obj, "spec"), "priority", 0));
	} else {
		const char *node = json_str(json_object_get(obj, "spec"), "nodeName");
		pthread_mutex_lock(&s->lock);
		Placed *pl = placed_get(s, key);
		if (pl && !strcmp(pl->node, node) && bound_pod_same(pl->pod, obj))
			pl->assumed = false;  /* confirmed */
		else {
			SchedPod *np = sched_pod_new(obj);
			if (pl) {
				memcpy(np->preemptor, pl->pod->preemptor, sizeof(np->preemptor));
				placed_remove(s, key);
			}
			placed_add(s, key, np, node, false);
		}
		json_object_del(s->vol_wait, key);
		unnominate(s, key);
		pthread_mutex_unlock(&s->lock);
		sched_queue_forget(s->q, key);
	}
	if (freed)
		sched_queue_move_all(s->q);
}

static bool node_changed(const json_t *old, const json_t *obj)
{
	_cleanup_sched_node_ SchedNode *a = sched_node_new(old), *b = sched_node_new(obj);
	if (!json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")) ||
	    !json_equal(a->labels, b->labels) || a->ntaints != b->ntaints)
		return true;
	return memcmp(&a->alloc, &b->alloc, sizeof(a->alloc)) || a->alloc_pods != b->alloc_pods;
}

static void node_insert(Scheduler *s, SchedNode *n)
{
	if (s->nnodes == s->cnodes) {
		s->cnodes = s->cnodes ? s->cnodes * 2 : 64;
		s->nodes = xrealloc(s->nodes, s->cnodes * sizeof(*s->nodes));
	}
	json_object_set_new(s->node_idx, n->name, json_integer((json_int_t)s->nnodes));
	s->nodes[s->nnodes++] = n;
	/* pods already bound to it (a node deleted and added again) */
	const char *k;
	json_t *v;
	json_object_foreach(s->placed, k, v) {
		Placed *pl = (Placed *)(intptr_t)json_integer_value(v);
		if (!strcmp(pl->node, n->name))
			sched_node_add_pod(n, pl->pod);
	}
	json_object_foreach(s->nominated, k, v) {
		Placed *nm = (Placed *)(intptr_t)json_integer_value(v);
		if (!strcmp(nm->node, n->name))
			sched_node_nominate(n, nm->pod);
	}
}

static void node_delete(Scheduler *s, const char *name)
{
	json_t *v = json_object_get(s->node_idx, name);
	if (!v)
		return;
	size_t i = (size_t)json_integer_value(v);
	SchedNode *gone = s->nodes[i];
	s->nodes[i] = s->nodes[--s->nnodes];
	if (i < s->nnodes)
		json_object_set_new(s->node_idx, s->nodes[i]->name, json_integer((json_int_t)i));
	json_object_del(s->node_idx, name);
	sched_node_free(gone);
}

static void on_node(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	Scheduler *s = ud;
	const char *name = json_str(json_object_get(obj, "metadata"), "name");
	if (!name)
		return;
	if (ev == INF_UPDATE && !node_changed(old, obj))
		return;
	pthread_mutex_lock(&s->lock);
	if (ev == INF_DELETE)
		node_delete(s, name);
	else {
		SchedNode *n = sched_node_new(obj), *cur = node_get(s, name);
		if (cur) {
			sched_node_take_accounting(n, cur);
			json_t *v = json_object_get(s->node_idx, name);
			s->nodes[json_integer_value(v)] = n;
			sched_node_free(cur);
		} else
			node_insert(s, n);
	}
	pthread_mutex_unlock(&s->lock);
	if (ev != INF_DELETE)
		sched_queue_move_all(s->q);
}

/* A claim, volume or class added or changed: the pods that failed on their
 * volumes try again (after their back-off), not only on the 5-minute retry. */
static void on_volume(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)old;
	(void)obj;
	Scheduler *s = ud;
	if (ev == INF_DELETE)
		return;
	__atomic_add_fetch(&s->vol_gen, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&s->lock);
	_cleanup_json_ json_t *keys = json_object_size(s->vol_wait) ? json_deep_copy(s->vol_wait) : NULL;
	pthread_mutex_unlock(&s->lock);
	const char *k;
	json_t *v;
	json_object_foreach(keys, k, v)
		sched_queue_move(s->q, k);
}

/* ---- one scheduling cycle ---- */
/* PostFilter (preempt.c): victims on a node, marked as going, and the job
 * that nominates the node and deletes them; NULL when nothing helps. */
static Job *cycle_preempt(Scheduler *s, const SchedPod *p, const SchedReasons *r, const SchedCycle *c,
			 const char **not_eligible)
{
	if ((*not_eligible = sched_preempt_eligible(p, s->nodes, s->nnodes)))
		return NULL;
	const SchedPod **v = NULL;
	size_t nv = 0;
	_cleanup_json_ json_t *pdbs = s->pdb_inf ? informer_list(s->pdb_inf, NULL) : NULL;
	long at = sched_preempt_pdb(p, s->nodes, s->nnodes, r, c->ns_labels, pdbs, &v, &nv);
	Job *j = NULL;
	if (at >= 0) {
		j = xcalloc(1, sizeof(*j));
		j->kind = JOB_PREEMPT;
		j->ns = xstrdup(p->ns);
		j->name = xstrdup(p->name);
		j->uid = xstrdup(p->uid);
		j->key = xasprintf("%s/%s", p->ns, p->name);
		j->node = xstrdup(s->nodes[at]->name);
		j->victims = json_array();
		for (size_t i = 0; i < nv; i++) {
			SchedPod *e = (SchedPod *)v[i];
			e->terminating = true;
			snprintf(e->preemptor, sizeof(e->preemptor), "%s", p->uid);
			json_array_append_new(j->victims, json_pack("{s:s, s:s, s:s}", "namespace", e->ns, "name", e->name,
								    "uid", e->uid));
		}
	}
	free(v);
	return j;
}

static char *cycle_fail_message(Scheduler *s, const SchedPod *p, SchedCycle *c, Job **preempt)
{
	SchedReasons *r = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(*r));
	for (size_t i = 0; i < s->nnodes; i++)
		sched_filter_nominated(p, s->nodes[i], c, &r[i]);
	const char *why = NULL;
	*preempt = s->nnodes ? cycle_preempt(s, p, r, c, &why) : NULL;
	char *msg = *preempt || why ? sched_fit_message_post(r, s->nnodes, why) : sched_fit_message(r, s->nnodes);
	free(r);
	return msg;
}

/* Pick a node for p (under the lock): its name (borrowed from the cache) or NULL with *msg. */
static const char *cycle_pick(Scheduler *s, const SchedPod *p, const json_t *ns_labels, char **msg, Job **preempt)
{
	size_t n = s->nnodes, want = sched_nodes_to_find(n), found = 0, i;
	if (!n) {
		*msg = sched_fit_message(NULL, 0);
		return NULL;
	}
	SchedNode **feasible = xcalloc(want ? want : 1, sizeof(*feasible));
	SchedCycle c;  /* podaffinity.c's PreFilter: nothing to do for plain pods */
	sched_cycle_init(&c, p, s->nodes, n, ns_labels);
	size_t start = s->next_start % n;
	for (i = 0; i < n && found < want; i++) {
		SchedNode *node = s->nodes[(start + i) % n];
		if (sched_filter_nominated(p, node, &c, NULL))
			feasible[found++] = node;
	}
	s->next_start = (start + i) % n;
	const char *pick = NULL;
	if (!found)
		*msg = cycle_fail_message(s, p, &c, preempt);
	else if (found == 1)
		pick = feasible[0]->name;
	else {
		int64_t *scores = xcalloc(found, sizeof(*scores));
		sched_score_cycle(p, feasible, found, s->nodes, n, &c, scores);
		pick = feasible[sched_select(scores, found, &s->seed)]->name;
		free(scores);
	}
	sched_cycle_release(&c);
	free(feasible);
	return pick;
}

static void schedule_one(Scheduler *s, const char *key)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *obj = informer_get(s->pod_inf, ns, name);
	if (!obj || !sched_pod_wants_scheduling(obj)) {
		sched_queue_done(s->q, key);
		return;
	}
	_cleanup_json_ json_t *pinned = NULL;  /* volumebinding.c: obj pinned to its volumes' node */
	int vol_gen = __atomic_load_n(&s->vol_gen, __ATOMIC_SEQ_CST);
	_cleanup_free_ char *vol_why = sched_volumes_prefilter(s->kc, obj, &pinned);
	SchedPod *p = sched_pod_new(pinned ? pinned : obj);
	_cleanup_json_ json_t *ns_labels = sched_namespace_labels(s->kc, p);  /* namespaceSelector terms */
	Job *preempt = NULL;
	_cleanup_free_ char *msg = NULL;
	pthread_mutex_lock(&s->lock);
	if (placed_get(s, key)) {  /* assumed, binding in flight */
		pthread_mutex_unlock(&s->lock);
		sched_pod_free(p);
		sched_queue_done(s->q, key);
		return;
	}
	const char *node = vol_why ? NULL : cycle_pick(s, p, ns_labels, &msg, &preempt);
	if (vol_why)
		msg = sched_volumes_fit_message(vol_why, s->nnodes);
	Job *j;
	if (node) {
		json_t *rep = json_object_get(s->reported, key);
		j = job_new(JOB_BIND, p, key, node, NULL);
		j->was_unschedulable = rep != NULL;
		j->claims = sched_volumes_has_claims(obj);
		placed_add(s, key, p, node, true);
		unnominate(s, key);
		pthread_mutex_unlock(&s->lock);
		jq_push(&s->binds, j);  /* the queue entry stays in flight until the binding answers */
		return;
	}
	if (vol_why)
		json_object_set_new(s->vol_wait, key, json_true());
	else
		json_object_del(s->vol_wait, key);
	const char *last = json_str(s->reported, key);
	bool report = !last || strcmp(last, msg);
	if (report)
		json_object_set_new(s->reported, key, json_string(msg));
	if (preempt)
		nominate(s, key, sched_pod_new(pinned ? pinned : obj), preempt->node);
	pthread_mutex_unlock(&s->lock);
	log_debug("scheduler: %s: %s", key, msg);
	if (report)
		jq_push(&s->reports, job_new(JOB_FAILED, p, key, NULL, msg));
	if (preempt)
		jq_push(&s->binds, preempt);  /* nominate, delete the victims; it comes back when they are gone */
	sched_pod_free(p);
	sched_queue_failed(s->q, key, true);
	if (vol_why && __atomic_load_n(&s->vol_gen, __ATOMIC_SEQ_CST) != vol_gen)
		sched_queue_move(s->q, key);  /* a volume changed while it was being looked at */
}

static void *loop_main(void *arg)
{
	Scheduler *s = arg;
	for (;;) {
		bool shutdown = false;
		char *key = sched_queue_pop(s->q, -1, &shutdown);
		if (shutdown) {
			free(key);
			break;
		}
		if (key)
			schedule_one(s, key);
		free(key);
	}
	return NULL;
}

/* ---- requests: in-process when the server gave a way, else HTTP ---- */

/* A non-2xx answer as kube.c words it: the Status message, errno by status. */
static int local_error(int status, const char *method, const char *path, const char *body, size_t len, Error **err)
{
	_cleanup_json_ json_t *st = body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *msg = json_str(st, "message"), *reason = json_str(st, "reason");
	int r = kube_status_errno(status, reason);
	return err_set(err, -r, "%s %s: %d %s", method, path, status, msg ? msg : reason ? reason : "error");
}

static int sched_request(Scheduler *s, const char *method, const char *path, const json_t *body, const char *ctype,
			 Error **err)
{
	SchedulerLocalFn local = __atomic_load_n(&s->local, __ATOMIC_ACQUIRE);
	if (local) {
		_cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
		_cleanup_free_ char *out = NULL;
		size_t olen = 0;
		int status = 0;
		int r = local(method, path, ctype, text, text ? strlen(text) : 0, &status, &out, &olen);
		if (r == 0)
			return status >= 200 && status < 300 ? 0 : local_error(status, method, path, out, olen, err);
		if (r != -ENOTCONN)
			return err_set(err, -r, "%s %s: in-process request failed", method, path);
	}
	return kube_request(s->kc, method, path, body, ctype, NULL, NULL, err);
}

void scheduler_set_local(Scheduler *s, SchedulerLocalFn fn)
{
	if (s)
		__atomic_store_n(&s->local, fn, __ATOMIC_RELEASE);
}

/* ---- binding ---- */
static void bind_one(Scheduler *s, Job *j)
{
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1",
						"kind", "Binding", "metadata", "name", j->name, "namespace", j->ns,
						"uid", j->uid, "target", "apiVersion", "v1", "kind", "Node", "name",
						j->node);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/binding", j->ns, j->name);
	_cleanup_err_ Error *err = NULL;
	int r = 0;
	if (j->claims) {  /* PreBind: claims' selected-node */
		_cleanup_json_ json_t *pod = informer_get(s->pod_inf, j->ns, j->name);
		r = pod ? sched_volumes_assume(s->kc, pod, j->node, &err) : 0;
	}
	if (r >= 0)
		r = sched_request(s, "POST", path, body, "application/json", &err);
	if (r < 0) {
		log_info("scheduler: binding %s to %s: %s", j->key, j->node, err_msg(err));
		pthread_mutex_lock(&s->lock);
		Placed *pl = placed_get(s, j->key);
		if (pl && pl->assumed)
			placed_remove(s, j->key);  /* forget */
		pthread_mutex_unlock(&s->lock);
		sched_queue_failed(s->q, j->key, false);
		sched_queue_move_all(s->q);
		job_free(j);
		return;
	}
	sched_queue_done(s->q, j->key);
	pthread_mutex_lock(&s->lock);
	json_object_del(s->reported, j->key);
	pthread_mutex_unlock(&s->lock);
	j->kind = JOB_SCHEDULED;
	j->at_ms = mono_ms();
	jq_push(&s->reports, j);
}

static void post_event(Scheduler *s, const Job *j, const char *type, const char *reason, const char *action,
		       const char *msg);
static void now_rfc3339(char *buf, size_t n, char *hexnano, size_t hn);

/* DefaultPreemption's actions: status.nominatedNodeName on the preemptor;
 * each victim gets the DisruptionTarget condition, a Preempted Event and a
 * graceful DELETE (its own grace period). */
static void preempt_one(Scheduler *s, Job *j)
{
	_cleanup_err_ Error *err = NULL;
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", j->ns, j->name);
	_cleanup_json_ json_t *nom = json_pack("{s:{s:s}}", "status", "nominatedNodeName", j->node);
	if (sched_request(s, "PATCH", path, nom, "application/strategic-merge-patch+json", &err) < 0)
		log_info("scheduler: nominating %s for %s: %s", j->node, j->key, err_msg(err));
	char now[40], hex[32];
	now_rfc3339(now, sizeof(now), hex, sizeof(hex));
	size_t i;
	json_t *v;
	json_array_foreach(j->victims, i, v) {
		Job vj = { .ns = (char *)json_str(v, "namespace"), .name = (char *)json_str(v, "name"),
			   .uid = (char *)json_str(v, "uid"), .key = j->key };
		_cleanup_err_ Error *e2 = NULL;
		_cleanup_free_ char *vpath = xasprintf("/api/v1/namespaces/%s/pods/%s", vj.ns, vj.name);
		_cleanup_free_ char *spath = xasprintf("%s/status", vpath);
		_cleanup_json_ json_t *cond = json_pack(
			"{s:{s:[{s:s, s:s, s:s, s:s, s:s}]}}", "status", "conditions", "type", "DisruptionTarget", "status",
			"True", "reason", "PreemptionByScheduler", "message",
			"default-scheduler: preempting to accommodate a higher priority pod", "lastTransitionTime", now);
		if (sched_request(s, "PATCH", spath, cond, "application/strategic-merge-patch+json", &e2) < 0)
			log_debug("scheduler: condition of victim %s/%s: %s", vj.ns, vj.name, err_msg(e2));
		_cleanup_free_ char *m = xasprintf("Preempted by pod %s on node %s", j->uid, j->node);
		post_event(s, &vj, "Normal", "Preempted", "Preempting", m);
		err_free(e2);
		e2 = NULL;
		if (sched_request(s, "DELETE", vpath, NULL, NULL, &e2) < 0)
			log_info("scheduler: preempting %s/%s: %s", vj.ns, vj.name, err_msg(e2));
	}
	log_info("scheduler: %s nominated to %s, %zu victim(s)", j->key, j->node, json_array_size(j->victims));
	job_free(j);
}

static void *bind_main(void *arg)
{
	Scheduler *s = arg;
	Job *j;
	while ((j = jq_pop(&s->binds))) {
		if (j->kind == JOB_PREEMPT)
			preempt_one(s, j);
		else
			bind_one(s, j);
		__atomic_store_n(&s->bound_ms, mono_ms(), __ATOMIC_RELAXED);
		jq_done(&s->binds);
	}
	return NULL;
}

/* ---- Events and conditions ---- */
/* Now as RFC 3339 seconds, and in hex nanoseconds (Event names, as client-go makes them). */
static void now_rfc3339(char *buf, size_t n, char *hexnano, size_t hn)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(hexnano, hn, "%llx", (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
}

static void post_event(Scheduler *s, const Job *j, const char *type, const char *reason, const char *action,
		       const char *msg)
{
	char now[40], hex[32];
	now_rfc3339(now, sizeof(now), hex, sizeof(hex));
	_cleanup_free_ char *name = xasprintf("%s.%s", j->name, hex);
	_cleanup_json_ json_t *ev = json_pack(
		"{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:s, s:i}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", j->ns, "involvedObject",
		"apiVersion", "v1", "kind", "Pod", "namespace", j->ns, "name", j->name, "uid", j->uid, "reason", reason,
		"message", msg, "type", type, "source", "component", SCHED_DEFAULT_NAME, "reportingComponent",
		SCHED_DEFAULT_NAME, "reportingInstance", s->instance, "firstTimestamp", now, "lastTimestamp", now,
		"count", 1);
	json_object_set_new(ev, "action", json_string(action));
	json_object_set_new(ev, "eventTime", json_null());
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", j->ns);
	_cleanup_err_ Error *err = NULL;
	if (sched_request(s, "POST", path, ev, "application/json", &err) < 0)
		log_debug("scheduler: event for %s: %s", j->key, err_msg(err));
}

static void patch_condition(Scheduler *s, const Job *j, bool scheduled)
{
	char now[40], hex[32];
	now_rfc3339(now, sizeof(now), hex, sizeof(hex));
	json_t *cond = json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status", scheduled ? "True" : "False",
				 "lastProbeTime", "lastTransitionTime", now);
	if (!scheduled) {
		json_object_set_new(cond, "reason", json_string("Unschedulable"));
		json_object_set_new(cond, "message", json_string(j->msg));
	}
	_cleanup_json_ json_t *patch = json_pack("{s:{s:[o]}}", "status", "conditions", cond);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", j->ns, j->name);
	_cleanup_err_ Error *err = NULL;
	if (sched_request(s, "PATCH", path, patch, "application/strategic-merge-patch+json", &err) < 0)
		log_debug("scheduler: status of %s: %s", j->key, err_msg(err));
}

static void report_one(Scheduler *s, Job *j)
{
	if (j->kind == JOB_FAILED) {
		patch_condition(s, j, false);
		post_event(s, j, "Warning", "FailedScheduling", "Scheduling", j->msg);
	} else {
		if (j->was_unschedulable)
			patch_condition(s, j, true);
		_cleanup_free_ char *m = xasprintf("Successfully assigned %s/%s to %s", j->ns, j->name, j->node);
		post_event(s, j, "Normal", "Scheduled", "Binding", m);
	}
	job_free(j);
}

/* The deferred Scheduled Events, oldest first. */
typedef struct Later {
	Job *head, *tail;
	size_t n;
} Later;

/* Post what is due from l: everything (up to a batch, so new failures are
 * not kept waiting) once the binders are quiet, else what waited too long.
 * true when more is due at once. */
static bool later_flush(Scheduler *s, Later *l)
{
	int64_t now = mono_ms();
	bool quiet = now - __atomic_load_n(&s->bound_ms, __ATOMIC_RELAXED) >= REPORT_QUIET_MS && jq_idle(&s->binds);
	for (int k = 0; l->head && !s->stop; k++) {
		if (!quiet && now - l->head->at_ms < REPORT_DEFER_MS && l->n <= REPORT_DEFER_MAX)
			return false;
		if (k == REPORT_FLUSH_BATCH)
			return true;
		Job *j = l->head;
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
		l->n--;
		j->next = NULL;
		report_one(s, j);
	}
	return false;
}

/* One thread writes Events and conditions: failures at once (yielding a
 * little to the binders), Scheduled Events of pods that were never
 * unschedulable when the binders are quiet (REPORT_QUIET_MS). */
static void *report_main(void *arg)
{
	Scheduler *s = arg;
	Later later = { 0 };
	bool due = false;
	for (;;) {
		bool timed_out;
		Job *j = jq_pop_timed(&s->reports, due ? 0 : later.head ? REPORT_QUIET_MS / 3 : -1, &timed_out);
		if (!j && !timed_out)
			break;  /* shut down */
		if (j && j->kind == JOB_SCHEDULED && !j->was_unschedulable) {
			if (later.tail)
				later.tail->next = j;
			else
				later.head = j;
			later.tail = j;
			later.n++;
		} else if (j) {
			/* bindings first: under a burst, Events wait (a little) for the binders */
			jq_wait_idle(&s->binds, REPORT_YIELD_MS);
			report_one(s, j);
		}
		if (j)
			jq_done(&s->reports);
		due = later_flush(s, &later);
	}
	while (later.head) {  /* stopping: the API is going away */
		Job *j = later.head;
		later.head = j->next;
		job_free(j);
	}
	return NULL;
}

/* ---- start / stop ---- */
static Scheduler *sched_alloc(void)
{
	Scheduler *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->node_idx = json_object();
	s->placed = json_object();
	s->reported = json_object();
	s->vol_wait = json_object();
	s->nominated = json_object();
	s->q = sched_queue_new(NULL);
	s->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	jq_init(&s->binds);
	jq_init(&s->reports);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	s->instance = xasprintf("%s-%s", SCHED_DEFAULT_NAME, host);
	return s;
}

static int sched_run(Scheduler *s, Error **err)
{
	/* in `berth server`: the controllers' pods and nodes caches, shared */
	s->pod_inf = s->data_dir ? informer_shared(s->data_dir, s->listen, "/api/v1/pods", &s->stop) : NULL;
	s->node_inf = s->data_dir ? informer_shared(s->data_dir, s->listen, "/api/v1/nodes", &s->stop) : NULL;
	if (!s->pod_inf)
		s->pod_inf = informer_new(s->kc, "/api/v1/pods");
	if (!s->node_inf)
		s->node_inf = informer_new(s->kc, "/api/v1/nodes");
	/* preemption's PodDisruptionBudgets (the disruption controller's cache in `berth server`) */
	s->pdb_inf = s->data_dir ? informer_shared(s->data_dir, s->listen, SCHED_PDB_PATH, &s->stop) : NULL;
	if (!s->pdb_inf)
		s->pdb_inf = informer_new(s->kc, SCHED_PDB_PATH);
	for (size_t i = 0; i < NVOLINF; i++) {
		s->vol_inf[i] = s->data_dir ? informer_shared(s->data_dir, s->listen, volume_paths[i], &s->stop) : NULL;
		if (!s->vol_inf[i])
			s->vol_inf[i] = informer_new(s->kc, volume_paths[i]);
		informer_add_handler(s->vol_inf[i], on_volume, s);
	}
	informer_add_handler(s->pod_inf, on_pod, s);
	informer_add_handler(s->node_inf, on_node, s);
	int r = informer_start(s->node_inf, err);
	if (r >= 0)
		r = informer_start(s->pod_inf, err);
	for (size_t i = 0; i < NVOLINF && r >= 0; i++)
		r = informer_start(s->vol_inf[i], err);
	if (r >= 0)
		r = informer_start(s->pdb_inf, err);
	if (r < 0)
		return r;
	while (!s->stop && !informer_wait_synced(s->node_inf, 1000))
		;
	while (!s->stop && !informer_wait_synced(s->pod_inf, 1000))
		;
	if (s->stop)
		return 0;
	for (s->nbinders = 0; s->nbinders < BINDERS; s->nbinders++)
		if (pthread_create(&s->bind_th[s->nbinders], NULL, bind_main, s))
			break;
	s->report_started = !pthread_create(&s->report_th, NULL, report_main, s);
	s->loop_started = !pthread_create(&s->loop_th, NULL, loop_main, s);
	log_info("scheduler: running (%zu nodes)", s->nnodes);
	return 0;
}

int scheduler_start(KubeClient *kc, Scheduler **ret, Error **err)
{
	Scheduler *s = sched_alloc();
	s->kc = kc;
	int r = sched_run(s, err);
	if (r < 0) {
		scheduler_stop(s);
		return r;
	}
	*ret = s;
	return 0;
}

static void *starter_main(void *arg)
{
	Scheduler *s = arg;
	KubeClient *kc = kube_client_wait_local(s->data_dir, s->listen, &s->stop);
	if (!kc)
		return NULL;
	s->kc = kc;
	_cleanup_err_ Error *err = NULL;
	if (!s->stop && sched_run(s, &err) < 0)
		log_error("scheduler: %s", err_msg(err));
	return NULL;
}

int scheduler_start_when_ready(const char *data_dir, const char *listen, Scheduler **ret, Error **err)
{
	Scheduler *s = sched_alloc();
	s->data_dir = xstrdup(data_dir);
	s->listen = xstrdup(listen);
	int r = pthread_create(&s->starter, NULL, starter_main, s);
	if (r) {
		scheduler_stop(s);
		return err_sys(err, r, "scheduler: thread");
	}
	s->has_starter = true;
	*ret = s;
	return 0;
}

void scheduler_stop(Scheduler *s)
{
	if (!s)
		return;
	s->stop = 1;
	if (s->has_starter)
		pthread_join(s->starter, NULL);
	informer_stop(s->pod_inf);
	informer_stop(s->node_inf);
	for (size_t i = 0; i < NVOLINF; i++)
		informer_stop(s->vol_inf[i]);
	informer_stop(s->pdb_inf);
	sched_queue_shutdown(s->q);
	if (s->loop_started)
		pthread_join(s->loop_th, NULL);
	jq_shutdown(&s->binds);
	for (int i = 0; i < s->nbinders; i++)
		pthread_join(s->bind_th[i], NULL);
	jq_shutdown(&s->reports);
	if (s->report_started)
		pthread_join(s->report_th, NULL);
	informer_free(s->pod_inf);
	informer_free(s->node_inf);
	for (size_t i = 0; i < NVOLINF; i++)
		informer_free(s->vol_inf[i]);
	informer_free(s->pdb_inf);
	const char *k;
	json_t *v;
	json_object_foreach(s->placed, k, v) {
		Placed *pl = (Placed *)(intptr_t)json_integer_value(v);
		sched_pod_free(pl->pod);
		free(pl->node);
		free(pl);
	}
	json_decref(s->placed);
	json_object_foreach(s->nominated, k, v) {
		Placed *nm = (Placed *)(intptr_t)json_integer_value(v);
		sched_pod_free(nm->pod);
		free(nm->node);
		free(nm);
	}
	json_decref(s->nominated);
	for (size_t i = 0; i < s->nnodes; i++)
		sched_node_free(s->nodes[i]);
	free(s->nodes);
	json_decref(s->node_idx);
	json_decref(s->reported);
	json_decref(s->vol_wait);
	sched_queue_free(s->q);
	jq_release(&s->binds);
	jq_release(&s->reports);
	pthread_mutex_destroy(&s->lock);
	kube_client_free(s->kc);
	free(s->instance);
	free(s->data_dir);
	free(s->listen);
	free(s);
}
