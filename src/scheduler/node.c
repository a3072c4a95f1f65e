/* node.c - a node as the scheduler sees it (SchedNode): allocatable CPU,
 * memory, ephemeral storage and pod count, labels, taints, unschedulable,
 * and the running sum of what the pods bound (or assumed) to it request,
 * their host ports, how many pods of each controller it holds (for
 * spreading) and the list of those pods (inter-pod affinity, topology
 * spread, preemption victims).  A node whose Ready condition is not True gets the taint the
 * node lifecycle controller would give it (node.kubernetes.io/not-ready, or
 * unreachable when Unknown) with effect NoSchedule, so a pod tolerating it
 * may still land there, as in Kubernetes.
 */
#include "sched-internal.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <string.h>

#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"

static int64_t qty(const json_t *list, const char *name, bool milli)
{
	const char *s = json_str(list, name);
	int64_t v = 0;
	if (s && (milli ? sched_quantity_milli(s, &v) : sched_quantity_value(s, &v)) == 0)
		return v;
	const json_t *n = json_object_get(list, name);
	if (json_is_integer(n) && json_integer_value(n) > 0) {
		v = json_integer_value(n);
		return milli ? (v > INT64_MAX / 1000 ? INT64_MAX : v * 1000) : v;
	}
	return 0;
}

/* The synthetic taint for a node that is not Ready, or NULL. */
static const char *readiness_taint(const json_t *node)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
		const char *type = json_str(c, "type"), *st = json_str(c, "status");
		if (!type || strcmp(type, "Ready"))
			continue;
		if (st && !strcmp(st, "True"))
			return NULL;
		return st && !strcmp(st, "Unknown") ? TAINT_UNREACHABLE : TAINT_NOT_READY;
	}
	return TAINT_NOT_READY;
}

SchedNode *sched_node_new(const json_t *node)
{
	SchedNode *n = xcalloc(1, sizeof(*n));
	n->obj = json_incref((json_t *)node);
	const json_t *meta = json_object_get(node, "metadata"), *spec = json_object_get(node, "spec"),
		     *status = json_object_get(node, "status");
	n->name = json_str(meta, "name") ?: "";
	n->labels = json_object_get(meta, "labels");
	n->unschedulable = json_bool(spec, "unschedulable", false);
	const json_t *alloc = json_object_get(status, "allocatable");
	if (!json_is_object(alloc))
		alloc = json_object_get(status, "capacity");
	n->alloc.milli_cpu = qty(alloc, "cpu", true);
	n->alloc.memory = qty(alloc, "memory", false);
	n->alloc.ephemeral = qty(alloc, "ephemeral-storage", false);
	n->alloc_pods = qty(alloc, "pods", false);
	const json_t *taints = json_object_get(spec, "taints");
	const char *rt = readiness_taint(node);
	n->taints = xcalloc(json_array_size(taints) + 1, sizeof(*n->taints));
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t) {
		int eff = sched_taint_effect(json_str(t, "effect"));
		if (eff <= 0)
			continue;
		SchedTaint *o = &n->taints[n->ntaints++];
		o->key = json_str(t, "key") ?: "";
		o->value = json_str(t, "value") ?: "";
		o->effect = eff;
		if (rt && eff == TAINT_NO_SCHEDULE && !strcmp(o->key, rt))
			rt = NULL;  /* already there */
	}
	if (rt)
		n->taints[n->ntaints++] = (SchedTaint){ rt, "", TAINT_NO_SCHEDULE };
	n->owners = json_object();
	return n;
}

void sched_node_free(SchedNode *n)
{
	if (!n)
		return;
	json_decref(n->obj);
	free(n->taints);
	free(n->ports);
	json_decref(n->owners);
	free(n->pods);
	free(n->nominated);
	free(n);
}

static int64_t sadd(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static void port_add(SchedNode *n, const SchedPort *p)
{
	for (size_t i = 0; i < n->nports; i++)
		if (n->ports[i].port == p->port && !strcmp(n->ports[i].proto, p->proto) && !strcmp(n->ports[i].ip, p->ip)) {
			n->ports[i].count++;
			return;
		}
	if (n->nports == n->cports) {
		n->cports = n->cports ? n->cports * 2 : 4;
		n->ports = xrealloc(n->ports, n->cports * sizeof(*n->ports));
	}
	n->ports[n->nports] = *p;
	n->ports[n->nports++].count = 1;
}

static void port_remove(SchedNode *n, const SchedPort *p)
{
	for (size_t i = 0; i < n->nports; i++)
		if (n->ports[i].port == p->port && !strcmp(n->ports[i].proto, p->proto) && !strcmp(n->ports[i].ip, p->ip)) {
			if (--n->ports[i].count <= 0)
				n->ports[i] = n->ports[--n->nports];
			return;
		}
}

void sched_node_add_pod(SchedNode *n, const SchedPod *p)
{
	n->used.milli_cpu = sadd(n->used.milli_cpu, p->req.milli_cpu);
	n->used.memory = sadd(n->used.memory, p->req.memory);
	n->used.ephemeral = sadd(n->used.ephemeral, p->req.ephemeral);
	n->nz_cpu = sadd(n->nz_cpu, p->nz_cpu);
	n->nz_mem = sadd(n->nz_mem, p->nz_mem);
	n->npods++;
	for (size_t i = 0; i < p->nports; i++)
		port_add(n, &p->ports[i]);
	if (n->nlist == n->clist) {
		n->clist = n->clist ? n->clist * 2 : 8;
		n->pods = xrealloc(n->pods, n->clist * sizeof(*n->pods));
	}
	n->pods[n->nlist++] = p;
	if (sched_pod_has_terms(p))
		n->naffinity++;
	if (p->owner_uid) {
		json_t *c = json_object_get(n->owners, p->owner_uid);
		if (c)
			json_integer_set(c, json_integer_value(c) + 1);
		else
			json_object_set_new(n->owners, p->owner_uid, json_integer(1));
	}
}

void sched_node_remove_pod(SchedNode *n, const SchedPod *p)
{
	n->used.milli_cpu -= p->req.milli_cpu;
	n->used.memory -= p->req.memory;
	n->used.ephemeral -= p->req.ephemeral;
	n->nz_cpu -= p->nz_cpu;
	n->nz_mem -= p->nz_mem;
	n->npods--;
	for (size_t i = 0; i < p->nports; i++)
		port_remove(n, &p->ports[i]);
	for (size_t i = n->nlist; i-- > 0;)
		if (n->pods[i] == p) {
			n->pods[i] = n->pods[--n->nlist];
			break;
		}
	if (sched_pod_has_terms(p))
		n->naffinity--;
	if (p->owner_uid) {
		json_t *c = json_object_get(n->owners, p->owner_uid);
		if (c && json_integer_value(c) > 1)
			json_integer_set(c, json_integer_value(c) - 1);
		else if (c)
			json_object_del(n->owners, p->owner_uid);
	}
}

void sched_node_take_accounting(SchedNode *n, SchedNode *old)
{
	n->used = old->used;
	n->nz_cpu = old->nz_cpu;
	n->nz_mem = old->nz_mem;
	n->npods = old->npods;
	free(n->ports);
	n->ports = TAKE_PTR(old->ports);
	n->nports = old->nports;
	n->cports = old->cports;
	old->nports = old->cports = 0;
	json_decref(n->owners);
	n->owners = json_incref(old->owners);
	free(n->pods);
	n->pods = TAKE_PTR(old->pods);
	n->nlist = old->nlist;
	n->clist = old->clist;
	n->naffinity = old->naffinity;
	old->nlist = old->clist = 0;
	free(n->nominated);
	n->nominated = TAKE_PTR(old->nominated);
	n->nnom = old->nnom;
	n->cnom = old->cnom;
	old->nnom = old->cnom = 0;
}

void sched_node_nominate(SchedNode *n, const SchedPod *p)
{
	if (n->nnom == n->cnom) {
		n->cnom = n->cnom ? n->cnom * 2 : 4;
		n->nominated = xrealloc(n->nominated, n->cnom * sizeof(*n->nominated));
	}
	n->nominated[n->nnom++] = p;
}

void sched_node_unnominate(SchedNode *n, const SchedPod *p)
{
	for (size_t i = n->nnom; i-- > 0;)
		if (n->nominated[i] == p) {
			n->nominated[i] = n->nominated[--n->nnom];
			return;
		}
}

static bool same_pod(const SchedPod *a, const SchedPod *b)
{
	if (a == b)
		return true;
	if (a->uid && b->uid)
		return !strcmp(a->uid, b->uid);
	return a->ns && b->ns && a->name && b->name && !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name);
}

bool sched_nominated_counts_for(const SchedPod *o, const SchedPod *p)
{
	return o->priority >= p->priority && !same_pod(o, p);
}

/* Only what NodeResourcesFit and NodePorts read (the inter-pod and spread
 * counts are the cycle's: sched_cycle_nominated); a nominated pod is no
 * victim. */
size_t sched_node_hold_nominated(SchedNode *n, const SchedPod *p, int sign)
{
	size_t k = 0;
	for (size_t i = 0; i < n->nnom; i++) {
		const SchedPod *o = n->nominated[i];
		if (!sched_nominated_counts_for(o, p))
			continue;
		k++;
		if (sign > 0) {
			n->used.milli_cpu = sadd(n->used.milli_cpu, o->req.milli_cpu);
			n->used.memory = sadd(n->used.memory, o->req.memory);
			n->used.ephemeral = sadd(n->used.ephemeral, o->req.ephemeral);
			n->npods++;
			for (size_t j = 0; j < o->nports; j++)
				port_add(n, &o->ports[j]);
		} else {
			n->used.milli_cpu -= o->req.milli_cpu;
			n->used.memory -= o->req.memory;
			n->used.ephemeral -= o->req.ephemeral;
			n->npods--;
			for (size_t j = 0; j < o->nports; j++)
				port_remove(n, &o->ports[j]);
		}
	}
	return k;
}
