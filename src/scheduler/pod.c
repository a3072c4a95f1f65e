/* pod.c - a pod as the scheduler sees it (SchedPod): what it requests, by
 * Kubernetes' PodRequests rules - the containers' sum, each init container
 * taken as a maximum (with the restartable "sidecar" init containers started
 * before it added), sidecars added to the sum, plus spec.overhead; a request
 * left unset falls back to the limit as API defaulting would set it - and,
 * for scoring, the same with 100m CPU / 200Mi memory for unset requests.
 * Host ports, tolerations, node selector, node affinity, the controller
 * owner, priority, pod (anti-)affinity terms and topology spread constraints
 * (with Kubernetes' defaults, matchLabelKeys merged into the selector) are
 * picked out once so filters and scores never walk JSON again.
 */
#include "sched-internal.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <string.h>

typedef struct Req4 {
	int64_t cpu, mem, eph, nz_cpu, nz_mem;
} Req4;

static int64_t quantity_of(const json_t *list, const char *name, bool milli, bool *set)
{
	const char *s = json_str(list, name);
	int64_t v = 0;
	if (!s) {
		const json_t *q = json_object_get(list, name);
		if (json_is_integer(q)) {  /* tolerate numbers for strings */
			*set = true;
			v = json_integer_value(q);
			if (v < 0)
				return 0;
			return milli ? (v > INT64_MAX / 1000 ? INT64_MAX : v * 1000) : v;
		}
		*set = false;
		return 0;
	}
	*set = true;
	if ((milli ? sched_quantity_milli(s, &v) : sched_quantity_value(s, &v)) < 0)
		return 0;
	return v;
}

static int64_t request_of(const json_t *ctr, const char *name, bool milli, bool *set)
{
	const json_t *res = json_object_get(ctr, "resources");
	int64_t v = quantity_of(json_object_get(res, "requests"), name, milli, set);
	if (!*set)
		v = quantity_of(json_object_get(res, "limits"), name, milli, set);
	return v;
}

static Req4 container_req(const json_t *ctr)
{
	Req4 r;
	bool set;
	r.cpu = request_of(ctr, "cpu", true, &set);
	r.nz_cpu = set ? r.cpu : SCHED_DEFAULT_MILLI_CPU;
	r.mem = request_of(ctr, "memory", false, &set);
	r.nz_mem = set ? r.mem : SCHED_DEFAULT_MEMORY;
	r.eph = request_of(ctr, "ephemeral-storage", false, &set);
	return r;
}

static int64_t sadd(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static void req_add(Req4 *a, const Req4 *b)
{
	a->cpu = sadd(a->cpu, b->cpu);
	a->mem = sadd(a->mem, b->mem);
	a->eph = sadd(a->eph, b->eph);
	a->nz_cpu = sadd(a->nz_cpu, b->nz_cpu);
	a->nz_mem = sadd(a->nz_mem, b->nz_mem);
}

#define MAXI(a, b) ((a) > (b) ? (a) : (b))
static void req_max(Req4 *a, const Req4 *b)
{
	a->cpu = MAXI(a->cpu, b->cpu);
	a->mem = MAXI(a->mem, b->mem);
	a->eph = MAXI(a->eph, b->eph);
	a->nz_cpu = MAXI(a->nz_cpu, b->nz_cpu);
	a->nz_mem = MAXI(a->nz_mem, b->nz_mem);
}

static void pod_requests(SchedPod *p, const json_t *spec)
{
	Req4 sum = { 0 }, sidecars = { 0 }, init = { 0 };
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		Req4 r = container_req(c);
		req_add(&sum, &r);
	}
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		Req4 r = container_req(c);
		const char *rp = json_str(c, "restartPolicy");
		if (rp && !strcmp(rp, "Always")) {
			req_add(&sum, &r);
			req_add(&sidecars, &r);
			r = sidecars;
		} else
			req_add(&r, &sidecars);
		req_max(&init, &r);
	}
	req_max(&sum, &init);
	const json_t *oh = json_object_get(spec, "overhead");
	if (oh) {
		bool set;
		Req4 o = { .cpu = quantity_of(oh, "cpu", true, &set), .mem = quantity_of(oh, "memory", false, &set),
			   .eph = quantity_of(oh, "ephemeral-storage", false, &set) };
		o.nz_cpu = o.cpu;
		o.nz_mem = o.mem;
		req_add(&sum, &o);
	}
	p->req = (SchedRes){ sum.cpu, sum.mem, sum.eph };
	p->nz_cpu = sum.nz_cpu;
	p->nz_mem = sum.nz_mem;
}

static void pod_ports(SchedPod *p, const json_t *spec)
{
	size_t i, j, n = 0;
	json_t *c, *port;
	const char *lists[] = { "containers", "initContainers" };
	for (int l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			json_array_foreach(json_object_get(c, "ports"), j, port)
				if (json_int(port, "hostPort", 0) > 0)
					n++;
	if (!n)
		return;
	p->ports = xcalloc(n, sizeof(*p->ports));
	for (int l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			json_array_foreach(json_object_get(c, "ports"), j, port) {
				int hp = (int)json_int(port, "hostPort", 0);
				if (hp <= 0)
					continue;
				SchedPort *sp = &p->ports[p->nports++];
				sp->port = hp;
				snprintf(sp->proto, sizeof(sp->proto), "%s", json_str(port, "protocol") ?: "TCP");
				const char *ip = json_str(port, "hostIP");
				snprintf(sp->ip, sizeof(sp->ip), "%s", ip && strcmp(ip, "0.0.0.0") ? ip : "");
				sp->count = 1;
			}
}

int sched_taint_effect(const char *s)
{
	if (!s || !*s)
		return 0;
	if (!strcmp(s, "NoSchedule"))
		return TAINT_NO_SCHEDULE;
	if (!strcmp(s, "PreferNoSchedule"))
		return TAINT_PREFER_NO_SCHEDULE;
	if (!strcmp(s, "NoExecute"))
		return TAINT_NO_EXECUTE;
	return -1;  /* unknown: matches nothing */
}

static void pod_tolerations(SchedPod *p, const json_t *spec)
{
	const json_t *tols = json_object_get(spec, "tolerations");
	size_t n = json_array_size(tols), i;
	json_t *t;
	if (!n)
		return;
	p->tols = xcalloc(n, sizeof(*p->tols));
	json_array_foreach(tols, i, t) {
		SchedToleration *o = &p->tols[p->ntols++];
		o->key = json_str(t, "key") ?: "";
		o->value = json_str(t, "value") ?: "";
		const char *op = json_str(t, "operator");
		o->exists = op && !strcmp(op, "Exists");
		o->effect = sched_taint_effect(json_str(t, "effect"));
		if (op && *op && !o->exists && strcmp(op, "Equal"))
			o->effect = -1;  /* an unknown operator tolerates nothing */
	}
}

static void pod_terms(SchedPod *p, int kind, const json_t *list, bool weighted)
{
	size_t n = json_array_size(list), i;
	json_t *t;
	if (!n)
		return;
	p->terms[kind] = xcalloc(n, sizeof(SchedPodTerm));
	json_array_foreach(list, i, t) {
		const json_t *term = weighted ? json_object_get(t, "podAffinityTerm") : t;
		const char *key = json_str(term, "topologyKey");
		if (!key || !*key)
			continue;  /* validation requires one */
		SchedPodTerm *o = &p->terms[kind][p->nterms[kind]++];
		const json_t *sel = json_object_get(term, "labelSelector"), *nss = json_object_get(term, "namespaceSelector");
		o->selector = json_is_object(sel) ? sel : NULL;
		o->topo_key = key;
		o->namespaces = json_array_size(json_object_get(term, "namespaces")) ? json_object_get(term, "namespaces") : NULL;
		o->ns_selector = json_is_object(nss) ? nss : NULL;
		o->weight = weighted ? json_int(t, "weight", 0) : 1;
	}
}

/* selector plus "key In (the pod's value)" for each of keys the pod has */
static const json_t *merge_label_keys(SchedPod *p, const json_t *sel, const json_t *keys)
{
	if (!json_array_size(keys) || !json_is_object(sel))
		return sel;
	json_t *m = json_deep_copy(sel), *exprs = json_object_get(m, "matchExpressions");
	if (!json_is_array(exprs)) {
		exprs = json_array();
		json_object_set_new(m, "matchExpressions", exprs);
	}
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) {
		const char *v = json_is_string(k) ? json_str(p->labels, json_string_value(k)) : NULL;
		if (v)
			json_array_append_new(exprs, json_pack("{s:s, s:s, s:[s]}", "key", json_string_value(k), "operator",
							       "In", "values", v));
	}
	if (!p->owned)
		p->owned = json_array();
	json_array_append_new(p->owned, m);
	return m;
}

static void pod_spread(SchedPod *p, const json_t *spec)
{
	const json_t *list = json_object_get(spec, "topologySpreadConstraints");
	size_t n = json_array_size(list), i;
	json_t *c;
	if (!n)
		return;
	p->spread = xcalloc(n, sizeof(*p->spread));
	json_array_foreach(list, i, c) {
		const char *key = json_str(c, "topologyKey"), *wu = json_str(c, "whenUnsatisfiable");
		if (!key || !*key)
			continue;
		SchedSpread *o = &p->spread[p->nspread++];
		o->topo_key = key;
		o->max_skew = json_int(c, "maxSkew", 1);
		if (o->max_skew < 1)
			o->max_skew = 1;
		o->min_domains = json_int(c, "minDomains", 1);
		o->hard = !wu || strcmp(wu, "ScheduleAnyway");
		const char *nap = json_str(c, "nodeAffinityPolicy"), *ntp = json_str(c, "nodeTaintsPolicy");
		o->honor_affinity = !nap || strcmp(nap, "Ignore");
		o->honor_taints = ntp && !strcmp(ntp, "Honor");
		const json_t *sel = json_object_get(c, "labelSelector");
		o->selector = merge_label_keys(p, json_is_object(sel) ? sel : NULL, json_object_get(c, "matchLabelKeys"));
	}
}

SchedPod *sched_pod_new(const json_t *pod)
{
	SchedPod *p = xcalloc(1, sizeof(*p));
	p->obj = json_incref((json_t *)pod);
	const json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	p->ns = json_str(meta, "namespace") ?: "";
	p->name = json_str(meta, "name") ?: "";
	p->uid = json_str(meta, "uid") ?: "";
	p->labels = json_object_get(meta, "labels");
	p->priority = json_int(spec, "priority", 0);
	const char *pp = json_str(spec, "preemptionPolicy");
	p->preempt_never = pp && !strcmp(pp, "Never");
	p->terminating = json_str(meta, "deletionTimestamp") != NULL;
	p->node_name = json_str(spec, "nodeName");
	if (p->node_name && !*p->node_name)
		p->node_name = NULL;
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
		if (json_bool(ref, "controller", false))
			p->owner_uid = json_str(ref, "uid");
	pod_requests(p, spec);
	pod_ports(p, spec);
	pod_tolerations(p, spec);
	const json_t *ns = json_object_get(spec, "nodeSelector");
	p->node_selector = json_is_object(ns) && json_object_size(ns) ? ns : NULL;
	const json_t *na = json_object_get(json_object_get(spec, "affinity"), "nodeAffinity");
	const json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
	if (json_is_object(req)) {  /* required affinity without terms matches nothing */
		p->has_required = true;
		p->required_terms = json_object_get(req, "nodeSelectorTerms");
	}
	const json_t *pref = json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
	p->preferred = json_array_size(pref) ? pref : NULL;
	const json_t *aff = json_object_get(spec, "affinity");
	const json_t *pa = json_object_get(aff, "podAffinity"), *paa = json_object_get(aff, "podAntiAffinity");
	pod_terms(p, TERM_AFF_REQ, json_object_get(pa, "requiredDuringSchedulingIgnoredDuringExecution"), false);
	pod_terms(p, TERM_ANTI_REQ, json_object_get(paa, "requiredDuringSchedulingIgnoredDuringExecution"), false);
	pod_terms(p, TERM_AFF_PREF, json_object_get(pa, "preferredDuringSchedulingIgnoredDuringExecution"), true);
	pod_terms(p, TERM_ANTI_PREF, json_object_get(paa, "preferredDuringSchedulingIgnoredDuringExecution"), true);
	pod_spread(p, spec);
	return p;
}

void sched_pod_free(SchedPod *p)
{
	if (!p)
		return;
	json_decref(p->obj);
	free(p->ports);
	free(p->tols);
	for (int k = 0; k < TERM_KINDS; k++)
		free(p->terms[k]);
	free(p->spread);
	json_decref(p->owned);
	free(p);
}

static bool pod_terminal(const json_t *pod)
{
	const char *phase = json_str(json_object_get(pod, "status"), "phase");
	return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

bool sched_pod_wants_scheduling(const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *sn = json_str(spec, "schedulerName"), *node = json_str(spec, "nodeName");
	if ((sn && strcmp(sn, SCHED_DEFAULT_NAME)) || (node && *node))
		return false;
	if (json_str(json_object_get(pod, "metadata"), "deletionTimestamp"))
		return false;
	if (json_array_size(json_object_get(spec, "schedulingGates")))
		return false;
	return !pod_terminal(pod);
}

bool sched_pod_is_assigned(const json_t *pod)
{
	const char *node = json_str(json_object_get(pod, "spec"), "nodeName");
	return node && *node && !pod_terminal(pod);
}
