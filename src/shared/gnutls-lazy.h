/* gnutls-lazy.h - GnuTLS (client certificates of API requests), loaded on
 * first use (see lazy.h).  Add a function here when you start using it. */
#ifndef BERTH_SHARED_GNUTLS_LAZY_H
#define BERTH_SHARED_GNUTLS_LAZY_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "lazy.h"

#define GNUTLS_LAZY_FUNCS(X) \
	X(gnutls_certificate_get_peers) \
	X(gnutls_certificate_verify_peers2) \
	X(gnutls_x509_crt_deinit) \
	X(gnutls_x509_crt_get_dn_by_oid) \
	X(gnutls_x509_crt_import) \
	X(gnutls_x509_crt_init)

typedef struct GnutlsApi {
	GNUTLS_LAZY_FUNCS(LAZY_MEMBER)
} GnutlsApi;

const GnutlsApi *gnutls_api(void);

#ifndef GNUTLS_LAZY_NO_REDIRECT
#define gnutls_certificate_get_peers (gnutls_api()->gnutls_certificate_get_peers)
#define gnutls_certificate_verify_peers2 (gnutls_api()->gnutls_certificate_verify_peers2)
#define gnutls_x509_crt_deinit (gnutls_api()->gnutls_x509_crt_deinit)
#define gnutls_x509_crt_get_dn_by_oid (gnutls_api()->gnutls_x509_crt_get_dn_by_oid)
#define gnutls_x509_crt_import (gnutls_api()->gnutls_x509_crt_import)
#define gnutls_x509_crt_init (gnutls_api()->gnutls_x509_crt_init)
#endif

#endif
