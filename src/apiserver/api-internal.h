/* api-internal.h - what the API server's files share: the resource table, the
 * request/response values that flow between the HTTP layer and the handlers,
 * and the helpers each concern file exports (status errors, selectors,
 * patches, defaulting, validation, tables, discovery).
 *
 * Request flow: http.c turns a libmicrohttpd request into an ApiRequest
 * (body capped at BERTH_MAX_API_BODY), api_handle() (handlers.c) routes it
 * (route.c), runs it against the store and fills an ApiResponse: a JSON body,
 * or a watch stream that http.c pulls events from.
 *
 * Ownership: every json_t in ApiRequest/ApiResponse is owned by that struct
 * and released by api_request_release/api_response_release.
 */
#ifndef BERTH_APISERVER_INTERNAL_H
#define BERTH_APISERVER_INTERNAL_H
#include "apiserver.h"
#include "../base/err.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include "../store/store.h"
#include "cache.h"
#include <pthread.h>
#include <stdbool.h>

/* ---- resource table (resources.c) ---- */
typedef struct ApiResource ApiResource;
typedef struct Api Api;
typedef struct ApiRequest ApiRequest;

typedef void (*ApiDefaultFn)(Api *api, json_t *obj);
typedef void (*ApiValidateFn)(const json_t *obj, json_t *causes);

struct ApiResource {
	const char *group;        /* "" for the core group */
	const char *version;
	const char *resource;     /* plural, lower case */
	const char *kind;
	const char *singular;
	bool namespaced;
	const char *short_names;  /* comma separated, or NULL */
	const char *categories;   /* comma separated, or NULL */
	const char *subresources; /* comma separated: status,scale,... */
	const char *list_kind;    /* NULL: Kind + "List" */
	ApiDefaultFn defaults;
	ApiValidateFn validate;
	bool has_status;          /* status is a subresource: main updates keep it */
	bool custom;              /* served from a CustomResourceDefinition */
	json_t *schema;           /* CRD openAPIV3Schema (borrowed from the CRD) */
	json_t *printer_columns;  /* CRD additionalPrinterColumns of the served version (owned) */
};

/* The built-in table. */
const ApiResource *api_resource_builtin(size_t *ret_n);
/* Lookup by group + resource (plural), singular or short name; NULL if unknown. */
const ApiResource *api_resource_find(Api *api, const char *group, const char *version, const char *name);
const ApiResource *api_resource_by_kind(Api *api, const char *api_version, const char *kind);
/* Store key for an object or (name NULL) the prefix of a collection. Caller frees. */
char *api_resource_key(const ApiResource *r, const char *ns, const char *name);
char *api_resource_api_version(const ApiResource *r);
/* Every resource served (built-in and custom), a snapshot: caller frees the
 * array (not the entries; custom entries live until the server stops). */
const ApiResource **api_resources_all(Api *api, size_t *ret_n);
/* Custom resources: (re)build the CRD-served table from the store. */
void api_crd_refresh(Api *api);
/* Free every custom resource table (server shutdown). */
void api_crd_release(Api *api);

/* ---- the server state ---- */
struct Api {
	Store *store;
	ApiCache *cache;             /* the watch cache (cache.c); NULL: lists and watches read the store */
	ApiServerConfig cfg;
	pthread_mutex_t lock;        /* custom resources, IP allocation */
	ApiResource **custom;
	size_t ncustom;
	ApiResource ***custom_old;  /* replaced tables, kept for requests in flight, freed at exit */
	size_t *ncustom_old, nold;
	char *tokens_path;           /* DATA/tokens: "token,user,uid,groups" lines */
	char **tokens;               /* loaded lines, reloaded when the file changes */
	int64_t tokens_mtime;
	unsigned char sa_key[32];    /* HMAC key for ServiceAccount tokens */
	unsigned char *ip_used;      /* ClusterIP bitmap over service_cidr, loaded lazily */
	uint32_t ip_base, ip_size;
	unsigned char node_port_used[(32768 - 30000 + 7) / 8];
	bool ip_loaded;
	int64_t started;
	volatile int stopping;
	int64_t grace_next;          /* earliest graceful pod deletion this server set (sweep.c) */
	int64_t events_swept, pods_swept;
	uint64_t n_requests;         /* requests started (atomic): idle detection for the memory trim */
};

/* ---- requests and responses ---- */
typedef struct ApiParam {
	char *key, *value;
} ApiParam;

struct ApiRequest {
	const char *method;
	char *path;                  /* decoded path without query */
	ApiParam *params;
	size_t nparams;
	const char *accept;
	const char *content_type;
	const char *body;
	size_t body_len;
	const char *user;            /* authenticated user name (NULL: anonymous) */
	char *const *groups;         /* its groups, NULL-terminated (may be NULL) */
	bool authorize;              /* enforce RBAC (set by the HTTP front; in-process callers are trusted) */
	const char *user_agent;      /* names the field manager of an update without ?fieldManager= */
	bool managed_set;            /* managedFields already computed (server-side apply) */
	/* routed */
	char *group, *version, *ns, *resource, *name, *sub;
	const ApiResource *res;
	bool cluster_wide;           /* a namespaced resource listed across namespaces */
};

typedef struct ApiWatch ApiWatch;
typedef struct ApiProxy ApiProxy;  /* pods/log, pods/exec relayed to the node agent (podproxy.c) */

typedef struct ApiResponse {
	int status;
	char *body;
	size_t len;
	const char *content_type;
	ApiWatch *watch;             /* a streaming watch instead of a body */
	ApiProxy *proxy;             /* relay to a node agent instead of a body */
	char *warning;
} ApiResponse;

void api_handle(Api *api, ApiRequest *req, ApiResponse *resp);
const char *api_param(const ApiRequest *req, const char *key);
void api_request_release(ApiRequest *req);
void api_response_release(ApiResponse *resp);
/* Set a JSON body (steals obj). */
void api_respond_json(ApiResponse *resp, int status, json_t *obj);
bool api_accepts_table(const ApiRequest *req);

/* ---- route.c ---- */
/* Fill req->group..sub from req->path; 0 resource route, 1 other (discovery etc.),
 * -ENOENT unknown. */
int api_route(Api *api, ApiRequest *req);

/* ---- status.c: Kubernetes Status errors ---- */
json_t *api_status(int code, const char *reason, const char *message, json_t *details);
void api_respond_status(ApiResponse *resp, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void api_respond_not_found(ApiResponse *resp, const ApiRequest *req);
void api_respond_invalid(ApiResponse *resp, const ApiRequest *req, const char *name, json_t *causes);
/* Append a cause {reason, message, field} to causes. */
void api_cause(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *api_group_resource(const ApiRequest *req, char *buf, size_t n);

/* ---- selector.c ---- */
typedef struct ApiSelector ApiSelector;
int api_selector_parse(const char *text, bool field, ApiSelector **ret, Error **err);
bool api_selector_match(const ApiSelector *sel, const json_t *obj);
void api_selector_free(ApiSelector *sel);
DEFINE_CLEANUP(ApiSelector, api_selector_free)

/* ---- patch.c ---- */
/* Each returns a new object or NULL with *err set (message for a 422/400). */
json_t *api_patch_merge(const json_t *doc, const json_t *patch);
json_t *api_patch_json(const json_t *doc, const json_t *ops, Error **err);
json_t *api_patch_strategic(const json_t *doc, const json_t *patch, Error **err);
/* The patchMergeKey of list field `field` (in_container: a container's ports); NULL if none. */
const char *api_patch_merge_key(const char *field, bool in_container);

/* ---- defaults.c / validate.c ---- */
void api_defaults_pod_spec(json_t *spec);
void api_defaults_pod(Api *api, json_t *obj);
/* The Priority admission's check on create: a pod naming a PriorityClass
 * that does not exist is refused (403, kube-apiserver's text). */
int api_admit_priority(Api *api, const ApiRequest *req, ApiResponse *resp, const json_t *obj);
void api_defaults_deployment(Api *api, json_t *obj);
void api_defaults_replicaset(Api *api, json_t *obj);
void api_defaults_daemonset(Api *api, json_t *obj);
void api_defaults_statefulset(Api *api, json_t *obj);
void api_defaults_job(Api *api, json_t *obj);
void api_defaults_cronjob(Api *api, json_t *obj);
void api_defaults_service(Api *api, json_t *obj);
void api_defaults_secret(Api *api, json_t *obj);
void api_defaults_pvc(Api *api, json_t *obj);  /* + DefaultStorageClass admission */
void api_defaults_pv(Api *api, json_t *obj);
void api_defaults_storageclass(Api *api, json_t *obj);
void api_validate_meta(const ApiResource *r, const json_t *obj, const char *ns, json_t *causes);
void api_validate_pod(const json_t *obj, json_t *causes);
void api_validate_workload(const json_t *obj, json_t *causes);
void api_validate_cronjob(const json_t *obj, json_t *causes);  /* schedule, timeZone (base/cron.h) */
void api_validate_service(const json_t *obj, json_t *causes);
void api_validate_configmap(const json_t *obj, json_t *causes);
void api_validate_pod_template(const json_t *spec, const char *path, json_t *causes);
bool api_name_is_dns1123_subdomain(const char *s);
bool api_name_is_dns1123_label(const char *s);
/* Allocate a ClusterIP from cfg.service_cidr that no Service holds. */
int api_alloc_cluster_ip(Api *api, const char *owner, char *buf, size_t n);
/* A Service's addresses after defaulting: claims the ClusterIP and NodePorts
 * it asks for (or allocates them), adding kube-apiserver's allocation errors
 * to causes and every new claim to claimed ("clusterips/IP", "nodeports/N"). */
void api_service_allocate(Api *api, json_t *obj, json_t *causes, json_t *claimed);
/* Give back the claims of a request that stored nothing. */
void api_release_claims(Api *api, const json_t *svc, const json_t *claimed);
/* A deleted Service gives its ClusterIP and NodePorts back. */
void api_release_service_addresses(Api *api, const json_t *svc);
/* CRD schema validation (structural subset). */
void api_validate_schema(const json_t *schema, const json_t *value, const char *path, json_t *causes);

/* ---- table.c ---- */
json_t *api_table_new(const ApiResource *r, bool with_columns);
void api_table_add(json_t *table, const ApiResource *r, const json_t *obj, const ApiRequest *req);
void api_human_duration(char *buf, size_t n, int64_t seconds);
/* A row's cells as JSON text with age markers, computed once per object
 * version (caller frees); rendered into sb with the ages at now. */
char *api_table_row(const ApiResource *r, const json_t *obj);
struct StrBuf;
void api_table_row_render(struct StrBuf *sb, const char *row, int64_t now);
/* The Table's text up to and including "rows":[ (meta: the list metadata; caller frees). */
char *api_table_head(const ApiResource *r, json_t *meta);
/* The value at a simple JSONPath (".a.b[0]", filters by equality); borrowed or NULL. */
const json_t *api_jsonpath_get(const json_t *obj, const char *path);
int64_t api_parse_time(const char *rfc3339);

/* ---- openapi.c: OpenAPI v3 schemas (kubectl explain) ---- */
/* Add the schema of r's kind and every type it refers to; its name, or NULL
 * when the table has no schema for the kind. */
const char *api_openapi_add_kind(json_t *schemas, const ApiResource *r);
/* A CRD's openAPIV3Schema with apiVersion/kind/metadata added (new
 * reference; ObjectMeta's types go to schemas). */
json_t *api_openapi_custom(json_t *schemas, const ApiResource *r);
/* The JSON text of group/version's OpenAPI v3 document (caller frees; NULL
 * if it cannot be serialized): cached per group-version while the custom
 * resources served there stay the same, made by build otherwise. */
char *api_openapi_gv_text(Api *api, const char *group, const char *version, size_t *ret_len,
			  json_t *(*build)(Api *api, const char *group, const char *version));
/* /openapi/v2 of the built-in kinds (openapi-v2.c), as gnostic protobuf or
 * JSON text (caller frees; NULL if it cannot be made); version: the server's
 * gitVersion. */
char *api_openapi_v2(bool protobuf, const char *version, size_t *ret_len);

/* ---- discovery.c ---- */
/* Non-resource routes: /api, /apis, /version, /openapi/..., /healthz... ; false if not one. */
bool api_discovery_handle(Api *api, ApiRequest *req, ApiResponse *resp);

/* ---- watch.c ---- */
int api_watch_start(Api *api, ApiRequest *req, ApiResponse *resp, const char *prefix, int64_t rev);
/* Next chunk of the stream (owned by the caller); 1 data, 0 keep waiting, -1 end. */
int api_watch_next(ApiWatch *w, char **ret, size_t *ret_len, int timeout_ms);
void api_watch_free(ApiWatch *w);
DEFINE_CLEANUP(ApiWatch, api_watch_free)

/* ---- fieldset.c: managedFields paths and sets (server-side apply) ---- */
/* Sets are json objects whose keys are paths; every function returns a new reference. */
json_t *api_fieldset_of(const json_t *obj);
json_t *api_fieldset_from_v1(const json_t *fields_v1);
json_t *api_fieldset_to_v1(const json_t *set);
/* The value at path in obj (borrowed) or NULL; remove it (true when it was there). */
json_t *api_fieldset_lookup(const json_t *obj, const char *path);
bool api_fieldset_remove(json_t *obj, const char *path);
/* ".spec.containers[name=\"x\"].image"; caller frees. */
char *api_fieldset_path_string(const char *path);
/* applied merged into live as apply merges: maps by key, associative lists by key, the rest replaced. */
json_t *api_fieldset_merge(const json_t *live, const json_t *applied);

/* ---- managed.c: managedFields ---- */
/* ?fieldManager= or the User-Agent's product; NULL when neither (in-process writes). */
const char *api_field_manager(const ApiRequest *req, char *buf, size_t n);
/* Record an Update of old (NULL: a create) into obj's metadata.managedFields. */
void api_managed_update(const ApiRequest *req, const json_t *old, json_t *obj);
/* Server-side apply of applied over live (NULL: create): the new object, or
 * NULL with resp answered (409 conflicts, 422 no fieldManager). */
json_t *api_managed_apply(ApiRequest *req, const json_t *live, const json_t *applied, ApiResponse *resp);

/* ---- objects.c: object helpers ---- */
/* Decode a stored value and set metadata.resourceVersion from the revision. */
json_t *api_object_decode(const StoreKV *kv);
void api_object_set_rv(json_t *obj, int64_t rev);
char *api_object_encode(json_t *obj, size_t *ret_len);
const char *api_meta_str(const json_t *obj, const char *key);
void api_now_rfc3339(char *buf, size_t n);
void api_new_uid(char out[37]);
char *api_continue_encode(int64_t rev, const char *key);
int api_continue_decode(const char *tok, int64_t *ret_rev, char **ret_key);
/* Apply the patch of req (by Content-Type) to cur; new object or NULL + *err. */
json_t *api_patch_apply(const ApiRequest *req, const json_t *cur, int *ret_code, Error **err);

/* ---- protobuf.c: application/vnd.kubernetes.protobuf request bodies ---- */
/* A new JSON object, or NULL with *err (ENOTSUP: a kind without a schema). */
json_t *api_protobuf_decode(const char *buf, size_t len, Error **err);

/* ---- auth.c: who is asking, and may they ---- */
typedef struct ApiUser {
	char *name;
	char **groups;               /* NULL-terminated, always has system:authenticated */
} ApiUser;
/* Authenticate an Authorization header value; ret filled (api_user_release). -EACCES when not. */
int api_auth_request(Api *api, const char *authorization, ApiUser *ret);
void api_user_release(ApiUser *u);
/* Add group g (n bytes) unless present. */
void api_user_add_group(ApiUser *u, const char *g, size_t n);
int api_auth_init(Api *api, Error **err);
void api_auth_release(Api *api);
char *api_jwt_sign(Api *api, json_t *claims);

/* ---- rbac.c: authorization ---- */
/* What a request asks to do, as RBAC sees it (apiserver's authorizer.Attributes). */
typedef struct ApiAttrs {
	const char *verb, *group, *resource, *sub, *name, *ns, *path;
	bool resource_request;
} ApiAttrs;
void api_rbac_attrs(const ApiRequest *req, ApiAttrs *a);
bool api_rbac_allowed(Api *api, const char *user, char *const *groups, const ApiAttrs *a);
/* Authorize a routed request; on denial responds 403 (Kubernetes' wording) and returns -EPERM. */
int api_authorize(Api *api, const ApiRequest *req, ApiResponse *resp);
/* The rules that apply to user in ns (SelfSubjectRulesReview status); new reference. */
json_t *api_rbac_rules_review(Api *api, const char *user, char *const *groups, const char *ns);
/* The default ClusterRoles and ClusterRoleBindings (rbac-defaults.c). */
void api_rbac_bootstrap(Api *api);

/* ---- sweep.c: periodic work (event TTL, graceful pod deletion) ---- */
void api_sweep(Api *api);
/* A pod's grace period ends at deadline (epoch seconds): look again then. */
void api_sweep_pod_hint(Api *api, int64_t deadline);

/* ---- gc.c: owner references, namespaces, events ---- */
void api_gc_after_delete(Api *api, const ApiResource *r, const json_t *obj);
bool api_gc_owners_gone(Api *api, const json_t *obj);

/* ---- podproxy.c: pods/log and pods/exec through the node agent ---- */
/* Decide the agent and path for req (sub log or exec) on pod: resp->proxy,
 * or an error Status in resp. */
void api_podproxy_prepare(Api *api, ApiRequest *req, const json_t *pod, ApiResponse *resp);
void api_proxy_free(ApiProxy *p);

#endif
