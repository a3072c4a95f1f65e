/* certs.c - the server's credentials, made once on first start (as k3s does):
 *
 *   DATA/tls/ca.crt ca.key            a self-signed CA (EC P-256, 10 years)
 *   DATA/tls/serving.crt serving.key  signed by the CA, SANs 127.0.0.1, ::1, localhost, the listen host
 *   DATA/tls/admin.crt admin.key      client certificate CN=admin, O=system:masters
 *   DATA/tokens                       "token,user,uid,groups" lines; the admin token first
 *   DATA/kubeconfig.yaml              cluster "berth" with the CA, user "admin" with the token
 *
 * All keys are written 0600.  Existing files are kept, so restarts reuse them.
 */
#include "apiserver.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/x509.h"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>

static int write_secret(const char *dir, const char *name, const char *text, mode_t mode, Error **err)
{
	_cleanup_free_ char *p = fs_join(dir, name);
	return fs_write_atomic(p, text, strlen(text), mode, err);
}

static int load_pair(const char *dir, const char *base, X509 **ret_cert, EVP_PKEY **ret_key)
{
	_cleanup_free_ char *cp = xasprintf("%s/%s.crt", dir, base);
	_cleanup_free_ char *kp = xasprintf("%s/%s.key", dir, base);
	FILE *f = fopen(cp, "r");
	if (!f)
		return -ENOENT;
	*ret_cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(kp, "r");
	if (!f)
		return -ENOENT;
	*ret_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return *ret_cert && *ret_key ? 0 : -EINVAL;
}

static int write_pair(const char *dir, const char *base, X509 *c, EVP_PKEY *k, Error **err)
{
	_cleanup_free_ char *cn = xasprintf("%s.crt", base), *kn = xasprintf("%s.key", base);
	_cleanup_free_ char *cp = x509_cert_pem(c), *kp = x509_key_pem(k);
	int r = write_secret(dir, kn, kp, 0600, err);
	return r < 0 ? r : write_secret(dir, cn, cp, 0644, err);
}

static void random_token(char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[64];
	RAND_bytes(b, sizeof(b));
	size_t i;
	for (i = 0; i + 1 < n && i < sizeof(b); i++)
		out[i] = al[b[i] % (sizeof(al) - 1)];
	out[i] = 0;
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n);
	return o;
}

static char *host_of(const char *url)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	if (*h == '[') {
		const char *e = strchr(h, ']');
		return e ? xstrndup(h + 1, (size_t)(e - h - 1)) : xstrdup(h);
	}
	return xstrndup(h, strcspn(h, ":/"));
}

static int ensure_ca_and_serving(const char *tls, const char *server_url, X509 **ret_ca, EVP_PKEY **ret_cakey,
				 Error **err)
{
	int r;
	if (load_pair(tls, "ca", ret_ca, ret_cakey) < 0) {
		*ret_cakey = x509_key_new();
		*ret_ca = x509_cert_new(*ret_cakey, "berth-ca", "berth", NULL, NULL, true, NULL, NULL);
		if ((r = write_pair(tls, "ca", *ret_ca, *ret_cakey, err)) < 0)
			return r;
	}
	_cleanup_free_ char *sp = fs_join(tls, "serving.crt");
	if (!fs_exists(sp)) {
		_cleanup_free_ char *host = host_of(server_url);
		bool ip = strspn(host, "0123456789.") == strlen(host) || strchr(host, ':');
		_cleanup_free_ char *san = xasprintf("IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,"
						     "DNS:kubernetes.default,DNS:kubernetes.default.svc%s%s",
						     *host ? (ip ? ",IP:" : ",DNS:") : "", host);
		_cleanup_(EVP_PKEY_freep) EVP_PKEY *k = x509_key_new();
		_cleanup_(X509_freep) X509 *c = x509_cert_new(k, "berth-apiserver", NULL, *ret_ca, *ret_cakey, false,
							 "serverAuth", san);
		if ((r = write_pair(tls, "serving", c, k, err)) < 0)
			return r;
	}
	return 0;
}

static int ensure_admin(const char *data_dir, const char *tls, X509 *ca, EVP_PKEY *cakey, char **ret_token,
			Error **err)
{
	int r;
	_cleanup_free_ char *ap = fs_join(tls, "admin.crt");
	if (!fs_exists(ap)) {
		_cleanup_(EVP_PKEY_freep) EVP_PKEY *k = x509_key_new();
		_cleanup_(X509_freep) X509 *c = x509_cert_new(k, "admin", "system:masters", ca, cakey, false, "clientAuth", NULL);
		if ((r = write_pair(tls, "admin", c, k, err)) < 0)
			return r;
	}
	_cleanup_free_ char *tp = fs_join(data_dir, "tokens");
	_cleanup_free_ char *text = NULL;
	if (fs_read_file(tp, 1 << 20, &text, NULL, NULL) >= 0 && text[0]) {
		*ret_token = xstrndup(text, strcspn(text, ","));
		return 0;
	}
	char tok[49];
	random_token(tok, sizeof(tok));
	_cleanup_free_ char *line = xasprintf("%s,admin,admin,system:masters\n", tok);
	if ((r = write_secret(data_dir, "tokens", line, 0600, err)) < 0)
		return r;
	*ret_token = xstrdup(tok);
	return 0;
}

static int write_kubeconfig(const char *data_dir, const char *tls, const char *server_url, const char *token,
			    Error **err)
{
	_cleanup_free_ char *cap = fs_join(tls, "ca.crt"), *crt = fs_join(tls, "admin.crt"),
			       *key = fs_join(tls, "admin.key");
	_cleanup_free_ char *ca = NULL, *c = NULL, *k = NULL;
	int r;
	if ((r = fs_read_file(cap, 1 << 20, &ca, NULL, err)) < 0 || (r = fs_read_file(crt, 1 << 20, &c, NULL, err)) < 0 ||
	    (r = fs_read_file(key, 1 << 20, &k, NULL, err)) < 0)
		return r;
	_cleanup_free_ char *ca64 = b64(ca), *c64 = b64(c), *k64 = b64(k);
	_cleanup_free_ char *text = xasprintf(
		"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: %s\n"
		"    server: %s\n  name: berth\ncontexts:\n- context:\n    cluster: berth\n    user: admin\n"
		"  name: berth\ncurrent-context: berth\npreferences: {}\nusers:\n- name: admin\n  user:\n"
		"    client-certificate-data: %s\n    client-key-data: %s\n    token: %s\n",
		ca64, server_url, c64, k64, token);
	return write_secret(data_dir, "kubeconfig.yaml", text, 0600, err);
}

int apiserver_certs_ensure(const char *data_dir, const char *server_url, Error **err)
{
	_cleanup_free_ char *tls = fs_join(data_dir, "tls");
	int r = fs_mkdir_p(tls, 0700, err);
	if (r < 0)
		return r;
	_cleanup_(X509_freep) X509 *ca = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *cakey = NULL;
	if ((r = ensure_ca_and_serving(tls, server_url, &ca, &cakey, err)) < 0)
		return err_prefix(err, "certificates in '%s'", tls);
	_cleanup_free_ char *token = NULL;
	if ((r = ensure_admin(data_dir, tls, ca, cakey, &token, err)) < 0)
		return err_prefix(err, "admin credentials in '%s'", data_dir);
	_cleanup_free_ char *kc = fs_join(data_dir, "kubeconfig.yaml");
	_cleanup_free_ char *old = NULL;
	/* rewrite when the server address changed (a new --listen) */
	if (fs_read_file(kc, 1 << 20, &old, NULL, NULL) >= 0) {
		_cleanup_free_ char *needle = xasprintf("server: %s\n", server_url);
		if (strstr(old, needle))
			return 0;
	}
	return write_kubeconfig(data_dir, tls, server_url, token, err);
}

int apiserver_kubeconfig_read(const char *data_dir, char **ret, Error **err)
{
	_cleanup_free_ char *kc = fs_join(data_dir, "kubeconfig.yaml");
	int r = fs_read_file(kc, 1 << 20, ret, NULL, err);
	return r < 0 ? err_prefix(err, "kubeconfig (has 'berth server --data-dir %s' run?)", data_dir) : 0;
}

int apiserver_token_create(const char *data_dir, const char *user, char **ret, Error **err)
{
	_cleanup_free_ char *tp = fs_join(data_dir, "tokens");
	_cleanup_free_ char *text = NULL;
	int r = fs_read_file(tp, 1 << 20, &text, NULL, err);
	if (r < 0)
		return err_prefix(err, "tokens (has 'berth server --data-dir %s' run?)", data_dir);
	char tok[49];
	random_token(tok, sizeof(tok));
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, text);
	sb_addf(&sb, "%s,%s,%s,%s\n", tok, user, user, !strcmp(user, "admin") ? "system:masters" : "system:authenticated");
	r = fs_write_atomic(tp, sb.buf, sb.len, 0600, err);
	sb_release(&sb);
	if (r < 0)
		return r;
	*ret = xstrdup(tok);
	return 0;
}
