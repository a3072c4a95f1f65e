/* scores.c - which feasible node is best?  kube-scheduler's default score
 * plugins with their default weights: NodeResourcesFit LeastAllocated over
 * cpu and memory (1), NodeResourcesBalancedAllocation (1), TaintToleration
 * on PreferNoSchedule taints (3), preferred NodeAffinity (2) and spreading of
 * the pods of one controller across nodes (2; SelectorSpread's formula keyed
 * by the controller ownerReference, standing in for the default topology
 * spread constraint on hostname).  Resource scores use the non-zero requests
 * (100m / 200Mi for unset ones) as kube-scheduler does.  With a cycle's
 * state (podaffinity.c) InterPodAffinity (2) and PodTopologySpread (2) are
 * added; a pod with its own spread constraints does not get the owner
 * spreading.  The host is picked among the best at random (reservoir
 * sampling), so equal nodes share load.
 */
#include "sched-internal.h"
#include "../shared/json.h"
#include <math.h>
#include <stdlib.h>

#define W_LEAST 1
#define W_BALANCED 1
#define W_TAINT 3
#define W_AFFINITY 2
#define W_SPREAD 2
#define W_INTERPOD 2
#define W_TOPOLOGY 2

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t least(int64_t requested, int64_t capacity)
{
	if (capacity <= 0 || requested < 0 || requested > capacity)
		return 0;
	/* 128-bit: quantities from the API can be near INT64_MAX */
	return (int64_t)((__int128)(capacity - requested) * SCHED_MAX_SCORE / capacity);
}

int64_t sched_score_least_allocated(const SchedPod *p, const SchedNode *n)
{
	int64_t score = 0, weights = 0;
	if (n->alloc.milli_cpu > 0) {
		score += least(sat_add(n->nz_cpu, p->nz_cpu), n->alloc.milli_cpu);
		weights++;
	}
	if (n->alloc.memory > 0) {
		score += least(sat_add(n->nz_mem, p->nz_mem), n->alloc.memory);
		weights++;
	}
	return weights ? score / weights : 0;
}

int64_t sched_score_balanced(const SchedPod *p, const SchedNode *n)
{
	if (n->alloc.milli_cpu <= 0 || n->alloc.memory <= 0)
		return 0;
	/* requests, not the non-zero defaults, as BalancedAllocation counts them */
	double fc = (double)(n->used.milli_cpu + p->req.milli_cpu) / (double)n->alloc.milli_cpu;
	double fm = (double)(n->used.memory + p->req.memory) / (double)n->alloc.memory;
	if (fc > 1)
		fc = 1;
	if (fm > 1)
		fm = 1;
	double std = fabs(fc - fm) / 2;
	return (int64_t)((1 - std) * SCHED_MAX_SCORE);
}

int64_t sched_score_prefer_taints_raw(const SchedPod *p, const SchedNode *n)
{
	int64_t c = 0;
	for (size_t i = 0; i < n->ntaints; i++) {
		if (n->taints[i].effect != TAINT_PREFER_NO_SCHEDULE)
			continue;
		/* only tolerations with no effect or PreferNoSchedule count */
		bool ok = false;
		for (size_t j = 0; j < p->ntols && !ok; j++)
			if ((p->tols[j].effect == 0 || p->tols[j].effect == TAINT_PREFER_NO_SCHEDULE) &&
			    sched_tolerates(&p->tols[j], 1, &n->taints[i]))
				ok = true;
		if (!ok)
			c++;
	}
	return c;
}

int64_t sched_score_affinity_raw(const SchedPod *p, const SchedNode *n)
{
	int64_t s = 0;
	size_t i;
	json_t *t;
	json_array_foreach(p->preferred, i, t) {
		json_int_t w = json_int(t, "weight", 0);
		if (w && sched_term_matches(json_object_get(t, "preference"), n))
			s += w;
	}
	return s;
}

int64_t sched_score_spread_raw(const SchedPod *p, const SchedNode *n)
{
	if (!p->owner_uid)
		return 0;
	return json_integer_value(json_object_get(n->owners, p->owner_uid));
}

void sched_normalize(int64_t *raw, size_t n, bool reverse)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		if (raw[i] > max)
			max = raw[i];
	if (max == 0) {
		if (reverse)
			for (size_t i = 0; i < n; i++)
				raw[i] = SCHED_MAX_SCORE;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t s = (int64_t)((__int128)SCHED_MAX_SCORE * raw[i] / max);
		raw[i] = reverse ? SCHED_MAX_SCORE - s : s;
	}
}

void sched_score(const SchedPod *p, SchedNode *const *nodes, size_t n, int64_t *out)
{
	sched_score_cycle(p, nodes, n, nodes, n, NULL, out);
}

void sched_score_cycle(const SchedPod *p, SchedNode *const *nodes, size_t n, SchedNode *const *all, size_t nall,
		       SchedCycle *c, int64_t *out)
{
	int64_t *taint = calloc(n ? n : 1, sizeof(int64_t)), *aff = calloc(n ? n : 1, sizeof(int64_t)),
		*spread = calloc(n ? n : 1, sizeof(int64_t));
	if (!taint || !aff || !spread)
		abort();
	for (size_t i = 0; i < n; i++) {
		out[i] = W_LEAST * sched_score_least_allocated(p, nodes[i]) + W_BALANCED * sched_score_balanced(p, nodes[i]);
		taint[i] = sched_score_prefer_taints_raw(p, nodes[i]);
		aff[i] = p->preferred ? sched_score_affinity_raw(p, nodes[i]) : 0;
		spread[i] = p->nspread ? 0 : sched_score_spread_raw(p, nodes[i]);
	}
	sched_normalize(taint, n, true);
	sched_normalize(aff, n, false);
	sched_normalize(spread, n, true);  /* SelectorSpread: fewer of its siblings is better */
	for (size_t i = 0; i < n; i++)
		out[i] += W_TAINT * taint[i] + W_AFFINITY * aff[i] + W_SPREAD * spread[i];
	if (c && c->active) {
		sched_score_interpod(p, nodes, n, all, nall, c, aff);
		sched_score_spread_constraints(p, nodes, n, all, nall, spread);
		for (size_t i = 0; i < n; i++)
			out[i] += W_INTERPOD * aff[i] + W_TOPOLOGY * spread[i];
	}
	free(taint);
	free(aff);
	free(spread);
}

size_t sched_select(const int64_t *scores, size_t n, unsigned *seed)
{
	size_t best = 0, ties = 1;
	for (size_t i = 1; i < n; i++) {
		if (scores[i] > scores[best]) {
			best = i;
			ties = 1;
		} else if (scores[i] == scores[best]) {
			ties++;
			if ((size_t)rand_r(seed) % ties == 0)
				best = i;
		}
	}
	return best;
}

size_t sched_nodes_to_find(size_t n)
{
	if (n < 100)
		return n;
	long pct = 50 - (long)n / 125;
	if (pct < 5)
		pct = 5;
	size_t k = n * (size_t)pct / 100;
	return k < 100 ? 100 : k;
}
