/* local-kube.h - the API server's in-process clients as a KubeTransport.
 *
 * The controllers, the scheduler and their shared informers run inside
 * `berth server`; talking to it over loopback HTTPS cost a TLS connection
 * per watch and per pooled request handle: a connection thread, a GnuTLS
 * session and a connection memory pool on the server side, an OpenSSL
 * context and a curl handle on the client side (~28 connections, several
 * MB of the server's memory with 100 pods).  apiserver_kube_transport
 * answers their requests and watches with the running server's handler
 * instead (trusted, as every in-process caller of api_handle is);
 * `berth server` installs it with kube_set_local_transport.
 */
#ifndef BERTH_APISERVER_LOCAL_KUBE_H
#define BERTH_APISERVER_LOCAL_KUBE_H
#include "../shared/kube.h"
#include <stddef.h>

/* GET path (a watch: ?watch=1...) answered by the running server: each
 * line of the stream goes to fn (non-zero stops) until the stream ends,
 * *stop is set or the server stops; 0 with *ret_status (and the body of a
 * response that was no stream: *ret_body, caller frees), -ENOTCONN when no
 * server is serving in this process.  Implemented in http.c. */
int apiserver_local_watch(const char *path, int (*fn)(const char *line, size_t len, void *ud), void *ud,
			  volatile int *stop, int *ret_status, char **ret_body, size_t *ret_len);

/* Requests through apiserver_local_request, watches through
 * apiserver_local_watch; 503 while no server is serving (kube.h maps it to
 * -EAGAIN).  ud is unused. */
extern const KubeTransport apiserver_kube_transport;

#endif
