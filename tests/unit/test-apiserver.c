/* test-apiserver.c - the API server below HTTP: patches (merge, JSON,
 * strategic), selectors, and requests through api_handle() against a
 * temporary SQLite store (create/get/list/update/patch/delete, Status
 * errors, defaulting, pagination, scale, garbage collection). */
#include "tap.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/apiserver/handlers.h"
#include "../../src/base/fs.h"
#include <stdlib.h>
#include <string.h>

static json_t *J(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	if (!j)
		printf("# bad test JSON: %s\n", s);
	return j;
}

static bool json_is(json_t *got, const char *want)
{
	json_t *w = J(want);
	bool eq = json_equal(got, w);
	if (!eq) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		printf("#   got  %s\n#   want %s\n", g, want);
		free(g);
	}
	json_decref(w);
	json_decref(got);
	return eq;
}

static void test_patches(void)
{
	json_t *doc = J("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"l\":[1,2]}");
	json_t *p = J("{\"b\":{\"c\":null,\"e\":4},\"l\":[3]}");
	ok(json_is(api_patch_merge(doc, p), "{\"a\":1,\"b\":{\"d\":3,\"e\":4},\"l\":[3]}"), "merge patch");
	json_decref(p);
	Error *err = NULL;
	p = J("[{\"op\":\"add\",\"path\":\"/l/1\",\"value\":9},{\"op\":\"remove\",\"path\":\"/a\"},"
	      "{\"op\":\"replace\",\"path\":\"/b/c\",\"value\":\"x\"},{\"op\":\"copy\",\"from\":\"/b/d\",\"path\":\"/z\"},"
	      "{\"op\":\"test\",\"path\":\"/z\",\"value\":3},{\"op\":\"move\",\"from\":\"/z\",\"path\":\"/y~1w\"}]");
	ok(json_is(api_patch_json(doc, p, &err), "{\"b\":{\"c\":\"x\",\"d\":3},\"l\":[1,9,2],\"y/w\":3}"), "JSON patch");
	json_decref(p);
	p = J("[{\"op\":\"replace\",\"path\":\"/missing\",\"value\":1}]");
	ok(!api_patch_json(doc, p, &err) && err, "JSON patch on a missing path fails");
	err_free(err);
	err = NULL;
	json_decref(p);
	p = J("[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]");
	ok(!api_patch_json(doc, p, &err), "failed test op fails the patch");
	err_free(err);
	err = NULL;
	json_decref(p);
	json_decref(doc);

	doc = J("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"env\":[{\"name\":\"E\",\"value\":\"1\"}]},"
		"{\"name\":\"b\",\"image\":\"y:1\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]}],"
		"\"volumes\":[{\"name\":\"v\"}]},\"metadata\":{\"finalizers\":[\"f1\"]}}");
	p = J("{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y:2\",\"ports\":[{\"containerPort\":80,\"name\":\"http\"}]},"
	      "{\"name\":\"a\",\"env\":[{\"name\":\"F\",\"value\":\"2\"}]}],\"volumes\":[{\"name\":\"v\",\"$patch\":\"delete\"}]},"
	      "\"metadata\":{\"finalizers\":[\"f2\"]}}");
	ok(json_is(api_patch_strategic(doc, p, &err),
		   "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"env\":[{\"name\":\"E\",\"value\":\"1\"},"
		   "{\"name\":\"F\",\"value\":\"2\"}]},{\"name\":\"b\",\"image\":\"y:2\",\"ports\":[{\"containerPort\":80,"
		   "\"protocol\":\"TCP\",\"name\":\"http\"}]}],\"volumes\":[]},\"metadata\":{\"finalizers\":[\"f1\",\"f2\"]}}"),
	   "strategic merge: containers/env/ports by key, $patch delete, finalizers union");
	json_decref(p);
	p = J("{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}],"
	      "\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"}]}}");
	json_t *out = api_patch_strategic(doc, p, &err);
	ok(out && json_array_size(json_path(out, "spec.containers")) == 1 &&
	   !strcmp(json_str(json_array_get(json_path(out, "spec.containers"), 0), "name"), "b"),
	   "strategic merge: delete one container, order kept");
	json_decref(out);
	json_decref(p);
	p = J("{\"spec\":{\"containers\":[{\"$patch\":\"replace\"},{\"name\":\"c\",\"image\":\"z\"}]},"
	      "\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"f1\"]}}");
	ok(json_is(api_patch_strategic(doc, p, &err),
		   "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"z\"}],\"volumes\":[{\"name\":\"v\"}]},"
		   "\"metadata\":{\"finalizers\":[]}}"), "strategic merge: $patch replace on a list, delete from primitive list");
	json_decref(p);
	json_decref(doc);
}

static void test_selectors(void)
{
	json_t *o = J("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"app\":\"web\",\"tier\":\"fe\"}},\"status\":{\"phase\":\"Running\"}}");
	static const struct { const char *sel; bool field; bool want; } cases[] = {
		{ "app=web", false, true }, { "app==web,tier=fe", false, true }, { "app!=web", false, false },
		{ "app in (db, web)", false, true }, { "app notin (web)", false, false }, { "tier", false, true },
		{ "!tier", false, false }, { "missing!=x", false, true }, { "", false, true },
		{ "metadata.name=n1", true, true }, { "status.phase!=Running", true, false }, { "spec.nodeName=", true, true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ApiSelector *s = NULL;
		int r = api_selector_parse(cases[i].sel, cases[i].field, &s, NULL);
		ok(r == 0 && api_selector_match(s, o) == cases[i].want, "selector '%s'", cases[i].sel);
		api_selector_free(s);
	}
	static const char *const bad[] = { "a in (b", "a in b", "=x", "a,", "a b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ApiSelector *s = NULL;
		Error *err = NULL;
		ok(api_selector_parse(bad[i], false, &s, &err) < 0 && err, "bad selector '%s' rejected", bad[i]);
		err_free(err);
	}
	json_decref(o);
}

static Api api;

static json_t *call(const char *method, const char *path, const char *query, const char *ctype, const char *body,
		    int *ret_status)
{
	ApiRequest req = { .method = method };
	ApiResponse resp = { 0 };
	req.path = xstrdup(path);
	if (query) {
		char *q = xstrdup(query), *save = NULL;
		for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			req.params = xrealloc(req.params, (req.nparams + 1) * sizeof(ApiParam));
			req.params[req.nparams].key = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
			req.params[req.nparams].value = xstrdup(eq ? eq + 1 : "");
			req.nparams++;
		}
		free(q);
	}
	req.content_type = ctype;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.user = "admin";
	api_handle(&api, &req, &resp);
	*ret_status = resp.status;
	json_t *out = resp.body ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
	if (resp.watch) {
		char *chunk;
		size_t n;
		out = json_array();
		while (api_watch_next(resp.watch, &chunk, &n, 50) == 1) {
			json_array_append_new(out, json_loadb(chunk, n, 0, NULL));
			free(chunk);
		}
	}
	api_response_release(&resp);
	api_request_release(&req);
	return out;
}

static void test_requests(void)
{
	int st;
	json_t *o;
	o = call("POST", "/api/v1/namespaces", NULL, NULL, "{\"metadata\":{\"name\":\"t\"}}", &st);
	ok(st == 201 && !strcmp(json_str(json_object_get(o, "status"), "phase"), "Active"), "create namespace");
	json_decref(o);
	o = call("POST", "/api/v1/namespaces", NULL, NULL, "{\"metadata\":{\"name\":\"t\"}}", &st);
	ok(st == 409 && !strcmp(json_str(o, "reason"), "AlreadyExists") &&
	   !strcmp(json_str(o, "message"), "namespaces \"t\" already exists"), "AlreadyExists");
	json_decref(o);
	o = call("GET", "/api/v1/namespaces/t/serviceaccounts/default", NULL, NULL, NULL, &st);
	is_int(st, 200, "a new namespace gets its default ServiceAccount");
	json_decref(o);
	const char *dep = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"labels\":{\"app\":\"d\"}},"
			  "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"d\"}},\"template\":{\"metadata\":{\"labels\":"
			  "{\"app\":\"d\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}";
	o = call("POST", "/apis/apps/v1/namespaces/t/deployments", NULL, NULL, dep, &st);
	is_int(st, 201, "create deployment");
	ok(json_int(json_object_get(o, "spec"), "replicas", 0) == 1 &&
	   !strcmp(json_str(json_path(o, "spec.strategy.rollingUpdate"), "maxSurge"), "25%") &&
	   !strcmp(json_str(json_array_get(json_path(o, "spec.template.spec.containers"), 0), "imagePullPolicy"), "Always") &&
	   json_int(json_object_get(o, "metadata"), "generation", 0) == 1 && api_meta_str(o, "uid") &&
	   api_meta_str(o, "resourceVersion"), "deployment defaulted, with uid, generation and resourceVersion");
	char *rv = xstrdup(api_meta_str(o, "resourceVersion"));
	json_decref(o);
	o = call("POST", "/apis/apps/v1/namespaces/nope/deployments", NULL, NULL, dep, &st);
	ok(st == 404 && !strcmp(json_str(o, "message"), "namespaces \"nope\" not found"), "create in a missing namespace");
	json_decref(o);
	o = call("POST", "/apis/apps/v1/namespaces/t/deployments", NULL, NULL,
		 "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
		 "\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}}", &st);
	json_t *causes = json_path(o, "details.causes");
	ok(st == 422 && !strcmp(json_str(o, "reason"), "Invalid") && json_array_size(causes) == 2 &&
	   !strcmp(json_str(json_array_get(causes, 0), "field"), "spec.replicas") &&
	   !strcmp(json_str(json_array_get(causes, 1), "field"), "spec.template.spec.containers[0].image"),
	   "422 names the fields");
	json_decref(o);
	o = call("POST", "/apis/apps/v1/namespaces/t/deployments", NULL, NULL, "{\"metadata\":", &st);
	is_int(st, 400, "malformed JSON -> 400");
	json_decref(o);
	o = call("PUT", "/apis/apps/v1/namespaces/t/deployments/d", NULL, NULL,
		 "{\"metadata\":{\"name\":\"d\",\"resourceVersion\":\"1\"},\"spec\":{}}", &st);
	ok(st == 409 && !strcmp(json_str(o, "reason"), "Conflict"), "update with a stale resourceVersion -> 409");
	json_decref(o);
	o = call("PATCH", "/apis/apps/v1/namespaces/t/deployments/d", NULL, "application/strategic-merge-patch+json",
		 "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}}}", &st);
	ok(st == 200 && json_int(json_object_get(o, "metadata"), "generation", 0) == 2 &&
	   strcmp(api_meta_str(o, "resourceVersion"), rv), "strategic patch bumps generation and resourceVersion");
	json_decref(o);
	o = call("PATCH", "/apis/apps/v1/namespaces/t/deployments/d/scale", NULL, "application/merge-patch+json",
		 "{\"spec\":{\"replicas\":4}}", &st);
	ok(st == 200 && !strcmp(json_str(o, "kind"), "Scale") && json_int(json_object_get(o, "spec"), "replicas", 0) == 4,
	   "scale subresource");
	json_decref(o);
	o = call("GET", "/apis/apps/v1/namespaces/t/deployments/d", NULL, NULL, NULL, &st);
	is_int(json_int(json_object_get(o, "spec"), "replicas", 0), 4, "scale reached the deployment");
	json_decref(o);
	for (int i = 0; i < 5; i++) {
		char body[200];
		snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"cm%d\",\"labels\":{\"n\":\"%d\"}},\"data\":{\"k\":\"v\"}}", i, i % 2);
		o = call("POST", "/api/v1/namespaces/t/configmaps", NULL, NULL, body, &st);
		json_decref(o);
	}
	o = call("GET", "/api/v1/namespaces/t/configmaps", "limit=2", NULL, NULL, &st);
	const char *cont = json_str(json_object_get(o, "metadata"), "continue");
	ok(st == 200 && json_array_size(json_object_get(o, "items")) == 2 && cont, "limit gives a page and a continue token");
	char *q = xasprintf("limit=10&continue=%s", cont ? cont : "");
	json_decref(o);
	o = call("GET", "/api/v1/namespaces/t/configmaps", q, NULL, NULL, &st);
	ok(json_array_size(json_object_get(o, "items")) == 3 && !json_str(json_object_get(o, "metadata"), "continue"),
	   "continue gives the rest");
	free(q);
	json_decref(o);
	o = call("GET", "/api/v1/namespaces/t/configmaps", "labelSelector=n=1", NULL, NULL, &st);
	is_int(json_array_size(json_object_get(o, "items")), 2, "label selector filters");
	json_decref(o);
	o = call("GET", "/api/v1/configmaps", "watch=1&timeoutSeconds=1", NULL, NULL, &st);
	ok(st == 200 && json_array_size(o) == 5 && !strcmp(json_str(json_array_get(o, 0), "type"), "ADDED"),
	   "watch without resourceVersion starts with ADDED for each object");
	json_decref(o);
	/* garbage collection: a configmap owned by the deployment goes with it */
	o = call("GET", "/apis/apps/v1/namespaces/t/deployments/d", NULL, NULL, NULL, &st);
	char *body = xasprintf("{\"metadata\":{\"name\":\"owned\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
			       "\"kind\":\"Deployment\",\"name\":\"d\",\"uid\":\"%s\"}]}}", api_meta_str(o, "uid"));
	json_decref(o);
	o = call("POST", "/api/v1/namespaces/t/configmaps", NULL, NULL, body, &st);
	json_decref(o);
	free(body);
	o = call("DELETE", "/apis/apps/v1/namespaces/t/deployments/d", NULL, NULL, NULL, &st);
	is_int(st, 200, "delete");
	json_decref(o);
	o = call("GET", "/api/v1/namespaces/t/configmaps/owned", NULL, NULL, NULL, &st);
	is_int(st, 404, "the dependent was collected");
	json_decref(o);
	o = call("GET", "/apis/apps/v1/namespaces/t/deployments/d", NULL, NULL, NULL, &st);
	ok(st == 404 && !strcmp(json_str(o, "message"), "deployments.apps \"d\" not found"), "404 NotFound after delete");
	json_decref(o);
	const char *svc = "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}";
	o = call("POST", "/api/v1/namespaces/t/services", NULL, NULL, svc, &st);
	char *ip = xstrdup(json_str(json_object_get(o, "spec"), "clusterIP") ?: "");
	json_int_t np = json_int(json_array_get(json_path(o, "spec.ports"), 0), "nodePort", 0);
	ok(st == 201 && !strncmp(ip, "10.96.", 6) && np >= 30000 && np <= 32767 &&
	   json_int(json_array_get(json_path(o, "spec.ports"), 0), "targetPort", 0) == 80,
	   "Service gets a ClusterIP from the range, a NodePort and targetPort = port");
	json_decref(o);
	o = call("DELETE", "/api/v1/namespaces/t/services/s", NULL, NULL, NULL, &st);
	json_decref(o);
	o = call("POST", "/api/v1/namespaces/t/services", NULL, NULL, svc, &st);
	ok(!strcmp(json_str(json_object_get(o, "spec"), "clusterIP") ?: "", ip) &&
	   json_int(json_array_get(json_path(o, "spec.ports"), 0), "nodePort", 0) == np,
	   "a deleted Service's addresses are reused");
	json_decref(o);
	free(ip);
	o = call("DELETE", "/api/v1/namespaces/t", NULL, NULL, NULL, &st);
	json_decref(o);
	o = call("GET", "/api/v1/configmaps", NULL, NULL, NULL, &st);
	is_int(json_array_size(json_object_get(o, "items")), 0, "deleting the namespace emptied it");
	json_decref(o);
	free(rv);
}

/* A request as an authenticated, RBAC-checked user. */
static int call_as(const char *user, char *const *groups, const char *method, const char *path, const char *query,
		   const char *body, char **ret_msg)
{
	ApiRequest req = { .method = method, .user = user, .groups = groups, .authorize = true };
	ApiResponse resp = { 0 };
	req.path = xstrdup(path);
	if (query) {
		char *eq = strchr(query, '=');
		req.params = xcalloc(1, sizeof(ApiParam));
		req.params[0].key = xstrndup(query, (size_t)(eq - query));
		req.params[0].value = xstrdup(eq + 1);
		req.nparams = 1;
	}
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	api_handle(&api, &req, &resp);
	int st = resp.status;
	if (ret_msg) {
		json_t *o = resp.body ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
		*ret_msg = xstrdup(json_str(o, "message") ?: "");
		json_decref(o);
	}
	api_response_release(&resp);
	req.user = NULL;
	req.groups = NULL;
	api_request_release(&req);
	return st;
}

static void test_rbac(void)
{
	int st;
	api_rbac_bootstrap(&api);
	json_decref(call("POST", "/api/v1/namespaces", NULL, NULL, "{\"metadata\":{\"name\":\"rb\"}}", &st));
	json_decref(call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/rb/roles", NULL, NULL,
			 "{\"metadata\":{\"name\":\"r\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/log\"],"
			 "\"verbs\":[\"get\",\"list\"]},{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
			 "\"resourceNames\":[\"one\"],\"verbs\":[\"*\"]}]}", &st));
	is_int(st, 201, "create Role");
	json_decref(call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/rb/rolebindings", NULL, NULL,
			 "{\"metadata\":{\"name\":\"b\"},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\","
			 "\"kind\":\"Role\",\"name\":\"r\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"sa\"}]}", &st));
	is_int(st, 201, "create RoleBinding");
	const char *sa = "system:serviceaccount:rb:sa";
	char *groups[] = { (char *)"system:serviceaccounts", (char *)"system:serviceaccounts:rb",
			   (char *)"system:authenticated", NULL };
	char *msg = NULL;
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/pods", NULL, NULL, NULL), 200, "list pods allowed");
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/pods", "watch=true", NULL, NULL), 403, "watch pods denied");
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, &msg), 403, "other namespace denied");
	is_str(msg, "pods is forbidden: User \"system:serviceaccount:rb:sa\" cannot list resource \"pods\" in API group "
		    "\"\" in the namespace \"default\"", "Kubernetes' wording");
	free(msg);
	is_int(call_as(sa, groups, "DELETE", "/api/v1/namespaces/rb/pods/x", NULL, NULL, &msg), 403, "delete denied");
	is_str(msg, "pods \"x\" is forbidden: User \"system:serviceaccount:rb:sa\" cannot delete resource \"pods\" in API "
		    "group \"\" in the namespace \"rb\"", "named object in the message");
	free(msg);
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/pods/x/log", NULL, NULL, NULL), 404,
	       "pods/log allowed (then not found)");
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/pods/x/exec", NULL, NULL, NULL), 403, "pods/exec denied");
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/configmaps/one", NULL, NULL, NULL), 404,
	       "resourceNames: the named object allowed");
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/configmaps/two", NULL, NULL, NULL), 403,
	       "resourceNames: another denied");
	is_int(call_as(sa, groups, "GET", "/api/v1/namespaces/rb/configmaps", NULL, NULL, NULL), 403,
	       "resourceNames: list denied");
	is_int(call_as(sa, groups, "GET", "/apis", NULL, NULL, NULL), 200, "discovery for the authenticated");
	is_int(call_as(sa, groups, "GET", "/api/v1/nodes", NULL, NULL, &msg), 403, "cluster scope denied");
	is_str(msg, "nodes is forbidden: User \"system:serviceaccount:rb:sa\" cannot list resource \"nodes\" in API group "
		    "\"\" at the cluster scope", "cluster-scope wording");
	free(msg);
	is_int(call_as(NULL, NULL, "GET", "/metrics", NULL, NULL, &msg), 403, "anonymous non-resource denied");
	is_str(msg, "forbidden: User \"system:anonymous\" cannot get path \"/metrics\"", "path wording");
	free(msg);
	is_int(call_as(NULL, NULL, "GET", "/healthz", NULL, NULL, NULL), 200, "anonymous health check");
	char *masters[] = { (char *)"system:masters", (char *)"system:authenticated", NULL };
	is_int(call_as("admin", masters, "GET", "/api/v1/nodes", NULL, NULL, NULL), 200, "system:masters allowed");
	const char *ssar = "{\"kind\":\"SelfSubjectAccessReview\",\"apiVersion\":\"authorization.k8s.io/v1\",\"spec\":"
			   "{\"resourceAttributes\":{\"namespace\":\"rb\",\"verb\":\"get\",\"resource\":\"pods\"}}}";
	ApiRequest req = { .method = "POST", .user = sa, .groups = groups, .authorize = true };
	ApiResponse resp = { 0 };
	req.path = xstrdup("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
	req.body = ssar;
	req.body_len = strlen(ssar);
	api_handle(&api, &req, &resp);
	json_t *o = json_loadb(resp.body, resp.len, 0, NULL);
	ok(resp.status == 201 && json_is_true(json_path(o, "status.allowed")), "SelfSubjectAccessReview: allowed");
	json_decref(o);
	api_response_release(&resp);
	req.user = NULL;
	req.groups = NULL;
	api_request_release(&req);
}

/* managedFields paths: fieldsV1 as Kubernetes encodes it, and the apply merge. */
static void test_fieldsets(void)
{
	json_t *pod = json_loads("{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
				 "\"image\":\"i\",\"ports\":[{\"containerPort\":80}]}],\"args\":[\"a\"]}}", 0, NULL);
	json_t *set = api_fieldset_of(pod);
	json_t *v1 = api_fieldset_to_v1(set);
	ok(json_is(json_incref(v1), "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:args\":{},"
		   "\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{},\"f:image\":{},\"f:name\":{},\"f:ports\":"
		   "{\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}}}}}"),
	   "fieldsV1 of a pod: keyed containers and ports, atomic args");
	json_t *back = api_fieldset_from_v1(v1);
	ok(json_equal(back, set), "fieldsV1 round trip");
	const char *k;
	json_t *x;
	char *image = NULL;
	json_object_foreach(set, k, x)
		if (strstr(k, "f:image"))
			image = api_fieldset_path_string(k);
	ok(image && !strcmp(image, ".spec.containers[name=\"c\"].image"), "path as kubectl prints it");
	json_t *applied = json_loads("{\"spec\":{\"containers\":[{\"name\":\"d\",\"image\":\"j\"},{\"name\":\"c\","
				     "\"image\":\"k\"}]}}", 0, NULL);
	json_t *m = api_fieldset_merge(pod, applied);
	ok(json_array_size(json_path(m, "spec.containers")) == 2 &&
	   !strcmp(json_str(json_array_get(json_path(m, "spec.containers"), 0), "image"), "k") &&
	   json_path(m, "metadata.labels.app"), "apply merge: containers by name, the rest kept");
	json_object_foreach(set, k, x)
		if (strstr(k, "f:image"))
			ok(api_fieldset_remove(m, k) && !json_object_get(json_array_get(json_path(m, "spec.containers"), 0),
									  "image"), "remove a path");
	free(image);
	json_decref(m);
	json_decref(applied);
	json_decref(back);
	json_decref(v1);
	json_decref(set);
	json_decref(pod);
}

int main(void)
{
	test_patches();
	test_fieldsets();
	test_selectors();
	char dir[] = "/tmp/test-apiserver-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	api.cfg.data_dir = dir;
	api.cfg.service_cidr = "10.96.0.0/16";
	pthread_mutex_init(&api.lock, NULL);
	is_int(store_open(spec, &api.store, NULL), 0, "store");
	test_requests();
	test_rbac();
	store_free(api.store);
	free(api.ip_used);
	free(spec);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
