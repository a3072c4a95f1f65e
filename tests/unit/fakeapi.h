/* fakeapi.h - an in-memory Kubernetes API for unit tests of code that talks
 * to the API through shared/kube.h (the controllers): a KubeClient from
 * fake_client() sends every request and watch here instead of over HTTP.
 *
 * Objects live per resource ("/api/v1/pods", "/apis/apps/v1/replicasets")
 * and namespace, as the API server keeps them: POST assigns uid,
 * resourceVersion, creationTimestamp (fake clock), generation and a name for
 * generateName (409 AlreadyExists when taken); PUT and PATCH (merge patch,
 * JSON patch; strategic merge treated as merge) check a given
 * resourceVersion (409 Conflict when stale) and bump it and, on a spec
 * change, generation; the status subresource changes only status, the main
 * resource never does; pods/binding sets spec.nodeName; DELETE removes
 * (404 when missing), or with finalizers sets deletionTimestamp and removes
 * once the last finalizer is patched away.  Objects get the API server's
 * defaults (src/apiserver/defaults.c).  Lists and watches (from a resourceVersion) see one
 * ordered event log, so an informer started at a list's version misses
 * nothing.  Every request is recorded (method, path without query) for tests
 * to assert what a sync did.
 *
 * The fake clock (fake_clock_*) is global: pass fake_clock_ms as the
 * controllers' now_ms.
 */
#ifndef BERTH_TESTS_FAKEAPI_H
#define BERTH_TESTS_FAKEAPI_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "../../src/shared/kube.h"

typedef struct FakeApi FakeApi;

/* ---- clock ---- */
int64_t fake_clock_ms(void);
void fake_clock_set_s(int64_t epoch_s);
void fake_clock_advance_s(int64_t s);

FakeApi *fake_new(void);
/* Stops every watch (they return) and frees; clients must be freed first
 * or at least no longer used. */
void fake_free(FakeApi *f);
/* A new client on f (caller frees with kube_client_free). */
KubeClient *fake_client(FakeApi *f);

/* ---- direct access: not recorded, but watchers see the changes ---- */
/* Create obj in collection coll ("/api/v1/namespaces/ns/pods"); returns the
 * stored object (new ref) or NULL on error (e.g. already exists). */
json_t *fake_create(FakeApi *f, const char *coll, const json_t *obj);
/* The object at path (new ref) or NULL. */
json_t *fake_get(FakeApi *f, const char *path);
/* The objects of a collection, sorted by namespace/name (new array). */
json_t *fake_list(FakeApi *f, const char *coll);
/* Merge-patch the object at path ("/status" suffix: status only); unlike a
 * client it may set metadata.deletionTimestamp (the object goes at once
 * unless it has finalizers).  HTTP status. */
int fake_patch(FakeApi *f, const char *path, const json_t *patch);
/* Remove the object at path now, finalizers or not: HTTP status (200 / 404). */
int fake_delete(FakeApi *f, const char *path);

/* ---- the request log ---- */
/* Requests made through clients whose method is method (NULL: any) and whose
 * path (query removed) is path, or starts with it when it ends in '*'. */
int fake_count(FakeApi *f, const char *method, const char *path);
/* Forget the log. */
void fake_log_clear(FakeApi *f);
/* The log as "METHOD path" lines (caller frees), for diagnostics. */
char *fake_log_text(FakeApi *f);
/* The next n requests matching method and path (as fake_count) fail with
 * HTTP status (and a Status body); nothing is changed. */
void fake_fail(FakeApi *f, const char *method, const char *path, int status, int n);

/* ---- watches ---- */
/* Hold (true) or release watch delivery: while held, changes queue up and
 * informers do not see them. */
void fake_hold(FakeApi *f, bool hold);
/* Wait (up to timeout_ms) until at least nwatchers watches are open and every
 * open watch has delivered every event (the handlers returned).  False on
 * timeout. */
bool fake_settle(FakeApi *f, int nwatchers, int timeout_ms);

#endif
