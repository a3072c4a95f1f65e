/* cronjob.c - the CronJob controller (batch/v1), as Kubernetes'
 * cronjob_controllerv2.
 *
 * sync(ns/name), level-triggered, on the manager's clock (mgr_now_s, so
 * unit tests drive time):
 *   1. the CronJob's Jobs are those whose controller reference is its uid;
 *      finished ones leave status.active (event SawCompletedJob),
 *      lastSuccessfulTime follows the newest completion, and finished Jobs
 *      beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are
 *      deleted oldest first (background propagation);
 *   2. unless suspended: the most recent schedule time since
 *      lastScheduleTime (or creation, or now - startingDeadlineSeconds) is
 *      due (more than 100 missed: event TooManyMissedTimes); too late for
 *      startingDeadlineSeconds → MissSchedule; concurrencyPolicy Forbid
 *      skips while a Job runs, Replace deletes the running ones;
 *   3. the Job is "<cronjob>-<scheduled time in minutes>", from
 *      jobTemplate, annotated batch.kubernetes.io/cronjob-scheduled-timestamp,
 *      controller-owned; status.active gets its reference and
 *      lastScheduleTime the scheduled time;
 *   4. requeue at the next schedule time.
 * The decision (step 2) is cj_decide, pure, unit-tested with a fake clock.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/cron.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MISSED 100

/* ---- the decision (pure) ---- */

/* The newest schedule time in [from, now], -1 if none: look back over
 * growing windows so a minutely schedule missed for a year costs little. */
static int64_t most_recent(const CronSched *s, const CronZone *z, int64_t from, int64_t now)
{
	static const int64_t spans[] = { 60, 3600, 86400, 32 * 86400, 366 * 86400, 6 * 366 * 86400 };
	for (size_t i = 0; i < ARRAY_SIZE(spans); i++) {
		int64_t start = now - spans[i] > from ? now - spans[i] : from;
		int64_t t = cron_next(s, z, start - 1);
		if (t < 0 || t > now)
			continue;
		for (int64_t n = cron_next(s, z, t); n >= 0 && n <= now; n = cron_next(s, z, t))
			t = n;
		return t;
	}
	return -1;
}

CjDecision cj_decide(const json_t *cj, const CronSched *sched, const CronZone *z, int64_t now, int nactive,
		     CjPlan *plan)
{
	const json_t *spec = json_object_get(cj, "spec");
	*plan = (CjPlan){ .scheduled = -1, .next = cron_next(sched, z, now) };
	if (json_is_true(json_object_get(spec, "suspend")))
		return CJ_SUSPENDED;
	int64_t earliest = obj_time(cj, "status.lastScheduleTime");
	if (!earliest)
		earliest = obj_time(cj, "metadata.creationTimestamp");
	json_t *sds = json_object_get(spec, "startingDeadlineSeconds");
	if (json_is_integer(sds) && now - json_integer_value(sds) > earliest)
		earliest = now - json_integer_value(sds);
	for (int64_t t = cron_next(sched, z, earliest); t >= 0 && t <= now && plan->missed <= MAX_MISSED;
	     t = cron_next(sched, z, t))
		plan->missed++;
	plan->scheduled = most_recent(sched, z, earliest + 1, now);  /* times after earliest */
	if (plan->scheduled < 0)
		return CJ_WAIT;
	if (json_is_integer(sds) && plan->scheduled + json_integer_value(sds) < now)
		return CJ_TOO_LATE;
	const char *policy = json_str(spec, "concurrencyPolicy") ?: "Allow";
	if (nactive > 0 && !strcmp(policy, "Forbid"))
		return CJ_FORBIDDEN;
	if (nactive > 0 && !strcmp(policy, "Replace"))
		return CJ_REPLACE;
	return CJ_CREATE;
}

/* ---- helpers ---- */

static const json_t *job_cond(const json_t *job, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(job, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type) && !strcmp(json_str(c, "status") ?: "", "True"))
			return c;
	return NULL;
}

static const char *job_finished(const json_t *job)
{
	return job_cond(job, "Complete") ? "Complete" : job_cond(job, "Failed") ? "Failed" : NULL;
}

static int delete_job(Ctl *c, const json_t *cj, const json_t *job, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", obj_meta(job, "namespace"),
					      obj_meta(job, "name"));
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
						"propagationPolicy", "Background");
	int r = kube_request(c->m->kc, "DELETE", path, body, "application/json", NULL, NULL, err);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		ctl_event(c->m, cj, "CronJob", "cronjob-controller", "Normal", "SuccessfulDelete", "Deleted job %s",
			    obj_meta(job, "name"));
	return r;
}

static int start_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int64_t tx = obj_time(x, "status.startTime") ?: obj_time(x, "metadata.creationTimestamp");
	int64_t ty = obj_time(y, "status.startTime") ?: obj_time(y, "metadata.creationTimestamp");
	return tx < ty ? -1 : tx > ty;
}

/* Delete the oldest finished jobs of one kind beyond limit. */
static void prune(Ctl *c, const json_t *cj, const json_t *jobs, const char *which, const char *limit_field, int def)
{
	json_t *lim = json_path(cj, limit_field);
	int64_t limit = json_is_integer(lim) ? json_integer_value(lim) : def;
	size_t n = 0, i;
	json_t *j;
	json_t **v = xcalloc(json_array_size(jobs) + 1, sizeof(*v));
	json_array_foreach(jobs, i, j) {
		const char *f = job_finished(j);
		if (f && !strcmp(f, which) && !json_path(j, "metadata.deletionTimestamp"))
			v[n++] = j;
	}
	qsort(v, n, sizeof(*v), start_cmp);
	for (size_t k = 0; (int64_t)(n - k) > limit; k++) {
		_cleanup_err_ Error *e = NULL;
		if (delete_job(c, cj, v[k], &e) < 0)
			log_debug("cronjob: prune %s: %s", obj_meta(v[k], "name"), err_msg(e));
	}
	free(v);
}

static json_t *job_ref(const json_t *job)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "Job", "namespace", obj_meta(job, "namespace") ?: "",
			 "name", obj_meta(job, "name") ?: "", "uid", obj_meta(job, "uid") ?: "", "apiVersion",
			 "batch/v1", "resourceVersion", obj_meta(job, "resourceVersion") ?: "");
}

/* RFC 3339 of t in the zone, as Go's time.RFC3339 ("2024-01-01T09:00:00+01:00"). */
static void time_in_zone(char *buf, size_t n, int64_t t, const CronZone *z)
{
	int32_t off = cron_zone_offset(z, t);
	time_rfc3339(buf, n, t + off);
	if (off) {
		size_t l = strlen(buf);
		int a = off < 0 ? -off : off;
		snprintf(buf + l - 1, n - (l - 1), "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	}
}

static int create_job(Ctl *c, const json_t *cj, int64_t scheduled, const CronZone *z, json_t **ret, Error **err)
{
	const json_t *jt = json_path(cj, "spec.jobTemplate");
	const char *ns = obj_meta(cj, "namespace");
	_cleanup_free_ char *name = xasprintf("%s-%lld", obj_meta(cj, "name"), (long long)(scheduled / 60));
	json_t *meta = json_pack("{s:s, s:s}", "name", name, "namespace", ns);
	json_t *l = json_path(jt, "metadata.labels"), *a = json_path(jt, "metadata.annotations");
	json_object_set_new(meta, "labels", l ? json_deep_copy(l) : json_object());
	json_t *ann = a ? json_deep_copy(a) : json_object();
	char ts[48];
	time_in_zone(ts, sizeof(ts), scheduled, z);
	json_object_set_new(ann, "batch.kubernetes.io/cronjob-scheduled-timestamp", json_string(ts));
	json_object_set_new(meta, "annotations", ann);
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_ref_new(cj, "batch/v1", "CronJob")));
	_cleanup_json_ json_t *job = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "batch/v1", "kind", "Job",
					       "metadata", meta, "spec", json_object_get(jt, "spec") ?: json_object());
	_cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs", ns);
	int r = kube_post(c->m->kc, path, job, ret, err);
	if (r == -EEXIST) {
		err_freep(err);
		_cleanup_free_ char *p = xasprintf("%s/%s", path, name);
		return kube_get(c->m->kc, p, ret, err);
	}
	if (r == 0)
		ctl_event(c->m, cj, "CronJob", "cronjob-controller", "Normal", "SuccessfulCreate", "Created job %s", name);
	return r;
}

/* ---- sync ---- */

/* Refresh status.active and lastSuccessfulTime from the owned jobs; returns the active count. */
static int track_jobs(Ctl *c, const json_t *cj, const json_t *jobs, json_t *st)
{
	json_t *active = json_array();
	int64_t last_ok = obj_time(st, "lastSuccessfulTime");
	size_t i, k;
	json_t *j, *ref;
	json_array_foreach(jobs, i, j) {
		const char *fin = job_finished(j);
		bool listed = false;
		json_array_foreach(json_object_get(st, "active"), k, ref)
			listed = listed || !strcmp(json_str(ref, "uid") ?: "", obj_meta(j, "uid") ?: "-");
		if (!fin) {
			json_array_append_new(active, job_ref(j));
			continue;
		}
		if (listed)
			ctl_event(c->m, cj, "CronJob", "cronjob-controller", "Normal", "SawCompletedJob",
				    "Saw completed job: %s, status: %s", obj_meta(j, "name"), fin);
		int64_t done = obj_time(j, "status.completionTime");
		if (!strcmp(fin, "Complete") && done > last_ok)
			last_ok = done;
	}
	if (json_array_size(active))
		json_object_set(st, "active", active);
	else
		json_object_del(st, "active");
	if (last_ok) {
		char buf[32];
		time_rfc3339(buf, sizeof(buf), last_ok);
		json_object_set_new(st, "lastSuccessfulTime", json_string(buf));
	}
	int n = (int)json_array_size(active);
	json_decref(active);
	return n;
}

static int write_status(Ctl *c, const json_t *cj, json_t *st, Error **err)
{
	if (json_equal(json_object_get(cj, "status"), st))
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(cj);
	json_object_set(copy, "status", st);
	_cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/cronjobs/%s/status",
					      obj_meta(cj, "namespace"), obj_meta(cj, "name"));
	int r = kube_put(c->m->kc, path, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

static json_t *owned_jobs(Ctl *c, const json_t *cj)
{
	_cleanup_json_ json_t *all = informer_list(c->m->jobs, obj_meta(cj, "namespace"));
	json_t *mine = json_array();
	size_t i;
	json_t *j;
	json_array_foreach(all, i, j) {
		const json_t *ref = obj_controller_ref(j);
		if (ref && !strcmp(json_str(ref, "uid") ?: "", obj_meta(cj, "uid") ?: "-"))
			json_array_append(mine, j);
	}
	return mine;
}

static int cj_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *cj = informer_get(c->inf, ns, name);
	if (!cj || json_path(cj, "metadata.deletionTimestamp"))
		return 0;
	int64_t now = mgr_now_s(c->m);
	CronSched sched;
	_cleanup_(cron_zone_freep) CronZone *z = NULL;
	_cleanup_err_ Error *perr = NULL;
	const char *spec_s = json_str(json_object_get(cj, "spec"), "schedule") ?: "";
	if (cron_parse(spec_s, &sched, &perr) < 0 ||
	    cron_zone_load(json_str(json_object_get(cj, "spec"), "timeZone"), &z, &perr) < 0) {
		ctl_event(c->m, cj, "CronJob", "cronjob-controller", "Warning", "UnparseableSchedule",
			    "unparseable schedule: %s : %s", spec_s, err_msg(perr));
		return 0;  /* not retried: only an edit can fix it */
	}
	_cleanup_json_ json_t *jobs = owned_jobs(c, cj);
	json_t *old = json_object_get(cj, "status");
	_cleanup_json_ json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
	int nactive = track_jobs(c, cj, jobs, st);
	prune(c, cj, jobs, "Complete", "spec.successfulJobsHistoryLimit", 3);
	prune(c, cj, jobs, "Failed", "spec.failedJobsHistoryLimit", 1);

	CjPlan plan;
	CjDecision d = cj_decide(cj, &sched, z, now, nactive, &plan);
	if (plan.missed > MAX_MISSED)
		ctl_event(c->m, cj, "CronJob", "cronjob-controller", "Warning", "TooManyMissedTimes",
			    "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check "
			    "clock skew", plan.missed);
	char when[48];
	int r = 0;
	if (d == CJ_TOO_LATE) {
		time_in_zone(when, sizeof(when), plan.scheduled, z);
		ctl_event(c->m, cj, "CronJob", "cronjob-controller", "Warning", "MissSchedule",
			    "Missed scheduled time to start a job: %s", when);
	} else if (d == CJ_REPLACE || d == CJ_CREATE) {
		if (d == CJ_REPLACE) {
			size_t i;
			json_t *j;
			json_array_foreach(jobs, i, j)
				if (!job_finished(j) && (r = delete_job(c, cj, j, err)) < 0)
					break;
			json_object_del(st, "active");
		}
		_cleanup_json_ json_t *job = NULL;
		if (r == 0)
			r = create_job(c, cj, plan.scheduled, z, &job, err);
		if (r == 0) {
			if (!json_is_array(json_object_get(st, "active")))
				json_object_set_new(st, "active", json_array());
			json_array_append_new(json_object_get(st, "active"), job_ref(job));
			time_rfc3339(when, sizeof(when), plan.scheduled);
			json_object_set_new(st, "lastScheduleTime", json_string(when));
		}
	}
	_cleanup_err_ Error *serr = NULL;
	int rs = write_status(c, cj, st, &serr);
	if (d != CJ_SUSPENDED && plan.next >= 0)
		wq_add_after(c->q, key, (plan.next - now) * 1000 + 100);
	if (r < 0)
		return err_prefix(err, "CronJob '%s'", key);
	if (rs < 0) {
		*err = TAKE_PTR(serr);
		return rs;
	}
	return 0;
}

/* ---- event handlers ---- */

static void on_job(void *ud, InformerEvent ev, const json_t *old, const json_t *job)
{
	(void)ev, (void)old;
	const json_t *ref = obj_controller_ref(job);
	if (!ref || strcmp(json_str(ref, "kind") ?: "", "CronJob"))
		return;
	_cleanup_free_ char *key = xasprintf("%s/%s", obj_meta(job, "namespace") ?: "", json_str(ref, "name") ?: "");
	wq_add(((Ctl *)ud)->q, key);
}

static void on_cronjob(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, obj);
}

void cronjob_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = cj_sync, .name = "cronjob", .kind = "CronJob", .api_version = "batch/v1" };
	c->inf = m->cronjobs;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(c->inf, on_cronjob, c);
	informer_add_handler(m->jobs, on_job, c);
}
