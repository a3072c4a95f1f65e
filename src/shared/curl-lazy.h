/* curl-lazy.h - libcurl (HTTP client: registry client, Kubernetes API client, etcd), loaded on first use (see lazy.h).
 * Generated from the functions berth uses; add a function here when you start
 * using it. */
#ifndef BERTH_SHARED_CURL_LAZY_H
#define BERTH_SHARED_CURL_LAZY_H

#define CURL_DISABLE_TYPECHECK /* the type-check macros would shadow the table */
#include <curl/curl.h>
#include "lazy.h"

#define CURL_LAZY_FUNCS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_recv) \
	X(curl_easy_reset) \
	X(curl_easy_send) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_multi_add_handle) \
	X(curl_multi_cleanup) \
	X(curl_multi_init) \
	X(curl_multi_perform) \
	X(curl_multi_poll) \
	X(curl_multi_remove_handle) \
	X(curl_slist_append) \
	X(curl_slist_free_all)

typedef struct CurlApi {
	CURL_LAZY_FUNCS(LAZY_MEMBER)
} CurlApi;

const CurlApi *curl_api(void);

#ifndef CURL_LAZY_NO_REDIRECT
/* curl.h re-defines these two to themselves to check the argument count */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_cleanup (curl_api()->curl_easy_cleanup)
#define curl_easy_escape (curl_api()->curl_easy_escape)
#define curl_easy_getinfo (curl_api()->curl_easy_getinfo)
#define curl_easy_init (curl_api()->curl_easy_init)
#define curl_easy_perform (curl_api()->curl_easy_perform)
#define curl_easy_recv (curl_api()->curl_easy_recv)
#define curl_easy_reset (curl_api()->curl_easy_reset)
#define curl_easy_send (curl_api()->curl_easy_send)
#define curl_easy_setopt (curl_api()->curl_easy_setopt)
#define curl_easy_strerror (curl_api()->curl_easy_strerror)
#define curl_free (curl_api()->curl_free)
#define curl_global_init (curl_api()->curl_global_init)
#define curl_multi_add_handle (curl_api()->curl_multi_add_handle)
#define curl_multi_cleanup (curl_api()->curl_multi_cleanup)
#define curl_multi_init (curl_api()->curl_multi_init)
#define curl_multi_perform (curl_api()->curl_multi_perform)
#define curl_multi_poll (curl_api()->curl_multi_poll)
#define curl_multi_remove_handle (curl_api()->curl_multi_remove_handle)
#define curl_slist_append (curl_api()->curl_slist_append)
#define curl_slist_free_all (curl_api()->curl_slist_free_all)
#endif

#endif
