/* gnutls-lazy.c - the libgnutls.so.30 function table (see lazy.h). */
#define GNUTLS_LAZY_NO_REDIRECT /* here the names are the real functions */
#include "gnutls-lazy.h"

LAZY_DEFINE(GnutlsApi, gnutls_api, "libgnutls.so.30", GNUTLS_LAZY_FUNCS)
