/* creds.c - registry credentials in the Docker config.json format
 * ({"auths": {"HOST": {"auth": base64("user:password")}}}) so docker,
 * podman and skopeo read what `berth login` wrote and the other way round.
 * The file: $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json; written atomically with mode 0600, other keys kept.
 * Docker Hub is stored under "https://index.docker.io/v1/" as docker does;
 * lookups also accept keys written as URLs ("https://host/v2/").
 */
#include "reg-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <pwd.h>
#include <string.h>

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

void reg_creds_release(RegCreds *c)
{
	free(c->user);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	c->user = c->password = NULL;
}

char *reg_creds_path(void)
{
	const char *f = getenv("REGISTRY_AUTH_FILE");
	if (f && *f)
		return xstrdup(f);
	const char *d = getenv("DOCKER_CONFIG");
	if (d && *d)
		return fs_join(d, "config.json");
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.docker/config.json", home);
}

static const char *key_for(const char *registry)
{
	if (!strcmp(registry, "docker.io") || !strcmp(registry, "registry-1.docker.io") ||
	    !strcmp(registry, "index.docker.io"))
		return DOCKER_HUB_KEY;
	return registry;
}

/* "https://host:5000/v2/" -> "host:5000" */
static char *key_host(const char *key)
{
	const char *s = key;
	if (str_has_prefix(s, "https://"))
		s += 8;
	else if (str_has_prefix(s, "http://"))
		s += 7;
	return xstrndup(s, strcspn(s, "/"));
}

static int config_read(const char *path, json_t **ret, Error **err)
{
	if (!fs_exists(path)) {
		*ret = json_object();
		return 0;
	}
	int r = json_load_path(path, BERTH_MAX_JSON_FILE, ret, err);
	if (r == 0 && !json_is_object(*ret)) {
		json_decref(*ret);
		return err_set(err, EINVAL, "'%s': not a JSON object", path);
	}
	return r;
}

int reg_creds_get(const char *registry, RegCreds *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	_cleanup_free_ char *path = reg_creds_path();
	_cleanup_json_ json_t *cfg = NULL;
	int r = config_read(path, &cfg, err);
	if (r < 0)
		return r;
	json_t *auths = json_object_get(cfg, "auths");
	const char *want = key_for(registry);
	json_t *entry = json_object_get(auths, want);
	if (!entry) {
		const char *k;
		json_t *v;
		json_object_foreach(auths, k, v) {
			_cleanup_free_ char *h = key_host(k);
			if (!strcmp(h, registry)) {
				entry = v;
				break;
			}
		}
	}
	const char *a = json_str(entry, "auth");
	if (!a)
		return 0;
	_cleanup_free_ unsigned char *raw = NULL;
	size_t n;
	if (reg_b64_decode(a, strlen(a), &raw, &n) < 0 || !memchr(raw, ':', n))
		return err_set(err, EINVAL, "'%s': bad auth entry for '%s'", path, registry);
	char *colon = memchr(raw, ':', n);
	ret->user = xstrndup((char *)raw, (size_t)(colon - (char *)raw));
	ret->password = xstrndup(colon + 1, n - (size_t)(colon + 1 - (char *)raw));
	explicit_bzero(raw, n);
	return 0;
}

static int config_write(const char *path, json_t *cfg, Error **err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int r = fs_mkdir_p(dir, 0700, err);
		if (r < 0)
			return r;
	}
	_cleanup_free_ char *s = json_dumps(cfg, JSON_INDENT(1) | JSON_SORT_KEYS);
	return fs_write_atomic(path, s, strlen(s), 0600, err);
}

int reg_creds_put(const char *registry, const char *user, const char *password, Error **err)
{
	_cleanup_free_ char *path = reg_creds_path();
	_cleanup_json_ json_t *cfg = NULL;
	int r = config_read(path, &cfg, err);
	if (r < 0)
		return r;
	json_t *auths = json_obj_ensure(cfg, "auths");
	_cleanup_free_ char *pair = xasprintf("%s:%s", user, password);
	_cleanup_free_ char *b = reg_b64(pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	json_object_set_new(auths, key_for(registry), json_pack("{s:s}", "auth", b));
	return config_write(path, cfg, err);
}

int reg_creds_del(const char *registry, Error **err)
{
	_cleanup_free_ char *path = reg_creds_path();
	_cleanup_json_ json_t *cfg = NULL;
	int r = config_read(path, &cfg, err);
	if (r < 0)
		return r;
	json_t *auths = json_object_get(cfg, "auths");
	bool found = json_object_del(auths, key_for(registry)) == 0;
	const char *k;
	void *tmp;
	json_t *v;
	json_object_foreach_safe(auths, tmp, k, v) {
		_cleanup_free_ char *h = key_host(k);
		if (!strcmp(h, registry) && json_object_del(auths, k) == 0)
			found = true;
	}
	if (!found)
		return err_set(err, ENOENT, "not logged in to %s", registry);
	return config_write(path, cfg, err);
}
