/* auth.c - authentication of API requests.
 *
 * Bearer tokens come from DATA/tokens ("token,user,uid,groups" lines: the
 * admin token written at first start, `berth token create`, --token-file),
 * re-read when the file changes, and from ServiceAccount JWTs signed with the
 * HMAC key in DATA/tls/sa.key (verified: signature, expiry, and that the
 * ServiceAccount still exists); that key lives in the datastore too, so the
 * servers of one etcd share it.  Client certificates signed by the CA are
 * checked in http.c (CN is the user, O the groups).  Comparisons are constant-time.  A user
 * carries its groups: the token file's fourth and later fields (the admin
 * token's system:masters), system:serviceaccounts[:NS] for ServiceAccounts,
 * and system:authenticated for everyone; rbac.c decides what they may do.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SA_KEY_STORE_KEY "/registry/berth/serviceaccount-signing-key"

static void hex_encode(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool hex_decode(const char *s, size_t len, unsigned char *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (unsigned char)v;
	}
	return true;
}

/* The ServiceAccount signing key is shared through the datastore, so every
 * server over one etcd signs and verifies the same tokens: the first server
 * stores its key (DATA/tls/sa.key, or a new one), the others adopt it. */
static int load_sa_key(Api *api, Error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/tls/sa.key", api->cfg.data_dir);
	_cleanup_free_ char *data = NULL;
	size_t n = 0;
	bool local = fs_read_file(p, 4096, &data, &n, NULL) >= 0 && n == sizeof(api->sa_key);
	if (local)
		memcpy(api->sa_key, data, n);
	else
		RAND_bytes(api->sa_key, sizeof(api->sa_key));
	for (int attempt = 0; attempt < 3; attempt++) {
		StoreKV kv;
		if (store_get(api->store, SA_KEY_STORE_KEY, &kv, NULL) == 0) {
			bool ok = hex_decode(kv.value, kv.value_len, api->sa_key, sizeof(api->sa_key));
			store_kv_release(&kv);
			if (!ok)
				return err_set(err, EINVAL, "datastore key %s: not a signing key", SA_KEY_STORE_KEY);
			return fs_write_atomic(p, api->sa_key, sizeof(api->sa_key), 0600, err);
		}
		char hex[2 * sizeof(api->sa_key) + 1];
		hex_encode(api->sa_key, sizeof(api->sa_key), hex);
		int64_t rev;
		int r = store_create(api->store, SA_KEY_STORE_KEY, hex, strlen(hex), &rev, NULL);
		if (r == 0)
			return local ? 0 : fs_write_atomic(p, api->sa_key, sizeof(api->sa_key), 0600, err);
		if (r != -EEXIST)
			return err_set(err, -r, "datastore key %s: %s", SA_KEY_STORE_KEY, strerror(-r));
	}
	return err_set(err, EAGAIN, "datastore key %s: cannot read or create it", SA_KEY_STORE_KEY);
}

static void tokens_reload(Api *api)
{
	struct stat st;
	if (stat(api->tokens_path, &st) < 0 || (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ==
						       api->tokens_mtime)
		return;
	_cleanup_free_ char *text = NULL;
	if (fs_read_file(api->tokens_path, 1 << 20, &text, NULL, NULL) < 0)
		return;
	char **lines = xcalloc(1, sizeof(char *));
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!*l || *l == '#')
			continue;
		lines = xrealloc(lines, (n + 2) * sizeof(char *));
		lines[n++] = xstrdup(l);
		lines[n] = NULL;
	}
	if (api->cfg.token_file) {
		_cleanup_free_ char *extra = NULL;
		if (fs_read_file(api->cfg.token_file, 1 << 20, &extra, NULL, NULL) >= 0)
			for (char *save = NULL, *l = strtok_r(extra, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				lines = xrealloc(lines, (n + 2) * sizeof(char *));
				lines[n++] = xstrdup(l);
				lines[n] = NULL;
			}
	}
	strv_free(api->tokens);
	api->tokens = lines;
	api->tokens_mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

int api_auth_init(Api *api, Error **err)
{
	api->tokens_path = fs_join(api->cfg.data_dir, "tokens");
	tokens_reload(api);
	return load_sa_key(api, err);
}

void api_auth_release(Api *api)
{
	strv_free(api->tokens);
	free(api->tokens_path);
}

static bool const_eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && CRYPTO_memcmp(a, b, an) == 0;
}

static int b64url_decode(const char *s, size_t n, unsigned char **ret, size_t *ret_len)
{
	if (n > 8192)
		return -EINVAL;
	_cleanup_free_ char *t = xmalloc(n + 4);
	for (size_t i = 0; i < n; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	size_t m = n;
	while (m % 4)
		t[m++] = '=';
	unsigned char *o = xmalloc(m);
	int len = EVP_DecodeBlock(o, (unsigned char *)t, (int)m);
	if (len < 0) {
		free(o);
		return -EINVAL;
	}
	while (m > n) {
		len--;
		m--;
	}
	*ret = o;
	*ret_len = (size_t)len;
	return 0;
}

void api_user_add_group(ApiUser *u, const char *g, size_t n)
{
	size_t k = 0;
	while (u->groups && u->groups[k]) {
		if (strlen(u->groups[k]) == n && !strncmp(u->groups[k], g, n))
			return;
		k++;
	}
	if (k >= 64 || n == 0)
		return;
	u->groups = xrealloc(u->groups, (k + 2) * sizeof(char *));
	u->groups[k] = xstrndup(g, n);
	u->groups[k + 1] = NULL;
}

void api_user_release(ApiUser *u)
{
	free(u->name);
	strv_free(u->groups);
	memset(u, 0, sizeof(*u));
}

/* A ServiceAccount JWT: verify and name the user (and its groups, as Kubernetes names them). */
static int auth_jwt(Api *api, const char *tok, ApiUser *ret)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d2)
		return -EACCES;
	unsigned char mac[32];
	unsigned int mlen = sizeof(mac);
	HMAC(EVP_sha256(), api->sa_key, sizeof(api->sa_key), (const unsigned char *)tok, (size_t)(d2 - tok), mac, &mlen);
	_cleanup_free_ unsigned char *sig = NULL, *payload = NULL;
	size_t slen, plen;
	if (b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &slen) < 0 || slen != mlen || CRYPTO_memcmp(sig, mac, mlen))
		return -EACCES;
	if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &payload, &plen) < 0)
		return -EACCES;
	_cleanup_json_ json_t *claims = json_loadb((const char *)payload, plen, 0, NULL);
	const char *sub = json_str(claims, "sub");
	if (!sub || json_int(claims, "exp", 0) < (json_int_t)time(NULL))
		return -EACCES;
	const json_t *k = json_object_get(claims, "kubernetes.io");
	const char *ns = json_str(k, "namespace"), *name = json_str(json_object_get(k, "serviceaccount"), "name");
	if (!ns || !name)
		return -EACCES;
	_cleanup_free_ char *key = xasprintf("/registry/serviceaccounts/%s/%s", ns, name);
	StoreKV kv;
	if (store_get(api->store, key, &kv, NULL) < 0)
		return -EACCES;
	store_kv_release(&kv);
	ret->name = xstrdup(sub);
	_cleanup_free_ char *nsg = xasprintf("system:serviceaccounts:%s", ns);
	api_user_add_group(ret, "system:serviceaccounts", strlen("system:serviceaccounts"));
	api_user_add_group(ret, nsg, strlen(nsg));
	api_user_add_group(ret, "system:authenticated", strlen("system:authenticated"));
	return 0;
}

/* "token,user,uid,group1,group2..." (quotes around the groups allowed, as in kube-apiserver's token file). */
static void user_from_line(const char *line, ApiUser *ret)
{
	const char *p = line + strcspn(line, ",");
	p = *p ? p + 1 : p;
	size_t n = strcspn(p, ",");
	ret->name = n ? xstrndup(p, n) : xstrdup("unknown");
	p += n;
	if (*p)
		p++;
	p += strcspn(p, ","); /* uid */
	while (*p) {
		p++;
		while (*p == '"')
			p++;
		size_t g = strcspn(p, ",\"");
		api_user_add_group(ret, p, g);
		p += g;
		while (*p == '"')
			p++;
	}
	api_user_add_group(ret, "system:authenticated", strlen("system:authenticated"));
}

int api_auth_request(Api *api, const char *authorization, ApiUser *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!authorization || strncasecmp(authorization, "Bearer ", 7))
		return -EACCES;
	const char *tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	size_t tlen = strlen(tok);
	if (tlen == 0 || tlen > 8192)
		return -EACCES;
	pthread_mutex_lock(&api->lock);
	tokens_reload(api);
	int r = -EACCES;
	for (char **l = api->tokens; l && *l && r < 0; l++) {
		size_t n = strcspn(*l, ",");
		if (const_eq(*l, n, tok, tlen)) {
			user_from_line(*l, ret);
			r = 0;
		}
	}
	pthread_mutex_unlock(&api->lock);
	if (r == 0)
		return 0;
	r = auth_jwt(api, tok, ret);
	if (r < 0)
		api_user_release(ret);
	return r;
}
