/* job.c - the Job controller (batch/v1), as Kubernetes' job controller.
 *
 * sync(ns/name), level-triggered:
 *   1. the Job's pods are those whose controller reference is its uid;
 *      active = not terminal and not being deleted.  Counting uses the
 *      finalizer batch.kubernetes.io/job-tracking, which every pod is
 *      created with: a pod that finished (or is being deleted) while it
 *      carries it has its uid put in status.uncountedTerminatedPods
 *      (written first), then loses the finalizer, then moves into the
 *      status.succeeded / failed counters; so a finished pod someone deletes
 *      is still counted, and counters never shrink when pods go.
 *      podFailurePolicy Ignore rules exclude a failure, FailJob fails the Job;
 *   2. finished Jobs only wait for ttlSecondsAfterFinished, then are
 *      deleted with background propagation;
 *   3. failure (PodFailurePolicy, BackoffLimitExceeded: failed pods >
 *      backoffLimit, or container restarts >= backoffLimit for OnFailure,
 *      DeadlineExceeded: activeDeadlineSeconds since startTime) deletes the
 *      active pods and sets condition Failed; completion sets Complete and
 *      completionTime; suspend deletes active pods (condition Suspended);
 *   4. otherwise, with expectations satisfied (read before the pods are
 *      listed, as the removals in flight), create or delete pods toward
 *      min(parallelism, completions - succeeded) (Indexed: the lowest
 *      missing indexes), replacements of failed pods waiting 10 s doubling
 *      per consecutive failure up to 6 min;
 *   5. write status (active, ready, succeeded, failed, startTime,
 *      completionTime, completedIndexes, conditions) when it changed, post
 *      Events, requeue at the next deadline / back-off end.
 * Pods the controller deletes itself lose the finalizer first (they are not
 * counted), as do the pods of a Job that is gone or being deleted and pods
 * left without a controller (--cascade=orphan): keys "pod:<ns>/<name>".
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_ANNOTATION "batch.kubernetes.io/job-completion-index"
#define TRACKING_FINALIZER "batch.kubernetes.io/job-tracking"
#define ORPHAN_KEY_PREFIX "pod:"
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

static bool str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (s && !strcmp(json_string_value(v) ?: "", s))
			return true;
	return false;
}

static bool job_pod_tracked(const json_t *pod) { return str_in(json_path(pod, "metadata.finalizers"), TRACKING_FINALIZER); }

/* ---- finalizer removals in flight (Kubernetes' uidTrackingExpectations):
 * until the cache shows a pod without the finalizer (or gone), a sync that
 * reads the pod from a stale cache must not count it again.  Keyed by
 * controller and Job key: { "<ctl>|ns/name": { uid: true } }. ---- */

static pthread_mutex_t rm_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *rm_expected;

static char *rm_key(const Ctl *c, const char *key) { return xasprintf("%p|%s", (const void *)c, key); }

static void rm_expect(Ctl *c, const char *key, const char *uid, bool on)
{
	_cleanup_free_ char *k = rm_key(c, key);
	pthread_mutex_lock(&rm_lock);
	if (!rm_expected)
		rm_expected = json_object();
	json_t *set = json_object_get(rm_expected, k);
	if (on) {
		if (!set)
			json_object_set_new(rm_expected, k, set = json_object());
		json_object_set_new(set, uid, json_true());
	} else if (set) {
		json_object_del(set, uid);
		if (!json_object_size(set))
			json_object_del(rm_expected, k);
	}
	pthread_mutex_unlock(&rm_lock);
}

/* The uids whose removal is in flight, copied before the sync lists the
 * pods (new ref): an event that shows a pod without the finalizer clears
 * its entry only after the cache has it, so a pod listed with the
 * finalizer is either in this copy or still to be counted; a check after
 * the list could find the entry cleared by an event the list missed. */
static json_t *rm_snapshot(Ctl *c, const char *key)
{
	_cleanup_free_ char *k = rm_key(c, key);
	pthread_mutex_lock(&rm_lock);
	json_t *set = json_object_get(rm_expected, k);
	json_t *r = set ? json_copy(set) : json_object();
	pthread_mutex_unlock(&rm_lock);
	return r;
}

/* The resourceVersion of the last status this controller wrote per Job:
 * the counters live in status now, so a sync must not read an older status
 * from the cache (it would miss pods already counted and make their
 * replacements); the event of the write queues the Job again. */
static json_t *written_rv;

static int64_t rv_num(const json_t *obj)
{
	const char *rv = obj_meta(obj, "resourceVersion");
	char *end;
	long long v = rv ? strtoll(rv, &end, 10) : -1;
	return rv && *rv && !*end ? v : -1;
}

static void rv_written(Ctl *c, const char *key, const json_t *job)
{
	_cleanup_free_ char *k = rm_key(c, key);
	int64_t rv = rv_num(job);
	pthread_mutex_lock(&rm_lock);
	if (!written_rv)
		written_rv = json_object();
	if (rv >= 0)
		json_object_set_new(written_rv, k, json_integer(rv));
	pthread_mutex_unlock(&rm_lock);
}

static bool job_cache_stale(Ctl *c, const char *key, const json_t *job)
{
	_cleanup_free_ char *k = rm_key(c, key);
	int64_t rv = rv_num(job);
	pthread_mutex_lock(&rm_lock);
	json_t *w = json_object_get(written_rv, k);
	bool stale = w && rv >= 0 && rv < json_integer_value(w);
	pthread_mutex_unlock(&rm_lock);
	return stale;
}

static void rm_forget_job(Ctl *c, const char *key)
{
	_cleanup_free_ char *k = rm_key(c, key);
	pthread_mutex_lock(&rm_lock);
	json_object_del(rm_expected, k);
	json_object_del(written_rv, k);
	pthread_mutex_unlock(&rm_lock);
}

/* Drop the tracking finalizer: a JSON patch testing the pod's uid and the
 * entry it removes (Kubernetes sends the strategic-merge equivalent); a pod
 * that is gone is fine. */
static int remove_tracking(Ctl *c, const json_t *pod, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", obj_meta(pod, "namespace") ?: "",
					      obj_meta(pod, "name") ?: "");
	size_t at = 0;
	json_t *f;
	json_array_foreach(json_path(pod, "metadata.finalizers"), at, f)
		if (!strcmp(json_string_value(f) ?: "", TRACKING_FINALIZER))
			break;
	char fp[64];
	snprintf(fp, sizeof(fp), "/metadata/finalizers/%zu", at);
	_cleanup_json_ json_t *patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}]", "op", "test", "path",
						 "/metadata/uid", "value", obj_meta(pod, "uid") ?: "", "op", "test",
						 "path", fp, "value", TRACKING_FINALIZER, "op", "remove", "path", fp);
	int r = kube_request(c->m->kc, "PATCH", path, patch, "application/json-patch+json", NULL, NULL, err);
	if (r == -ENOENT) {
		err_freep(err);
		return 0;
	}
	return r < 0 ? err_prefix(err, "pod '%s/%s': remove finalizer", obj_meta(pod, "namespace"),
				  obj_meta(pod, "name")) : 0;
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

static bool cond_true(const json_t *st, const char *type)
{
	json_t *c = json_condition(st, type);
	return c && !strcmp(json_str(c, "status") ?: "", "True");
}

/* Set (or update on a status change) a condition; true when it changed. */
static bool cond_set(json_t *st, const char *type, const char *status, const char *reason, const char *msg,
		     const char *now)
{
	json_t *c = json_condition(st, type);
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
	json_t *job_cur;         /* the Job as last written (its resourceVersion) */
	json_t *st;              /* the status being built */
	json_t *active;          /* active pods */
	json_t *unc_succ, *unc_fail;  /* status.uncountedTerminatedPods uids (in st) */
	json_t *unfinalize;      /* finished pods still carrying the finalizer */
	const json_t *rm_uids;   /* finalizer removals in flight when the sync began */
	int64_t counted_succ, counted_fail;  /* status.succeeded / failed */
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
	json_object_set_new(meta, "finalizers", json_pack("[s]", TRACKING_FINALIZER));
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
		/* a pod the controller removes is not a failure to count */
		int r = job_pod_tracked(pod) ? remove_tracking(s->c, pod, err) : 0;
		if (r < 0) {
			exp_lower(s->c->exp, s->key, 0, n - i);
			return r;
		}
		r = kube_delete(s->c->m->kc, path, err);
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

/* "0-2,4" into set[0..n) (entries beyond n ignored). */
static void parse_indexes(const char *txt, bool *set, int n)
{
	const char *p = txt ?: "";
	while (*p) {
		char *e;
		long a = strtol(p, &e, 10), b = a;
		if (e == p)
			return;
		if (*e == '-') {
			p = e + 1;
			b = strtol(p, &e, 10);
			if (e == p)
				return;
		}
		for (long i = a; i <= b && i < n; i++)
			if (i >= 0)
				set[i] = true;
		p = *e == ',' ? e + 1 : e;
		if (*e && *e != ',')
			return;
	}
}

/* Count the pods: active, ready; finished pods carrying the finalizer go to
 * the uncounted lists (and s->unfinalize); Indexed: distinct indexes. */
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
		const char *ph = pod_phase(pod), *puid = obj_meta(pod, "uid") ?: "";
		bool tracked = job_pod_tracked(pod);
		if (tracked && json_object_get(s->rm_uids, puid))
			tracked = false;  /* its finalizer is going: counted or in flight */
		bool deleting = json_path(pod, "metadata.deletionTimestamp") != NULL;
		if (pod_is_active(pod)) {
			json_array_append(s->active, pod);
			s->ready += pod_is_ready(pod);
			if (onfailure)
				s->restarts += pod_restarts(pod);
			continue;
		}
		bool succeeded = !strcmp(ph, "Succeeded");
		bool failed = !strcmp(ph, "Failed") || (deleting && tracked && !succeeded);
		if (succeeded) {
			int ix = pod_index(pod);
			if (s->done_idx && ix >= 0 && ix < s->completions)
				s->done_idx[ix] = true;
			if (pod_finish_time(pod) > last_success)
				last_success = pod_finish_time(pod);
		}
		PfpAction a = PFP_COUNT;
		if (failed) {
			_cleanup_free_ char *msg = NULL;
			a = pfp_action(s->job, pod, &msg);
			if (a == PFP_FAIL_JOB && !s->fail_msg)
				s->fail_msg = TAKE_PTR(msg);
			if (a != PFP_IGNORE && pod_finish_time(pod) > s->last_fail)
				s->last_fail = pod_finish_time(pod);
		}
		if (!tracked || (!succeeded && !failed))
			continue;  /* counted already (or a deleted pod never tracked) */
		json_array_append(s->unfinalize, pod);
		if (str_in(s->unc_succ, puid) || str_in(s->unc_fail, puid))
			continue;
		if (succeeded)
			json_array_append_new(s->unc_succ, json_string(puid));
		else if (a != PFP_IGNORE)
			json_array_append_new(s->unc_fail, json_string(puid));
	}
	/* consecutive failures: those after the last success */
	json_array_foreach(pods, i, pod)
		if (!strcmp(pod_phase(pod), "Failed") && pod_finish_time(pod) >= last_success) {
			const json_t *ref = obj_controller_ref(pod);
			if (ref && !strcmp(json_str(ref, "uid") ?: "", uid))
				s->consecutive_fail++;
		}
}

/* An uncounted uid whose pod no longer carries the finalizer (or is gone)
 * has been dealt with: it moves into the counter. */
static void settle_uncounted(JobState *s, json_t *list, int64_t *counter)
{
	for (size_t i = json_array_size(list); i-- > 0;) {
		const char *u = json_string_value(json_array_get(list, i)) ?: "";
		bool pending = false;
		size_t j;
		json_t *pod;
		json_array_foreach(s->unfinalize, j, pod)
			pending |= !strcmp(obj_meta(pod, "uid") ?: "", u);
		if (!pending) {
			json_array_remove(list, i);
			(*counter)++;
		}
	}
}

/* Totals the decisions use: counted plus in flight. */
static void totals(JobState *s)
{
	s->failed = (int)(s->counted_fail + (int64_t)json_array_size(s->unc_fail));
	if (s->done_idx) {
		s->succeeded = 0;
		for (int ix = 0; ix < s->completions; ix++)
			s->succeeded += s->done_idx[ix];
	} else
		s->succeeded = (int)(s->counted_succ + (int64_t)json_array_size(s->unc_succ));
}

/* The counters, uncounted lists and completedIndexes into s->st. */
static void fill_counts(JobState *s)
{
	int64_t succ = s->done_idx ? s->succeeded : s->counted_succ;
	json_object_set_new(s->st, "active", json_integer((json_int_t)json_array_size(s->active)));
	json_object_set_new(s->st, "ready", json_integer(s->ready));
	json_object_set_new(s->st, "succeeded", json_integer(succ));
	json_object_set_new(s->st, "failed", json_integer(s->counted_fail));
	json_t *unc = json_object();
	if (json_array_size(s->unc_succ))
		json_object_set(unc, "succeeded", s->unc_succ);
	if (json_array_size(s->unc_fail))
		json_object_set(unc, "failed", s->unc_fail);
	json_object_set_new(s->st, "uncountedTerminatedPods", unc);
	if (s->done_idx) {
		_cleanup_free_ char *ci = job_format_indexes(s->done_idx, s->completions);
		if (*ci)
			json_object_set_new(s->st, "completedIndexes", json_string(ci));
		else
			json_object_del(s->st, "completedIndexes");
	}
	static const char *const omitempty[] = { "active", "succeeded", "failed" };
	for (size_t i = 0; i < ARRAY_SIZE(omitempty); i++)
		if (!json_int(s->st, omitempty[i], 0))
			json_object_del(s->st, omitempty[i]);  /* as Kubernetes writes it */
}

static int write_status(Ctl *c, const char *key, json_t **job, json_t *st, Error **err);

/* Kubernetes' flushUncountedAndRemoveFinalizers: the finished pods' uids go
 * into status.uncountedTerminatedPods (stored before any finalizer goes, so
 * a crash in between loses nothing), then the finalizers go, then the uids
 * move into the counters. */
static int flush_uncounted(JobState *s, Error **err)
{
	settle_uncounted(s, s->unc_succ, &s->counted_succ);
	settle_uncounted(s, s->unc_fail, &s->counted_fail);
	if (!json_array_size(s->unfinalize))
		return 0;
	totals(s);
	fill_counts(s);
	int r = write_status(s->c, s->key, &s->job_cur, s->st, err);
	if (r < 0)
		return r;
	int rc = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(s->unfinalize, i, pod) {
		_cleanup_err_ Error *e = NULL;
		const char *puid = obj_meta(pod, "uid") ?: "";
		rm_expect(s->c, s->key, puid, true);
		if ((r = remove_tracking(s->c, pod, &e)) < 0) {
			rm_expect(s->c, s->key, puid, false);
			if (!rc) {
				rc = r;
				if (err)
					*err = TAKE_PTR(e);
			}
		}
	}
	if (rc < 0)
		return rc;
	json_array_clear(s->unfinalize);
	settle_uncounted(s, s->unc_succ, &s->counted_succ);
	settle_uncounted(s, s->unc_fail, &s->counted_fail);
	return 0;
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
	json_t *cd = json_condition(st, "Complete");
	if (!cd || strcmp(json_str(cd, "status") ?: "", "True"))
		cd = json_condition(st, "Failed");
	if (!fin && cd)
		fin = obj_time(cd, "lastTransitionTime");
	int64_t left = fin + json_integer_value(ttl) - now;
	if (left > 0) {
		wq_add_after(c->q, key, left * 1000);
		return 0;
	}
	return delete_job(c, job, err);
}

/* PUT st as *job's status; *job becomes what the server returned (so a
 * second write in the same sync carries the new resourceVersion). */
static int write_status(Ctl *c, const char *key, json_t **job, json_t *st, Error **err)
{
	if (json_equal(json_object_get(*job, "status"), st))
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(*job);
	json_object_set(copy, "status", st);
	_cleanup_free_ char *path = xasprintf("/apis/batch/v1/namespaces/%s/jobs/%s/status", obj_meta(*job, "namespace"),
					      obj_meta(*job, "name"));
	json_t *ret = NULL;
	int r = kube_put(c->m->kc, path, copy, &ret, err);
	if (r == 0 && json_is_object(ret)) {
		rv_written(c, key, ret);
		json_decref(*job);
		*job = ret;
	} else
		json_decref(ret);
	return r == -ENOENT ? 0 : r;
}

/* Does pod carry the finalizer without a live Job that tracks it (no
 * controller, a Job gone, replaced under the same name, or being deleted)? */
static bool orphan_tracked(Ctl *c, const json_t *pod)
{
	if (!job_pod_tracked(pod))
		return false;
	const json_t *ref = obj_controller_ref(pod);
	if (!ref)
		return true;
	if (strcmp(json_str(ref, "kind") ?: "", "Job"))
		return false;
	_cleanup_json_ json_t *job = informer_get(c->inf, obj_meta(pod, "namespace") ?: "", json_str(ref, "name") ?: "");
	return !job || strcmp(obj_meta(job, "uid") ?: "", json_str(ref, "uid") ?: "") ||
	       json_path(job, "metadata.deletionTimestamp");
}

/* Key "pod:<ns>/<name>": drop the finalizer of a pod no Job tracks. */
static int orphan_pod_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key + strlen(ORPHAN_KEY_PREFIX), ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *pod = informer_get(c->m->pods, ns, name);
	if (!pod || !orphan_tracked(c, pod))
		return 0;
	return remove_tracking(c, pod, err);
}

/* The Job ns/name is gone or being deleted: its pods (by controller
 * reference name; uid when it still exists) lose the finalizer. */
static int release_job_pods(Ctl *c, const char *ns, const char *name, Error **err)
{
	_cleanup_json_ json_t *pods = informer_list(c->m->pods, ns);
	int rc = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		const json_t *ref = obj_controller_ref(pod);
		if (!ref || strcmp(json_str(ref, "kind") ?: "", "Job") || strcmp(json_str(ref, "name") ?: "", name) ||
		    !orphan_tracked(c, pod))
			continue;
		_cleanup_err_ Error *e = NULL;
		int r = remove_tracking(c, pod, &e);
		if (r < 0 && !rc) {
			rc = r;
			if (err)
				*err = TAKE_PTR(e);
		}
	}
	return rc;
}

static int job_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256], now_s[32];
	if (!strncmp(key, ORPHAN_KEY_PREFIX, strlen(ORPHAN_KEY_PREFIX)))
		return orphan_pod_sync(c, key, err);
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *job = informer_get(c->inf, ns, name);
	if (!job) {
		exp_delete(c->exp, key);
		rm_forget_job(c, key);
		return release_job_pods(c, ns, name, err);
	}
	if (json_path(job, "metadata.deletionTimestamp"))
		return release_job_pods(c, ns, name, err);
	if (job_cache_stale(c, key, job)) {
		log_debug("job '%s': cache older than the status written, waiting for it", key);
		return 0;
	}
	/* As Kubernetes: expectations and removals in flight are read before
	 * the pods are listed.  A creation observed after the list missed its
	 * pod (the pods watch behind, the ADD delivered while this sync writes
	 * status) would otherwise satisfy the expectation for a list without
	 * the pod: one pod made twice, and the one too many deleted later. */
	bool satisfied = exp_satisfied(c->exp, key);
	_cleanup_json_ json_t *rm_uids = rm_snapshot(c, key);
	int64_t now = mgr_now_s(c->m);
	time_rfc3339(now_s, sizeof(now_s), now);
	const json_t *old = json_object_get(job, "status");

	json_t *comp = json_path(job, "spec.completions");
	bool indexed = !strcmp(json_str(json_object_get(job, "spec"), "completionMode") ?: "", "Indexed");
	JobState s = { .c = c, .key = key, .ns = ns, .job = job, .active = json_array(), .unfinalize = json_array(),
		       .rm_uids = rm_uids,
		       .job_cur = json_incref(job),
		       .completions = json_is_integer(comp) ? (int)json_integer_value(comp) : -1 };
	s.st = json_is_object(old) ? json_deep_copy(old) : json_object();
	json_t *unc = json_obj_ensure(s.st, "uncountedTerminatedPods");
	s.unc_succ = json_object_get(unc, "succeeded");
	s.unc_fail = json_object_get(unc, "failed");
	s.unc_succ = json_is_array(s.unc_succ) ? json_incref(s.unc_succ) : json_array();
	s.unc_fail = json_is_array(s.unc_fail) ? json_incref(s.unc_fail) : json_array();
	s.counted_succ = json_int(old, "succeeded", 0);
	s.counted_fail = json_int(old, "failed", 0);
	if (indexed && s.completions >= 0) {
		s.done_idx = xcalloc((size_t)s.completions + 1, sizeof(bool));
		parse_indexes(json_str(old, "completedIndexes"), s.done_idx, s.completions);
	}
	_cleanup_json_ json_t *pods = informer_list(c->m->pods, ns);
	count_pods(&s, pods);
	_cleanup_err_ Error *serr = NULL;  /* before any goto out */
	int r = flush_uncounted(&s, err);
	totals(&s);
	bool finished = cond_true(old, "Complete") || cond_true(old, "Failed");
	if (r == 0 && finished) {
		json_array_clear(s.active);
		s.ready = 0;
		fill_counts(&s);
		r = write_status(c, key, &s.job_cur, s.st, err);
		if (r == 0)
			r = finished_sync(c, key, job, now, err);
		goto out;
	}
	if (r < 0)
		goto out;
	bool suspended = json_is_true(json_path(job, "spec.suspend"));
	if (!suspended && !json_str(s.st, "startTime"))
		json_object_set_new(s.st, "startTime", json_string(now_s));

	const char *msg = NULL, *reason = suspended ? NULL : failure(&s, now, &msg);
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

	fill_counts(&s);
	int rs = write_status(c, key, &s.job_cur, s.st, &serr);
	if (r == 0 && rs < 0) {
		*err = TAKE_PTR(serr);
		r = rs;
	}
out:
	if (s.requeue)
		wq_add_after(c->q, key, s.requeue * 1000);
	json_decref(s.st);
	json_decref(s.active);
	json_decref(s.unfinalize);
	json_decref(s.unc_succ);
	json_decref(s.unc_fail);
	json_decref(s.job_cur);
	free(s.done_idx);
	free(s.fail_msg);
	return r < 0 ? r : 0;
}

/* ---- event handlers ---- */

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	Ctl *c = ud;
	const json_t *ref = obj_controller_ref(pod);
	if (ref && !strcmp(json_str(ref, "kind") ?: "", "Job") && (ev == INF_DELETE || !job_pod_tracked(pod))) {
		_cleanup_free_ char *jkey = xasprintf("%s/%s", obj_meta(pod, "namespace") ?: "", json_str(ref, "name") ?: "");
		rm_expect(c, jkey, obj_meta(pod, "uid") ?: "", false);  /* the removal is observed */
	}
	ctl_pod_event(c, "Job", ev, old, pod);
	if (ev != INF_DELETE && orphan_tracked(c, pod)) {
		_cleanup_free_ char *key = xasprintf(ORPHAN_KEY_PREFIX "%s/%s", obj_meta(pod, "namespace") ?: "",
						     obj_meta(pod, "name") ?: "");
		wq_add(c->q, key);
	}
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
