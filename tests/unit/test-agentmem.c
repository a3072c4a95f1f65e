/* test-agentmem.c - what the agent keeps per pod, kept small: the API pod
 * copy without the fields nobody reads (pod_strip_unread), a steady pod's
 * tree dropped and parsed again from its text (pod_sleep / pod_tree /
 * ctr_spec, the per-tick caches, a metadata update while asleep), the last
 * status as a hash plus phase and condition transition times, read back
 * from status.json (status_report, status_adopt, status_last), and the OCI
 * process for exec as text
 * (state.json round trip, ctrspec_exec_process).  The memory itself is
 * measured by bench/cluster.py mem. */
#include "tap.h"
#include "../../src/agent/agent-internal.h"
#include "../../src/base/cleanup.h"
#include "../../src/base/fs.h"
#include "../../src/shared/json.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *api_pod(void)
{
	return json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:I, s:{s:s}, s:{s:s}, s:[{s:s}]},"
		" s:{s:s, s:s, s:i, s:s, s:s, s:[{s:s, s:s}], s:{s:s}, s:[{s:s, s:s, s:[s], s:s, s:s, s:[{s:s, s:s}]},"
		" {s:s, s:s, s:{s:{s:s}}}], s:[{s:s, s:{}}]}, s:{s:s}}",
		"apiVersion", "v1", "kind", "Pod", "metadata", "name", "web", "namespace", "ns1", "uid", "u-1",
		"resourceVersion", "42", "creationTimestamp", "2026-01-01T00:00:00Z", "generation", (json_int_t)1, "labels",
		"app", "web", "annotations", "kubernetes.io/config.source", "api", "managedFields", "manager", "kubectl",
		"spec", "restartPolicy", "OnFailure", "schedulerName", "default-scheduler", "priority", 0, "preemptionPolicy",
		"PreemptLowerPriority", "serviceAccount", "default", "tolerations", "key", "node.kubernetes.io/not-ready",
		"operator", "Exists", "nodeSelector", "disk", "ssd", "containers", "name", "a", "image", "busybox:latest",
		"command", "sleep", "terminationMessagePath", "/dev/termination-log", "terminationMessagePolicy", "File",
		"volumeMounts", "name", "data", "mountPath", "/data", "name", "b", "image", "nginx", "resources", "limits",
		"cpu", "1", "volumes", "name", "data", "emptyDir", "status", "hostIP", "10.0.0.5");
}

static void test_strip(void)
{
	_cleanup_json_ json_t *pod = api_pod();
	pod_strip_unread(pod);
	const json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	ok(!json_object_get(meta, "managedFields") && !json_object_get(meta, "creationTimestamp") &&
		   !json_object_get(meta, "generation"),
	   "managedFields, creationTimestamp, generation dropped");
	ok(json_str(meta, "uid") && json_str(meta, "resourceVersion") && json_object_get(meta, "labels") &&
		   json_object_get(meta, "annotations"),
	   "uid, resourceVersion (Events), labels and annotations (downward API) kept");
	const char *gone[] = { "schedulerName", "priority", "preemptionPolicy", "serviceAccount", "tolerations",
			       "nodeSelector" };
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
		ok(!json_object_get(spec, gone[i]), "spec.%s dropped", gone[i]);
	is_str(json_str(spec, "restartPolicy"), "OnFailure", "spec.restartPolicy kept");
	is_int((int)json_array_size(json_object_get(spec, "volumes")), 1, "spec.volumes kept");
	const json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
	ok(!json_object_get(c, "terminationMessagePath") && !json_object_get(c, "terminationMessagePolicy"),
	   "the container's termination message settings dropped");
	ok(json_str(c, "image") && json_object_get(c, "command") && json_object_get(c, "volumeMounts"),
	   "the container's image, command and volumeMounts kept");
	is_str(json_str(json_object_get(pod, "status"), "hostIP"), "10.0.0.5", "status.hostIP kept");
}

/* An Agent good enough for pod_new / status_report: paths and callbacks. */
typedef struct Seen {
	int statuses;
	char uid[16];
} Seen;

static void on_status(void *ud, const json_t *pod, const json_t *status)
{
	(void)status;
	Seen *s = ud;
	s->statuses++;
	snprintf(s->uid, sizeof(s->uid), "%s", json_str(json_object_get(pod, "metadata"), "uid") ?: "");
}

static void steady(Pod *p)
{
	p->sandbox_ready = true;
	for (size_t i = 0; i < p->n_app; i++)
		p->app[i].phase = CTR_RUN;
}

static void test_sleep(Agent *a)
{
	_cleanup_json_ json_t *pod = api_pod();
	Pod *p = pod_new(a, pod);
	is_str(p->restart_policy, "OnFailure", "cached restartPolicy");
	is_str(p->source, "api", "cached config.source");
	is_str(p->host_ip, "10.0.0.5", "cached hostIP");
	is_str(p->qos, "Burstable", "cached qosClass");
	is_str(p->app[0].image, "busybox:latest", "cached image of a container");
	ok(!pod_sleep(p), "a pod whose sandbox is not ready keeps its tree");
	ok(p->pod != NULL, "... so its tree is there");
	steady(p);
	p->app[1].stopping = true;
	ok(!pod_sleep(p), "a pod with a container being stopped keeps its tree");
	p->app[1].stopping = false;
	p->killing = true;
	ok(!pod_sleep(p), "a pod being killed keeps its tree");
	p->killing = false;
	ok(pod_sleep(p), "a steady pod drops its tree");
	ok(p->pod == NULL && p->app[0].spec == NULL && p->app[1].spec == NULL, "tree and spec pointers gone");
	ok(!pod_sleep(p), "a sleeping pod has nothing more to drop");
	ok(json_equal((json_t *)pod_tree(p), pod), "pod_tree parses the same pod back");
	is_str(json_str(ctr_spec(p, &p->app[1]), "name"), "b", "ctr_spec points into the new tree");
	is_str(json_str(ctr_spec(p, &p->app[0]), "image"), "busybox:latest", "ctr_spec of the first container");
	ok(pod_sleep(p), "and it sleeps again");

	/* labels and annotations change while it sleeps */
	_cleanup_json_ json_t *upd = json_deep_copy(pod);
	json_t *meta = json_object_get(upd, "metadata");
	json_object_set_new(json_object_get(meta, "labels"), "tier", json_string("front"));
	json_object_set_new(json_object_get(meta, "annotations"), "kubernetes.io/config.source", json_string("file"));
	pod_set_spec(p, upd);
	is_str(p->source, "file", "the cached source follows a metadata update");
	ok(pod_sleep(p) == false, "a static pod stays awake");
	is_str(json_str(json_path(pod_tree(p), "metadata.labels"), "tier"), "front", "the new label is in the tree");
	json_object_set_new(json_object_get(meta, "annotations"), "kubernetes.io/config.source", json_string("api"));
	pod_set_spec(p, upd);
	ok(pod_sleep(p), "an API pod sleeps again after the update");
	is_str(json_str(json_path(pod_tree(p), "metadata.labels"), "tier"), "front",
	       "the update survives sleeping (the text was rewritten)");
	pod_free(p);
}

static void test_status(Agent *a, Seen *seen)
{
	_cleanup_json_ json_t *pod = api_pod();
	Pod *p = pod_new(a, pod);
	ok(fs_mkdir_p(p->dir, 0755, NULL) >= 0, "pod directory");
	a->pods = p;
	steady(p);
	p->app[0].ready = p->app[1].ready = true;
	pod_sleep(p);
	ok(status_report(a, p), "the first status is reported");
	is_int(seen->statuses, 1, "... through the callback once");
	is_str(seen->uid, "u-1", "... with the pod (woken from its text)");
	is_str(p->phase, "Running", "phase remembered");
	pod_sleep(p);
	ok(!status_report(a, p), "an unchanged status is not reported again");
	is_int(seen->statuses, 1, "... no callback");
	ok(p->pod == NULL, "... and a sleeping pod stays asleep through an unchanged tick");
	_cleanup_json_ json_t *last = status_last(p);
	_cleanup_json_ json_t *pub = agent_pod_status(a, "u-1");
	ok(last && json_equal(last, pub), "status_last and agent_pod_status agree");
	is_str(json_str(last, "hostIP"), "10.0.0.5", "hostIP from the cache");
	is_str(json_str(last, "qosClass"), "Burstable", "qosClass from the cache");
	is_str(json_str(json_array_get(json_object_get(last, "containerStatuses"), 0), "image"), "busybox:latest",
	       "a container's image from the cache");

	/* transition times: kept while a condition's status holds */
	_cleanup_json_ json_t *old = json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}", "phase", "Pending",
					      "conditions", "type", "Ready", "status", "True", "lastTransitionTime",
					      "2020-01-01T00:00:00Z", "type", "Initialized", "status", "False",
					      "lastTransitionTime", "2020-01-02T00:00:00Z");
	status_adopt(p, old);
	is_str(p->phase, "Pending", "status_adopt takes the phase");
	ok(p->conds[2].ok && !strcmp(p->conds[2].since, "2020-01-01T00:00:00Z"), "... and Ready's transition");
	ok(status_report(a, p), "a status differing from the adopted one is reported");
	_cleanup_json_ json_t *now = status_last(p);
	size_t i;
	json_t *c;
	int checked = 0;
	json_array_foreach(json_object_get(now, "conditions"), i, c) {
		const char *type = json_str(c, "type"), *since = json_str(c, "lastTransitionTime");
		if (!strcmp(type, "Ready")) {
			is_str(since, "2020-01-01T00:00:00Z", "Ready stayed True: its transition time is kept");
			checked++;
		} else if (!strcmp(type, "Initialized")) {
			ok(strcmp(since, "2020-01-02T00:00:00Z") != 0, "Initialized turned True: a new transition time");
			checked++;
		}
	}
	is_int(checked, 2, "both conditions seen");
	a->pods = NULL;
	pod_free(p);
}

static void test_process(Agent *a)
{
	_cleanup_json_ json_t *pod = api_pod();
	Pod *p = pod_new(a, pod);
	PodCtr *c = &p->app[0];
	ok(fs_mkdir_p(c->dir, 0755, NULL) >= 0, "container directory");
	_cleanup_json_ json_t *proc = json_pack("{s:s, s:[s], s:{s:[s, s]}, s:b}", "cwd", "/work", "env", "A=1",
						"capabilities", "bounding", "CAP_CHOWN", "CAP_KILL", "noNewPrivileges", 0);
	c->process = json_dumps(proc, JSON_COMPACT);
	c->pid = getpid();
	ok(podctr_state_save(p, c) == 0, "state.json written");
	free(c->process);
	c->process = NULL;
	ok(podctr_state_load(p, c) == 0, "state.json read back");
	_cleanup_json_ json_t *back = c->process ? json_loads(c->process, 0, NULL) : NULL;
	ok(back && json_equal(back, proc), "the process text survives state.json");
	char *argv[] = { "ls", "-l", NULL };
	_cleanup_json_ json_t *ex = ctrspec_exec_process(a, p, c, argv);
	is_str(json_str(ex, "cwd"), "/work", "exec: cwd from the kept process");
	is_int((int)json_array_size(json_path(ex, "capabilities.bounding")), 2, "exec: capabilities from it");
	is_str(json_string_value(json_array_get(json_object_get(ex, "args"), 1)), "-l", "exec: the command's args");
	ok(json_is_false(json_object_get(ex, "terminal")) && json_object_get(ex, "user"), "exec: no terminal, a user");
	free(c->process);
	c->process = NULL;
	_cleanup_json_ json_t *bare = ctrspec_exec_process(a, p, c, argv);
	is_str(json_str(bare, "cwd"), "/", "exec without a kept process: cwd /");
	pod_free(p);
}

int main(void)
{
	char tmpl[] = "/tmp/berth-test-agentmem.XXXXXX";
	if (!mkdtemp(tmpl)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	Seen seen = { 0 };
	Agent a = { 0 };
	a.pods_dir = fs_join(tmpl, "pods");
	a.runroot = xstrdup(tmpl);
	a.cfg.on_status = on_status;
	a.cfg.ud = &seen;
	test_strip();
	test_sleep(&a);
	test_status(&a, &seen);
	test_process(&a);
	fs_rm_rf(tmpl, NULL);
	free(a.pods_dir);
	free(a.runroot);
	return tap_done();
}
