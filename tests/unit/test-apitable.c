/* test-apitable.c - the API server's Table rows and Service addresses:
 * JSONPath of CRD printer columns, rows computed once with age markers and
 * rendered per request (must equal the tree path), CRD column typing, the
 * cache's JSON member scanner, and kube-apiserver's address allocation
 * errors through api_handle() on a temporary SQLite store. */
#include "tap.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/base/fs.h"
#include "../../src/base/strbuf.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_jsonpath(void)
{
	json_t *o = json_loads("{\"spec\":{\"a\":{\"b\":7},\"l\":[\"x\",\"y\"],"
			       "\"c\":[{\"type\":\"A\",\"status\":\"no\"},{\"type\":\"Ready\",\"status\":\"yes\"}]}}",
			       0, NULL);
	ok(json_integer_value(api_jsonpath_get(o, ".spec.a.b")) == 7, "dotted path");
	ok(json_integer_value(api_jsonpath_get(o, "{.spec.a.b}")) == 7, "braced path");
	is_str(json_string_value(api_jsonpath_get(o, ".spec.l[1]")), "y", "index");
	is_str(json_string_value(api_jsonpath_get(o, ".spec.l[-1]")), "y", "negative index");
	is_str(json_string_value(api_jsonpath_get(o, ".spec.c[?(@.type==\"Ready\")].status")), "yes", "filter");
	is_str(json_string_value(api_jsonpath_get(o, ".spec.c[?(@.type=='A')].status")), "no", "filter, single quotes");
	ok(!api_jsonpath_get(o, ".spec.c[?(@.type==\"B\")].status"), "filter without a match");
	ok(!api_jsonpath_get(o, ".spec.nope.x"), "absent");
	ok(!api_jsonpath_get(o, ".spec.l[9]"), "index out of range");
	ok(!api_jsonpath_get(o, ".spec.l[x"), "unterminated bracket");
	ok(!api_jsonpath_get(o, "spec"), "no leading dot");
	json_decref(o);
}

static const ApiResource *builtin(const char *resource)
{
	size_t n;
	const ApiResource *all = api_resource_builtin(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i].resource, resource))
			return &all[i];
	return NULL;
}

/* The row rendered from text at now equals the tree path's cells at now. */
static bool row_matches_tree(const ApiResource *r, json_t *obj)
{
	char *row = api_table_row(r, obj);
	ApiRequest req = { 0 };
	/* render around a time(NULL) tick: one of the two renders matches */
	for (int attempt = 0; attempt < 3; attempt++) {
		int64_t before = (int64_t)time(NULL);
		json_t *t = api_table_new(r, false);
		api_table_add(t, r, obj, &req);
		int64_t after = (int64_t)time(NULL);
		if (before != after) {
			json_decref(t);
			continue;
		}
		StrBuf sb = STRBUF_INIT;
		api_table_row_render(&sb, row, before);
		json_t *cells = json_loads(sb_str(&sb), 0, NULL);
		bool eq = cells && json_equal(cells, json_object_get(json_array_get(json_object_get(t, "rows"), 0),
								     "cells"));
		if (!eq)
			printf("#   text %s\n", sb_str(&sb));
		sb_release(&sb);
		json_decref(cells);
		json_decref(t);
		free(row);
		return eq;
	}
	free(row);
	return false;
}

static void test_rows(void)
{
	json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2020-01-02T03:04:05Z\"},"
				 "\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"nodeName\":\"n1\"},"
				 "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.9\",\"containerStatuses\":["
				 "{\"ready\":true,\"restartCount\":2},{\"ready\":false,\"restartCount\":1,"
				 "\"state\":{\"waiting\":{\"reason\":\"Crash\\\"Loop\"}}}]}}", 0, NULL);
	const ApiResource *pods = builtin("pods");
	char *row = api_table_row(pods, pod);
	ok(strchr(row, '\001') != NULL, "the pod row keeps its age as a marker");
	StrBuf a = STRBUF_INIT, b = STRBUF_INIT;
	int64_t created = api_parse_time("2020-01-02T03:04:05Z");
	api_table_row_render(&a, row, created + 30);
	api_table_row_render(&b, row, created + 3 * 3600);
	is_str(sb_str(&a), "[\"p\",\"1/2\",\"Crash\\\"Loop\",3,\"30s\",\"10.0.0.9\",\"n1\",\"<none>\",\"<none>\"]",
	       "rendered 30 s after creation");
	is_str(sb_str(&b), "[\"p\",\"1/2\",\"Crash\\\"Loop\",3,\"3h\",\"10.0.0.9\",\"n1\",\"<none>\",\"<none>\"]",
	       "the same row 3 h after creation");
	sb_release(&a);
	sb_release(&b);
	free(row);
	ok(row_matches_tree(pods, pod), "pod row text equals the tree path's cells");
	json_decref(pod);

	json_t *job = json_loads("{\"metadata\":{\"name\":\"j\",\"creationTimestamp\":\"2020-01-02T03:04:05Z\"},"
				 "\"spec\":{\"completions\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
				 "\"image\":\"i\"}]}}},\"status\":{\"succeeded\":1,"
				 "\"startTime\":\"2020-01-02T03:04:05Z\"}}", 0, NULL);
	ok(row_matches_tree(builtin("jobs"), job), "running job: duration rendered per request");
	json_decref(job);
	json_t *ev = json_loads("{\"metadata\":{\"name\":\"e\"},\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\","
				"\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\"}}", 0, NULL);
	ok(row_matches_tree(builtin("events"), ev), "event without times: <unknown>");
	json_decref(ev);
}

static void test_crd_columns(void)
{
	ApiResource r = { .group = "stable.example.com", .version = "v1", .resource = "crontabs", .kind = "CronTab",
			  .custom = true };
	r.printer_columns = json_loads(
		"[{\"name\":\"Spec\",\"type\":\"string\",\"jsonPath\":\".spec.cronSpec\"},"
		"{\"name\":\"Replicas\",\"type\":\"integer\",\"jsonPath\":\".spec.replicas\"},"
		"{\"name\":\"Ratio\",\"type\":\"number\",\"jsonPath\":\".spec.ratio\"},"
		"{\"name\":\"On\",\"type\":\"boolean\",\"priority\":1,\"jsonPath\":\".spec.on\"},"
		"{\"name\":\"Obj\",\"type\":\"string\",\"jsonPath\":\".spec.obj\"},"
		"{\"name\":\"Wrong\",\"type\":\"integer\",\"jsonPath\":\".spec.cronSpec\"},"
		"{\"name\":\"Since\",\"type\":\"date\",\"jsonPath\":\".spec.since\"}]", 0, NULL);
	json_t *t = api_table_new(&r, true);
	json_t *cols = json_object_get(t, "columnDefinitions");
	is_int(json_array_size(cols), 8, "Name and seven columns");
	is_str(json_str(json_array_get(cols, 4), "name"), "On", "column name");
	is_int(json_int(json_array_get(cols, 4), "priority", 0), 1, "priority kept for -o wide");
	is_str(json_str(json_array_get(cols, 7), "type"), "date", "type kept");
	json_decref(t);
	json_t *obj = json_loads("{\"metadata\":{\"name\":\"c\"},\"spec\":{\"cronSpec\":\"* * * * *\",\"replicas\":3,"
				 "\"ratio\":0.5,\"on\":true,\"obj\":{\"k\":1},\"since\":\"2020-01-01T00:00:00Z\"}}",
				 0, NULL);
	char *row = api_table_row(&r, obj);
	StrBuf sb = STRBUF_INIT;
	api_table_row_render(&sb, row, api_parse_time("2020-01-03T00:00:00Z"));
	is_str(sb_str(&sb), "[\"c\",\"* * * * *\",3,0.5,true,\"{\\\"k\\\":1}\",null,\"2d\"]", "typed cells");
	sb_release(&sb);
	free(row);
	json_decref(obj);
	obj = json_loads("{\"metadata\":{\"name\":\"d\"},\"spec\":{\"since\":\"later\"}}", 0, NULL);
	row = api_table_row(&r, obj);
	is_str(row, "[\"d\",null,null,null,null,null,null,\"<invalid>\"]", "absent values are null, bad dates <invalid>");
	free(row);
	json_decref(obj);
	json_decref(r.printer_columns);
}

static void test_json_member(void)
{
	const char *s = "{ \"a\" : 1 , \"b\":{\"x\":\"}\\\"\"},\"c\":[1,{\"d\":2}], \"e\":\"v\"}";
	const char *vs, *ve, *e = s + strlen(s);
	ok(cache_json_member(s, e, "b", &vs, &ve) == 0 && ve - vs == 11 && !strncmp(vs, "{\"x\":\"}\\\"\"}", 11),
	   "object member with a brace and an escaped quote in a string");
	ok(cache_json_member(s, e, "e", &vs, &ve) == 0 && !strncmp(vs, "\"v\"", 3), "last member");
	ok(cache_json_member(s, e, "a", &vs, &ve) == 0 && *vs == '1' && ve - vs == 1, "number member");
	is_int(cache_json_member(s, e, "x", &vs, &ve), -ENOENT, "nested keys are not members");
	const char *t = "{}";
	is_int(cache_json_member(t, t + 2, "a", &vs, &ve), -ENOENT, "empty object");
	t = "{\"a\":[1,2";
	is_int(cache_json_member(t, t + strlen(t), "a", &vs, &ve), -EINVAL, "truncated array");
	t = "{\"metadata\" : } }";
	is_int(cache_json_member(t, t + strlen(t), "metadata", &vs, &ve), -EINVAL, "a member without a value (fuzzer find)");
	t = "[1]";
	is_int(cache_json_member(t, t + strlen(t), "a", &vs, &ve), -EINVAL, "not an object");
	size_t n;
	char *w = cache_json_with_rv("{\"metadata\":{}}", 15, 42, &n);
	is_str(w, "{\"metadata\":{\"resourceVersion\":\"42\"}}", "resourceVersion into empty metadata");
	free(w);
}

static Api api;

static json_t *call(const char *method, const char *path, const char *body, int *ret_status)
{
	ApiRequest req = { .method = method, .path = xstrdup(path), .body = body, .body_len = body ? strlen(body) : 0,
			   .user = "admin" };
	ApiResponse resp = { 0 };
	api_handle(&api, &req, &resp);
	*ret_status = resp.status;
	json_t *out = resp.body ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
	api_response_release(&resp);
	api_request_release(&req);
	return out;
}

/* st by pointer: it is read after svc() (argument order is unspecified) */
static bool invalid_with(json_t *o, const int *stp, const char *field, const char *msg)
{
	int st = *stp;
	json_t *c = json_array_get(json_path(o, "details.causes"), 0);
	bool good = st == 422 && c && !strcmp(json_str(c, "field") ?: "", field) &&
		    !strcmp(json_str(c, "message") ?: "", msg);
	if (!good) {
		char *d = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("#   %d %s\n", st, d ?: "(none)");
		free(d);
	}
	json_decref(o);
	return good;
}

static json_t *svc(const char *name, int node_port, const char *ip, int *st)
{
	char body[512];
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"type\":\"%s\",%s%s%s"
		 "\"ports\":[{\"port\":80%s%.0d}]}}", name, node_port ? "NodePort" : "ClusterIP", ip ? "\"clusterIP\":\"" : "",
		 ip ?: "", ip ? "\"," : "", node_port ? ",\"nodePort\":" : "", node_port);
	return call("POST", "/api/v1/namespaces/default/services", body, st);
}

static void test_service_addresses(void)
{
	int st;
	json_decref(call("POST", "/api/v1/namespaces", "{\"metadata\":{\"name\":\"default\"}}", &st));
	json_t *o = svc("a", 30063, "10.96.0.50", &st);
	ok(st == 201, "create with nodePort 30063 and ClusterIP 10.96.0.50");
	json_decref(o);
	ok(invalid_with(svc("b", 30063, NULL, &st), &st, "spec.ports[0].nodePort",
			"Invalid value: 30063: provided port is already allocated"), "duplicate nodePort");
	ok(invalid_with(svc("b", 32768, NULL, &st), &st, "spec.ports[0].nodePort",
			"Invalid value: 32768: provided port is not in the valid range. The range of valid ports is "
			"30000-32767"), "nodePort out of range");
	ok(invalid_with(svc("b", 0, "10.96.0.50", &st), &st, "spec.clusterIPs",
			"Invalid value: []string{\"10.96.0.50\"}: failed to allocate IP 10.96.0.50: provided IP is "
			"already allocated"), "duplicate ClusterIP");
	ok(invalid_with(svc("b", 0, "10.97.0.1", &st), &st, "spec.clusterIPs",
			"Invalid value: []string{\"10.97.0.1\"}: failed to allocate IP 10.97.0.1: the provided IP "
			"(10.97.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16"),
	   "ClusterIP outside the service range");
	json_decref(call("GET", "/api/v1/namespaces/default/services/b", NULL, &st));
	is_int(st, 404, "nothing stored on error");
	/* the IP claimed by a create whose port failed is given back */
	ok(invalid_with(svc("c", 30063, "10.96.0.51", &st), &st, "spec.ports[0].nodePort",
			"Invalid value: 30063: provided port is already allocated"), "port taken, IP free");
	json_decref(svc("c", 0, "10.96.0.51", &st));
	is_int(st, 201, "the IP of the failed create is free");
	/* AlreadyExists keeps the existing Service's claims */
	json_decref(svc("a", 30070, "10.96.0.50", &st));
	is_int(st, 409, "duplicate name");
	ok(invalid_with(svc("d", 30063, NULL, &st), &st, "spec.ports[0].nodePort",
			"Invalid value: 30063: provided port is already allocated"), "a's port still held");
	json_decref(svc("d", 30070, NULL, &st));
	is_int(st, 201, "the 409 kept nothing of its own");
	json_decref(call("DELETE", "/api/v1/namespaces/default/services/a", NULL, &st));
	is_int(st, 200, "delete a");
	json_decref(svc("e", 30063, "10.96.0.50", &st));
	is_int(st, 201, "delete gave the port and the IP back");
}

int main(void)
{
	test_jsonpath();
	test_rows();
	test_crd_columns();
	test_json_member();
	char dir[] = "/tmp/test-apitable-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	api.cfg.data_dir = dir;
	api.cfg.service_cidr = "10.96.0.0/16";
	pthread_mutex_init(&api.lock, NULL);
	is_int(store_open(spec, &api.store, NULL), 0, "store");
	test_service_addresses();
	store_free(api.store);
	free(api.ip_used);
	free(spec);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
