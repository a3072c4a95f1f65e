/* ctlsync.h - the harness of the controller sync suites (test-ctlsync-*.c):
 * the controller manager over a fake API (fakeapi.h) on the fake clock, its
 * informers listed and watching, no worker threads.  A test seeds objects
 * in the fake, waits until every informer has seen every change (settle),
 * then calls one controller's sync for one key, or drains the queues of a
 * few controllers until nothing is left to do (run), and asserts on the
 * fake's objects and request log.  Header-only: every suite is one file.
 */
#ifndef BERTH_TESTS_CTLSYNC_H
#define BERTH_TESTS_CTLSYNC_H
#include "fakeapi.h"
#include "tap.h"
#include "../../src/base/cleanup.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/shared/json.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CS_INFORMERS 15  /* manager.c's shared informers */
#define CS_T0 1767225600  /* 2026-01-01T00:00:00Z */

typedef struct Env {
	FakeApi *f;
	Manager *m;
} Env;

static inline Env env_start(void)
{
	Env e = { 0 };
	fake_clock_set_s(CS_T0);
	e.f = fake_new();
	_cleanup_err_ Error *err = NULL;
	if (mgr_start_informers(fake_client(e.f), fake_clock_ms, &e.m, &err) < 0) {
		printf("Bail out! manager: %s\n", err_msg(err));
		exit(1);
	}
	if (!fake_settle(e.f, CS_INFORMERS, 20000)) {
		printf("Bail out! informers never watched\n");
		exit(1);
	}
	return e;
}

static inline void env_stop(Env *e)
{
	controller_manager_stop(e->m);
	fake_free(e->f);
}

static inline void settle(Env *e)
{
	if (!fake_settle(e->f, CS_INFORMERS, 20000))
		tap_diag("informers did not catch up in 20 s");
}

/* JSON from printf-style text where ' stands for " (aborts on bad JSON). */
static inline json_t *__attribute__((format(printf, 1, 2))) J(const char *fmt, ...)
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
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	if (!j) {
		printf("Bail out! bad test JSON: %s: %s\n", je.text, s);
		exit(1);
	}
	free(s);
	return j;
}

/* Create in the fake (aborts when refused); returns the stored object (new ref). */
static inline json_t *put_obj(Env *e, const char *coll, json_t *obj)
{
	json_t *made = fake_create(e->f, coll, obj);
	if (!made) {
		_cleanup_free_ char *t = json_dumps(obj, JSON_COMPACT);
		printf("Bail out! create in %s refused: %s\n", coll, t);
		exit(1);
	}
	json_decref(obj);
	return made;
}

static inline void patch_obj(Env *e, const char *path, json_t *patch)
{
	int st = fake_patch(e->f, path, patch);
	if (st != 200)
		tap_diag("patch %s: HTTP %d", path, st);
	json_decref(patch);
}

/* One sync of key by c once the informers caught up; logs the error. */
static inline int sync_key(Env *e, Ctl *c, const char *key)
{
	settle(e);
	_cleanup_err_ Error *err = NULL;
	int r = c->sync(c, key, &err);
	if (r < 0)
		tap_diag("sync %s %s: %s", c->name, key, err_msg(err));
	return r;
}

/* Drain the queues of ctls (NULL-terminated) as the workers would, until the
 * informers are caught up and nothing is queued (delayed keys wait for the
 * fake clock); a failed sync (a 409 on a write racing an informer event) is
 * retried in the next pass; at most `rounds` passes.  The number of syncs. */
static inline int run_ctls(Env *e, int rounds, Ctl **ctls)
{
	int n = 0;
	for (int round = 0; round < rounds; round++) {
		settle(e);
		bool any = false;
		_cleanup_json_ json_t *failed = json_array();
		for (Ctl **c = ctls; *c; c++) {
			char *key = NULL;
			/* one key at a time, each on caught-up informers */
			while (settle(e), wq_get((*c)->q, 0, &key) == 1) {
				_cleanup_err_ Error *err = NULL;
				if ((*c)->sync(*c, key, &err) < 0) {
					tap_diag("sync %s %s: %s (retried)", (*c)->name, key, err_msg(err));
					json_array_append_new(failed, json_pack("[i, s]", (int)(c - ctls), key));
				}
				wq_forget((*c)->q, key);
				wq_done((*c)->q, key);
				free(key);
				any = true;
				n++;
			}
		}
		size_t i;
		json_t *f;
		json_array_foreach(failed, i, f)
			wq_add(ctls[json_integer_value(json_array_get(f, 0))]->q, json_string_value(json_array_get(f, 1)));
		if (!any)
			return n;
	}
	tap_diag("controllers still busy after %d rounds", rounds);
	return n;
}
#define RUN(e, ...) run_ctls((e), 50, (Ctl *[]){ __VA_ARGS__, NULL })

/* Empty a controller's queue without syncing (keys queued by seeding). */
static inline void drain(Env *e, Ctl *c)
{
	settle(e);
	char *key = NULL;
	while (wq_get(c->q, 0, &key) == 1) {
		wq_done(c->q, key);
		free(key);
	}
}

/* Objects of collection coll whose controller reference has uid (NULL: all). */
static inline json_t *owned_by(Env *e, const char *coll, const char *uid)
{
	_cleanup_json_ json_t *all = fake_list(e->f, coll);
	json_t *out = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o) {
		const json_t *ref = obj_controller_ref(o);
		if (!uid || (ref && !strcmp(json_str(ref, "uid") ?: "", uid)))
			json_array_append(out, o);
	}
	return out;
}

static inline int count_owned(Env *e, const char *coll, const char *uid)
{
	_cleanup_json_ json_t *a = owned_by(e, coll, uid);
	return (int)json_array_size(a);
}

/* Make a pod Running on node with Ready `ready` since now (status subresource). */
static inline void pod_set_running(Env *e, const char *ns, const char *name, const char *node, bool ready)
{
	char path[512], ts[40];
	time_rfc3339(ts, sizeof(ts), fake_clock_ms() / 1000);
	if (node) {
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns, name);
		patch_obj(e, path, J("{'spec':{'nodeName':'%s'}}", node));
	}
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", ns, name);
	patch_obj(e, path,
		  J("{'status':{'phase':'Running','conditions':[{'type':'Ready','status':'%s','lastTransitionTime':'%s'}]}}",
		    ready ? "True" : "False", ts));
}

/* Every pod of owner uid Running and Ready on node. */
static inline void pods_ready(Env *e, const char *ns, const char *uid, const char *node)
{
	char coll[300];
	snprintf(coll, sizeof(coll), "/api/v1/namespaces/%s/pods", ns);
	_cleanup_json_ json_t *pods = owned_by(e, coll, uid);
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
		if (!pod_is_ready(p))
			pod_set_running(e, ns, obj_meta(p, "name"), json_str(json_object_get(p, "spec"), "nodeName") ? NULL : node,
					true);
}

/* Finish a pod: phase Succeeded or Failed (exit code). */
static inline void pod_finish(Env *e, const char *ns, const char *name, bool succeeded, int exit_code)
{
	char path[512], ts[40];
	time_rfc3339(ts, sizeof(ts), fake_clock_ms() / 1000);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", ns, name);
	patch_obj(e, path,
		  J("{'status':{'phase':'%s','conditions':[{'type':'Ready','status':'False'}],"
		    "'containerStatuses':[{'name':'c','restartCount':0,'state':{'terminated':{'exitCode':%d,"
		    "'finishedAt':'%s'}}}]}}",
		    succeeded ? "Succeeded" : "Failed", exit_code, ts));
}

static inline const char *meta_s(const json_t *o, const char *k) { return obj_meta(o, k) ?: ""; }
static inline int64_t spec_i(const json_t *o, const char *k, int64_t def)
{
	return json_int(json_object_get(o, "spec"), k, def);
}
static inline int64_t status_i(const json_t *o, const char *k, int64_t def)
{
	return json_int(json_object_get(o, "status"), k, def);
}
/* A condition of type on o's status, or NULL. */
static inline const json_t *cond_of(const json_t *o, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(o, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}
static inline const char *cond_field(const json_t *o, const char *type, const char *field)
{
	return json_str(cond_of(o, type), field);
}

/* Print the request log (after a failure). */
static inline void dump_log(Env *e)
{
	_cleanup_free_ char *t = fake_log_text(e->f);
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"))
		tap_diag("  %s", line);
}

#endif
