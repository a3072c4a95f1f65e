/* resources.c - the resource table: every kind the server serves, with its
 * group/version, plural/singular/short names, scope, categories,
 * subresources and its defaulting and validation hooks; plus the resources
 * CustomResourceDefinitions add at run time.
 *
 * One version per group is served (the storage version), so an object is
 * stored exactly as it is served.  Store keys follow Kubernetes' layout:
 * /registry/<resource>[.<group>]/<namespace>/<name>.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <string.h>

#define NS true
#define CLUSTER false

static const ApiResource builtin[] = {
	{ "", "v1", "namespaces", "Namespace", "namespace", CLUSTER, "ns", NULL, "status,finalize", NULL,
	  NULL, NULL, true, false, NULL, NULL },
	{ "", "v1", "pods", "Pod", "pod", NS, "po", "all", "status,log,exec,attach,portforward,binding,eviction,ephemeralcontainers",
	  NULL, api_defaults_pod, api_validate_pod, true, false, NULL, NULL },
	{ "", "v1", "services", "Service", "service", NS, "svc", "all", "status,proxy", NULL,
	  api_defaults_service, api_validate_service, true, false, NULL, NULL },
	{ "", "v1", "endpoints", "Endpoints", "endpoints", NS, "ep", NULL, NULL, NULL, NULL, NULL, false, false, NULL, NULL },
	{ "", "v1", "configmaps", "ConfigMap", "configmap", NS, "cm", NULL, NULL, NULL, NULL, api_validate_configmap,
	  false, false, NULL, NULL },
	{ "", "v1", "secrets", "Secret", "secret", NS, NULL, NULL, NULL, NULL, api_defaults_secret, api_validate_configmap,
	  false, false, NULL, NULL },
	{ "", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", NS, "sa", NULL, "token", NULL, NULL, NULL,
	  false, false, NULL, NULL },
	{ "", "v1", "nodes", "Node", "node", CLUSTER, "no", NULL, "status,proxy", NULL, NULL, NULL, true, false, NULL, NULL },
	{ "", "v1", "events", "Event", "event", NS, "ev", NULL, NULL, NULL, NULL, NULL, false, false, NULL, NULL },
	{ "", "v1", "replicationcontrollers", "ReplicationController", "replicationcontroller", NS, "rc", "all",
	  "status,scale", NULL, NULL, api_validate_workload, true, false, NULL, NULL },
	{ "", "v1", "persistentvolumes", "PersistentVolume", "persistentvolume", CLUSTER, "pv", NULL, "status", NULL,
	  api_defaults_pv, NULL, true, false, NULL, NULL },
	{ "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", "persistentvolumeclaim", NS, "pvc", NULL,
	  "status", NULL, api_defaults_pvc, NULL, true, false, NULL, NULL },
	{ "", "v1", "resourcequotas", "ResourceQuota", "resourcequota", NS, "quota", NULL, "status", NULL, NULL, NULL,
	  true, false, NULL, NULL },
	{ "", "v1", "limitranges", "LimitRange", "limitrange", NS, "limits", NULL, NULL, NULL, NULL, NULL, false, false,
	  NULL, NULL },
	{ "", "v1", "podtemplates", "PodTemplate", "podtemplate", NS, NULL, NULL, NULL, NULL, NULL, NULL, false, false,
	  NULL, NULL },
	{ "apps", "v1", "deployments", "Deployment", "deployment", NS, "deploy", "all", "status,scale", NULL,
	  api_defaults_deployment, api_validate_workload, true, false, NULL, NULL },
	{ "apps", "v1", "replicasets", "ReplicaSet", "replicaset", NS, "rs", "all", "status,scale", NULL,
	  api_defaults_replicaset, api_validate_workload, true, false, NULL, NULL },
	{ "apps", "v1", "daemonsets", "DaemonSet", "daemonset", NS, "ds", "all", "status", NULL,
	  api_defaults_daemonset, api_validate_workload, true, false, NULL, NULL },
	{ "apps", "v1", "statefulsets", "StatefulSet", "statefulset", NS, "sts", "all", "status,scale", NULL,
	  api_defaults_statefulset, api_validate_workload, true, false, NULL, NULL },
	{ "apps", "v1", "controllerrevisions", "ControllerRevision", "controllerrevision", NS, NULL, NULL, NULL, NULL,
	  NULL, NULL, false, false, NULL, NULL },
	{ "batch", "v1", "jobs", "Job", "job", NS, NULL, "all", "status", NULL, api_defaults_job, api_validate_workload,
	  true, false, NULL, NULL },
	{ "batch", "v1", "cronjobs", "CronJob", "cronjob", NS, "cj", "all", "status", NULL, api_defaults_cronjob, api_validate_cronjob,
	  true, false, NULL, NULL },
	{ "coordination.k8s.io", "v1", "leases", "Lease", "lease", NS, NULL, NULL, NULL, NULL, NULL, NULL, false, false,
	  NULL, NULL },
	{ "rbac.authorization.k8s.io", "v1", "roles", "Role", "role", NS, NULL, NULL, NULL, NULL, NULL, NULL, false,
	  false, NULL, NULL },
	{ "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", "rolebinding", NS, NULL, NULL, NULL, NULL,
	  NULL, NULL, false, false, NULL, NULL },
	{ "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", "clusterrole", CLUSTER, NULL, NULL, NULL,
	  NULL, NULL, NULL, false, false, NULL, NULL },
	{ "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", "clusterrolebinding",
	  CLUSTER, NULL, NULL, NULL, NULL, NULL, NULL, false, false, NULL, NULL },
	{ "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
	  "customresourcedefinition", CLUSTER, "crd,crds", "api-extensions", "status", NULL, NULL, NULL, true, false,
	  NULL, NULL },
	{ "networking.k8s.io", "v1", "ingresses", "Ingress", "ingress", NS, "ing", NULL, "status", NULL, NULL, NULL,
	  true, false, NULL, NULL },
	{ "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", "networkpolicy", NS, "netpol", NULL, NULL,
	  NULL, NULL, NULL, false, false, NULL, NULL },
	{ "storage.k8s.io", "v1", "storageclasses", "StorageClass", "storageclass", CLUSTER, "sc", NULL, NULL, NULL,
	  api_defaults_storageclass, NULL, false, false, NULL, NULL },
	{ "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", "poddisruptionbudget", NS, "pdb", NULL,
	  "status", NULL, NULL, NULL, true, false, NULL, NULL },
	{ "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", "endpointslice", NS, NULL, NULL, NULL, NULL,
	  NULL, NULL, false, false, NULL, NULL },
	{ "events.k8s.io", "v1", "events", "Event", "event", NS, "ev", NULL, NULL, NULL, NULL, NULL, false, false,
	  NULL, NULL },
	{ "scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", "priorityclass", CLUSTER, "pc", NULL, NULL,
	  NULL, NULL, NULL, false, false, NULL, NULL },
};

const ApiResource *api_resource_builtin(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(builtin);
	return builtin;
}

static bool in_list(const char *list, const char *name)
{
	if (!list)
		return false;
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && !strncmp(p, name, n))
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool matches(const ApiResource *r, const char *group, const char *version, const char *name)
{
	if (group && strcmp(r->group, group))
		return false;
	if (version && strcmp(r->version, version))
		return false;
	return !strcmp(r->resource, name) || !strcasecmp(r->singular, name) || !strcasecmp(r->kind, name) ||
	       in_list(r->short_names, name);
}

const ApiResource *api_resource_find(Api *api, const char *group, const char *version, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		if (matches(&builtin[i], group, version, name))
			return &builtin[i];
	const ApiResource *found = NULL;
	pthread_mutex_lock(&api->lock);
	for (size_t i = 0; i < api->ncustom && !found; i++)
		if (matches(api->custom[i], group, version, name))
			found = api->custom[i];
	pthread_mutex_unlock(&api->lock);
	return found;
}

const ApiResource *api_resource_by_kind(Api *api, const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	const char *slash = strchr(api_version, '/');
	_cleanup_free_ char *group = slash ? xstrndup(api_version, (size_t)(slash - api_version)) : xstrdup("");
	const char *version = slash ? slash + 1 : api_version;
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i]->group, group) && !strcmp(all[i]->version, version) && !strcmp(all[i]->kind, kind))
			return all[i];
	return NULL;
}

char *api_resource_key(const ApiResource *r, const char *ns, const char *name)
{
	_cleanup_free_ char *res = r->group[0] ? xasprintf("%s.%s", r->resource, r->group) : xstrdup(r->resource);
	if (r->namespaced && ns) {
		if (name)
			return xasprintf("/registry/%s/%s/%s", res, ns, name);
		return xasprintf("/registry/%s/%s/", res, ns);
	}
	if (name)
		return xasprintf("/registry/%s/%s", res, name);
	return xasprintf("/registry/%s/", res);
}

char *api_resource_api_version(const ApiResource *r)
{
	return r->group[0] ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
}

const ApiResource **api_resources_all(Api *api, size_t *ret_n)
{
	pthread_mutex_lock(&api->lock);
	size_t n = ARRAY_SIZE(builtin) + api->ncustom;
	const ApiResource **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		v[i] = &builtin[i];
	for (size_t i = 0; i < api->ncustom; i++)
		v[ARRAY_SIZE(builtin) + i] = api->custom[i];
	pthread_mutex_unlock(&api->lock);
	*ret_n = n;
	return v;
}

/* ---- CustomResourceDefinitions ---- */

static char *dup_csv(const json_t *arr)
{
	if (!json_is_array(arr) || !json_array_size(arr))
		return NULL;
	StrBuf sb = STRBUF_INIT;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v))
			sb_addf(&sb, "%s%s", sb.len ? "," : "", json_string_value(v));
	return sb_detach(&sb);
}

/* A resource for a CRD's storage version; NULL when the CRD is malformed. */
static ApiResource *crd_resource(const json_t *crd)
{
	const json_t *spec = json_object_get(crd, "spec");
	const json_t *names = json_object_get(spec, "names");
	const char *group = json_str(spec, "group"), *plural = json_str(names, "plural"), *kind = json_str(names, "kind");
	if (!group || !plural || !kind)
		return NULL;
	const json_t *ver = NULL, *v;
	size_t i;
	json_array_foreach(json_object_get(spec, "versions"), i, v)
		if (json_bool(v, "storage", false) || !ver)
			ver = v;
	if (!ver || !json_str(ver, "name"))
		return NULL;
	ApiResource *r = xcalloc(1, sizeof(*r));
	r->group = xstrdup(group);
	r->version = xstrdup(json_str(ver, "name"));
	r->resource = xstrdup(plural);
	r->kind = xstrdup(kind);
	const char *singular = json_str(names, "singular");
	r->singular = singular ? xstrdup(singular) : xstrdup(plural);
	r->namespaced = !json_str(spec, "scope") || strcmp(json_str(spec, "scope"), "Cluster");
	r->short_names = dup_csv(json_object_get(names, "shortNames"));
	r->categories = dup_csv(json_object_get(names, "categories"));
	const json_t *subs = json_object_get(ver, "subresources");
	bool status = json_object_get(subs, "status") != NULL, scale = json_object_get(subs, "scale") != NULL;
	r->subresources = status && scale ? xstrdup("status,scale") : status ? xstrdup("status") :
			  scale ? xstrdup("scale") : NULL;
	r->has_status = status;
	r->custom = true;
	const char *lk = json_str(names, "listKind");
	r->list_kind = lk ? xstrdup(lk) : NULL;
	r->schema = json_deep_copy(json_path(ver, "schema.openAPIV3Schema"));
	r->printer_columns = json_deep_copy(json_object_get(ver, "additionalPrinterColumns"));
	return r;
}

void api_crd_refresh(Api *api)
{
	StoreKVList l;
	int64_t rev;
	bool more;
	if (store_list(api->store, "/registry/customresourcedefinitions.apiextensions.k8s.io/", NULL, 0, 0, &l, &rev,
		       &more, NULL) < 0)
		return;
	ApiResource **v = xcalloc(l.n + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		_cleanup_json_ json_t *crd = json_loadb(l.items[i].value, l.items[i].value_len, 0, NULL);
		if (crd && !json_path(crd, "metadata.deletionTimestamp")) {
			ApiResource *r = crd_resource(crd);
			if (r)
				v[n++] = r;
		}
	}
	store_kv_list_release(&l);
	pthread_mutex_lock(&api->lock);
	/* the old table stays allocated until shutdown: requests in flight may
	 * hold its entries (bounded by CRD edits) */
	if (api->custom) {
		api->custom_old = xrealloc(api->custom_old, (api->nold + 1) * sizeof(*api->custom_old));
		api->ncustom_old = xrealloc(api->ncustom_old, (api->nold + 1) * sizeof(*api->ncustom_old));
		api->custom_old[api->nold] = api->custom;
		api->ncustom_old[api->nold++] = api->ncustom;
	}
	api->custom = v;
	api->ncustom = n;
	pthread_mutex_unlock(&api->lock);
}

static void crd_resource_free(ApiResource *r)
{
	free((char *)r->group);
	free((char *)r->version);
	free((char *)r->resource);
	free((char *)r->kind);
	free((char *)r->singular);
	free((char *)r->short_names);
	free((char *)r->categories);
	free((char *)r->subresources);
	free((char *)r->list_kind);
	json_decref(r->schema);
	json_decref(r->printer_columns);
	free(r);
}

static void crd_table_free(ApiResource **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		crd_resource_free(v[i]);
	free(v);
}

void api_crd_release(Api *api)
{
	crd_table_free(api->custom, api->ncustom);
	for (size_t i = 0; i < api->nold; i++)
		crd_table_free(api->custom_old[i], api->ncustom_old[i]);
	free(api->custom_old);
	free(api->ncustom_old);
	api->custom = NULL;
	api->custom_old = NULL;
	api->ncustom_old = NULL;
	api->ncustom = api->nold = 0;
}
