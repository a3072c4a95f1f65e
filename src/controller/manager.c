/* manager.c - the controller manager: one client, one informer per watched
 * kind shared by every controller, worker threads that pop keys and call
 * sync, and the in-process start-up used by `berth server`.
 *
 * A sync that fails is re-queued with per-key back-off; a sync that succeeds
 * forgets the key's failures.  Shutdown: stop the queues (workers leave at
 * their next wq_get), join them, then stop the informers.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <string.h>
#include <time.h>

#define WORKERS 2

int64_t mgr_now_s(Manager *m) { return m->now_ms() / 1000; }

void ctl_pod_event(Ctl *c, const char *owner_kind, InformerEvent ev, const json_t *old, const json_t *pod)
{
	const json_t *ref = obj_controller_ref(pod);
	if (!ref || strcmp(json_str(ref, "kind") ?: "", owner_kind))
		return;
	_cleanup_free_ char *key = xasprintf("%s/%s", obj_meta(pod, "namespace") ?: "", json_str(ref, "name") ?: "");
	bool deleting = json_path(pod, "metadata.deletionTimestamp") != NULL;
	if (ev == INF_ADD)
		deleting ? exp_deletion_observed(c->exp, key) : exp_creation_observed(c->exp, key);
	else if (ev == INF_DELETE && !deleting)
		exp_deletion_observed(c->exp, key);
	else if (ev == INF_UPDATE && deleting && !json_path(old, "metadata.deletionTimestamp"))
		exp_deletion_observed(c->exp, key);
	wq_add(c->q, key);
}

void ctl_enqueue_obj(Ctl *c, const json_t *obj)
{
	_cleanup_free_ char *key = obj_key(obj);
	wq_add(c->q, key);
}

static void *worker_main(void *arg)
{
	Ctl *c = arg;
	for (;;) {
		char *key = NULL;
		if (wq_get(c->q, -1, &key) < 0)
			break;
		_cleanup_err_ Error *err = NULL;
		int r = c->sync(c, key, &err);
		if (r < 0) {
			log_debug("controller %s: sync '%s': %s", c->name, key, err_msg(err));
			wq_add_rate_limited(c->q, key);
		} else
			wq_forget(c->q, key);
		wq_done(c->q, key);
		free(key);
	}
	return NULL;
}

static void ctl_start(Ctl *c)
{
	for (c->nworkers = 0; c->nworkers < WORKERS; c->nworkers++)
		if (pthread_create(&c->th[c->nworkers], NULL, worker_main, c))
			break;
}

static void ctl_stop(Ctl *c)
{
	if (!c->q)
		return;
	wq_shutdown(c->q);
	for (int i = 0; i < c->nworkers; i++)
		pthread_join(c->th[i], NULL);
	c->nworkers = 0;
}

static void ctl_free(Ctl *c)
{
	wq_free(c->q);
	exp_free(c->exp);
	c->q = NULL;
	c->exp = NULL;
}

#define MGR_MAX 16

/* Every informer the controllers share, in start order (the pods first:
 * every controller's sync reads them).  Returns how many. */
static size_t manager_informers(Manager *m, Informer *out[MGR_MAX])
{
	Informer *all[] = { m->pods, m->rs, m->rc, m->deploy, m->svc, m->eps, m->nodes, m->ds, m->sts, m->crs, m->pvcs,
			    m->jobs, m->cronjobs, m->leases, m->pdbs };
	_Static_assert(ARRAY_SIZE(all) <= MGR_MAX, "informer list");
	memcpy(out, all, sizeof(all));
	return ARRAY_SIZE(all);
}

static size_t manager_ctls(Manager *m, Ctl *out[MGR_MAX])
{
	Ctl *all[] = { &m->rsc, &m->rcc, &m->dc, &m->epc, &m->esc, &m->dsc, &m->stsc, &m->jobc, &m->cjc, &m->nlc, &m->lpc,
		       &m->pdbc };
	_Static_assert(ARRAY_SIZE(all) <= MGR_MAX, "controller list");
	memcpy(out, all, sizeof(all));
	return ARRAY_SIZE(all);
}

/* Make the informers and controllers over kc (the in-process start makes
 * them once the server answers). */
static void manager_build(Manager *m, KubeClient *kc)
{
	m->kc = kc;
	/* in `berth server`: pods and nodes shared with the scheduler (one cache each) */
	m->pods = m->data_dir ? informer_shared(m->data_dir, m->listen, "/api/v1/pods", &m->stop) : NULL;
	m->pods = m->pods ?: informer_new(kc, "/api/v1/pods");
	m->rs = informer_new(kc, "/apis/apps/v1/replicasets");
	m->rc = informer_new(kc, "/api/v1/replicationcontrollers");
	m->deploy = informer_new(kc, "/apis/apps/v1/deployments");
	m->svc = informer_new(kc, "/api/v1/services");
	m->eps = informer_new(kc, "/api/v1/endpoints");
	m->nodes = m->data_dir ? informer_shared(m->data_dir, m->listen, "/api/v1/nodes", &m->stop) : NULL;
	m->nodes = m->nodes ?: informer_new(kc, "/api/v1/nodes");
	m->ds = informer_new(kc, "/apis/apps/v1/daemonsets");
	m->sts = informer_new(kc, "/apis/apps/v1/statefulsets");
	m->crs = informer_new(kc, "/apis/apps/v1/controllerrevisions");
	m->pvcs = informer_new(kc, "/api/v1/persistentvolumeclaims");
	m->jobs = informer_new(kc, "/apis/batch/v1/jobs");
	m->cronjobs = informer_new(kc, "/apis/batch/v1/cronjobs");
	m->leases = informer_new(kc, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
	/* shared with the scheduler's preemption in `berth server` */
	m->pdbs = m->data_dir ? informer_shared(m->data_dir, m->listen, "/apis/policy/v1/poddisruptionbudgets",
						&m->stop) : NULL;
	m->pdbs = m->pdbs ?: informer_new(kc, "/apis/policy/v1/poddisruptionbudgets");
	rs_ctl_init(&m->rsc, m, false);
	rs_ctl_init(&m->rcc, m, true);
	deploy_ctl_init(&m->dc, m);
	ep_ctl_init(&m->epc, m, false);
	ep_ctl_init(&m->esc, m, true);
	ds_ctl_init(&m->dsc, m);
	sts_ctl_init(&m->stsc, m);
	job_ctl_init(&m->jobc, m);
	cronjob_ctl_init(&m->cjc, m);
	nodelife_ctl_init(&m->nlc, m, m->nodes, m->leases);
	localpath_ctl_init(&m->lpc, m);
	disruption_ctl_init(&m->pdbc, m);
}

static Manager *manager_new(KubeClient *kc)
{
	Manager *m = xcalloc(1, sizeof(*m));
	m->now_ms = clock_real_ms;
	manager_build(m, kc);
	return m;
}

static int manager_run(Manager *m, Error **err)
{
	Informer *inf[MGR_MAX];
	Ctl *ctls[MGR_MAX];
	size_t ni = manager_informers(m, inf);
	for (size_t i = 0; i < ni; i++) {
		int r = informer_start(inf[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ni; i++)
		while (!m->stop && !informer_wait_synced(inf[i], 1000))
			;
	if (m->stop)
		return 0;
	size_t nc = manager_ctls(m, ctls);
	for (size_t i = 0; i < nc; i++)
		ctl_start(ctls[i]);
	m->running = true;
	log_info("controllers: replicaset, replicationcontroller, deployment, endpoints, endpointslice, daemonset, "
		 "statefulset, job, cronjob, nodelifecycle, disruption running");
	return 0;
}

int controller_manager_start(KubeClient *kc, ControllerManager **ret, Error **err)
{
	Manager *m = manager_new(kc);
	int r = manager_run(m, err);
	if (r < 0) {
		controller_manager_stop(m);
		return r;
	}
	*ret = m;
	return 0;
}

/* Unit tests (tests/unit/fakeapi.h): the manager over kc on the clock
 * now_ms, informers listed and watching, no workers (the test calls each
 * Ctl's sync itself).  controller_manager_stop frees it. */
int mgr_start_informers(KubeClient *kc, int64_t (*now_ms)(void), Manager **ret, Error **err)
{
	Manager *m = xcalloc(1, sizeof(*m));
	m->now_ms = now_ms;
	manager_build(m, kc);
	Informer *inf[MGR_MAX];
	size_t ni = manager_informers(m, inf);
	for (size_t i = 0; i < ni; i++) {
		int r = informer_start(inf[i], err);
		if (r < 0) {
			controller_manager_stop(m);
			return r;
		}
	}
	for (size_t i = 0; i < ni; i++)
		while (!informer_wait_synced(inf[i], 1000))
			;
	*ret = m;
	return 0;
}

/* ---- in-process start for `berth server` ---- */

static void *starter_main(void *arg)
{
	Manager *m = arg;
	KubeClient *kc = kube_client_wait_local(m->data_dir, m->listen, &m->stop);
	if (!kc)
		return NULL;
	manager_build(m, kc);
	_cleanup_err_ Error *err = NULL;
	if (!m->stop && manager_run(m, &err) < 0)
		log_error("controllers: %s", err_msg(err));
	return NULL;
}

int controller_manager_start_when_ready(const char *data_dir, const char *listen, ControllerManager **ret,
					Error **err)
{
	Manager *m = xcalloc(1, sizeof(*m));
	m->now_ms = clock_real_ms;
	m->data_dir = xstrdup(data_dir);
	m->listen = xstrdup(listen);
	int r = pthread_create(&m->starter, NULL, starter_main, m);
	if (r) {
		free(m->data_dir);
		free(m->listen);
		free(m);
		return err_sys(err, r, "controllers: thread");
	}
	m->has_starter = true;
	*ret = m;
	return 0;
}

void controller_manager_stop(ControllerManager *m)
{
	if (!m)
		return;
	m->stop = 1;
	if (m->has_starter)
		pthread_join(m->starter, NULL);
	Informer *inf[MGR_MAX];
	Ctl *ctls[MGR_MAX];
	size_t ni = manager_informers(m, inf), nc = manager_ctls(m, ctls);
	for (size_t i = 0; i < ni; i++)
		informer_stop(inf[i]);  /* no more handler calls into the queues */
	for (size_t i = 0; i < nc; i++)
		ctl_stop(ctls[i]);
	for (size_t i = 0; i < ni; i++)
		informer_free(inf[i]);
	for (size_t i = 0; i < nc; i++)
		ctl_free(ctls[i]);
	kube_client_free(m->kc);
	free(m->data_dir);
	free(m->listen);
	free(m);
}
