/* test-ctlsync-job.c - the Job and CronJob controllers' syncs against the
 * fake API on the fake clock: completions and parallelism (with
 * expectations), backoffLimit -> Failed/BackoffLimitExceeded after the
 * replacement back-off, activeDeadlineSeconds; CronJob start times at the
 * fake clock's minute, concurrencyPolicy Forbid and Replace, history limits.
 * Stale caches (the integration test that once saw a pod deleted under it):
 * a creation seen only while the sync is under way, a Job cache older than
 * the controller's own status write.
 */
#include "ctlsync.h"

#define PODS "/api/v1/namespaces/default/pods"
#define JOBS "/apis/batch/v1/namespaces/default/jobs"
#define CJS "/apis/batch/v1/namespaces/default/cronjobs"

/* extra: more members of spec (text, may be empty). */
static json_t *job_obj(const char *name, const char *extra)
{
	return J("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{%s%s'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, extra, *extra ? "," : "");
}

static json_t *get_job(Env *e, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), JOBS "/%s", name);
	return fake_get(e->f, path);
}

/* The job's pods that are not finished (new array). */
static json_t *active_pods(Env *e, const json_t *job)
{
	_cleanup_json_ json_t *all = owned_by(e, PODS, meta_s(job, "uid"));
	json_t *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(all, i, p)
		if (pod_is_active(p))
			json_array_append(out, p);
	return out;
}

/* Finish every active pod of job. */
static int finish_active(Env *e, const json_t *job, bool succeeded)
{
	_cleanup_json_ json_t *act = active_pods(e, job);
	size_t i;
	json_t *p;
	json_array_foreach(act, i, p)
		pod_finish(e, "default", meta_s(p, "name"), succeeded, succeeded ? 0 : 1);
	return (int)json_array_size(act);
}

static void test_completions(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("calc", "'completions':5,'parallelism':2"));
	is_int(sync_key(&e, c, "default/calc"), 0, "job: first sync");
	is_int(fake_count(e.f, "POST", PODS), 2, "job: parallelism 2 pods created");
	fake_hold(e.f, true);
	_cleanup_err_ Error *err = NULL;
	/* its status write may meet a 409 (the cache is stale): that is fine */
	c->sync(c, "default/calc", &err);
	is_int(fake_count(e.f, "POST", PODS), 2, "job: no more creates before they are seen (expectations)");
	fake_hold(e.f, false);
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", PODS), 2, "job: still 2 pods once seen");
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(job, "uid"));
	json_t *p0 = json_array_get(pods, 0);
	ok(!strncmp(meta_s(p0, "name"), "calc-", 5) && strlen(meta_s(p0, "name")) == 10, "job: pod name <job>-<5 chars> (%s)",
	   meta_s(p0, "name"));
	is_str(json_str(json_path(p0, "metadata.labels"), "job-name"), "calc", "job: pod labelled job-name");
	_cleanup_json_ json_t *j1 = get_job(&e, "calc");
	is_int(status_i(j1, "active", -1), 2, "job: status.active 2");
	ok(json_path(j1, "status.startTime") != NULL, "job: startTime set");

	int rounds = 0, max_active = 0;
	for (; rounds < 10; rounds++) {
		_cleanup_json_ json_t *a = active_pods(&e, job);
		if ((int)json_array_size(a) > max_active)
			max_active = (int)json_array_size(a);
		fake_clock_advance_s(5);
		if (!finish_active(&e, job, true))
			break;
		RUN(&e, c);
	}
	is_int(max_active, 2, "job: never more than parallelism pods at once");
	_cleanup_json_ json_t *j2 = get_job(&e, "calc");
	is_int(status_i(j2, "succeeded", -1), 5, "job: succeeded 5");
	is_int(status_i(j2, "active", 0), 0, "job: none active");
	is_str(cond_field(j2, "Complete", "status"), "True", "job: Complete True");
	is_str(cond_field(j2, "Complete", "reason"), "CompletionsReached", "job: reason CompletionsReached");
	ok(json_path(j2, "status.completionTime") != NULL, "job: completionTime set");
	is_int(fake_count(e.f, "POST", PODS), 5, "job: exactly 5 pods were created for 5 completions");
	env_stop(&e);
}

static void test_backoff_limit(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("flaky", "'backoffLimit':1"));
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", PODS), 1, "backoff: one pod");
	finish_active(&e, job, false);
	RUN(&e, c);
	_cleanup_json_ json_t *j1 = get_job(&e, "flaky");
	is_int(status_i(j1, "failed", -1), 1, "backoff: failed 1");
	ok(!cond_of(j1, "Failed"), "backoff: not failed at 1 failure with backoffLimit 1");
	is_int(fake_count(e.f, "POST", PODS), 1, "backoff: the replacement waits for the back-off");
	fake_clock_advance_s(11);
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", PODS), 2, "backoff: replaced after 10 s on the fake clock");
	fake_clock_advance_s(1);
	finish_active(&e, job, false);
	RUN(&e, c);
	_cleanup_json_ json_t *j2 = get_job(&e, "flaky");
	is_int(status_i(j2, "failed", -1), 2, "backoff: failed 2");
	is_str(cond_field(j2, "Failed", "status"), "True", "backoff: Failed True");
	is_str(cond_field(j2, "Failed", "reason"), "BackoffLimitExceeded", "backoff: reason BackoffLimitExceeded");
	is_str(cond_field(j2, "Failed", "message"), "Job has reached the specified backoff limit", "backoff: message");
	fake_clock_advance_s(600);
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", PODS), 2, "backoff: no pod after the Job failed");
	env_stop(&e);
}

static void test_active_deadline(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("slow", "'activeDeadlineSeconds':30,'parallelism':2,'completions':4"));
	RUN(&e, c);
	is_int(count_owned(&e, PODS, meta_s(job, "uid")), 2, "deadline: 2 pods running");
	fake_clock_advance_s(20);
	RUN(&e, c);
	_cleanup_json_ json_t *j1 = get_job(&e, "slow");
	ok(!cond_of(j1, "Failed"), "deadline: not failed at 20 s");
	fake_clock_advance_s(11);
	int n = RUN(&e, c);
	ok(n >= 1, "deadline: the deadline requeue fires on the fake clock");
	_cleanup_json_ json_t *j2 = get_job(&e, "slow");
	is_str(cond_field(j2, "Failed", "reason"), "DeadlineExceeded", "deadline: Failed DeadlineExceeded");
	is_str(cond_field(j2, "Failed", "message"), "Job was active longer than specified deadline", "deadline: message");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 2, "deadline: both active pods deleted");
	_cleanup_json_ json_t *act = active_pods(&e, job);
	is_int(json_array_size(act), 0, "deadline: no active pod left");
	env_stop(&e);
}

/* ---- stale caches ----
 * A client in front of the fake that runs a test's hook (once) just before
 * the first request whose method is `method` and whose path starts with
 * `prefix`: the hook can let watch events through at that exact point of a
 * sync, as a busy server's watch threads may. */
typedef struct Hook {
	KubeClient *inner;
	Env *e;
	const char *method, *prefix;
	void (*fn)(Env *e);
	int fired;
} Hook;

static int hook_request(void *ud, const char *method, const char *path, const json_t *body, const char *ctype,
			json_t **ret)
{
	Hook *h = ud;
	if (h->fn && !strcmp(method, h->method) && !strncmp(path, h->prefix, strlen(h->prefix))) {
		void (*fn)(Env *) = h->fn;
		h->fn = NULL;
		h->fired++;
		fn(h->e);
	}
	int status = 0;
	_cleanup_err_ Error *err = NULL;
	int r = kube_request(h->inner, method, path, body, ctype, ret, &status, &err);
	if (r < 0)
		*ret = json_pack("{s:s, s:i, s:s, s:s}", "kind", "Status", "code", status, "reason",
				 r == -EBUSY ? "Conflict" : r == -EEXIST ? "AlreadyExists" : "", "message", err_msg(err));
	return status;
}

static int hook_watch(void *ud, const char *path, KubeWatchFn fn, void *fn_ud, volatile int *stop, json_t **ret)
{
	(void)ud, (void)path, (void)fn, (void)fn_ud, (void)stop;
	*ret = NULL;
	return 404;  /* the informers keep their own client */
}

static const KubeTransport hook_transport = { .request = hook_request, .watch = hook_watch };

/* The controllers' requests go through h from now on (hook_end undoes it). */
static void hook_begin(Env *e, Hook *h)
{
	*h = (Hook){ .inner = e->m->kc, .e = e };
	e->m->kc = kube_client_new_fake(&hook_transport, h);
}

static void hook_arm(Hook *h, const char *method, const char *prefix, void (*fn)(Env *e))
{
	h->method = method;
	h->prefix = prefix;
	h->fn = fn;
}

static void hook_end(Env *e, Hook *h)
{
	kube_client_free(e->m->kc);
	e->m->kc = h->inner;
}

static char second_pod[128];

/* While the controller creates a replacement: the other pod finishes and
 * the informers see that, then the watches stall (the creation unseen). */
static void finish_second_then_stall(Env *e)
{
	pod_finish(e, "default", second_pod, true, 0);
	settle(e);
	fake_hold(e->f, true);
}

/* The watches deliver everything (the creation is observed). */
static void release_watches(Env *e)
{
	fake_hold(e->f, false);
	settle(e);
}

/* Pod A finishes; the sync handling it creates C.  Pod B finishes before C
 * is stored, so the pods informer shows B finished but not C yet while the
 * Job informer already has the status written.  The next sync lists the
 * pods (active: none), and while it writes B's uid into the status the ADD
 * of C arrives and satisfies the expectation: a sync that checked the
 * expectations only then made two pods for one free slot (3 active), and
 * the one too many was deleted later, under whoever was using it. */
static void test_stale_creation(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("race", "'completions':4,'parallelism':2"));
	RUN(&e, c);
	_cleanup_json_ json_t *first = active_pods(&e, job);
	is_int(json_array_size(first), 2, "stale create: 2 pods");
	snprintf(second_pod, sizeof(second_pod), "%s", meta_s(json_array_get(first, 1), "name"));
	pod_finish(&e, "default", meta_s(json_array_get(first, 0), "name"), true, 0);
	settle(&e);
	drain(&e, c);

	Hook h;
	hook_begin(&e, &h);
	hook_arm(&h, "POST", PODS, finish_second_then_stall);
	_cleanup_err_ Error *err = NULL;
	is_int(c->sync(c, "default/race", &err), 0, "stale create: the sync of the first success");
	is_int(h.fired, 1, "stale create: the replacement was created (hook ran)");
	is_int(fake_count(e.f, "POST", PODS), 3, "stale create: one replacement");
	/* the Job watch is ahead of the pods watch */
	_cleanup_json_ json_t *cur = get_job(&e, "race");
	informer_inject(e.m->jobs, "MODIFIED", cur);
	hook_arm(&h, "PUT", JOBS "/race/status", release_watches);
	_cleanup_err_ Error *err2 = NULL;
	is_int(c->sync(c, "default/race", &err2), 0, "stale create: the sync of the second success");
	is_int(h.fired, 2, "stale create: the creation was observed during that sync (hook ran)");
	is_int(fake_count(e.f, "POST", PODS), 3, "stale create: no pod made from a list older than the expectation check");
	hook_end(&e, &h);
	fake_hold(e.f, false);
	settle(&e);
	_cleanup_json_ json_t *now_active = active_pods(&e, job);
	int max_active = (int)json_array_size(now_active);
	for (int rounds = 0; rounds < 10; rounds++) {
		RUN(&e, c);
		_cleanup_json_ json_t *a = active_pods(&e, job);
		if ((int)json_array_size(a) > max_active)
			max_active = (int)json_array_size(a);
		fake_clock_advance_s(5);
		if (!finish_active(&e, job, true))
			break;
	}
	is_int(max_active, 2, "stale create: never more than parallelism pods at once");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 0, "stale create: no pod deleted");
	is_int(fake_count(e.f, "POST", PODS), 4, "stale create: exactly 4 pods for 4 completions");
	_cleanup_json_ json_t *done = get_job(&e, "race");
	is_int(status_i(done, "succeeded", -1), 4, "stale create: succeeded 4");
	is_str(cond_field(done, "Complete", "status"), "True", "stale create: Complete");
	env_stop(&e);
}

/* The Job cache older than the status the controller wrote (the pods cache
 * current): the success already counted is neither in the stale counters
 * nor on a pod carrying the finalizer; a sync from it would see a free slot
 * and make a pod too many. */
static void test_stale_job(void)
{
	Env e = env_start();
	Ctl *c = &e.m->jobc;
	_cleanup_json_ json_t *job = put_obj(&e, JOBS, job_obj("lag", "'completions':2,'parallelism':2"));
	RUN(&e, c);
	_cleanup_json_ json_t *before = get_job(&e, "lag");
	_cleanup_json_ json_t *act = active_pods(&e, job);
	is_int(json_array_size(act), 2, "stale job: 2 pods");
	pod_finish(&e, "default", meta_s(json_array_get(act, 0), "name"), true, 0);
	RUN(&e, c);
	_cleanup_json_ json_t *counted = get_job(&e, "lag");
	is_int(status_i(counted, "succeeded", -1), 1, "stale job: the success counted");
	informer_inject(e.m->jobs, "MODIFIED", before);
	is_int(sync_key(&e, c, "default/lag"), 0, "stale job: sync on the stale Job");
	is_int(fake_count(e.f, "POST", PODS), 2, "stale job: no pod for a slot the stale Job seems to have");
	_cleanup_json_ json_t *after = get_job(&e, "lag");
	is_int(status_i(after, "succeeded", -1), 1, "stale job: succeeded not rewritten from the stale Job");
	informer_inject(e.m->jobs, "MODIFIED", after);
	finish_active(&e, job, true);
	RUN(&e, c);
	_cleanup_json_ json_t *done = get_job(&e, "lag");
	is_int(status_i(done, "succeeded", -1), 2, "stale job: succeeded 2");
	is_str(cond_field(done, "Complete", "status"), "True", "stale job: Complete");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 0, "stale job: no pod deleted");
	is_int(fake_count(e.f, "POST", PODS), 2, "stale job: 2 pods for 2 completions");
	env_stop(&e);
}

/* ---- CronJob ---- */

static json_t *cj_obj(const char *name, const char *schedule, const char *extra)
{
	return J("{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'schedule':'%s',%s%s'jobTemplate':{'spec':{'template':{'spec':{'restartPolicy':'Never',"
		 "'containers':[{'name':'c','image':'busybox'}]}}}}}}",
		 name, schedule, extra, *extra ? "," : "");
}

/* Jobs of cj (sorted by name). */
static json_t *jobs_of(Env *e, const json_t *cj) { return owned_by(e, JOBS, meta_s(cj, "uid")); }

static void job_set_finished(Env *e, const char *name, const char *type, int64_t start, int64_t end)
{
	char path[256], s[40], f[40];
	snprintf(path, sizeof(path), JOBS "/%s/status", name);
	time_rfc3339(s, sizeof(s), start);
	time_rfc3339(f, sizeof(f), end);
	patch_obj(e, path, J("{'status':{'startTime':'%s','completionTime':'%s','conditions':[{'type':'%s','status':'True'}]}}",
			     s, f, type));
}

static void test_cron_schedule(void)
{
	Env e = env_start();
	Ctl *c = &e.m->cjc;
	fake_clock_advance_s(30);  /* created at 00:00:30 */
	_cleanup_json_ json_t *cj = put_obj(&e, CJS, cj_obj("tick", "*/5 * * * *", ""));
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", JOBS), 0, "cron: nothing before the first start time");
	fake_clock_advance_s(4 * 60);  /* 00:04:30 */
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", JOBS), 0, "cron: nothing at 00:04:30");
	fake_clock_advance_s(40);  /* 00:05:10 */
	int n = RUN(&e, c);
	ok(n >= 1, "cron: the requeue at the next start time fires on the fake clock");
	_cleanup_json_ json_t *jobs = jobs_of(&e, cj);
	is_int(json_array_size(jobs), 1, "cron: one Job at 00:05");
	char want[64];
	snprintf(want, sizeof(want), "tick-%lld", (long long)(CS_T0 + 300) / 60);
	is_str(meta_s(json_array_get(jobs, 0), "name"), want, "cron: Job named <cronjob>-<scheduled minutes>");
	is_str(json_str(json_path(json_array_get(jobs, 0), "metadata.annotations"), "batch.kubernetes.io/cronjob-scheduled-timestamp"),
	       "2026-01-01T00:05:00Z", "cron: scheduled-timestamp annotation");
	_cleanup_json_ json_t *c1 = fake_get(e.f, CJS "/tick");
	is_str(json_str(json_object_get(c1, "status"), "lastScheduleTime"), "2026-01-01T00:05:00Z", "cron: lastScheduleTime");
	is_int(json_array_size(json_path(c1, "status.active")), 1, "cron: status.active lists the Job");
	fake_clock_advance_s(60);
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", JOBS), 1, "cron: no second Job within the same period");
	fake_clock_advance_s(4 * 60);  /* 00:10:10, the first still running: Allow */
	RUN(&e, c);
	_cleanup_json_ json_t *j2 = jobs_of(&e, cj);
	is_int(json_array_size(j2), 2, "cron: Allow runs the 00:10 Job beside the running one");
	env_stop(&e);
}

static void test_cron_policies(void)
{
	Env e = env_start();
	Ctl *c = &e.m->cjc;
	_cleanup_json_ json_t *fb = put_obj(&e, CJS, cj_obj("forbid", "* * * * *", "'concurrencyPolicy':'Forbid'"));
	_cleanup_json_ json_t *rp = put_obj(&e, CJS, cj_obj("replace", "* * * * *", "'concurrencyPolicy':'Replace'"));
	fake_clock_advance_s(65);  /* 00:01:05 */
	RUN(&e, c);
	_cleanup_json_ json_t *f1 = jobs_of(&e, fb), *r1 = jobs_of(&e, rp);
	is_int(json_array_size(f1), 1, "forbid: first Job");
	is_int(json_array_size(r1), 1, "replace: first Job");
	char first_replace[128];
	snprintf(first_replace, sizeof(first_replace), JOBS "/%s", meta_s(json_array_get(r1, 0), "name"));
	fake_log_clear(e.f);
	fake_clock_advance_s(60);  /* 00:02:05, both Jobs still running */
	RUN(&e, c);
	_cleanup_json_ json_t *f2 = jobs_of(&e, fb), *r2 = jobs_of(&e, rp);
	is_int(json_array_size(f2), 1, "forbid: no new Job while one runs");
	is_int(fake_count(e.f, "DELETE", first_replace), 1, "replace: the running Job is deleted");
	is_int(json_array_size(r2), 1, "replace: one Job after the replacement");
	char want[64];
	snprintf(want, sizeof(want), "replace-%lld", (long long)(CS_T0 + 120) / 60);
	is_str(meta_s(json_array_get(r2, 0), "name"), want, "replace: the new Job is the 00:02 one");
	_cleanup_json_ json_t *rc = fake_get(e.f, CJS "/replace");
	is_int(json_array_size(json_path(rc, "status.active")), 1, "replace: status.active has only the new Job");
	/* forbid: once the running Job finishes, the next start time runs */
	job_set_finished(&e, meta_s(json_array_get(f2, 0), "name"), "Complete", CS_T0 + 60, CS_T0 + 130);
	fake_clock_advance_s(60);  /* 00:03:05 */
	RUN(&e, c);
	_cleanup_json_ json_t *f3 = jobs_of(&e, fb);
	is_int(json_array_size(f3), 2, "forbid: a new Job once the previous one finished");
	_cleanup_json_ json_t *fc = fake_get(e.f, CJS "/forbid");
	is_str(json_str(json_object_get(fc, "status"), "lastSuccessfulTime"), "2026-01-01T00:02:10Z",
	       "forbid: lastSuccessfulTime from the finished Job");
	env_stop(&e);
}

static void test_cron_history(void)
{
	Env e = env_start();
	Ctl *c = &e.m->cjc;
	_cleanup_json_ json_t *cj = put_obj(&e, CJS, cj_obj("hist", "0 0 1 1 *", "'successfulJobsHistoryLimit':2,'failedJobsHistoryLimit':1"));
	/* finished Jobs of the past: 4 complete, 2 failed */
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "hist-%d", i);
		json_t *j = J("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'%s','namespace':'default'},"
			      "'spec':{'template':{'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':'b'}]}}}}",
			      name);
		json_object_set_new(json_object_get(j, "metadata"), "ownerReferences",
				    json_pack("[o]", owner_ref_new(cj, "batch/v1", "CronJob")));
		json_decref(put_obj(&e, JOBS, j));
		job_set_finished(&e, name, i < 4 ? "Complete" : "Failed", CS_T0 - 1000 + i * 100, CS_T0 - 950 + i * 100);
	}
	RUN(&e, c);
	_cleanup_json_ json_t *left = jobs_of(&e, cj);
	is_int(json_array_size(left), 3, "history: 2 complete + 1 failed kept");
	const char *gone[] = { "hist-0", "hist-1", "hist-4" }, *kept[] = { "hist-2", "hist-3", "hist-5" };
	for (int i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof(path), JOBS "/%s", gone[i]);
		is_int(fake_count(e.f, "DELETE", path), 1, "history: oldest %s deleted", gone[i]);
		snprintf(path, sizeof(path), JOBS "/%s", kept[i]);
		_cleanup_json_ json_t *k = fake_get(e.f, path);
		ok(k != NULL, "history: %s kept", kept[i]);
	}
	env_stop(&e);
}

/* Reasons of the Events posted about name (new array of strings). */
static json_t *event_reasons(Env *e, const char *name)
{
	_cleanup_json_ json_t *evs = fake_list(e->f, "/api/v1/namespaces/default/events");
	json_t *out = json_array();
	size_t i;
	json_t *ev;
	json_array_foreach(evs, i, ev)
		if (!strcmp(json_str(json_object_get(ev, "involvedObject"), "name") ?: "", name))
			json_array_append_new(out, json_string(json_str(ev, "reason") ?: ""));
	return out;
}

static bool has_reason(const json_t *reasons, const char *r)
{
	size_t i;
	json_t *v;
	json_array_foreach(reasons, i, v)
		if (!strcmp(json_string_value(v), r))
			return true;
	return false;
}

static void test_cron_deadline_suspend(void)
{
	Env e = env_start();
	Ctl *c = &e.m->cjc;
	_cleanup_json_ json_t *late = put_obj(&e, CJS, cj_obj("late", "0 * * * *", "'startingDeadlineSeconds':30"));
	_cleanup_json_ json_t *sus = put_obj(&e, CJS, cj_obj("sus", "* * * * *", "'suspend':true"));
	fake_clock_advance_s(3600 + 45);  /* 01:00:45: the 01:00 start is 45 s old, past the 30 s deadline */
	RUN(&e, c);
	_cleanup_json_ json_t *j1 = jobs_of(&e, late), *j2 = jobs_of(&e, sus);
	is_int(json_array_size(j1), 0, "cron deadline: no Job for a start time past startingDeadlineSeconds");
	_cleanup_json_ json_t *l1 = fake_get(e.f, CJS "/late");
	ok(!json_path(l1, "status.lastScheduleTime"), "cron deadline: no lastScheduleTime");
	is_int(json_array_size(j2), 0, "cron suspend: a suspended CronJob starts nothing");
	patch_obj(&e, CJS "/sus", J("{'spec':{'suspend':false}}"));
	fake_clock_advance_s(3600 - 45 + 20);  /* 02:00:20: within 30 s of the 02:00 start */
	RUN(&e, c);
	_cleanup_json_ json_t *j5 = jobs_of(&e, late);
	is_int(json_array_size(j5), 1, "cron deadline: a start within startingDeadlineSeconds runs");
	_cleanup_json_ json_t *j3 = jobs_of(&e, sus);
	is_int(json_array_size(j3), 1, "cron suspend: resumed, the most recent start time runs once");
	/* a clock far ahead: more than 100 missed start times */
	_cleanup_json_ json_t *many = put_obj(&e, CJS, cj_obj("many", "* * * * *", ""));
	fake_clock_advance_s(200 * 60);
	RUN(&e, c);
	_cleanup_json_ json_t *r2 = event_reasons(&e, "many");
	ok(has_reason(r2, "TooManyMissedTimes"), "cron: TooManyMissedTimes after 200 missed minutes");
	_cleanup_json_ json_t *j4 = jobs_of(&e, many);
	is_int(json_array_size(j4), 1, "cron: only the most recent missed start runs");
	env_stop(&e);
}

int main(void)
{
	test_completions();
	test_backoff_limit();
	test_active_deadline();
	test_stale_creation();
	test_stale_job();
	test_cron_schedule();
	test_cron_policies();
	test_cron_history();
	test_cron_deadline_suspend();
	return tap_done();
}
