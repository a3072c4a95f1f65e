/* test-scheduler-affinity.c - the scheduler's pod-placement plugins on
 * synthetic nodes and pods: label selectors, InterPodAffinity (required
 * affinity and anti-affinity, the first pod of a self-affine group,
 * existing pods' anti-affinity, namespaces and namespaceSelector, preferred
 * terms' scores), PodTopologySpread (maxSkew, minDomains, missing labels,
 * nodeAffinityPolicy, matchLabelKeys, soft constraints' scores), the
 * priority queue, and DefaultPreemption's victim choice and eligibility. */
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

/* A small cluster: nodes with a hostname and a zone, pods placed on them. */
#define MAXN 8
#define MAXP 32
typedef struct Cluster {
	SchedNode *n[MAXN];
	size_t nn;
	SchedPod *p[MAXP];
	size_t np;
} Cluster;

static SchedNode *add_node(Cluster *c, const char *name, const char *zone, const char *cpu)
{
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":\"%s\"%s%s%s}},"
		 "\"status\":{\"allocatable\":{\"cpu\":\"%s\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
		 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		 name, name, zone ? ",\"zone\":\"" : "", zone ? zone : "", zone ? "\"" : "", cpu);
	json_t *j = J(buf);
	c->n[c->nn] = sched_node_new(j);
	json_decref(j);
	return c->n[c->nn++];
}

/* A pod: name, namespace, labels JSON, spec extra JSON (", ..." fields). */
static SchedPod *mkpod(const char *name, const char *ns, const char *labels, const char *spec)
{
	char buf[4096];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"uid-%s\",\"labels\":%s},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\"}]%s}}",
		 name, ns, name, labels ? labels : "{}", spec ? spec : "");
	json_t *j = J(buf);
	SchedPod *p = sched_pod_new(j);
	json_decref(j);
	return p;
}

static void place(Cluster *c, SchedPod *p, SchedNode *n)
{
	c->p[c->np++] = p;
	sched_node_add_pod(n, p);
}

static void cluster_free(Cluster *c)
{
	for (size_t i = 0; i < c->nn; i++)
		sched_node_free(c->n[i]);
	for (size_t i = 0; i < c->np; i++)
		sched_pod_free(c->p[i]);
	memset(c, 0, sizeof(*c));
}

/* Does p pass every filter on node n (a fresh cycle)?  Its first reason into r. */
static bool fits(Cluster *c, const SchedPod *p, SchedNode *n, SchedReasons *r)
{
	SchedCycle cy;
	sched_cycle_init(&cy, p, c->n, c->nn, NULL);
	bool ok = sched_filter_cycle(p, n, &cy, r);
	sched_cycle_release(&cy);
	return ok;
}

#define ANTI_HOST(app) \
	",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[" \
	"{\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}"
#define AFF(key, app) \
	",\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[" \
	"{\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}},\"topologyKey\":\"" key "\"}]}}"

static void test_label_selector(void)
{
	json_t *labels = J("{\"app\":\"web\",\"tier\":\"fe\"}");
	json_t *s1 = J("{\"matchLabels\":{\"app\":\"web\"}}"), *s2 = J("{}"),
	       *s3 = J("{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"be\",\"fe\"]},"
		       "{\"key\":\"gone\",\"operator\":\"DoesNotExist\"}]}"),
	       *s4 = J("{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"fe\"]}]}"),
	       *s5 = J("{\"matchLabels\":{\"app\":\"db\"}}");
	ok(sched_label_selector_matches(s1, labels), "matchLabels");
	ok(sched_label_selector_matches(s2, labels), "an empty selector matches everything");
	ok(!sched_label_selector_matches(NULL, labels), "a null selector matches nothing");
	ok(sched_label_selector_matches(s3, labels), "In and DoesNotExist");
	ok(!sched_label_selector_matches(s4, labels), "NotIn");
	ok(!sched_label_selector_matches(s5, labels), "other value");
	json_decref(labels);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
	json_decref(s4);
	json_decref(s5);
}

static void test_anti_affinity(void)
{
	Cluster c = { 0 };
	SchedNode *a = add_node(&c, "a", "z1", "4"), *b = add_node(&c, "b", "z1", "4"), *d = add_node(&c, "d", "z2", "4");
	place(&c, mkpod("web-0", "ns", "{\"app\":\"web\"}", ANTI_HOST("web")), a);
	SchedPod *p = mkpod("web-1", "ns", "{\"app\":\"web\"}", ANTI_HOST("web"));
	SchedReasons r = { 0 };
	ok(!fits(&c, p, a, &r), "anti-affinity keeps a second replica off the node");
	is_str(r.r[0], "node(s) didn't match pod anti-affinity rules", "kube-scheduler's wording");
	ok(!r.unresolvable, "preemption could help");
	ok(fits(&c, p, b, NULL) && fits(&c, p, d, NULL), "other hosts are fine");
	/* symmetry: a pod without terms that web-0's anti-affinity selects */
	SchedPod *plain = mkpod("plain", "ns", "{\"app\":\"web\"}", NULL);
	memset(&r, 0, sizeof(r));
	ok(!fits(&c, plain, a, &r), "an existing pod's anti-affinity rejects the incoming pod");
	is_str(r.r[0], "node(s) didn't satisfy existing pods anti-affinity rules", "existing anti-affinity wording");
	ok(fits(&c, plain, b, NULL), "elsewhere it fits");
	SchedPod *other_ns = mkpod("x", "other", "{\"app\":\"web\"}", NULL);
	ok(fits(&c, other_ns, a, NULL), "terms without namespaces cover only their own namespace");
	/* zone anti-affinity covers every node of the zone */
	SchedPod *z = mkpod("zonal", "ns", "{\"app\":\"z\"}",
			    ",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
			    "{\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":\"zone\"}]}}");
	ok(!fits(&c, z, b, NULL), "zone anti-affinity: b shares a's zone");
	ok(fits(&c, z, d, NULL), "another zone is fine");
	sched_pod_free(p);
	sched_pod_free(plain);
	sched_pod_free(other_ns);
	sched_pod_free(z);
	cluster_free(&c);
}

static void test_affinity(void)
{
	Cluster c = { 0 };
	SchedNode *a = add_node(&c, "a", "z1", "4"), *b = add_node(&c, "b", "z1", "4"), *d = add_node(&c, "d", "z2", "4");
	SchedNode *nolabel = add_node(&c, "e", NULL, "4");
	SchedPod *first = mkpod("grp-0", "ns", "{\"app\":\"grp\"}", AFF("zone", "grp"));
	ok(fits(&c, first, a, NULL) && fits(&c, first, d, NULL), "the first pod of a self-affine group goes anywhere");
	SchedReasons r = { 0 };
	ok(!fits(&c, first, nolabel, &r), "but not to a node without the topology label");
	ok(r.unresolvable, "affinity failures are unresolvable");
	place(&c, first, a);
	SchedPod *second = mkpod("grp-1", "ns", "{\"app\":\"grp\"}", AFF("zone", "grp"));
	ok(fits(&c, second, b, NULL), "same zone as the first");
	memset(&r, 0, sizeof(r));
	ok(!fits(&c, second, d, &r), "not another zone");
	is_str(r.r[0], "node(s) didn't match pod affinity rules", "affinity wording");
	SchedPod *ghost = mkpod("g", "ns", "{\"app\":\"g\"}", AFF("kubernetes.io/hostname", "nobody"));
	ok(!fits(&c, ghost, a, NULL) && !fits(&c, ghost, d, NULL), "affinity to pods that do not exist fits nowhere");
	/* namespaces and namespaceSelector */
	SchedPod *cross = mkpod("cross", "other", "{}",
				",\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
				"{\"labelSelector\":{\"matchLabels\":{\"app\":\"grp\"}},\"topologyKey\":\"kubernetes.io/hostname\","
				"\"namespaces\":[\"ns\"]}]}}");
	ok(fits(&c, cross, a, NULL) && !fits(&c, cross, b, NULL), "namespaces: follows the pod in ns");
	SchedPod *bysel = mkpod("bysel", "other", "{}",
				",\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":["
				"{\"labelSelector\":{\"matchLabels\":{\"app\":\"grp\"}},\"topologyKey\":\"kubernetes.io/hostname\","
				"\"namespaceSelector\":{\"matchLabels\":{\"team\":\"t1\"}}}]}}");
	json_t *nsl = J("{\"ns\":{\"team\":\"t1\"},\"other\":{}}");
	SchedCycle cy;
	sched_cycle_init(&cy, bysel, c.n, c.nn, nsl);
	ok(sched_filter_cycle(bysel, a, &cy, NULL) && !sched_filter_cycle(bysel, b, &cy, NULL),
	   "namespaceSelector over the namespaces' labels");
	sched_cycle_release(&cy);
	json_t *nsl2 = J("{\"ns\":{\"team\":\"t2\"}}");
	sched_cycle_init(&cy, bysel, c.n, c.nn, nsl2);
	ok(!sched_filter_cycle(bysel, a, &cy, NULL), "a namespace the selector does not match is not seen");
	sched_cycle_release(&cy);
	json_decref(nsl);
	json_decref(nsl2);
	sched_pod_free(second);
	sched_pod_free(ghost);
	sched_pod_free(cross);
	sched_pod_free(bysel);
	cluster_free(&c);
}

static void test_plain_pods_cost_nothing(void)
{
	Cluster c = { 0 };
	SchedNode *a = add_node(&c, "a", "z1", "4");
	place(&c, mkpod("x", "ns", "{\"app\":\"web\"}", NULL), a);
	SchedPod *p = mkpod("y", "ns", "{\"app\":\"web\"}", NULL);
	SchedCycle cy;
	sched_cycle_init(&cy, p, c.n, c.nn, NULL);
	ok(!cy.active, "no terms anywhere: the cycle state stays inactive");
	sched_cycle_release(&cy);
	is_int(a->naffinity, 0, "no pod with terms on the node");
	place(&c, mkpod("w", "ns", "{}", ANTI_HOST("zzz")), a);
	is_int(a->naffinity, 1, "the node counts its pods with terms");
	sched_cycle_init(&cy, p, c.n, c.nn, NULL);
	ok(cy.active, "an existing pod with terms activates the state (symmetry)");
	sched_cycle_release(&cy);
	sched_node_remove_pod(a, c.p[1]);
	is_int(a->naffinity, 0, "removal uncounts it");
	is_int((int64_t)a->nlist, 1, "and drops it from the node's list");
	sched_node_add_pod(a, c.p[1]);
	sched_pod_free(p);
	cluster_free(&c);
}

#define SPREAD(key, skew, extra) \
	",\"topologySpreadConstraints\":[{\"maxSkew\":" #skew ",\"topologyKey\":\"" key "\"," \
	"\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{\"app\":\"s\"}}" extra "}]"

static void test_spread(void)
{
	Cluster c = { 0 };
	SchedNode *a = add_node(&c, "a", "z1", "4"), *b = add_node(&c, "b", "z2", "4"), *d = add_node(&c, "d", "z3", "4");
	SchedNode *nolabel = add_node(&c, "e", NULL, "4");
	place(&c, mkpod("s0", "ns", "{\"app\":\"s\"}", NULL), a);
	SchedPod *p = mkpod("s1", "ns", "{\"app\":\"s\"}", SPREAD("zone", 1, ""));
	SchedReasons r = { 0 };
	ok(!fits(&c, p, a, &r), "z1 has 1, z2 and z3 0: a second in z1 has skew 2");
	is_str(r.r[0], "node(s) didn't match pod topology spread constraints", "spread wording");
	ok(!r.unresolvable, "skew is resolvable");
	ok(fits(&c, p, b, NULL) && fits(&c, p, d, NULL), "the empty zones fit");
	memset(&r, 0, sizeof(r));
	ok(!fits(&c, p, nolabel, &r), "a node without the key");
	is_str(r.r[0], "node(s) didn't match pod topology spread constraints (missing required label)",
	       "missing label wording");
	ok(r.unresolvable, "a missing label is unresolvable");
	SchedPod *skew2 = mkpod("s2", "ns", "{\"app\":\"s\"}", SPREAD("zone", 2, ""));
	ok(fits(&c, skew2, a, NULL), "maxSkew 2 allows it");
	SchedPod *other = mkpod("o", "other", "{\"app\":\"s\"}", SPREAD("zone", 1, ""));
	ok(fits(&c, other, a, NULL), "pods of other namespaces are not counted");
	SchedPod *mind = mkpod("m", "ns", "{\"app\":\"s\"}", SPREAD("zone", 1, ",\"minDomains\":4"));
	place(&c, mkpod("s3", "ns", "{\"app\":\"s\"}", NULL), b);
	place(&c, mkpod("s4", "ns", "{\"app\":\"s\"}", NULL), d);
	ok(fits(&c, p, a, NULL), "1/1/1: any zone");
	ok(!fits(&c, mind, a, NULL), "minDomains 4 over 3 domains: the global minimum is 0");
	/* nodeAffinityPolicy: Honor (default) counts only nodes the pod may use */
	place(&c, mkpod("s5", "ns", "{\"app\":\"s\"}", NULL), a);
	SchedPod *pin = mkpod("pin", "ns", "{\"app\":\"s\"}", ",\"nodeSelector\":{\"zone\":\"z1\"}" SPREAD("zone", 1, ""));
	SchedPod *pin_ign = mkpod("pi", "ns", "{\"app\":\"s\"}",
				  ",\"nodeSelector\":{\"zone\":\"z1\"}" SPREAD("zone", 1, ",\"nodeAffinityPolicy\":\"Ignore\""));
	ok(fits(&c, pin, a, NULL), "Honor: only z1 is counted, no skew");
	ok(!fits(&c, pin_ign, a, NULL), "Ignore: 3 against 1 in the other zones");
	/* matchLabelKeys narrows the selector to the pod's own value */
	SchedPod *mlk = mkpod("k", "ns", "{\"app\":\"s\",\"rev\":\"2\"}", SPREAD("zone", 1, ",\"matchLabelKeys\":[\"rev\"]"));
	ok(fits(&c, mlk, a, NULL), "matchLabelKeys: no pod of rev 2 yet, no skew");
	sched_pod_free(p);
	sched_pod_free(skew2);
	sched_pod_free(other);
	sched_pod_free(mind);
	sched_pod_free(pin);
	sched_pod_free(pin_ign);
	sched_pod_free(mlk);
	cluster_free(&c);
}

static void test_scores(void)
{
	Cluster c = { 0 };
	SchedNode *a = add_node(&c, "a", "z1", "4");
	add_node(&c, "b", "z2", "4");
	place(&c, mkpod("db", "ns", "{\"app\":\"db\"}", NULL), a);
	SchedPod *pref = mkpod("p", "ns", "{}",
			       ",\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":["
			       "{\"weight\":50,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},"
			       "\"topologyKey\":\"zone\"}}]}}");
	SchedCycle cy;
	int64_t s[2];
	sched_cycle_init(&cy, pref, c.n, c.nn, NULL);
	sched_score_interpod(pref, c.n, c.nn, c.n, c.nn, &cy, s);
	is_int(s[0], 100, "preferred affinity: db's zone scores most");
	is_int(s[1], 0, "the other zone least");
	sched_cycle_release(&cy);
	SchedPod *avoid = mkpod("q", "ns", "{}",
				",\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":["
				"{\"weight\":10,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}},"
				"\"topologyKey\":\"kubernetes.io/hostname\"}}]}}");
	sched_cycle_init(&cy, avoid, c.n, c.nn, NULL);
	sched_score_interpod(avoid, c.n, c.nn, c.n, c.nn, &cy, s);
	ok(s[0] == 0 && s[1] == 100, "preferred anti-affinity: away from db");
	int64_t total[2];
	sched_score_cycle(avoid, c.n, c.nn, c.n, c.nn, &cy, total);
	ok(total[1] > total[0], "the summed score prefers b");
	sched_cycle_release(&cy);
	/* soft spread: fewer matching pods in the domain scores higher */
	place(&c, mkpod("s0", "ns", "{\"app\":\"s\"}", NULL), a);
	SchedPod *soft = mkpod("soft", "ns", "{\"app\":\"s\"}",
			       ",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"zone\","
			       "\"whenUnsatisfiable\":\"ScheduleAnyway\",\"labelSelector\":{\"matchLabels\":{\"app\":\"s\"}}}]");
	sched_score_spread_constraints(soft, c.n, c.nn, c.n, c.nn, s);
	ok(s[1] > s[0], "ScheduleAnyway: the zone without a matching pod scores higher");
	is_int(s[1], 100, "best is 100");
	SchedReasons r = { 0 };
	ok(fits(&c, soft, a, &r), "a soft constraint never filters");
	sched_pod_free(pref);
	sched_pod_free(avoid);
	sched_pod_free(soft);
	cluster_free(&c);
}

static int64_t fake_ms;
static int64_t fake_now(void) { return fake_ms; }

static void test_priority_queue(void)
{
	SchedQueue *q = sched_queue_new(fake_now);
	bool sd;
	sched_queue_add_priority(q, "d/low", 0);
	sched_queue_add_priority(q, "d/high", 1000);
	sched_queue_add_priority(q, "d/mid", 10);
	sched_queue_add_priority(q, "d/high2", 1000);
	const char *want[] = { "d/high", "d/high2", "d/mid", "d/low" };
	for (int i = 0; i < 4; i++) {
		char *k = sched_queue_pop(q, 0, &sd);
		is_str(k, want[i], "priority order, FIFO among equals (%d)", i);
		sched_queue_done(q, k);
		free(k);
	}
	sched_queue_free(q);
}


static SchedPod *cpu_pod(const char *name, const char *cpu, int prio, const char *extra)
{
	char spec[512];
	snprintf(spec, sizeof(spec), ",\"priority\":%d%s", prio, extra ? extra : "");
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"uid-%s\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"%s\"}}}]%s}}",
		 name, name, cpu, spec);
	json_t *j = J(buf);
	SchedPod *p = sched_pod_new(j);
	json_decref(j);
	return p;
}

static void test_preemption(void)
{
	Cluster c = { 0 };
	SchedNode *a = add_node(&c, "a", NULL, "2"), *b = add_node(&c, "b", NULL, "2");
	/* a: two small low pods (prio 1, 2); b: one big pod of prio 5 */
	place(&c, cpu_pod("a1", "1", 1, NULL), a);
	place(&c, cpu_pod("a2", "1", 2, NULL), a);
	place(&c, cpu_pod("b1", "2", 5, NULL), b);
	SchedPod *p = cpu_pod("vip", "1", 100, NULL);
	SchedReasons r[2] = { 0 };
	ok(!fits(&c, p, a, &r[0]) && !fits(&c, p, b, &r[1]), "vip fits nowhere");
	const SchedPod **v = NULL;
	size_t nv = 0;
	long at = sched_preempt(p, c.n, c.nn, r, NULL, &v, &nv);
	is_int(at, 0, "node a: its highest victim has a lower priority than b's");
	is_int((int64_t)nv, 1, "one victim is enough (the other is reprieved)");
	is_str(nv ? v[0]->name : "", "a1", "the lowest priority goes");
	is_int(a->npods, 2, "the simulation leaves the accounting as it was");
	is_int((int64_t)a->nlist, 2, "and the pod list");
	ok(!c.p[0]->evicted && !c.p[1]->evicted, "and no pod marked");
	free(v);
	SchedPod *peer = cpu_pod("peer", "1", 1, NULL);
	at = sched_preempt(peer, c.n, c.nn, r, NULL, &v, &nv);
	is_int(at, -1, "equal or higher priorities are never victims");
	free(v);
	SchedPod *huge = cpu_pod("huge", "3", 100, NULL);
	SchedReasons rh[2] = { 0 };
	fits(&c, huge, a, &rh[0]);
	fits(&c, huge, b, &rh[1]);
	at = sched_preempt(huge, c.n, c.nn, rh, NULL, &v, &nv);
	is_int(at, -1, "a request larger than any node: nothing helps");
	free(v);
	SchedPod *never = cpu_pod("never", "1", 100, ",\"preemptionPolicy\":\"Never\"");
	is_str(sched_preempt_eligible(never, c.n, c.nn), SCHED_NOT_ELIGIBLE_NEVER, "preemptionPolicy Never");
	ok(sched_preempt_eligible(p, c.n, c.nn) == NULL, "vip may preempt");
	snprintf(c.p[0]->preemptor, sizeof(c.p[0]->preemptor), "%s", p->uid);
	c.p[0]->terminating = true;
	is_str(sched_preempt_eligible(p, c.n, c.nn), SCHED_NOT_ELIGIBLE_TERMINATING, "not while its victim is going");
	/* anti-affinity resolved by evicting the pod it repels */
	Cluster c2 = { 0 };
	SchedNode *h = add_node(&c2, "h", NULL, "4");
	place(&c2, mkpod("old", "ns", "{\"app\":\"web\"}", ",\"priority\":1"), h);
	SchedPod *anti = mkpod("new", "ns", "{\"app\":\"web\"}", ",\"priority\":9" ANTI_HOST("web"));
	SchedReasons ra = { 0 };
	ok(!fits(&c2, anti, h, &ra), "anti-affinity blocks it");
	at = sched_preempt(anti, c2.n, c2.nn, &ra, NULL, &v, &nv);
	ok(at == 0 && nv == 1 && !strcmp(v[0]->name, "old"), "evicting the repelled pod makes it fit");
	free(v);
	SchedReasons m[2] = { 0 };
	snprintf(m[0].r[m[0].n++], sizeof(m[0].r[0]), "Insufficient cpu");
	snprintf(m[1].r[m[1].n++], sizeof(m[1].r[0]), "Insufficient cpu");
	char *msg = sched_fit_message_post(m, 2, NULL);
	is_str(msg, "0/2 nodes are available: 2 Insufficient cpu.", "nominated: no preemption part");
	free(msg);
	msg = sched_fit_message_post(m, 2, SCHED_NOT_ELIGIBLE_NEVER);
	is_str(msg, "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
	       "not eligible");
	free(msg);
	sched_pod_free(p);
	sched_pod_free(peer);
	sched_pod_free(huge);
	sched_pod_free(never);
	sched_pod_free(anti);
	cluster_free(&c);
	cluster_free(&c2);
}

int main(void)
{
	test_label_selector();
	test_anti_affinity();
	test_affinity();
	test_plain_pods_cost_nothing();
	test_spread();
	test_scores();
	test_priority_queue();
	test_preemption();
	return tap_done();
}
