/* preempt.c - kube-scheduler's DefaultPreemption, the choice part: for a
 * pod no node fits, on every node whose failure eviction could fix, take
 * out every pod of lower priority; if the pod then fits, give back
 * ("reprieve") as many of them as possible, most important first; the
 * ones that cannot come back are that node's victims.
 *
 * PodDisruptionBudgets count as Kubernetes counts them: each PDB's
 * status.disruptionsAllowed is a budget the lower-priority pods of a node
 * spend in priority order (a pod already in the PDB's disruptedPods spends
 * nothing); a pod that finds a covering budget exhausted would violate it.
 * Those pods are reprieved first, then the rest, each group most important
 * first; the violating pods that still must go are the node's violations.
 * The node that wins has the fewest violations, then the lowest
 * highest-victim priority, then the fewest victims, then the lowest sum of
 * priorities.  Pods nominated to a node with priority >= the preemptor's
 * hold their room during its what-if (kube-scheduler's filters with
 * nominated pods), so a node whose room is promised to an equal or more
 * important preemptor needs more victims or none helps.  The simulation
 * changes the real node accounting under the cache lock and restores it
 * before returning.  Acting on the choice (nominating, deleting the
 * victims) is scheduler.c's.
 */
#include "sched-internal.h"
#include "../shared/json.h"
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
 * only removes some), so the plain filters decide.  As DefaultPreemption's
 * what-if runs the filters with nominated pods, the pods nominated to node
 * with priority >= p's (other preemptors waiting for room there) occupy
 * their room: evicting can only make p fit beside them. */
static bool fits(const SchedPod *p, SchedNode *node, SchedNode *const *nodes, size_t n, const json_t *ns_labels,
		 bool cycle)
{
	if (!cycle)
		return sched_filter_nominated(p, node, NULL, NULL);
	SchedCycle c;
	sched_cycle_init(&c, p, nodes, n, ns_labels);
	bool ok = sched_filter_nominated(p, node, &c, NULL);
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

/* Does pdb cover pod e (its namespace; a nil or empty selector covers none)? */
static bool pdb_covers(const json_t *pdb, const SchedPod *e)
{
	const json_t *sel = json_object_get(json_object_get(pdb, "spec"), "selector");
	if (strcmp(json_str(json_object_get(pdb, "metadata"), "namespace") ?: "", e->ns ?: "") ||
	    (!json_object_size(json_object_get(sel, "matchLabels")) &&
	     !json_array_size(json_object_get(sel, "matchExpressions"))))
		return false;
	return sched_label_selector_matches(sel, e->labels);
}

/* Kubernetes' filterPodsWithPDBViolation over pods[0..n) (sorted most
 * important first): violating[i] when pods[i] would exceed a covering PDB's
 * remaining disruptionsAllowed. */
void sched_pdb_violations(const SchedPod *const *pods, size_t n, const json_t *pdbs, bool *violating)
{
	size_t np = json_array_size(pdbs);
	int64_t *left = xcalloc(np ? np : 1, sizeof(*left));
	for (size_t j = 0; j < np; j++)
		left[j] = json_int(json_object_get(json_array_get(pdbs, j), "status"), "disruptionsAllowed", 0);
	for (size_t i = 0; i < n; i++) {
		violating[i] = false;
		if (!json_object_size(pods[i]->labels))
			continue;
		for (size_t j = 0; j < np; j++) {
			const json_t *pdb = json_array_get(pdbs, j);
			if (!pdb_covers(pdb, pods[i]) ||
			    json_object_get(json_object_get(json_object_get(pdb, "status"), "disruptedPods"), pods[i]->name ?: ""))
				continue;
			if (--left[j] < 0)
				violating[i] = true;
		}
	}
	free(left);
}

/* Victims on node (returned, *nv; *nviol of them violate a PDB), or NULL
 * when evicting cannot help. */
static const SchedPod **node_victims(const SchedPod *p, SchedNode *node, SchedNode *const *nodes, size_t n,
				     const json_t *ns_labels, bool cycle, const json_t *pdbs, size_t *nv, size_t *nviol)
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
	bool *violating = xcalloc(nl, sizeof(*violating));
	sched_pdb_violations(lower, nl, pdbs, violating);
	const SchedPod **victims = xcalloc(nl, sizeof(*victims));
	*nviol = 0;
	for (int pass = 0; pass < 2; pass++)  /* the PDB-violating ones first */
		for (size_t i = 0; i < nl; i++) {
			if (violating[i] != (pass == 0))
				continue;
			put_back(node, lower[i]);
			if (!fits(p, node, nodes, n, ns_labels, cycle)) {
				take_out(node, lower[i]);
				victims[(*nv)++] = lower[i];
				*nviol += pass == 0;
			}
		}
	for (size_t i = 0; i < *nv; i++)
		put_back(node, victims[i]);
	qsort(victims, *nv, sizeof(*victims), by_priority_desc);
	free(violating);
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
	return sched_preempt_pdb(p, nodes, n, reasons, ns_labels, NULL, victims, nvictims);
}

long sched_preempt_pdb(const SchedPod *p, SchedNode *const *nodes, size_t n, const SchedReasons *reasons,
		       const json_t *ns_labels, const json_t *pdbs, const SchedPod ***victims, size_t *nvictims)
{
	long best = -1;
	int64_t best_max = 0, best_sum = 0;
	size_t best_viol = 0;
	*victims = NULL;
	*nvictims = 0;
	SchedCycle c;
	sched_cycle_init(&c, p, nodes, n, ns_labels);
	bool cycle = c.active;
	sched_cycle_release(&c);
	for (size_t i = 0; i < n; i++) {
		if (reasons && reasons[i].unresolvable)
			continue;
		size_t nv, viol;
		const SchedPod **v = node_victims(p, nodes[i], nodes, n, ns_labels, cycle, pdbs, &nv, &viol);
		if (!v)
			continue;
		int64_t max = v[0]->priority, sum = 0;  /* v is sorted, highest first */
		for (size_t j = 0; j < nv; j++)
			sum += v[j]->priority;
		bool better = best < 0 || viol < best_viol;
		if (!better && viol == best_viol)
			better = max < best_max || (max == best_max && nv < *nvictims) ||
				 (max == best_max && nv == *nvictims && sum < best_sum);
		if (better) {
			free(*victims);
			*victims = v;
			*nvictims = nv;
			best = (long)i;
			best_max = max;
			best_sum = sum;
			best_viol = viol;
		} else
			free(v);
	}
	return best;
}
