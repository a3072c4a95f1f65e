/* test-schedpreempt.c - DefaultPreemption with nominated pods: the room a
 * node has promised to a preemptor of equal or higher priority stays taken
 * during another preemptor's what-if (src/scheduler/preempt.c), lower
 * priorities and the preemptor itself do not count, and the simulation
 * leaves the node's accounting as it found it; a nominated pod counts as a
 * pod on its node for inter-pod (anti-)affinity and topology spreading
 * (src/scheduler/filters.c, podaffinity.c). */
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

static SchedNode *mknode(const char *name, const char *cpu)
{
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":\"%s\",\"zone\":\"z-%s\"}},"
		 "\"status\":{\"allocatable\":{\"cpu\":\"%s\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
		 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		 name, name, name, cpu);
	json_t *j = J(buf);
	SchedNode *n = sched_node_new(j);
	json_decref(j);
	return n;
}

/* A pod requesting cpu with spec.priority prio; labels and extra spec JSON optional. */
static SchedPod *mkpod(const char *name, const char *cpu, int prio, const char *labels, const char *extra)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"uid-%s\",\"labels\":%s},"
		 "\"spec\":{\"priority\":%d,\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":"
		 "{\"cpu\":\"%s\"}}}]%s}}",
		 name, name, labels ? labels : "{}", prio, cpu, extra ? extra : "");
	json_t *j = J(buf);
	SchedPod *p = sched_pod_new(j);
	json_decref(j);
	return p;
}

/* Preempt for p over nodes[0..n) with every node's own failure as reason;
 * *victim: the single victim's name ("" when none or several). */
static long preempt(const SchedPod *p, SchedNode **nodes, size_t n, const char **victim, size_t *nv)
{
	SchedReasons r[4] = { 0 };
	for (size_t i = 0; i < n; i++)
		sched_filter_nominated(p, nodes[i], NULL, &r[i]);
	const SchedPod **v = NULL;
	long at = sched_preempt(p, nodes, n, r, NULL, &v, nv);
	*victim = *nv == 1 ? v[0]->name : "";
	free(v);
	return at;
}

/* a (2 cpu): low-priority pod la (2 cpu); b (2 cpu): lb (2 cpu) of priority 10.
 * Alone, a is the better node (its victim is less important).  A pod
 * nominated to a with priority >= the preemptor's keeps a's room. */
static void test_nominated_room(void)
{
	SchedNode *a = mknode("a", "2"), *b = mknode("b", "2");
	SchedNode *nodes[] = { a, b };
	SchedPod *la = mkpod("la", "2", 0, NULL, NULL), *lb = mkpod("lb", "2", 10, NULL, NULL);
	sched_node_add_pod(a, la);
	sched_node_add_pod(b, lb);
	SchedPod *p = mkpod("p", "2", 50, NULL, NULL);
	const char *victim;
	size_t nv;

	is_int(preempt(p, nodes, 2, &victim, &nv), 0, "nothing nominated: node a (the least important victim)");
	is_str(victim, "la", "its victim is la");

	SchedPod *hi = mkpod("hi", "2", 100, NULL, NULL);
	sched_node_nominate(a, hi);
	is_int(preempt(p, nodes, 2, &victim, &nv), 1, "a's room is promised to a more important preemptor: node b");
	is_str(victim, "lb", "its victim is lb");
	is_int(a->used.milli_cpu, 2000, "the what-if gives back the nominated pod's cpu on a");
	is_int(a->npods, 1, "and its pod count");
	is_int((int64_t)a->nlist, 1, "and a's pod list is whole again");
	ok(!la->evicted && !lb->evicted, "no pod left marked evicted");
	sched_node_unnominate(a, hi);

	SchedPod *eq = mkpod("eq", "2", 50, NULL, NULL);
	sched_node_nominate(a, eq);
	is_int(preempt(p, nodes, 2, &victim, &nv), 1, "a preemptor of equal priority holds its room too");
	sched_node_unnominate(a, eq);

	SchedPod *lo = mkpod("lo", "2", 20, NULL, NULL);
	sched_node_nominate(a, lo);
	is_int(preempt(p, nodes, 2, &victim, &nv), 0, "a nominated pod of lower priority does not count");
	is_str(victim, "la", "and a's pod is the victim again");
	sched_node_unnominate(a, lo);

	SchedPod *self = mkpod("p", "2", 50, NULL, NULL);  /* the preemptor, parsed again */
	sched_node_nominate(a, self);
	is_int(preempt(p, nodes, 2, &victim, &nv), 0, "the preemptor's own nomination is its own room");
	sched_node_unnominate(a, self);

	sched_node_nominate(a, hi);
	sched_node_nominate(b, eq);
	is_int(preempt(p, nodes, 2, &victim, &nv), -1, "every node's room promised: preemption finds nothing");
	is_int(b->used.milli_cpu, 2000, "b's accounting is restored too");
	sched_node_unnominate(a, hi);
	sched_node_unnominate(b, eq);

	/* a bigger node: the nominated pod takes part of the room, so one more
	 * victim must go than without it */
	SchedNode *c = mknode("c", "4");
	SchedNode *one[] = { c };
	SchedPod *c1 = mkpod("c1", "1", 1, NULL, NULL), *c2 = mkpod("c2", "1", 2, NULL, NULL),
		 *c3 = mkpod("c3", "2", 3, NULL, NULL);
	sched_node_add_pod(c, c1);
	sched_node_add_pod(c, c2);
	sched_node_add_pod(c, c3);
	SchedPod *q = mkpod("q", "1", 50, NULL, NULL);
	is_int(preempt(q, one, 1, &victim, &nv), 0, "q preempts on c");
	is_str(victim, "c1", "alone one victim is enough (the least important)");
	SchedPod *n2 = mkpod("n2", "1", 60, NULL, NULL);
	sched_node_nominate(c, n2);
	const SchedPod **v = NULL;
	SchedReasons r = { 0 };
	sched_filter_nominated(q, c, NULL, &r);
	long at = sched_preempt(q, one, 1, &r, NULL, &v, &nv);
	ok(at == 0 && nv == 2, "with 1 cpu promised to n2, two victims must go");
	ok(nv == 2 && !strcmp(v[0]->name, "c2") && !strcmp(v[1]->name, "c1"), "c2 and c1 (c3 reprieved), most important first");
	free(v);
	is_int(c->used.milli_cpu, 4000, "c's accounting is restored");
	sched_node_unnominate(c, n2);

	sched_node_free(a);
	sched_node_free(b);
	sched_node_free(c);
	SchedPod *pods[] = { la, lb, p, hi, eq, lo, self, c1, c2, c3, q, n2 };
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++)
		sched_pod_free(pods[i]);
}

#define ANTI_HOST(app) \
	",\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[" \
	"{\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}"
#define AFF_HOST(app) \
	",\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[" \
	"{\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}},\"topologyKey\":\"kubernetes.io/hostname\"}]}}"
#define SPREAD_HOST(app) \
	",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"kubernetes.io/hostname\"," \
	"\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}}}]"

/* p on node at with a fresh cycle over nodes[0..n), nominated pods counted. */
static bool fits_at(const SchedPod *p, SchedNode **nodes, size_t n, SchedNode *at, SchedReasons *r)
{
	SchedCycle c;
	sched_cycle_init(&c, p, nodes, n, NULL);
	bool ok = sched_filter_nominated(p, at, &c, r);
	sched_cycle_release(&c);
	return ok;
}

/* A nominated pod counts as a pod on its node for inter-pod affinity and
 * spreading (for pods of lower or equal priority), and only there. */
static void test_nominated_neighbours(void)
{
	SchedNode *h = mknode("h", "8"), *g = mknode("g", "8");
	SchedNode *nodes[] = { h, g };
	SchedReasons r = { 0 };

	/* its required anti-affinity repels the pods it selects */
	SchedPod *db = mkpod("db", "1", 100, "{\"app\":\"db\"}", ANTI_HOST("web"));
	SchedPod *web = mkpod("web", "1", 10, "{\"app\":\"web\"}", NULL);
	ok(fits_at(web, nodes, 2, h, NULL), "nothing nominated: web fits on h");
	sched_node_nominate(h, db);
	memset(&r, 0, sizeof(r));
	ok(!fits_at(web, nodes, 2, h, &r), "db nominated to h repels web there");
	is_str(r.n ? r.r[0] : "", "node(s) didn't satisfy existing pods anti-affinity rules", "as an existing pod's anti-affinity");
	ok(fits_at(web, nodes, 2, g, NULL), "but not on g");
	SchedPod *vip = mkpod("vip", "1", 500, "{\"app\":\"web\"}", NULL);
	ok(fits_at(vip, nodes, 2, h, NULL), "a pod of higher priority ignores the nominated pod");
	is_int(h->used.milli_cpu, 0, "filtering leaves h's accounting as it was");

	/* preemption does not pick a node whose nominated pod repels the preemptor */
	SchedPod *fh = mkpod("fh", "8", 0, NULL, NULL), *fg = mkpod("fg", "8", 5, NULL, NULL);
	sched_node_add_pod(h, fh);
	sched_node_add_pod(g, fg);
	SchedReasons pr[2] = { 0 };
	fits_at(web, nodes, 2, h, &pr[0]);
	fits_at(web, nodes, 2, g, &pr[1]);
	const SchedPod **v = NULL;
	size_t nv = 0;
	long at = sched_preempt(web, nodes, 2, pr, NULL, &v, &nv);
	ok(at == 1 && nv == 1 && !strcmp(v[0]->name, "fg"), "web preempts on g, not on h where db is promised");
	free(v);
	sched_node_remove_pod(h, fh);
	sched_node_remove_pod(g, fg);
	sched_node_unnominate(h, db);

	/* an affinity met only by a nominated pod is not met: it must hold without it too */
	SchedPod *db2 = mkpod("db2", "1", 100, "{\"app\":\"db\"}", NULL);
	SchedPod *bound = mkpod("bound", "1", 0, "{\"app\":\"db\"}", NULL);
	sched_node_add_pod(g, bound);
	SchedPod *client = mkpod("client", "1", 10, "{\"app\":\"client\"}", AFF_HOST("db"));
	sched_node_nominate(h, db2);
	SchedCycle c;
	sched_cycle_init(&c, client, nodes, 2, NULL);
	bool any = c.aff_any;
	ok(!sched_filter_nominated(client, h, &c, NULL), "affinity to a pod only nominated to h: h does not fit");
	ok(c.aff_any == any, "the cycle's counts are given back");
	ok(sched_filter_nominated(client, g, &c, NULL), "g, where a matching pod runs, fits");
	sched_cycle_release(&c);
	sched_node_unnominate(h, db2);
	sched_node_remove_pod(g, bound);

	/* spreading counts it in its node's domain */
	SchedPod *w1 = mkpod("w1", "1", 100, "{\"app\":\"web\"}", NULL);
	SchedPod *spread = mkpod("spread", "1", 10, "{\"app\":\"web\"}", SPREAD_HOST("web"));
	ok(fits_at(spread, nodes, 2, h, NULL), "no web pod anywhere: spreading allows h");
	sched_node_nominate(h, w1);
	memset(&r, 0, sizeof(r));
	ok(!fits_at(spread, nodes, 2, h, &r), "a web pod nominated to h: one more there would exceed maxSkew 1");
	is_str(r.n ? r.r[0] : "", "node(s) didn't match pod topology spread constraints", "a spread failure");
	ok(fits_at(spread, nodes, 2, g, NULL), "g still fits");
	sched_node_unnominate(h, w1);
	ok(fits_at(spread, nodes, 2, h, NULL), "once it is gone h fits again");

	sched_node_free(h);
	sched_node_free(g);
	SchedPod *pods[] = { db, web, vip, fh, fg, db2, bound, client, w1, spread };
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++)
		sched_pod_free(pods[i]);
}

int main(void)
{
	test_nominated_room();
	test_nominated_neighbours();
	return tap_done();
}
