/* handlers.h - what the REST handler files (handlers.c, update.c, special.c,
 * gc.c, watch.c) share beyond api-internal.h.  Every function that takes an
 * ApiResponse fills it with exactly one answer when it fails. */
#ifndef BERTH_APISERVER_HANDLERS_H
#define BERTH_APISERVER_HANDLERS_H
#include "api-internal.h"

bool api_param_true(const ApiRequest *req, const char *key);
json_t *api_body_object(const ApiRequest *req, ApiResponse *resp);
int api_check_kind(const ApiRequest *req, ApiResponse *resp, json_t *obj, const char *kind, const char *api_version);
/* Read one object (new reference) and its revision; -ENOENT when absent. */
int api_load(Api *api, const ApiResource *r, const char *ns, const char *name, json_t **ret, int64_t *ret_rev);
int api_list_objects(Api *api, const char *prefix, const ApiSelector *labels, const ApiSelector *fields,
		     int64_t limit, int64_t rev, const char *start_after, json_t *items, int64_t *ret_rev,
		     char **ret_last_key, bool *ret_more);
int api_check_namespace(Api *api, const char *ns, ApiResponse *resp);
int api_admit(Api *api, const ApiRequest *req, ApiResponse *resp, json_t *obj);
/* The same, adding the Service addresses it newly claimed to claimed (the
 * caller gives them back with api_release_claims if it stores nothing; a 422
 * gives them back itself). */
int api_admit_claims(Api *api, const ApiRequest *req, ApiResponse *resp, json_t *obj, json_t *claimed);
int api_store_error(ApiResponse *resp, const ApiRequest *req, int r, const char *name, Error *err);
int api_create_object(Api *api, ApiRequest *req, ApiResponse *resp, json_t *obj);

/* update.c */
bool api_sub_allowed(const ApiResource *r, const char *sub);
json_t *api_scale_from(const json_t *obj);
void api_handle_update(Api *api, ApiRequest *req, ApiResponse *resp);
void api_handle_patch(Api *api, ApiRequest *req, ApiResponse *resp);
void api_handle_delete(Api *api, ApiRequest *req, ApiResponse *resp);
void api_handle_delete_collection(Api *api, ApiRequest *req, ApiResponse *resp);
/* Delete one stored object now (finalizers permitting) and cascade; 0, -ENOENT, -ESTALE. */
int api_delete_now(Api *api, const ApiResource *r, const char *ns, const char *name, const char *propagation,
		   json_t **ret_obj);

/* special.c: subresources that are actions, and non-REST API calls */
void api_handle_connect(Api *api, ApiRequest *req, ApiResponse *resp);
bool api_special_handle(Api *api, ApiRequest *req, ApiResponse *resp);

/* gc.c */
/* Create obj (stolen) through the normal create path unless it exists. */
void api_ensure_object(Api *api, const char *resource, const char *group, const char *ns, json_t *obj);
void api_after_create(Api *api, const ApiResource *r, const json_t *obj);
/* Delete (background propagation) / orphan the objects owned by obj. */
void api_gc_delete_dependents(Api *api, const ApiResource *r, const json_t *obj);
void api_gc_orphan_dependents(Api *api, const json_t *obj);
/* Mark the namespace Terminating, empty it, remove it; responds. */
void api_namespace_delete(Api *api, ApiRequest *req, ApiResponse *resp, json_t *ns);
/* A CRD went away: its objects go too. */
void api_crd_deleted(Api *api, const json_t *crd);
/* The namespaces, ServiceAccounts and the kubernetes Service every cluster has. */
void api_bootstrap(Api *api);

/* cache-serve.c: lists from the watch cache; false when it cannot serve the request. */
bool api_cache_serve_list(Api *api, ApiRequest *req, ApiResponse *resp, const char *prefix,
			  const ApiSelector *labels, const ApiSelector *fields, int64_t limit);
bool api_cache_ready_for(Api *api, const ApiRequest *req);
bool api_cache_obj_match(const CacheObj *o, const ApiSelector *labels, const ApiSelector *fields);

#endif
