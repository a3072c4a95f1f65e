/* funcs-crypto.c - Sprig's hashing and crypto functions on OpenSSL and
 * libxcrypt: sha1/256/512sum, adler32sum, bcrypt/htpasswd, derivePassword
 * (Master Password over scrypt), genPrivateKey, the certificate helpers
 * (genCA, genSelfSignedCert, genSignedCert, their *WithKey forms,
 * buildCustomCert), encryptAES/decryptAES, randBytes and uuidv4.
 *
 * Output formats follow Go's: PKCS#1/SEC1/DSA "traditional" PEM for RSA, EC
 * and DSA keys, PKCS#8 for Ed25519, X.509 v3 certificates with the
 * extensions Go's CreateCertificate writes.  Every OpenSSL object is handed
 * to the render arena (arena_defer) as soon as it exists, so a template
 * error or the memory cap unwinding the executor cannot leak it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED   /* SHA*_Init & co: no EVP provider start-up */
#include "tmpl.h"
#include <arpa/inet.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- ownership glue --------------------------------------------------------------------------- */
static void free_pkey(void *p) { EVP_PKEY_free(p); }
static void free_pctx(void *p) { EVP_PKEY_CTX_free(p); }
static void free_bio(void *p) { BIO_free(p); }
static void free_x509(void *p) { X509_free(p); }
static void free_openssl(void *p) { OPENSSL_free(p); }
static void free_names(void *p) { GENERAL_NAMES_free(p); }
static void free_cipher(void *p) { EVP_CIPHER_CTX_free(p); }

/* Hand p to the render's arena (freed with it); returns p. */
static void *own(Ctx *c, void (*fn)(void *), void *p)
{
	if (p)
		arena_defer(c->a, fn, p);
	return p;
}
#define OWN(c, fn, p) own(c, fn, p)

static Value *bio_value(Ctx *c, BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	return value_strn(c->a, p, n > 0 ? (size_t)n : 0);
}

static BIO *mem_bio(Ctx *c) { return OWN(c, free_bio, BIO_new(BIO_s_mem())); }

/* ---- digests ----------------------------------------------------------------------------------- */
/* Low-level SHA1/SHA256/SHA512 (not EVP): no provider start-up per process
 * (~0.8 ms), and hex without a printf per byte. */
typedef void (*DigestFn)(const unsigned char *d, size_t n, unsigned char *md);

/* OpenSSL 3's one-shot SHA1() & co go through EVP_Q_digest: use the contexts. */
static void d_sha1(const unsigned char *d, size_t n, unsigned char *md)
{
	SHA_CTX x;
	SHA1_Init(&x);
	SHA1_Update(&x, d, n);
	SHA1_Final(md, &x);
}

static void d_sha256(const unsigned char *d, size_t n, unsigned char *md)
{
	SHA256_CTX x;
	SHA256_Init(&x);
	SHA256_Update(&x, d, n);
	SHA256_Final(md, &x);
}

static void d_sha512(const unsigned char *d, size_t n, unsigned char *md)
{
	SHA512_CTX x;
	SHA512_Init(&x);
	SHA512_Update(&x, d, n);
	SHA512_Final(md, &x);
}

static int hex_digest(Ctx *c, const Value *s, DigestFn fn, unsigned n, Value **ret)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[64];
	fn((const unsigned char *)s->u.s.p, s->u.s.n, d);
	char out[128];
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	*ret = value_strn(c->a, out, 2 * n);
	return 0;
}

static int f_sha1sum(Ctx *c, Value **a, int n, Value **r) { (void)n; return hex_digest(c, a[0], d_sha1, 20, r); }
static int f_sha256sum(Ctx *c, Value **a, int n, Value **r) { (void)n; return hex_digest(c, a[0], d_sha256, 32, r); }
static int f_sha512sum(Ctx *c, Value **a, int n, Value **r) { (void)n; return hex_digest(c, a[0], d_sha512, 64, r); }

static int f_adler32sum(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	uint32_t s1 = 1, s2 = 0;
	const unsigned char *p = (const unsigned char *)a[0]->u.s.p;
	for (size_t i = 0; i < a[0]->u.s.n; i++) {
		s1 = (s1 + p[i]) % 65521;
		s2 = (s2 + s1) % 65521;
	}
	*r = value_str(c->a, arena_printf(c->a, "%u", s2 << 16 | s1));
	return 0;
}

/* ---- passwords ---------------------------------------------------------------------------------- */
static const char *bcrypt_hash(Ctx *c, const char *pw, size_t n)
{
	if (n > 72)
		return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes";
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$2a$", 10, NULL, 0, setting, sizeof(setting)))
		return "failed to encrypt string with bcrypt: cannot generate salt";
	struct crypt_data *cd = arena_alloc(c->a, sizeof(*cd));
	const char *pwz = arena_strndup(c->a, pw, n);
	const char *h = crypt_rn(pwz, setting, cd, sizeof(*cd));
	if (!h || h[0] == '*')
		return "failed to encrypt string with bcrypt: crypt failed";
	const char *out = arena_strdup(c->a, h);
	explicit_bzero(cd, sizeof(*cd));
	return out;
}

static int f_bcrypt(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	*r = value_str(c->a, bcrypt_hash(c, a[0]->u.s.p, a[0]->u.s.n));
	return 0;
}

static int f_htpasswd(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const Value *user = a[0], *pw = a[1], *alg = a[2];
	if (memchr(user->u.s.p, ':', user->u.s.n)) {
		*r = value_str(c->a, arena_printf(c->a, "invalid username: %.*s", (int)user->u.s.n, user->u.s.p));
		return 0;
	}
	ABuf b;
	abuf_init(&b, c->a);
	abuf_add(&b, user->u.s.p, user->u.s.n);
	abuf_addc(&b, ':');
	if (alg->u.s.n == 3 && !memcmp(alg->u.s.p, "sha", 3)) {
		unsigned char d[20];
		SHA1((const unsigned char *)pw->u.s.p, pw->u.s.n, d);
		abuf_adds(&b, "{SHA}");
		base64_encode(&b, d, sizeof(d));
	} else {
		abuf_adds(&b, bcrypt_hash(c, pw->u.s.p, pw->u.s.n));
	}
	*r = value_strn(c->a, b.p, b.len);
	return 0;
}

static const char *const pw_templates[][22] = {
	{ "maximum", "anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno" },
	{ "long", "CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv",
	  "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc", "CvcvCvcvnoCvcc",
	  "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno", "CvcvnoCvccCvcc", "CvcvCvccnoCvcc",
	  "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc", "CvccCvcvCvccno" },
	{ "medium", "CvcnoCvc", "CvcCvcno" },
	{ "short", "Cvcn" },
	{ "basic", "aaanaaan", "aannaaan", "aaannaaa" },
	{ "pin", "nnnn" },
};

static const char *pw_chars(char t)
{
	switch (t) {
	case 'V': return "AEIOU";
	case 'C': return "BCDFGHJKLMNPQRSTVWXYZ";
	case 'v': return "aeiou";
	case 'c': return "bcdfghjklmnpqrstvwxyz";
	case 'A': return "AEIOUBCDFGHJKLMNPQRSTVWXYZ";
	case 'a': return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
	case 'n': return "0123456789";
	case 'o': return "@&%?,=[]_:-+*$#!'^~;()/.";
	case 'x': return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()";
	}
	return "";
}

static void put_be32(ABuf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			       (unsigned char)v };
	abuf_add(b, x, 4);
}

/* Master Password (lyndir) as sprig implements it. */
static int f_derive_password(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	static const char seed_name[] = "com.lyndir.masterpassword";
	uint32_t counter = (uint32_t)a[0]->u.u;
	const Value *type = a[1], *pw = a[2], *user = a[3], *site = a[4];
	const char *const *tmpls = NULL;
	for (size_t i = 0; i < sizeof(pw_templates) / sizeof(pw_templates[0]); i++)
		if (strlen(pw_templates[i][0]) == type->u.s.n && !memcmp(pw_templates[i][0], type->u.s.p, type->u.s.n))
			tmpls = pw_templates[i] + 1;
	if (!tmpls) {
		*r = value_str(c->a, arena_printf(c->a, "cannot find password template %.*s", (int)type->u.s.n,
						  type->u.s.p));
		return 0;
	}
	ABuf salt;
	abuf_init(&salt, c->a);
	abuf_adds(&salt, seed_name);
	put_be32(&salt, (uint32_t)user->u.s.n);
	abuf_add(&salt, user->u.s.p, user->u.s.n);
	unsigned char key[64];
	if (!EVP_PBE_scrypt(pw->u.s.p, pw->u.s.n, (const unsigned char *)salt.p, salt.len, 32768, 8, 2,
			    64ULL << 20, key, sizeof(key))) {
		*r = value_str(c->a, "failed to derive password: scrypt failed");
		return 0;
	}
	ABuf msg;
	abuf_init(&msg, c->a);
	abuf_adds(&msg, seed_name);
	put_be32(&msg, (uint32_t)site->u.s.n);
	abuf_add(&msg, site->u.s.p, site->u.s.n);
	put_be32(&msg, counter);
	unsigned char seed[EVP_MAX_MD_SIZE];
	unsigned int slen = 0;
	HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)msg.p, msg.len, seed, &slen);
	OPENSSL_cleanse(key, sizeof(key));
	size_t ntmpl = 0;
	while (ntmpl < 21 && tmpls[ntmpl])
		ntmpl++;
	const char *tmpl = tmpls[seed[0] % ntmpl];
	ABuf out;
	abuf_init(&out, c->a);
	for (size_t i = 0; tmpl[i]; i++) {
		const char *chars = pw_chars(tmpl[i]);
		abuf_addc(&out, chars[seed[i + 1] % strlen(chars)]);
	}
	*r = value_strn(c->a, out.p, out.len);
	return 0;
}

/* ---- randomness ----------------------------------------------------------------------------------- */
static int f_rand_bytes(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t count = a[0]->u.i;
	if (count < 0)
		return fn_error(c, "runtime error: makeslice: len out of range");
	unsigned char *buf = arena_alloc(c->a, (size_t)count + 1);
	if (count && RAND_bytes(buf, (int)count) != 1)
		return fn_error(c, "crypto/rand: read failed");
	ABuf b;
	abuf_init(&b, c->a);
	base64_encode(&b, buf, (size_t)count);
	*r = value_strn(c->a, b.p ? b.p : "", b.len);
	return 0;
}

static int f_uuidv4(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	unsigned char u[16];
	if (RAND_bytes(u, sizeof(u)) != 1)
		return fn_error(c, "crypto/rand: read failed");
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	ABuf b;
	abuf_init(&b, c->a);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			abuf_addc(&b, '-');
		abuf_addf(&b, "%02x", u[i]);
	}
	*r = value_strn(c->a, b.p, b.len);
	return 0;
}

/* ---- keys ------------------------------------------------------------------------------------------- */
static EVP_PKEY *gen_dsa(Ctx *c)
{
	EVP_PKEY_CTX *pc = OWN(c, free_pctx, EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL));
	EVP_PKEY *params = NULL, *key = NULL;
	if (!pc || EVP_PKEY_paramgen_init(pc) <= 0 || EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 2048) <= 0 ||
	    EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pc, 256) <= 0 || EVP_PKEY_paramgen(pc, &params) <= 0)
		return NULL;
	OWN(c, free_pkey, params);
	EVP_PKEY_CTX *kc = OWN(c, free_pctx, EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL));
	if (!kc || EVP_PKEY_keygen_init(kc) <= 0 || EVP_PKEY_keygen(kc, &key) <= 0)
		return NULL;
	return OWN(c, free_pkey, key);
}

static EVP_PKEY *gen_rsa(Ctx *c, size_t bits)
{
	return OWN(c, free_pkey, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits));
}

/* pemBlockForKey: traditional PEM for RSA/EC/DSA, PKCS#8 otherwise. */
static Value *key_pem(Ctx *c, EVP_PKEY *k)
{
	BIO *b = mem_bio(c);
	int id = EVP_PKEY_get_base_id(k);
	int ok = id == EVP_PKEY_RSA || id == EVP_PKEY_EC || id == EVP_PKEY_DSA
			 ? PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL)
			 : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	return ok ? bio_value(c, b) : NULL;
}

static int f_gen_private_key(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *t = a[0]->u.s.p;
	size_t tn = a[0]->u.s.n;
	EVP_PKEY *k;
	if (tn == 0 || (tn == 3 && !memcmp(t, "rsa", 3)))
		k = gen_rsa(c, 4096);
	else if (tn == 3 && !memcmp(t, "dsa", 3))
		k = gen_dsa(c);
	else if (tn == 5 && !memcmp(t, "ecdsa", 5))
		k = OWN(c, free_pkey, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	else if (tn == 7 && !memcmp(t, "ed25519", 7))
		k = OWN(c, free_pkey, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	else {
		*r = value_str(c->a, arena_printf(c->a, "Unknown type %.*s", (int)tn, t));
		return 0;
	}
	Value *pem = k ? key_pem(c, k) : NULL;
	*r = pem ? pem : value_str(c->a, "failed to generate private key: key generation failed");
	return 0;
}

/* parsePrivateKeyPEM; NULL with *err on failure. */
static EVP_PKEY *parse_key_pem(Ctx *c, const char *s, size_t n, const char **err)
{
	BIO *in = OWN(c, free_bio, BIO_new_mem_buf(s, (int)n));
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	if (!in || !PEM_read_bio(in, &name, &header, &data, &len)) {
		*err = "no PEM data in input";
		return NULL;
	}
	OWN(c, free_openssl, name);
	OWN(c, free_openssl, header);
	OWN(c, free_openssl, data);
	const unsigned char *p = data;
	EVP_PKEY *k = NULL;
	size_t nl = strlen(name);
	if (!strcmp(name, "PRIVATE KEY")) {
		k = d2i_AutoPrivateKey(NULL, &p, len);
		if (!k)
			*err = "decoding PEM as PKCS#8: x509: failed to parse private key";
	} else if (nl < 12 || strcmp(name + nl - 12, " PRIVATE KEY")) {
		*err = arena_printf(c->a, "no private key data in PEM block of type %s", name);
	} else if (!strcmp(name, "RSA PRIVATE KEY")) {
		if (!(k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len)))
			*err = "parsing RSA private key from PEM: x509: failed to parse private key";
	} else if (!strcmp(name, "EC PRIVATE KEY")) {
		if (!(k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, len)))
			*err = "parsing EC private key from PEM: x509: failed to parse EC private key";
	} else if (!strcmp(name, "DSA PRIVATE KEY")) {
		if (!(k = d2i_PrivateKey(EVP_PKEY_DSA, NULL, &p, len)))
			*err = "parsing DSA private key from PEM: asn1: structure error";
	} else {
		*err = arena_printf(c->a, "invalid private key type %s", name);
	}
	return OWN(c, free_pkey, k);
}

/* ---- certificates -------------------------------------------------------------------------------------- */
typedef struct Cert {
	Value *cert, *key;
} Cert;

static const ObjType cert_type;
static const char *const cert_field_names[] = { "Cert", "Key" };

static int cert_lookup(const Value *self, const char *name, Value **ret, const FuncDef **method, Arena *a)
{
	(void)method; (void)a;
	const Cert *ct = self->u.o.p;
	if (!strcmp(name, "Cert")) {
		*ret = ct->cert;
		return 0;
	}
	if (!strcmp(name, "Key")) {
		*ret = ct->key;
		return 0;
	}
	return -1;
}

static size_t cert_fields(const Value *self, const char *const **names, Value ***vals, Arena *a)
{
	const Cert *ct = self->u.o.p;
	Value **v = arena_alloc(a, 2 * sizeof(*v));
	v[0] = ct->cert;
	v[1] = ct->key;
	*names = cert_field_names;
	*vals = v;
	return 2;
}

static bool cert_equal(const Value *x, const Value *y)
{
	const Cert *a = x->u.o.p, *b = y->u.o.p;
	return value_deep_equal(a->cert, b->cert) && value_deep_equal(a->key, b->key);
}

static const ObjType cert_type = {
	.type_name = "sprig.certificate", .kind_name = "struct", .lookup = cert_lookup, .fields = cert_fields,
	.equal = cert_equal,
};

static Value *cert_value(Ctx *c, Value *cert, Value *key)
{
	Cert *ct = arena_alloc(c->a, sizeof(*ct));
	ct->cert = cert;
	ct->key = key;
	return value_object(c->a, &cert_type, ct);
}

typedef struct CertReq {
	const Value *cn;
	const Value *ips, *dns;   /* lists or NULL */
	int64_t days;
	bool is_ca;
} CertReq;

static bool add_ext(Ctx *c, X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	(void)c;
	if (!e)
		return false;
	bool ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

/* getNetIPs / getAlternateDNSStrs, then the SAN extension (DNS names first, as Go). */
static int add_sans(Ctx *c, X509 *x, const CertReq *q)
{
	GENERAL_NAMES *names = OWN(c, free_names, sk_GENERAL_NAME_new_null());
	if (!names)
		return fn_error(c, "out of memory");
	size_t nips = q->ips ? q->ips->u.l->len : 0, ndns = q->dns ? q->dns->u.l->len : 0;
	for (size_t i = 0; i < nips; i++) {
		const Value *v = q->ips->u.l->items[i];
		if (!v || v->kind != VK_STRING) {
			ABuf b;
			abuf_init(&b, c->a);
			gofmt_value(&b, v);
			return fn_error(c, "error parsing ip: %s is not a string", abuf_str(&b));
		}
		const char *s = arena_strndup(c->a, v->u.s.p, v->u.s.n);
		unsigned char ip[16];
		if (strlen(s) != v->u.s.n || (inet_pton(AF_INET, s, ip) != 1 && inet_pton(AF_INET6, s, ip) != 1))
			return fn_error(c, "error parsing ip: %s", s);
	}
	for (size_t i = 0; i < ndns; i++) {
		const Value *v = q->dns->u.l->items[i];
		if (!v || v->kind != VK_STRING) {
			ABuf b;
			abuf_init(&b, c->a);
			gofmt_value(&b, v);
			return fn_error(c, "error processing alternate dns name: %s is not a string", abuf_str(&b));
		}
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (!g || !s || !ASN1_STRING_set(s, v->u.s.p, (int)v->u.s.n)) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			return fn_error(c, "out of memory");
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(names, g);
	}
	for (size_t i = 0; i < nips; i++) {
		const Value *v = q->ips->u.l->items[i];
		const char *s = arena_strndup(c->a, v->u.s.p, v->u.s.n);
		unsigned char ip[16];
		int len = 4;
		if (inet_pton(AF_INET, s, ip) != 1) {
			inet_pton(AF_INET6, s, ip);
			len = 16;
			/* an IPv4-mapped IPv6 address is written as 4 bytes */
			static const unsigned char v4pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
			if (!memcmp(ip, v4pfx, 12)) {
				memmove(ip, ip + 12, 4);
				len = 4;
			}
		}
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
		if (!g || !o || !ASN1_OCTET_STRING_set(o, ip, len)) {
			GENERAL_NAME_free(g);
			ASN1_OCTET_STRING_free(o);
			return fn_error(c, "out of memory");
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, o);
		sk_GENERAL_NAME_push(names, g);
	}
	if (sk_GENERAL_NAME_num(names) > 0 &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, names, q->cn->u.s.n == 0, X509V3_ADD_DEFAULT) != 1)
		return fn_error(c, "error creating certificate: cannot add subjectAltName");
	return 0;
}

static int set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok = bn && BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		 BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* getBaseCertTemplate + x509.CreateCertificate + PEM. parent NULL = self-signed. */
static int make_cert(Ctx *c, const CertReq *q, EVP_PKEY *key, X509 *parent, EVP_PKEY *signer, Value **ret)
{
	X509 *x = OWN(c, free_x509, X509_new());
	if (!x || !X509_set_version(x, 2) || set_serial(x) < 0)
		return fn_error(c, "error creating certificate: out of memory");
	X509_NAME *subj = X509_get_subject_name(x);
	if (q->cn->u.s.n &&
	    !X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8, (const unsigned char *)q->cn->u.s.p,
					(int)q->cn->u.s.n, -1, 0))
		return fn_error(c, "error creating certificate: bad common name");
	X509_set_issuer_name(x, parent ? X509_get_subject_name(parent) : subj);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)q->days, 0, NULL);
	X509_set_pubkey(x, key);
	X509 *issuer = parent ? parent : x;
	bool ok = add_ext(c, x, issuer, NID_key_usage,
			  q->is_ca ? "critical,digitalSignature,keyEncipherment,keyCertSign"
				   : "critical,digitalSignature,keyEncipherment") &&
		  add_ext(c, x, issuer, NID_ext_key_usage, "serverAuth,clientAuth") &&
		  add_ext(c, x, issuer, NID_basic_constraints, q->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (ok && q->is_ca)
		ok = add_ext(c, x, issuer, NID_subject_key_identifier, "hash");
	if (ok && parent && X509_get0_subject_key_id(parent) &&
	    X509_NAME_cmp(X509_get_subject_name(parent), subj) != 0)
		ok = add_ext(c, x, issuer, NID_authority_key_identifier, "keyid:always");
	if (!ok)
		return fn_error(c, "error creating certificate: cannot add extensions");
	if (add_sans(c, x, q) < 0)
		return -1;
	int id = EVP_PKEY_get_base_id(signer);
	if (id == EVP_PKEY_DSA)
		return fn_error(c, "error creating certificate: x509: certificate private key does not implement crypto.Signer");
	if (parent && X509_check_private_key(parent, signer) != 1)
		return fn_error(c, "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey");
	const EVP_MD *md = id == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	if (!X509_sign(x, signer, md))
		return fn_error(c, "error creating certificate: signing failed");
	BIO *b = mem_bio(c);
	if (!PEM_write_bio_X509(b, x))
		return fn_error(c, "error pem-encoding certificate");
	Value *cert = bio_value(c, b);
	Value *k = key_pem(c, key);
	if (!k)
		return fn_error(c, "error pem-encoding key");
	*ret = cert_value(c, cert, k);
	return 0;
}

static int new_rsa_2048(Ctx *c, EVP_PKEY **k)
{
	*k = gen_rsa(c, 2048);
	return *k ? 0 : fn_error(c, "error generating rsa key: key generation failed");
}

static int pem_key_arg(Ctx *c, const Value *pem, EVP_PKEY **k)
{
	const char *err = NULL;
	*k = parse_key_pem(c, pem->u.s.p, pem->u.s.n, &err);
	return *k ? 0 : fn_error(c, "parsing private key: %s", err);
}

static int f_gen_ca(Ctx *c, Value **a, int n, Value **r)
{
	EVP_PKEY *k;
	if ((n == 3 ? pem_key_arg(c, a[2], &k) : new_rsa_2048(c, &k)) < 0)
		return -1;
	CertReq q = { .cn = a[0], .days = a[1]->u.i, .is_ca = true };
	return make_cert(c, &q, k, NULL, k, r);
}

static int f_gen_self_signed(Ctx *c, Value **a, int n, Value **r)
{
	EVP_PKEY *k;
	if ((n == 5 ? pem_key_arg(c, a[4], &k) : new_rsa_2048(c, &k)) < 0)
		return -1;
	CertReq q = { .cn = a[0], .ips = a[1], .dns = a[2], .days = a[3]->u.i };
	return make_cert(c, &q, k, NULL, k, r);
}

static int f_gen_signed(Ctx *c, Value **a, int n, Value **r)
{
	const Value *cav = a[4];
	if (!cav || cav->kind != VK_OBJECT || cav->u.o.t != &cert_type)
		return fn_error(c, "wrong type for value; expected sprig.certificate; got %s", value_type_name(cav, c->a));
	const Cert *ca = cav->u.o.p;
	EVP_PKEY *k;
	if ((n == 6 ? pem_key_arg(c, a[5], &k) : new_rsa_2048(c, &k)) < 0)
		return -1;
	BIO *in = OWN(c, free_bio, BIO_new_mem_buf(ca->cert->u.s.p, (int)ca->cert->u.s.n));
	X509 *parent = in ? OWN(c, free_x509, PEM_read_bio_X509(in, NULL, NULL, NULL)) : NULL;
	if (!parent)
		return fn_error(c, "unable to decode certificate");
	const char *err = NULL;
	EVP_PKEY *signer = parse_key_pem(c, ca->key->u.s.p, ca->key->u.s.n, &err);
	if (!signer)
		return fn_error(c, "error parsing private key: %s", err);
	CertReq q = { .cn = a[0], .ips = a[1], .dns = a[2], .days = a[3]->u.i };
	return make_cert(c, &q, k, parent, signer, r);
}

static int b64_arg(Ctx *c, const Value *v, ABuf *out)
{
	size_t bad;
	abuf_init(out, c->a);
	return base64_decode(out, v->u.s.p, v->u.s.n, &bad);
}

static int f_build_custom_cert(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	ABuf cert, key;
	if (b64_arg(c, a[0], &cert) < 0)
		return fn_error(c, "unable to decode base64 certificate");
	if (b64_arg(c, a[1], &key) < 0)
		return fn_error(c, "unable to decode base64 private key");
	BIO *in = OWN(c, free_bio, BIO_new_mem_buf(cert.p ? cert.p : "", (int)cert.len));
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	if (!in || !PEM_read_bio(in, &name, &header, &data, &len))
		return fn_error(c, "unable to decode certificate");
	OWN(c, free_openssl, name);
	OWN(c, free_openssl, header);
	OWN(c, free_openssl, data);
	const unsigned char *p = data;
	X509 *x = OWN(c, free_x509, d2i_X509(NULL, &p, len));
	if (!x)
		return fn_error(c, "error parsing certificate: decodedCert.Bytes: x509: malformed certificate");
	const char *err = NULL;
	if (!parse_key_pem(c, key.p ? key.p : "", key.len, &err))
		return fn_error(c, "error parsing private key: %s", err);
	*r = cert_value(c, value_strn(c->a, cert.p ? cert.p : "", cert.len), value_strn(c->a, key.p ? key.p : "", key.len));
	return 0;
}

/* ---- AES ----------------------------------------------------------------------------------------------- */
static void aes_key(const Value *pw, unsigned char key[32])
{
	memset(key, 0, 32);
	memcpy(key, pw->u.s.p, pw->u.s.n < 32 ? pw->u.s.n : 32);
}

static int aes_run(Ctx *c, bool enc, const unsigned char *key, const unsigned char *iv, const unsigned char *in,
		   size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *x = OWN(c, free_cipher, EVP_CIPHER_CTX_new());
	int l1 = 0, l2 = 0;
	if (!x || !EVP_CipherInit_ex(x, EVP_aes_256_cbc(), NULL, key, iv, enc) || !EVP_CIPHER_CTX_set_padding(x, 0) ||
	    !EVP_CipherUpdate(x, out, &l1, in, (int)n) || !EVP_CipherFinal_ex(x, out + l1, &l2))
		return fn_error(c, "crypto/aes: cipher failed");
	return 0;
}

static int f_encrypt_aes(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const Value *text = a[1];
	if (text->u.s.n == 0) {
		*r = value_str(c->a, "");
		return 0;
	}
	unsigned char key[32];
	aes_key(a[0], key);
	size_t pad = 16 - text->u.s.n % 16, len = text->u.s.n + pad;
	unsigned char *plain = arena_alloc(c->a, len), *out = arena_alloc(c->a, 16 + len);
	memcpy(plain, text->u.s.p, text->u.s.n);
	memset(plain + text->u.s.n, (int)pad, pad);
	if (RAND_bytes(out, 16) != 1)
		return fn_error(c, "crypto/rand: read failed");
	if (aes_run(c, true, key, out, plain, len, out + 16) < 0)
		return -1;
	ABuf b;
	abuf_init(&b, c->a);
	base64_encode(&b, out, 16 + len);
	*r = value_strn(c->a, b.p, b.len);
	return 0;
}

static int f_decrypt_aes(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	if (a[1]->u.s.n == 0) {
		*r = value_str(c->a, "");
		return 0;
	}
	unsigned char key[32];
	aes_key(a[0], key);
	ABuf raw;
	abuf_init(&raw, c->a);
	size_t bad = 0;
	if (base64_decode(&raw, a[1]->u.s.p, a[1]->u.s.n, &bad) < 0)
		return fn_error(c, "illegal base64 data at input byte %zu", bad);
	if (raw.len < 16)
		return fn_error(c, "runtime error: slice bounds out of range [:16] with capacity %zu", raw.len);
	size_t len = raw.len - 16;
	if (len % 16)
		return fn_error(c, "crypto/cipher: input not full blocks");
	if (len == 0)
		return fn_error(c, "runtime error: index out of range [-1]");
	unsigned char *out = arena_alloc(c->a, len);
	if (aes_run(c, false, key, (const unsigned char *)raw.p, (const unsigned char *)raw.p + 16, len, out) < 0)
		return -1;
	size_t pad = out[len - 1];
	if (pad > len)
		return fn_error(c, "runtime error: slice bounds out of range [:%lld]", (long long)len - (long long)pad);
	*r = value_strn(c->a, (const char *)out, len - pad);
	return 0;
}

const FuncDef funcs_crypto[] = {
	{ "adler32sum", "s", f_adler32sum, 0 },
	{ "bcrypt", "s", f_bcrypt, 0 },
	{ "buildCustomCert", "ss", f_build_custom_cert, 0 },
	{ "decryptAES", "ss", f_decrypt_aes, 0 },
	{ "derivePassword", "ussss", f_derive_password, 0 },
	{ "encryptAES", "ss", f_encrypt_aes, 0 },
	{ "genCA", "si", f_gen_ca, 0 },
	{ "genCAWithKey", "sis", f_gen_ca, 0 },
	{ "genPrivateKey", "s", f_gen_private_key, 0 },
	{ "genSelfSignedCert", "slli", f_gen_self_signed, 0 },
	{ "genSelfSignedCertWithKey", "sllis", f_gen_self_signed, 0 },
	{ "genSignedCert", "sllia", f_gen_signed, 0 },
	{ "genSignedCertWithKey", "sllias", f_gen_signed, 0 },
	{ "htpasswd", "sss", f_htpasswd, 0 },
	{ "randBytes", "i", f_rand_bytes, 0 },
	{ "sha1sum", "s", f_sha1sum, 0 },
	{ "sha256sum", "s", f_sha256sum, 0 },
	{ "sha512sum", "s", f_sha512sum, 0 },
	{ "uuidv4", "", f_uuidv4, 0 },
	{ NULL, NULL, NULL, 0 },
};
