/* job.c - the Job controller (batch/v1), as Kubernetes' job controller.
 *
 * sync(ns/name), level-triggered:
 *   1. the Job's pods are those whose controller reference is its uid;
 *      active = not terminal and not being deleted; succeeded / failed are
 *      counted from the terminal pods that exist (the legacy tracking: the
 *      controller never deletes a finished pod; podFailurePolicy Ignore
 *      rules exclude a failure, FailJob fails the Job);
 *   2. finished Jobs only wait for ttlSecondsAfterFinished, then are
 *      deleted with background propagation;
 *   3. failure (PodFailurePolicy, BackoffLimitExceeded: failed pods >
 *      backoffLimit, or container restarts >= backoffLimit for OnFailure,
 *      DeadlineExceeded: activeDeadlineSeconds since startTime) deletes the
 *      active pods and sets condition Failed; completion sets Complete and
 *      completionTime; suspend deletes active pods (condition Suspended);
 *   4. otherwise, with expectations satisfied, create or delete pods toward
 *      min(parallelism, completions - succeeded) (Indexed: the lowest
 *      missing indexes), replacements of failed pods waiting 10 s doubling
 *      per consecutive failure up to 6 min;
 *   5. write status (active, ready, succeeded, failed, startTime,
 *      completionTime, completedIndexes, conditions) when it changed, post
 *      Events, requeue at the next deadline / back-off end.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_ANNOTATION "batch.kubernetes.io/job-completion-index"
#define BACKOFF_BASE_S 10
#define BACKOFF_MAX_S 360

/* ---- pure arithmetic (unit-tested) ---- */

int job_pods_diff(int parallelism, int completions, int active, int succeeded)
{
	int want;
	if (completions < 0)
		want = succeeded > 0 ? active : parallelism;
	else {
		want = completions - succeeded;
		if (want > parallelism)
			want = parallelism;
		if (want < 0)
			want = 0;
	}
	int diff = want - active;
	int cap = (int)BERTH_MAX_CONTROLLER_BURST;
	return diff > cap ? cap : diff < -cap ? -cap : diff;
}

int64_t job_backoff_delay(int failures)
{
	if (failures <= 0)
		return 0;
	int64_t d = BACKOFF_BASE_S;
	for (int i = 1; i < failures && d < BACKOFF_MAX_S; i++)
		d *= 2;
	return d > BACKOFF_MAX_S ? BACKOFF_MAX_S : d;
}

char *job_format_indexes(const bool *set, int n)
{
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, "");
	for (int i = 0; i < n; i++) {
		if (!set[i])
			continue;
		int j = i;
		while (j + 1 < n && set[j + 1])
			j++;
		sb_addf(&sb, "%s%d", sb.len ? "," : "", i);
		if (j > i)
			sb_addf(&sb, "-%d", j);
		i = j;
	}
	return sb_detach(&sb);
}

/* ---- pod helpers ---- */

static const char *pod_phase(const json_t *pod) { return json_str(json_object_get(pod, "status"), "phase") ?: ""; }

static int pod_index(const json_t *pod)
{
	const char *s = json_str(json_path(pod, "metadata.annotations"), INDEX_ANNOTATION);
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return -1;
	return atoi(s);
}

static int64_t pod_finish_time(const json_t *pod)
{
	int64_t t = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(json_path(pod, "status.containerStatuses"), i, cs) {
		int64_t f = obj_time(cs, "state.terminated.finishedAt");
		if (f > t)
			t = f;
	}
	return t ? t : obj_time(pod, "metadata.creationTimestamp");
}

static int64_t pod_restarts(const json_t *pod)
{
	int64_t n = 0;
	const char *lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_path(pod, lists[l]), i, cs)
			n += json_int(cs, "restartCount", 0);
	}
	return n;
}

/* ---- podFailurePolicy ---- */

typedef enum { PFP_COUNT, PFP_IGNORE, PFP_FAIL_JOB } PfpAction;

static bool exit_codes_match(const json_t *rule, const json_t *pod, char **msg_ctr, int *msg_code)
{
	const char *op = json_str(rule, "operator") ?: "In", *only = json_str(rule, "containerName");
	const json_t *values = json_object_get(rule, "values");
	const char *lists[] = { "status.initContainerStatuses", "status.containerStatuses" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		size_t i, j;
		json_t *cs, *v;
		json_array_foreach(json_path(pod, lists[l]), i, cs) {
			json_t *code = json_path(cs, "state.terminated.exitCode");
			if (!json_is_integer(code) || json_integer_value(code) == 0)
				continue;
			if (only && strcmp(only, json_str(cs, "name") ?: ""))
				continue;
			bool in = false;
			json_array_foreach(values, j, v)
				in = in || json_integer_value(v) == json_integer_value(code);
			if (in == !strcmp(op, "In")) {
				*msg_ctr = xstrdup(json_str(cs, "name") ?: "");
				*msg_code = (int)json_integer_value(code);
				return true;
			}
		}
	}
	return false;
}

static bool conditions_match(const json_t *rules, const json_t *pod, const char **type)
{
	size_t i, j;
	json_t *r, *c;
	json_array_foreach(rules, i, r)
		json_array_foreach(json_path(pod, "status.conditions"), j, c)
			if (!strcmp(json_str(r, "type") ?: "", json_str(c, "type") ?: "-") &&
			    !strcmp(json_str(r, "status") ?: "True", json_str(c, "status") ?: "")) {
				*type = json_str(c, "type");
				return true;
			}
	return false;
}

/* The first rule matching a failed pod decides; *msg gets the FailJob message. */
static PfpAction pfp_action(const json_t *job, const json_t *pod, char **msg)
{
	size_t i;
	json_t *rule;
	json_array_foreach(json_path(job, "spec.podFailurePolicy.rules"), i, rule) {
		_cleanup_free_ char *ctr = NULL;
		int code = 0;
		const char *ctype = NULL;
		bool m = false;
		json_t *oec = json_object_get(rule, "onExitCodes");
		if (oec)
			m = exit_codes_match(oec, pod, &ctr, &code);
		else
			m = conditions_match(json_object_get(rule, "onPodConditions"), pod, &ctype);
		if (!m)
			continue;
		const char *action = json_str(rule, "action") ?: "";
		if (!strcmp(action, "Ignore"))
			return PFP_IGNORE;
		if (!strcmp(action, "FailJob")) {
			if (ctr)
				*msg = xasprintf("Container %s for pod %s/%s failed with exit code %d matching FailJob rule "
						 "at index %zu", ctr, obj_meta(pod, "namespace"), obj_meta(pod, "name"), code, i);
			else
				*msg = xasprintf("Pod %s/%s has condition %s matching FailJob rule at index %zu",
						 obj_meta(pod, "namespace"), obj_meta(pod, "name"), ctype, i);
			return PFP_FAIL_JOB;
		}
		return PFP_COUNT;
	}
	return PFP_COUNT;
}

/* ---- conditions ---- */

static json_t *cond_find(json_t *st, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

static bool cond_true(const json_t *st, const char *type)
{
	json_t *c = cond_find((json_t *)st, type);
	return c && !strcmp(json_str(c, "status") ?: "", "True");
}

/* Set (or update on a status change) a condition; true when it changed. */
static bool cond_set(json_t *st, const char *type, const char *status, const char *reason, const char *msg,
		     const char *now)
{
	json_t *c = cond_find(st, type);
	if (c && !strcmp(json_str(c, "status") ?: "", status) && !strcmp(json_str(c, "reason") ?: "", reason))
		return false;
	json_t *nc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "lastProbeTime", now,
			       "lastTransitionTime", now, "reason", reason, "message", msg);
	if (c)
		json_object_update(c, nc), json_decref(nc);
	else {
		if (!json_is_array(json_object_get(st, "conditions")))
			json_object_set_new(st, "conditions", json_array());
		json_array_append_new(json_object_get(st, "conditions"), nc);
	}
	return true;
}

/* ---- acting ---- */

typedef struct {
	Ctl *c;
	const char *key, *ns;
	const json_t *job;
	json_t *st;              /* the status being built */
	json_t *active;          /* active pods */
	int succeeded, failed, ready;
	int64_t restarts, last_fail, consecutive_fail;
	bool *done_idx;          /* Indexed: succeeded indexes */
	int completions;         /* -1: nil */
	char *fail_msg;          /* a FailJob rule matched */
	int64_t requeue;         /* seconds, 0 none */
} JobState;

static void requeue_in(JobState *s, int64_t secs)
{
	if (secs > 0 && (!s->requeue || secs < s->requeue))
		s->requeue = secs;
}

static json_t *pod_for(const JobState *s, int index)
{
	const json_t *job = s->job;
	json_t *tmpl = json_path(job, "spec.template");
	const char *name = obj_meta(job, "name");
	json_t *meta = json_object();
	_cleanup_free_ char *gen = index >= 0 ? xasprintf("%s-%d-", name, index) : xasprintf("%s-", name);
	json_object_set_new(meta, "generateName", json_string(gen));
	json_object_set_new(meta, "namespace", json_string(s->ns));
	json_t *l = json_path(tmpl, "metadata.labels"), *a = json_path(tmpl, "metadata.annotations");
	json_t *labels = l ? json_deep_copy(l) : json_object(), *ann = a ? json_deep_copy(a) : json_object();
	const char *uid = obj_meta(job, "uid") ?: "";
	if (!json_is_true(json_path(job, "spec.manualSelector"))) {
		json_object_set_new(labels, "batch.kubernetes.io/controller-uid", json_string(uid));
		json_object_set_new(labels, "controller-uid", json_string(uid));
		json_object_set_new(labels, "batch.kubernetes.io/job-name", json_string(name));
		json_object_set_new(labels, "job-name", json_string(name));
	}
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec") ?: json_object());
	if (index >= 0) {
		char ix[16];
		snprintf(ix, sizeof(ix), "%d", index);
		json_object_set_new(ann, INDEX_ANNOTATION, json_string(ix));
		json_object_set_new(labels, INDEX_ANNOTATION, json_string(ix));
		_cleanup_free_ char *host = xasprintf("%s-%d", name, index);
		json_object_set_new(spec, "hostname", json_string(host));
		const char *lists[] = { "initContainers", "containers" };
		for (size_t li = 0; li < ARRAY_SIZE(lists); li++) {
			size_t i;
			json_t *ctr;
			json_array_foreach(json_object_get(spec, lists[li]), i, ctr) {
				if (!json_is_array(json_object_get(ctr, "env")))
					json_object_set_new(ctr, "env", json_array());
				json_array_append_new(json_object_get(ctr, "env"),
						      json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", "JOB_COMPLETION_INDEX",
								"valueFrom", "fieldRef", "apiVersion", "v1", "fieldPath",
								"metadata.annotations['" INDEX_ANNOTATION "']"));
			}
		}
	}
	json_object_set_new(meta, "labels", labels);
	json_object_set_new(meta, "annotations", ann);
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_ref_new(job, "batch/v1", "Job")));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta, "spec", spec);
}

static int create_pods(JobState *s, const int *indexes, int n, Error **err)
{
	exp_expect(s->c->exp, s->key, n, 0);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods", s->ns);
	for (int i = 0; i < n; i++) {
		_cleanup_json_ json_t *pod = pod_for(s, indexes ? indexes[i] : -1), *made = NULL;
		int r = kube_post(s->c->m->kc, path, pod, &made, err);
		if (r < 0) {
			exp_lower(s->c->exp, s->key, n - i, 0);
			return err_prefix(err, "Job '%s': create pod", s->key);
		}
		ctl_event(s->c->m, s->job, "Job", "job-controller", "Normal", "SuccessfulCreate", "Created pod: %s",
			    obj_meta(made, "name") ?: "");
	}
	return 0;
}

static int delete_pods(JobState *s, json_t *pods, int n, Error **err)
{
	rs_victims_sort(pods);
	exp_expect(s->c->exp, s->key, 0, n);
	for (int i = 0; i < n; i++) {
		json_t *pod = json_array_get(pods, (size_t)i);
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", s->ns, obj_meta(pod, "name"));
		int r = kube_delete(s->c->m->kc, path, err);
		if (r == -ENOENT) {
			exp_lower(s->c->exp, s->key, 0, 1);
			err_freep(err);
			continue;
		}
		if (r < 0) {
			exp_lower(s->c->exp, s->key, 0, n - i);
			return err_prefix(err, "Job '%s': delete pod", s->key);
		}
		ctl_event(s->c->m, s->job, "Job", "job-controller", "Normal", "SuccessfulDelete", "Deleted pod: %s",
			    obj_meta(pod, "name"));
	}
	return 0;
}

/* Count the pods: active, ready, succeeded (Indexed: distinct indexes), failed. */
static void count_pods(JobState *s, const json_t *pods)
{
	const char *uid = obj_meta(s->job, "uid") ?: "";
	bool onfailure = !strcmp(json_str(json_path(s->job, "spec.template.spec"), "restartPolicy") ?: "", "OnFailure");
	int64_t last_success = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		const json_t *ref = obj_controller_ref(pod);
		if (!ref || strcmp(json_str(ref, "uid") ?: "", uid))
			continue;
		const char *ph = pod_phase(pod);
		if (pod_is_active(pod)) {
			json_array_append(s->active, pod);
			s->ready += pod_is_ready(pod);
			if (onfailure)
				s->restarts += pod_restarts(pod);
		} else if (!strcmp(ph, "Succeeded")) {
			int ix = pod_index(pod);
			if (s->done_idx && ix >= 0 && ix < s->completions)
				s->done_idx[ix] = true;
			else if (!s->done_idx)
				s->succeeded++;
			if (pod_finish_time(pod) > last_success)
				last_success = pod_finish_time(pod);
		} else if (!strcmp(ph, "Failed")) {
			_cleanup_free_ char *msg = NULL;
			PfpAction a = pfp_action(s->job, pod, &msg);
			if (a == PFP_IGNORE)
				continue;
			if (a == PFP_FAIL_JOB && !s->fail_msg)
				s->fail_msg = TAKE_PTR(msg);
			s->failed++;
			if (pod_finish_time(pod) > s->last_fail)
				s->last_fail = pod_finish_time(pod);
		}
	}
	if (s->done_idx)
		for (int ix = 0; ix < s->completions; ix++)
			s->succeeded += s->done_idx[ix];
	/* consecutive failures: those after the last success */
	json_array_foreach(pods, i, pod)
		if (!strcmp(pod_phase(pod), "Failed") && pod_finish_time(pod) >= last_success) {
			const json_t *ref = obj_controller_ref(pod);
			if (ref && !strcmp(json_str(ref, "uid") ?: "", uid))
				s->consecutive_fail++;
		}
}

/* The failure reason (and message) if the job must fail now, else NULL. */
static const char *failure(JobState *s, int64_t now, const char **msg)
{
	const json_t *spec = json_object_get(s->job, "spec");
	int64_t limit = json_int(spec, "backoffLimit", 6);
	bool onfailure = !strcmp(json_str(json_path(spec, "template.spec"), "restartPolicy") ?: "", "OnFailure");
	if (s->fail_msg) {
		*msg = s->fail_msg;
		return "PodFailurePolicy";
	}
	if (s->failed > limit || (onfailure && (limit == 0 ? s->restarts > 0 : s->restarts >= limit))) {
		*msg = "Job has reached the specified backoff limit";
		return "BackoffLimitExceeded";
	}
	json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
	int64_t start = obj_time(s->st, "startTime");
	if (json_is_integer(ads) && start) {
		int64_t left = start + json_integer_value(ads) - now;
		if (left <= 0) {
			*msg = "Job was active longer than specified deadline";
			return "DeadlineExceeded";
		}
		requeue_in(s, left);
	}
	return NULL;
}

static bool is_complete(const JobState *s)
{
	if (s->completions < 0)
		return s->succeeded > 0 && json_array_size(s->active) == 0;
	return s->succeeded >= s->completions;
}

/* Create / delete toward the wanted number of active pods. */
static int manage(JobState *s, int64_t now, Error **err)
{
	const json_t *spec = json_object_get(s->job, "spec");
	int par = (int)json_int(spec, "parallelism", 1);
	int active = (int)json_array_size(s->active);
	int diff = job_pods_diff(par, s->completions, active, s->succeeded);
	if (diff < 0)
		return delete_pods(s, s->active, -diff, err);
	if (diff == 0)
		return 0;
	if (s->consecutive_fail > 0) {
		int64_t left = s->last_fail + job_backoff_delay((int)s->consecutive_fail) - now;
		if (left > 0) {
			requeue_in(s, left);
			return 0;
		}
	}
	if (!s->done_idx)
		return create_pods(s, NULL, diff, err);
	/* Indexed: the lowest indexes neither succeeded nor active */
	bool *busy = xcalloc((size_t)s->completions + 1, sizeof(bool));
	size_t i;
	json_t *pod;
	json_array_foreach(s->active, i, pod) {
		int ix = pod_index(pod);
		if (ix >= 0 && ix < s->completions)
			busy[ix] = true;
	}
	int *todo = xcalloc((size_t)diff, sizeof(int)), n = 0;
	for (int ix = 0; ix < s->completions && n < diff; ix++)
		if (!busy[ix] && !s->done_idx[ix])
			todo[n++] = ix;
	int r = n ? create_pods(s, todo, n, err) : 0;
	free(todo);
	free(busy);
	return r;
}

/* DELETE with propagationPolicy Background. */
static int delete_job(Ctl *c, const json_t *job, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s", obj_meta(job, "namespace"),
					      obj_meta(job, "name"));
	_cleanup_json_ json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
						"DeleteOptions", "propagationPolicy", "Background", "preconditions",
						"uid", obj_meta(job, "uid") ?: "");
	int r = kube_request(c->m->kc, "DELETE", path, body, "application/json", NULL, NULL, err);
	return r == -ENOENT ? 0 : r;
}

/* Finished: delete after ttlSecondsAfterFinished. */
static int finished_sync(Ctl *c, const char *key, const json_t *job, int64_t now, Error **err)
{
	json_t *ttl = json_path(job, "spec.ttlSecondsAfterFinished");
	if (!json_is_integer(ttl))
		return 0;
	const json_t *st = json_object_get(job, "status");
	int64_t fin = obj_time(st, "completionTime");
	json_t *cd = cond_find((json_t *)st, "Complete");
	if (!cd || strcmp(json_str(cd, "status") ?: "", "True"))
		cd = cond_find((json_t *)st, "Failed");
	if (!fin && cd)
		fin = obj_time(cd, "lastTransitionTime");
	int64_t left = fin + json_integer_value(ttl) - now;
	if (left > 0) {
		wq_add_after(c->q, key, left * 1000);
		return 0;
	}
	return delete_job(c, job, err);
}

static int write_status(Ctl *c, const json_t *job, json_t *st, Error **err)
{
	if (json_equal(json_object_get(job, "status"), st))
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(job);
	json_object_set(copy, "status", st);
	_cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s/status", obj_meta(job, "namespace"),
					      obj_meta(job, "name"));
	int r = kube_put(c->m->kc, path, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

static int job_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256], now_s[32];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *job = informer_get(c->inf, ns, name);
	if (!job) {
		exp_delete(c->exp, key);
		return 0;
	}
	if (json_path(job, "metadata.deletionTimestamp"))
		return 0;
	int64_t now = mgr_now_s(c->m);
	time_rfc3339(now_s, sizeof(now_s), now);
	const json_t *old = json_object_get(job, "status");
	if (cond_true(old, "Complete") || cond_true(old, "Failed"))
		return finished_sync(c, key, job, now, err);

	json_t *comp = json_path(job, "spec.completions");
	bool indexed = !strcmp(json_str(json_object_get(job, "spec"), "completionMode") ?: "", "Indexed");
	JobState s = { .c = c, .key = key, .ns = ns, .job = job, .active = json_array(),
		       .completions = json_is_integer(comp) ? (int)json_integer_value(comp) : -1 };
	s.st = json_is_object(old) ? json_deep_copy(old) : json_object();
	if (indexed && s.completions >= 0)
		s.done_idx = xcalloc((size_t)s.completions + 1, sizeof(bool));
	_cleanup_json_ json_t *pods = informer_list(c->m->pods, ns);
	count_pods(&s, pods);
	bool suspended = json_is_true(json_path(job, "spec.suspend"));
	if (!suspended && !json_str(s.st, "startTime"))
		json_object_set_new(s.st, "startTime", json_string(now_s));

	int r = 0;
	const char *msg = NULL, *reason = suspended ? NULL : failure(&s, now, &msg);
	bool satisfied = exp_satisfied(c->exp, key);
	if (reason) {
		if (json_array_size(s.active))
			r = delete_pods(&s, s.active, (int)json_array_size(s.active), err);
		json_array_clear(s.active);
		s.ready = 0;
		if (r == 0) {
			cond_set(s.st, "FailureTarget", "True", reason, msg, now_s);
			cond_set(s.st, "Failed", "True", reason, msg, now_s);
			ctl_event(c->m, job, "Job", "job-controller", "Warning", reason, "%s", msg);
		}
	} else if (is_complete(&s)) {
		if (json_array_size(s.active))
			r = delete_pods(&s, s.active, (int)json_array_size(s.active), err);
		json_array_clear(s.active);
		s.ready = 0;
		if (r == 0) {
			cond_set(s.st, "SuccessCriteriaMet", "True", "CompletionsReached",
				 "Reached expected number of succeeded pods", now_s);
			cond_set(s.st, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods",
				 now_s);
			json_object_set_new(s.st, "completionTime", json_string(now_s));
			ctl_event(c->m, job, "Job", "job-controller", "Normal", "Completed", "Job completed");
		}
	} else if (suspended) {
		if (json_array_size(s.active) && satisfied)
			r = delete_pods(&s, s.active, (int)json_array_size(s.active), err);
		if (cond_set(s.st, "Suspended", "True", "JobSuspended", "Job suspended", now_s))
			ctl_event(c->m, job, "Job", "job-controller", "Normal", "Suspended", "Job suspended");
		json_array_clear(s.active);
		s.ready = 0;
	} else {
		if (cond_true(s.st, "Suspended")) {
			cond_set(s.st, "Suspended", "False", "JobResumed", "Job resumed", now_s);
			json_object_set_new(s.st, "startTime", json_string(now_s));
			ctl_event(c->m, job, "Job", "job-controller", "Normal", "Resumed", "Job resumed");
		}
		if (satisfied)
			r = manage(&s, now, err);
	}

	json_object_set_new(s.st, "active", json_integer((json_int_t)json_array_size(s.active)));
	json_object_set_new(s.st, "ready", json_integer(s.ready));
	json_object_set_new(s.st, "succeeded", json_integer(s.succeeded));
	json_object_set_new(s.st, "failed", json_integer(s.failed));
	if (!json_object_get(s.st, "uncountedTerminatedPods"))
		json_object_set_new(s.st, "uncountedTerminatedPods", json_object());
	if (s.done_idx) {
		_cleanup_free_ char *ci = job_format_indexes(s.done_idx, s.completions);
		if (*ci)
			json_object_set_new(s.st, "completedIndexes", json_string(ci));
		else
			json_object_del(s.st, "completedIndexes");
	}
	if (!json_int(s.st, "active", 0))
		json_object_del(s.st, "active");  /* omitempty, as Kubernetes writes it */
	if (!json_int(s.st, "succeeded", 0))
		json_object_del(s.st, "succeeded");
	if (!json_int(s.st, "failed", 0))
		json_object_del(s.st, "failed");
	_cleanup_err_ Error *serr = NULL;
	int rs = write_status(c, job, s.st, &serr);
	if (s.requeue)
		wq_add_after(c->q, key, s.requeue * 1000);
	json_decref(s.st);
	json_decref(s.active);
	free(s.done_idx);
	free(s.fail_msg);
	if (r < 0)
		return r;
	if (rs < 0) {
		*err = TAKE_PTR(serr);
		return rs;
	}
	return 0;
}

/* ---- event handlers ---- */

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	ctl_pod_event(ud, "Job", ev, old, pod);
}

static void on_job(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, obj);
}

void job_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = job_sync, .name = "job", .kind = "Job", .api_version = "batch/v1" };
	c->inf = m->jobs;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(c->inf, on_job, c);
	informer_add_handler(m->pods, on_pod, c);
}
