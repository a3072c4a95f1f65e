/* x509.c - keys and certificates for the cluster's TLS (see x509.h). */
#include "x509.h"
#include "../base/err.h"
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>

EVP_PKEY *x509_key_new(void)
{
	return EVP_EC_gen("P-256");
}

char *x509_key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = xstrndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

char *x509_cert_pem(X509 *c)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, c);
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = xstrndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

static void add_ext(X509 *issuer, X509 *c, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex) {
		X509_add_ext(c, ex, -1);
		X509_EXTENSION_free(ex);
	}
}

X509 *x509_cert_new(EVP_PKEY *key, const char *cn, const char *org, X509 *issuer, EVP_PKEY *ikey,
		      bool ca, const char *usage, const char *san)
{
	X509 *c = X509_new();
	X509_set_version(c, 2);
	unsigned char serial[16];
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), (long)3650 * 86400);
	X509_set_pubkey(c, key);
	X509_NAME *name = X509_get_subject_name(c);
	if (org)
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	add_ext(issuer, c, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(issuer, c, NID_key_usage, ca ? "critical,keyCertSign,cRLSign,digitalSignature" :
					       "critical,digitalSignature,keyEncipherment");
	add_ext(issuer, c, NID_subject_key_identifier, "hash");
	if (usage)
		add_ext(issuer, c, NID_ext_key_usage, usage);
	if (san)
		add_ext(issuer, c, NID_subject_alt_name, san);
	X509_sign(c, ikey ? ikey : key, EVP_sha256());
	return c;
}
