/* sched-internal.h - the scheduler's parts, shared by its files and the unit
 * tests: quantities, a pod's scheduling view (SchedPod), a node's view with
 * what its pods request (SchedNode), the filters (filters.c), the scores
 * (scores.c), the fit-error message and the scheduling queue (queue.c).
 *
 * SchedPod and SchedNode are parsed once from the API's JSON into plain
 * numbers and arrays, so that a scheduling cycle over a thousand nodes does
 * no JSON work besides label lookups.  They hold a reference on the JSON they
 * came from and point into it; both are immutable except the node's
 * accounting (sched_node_add_pod / sched_node_remove_pod), which the cache
 * changes under its lock.
 */
#ifndef BERTH_SCHED_INTERNAL_H
#define BERTH_SCHED_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "scheduler.h"

#define SCHED_DEFAULT_NAME "default-scheduler"
/* kube-scheduler's defaults for containers without requests (scoring only) */
#define SCHED_DEFAULT_MILLI_CPU 100
#define SCHED_DEFAULT_MEMORY (200LL * 1024 * 1024)
#define SCHED_MAX_SCORE 100

/* ---- quantity.c ---- */
/* A Kubernetes quantity ("500m", "1Gi", "1.5", "2e3", "100M") as thousandths,
 * rounded up, saturating at INT64_MAX.  -EINVAL when malformed. */
int sched_quantity_milli(const char *s, int64_t *ret);
/* Its value rounded up (bytes, pods).  -EINVAL when malformed. */
int sched_quantity_value(const char *s, int64_t *ret);

/* ---- pod.c ---- */
typedef struct SchedRes {
	int64_t milli_cpu, memory, ephemeral;
} SchedRes;

typedef struct SchedPort {
	char proto[8];
	char ip[48];   /* "" = every address (0.0.0.0) */
	int port;
	int count;     /* on a node: how many pods use it */
} SchedPort;

enum { TAINT_NO_SCHEDULE = 1, TAINT_PREFER_NO_SCHEDULE = 2, TAINT_NO_EXECUTE = 4 };

typedef struct SchedTaint {
	const char *key, *value;  /* borrowed (from the node JSON or static) */
	int effect;
} SchedTaint;

typedef struct SchedToleration {
	const char *key, *value;
	bool exists;     /* operator Exists (else Equal) */
	int effect;      /* 0 = every effect */
} SchedToleration;

/* A pod (anti-)affinity term: which pods (labelSelector, in namespaces or
 * namespaceSelector; neither = the owning pod's namespace) share a domain of
 * topo_key with the owning pod; weight for preferred terms. */
typedef struct SchedPodTerm {
	const json_t *selector;       /* labelSelector; NULL matches nothing */
	const char *topo_key;
	const json_t *namespaces;     /* array or NULL */
	const json_t *ns_selector;    /* object or NULL */
	int64_t weight;
} SchedPodTerm;

enum { TERM_AFF_REQ, TERM_ANTI_REQ, TERM_AFF_PREF, TERM_ANTI_PREF, TERM_KINDS };

/* A topologySpreadConstraint, defaults applied and matchLabelKeys merged. */
typedef struct SchedSpread {
	const char *topo_key;
	const json_t *selector;       /* NULL matches nothing */
	int64_t max_skew, min_domains;
	bool hard;                    /* DoNotSchedule */
	bool honor_affinity;          /* nodeAffinityPolicy Honor (default) */
	bool honor_taints;            /* nodeTaintsPolicy Honor (default Ignore) */
} SchedSpread;

typedef struct SchedPod {
	json_t *obj;                 /* reference held */
	const json_t *labels;
	int64_t priority;            /* spec.priority */
	bool preempt_never;          /* preemptionPolicy Never */
	bool terminating;            /* deletionTimestamp set (or being preempted) */
	bool evicted;                /* preemption: left out while victims are tried */
	char preemptor[64];          /* uid of the pod that preempted it */
	SchedPodTerm *terms[TERM_KINDS];
	size_t nterms[TERM_KINDS];
	SchedSpread *spread;
	size_t nspread;
	json_t *owned;               /* selectors built here (matchLabelKeys) */
	const char *ns, *name, *uid, *node_name, *owner_uid;
	SchedRes req;                /* requests, Kubernetes' PodRequests rules (+ overhead) */
	int64_t nz_cpu, nz_mem;      /* the same with defaults for unset requests (scores) */
	SchedPort *ports;
	size_t nports;
	SchedToleration *tols;
	size_t ntols;
	const json_t *node_selector;   /* object or NULL */
	bool has_required;             /* required node affinity given */
	const json_t *required_terms;  /* its nodeSelectorTerms array (may be NULL: nothing matches) */
	const json_t *preferred;       /* preferredDuringScheduling... array or NULL */
} SchedPod;

/* Parse pod (a reference is taken).  Never fails: bad quantities count 0.  Free with sched_pod_free. */
SchedPod *sched_pod_new(const json_t *pod);
void sched_pod_free(SchedPod *p);
static inline void sched_pod_freep(SchedPod **p) { sched_pod_free(*p); }
#define _cleanup_sched_pod_ __attribute__((cleanup(sched_pod_freep)))
/* Is pod waiting for this scheduler (schedulerName, no nodeName, not deleted, not terminal)? */
bool sched_pod_wants_scheduling(const json_t *pod);
/* Is pod bound and still holding resources (nodeName set, not Succeeded/Failed)? */
bool sched_pod_is_assigned(const json_t *pod);
/* TAINT_* of an effect name; 0 for none/empty, -1 unknown. */
int sched_taint_effect(const char *s);

/* ---- node.c ---- */
typedef struct SchedNode {
	json_t *obj;                /* reference held */
	const char *name;
	const json_t *labels;
	SchedTaint *taints;         /* spec.taints + a not-ready one when Ready is not True */
	size_t ntaints;
	bool unschedulable;
	SchedRes alloc;
	int64_t alloc_pods;
	/* accounting of the pods on it (bound and assumed) */
	SchedRes used;
	int64_t nz_cpu, nz_mem, npods;
	SchedPort *ports;
	size_t nports, cports;
	json_t *owners;             /* controller owner uid -> count of its pods here */
	const SchedPod **pods;      /* the pods accounted (borrowed from the cache) */
	size_t nlist, clist;
	int64_t naffinity;          /* of them, with pod (anti-)affinity terms */
	const SchedPod **nominated; /* preemptors nominated here, not bound yet (borrowed) */
	size_t nnom, cnom;
} SchedNode;

SchedNode *sched_node_new(const json_t *node);
void sched_node_free(SchedNode *n);
static inline void sched_node_freep(SchedNode **n) { sched_node_free(*n); }
#define _cleanup_sched_node_ __attribute__((cleanup(sched_node_freep)))
void sched_node_add_pod(SchedNode *n, const SchedPod *p);
void sched_node_remove_pod(SchedNode *n, const SchedPod *p);
/* Carry the accounting of old over to n (a node object was updated). */
void sched_node_take_accounting(SchedNode *n, SchedNode *old);
/* p (a preemptor) is nominated to n / no more (borrowed until then). */
void sched_node_nominate(SchedNode *n, const SchedPod *p);
void sched_node_unnominate(SchedNode *n, const SchedPod *p);
/* Hold (sign 1) or give back (-1) in n's accounting the room of the pods
 * nominated to it that p must leave alone: those of priority >= p's, other
 * than p.  Returns how many. */
size_t sched_node_hold_nominated(SchedNode *n, const SchedPod *p, int sign);
/* Does o, nominated to a node, count when p is filtered there (priority >=
 * p's, not p itself)? */
bool sched_nominated_counts_for(const SchedPod *o, const SchedPod *p);

/* ---- filters.c ---- */
/* Why a node does not fit: up to SCHED_MAX_REASONS reasons, each worded as
 * kube-scheduler's plugins word them ("Insufficient cpu", "node(s) had
 * untolerated taint {k: v}"); unresolvable when preemption cannot help. */
#define SCHED_MAX_REASONS 4
typedef struct SchedReasons {
	char r[SCHED_MAX_REASONS][160];
	int n;
	bool unresolvable;
} SchedReasons;

bool sched_filter_node_name(const SchedPod *p, const SchedNode *n, SchedReasons *out);
bool sched_filter_unschedulable(const SchedPod *p, const SchedNode *n, SchedReasons *out);
bool sched_filter_taints(const SchedPod *p, const SchedNode *n, SchedReasons *out);
bool sched_filter_affinity(const SchedPod *p, const SchedNode *n, SchedReasons *out);
bool sched_filter_ports(const SchedPod *p, const SchedNode *n, SchedReasons *out);
bool sched_filter_resources(const SchedPod *p, const SchedNode *n, SchedReasons *out);
/* Every filter in kube-scheduler's order, stopping at the first failure. */
bool sched_filter(const SchedPod *p, const SchedNode *n, SchedReasons *out);
bool sched_tolerates(const SchedToleration *tols, size_t ntols, const SchedTaint *t);
/* A nodeSelectorTerm (matchExpressions + matchFields) against a node. */
bool sched_term_matches(const json_t *term, const SchedNode *n);

/* The FitError text for a pod no node fits: reasons counted over the nodes,
 * "0/N nodes are available: <count reason, ...sorted>. preemption: ...".
 * reasons[i] belongs to node i; nnodes 0 gives "no nodes available to
 * schedule pods".  Caller frees. */
char *sched_fit_message(const SchedReasons *reasons, size_t nnodes);

/* A metav1.LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/
 * DoesNotExist) against labels; NULL or malformed matches nothing, {} all. */
bool sched_label_selector_matches(const json_t *sel, const json_t *labels);
/* Does the pod have any pod (anti-)affinity term? */
static inline bool sched_pod_has_terms(const SchedPod *p)
{
	return p->nterms[0] || p->nterms[1] || p->nterms[2] || p->nterms[3];
}

/* ---- podaffinity.c: InterPodAffinity and PodTopologySpread ---- */
/* What a cycle computes once for its pod before filtering (PreFilter):
 * topology-pair counts of the pods that match its terms, of the existing
 * pods' anti-affinity that matches it, and of its spread constraints'
 * domains.  active is false when neither the pod nor any pod in the cluster
 * has terms or constraints: the filters and scores then cost nothing. */
typedef struct SchedCycle {
	bool active;
	const json_t *ns_labels;     /* namespace name -> labels, or NULL (borrowed) */
	json_t *ns_cache;            /* labels made up for namespaces not in ns_labels */
	json_t *existing_anti;       /* "key\x1fvalue" -> count */
	json_t *aff, *anti;          /* the pod's required terms: pair -> matching pods */
	bool aff_any;                /* some pod matches all its affinity terms */
	bool self_aff;               /* the pod matches all its own affinity terms */
	json_t *tp;                  /* hard spread: "i\x1fvalue" -> count, per constraint i */
	int64_t *tp_min;             /* per constraint: minimum over its domains */
	bool *self_spread;           /* per constraint: the pod matches its selector */
} SchedCycle;

/* namespace name -> labels when p has a namespaceSelector term (one GET of
 * the namespaces, done outside the cache lock), else NULL.  Caller frees. */
json_t *sched_namespace_labels(KubeClient *kc, const SchedPod *p);
void sched_cycle_init(SchedCycle *c, const SchedPod *p, SchedNode *const *nodes, size_t n, const json_t *ns_labels);
void sched_cycle_release(SchedCycle *c);
/* Add (sign 1) or take back (-1) o, nominated to n, in c's counts for p as
 * if it ran on n: the existing anti-affinity, p's terms and its hard spread
 * constraints (kube-scheduler's AddPod of the PreFilter state).  No-op on
 * an inactive cycle; c->aff_any is the caller's to restore. */
void sched_cycle_nominated(SchedCycle *c, const SchedPod *p, const SchedNode *n, const SchedPod *o, int sign);
bool sched_filter_spread(const SchedPod *p, const SchedNode *n, const SchedCycle *c, SchedReasons *out);
bool sched_filter_interpod(const SchedPod *p, const SchedNode *n, SchedCycle *c, SchedReasons *out);
/* sched_filter, then (when c is active) PodTopologySpread and InterPodAffinity. */
bool sched_filter_cycle(const SchedPod *p, const SchedNode *n, SchedCycle *c, SchedReasons *out);
/* The same with n's nominated pods of priority >= p's there: their room
 * held, and (active cycle) counted for inter-pod affinity and spreading;
 * then, when they were counted, p must pass without them too
 * (kube-scheduler's RunFilterPluginsWithNominatedPods, filters.c). */
bool sched_filter_nominated(const SchedPod *p, SchedNode *n, SchedCycle *c, SchedReasons *out);
/* Raw scores over feasible nodes[0..n): preferred inter-pod terms (both ways,
 * existing pods' required affinity weighted 1) and soft spread constraints;
 * already normalised to 0..100.  all/nall: every node (for counting). */
void sched_score_interpod(const SchedPod *p, SchedNode *const *nodes, size_t n, SchedNode *const *all, size_t nall,
			  SchedCycle *c, int64_t *out);
void sched_score_spread_constraints(const SchedPod *p, SchedNode *const *nodes, size_t n, SchedNode *const *all,
				    size_t nall, int64_t *out);

/* ---- preempt.c: DefaultPreemption ---- */
/* For p no node fits (reasons[i] of nodes[i]), the node where evicting pods
 * of lower priority makes it fit, with the fewest and least important
 * victims (highest victim priority, then count, then their sum); -1 when
 * none.  *victims (caller frees the array; the pods are borrowed). */
long sched_preempt(const SchedPod *p, SchedNode *const *nodes, size_t n, const SchedReasons *reasons,
		   const json_t *ns_labels, const SchedPod ***victims, size_t *nvictims);
/* The same respecting PodDisruptionBudgets (pdbs: array of PDB objects or
 * NULL): fewest PDB violations first, PDB-violating victims reprieved first. */
long sched_preempt_pdb(const SchedPod *p, SchedNode *const *nodes, size_t n, const SchedReasons *reasons,
		       const json_t *ns_labels, const json_t *pdbs, const SchedPod ***victims, size_t *nvictims);
/* violating[i]: would evicting pods[0..n) (most important first) in order
 * make pods[i] exceed a covering PDB's disruptionsAllowed? */
void sched_pdb_violations(const SchedPod *const *pods, size_t n, const json_t *pdbs, bool *violating);
/* May p preempt at all: NULL, or why not (SCHED_NOT_ELIGIBLE_*): Never, or
 * a victim it chose before is still there (SchedPod.preemptor). */
const char *sched_preempt_eligible(const SchedPod *p, SchedNode *const *nodes, size_t n);
/* FitError text with PostFilter's own words: none (NULL) when preemption
 * nominated a node, else e.g. "not eligible due to preemptionPolicy=Never.". */
char *sched_fit_message_post(const SchedReasons *reasons, size_t nnodes, const char *post);
#define SCHED_NOT_ELIGIBLE_NEVER "not eligible due to preemptionPolicy=Never."
#define SCHED_NOT_ELIGIBLE_TERMINATING "not eligible due to a terminating pod on the nominated node."

/* ---- scores.c ---- */
/* Scores of the feasible nodes nodes[0..n) for p, weighted and summed as
 * kube-scheduler's defaults (least allocated, balanced allocation, taint
 * toleration, node affinity, spreading by owner), into out[n]. */
void sched_score(const SchedPod *p, SchedNode *const *nodes, size_t n, int64_t *out);
/* The same plus InterPodAffinity (2) and PodTopologySpread (2) when c is active. */
void sched_score_cycle(const SchedPod *p, SchedNode *const *nodes, size_t n, SchedNode *const *all, size_t nall,
		       SchedCycle *c, int64_t *out);
int64_t sched_score_least_allocated(const SchedPod *p, const SchedNode *n);
int64_t sched_score_balanced(const SchedPod *p, const SchedNode *n);
/* Raw counts before normalisation */
int64_t sched_score_prefer_taints_raw(const SchedPod *p, const SchedNode *n);
int64_t sched_score_affinity_raw(const SchedPod *p, const SchedNode *n);
int64_t sched_score_spread_raw(const SchedPod *p, const SchedNode *n);
/* kube-scheduler's DefaultNormalizeScore over raw[n] in place. */
void sched_normalize(int64_t *raw, size_t n, bool reverse);
/* Index of the best score; ties broken uniformly at random by reservoir
 * sampling with *seed (rand_r). */
size_t sched_select(const int64_t *scores, size_t n, unsigned *seed);
/* How many feasible nodes to look for among n (kube-scheduler's adaptive
 * percentageOfNodesToScore: all below 100 nodes, at least 100, 50% - n/125). */
size_t sched_nodes_to_find(size_t n);

/* ---- queue.c ---- */
/* The scheduling queue: an active FIFO, back-off (1 s doubling to 10 s per
 * failed attempt) and the unschedulable set, which a cluster change (node
 * added or changed, a pod gone) moves back through back-off.  Keys "ns/name". */
typedef struct SchedQueue SchedQueue;
SchedQueue *sched_queue_new(int64_t (*now_ms)(void));
void sched_queue_free(SchedQueue *q);
/* New or changed pod: to the active queue (unless it is in flight or backing off). */
void sched_queue_add(SchedQueue *q, const char *key);
/* The same with the pod's spec.priority: the active queue pops the highest first. */
void sched_queue_add_priority(SchedQueue *q, const char *key, int64_t prio);
/* Scheduling failed: unschedulable waits for a cluster change, else back-off. */
void sched_queue_failed(SchedQueue *q, const char *key, bool unschedulable);
/* Scheduled (or gone): forget its attempts. */
void sched_queue_forget(SchedQueue *q, const char *key);
/* A cluster change: every unschedulable pod goes back (after its back-off). */
void sched_queue_move_all(SchedQueue *q);
/* A change only key's pod waits for (a queueing hint: its claim appeared):
 * the same for that one pod. */
void sched_queue_move(SchedQueue *q, const char *key);
/* Next key (caller frees) or NULL after timeout_ms (<0: wait) or shutdown; *ret_shutdown. */
char *sched_queue_pop(SchedQueue *q, int timeout_ms, bool *ret_shutdown);
/* The key popped is done (scheduled, failed or dropped). */
void sched_queue_done(SchedQueue *q, const char *key);
void sched_queue_shutdown(SchedQueue *q);
size_t sched_queue_len(SchedQueue *q);          /* active + due */
size_t sched_queue_unschedulable(SchedQueue *q);
int sched_queue_attempts(SchedQueue *q, const char *key);

#endif
