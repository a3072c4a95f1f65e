/* fuzz-scheduler-affinity.c - the pod-placement plugins fed arbitrary JSON:
 * {"pods":[...existing pods...], "pod":{...incoming...}, "nodes":[...],
 * "namespaces":{name: labels}} (missing parts default to the document
 * itself), existing pods placed round-robin on the nodes; then the cycle
 * state (inter-pod affinity, topology spread), every filter, the scores and
 * a preemption pass.  Beyond sanitizer findings it checks that preemption's
 * simulation leaves every node's accounting and pod list as it found them
 * and that normalised scores stay within 0..100. */
#include "../../src/scheduler/sched-internal.h"
#include "../../src/base/cleanup.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXN 8
#define MAXP 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return 0;
	}
	const json_t *nodes = json_object_get(j, "nodes"), *pods = json_object_get(j, "pods");
	SchedNode *n[MAXN];
	SchedPod *e[MAXP];
	size_t nn = 0, np = 0, i;
	json_t *x;
	json_array_foreach(nodes, i, x)
		if (nn < MAXN)
			n[nn++] = sched_node_new(x);
	if (!nn)
		n[nn++] = sched_node_new(j);
	json_array_foreach(pods, i, x)
		if (np < MAXP) {
			e[np] = sched_pod_new(x);
			sched_node_add_pod(n[np % nn], e[np]);
			np++;
		}
	SchedPod *p = sched_pod_new(json_object_get(j, "pod") ?: j);
	const json_t *nsl = json_object_get(j, "namespaces");
	SchedCycle c;
	sched_cycle_init(&c, p, n, nn, json_is_object(nsl) ? nsl : NULL);
	SchedReasons r[MAXN];
	memset(r, 0, sizeof(r));
	for (i = 0; i < nn; i++)
		sched_filter_cycle(p, n[i], &c, &r[i]);
	int64_t s1[MAXN], s2[MAXN], s3[MAXN];
	sched_score_interpod(p, n, nn, n, nn, &c, s1);
	sched_score_spread_constraints(p, n, nn, n, nn, s2);
	sched_score_cycle(p, n, nn, n, nn, &c, s3);
	for (i = 0; i < nn; i++)
		if (s1[i] < 0 || s1[i] > SCHED_MAX_SCORE || s2[i] < 0 || s2[i] > SCHED_MAX_SCORE)
			abort();
	sched_cycle_release(&c);
	int64_t npods[MAXN];
	size_t nlist[MAXN];
	for (i = 0; i < nn; i++) {
		npods[i] = n[i]->npods;
		nlist[i] = n[i]->nlist;
	}
	const SchedPod **v = NULL;
	size_t nv = 0;
	sched_preempt(p, n, nn, r, NULL, &v, &nv);
	free(v);
	for (i = 0; i < nn; i++)
		if (n[i]->npods != npods[i] || n[i]->nlist != nlist[i])
			abort();
	for (i = 0; i < np; i++)
		if (e[i]->evicted)
			abort();
	char *m = sched_fit_message(r, nn);
	free(m);
	sched_pod_free(p);
	for (i = 0; i < np; i++)
		sched_node_remove_pod(n[i % nn], e[i]);
	for (i = 0; i < nn; i++)
		sched_node_free(n[i]);
	for (i = 0; i < np; i++)
		sched_pod_free(e[i]);
	json_decref(j);
	return 0;
}
