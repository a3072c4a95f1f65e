/* test-eviction.c - pods/eviction below HTTP (apiserver/eviction.c) through
 * api_handle() against a temporary SQLite store: the PodDisruptionBudget
 * refusal (429 TooManyRequests with the DisruptionBudget cause), a PDB not
 * yet observed, a spent disruption recorded in disruptedPods and the pod
 * deleted gracefully with the Eviction's deleteOptions and the
 * DisruptionTarget condition, the pods that bypass budgets (Pending,
 * already deleting, unready while the budget holds), more than one PDB
 * (500), preconditions, dry run, name mismatch.
 */
#include "tap.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/apiserver/handlers.h"
#include "../../src/base/fs.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static Api api;

/* printf-style JSON text where ' stands for " */
static char *__attribute__((format(printf, 1, 2))) T(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static json_t *call(const char *method, const char *path, const char *ctype, char *body, int *ret_status)
{
	ApiRequest req = { .method = method };
	ApiResponse resp = { 0 };
	req.path = xstrdup(path);
	req.content_type = ctype;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.user = "admin";
	api_handle(&api, &req, &resp);
	*ret_status = resp.status;
	json_t *out = resp.body ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
	api_response_release(&resp);
	api_request_release(&req);
	free(body);
	return out;
}

static int do_(const char *method, const char *path, const char *ctype, char *body)
{
	int st;
	json_decref(call(method, path, ctype, body, &st));
	return st;
}

#define PODS "/api/v1/namespaces/e/pods"
#define PDBS "/apis/policy/v1/namespaces/e/poddisruptionbudgets"
#define MERGE "application/merge-patch+json"

/* A pod of app; phase Running (and Ready when ready) on node n1 unless pending. */
static void pod(const char *name, const char *app, bool pending, bool ready)
{
	int st = do_("POST", PODS, NULL,
		     T("{'metadata':{'name':'%s','labels':{'app':'%s'}},'spec':{%s'containers':[{'name':'c','image':'x'}]}}",
		       name, app, pending ? "" : "'nodeName':'n1',"));
	if (st != 201)
		printf("# create pod %s: %d\n", name, st);
	if (pending)
		return;
	char path[256];
	snprintf(path, sizeof(path), PODS "/%s/status", name);
	do_("PATCH", path, MERGE,
	    T("{'status':{'phase':'Running','conditions':[{'type':'Ready','status':'%s'}]}}", ready ? "True" : "False"));
}

/* A PDB over app with the given status (observedGeneration 1 unless behind). */
static void pdb(const char *name, const char *app, int allowed, int healthy, int desired, bool behind)
{
	do_("POST", PDBS, NULL, T("{'metadata':{'name':'%s'},'spec':{'minAvailable':1,'selector':{'matchLabels':"
				  "{'app':'%s'}}}}", name, app));
	char path[256];
	snprintf(path, sizeof(path), PDBS "/%s/status", name);
	do_("PATCH", path, MERGE,
	    T("{'status':{'observedGeneration':%d,'disruptionsAllowed':%d,'currentHealthy':%d,'desiredHealthy':%d,"
	      "'expectedPods':%d}}", behind ? 0 : 1, allowed, healthy, desired, healthy));
}

static json_t *evict(const char *name, const char *opts, int *st)
{
	char path[256];
	snprintf(path, sizeof(path), PODS "/%s/eviction", name);
	return call("POST", path, NULL,
		    T("{'apiVersion':'policy/v1','kind':'Eviction','metadata':{'name':'%s','namespace':'e'}%s%s}", name,
		      opts ? ",'deleteOptions':" : "", opts ? opts : ""),
		    st);
}

static json_t *get(const char *coll, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", coll, name);
	int st;
	json_t *o = call("GET", path, NULL, NULL, &st);
	if (st != 200) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const json_t *cond(const json_t *o, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(o, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

static void test_budget(void)
{
	int st;
	pod("a", "web", false, true);
	pod("b", "web", false, true);
	pdb("web", "web", 0, 2, 2, false);
	json_t *o = evict("a", NULL, &st);
	is_int(st, 429, "spent budget: 429");
	is_str(json_str(o, "reason"), "TooManyRequests", "reason TooManyRequests");
	is_str(json_str(o, "message"), "Cannot evict pod as it would violate the pod's disruption budget.", "message");
	const json_t *c0 = json_array_get(json_path(o, "details.causes"), 0);
	is_str(json_str(c0, "reason"), "DisruptionBudget", "cause DisruptionBudget");
	is_str(json_str(c0, "message"), "The disruption budget web needs 2 healthy pods and has 2 currently", "cause text");
	json_decref(o);
	json_t *p = get(PODS, "a");
	ok(p && !json_path(p, "metadata.deletionTimestamp") && !cond(p, "DisruptionTarget"), "refused: the pod untouched");
	json_decref(p);
	/* a PDB the controller has not observed yet */
	pod("c", "late", false, true);
	pdb("late", "late", 1, 2, 1, true);
	o = evict("c", NULL, &st);
	is_int(st, 429, "unobserved PDB: 429");
	is_str(json_str(json_array_get(json_path(o, "details.causes"), 0), "message"),
	       "The disruption budget late is still being processed by the server.", "unobserved PDB: cause");
	is_int(json_int(json_object_get(o, "details"), "retryAfterSeconds", 0), 10, "unobserved PDB: retry after 10 s");
	json_decref(o);
	/* one disruption allowed: spent and recorded, the pod deleted gracefully */
	do_("PATCH", PDBS "/web/status", MERGE, T("{'status':{'disruptionsAllowed':1,'currentHealthy':3}}"));
	o = evict("a", "{'gracePeriodSeconds':7}", &st);
	is_int(st, 201, "allowed: 201");
	is_str(json_str(o, "status"), "Success", "allowed: Status Success");
	json_decref(o);
	json_t *b = get(PDBS, "web");
	is_int(json_int(json_object_get(b, "status"), "disruptionsAllowed", -1), 0, "allowed: the disruption spent");
	ok(json_str(json_path(b, "status.disruptedPods"), "a") != NULL, "allowed: the pod in disruptedPods");
	is_str(json_str(cond(b, "DisruptionAllowed"), "reason"), "InsufficientPods", "allowed: condition InsufficientPods");
	json_decref(b);
	p = get(PODS, "a");
	ok(p && json_path(p, "metadata.deletionTimestamp"), "allowed: the pod is terminating");
	is_int(json_int(json_object_get(p, "metadata"), "deletionGracePeriodSeconds", -1), 7,
	       "allowed: the Eviction's gracePeriodSeconds");
	is_str(json_str(cond(p, "DisruptionTarget"), "reason"), "EvictionByEvictionAPI", "allowed: DisruptionTarget");
	json_decref(p);
	/* already terminating: no budget needed */
	o = evict("a", NULL, &st);
	is_int(st, 201, "terminating pod: evicted again without the budget");
	json_decref(o);
	b = get(PDBS, "web");
	is_int(json_int(json_object_get(b, "status"), "disruptionsAllowed", -1), 0, "terminating pod: nothing spent");
	json_decref(b);
	/* unready pod while the budget holds (2 healthy >= 2 desired): goes without spending */
	do_("PATCH", PDBS "/web/status", MERGE, T("{'status':{'currentHealthy':2,'desiredHealthy':2}}"));
	pod("u", "web", false, false);
	o = evict("u", "{'gracePeriodSeconds':0}", &st);
	is_int(st, 201, "unready pod, budget met: evicted");
	json_decref(o);
	p = get(PODS, "u");
	ok(!p, "unready pod: deleted (grace 0)");
	json_decref(p);
	/* Pending pods are not guarded */
	pod("pend", "web", true, false);
	o = evict("pend", NULL, &st);
	is_int(st, 201, "pending pod: evicted despite the spent budget");
	json_decref(o);
	p = get(PODS, "pend");
	ok(!p, "pending pod: gone (no node: deleted at once)");
	json_decref(p);
}

static void test_refusals(void)
{
	int st;
	pod("two", "dup", false, true);
	pdb("d1", "dup", 1, 1, 0, false);
	pdb("d2", "dup", 1, 1, 0, false);
	json_t *o = evict("two", NULL, &st);
	is_int(st, 500, "two PDBs: 500");
	is_str(json_str(o, "message"),
	       "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
	       "two PDBs: message");
	json_decref(o);
	pod("free", "none", false, true);
	o = evict("free", "{'preconditions':{'uid':'not-its-uid'}}", &st);
	is_int(st, 409, "uid precondition: 409 Conflict");
	json_decref(o);
	o = evict("free", "{'dryRun':['All']}", &st);
	is_int(st, 201, "dry run: 201");
	json_decref(o);
	json_t *p = get(PODS, "free");
	ok(p && !json_path(p, "metadata.deletionTimestamp") && !cond(p, "DisruptionTarget"), "dry run: nothing changed");
	json_decref(p);
	o = call("POST", PODS "/free/eviction", NULL, T("{'metadata':{'name':'other'}}"), &st);
	is_int(st, 400, "name mismatch: 400");
	is_str(json_str(o, "message"), "name in URL does not match name in Eviction object", "name mismatch: message");
	json_decref(o);
	o = evict("missing", NULL, &st);
	is_int(st, 404, "missing pod: 404");
	json_decref(o);
	o = evict("free", NULL, &st);
	is_int(st, 201, "no PDB: evicted");
	json_decref(o);
}

int main(void)
{
	char dir[] = "/tmp/test-eviction-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	api.cfg.data_dir = dir;
	api.cfg.service_cidr = "10.96.0.0/16";
	pthread_mutex_init(&api.lock, NULL);
	is_int(store_open(spec, &api.store, NULL), 0, "store");
	is_int(do_("POST", "/api/v1/namespaces", NULL, T("{'metadata':{'name':'e'}}")), 201, "namespace");
	test_budget();
	test_refusals();
	store_free(api.store);
	free(api.ip_used);
	free(spec);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
