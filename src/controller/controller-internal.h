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

/* ---- manager.c ---- */
void ctl_enqueue_obj(Ctl *c, const json_t *obj);
int64_t mgr_now_s(Manager *m);

#endif
