/* curl-lazy.c - the libcurl.so.4 function table (see lazy.h). */
#define CURL_LAZY_NO_REDIRECT /* here the names are the real functions */
#include "curl-lazy.h"

LAZY_DEFINE(CurlApi, curl_api, "libcurl.so.4", CURL_LAZY_FUNCS)
