/* discovery.c - the non-resource endpoints: legacy discovery (/api, /api/v1,
 * /apis, /apis/G, /apis/G/V), aggregated discovery (apidiscovery.k8s.io v2
 * and v2beta1, chosen by Accept as kubectl >= 1.26 asks), /version, health
 * (/healthz /livez /readyz), /metrics, and OpenAPI v3 (a root listing every
 * group-version and per group-version documents whose PATCH operations carry
 * the fieldValidation parameter and x-kubernetes-group-version-kind, which is
 * what kubectl checks before it leaves validation to the server; their text
 * is cached by openapi.c).
 * /openapi/v2 comes from openapi-v2.c (see openapi_v2).
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <string.h>

#define K8S_MAJOR "1"
#define K8S_MINOR "31"
#define K8S_GIT_VERSION "v1.31.0+berth"

static json_t *csv_array(const char *csv)
{
	json_t *a = json_array();
	for (const char *p = csv; p && *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

static json_t *verbs_for(const ApiResource *r)
{
	(void)r;
	return json_pack("[s,s,s,s,s,s,s,s]", "create", "delete", "deletecollection", "get", "list", "patch", "update",
			 "watch");
}

static const char *sub_kind(const ApiResource *r, const char *sub, const char **group, const char **version)
{
	*group = r->group;
	*version = r->version;
	if (!strcmp(sub, "scale")) {
		*group = "autoscaling";
		*version = "v1";
		return "Scale";
	}
	if (!strcmp(sub, "token")) {
		*group = "authentication.k8s.io";
		return "TokenRequest";
	}
	if (!strcmp(sub, "eviction")) {
		*group = "policy";
		return "Eviction";
	}
	if (!strcmp(sub, "binding"))
		return "Binding";
	return r->kind;
}

static json_t *sub_verbs(const char *sub)
{
	if (!strcmp(sub, "status") || !strcmp(sub, "scale") || !strcmp(sub, "ephemeralcontainers"))
		return json_pack("[s,s,s]", "get", "patch", "update");
	if (!strcmp(sub, "log"))
		return json_pack("[s]", "get");
	if (!strcmp(sub, "exec") || !strcmp(sub, "attach") || !strcmp(sub, "portforward") || !strcmp(sub, "proxy"))
		return json_pack("[s,s]", "create", "get");
	if (!strcmp(sub, "finalize"))
		return json_pack("[s]", "update");
	return json_pack("[s]", "create");
}

/* An APIResourceList for group/version. */
static json_t *resource_list(Api *api, const char *group, const char *version)
{
	json_t *list = json_array();
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		const ApiResource *r = all[i];
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->resource, "singularName", r->singular,
				      "namespaced", r->namespaced, "kind", r->kind, "verbs", verbs_for(r));
		if (r->short_names)
			json_object_set_new(e, "shortNames", csv_array(r->short_names));
		if (r->categories)
			json_object_set_new(e, "categories", csv_array(r->categories));
		json_array_append_new(list, e);
		for (const char *p = r->subresources; p && *p;) {
			size_t l = strcspn(p, ",");
			_cleanup_free_ char *sub = xstrndup(p, l);
			_cleanup_free_ char *name = xasprintf("%s/%s", r->resource, sub);
			const char *g, *v, *k = sub_kind(r, sub, &g, &v);
			json_t *se = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "", "namespaced",
					       r->namespaced, "kind", k, "verbs", sub_verbs(sub));
			if (strcmp(g, r->group) || strcmp(v, r->version)) {
				json_object_set_new(se, "group", json_string(g));
				json_object_set_new(se, "version", json_string(v));
			}
			json_array_append_new(list, se);
			p += l;
			if (*p == ',')
				p++;
		}
	}
	_cleanup_free_ char *gv = *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv,
			 "resources", list);
}

/* The groups (other than core) in table order, each once. */
static json_t *group_names(Api *api)
{
	json_t *names = json_array();
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		if (!all[i]->group[0])
			continue;
		_cleanup_free_ char *gv = api_resource_api_version(all[i]);
		bool seen = false;
		size_t j;
		json_t *v;
		json_array_foreach(names, j, v)
			seen = seen || !strcmp(json_string_value(v), gv);
		if (!seen)
			json_array_append_new(names, json_string(gv));
	}
	return names;
}

static json_t *group_entry(const char *gv)
{
	const char *slash = strchr(gv, '/');
	_cleanup_free_ char *g = xstrndup(gv, (size_t)(slash - gv));
	json_t *ver = json_pack("{s:s, s:s}", "groupVersion", gv, "version", slash + 1);
	return json_pack("{s:s, s:[O], s:o}", "name", g, "versions", ver, "preferredVersion", ver);
}

static json_t *group_list(Api *api)
{
	_cleanup_json_ json_t *names = group_names(api);
	json_t *groups = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		json_array_append_new(groups, group_entry(json_string_value(v)));
	}
	return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
}

/* ---- aggregated discovery ---- */

static json_t *agg_resource(const ApiResource *r)
{
	json_t *e = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource", r->resource, "responseKind",
			      "group", r->group, "version", r->version, "kind", r->kind, "scope",
			      r->namespaced ? "Namespaced" : "Cluster", "singularResource", r->singular, "verbs",
			      verbs_for(r));
	if (r->short_names)
		json_object_set_new(e, "shortNames", csv_array(r->short_names));
	if (r->categories)
		json_object_set_new(e, "categories", csv_array(r->categories));
	json_t *subs = json_array();
	for (const char *p = r->subresources; p && *p;) {
		size_t l = strcspn(p, ",");
		_cleanup_free_ char *sub = xstrndup(p, l);
		const char *g, *v, *k = sub_kind(r, sub, &g, &v);
		json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource", sub, "responseKind",
						      "group", g, "version", v, "kind", k, "verbs", sub_verbs(sub)));
		p += l;
		if (*p == ',')
			p++;
	}
	if (json_array_size(subs))
		json_object_set_new(e, "subresources", subs);
	else
		json_decref(subs);
	return e;
}

static json_t *agg_list(Api *api, bool core, const char *api_version)
{
	json_t *items = json_array();
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		const ApiResource *r = all[i];
		if (core != !r->group[0])
			continue;
		json_t *group = NULL, *it;
		size_t j;
		json_array_foreach(items, j, it)
			if (!strcmp(json_str(json_object_get(it, "metadata"), "name"), r->group))
				group = it;
		if (!group) {
			group = json_pack("{s:{s:s}, s:[{s:s, s:[], s:s}]}", "metadata", "name", r->group, "versions",
					  "version", r->version, "resources", "freshness", "Current");
			json_array_append_new(items, group);
		}
		json_t *res = json_object_get(json_array_get(json_object_get(group, "versions"), 0), "resources");
		json_array_append_new(res, agg_resource(r));
	}
	return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion", api_version,
			 "metadata", "items", items);
}

/* "v2" or "v2beta1" when Accept asks for aggregated discovery first, else NULL. */
static const char *agg_version(const char *accept)
{
	for (const char *p = accept; p && *p;) {
		size_t n = strcspn(p, ",");
		_cleanup_free_ char *m = xstrndup(p, n);
		bool agg = strstr(m, "as=APIGroupDiscoveryList") && strstr(m, "g=apidiscovery.k8s.io");
		if (agg && (strstr(m, "v=v2;") || str_has_suffix(m, "v=v2")))
			return "v2";
		if (agg && strstr(m, "v=v2beta1"))
			return "v2beta1";
		if (!agg && (str_has_prefix(m, "application/json") || str_has_prefix(m, "*/*")))
			return NULL;
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static void respond_discovery(Api *api, ApiRequest *req, ApiResponse *resp, bool core)
{
	const char *v = agg_version(req->accept);
	if (v) {
		_cleanup_free_ char *av = xasprintf("apidiscovery.k8s.io/%s", v);
		api_respond_json(resp, 200, agg_list(api, core, av));
		resp->content_type = !strcmp(v, "v2") ?
			"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" :
			"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
		return;
	}
	if (core)
		api_respond_json(resp, 200, json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions",
						      "v1", "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
						      "serverAddress", api->cfg.listen ? api->cfg.listen : ""));
	else
		api_respond_json(resp, 200, group_list(api));
}

/* ---- OpenAPI v3 ---- */

static json_t *openapi_root(Api *api)
{
	json_t *paths = json_object();
	json_object_set_new(paths, "api/v1", json_pack("{s:s}", "serverRelativeURL", "/openapi/v3/api/v1?hash=berth1"));
	_cleanup_json_ json_t *names = group_names(api);
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		_cleanup_free_ char *k = xasprintf("apis/%s", json_string_value(v));
		_cleanup_free_ char *u = xasprintf("/openapi/v3/apis/%s?hash=berth%zu", json_string_value(v), api->ncustom);
		json_object_set_new(paths, k, json_pack("{s:s}", "serverRelativeURL", u));
	}
	return json_pack("{s:o}", "paths", paths);
}

static json_t *openapi_gv(Api *api, const char *group, const char *version)
{
	json_t *paths = json_object();
	json_t *schemas = json_object();
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		const ApiResource *r = all[i];
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		_cleanup_free_ char *prefix = *group ? xasprintf("/apis/%s/%s", group, version) : xasprintf("/api/%s", version);
		_cleanup_free_ char *p = r->namespaced ? xasprintf("%s/namespaces/{namespace}/%s/{name}", prefix, r->resource) :
					 xasprintf("%s/%s/{name}", prefix, r->resource);
		json_t *gvk = json_pack("{s:s, s:s, s:s}", "group", r->group, "version", r->version, "kind", r->kind);
		json_t *param = json_pack("{s:s, s:s, s:{s:s, s:b}}", "name", "fieldValidation", "in", "query", "schema",
					  "type", "string", "uniqueItems", 1);
		json_object_set_new(paths, p, json_pack("{s:{s:O, s:[o], s:s}}", "patch", "x-kubernetes-group-version-kind",
							gvk, "parameters", param, "operationId", r->kind));
		const char *known = api_openapi_add_kind(schemas, r);
		if (known) { /* a kind of the schema table (openapi.c) */
			json_object_set_new(json_object_get(schemas, known), "x-kubernetes-group-version-kind",
					    json_pack("[o]", gvk));
			continue;
		}
		json_t *schema = r->custom ? api_openapi_custom(schemas, r) : json_pack("{s:s}", "type", "object");
		json_object_set_new(schema, "x-kubernetes-group-version-kind", json_pack("[o]", gvk));
		_cleanup_free_ char *sname = xasprintf("%s.%s.%s", *group ? group : "io.k8s.api.core", version, r->kind);
		json_object_set_new(schemas, sname, schema);
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0", "info", "title", "Kubernetes",
			 "version", K8S_GIT_VERSION, "paths", paths, "components", "schemas", schemas);
}

/* kubectl < 1.29 downloads /openapi/v2 as gnostic protobuf before apply: a
 * Document with definitions (openapi-v2.c, for explain --output
 * plaintext-openapiv2) and no paths makes it compute patches from its own
 * types; the minimal {swagger, info} below is the fallback. */
static void openapi_v2(ApiRequest *req, ApiResponse *resp)
{
	bool pb = req->accept && strstr(req->accept, "protobuf");
	size_t len;
	char *doc = api_openapi_v2(pb, K8S_GIT_VERSION, &len);
	if (doc) {
		free(resp->body);
		resp->status = 200;
		resp->body = doc;
		resp->len = len;
		resp->content_type = pb ? "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" : "application/json";
		return;
	}
	if (pb) {
		static const char title[] = "Kubernetes", version[] = K8S_GIT_VERSION;
		StrBuf sb = STRBUF_INIT;
		sb_add(&sb, "\x0a\x03" "2.0", 5);
		sb_addc(&sb, 0x12);
		sb_addc(&sb, (char)(2 + sizeof(title) - 1 + 2 + sizeof(version) - 1));
		sb_addc(&sb, 0x0a);
		sb_addc(&sb, (char)(sizeof(title) - 1));
		sb_adds(&sb, title);
		sb_addc(&sb, 0x12);
		sb_addc(&sb, (char)(sizeof(version) - 1));
		sb_adds(&sb, version);
		resp->status = 200;
		resp->len = sb.len;
		resp->body = sb_detach(&sb);
		resp->content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
		return;
	}
	api_respond_json(resp, 200, json_pack("{s:s, s:{s:s, s:s}, s:{}, s:{}}", "swagger", "2.0", "info", "title",
					      "Kubernetes", "version", K8S_GIT_VERSION, "paths", "definitions"));
}

/* A group-version's document, from openapi.c's cache of its text. */
static void respond_gv(Api *api, ApiResponse *resp, const char *group, const char *version)
{
	size_t len;
	char *text = api_openapi_gv_text(api, group, version, &len, openapi_gv);
	if (!text) {
		api_respond_json(resp, 200, openapi_gv(api, group, version));
		return;
	}
	free(resp->body);
	resp->status = 200;
	resp->body = text;
	resp->len = len;
	resp->content_type = "application/json";
}

static bool openapi_handle(Api *api, ApiRequest *req, ApiResponse *resp)
{
	const char *p = req->path;
	if (!strcmp(p, "/openapi/v2")) {
		openapi_v2(req, resp);
		return true;
	}
	if (!strcmp(p, "/openapi/v3") || !strcmp(p, "/openapi/v3/")) {
		api_respond_json(resp, 200, openapi_root(api));
		return true;
	}
	if (!strcmp(p, "/openapi/v3/api/v1")) {
		respond_gv(api, resp, "", "v1");
		return true;
	}
	if (str_has_prefix(p, "/openapi/v3/apis/")) {
		const char *gv = p + strlen("/openapi/v3/apis/");
		const char *slash = strchr(gv, '/');
		if (slash && !strchr(slash + 1, '/')) {
			_cleanup_free_ char *g = xstrndup(gv, (size_t)(slash - gv));
			respond_gv(api, resp, g, slash + 1);
			return true;
		}
	}
	return false;
}

static void respond_text(ApiResponse *resp, int status, const char *text)
{
	resp->status = status;
	resp->body = xstrdup(text);
	resp->len = strlen(text);
	resp->content_type = "text/plain; charset=utf-8";
}

/* /healthz, /livez, /readyz as kube-apiserver answers them: "ok", or, when
 * the datastore does not answer (an etcd that is gone), 500 naming the
 * failed check.  /livez keeps answering ok: the process itself is alive. */
static void respond_health(Api *api, const char *path, ApiResponse *resp)
{
	_cleanup_err_ Error *err = NULL;
	if (!strcmp(path, "/livez") || store_ping(api->store, &err) == 0) {
		respond_text(resp, 200, "ok");
		return;
	}
	_cleanup_free_ char *text = xasprintf("[+]ping ok\n[-]etcd failed: reason withheld\n%s check failed\n", path + 1);
	respond_text(resp, 500, text);
}

static void respond_metrics(Api *api, ApiResponse *resp)
{
	StrBuf sb = STRBUF_INIT;
	sb_addf(&sb, "# HELP berth_store_revision The newest revision in the store.\n"
		     "# TYPE berth_store_revision gauge\nberth_store_revision %lld\n",
		(long long)store_revision(api->store));
	sb_addf(&sb, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
		     "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %lld\n",
		(long long)api->started);
	resp->status = 200;
	resp->len = sb.len;
	resp->body = sb_detach(&sb);
	resp->content_type = "text/plain; version=0.0.4";
}

bool api_discovery_handle(Api *api, ApiRequest *req, ApiResponse *resp)
{
	const char *p = req->path;
	if (!strcmp(p, "/api") || !strcmp(p, "/api/")) {
		respond_discovery(api, req, resp, true);
	} else if (!strcmp(p, "/apis") || !strcmp(p, "/apis/")) {
		respond_discovery(api, req, resp, false);
	} else if (!strcmp(p, "/api/v1")) {
		api_respond_json(resp, 200, resource_list(api, "", "v1"));
	} else if (!strcmp(p, "/version")) {
		api_respond_json(resp, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major",
						      K8S_MAJOR, "minor", K8S_MINOR, "gitVersion", K8S_GIT_VERSION,
						      "gitCommit", "berth", "gitTreeState", "clean", "buildDate",
						      "2024-08-13T00:00:00Z", "goVersion", "go1.22.5", "compiler", "gc",
						      "platform", "linux/amd64"));
	} else if (!strcmp(p, "/healthz") || !strcmp(p, "/livez") || !strcmp(p, "/readyz")) {
		respond_health(api, p, resp);
	} else if (!strcmp(p, "/metrics")) {
		respond_metrics(api, resp);
	} else if (str_has_prefix(p, "/openapi/")) {
		if (!openapi_handle(api, req, resp))
			api_respond_status(resp, 404, "NotFound", "the server could not find the requested resource");
	} else if (str_has_prefix(p, "/apis/")) {
		/* /apis/G or /apis/G/V */
		const char *g = p + 6, *slash = strchr(g, '/');
		if (slash && strchr(slash + 1, '/'))
			return false;
		_cleanup_free_ char *group = slash ? xstrndup(g, (size_t)(slash - g)) : xstrdup(g);
		_cleanup_json_ json_t *names = group_names(api);
		size_t i;
		json_t *v;
		json_array_foreach(names, i, v) {
			const char *gv = json_string_value(v);
			if (strncmp(gv, group, strlen(group)) || gv[strlen(group)] != '/')
				continue;
			if (!slash) {
				json_t *e = group_entry(gv);
				json_object_set_new(e, "kind", json_string("APIGroup"));
				json_object_set_new(e, "apiVersion", json_string("v1"));
				api_respond_json(resp, 200, e);
			} else if (!strcmp(gv + strlen(group) + 1, slash + 1)) {
				api_respond_json(resp, 200, resource_list(api, group, slash + 1));
			} else {
				continue;
			}
			return true;
		}
		api_respond_status(resp, 404, "NotFound", "the server could not find the requested resource");
	} else {
		return false;
	}
	return true;
}
