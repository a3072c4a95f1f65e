/* test-scheduler.c - the scheduler's pure parts over JSON nodes and pods:
 * quantities, request arithmetic (init containers, sidecars, overhead,
 * limits standing in for requests), every filter, the FitError message text
 * and its sorting, the scores and their normalisation, the random tie-break,
 * the number of nodes to look at, and the scheduling queue (back-off,
 * unschedulable set, moves on cluster changes) with a fake clock. */
#include "tap.h"
#include "../../src/scheduler/sched-internal.h"
#include "../../src/shared/json.h"
#include <stdlib.h>
#include <string.h>

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j) {
		printf("# bad JSON in test: %s: %s\n", e.text, text);
		abort();
	}
	return j;
}

static SchedNode *node(const char *text)
{
	json_t *j = J(text);
	SchedNode *n = sched_node_new(j);
	json_decref(j);
	return n;
}

static SchedPod *pod(const char *text)
{
	json_t *j = J(text);
	SchedPod *p = sched_pod_new(j);
	json_decref(j);
	return p;
}

#define READY "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]"
#define NODE(name, extra, cpu, mem, pods) \
	"{\"metadata\":{\"name\":\"" name "\"" extra "},\"status\":{\"allocatable\":{\"cpu\":\"" cpu \
	"\",\"memory\":\"" mem "\",\"pods\":\"" pods "\"}," READY "}}"

static void test_quantity(void)
{
	int64_t v;
	is_int(sched_quantity_milli("500m", &v), 0, "500m parses");
	is_int(v, 500, "500m is 500 milli");
	sched_quantity_milli("2", &v);
	is_int(v, 2000, "2 cores are 2000m");
	sched_quantity_milli("1.5", &v);
	is_int(v, 1500, "1.5 cores");
	sched_quantity_milli("0.0001", &v);
	is_int(v, 1, "sub-milli values round up");
	sched_quantity_value("1Gi", &v);
	is_int(v, 1073741824LL, "1Gi");
	sched_quantity_value("128Mi", &v);
	is_int(v, 134217728LL, "128Mi");
	sched_quantity_value("1G", &v);
	is_int(v, 1000000000LL, "1G is decimal");
	sched_quantity_value("2e3", &v);
	is_int(v, 2000, "exponent form");
	sched_quantity_value("1.5Ki", &v);
	is_int(v, 1536, "fractional binary suffix");
	sched_quantity_value("100m", &v);
	is_int(v, 1, "value of 100m rounds up to 1");
	ok(sched_quantity_value("12abc", &v) < 0, "garbage suffix is rejected");
	ok(sched_quantity_value("", &v) < 0, "empty is rejected");
	ok(sched_quantity_value("Mi", &v) < 0, "no digits is rejected");
	sched_quantity_value("16Ei", &v);
	ok(v == INT64_MAX, "huge values saturate");
}

static void test_requests(void)
{
	SchedPod *p = pod("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":["
			  "{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}},"
			  "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"250m\"},\"limits\":{\"memory\":\"256Mi\"}}}],"
			  "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"10Mi\"}}}],"
			  "\"overhead\":{\"cpu\":\"100m\",\"memory\":\"1Mi\"}}}");
	is_int(p->req.milli_cpu, 2100, "cpu: max(init 2, sum 750m) + overhead 100m");
	is_int(p->req.memory, 1073741824LL + 268435456LL + 1048576LL, "memory: sum (limit stands for the unset request) + overhead");
	is_int(p->nz_cpu, 2100, "non-zero cpu equals the request when set");
	sched_pod_free(p);

	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}");
	is_int(p->req.milli_cpu, 0, "no requests: zero");
	is_int(p->nz_cpu, 200, "scores count 100m per container without a cpu request");
	is_int(p->nz_mem, 2 * SCHED_DEFAULT_MEMORY, "and 200Mi per container without a memory request");
	sched_pod_free(p);

	/* a sidecar (restartable init container) adds to the sum and to later init containers */
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}],"
		"\"initContainers\":[{\"name\":\"s\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"500m\"}}},"
		"{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}}");
	is_int(p->req.milli_cpu, 2500, "sidecar 500m + later init 2 beats containers 1 + sidecar");
	sched_pod_free(p);

	p = pod("{\"metadata\":{\"name\":\"p\",\"ownerReferences\":[{\"uid\":\"x\"},{\"uid\":\"rs-1\",\"controller\":true}]},"
		"\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"hostPort\":8080},"
		"{\"containerPort\":53,\"protocol\":\"UDP\"}]}]}}");
	is_str(p->owner_uid, "rs-1", "the controller ownerReference is the owner");
	is_int(p->nports, 1, "only ports with a hostPort count");
	is_str(p->ports[0].proto, "TCP", "protocol defaults to TCP");
	sched_pod_free(p);
}

static void test_wants(void)
{
	json_t *a = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"schedulerName\":\"default-scheduler\"}}");
	json_t *b = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"schedulerName\":\"other\"}}");
	json_t *c = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\"}}");
	json_t *d = J("{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":\"2020-01-01T00:00:00Z\"},\"spec\":{}}");
	json_t *e = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n\"},\"status\":{\"phase\":\"Succeeded\"}}");
	ok(sched_pod_wants_scheduling(a), "an unassigned default-scheduler pod is queued");
	ok(!sched_pod_wants_scheduling(b), "another scheduler's pod is not");
	ok(!sched_pod_wants_scheduling(c), "an assigned pod is not");
	ok(!sched_pod_wants_scheduling(d), "a deleted pod is not");
	ok(sched_pod_is_assigned(c), "nodeName set: assigned");
	ok(!sched_pod_is_assigned(e), "a finished pod holds no resources");
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(e);
}

static void test_filters(void)
{
	SchedReasons r;
	SchedNode *n = node(NODE("n1", ",\"labels\":{\"disk\":\"ssd\",\"cores\":\"8\"}", "2", "4Gi", "2"));
	SchedPod *p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1500m\",\"memory\":\"1Gi\"}}}]}}");
	memset(&r, 0, sizeof(r));
	ok(sched_filter(p, n, &r), "a fitting pod passes every filter");
	is_int(r.n, 0, "with no reasons");
	sched_node_add_pod(n, p);
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_resources(p, n, &r), "a second 1500m pod does not fit in 2 cores minus 1500m");
	is_str(r.r[0], "Insufficient cpu", "reason worded as kube-scheduler");
	ok(!r.unresolvable, "resolvable: it fits an empty node");
	sched_node_add_pod(n, p);
	memset(&r, 0, sizeof(r));
	sched_filter_resources(p, n, &r);
	is_str(r.r[0], "Too many pods", "pod count is checked first");
	is_int(r.n, 2, "every shortage is a reason (pods, cpu; memory still fits)");
	sched_node_remove_pod(n, p);
	sched_node_remove_pod(n, p);
	is_int(n->used.milli_cpu, 0, "removing pods gives their requests back");
	sched_pod_free(p);

	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"memory\":\"8Gi\"}}}]}}");
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_resources(p, n, &r) && r.unresolvable, "more than allocatable: preemption cannot help");
	is_str(r.r[0], "Insufficient memory", "memory shortage");
	sched_pod_free(p);

	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"}}}");
	ok(sched_filter_affinity(p, n, NULL), "nodeSelector matching labels passes");
	sched_pod_free(p);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeSelector\":{\"disk\":\"hdd\"}}}");
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_affinity(p, n, &r), "nodeSelector with another value fails");
	is_str(r.r[0], "node(s) didn't match Pod's node affinity/selector", "affinity reason");
	sched_pod_free(p);

	struct { const char *expr; bool want; const char *what; } cases[] = {
		{ "{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\",\"ssd\"]}", true, "In" },
		{ "{\"key\":\"disk\",\"operator\":\"NotIn\",\"values\":[\"ssd\"]}", false, "NotIn" },
		{ "{\"key\":\"gpu\",\"operator\":\"NotIn\",\"values\":[\"x\"]}", true, "NotIn on a missing label" },
		{ "{\"key\":\"disk\",\"operator\":\"Exists\"}", true, "Exists" },
		{ "{\"key\":\"disk\",\"operator\":\"DoesNotExist\"}", false, "DoesNotExist" },
		{ "{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":[\"4\"]}", true, "Gt" },
		{ "{\"key\":\"cores\",\"operator\":\"Lt\",\"values\":[\"4\"]}", false, "Lt" },
		{ "{\"key\":\"disk\",\"operator\":\"Gt\",\"values\":[\"4\"]}", false, "Gt on a non-number" },
		{ "{\"key\":\"disk\",\"operator\":\"Bogus\",\"values\":[\"ssd\"]}", false, "an unknown operator" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[512];
		snprintf(buf, sizeof(buf), "{\"matchExpressions\":[%s]}", cases[i].expr);
		json_t *t = J(buf);
		ok(sched_term_matches(t, n) == cases[i].want, "matchExpressions %s", cases[i].what);
		json_decref(t);
	}
	json_t *t = J("{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}");
	ok(sched_term_matches(t, n), "matchFields metadata.name In");
	json_decref(t);
	t = J("{}");
	ok(!sched_term_matches(t, n), "an empty term matches nothing");
	json_decref(t);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
		"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\"]}]},"
		"{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}]}}}}}");
	ok(sched_filter_affinity(p, n, NULL), "terms are ORed");
	sched_pod_free(p);

	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n2\"}}");
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_node_name(p, n, &r), "spec.nodeName of another node fails");
	is_str(r.r[0], "node(s) didn't match the requested node name", "node name reason");
	sched_pod_free(p);
	sched_node_free(n);

	/* taints, tolerations, unschedulable, readiness */
	n = node("{\"metadata\":{\"name\":\"t\"},\"spec\":{\"unschedulable\":true,\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"},"
		 "{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]},\"status\":{\"allocatable\":{\"pods\":\"10\"}," READY "}}");
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{}}");
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_unschedulable(p, n, &r), "an unschedulable node is filtered");
	is_str(r.r[0], "node(s) were unschedulable", "unschedulable reason");
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_taints(p, n, &r), "an untolerated NoSchedule taint filters");
	is_str(r.r[0], "node(s) had untolerated taint {dedicated: db}", "taint reason names key and value");
	sched_pod_free(p);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\",\"effect\":\"NoSchedule\"},"
		"{\"key\":\"node.kubernetes.io/unschedulable\",\"operator\":\"Exists\"}]}}");
	ok(sched_filter_taints(p, n, NULL), "a matching toleration passes (PreferNoSchedule does not filter)");
	ok(sched_filter_unschedulable(p, n, NULL), "the unschedulable toleration passes a cordoned node");
	sched_pod_free(p);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"value\":\"web\"}]}}");
	ok(!sched_filter_taints(p, n, NULL), "Equal with another value does not tolerate");
	sched_pod_free(p);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}]}}");
	ok(sched_filter_taints(p, n, NULL), "an empty key with Exists tolerates everything");
	sched_pod_free(p);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]}}");
	ok(!sched_filter_taints(p, n, NULL), "a toleration for another effect does not tolerate");
	sched_pod_free(p);
	sched_node_free(n);

	n = node("{\"metadata\":{\"name\":\"nr\"},\"status\":{\"allocatable\":{\"pods\":\"10\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}");
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{}}");
	memset(&r, 0, sizeof(r));
	ok(!sched_filter(p, n, &r), "a node that is not Ready is filtered");
	is_str(r.r[0], "node(s) had untolerated taint {node.kubernetes.io/not-ready: }", "through the not-ready taint");
	sched_pod_free(p);
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\"}]}}");
	ok(sched_filter(p, n, NULL), "unless the pod tolerates not-ready");
	sched_pod_free(p);
	sched_node_free(n);

	/* host ports */
	n = node(NODE("hp", "", "4", "4Gi", "10"));
	SchedPod *a = pod("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"hostPort\":8080}]}]}}");
	SchedPod *b = pod("{\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"127.0.0.1\"}]}]}}");
	SchedPod *u = pod("{\"metadata\":{\"name\":\"u\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"UDP\"}]}]}}");
	sched_node_add_pod(n, a);
	memset(&r, 0, sizeof(r));
	ok(!sched_filter_ports(b, n, &r), "a specific address conflicts with the wildcard on the same port");
	is_str(r.r[0], "node(s) didn't have free ports for the requested pod ports", "ports reason");
	ok(sched_filter_ports(u, n, NULL), "another protocol does not conflict");
	sched_node_remove_pod(n, a);
	ok(sched_filter_ports(b, n, NULL), "the port is free again once the pod is gone");
	sched_pod_free(a);
	sched_pod_free(b);
	sched_pod_free(u);
	sched_node_free(n);
}

static void test_message(void)
{
	SchedNode *nodes[4];
	nodes[0] = node("{\"metadata\":{\"name\":\"cp\"},\"spec\":{\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\",\"effect\":\"NoSchedule\"}]},"
			"\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"}," READY "}}");
	nodes[1] = node(NODE("w1", "", "1", "2Gi", "110"));
	nodes[2] = node(NODE("w2", "", "1", "2Gi", "110"));
	nodes[3] = node(NODE("w3", "", "1", "2Gi", "110"));
	SchedPod *p = pod("{\"metadata\":{\"name\":\"big\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}}");
	SchedReasons r[4];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 4; i++)
		sched_filter(p, nodes[i], &r[i]);
	char *m = sched_fit_message(r, 4);
	is_str(m, "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
		  "3 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.",
	       "kube-scheduler's FitError text");
	free(m);
	sched_pod_free(p);

	/* resolvable shortages: no victims; sorted as strings ("10 x" < "2 y") */
	SchedReasons many[12];
	memset(many, 0, sizeof(many));
	for (int i = 0; i < 10; i++)
		snprintf(many[i].r[many[i].n++], sizeof(many[i].r[0]), "Insufficient memory");
	for (int i = 10; i < 12; i++) {
		snprintf(many[i].r[many[i].n++], sizeof(many[i].r[0]), "Insufficient cpu");
		snprintf(many[i].r[many[i].n++], sizeof(many[i].r[0]), "Insufficient memory");
	}
	m = sched_fit_message(many, 12);
	is_str(m, "0/12 nodes are available: 12 Insufficient memory, 2 Insufficient cpu. preemption: 0/12 nodes are "
		  "available: 12 No preemption victims found for incoming pod.",
	       "counts over nodes, bytewise order, no victims when resolvable");
	free(m);
	m = sched_fit_message(NULL, 0);
	is_str(m, "no nodes available to schedule pods", "no nodes at all");
	free(m);
	for (int i = 0; i < 4; i++)
		sched_node_free(nodes[i]);
}

static void test_scores(void)
{
	SchedNode *a = node(NODE("a", "", "4", "8Gi", "110")), *b = node(NODE("b", "", "4", "8Gi", "110"));
	SchedPod *p = pod("{\"metadata\":{\"name\":\"p\",\"ownerReferences\":[{\"uid\":\"rs\",\"controller\":true}]},"
			  "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"2Gi\"}}}]}}");
	is_int(sched_score_least_allocated(p, a), 75, "least allocated: (4-1)/4 and (8-2)/8 -> 75");
	is_int(sched_score_balanced(p, a), 100, "cpu and memory equally used: balanced 100");
	sched_node_add_pod(a, p);
	is_int(sched_score_least_allocated(p, a), 50, "with one such pod already there: 50");
	is_int(sched_score_spread_raw(p, a), 1, "one sibling on a");
	is_int(sched_score_spread_raw(p, b), 0, "none on b");
	SchedNode *both[2] = { a, b };
	int64_t s[2];
	sched_score(p, both, 2, s);
	ok(s[1] > s[0], "the emptier node without siblings scores higher (%lld > %lld)", (long long)s[1], (long long)s[0]);
	unsigned seed = 1;
	is_int(sched_select(s, 2, &seed), 1, "select takes the best");
	sched_pod_free(p);

	int64_t raw[3] = { 0, 2, 4 };
	sched_normalize(raw, 3, true);
	ok(raw[0] == 100 && raw[1] == 50 && raw[2] == 0, "reverse normalisation");
	int64_t zero[2] = { 0, 0 };
	sched_normalize(zero, 2, true);
	ok(zero[0] == 100 && zero[1] == 100, "all zero reversed: everyone gets the maximum");

	SchedNode *t = node("{\"metadata\":{\"name\":\"t\",\"labels\":{\"zone\":\"z1\"}},\"spec\":{\"taints\":[{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]},"
			    "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"}," READY "}}");
	p = pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":"
		"[{\"weight\":30,\"preference\":{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"z1\"]}]}}]}}}}");
	is_int(sched_score_prefer_taints_raw(p, t), 1, "an untolerated PreferNoSchedule taint counts");
	is_int(sched_score_affinity_raw(p, t), 30, "preferred affinity adds its weight");
	is_int(sched_score_affinity_raw(p, b), 0, "not on a node without the label");
	sched_pod_free(p);

	/* ties are broken at random, but always among the best */
	int64_t tie[4] = { 5, 9, 9, 9 };
	int seen[4] = { 0 };
	seed = 42;
	for (int i = 0; i < 300; i++)
		seen[sched_select(tie, 4, &seed)]++;
	ok(seen[0] == 0 && seen[1] > 0 && seen[2] > 0 && seen[3] > 0, "random tie-break among the best (%d %d %d)",
	   seen[1], seen[2], seen[3]);
	is_int(sched_nodes_to_find(50), 50, "under 100 nodes: all");
	is_int(sched_nodes_to_find(1000), 420, "1000 nodes: 42 percent");
	is_int(sched_nodes_to_find(150), 100, "at least 100");
	sched_node_free(a);
	sched_node_free(b);
	sched_node_free(t);
}

static int64_t fake_ms;
static int64_t fake_now(void) { return fake_ms; }

static void test_queue(void)
{
	SchedQueue *q = sched_queue_new(fake_now);
	bool sd;
	sched_queue_add(q, "d/a");
	sched_queue_add(q, "d/b");
	sched_queue_add(q, "d/a");
	is_int(sched_queue_len(q), 2, "a key is queued once");
	char *k = sched_queue_pop(q, 0, &sd);
	is_str(k, "d/a", "FIFO");
	sched_queue_failed(q, k, true);
	is_int(sched_queue_unschedulable(q), 1, "an unschedulable pod waits for a change");
	free(k);
	k = sched_queue_pop(q, 0, &sd);
	is_str(k, "d/b", "the next pod");
	sched_queue_done(q, k);
	free(k);
	ok(sched_queue_pop(q, 0, &sd) == NULL, "nothing ready");
	sched_queue_move_all(q);
	is_int(sched_queue_unschedulable(q), 0, "a cluster change moves it out");
	ok(sched_queue_pop(q, 0, &sd) == NULL, "but it waits out its 1 s back-off");
	fake_ms += 1000;
	k = sched_queue_pop(q, 0, &sd);
	is_str(k, "d/a", "and comes back after it");
	is_int(sched_queue_attempts(q, k), 1, "one attempt so far");
	/* a change while in flight: failure goes to back-off, not to the unschedulable set */
	sched_queue_move_all(q);
	sched_queue_failed(q, k, true);
	is_int(sched_queue_unschedulable(q), 0, "a change during the attempt means retry");
	fake_ms += 1999;
	ok(sched_queue_pop(q, 0, &sd) == NULL, "second back-off is 2 s");
	fake_ms += 1;
	free(k);
	k = sched_queue_pop(q, 0, &sd);
	is_str(k, "d/a", "due after 2 s");
	sched_queue_forget(q, k);
	sched_queue_done(q, k);
	is_int(sched_queue_attempts(q, k), -1, "forgotten once done");
	free(k);
	sched_queue_add(q, "d/c");
	sched_queue_shutdown(q);
	k = sched_queue_pop(q, -1, &sd);
	ok(!k && sd, "shutdown wakes a blocked pop");
	sched_queue_free(q);
}

/* The per-pod move (a queueing hint: the claim a pod waits for appeared):
 * only that pod leaves the unschedulable set; one in flight retries. */
static void test_queue_move_one(void)
{
	SchedQueue *q = sched_queue_new(fake_now);
	bool sd;
	sched_queue_add(q, "d/vol");
	sched_queue_add(q, "d/cpu");
	char *k1 = sched_queue_pop(q, 0, &sd), *k2 = sched_queue_pop(q, 0, &sd);
	is_str(k1, "d/vol", "first popped");
	sched_queue_failed(q, k1, true);
	sched_queue_failed(q, k2, true);
	is_int(sched_queue_unschedulable(q), 2, "both wait");
	sched_queue_move(q, "d/vol");
	is_int(sched_queue_unschedulable(q), 1, "only the pod the change is for moves");
	sched_queue_move(q, "d/none");
	is_int(sched_queue_unschedulable(q), 1, "an unknown key changes nothing");
	fake_ms += 1000;
	char *k = sched_queue_pop(q, 0, &sd);
	is_str(k, "d/vol", "it comes back after its back-off");
	ok(sched_queue_pop(q, 0, &sd) == NULL, "the other one still waits");
	sched_queue_move(q, k);  /* changed while in flight */
	sched_queue_failed(q, k, true);
	is_int(sched_queue_unschedulable(q), 1, "a move during the attempt sends it to back-off");
	fake_ms += 2000;
	char *again = sched_queue_pop(q, 0, &sd);
	is_str(again, "d/vol", "and it is retried");
	free(again);
	free(k);
	free(k1);
	free(k2);
	sched_queue_free(q);
}

#define PRIO_POD(name, uid, prio, cpu) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"d\",\"uid\":\"" uid "\"},\"spec\":{" \
	"\"priority\":" prio ",\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"" cpu "\"}}}]}}"

static bool fits_nominated(const SchedPod *p, SchedNode *n, SchedReasons *r)
{
	SchedCycle c;
	sched_cycle_init(&c, p, &n, 1, NULL);
	memset(r, 0, sizeof(*r));
	bool ok = sched_filter_nominated(p, n, &c, r);
	sched_cycle_release(&c);
	return ok;
}

/* A preemptor's nominated node: the room its victims leave is held for it
 * against pods of lower or equal priority, not against itself or higher. */
static void test_nominated(void)
{
	SchedReasons r;
	SchedNode *n = node(NODE("n1", "", "2", "4Gi", "110"));
	SchedPod *bound = pod(PRIO_POD("old", "u-old", "0", "1"));
	SchedPod *pre = pod(PRIO_POD("pre", "u-pre", "100", "1"));
	SchedPod *low = pod(PRIO_POD("low", "u-low", "10", "500m"));
	SchedPod *same = pod(PRIO_POD("same", "u-same", "100", "500m"));
	SchedPod *high = pod(PRIO_POD("high", "u-high", "1000", "500m"));
	SchedPod *pre_again = pod(PRIO_POD("pre", "u-pre", "100", "1"));
	sched_node_add_pod(n, bound);
	ok(fits_nominated(low, n, &r), "with nothing nominated a 500m pod fits beside 1 cpu");
	sched_node_nominate(n, pre);
	ok(!fits_nominated(low, n, &r), "a lower-priority pod does not take the room held for the preemptor");
	is_str(r.r[0], "Insufficient cpu", "it reads as a shortage of cpu");
	ok(!fits_nominated(same, n, &r), "nor does one of equal priority");
	ok(fits_nominated(high, n, &r), "a pod of higher priority ignores the nomination");
	ok(fits_nominated(pre_again, n, &r), "the preemptor itself (another parse of it) fits in its room");
	is_int(n->used.milli_cpu, 1000, "the hold is given back after each filter");
	is_int(n->npods, 1, "and so is the pod count");
	SchedNode *moved = node(NODE("n1", "", "2", "4Gi", "110"));
	sched_node_take_accounting(moved, n);
	ok(!fits_nominated(low, moved, &r), "a node update keeps its nominations");
	sched_node_unnominate(moved, pre);
	ok(fits_nominated(low, moved, &r), "once the preemptor is bound or gone the room is free again");
	sched_node_remove_pod(moved, bound);
	sched_node_free(moved);
	sched_node_free(n);
	SchedPod *all[] = { bound, pre, low, same, high, pre_again };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sched_pod_free(all[i]);
}

int main(void)
{
	test_quantity();
	test_requests();
	test_wants();
	test_filters();
	test_message();
	test_scores();
	test_queue();
	test_queue_move_one();
	test_nominated();
	return tap_done();
}
