/* gc.c - `berth registry gc`: mark and sweep over the storage layout of
 * storage.c, safe while the server runs.
 *
 * Mark: every manifest revision of every repository (after dropping, with
 * delete_untagged, those no tag reaches through indexes or subjects), the
 * manifest blob itself, its config and layers, an index's children.
 * Sweep: a blob nobody marked is deleted only if neither the blob nor any
 * repository link to it was touched within the grace period: a push in
 * flight links its layers before it puts the manifest, and an upload being
 * finished renames its file in (touched) just now, so both keep their
 * blobs.  Only entries named by a digest count: temp files of writes in
 * flight ("*.tmp-*", "*.tmp.*") are never marked, swept or parsed, and are
 * removed only once a day old.  Upload sessions are left alone, whatever
 * the grace period, until nobody touched them for a week (a client may
 * resume an upload long after it went away).
 */
#include "reg-internal.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define UPLOAD_STALE_SEC (7 * 24 * 3600)
#define TEMP_STALE_SEC (24 * 3600)

static void lines_add(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static void dir_entries(const char *dir, json_t *out, bool with_mtime)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != 64 || !str_is_hex(de->d_name, 64))
			continue; /* temp files of writes in flight, dot files */
		_cleanup_free_ char *dg = xasprintf("sha256:%s", de->d_name);
		json_int_t t = 0;
		if (with_mtime) {
			struct stat st;
			_cleanup_free_ char *p = fs_join(dir, de->d_name);
			if (stat(p, &st) == 0)
				t = (json_int_t)st.st_mtime;
			json_int_t prev = json_int(out, dg, 0);
			if (prev > t)
				t = prev;
		}
		json_object_set_new(out, dg, json_integer(t));
	}
}

static int manifest_load(RegStore *rs, const char *repo, const char *digest, RegManifest *m)
{
	_cleanup_free_ char *buf = NULL, *media = NULL;
	size_t len;
	char d[72];
	if (rs_manifest_get(rs, repo, digest, &buf, &len, &media, d, NULL) < 0)
		return -ENOENT;
	return reg_manifest_parse(buf, len, NULL, m, NULL);
}

/* Revisions of repo that tags reach (through indexes and subjects). */
static json_t *reachable(RegStore *rs, const char *repo, json_t *revs)
{
	json_t *keep = json_object();
	_cleanup_strv_ char **tags = NULL;
	rs_tags_list(rs, repo, &tags, NULL);
	for (char **t = tags; t && *t; t++) {
		_cleanup_free_ char *buf = NULL, *media = NULL;
		size_t len;
		char d[72];
		if (rs_manifest_get(rs, repo, *t, &buf, &len, &media, d, NULL) == 0)
			json_object_set_new(keep, d, json_true());
	}
	for (bool grew = true; grew;) {
		grew = false;
		const char *dg;
		json_t *v;
		json_object_foreach(revs, dg, v) {
			RegManifest m;
			if (manifest_load(rs, repo, dg, &m) < 0)
				continue;
			bool kept = json_object_get(keep, dg) != NULL;
			if (kept) {
				for (char **c = m.children; *c; c++)
					if (!json_object_get(keep, *c)) {
						json_object_set_new(keep, *c, json_true());
						grew = true;
					}
			} else if (m.subject && json_object_get(keep, m.subject)) {
				json_object_set_new(keep, dg, json_true());
				grew = true;
			}
			reg_manifest_release(&m);
		}
	}
	return keep;
}

static void mark_repo(RegStore *rs, const char *repo, bool dry_run, bool delete_untagged, json_t *marked,
		      char ***lines, size_t *nl)
{
	_cleanup_free_ char *revdir = xasprintf("%s/%s/_manifests/revisions", rs->repos, repo);
	_cleanup_json_ json_t *revs = json_object();
	dir_entries(revdir, revs, false);
	_cleanup_json_ json_t *keep = delete_untagged ? reachable(rs, repo, revs) : NULL;
	const char *dg;
	json_t *v;
	json_object_foreach(revs, dg, v) {
		if (keep && !json_object_get(keep, dg)) {
			lines_add(lines, nl, xasprintf("%s: manifest eligible for deletion: %s", repo, dg));
			if (!dry_run)
				rs_manifest_delete(rs, repo, dg, NULL);
			continue;
		}
		json_object_set_new(marked, dg, json_true());
		RegManifest m;
		if (manifest_load(rs, repo, dg, &m) < 0)
			continue;
		for (char **b = m.blobs; *b; b++)
			json_object_set_new(marked, *b, json_true());
		reg_manifest_release(&m);
	}
}

static void unlink_everywhere(RegStore *rs, char **repos, const char *digest)
{
	for (char **r = repos; *r; r++) {
		_cleanup_free_ char *p = xasprintf("%s/%s/_layers/%s", rs->repos, *r, digest + 7);
		unlink(p);
	}
}

/* The newest mtime of dir and its entries (0 if it is gone). */
static time_t newest_mtime(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return 0;
	time_t t = st.st_mtime;
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		_cleanup_free_ char *p = fs_join(dir, de->d_name);
		if (lstat(p, &st) == 0 && st.st_mtime > t)
			t = st.st_mtime;
	}
	return t;
}

/* Upload sessions nobody touched for UPLOAD_STALE_SEC (whatever the grace:
 * a client may resume an upload long after it went away). */
static void sweep_uploads(RegStore *rs, bool dry_run, char ***lines, size_t *nl)
{
	time_t cutoff = time(NULL) - UPLOAD_STALE_SEC;
	_cleanup_closedir_ DIR *d = opendir(rs->uploads);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!reg_upload_id_valid(de->d_name))
			continue;
		_cleanup_free_ char *dir = fs_join(rs->uploads, de->d_name);
		time_t t = newest_mtime(dir);
		if (!t || t > cutoff)
			continue;
		lines_add(lines, nl, xasprintf("stale upload eligible for deletion: %s", de->d_name));
		if (!dry_run)
			fs_rm_rf(dir, NULL);
	}
}

/* Temp files of interrupted writes in the blob store ("*.tmp-*", "*.tmp.*")
 * once they are TEMP_STALE_SEC old: younger ones belong to writes in flight. */
static void sweep_temps(RegStore *rs, bool dry_run)
{
	time_t cutoff = time(NULL) - TEMP_STALE_SEC;
	_cleanup_closedir_ DIR *d = opendir(rs->blobs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strstr(de->d_name, ".tmp-") && !strstr(de->d_name, ".tmp."))
			continue;
		_cleanup_free_ char *p = fs_join(rs->blobs, de->d_name);
		struct stat st;
		if (!dry_run && lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime <= cutoff)
			unlink(p);
	}
}

int reg_gc(const char *root, bool dry_run, bool delete_untagged, int64_t grace_sec, char ***ret_lines,
	   Error **err)
{
	RegStore *rs;
	int r = rs_open(root, &rs, err);
	if (r < 0)
		return r;
	char **lines = xcalloc(1, sizeof(char *));
	size_t nl = 0;
	_cleanup_strv_ char **repos = NULL;
	rs_catalog(rs, true, &repos, NULL);
	_cleanup_json_ json_t *marked = json_object(), *links = json_object(), *blobs = json_object();
	for (char **p = repos; *p; p++) {
		mark_repo(rs, *p, dry_run, delete_untagged, marked, &lines, &nl);
		_cleanup_free_ char *ld = xasprintf("%s/%s/_layers", rs->repos, *p);
		dir_entries(ld, links, true);
	}
	time_t cutoff = time(NULL) - (time_t)grace_sec;
	dir_entries(rs->blobs, blobs, true);
	size_t deleted = 0;
	const char *dg;
	json_t *v;
	json_object_foreach(blobs, dg, v) {
		if (json_object_get(marked, dg))
			continue;
		if (json_integer_value(v) > cutoff || json_int(links, dg, 0) > cutoff)
			continue;
		lines_add(&lines, &nl, xasprintf("blob eligible for deletion: %s", dg));
		deleted++;
		if (dry_run)
			continue;
		_cleanup_free_ char *bp = rs_blob_path(rs, dg);
		unlink(bp);
		unlink_everywhere(rs, repos, dg);
	}
	sweep_uploads(rs, dry_run, &lines, &nl);
	sweep_temps(rs, dry_run);
	lines_add(&lines, &nl, xasprintf("%zu blobs marked, %zu blobs %s", json_object_size(marked), deleted,
					 dry_run ? "eligible for deletion" : "deleted"));
	rs_free(rs);
	*ret_lines = lines;
	return 0;
}
