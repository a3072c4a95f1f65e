/* gc.c - `rmi` and the garbage collection that follows it.
 *
 * Removing follows docker: removing a name untags it, and the image goes
 * away with its last name; removing by id removes every name (several only
 * with force).  An image that a container uses (in_use_ids) is refused
 * without force; with force it is only untagged and kept as <none>, so the
 * container's lowerdirs never disappear under it.
 *
 * GC is mark and sweep under the exclusive gc lock (no importer, loader or
 * committer runs meanwhile): mark every blob and layer chain that an index
 * entry reaches, then delete other blobs, layer dirs with their l/ links,
 * and leftover temp files.  When anything reachable cannot be read, nothing
 * is deleted: a damaged store is never made worse.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <dirent.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

static void mark(json_t *set, const char *digest)
{
	if (digest_valid(digest))
		json_object_set_new(set, digest + 7, json_true());
}

/* Mark what the index reaches; -errno if any of it cannot be read. */
static int gc_mark(ImgStore *s, json_t *idx, json_t *blobs, json_t *chains)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(idx, "manifests"), i, e) {
		const char *md = json_str(e, "digest");
		_cleanup_json_ json_t *m = NULL, *cfg = NULL;
		if (store_blob_read_json(s, md, BERTH_MAX_MANIFEST, &m, NULL) < 0)
			return -EIO;
		mark(blobs, md);
		const char *cd = json_str(json_object_get(m, "config"), "digest");
		if (store_blob_read_json(s, cd, BERTH_MAX_IMAGE_CONFIG, &cfg, NULL) < 0)
			return -EIO;
		mark(blobs, cd);
		json_t *l;
		size_t k;
		json_array_foreach(json_object_get(m, "layers"), k, l)
			mark(blobs, json_str(l, "digest"));
		char chain[72] = "";
		json_array_foreach(json_path(cfg, "rootfs.diff_ids"), k, l) {
			const char *d = json_string_value(l);
			if (!digest_valid(d))
				return -EINVAL;
			layer_chain_id(k ? chain : NULL, d, chain);
			mark(chains, chain);
		}
	}
	return 0;
}

static void sweep_blobs(ImgStore *s, json_t *keep)
{
	_cleanup_closedir_ DIR *d = opendir(s->blobs);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' && strncmp(de->d_name, ".tmp", 4))
			continue;
		if (str_is_hex(de->d_name, 64) && json_object_get(keep, de->d_name))
			continue;
		if (str_is_hex(de->d_name, 64) || !strncmp(de->d_name, ".tmp", 4) || strstr(de->d_name, ".tmp."))
			unlinkat(dirfd(d), de->d_name, 0);
	}
}

static void remove_layer(ImgStore *s, const char *name)
{
	_cleanup_free_ char *dir = fs_join(s->layers, name);
	_cleanup_free_ char *linkf = fs_join(dir, "link");
	_cleanup_free_ char *link = NULL;
	if (fs_read_file(linkf, 64, &link, NULL, NULL) == 0 && !strncmp(link, "l/", 2) && !strchr(link + 2, '/')) {
		_cleanup_free_ char *lp = fs_join(s->root, link);
		unlink(lp);
	}
	fs_rm_rf(dir, NULL);
}

static void sweep_layers(ImgStore *s, json_t *keep)
{
	_cleanup_closedir_ DIR *d = opendir(s->layers);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, ".tmp-", 5) || (str_is_hex(de->d_name, 64) && !json_object_get(keep, de->d_name)))
			remove_layer(s, de->d_name);
	}
	/* links whose layer is gone */
	_cleanup_closedir_ DIR *l = opendir(s->links);
	while (l && (de = readdir(l))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(l), de->d_name, &st, 0) < 0 && errno == ENOENT)
			unlinkat(dirfd(l), de->d_name, 0);
	}
	/* interrupted loads */
	_cleanup_closedir_ DIR *t = opendir(s->tmp);
	while (t && (de = readdir(t))) {
		if (!strncmp(de->d_name, "load-", 5)) {
			_cleanup_free_ char *p = fs_join(s->tmp, de->d_name);
			fs_rm_rf(p, NULL);
		}
	}
}

/* The caller holds the gc lock exclusively. */
static void store_gc_locked(ImgStore *s, json_t *idx)
{
	_cleanup_json_ json_t *blobs = json_object(), *chains = json_object();
	if (gc_mark(s, idx, blobs, chains) < 0)
		return;
	sweep_blobs(s, blobs);
	sweep_layers(s, chains);
}

int img_gc(ImgStore *s, Error **err)
{
	_cleanup_close_ int gc = -1;
	int r = store_lock(s, "gc", LOCK_EX, &gc, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *idx = NULL;
	r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	store_gc_locked(s, idx);
	return 0;
}

static bool strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static void lines_add(char ***lines, size_t *n, char *line)
{
	*lines = xrealloc(*lines, (*n + 2) * sizeof(char *));
	(*lines)[(*n)++] = line;
	(*lines)[*n] = NULL;
}

/* Remove entries of `id` from the index (only the one named `only` when
 * given); *ret_kept gets a copy of a removed entry. */
static void index_drop(ImgStore *s, json_t *idx, const char *id, const char *only, json_t **ret_kept)
{
	json_t *manifests = json_object_get(idx, "manifests");
	for (size_t i = json_array_size(manifests); i-- > 0;) {
		json_t *e = json_array_get(manifests, i);
		const char *cid = index_entry_config(s, e);
		const char *ref = json_str(json_object_get(e, "annotations"), ANN_REF_NAME);
		if (!cid || strcmp(cid, id) || (only && (!ref || strcmp(ref, only))))
			continue;
		if (ret_kept && !*ret_kept)
			*ret_kept = json_deep_copy(e);
		json_array_remove(manifests, i);
	}
}

int img_remove(ImgStore *s, const char *name_or_id, bool force, char *const *in_use_ids, char ***ret_lines,
	       Error **err)
{
	_cleanup_close_ int gc = -1, ix = -1;
	int r = store_lock(s, "gc", LOCK_EX, &gc, err);
	if (r < 0)
		return r;
	r = store_lock(s, "index", LOCK_EX, &ix, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *idx = NULL;
	r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = NULL, *byname = NULL;
	r = index_lookup(s, idx, name_or_id, &id, &byname, err);
	if (r < 0)
		return r;
	if (byname && strchr(byname, '@')) { /* name@digest names the image, not a tag */
		free(byname);
		byname = NULL;
	}
	ImgInfo *info = NULL;
	r = img_info_load(s, idx, id, &info, err);
	if (r < 0)
		return r;
	size_t n_names = 0, nl = 0;
	while (info->names[n_names])
		n_names++;
	char **lines = NULL;
	bool used = strv_has(in_use_ids, id);
	if (byname && n_names > 1) {
		index_drop(s, idx, id, byname, NULL);
		_cleanup_free_ char *sh = img_ref_short(byname);
		lines_add(&lines, &nl, xasprintf("Untagged: %s", sh));
	} else if (!byname && n_names > 1 && !force) {
		r = err_set(err, EBUSY, "conflict: unable to delete %.12s (must be forced): image is "
			    "referenced in multiple repositories", id + 7);
	} else if (used && !force) {
		r = err_set(err, EBUSY, "conflict: unable to remove image '%s' (must force): image %.12s "
			    "is in use by a container", name_or_id, id + 7);
	} else {
		_cleanup_json_ json_t *kept = NULL;
		index_drop(s, idx, id, NULL, &kept);
		for (size_t i = 0; i < n_names; i++) {
			_cleanup_free_ char *sh = img_ref_short(info->names[i]);
			lines_add(&lines, &nl, xasprintf("Untagged: %s", sh));
		}
		if (used) {
			/* force on an image in use: untag only, keep it as <none> */
			json_object_del(json_object_get(kept, "annotations"), ANN_REF_NAME);
			json_array_append(json_object_get(idx, "manifests"), kept);
		} else {
			lines_add(&lines, &nl, xasprintf("Deleted: %s", id));
		}
	}
	img_info_free(info);
	if (r == 0)
		r = store_index_write(s, idx, err);
	if (r < 0) {
		strv_free(lines);
		return r;
	}
	close(ix);
	ix = -1;
	store_gc_locked(s, idx);
	*ret_lines = lines ? lines : xcalloc(1, sizeof(char *));
	return 0;
}
