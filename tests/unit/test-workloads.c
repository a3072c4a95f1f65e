/* test-workloads.c - the DaemonSet / StatefulSet controllers' pure logic:
 * ControllerRevision data and hash (FNV-1 32 reference vectors, Go's JSON
 * escaping), revision ordering, node eligibility (nodeSelector, required
 * node affinity, taints against tolerations and the DaemonSet defaults),
 * the node a daemon pod targets, rolling-update budgets, StatefulSet
 * ordinals, their order and the next pod a rolling update replaces. */
#include "tap.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/shared/json.h"
#include <string.h>

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		tap_diag("bad test JSON: %s", e.text);
	return j;
}

static void test_hash(void)
{
	char h[16];
	hist_hash("a", -1, h, sizeof(h));
	/* FNV-1 32 of "a" is 0x050c5d7e = 84696446, SafeEncodeString'd digit by digit */
	is_str(h, "d8bfb88b", "FNV-1 (not 1a) reference vector, SafeEncodeString alphabet");
	const char *empty = "{\"spec\":{\"template\":{\"$patch\":\"replace\"}}}";
	hist_hash(empty, -1, h, sizeof(h));
	is_str(h, "5c7586484", "hash of a minimal patch");
	hist_hash(empty, 3, h, sizeof(h));
	is_str(h, "589f85db5f", "the collision count is hashed as decimal text");
	char h0[16];
	hist_hash(empty, 0, h0, sizeof(h0));
	ok(strcmp(h0, "5c7586484") != 0, "collisionCount 0 differs from no collisionCount");
	for (const char *p = h; *p; p++)
		ok(strchr("bcdfghjklmnpqrstvwxz2456789", *p) != NULL, "hash char '%c' is in the safe alphabet", *p);
}

static void test_patch(void)
{
	json_t *ds = J("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"selector\":{},\"template\":{\"metadata\":{\"labels\":"
		       "{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a<b&c>\"}]}}}}");
	json_t *patch = hist_patch(ds);
	char *text = hist_patch_text(patch);
	is_str(text, "{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{\"creationTimestamp\":null,\"labels\":"
		     "{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"image\":\"a\\u003cb\\u0026c\\u003e\",\"name\":\"c\"}]}}}}",
	       "patch data: only spec.template, $patch replace, sorted keys, null creationTimestamp, Go escapes");
	ok(!json_path(patch, "spec.selector"), "nothing but the template is stored");
	ok(json_path(ds, "spec.template.$patch") == NULL, "the owner is not modified");
	json_t *cr = json_pack("{s:O}", "data", patch);
	json_t *tmpl = hist_template(cr);
	ok(!json_object_get(tmpl, "$patch"), "a revision's template drops $patch");
	is_str(json_str(json_path(tmpl, "metadata.labels"), "app"), "x", "and keeps the template");
	json_decref(tmpl);
	json_decref(cr);
	free(text);
	/* the same template with creationTimestamp already null hashes the same */
	json_object_set_new(json_path(ds, "spec.template.metadata"), "creationTimestamp", json_null());
	json_t *p2 = hist_patch(ds);
	ok(json_equal(p2, patch), "an explicit null creationTimestamp gives the same data");
	json_decref(p2);
	json_decref(patch);
	json_decref(ds);

	json_t *revs = J("[{\"metadata\":{\"name\":\"c\"},\"revision\":3},{\"metadata\":{\"name\":\"a\"},\"revision\":1},"
			 "{\"metadata\":{\"name\":\"b\"},\"revision\":2}]");
	hist_sort(revs);
	is_str(obj_meta(json_array_get(revs, 0), "name"), "a", "revisions sort lowest first");
	is_str(obj_meta(json_array_get(revs, 2), "name"), "c", "highest last");
	is_int(hist_max_revision(revs), 3, "max revision");
	json_decref(revs);
}

static void run(const char *node, const json_t *spec, bool *r, bool *c)
{
	json_t *n = J(node);
	ds_node_should_run(n, spec, r, c);
	json_decref(n);
}

static void test_eligibility(void)
{
	bool r, c;
	json_t *ds = J("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
	json_t *tmpl = ds_pod_template(ds);
	json_t *spec = json_object_get(tmpl, "spec");
	is_int(json_array_size(json_object_get(spec, "tolerations")), 6, "six standard daemon tolerations");
	run("{\"metadata\":{\"name\":\"n1\"}}", spec, &r, &c);
	ok(r && c, "a plain node runs the daemon pod");
	run("{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":"
	    "\"NoExecute\"},{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"},{\"key\":"
	    "\"node.kubernetes.io/memory-pressure\",\"effect\":\"NoSchedule\"}]}}",
	    spec, &r, &c);
	ok(r && c, "not-ready, unschedulable and memory-pressure are tolerated by default");
	const char *cp = "{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\","
			 "\"effect\":\"NoSchedule\"}]}}";
	run(cp, spec, &r, &c);
	ok(!r && c, "an untolerated NoSchedule taint: no new pod, an existing one stays");
	run("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":"
	    "\"NoExecute\"}]}}",
	    spec, &r, &c);
	ok(!r && !c, "an untolerated NoExecute taint evicts");
	run("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"x\",\"effect\":\"PreferNoSchedule\"}]}}", spec,
	    &r, &c);
	ok(r && c, "PreferNoSchedule does not matter");
	run("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/network-unavailable\","
	    "\"effect\":\"NoSchedule\"}]}}",
	    spec, &r, &c);
	ok(!r, "network-unavailable is not tolerated without hostNetwork");
	json_decref(tmpl);

	json_object_set_new(json_path(ds, "spec.template.spec"), "hostNetwork", json_true());
	json_object_set_new(json_path(ds, "spec.template.spec"), "tolerations",
			    J("[{\"key\":\"node-role.kubernetes.io/control-plane\",\"operator\":\"Exists\",\"effect\":"
			      "\"NoSchedule\"},{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":"
			      "\"NoExecute\"}]"));
	tmpl = ds_pod_template(ds);
	spec = json_object_get(tmpl, "spec");
	is_int(json_array_size(json_object_get(spec, "tolerations")), 8,
	       "own tolerations kept, a present default not duplicated, network-unavailable added for hostNetwork");
	ok(!json_path(ds, "spec.template.spec.tolerations") ||
		   json_array_size(json_path(ds, "spec.template.spec.tolerations")) == 2,
	   "the DaemonSet itself is not modified");
	run(cp, spec, &r, &c);
	ok(r && c, "the control-plane toleration lets the pod onto the tainted node");
	run("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\","
	    "\"effect\":\"NoExecute\"}]}}",
	    spec, &r, &c);
	ok(!r && !c, "a toleration for NoSchedule does not tolerate NoExecute of the same key");
	json_t *eq = J("{\"tolerations\":[{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\"}]}");
	run("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]}}",
	    eq, &r, &c);
	ok(r, "Equal with the same value, any effect");
	run("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"taints\":[{\"key\":\"k\",\"value\":\"w\",\"effect\":\"NoSchedule\"}]}}",
	    eq, &r, &c);
	ok(!r, "Equal with another value does not tolerate");
	json_decref(eq);
	json_decref(tmpl);
	json_decref(ds);

	json_t *sel = J("{\"nodeSelector\":{\"disk\":\"ssd\"}}");
	run("{\"metadata\":{\"name\":\"a\",\"labels\":{\"disk\":\"ssd\"}}}", sel, &r, &c);
	ok(r && c, "nodeSelector matches");
	run("{\"metadata\":{\"name\":\"a\",\"labels\":{\"disk\":\"hdd\"}}}", sel, &r, &c);
	ok(!r && !c, "nodeSelector mismatch: no pod and an existing one goes");
	json_decref(sel);

	json_t *aff = J("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
			"\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":"
			"[\"a\",\"b\"]},{\"key\":\"cpus\",\"operator\":\"Gt\",\"values\":[\"4\"]}]},{\"matchFields\":[{"
			"\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"special\"]}]}]}}}}");
	run("{\"metadata\":{\"name\":\"x\",\"labels\":{\"zone\":\"b\",\"cpus\":\"8\"}}}", aff, &r, &c);
	ok(r, "every expression of a term matches (In, Gt)");
	run("{\"metadata\":{\"name\":\"x\",\"labels\":{\"zone\":\"b\",\"cpus\":\"2\"}}}", aff, &r, &c);
	ok(!r, "Gt fails below the value");
	run("{\"metadata\":{\"name\":\"x\",\"labels\":{\"zone\":\"c\",\"cpus\":\"8\"}}}", aff, &r, &c);
	ok(!r, "In fails for another value");
	run("{\"metadata\":{\"name\":\"special\"}}", aff, &r, &c);
	ok(r, "the second term: matchFields metadata.name");
	json_decref(aff);
	json_t *notin = J("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
			  "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"role\",\"operator\":\"NotIn\",\"values\":"
			  "[\"edge\"]},{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}]}}}}");
	run("{\"metadata\":{\"name\":\"x\"}}", notin, &r, &c);
	ok(r, "NotIn and DoesNotExist match a node without the labels");
	run("{\"metadata\":{\"name\":\"x\",\"labels\":{\"gpu\":\"1\"}}}", notin, &r, &c);
	ok(!r, "DoesNotExist fails when the label is there");
	json_decref(notin);
	json_t *empty_terms = J("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
				"\"nodeSelectorTerms\":[{}]}}}}");
	run("{\"metadata\":{\"name\":\"x\"}}", empty_terms, &r, &c);
	ok(!r, "an empty term matches no node");
	json_decref(empty_terms);
}

static void test_daemon_pod_node(void)
{
	json_t *pod = J("{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
			"\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":"
			"[\"node-2\"]}]}]}}}}}");
	is_str(ds_pod_node(pod), "node-2", "an unbound daemon pod targets its matchFields node");
	json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string("node-3"));
	is_str(ds_pod_node(pod), "node-3", "a bound pod: spec.nodeName");
	json_decref(pod);
	pod = J("{\"spec\":{}}");
	ok(ds_pod_node(pod) == NULL, "no target");
	json_decref(pod);
}

static void test_budgets(void)
{
	json_t *ds = J("{\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\"}}}");
	is_int(ds_max_unavailable(ds, 3), 1, "maxUnavailable defaults to 1: one node at a time");
	is_int(ds_max_surge(ds, 3), 0, "maxSurge defaults to 0");
	json_decref(ds);
	ds = J("{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"maxUnavailable\":\"50%\"}}}}");
	is_int(ds_max_unavailable(ds, 3), 2, "a percentage rounds up (50%% of 3 = 2)");
	is_int(ds_max_unavailable(ds, 10), 5, "50%% of 10");
	json_decref(ds);
	ds = J("{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":{\"maxUnavailable\":0,\"maxSurge\":\"34%\"}}}}");
	is_int(ds_max_unavailable(ds, 3), 0, "surge-only update: none unavailable");
	is_int(ds_max_surge(ds, 3), 2, "maxSurge percentage rounds up");
	json_decref(ds);
}

static void test_ordinals(void)
{
	is_int(sts_ordinal("web", "web-0"), 0, "web-0");
	is_int(sts_ordinal("web", "web-12"), 12, "web-12");
	is_int(sts_ordinal("web", "web-x"), -1, "not a number");
	is_int(sts_ordinal("web", "web-"), -1, "no ordinal");
	is_int(sts_ordinal("web", "web-01"), -1, "leading zero is another name");
	is_int(sts_ordinal("web", "web2-1"), -1, "another set's prefix");
	is_int(sts_ordinal("web", "web-1-2"), -1, "a longer name");
	is_int(sts_ordinal("my-web", "my-web-3"), 3, "a set name with dashes");

	json_t *pods = J("[{\"metadata\":{\"name\":\"web-1\"}},{\"metadata\":{\"name\":\"web-10\"}},{\"metadata\":"
			 "{\"name\":\"web-2\"}},{\"metadata\":{\"name\":\"web-0\"}}]");
	sts_sort_ordinal("web", pods, true);
	const char *want[] = { "web-10", "web-2", "web-1", "web-0" };
	for (size_t i = 0; i < 4; i++)
		is_str(obj_meta(json_array_get(pods, i), "name"), want[i], "scale-down order %zu: numeric, highest first", i);
	sts_sort_ordinal("web", pods, false);
	is_str(obj_meta(json_array_get(pods, 0), "name"), "web-0", "creation order starts at 0");
	is_str(obj_meta(json_array_get(pods, 3), "name"), "web-10", "and ends at the highest");
	json_decref(pods);
}

static json_t *sts_pod(int ord, const char *rev, bool ready)
{
	char name[32];
	snprintf(name, sizeof(name), "web-%d", ord);
	return json_pack("{s:{s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s}]}}", "metadata", "name", name, "labels",
			 "controller-revision-hash", rev, "status", "phase", ready ? "Running" : "Pending", "conditions",
			 "type", "Ready", "status", ready ? "True" : "False");
}

static void test_update_order(void)
{
	json_t *pods = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(pods, sts_pod(i, "web-old", true));
	is_int(sts_next_update("web", pods, 3, 0, "web-new"), 2, "the highest ordinal is updated first");
	is_int(sts_next_update("web", pods, 3, 2, "web-new"), 2, "partition 2 still updates web-2");
	is_int(sts_next_update("web", pods, 3, 3, "web-new"), -1, "partition = replicas: nothing to update");
	json_array_set_new(pods, 2, sts_pod(2, "web-new", false));
	is_int(sts_next_update("web", pods, 3, 0, "web-new"), -2, "wait while the updated pod is not ready");
	json_array_set_new(pods, 2, sts_pod(2, "web-new", true));
	is_int(sts_next_update("web", pods, 3, 0, "web-new"), 1, "then the next lower ordinal");
	is_int(sts_next_update("web", pods, 3, 2, "web-new"), -1, "the partition protects ordinals below it");
	json_object_set_new(json_object_get(json_array_get(pods, 1), "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:00:00Z"));
	is_int(sts_next_update("web", pods, 3, 0, "web-new"), -2, "a terminating old pod is waited for");
	json_array_remove(pods, 1);
	is_int(sts_next_update("web", pods, 3, 0, "web-new"), -2, "a missing pod is waited for");
	json_decref(pods);
}

int main(void)
{
	test_hash();
	test_patch();
	test_eligibility();
	test_daemon_pod_node();
	test_budgets();
	test_ordinals();
	test_update_order();
	return tap_done();
}
