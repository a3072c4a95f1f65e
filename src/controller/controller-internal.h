/* controller-internal.h - what the controllers share: the manager (client,
 * informers, clock) and the Ctl record each controller is (its queue,
 * expectations, sync function, worker threads).
 *
 * Decision logic is kept in pure functions (victim order, rolling-update
 * arithmetic, template hashing) declared here so the unit tests can drive
 * them with fake objects and a fake clock.
 */
#ifndef BERTH_CONTROLLER_INTERNAL_H
#define BERTH_CONTROLLER_INTERNAL_H
#include "controller.h"
#include "framework/framework.h"

#define CTL_MAX_WORKERS 4

typedef struct Ctl Ctl;
typedef struct ControllerManager Manager;

struct Ctl {
	const char *name;
	Manager *m;
	WorkQueue *q;
	Expectations *exp;
	Informer *inf;                 /* the kind it owns */
	int (*sync)(Ctl *c, const char *key, Error **err);
	/* replica controllers (ReplicaSet / ReplicationController) */
	const char *kind, *api_version, *coll_fmt;  /* coll_fmt: "/apis/apps/v1/namespaces/%s/replicasets" */
	bool map_selector;
	pthread_t th[CTL_MAX_WORKERS];
	int nworkers;
};

struct ControllerManager {
	KubeClient *kc;
	Informer *pods, *rs, *rc, *deploy;
	Ctl rsc, rcc, dc;
	Informer *svc, *eps;  /* endpoints.c: services, endpoints (mirroring) */
	Ctl epc, esc;       /* Endpoints, EndpointSlice */
	Informer *nodes, *ds, *sts, *crs, *pvcs;  /* DaemonSet / StatefulSet */
	Ctl dsc, stsc;
	Informer *jobs, *cronjobs;  /* job.c, cronjob.c */
	Ctl jobc, cjc;
	Informer *leases;   /* kube-node-lease: nodelifecycle.c */
	Ctl nlc;
	Ctl lpc;            /* localpath.c */
	Informer *pdbs;     /* disruption.c: poddisruptionbudgets */
	Ctl pdbc;
	int64_t (*now_ms)(void);
	volatile int stop;
	bool running;
	/* start_when_ready */
	pthread_t starter;
	bool has_starter;
	char *data_dir, *listen;
};

/* ---- replicaset.c ---- */
void rs_ctl_init(Ctl *c, Manager *m, bool rc);
/* Sort pods so the best deletion victims come first (Kubernetes' ActivePods order). */
void rs_victims_sort(json_t *pods);
/* Does the selector of a ReplicaSet/RC object match labels? */
bool rs_selects(const Ctl *c, const json_t *owner, const json_t *labels);

/* ---- deployment.c ---- */
void deploy_ctl_init(Ctl *c, Manager *m);
/* The pod-template-hash of a template (fnv32a over its canonical JSON, plus
 * collisionCount, encoded as Kubernetes' SafeEncodeString). buf >= 11. */
void deploy_template_hash(const json_t *tmpl, int64_t collision, char *buf, size_t n);
/* Rolling update arithmetic (Kubernetes' NewRSNewReplicas and friends). */
int deploy_new_rs_replicas(int replicas, int max_surge, int total_current, int new_current);
int deploy_max_scaled_down(int replicas, int max_unavailable, int all_pods, int new_replicas, int new_available);
/* A ReplicaSet as proportional scaling sees it; max_ann is its
 * deployment.kubernetes.io/max-replicas annotation, -1 when absent. */
typedef struct DeployScaleSet {
	const char *name;
	int64_t created;
	int replicas, max_ann;
} DeployScaleSet;
/* Kubernetes' scale() of several active sets: spread replicas + max_surge -
 * sum(sizes) over sets[0..n) in proportion to their sizes, the leftover to
 * the largest; status_replicas stands in for a missing annotation.  New
 * sizes in out[0..n). */
void deploy_proportional_scale(int replicas, int max_surge, int status_replicas, const DeployScaleSet *sets, size_t n,
			       int *out);

/* ---- history.c: ControllerRevisions of DaemonSets and StatefulSets ---- */
/* A deep copy of v, or a new empty object when v is NULL. */
static inline json_t *obj_copy_or_new(const json_t *v) { return v ? json_deep_copy(v) : json_object(); }
/* {"spec":{"template":{...,"$patch":"replace"}}} of owner's template (new ref). */
json_t *hist_patch(const json_t *owner);
/* Its bytes as Go's json.Marshal writes them (caller frees). */
char *hist_patch_text(const json_t *patch);
/* FNV-32 of text (+ collision in decimal when >= 0), SafeEncodeString. buf >= 11. */
void hist_hash(const char *text, int64_t collision, char *buf, size_t n);
int64_t hist_revision(const json_t *cr);
void hist_sort(json_t *revs);
/* The revisions owner controls, sorted by revision (new array). */
json_t *hist_owned(Informer *crs, const json_t *owner);
int64_t hist_max_revision(const json_t *revs);
/* A revision's template without "$patch" (new ref). */
json_t *hist_template(const json_t *cr);
/* The revision of owner's current template: found (moved to max+1 if older)
 * or created with hash_label; *ret new ref.  A name taken by another object
 * bumps status.collisionCount and fails -EEXIST.  unset_collision is the
 * count hashed while status.collisionCount is unset: 0 for StatefulSets (whose
 * status always carries it, so the hash must not change once it is written),
 * -1 (no count) for DaemonSets. */
int hist_update_revision(Ctl *c, const json_t *owner, const char *hash_label, const json_t *revs,
			 int64_t unset_collision, json_t **ret, Error **err);
/* Delete revisions not named in live (array of names) beyond revisionHistoryLimit. */
void hist_prune(Ctl *c, const json_t *owner, const json_t *revs, const json_t *live);

/* ---- daemonset.c ---- */
void ds_ctl_init(Ctl *c, Manager *m);
/* The pod a DaemonSet makes (template + the DaemonSet tolerations); new ref. */
json_t *ds_pod_template(const json_t *ds);
/* Node eligibility: *should_run (a new pod may go there), *should_continue
 * (an existing pod may stay: only NoExecute taints evict). */
void ds_node_should_run(const json_t *node, const json_t *pod_spec, bool *should_run, bool *should_continue);
/* The node a daemon pod targets: spec.nodeName or its matchFields metadata.name. */
const char *ds_pod_node(const json_t *pod);
/* Rolling update: may another node's old pod go? (maxUnavailable, surge 0) */
int ds_max_unavailable(const json_t *ds, int desired);
int ds_max_surge(const json_t *ds, int desired);

/* ---- statefulset.c ---- */
void sts_ctl_init(Ctl *c, Manager *m);
/* The ordinal of pod name "<set>-<n>", -1 when it is not one. */
int sts_ordinal(const char *set, const char *pod);
/* Sort pods by ordinal, descending when desc (scale-down and update order). */
void sts_sort_ordinal(const char *set, json_t *pods, bool desc);
/* Which pod to act on next in a RollingUpdate: the highest ordinal >= partition
 * not at update_rev; -1 none; -2 wait (a pod is unhealthy or terminating). */
int sts_next_update(const char *set, const json_t *pods, int replicas, int partition, const char *update_rev);

/* ---- endpoints.c ---- */
void ep_ctl_init(Ctl *c, Manager *m, bool slices);
/* Desired Endpoints object / EndpointSlice bodies (generateName) of svc from pods. New refs. */
json_t *ep_build_endpoints(const json_t *svc, const json_t *pods);
json_t *ep_build_slices(const json_t *svc, const json_t *pods);
/* Slices mirroring the Endpoints of a selector-less svc (none when endpoints is NULL). New ref. */
json_t *ep_mirror_slices(const json_t *svc, const json_t *endpoints);
/* A service port's target port on pod (number, or the named container port), -1 if none. */
int ep_target_port(const json_t *svc_port, const json_t *pod);
bool ep_service_selects(const json_t *svc, const json_t *pod);

/* ---- job.c ---- */
void job_ctl_init(Ctl *c, Manager *m);
/* Pods to create (> 0) or delete (< 0): toward min(parallelism, completions -
 * succeeded); completions < 0 is nil (parallelism until one succeeds). */
int job_pods_diff(int parallelism, int completions, int active, int succeeded);
/* Seconds before replacing a pod after `failures` consecutive failures: 10 s doubling, 6 min cap. */
int64_t job_backoff_delay(int failures);
/* "0-2,4" of the set indexes in set[0..n) (caller frees). */
char *job_format_indexes(const bool *set, int n);

/* ---- cronjob.c ---- */
#include "../base/cron.h"
void cronjob_ctl_init(Ctl *c, Manager *m);
typedef enum { CJ_WAIT, CJ_SUSPENDED, CJ_TOO_LATE, CJ_FORBIDDEN, CJ_REPLACE, CJ_CREATE } CjDecision;
typedef struct {
	int64_t scheduled;  /* the start time due now, -1 none */
	int64_t next;       /* the next start time after now, -1 none */
	int missed;         /* start times since the last one (capped at 101) */
} CjPlan;
/* What a CronJob with nactive running Jobs does at now. */
CjDecision cj_decide(const json_t *cj, const CronSched *sched, const CronZone *z, int64_t now, int nactive,
		     CjPlan *plan);

/* ---- events.c ---- */
/* Post a v1 Event about obj (of kind) from component; failures are logged. */
void ctl_event(Manager *m, const json_t *obj, const char *kind, const char *component, const char *type,
	       const char *reason, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* ---- manager.c ---- */
void ctl_enqueue_obj(Ctl *c, const json_t *obj);
/* A pod event for the controller of kind owner_kind: its creations and
 * deletions are observed against the owner's expectations, the owner queued. */
void ctl_pod_event(Ctl *c, const char *owner_kind, InformerEvent ev, const json_t *old, const json_t *pod);
int64_t mgr_now_s(Manager *m);
/* Unit tests: informers started and synced on clock now_ms, no workers. */
int mgr_start_informers(KubeClient *kc, int64_t (*now_ms)(void), Manager **ret, Error **err);

/* ---- nodelifecycle.c ---- */
void nodelife_ctl_init(Ctl *c, Manager *m, Informer *nodes, Informer *leases);
const char *node_ready_status(const json_t *node);
bool toleration_matches(const json_t *tol, const json_t *taint);
/* Epoch second at which a pod must leave a node with these taints, -1 never. */
int64_t pod_eviction_time(const json_t *pod, const json_t *taints);
/* The node's taints with unreachable/not-ready set for its Ready status. */
json_t *node_condition_taints(const json_t *node, const char *ready_status, int64_t now_s, bool *changed);

/* ---- disruption.c: PodDisruptionBudget status ---- */
void disruption_ctl_init(Ctl *c, Manager *m);
/* Does pdb cover pod (same namespace; a nil or empty selector covers none)? */
bool pdb_selects(const json_t *pdb, const json_t *pod);

/* ---- localpath.c: the local-path provisioner ---- */
void localpath_ctl_init(Ctl *c, Manager *m);
/* <base>/pvc-<uid>_<ns>_<name> (caller frees). */
char *localpath_dir(const char *base, const json_t *pvc);
/* The PV provisioned for pvc of class sc on node (new ref). */
json_t *localpath_pv(const json_t *pvc, const json_t *sc, const char *node, const char *base);

/* ---- nodeipam.c: podCIDR allocation, control-plane taints (run from
 * the node lifecycle controller's sync) ---- */
#define CONTROL_PLANE_LABEL "berth.dev/control-plane-node"
/* Allocate a podCIDR or add the control-plane taints if due; *wrote when
 * the node was written (its update event brings it back). */
int nodeipam_sync(Ctl *c, const json_t *node, bool *wrote, Error **err);
/* A node was added: requeue the control-plane nodes (they may need taints). */
void nodeipam_node_added(Ctl *c);
int ipam_cidr_parse(const char *cidr, uint32_t *net, unsigned *prefix);
/* The /24 of cluster for node name not in used (cidr -> anything): the
 * one its name hashes to, else the next free.  NULL if full.  Caller frees. */
char *ipam_pick(const char *cluster, const char *name, const json_t *used);
/* The node's taints with node-role.kubernetes.io/master:NoSchedule added when it
 * carries CONTROL_PLANE_LABEL=true and n_nodes > 1 (new ref). */
json_t *control_plane_taints(const json_t *node, size_t n_nodes, bool *changed);

#endif
