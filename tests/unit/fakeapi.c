/* fakeapi.c - the in-memory Kubernetes API of fakeapi.h: object storage by
 * resource path, the API server's create/update/patch/delete rules that
 * controllers depend on (names, uids, resourceVersion conflicts, status
 * subresource, generation), one event log that lists and watches share, a
 * request log and error injection.  The three PATCH dialects are the API
 * server's own (src/apiserver/patch.c), so a patch means here what it means
 * to `berth server`.
 *
 * One mutex guards everything; watch handlers run without it (an informer's
 * handler may well take its own locks).
 */
#include "fakeapi.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/base/cleanup.h"
#include "../../src/controller/framework/framework.h"
#include "../../src/shared/json.h"
#include "../../src/base/strbuf.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FAKE_MAX_WATCH 64

/* ---- clock ---- */

static _Atomic int64_t clock_ms = 1767225600000; /* 2026-01-01T00:00:00Z */

int64_t fake_clock_ms(void) { return clock_ms; }
void fake_clock_set_s(int64_t s) { clock_ms = s * 1000; }
void fake_clock_advance_s(int64_t s) { clock_ms += s * 1000; }

/* ---- state ---- */

typedef struct Event {
	char *coll, *ns;  /* "/api/v1/pods", namespace ("" cluster scoped) */
	int64_t rv;
	json_t *ev;       /* {"type":..., "object":...} */
} Event;

typedef struct Watcher {
	char coll[256], ns[256];
	size_t cursor;  /* next event log index to look at */
	bool open, busy;
} Watcher;

typedef struct Failure {
	char *method, *path;
	int status, n;
} Failure;

struct FakeApi {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *objs;  /* "coll|ns|name" -> object */
	int64_t rv;
	unsigned uid, rnd;
	Event *log;
	size_t nlog, caplog;
	Watcher w[FAKE_MAX_WATCH];
	size_t nw;
	json_t *reqs;  /* ["METHOD path", ...] */
	Failure fail[16];
	size_t nfail;
	bool hold, closing;
	KubeTransport t;
};

typedef struct Path {
	char coll[256], ns[256], name[256], sub[64];
	char query[512];
} Path;

/* Kinds whose status is a subresource: PUT/PATCH of the object leave it alone. */
static bool has_status(const char *coll)
{
	static const char *const r[] = { "pods", "replicasets", "replicationcontrollers", "deployments",
					 "daemonsets", "statefulsets", "jobs", "cronjobs", "nodes",
					 "persistentvolumeclaims", "services", "namespaces" };
	const char *res = strrchr(coll, '/');
	res = res ? res + 1 : coll;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (!strcmp(r[i], res))
			return true;
	return false;
}


/* The API server's own defaulting (src/apiserver/defaults.c) of the kinds
 * controllers read: strategies, progressDeadlineSeconds, history limits,
 * Job selectors and labels, pod phase Pending. */
static void apply_defaults(const char *coll, json_t *obj)
{
	static const struct {
		const char *res;
		void (*fn)(Api *, json_t *);
	} d[] = { { "pods", api_defaults_pod },		{ "deployments", api_defaults_deployment },
		  { "replicasets", api_defaults_replicaset }, { "daemonsets", api_defaults_daemonset },
		  { "statefulsets", api_defaults_statefulset }, { "jobs", api_defaults_job },
		  { "cronjobs", api_defaults_cronjob } };
	const char *res = strrchr(coll, '/');
	res = res ? res + 1 : coll;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (!strcmp(d[i].res, res))
			d[i].fn(NULL, obj);
}

/* "/apis/apps/v1/namespaces/ns/replicasets/x/status?..." -> parts; false if not an API path. */
static bool path_parse(const char *full, Path *p)
{
	memset(p, 0, sizeof(*p));
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", full);
	char *q = strchr(buf, '?');
	if (q) {
		snprintf(p->query, sizeof(p->query), "%s", q + 1);
		*q = 0;
	}
	char *seg[12];
	int n = 0;
	for (char *s = strtok(buf, "/"); s && n < 12; s = strtok(NULL, "/"))
		seg[n++] = s;
	int i;
	if (n >= 2 && !strcmp(seg[0], "api")) {
		snprintf(p->coll, sizeof(p->coll), "/api/%s", seg[1]);
		i = 2;
	} else if (n >= 3 && !strcmp(seg[0], "apis")) {
		snprintf(p->coll, sizeof(p->coll), "/apis/%s/%s", seg[1], seg[2]);
		i = 3;
	} else
		return false;
	if (n - i >= 3 && !strcmp(seg[i], "namespaces")) {
		snprintf(p->ns, sizeof(p->ns), "%s", seg[i + 1]);
		i += 2;
	}
	if (i >= n)
		return false;
	size_t l = strlen(p->coll);
	snprintf(p->coll + l, sizeof(p->coll) - l, "/%s", seg[i]);
	if (i + 1 < n)
		snprintf(p->name, sizeof(p->name), "%s", seg[i + 1]);
	if (i + 2 < n)
		snprintf(p->sub, sizeof(p->sub), "%s", seg[i + 2]);
	return true;
}

static char *obj_key_of(const char *coll, const char *ns, const char *name)
{
	return xasprintf("%s|%s|%s", coll, ns, name);
}

static json_t *status_body(int code, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static json_t *status_body(int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "status",
			 code < 300 ? "Success" : "Failure", "message", msg, "reason", reason, "code", code);
}

static const char *res_name(const char *coll)
{
	const char *r = strrchr(coll, '/');
	return r ? r + 1 : coll;
}

/* Append to the event log (steals obj's reference into the event). */
static void log_event(FakeApi *f, const char *coll, const char *ns, const char *type, const json_t *obj)
{
	if (f->nlog == f->caplog) {
		f->caplog = f->caplog ? f->caplog * 2 : 256;
		f->log = xrealloc(f->log, f->caplog * sizeof(*f->log));
	}
	f->log[f->nlog++] = (Event){ .coll = xstrdup(coll), .ns = xstrdup(ns), .rv = f->rv,
				     .ev = json_pack("{s:s, s:O}", "type", type, "object", obj) };
	pthread_cond_broadcast(&f->cond);
}

static void set_rv(FakeApi *f, json_t *obj)
{
	char rv[32];
	snprintf(rv, sizeof(rv), "%lld", (long long)++f->rv);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
}

/* ---- create / update / delete (lock held) ---- */

static int do_create(FakeApi *f, const Path *p, const json_t *body, bool from_client, json_t **ret)
{
	if (!json_is_object(body))
		return *ret = status_body(400, "BadRequest", "no object"), 400;
	json_t *obj = json_deep_copy(body);
	json_t *meta = json_object_get(obj, "metadata");
	if (!json_is_object(meta))
		json_object_set_new(obj, "metadata", meta = json_object());
	const char *gen = json_str(meta, "generateName");
	if (!json_str(meta, "name") && gen) {
		static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
		for (;;) {
			char suf[6];
			for (int i = 0; i < 5; i++) {
				f->rnd = f->rnd * 1103515245u + 12345u;
				suf[i] = al[(f->rnd >> 16) % (sizeof(al) - 1)];
			}
			suf[5] = 0;
			_cleanup_free_ char *name = xasprintf("%s%s", gen, suf);
			_cleanup_free_ char *k = obj_key_of(p->coll, p->ns, name);
			if (!json_object_get(f->objs, k)) {
				json_object_set_new(meta, "name", json_string(name));
				break;
			}
		}
	}
	const char *name = json_str(meta, "name");
	if (!name || !*name) {
		json_decref(obj);
		return *ret = status_body(422, "Invalid", "metadata.name: Required value"), 422;
	}
	_cleanup_free_ char *k = obj_key_of(p->coll, p->ns, name);
	if (json_object_get(f->objs, k)) {
		*ret = status_body(409, "AlreadyExists", "%s \"%s\" already exists", res_name(p->coll), name);
		json_decref(obj);
		return 409;
	}
	if (*p->ns)
		json_object_set_new(meta, "namespace", json_string(p->ns));
	char uid[64], ts[40];
	snprintf(uid, sizeof(uid), "fake-uid-%u", ++f->uid);
	json_object_set_new(meta, "uid", json_string(uid));
	time_rfc3339(ts, sizeof(ts), fake_clock_ms() / 1000);
	json_object_set_new(meta, "creationTimestamp", json_string(ts));
	json_object_set_new(meta, "generation", json_integer(1));
	if (from_client && has_status(p->coll))
		json_object_del(obj, "status");
	apply_defaults(p->coll, obj);
	set_rv(f, obj);
	json_object_set_new(f->objs, k, obj);
	log_event(f, p->coll, p->ns, "ADDED", obj);
	*ret = json_incref(obj);
	return 201;
}

static json_t *not_found(const Path *p)
{
	return status_body(404, "NotFound", "%s \"%s\" not found", res_name(p->coll), p->name);
}

/* Store next (steals) as the new version of cur at key: generation, rv, event. */
static void remove_locked(FakeApi *f, const Path *p, const char *k, const json_t *cur);

/* Store next (steals) as the new version of cur at key k: generation, rv,
 * event; an object being deleted goes once its last finalizer is gone.
 * direct (the test's own edits) may set deletionTimestamp. */
static int fake_store_update(FakeApi *f, const Path *p, const char *k, const json_t *cur, json_t *next, bool direct,
			     json_t **ret)
{
	json_t *meta = json_object_get(next, "metadata");
	json_t *cm = json_object_get(cur, "metadata");
	static const char *const keep[] = { "uid", "creationTimestamp", "namespace", "name", "generation",
					    "resourceVersion", "deletionTimestamp" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (direct && !strcmp(keep[i], "deletionTimestamp"))
			continue;
		json_t *v = json_object_get(cm, keep[i]);
		if (v)
			json_object_set(meta, keep[i], v);
		else
			json_object_del(meta, keep[i]);
	}
	apply_defaults(p->coll, next);
	if (json_equal(next, cur)) {
		json_decref(next);
		*ret = json_incref((json_t *)cur);
		return 200;
	}
	if (!json_equal(json_object_get(next, "spec"), json_object_get(cur, "spec")))
		json_object_set_new(meta, "generation", json_integer(json_int(cm, "generation", 1) + 1));
	if (json_object_get(meta, "deletionTimestamp") && !json_array_size(json_object_get(meta, "finalizers"))) {
		remove_locked(f, p, k, next);
		*ret = next;
		return 200;
	}
	set_rv(f, next);
	json_object_set_new(f->objs, k, next);
	log_event(f, p->coll, p->ns, "MODIFIED", next);
	*ret = json_incref(next);
	return 200;
}

/* The object a PUT/PATCH body becomes: status from body only for /status. */
static json_t *merge_sub(const Path *p, const json_t *cur, const json_t *body)
{
	if (!strcmp(p->sub, "status")) {
		json_t *next = json_deep_copy(cur);
		json_t *st = json_object_get(body, "status");
		if (st)
			json_object_set_new(next, "status", json_deep_copy(st));
		else
			json_object_del(next, "status");
		return next;
	}
	json_t *next = json_deep_copy(body);
	if (!json_is_object(json_object_get(next, "metadata")))
		json_object_set_new(next, "metadata", json_object());
	if (has_status(p->coll)) {
		json_t *st = json_object_get(cur, "status");
		if (st)
			json_object_set(next, "status", st);
		else
			json_object_del(next, "status");
	}
	return next;
}

static int conflict(const Path *p, json_t **ret)
{
	*ret = status_body(409, "Conflict",
			   "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply "
			   "your changes to the latest version and try again",
			   res_name(p->coll), p->name);
	return 409;
}

static int do_update(FakeApi *f, const Path *p, const json_t *body, json_t **ret)
{
	_cleanup_free_ char *k = obj_key_of(p->coll, p->ns, p->name);
	json_t *cur = json_object_get(f->objs, k);
	if (!cur)
		return *ret = not_found(p), 404;
	const char *rv = json_str(json_object_get(body, "metadata"), "resourceVersion");
	if (rv && *rv && strcmp(rv, json_str(json_object_get(cur, "metadata"), "resourceVersion") ?: ""))
		return conflict(p, ret);
	return fake_store_update(f, p, k, cur, merge_sub(p, cur, body), false, ret);
}

static int do_patch(FakeApi *f, const Path *p, const json_t *patch, const char *ctype, bool direct, json_t **ret)
{
	_cleanup_free_ char *k = obj_key_of(p->coll, p->ns, p->name);
	json_t *cur = json_object_get(f->objs, k);
	if (!cur)
		return *ret = not_found(p), 404;
	_cleanup_err_ Error *err = NULL;
	_cleanup_json_ json_t *patched = NULL;
	ctype = ctype ?: "application/merge-patch+json";
	if (strstr(ctype, "json-patch"))
		patched = api_patch_json(cur, patch, &err);
	else if (strstr(ctype, "strategic"))
		patched = api_patch_strategic(cur, patch, &err);
	else {
		const char *rv = json_is_object(patch) ? json_str(json_object_get(patch, "metadata"), "resourceVersion")
						       : NULL;
		if (rv && *rv && strcmp(rv, json_str(json_object_get(cur, "metadata"), "resourceVersion") ?: ""))
			return conflict(p, ret);
		patched = api_patch_merge(cur, patch);
	}
	if (!patched)
		return *ret = status_body(422, "Invalid", "patch: %s", err_msg(err)), 422;
	return fake_store_update(f, p, k, cur, merge_sub(p, cur, patched), direct, ret);
}

/* Remove the object at k (cur: its last version) and tell the watchers. */
static void remove_locked(FakeApi *f, const Path *p, const char *k, const json_t *cur)
{
	json_t *gone = json_deep_copy(cur);
	json_object_del(f->objs, k);
	set_rv(f, gone);
	log_event(f, p->coll, p->ns, "DELETED", gone);
	json_decref(gone);
}

/* DELETE: at once, or (finalizers left) deletionTimestamp now and gone
 * when the last finalizer is removed. */
static int do_delete(FakeApi *f, const Path *p, const json_t *opts, json_t **ret)
{
	_cleanup_free_ char *k = obj_key_of(p->coll, p->ns, p->name);
	json_t *cur = json_object_get(f->objs, k);
	if (!cur)
		return *ret = not_found(p), 404;
	const char *uid = json_str(json_object_get(opts, "preconditions"), "uid");
	if (uid && strcmp(uid, json_str(json_object_get(cur, "metadata"), "uid") ?: ""))
		return conflict(p, ret);
	if (json_array_size(json_path(cur, "metadata.finalizers"))) {
		if (json_path(cur, "metadata.deletionTimestamp"))
			return *ret = json_incref(cur), 200;
		json_t *next = json_deep_copy(cur);
		char ts[40];
		time_rfc3339(ts, sizeof(ts), fake_clock_ms() / 1000);
		json_object_set_new(json_object_get(next, "metadata"), "deletionTimestamp", json_string(ts));
		return fake_store_update(f, p, k, cur, next, true, ret);
	}
	*ret = json_incref(cur);
	remove_locked(f, p, k, cur);
	return 200;
}

/* POST .../pods/NAME/binding or .../bindings: set spec.nodeName. */
static int do_bind(FakeApi *f, const Path *p, const json_t *body, json_t **ret)
{
	Path pp = *p;
	snprintf(pp.coll, sizeof(pp.coll), "/api/v1/pods");
	if (!*p->name)
		snprintf(pp.name, sizeof(pp.name), "%s", json_str(json_object_get(body, "metadata"), "name") ?: "");
	pp.sub[0] = 0;
	_cleanup_free_ char *k = obj_key_of(pp.coll, pp.ns, pp.name);
	json_t *cur = json_object_get(f->objs, k);
	if (!cur)
		return *ret = not_found(&pp), 404;
	if (json_str(json_object_get(cur, "spec"), "nodeName"))
		return *ret = status_body(409, "Conflict", "pod %s is already assigned", pp.name), 409;
	json_t *next = json_deep_copy(cur);
	json_object_set_new(json_object_get(next, "spec"), "nodeName",
			    json_string(json_str(json_object_get(body, "target"), "name") ?: ""));
	_cleanup_json_ json_t *made = NULL;
	fake_store_update(f, &pp, k, cur, next, false, &made);
	*ret = status_body(201, "Created", "bound");
	return 201;
}

static int keycmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The objects of coll in ns ("": all), sorted by key (new array). */
static json_t *list_locked(FakeApi *f, const char *coll, const char *ns)
{
	_cleanup_free_ char *pre = *ns ? xasprintf("%s|%s|", coll, ns) : xasprintf("%s|", coll);
	size_t pl = strlen(pre);
	json_t *keys = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(f->objs, k, v)
		if (!strncmp(k, pre, pl))
			json_array_append_new(keys, json_string(k));
	size_t n = json_array_size(keys);
	json_t **arr = xmalloc((n ? n : 1) * sizeof(*arr));
	for (size_t i = 0; i < n; i++)
		arr[i] = json_array_get(keys, i);
	qsort(arr, n, sizeof(*arr), keycmp);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(out, json_object_get(f->objs, json_string_value(arr[i])));
	free(arr);
	json_decref(keys);
	return out;
}

static int do_get(FakeApi *f, const Path *p, json_t **ret)
{
	if (!*p->name) {
		char rv[32];
		snprintf(rv, sizeof(rv), "%lld", (long long)f->rv);
		*ret = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "List", "apiVersion", "v1", "metadata",
				 "resourceVersion", rv, "items", list_locked(f, p->coll, p->ns));
		return 200;
	}
	_cleanup_free_ char *k = obj_key_of(p->coll, p->ns, p->name);
	json_t *cur = json_object_get(f->objs, k);
	if (!cur)
		return *ret = not_found(p), 404;
	*ret = json_incref(cur);
	return 200;
}

/* ---- the transport ---- */

static bool path_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return !strncmp(pattern, path, n - 1);
	return !strcmp(pattern, path);
}

static int injected_failure(FakeApi *f, const char *method, const char *path, json_t **ret)
{
	for (size_t i = 0; i < f->nfail; i++) {
		Failure *x = &f->fail[i];
		if (x->n > 0 && (!x->method || !strcmp(x->method, method)) && path_matches(x->path, path)) {
			x->n--;
			*ret = status_body(x->status, x->status == 409 ? "Conflict" : "InternalError",
					   "injected failure of %s %s", method, path);
			return x->status;
		}
	}
	return 0;
}

static int fake_request_fn(void *ud, const char *method, const char *full, const json_t *body, const char *ctype,
			   json_t **ret)
{
	FakeApi *f = ud;
	Path p;
	bool ok = path_parse(full, &p);
	char plain[1024];
	snprintf(plain, sizeof(plain), "%s", full);
	char *q = strchr(plain, '?');
	if (q)
		*q = 0;
	pthread_mutex_lock(&f->lock);
	_cleanup_free_ char *line = xasprintf("%s %s", method, plain);
	json_array_append_new(f->reqs, json_string(line));
	int st = injected_failure(f, method, plain, ret);
	if (st) {
	} else if (!ok) {
		*ret = status_body(404, "NotFound", "the server could not find the requested resource");
		st = 404;
	} else if (!strcmp(method, "GET"))
		st = do_get(f, &p, ret);
	else if (!strcmp(method, "POST") && (!strcmp(p.sub, "binding") || !strcmp(res_name(p.coll), "bindings")))
		st = do_bind(f, &p, body, ret);
	else if (!strcmp(method, "POST") && !*p.name)
		st = do_create(f, &p, body, true, ret);
	else if (!strcmp(method, "PUT") && *p.name)
		st = do_update(f, &p, body, ret);
	else if (!strcmp(method, "PATCH") && *p.name)
		st = do_patch(f, &p, body, ctype, false, ret);
	else if (!strcmp(method, "DELETE") && *p.name)
		st = do_delete(f, &p, body, ret);
	else {
		*ret = status_body(405, "MethodNotAllowed", "%s %s", method, plain);
		st = 405;
	}
	pthread_mutex_unlock(&f->lock);
	return st;
}

static int64_t query_rv(const char *query)
{
	const char *r = strstr(query, "resourceVersion=");
	return r ? strtoll(r + strlen("resourceVersion="), NULL, 10) : 0;
}

/* The next log index >= w->cursor that w should see, or nlog. */
static size_t next_for(FakeApi *f, const Watcher *w)
{
	size_t i;
	for (i = w->cursor; i < f->nlog; i++)
		if (!strcmp(f->log[i].coll, w->coll) && (!*w->ns || !strcmp(f->log[i].ns, w->ns)))
			break;
	return i;
}

static void wait_a_bit(FakeApi *f, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

static int fake_watch_fn(void *ud, const char *full, KubeWatchFn fn, void *fn_ud, volatile int *stop, json_t **ret)
{
	FakeApi *f = ud;
	Path p;
	if (!path_parse(full, &p) || *p.name)
		return *ret = status_body(404, "NotFound", "no such collection"), 404;
	int64_t from = query_rv(p.query);
	pthread_mutex_lock(&f->lock);
	Watcher *w = NULL;
	for (size_t i = 0; i < f->nw && !w; i++)
		if (!f->w[i].open)
			w = &f->w[i];
	if (!w && f->nw < FAKE_MAX_WATCH)
		w = &f->w[f->nw++];
	if (!w) {
		pthread_mutex_unlock(&f->lock);
		return *ret = status_body(503, "ServiceUnavailable", "too many watches"), 503;
	}
	*w = (Watcher){ .open = true };
	snprintf(w->coll, sizeof(w->coll), "%s", p.coll);
	snprintf(w->ns, sizeof(w->ns), "%s", p.ns);
	while (w->cursor < f->nlog && f->log[w->cursor].rv <= from)
		w->cursor++;
	pthread_cond_broadcast(&f->cond);
	int status = 200;
	while (!f->closing && !(stop && *stop)) {
		size_t i = next_for(f, w);
		if (i == f->nlog || f->hold) {
			w->cursor = f->hold ? w->cursor : i;
			wait_a_bit(f, 20);
			continue;
		}
		json_t *ev = json_incref(f->log[i].ev);
		w->busy = true;
		pthread_mutex_unlock(&f->lock);
		int stop_now = fn(ev, fn_ud);
		json_decref(ev);
		pthread_mutex_lock(&f->lock);
		w->busy = false;
		w->cursor = i + 1;
		pthread_cond_broadcast(&f->cond);
		if (stop_now)
			break;
	}
	w->open = false;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return status;
}

/* ---- public ---- */

FakeApi *fake_new(void)
{
	FakeApi *f = xcalloc(1, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->objs = json_object();
	f->reqs = json_array();
	f->rv = 100;
	f->rnd = 42;
	f->t = (KubeTransport){ .request = fake_request_fn, .watch = fake_watch_fn };
	return f;
}

void fake_free(FakeApi *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->closing = true;
	pthread_cond_broadcast(&f->cond);
	for (;;) {
		bool open = false;
		for (size_t i = 0; i < f->nw; i++)
			open = open || f->w[i].open;
		if (!open)
			break;
		wait_a_bit(f, 20);
	}
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < f->nlog; i++) {
		free(f->log[i].coll);
		free(f->log[i].ns);
		json_decref(f->log[i].ev);
	}
	free(f->log);
	for (size_t i = 0; i < f->nfail; i++) {
		free(f->fail[i].method);
		free(f->fail[i].path);
	}
	json_decref(f->objs);
	json_decref(f->reqs);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

KubeClient *fake_client(FakeApi *f) { return kube_client_new_fake(&f->t, f); }

json_t *fake_create(FakeApi *f, const char *coll, const json_t *obj)
{
	Path p;
	if (!path_parse(coll, &p) || *p.name)
		return NULL;
	pthread_mutex_lock(&f->lock);
	json_t *ret = NULL;
	int st = do_create(f, &p, obj, false, &ret);
	pthread_mutex_unlock(&f->lock);
	if (st != 201) {
		json_decref(ret);
		return NULL;
	}
	return ret;
}

json_t *fake_get(FakeApi *f, const char *path)
{
	Path p;
	if (!path_parse(path, &p) || !*p.name)
		return NULL;
	pthread_mutex_lock(&f->lock);
	json_t *ret = NULL;
	int st = do_get(f, &p, &ret);
	pthread_mutex_unlock(&f->lock);
	if (st != 200) {
		json_decref(ret);
		return NULL;
	}
	return ret;
}

json_t *fake_list(FakeApi *f, const char *coll)
{
	Path p;
	if (!path_parse(coll, &p) || *p.name)
		return json_array();
	pthread_mutex_lock(&f->lock);
	json_t *out = list_locked(f, p.coll, p.ns);
	pthread_mutex_unlock(&f->lock);
	return out;
}

int fake_patch(FakeApi *f, const char *path, const json_t *patch)
{
	Path p;
	if (!path_parse(path, &p) || !*p.name)
		return 404;
	pthread_mutex_lock(&f->lock);
	_cleanup_json_ json_t *ret = NULL;
	int st = do_patch(f, &p, patch, NULL, true, &ret);
	pthread_mutex_unlock(&f->lock);
	return st;
}

int fake_delete(FakeApi *f, const char *path)
{
	Path p;
	if (!path_parse(path, &p) || !*p.name)
		return 404;
	_cleanup_free_ char *k = obj_key_of(p.coll, p.ns, p.name);
	pthread_mutex_lock(&f->lock);
	json_t *cur = json_object_get(f->objs, k);
	if (cur)
		remove_locked(f, &p, k, cur);
	pthread_mutex_unlock(&f->lock);
	return cur ? 200 : 404;
}

int fake_count(FakeApi *f, const char *method, const char *path)
{
	int n = 0;
	size_t ml = method ? strlen(method) : 0;
	pthread_mutex_lock(&f->lock);
	size_t i;
	json_t *v;
	json_array_foreach(f->reqs, i, v) {
		const char *line = json_string_value(v), *sp = strchr(line, ' ');
		if (method && ((size_t)(sp - line) != ml || strncmp(line, method, ml)))
			continue;
		if (path_matches(path, sp + 1))
			n++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_log_clear(FakeApi *f)
{
	pthread_mutex_lock(&f->lock);
	json_array_clear(f->reqs);
	pthread_mutex_unlock(&f->lock);
}

char *fake_log_text(FakeApi *f)
{
	StrBuf sb;
	sb_init(&sb);
	pthread_mutex_lock(&f->lock);
	size_t i;
	json_t *v;
	json_array_foreach(f->reqs, i, v) {
		sb_adds(&sb, json_string_value(v));
		sb_addc(&sb, '\n');
	}
	pthread_mutex_unlock(&f->lock);
	return sb_detach(&sb);
}

void fake_fail(FakeApi *f, const char *method, const char *path, int status, int n)
{
	pthread_mutex_lock(&f->lock);
	if (f->nfail < sizeof(f->fail) / sizeof(f->fail[0]))
		f->fail[f->nfail++] = (Failure){ .method = method ? xstrdup(method) : NULL, .path = xstrdup(path),
						 .status = status, .n = n };
	pthread_mutex_unlock(&f->lock);
}

void fake_hold(FakeApi *f, bool hold)
{
	pthread_mutex_lock(&f->lock);
	f->hold = hold;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static bool settled_locked(FakeApi *f, int nwatchers)
{
	int open = 0;
	for (size_t i = 0; i < f->nw; i++) {
		Watcher *w = &f->w[i];
		if (!w->open)
			continue;
		open++;
		if (w->busy || next_for(f, w) < f->nlog)
			return false;
	}
	return open >= nwatchers;
}

bool fake_settle(FakeApi *f, int nwatchers, int timeout_ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&f->lock);
	bool ok;
	while (!(ok = settled_locked(f, nwatchers)) && !f->hold) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			break;
		wait_a_bit(f, 20);
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}
