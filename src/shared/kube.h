/* kube.h - an HTTP client for the Kubernetes API (libcurl), used by the
 * controllers, and later by the scheduler and node agent, so that in-process
 * and remote components talk to the API server the same way.
 *
 * A KubeClient is made from a kubeconfig (current context: server URL, CA
 * from certificate-authority-data or -file, bearer token) and is safe to use
 * from many threads: each request takes an idle curl handle from a small pool
 * (connection reuse) or makes a new one.
 *
 * Requests return the decoded JSON body (new reference in *ret, may be NULL
 * for an empty body).  A non-2xx answer becomes an Error: the Status
 * message, and an errno-style code by HTTP status (404 ENOENT, 409 EEXIST
 * for AlreadyExists / EBUSY for Conflict, 410 ESTALE, 422/400 EINVAL,
 * 401/403 EACCES, others EIO).  Response bodies are capped (BERTH_MAX_KUBE_BODY).
 *
 * kube_watch streams a watch: it calls fn once per event
 * ({"type":..., "object":...}) until the server closes the stream, fn returns
 * non-zero, or *stop becomes true (checked at least once a second).
 */
#ifndef BERTH_SHARED_KUBE_H
#define BERTH_SHARED_KUBE_H
#include <stdbool.h>
#include <jansson.h>
#include "../base/err.h"

typedef struct KubeClient KubeClient;

/* From kubeconfig text (YAML or JSON). */
int kube_client_new(const char *kubeconfig_text, KubeClient **ret, Error **err);
int kube_client_new_from_file(const char *path, KubeClient **ret, Error **err);
void kube_client_free(KubeClient *c);
DEFINE_CLEANUP(KubeClient, kube_client_free)
const char *kube_client_server(const KubeClient *c);
/* Talk to url instead of the kubeconfig's server (in-process: loopback). */
void kube_client_set_server(KubeClient *c, const char *url);

/* The HTTP status of the last failed request is in the Error code mapping
 * above; *ret_status (optional) gets it exactly. */
int kube_request(KubeClient *c, const char *method, const char *path, const json_t *body,
		 const char *content_type, json_t **ret, int *ret_status, Error **err);
int kube_get(KubeClient *c, const char *path, json_t **ret, Error **err);
int kube_post(KubeClient *c, const char *path, const json_t *body, json_t **ret, Error **err);
int kube_put(KubeClient *c, const char *path, const json_t *body, json_t **ret, Error **err);
/* Merge patch (application/merge-patch+json). */
int kube_patch(KubeClient *c, const char *path, const json_t *patch, json_t **ret, Error **err);
int kube_delete(KubeClient *c, const char *path, Error **err);

/* event is borrowed for the call.  A caller (kube_watch or a transport)
 * that keeps the event tree or any part of it after fn returns must hold
 * its own reference while calling: the informer takes a tree whose only
 * reference is the caller's as its own (it strips and caches it). */
typedef int (*KubeWatchFn)(const json_t *event, void *userdata);
/* path includes ?watch=1&resourceVersion=...; returns 0 when the stream ended. */
int kube_watch(KubeClient *c, const char *path, KubeWatchFn fn, void *userdata, volatile int *stop,
	       Error **err);

/* An in-process transport in place of HTTP (unit tests: tests/unit/fakeapi.c).
 * request answers one request with its HTTP status, *ret the body (new ref
 * or NULL); watch streams events to fn as kube_watch does and returns the
 * HTTP status (*ret: the error body of a non-2xx).  Errors map as above. */
typedef struct KubeTransport {
	int (*request)(void *ud, const char *method, const char *path, const json_t *body,
		       const char *content_type, json_t **ret);
	int (*watch)(void *ud, const char *path, KubeWatchFn fn, void *fn_ud, volatile int *stop, json_t **ret);
} KubeTransport;
/* A client whose requests and watches all go to t (not copied) with ud. */
KubeClient *kube_client_new_fake(const KubeTransport *t, void *ud);

/* How many idle connections (curl handles) c keeps for reuse, after
 * closing those idle for longer than the limit (30 s; idle_ms > 0 sets
 * it): a request closes them too.  For tests. */
size_t kube_client_idle_handles(KubeClient *c, int64_t idle_ms);

/* Map an HTTP status (and Status reason) to a negative errno. */
int kube_status_errno(int http_status, const char *reason);

/* For components running inside `berth server`: wait until the server has
 * written DATA/kubeconfig.yaml and answers /readyz on its listen address
 * (0.0.0.0 / [::] reached over loopback), then return a client talking to
 * it there; NULL once *stop is set. */
KubeClient *kube_client_wait_local(const char *data_dir, const char *listen, volatile int *stop);
/* From now on kube_client_wait_local's clients send every request and
 * watch to t (not copied) with ud instead of HTTPS (their server URL is
 * still the loopback one): `berth server` answers its own components
 * in-process (apiserver/local-kube.h).  NULL: HTTPS again. */
void kube_set_local_transport(const KubeTransport *t, void *ud);

#endif
