/* handlers.c - the request dispatcher and the read/create half of the
 * generic REST handlers: get, list (selectors, limit/continue, Table),
 * watch start, create (generateName, uid, timestamps, defaulting,
 * validation, namespace existence).  Updates, patches, deletes and the scale
 * subresource live in update.c.
 *
 * Every handler ends in exactly one ApiResponse: an object, a list, a Table,
 * a watch stream or a Status error.
 */
#include "api-internal.h"
#include "handlers.h"
#include "gc.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <openssl/rand.h>
#include <string.h>

const char *api_param(const ApiRequest *req, const char *key)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (!strcmp(req->params[i].key, key))
			return req->params[i].value;
	return NULL;
}

void api_request_release(ApiRequest *req)
{
	for (size_t i = 0; i < req->nparams; i++) {
		free(req->params[i].key);
		free(req->params[i].value);
	}
	free(req->params);
	free(req->path);
	free(req->group);
	free(req->version);
	free(req->ns);
	free(req->resource);
	free(req->name);
	free(req->sub);
	memset(req, 0, sizeof(*req));
}

void api_response_release(ApiResponse *resp)
{
	free(resp->body);
	free(resp->warning);
	if (resp->watch)
		api_watch_free(resp->watch);
	api_proxy_free(resp->proxy);
	memset(resp, 0, sizeof(*resp));
}

void api_respond_json(ApiResponse *resp, int status, json_t *obj)
{
	free(resp->body);
	resp->status = status;
	resp->body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	if (!resp->body) {
		/* a value jansson refused (text from the request that is not UTF-8) */
		resp->status = status >= 400 ? status : 500;
		resp->body = xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
				       "\"message\":\"the request contains text that is not UTF-8\",\"code\":%d}",
				       resp->status);
	}
	resp->len = strlen(resp->body);
	resp->content_type = "application/json";
	json_decref(obj);
}

bool api_accepts_table(const ApiRequest *req)
{
	return req->accept && strstr(req->accept, "as=Table") && strstr(req->accept, "g=meta.k8s.io");
}

bool api_param_true(const ApiRequest *req, const char *key)
{
	const char *v = api_param(req, key);
	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* Parse the request body as a JSON object; on failure respond 400 and return NULL. */
json_t *api_body_object(const ApiRequest *req, ApiResponse *resp)
{
	json_error_t e;
	const char *ct = req->content_type;
	if (ct && str_has_prefix(ct, "application/vnd.kubernetes.protobuf") && req->body_len <= BERTH_MAX_API_OBJECT) {
		_cleanup_err_ Error *err = NULL;
		json_t *obj = api_protobuf_decode(req->body ? req->body : "", req->body_len, &err);
		if (!obj)
			api_respond_status(resp, err && err->code == ENOTSUP ? 415 : 400,
					   err && err->code == ENOTSUP ? "UnsupportedMediaType" : "BadRequest", "%s",
					   err_msg(err));
		return obj;
	}
	if (ct && *ct && !str_has_prefix(ct, "application/json") && !str_has_prefix(ct, "*/*") &&
	    !strstr(ct, "patch")) {
		/* protobuf and CBOR are not spoken: 415 makes client-go fall back to JSON */
		api_respond_status(resp, 415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
				   "accepted media types include: application/json, application/yaml");
		return NULL;
	}
	if (req->body_len > BERTH_MAX_API_OBJECT) {
		api_respond_status(resp, 413, "RequestEntityTooLarge", "Request entity too large: limit is %u",
				   BERTH_MAX_API_OBJECT);
		return NULL;
	}
	json_t *obj = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!obj) {
		api_respond_status(resp, 400, "BadRequest", "the object provided is unrecognized: json parse error: %s at "
				   "line %d, column %d", e.text, e.line, e.column);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		api_respond_status(resp, 400, "BadRequest", "the object provided is unrecognized: expected a JSON object");
		return NULL;
	}
	if (!json_is_object(json_object_get(obj, "metadata")) && json_object_get(obj, "metadata")) {
		json_decref(obj);
		api_respond_status(resp, 400, "BadRequest", "metadata must be an object");
		return NULL;
	}
	return obj;
}

/* Check apiVersion/kind against the resource (filling them in when absent). */
int api_check_kind(const ApiRequest *req, ApiResponse *resp, json_t *obj, const char *kind,
		   const char *api_version)
{
	const char *k = json_str(obj, "kind"), *av = json_str(obj, "apiVersion");
	if (k && strcmp(k, kind)) {
		api_respond_status(resp, 400, "BadRequest", "the kind in the data (%s) does not match the expected kind (%s)",
				   k, kind);
		return -EINVAL;
	}
	if (av && strcmp(av, api_version)) {
		api_respond_status(resp, 400, "BadRequest",
				   "the API version in the data (%s) does not match the expected API version (%s)", av,
				   api_version);
		return -EINVAL;
	}
	(void)req;
	json_object_set_new(obj, "kind", json_string(kind));
	json_object_set_new(obj, "apiVersion", json_string(api_version));
	return 0;
}

/* ---- get ---- */

int api_load(Api *api, const ApiResource *r, const char *ns, const char *name, json_t **ret, int64_t *ret_rev)
{
	_cleanup_free_ char *key = api_resource_key(r, ns, name);
	StoreKV kv;
	int rc = store_get(api->store, key, &kv, NULL);
	if (rc < 0)
		return rc;
	*ret = api_object_decode(&kv);
	if (ret_rev)
		*ret_rev = kv.mod_revision;
	store_kv_release(&kv);
	return *ret ? 0 : -EIO;
}

static void handle_get(Api *api, ApiRequest *req, ApiResponse *resp)
{
	json_t *obj;
	int r = api_load(api, req->res, req->ns, req->name, &obj, NULL);
	if (r == -ENOENT) {
		api_respond_not_found(resp, req);
		return;
	}
	if (r < 0) {
		api_respond_status(resp, 500, "InternalError", "reading %s: %s", req->name, strerror(-r));
		return;
	}
	if (req->sub && !strcmp(req->sub, "scale")) {
		api_respond_json(resp, 200, api_scale_from(obj));
		json_decref(obj);
		return;
	}
	if (api_accepts_table(req)) {
		json_t *t = api_table_new(req->res, true);
		api_table_add(t, req->res, obj, req);
		json_object_set(json_object_get(t, "metadata"), "resourceVersion",
				json_path(obj, "metadata.resourceVersion"));
		json_decref(obj);
		api_respond_json(resp, 200, t);
		return;
	}
	api_respond_json(resp, 200, obj);
}

/* ---- list ---- */

static int parse_selectors(const ApiRequest *req, ApiResponse *resp, ApiSelector **labels, ApiSelector **fields)
{
	_cleanup_err_ Error *err = NULL;
	const char *ls = api_param(req, "labelSelector"), *fs = api_param(req, "fieldSelector");
	if (ls && api_selector_parse(ls, false, labels, &err) < 0) {
		api_respond_status(resp, 400, "BadRequest", "unable to parse requirement: %s", err_msg(err));
		return -EINVAL;
	}
	if (fs && api_selector_parse(fs, true, fields, &err) < 0) {
		api_respond_status(resp, 400, "BadRequest", "%s", err_msg(err));
		return -EINVAL;
	}
	return 0;
}

static char *list_kind(const ApiResource *r)
{
	return r->list_kind ? xstrdup(r->list_kind) : xasprintf("%sList", r->kind);
}

/* The matching objects under prefix: a page of at most limit (0: all). */
int api_list_objects(Api *api, const char *prefix, const ApiSelector *labels, const ApiSelector *fields,
		     int64_t limit, int64_t rev, const char *start_after, json_t *items, int64_t *ret_rev,
		     char **ret_last_key, bool *ret_more)
{
	_cleanup_free_ char *cursor = start_after ? xstrdup(start_after) : NULL;
	*ret_more = false;
	for (;;) {
		StoreKVList l;
		bool more;
		int64_t want = limit > 0 ? limit - (int64_t)json_array_size(items) : 0;
		int r = store_list(api->store, prefix, cursor, want > 0 ? (want < 500 ? want : 500) : 0, rev, &l,
				   ret_rev, &more, NULL);
		if (r < 0)
			return r;
		rev = *ret_rev;
		for (size_t i = 0; i < l.n; i++) {
			free(cursor);
			cursor = xstrdup(l.items[i].key);
			json_t *obj = api_object_decode(&l.items[i]);
			if (obj && api_selector_match(labels, obj) && api_selector_match(fields, obj))
				json_array_append_new(items, obj);
			else
				json_decref(obj);
			if (limit > 0 && (int64_t)json_array_size(items) >= limit) {
				*ret_more = more || i + 1 < l.n;
				break;
			}
		}
		store_kv_list_release(&l);
		if (!more || (limit > 0 && (int64_t)json_array_size(items) >= limit))
			break;
	}
	if (ret_last_key)
		*ret_last_key = TAKE_PTR(cursor);
	return 0;
}

static void handle_list(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_(api_selector_freep) ApiSelector *labels = NULL, *fields = NULL;
	if (parse_selectors(req, resp, &labels, &fields) < 0)
		return;
	int64_t limit = 0, rev = 0;
	const char *ls = api_param(req, "limit"), *cont = api_param(req, "continue");
	if (ls && (parse_int64(ls, &limit) < 0 || limit < 0)) {
		api_respond_status(resp, 400, "BadRequest", "invalid limit: %s", ls);
		return;
	}
	_cleanup_free_ char *prefix = api_resource_key(req->res, req->ns, NULL);
	_cleanup_free_ char *start = NULL;
	if (cont && *cont) {
		if (api_continue_decode(cont, &rev, &start) < 0 || !str_has_prefix(start, prefix)) {
			api_respond_status(resp, 400, "BadRequest", "continue key is not valid: %s", cont);
			return;
		}
		if (rev < store_compact_revision(api->store)) {
			api_respond_status(resp, 410, "Expired", "The provided continue parameter is too old to display a "
					   "consistent list result. You can start a new list without the continue parameter.");
			return;
		}
	}
	if (api_cache_serve_list(api, req, resp, prefix, labels, fields, limit))
		return;
	_cleanup_json_ json_t *items = json_array();
	_cleanup_free_ char *last = NULL;
	bool more;
	int64_t read_rev;
	int r = api_list_objects(api, prefix, labels, fields, limit, rev, start, items, &read_rev, &last, &more);
	if (r < 0) {
		api_respond_status(resp, r == -ERANGE ? 410 : 500, r == -ERANGE ? "Expired" : "InternalError",
				   "list: %s", strerror(-r));
		return;
	}
	char rvs[32];
	snprintf(rvs, sizeof(rvs), "%lld", (long long)read_rev);
	json_t *meta = json_pack("{s:s}", "resourceVersion", rvs);
	if (more && last) {
		_cleanup_free_ char *tok = api_continue_encode(read_rev, last);
		json_object_set_new(meta, "continue", json_string(tok));
	}
	if (api_accepts_table(req)) {
		json_t *t = api_table_new(req->res, true);
		size_t i;
		json_t *o;
		json_array_foreach(items, i, o)
			api_table_add(t, req->res, o, req);
		json_object_set_new(t, "metadata", meta);
		api_respond_json(resp, 200, t);
		return;
	}
	_cleanup_free_ char *kind = list_kind(req->res);
	_cleanup_free_ char *av = api_resource_api_version(req->res);
	api_respond_json(resp, 200, json_pack("{s:s, s:s, s:o, s:O}", "kind", kind, "apiVersion", av, "metadata", meta,
					      "items", items));
}

static void handle_watch(Api *api, ApiRequest *req, ApiResponse *resp)
{
	const char *rvs = api_param(req, "resourceVersion");
	int64_t rev = 0;
	if (rvs && *rvs && (parse_int64(rvs, &rev) < 0 || rev < 0)) {
		api_respond_status(resp, 400, "BadRequest", "invalid resource version: %s", rvs);
		return;
	}
	_cleanup_free_ char *prefix = api_resource_key(req->res, req->ns, NULL);
	api_watch_start(api, req, resp, prefix, rev);
}

/* ---- create ---- */

static void generate_name(json_t *meta)
{
	static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
	const char *gen = json_str(meta, "generateName");
	if (json_str(meta, "name") && *json_str(meta, "name"))
		return;
	if (!gen || !*gen)
		return;
	unsigned char b[5];
	RAND_bytes(b, sizeof(b));
	char suffix[6];
	for (size_t i = 0; i < 5; i++)
		suffix[i] = al[b[i] % (sizeof(al) - 1)];
	suffix[5] = 0;
	size_t n = strlen(gen);
	if (n > 58)
		n = 58;
	char *name = xasprintf("%.*s%s", (int)n, gen, suffix);
	json_object_set_new(meta, "name", json_string(name));
	free(name);
}

/* The namespace from the watch cache (as kube-apiserver's lifecycle
 * admission reads its informer), else from the store: a namespace created
 * a moment ago is found either way, and a create costs one store round
 * trip, not two. */
static int load_namespace(Api *api, const ApiResource *r, const char *ns, json_t **ret)
{
	if (api->cache) {
		_cleanup_free_ char *key = api_resource_key(r, NULL, ns);
		CacheObj *o = api_cache_get(api->cache, key);
		if (o) {
			*ret = cache_obj_decode(o);
			cache_obj_unref(o);
			if (*ret)
				return 0;
		}
	}
	return api_load(api, r, NULL, ns, ret, NULL);
}

/* Is the namespace terminating, read from its cached text without a decode
 * (one per create was ~3% of a pod create): 1 yes, 0 no, -ENOENT not
 * cached (or not plain JSON): the caller loads it. */
static int cached_namespace_terminating(Api *api, const ApiResource *r, const char *ns)
{
	if (!api->cache)
		return -ENOENT;
	_cleanup_free_ char *key = api_resource_key(r, NULL, ns);
	CacheObj *o = api_cache_get(api->cache, key);
	if (!o)
		return -ENOENT;
	const char *ms, *me, *ds, *de;
	int ret = -ENOENT;
	if (cache_json_member(o->raw, o->raw + o->raw_len, "metadata", &ms, &me) == 0 && *ms == '{') {
		int d = cache_json_member(ms, me, "deletionTimestamp", &ds, &de);
		if (d == 0 || d == -ENOENT)
			ret = d == 0;
	}
	cache_obj_unref(o);
	return ret;
}

/* 404 when the namespace is missing, 403 when it is terminating, 500 when
 * the store cannot say. */
int api_check_namespace(Api *api, const char *ns, ApiResponse *resp)
{
	size_t n;
	const ApiResource *tbl = api_resource_builtin(&n);
	int t = cached_namespace_terminating(api, &tbl[0], ns);
	if (t == 0)
		return 0;
	json_t *nsobj = NULL;
	int r = t > 0 ? 0 : load_namespace(api, &tbl[0], ns, &nsobj);
	if (r < 0 && r != -ENOENT) {
		api_respond_status(resp, 500, "InternalError", "reading namespace \"%s\": %s", ns, strerror(-r));
		return r;
	}
	if (r < 0) {
		_cleanup_free_ char *msg = xasprintf("namespaces \"%s\" not found", ns);
		api_respond_json(resp, 404, api_status(404, "NotFound", msg, json_pack("{s:s, s:s}", "name", ns, "kind",
											"namespaces")));
		return -ENOENT;
	}
	bool terminating = t > 0 || json_path(nsobj, "metadata.deletionTimestamp") != NULL;
	json_decref(nsobj);
	if (terminating) {
		api_respond_status(resp, 403, "Forbidden", "unable to create new content in namespace %s because it is "
				   "being terminated", ns);
		return -EPERM;
	}
	return 0;
}

static bool is_service(const ApiResource *r)
{
	return !r->group[0] && !strcmp(r->resource, "services");
}

int api_admit(Api *api, const ApiRequest *req, ApiResponse *resp, json_t *obj)
{
	_cleanup_json_ json_t *claimed = json_array();
	return api_admit_claims(api, req, resp, obj, claimed);
}

int api_admit_claims(Api *api, const ApiRequest *req, ApiResponse *resp, json_t *obj, json_t *claimed)
{
	const ApiResource *r = req->res;
	if (r->defaults)
		r->defaults(api, obj);
	_cleanup_json_ json_t *causes = json_array();
	if (is_service(r)) {
		/* addresses are allocated before validation, as kube-apiserver's BeginCreate */
		api_service_allocate(api, obj, causes, claimed);
		if (json_array_size(causes)) {
			api_release_claims(api, obj, claimed);
			json_array_clear(claimed);
			api_respond_invalid(resp, req, api_meta_str(obj, "name"), causes);
			return -EINVAL;
		}
	}
	api_validate_meta(r, obj, req->ns, causes);
	if (r->validate)
		r->validate(obj, causes);
	if (r->custom && r->schema) {
		_cleanup_json_ json_t *copy = json_deep_copy(obj);
		json_object_del(copy, "metadata");
		json_object_del(copy, "kind");
		json_object_del(copy, "apiVersion");
		api_validate_schema(r->schema, copy, "", causes);
		size_t i;
		json_t *c;
		json_array_foreach(causes, i, c) {
			const char *f = json_str(c, "field");
			if (f && f[0] == '.')
				json_object_set_new(c, "field", json_string(f + 1));
		}
	}
	if (json_array_size(causes)) {
		api_release_claims(api, obj, claimed);
		json_array_clear(claimed);
		api_respond_invalid(resp, req, api_meta_str(obj, "name"), causes);
		return -EINVAL;
	}
	return 0;
}

int api_store_error(ApiResponse *resp, const ApiRequest *req, int r, const char *name, Error *err)
{
	char gr[300];
	api_group_resource(req, gr, sizeof(gr));
	if (r == -EEXIST) {
		_cleanup_free_ char *msg = xasprintf("%s \"%s\" already exists", gr, name);
		json_t *d = json_pack("{s:s, s:s}", "name", name, "kind", req->res->resource);
		if (req->res->group[0])
			json_object_set_new(d, "group", json_string(req->res->group));
		api_respond_json(resp, 409, api_status(409, "AlreadyExists", msg, d));
	} else if (r == -ESTALE) {
		_cleanup_free_ char *msg = xasprintf("Operation cannot be fulfilled on %s \"%s\": the object has been "
						     "modified; please apply your changes to the latest version and try again",
						     gr, name);
		json_t *d = json_pack("{s:s, s:s}", "name", name, "kind", req->res->resource);
		if (req->res->group[0])
			json_object_set_new(d, "group", json_string(req->res->group));
		api_respond_json(resp, 409, api_status(409, "Conflict", msg, d));
	} else if (r == -ENOENT) {
		api_respond_not_found(resp, req);
	} else {
		api_respond_status(resp, 500, "InternalError", "storage: %s", err_msg(err));
	}
	return r;
}

/* Store obj as a new object; on success responds 201 with it. */
int api_create_object(Api *api, ApiRequest *req, ApiResponse *resp, json_t *obj)
{
	json_t *meta = json_obj_ensure(obj, "metadata");
	generate_name(meta);
	if (req->res->namespaced)
		json_object_set_new(meta, "namespace", json_string(req->ns));
	else
		json_object_del(meta, "namespace");
	char uid[37], now[40];
	api_new_uid(uid);
	api_now_rfc3339(now, sizeof(now));
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(now));
	json_object_del(meta, "resourceVersion");
	json_object_del(meta, "deletionTimestamp");
	json_object_del(meta, "deletionGracePeriodSeconds");
	if (json_object_get(obj, "spec") || req->res->custom)
		json_object_set_new(meta, "generation", json_integer(1));
	/* status is the controllers' to write, except a Node's: its agent
	 * registers it with capacity and conditions (as kube-apiserver allows) */
	if (req->res->has_status && strcmp(req->res->resource, "namespaces") && strcmp(req->res->resource, "nodes"))
		json_object_del(obj, "status");
	if (!strcmp(req->res->resource, "namespaces")) {
		json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
		json_object_set_new(json_obj_ensure(obj, "spec"), "finalizers", json_pack("[s]", "kubernetes"));
		json_object_set_new(json_obj_ensure(meta, "labels"), "kubernetes.io/metadata.name",
				    json_string(api_meta_str(obj, "name") ?: ""));
	}
	_cleanup_json_ json_t *claimed = json_array();
	if (api_admit_claims(api, req, resp, obj, claimed) < 0)
		return -EINVAL;
	if (!req->managed_set)
		api_managed_update(req, NULL, obj);
	size_t len;
	_cleanup_free_ char *val = api_object_encode(obj, &len);
	if (len > BERTH_MAX_API_OBJECT) {
		api_release_claims(api, obj, claimed);
		api_respond_status(resp, 413, "RequestEntityTooLarge", "Request entity too large: limit is %u",
				   BERTH_MAX_API_OBJECT);
		return -E2BIG;
	}
	_cleanup_free_ char *key = api_resource_key(req->res, req->ns, api_meta_str(obj, "name"));
	_cleanup_err_ Error *err = NULL;
	int64_t rev;
	int r = store_create(api->store, key, val, len, &rev, &err);
	if (r < 0) {
		api_release_claims(api, obj, claimed);
		return api_store_error(resp, req, r, api_meta_str(obj, "name"), err);
	}
	api_object_set_rv(obj, rev);
	api_after_create(api, req->res, obj);
	/* the body is the stored text with resourceVersion spliced in (what
	 * the watch cache serves), not a second encode of the object */
	size_t blen;
	char *body = cache_json_with_rv(val, len, rev, &blen);
	if (body) {
		free(resp->body);
		resp->status = 201;
		resp->body = body;
		resp->len = blen;
		resp->content_type = "application/json";
	} else
		api_respond_json(resp, 201, json_incref(obj));
	/* created for an owner that is already gone: collect it at once, as the
	 * garbage collector would (clients see ADDED, then DELETED) */
	if (api_gc_owners_gone(api, obj))
		api_delete_now(api, req->res, req->ns, api_meta_str(obj, "name"), "Background", NULL);
	return 0;
}

static void handle_create(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_json_ json_t *obj = api_body_object(req, resp);
	if (!obj)
		return;
	_cleanup_free_ char *av = api_resource_api_version(req->res);
	if (api_check_kind(req, resp, obj, req->res->kind, av) < 0)
		return;
	const char *bns = api_meta_str(obj, "namespace");
	if (req->res->namespaced && bns && *bns && strcmp(bns, req->ns)) {
		api_respond_status(resp, 400, "BadRequest", "the namespace of the provided object does not match the "
				   "namespace sent on the request");
		return;
	}
	if (req->res->namespaced && api_check_namespace_create(api, req, obj, resp) < 0)
		return;
	if (api_admit_priority(api, req, resp, obj) < 0)
		return;
	if (api_param(req, "dryRun")) {
		_cleanup_json_ json_t *claimed = json_array();
		if (api_admit_claims(api, req, resp, obj, claimed) == 0)
			api_respond_json(resp, 201, json_incref(obj));
		api_release_claims(api, obj, claimed); /* nothing is kept for a dry run */
		return;
	}
	api_create_object(api, req, resp, obj);
}

/* ---- dispatch ---- */

static void handle_resource(Api *api, ApiRequest *req, ApiResponse *resp)
{
	const char *m = req->method;
	if (req->sub && !api_sub_allowed(req->res, req->sub)) {
		api_respond_status(resp, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	if (!strcmp(m, "GET") && !req->name) {
		if (api_param_true(req, "watch"))
			handle_watch(api, req, resp);
		else
			handle_list(api, req, resp);
	} else if (!strcmp(m, "GET")) {
		if (req->sub && strcmp(req->sub, "status") && strcmp(req->sub, "scale"))
			api_handle_connect(api, req, resp);
		else
			handle_get(api, req, resp);
	} else if (!strcmp(m, "POST") && !req->name) {
		handle_create(api, req, resp);
	} else if (!strcmp(m, "POST") && req->sub) {
		api_handle_connect(api, req, resp);
	} else if (!strcmp(m, "PUT") && req->name) {
		api_handle_update(api, req, resp);
	} else if (!strcmp(m, "PATCH") && req->name) {
		api_handle_patch(api, req, resp);
	} else if (!strcmp(m, "DELETE") && req->name) {
		api_handle_delete(api, req, resp);
	} else if (!strcmp(m, "DELETE")) {
		api_handle_delete_collection(api, req, resp);
	} else {
		api_respond_status(resp, 405, "MethodNotAllowed", "the server does not allow this method on the requested "
				   "resource");
	}
}

void api_handle(Api *api, ApiRequest *req, ApiResponse *resp)
{
	int r = api_route(api, req);
	if (api_authorize(api, req, resp) < 0)
		return;
	if (api_special_handle(api, req, resp))
		return;
	if (r == 1 || r == -ENOENT) {
		if (!api_discovery_handle(api, req, resp))
			api_respond_status(resp, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	if (r < 0) {
		api_respond_status(resp, 404, "NotFound", "the server could not find the requested resource");
		return;
	}
	handle_resource(api, req, resp);
}
