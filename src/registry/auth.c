/* auth.c - who may do what: the users file, password checks, the ACL.
 *
 * Users file: "name:hash" lines, the htpasswd format, so the same file works
 * with the distribution registry (bcrypt "$2b$", the default) or holds
 * yescrypt "$y$" hashes.  It is re-read when its mtime changes, so
 * `berth registry user add/del` takes effect on a running server.  A
 * successful check is remembered as sha256(user, password, hash) so Basic
 * auth does not pay bcrypt on every request.  A password may also be a
 * temporary token (`berth registry token`): a JWT signed by this registry's
 * key with use=password, sub=user and an expiry; the user must still exist.
 *
 * ACL file: lines "PATTERN USER ACTIONS" ('#' comments).  PATTERN is an
 * fnmatch(3) pattern over the repository name where '*' also crosses '/'
 * ("team-a/" then a star); USER is a name, "@users" (any authenticated user) or "*"
 * (everybody, anonymous included); ACTIONS is "pull,push,delete" or "*".
 * A request may do the union of the lines that match.  Without an ACL every
 * authenticated user may pull and push, anonymous users nothing.
 */
#include "reg-internal.h"
#include "../base/fs.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <crypt.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define USERS_MAX (4u << 20)
#define ACL_MAX   (1u << 20)

struct RegAuth {
	pthread_mutex_t lock;
	char *users_file;
	json_t *users;        /* name -> hash */
	struct timespec users_mtime;
	json_t *acl;          /* NULL: default policy */
	json_t *verified;     /* name -> sha256 of a checked (user, password, hash) */
	RegKey *key;
};

int reg_actions_parse(const char *s)
{
	int a = 0;
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "pull"))
			a |= REG_PULL;
		else if (!strcmp(t, "push"))
			a |= REG_PUSH;
		else if (!strcmp(t, "delete"))
			a |= REG_DELETE;
		else if (!strcmp(t, "*"))
			a |= REG_PULL | REG_PUSH | REG_DELETE;
		else
			return -EINVAL;
	}
	return a;
}

int reg_acl_parse(const char *text, json_t **ret, Error **err)
{
	json_t *acl = json_array();
	const char *p = text;
	for (int lineno = 1; *p; lineno++) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, n);
		p += n + (p[n] == '\n');
		line[strcspn(line, "#")] = '\0';
		char *save = NULL;
		char *pat = strtok_r(line, " \t\r", &save);
		if (!pat)
			continue;
		char *user = strtok_r(NULL, " \t\r", &save), *acts = strtok_r(NULL, " \t\r", &save);
		int a = acts ? reg_actions_parse(acts) : -EINVAL;
		if (!user || a < 0 || strtok_r(NULL, " \t\r", &save)) {
			json_decref(acl);
			return err_set(err, EINVAL, "acl line %d: want 'PATTERN USER pull,push,delete'", lineno);
		}
		json_array_append_new(acl, json_pack("{s:s,s:s,s:i}", "pattern", pat, "user", user, "actions", a));
	}
	*ret = acl;
	return 0;
}

int reg_acl_eval(const json_t *acl, const char *user, const char *repo)
{
	int a = 0;
	size_t i;
	json_t *e;
	json_array_foreach(acl, i, e) {
		const char *u = json_str(e, "user");
		bool who = !strcmp(u, "*") || (user && !strcmp(u, "@users")) || (user && !strcmp(u, user));
		if (who && fnmatch(json_str(e, "pattern"), repo, 0) == 0)
			a |= (int)json_int(e, "actions", 0);
	}
	return a;
}

/* ---- users file ---- */

static int users_parse(const char *text, json_t **ret, Error **err)
{
	json_t *users = json_object();
	const char *p = text;
	for (int lineno = 1; *p; lineno++) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *line = xstrndup(p, n);
		p += n + (p[n] == '\n');
		line[strcspn(line, "\r")] = '\0';
		if (!*line || *line == '#')
			continue;
		char *colon = strchr(line, ':');
		if (!colon || colon == line) {
			json_decref(users);
			return err_set(err, EINVAL, "users file line %d: want 'name:hash'", lineno);
		}
		*colon = '\0';
		json_object_set_new(users, line, json_string(colon + 1));
	}
	*ret = users;
	return 0;
}

static int users_read(const char *path, json_t **ret, Error **err)
{
	if (!fs_exists(path)) {
		*ret = json_object();
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	size_t n;
	int r = fs_read_file(path, USERS_MAX, &text, &n, err);
	if (r < 0)
		return r;
	return users_parse(text, ret, err);
}

static int users_write(const char *path, json_t *users, Error **err)
{
	StrBuf sb = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(users, k, v)
		sb_addf(&sb, "%s:%s\n", k, json_string_value(v));
	int r = fs_write_atomic(path, sb.buf ? sb.buf : "", sb.len, 0600, err);
	sb_release(&sb);
	return r;
}

static void users_refresh_locked(RegAuth *a)
{
	struct stat st;
	if (!a->users_file || stat(a->users_file, &st) < 0)
		return;
	if (a->users && st.st_mtim.tv_sec == a->users_mtime.tv_sec && st.st_mtim.tv_nsec == a->users_mtime.tv_nsec)
		return;
	json_t *u = NULL;
	if (users_read(a->users_file, &u, NULL) < 0)
		return;
	json_decref(a->users);
	a->users = u;
	a->users_mtime = st.st_mtim;
	json_object_clear(a->verified);
}

int reg_auth_open(const char *root, const char *users_file, const char *acl_file, RegAuth **ret, Error **err)
{
	RegAuth *a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	a->verified = json_object();
	a->users_file = users_file ? xstrdup(users_file) : NULL;
	int r = 0;
	if (users_file)
		r = users_read(users_file, &a->users, err);
	if (r == 0 && acl_file) {
		_cleanup_free_ char *text = NULL;
		size_t n;
		r = fs_read_file(acl_file, ACL_MAX, &text, &n, err);
		if (r == 0)
			r = reg_acl_parse(text, &a->acl, err);
	}
	if (r == 0)
		r = reg_key_load(root, &a->key, err);
	if (r < 0) {
		reg_auth_free(a);
		return r;
	}
	users_refresh_locked(a);
	*ret = a;
	return 0;
}

void reg_auth_free(RegAuth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->users_file);
	json_decref(a->users);
	json_decref(a->acl);
	json_decref(a->verified);
	reg_key_free(a->key);
	free(a);
}

RegKey *reg_auth_key(RegAuth *a) { return a->key; }

bool reg_auth_user_exists(RegAuth *a, const char *user)
{
	pthread_mutex_lock(&a->lock);
	users_refresh_locked(a);
	bool ok = json_object_get(a->users, user) != NULL;
	pthread_mutex_unlock(&a->lock);
	return ok;
}

static bool temp_token_ok(RegAuth *a, const char *user, const char *password)
{
	if (strlen(password) < 64 || !strchr(password, '.'))
		return false;
	_cleanup_json_ json_t *c = NULL;
	if (reg_jwt_verify(a->key, password, &c, NULL) < 0)
		return false;
	const char *use = json_str(c, "use"), *sub = json_str(c, "sub");
	return use && sub && !strcmp(use, "password") && !strcmp(sub, user);
}

bool reg_auth_check_password(RegAuth *a, const char *user, const char *password)
{
	pthread_mutex_lock(&a->lock);
	users_refresh_locked(a);
	const char *hash = json_str(a->users, user);
	_cleanup_free_ char *h = hash ? xstrdup(hash) : NULL;
	pthread_mutex_unlock(&a->lock);
	if (!h)
		return false;
	char memo[72];
	_cleanup_free_ char *key = xasprintf("%s\n%s\n%s", user, password, h);
	sha256_buf(key, strlen(key), memo);
	pthread_mutex_lock(&a->lock);
	const char *seen = json_str(a->verified, user);
	bool cached = seen && !strcmp(seen, memo);
	pthread_mutex_unlock(&a->lock);
	if (cached)
		return true;
	bool ok = false;
	if (temp_token_ok(a, user, password)) {
		ok = true;
	} else {
		struct crypt_data *cd = xcalloc(1, sizeof(*cd));
		const char *out = crypt_rn(password, h, cd, sizeof(*cd));
		ok = out && out[0] != '*' && strlen(out) == strlen(h) && !strcmp(out, h);
		free(cd);
		if (ok) {
			pthread_mutex_lock(&a->lock);
			json_object_set_new(a->verified, user, json_string(memo));
			pthread_mutex_unlock(&a->lock);
		}
	}
	return ok;
}

int reg_auth_allowed(RegAuth *a, const char *user, const char *repo)
{
	if (!a->acl)
		return user ? (REG_PULL | REG_PUSH) : 0;
	return reg_acl_eval(a->acl, user, repo);
}

/* ---- user management (the CLI) ---- */

static bool user_name_valid(const char *name)
{
	if (!*name || strlen(name) > 128)
		return false;
	for (const char *p = name; *p; p++)
		if (*p == ':' || *p == '\n' || *p == '\r' || (unsigned char)*p < 0x20)
			return false;
	return true;
}

int reg_user_add(const char *users_file, const char *name, const char *password, const char *hash, Error **err)
{
	if (!user_name_valid(name))
		return err_set(err, EINVAL, "invalid user name '%s'", name);
	if (!*password)
		return err_set(err, EINVAL, "empty password");
	const char *prefix = !hash || !strcmp(hash, "bcrypt") ? "$2b$" : !strcmp(hash, "yescrypt") ? "$y$" : NULL;
	if (!prefix)
		return err_set(err, EINVAL, "unknown hash '%s' (bcrypt, yescrypt)", hash);
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn(prefix, prefix[1] == '2' ? 10 : 0, NULL, 0, salt, sizeof(salt)))
		return err_sys(err, errno, "crypt_gensalt");
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out = crypt_rn(password, salt, cd, sizeof(*cd));
	if (!out || out[0] == '*') {
		free(cd);
		return err_set(err, EINVAL, "crypt failed");
	}
	_cleanup_json_ json_t *users = NULL;
	int r = users_read(users_file, &users, err);
	if (r == 0) {
		json_object_set_new(users, name, json_string(out));
		r = users_write(users_file, users, err);
	}
	free(cd);
	return r;
}

int reg_user_del(const char *users_file, const char *name, Error **err)
{
	_cleanup_json_ json_t *users = NULL;
	int r = users_read(users_file, &users, err);
	if (r < 0)
		return r;
	if (json_object_del(users, name) < 0)
		return err_set(err, ENOENT, "user '%s' not found", name);
	return users_write(users_file, users, err);
}

int reg_user_list(const char *users_file, char ***ret_names, Error **err)
{
	_cleanup_json_ json_t *users = NULL;
	int r = users_read(users_file, &users, err);
	if (r < 0)
		return r;
	char **v = xcalloc(json_object_size(users) + 1, sizeof(char *));
	size_t n = 0;
	const char *k;
	json_t *val;
	json_object_foreach(users, k, val)
		v[n++] = xstrdup(k);
	*ret_names = v;
	return 0;
}

int reg_temp_token(const char *root, const char *user, int64_t ttl_sec, char **ret, Error **err)
{
	if (!user_name_valid(user))
		return err_set(err, EINVAL, "invalid user name '%s'", user);
	if (ttl_sec <= 0)
		return err_set(err, EINVAL, "expiry must be positive");
	RegKey *k;
	int r = reg_key_load(root, &k, err);
	if (r < 0)
		return r;
	json_int_t now = (json_int_t)time(NULL);
	_cleanup_json_ json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", "berth", "sub", user, "use", "password",
					     "iat", now, "exp", now + (json_int_t)ttl_sec);
	*ret = reg_jwt_sign(k, c);
	reg_key_free(k);
	return 0;
}
