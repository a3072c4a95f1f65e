/* jwt.c - the registry's signing key and the tokens it signs.
 *
 * One EC P-256 key per registry root (<root>/auth/token-key.pem, 0600,
 * created on first use) signs ES256 JWTs: bearer tokens from the token
 * endpoint and temporary passwords (`berth registry token`).  JWS wants the
 * raw r||s signature, OpenSSL speaks DER: the two are converted here.
 * Verification checks the header's alg, the signature, exp and nbf; the
 * caller checks audience and claims.  Input tokens are capped in size.
 */
#include "reg-internal.h"
#include "../base/fs.h"
#include "../shared/json.h"
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define JWT_MAX 16384

struct RegKey {
	EVP_PKEY *pkey;
};

void reg_key_free(RegKey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

static int key_create(const char *path, Error **err)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	if (!pk)
		return err_set(err, EIO, "generate signing key");
	_cleanup_free_ char *tmp = xasprintf("%s.tmp%d", path, (int)getpid());
	FILE *f = fopen(tmp, "wx");
	int r = 0;
	if (!f) {
		r = err_sys(err, errno, "create '%s'", tmp);
	} else {
		fchmod(fileno(f), 0600);
		if (!PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL))
			r = err_set(err, EIO, "write '%s'", tmp);
		if (fclose(f) != 0 && r == 0)
			r = err_sys(err, errno, "write '%s'", tmp);
		/* link(2) so two first starts agree on one key */
		if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
			r = err_sys(err, errno, "link '%s'", path);
		unlink(tmp);
	}
	EVP_PKEY_free(pk);
	return r;
}

int reg_key_load(const char *root, RegKey **ret, Error **err)
{
	_cleanup_free_ char *dir = fs_join(root, "auth");
	_cleanup_free_ char *path = fs_join(dir, "token-key.pem");
	int r = fs_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	if (!fs_exists(path) && (r = key_create(path, err)) < 0)
		return r;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return err_sys(err, errno, "open '%s'", path);
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) {
		EVP_PKEY_free(pk);
		return err_set(err, EINVAL, "'%s': not an EC private key", path);
	}
	RegKey *k = xcalloc(1, sizeof(*k));
	k->pkey = pk;
	*ret = k;
	return 0;
}

char *reg_b64(const void *buf, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, buf, (int)n);
	return out;
}

char *reg_b64url(const void *buf, size_t n)
{
	char *s = reg_b64(buf, n);
	size_t j = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '=')
			break;
		s[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[j] = '\0';
	return s;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

int reg_b64_decode(const char *s, size_t n, unsigned char **ret, size_t *ret_len)
{
	while (n > 0 && s[n - 1] == '=')
		n--;
	unsigned char *out = xmalloc(n * 3 / 4 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);
		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	out[o] = 0;
	*ret = out;
	*ret_len = o;
	return 0;
}

static char *json_b64url(const json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	return reg_b64url(s, strlen(s));
}

char *reg_jwt_sign(RegKey *k, const json_t *claims)
{
	_cleanup_json_ json_t *hdr = json_pack("{s:s,s:s}", "alg", "ES256", "typ", "JWT");
	_cleanup_free_ char *h = json_b64url(hdr), *c = json_b64url(claims);
	_cleanup_free_ char *input = xasprintf("%s.%s", h, c);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t dlen = sizeof(der);
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (unsigned char *)input, strlen(input)) != 1)
		abort();
	EVP_MD_CTX_free(md);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	unsigned char raw[64];
	if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) != 32)
		abort();
	ECDSA_SIG_free(sig);
	_cleanup_free_ char *s = reg_b64url(raw, 64);
	return xasprintf("%s.%s", input, s);
}

static bool sig_ok(RegKey *k, const char *input, size_t input_len, const unsigned char *raw, size_t n)
{
	if (n != 64)
		return false;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1)
		abort();
	unsigned char *der = NULL;
	int dlen = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = dlen > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		  EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)input, input_len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

static int part_json(const char *s, size_t n, json_t **ret)
{
	_cleanup_free_ unsigned char *buf = NULL;
	size_t len;
	if (reg_b64_decode(s, n, &buf, &len) < 0)
		return -EINVAL;
	*ret = json_loadb((char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	return *ret && json_is_object(*ret) ? 0 : -EINVAL;
}

int reg_jwt_verify(RegKey *k, const char *token, json_t **ret_claims, Error **err)
{
	size_t n = strlen(token);
	if (n > JWT_MAX)
		return err_set(err, EINVAL, "token too long");
	const char *d1 = strchr(token, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return err_set(err, EINVAL, "malformed token");
	_cleanup_json_ json_t *hdr = NULL, *claims = NULL;
	if (part_json(token, (size_t)(d1 - token), &hdr) < 0 || part_json(d1 + 1, (size_t)(d2 - d1 - 1), &claims) < 0)
		return err_set(err, EINVAL, "malformed token");
	const char *alg = json_str(hdr, "alg");
	if (!alg || strcmp(alg, "ES256"))
		return err_set(err, EINVAL, "token algorithm not accepted");
	_cleanup_free_ unsigned char *sig = NULL;
	size_t slen;
	if (reg_b64_decode(d2 + 1, strlen(d2 + 1), &sig, &slen) < 0 ||
	    !sig_ok(k, token, (size_t)(d2 - token), sig, slen))
		return err_set(err, EPERM, "token signature invalid");
	json_int_t now = (json_int_t)time(NULL);
	json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
	if (!json_is_integer(exp) || json_integer_value(exp) <= now)
		return err_set(err, EPERM, "token expired");
	if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) > now + 60))
		return err_set(err, EPERM, "token not valid yet");
	*ret_claims = TAKE_PTR(claims);
	return 0;
}
