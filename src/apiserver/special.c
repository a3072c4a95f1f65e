/* special.c - API calls that are not plain CRUD: access reviews
 * (`kubectl auth can-i`, `kubectl auth whoami`), the action subresources
 * (serviceaccounts/token as `kubectl create token` asks, pods/binding,
 * pods/eviction) and the streaming pod subresources, which the node agent
 * will serve (until then a clear 400 says so).
 *
 * ServiceAccount tokens are JWTs signed with HMAC-SHA256 by a key in the
 * data dir; auth.c verifies them.
 */
#include "api-internal.h"
#include "handlers.h"
#include "eviction.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <time.h>

static char *b64url(const unsigned char *data, size_t n)
{
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)o, data, (int)n);
	for (int i = 0; i < len; i++)
		o[i] = o[i] == '+' ? '-' : o[i] == '/' ? '_' : o[i];
	while (len > 0 && o[len - 1] == '=')
		o[--len] = 0;
	return o;
}

char *api_jwt_sign(Api *api, json_t *claims)
{
	_cleanup_free_ char *payload = json_dumps(claims, JSON_COMPACT);
	_cleanup_free_ char *h = b64url((const unsigned char *)"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
	_cleanup_free_ char *p = b64url((const unsigned char *)payload, strlen(payload));
	_cleanup_free_ char *signing = xasprintf("%s.%s", h, p);
	unsigned char mac[32];
	unsigned int mlen = sizeof(mac);
	HMAC(EVP_sha256(), api->sa_key, sizeof(api->sa_key), (const unsigned char *)signing, strlen(signing), mac, &mlen);
	_cleanup_free_ char *s = b64url(mac, mlen);
	return xasprintf("%s.%s", signing, s);
}

static void token_request(Api *api, ApiRequest *req, ApiResponse *resp)
{
	json_t *sa;
	if (api_load(api, req->res, req->ns, req->name, &sa, NULL) < 0) {
		api_respond_not_found(resp, req);
		return;
	}
	_cleanup_json_ json_t *sa_ref = sa;
	_cleanup_json_ json_t *body = api_body_object(req, resp);
	if (!body)
		return;
	json_t *spec = json_object_get(body, "spec");
	json_int_t exp = json_int(spec, "expirationSeconds", 3600);
	if (exp < 600) {
		_cleanup_json_ json_t *causes = json_array();
		api_cause(causes, "FieldValueInvalid", "spec.expirationSeconds", "Invalid value: %lld: may not specify a "
			  "duration less than 10 minutes", (long long)exp);
		api_respond_invalid(resp, req, req->name, causes);
		return;
	}
	json_t *aud = json_object_get(spec, "audiences");
	int64_t now = (int64_t)time(NULL);
	_cleanup_free_ char *sub = xasprintf("system:serviceaccount:%s:%s", req->ns, req->name);
	_cleanup_json_ json_t *aud_default = json_pack("[s]", "https://kubernetes.default.svc");
	_cleanup_json_ json_t *claims = json_pack("{s:O, s:I, s:I, s:s, s:s, s:I, s:{s:s, s:{s:s, s:s?}}}", "aud",
						  json_array_size(aud) ? aud : aud_default,
						  "exp", (json_int_t)(now + exp), "iat", (json_int_t)now, "iss",
						  "https://kubernetes.default.svc", "sub", sub, "nbf", (json_int_t)now,
						  "kubernetes.io", "namespace", req->ns, "serviceaccount", "name", req->name,
						  "uid", api_meta_str(sa, "uid"));
	_cleanup_free_ char *tok = api_jwt_sign(api, claims);
	time_t t = (time_t)(now + exp);
	struct tm tm;
	gmtime_r(&t, &tm);
	char ts[40];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(body, "status", json_pack("{s:s, s:s}", "token", tok, "expirationTimestamp", ts));
	json_object_set_new(body, "kind", json_string("TokenRequest"));
	json_object_set_new(body, "apiVersion", json_string("authentication.k8s.io/v1"));
	api_respond_json(resp, 201, json_incref(body));
}

/* What kube-apiserver's binding does to the status: PodScheduled=True
 * (replacing an earlier Unschedulable condition). */
static void pod_set_scheduled(json_t *pod)
{
	json_t *status = json_obj_ensure(pod, "status");
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	char now[40];
	api_now_rfc3339(now, sizeof(now));
	json_t *cond = json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status", "True", "lastProbeTime",
				 "lastTransitionTime", now);
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
		if (!strcmp(json_str(c, "type") ?: "", "PodScheduled")) {
			json_array_set_new(conds, i, cond);
			return;
		}
	json_array_append_new(conds, cond);
}

/* The stored pod kv bound to node the general way (decode, change, encode):
 * the new text, or NULL with resp answered (already bound, not JSON). */
static char *pod_bind_decoded(ApiRequest *req, ApiResponse *resp, const StoreKV *kv, const char *node, size_t *len)
{
	_cleanup_json_ json_t *pod = api_object_decode(kv);
	if (!pod) {
		api_respond_status(resp, 500, "InternalError", "reading %s: %s", req->name, strerror(EIO));
		return NULL;
	}
	json_t *spec = json_obj_ensure(pod, "spec");
	if (json_str(spec, "nodeName")) {
		api_respond_status(resp, 409, "Conflict", "pod %s is already assigned to node \"%s\"", req->name,
				   json_str(spec, "nodeName"));
		return NULL;
	}
	json_object_set_new(spec, "nodeName", json_string(node));
	pod_set_scheduled(pod);
	return api_object_encode(pod, len);
}

/* The stored text is changed in place when it is the plain case (the
 * scheduler's burst of bindings: no decode, no encode), else decoded. */
static void pod_binding(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_json_ json_t *body = api_body_object(req, resp);
	if (!body)
		return;
	const char *node = json_str(json_object_get(body, "target"), "name") ?: "";
	_cleanup_free_ char *key = api_resource_key(req->res, req->ns, req->name);
	for (int attempt = 0; attempt < 8; attempt++) {
		StoreKV kv;
		if (store_get(api->store, key, &kv, NULL) < 0) {
			api_respond_not_found(resp, req);
			return;
		}
		char now[40];
		api_now_rfc3339(now, sizeof(now));
		size_t len;
		char *val = cache_json_bind_pod(kv.value, kv.value_len, node, now, &len);
		if (!val)
			val = pod_bind_decoded(req, resp, &kv, node, &len);
		int64_t rev = kv.mod_revision;
		store_kv_release(&kv);
		if (!val)
			return;
		int r = store_update(api->store, key, val, len, rev, NULL, NULL);
		free(val);
		if (r == -ESTALE)
			continue;
		api_respond_json(resp, 201, api_status(201, NULL, NULL, NULL));
		return;
	}
	api_store_error(resp, req, -ESTALE, req->name, NULL);
}

void api_handle_connect(Api *api, ApiRequest *req, ApiResponse *resp)
{
	const char *sub = req->sub;
	bool post = !strcmp(req->method, "POST");
	if (!strcmp(req->res->resource, "serviceaccounts") && !strcmp(sub, "token") && post) {
		token_request(api, req, resp);
	} else if (!strcmp(req->res->resource, "pods") && !strcmp(sub, "binding") && post) {
		pod_binding(api, req, resp);
	} else if (!strcmp(req->res->resource, "pods") && !strcmp(sub, "eviction") && post) {
		api_pod_eviction(api, req, resp);  /* eviction.c: PodDisruptionBudgets, graceful delete */
	} else if (!strcmp(req->res->resource, "pods")) {
		json_t *pod;
		if (api_load(api, req->res, req->ns, req->name, &pod, NULL) < 0) {
			api_respond_not_found(resp, req);
			return;
		}
		api_podproxy_prepare(api, req, pod, resp);
		json_decref(pod);
	} else {
		api_respond_status(resp, 405, "MethodNotAllowed", "the server does not allow this method on the requested "
				   "resource");
	}
}

/* SelfSubjectAccessReview: may the caller do what spec describes?  In-process
 * callers (no HTTP front) are trusted, as their requests are. */
static bool review_allowed(Api *api, const ApiRequest *req, const json_t *spec)
{
	if (!req->authorize)
		return true;
	const json_t *ra = json_object_get(spec, "resourceAttributes"), *na = json_object_get(spec, "nonResourceAttributes");
	ApiAttrs a = { 0 };
	if (ra) {
		a.resource_request = true;
		a.verb = json_str(ra, "verb") ?: "";
		a.group = json_str(ra, "group") ?: "";
		a.resource = json_str(ra, "resource") ?: "";
		a.sub = json_str(ra, "subresource");
		if (a.sub && !*a.sub)
			a.sub = NULL;
		a.name = json_str(ra, "name");
		if (a.name && !*a.name)
			a.name = NULL;
		a.ns = json_str(ra, "namespace");
		if (a.ns && !*a.ns)
			a.ns = NULL;
	} else if (na) {
		a.verb = json_str(na, "verb") ?: "";
		a.path = json_str(na, "path") ?: "";
	} else {
		return false;
	}
	return api_rbac_allowed(api, req->user, req->groups, &a);
}

/* POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews and friends. */
bool api_special_handle(Api *api, ApiRequest *req, ApiResponse *resp)
{
	(void)api;
	const char *p = req->path;
	bool ssar = !strcmp(p, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
	bool ssrr = !strcmp(p, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews");
	bool ssr = !strcmp(p, "/apis/authentication.k8s.io/v1/selfsubjectreviews") ||
		   !strcmp(p, "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews");
	if (!ssar && !ssrr && !ssr)
		return false;
	if (strcmp(req->method, "POST")) {
		api_respond_status(resp, 405, "MethodNotAllowed", "the server does not allow this method on the requested "
				   "resource");
		return true;
	}
	_cleanup_json_ json_t *body = api_body_object(req, resp);
	if (!body)
		return true;
	if (ssar) {
		bool allowed = review_allowed(api, req, json_object_get(body, "spec"));
		json_object_set_new(body, "status", json_pack("{s:b}", "allowed", allowed));
	} else if (ssrr) {
		const char *ns = json_str(json_object_get(body, "spec"), "namespace");
		json_object_set_new(body, "status", api_rbac_rules_review(api, req->user, req->groups, ns && *ns ? ns : NULL));
	} else {
		json_object_set_new(body, "status", json_pack("{s:{s:s, s:s, s:o}}", "userInfo", "username",
							      req->user ? req->user : "", "uid", req->user ? req->user : "",
							      "groups", req->groups ? json_strv(req->groups) : json_array()));
	}
	json_object_set_new(json_obj_ensure(body, "metadata"), "creationTimestamp", json_null());
	api_respond_json(resp, 201, json_incref(body));
	return true;
}
