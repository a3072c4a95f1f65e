/* test-controller.c - the controller framework and the controllers' pure
 * decision logic: work queue de-dup/delay/back-off with a fake clock,
 * expectations, label selectors, informer caches fed by injected events,
 * victim order, pod-template-hash, rolling-update arithmetic, proportional
 * scaling (the cases of Kubernetes' own TestScale). */
#include "tap.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/shared/json.h"
#include <string.h>

static int64_t fake_ms;
static int64_t fake_now(void) { return fake_ms; }

static void test_workqueue(void)
{
	WorkQueue *q = wq_new(fake_now);
	char *k = NULL;
	wq_add(q, "ns/a");
	wq_add(q, "ns/a");
	wq_add(q, "ns/b");
	is_int(wq_len(q), 2, "a key added twice is queued once");
	is_int(wq_get(q, 0, &k), 1, "get returns a key");
	is_str(k, "ns/a", "FIFO order");
	wq_add(q, "ns/a");
	is_int(wq_len(q), 1, "re-adding a key being processed does not queue it yet");
	wq_done(q, "ns/a");
	is_int(wq_len(q), 2, "done re-queues a key added while processing");
	free(k);
	while (wq_len(q)) {
		wq_get(q, 0, &k);
		wq_done(q, k);
		free(k);
	}
	fake_ms = 1000;
	wq_add_after(q, "ns/later", 500);
	is_int(wq_get(q, 0, &k), 0, "a delayed key is not ready before its time");
	fake_ms = 1500;
	is_int(wq_get(q, 0, &k), 1, "and is ready once due");
	is_str(k, "ns/later", "the delayed key");
	wq_done(q, k);
	free(k);
	wq_add_rate_limited(q, "ns/x");
	wq_add_rate_limited(q, "ns/x");
	is_int(wq_failures(q, "ns/x"), 2, "failures are counted per key");
	wq_forget(q, "ns/x");
	is_int(wq_failures(q, "ns/x"), 0, "forget resets back-off");
	wq_shutdown(q);
	is_int(wq_get(q, -1, &k), -1, "get after shutdown returns -1");
	wq_free(q);
}

static void test_expectations(void)
{
	fake_ms = 0;
	Expectations *e = exp_new(fake_now);
	ok(exp_satisfied(e, "k"), "no expectations: satisfied");
	exp_expect(e, "k", 2, 0);
	ok(!exp_satisfied(e, "k"), "two creations pending");
	exp_creation_observed(e, "k");
	ok(!exp_satisfied(e, "k"), "one still pending");
	exp_creation_observed(e, "k");
	ok(exp_satisfied(e, "k"), "all observed");
	exp_expect(e, "k", 0, 3);
	exp_lower(e, "k", 0, 3);
	ok(exp_satisfied(e, "k"), "lowered after failed deletes");
	exp_expect(e, "k", 1, 0);
	fake_ms = 6 * 60 * 1000;
	ok(exp_satisfied(e, "k"), "expectations expire after 5 minutes");
	exp_free(e);
}

static void test_selectors(void)
{
	_cleanup_json_ json_t *labels = json_pack("{s:s, s:s}", "app", "web", "tier", "front");
	_cleanup_json_ json_t *s1 = json_pack("{s:{s:s}}", "matchLabels", "app", "web");
	_cleanup_json_ json_t *s2 = json_pack("{s:[{s:s, s:s, s:[s,s]}]}", "matchExpressions", "key", "tier", "operator", "In",
					      "values", "front", "back");
	_cleanup_json_ json_t *s3 = json_pack("{s:[{s:s, s:s}]}", "matchExpressions", "key", "tier", "operator", "DoesNotExist");
	_cleanup_json_ json_t *s4 = json_pack("{s:[{s:s, s:s, s:[s]}]}", "matchExpressions", "key", "env", "operator", "NotIn",
					      "values", "prod");
	_cleanup_json_ json_t *empty = json_object(), *map = json_pack("{s:s}", "app", "db");
	ok(sel_matches(s1, labels), "matchLabels");
	ok(sel_matches(s2, labels), "In");
	ok(!sel_matches(s3, labels), "DoesNotExist");
	ok(sel_matches(s4, labels), "NotIn with a missing key");
	ok(sel_matches(empty, labels), "{} matches everything");
	ok(!sel_matches(NULL, labels), "a nil selector matches nothing");
	ok(!sel_map_matches(map, labels), "RC map selector mismatch");
	ok(!sel_map_matches(empty, labels), "an empty RC selector matches nothing");
}

static json_t *pod(const char *name, const char *node, const char *phase, bool ready, const char *created, int restarts)
{
	json_t *p = json_pack("{s:{s:s, s:s, s:s}, s:{}, s:{s:s, s:[], s:[{s:i}]}}", "metadata", "name", name, "namespace", "ns",
			      "creationTimestamp", created, "spec", "status", "phase", phase, "conditions",
			      "containerStatuses", "restartCount", restarts);
	if (node)
		json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
	json_array_append_new(json_path(p, "status.conditions"),
			      json_pack("{s:s, s:s, s:s}", "type", "Ready", "status", ready ? "True" : "False",
					"lastTransitionTime", created));
	return p;
}

static void test_victims(void)
{
	_cleanup_json_ json_t *pods = json_array();
	json_array_append_new(pods, pod("ready-old", "n1", "Running", true, "2024-01-01T00:00:00Z", 0));
	json_array_append_new(pods, pod("ready-new", "n1", "Running", true, "2024-01-02T00:00:00Z", 0));
	json_array_append_new(pods, pod("notready", "n1", "Running", false, "2024-01-01T00:00:00Z", 0));
	json_array_append_new(pods, pod("pending", "n1", "Pending", false, "2024-01-01T00:00:00Z", 0));
	json_array_append_new(pods, pod("unassigned", NULL, "Pending", false, "2024-01-01T00:00:00Z", 0));
	json_array_append_new(pods, pod("restarty", "n1", "Running", false, "2024-01-01T00:00:00Z", 5));
	rs_victims_sort(pods);
	const char *want[] = { "unassigned", "pending", "restarty", "notready", "ready-new", "ready-old" };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		is_str(obj_meta(json_array_get(pods, i), "name"), want[i], "victim %zu is %s", i, want[i]);
}

static void test_hash(void)
{
	_cleanup_json_ json_t *t = json_pack("{s:{s:{s:s}}, s:{s:[{s:s, s:s}]}}", "metadata", "labels", "app", "nginx", "spec",
					     "containers", "name", "nginx", "image", "nginx:1.15-alpine");
	_cleanup_json_ json_t *t2 = json_deep_copy(t);
	json_object_set_new(json_object_get(t2, "metadata"), "creationTimestamp", json_null());
	json_object_set_new(json_path(t2, "metadata.labels"), "pod-template-hash", json_string("x"));
	char a[16], b[16], c[16];
	deploy_template_hash(t, 0, a, sizeof(a));
	deploy_template_hash(t2, 0, b, sizeof(b));
	deploy_template_hash(t, 1, c, sizeof(c));
	ok(strlen(a) >= 8 && strlen(a) <= 10, "hash has Kubernetes' length (%s)", a);
	ok(strspn(a, "bcdfghjklmnpqrstvwxz2456789") == strlen(a), "hash uses the safe alphabet");
	is_str(b, a, "hash ignores the hash label and null creationTimestamp (kubectl undo)");
	ok(strcmp(a, c), "collisionCount changes the hash");
}

static void test_rolling(void)
{
	/* 4 replicas, 25%/25%: surge 1, unavailable 1 */
	_cleanup_json_ json_t *pct = json_string("25%");
	is_int(int_or_percent(pct, 4, true, 0), 1, "25%% of 4 rounds up to 1");
	is_int(int_or_percent(pct, 3, false, 0), 0, "25%% of 3 rounds down to 0");
	is_int(int_or_percent(pct, 3, true, 0), 1, "25%% of 3 rounds up to 1");
	is_int(deploy_new_rs_replicas(4, 1, 4, 0), 1, "rollout starts with maxSurge new pods");
	is_int(deploy_new_rs_replicas(4, 1, 5, 1), 1, "no scale up at max total");
	is_int(deploy_new_rs_replicas(4, 1, 3, 3), 4, "scale up capped at replicas");
	is_int(deploy_new_rs_replicas(10, 0, 10, 0), 0, "maxSurge 0 waits for old pods to go");
	is_int(deploy_max_scaled_down(4, 1, 5, 1, 0), 1, "one old pod may go while the new one is unavailable");
	is_int(deploy_max_scaled_down(4, 1, 5, 1, 1), 2, "scale down two once the new pod is available");
}

/* Scale sets sized for old_replicas (+old_surge) to replicas (+surge); the
 * sets are given newest first, sizes[] in and expected want[]. */
static void check_scale(const char *what, int old_replicas, int old_surge, int replicas, int surge, int n,
			const int *sizes, const int *want)
{
	DeployScaleSet sets[8];
	int out[8];
	static const char *const names[] = { "foo-v5", "foo-v4", "foo-v3", "foo-v2", "foo-v1" };
	for (int i = 0; i < n; i++)
		sets[i] = (DeployScaleSet){ names[i], 1000 - i, sizes[i], old_replicas + old_surge };
	deploy_proportional_scale(replicas, surge, old_replicas, sets, (size_t)n, out);
	bool good = true;
	for (int i = 0; i < n; i++)
		good &= out[i] == want[i];
	ok(good, "%s", what);
	if (!good)
		for (int i = 0; i < n; i++)
			tap_diag("  set %d: got %d want %d", i, out[i], want[i]);
}

static void test_proportional(void)
{
	check_scale("5 -> 10: 2/3 become 4/6", 5, 0, 10, 0, 2, (int[]){ 2, 3 }, (int[]){ 4, 6 });
	check_scale("5 -> 3: 2/3 become 1/2", 5, 0, 3, 0, 2, (int[]){ 2, 3 }, (int[]){ 1, 2 });
	check_scale("9 -> 4: 8/1 become 4/0", 9, 0, 4, 0, 2, (int[]){ 8, 1 }, (int[]){ 4, 0 });
	check_scale("13 -> 8: 2/8/3 become 1/5/2", 13, 0, 8, 0, 3, (int[]){ 2, 8, 3 }, (int[]){ 1, 5, 2 });
	check_scale("leftover 3 -> 4 goes to the newest of equal sets", 3, 0, 4, 0, 3, (int[]){ 1, 1, 1 },
		    (int[]){ 2, 1, 1 });
	check_scale("leftover 3 -> 2 comes from the oldest of equal sets", 3, 0, 2, 0, 3, (int[]){ 1, 1, 1 },
		    (int[]){ 1, 1, 0 });
	check_scale("4 -> 5 without a new set: the latest grows", 4, 0, 5, 0, 2, (int[]){ 2, 2 }, (int[]){ 3, 2 });
	check_scale("6 -> 0: every set goes to 0", 6, 0, 0, 0, 3, (int[]){ 3, 2, 1 }, (int[]){ 0, 0, 0 });
	check_scale("10 -> 20 with maxSurge 2: 6/6 become 11/11", 10, 2, 20, 2, 2, (int[]){ 6, 6 }, (int[]){ 11, 11 });
	check_scale("size 10 -> 50 and surge 3 -> 6: 5/8 become 22/34", 10, 3, 50, 6, 2, (int[]){ 5, 8 },
		    (int[]){ 22, 34 });
	check_scale("10 -> 14: 7/3 become 10/4", 10, 0, 14, 0, 2, (int[]){ 7, 3 }, (int[]){ 10, 4 });
	check_scale("10 -> 15, maxSurge 3: new 5 gets 2, old 8 gets 3", 10, 3, 15, 3, 2, (int[]){ 5, 8 },
		    (int[]){ 7, 11 });
	check_scale("no change when the sets already fill replicas + maxSurge", 10, 3, 10, 3, 2, (int[]){ 5, 8 },
		    (int[]){ 5, 8 });
	/* no max-replicas annotation: status.replicas (13) stands in */
	DeployScaleSet sets[2] = { { "b", 2, 5, -1 }, { "a", 1, 8, -1 } };
	int out[2];
	deploy_proportional_scale(15, 3, 13, sets, 2, out);
	is_int(out[0] + out[1], 18, "without annotations the total still reaches replicas + maxSurge");
	is_int(out[1], 11, "and the larger set gets its share from status.replicas");
}

static int events;
static void count_handler(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ud, (void)old, (void)obj;
	events += ev == INF_DELETE ? 100 : ev == INF_UPDATE ? 10 : 1;
}

static void test_informer_cache(void)
{
	Informer *inf = informer_new(NULL, "/api/v1/pods");
	informer_add_handler(inf, count_handler, NULL);
	_cleanup_json_ json_t *p1 = pod("a", "n1", "Running", true, "2024-01-01T00:00:00Z", 0);
	_cleanup_json_ json_t *p2 = pod("b", "n1", "Running", true, "2024-01-01T00:00:00Z", 0);
	informer_inject(inf, "ADDED", p1);
	informer_inject(inf, "ADDED", p2);
	informer_inject(inf, "MODIFIED", p1);
	_cleanup_json_ json_t *list = informer_list(inf, "ns");
	_cleanup_json_ json_t *other = informer_list(inf, "n");
	is_int(json_array_size(list), 2, "two pods cached in ns");
	is_int(json_array_size(other), 0, "namespace prefix does not leak");
	informer_inject(inf, "DELETED", p1);
	_cleanup_json_ json_t *gone = informer_get(inf, "ns", "a");
	_cleanup_json_ json_t *b = informer_get(inf, "ns", "b");
	ok(!gone && b, "delete removes from the cache");
	is_int(events, 112, "handlers saw 2 adds, 1 update, 1 delete");
	informer_free(inf);
}

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		tap_diag("bad JSON in test: %s", e.text);
	return j;
}

static void test_node_lifecycle(void)
{
	json_t *node = J("{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"x\",\"effect\":\"NoSchedule\"}]},"
			 "\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	is_str(node_ready_status(node), "True", "Ready condition read");
	bool changed;
	json_t *t = node_condition_taints(node, "True", 1000, &changed);
	ok(!changed && json_array_size(t) == 1, "a Ready node keeps its taints unchanged");
	json_decref(t);
	t = node_condition_taints(node, "Unknown", 1000, &changed);
	ok(changed && json_array_size(t) == 3, "Unknown adds unreachable NoSchedule + NoExecute");
	is_str(json_string_value(json_object_get(json_array_get(t, 2), "key")), "node.kubernetes.io/unreachable",
	       "unreachable key");
	is_str(json_string_value(json_object_get(json_array_get(t, 2), "effect")), "NoExecute", "NoExecute effect");
	/* the same node with those taints: unchanged; ready again: removed */
	json_object_set(json_object_get(node, "spec"), "taints", t);
	json_t *t2 = node_condition_taints(node, "Unknown", 2000, &changed);
	ok(!changed && json_equal(t, t2), "taints already there keep their timeAdded");
	json_decref(t2);
	t2 = node_condition_taints(node, "False", 2000, &changed);
	ok(changed && json_array_size(t2) == 3 &&
	   !strcmp(json_string_value(json_object_get(json_array_get(t2, 1), "key")), "node.kubernetes.io/not-ready"),
	   "Ready=False swaps unreachable for not-ready");
	json_decref(t2);
	t2 = node_condition_taints(node, "True", 2000, &changed);
	ok(changed && json_array_size(t2) == 1, "Ready=True removes the condition taints");
	json_decref(t2);
	json_decref(t);

	json_t *taints = J("[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\",\"timeAdded\":\"2026-01-01T00:00:00Z\"}]");
	int64_t added = 1767225600;  /* 2026-01-01T00:00:00Z */
	json_t *pod = J("{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]}}");
	is_int(pod_eviction_time(pod, taints), added + 300, "tolerationSeconds 300 delays eviction");
	json_decref(pod);
	pod = J("{\"spec\":{}}");
	is_int(pod_eviction_time(pod, taints), added, "no toleration: evicted at once");
	json_decref(pod);
	pod = J("{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}]}}");
	is_int(pod_eviction_time(pod, taints), -1, "tolerate-everything stays forever");
	json_decref(pod);
	pod = J("{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"},{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\",\"operator\":\"Exists\",\"tolerationSeconds\":5}]}}");
	is_int(pod_eviction_time(pod, taints), added + 5, "a bounded toleration wins over an unbounded one");
	json_decref(pod);
	pod = J("{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoSchedule\",\"operator\":\"Exists\"}]}}");
	is_int(pod_eviction_time(pod, taints), added, "a NoSchedule toleration does not tolerate NoExecute");
	json_decref(pod);
	json_t *tol = J("{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}");
	json_t *taint = J("{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}");
	ok(toleration_matches(tol, taint), "Equal with the same value tolerates");
	json_object_set_new(taint, "value", json_string("w"));
	ok(!toleration_matches(tol, taint), "Equal with another value does not");
	json_decref(tol);
	json_decref(taint);
	json_decref(taints);
	json_decref(node);
}

int main(void)
{
	test_workqueue();
	test_expectations();
	test_selectors();
	test_informer_cache();
	test_victims();
	test_hash();
	test_rolling();
	test_proportional();
	test_node_lifecycle();
	return tap_done();
}
