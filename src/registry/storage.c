/* storage.c - the registry's content on disk.
 *
 *   <root>/blobs/sha256/<hex>                    every blob and manifest, once
 *   <root>/repos/<name>/_layers/<hex>            blob linked into the repository
 *                                                (mtime: when last pushed/mounted)
 *   <root>/repos/<name>/_manifests/revisions/<hex>  manifest in the repository
 *                                                (content: its media type)
 *   <root>/repos/<name>/_manifests/tags/<tag>    content: the manifest digest
 *   <root>/repos/<name>/_referrers/<subject-hex>/<hex>  manifests with a subject
 *   <root>/uploads/<uuid>/                       upload sessions (upload.c)
 *
 * Every file becomes visible by rename(2) only, so a crash leaves either the
 * old state or the new, never half a blob.  A repository sees only blobs
 * linked into it; the blob bytes are shared.  Names and references reaching
 * this file were validated by name.c, so they cannot escape the root.
 */
#include "reg-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

int rs_open(const char *root, RegStore **ret, Error **err)
{
	RegStore *rs = xcalloc(1, sizeof(*rs));
	rs->root = xstrdup(root);
	rs->blobs = xasprintf("%s/blobs/sha256", root);
	rs->repos = xasprintf("%s/repos", root);
	rs->uploads = xasprintf("%s/uploads", root);
	pthread_mutex_init(&rs->lock, NULL);
	int r = 0;
	const char *dirs[] = { rs->blobs, rs->repos, rs->uploads };
	for (size_t i = 0; i < ARRAY_SIZE(dirs) && r == 0; i++)
		r = fs_mkdir_p(dirs[i], 0755, err);
	if (r < 0) {
		rs_free(rs);
		return err_prefix(err, "registry root '%s'", root);
	}
	*ret = rs;
	return 0;
}

void rs_free(RegStore *rs)
{
	if (!rs)
		return;
	pthread_mutex_destroy(&rs->lock);
	free(rs->root);
	free(rs->blobs);
	free(rs->repos);
	free(rs->uploads);
	free(rs);
}

char *rs_blob_path(const RegStore *rs, const char *digest)
{
	return xasprintf("%s/%s", rs->blobs, digest + 7);
}

static char *repo_path(const RegStore *rs, const char *repo, const char *sub)
{
	return xasprintf("%s/%s/%s", rs->repos, repo, sub);
}

bool rs_repo_exists(const RegStore *rs, const char *repo)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", rs->repos, repo);
	return fs_is_dir(p);
}

bool rs_blob_visible(const RegStore *rs, const char *repo, const char *digest, int64_t *ret_size)
{
	_cleanup_free_ char *link = xasprintf("%s/%s/_layers/%s", rs->repos, repo, digest + 7);
	_cleanup_free_ char *blob = rs_blob_path(rs, digest);
	struct stat st;
	if (access(link, F_OK) < 0 || stat(blob, &st) < 0)
		return false;
	if (ret_size)
		*ret_size = (int64_t)st.st_size;
	return true;
}

/* Create (or touch) an empty marker file, making its directory. */
static int touch_file(const char *dir, const char *name, Error **err)
{
	int r = fs_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = fs_join(dir, name);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_sys(err, errno, "create '%s'", p);
	if (futimens(fd, NULL) < 0)
		return err_sys(err, errno, "touch '%s'", p);
	return 0;
}

int rs_blob_link(RegStore *rs, const char *repo, const char *digest, Error **err)
{
	_cleanup_free_ char *dir = repo_path(rs, repo, "_layers");
	return touch_file(dir, digest + 7, err);
}

int rs_blob_unlink(RegStore *rs, const char *repo, const char *digest, Error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/_layers/%s", rs->repos, repo, digest + 7);
	if (unlink(p) < 0)
		return errno == ENOENT ? err_set(err, ENOENT, "blob unknown to repository")
				       : err_sys(err, errno, "unlink '%s'", p);
	return 0;
}

int rs_blob_commit_file(RegStore *rs, const char *tmp_path, const char *digest, Error **err)
{
	_cleanup_free_ char *dst = rs_blob_path(rs, digest);
	if (fs_exists(dst)) {
		unlink(tmp_path);
		utimensat(AT_FDCWD, dst, NULL, 0);
		return 0;
	}
	/* arrive fresh: the upload's last write may be older than gc's grace,
	 * and the repository link comes only after the rename */
	utimensat(AT_FDCWD, tmp_path, NULL, 0);
	if (rename(tmp_path, dst) < 0)
		return err_sys(err, errno, "rename '%s'", tmp_path);
	return 0;
}

/* Replace path with bytes through a temp file of its own: many request
 * threads of one process may write the same blob or tag at once, so the
 * temp name must be unique per writer, not per process. */
static int write_unique(const char *path, const void *buf, size_t len, Error **err)
{
	/* a dot name: listings (tags, revisions, catalog) skip it while in flight */
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *tmp = slash ? xasprintf("%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1)
					 : xasprintf(".%s.tmp-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "create '%s'", tmp);
	int r = fs_write_all(fd, buf, len);
	if (r == 0 && (fchmod(fd, 0644) < 0 || fdatasync(fd) < 0))
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return err_sys(err, -r, "write '%s'", path);
	}
	return 0;
}

/* Store bytes as a blob (atomically) unless already present. */
static int blob_put(RegStore *rs, const char *buf, size_t len, const char *digest, Error **err)
{
	_cleanup_free_ char *p = rs_blob_path(rs, digest);
	if (fs_exists(p)) {
		utimensat(AT_FDCWD, p, NULL, 0);
		return 0;
	}
	return write_unique(p, buf, len, err);
}

static int read_small(const char *path, size_t max, char **ret, Error **err)
{
	size_t n;
	int r = fs_read_file(path, max, ret, &n, err);
	if (r < 0)
		return r;
	(*ret)[strcspn(*ret, "\n")] = '\0';
	return 0;
}

static bool revision_exists(const RegStore *rs, const char *repo, const char *digest)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/_manifests/revisions/%s", rs->repos, repo, digest + 7);
	return fs_exists(p);
}

/* Every blob an image manifest names, every child of an index, must be in repo. */
static int manifest_refs_check(RegStore *rs, const char *repo, const RegManifest *m, Error **err)
{
	for (char **b = m->blobs; *b; b++)
		if (!rs_blob_visible(rs, repo, *b, NULL))
			return err_set(err, ENOENT, "blob unknown to registry: %s", *b);
	for (char **c = m->children; *c; c++)
		if (!revision_exists(rs, repo, *c))
			return err_set(err, ENOENT, "manifest unknown to registry: %s", *c);
	return 0;
}

static int write_link(const char *dir, const char *name, const char *content, Error **err)
{
	int r = fs_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = fs_join(dir, name);
	return write_unique(p, content, strlen(content), err);
}

int rs_manifest_put(RegStore *rs, const char *repo, const char *ref, const char *buf, size_t len,
		    const char *content_type, char ret_digest[72], char **ret_subject, Error **err)
{
	RegManifest m;
	int r = reg_manifest_parse(buf, len, content_type, &m, err);
	if (r < 0)
		return r;
	sha256_buf(buf, len, ret_digest);
	if (digest_valid(ref) && strcmp(ref, ret_digest)) {
		reg_manifest_release(&m);
		return err_set(err, EBADMSG, "manifest digest %s does not match %s", ret_digest, ref);
	}
	r = manifest_refs_check(rs, repo, &m, err);
	if (r == 0)
		r = blob_put(rs, buf, len, ret_digest, err);
	_cleanup_free_ char *rev = repo_path(rs, repo, "_manifests/revisions");
	if (r == 0)
		r = write_link(rev, ret_digest + 7, m.media_type, err);
	if (r == 0 && m.subject) {
		_cleanup_free_ char *rd = xasprintf("%s/%s/_referrers/%s", rs->repos, repo, m.subject + 7);
		r = touch_file(rd, ret_digest + 7, err);
		if (ret_subject)
			*ret_subject = xstrdup(m.subject);
	}
	if (r == 0 && !digest_valid(ref)) {
		_cleanup_free_ char *tags = repo_path(rs, repo, "_manifests/tags");
		r = write_link(tags, ref, ret_digest, err);
	}
	reg_manifest_release(&m);
	return r;
}

static int resolve_ref(RegStore *rs, const char *repo, const char *ref, char digest[72], Error **err)
{
	if (digest_valid(ref)) {
		snprintf(digest, 72, "%s", ref);
	} else {
		_cleanup_free_ char *p = xasprintf("%s/%s/_manifests/tags/%s", rs->repos, repo, ref);
		_cleanup_free_ char *d = NULL;
		if (read_small(p, 128, &d, NULL) < 0 || !digest_valid(d))
			return err_set(err, ENOENT, "manifest unknown: tag '%s'", ref);
		snprintf(digest, 72, "%s", d);
	}
	if (!revision_exists(rs, repo, digest))
		return err_set(err, ENOENT, "manifest unknown: %s", digest);
	return 0;
}

int rs_manifest_get(RegStore *rs, const char *repo, const char *ref, char **ret_buf, size_t *ret_len,
		    char **ret_media, char ret_digest[72], Error **err)
{
	int r = resolve_ref(rs, repo, ref, ret_digest, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *rev = xasprintf("%s/%s/_manifests/revisions/%s", rs->repos, repo, ret_digest + 7);
	_cleanup_free_ char *bp = rs_blob_path(rs, ret_digest);
	r = read_small(rev, 256, ret_media, err);
	if (r < 0)
		return err_set(err, ENOENT, "manifest unknown: %s", ret_digest);
	r = fs_read_file(bp, BERTH_MAX_MANIFEST, ret_buf, ret_len, err);
	if (r < 0) {
		free(*ret_media);
		*ret_media = NULL;
		return err_set(err, ENOENT, "manifest unknown: %s", ret_digest);
	}
	return 0;
}

static void drop_tags_of(RegStore *rs, const char *repo, const char *digest)
{
	_cleanup_free_ char *dir = repo_path(rs, repo, "_manifests/tags");
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = fs_join(dir, de->d_name), *v = NULL;
		if (read_small(p, 128, &v, NULL) == 0 && !strcmp(v, digest))
			unlink(p);
	}
}

int rs_manifest_delete(RegStore *rs, const char *repo, const char *ref, Error **err)
{
	if (!digest_valid(ref)) {
		_cleanup_free_ char *p = xasprintf("%s/%s/_manifests/tags/%s", rs->repos, repo, ref);
		if (unlink(p) < 0)
			return err_set(err, ENOENT, "manifest unknown: tag '%s'", ref);
		return 0;
	}
	if (!revision_exists(rs, repo, ref))
		return err_set(err, ENOENT, "manifest unknown: %s", ref);
	/* forget it as a referrer of its subject */
	char *buf = NULL, *media = NULL;
	size_t len;
	char d[72];
	if (rs_manifest_get(rs, repo, ref, &buf, &len, &media, d, NULL) == 0) {
		RegManifest m;
		if (reg_manifest_parse(buf, len, NULL, &m, NULL) == 0) {
			if (m.subject) {
				_cleanup_free_ char *p = xasprintf("%s/%s/_referrers/%s/%s", rs->repos, repo,
								   m.subject + 7, ref + 7);
				unlink(p);
			}
			reg_manifest_release(&m);
		}
	}
	free(buf);
	free(media);
	drop_tags_of(rs, repo, ref);
	_cleanup_free_ char *rev = xasprintf("%s/%s/_manifests/revisions/%s", rs->repos, repo, ref + 7);
	if (unlink(rev) < 0)
		return err_sys(err, errno, "unlink '%s'", rev);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int rs_tags_list(RegStore *rs, const char *repo, char ***ret, Error **err)
{
	if (!rs_repo_exists(rs, repo))
		return err_set(err, ENOENT, "repository name not known to registry");
	_cleanup_free_ char *dir = repo_path(rs, repo, "_manifests/tags");
	_cleanup_closedir_ DIR *d = opendir(dir);
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (reg_tag_valid(de->d_name))
			strv_push(&v, &n, xstrdup(de->d_name));
	qsort(v, n, sizeof(char *), str_cmp);
	*ret = v;
	return 0;
}

/* Does dir hold an entry that is not a dot file (a tag, a revision)? */
static bool dir_has_entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			return true;
	return false;
}

static bool repo_has_manifests(const char *repo_dir)
{
	_cleanup_free_ char *tags = fs_join(repo_dir, "_manifests/tags");
	_cleanup_free_ char *revs = fs_join(repo_dir, "_manifests/revisions");
	return dir_has_entries(tags) || dir_has_entries(revs);
}

static void catalog_walk(const char *dir, const char *prefix, bool all, char ***v, size_t *n, int depth)
{
	if (depth > 64)
		return;
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	bool is_repo = false;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_name[0] == '_') {
			if (!strcmp(de->d_name, "_manifests") || (all && !strcmp(de->d_name, "_layers")))
				is_repo = true;
			continue;
		}
		if (de->d_type != DT_DIR)
			continue;
		_cleanup_free_ char *sub = fs_join(dir, de->d_name);
		_cleanup_free_ char *name = *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		catalog_walk(sub, name, all, v, n, depth + 1);
	}
	if (is_repo && *prefix && (all || repo_has_manifests(dir)))
		strv_push(v, n, xstrdup(prefix));
}

int rs_catalog(RegStore *rs, bool all, char ***ret, Error **err)
{
	(void)err;
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	catalog_walk(rs->repos, "", all, &v, &n, 0);
	qsort(v, n, sizeof(char *), str_cmp);
	*ret = v;
	return 0;
}

int rs_referrers(RegStore *rs, const char *repo, const char *digest, const char *artifact_type,
		 json_t **ret_index, Error **err)
{
	(void)err;
	json_t *list = json_array();
	_cleanup_free_ char *dir = xasprintf("%s/%s/_referrers/%s", rs->repos, repo, digest + 7);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != 64)
			continue;
		char md[72];
		memcpy(md, "sha256:", 7);
		memcpy(md + 7, de->d_name, 65);
		_cleanup_free_ char *buf = NULL, *media = NULL;
		size_t len;
		char got[72];
		if (rs_manifest_get(rs, repo, md, &buf, &len, &media, got, NULL) < 0)
			continue;
		RegManifest m;
		if (reg_manifest_parse(buf, len, NULL, &m, NULL) < 0)
			continue;
		if (!artifact_type || (m.artifact_type && !strcmp(m.artifact_type, artifact_type))) {
			json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", m.media_type, "digest", md, "size",
						 (json_int_t)len);
			if (m.artifact_type)
				json_object_set_new(desc, "artifactType", json_string(m.artifact_type));
			json_t *ann = json_object_get(m.json, "annotations");
			if (json_is_object(ann))
				json_object_set(desc, "annotations", ann);
			json_array_append_new(list, desc);
		}
		reg_manifest_release(&m);
	}
	*ret_index = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", REG_MT_OCI_INDEX, "manifests", list);
	return 0;
}
