/* x509.h - keys and certificates (OpenSSL) for the cluster's TLS: the API
 * server's CA, serving and client certificates, and the node agent's own
 * serving certificate.  EC P-256 keys, SHA-256 signatures.
 */
#ifndef BERTH_SHARED_X509_H
#define BERTH_SHARED_X509_H
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "../base/cleanup.h"

DEFINE_CLEANUP(EVP_PKEY, EVP_PKEY_free)
DEFINE_CLEANUP(X509, X509_free)

/* A new EC P-256 key. */
EVP_PKEY *x509_key_new(void);
/* A certificate for key, valid from an hour ago for 10 years, signed by
 * (issuer, ikey) or self-signed when issuer is NULL.  org may be NULL;
 * usage: an extendedKeyUsage value ("serverAuth", "clientAuth", ...) or
 * NULL; san: a subjectAltName value ("IP:127.0.0.1,DNS:localhost") or NULL. */
X509 *x509_cert_new(EVP_PKEY *key, const char *cn, const char *org, X509 *issuer, EVP_PKEY *ikey, bool ca,
		    const char *usage, const char *san);
/* PEM text (caller frees). */
char *x509_key_pem(EVP_PKEY *k);
char *x509_cert_pem(X509 *c);

#endif
