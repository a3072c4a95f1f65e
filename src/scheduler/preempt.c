/* preempt.c - kube-scheduler's DefaultPreemption, the choice part: for a
 * pod no node fits, on every node whose failure eviction could fix, take
 * out every pod of lower priority; if the pod then fits, give back
 * ("reprieve") as many of them as possible, most important first; the
 * ones that cannot come back are that node's victims.  The node whose
 * victims matter least wins: lowest highest-victim priority, then fewest
 * victims, then lowest sum of priorities.  The simulation changes the real
 * node accounting under the cache lock and restores it before returning.
 * PodDisruptionBudgets are not consulted (berth serves the resource but
 * no controller keeps their status).  Acting on the choice (nominating,
 * deleting the victims) is scheduler.c's.
 */
#include "sched-internal.h"
#include <stdlib.h>
#include <string.h>

const char *sched_preempt_eligible(const SchedPod *p, SchedNode *const *nodes, size_t n)
{
	if (p->preempt_never)
		return SCHED_NOT_ELIGIBLE_NEVER;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nodes[i]->nlist; j++)
			if (*p->uid && !strcmp(nodes[i]->pods[j]->preemptor, p->uid))
				return SCHED_NOT_ELIGIBLE_TERMINATING;  /* its victims are still going */
	return NULL;
}

/* ns_labels NULL and !cycle: no terms or constraints anywhere (evicting
 * only removes some), so the plain filters decide. */
static bool fits(const SchedPod *p, SchedNode *node, SchedNode *const *nodes, size_t n, const json_t *ns_labels,
		 bool cycle)
{
	if (!cycle)
		return sched_filter(p, node, NULL);
	SchedCycle c;
	sched_cycle_init(&c, p, nodes, n, ns_labels);
	bool ok = sched_filter_cycle(p, node, &c, NULL);
	sched_cycle_release(&c);
	return ok;
}

static void take_out(SchedNode *node, const SchedPod *e)
{
	((SchedPod *)e)->evicted = true;
	sched_node_remove_pod(node, e);
}

static void put_back(SchedNode *node, const SchedPod *e)
{
	((SchedPod *)e)->evicted = false;
	sched_node_add_pod(node, e);
}

static int by_priority_desc(const void *a, const void *b)
{
	int64_t x = (*(const SchedPod *const *)a)->priority, y = (*(const SchedPod *const *)b)->priority;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Victims on node (returned, *nv), or NULL when evicting cannot help. */
static const SchedPod **node_victims(const SchedPod *p, SchedNode *node, SchedNode *const *nodes, size_t n,
				     const json_t *ns_labels, bool cycle, size_t *nv)
{
	size_t nl = 0;
	const SchedPod **lower = xcalloc(node->nlist + 1, sizeof(*lower));
	for (size_t i = 0; i < node->nlist; i++)
		if (node->pods[i]->priority < p->priority && !node->pods[i]->terminating)
			lower[nl++] = node->pods[i];
	*nv = 0;
	if (!nl) {
		free(lower);
		return NULL;
	}
	for (size_t i = 0; i < nl; i++)
		take_out(node, lower[i]);
	if (!fits(p, node, nodes, n, ns_labels, cycle)) {
		for (size_t i = 0; i < nl; i++)
			put_back(node, lower[i]);
		free(lower);
		return NULL;
	}
	qsort(lower, nl, sizeof(*lower), by_priority_desc);
	const SchedPod **victims = xcalloc(nl, sizeof(*victims));
	for (size_t i = 0; i < nl; i++) {
		put_back(node, lower[i]);
		if (!fits(p, node, nodes, n, ns_labels, cycle)) {
			take_out(node, lower[i]);
			victims[(*nv)++] = lower[i];
		}
	}
	for (size_t i = 0; i < *nv; i++)
		put_back(node, victims[i]);
	free(lower);
	if (!*nv) {
		free(victims);
		return NULL;
	}
	return victims;
}

long sched_preempt(const SchedPod *p, SchedNode *const *nodes, size_t n, const SchedReasons *reasons,
		   const json_t *ns_labels, const SchedPod ***victims, size_t *nvictims)
{
	long best = -1;
	int64_t best_max = 0, best_sum = 0;
	*victims = NULL;
	*nvictims = 0;
	SchedCycle c;
	sched_cycle_init(&c, p, nodes, n, ns_labels);
	bool cycle = c.active;
	sched_cycle_release(&c);
	for (size_t i = 0; i < n; i++) {
		if (reasons && reasons[i].unresolvable)
			continue;
		size_t nv;
		const SchedPod **v = node_victims(p, nodes[i], nodes, n, ns_labels, cycle, &nv);
		if (!v)
			continue;
		int64_t max = v[0]->priority, sum = 0;  /* v is sorted, highest first */
		for (size_t j = 0; j < nv; j++)
			sum += v[j]->priority;
		if (best < 0 || max < best_max || (max == best_max && nv < *nvictims) ||
		    (max == best_max && nv == *nvictims && sum < best_sum)) {
			free(*victims);
			*victims = v;
			*nvictims = nv;
			best = (long)i;
			best_max = max;
			best_sum = sum;
		} else
			free(v);
	}
	return best;
}
