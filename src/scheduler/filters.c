/* filters.c - can a pod run on a node?  kube-scheduler's default filter
 * plugins in their order (NodeUnschedulable, NodeName, TaintToleration,
 * NodeAffinity, NodePorts, NodeResourcesFit), each worded as the plugin words
 * its failure, and the FitError message built from the failures of every
 * node: reasons counted, "<count> <reason>" strings sorted bytewise, then the
 * preemption pass's verdict per node (berth does not preempt: a node whose
 * failure no eviction could fix is "Preemption is not helpful for
 * scheduling", any other "No preemption victims found for incoming pod", as
 * kube-scheduler says when no pod of lower priority runs there).
 */
#include "sched-internal.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNSCHEDULABLE_TAINT "node.kubernetes.io/unschedulable"

static void reason(SchedReasons *out, bool unresolvable, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reason(SchedReasons *out, bool unresolvable, const char *fmt, ...)
{
	if (!out)
		return;
	if (unresolvable)
		out->unresolvable = true;
	if (out->n >= SCHED_MAX_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->r[out->n++], sizeof(out->r[0]), fmt, ap);
	va_end(ap);
}

/* Kubernetes' Toleration.ToleratesTaint */
static bool tolerates_one(const SchedToleration *t, const SchedTaint *taint)
{
	if (t->effect && t->effect != taint->effect)
		return false;
	if (*t->key && strcmp(t->key, taint->key))
		return false;
	return t->exists || !strcmp(t->value, taint->value);
}

bool sched_tolerates(const SchedToleration *tols, size_t ntols, const SchedTaint *t)
{
	for (size_t i = 0; i < ntols; i++)
		if (tolerates_one(&tols[i], t))
			return true;
	return false;
}

bool sched_filter_unschedulable(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	if (!n->unschedulable)
		return true;
	SchedTaint t = { UNSCHEDULABLE_TAINT, "", TAINT_NO_SCHEDULE };
	if (sched_tolerates(p->tols, p->ntols, &t))
		return true;
	reason(out, true, "node(s) were unschedulable");
	return false;
}

bool sched_filter_node_name(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	if (!p->node_name || !strcmp(p->node_name, n->name))
		return true;
	reason(out, true, "node(s) didn't match the requested node name");
	return false;
}

bool sched_filter_taints(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	for (size_t i = 0; i < n->ntaints; i++) {
		const SchedTaint *t = &n->taints[i];
		if (!(t->effect & (TAINT_NO_SCHEDULE | TAINT_NO_EXECUTE)))
			continue;
		if (!sched_tolerates(p->tols, p->ntols, t)) {
			reason(out, true, "node(s) had untolerated taint {%s: %s}", t->key, t->value);
			return false;
		}
	}
	return true;
}

/* ---- node affinity ---- */
static bool in_values(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	return false;
}

static bool parse_i64(const char *s, int64_t *ret)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno)
		return false;
	*ret = v;
	return true;
}

/* One requirement; val NULL when the label (field) is absent. */
static bool requirement_matches(const char *op, const json_t *values, const char *val)
{
	if (!op)
		return false;
	if (!strcmp(op, "In"))
		return val && in_values(values, val);
	if (!strcmp(op, "NotIn"))
		return !val || !in_values(values, val);
	if (!strcmp(op, "Exists"))
		return val != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return val == NULL;
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
		int64_t have, want;
		if (json_array_size(values) != 1 || !parse_i64(json_string_value(json_array_get(values, 0)), &want) ||
		    !parse_i64(val, &have))
			return false;
		return op[0] == 'G' ? have > want : have < want;
	}
	return false;
}

bool sched_term_matches(const json_t *term, const SchedNode *n)
{
	const json_t *exprs = json_object_get(term, "matchExpressions"), *fields = json_object_get(term, "matchFields");
	if (!json_array_size(exprs) && !json_array_size(fields))
		return false;  /* an empty term matches no objects */
	size_t i;
	json_t *e;
	json_array_foreach(exprs, i, e) {
		const char *key = json_str(e, "key");
		const char *val = key ? json_str(n->labels, key) : NULL;
		if (!requirement_matches(json_str(e, "operator"), json_object_get(e, "values"), val))
			return false;
	}
	json_array_foreach(fields, i, e) {
		const char *key = json_str(e, "key"), *op = json_str(e, "operator");
		if (!key || strcmp(key, "metadata.name") || !op || (strcmp(op, "In") && strcmp(op, "NotIn")))
			return false;
		if (!requirement_matches(op, json_object_get(e, "values"), n->name))
			return false;
	}
	return true;
}

bool sched_label_selector_matches(const json_t *sel, const json_t *labels)
{
	if (!json_is_object(sel))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
		const char *have = json_str(labels, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = json_str(e, "key"), *op = json_str(e, "operator");
		if (!key || !op || !strcmp(op, "Gt") || !strcmp(op, "Lt"))
			return false;
		if (!requirement_matches(op, json_object_get(e, "values"), json_str(labels, key)))
			return false;
	}
	return true;
}

static bool selector_matches(const json_t *sel, const json_t *labels)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)sel, k, v) {
		const char *have = json_str(labels, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	return true;
}

bool sched_filter_affinity(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	bool ok = !p->node_selector || selector_matches(p->node_selector, n->labels);
	if (ok && p->has_required) {
		ok = false;
		size_t i;
		json_t *t;
		json_array_foreach(p->required_terms, i, t)
			if (sched_term_matches(t, n)) {
				ok = true;
				break;
			}
	}
	if (!ok)
		reason(out, true, "node(s) didn't match Pod's node affinity/selector");
	return ok;
}

bool sched_filter_ports(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	for (size_t i = 0; i < p->nports; i++)
		for (size_t j = 0; j < n->nports; j++) {
			const SchedPort *a = &p->ports[i], *b = &n->ports[j];
			if (a->port != b->port || strcmp(a->proto, b->proto))
				continue;
			if (!*a->ip || !*b->ip || !strcmp(a->ip, b->ip)) {
				reason(out, false, "node(s) didn't have free ports for the requested pod ports");
				return false;
			}
		}
	return true;
}

/* NodeResourcesFit: every shortage is a reason; unresolvable when the pod
 * asks more than the node has at all. */
bool sched_filter_resources(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	bool ok = true;
	if (n->npods + 1 > n->alloc_pods) {
		reason(out, false, "Too many pods");
		ok = false;
	}
	const SchedRes *r = &p->req, *a = &n->alloc, *u = &n->used;
	if (!r->milli_cpu && !r->memory && !r->ephemeral)
		return ok;
	if (r->milli_cpu > 0 && r->milli_cpu > a->milli_cpu - u->milli_cpu) {
		reason(out, r->milli_cpu > a->milli_cpu, "Insufficient cpu");
		ok = false;
	}
	if (r->memory > 0 && r->memory > a->memory - u->memory) {
		reason(out, r->memory > a->memory, "Insufficient memory");
		ok = false;
	}
	if (r->ephemeral > 0 && r->ephemeral > a->ephemeral - u->ephemeral) {
		reason(out, r->ephemeral > a->ephemeral, "Insufficient ephemeral-storage");
		ok = false;
	}
	return ok;
}

bool sched_filter(const SchedPod *p, const SchedNode *n, SchedReasons *out)
{
	return sched_filter_unschedulable(p, n, out) && sched_filter_node_name(p, n, out) &&
	       sched_filter_taints(p, n, out) && sched_filter_affinity(p, n, out) && sched_filter_ports(p, n, out) &&
	       sched_filter_resources(p, n, out);
}

/* The room a nominated preemptor made stays held for it: pods of lower
 * priority do not fit into it, and it counts as a pod on the node for
 * their inter-pod affinity and spreading.  Counts are not monotonic (an
 * affinity may be met only by the nominated pod), so a pod that fits with
 * them must also fit without, as kube-scheduler runs the filters twice. */
bool sched_filter_nominated(const SchedPod *p, SchedNode *n, SchedCycle *c, SchedReasons *out)
{
	if (!n->nnom)
		return sched_filter_cycle(p, n, c, out);
	size_t held = sched_node_hold_nominated(n, p, 1);
	bool counted = held && c && c->active, aff_any = counted && c->aff_any;
	if (counted)
		for (size_t i = 0; i < n->nnom; i++)
			if (sched_nominated_counts_for(n->nominated[i], p))
				sched_cycle_nominated(c, p, n, n->nominated[i], 1);
	bool ok = sched_filter_cycle(p, n, c, out);
	if (counted) {
		for (size_t i = 0; i < n->nnom; i++)
			if (sched_nominated_counts_for(n->nominated[i], p))
				sched_cycle_nominated(c, p, n, n->nominated[i], -1);
		c->aff_any = aff_any;
	}
	if (held)
		sched_node_hold_nominated(n, p, -1);
	if (ok && counted)
		ok = sched_filter_cycle(p, n, c, out);
	return ok;
}

/* ---- the FitError message ---- */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* "<count> <reason>" of the histogram, sorted and joined with ", " */
static void add_histogram(StrBuf *sb, json_t *hist)
{
	size_t n = json_object_size(hist), i = 0;
	char **v = xcalloc(n ? n : 1, sizeof(*v));
	const char *k;
	json_t *c;
	json_object_foreach(hist, k, c)
		v[i++] = xasprintf("%lld %s", (long long)json_integer_value(c), k);
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++) {
		sb_adds(sb, i ? ", " : " ");
		sb_adds(sb, v[i]);
		free(v[i]);
	}
	free(v);
}

static void count(json_t *hist, const char *r)
{
	json_t *c = json_object_get(hist, r);
	if (c)
		json_integer_set(c, json_integer_value(c) + 1);
	else
		json_object_set_new(hist, r, json_integer(1));
}

char *sched_fit_message_post(const SchedReasons *reasons, size_t nnodes, const char *post)
{
	_cleanup_json_ json_t *hist = json_object();
	for (size_t i = 0; i < nnodes; i++)
		for (int j = 0; j < reasons[i].n; j++)
			count(hist, reasons[i].r[j]);
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	sb_addf(&sb, "0/%zu nodes are available:", nnodes);
	add_histogram(&sb, hist);
	sb_addc(&sb, '.');
	if (post)
		sb_addf(&sb, " preemption: %s", post);
	return sb_detach(&sb);
}

char *sched_fit_message(const SchedReasons *reasons, size_t nnodes)
{
	if (!nnodes)
		return xstrdup("no nodes available to schedule pods");
	_cleanup_json_ json_t *hist = json_object(), *pre = json_object();
	for (size_t i = 0; i < nnodes; i++) {
		for (int j = 0; j < reasons[i].n; j++)
			count(hist, reasons[i].r[j]);
		count(pre, reasons[i].unresolvable ? "Preemption is not helpful for scheduling"
						   : "No preemption victims found for incoming pod");
	}
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	sb_addf(&sb, "0/%zu nodes are available:", nnodes);
	add_histogram(&sb, hist);
	sb_addf(&sb, ". preemption: 0/%zu nodes are available:", nnodes);
	add_histogram(&sb, pre);
	sb_addc(&sb, '.');
	return sb_detach(&sb);
}
