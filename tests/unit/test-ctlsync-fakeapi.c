/* test-ctlsync-fakeapi.c - the fake API itself, through a real KubeClient
 * (kube_client_new_fake): the rules the controller suites rely on, so a
 * controller test never passes because the fake is lenient.
 */
#include "ctlsync.h"

#define PODS "/api/v1/namespaces/default/pods"
#define DEPS "/apis/apps/v1/namespaces/default/deployments"

typedef struct Seen {
	json_t *types;
	volatile int stop;
} Seen;

static int on_ev(const json_t *ev, void *ud)
{
	Seen *s = ud;
	char line[128];
	snprintf(line, sizeof(line), "%s %s", json_str(ev, "type") ?: "?", obj_meta(json_object_get(ev, "object"), "name") ?: "?");
	json_array_append_new(s->types, json_string(line));
	return json_array_size(s->types) >= 3;
}

/* fake_create / fake_patch taking ownership of the object or patch. */
static json_t *mk(FakeApi *f, const char *coll, json_t *o)
{
	json_t *made = fake_create(f, coll, o);
	json_decref(o);
	return made;
}

static int fp(FakeApi *f, const char *path, json_t *patch)
{
	int st = fake_patch(f, path, patch);
	json_decref(patch);
	return st;
}

int main(void)
{
	FakeApi *f = fake_new();
	_cleanup_(kube_client_freep) KubeClient *kc = fake_client(f);
	_cleanup_err_ Error *err = NULL;

	/* create: generateName, uid, resourceVersion, creationTimestamp, defaults */
	_cleanup_json_ json_t *body = J("{'metadata':{'generateName':'web-','labels':{'a':'b'}},'spec':{'containers':"
					"[{'name':'c','image':'busybox'}]},'status':{'phase':'Running'}}");
	_cleanup_json_ json_t *made = NULL;
	is_int(kube_post(kc, PODS, body, &made, &err), 0, "fake: POST a pod");
	const char *name = meta_s(made, "name");
	ok(!strncmp(name, "web-", 4) && strlen(name) == 9, "fake: generateName gives <prefix><5 chars> (%s)", name);
	ok(*meta_s(made, "uid") && *meta_s(made, "resourceVersion"), "fake: uid and resourceVersion set");
	is_str(meta_s(made, "creationTimestamp"), "2026-01-01T00:00:00Z", "fake: creationTimestamp from the fake clock");
	is_str(json_str(json_object_get(made, "status"), "phase"), "Pending", "fake: a client cannot create status (Pending)");
	is_str(json_str(json_object_get(made, "spec"), "serviceAccountName"), "default", "fake: API server defaults applied");
	_cleanup_json_ json_t *named = J("{'metadata':{'name':'%s'}}", name);
	err_freep(&err);
	is_int(kube_post(kc, PODS, named, NULL, &err), -EEXIST, "fake: same name again is AlreadyExists (EEXIST)");
	err_freep(&err);
	is_int(kube_get(kc, PODS "/nope", NULL, &err), -ENOENT, "fake: GET a missing object is 404");
	err_freep(&err);

	/* PUT: stale resourceVersion conflicts; status subresource only changes status */
	char path[256], spath[256];
	snprintf(path, sizeof(path), PODS "/%s", name);
	snprintf(spath, sizeof(spath), PODS "/%s/status", name);
	_cleanup_json_ json_t *upd = json_deep_copy(made);
	json_object_set_new(json_object_get(upd, "status"), "phase", json_string("Running"));
	json_object_set_new(json_path(upd, "metadata.labels"), "a", json_string("c"));
	_cleanup_json_ json_t *after = NULL;
	is_int(kube_put(kc, spath, upd, &after, &err), 0, "fake: PUT status");
	is_str(json_str(json_object_get(after, "status"), "phase"), "Running", "fake: status written");
	is_str(json_str(json_path(after, "metadata.labels"), "a"), "b", "fake: the status subresource ignores labels");
	ok(strcmp(meta_s(after, "resourceVersion"), meta_s(made, "resourceVersion")), "fake: resourceVersion bumped");
	is_int(kube_put(kc, path, upd, NULL, &err), -EBUSY, "fake: PUT with a stale resourceVersion is a 409 Conflict");
	err_freep(&err);

	/* PATCH: merge, JSON patch, strategic; main resource leaves status alone */
	_cleanup_json_ json_t *mp = J("{'metadata':{'labels':{'x':'1'}},'status':{'phase':'Failed'}}");
	_cleanup_json_ json_t *p1 = NULL;
	is_int(kube_patch(kc, path, mp, &p1, &err), 0, "fake: merge patch");
	is_str(json_str(json_path(p1, "metadata.labels"), "x"), "1", "fake: merge patch applied");
	is_str(json_str(json_object_get(p1, "status"), "phase"), "Running", "fake: main resource patch leaves status");
	_cleanup_json_ json_t *jp = J("[{'op':'replace','path':'/metadata/labels/x','value':'2'}]");
	_cleanup_json_ json_t *p2 = NULL;
	is_int(kube_request(kc, "PATCH", path, jp, "application/json-patch+json", &p2, NULL, &err), 0, "fake: JSON patch");
	is_str(json_str(json_path(p2, "metadata.labels"), "x"), "2", "fake: JSON patch applied");
	_cleanup_json_ json_t *stale = J("{'metadata':{'resourceVersion':'1','labels':{'x':'3'}}}");
	is_int(kube_patch(kc, path, stale, NULL, &err), -EBUSY, "fake: merge patch with a stale resourceVersion is 409");
	err_freep(&err);

	/* binding */
	_cleanup_json_ json_t *bind = J("{'apiVersion':'v1','kind':'Binding','metadata':{'name':'%s'},'target':{'name':'n1'}}", name);
	char bpath[300];
	snprintf(bpath, sizeof(bpath), "%s/binding", path);
	is_int(kube_post(kc, bpath, bind, NULL, &err), 0, "fake: bind the pod");
	_cleanup_json_ json_t *bound = NULL;
	kube_get(kc, path, &bound, NULL);
	is_str(json_str(json_object_get(bound, "spec"), "nodeName"), "n1", "fake: binding sets spec.nodeName");

	/* generation follows spec changes only */
	json_decref(mk(f, DEPS, J("{'metadata':{'name':'d'},'spec':{'replicas':1,'selector':{},'template':{}}}")));
	fp(f, DEPS "/d", J("{'metadata':{'labels':{'l':'1'}}}"));
	_cleanup_json_ json_t *d1 = fake_get(f, DEPS "/d");
	is_int(json_int(json_object_get(d1, "metadata"), "generation", 0), 1, "fake: a label change keeps generation");
	fp(f, DEPS "/d", J("{'spec':{'replicas':2}}"));
	_cleanup_json_ json_t *d2 = fake_get(f, DEPS "/d");
	is_int(json_int(json_object_get(d2, "metadata"), "generation", 0), 2, "fake: a spec change bumps generation");

	/* finalizers: DELETE marks, removing the last finalizer removes */
	fp(f, path, J("{'metadata':{'finalizers':['x/y']}}"));
	is_int(kube_delete(kc, path, &err), 0, "fake: DELETE a pod with a finalizer");
	_cleanup_json_ json_t *marked = fake_get(f, path);
	ok(marked && json_path(marked, "metadata.deletionTimestamp"), "fake: it stays, with deletionTimestamp");
	_cleanup_json_ json_t *unfin = J("{'metadata':{'$deleteFromPrimitiveList/finalizers':['x/y']}}");
	is_int(kube_request(kc, "PATCH", path, unfin, "application/strategic-merge-patch+json", NULL, NULL, &err), 0,
	       "fake: strategic patch removes the finalizer");
	_cleanup_json_ json_t *gone = fake_get(f, path);
	ok(!gone, "fake: the pod is gone with its last finalizer");
	is_int(kube_delete(kc, path, &err), -ENOENT, "fake: DELETE again is 404");
	err_freep(&err);

	/* watch from a resourceVersion sees the later events, in order */
	_cleanup_json_ json_t *list = NULL;
	kube_get(kc, PODS, &list, NULL);
	char wpath[256];
	snprintf(wpath, sizeof(wpath), "/api/v1/pods?watch=1&resourceVersion=%s", json_str(json_object_get(list, "metadata"), "resourceVersion"));
	json_decref(mk(f, PODS, J("{'metadata':{'name':'w1'}}")));
	fp(f, PODS "/w1", J("{'metadata':{'labels':{'k':'v'}}}"));
	fake_delete(f, PODS "/w1");
	Seen s = { .types = json_array() };
	is_int(kube_watch(kc, wpath, on_ev, &s, &s.stop, &err), 0, "fake: watch from the list's resourceVersion");
	_cleanup_free_ char *t = json_dumps(s.types, JSON_COMPACT);
	is_str(t, "[\"ADDED w1\",\"MODIFIED w1\",\"DELETED w1\"]", "fake: ADDED, MODIFIED, DELETED after the list");
	json_decref(s.types);

	/* the request log and injected failures */
	fake_fail(f, "POST", PODS, 500, 1);
	is_int(kube_post(kc, PODS, body, NULL, &err), -EIO, "fake: an injected 500");
	err_freep(&err);
	is_int(kube_post(kc, PODS, body, NULL, &err), 0, "fake: the next request succeeds");
	is_int(fake_count(f, "POST", PODS), 4, "fake: every POST to the collection was recorded");
	is_int(fake_count(f, "PATCH", PODS "/*"), 4, "fake: PATCHes counted by prefix");
	is_int(fake_count(f, NULL, PODS "/nope"), 1, "fake: any method");
	kube_client_free(TAKE_PTR(kc));
	fake_free(f);
	return tap_done();
}
