/* podaffinity.c - kube-scheduler's InterPodAffinity and PodTopologySpread
 * plugins: filters and scores that depend on where other pods run.
 *
 * A cycle counts once, before filtering (sched_cycle_init, the plugins'
 * PreFilter), per topology pair (a node label key and value):
 *   - the pods matching all the incoming pod's required affinity terms,
 *   - the pods matching each of its required anti-affinity terms,
 *   - the existing pods whose required anti-affinity matches the incoming
 *     pod (symmetry),
 *   - for each DoNotSchedule spread constraint, the matching pods of the
 *     pod's namespace per domain of the nodes its policies admit, and the
 *     minimum over those domains (0 while fewer than minDomains exist).
 * Each node's filter is then a few lookups.  When neither the pod nor any
 * pod in the cluster carries terms or constraints (SchedNode.naffinity is
 * kept by the node accounting), nothing is counted and the filters and
 * scores pass straight through, so plain pods pay nothing.  Pods
 * nominated to a node (preemptors waiting for their victims) are added to
 * these counts only while that node is filtered (sched_cycle_nominated,
 * kube-scheduler's AddPod), and taken back after.
 */
#include "sched-internal.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SEP "\x1f"

#define R_AFFINITY "node(s) didn't match pod affinity rules"
#define R_ANTI "node(s) didn't match pod anti-affinity rules"
#define R_EXISTING_ANTI "node(s) didn't satisfy existing pods anti-affinity rules"
#define R_SPREAD "node(s) didn't match pod topology spread constraints"
#define R_SPREAD_LABEL "node(s) didn't match pod topology spread constraints (missing required label)"

static void reason(SchedReasons *out, bool unresolvable, const char *msg)
{
	if (!out)
		return;
	if (unresolvable)
		out->unresolvable = true;
	if (out->n < SCHED_MAX_REASONS)
		snprintf(out->r[out->n++], sizeof(out->r[0]), "%s", msg);
}

/* ---- topology pair counts: "key<SEP>value" -> integer ---- */
static void pair_add(json_t *m, const char *key, const char *val, int64_t d)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s" SEP "%s", key, val);
	json_t *c = json_object_get(m, buf);
	if (c)
		json_integer_set(c, json_integer_value(c) + d);
	else
		json_object_set_new(m, buf, json_integer(d));
}

static int64_t pair_get(const json_t *m, const char *key, const char *val, bool *found)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s" SEP "%s", key, val);
	json_t *c = json_object_get(m, buf);
	if (found)
		*found = c != NULL;
	return c ? json_integer_value(c) : 0;
}

static const char *label(const SchedNode *n, const char *key)
{
	return json_str(n->labels, key);
}

/* ---- terms ---- */
static const json_t *ns_labels(SchedCycle *c, const char *ns)
{
	const json_t *l = c->ns_labels ? json_object_get(c->ns_labels, ns) : NULL;
	if (l)
		return l;
	/* not listed: the label every namespace carries */
	if (!c->ns_cache)
		c->ns_cache = json_object();
	json_t *m = json_object_get(c->ns_cache, ns);
	if (!m) {
		m = json_pack("{s:s}", "kubernetes.io/metadata.name", ns);
		json_object_set_new(c->ns_cache, ns, m);
	}
	return m;
}

static bool term_ns_matches(SchedCycle *c, const SchedPodTerm *t, const char *owner_ns, const char *ns)
{
	if (!t->namespaces && !t->ns_selector)
		return !strcmp(owner_ns, ns);
	size_t i;
	json_t *v;
	json_array_foreach(t->namespaces, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), ns))
			return true;
	return t->ns_selector && sched_label_selector_matches(t->ns_selector, ns_labels(c, ns));
}

/* Does term t of a pod in owner_ns select pod e? */
static bool term_matches(SchedCycle *c, const SchedPodTerm *t, const char *owner_ns, const SchedPod *e)
{
	return sched_label_selector_matches(t->selector, e->labels) && term_ns_matches(c, t, owner_ns, e->ns);
}

static bool matches_all(SchedCycle *c, const SchedPodTerm *ts, size_t n, const char *owner_ns, const SchedPod *e)
{
	for (size_t i = 0; i < n; i++)
		if (!term_matches(c, &ts[i], owner_ns, e))
			return false;
	return n > 0;
}

static bool is_other(const SchedPod *p, const SchedPod *e)
{
	return !e->evicted && (!*p->uid || strcmp(p->uid, e->uid) || strcmp(p->name, e->name));
}

/* ---- PreFilter ---- */
static void count_interpod(SchedCycle *c, const SchedPod *p, const SchedNode *n, const SchedPod *e)
{
	if (n->naffinity)
		for (size_t t = 0; t < e->nterms[TERM_ANTI_REQ]; t++) {
			const SchedPodTerm *term = &e->terms[TERM_ANTI_REQ][t];
			const char *v = label(n, term->topo_key);
			if (v && term_matches(c, term, e->ns, p))
				pair_add(c->existing_anti, term->topo_key, v, 1);
		}
	if (matches_all(c, p->terms[TERM_AFF_REQ], p->nterms[TERM_AFF_REQ], p->ns, e))
		for (size_t t = 0; t < p->nterms[TERM_AFF_REQ]; t++) {
			const char *v = label(n, p->terms[TERM_AFF_REQ][t].topo_key);
			if (v) {
				pair_add(c->aff, p->terms[TERM_AFF_REQ][t].topo_key, v, 1);
				c->aff_any = true;
			}
		}
	for (size_t t = 0; t < p->nterms[TERM_ANTI_REQ]; t++) {
		const SchedPodTerm *term = &p->terms[TERM_ANTI_REQ][t];
		const char *v = label(n, term->topo_key);
		if (v && term_matches(c, term, p->ns, e))
			pair_add(c->anti, term->topo_key, v, 1);
	}
}

/* nodeAffinityPolicy / nodeTaintsPolicy: does this node count for s? */
static bool spread_admits(const SchedPod *p, const SchedSpread *s, const SchedNode *n)
{
	return (!s->honor_affinity || sched_filter_affinity(p, n, NULL)) &&
	       (!s->honor_taints || sched_filter_taints(p, n, NULL));
}

static int64_t count_matching(const SchedPod *p, const SchedNode *n, const json_t *sel)
{
	int64_t k = 0;
	for (size_t i = 0; i < n->nlist; i++) {
		const SchedPod *e = n->pods[i];
		if (!e->evicted && !e->terminating && !strcmp(e->ns, p->ns) && sched_label_selector_matches(sel, e->labels))
			k++;
	}
	return k;
}

static bool has_keys(const SchedPod *p, const SchedNode *n, bool hard)
{
	for (size_t k = 0; k < p->nspread; k++)
		if (p->spread[k].hard == hard && !label(n, p->spread[k].topo_key))
			return false;
	return true;
}

/* c->tp_min[k]: the minimum count over constraint k's domains (0 with
 * fewer domains than minDomains). */
static void spread_min(SchedCycle *c, const SchedPod *p, size_t k)
{
	char idx[24];
	snprintf(idx, sizeof(idx), "%zu" SEP, k);
	size_t len = strlen(idx);
	int64_t min = INT64_MAX, domains = 0;
	const char *key;
	json_t *v;
	json_object_foreach(c->tp, key, v)
		if (!strncmp(key, idx, len)) {
			domains++;
			if (json_integer_value(v) < min)
				min = json_integer_value(v);
		}
	c->tp_min[k] = !domains || domains < p->spread[k].min_domains ? 0 : min;
}

static void count_spread(SchedCycle *c, const SchedPod *p, SchedNode *const *nodes, size_t n)
{
	c->tp = json_object();
	c->tp_min = xcalloc(p->nspread, sizeof(*c->tp_min));
	c->self_spread = xcalloc(p->nspread, sizeof(*c->self_spread));
	char idx[24];
	for (size_t k = 0; k < p->nspread; k++)
		c->self_spread[k] = sched_label_selector_matches(p->spread[k].selector, p->labels);
	for (size_t i = 0; i < n; i++) {
		if (!has_keys(p, nodes[i], true))
			continue;
		for (size_t k = 0; k < p->nspread; k++) {
			const SchedSpread *s = &p->spread[k];
			if (!s->hard || !spread_admits(p, s, nodes[i]))
				continue;
			snprintf(idx, sizeof(idx), "%zu", k);
			pair_add(c->tp, idx, label(nodes[i], s->topo_key), count_matching(p, nodes[i], s->selector));
		}
	}
	for (size_t k = 0; k < p->nspread; k++)
		spread_min(c, p, k);
}

void sched_cycle_init(SchedCycle *c, const SchedPod *p, SchedNode *const *nodes, size_t n, const json_t *ns_labels)
{
	memset(c, 0, sizeof(*c));
	c->ns_labels = ns_labels;
	int64_t existing = 0, nominated = 0;
	for (size_t i = 0; i < n; i++) {
		existing += nodes[i]->naffinity;
		for (size_t j = 0; j < nodes[i]->nnom; j++)
			nominated += sched_pod_has_terms(nodes[i]->nominated[j]);
	}
	if (!existing && !nominated && !sched_pod_has_terms(p) && !p->nspread)
		return;
	c->active = true;
	c->existing_anti = json_object();
	c->aff = json_object();
	c->anti = json_object();
	bool own = p->nterms[TERM_AFF_REQ] || p->nterms[TERM_ANTI_REQ];
	for (size_t i = 0; i < n && (own || existing); i++) {
		const SchedNode *node = nodes[i];
		if (!own && !node->naffinity)
			continue;
		for (size_t j = 0; j < node->nlist; j++)
			if (is_other(p, node->pods[j]))
				count_interpod(c, p, node, node->pods[j]);
	}
	c->self_aff = matches_all(c, p->terms[TERM_AFF_REQ], p->nterms[TERM_AFF_REQ], p->ns, p);
	if (p->nspread)
		count_spread(c, p, nodes, n);
}

/* kube-scheduler's AddPod / RemovePod on the PreFilter state, for o
 * nominated to n (sign 1 / -1): o's required anti-affinity against p, p's
 * required terms against o, and o in p's hard spread counts of n's domains.
 * The pods nominated to n count only when n itself is filtered. */
void sched_cycle_nominated(SchedCycle *c, const SchedPod *p, const SchedNode *n, const SchedPod *o, int sign)
{
	if (!c || !c->active || o->terminating)
		return;
	for (size_t t = 0; t < o->nterms[TERM_ANTI_REQ]; t++) {
		const SchedPodTerm *term = &o->terms[TERM_ANTI_REQ][t];
		const char *v = label(n, term->topo_key);
		if (v && term_matches(c, term, o->ns, p))
			pair_add(c->existing_anti, term->topo_key, v, sign);
	}
	if (matches_all(c, p->terms[TERM_AFF_REQ], p->nterms[TERM_AFF_REQ], p->ns, o))
		for (size_t t = 0; t < p->nterms[TERM_AFF_REQ]; t++) {
			const char *v = label(n, p->terms[TERM_AFF_REQ][t].topo_key);
			if (v) {
				pair_add(c->aff, p->terms[TERM_AFF_REQ][t].topo_key, v, sign);
				c->aff_any |= sign > 0;  /* the caller restores it */
			}
		}
	for (size_t t = 0; t < p->nterms[TERM_ANTI_REQ]; t++) {
		const SchedPodTerm *term = &p->terms[TERM_ANTI_REQ][t];
		const char *v = label(n, term->topo_key);
		if (v && term_matches(c, term, p->ns, o))
			pair_add(c->anti, term->topo_key, v, sign);
	}
	if (!c->tp || strcmp(o->ns, p->ns) || !has_keys(p, n, true))
		return;
	char idx[24];
	for (size_t k = 0; k < p->nspread; k++) {
		const SchedSpread *sp = &p->spread[k];
		if (!sp->hard || !spread_admits(p, sp, n) || !sched_label_selector_matches(sp->selector, o->labels))
			continue;
		snprintf(idx, sizeof(idx), "%zu", k);
		pair_add(c->tp, idx, label(n, sp->topo_key), sign);
		spread_min(c, p, k);
	}
}

void sched_cycle_release(SchedCycle *c)
{
	json_decref(c->ns_cache);
	json_decref(c->existing_anti);
	json_decref(c->aff);
	json_decref(c->anti);
	json_decref(c->tp);
	free(c->tp_min);
	free(c->self_spread);
	memset(c, 0, sizeof(*c));
}

/* ---- Filter ---- */
bool sched_filter_spread(const SchedPod *p, const SchedNode *n, const SchedCycle *c, SchedReasons *out)
{
	if (!c || !c->active || !c->tp)
		return true;
	if (!has_keys(p, n, true)) {
		reason(out, true, R_SPREAD_LABEL);
		return false;
	}
	char idx[24];
	for (size_t k = 0; k < p->nspread; k++) {
		const SchedSpread *s = &p->spread[k];
		if (!s->hard)
			continue;
		snprintf(idx, sizeof(idx), "%zu", k);
		int64_t skew = pair_get(c->tp, idx, label(n, s->topo_key), NULL) + c->self_spread[k] - c->tp_min[k];
		if (skew > s->max_skew) {
			reason(out, false, R_SPREAD);
			return false;
		}
	}
	return true;
}

bool sched_filter_interpod(const SchedPod *p, const SchedNode *n, SchedCycle *c, SchedReasons *out)
{
	if (!c || !c->active)
		return true;
	if (p->nterms[TERM_AFF_REQ]) {
		bool exist = true;
		for (size_t t = 0; t < p->nterms[TERM_AFF_REQ]; t++) {
			const char *key = p->terms[TERM_AFF_REQ][t].topo_key, *v = label(n, key);
			if (!v) {
				reason(out, true, R_AFFINITY);
				return false;
			}
			if (pair_get(c->aff, key, v, NULL) <= 0)
				exist = false;
		}
		/* the first of a group of pods with affinity to each other may go anywhere */
		if (!exist && (c->aff_any || !c->self_aff)) {
			reason(out, true, R_AFFINITY);
			return false;
		}
	}
	for (size_t t = 0; t < p->nterms[TERM_ANTI_REQ]; t++) {
		const char *key = p->terms[TERM_ANTI_REQ][t].topo_key, *v = label(n, key);
		if (v && pair_get(c->anti, key, v, NULL) > 0) {
			reason(out, false, R_ANTI);
			return false;
		}
	}
	if (json_object_size(c->existing_anti)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)n->labels, k, v)
			if (json_is_string(v) && pair_get(c->existing_anti, k, json_string_value(v), NULL) > 0) {
				reason(out, false, R_EXISTING_ANTI);
				return false;
			}
	}
	return true;
}

bool sched_filter_cycle(const SchedPod *p, const SchedNode *n, SchedCycle *c, SchedReasons *out)
{
	if (!sched_filter(p, n, out))
		return false;
	if (!c || !c->active)
		return true;
	return sched_filter_spread(p, n, c, out) && sched_filter_interpod(p, n, c, out);
}

/* ---- Score ---- */
static void add_terms(SchedCycle *c, json_t *m, const SchedPodTerm *ts, size_t nt, const char *owner_ns,
		      const SchedPod *target, const SchedNode *at, int64_t sign, bool unit)
{
	for (size_t t = 0; t < nt; t++) {
		const char *v = label(at, ts[t].topo_key);
		if (v && term_matches(c, &ts[t], owner_ns, target))
			pair_add(m, ts[t].topo_key, v, sign * (unit ? 1 : ts[t].weight));
	}
}

static int64_t node_pairs_sum(const json_t *m, const SchedNode *n)
{
	int64_t s = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)m, k, v) {
		const char *sep = strchr(k, SEP[0]);
		if (!sep)
			continue;
		char key[512];
		snprintf(key, sizeof(key), "%.*s", (int)(sep - k), k);
		const char *have = label(n, key);
		if (have && !strcmp(have, sep + 1))
			s += json_integer_value(v);
	}
	return s;
}

void sched_score_interpod(const SchedPod *p, SchedNode *const *nodes, size_t n, SchedNode *const *all, size_t nall,
			  SchedCycle *c, int64_t *out)
{
	memset(out, 0, n * sizeof(*out));
	if (!c || !c->active)
		return;
	bool own = p->nterms[TERM_AFF_PREF] || p->nterms[TERM_ANTI_PREF];
	_cleanup_json_ json_t *m = json_object();
	for (size_t i = 0; i < nall; i++) {
		const SchedNode *node = all[i];
		if (!own && !node->naffinity)
			continue;
		for (size_t j = 0; j < node->nlist; j++) {
			const SchedPod *e = node->pods[j];
			if (!is_other(p, e))
				continue;
			add_terms(c, m, p->terms[TERM_AFF_PREF], p->nterms[TERM_AFF_PREF], p->ns, e, node, 1, false);
			add_terms(c, m, p->terms[TERM_ANTI_PREF], p->nterms[TERM_ANTI_PREF], p->ns, e, node, -1, false);
			if (!sched_pod_has_terms(e))
				continue;
			add_terms(c, m, e->terms[TERM_AFF_PREF], e->nterms[TERM_AFF_PREF], e->ns, p, node, 1, false);
			add_terms(c, m, e->terms[TERM_ANTI_PREF], e->nterms[TERM_ANTI_PREF], e->ns, p, node, -1, false);
			/* hardPodAffinityWeight: existing pods' required affinity counts 1 */
			add_terms(c, m, e->terms[TERM_AFF_REQ], e->nterms[TERM_AFF_REQ], e->ns, p, node, 1, true);
		}
	}
	if (!json_object_size(m) || !n)
		return;
	int64_t min = INT64_MAX, max = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		out[i] = node_pairs_sum(m, nodes[i]);
		min = out[i] < min ? out[i] : min;
		max = out[i] > max ? out[i] : max;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = max > min ? SCHED_MAX_SCORE * (out[i] - min) / (max - min) : 0;
}

void sched_score_spread_constraints(const SchedPod *p, SchedNode *const *nodes, size_t n, SchedNode *const *all,
				    size_t nall, int64_t *out)
{
	memset(out, 0, n * sizeof(*out));
	size_t soft = 0;
	for (size_t k = 0; k < p->nspread; k++)
		soft += !p->spread[k].hard;
	if (!soft || !n)
		return;
	_cleanup_json_ json_t *counts = json_object(), *domains = json_object();
	char idx[24];
	for (size_t i = 0; i < n; i++)
		if (has_keys(p, nodes[i], false))
			for (size_t k = 0; k < p->nspread; k++)
				if (!p->spread[k].hard) {
					snprintf(idx, sizeof(idx), "%zu", k);
					pair_add(domains, idx, label(nodes[i], p->spread[k].topo_key), 1);
				}
	for (size_t i = 0; i < nall; i++) {
		if (!has_keys(p, all[i], false))
			continue;
		for (size_t k = 0; k < p->nspread; k++) {
			const SchedSpread *s = &p->spread[k];
			if (s->hard || !spread_admits(p, s, all[i]))
				continue;
			snprintf(idx, sizeof(idx), "%zu", k);
			pair_add(counts, idx, label(all[i], s->topo_key), count_matching(p, all[i], s->selector));
		}
	}
	double *w = xcalloc(p->nspread, sizeof(*w)), *raw = xcalloc(n, sizeof(*raw));
	for (size_t k = 0; k < p->nspread; k++) {
		snprintf(idx, sizeof(idx), "%zu" SEP, k);
		size_t len = strlen(idx), size = 0;
		const char *key;
		json_t *v;
		json_object_foreach(domains, key, v)
			size += !strncmp(key, idx, len);
		w[k] = log((double)size + 2);
	}
	double max = 0, min = INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (!has_keys(p, nodes[i], false)) {
			raw[i] = -1;  /* ignored: scores 0 */
			continue;
		}
		double s = 0;
		for (size_t k = 0; k < p->nspread; k++) {
			if (p->spread[k].hard)
				continue;
			snprintf(idx, sizeof(idx), "%zu", k);
			int64_t cnt = pair_get(counts, idx, label(nodes[i], p->spread[k].topo_key), NULL);
			s += (double)cnt * w[k] + (double)(p->spread[k].max_skew - 1) * w[k];
		}
		raw[i] = round(s);
		max = raw[i] > max ? raw[i] : max;
		min = raw[i] < min ? raw[i] : min;
	}
	for (size_t i = 0; i < n; i++) {
		if (raw[i] < 0)
			out[i] = 0;
		else if (max == 0)
			out[i] = SCHED_MAX_SCORE;
		else
			out[i] = (int64_t)(SCHED_MAX_SCORE * (max + min - raw[i]) / max);
	}
	free(w);
	free(raw);
}

/* ---- namespaces for namespaceSelector ---- */
static bool any_ns_selector(const SchedPod *p)
{
	for (int k = 0; k < TERM_KINDS; k++)
		for (size_t t = 0; t < p->nterms[k]; t++)
			if (p->terms[k][t].ns_selector)
				return true;
	return false;
}

json_t *sched_namespace_labels(KubeClient *kc, const SchedPod *p)
{
	if (!kc || !any_ns_selector(p))
		return NULL;
	_cleanup_json_ json_t *list = NULL;
	if (kube_get(kc, "/api/v1/namespaces", &list, NULL) < 0)
		return NULL;
	json_t *m = json_object();
	size_t i;
	json_t *ns;
	json_array_foreach(json_object_get(list, "items"), i, ns) {
		const json_t *meta = json_object_get(ns, "metadata");
		const char *name = json_str(meta, "name");
		json_t *labels = json_object_get(meta, "labels");
		if (name)
			json_object_set_new(m, name, json_is_object(labels) ? json_deep_copy(labels) : json_object());
	}
	return m;
}
