/* endpoints.c - the Endpoints and EndpointSlice (discovery.k8s.io/v1)
 * controllers: for every Service with a selector, the pods it selects become
 * its endpoints, as Kubernetes' EndpointController / EndpointSliceController.
 *
 * Both are one queue keyed by the Service ("ns/name"), fed by Service events
 * and by pod events (the services of the pod's namespace whose selector
 * matches the old or new labels).  The pure functions ep_build_endpoints and
 * ep_build_slices compute the desired objects from (service, pods); the syncs
 * read what exists through the API and create / update / delete to match.
 *
 * Rules (as Kubernetes): a pod counts when it has a podIP and is not
 * terminal; ready pods go to addresses (slice: conditions.ready true),
 * not-ready ones to notReadyAddresses unless publishNotReadyAddresses; the
 * target port is the number or the container port of that name (pods without
 * it are left out of that port's set); addresses carry targetRef, nodeName
 * and hostname (pod hostname + subdomain == service name).  Slices hold at
 * most EP_SLICE_MAX endpoints, are labelled kubernetes.io/service-name and
 * endpointslice.kubernetes.io/managed-by, and are owned by the Service (the
 * API server's GC removes them with it).  The Endpoints of Services without
 * a selector are the user's: left alone, and mirrored into slices managed by
 * endpointslicemirroring-controller.k8s.io (as Kubernetes does).
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>

#define EP_SLICE_MAX 100
#define SLICE_MANAGER "endpointslice-controller.k8s.io"
#define MIRROR_MANAGER "endpointslicemirroring-controller.k8s.io"

/* ---- pure computation ---- */

static bool pod_counts(const json_t *pod)
{
	const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
	const char *ip = json_str(json_object_get(pod, "status"), "podIP");
	return ip && *ip && strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
}

/* The container port of pod named `name` with protocol, or -1. */
static int named_port(const json_t *pod, const char *name, const char *proto)
{
	size_t i, j;
	json_t *c, *p;
	json_array_foreach(json_path(pod, "spec.containers"), i, c)
		json_array_foreach(json_object_get(c, "ports"), j, p) {
			const char *pp = json_str(p, "protocol") ?: "TCP";
			if (!strcmp(json_str(p, "name") ?: "", name) && !strcmp(pp, proto))
				return (int)json_int(p, "containerPort", -1);
		}
	return -1;
}

int ep_target_port(const json_t *svc_port, const json_t *pod)
{
	const json_t *tp = json_object_get(svc_port, "targetPort");
	const char *proto = json_str(svc_port, "protocol") ?: "TCP";
	if (json_is_integer(tp) && json_integer_value(tp) > 0)
		return (int)json_integer_value(tp);
	if (json_is_string(tp) && *json_string_value(tp)) {
		char *end;
		long n = strtol(json_string_value(tp), &end, 10);
		if (!*end && n > 0 && n < 65536)
			return (int)n;
		return named_port(pod, json_string_value(tp), proto);
	}
	return (int)json_int(svc_port, "port", -1);
}

/* The ports of svc this pod serves, as EndpointPort objects [{name,port,protocol}]. */
static json_t *pod_ports(const json_t *svc, const json_t *pod)
{
	json_t *out = json_array();
	size_t i;
	json_t *sp;
	json_array_foreach(json_path(svc, "spec.ports"), i, sp) {
		int port = ep_target_port(sp, pod);
		if (port <= 0)
			continue;
		json_t *p = json_pack("{s:i,s:s}", "port", port, "protocol", json_str(sp, "protocol") ?: "TCP");
		if (json_str(sp, "name") && *json_str(sp, "name"))
			json_object_set_new(p, "name", json_string(json_str(sp, "name")));
		if (json_str(sp, "appProtocol"))
			json_object_set_new(p, "appProtocol", json_string(json_str(sp, "appProtocol")));
		json_array_append_new(out, p);
	}
	return out;
}

static bool pod_selected(const json_t *svc, const json_t *pod)
{
	const json_t *sel = json_path(svc, "spec.selector");
	if (!json_is_object(sel) || !json_object_size(sel))
		return false;
	if (strcmp(obj_meta(svc, "namespace") ?: "", obj_meta(pod, "namespace") ?: ""))
		return false;
	return sel_map_matches(sel, json_path(pod, "metadata.labels"));
}

/* Hostname of pod for this service (spec.hostname with subdomain == svc name) or NULL. */
static const char *pod_hostname(const json_t *svc, const json_t *pod)
{
	const char *h = json_str(json_object_get(pod, "spec"), "hostname");
	const char *sd = json_str(json_object_get(pod, "spec"), "subdomain");
	if (h && *h && sd && !strcmp(sd, obj_meta(svc, "name") ?: ""))
		return h;
	return NULL;
}

static json_t *target_ref(const json_t *pod)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace", obj_meta(pod, "namespace") ?: "",
			 "name", obj_meta(pod, "name") ?: "", "uid", obj_meta(pod, "uid") ?: "");
}

static bool is_terminating(const json_t *pod) { return json_path(pod, "metadata.deletionTimestamp") != NULL; }

/* Pods of svc that count, sorted by name (stable output). New array. */
static json_t *selected_pods(const json_t *svc, const json_t *pods)
{
	bool publish = json_is_true(json_path(svc, "spec.publishNotReadyAddresses"));
	json_t *out = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (!pod_selected(svc, pod) || !pod_counts(pod))
			continue;
		if (is_terminating(pod) && !publish)
			continue;
		json_array_append(out, pod);
	}
	return out;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(obj_meta(*(json_t *const *)a, "name") ?: "", obj_meta(*(json_t *const *)b, "name") ?: "");
}

static void sort_pods(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	_cleanup_free_ json_t **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), by_name);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
}

/* Find or add the group (subset / slice set) for a port list. */
static json_t *group_for(json_t *groups, const json_t *ports)
{
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g)
		if (json_equal(json_object_get(g, "ports"), (json_t *)ports))
			return g;
	g = json_pack("{s:O,s:[],s:[]}", "ports", ports, "ready", "notready");
	json_array_append_new(groups, g);
	return g;
}

/* Pods grouped by port set: [{ports, ready:[pods], notready:[pods]}]. */
static json_t *group_pods(const json_t *svc, const json_t *pods)
{
	bool publish = json_is_true(json_path(svc, "spec.publishNotReadyAddresses"));
	_cleanup_json_ json_t *sel = selected_pods(svc, pods);
	sort_pods(sel);
	json_t *groups = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(sel, i, pod) {
		_cleanup_json_ json_t *ports = pod_ports(svc, pod);
		if (json_array_size(json_path(svc, "spec.ports")) && !json_array_size(ports))
			continue;
		json_t *g = group_for(groups, ports);
		bool ready = publish || pod_is_ready(pod);
		json_array_append(json_object_get(g, ready ? "ready" : "notready"), pod);
	}
	return groups;
}

static json_t *ep_address(const json_t *svc, const json_t *pod)
{
	json_t *a = json_pack("{s:s,s:o}", "ip", json_str(json_object_get(pod, "status"), "podIP"),
			      "targetRef", target_ref(pod));
	const char *node = json_str(json_object_get(pod, "spec"), "nodeName");
	if (node && *node)
		json_object_set_new(a, "nodeName", json_string(node));
	const char *h = pod_hostname(svc, pod);
	if (h)
		json_object_set_new(a, "hostname", json_string(h));
	return a;
}

static json_t *copy_labels(const json_t *svc)
{
	json_t *l = json_path(svc, "metadata.labels");
	json_t *out = json_is_object(l) ? json_deep_copy(l) : json_object();
	if (!strcmp(json_str(json_object_get(svc, "spec"), "clusterIP") ?: "", "None"))
		json_object_set_new(out, "service.kubernetes.io/headless", json_string(""));
	return out;
}

json_t *ep_build_endpoints(const json_t *svc, const json_t *pods)
{
	_cleanup_json_ json_t *groups = group_pods(svc, pods);
	json_t *subsets = json_array();
	size_t i, j;
	json_t *g, *pod;
	json_array_foreach(groups, i, g) {
		json_t *s = json_object();
		json_t *ready = json_array(), *notready = json_array();
		json_array_foreach(json_object_get(g, "ready"), j, pod)
			json_array_append_new(ready, ep_address(svc, pod));
		json_array_foreach(json_object_get(g, "notready"), j, pod)
			json_array_append_new(notready, ep_address(svc, pod));
		if (json_array_size(ready))
			json_object_set_new(s, "addresses", ready);
		else
			json_decref(ready);
		if (json_array_size(notready))
			json_object_set_new(s, "notReadyAddresses", notready);
		else
			json_decref(notready);
		if (json_array_size(json_object_get(g, "ports")))
			json_object_set(s, "ports", json_object_get(g, "ports"));
		json_array_append_new(subsets, s);
	}
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:o}", "apiVersion", "v1", "kind", "Endpoints", "metadata",
			 "name", obj_meta(svc, "name") ?: "", "namespace", obj_meta(svc, "namespace") ?: "",
			 "labels", copy_labels(svc), "subsets", subsets);
}

static json_t *slice_endpoint(const json_t *svc, const json_t *pod, bool ready)
{
	json_t *e = json_pack("{s:[s],s:{s:b,s:b,s:b},s:o}", "addresses",
			      json_str(json_object_get(pod, "status"), "podIP"), "conditions", "ready", ready,
			      "serving", pod_is_ready(pod), "terminating", is_terminating(pod), "targetRef",
			      target_ref(pod));
	const char *node = json_str(json_object_get(pod, "spec"), "nodeName");
	if (node && *node)
		json_object_set_new(e, "nodeName", json_string(node));
	const char *h = pod_hostname(svc, pod);
	if (h)
		json_object_set_new(e, "hostname", json_string(h));
	return e;
}

static json_t *slice_new(const json_t *svc, const json_t *ports, const char *manager)
{
	const char *name = obj_meta(svc, "name") ?: "";
	json_t *labels = copy_labels(svc);
	json_object_set_new(labels, "kubernetes.io/service-name", json_string(name));
	json_object_set_new(labels, "endpointslice.kubernetes.io/managed-by", json_string(manager));
	json_t *owner = json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", "v1", "kind", "Service", "name",
				  name, "uid", obj_meta(svc, "uid") ?: "", "controller", 1, "blockOwnerDeletion", 1);
	_cleanup_free_ char *gen = xasprintf("%s-", name);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:o},s:s,s:O,s:[]}", "apiVersion", "discovery.k8s.io/v1", "kind",
			 "EndpointSlice", "metadata", "generateName", gen, "namespace", obj_meta(svc, "namespace") ?: "",
			 "labels", labels, "ownerReferences", owner, "addressType", "IPv4", "ports", ports,
			 "endpoints");
}

json_t *ep_build_slices(const json_t *svc, const json_t *pods)
{
	bool publish = json_is_true(json_path(svc, "spec.publishNotReadyAddresses"));
	_cleanup_json_ json_t *groups = group_pods(svc, pods);
	json_t *out = json_array();
	size_t i, j;
	json_t *g, *pod;
	json_array_foreach(groups, i, g) {
		json_t *cur = NULL;
		for (int pass = 0; pass < 2; pass++)
			json_array_foreach(json_object_get(g, pass ? "notready" : "ready"), j, pod) {
				if (!cur || json_array_size(json_object_get(cur, "endpoints")) >= EP_SLICE_MAX) {
					cur = slice_new(svc, json_object_get(g, "ports"), SLICE_MANAGER);
					json_array_append_new(out, cur);
				}
				bool ready = publish || pod_is_ready(pod);
				json_array_append_new(json_object_get(cur, "endpoints"), slice_endpoint(svc, pod, ready));
			}
	}
	if (!json_array_size(out)) {  /* Kubernetes keeps one empty slice for a service with no endpoints */
		_cleanup_json_ json_t *ports = json_array();
		json_array_append_new(out, slice_new(svc, ports, SLICE_MANAGER));
	}
	return out;
}

/* An Endpoints address as a slice endpoint. */
static json_t *mirror_endpoint(const json_t *a, bool ready)
{
	json_t *e = json_pack("{s:[s],s:{s:b}}", "addresses", json_str(a, "ip") ?: "", "conditions", "ready", ready);
	const char *keys[] = { "hostname", "nodeName" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_str(a, keys[i]))
			json_object_set_new(e, keys[i], json_string(json_str(a, keys[i])));
	if (json_is_object(json_object_get(a, "targetRef")))
		json_object_set(e, "targetRef", json_object_get(a, "targetRef"));
	return e;
}

json_t *ep_mirror_slices(const json_t *svc, const json_t *endpoints)
{
	json_t *out = json_array();
	if (!endpoints || !strcmp(json_str(json_path(endpoints, "metadata.labels"),
					   "endpointslice.kubernetes.io/skip-mirror") ?: "", "true"))
		return out;
	size_t i, j;
	json_t *ss, *a;
	json_array_foreach(json_object_get(endpoints, "subsets"), i, ss) {
		json_t *cur = NULL;
		for (int pass = 0; pass < 2; pass++)
			json_array_foreach(json_object_get(ss, pass ? "notReadyAddresses" : "addresses"), j, a) {
				if (!json_str(a, "ip") || strchr(json_str(a, "ip"), ':'))
					continue;  /* IPv4 slices only */
				if (!cur || json_array_size(json_object_get(cur, "endpoints")) >= EP_SLICE_MAX) {
					json_t *ports = json_object_get(ss, "ports");
					_cleanup_json_ json_t *none = json_array();
					cur = slice_new(svc, ports ? ports : none, MIRROR_MANAGER);
					json_array_append_new(out, cur);
				}
				json_array_append_new(json_object_get(cur, "endpoints"), mirror_endpoint(a, !pass));
			}
	}
	return out;
}

bool ep_service_selects(const json_t *svc, const json_t *pod) { return pod_selected(svc, pod); }

/* ---- syncs ---- */

static bool has_selector(const json_t *svc)
{
	const json_t *sel = json_path(svc, "spec.selector");
	return json_is_object(sel) && json_object_size(sel) > 0;
}

/* Equal, treating missing, null, [] and {} alike (the server drops empty fields). */
static bool same_or_empty(const json_t *a, const json_t *b)
{
	bool ae = !a || json_is_null(a) || ((json_is_array(a) ? json_array_size(a) : json_object_size(a)) == 0 &&
					     (json_is_array(a) || json_is_object(a)));
	bool be = !b || json_is_null(b) || ((json_is_array(b) ? json_array_size(b) : json_object_size(b)) == 0 &&
					     (json_is_array(b) || json_is_object(b)));
	if (ae || be)
		return ae && be;
	return json_equal((json_t *)a, (json_t *)b);
}

static int sync_endpoints(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/endpoints/%s", ns, name);
	_cleanup_json_ json_t *svc = informer_get(c->inf, ns, name);
	if (!svc) {
		int r = kube_delete(c->m->kc, path, err);
		if (r == -ENOENT) {
			err_freep(err);
			return 0;
		}
		return r;
	}
	if (!has_selector(svc))
		return 0;
	_cleanup_json_ json_t *pods = informer_list(c->m->pods, ns);
	_cleanup_json_ json_t *want = ep_build_endpoints(svc, pods);
	_cleanup_json_ json_t *have = NULL;
	_cleanup_err_ Error *gerr = NULL;
	int r = kube_get(c->m->kc, path, &have, &gerr);
	if (r == -ENOENT) {
		_cleanup_free_ char *coll = xasprintf("/api/v1/namespaces/%s/endpoints", ns);
		return kube_post(c->m->kc, coll, want, NULL, err);
	}
	if (r < 0) {
		*err = TAKE_PTR(gerr);
		return r;
	}
	if (same_or_empty(json_object_get(have, "subsets"), json_object_get(want, "subsets")) &&
	    same_or_empty(json_path(have, "metadata.labels"), json_path(want, "metadata.labels")))
		return 0;
	json_object_set(json_object_get(want, "metadata"), "resourceVersion",
			json_path(have, "metadata.resourceVersion"));
	return kube_put(c->m->kc, path, want, NULL, err);
}

static bool slice_same(const json_t *have, const json_t *want)
{
	return same_or_empty(json_object_get(have, "ports"), json_object_get(want, "ports")) &&
	       same_or_empty(json_object_get(have, "endpoints"), json_object_get(want, "endpoints")) &&
	       same_or_empty(json_path(have, "metadata.labels"), json_path(want, "metadata.labels"));
}

/* Make the slices of ns/name managed by `manager` what want says. */
static int reconcile_slices(Ctl *c, const char *ns, const char *name, const char *manager, json_t *want,
			    Error **err)
{
	_cleanup_free_ char *coll = xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
	_cleanup_free_ char *list = xasprintf("%s?labelSelector=kubernetes.io/service-name%%3D%s,"
					      "endpointslice.kubernetes.io/managed-by%%3D%s", coll, name, manager);
	_cleanup_json_ json_t *have = NULL;
	int r = kube_get(c->m->kc, list, &have, err);
	if (r < 0)
		return r;
	json_t *items = json_object_get(have, "items");
	size_t nh = json_array_size(items), nw = json_array_size(want);
	for (size_t i = 0; i < nw || i < nh; i++) {
		json_t *h = json_array_get(items, i), *w = json_array_get(want, i);
		_cleanup_free_ char *p = h ? xasprintf("%s/%s", coll, obj_meta(h, "name") ?: "") : NULL;
		if (h && !w)
			r = kube_delete(c->m->kc, p, err);
		else if (!h)
			r = kube_post(c->m->kc, coll, w, NULL, err);
		else if (!slice_same(h, w)) {
			json_t *meta = json_object_get(w, "metadata");
			json_object_del(meta, "generateName");
			json_object_set(meta, "name", json_path(h, "metadata.name"));
			json_object_set(meta, "resourceVersion", json_path(h, "metadata.resourceVersion"));
			r = kube_put(c->m->kc, p, w, NULL, err);
		}
		if (r == -ENOENT && h && !w) {
			err_freep(err);
			r = 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Services with a selector: slices from pods.  Without: slices mirrored from
 * the user's Endpoints (Kubernetes' EndpointSliceMirroring), so the proxy and
 * the DNS, which read slices only, serve them too. */
static int sync_slices(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *svc = informer_get(c->inf, ns, name);
	bool sel = svc && has_selector(svc);
	_cleanup_json_ json_t *pods = sel ? informer_list(c->m->pods, ns) : NULL;
	_cleanup_json_ json_t *eps = svc && !sel ? informer_get(c->m->eps, ns, name) : NULL;
	_cleanup_json_ json_t *want = sel ? ep_build_slices(svc, pods) : json_array();
	_cleanup_json_ json_t *mirror = svc && !sel ? ep_mirror_slices(svc, eps) : json_array();
	int r = 0;
	if (sel || !svc)
		r = reconcile_slices(c, ns, name, SLICE_MANAGER, want, err);
	if (r >= 0 && !sel)
		r = reconcile_slices(c, ns, name, MIRROR_MANAGER, mirror, err);
	return r;
}

/* ---- events ---- */

static void on_service(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev;
	(void)old;
	ctl_enqueue_obj(ud, obj);
}

static void enqueue_matching(Ctl *c, const json_t *pod)
{
	if (!pod)
		return;
	_cleanup_json_ json_t *svcs = informer_list(c->inf, obj_meta(pod, "namespace"));
	size_t i;
	json_t *s;
	json_array_foreach(svcs, i, s)
		if (pod_selected(s, pod))
			ctl_enqueue_obj(c, s);
}

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev;
	enqueue_matching(ud, old);
	enqueue_matching(ud, obj);
}

void ep_ctl_init(Ctl *c, Manager *m, bool slices)
{
	*c = (Ctl){ .m = m, .sync = slices ? sync_slices : sync_endpoints };
	c->name = slices ? "endpointslice" : "endpoints";
	c->inf = m->svc;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(c->inf, on_service, c);
	informer_add_handler(m->pods, on_pod, c);
	if (slices)
		informer_add_handler(m->eps, on_service, c);  /* an Endpoints key is its Service's key */
}
