/* chart-repo.c - Helm's chart repositories over HTTP(S): the repositories
 * file (repositories.yaml), the cached indexes (NAME-index.yaml and
 * NAME-charts.txt), `repo add|update|list|remove`, `search repo`, `pull`, and
 * the index lookups `dependency update` uses for http(s):// repositories.
 *
 * Files are Helm's, where Helm keeps them: $HELM_REPOSITORY_CONFIG, else
 * $HELM_CONFIG_HOME/repositories.yaml (default $XDG_CONFIG_HOME/helm, then
 * ~/.config/helm); $HELM_REPOSITORY_CACHE, else $HELM_CACHE_HOME/repository
 * (default ~/.cache/helm/repository).  Texts are Helm's (repo_add.go,
 * repo_update.go, search_repo.go, pull.go).  HTTP goes through libcurl,
 * loaded lazily (shared/curl-lazy.h).  Downloads are capped
 * (BERTH_MAX_CHART_SIZE for archives, 64 MiB for an index).
 */
#include "chart-internal.h"
#include "semver.h"
#include "value.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/curl-lazy.h"
#include "../shared/digest.h"
#include "../shared/json.h"
#include "../shared/yaml.h"
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_INDEX_SIZE (64u << 20)

/* ---- paths ------------------------------------------------------------------------------- */
static char *home_dir(const char *xdg, const char *fallback)
{
	const char *x = getenv(xdg);
	if (x && *x)
		return xasprintf("%s/helm", x);
	const char *h = getenv("HOME");
	return xasprintf("%s/%s/helm", h && *h ? h : "/root", fallback);
}

char *chart_repo_config_path(void)
{
	const char *e = getenv("HELM_REPOSITORY_CONFIG");
	if (e && *e)
		return xstrdup(e);
	e = getenv("HELM_CONFIG_HOME");
	_cleanup_free_ char *d = e && *e ? xstrdup(e) : home_dir("XDG_CONFIG_HOME", ".config");
	return xasprintf("%s/repositories.yaml", d);
}

char *chart_repo_cache_dir(void)
{
	const char *e = getenv("HELM_REPOSITORY_CACHE");
	if (e && *e)
		return xstrdup(e);
	e = getenv("HELM_CACHE_HOME");
	_cleanup_free_ char *d = e && *e ? xstrdup(e) : home_dir("XDG_CACHE_HOME", ".cache");
	return xasprintf("%s/repository", d);
}

static char *index_path(const char *name)
{
	_cleanup_free_ char *c = chart_repo_cache_dir();
	return xasprintf("%s/%s-index.yaml", c, name);
}

/* ---- repositories.yaml ------------------------------------------------------------------- */
/* The file as an object with a "repositories" array; a missing file is empty. */
int chart_repo_file_load(json_t **ret, Error **err)
{
	_cleanup_free_ char *p = chart_repo_config_path();
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	json_t *j = NULL;
	if (fs_exists(p)) {
		if (fs_read_file(p, 1u << 24, &buf, &len, err) < 0)
			return -EIO;
		if (yaml_parse_buf(buf, len, &j, err) < 0)
			return err_prefix(err, "couldn't load repositories file (%s)", p);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	if (!json_is_array(json_object_get(j, "repositories")))
		json_object_set_new(j, "repositories", json_array());
	*ret = j;
	return 0;
}

static char *now_rfc3339(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char b[64];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	char frac[16];
	snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
	size_t l = strlen(frac);
	while (l > 1 && frac[l - 1] == '0')
		frac[--l] = 0;
	return xasprintf("%s%sZ", b, l > 1 ? frac : "");
}

static int repo_file_save(json_t *f, Error **err)
{
	_cleanup_free_ char *p = chart_repo_config_path();
	_cleanup_free_ char *dir = xstrdup(p);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (fs_mkdir_p(dir, 0755, err) < 0)
			return -EIO;
	}
	if (!json_is_string(json_object_get(f, "apiVersion")))
		json_object_set_new(f, "apiVersion", json_string(""));
	_cleanup_free_ char *now = now_rfc3339();
	json_object_set_new(f, "generated", json_string(now));
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	if (yaml_emit(f, 0, &sb, err) < 0)
		return -EINVAL;
	return fs_write_atomic(p, sb.buf, sb.len, 0600, err);
}

static json_t *repo_find(json_t *f, const char *name, size_t *idx)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(f, "repositories"), i, r)
		if (!strcmp(json_str(r, "name") ?: "", name)) {
			if (idx)
				*idx = i;
			return r;
		}
	return NULL;
}

/* ---- HTTP ------------------------------------------------------------------------------- */
typedef struct Fetch {
	StrBuf *body;
	size_t max;
	bool too_big;
	char status[128];
} Fetch;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	Fetch *f = ud;
	size_t k = sz * n;
	if (f->body->len + k > f->max) {
		f->too_big = true;
		return 0;
	}
	sb_add(f->body, p, k);
	return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	Fetch *f = ud;
	size_t k = sz * n;
	if (k > 9 && !strncmp(p, "HTTP/", 5)) {        /* the last status line wins (redirects) */
		const char *sp = memchr(p, ' ', k);
		if (sp) {
			size_t l = k - (size_t)(sp + 1 - p);
			while (l && (sp[l] == '\r' || sp[l] == '\n'))
				l--;
			snprintf(f->status, sizeof f->status, "%.*s", (int)l, sp + 1);
		}
	}
	return k;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* GET url into out (at most max bytes); Helm's getter errors:
 * "failed to fetch URL : 404 Not Found". */
static int http_get(const char *url, size_t max, StrBuf *out, Error **err)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return err_set(err, EPROTONOSUPPORT, "could not find protocol handler for: %.*s",
			       (int)strcspn(url, ":"), url);
	if (!curl_api())
		return err_set(err, ENOSYS, "libcurl is not available");
	pthread_once(&curl_once, curl_init);
	CURL *h = curl_easy_init();
	if (!h)
		return err_set(err, ENOMEM, "curl_easy_init");
	Fetch f = { .body = out, .max = max };
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "Helm/3.18.0");
	CURLcode cc = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (f.too_big)
		return err_set(err, EFBIG, "failed to fetch %s : larger than %zu bytes", url, max);
	if (cc != CURLE_OK)
		return err_set(err, EIO, "Get \"%s\": %s", url, curl_easy_strerror(cc));
	if (code != 200)
		return err_set(err, EIO, "failed to fetch %s : %s", url, *f.status ? f.status : "unknown status");
	return 0;
}

/* Helm's ResolveReferenceURL(base, ref): ref as is when absolute, else
 * relative to base with a trailing '/' added. */
static char *resolve_url(const char *base, const char *ref)
{
	if (strstr(ref, "://"))
		return xstrdup(ref);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	if (ref[0] == '/') {                   /* host-relative */
		const char *h = strstr(base, "://");
		const char *p = h ? strchr(h + 3, '/') : NULL;
		size_t hl = p ? (size_t)(p - base) : bl;
		return xasprintf("%.*s%s", (int)hl, base, ref);
	}
	return xasprintf("%.*s/%s", (int)bl, base, ref);
}

/* ---- indexes ---------------------------------------------------------------------------- */
static bool version_match(Arena *a, const SemConstraints *c, const char *v)
{
	const char *e = NULL;
	SemVer *sv = v ? semver_parse(a, v, strlen(v), &e) : NULL;
	return sv && (!c || semver_constraints_check(c, sv));
}

static int cmp_version_desc(const void *x, const void *y)
{
	json_t *const *a = x, *const *b = y;
	const char *va = json_str(*a, "version") ?: "", *vb = json_str(*b, "version") ?: "";
	Arena *ar = arena_new(0);
	const char *e = NULL;
	SemVer *sa = semver_parse(ar, va, strlen(va), &e), *sb = semver_parse(ar, vb, strlen(vb), &e);
	int r = sa && sb ? -semver_compare(sa, sb) : (sa ? -1 : sb ? 1 : 0);
	arena_free(ar);
	return r;
}

/* IndexFile.SortEntries: every chart's versions newest first. */
static void sort_index(json_t *idx)
{
	const char *k;
	json_t *list;
	json_object_foreach(json_object_get(idx, "entries"), k, list) {
		size_t n = json_array_size(list);
		json_t **v = xcalloc(n + 1, sizeof *v);
		for (size_t i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(list, i));
		qsort(v, n, sizeof *v, cmp_version_desc);
		json_array_clear(list);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, v[i]);
		free(v);
	}
}

/* loadIndex: YAML with an apiVersion ("no API version specified"). */
int chart_repo_parse_index(const char *buf, size_t len, const char *what, json_t **ret, Error **err)
{
	json_t *j = NULL;
	if (yaml_parse_buf(buf, len, &j, err) < 0)
		return err_prefix(err, "%s", what);
	if (!json_is_object(j) || !json_str(j, "apiVersion") || !*json_str(j, "apiVersion")) {
		json_decref(j);
		return err_set(err, EINVAL, "no API version specified");
	}
	if (!json_is_object(json_object_get(j, "entries")))
		json_object_set_new(j, "entries", json_object());
	sort_index(j);
	*ret = j;
	return 0;
}

int chart_repo_load_index(const char *name, json_t **ret, Error **err)
{
	_cleanup_free_ char *p = index_path(name);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(p, MAX_INDEX_SIZE, &buf, &len, err) < 0)
		return -ENOENT;
	return chart_repo_parse_index(buf, len, p, ret, err);
}

/* ChartRepository.DownloadIndexFile: fetch URL/index.yaml, check it, write
 * NAME-index.yaml and NAME-charts.txt into the cache. */
static int download_index(const char *name, const char *url, Error **err)
{
	_cleanup_free_ char *iu = resolve_url(url, "index.yaml");
	_cleanup_sb_ StrBuf body = STRBUF_INIT;
	if (http_get(iu, MAX_INDEX_SIZE, &body, err) < 0)
		return -EIO;
	_cleanup_json_ json_t *idx = NULL;
	if (chart_repo_parse_index(body.buf ? body.buf : "", body.len, iu, &idx, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *cache = chart_repo_cache_dir();
	if (fs_mkdir_p(cache, 0755, err) < 0)
		return -EIO;
	_cleanup_sb_ StrBuf names = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(idx, "entries"), k, v)
		sb_addf(&names, "%s%s", names.len ? "\n" : "", k);
	_cleanup_free_ char *cp = xasprintf("%s/%s-charts.txt", cache, name);
	_cleanup_free_ char *ip = index_path(name);
	if (fs_write_atomic(cp, names.buf ? names.buf : "", names.len, 0644, err) < 0 ||
	    fs_write_atomic(ip, body.buf ? body.buf : "", body.len, 0644, err) < 0)
		return -EIO;
	return 0;
}

/* ---- repo add / update / list / remove ---------------------------------------------------- */
int chart_repo_add(const char *name, const char *url, bool force_update, StrBuf *out, Error **err)
{
	if (strchr(name, '/'))
		return err_set(err, EINVAL, "repository name (%s) contains '/', please specify a different name without '/'", name);
	_cleanup_json_ json_t *f = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	json_t *old = repo_find(f, name, NULL);
	if (old && !force_update) {
		if (strcmp(json_str(old, "url") ?: "", url))
			return err_set(err, EEXIST, "repository name (%s) already exists, please specify a different name", name);
		sb_addf(out, "\"%s\" already exists with the same configuration, skipping\n", name);
		return 0;
	}
	if (download_index(name, url, err) < 0)
		return err_prefix(err, "looks like \"%s\" is not a valid chart repository or cannot be reached", url);
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "caFile", "", "certFile", "", "keyFile", "",
			      "name", name, "password", "", "url", url, "username", "", "insecure_skip_tls_verify", 0,
			      "pass_credentials_all", 0);
	size_t idx;
	if (repo_find(f, name, &idx))
		json_array_set_new(json_object_get(f, "repositories"), idx, e);
	else
		json_array_append_new(json_object_get(f, "repositories"), e);
	if (repo_file_save(f, err) < 0)
		return -EIO;
	sb_addf(out, "\"%s\" has been added to your repositories\n", name);
	return 0;
}

static void update_one(json_t *r, StrBuf *out, size_t *failed)
{
	Error *e = NULL;
	const char *name = json_str(r, "name") ?: "", *url = json_str(r, "url") ?: "";
	if (download_index(name, url, &e) < 0) {
		sb_addf(out, "...Unable to get an update from the \"%s\" chart repository (%s):\n\t%s\n", name, url,
			err_msg(e));
		err_free(e);
		(*failed)++;
	} else {
		sb_addf(out, "...Successfully got an update from the \"%s\" chart repository\n", name);
	}
}

int chart_repo_update(const char *const *names, StrBuf *out, Error **err)
{
	_cleanup_json_ json_t *f = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	json_t *repos = json_object_get(f, "repositories");
	if (!json_array_size(repos))
		return err_set(err, ENOENT, "no repositories found. You must add one before updating");
	for (size_t i = 0; names && names[i]; i++)
		if (!repo_find(f, names[i], NULL))
			return err_set(err, ENOENT, "no repositories found matching '%s'.  Nothing will be updated", names[i]);
	sb_adds(out, "Hang tight while we grab the latest from your chart repositories...\n");
	size_t failed = 0, i;
	json_t *r;
	json_array_foreach(repos, i, r) {
		bool want = !names || !names[0];
		for (size_t k = 0; !want && names[k]; k++)
			want = !strcmp(names[k], json_str(r, "name") ?: "");
		if (want)
			update_one(r, out, &failed);
	}
	sb_adds(out, "Update Complete. \xE2\x8E\x88Happy Helming!\xE2\x8E\x88\n");
	return 0;
}

int chart_repo_remove(const char *const *names, StrBuf *out, Error **err)
{
	_cleanup_json_ json_t *f = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	_cleanup_free_ char *cache = chart_repo_cache_dir();
	for (size_t i = 0; names[i]; i++) {
		size_t idx;
		if (!repo_find(f, names[i], &idx))
			return err_set(err, ENOENT, "no repo named \"%s\" found", names[i]);
		json_array_remove(json_object_get(f, "repositories"), idx);
		if (repo_file_save(f, err) < 0)
			return -EIO;
		_cleanup_free_ char *ip = index_path(names[i]);
		_cleanup_free_ char *cp = xasprintf("%s/%s-charts.txt", cache, names[i]);
		unlink(ip);
		unlink(cp);
		sb_addf(out, "\"%s\" has been removed from your repositories\n", names[i]);
	}
	return 0;
}

/* ---- search repo ----------------------------------------------------------------------- */
typedef struct Hit {
	char *name;        /* repo/chart */
	json_t *ver;       /* the index entry (borrowed from idxs) */
	long score;
} Hit;

static int cmp_hit(const void *x, const void *y)
{
	const Hit *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	int c = strcmp(a->name, b->name);
	if (c)
		return c;
	return cmp_version_desc(&a->ver, &b->ver);
}

static char *lower(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* Helm's search line: chart name, repo/chart, description, keywords, separated
 * by '\v', lower case; a hit's score is the field the keyword starts in. */
static char *search_text(const char *name, const json_t *v)
{
	StrBuf sb;
	sb_init(&sb);
	sb_addf(&sb, "%s\v%s\v%s\v", json_str(v, "name") ?: "", name, json_str(v, "description") ?: "");
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(v, "keywords"), i, k)
		sb_addf(&sb, "%s%s", i ? " " : "", json_string_value(k) ?: "");
	sb_adds(&sb, "");
	char *t = lower(sb.buf);
	sb_release(&sb);
	return t;
}

int chart_search_repo(const char *keyword, const ChartSearchOpts *o, json_t **ret, Error **err)
{
	_cleanup_json_ json_t *f = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	json_t *repos = json_object_get(f, "repositories");
	if (!json_array_size(repos))
		return err_set(err, ENOENT, "no repositories configured");
	const char *constraint = o->version && *o->version ? o->version : o->devel ? ">0.0.0-0" : ">0.0.0";
	_cleanup_arena_ Arena *a = arena_new(0);
	const char *ce = NULL;
	SemConstraints *sc = semver_constraints_parse(a, constraint, strlen(constraint), &ce);
	if (!sc)
		return err_set(err, EINVAL, "an invalid version/constraint format: %s", ce ? ce : constraint);
	_cleanup_free_ char *kw = keyword ? lower(keyword) : NULL;
	_cleanup_json_ json_t *idxs = json_array();
	Hit *hits = NULL;
	size_t nh = 0, i;
	json_t *r;
	json_array_foreach(repos, i, r) {
		const char *rn = json_str(r, "name") ?: "";
		json_t *idx = NULL;
		Error *e = NULL;
		if (chart_repo_load_index(rn, &idx, &e) < 0) {
			chart_warnf("WARNING: Repo \"%s\" is corrupt or missing. Try 'helm repo update'.", rn);
			chart_warnf("WARNING: %s", err_msg(e));
			err_free(e);
			continue;
		}
		json_array_append_new(idxs, idx);
		const char *cn;
		json_t *list;
		json_object_foreach(json_object_get(idx, "entries"), cn, list) {
			size_t nv = json_array_size(list);
			for (size_t k = 0; k < nv; k++) {
				json_t *v = json_array_get(list, k);
				_cleanup_free_ char *name = xasprintf("%s/%s", rn, json_str(v, "name") ?: cn);
				long score = 0;
				if (kw) {
					_cleanup_free_ char *t = search_text(name, v);
					const char *hit = strstr(t, kw);
					if (!hit)
						continue;
					for (const char *p = t; p < hit; p++)
						score += *p == '\v';
					for (char *p = name; *p; p++)   /* Helm reports the lower-cased key */
						*p = (char)tolower((unsigned char)*p);
				}
				if (!version_match(a, sc, json_str(v, "version")))
					continue;
				hits = xrealloc(hits, (nh + 1) * sizeof *hits);
				hits[nh++] = (Hit){ xstrdup(name), v, score };
			}
		}
	}
	qsort(hits, nh, sizeof *hits, cmp_hit);
	json_t *res = json_array();
	for (size_t k = 0; k < nh; k++) {
		/* without --versions only the newest matching version of each chart */
		bool dup = false;
		for (size_t x = 0; !o->versions && x < k && !dup; x++)
			dup = !strcmp(hits[x].name, hits[k].name);
		if (dup)
			continue;
		json_array_append_new(res, json_pack("{s:s, s:s, s:s, s:s}", "name", hits[k].name, "version",
						     json_str(hits[k].ver, "version") ?: "", "app_version",
						     json_str(hits[k].ver, "appVersion") ?: "", "description",
						     json_str(hits[k].ver, "description") ?: ""));
	}
	for (size_t k = 0; k < nh; k++)
		free(hits[k].name);
	free(hits);
	*ret = res;
	return 0;
}

/* ---- finding and downloading a chart ------------------------------------------------------- */
/* IndexFile.Get(name, version): the newest version matching (an exact
 * version, a constraint, or the newest stable one when empty). Borrowed. */
static json_t *index_get(json_t *idx, const char *name, const char *version)
{
	json_t *list = json_object_get(json_object_get(idx, "entries"), name);
	_cleanup_arena_ Arena *a = arena_new(0);
	const char *e = NULL;
	const char *c = version && *version ? version : ">0.0.0";
	SemConstraints *sc = semver_constraints_parse(a, c, strlen(c), &e);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *vv = json_str(v, "version") ?: "";
		if (version && *version && !strcmp(vv, version))
			return v;
		if (sc && version_match(a, sc, vv))
			return v;
	}
	return NULL;
}

/* Download a chart version's archive (urls[0], relative to the repository
 * URL) into *body; *file gets its base name. */
static int fetch_chart(const char *repo_url, const json_t *ver, StrBuf *body, char **file, Error **err)
{
	const char *u = json_string_value(json_array_get(json_object_get(ver, "urls"), 0));
	if (!u)
		return err_set(err, EINVAL, "chart %s has no downloadable URLs", json_str(ver, "name") ?: "");
	_cleanup_free_ char *url = resolve_url(repo_url, u);
	if (http_get(url, BERTH_MAX_CHART_SIZE, body, err) < 0)
		return -EIO;
	const char *d = json_str(ver, "digest");
	if (d && *d) {
		char got[72];
		sha256_buf(body->buf ? body->buf : "", body->len, got);
		if (strcmp(got + 7, d))
			return err_set(err, EINVAL, "digest mismatch for %s: index says %s, got %s", url, d, got + 7);
	}
	size_t ul = strcspn(url, "?#");
	const char *b = url + ul;
	while (b > url && b[-1] != '/')
		b--;
	*file = xstrndup(b, (size_t)(url + ul - b));
	if (!**file || !strcmp(*file, ".") || !strcmp(*file, "..")) {
		free(*file);
		*file = xasprintf("%s-%s.tgz", json_str(ver, "name") ?: "chart", json_str(ver, "version") ?: "");
	}
	return 0;
}

/* Write an archive's files under dir (names already checked by the loader). */
static int untar(const char *data, size_t len, const char *dir, Error **err)
{
	ChartFile *files = NULL;
	size_t n = 0;
	if (chart_tar_read(data, len, &files, &n, err) < 0)
		return -EINVAL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *nm = files[i].name;
		if (nm[0] == '/' || !strcmp(nm, "..") || !strncmp(nm, "../", 3) || strstr(nm, "/../") ||
		    (strlen(nm) >= 3 && !strcmp(nm + strlen(nm) - 3, "/.."))) {
			rc = err_set(err, EINVAL, "chart illegally references parent directory: %s", nm);
			break;
		}
		_cleanup_free_ char *p = fs_join(dir, nm);
		_cleanup_free_ char *pd = xstrdup(p);
		char *s = strrchr(pd, '/');
		if (s)
			*s = 0;
		if (fs_mkdir_p(pd, 0755, err) < 0 || fs_write_atomic(p, files[i].data, files[i].len, 0644, err) < 0)
			rc = -EIO;
	}
	chart_files_free(files, n);
	return rc;
}

int chart_pull(const char *ref, const ChartPullOpts *o, StrBuf *out, Error **err)
{
	(void)out;
	_cleanup_json_ json_t *f = NULL, *idx = NULL;
	_cleanup_sb_ StrBuf body = STRBUF_INIT;
	_cleanup_free_ char *file = NULL;
	if (strstr(ref, "://")) {
		if (http_get(ref, BERTH_MAX_CHART_SIZE, &body, err) < 0)
			return -EIO;
		const char *b = strrchr(ref, '/');
		file = xstrdup(b ? b + 1 : ref);
	} else {
		const char *slash = strchr(ref, '/');
		if (!slash)
			return err_set(err, EINVAL, "non-absolute URLs should be in form of repo_name/path_to_chart, got: %s", ref);
		_cleanup_free_ char *rn = xstrndup(ref, (size_t)(slash - ref));
		const char *cn = slash + 1;
		if (chart_repo_file_load(&f, err) < 0)
			return -EIO;
		json_t *r = repo_find(f, rn, NULL);
		if (!r)
			return err_set(err, ENOENT, "repo %s not found", rn);
		if (chart_repo_load_index(rn, &idx, err) < 0)
			return err_prefix(err, "no cached repo found. (try 'helm repo update')");
		json_t *ver = index_get(idx, cn, o->version);
		if (!ver) {
			if (o->version && *o->version)
				return err_set(err, ENOENT, "chart \"%s\" version \"%s\" not found in %s repository", cn, o->version,
					       json_str(r, "url") ?: "");
			return err_set(err, ENOENT, "chart \"%s\" matching  not found in %s index. (try 'helm repo update'): "
				       "no chart name found", cn, rn);
		}
		if (fetch_chart(json_str(r, "url") ?: "", ver, &body, &file, err) < 0)
			return -EIO;
	}
	const char *dest = o->dest && *o->dest ? o->dest : ".";
	/* the archive must load as a chart before anything is written */
	_cleanup_chart_ Chart *c = NULL;
	if (chart_load_archive(body.buf ? body.buf : "", body.len, file, &c, err) < 0)
		return -EINVAL;
	if (o->untar) {
		const char *ud = o->untar_dir && *o->untar_dir ? o->untar_dir : ".";
		_cleanup_free_ char *udir = ud[0] == '/' ? xstrdup(ud) : !strcmp(ud, ".") ? xstrdup(dest) : fs_join(dest, ud);
		_cleanup_free_ char *check = fs_join(udir, c->name);
		if (fs_exists(check))
			return err_set(err, EEXIST, "failed to untar: a file or directory with the name %s already exists", check);
		if (fs_mkdir_p(udir, 0755, err) < 0)
			return -EIO;
		return untar(body.buf, body.len, udir, err);
	}
	if (fs_mkdir_p(dest, 0755, err) < 0)
		return -EIO;
	_cleanup_free_ char *p = fs_join(dest, file);
	return fs_write_atomic(p, body.buf, body.len, 0644, err);
}

/* ---- dependency update: http(s) repositories ---------------------------------------------- */
static bool same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la && a[la - 1] == '/')
		la--;
	while (lb && b[lb - 1] == '/')
		lb--;
	return la == lb && !strncmp(a, b, la);
}

/* The configured repository a dependency's repository field names: a URL,
 * "@name" or "alias:name".  An http(s) URL without a configured repository is
 * an "unmanaged" one, cached as helm-manager-<sha256(url)> as Helm does.
 * New reference, NULL when unknown. */
static json_t *repo_for(json_t *f, const char *repo, bool *unmanaged)
{
	if (unmanaged)
		*unmanaged = false;
	if (repo[0] == '@' || !strncmp(repo, "alias:", 6))
		return json_incref(repo_find(f, repo + (repo[0] == '@' ? 1 : 6), NULL));
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(f, "repositories"), i, r)
		if (same_url(json_str(r, "url") ?: "", repo))
			return json_incref(r);
	if (strncmp(repo, "http://", 7) && strncmp(repo, "https://", 8))
		return NULL;
	if (unmanaged)
		*unmanaged = true;
	char d[72];
	sha256_buf(repo, strlen(repo), d);
	_cleanup_free_ char *name = xasprintf("helm-manager-%s", d + 7);
	return json_pack("{s:s, s:s}", "name", name, "url", repo);
}

bool chart_repo_is_remote(const char *repo)
{
	return !strncmp(repo, "http://", 7) || !strncmp(repo, "https://", 8) || repo[0] == '@' ||
	       !strncmp(repo, "alias:", 6);
}

int chart_repo_update_for(const json_t *deps, StrBuf *out, Error **err)
{
	_cleanup_json_ json_t *f = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	_cleanup_json_ json_t *managed = json_array(), *unmanaged = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d) {
		const char *repo = json_str(d, "repository") ?: "";
		if (!chart_repo_is_remote(repo))
			continue;
		bool um;
		_cleanup_json_ json_t *r = repo_for(f, repo, &um);
		if (!r)
			return err_set(err, ENOENT, "no repository definition for %s. Please add the missing repos via 'helm repo add'",
				       repo);
		json_t *list = um ? unmanaged : managed;
		bool seen = false;
		size_t k;
		json_t *t;
		json_array_foreach(list, k, t)
			seen = seen || !strcmp(json_str(t, "name"), json_str(r, "name"));
		if (!seen)
			json_array_append(list, r);
	}
	size_t failed = 0;
	if (json_array_size(unmanaged)) {
		sb_adds(out, "Getting updates for unmanaged Helm repositories...\n");
		json_array_foreach(unmanaged, i, d) {
			Error *e = NULL;
			const char *url = json_str(d, "url");
			if (download_index(json_str(d, "name"), url, &e) < 0) {
				err_set(err, EIO, "%s", err_msg(e));
				err_free(e);
				return err_prefix(err, "looks like \"%s\" is not a valid chart repository or cannot be reached", url);
			}
			sb_addf(out, "...Successfully got an update from the \"%s\" chart repository\n", url);
			(void)failed;
		}
	}
	if (json_array_size(managed)) {
		sb_adds(out, "Hang tight while we grab the latest from your chart repositories...\n");
		json_array_foreach(managed, i, d)
			update_one(d, out, &failed);
		sb_adds(out, "Update Complete. \xE2\x8E\x88Happy Helming!\xE2\x8E\x88\n");
	}
	return 0;
}

int chart_repo_resolve(const char *repo, const char *name, const char *constraint, char **ret_version, Error **err)
{
	_cleanup_json_ json_t *f = NULL, *idx = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	_cleanup_json_ json_t *r = repo_for(f, repo, NULL);
	if (!r)
		return err_set(err, ENOENT, "no repository definition for %s", repo);
	if (chart_repo_load_index(json_str(r, "name") ?: "", &idx, err) < 0)
		return err_prefix(err, "no cached repository for %s found. (try 'helm repo update')", repo);
	json_t *list = json_object_get(json_object_get(idx, "entries"), name);
	if (!json_array_size(list))
		return err_set(err, ENOENT, "%s chart not found in repo %s", name, json_str(r, "url") ?: repo);
	_cleanup_arena_ Arena *a = arena_new(0);
	const char *e = NULL;
	SemConstraints *sc = constraint && *constraint ? semver_constraints_parse(a, constraint, strlen(constraint), &e) : NULL;
	if (constraint && *constraint && !sc)
		return err_set(err, EINVAL, "dependency \"%s\" has an invalid version/constraint format: %s", name, e ? e : "");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (version_match(a, sc, json_str(v, "version"))) {
			*ret_version = xstrdup(json_str(v, "version"));
			return 0;
		}
	return err_set(err, ENOENT, "can't get a valid version for repositories %s. Try changing the version constraint in Chart.yaml",
		       name);
}

int chart_repo_download(const char *repo, const char *name, const char *version, const char *dest_dir, Error **err)
{
	_cleanup_json_ json_t *f = NULL, *idx = NULL;
	if (chart_repo_file_load(&f, err) < 0)
		return -EIO;
	_cleanup_json_ json_t *r = repo_for(f, repo, NULL);
	if (!r)
		return err_set(err, ENOENT, "no repository definition for %s", repo);
	if (chart_repo_load_index(json_str(r, "name") ?: "", &idx, err) < 0)
		return -ENOENT;
	json_t *ver = index_get(idx, name, version);
	if (!ver)
		return err_set(err, ENOENT, "chart \"%s\" version \"%s\" not found in %s repository", name, version,
			       json_str(r, "url") ?: repo);
	_cleanup_sb_ StrBuf body = STRBUF_INIT;
	_cleanup_free_ char *file = NULL;
	if (fetch_chart(json_str(r, "url") ?: "", ver, &body, &file, err) < 0)
		return -EIO;
	_cleanup_chart_ Chart *c = NULL;
	if (chart_load_archive(body.buf ? body.buf : "", body.len, file, &c, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *p = fs_join(dest_dir, file);
	return fs_write_atomic(p, body.buf, body.len, 0644, err);
}
