/* local.h - requests from inside the `berth server` process, answered by
 * the running API server's handler without HTTP, TLS or a socket.
 *
 * The in-process scheduler binds pods and writes its Events this way: a
 * binding over loopback HTTPS costs the client (curl, TLS) and the server
 * (a connection thread, TLS, HTTP parsing) several times what the handler
 * itself does.  In-process callers are trusted, as every in-process caller
 * of api_handle is (no authentication, no RBAC).  Implemented in http.c,
 * which owns the running server.
 */
#ifndef BERTH_APISERVER_LOCAL_H
#define BERTH_APISERVER_LOCAL_H
#include <stddef.h>

/* method, path (with an optional ?query, percent-encoded), content_type
 * (NULL: JSON) and body answered by the running server: 0 with
 * *ret_status and the body (*ret_body, caller frees; may be NULL), or
 * -ENOTCONN when no server is serving in this process (not yet, or no
 * more).  Watches and node proxies are refused with -ENOTSUP. */
int apiserver_local_request(const char *method, const char *path, const char *content_type, const char *body,
			    size_t len, int *ret_status, char **ret_body, size_t *ret_len);

#endif
