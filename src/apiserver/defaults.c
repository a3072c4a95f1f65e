/* defaults.c - Kubernetes' defaulting for the served kinds, applied on create
 * and update before validation: what `kubectl get -o yaml` shows a user who
 * wrote only a few lines (restartPolicy, dnsPolicy, imagePullPolicy from the
 * tag, Deployment strategy 25%/25%, Service type and ClusterIP ...).
 *
 * ClusterIPs come from cfg.service_cidr (first address reserved for the
 * `kubernetes` Service), NodePorts from 30000-32767; both are tracked in
 * bitmaps rebuilt from the stored Services on first use.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../shared/podqos.h"
#include <openssl/evp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static void set_default(json_t *obj, const char *key, json_t *value)
{
	if (!json_object_get(obj, key))
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}

static const char *pull_policy(const char *image)
{
	if (!image)
		return "IfNotPresent";
	if (strchr(image, '@'))
		return "IfNotPresent";
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash ? slash : image, ':');
	if (!colon || !strcmp(colon, ":latest"))
		return "Always";
	return "IfNotPresent";
}

static void defaults_container(json_t *c)
{
	set_default(c, "imagePullPolicy", json_string(pull_policy(json_str(c, "image"))));
	set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
	set_default(c, "terminationMessagePolicy", json_string("File"));
	set_default(c, "resources", json_object());
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(c, "ports"), i, p)
		if (json_is_object(p))
			set_default(p, "protocol", json_string("TCP"));
	json_t *env;
	json_array_foreach(json_object_get(c, "env"), i, env) {
		json_t *fr = json_path(env, "valueFrom.fieldRef");
		if (json_is_object(fr))
			set_default(fr, "apiVersion", json_string("v1"));
	}
}

void api_defaults_pod_spec(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default(spec, "restartPolicy", json_string("Always"));
	set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	set_default(spec, "securityContext", json_object());
	set_default(spec, "schedulerName", json_string("default-scheduler"));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
		if (json_is_object(c))
			defaults_container(c);
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
		if (json_is_object(c))
			defaults_container(c);
	json_t *v;
	json_array_foreach(json_object_get(spec, "volumes"), i, v) {
		json_t *src;
		if ((src = json_object_get(v, "configMap")) && json_is_object(src))
			set_default(src, "defaultMode", json_integer(420));
		if ((src = json_object_get(v, "secret")) && json_is_object(src))
			set_default(src, "defaultMode", json_integer(420));
		if ((src = json_object_get(v, "hostPath")) && json_is_object(src))
			set_default(src, "type", json_string(""));
	}
}

static void defaults_template(json_t *obj)
{
	json_t *tmpl = json_path(obj, "spec.template");
	if (!json_is_object(tmpl))
		return;
	set_default(tmpl, "metadata", json_object());
	api_defaults_pod_spec(json_object_get(tmpl, "spec"));
}

/* The globalDefault PriorityClass (a new reference) or NULL.  Looked up at
 * most once a second per store (as Kubernetes' admission reads a lister's
 * cache), so pod creates do not list the classes each time. */
static json_t *global_default_class(Api *api)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static Store *store;
	static json_t *cached;
	static int64_t at_ms;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	pthread_mutex_lock(&lock);
	if (store != api->store || now - at_ms >= 1000) {
		json_decref(cached);
		cached = NULL;
		StoreKVList l;
		int64_t rev;
		bool more;
		if (store_list(api->store, "/registry/priorityclasses.scheduling.k8s.io/", NULL, 0, 0, &l, &rev, &more,
			       NULL) == 0) {
			for (size_t i = 0; i < l.n && !cached; i++) {
				json_t *c = json_loadb(l.items[i].value, l.items[i].value_len, 0, NULL);
				if (json_bool(c, "globalDefault", false))
					cached = c;
				else
					json_decref(c);
			}
			store_kv_list_release(&l);
		}
		store = api->store;
		at_ms = now;
	}
	json_t *r = json_incref(cached);
	pthread_mutex_unlock(&lock);
	return r;
}

/* The Priority admission: spec.priority (and preemptionPolicy) from
 * priorityClassName, the built-in system-*-critical classes, or the class
 * marked globalDefault; 0 when none.  An unknown class leaves 0 (a create
 * is refused before: api_admit_priority). */
static void pod_priority(Api *api, json_t *spec)
{
	const char *pcn = json_str(spec, "priorityClassName");
	if (json_is_integer(json_object_get(spec, "priority")))
		return;
	json_int_t prio = 0;
	_cleanup_json_ json_t *pc = NULL;
	if (pcn && !strcmp(pcn, "system-node-critical"))
		prio = 2000001000;
	else if (pcn && !strcmp(pcn, "system-cluster-critical"))
		prio = 2000000000;
	else if (pcn && *pcn && api) {
		_cleanup_free_ char *key = xasprintf("/registry/priorityclasses.scheduling.k8s.io/%s", pcn);
		StoreKV kv;
		if (store_get(api->store, key, &kv, NULL) == 0) {
			pc = json_loadb(kv.value, kv.value_len, 0, NULL);
			store_kv_release(&kv);
		}
	} else if (api && (pc = global_default_class(api)))
		json_object_set_new(spec, "priorityClassName",
				    json_string(json_str(json_object_get(pc, "metadata"), "name") ?: ""));
	if (pc) {
		prio = json_int(pc, "value", 0);
		const char *pp = json_str(pc, "preemptionPolicy");
		if (pp && !json_object_get(spec, "preemptionPolicy"))
			json_object_set_new(spec, "preemptionPolicy", json_string(pp));
	}
	json_object_set_new(spec, "priority", json_integer(prio));
}

int api_admit_priority(Api *api, const ApiRequest *req, ApiResponse *resp, const json_t *obj)
{
	if (req->res->group[0] || strcmp(req->res->resource, "pods"))
		return 0;
	const char *pcn = json_str(json_object_get(obj, "spec"), "priorityClassName");
	if (!pcn || !*pcn || !strcmp(pcn, "system-node-critical") || !strcmp(pcn, "system-cluster-critical"))
		return 0;
	_cleanup_free_ char *key = xasprintf("/registry/priorityclasses.scheduling.k8s.io/%s", pcn);
	StoreKV kv;
	if (store_get(api->store, key, &kv, NULL) == 0) {
		store_kv_release(&kv);
		return 0;
	}
	api_respond_status(resp, 403, "Forbidden", "pods \"%s\" is forbidden: no PriorityClass with name %s was found",
			   api_meta_str(obj, "name") ?: "", pcn);
	return -EPERM;
}

void api_defaults_pod(Api *api, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	api_defaults_pod_spec(spec);
	set_default(spec, "serviceAccountName", json_string("default"));
	set_default(spec, "serviceAccount", json_string(json_str(spec, "serviceAccountName")));
	set_default(spec, "enableServiceLinks", json_true());
	pod_priority(api, spec);
	set_default(spec, "preemptionPolicy", json_string("PreemptLowerPriority"));
	json_t *tol = json_object_get(spec, "tolerations");
	if (!tol) {
		tol = json_array();
		json_object_set_new(spec, "tolerations", tol);
		const char *keys[] = { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" };
		for (size_t i = 0; i < 2; i++)
			json_array_append_new(tol, json_pack("{s:s, s:s, s:s, s:i}", "key", keys[i], "operator", "Exists",
							     "effect", "NoExecute", "tolerationSeconds", 300));
	}
	json_t *status = json_obj_ensure(obj, "status");
	set_default(status, "phase", json_string("Pending"));
	json_object_set_new(status, "qosClass", json_string(pod_qos_class(obj)));
}

static void defaults_replicas(json_t *spec)
{
	set_default(spec, "replicas", json_integer(1));
	set_default(spec, "revisionHistoryLimit", json_integer(10));
}

void api_defaults_deployment(Api *api, json_t *obj)
{
	(void)api;
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	defaults_replicas(spec);
	set_default(spec, "progressDeadlineSeconds", json_integer(600));
	json_t *st = json_object_get(spec, "strategy");
	if (!json_is_object(st)) {
		st = json_object();
		json_object_set_new(spec, "strategy", st);
	}
	set_default(st, "type", json_string("RollingUpdate"));
	if (json_str(st, "type") && !strcmp(json_str(st, "type"), "RollingUpdate")) {
		json_t *ru = json_obj_ensure(st, "rollingUpdate");
		set_default(ru, "maxUnavailable", json_string("25%"));
		set_default(ru, "maxSurge", json_string("25%"));
	}
	defaults_template(obj);
}

void api_defaults_replicaset(Api *api, json_t *obj)
{
	(void)api;
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	set_default(spec, "replicas", json_integer(1));
	defaults_template(obj);
}

void api_defaults_daemonset(Api *api, json_t *obj)
{
	(void)api;
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	set_default(spec, "revisionHistoryLimit", json_integer(10));
	json_t *st = json_obj_ensure(spec, "updateStrategy");
	set_default(st, "type", json_string("RollingUpdate"));
	if (!strcmp(json_str(st, "type") ? json_str(st, "type") : "", "RollingUpdate")) {
		json_t *ru = json_obj_ensure(st, "rollingUpdate");
		set_default(ru, "maxUnavailable", json_integer(1));
		set_default(ru, "maxSurge", json_integer(0));
	}
	defaults_template(obj);
}

void api_defaults_statefulset(Api *api, json_t *obj)
{
	(void)api;
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	defaults_replicas(spec);
	set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
	json_t *st = json_obj_ensure(spec, "updateStrategy");
	set_default(st, "type", json_string("RollingUpdate"));
	if (!strcmp(json_str(st, "type") ? json_str(st, "type") : "", "RollingUpdate"))
		set_default(json_obj_ensure(st, "rollingUpdate"), "partition", json_integer(0));
	json_t *pol = json_obj_ensure(spec, "persistentVolumeClaimRetentionPolicy");
	set_default(pol, "whenDeleted", json_string("Retain"));
	set_default(pol, "whenScaled", json_string("Retain"));
	defaults_template(obj);
}

static void defaults_job_spec(json_t *spec, const char *uid)
{
	if (!json_is_object(spec))
		return;
	set_default(spec, "parallelism", json_integer(1));
	if (!json_object_get(spec, "completionMode") || !strcmp(json_str(spec, "completionMode") ?: "", "NonIndexed"))
		set_default(spec, "completions", json_integer(1));
	set_default(spec, "backoffLimit", json_integer(6));
	set_default(spec, "completionMode", json_string("NonIndexed"));
	set_default(spec, "suspend", json_false());
	set_default(spec, "podReplacementPolicy", json_string("TerminatingOrFailed"));
	json_t *tmpl = json_object_get(spec, "template");
	if (json_is_object(tmpl)) {
		set_default(tmpl, "metadata", json_object());
		api_defaults_pod_spec(json_object_get(tmpl, "spec"));
	}
	if (uid && !json_object_get(spec, "selector") && !json_is_true(json_object_get(spec, "manualSelector"))) {
		json_object_set_new(spec, "selector", json_pack("{s:{s:s}}", "matchLabels",
								"batch.kubernetes.io/controller-uid", uid));
		json_t *labels = json_obj_ensure(json_obj_ensure(tmpl, "metadata"), "labels");
		json_object_set_new(labels, "batch.kubernetes.io/controller-uid", json_string(uid));
		json_object_set_new(labels, "controller-uid", json_string(uid));
	}
}

void api_defaults_job(Api *api, json_t *obj)
{
	(void)api;
	const char *uid = api_meta_str(obj, "uid");
	defaults_job_spec(json_object_get(obj, "spec"), uid);
	const char *name = api_meta_str(obj, "name");
	json_t *labels = json_path(obj, "spec.template.metadata.labels");
	if (json_is_object(labels) && name && uid) {
		set_default(labels, "batch.kubernetes.io/job-name", json_string(name));
		set_default(labels, "job-name", json_string(name));
	}
}

void api_defaults_cronjob(Api *api, json_t *obj)
{
	(void)api;
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	set_default(spec, "concurrencyPolicy", json_string("Allow"));
	set_default(spec, "suspend", json_false());
	set_default(spec, "successfulJobsHistoryLimit", json_integer(3));
	set_default(spec, "failedJobsHistoryLimit", json_integer(1));
	json_t *jt = json_object_get(spec, "jobTemplate");
	if (json_is_object(jt)) {
		set_default(jt, "metadata", json_object());
		defaults_job_spec(json_object_get(jt, "spec"), NULL);
	}
}

/* stringData is write-only, as in Kubernetes: each entry goes base64-encoded
 * into data (over a key data already has) and stringData is not stored. */
static void secret_merge_string_data(json_t *obj)
{
	json_t *sd = json_object_get(obj, "stringData");
	if (!json_is_object(sd))
		return;
	json_t *data = json_object_get(obj, "data");
	if (!json_is_object(data)) {
		data = json_object();
		json_object_set_new(obj, "data", data);
	}
	const char *k;
	json_t *v;
	json_object_foreach(sd, k, v) {
		if (!json_is_string(v))
			return;  /* validation reports it, nothing is merged */
	}
	json_object_foreach(sd, k, v) {
		size_t n = json_string_length(v);
		_cleanup_free_ unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
		EVP_EncodeBlock(b64, (const unsigned char *)json_string_value(v), (int)n);
		json_object_set_new(data, k, json_string((const char *)b64));
	}
	json_object_del(obj, "stringData");
}

void api_defaults_secret(Api *api, json_t *obj)
{
	(void)api;
	set_default(obj, "type", json_string("Opaque"));
	secret_merge_string_data(obj);
}

/* ---- storage: PV / PVC / StorageClass, and the DefaultStorageClass admission ---- */

#define DEFAULT_SC_ANN "storageclass.kubernetes.io/is-default-class"

/* The default StorageClass's name (caller frees), NULL when none: the
 * newest of those annotated as default, ties broken by name (Kubernetes 1.26+). */
static char *default_storage_class(Api *api)
{
	StoreKVList l;
	int64_t rev;
	bool more;
	if (store_list(api->store, "/registry/storageclasses.storage.k8s.io/", NULL, 0, 0, &l, &rev, &more, NULL) < 0)
		return NULL;
	char *best = NULL, best_ts[64] = "";
	for (size_t i = 0; i < l.n; i++) {
		_cleanup_json_ json_t *sc = json_loadb(l.items[i].value, l.items[i].value_len, 0, NULL);
		const char *def = json_str(json_path(sc, "metadata.annotations"), DEFAULT_SC_ANN);
		if (!def || strcmp(def, "true"))
			continue;
		const char *ts = json_str(json_object_get(sc, "metadata"), "creationTimestamp") ?: "";
		const char *name = json_str(json_object_get(sc, "metadata"), "name") ?: "";
		if (!best || strcmp(ts, best_ts) > 0 || (!strcmp(ts, best_ts) && strcmp(name, best) < 0)) {
			free(best);
			best = xstrdup(name);
			snprintf(best_ts, sizeof(best_ts), "%s", ts);
		}
	}
	store_kv_list_release(&l);
	return best;
}

void api_defaults_pvc(Api *api, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec)) {
		set_default(spec, "volumeMode", json_string("Filesystem"));
		char *sc = json_object_get(spec, "storageClassName") ? NULL : default_storage_class(api);
		if (sc)
			json_object_set_new(spec, "storageClassName", json_string(sc));
		free(sc);
	}
	set_default(obj, "status", json_object());
	set_default(json_object_get(obj, "status"), "phase", json_string("Pending"));
}

void api_defaults_pv(Api *api, json_t *obj)
{
	(void)api;
	json_t *spec = json_object_get(obj, "spec");
	if (json_is_object(spec)) {
		set_default(spec, "volumeMode", json_string("Filesystem"));
		set_default(spec, "persistentVolumeReclaimPolicy", json_string("Retain"));
	}
	set_default(obj, "status", json_object());
	set_default(json_object_get(obj, "status"), "phase", json_string("Pending"));
}

void api_defaults_storageclass(Api *api, json_t *obj)
{
	(void)api;
	set_default(obj, "reclaimPolicy", json_string("Delete"));
	set_default(obj, "volumeBindingMode", json_string("Immediate"));
}

/* ---- Service addresses ---- */

static void bit_set(unsigned char *b, uint32_t i) { b[i / 8] |= (unsigned char)(1u << (i % 8)); }
static bool bit_get(const unsigned char *b, uint32_t i) { return b[i / 8] & (1u << (i % 8)); }

static void ip_mark(Api *api, const char *ip)
{
	struct in_addr a;
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return;
	uint32_t v = ntohl(a.s_addr);
	if (v >= api->ip_base && v - api->ip_base < api->ip_size)
		bit_set(api->ip_used, v - api->ip_base);
}

/* Allocations are claimed in the datastore, one key per address
 * (ALLOC_PREFIX clusterips/IP, nodeports/PORT, value "NS/NAME"), created
 * with compare-and-swap: two servers over one etcd never hand out the same
 * address.  The bitmaps are this server's cache of what is taken. */
#define ALLOC_PREFIX "/registry/berth/allocations/"

static char *owner_of(const json_t *svc)
{
	return xasprintf("%s/%s", api_meta_str(svc, "namespace") ?: "", api_meta_str(svc, "name") ?: "");
}

/* 0 claimed, -EEXIST someone holds it, other -errno. */
static int alloc_claim(Api *api, const char *kind, const char *id, const char *owner)
{
	_cleanup_free_ char *key = xasprintf(ALLOC_PREFIX "%s/%s", kind, id);
	int64_t rev;
	return store_create(api->store, key, owner, strlen(owner), &rev, NULL);
}

/* Give back a claim that owner holds. */
static void alloc_release(Api *api, const char *kind, const char *id, const char *owner)
{
	_cleanup_free_ char *key = xasprintf(ALLOC_PREFIX "%s/%s", kind, id);
	StoreKV kv;
	if (store_get(api->store, key, &kv, NULL) < 0)
		return;
	if (kv.value_len == strlen(owner) && !memcmp(kv.value, owner, kv.value_len))
		store_delete(api->store, key, kv.mod_revision, NULL, NULL, NULL);
	store_kv_release(&kv);
}

/* Under api->lock: load the bitmaps from the stored Services and claims once. */
static void ip_load_locked(Api *api)
{
	if (api->ip_loaded)
		return;
	api->ip_loaded = true;
	const char *cidr = api->cfg.service_cidr ? api->cfg.service_cidr : "10.43.0.0/16";
	char net[64];
	snprintf(net, sizeof(net), "%s", cidr);
	char *slash = strchr(net, '/');
	int bits = slash ? atoi(slash + 1) : 24;
	if (slash)
		*slash = 0;
	struct in_addr a;
	if (inet_pton(AF_INET, net, &a) != 1 || bits < 12 || bits > 30) {
		inet_pton(AF_INET, "10.43.0.0", &a);
		bits = 16;
	}
	api->ip_size = 1u << (32 - bits);
	api->ip_base = ntohl(a.s_addr) & ~(api->ip_size - 1);
	api->ip_used = xcalloc(api->ip_size / 8 + 1, 1);
	bit_set(api->ip_used, 0);
	bit_set(api->ip_used, 1); /* the kubernetes Service */
	bit_set(api->ip_used, api->ip_size - 1);
	StoreKVList l;
	int64_t rev;
	bool more;
	if (store_list(api->store, "/registry/services/", NULL, 0, 0, &l, &rev, &more, NULL) < 0)
		return;
	for (size_t i = 0; i < l.n; i++) {
		_cleanup_json_ json_t *svc = json_loadb(l.items[i].value, l.items[i].value_len, 0, NULL);
		ip_mark(api, json_path(svc, "spec.clusterIP") ? json_string_value(json_path(svc, "spec.clusterIP")) : NULL);
		size_t j;
		json_t *p;
		json_array_foreach(json_path(svc, "spec.ports"), j, p) {
			json_int_t np = json_int(p, "nodePort", 0);
			if (np >= 30000 && np < 32768)
				bit_set(api->node_port_used, (uint32_t)(np - 30000));
		}
	}
	store_kv_list_release(&l);
}

int api_alloc_cluster_ip(Api *api, const char *owner, char *buf, size_t n)
{
	int r = -ENOSPC;
	pthread_mutex_lock(&api->lock);
	ip_load_locked(api);
	for (uint32_t i = 10; i < api->ip_size - 1; i++) {
		if (bit_get(api->ip_used, i))
			continue;
		bit_set(api->ip_used, i);
		struct in_addr a = { .s_addr = htonl(api->ip_base + i) };
		inet_ntop(AF_INET, &a, buf, (socklen_t)n);
		int c = alloc_claim(api, "clusterips", buf, owner);
		if (c == -EEXIST)
			continue; /* another server took it */
		r = c;
		break;
	}
	pthread_mutex_unlock(&api->lock);
	return r;
}

void api_release_service_addresses(Api *api, const json_t *svc)
{
	struct in_addr a;
	_cleanup_free_ char *owner = owner_of(svc);
	const char *ip = json_str(json_object_get(svc, "spec"), "clusterIP");
	pthread_mutex_lock(&api->lock);
	if (ip && inet_pton(AF_INET, ip, &a) == 1) {
		alloc_release(api, "clusterips", ip, owner);
		uint32_t v = ntohl(a.s_addr);
		if (api->ip_loaded && v - api->ip_base >= 10 && v - api->ip_base < api->ip_size - 1)
			api->ip_used[(v - api->ip_base) / 8] &= (unsigned char)~(1u << ((v - api->ip_base) % 8));
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_path(svc, "spec.ports"), i, p) {
		json_int_t np = json_int(p, "nodePort", 0);
		if (np < 30000 || np >= 32768)
			continue;
		char id[16];
		snprintf(id, sizeof(id), "%d", (int)np);
		alloc_release(api, "nodeports", id, owner);
		if (api->ip_loaded)
			api->node_port_used[(np - 30000) / 8] &= (unsigned char)~(1u << ((np - 30000) % 8));
	}
	pthread_mutex_unlock(&api->lock);
}

static int alloc_node_port(Api *api, const char *owner)
{
	int port = -ENOSPC;
	pthread_mutex_lock(&api->lock);
	ip_load_locked(api);
	for (uint32_t i = 0; i < 32768 - 30000; i++) {
		if (bit_get(api->node_port_used, i))
			continue;
		bit_set(api->node_port_used, i);
		char id[16];
		snprintf(id, sizeof(id), "%u", 30000 + i);
		int c = alloc_claim(api, "nodeports", id, owner);
		if (c == -EEXIST)
			continue;
		port = c < 0 ? c : 30000 + (int)i;
		break;
	}
	pthread_mutex_unlock(&api->lock);
	return port;
}

/* Claim an address the client chose: 0 (a new claim is added to claimed,
 * one the owner already held is not), -EEXIST when someone else holds it. */
static int claim_given_locked(Api *api, const char *kind, const char *id, const char *owner, json_t *claimed)
{
	int r = alloc_claim(api, kind, id, owner);
	if (r == -EEXIST) {
		_cleanup_free_ char *key = xasprintf(ALLOC_PREFIX "%s/%s", kind, id);
		StoreKV kv;
		if (store_get(api->store, key, &kv, NULL) < 0)
			return -EEXIST;
		bool mine = kv.value_len == strlen(owner) && !memcmp(kv.value, owner, kv.value_len);
		store_kv_release(&kv);
		return mine ? 0 : -EEXIST;
	}
	if (r == 0)
		json_array_append_new(claimed, json_sprintf("%s/%s", kind, id));
	return 0; /* other store errors: best effort, as before */
}

static void cidr_text(Api *api, char *buf, size_t n)
{
	struct in_addr a = { .s_addr = htonl(api->ip_base) };
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	int bits = 32;
	for (uint32_t sz = api->ip_size; sz > 1; sz >>= 1)
		bits--;
	snprintf(buf, n, "%s/%d", ip, bits);
}

/* An explicit ClusterIP: in the service range and free, as kube-apiserver's allocator checks. */
static void given_cluster_ip(Api *api, const char *ip, const char *owner, json_t *causes, json_t *claimed)
{
	struct in_addr a;
	char cidr[64];
	pthread_mutex_lock(&api->lock);
	ip_load_locked(api);
	cidr_text(api, cidr, sizeof(cidr));
	uint32_t v = inet_pton(AF_INET, ip, &a) == 1 ? ntohl(a.s_addr) : 0;
	bool in_range = v && v - api->ip_base >= 1 && v - api->ip_base < api->ip_size - 1 && v >= api->ip_base;
	int r = in_range ? claim_given_locked(api, "clusterips", ip, owner, claimed) : 0;
	if (in_range && r == 0)
		ip_mark(api, ip);
	pthread_mutex_unlock(&api->lock);
	if (!v)
		return; /* not an IP: validation's to report */
	if (!in_range)
		api_cause(causes, "FieldValueInvalid", "spec.clusterIPs", "Invalid value: []string{\"%s\"}: failed to "
			  "allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s",
			  ip, ip, ip, cidr);
	else if (r == -EEXIST)
		api_cause(causes, "FieldValueInvalid", "spec.clusterIPs", "Invalid value: []string{\"%s\"}: failed to "
			  "allocate IP %s: provided IP is already allocated", ip, ip);
}

/* An explicit NodePort of spec.ports[i]. */
static void given_node_port(Api *api, size_t i, json_int_t port, const char *owner, json_t *causes, json_t *claimed)
{
	_cleanup_free_ char *field = xasprintf("spec.ports[%zu].nodePort", i);
	if (port < 1 || port > 65535)
		return; /* validation's */
	if (port < 30000 || port > 32767) {
		api_cause(causes, "FieldValueInvalid", field, "Invalid value: %lld: provided port is not in the valid "
			  "range. The range of valid ports is 30000-32767", (long long)port);
		return;
	}
	char id[16];
	snprintf(id, sizeof(id), "%d", (int)port);
	pthread_mutex_lock(&api->lock);
	ip_load_locked(api);
	int r = claim_given_locked(api, "nodeports", id, owner, claimed);
	if (r == 0)
		bit_set(api->node_port_used, (uint32_t)(port - 30000));
	pthread_mutex_unlock(&api->lock);
	if (r == -EEXIST)
		api_cause(causes, "FieldValueInvalid", field, "Invalid value: %lld: provided port is already allocated",
			  (long long)port);
}

void api_release_claims(Api *api, const json_t *svc, const json_t *claimed)
{
	_cleanup_free_ char *owner = owner_of(svc);
	size_t i;
	json_t *c;
	pthread_mutex_lock(&api->lock);
	json_array_foreach(claimed, i, c) {
		const char *s = json_string_value(c), *slash = s ? strchr(s, '/') : NULL;
		if (!slash)
			continue;
		_cleanup_free_ char *kind = xstrndup(s, (size_t)(slash - s));
		const char *id = slash + 1;
		alloc_release(api, kind, id, owner);
		if (!api->ip_loaded)
			continue;
		if (!strcmp(kind, "nodeports")) {
			int np = atoi(id);
			if (np >= 30000 && np < 32768)
				api->node_port_used[(np - 30000) / 8] &= (unsigned char)~(1u << ((np - 30000) % 8));
		} else {
			struct in_addr a;
			uint32_t v = inet_pton(AF_INET, id, &a) == 1 ? ntohl(a.s_addr) - api->ip_base : 0;
			if (v >= 10 && v < api->ip_size - 1)
				api->ip_used[v / 8] &= (unsigned char)~(1u << (v % 8));
		}
	}
	pthread_mutex_unlock(&api->lock);
}

void api_service_allocate(Api *api, json_t *obj, json_t *causes, json_t *claimed)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	_cleanup_free_ char *owner = owner_of(obj);
	bool is_update = api_meta_str(obj, "uid") && api_meta_str(obj, "resourceVersion");
	const char *type = json_str(spec, "type") ?: "ClusterIP";
	bool node_ports = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
	size_t i;
	json_t *p;
	/* the client's choices first, so an automatic port never takes one asked for */
	json_array_foreach(json_object_get(spec, "ports"), i, p)
		if (json_is_object(p) && json_int(p, "nodePort", 0) && !is_update)
			given_node_port(api, i, json_int(p, "nodePort", 0), owner, causes, claimed);
	const char *ip = json_str(spec, "clusterIP");
	if (strcmp(type, "ExternalName") && ip && *ip && strcmp(ip, "None") && !is_update)
		given_cluster_ip(api, ip, owner, causes, claimed);
	if (json_array_size(causes))
		return;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		if (!json_is_object(p) || !node_ports || json_int(p, "nodePort", 0))
			continue;
		int np = alloc_node_port(api, owner);
		if (np > 0) {
			json_object_set_new(p, "nodePort", json_integer(np));
			json_array_append_new(claimed, json_sprintf("nodeports/%d", np));
		}
	}
	if (strcmp(type, "ExternalName") && (!ip || !*ip)) {
		char buf[64];
		if (api_alloc_cluster_ip(api, owner, buf, sizeof(buf)) == 0) {
			json_object_set_new(spec, "clusterIP", json_string(buf));
			json_array_append_new(claimed, json_sprintf("clusterips/%s", buf));
		}
	}
	if (strcmp(type, "ExternalName"))
		set_default(spec, "clusterIPs", json_pack("[s]", json_str(spec, "clusterIP") ?: ""));
}

void api_defaults_service(Api *api, json_t *obj)
{
	(void)api; /* addresses: api_service_allocate, after defaulting */
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	set_default(spec, "type", json_string("ClusterIP"));
	set_default(spec, "sessionAffinity", json_string("None"));
	const char *type = json_str(spec, "type") ? json_str(spec, "type") : "";
	bool external = !strcmp(type, "ExternalName");
	bool node_ports = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		if (!json_is_object(p))
			continue;
		set_default(p, "protocol", json_string("TCP"));
		if (json_object_get(p, "port"))
			set_default(p, "targetPort", json_deep_copy(json_object_get(p, "port")));
	}
	if (!external) {
		set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
		set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
		set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
	}
	if (node_ports)
		set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
	set_default(json_obj_ensure(obj, "status"), "loadBalancer", json_object());
}
