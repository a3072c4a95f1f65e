/* test-ctladopt.c - what controllers do beyond creating pods (the "ctl"
 * work): DaemonSet / StatefulSet adoption of orphans and release of pods
 * that stop matching (claim.c, history.c), the uid precondition of the
 * claim patches, the Job's tracking finalizer and uncountedTerminatedPods
 * (job.c), and the Event correlator (eventcorr.h: repeats, combined
 * similar events, the spam filter) on a fake clock.  Syncs run against the
 * fake API of ctlsync.h.
 */
#include "ctlsync.h"
#include "../../src/controller/claim.h"
#include "../../src/controller/eventcorr.h"

#define NS "default"
#define PODS "/api/v1/namespaces/default/pods"
#define NODES "/api/v1/nodes"
#define DSS "/apis/apps/v1/namespaces/default/daemonsets"
#define STSS "/apis/apps/v1/namespaces/default/statefulsets"
#define CRS "/apis/apps/v1/namespaces/default/controllerrevisions"
#define JOBS "/apis/batch/v1/namespaces/default/jobs"
#define FINALIZER "batch.kubernetes.io/job-tracking"

/* ---- helpers ---- */

static void add_node(Env *e, const char *name)
{
	json_decref(put_obj(e, NODES,
			    J("{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s'},"
			      "'status':{'conditions':[{'type':'Ready','status':'True'}]}}", name)));
}

static json_t *ds_obj(const char *name)
{
	return J("{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'selector':{'matchLabels':{'app':'%s'}},'template':{'metadata':{'labels':{'app':'%s'}},"
		 "'spec':{'containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, name, name);
}

static json_t *sts_obj(const char *name, int replicas)
{
	return J("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'replicas':%d,'podManagementPolicy':'Parallel','serviceName':'%s',"
		 "'selector':{'matchLabels':{'app':'%s'}},'template':{'metadata':{'labels':{'app':'%s'}},"
		 "'spec':{'containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, replicas, name, name, name);
}

/* What --cascade=orphan leaves: the owner gone, its dependents' references stripped. */
static void orphan_delete(Env *e, const char *owner_path, const char *uid)
{
	is_int(fake_delete(e->f, owner_path), 200, "orphan: %s deleted", owner_path);
	const char *colls[] = { PODS, CRS };
	for (size_t c = 0; c < 2; c++) {
		_cleanup_json_ json_t *deps = owned_by(e, colls[c], uid);
		size_t i;
		json_t *d;
		json_array_foreach(deps, i, d) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", colls[c], meta_s(d, "name"));
			patch_obj(e, path, J("{'metadata':{'ownerReferences':null}}"));
		}
	}
	settle(e);
}

/* "name=uid,..." of the pods in the fake, sorted by name. */
static char *pod_ids(Env *e)
{
	_cleanup_json_ json_t *pods = fake_list(e->f, PODS);
	char *out = xstrdup("");
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		char *n = xasprintf("%s%s=%s", out, meta_s(p, "name"), meta_s(p, "uid"));
		free(out);
		out = n;
	}
	return out;
}

static bool has_finalizer(const json_t *pod)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_path(pod, "metadata.finalizers"), i, f)
		if (!strcmp(json_string_value(f) ?: "", FINALIZER))
			return true;
	return false;
}

static bool uid_in(const json_t *arr, const char *uid)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(v) ?: "", uid))
			return true;
	return false;
}

/* ---- DaemonSet ---- */

static void test_ds_orphan_readopt(void)
{
	Env e = env_start();
	Ctl *c = &e.m->dsc;
	add_node(&e, "n1");
	add_node(&e, "n2");
	_cleanup_json_ json_t *ds = put_obj(&e, DSS, ds_obj("agent"));
	RUN(&e, c);
	is_int(count_owned(&e, PODS, meta_s(ds, "uid")), 2, "ds adopt: two daemon pods");
	is_int(count_owned(&e, CRS, meta_s(ds, "uid")), 1, "ds adopt: one revision");
	_cleanup_free_ char *before = pod_ids(&e);

	orphan_delete(&e, DSS "/agent", meta_s(ds, "uid"));
	is_int(count_owned(&e, PODS, NULL), 2, "ds adopt: the orphaned pods are still there");
	ok(!count_owned(&e, PODS, meta_s(ds, "uid")), "ds adopt: and have no controller");
	fake_log_clear(e.f);
	_cleanup_json_ json_t *ds2 = put_obj(&e, DSS, ds_obj("agent"));
	RUN(&e, c);
	is_int(count_owned(&e, PODS, meta_s(ds2, "uid")), 2, "ds adopt: the new DaemonSet controls both pods");
	is_int(count_owned(&e, CRS, meta_s(ds2, "uid")), 1, "ds adopt: and the old revision");
	is_int(fake_count(e.f, "POST", PODS), 0, "ds adopt: no pod created");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 0, "ds adopt: no pod deleted (nothing restarts)");
	is_int(fake_count(e.f, "POST", CRS), 0, "ds adopt: no new revision (the hash still matches)");
	is_int(fake_count(e.f, "PATCH", PODS "/*"), 2, "ds adopt: one adoption PATCH per pod");
	_cleanup_free_ char *after = pod_ids(&e);
	is_str(after, before, "ds adopt: pod names and uids unchanged");
	_cleanup_json_ json_t *now = fake_get(e.f, DSS "/agent");
	is_int(status_i(now, "updatedNumberScheduled", -1), 2, "ds adopt: both adopted pods count as updated");

	/* a pod whose labels stop matching is released and replaced */
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(ds2, "uid"));
	char path[512];
	snprintf(path, sizeof(path), PODS "/%s", meta_s(json_array_get(pods, 0), "name"));
	patch_obj(&e, path, J("{'metadata':{'labels':{'app':'debug'}}}"));
	fake_log_clear(e.f);
	RUN(&e, c);
	_cleanup_json_ json_t *gone = fake_get(e.f, path);
	ok(gone && !obj_controller_ref(gone), "ds release: the relabelled pod has no controller");
	ok(gone && !json_path(gone, "metadata.deletionTimestamp"), "ds release: and is left running");
	is_int(fake_count(e.f, "POST", PODS), 1, "ds release: a new pod takes its node");
	is_int(count_owned(&e, PODS, meta_s(ds2, "uid")), 2, "ds release: two pods controlled again");
	env_stop(&e);
}

/* ---- StatefulSet ---- */

static void test_sts_orphan_readopt(void)
{
	Env e = env_start();
	Ctl *c = &e.m->stsc;
	_cleanup_json_ json_t *set = put_obj(&e, STSS, sts_obj("web", 2));
	RUN(&e, c);
	is_int(count_owned(&e, PODS, meta_s(set, "uid")), 2, "sts adopt: web-0 and web-1");
	_cleanup_free_ char *before = pod_ids(&e);
	/* a pod of the right labels but no ordinal name of this set is not taken */
	json_decref(put_obj(&e, PODS,
			    J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'webby','namespace':'default',"
			      "'labels':{'app':'web'}},'spec':{'containers':[{'name':'c','image':'busybox'}]}}")));
	orphan_delete(&e, STSS "/web", meta_s(set, "uid"));
	fake_log_clear(e.f);
	_cleanup_json_ json_t *set2 = put_obj(&e, STSS, sts_obj("web", 2));
	RUN(&e, c);
	is_int(count_owned(&e, PODS, meta_s(set2, "uid")), 2, "sts adopt: the new set controls web-0 and web-1");
	_cleanup_json_ json_t *webby = fake_get(e.f, PODS "/webby");
	ok(webby && !obj_controller_ref(webby), "sts adopt: a pod without an ordinal name of the set is not adopted");
	is_int(fake_count(e.f, "POST", PODS), 0, "sts adopt: no pod created");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 0, "sts adopt: no pod deleted");
	is_int(count_owned(&e, CRS, meta_s(set2, "uid")), 1, "sts adopt: the revision adopted");
	is_int(fake_count(e.f, "POST", CRS), 0, "sts adopt: no new revision");
	fake_delete(e.f, PODS "/webby");
	settle(&e);
	_cleanup_free_ char *after = pod_ids(&e);
	is_str(after, before, "sts adopt: names and uids unchanged");
	_cleanup_json_ json_t *now = fake_get(e.f, STSS "/web");
	is_int(status_i(now, "updatedReplicas", -1), 2, "sts adopt: both pods at the update revision");
	env_stop(&e);
}

/* ---- the claim patches ---- */

static void test_claim_uid_precondition(void)
{
	Env e = env_start();
	Ctl *c = &e.m->dsc;
	_cleanup_json_ json_t *ds = put_obj(&e, DSS, ds_obj("agent"));
	_cleanup_json_ json_t *old = put_obj(&e, PODS,
					     J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'default',"
					       "'labels':{'app':'agent'}},'spec':{'containers':[{'name':'c','image':'b'}]}}"));
	/* the pod is deleted and made again under the same name: a new uid */
	fake_delete(e.f, PODS "/p");
	_cleanup_json_ json_t *fresh = put_obj(&e, PODS,
					       J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'default',"
						 "'labels':{'app':'agent'}},'spec':{'containers':[{'name':'c','image':'b'}]}}"));
	ok(strcmp(meta_s(old, "uid"), meta_s(fresh, "uid")) != 0, "claim: the new pod has another uid");
	_cleanup_json_ json_t *patch = claim_adopt_patch(ds, "apps/v1", "DaemonSet", old);
	is_str(json_str(json_array_get(patch, 0), "op"), "test", "claim: the adoption patch starts with a test");
	is_str(json_str(json_array_get(patch, 0), "path"), "/metadata/uid", "claim: of metadata.uid");
	_cleanup_err_ Error *err = NULL;
	int r = kube_request(e.m->kc, "PATCH", PODS "/p", patch, "application/json-patch+json", NULL, NULL, &err);
	ok(r < 0, "claim: adopting by the stale uid fails (%d)", r);
	_cleanup_json_ json_t *p = fake_get(e.f, PODS "/p");
	ok(!obj_controller_ref(p), "claim: the new pod was not adopted");
	/* with the right uid it adopts, and the release removes only that owner */
	_cleanup_json_ json_t *good = claim_adopt_patch(ds, "apps/v1", "DaemonSet", fresh);
	err_freep(&err);
	is_int(kube_request(e.m->kc, "PATCH", PODS "/p", good, "application/json-patch+json", NULL, NULL, &err), 0,
	       "claim: adopting by the current uid works");
	_cleanup_json_ json_t *adopted = fake_get(e.f, PODS "/p");
	is_str(json_str(obj_controller_ref(adopted), "uid"), meta_s(ds, "uid"), "claim: the controller is the DaemonSet");
	_cleanup_json_ json_t *rel = claim_release_patch(ds, adopted);
	is_int(kube_request(e.m->kc, "PATCH", PODS "/p", rel, "application/json-patch+json", NULL, NULL, &err), 0,
	       "claim: the release applies");
	_cleanup_json_ json_t *released = fake_get(e.f, PODS "/p");
	is_int((int)json_array_size(json_path(released, "metadata.ownerReferences")), 0, "claim: no owner left");
	(void)c;
	env_stop(&e);
}

/* ---- Job tracking finalizer ---- */

static json_t *job_obj(const char *name, int completions, int parallelism)
{
	return J("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'completions':%d,'parallelism':%d,'backoffLimit':6,'template':{'spec':{"
		 "'restartPolicy':'Never','containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, completions, parallelism);
}

static void test_job_tracking(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("pi", 3, 3));
	RUN(&e, c);
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(job, "uid"));
	is_int(json_array_size(pods), 3, "job: 3 pods");
	size_t i;
	json_t *p;
	int tracked = 0;
	json_array_foreach(pods, i, p)
		tracked += has_finalizer(p);
	is_int(tracked, 3, "job: every pod carries " FINALIZER);
	const char *a = meta_s(json_array_get(pods, 0), "name"), *b = meta_s(json_array_get(pods, 1), "name");
	const char *auid = meta_s(json_array_get(pods, 0), "uid");

	/* pod a succeeds, but the finalizer cannot go yet: it is uncounted */
	pod_finish(&e, NS, a, true, 0);
	char apath[512];
	snprintf(apath, sizeof(apath), PODS "/%s", a);
	fake_fail(e.f, "PATCH", apath, 500, 1);
	settle(&e);
	_cleanup_err_ Error *err = NULL;
	ok(c->sync(c, NS "/pi", &err) < 0, "job: the sync fails when the finalizer cannot be removed");
	_cleanup_json_ json_t *j1 = fake_get(e.f, JOBS "/pi");
	ok(uid_in(json_path(j1, "status.uncountedTerminatedPods.succeeded"), auid),
	   "job: the finished pod's uid is in uncountedTerminatedPods.succeeded");
	is_int(status_i(j1, "succeeded", 0), 0, "job: and not yet in succeeded");
	_cleanup_json_ json_t *pa = fake_get(e.f, apath);
	ok(has_finalizer(pa), "job: the pod still carries the finalizer");

	/* next round: the finalizer goes, the pod is counted once */
	RUN(&e, c);
	_cleanup_json_ json_t *j2 = fake_get(e.f, JOBS "/pi");
	is_int(status_i(j2, "succeeded", 0), 1, "job: succeeded 1");
	ok(!json_array_size(json_path(j2, "status.uncountedTerminatedPods.succeeded")), "job: nothing uncounted");
	_cleanup_json_ json_t *pa2 = fake_get(e.f, apath);
	ok(pa2 && !has_finalizer(pa2), "job: the counted pod lost the finalizer");
	/* the pod is gone afterwards: the count stays */
	fake_delete(e.f, apath);
	RUN(&e, c);
	_cleanup_json_ json_t *j3 = fake_get(e.f, JOBS "/pi");
	is_int(status_i(j3, "succeeded", 0), 1, "job: a counted pod that goes stays counted");
	is_int(count_owned(&e, PODS, meta_s(job, "uid")), 2, "job: no replacement for a counted success");

	/* pod b succeeds and is deleted before the controller looks: still counted */
	pod_finish(&e, NS, b, true, 0);
	char bpath[512];
	snprintf(bpath, sizeof(bpath), PODS "/%s", b);
	_cleanup_err_ Error *derr = NULL;
	is_int(kube_delete(e.m->kc, bpath, &derr), 0, "job: delete the finished pod b");
	_cleanup_json_ json_t *pb = fake_get(e.f, bpath);
	ok(pb && json_path(pb, "metadata.deletionTimestamp"), "job: the finalizer keeps pod b while it is uncounted");
	RUN(&e, c);
	_cleanup_json_ json_t *j4 = fake_get(e.f, JOBS "/pi");
	is_int(status_i(j4, "succeeded", 0), 2, "job: the deleted finished pod was counted");
	_cleanup_json_ json_t *pb2 = fake_get(e.f, bpath);
	ok(!pb2, "job: and went once its finalizer was removed");

	/* the last pod fails then succeeds via a replacement; the Job completes */
	_cleanup_json_ json_t *rest = owned_by(&e, PODS, meta_s(job, "uid"));
	is_int(json_array_size(rest), 1, "job: one pod left");
	pod_finish(&e, NS, meta_s(json_array_get(rest, 0), "name"), true, 0);
	RUN(&e, c);
	_cleanup_json_ json_t *j5 = fake_get(e.f, JOBS "/pi");
	is_int(status_i(j5, "succeeded", 0), 3, "job: succeeded 3");
	is_str(cond_field(j5, "Complete", "status"), "True", "job: Complete");
	_cleanup_json_ json_t *left = owned_by(&e, PODS, meta_s(job, "uid"));
	int still = 0;
	json_array_foreach(left, i, p)
		still += has_finalizer(p);
	is_int(still, 0, "job: no pod keeps the finalizer after completion");
	env_stop(&e);
}

/* The counters live in status: a sync reading an older Job from the cache
 * (the pod cache already fresher) must not see fewer successes and make a
 * replacement. */
static void test_job_stale_status(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("one", 1, 1));
	RUN(&e, c);
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(job, "uid"));
	is_int(json_array_size(pods), 1, "stale: one pod");
	_cleanup_json_ json_t *before = fake_get(e.f, JOBS "/one");
	pod_finish(&e, NS, meta_s(json_array_get(pods, 0), "name"), true, 0);
	RUN(&e, c);
	_cleanup_json_ json_t *done = fake_get(e.f, JOBS "/one");
	is_str(cond_field(done, "Complete", "status"), "True", "stale: the Job completed");
	fake_log_clear(e.f);
	informer_inject(e.m->jobs, "MODIFIED", before);  /* the cache goes back in time */
	_cleanup_err_ Error *err = NULL;
	is_int(c->sync(c, NS "/one", &err), 0, "stale: a sync on the old Job succeeds");
	is_int(fake_count(e.f, "POST", PODS), 0, "stale: and makes no replacement pod");
	is_int(fake_count(e.f, "PUT", JOBS "/one/status"), 0, "stale: nor writes the old status");
	env_stop(&e);
}

static void test_job_deleted_releases_pods(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("gone", 2, 2));
	RUN(&e, c);
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(job, "uid"));
	is_int(json_array_size(pods), 2, "job gone: 2 pods");
	/* --cascade=orphan: the Job goes, the pods stay without an owner */
	orphan_delete(&e, JOBS "/gone", meta_s(job, "uid"));
	RUN(&e, c);
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		char path[512];
		snprintf(path, sizeof(path), PODS "/%s", meta_s(p, "name"));
		_cleanup_json_ json_t *now = fake_get(e.f, path);
		ok(now && !has_finalizer(now), "job gone: orphan %s lost the finalizer", meta_s(p, "name"));
	}
	/* a Job deleted while its pods still name it (the cache saw the delete first) */
	_cleanup_json_ json_t *job2 = put_obj(&e, JOBS, job_obj("gone2", 1, 1));
	RUN(&e, c);
	_cleanup_json_ json_t *pods2 = owned_by(&e, PODS, meta_s(job2, "uid"));
	is_int(json_array_size(pods2), 1, "job gone: 1 pod of gone2");
	fake_delete(e.f, JOBS "/gone2");
	RUN(&e, c);
	char path[512];
	snprintf(path, sizeof(path), PODS "/%s", meta_s(json_array_get(pods2, 0), "name"));
	_cleanup_json_ json_t *now = fake_get(e.f, path);
	ok(now && !has_finalizer(now), "job gone: the pod of a deleted Job lost the finalizer");
	env_stop(&e);
}

/* ---- the Event correlator ---- */

static json_t *event(const char *obj, const char *reason, const char *msg)
{
	return J("{'metadata':{'name':'%s.1','namespace':'default'},'involvedObject':{'kind':'Deployment','name':'%s',"
		 "'namespace':'default','uid':'u-%s','apiVersion':'apps/v1'},'reason':'%s','message':'%s','type':'Normal',"
		 "'source':{'component':'deployment-controller'}}",
		 obj, obj, obj, reason, msg);
}

static void test_event_repeat(void)
{
	EventCorr *c = evcorr_new();
	int64_t t0 = (int64_t)CS_T0 * 1000;
	_cleanup_json_ json_t *ev = event("web", "ScalingReplicaSet", "Scaled up replica set web-1 to 1 from 0");
	EventCorrResult r;
	evcorr_correlate(c, ev, t0, &r);
	ok(!r.skip && !r.update, "event: the first is created");
	is_int(json_int(r.event, "count", 0), 1, "event: count 1");
	_cleanup_json_ json_t *written = J("{'metadata':{'name':'web.abc','namespace':'default'}}");
	evcorr_written(c, r.key, written);
	evcorr_result_clear(&r);
	evcorr_correlate(c, ev, t0 + 5000, &r);
	ok(r.update, "event: a repeat updates the Event written");
	is_str(obj_meta(r.event, "name"), "web.abc", "event: the same name");
	is_int(json_int(r.event, "count", 0), 2, "event: count 2");
	char first[32], last[32];
	time_rfc3339(first, sizeof(first), CS_T0);
	time_rfc3339(last, sizeof(last), CS_T0 + 5);
	is_str(json_str(r.event, "firstTimestamp"), first, "event: firstTimestamp kept");
	is_str(json_str(r.event, "lastTimestamp"), last, "event: lastTimestamp moves");
	evcorr_result_clear(&r);
	/* another message is another Event */
	_cleanup_json_ json_t *other = event("web", "ScalingReplicaSet", "Scaled down replica set web-1 to 0 from 1");
	evcorr_correlate(c, other, t0 + 6000, &r);
	ok(!r.update && json_int(r.event, "count", 0) == 1, "event: a different message is a new Event");
	evcorr_result_clear(&r);
	/* a failed write is forgotten: the next repeat creates again */
	evcorr_correlate(c, ev, t0 + 7000, &r);
	is_int(json_int(r.event, "count", 0), 3, "event: count 3");
	evcorr_forget(c, r.key);
	evcorr_result_clear(&r);
	evcorr_correlate(c, ev, t0 + 8000, &r);
	ok(!r.update, "event: after a failed write the next one is created");
	evcorr_result_clear(&r);
	evcorr_free(c);
}

static void test_event_combined(void)
{
	EventCorr *c = evcorr_new();
	int64_t t0 = (int64_t)CS_T0 * 1000;
	EventCorrResult r;
	const char *comb_key = NULL;
	_cleanup_free_ char *ckey = NULL;
	for (int i = 0; i < 12; i++) {
		char msg[64];
		snprintf(msg, sizeof(msg), "Created pod: web-%d", i);
		_cleanup_json_ json_t *ev = event("rs", "SuccessfulCreate", msg);
		evcorr_correlate(c, ev, t0 + i * 1000, &r);
		const char *m = json_str(r.event, "message");
		bool combined = !strncmp(m, EVCORR_COMBINED_PREFIX, strlen(EVCORR_COMBINED_PREFIX));
		if (i < EVCORR_MAX_SIMILAR - 1) {
			ok(!combined && !r.update, "combined: event %d stands alone", i);
		} else if (i == EVCORR_MAX_SIMILAR - 1) {
			ok(combined && !r.update, "combined: the 10th distinct message starts a combined Event");
			is_str(m + strlen(EVCORR_COMBINED_PREFIX), msg, "combined: message carries the latest");
			_cleanup_json_ json_t *w = J("{'metadata':{'name':'rs.comb'}}");
			evcorr_written(c, r.key, w);
			ckey = xstrdup(r.key);
			comb_key = ckey;
		} else {
			ok(combined && r.update, "combined: event %d updates the combined Event", i);
			is_str(obj_meta(r.event, "name"), "rs.comb", "combined: same Event");
			is_int(json_int(r.event, "count", 0), i - EVCORR_MAX_SIMILAR + 2, "combined: count grows");
			is_str(r.key, comb_key, "combined: same key");
		}
		evcorr_result_clear(&r);
	}
	/* another object is not combined */
	_cleanup_json_ json_t *ev = event("other", "SuccessfulCreate", "Created pod: other-1");
	evcorr_correlate(c, ev, t0 + 20000, &r);
	ok(strncmp(json_str(r.event, "message"), EVCORR_COMBINED_PREFIX, 10) != 0, "combined: per object");
	evcorr_result_clear(&r);
	/* after 10 minutes of quiet the similarity window starts over */
	_cleanup_json_ json_t *late = event("rs", "SuccessfulCreate", "Created pod: web-99");
	evcorr_correlate(c, late, t0 + 11000 + (EVCORR_SIMILAR_WINDOW_S + 1) * 1000, &r);
	ok(strncmp(json_str(r.event, "message"), EVCORR_COMBINED_PREFIX, 10) != 0,
	   "combined: a new window after 10 quiet minutes");
	evcorr_result_clear(&r);
	evcorr_free(c);
}

static void test_event_spam(void)
{
	EventCorr *c = evcorr_new();
	int64_t t0 = (int64_t)CS_T0 * 1000;
	EventCorrResult r;
	int passed = 0;
	for (int i = 0; i < 40; i++) {
		_cleanup_json_ json_t *ev = event("hot", "FailedCreate", "Error creating: quota");
		evcorr_correlate(c, ev, t0, &r);
		passed += !r.skip;
		evcorr_result_clear(&r);
	}
	is_int(passed, EVCORR_SPAM_BURST, "spam: 25 pass a burst of 40");
	_cleanup_json_ json_t *ev = event("hot", "FailedCreate", "Error creating: quota");
	evcorr_correlate(c, ev, t0 + 60 * 1000, &r);
	ok(r.skip, "spam: still dropped a minute later");
	evcorr_result_clear(&r);
	evcorr_correlate(c, ev, t0 + (EVCORR_SPAM_REFILL_S + 1) * 1000, &r);
	ok(!r.skip, "spam: one more after 5 minutes");
	is_int(json_int(r.event, "count", 0), 42, "spam: the count includes the dropped repeats");
	evcorr_result_clear(&r);
	_cleanup_json_ json_t *cold = event("cold", "FailedCreate", "Error creating: quota");
	evcorr_correlate(c, cold, t0 + 60 * 1000, &r);
	ok(!r.skip, "spam: other objects are not limited");
	evcorr_result_clear(&r);
	evcorr_free(c);
}

/* ctl_event through the fake API: one Event object, count 3. */
static void test_event_writes(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = J("{'metadata':{'name':'web','namespace':'default','uid':'u-1'}}");
	for (int i = 0; i < 3; i++) {
		ctl_event(e.m, d, "Deployment", "deployment-controller", "Normal", "ScalingReplicaSet",
			  "Scaled up replica set web-1 to 1 from 0");
		fake_clock_advance_s(4);
	}
	_cleanup_json_ json_t *evs = fake_list(e.f, "/api/v1/namespaces/default/events");
	is_int(json_array_size(evs), 1, "ctl_event: one Event for three repeats");
	json_t *ev = json_array_get(evs, 0);
	is_int(json_int(ev, "count", 0), 3, "ctl_event: count 3");
	ok(strcmp(json_str(ev, "firstTimestamp") ?: "", json_str(ev, "lastTimestamp") ?: "") < 0,
	   "ctl_event: lastTimestamp after firstTimestamp");
	ok(!json_path(ev, "source.host"), "ctl_event: no host in the source");
	is_int(fake_count(e.f, "POST", "/api/v1/namespaces/default/events"), 1, "ctl_event: one POST");
	is_int(fake_count(e.f, "PATCH", "/api/v1/namespaces/default/events/*"), 2, "ctl_event: two PATCHes");
	/* the Event deleted meanwhile (TTL): written again */
	char path[300];
	snprintf(path, sizeof(path), "/api/v1/namespaces/default/events/%s", meta_s(ev, "name"));
	fake_delete(e.f, path);
	ctl_event(e.m, d, "Deployment", "deployment-controller", "Normal", "ScalingReplicaSet",
		  "Scaled up replica set web-1 to 1 from 0");
	_cleanup_json_ json_t *evs2 = fake_list(e.f, "/api/v1/namespaces/default/events");
	is_int(json_array_size(evs2), 1, "ctl_event: a vanished Event is written again");
	is_int(json_int(json_array_get(evs2, 0), "count", 0), 4, "ctl_event: with the count so far");
	env_stop(&e);
}

int main(void)
{
	test_ds_orphan_readopt();
	test_sts_orphan_readopt();
	test_claim_uid_precondition();
	test_job_tracking();
	test_job_stale_status();
	test_job_deleted_releases_pods();
	test_event_repeat();
	test_event_combined();
	test_event_spam();
	test_event_writes();
	return tap_done();
}
