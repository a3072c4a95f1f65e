/* images.c - images as the user sees them: ImgInfo records built from
 * index.json, resolving a name or id, listing, tagging, and recording a new
 * image.
 *
 * An image is its config digest (the IMAGE ID).  index.json holds one entry
 * per name (annotation org.opencontainers.image.ref.name) plus, for an image
 * that lost or never had a name, one entry without that annotation (docker's
 * "<none>:<none>").  Each entry also carries the config digest and the
 * unpacked size as berth annotations, so resolving and listing read
 * index.json, one manifest and one config per image: no walks, no hashing.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

void img_info_free(ImgInfo *info)
{
	if (!info)
		return;
	free(info->id);
	free(info->manifest_digest);
	strv_free(info->names);
	json_decref(info->config);
	strv_free(info->diff_ids);
	strv_free(info->layer_digests);
	free(info);
}
DEFINE_CLEANUP(ImgInfo, img_info_free)

static const char *entry_ref(json_t *entry)
{
	return json_str(json_object_get(entry, "annotations"), ANN_REF_NAME);
}

const char *index_entry_config(ImgStore *s, json_t *entry)
{
	json_t *ann = json_object_get(entry, "annotations");
	const char *id = json_str(ann, ANN_CONFIG);
	if (id && digest_valid(id))
		return id;
	/* an entry written by another tool: read its manifest once */
	const char *md = json_str(entry, "digest");
	_cleanup_json_ json_t *m = NULL;
	if (!digest_valid(md) || store_blob_read_json(s, md, BERTH_MAX_MANIFEST, &m, NULL) < 0)
		return NULL;
	const char *cfg = json_str(json_object_get(m, "config"), "digest");
	if (!digest_valid(cfg))
		return NULL;
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(entry, "annotations", ann);
	}
	json_object_set_new(ann, ANN_CONFIG, json_string(cfg));
	return json_str(ann, ANN_CONFIG);
}

static int64_t entry_size(json_t *entry)
{
	const char *s = json_str(json_object_get(entry, "annotations"), ANN_SIZE);
	return s ? strtoll(s, NULL, 10) : 0;
}

int img_info_load(ImgStore *s, json_t *idx, const char *id, ImgInfo **ret, Error **err)
{
	_cleanup_(img_info_freep) ImgInfo *info = xcalloc(1, sizeof(*info));
	info->id = xstrdup(id);
	json_t *manifests = json_object_get(idx, "manifests"), *e;
	size_t i, nn = 0;
	info->names = xcalloc(json_array_size(manifests) + 1, sizeof(char *));
	json_array_foreach(manifests, i, e) {
		const char *cid = index_entry_config(s, e);
		if (!cid || strcmp(cid, id))
			continue;
		const char *ref = entry_ref(e);
		if (ref)
			info->names[nn++] = xstrdup(ref);
		if (!info->manifest_digest || (ref && nn == 1)) {
			free(info->manifest_digest);
			info->manifest_digest = xstrdup(json_str(e, "digest"));
			info->size = entry_size(e);
		}
	}
	if (!info->manifest_digest)
		return err_set(err, ENOENT, "image '%s' not found", id);
	_cleanup_json_ json_t *m = NULL;
	int r = store_blob_read_json(s, info->manifest_digest, BERTH_MAX_MANIFEST, &m, err);
	if (r < 0)
		return err_prefix(err, "image %.19s: manifest", id);
	r = store_blob_read_json(s, id, BERTH_MAX_IMAGE_CONFIG, &info->config, err);
	if (r < 0)
		return err_prefix(err, "image %.19s: config", id);
	json_t *layers = json_object_get(m, "layers");
	json_t *diff_ids = json_path(info->config, "rootfs.diff_ids");
	size_t nl = json_array_size(layers);
	if (nl != json_array_size(diff_ids))
		return err_set(err, EINVAL, "image %.19s: manifest has %zu layers but the config lists %zu",
			       id, nl, json_array_size(diff_ids));
	info->n_layers = nl;
	info->layer_digests = xcalloc(nl + 1, sizeof(char *));
	info->diff_ids = xcalloc(nl + 1, sizeof(char *));
	for (i = 0; i < nl; i++) {
		const char *ld = json_str(json_array_get(layers, i), "digest");
		const char *dd = json_string_value(json_array_get(diff_ids, i));
		if (!digest_valid(ld) || !digest_valid(dd))
			return err_set(err, EINVAL, "image %.19s: layer %zu has an invalid digest", id, i);
		info->layer_digests[i] = xstrdup(ld);
		info->diff_ids[i] = xstrdup(dd);
	}
	info->created = config_parse_time(json_str(info->config, "created"));
	*ret = TAKE_PTR(info);
	return 0;
}

static bool hex_prefix(const char *s, size_t *ret_len)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	*ret_len = n;
	return true;
}

static int lookup_by_name(ImgStore *s, json_t *idx, const char *norm, char **ret_id)
{
	const char *at = strchr(norm, '@');
	_cleanup_free_ char *repo = at ? ref_repo(norm) : NULL;
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(idx, "manifests"), i, e) {
		const char *ref = entry_ref(e);
		if (at) {
			/* the manifest's digest, or the name it was pulled by (an index's digest) */
			if (strcmp(json_str(e, "digest") ?: "", at + 1) && (!ref || strcmp(ref, norm)))
				continue;
			_cleanup_free_ char *erepo = ref ? ref_repo(ref) : NULL;
			if (erepo && strcmp(erepo, repo))
				continue;
		} else if (!ref || strcmp(ref, norm)) {
			continue;
		}
		const char *id = index_entry_config(s, e);
		if (id) {
			*ret_id = xstrdup(id);
			return 0;
		}
	}
	return -ENOENT;
}

int index_lookup(ImgStore *s, json_t *idx, const char *q, char **ret_id, char **ret_name, Error **err)
{
	_cleanup_err_ Error *rerr = NULL;
	_cleanup_free_ char *norm = NULL;
	bool is_ref = img_ref_normalize(q, &norm, &rerr) == 0;
	if (is_ref && lookup_by_name(s, idx, norm, ret_id) == 0) {
		if (ret_name)
			*ret_name = TAKE_PTR(norm);
		return 0;
	}
	const char *hex = str_has_prefix(q, "sha256:") ? q + 7 : q;
	size_t hn = 0;
	if (hex_prefix(hex, &hn) && (hn >= 3 || hex != q)) {
		const char *found = NULL;
		json_t *e;
		size_t i;
		json_array_foreach(json_object_get(idx, "manifests"), i, e) {
			const char *id = index_entry_config(s, e);
			if (!id || strncmp(id + 7, hex, hn))
				continue;
			if (found && strcmp(found, id))
				return err_set(err, EINVAL, "image id prefix '%s' is ambiguous", q);
			found = id;
		}
		if (found) {
			*ret_id = xstrdup(found);
			if (ret_name)
				*ret_name = NULL;
			return 0;
		}
	}
	if (!is_ref && !hn)
		return err_set(err, EINVAL, "%s", err_msg(rerr));
	return err_set(err, ENOENT, "image '%s' not found", q);
}

int img_resolve(ImgStore *s, const char *name_or_id, ImgInfo **ret, Error **err)
{
	_cleanup_json_ json_t *idx = NULL;
	int r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = NULL;
	r = index_lookup(s, idx, name_or_id, &id, NULL, err);
	if (r < 0)
		return r;
	return img_info_load(s, idx, id, ret, err);
}

typedef struct ListKey {
	ImgInfo *info;
	int64_t created_ns;
	size_t pos;     /* index order: later entries were written later */
} ListKey;

static int cmp_created_desc(const void *a, const void *b)
{
	const ListKey *x = a, *y = b;
	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? 1 : -1;
	return x->pos < y->pos ? 1 : -1;
}

int img_list(ImgStore *s, ImgInfo ***ret, size_t *ret_n, Error **err)
{
	_cleanup_json_ json_t *idx = NULL;
	int r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	json_t *manifests = json_object_get(idx, "manifests"), *e;
	size_t i, n = 0;
	ImgInfo **v = xcalloc(json_array_size(manifests) + 1, sizeof(*v));
	json_array_foreach(manifests, i, e) {
		const char *id = index_entry_config(s, e);
		if (!id)
			continue;
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(v[k]->id, id);
		if (seen)
			continue;
		r = img_info_load(s, idx, id, &v[n], err);
		if (r < 0) {
			for (size_t k = 0; k < n; k++)
				img_info_free(v[k]);
			free(v);
			return r;
		}
		n++;
	}
	ListKey *keys = xcalloc(n ? n : 1, sizeof(*keys));
	for (i = 0; i < n; i++)
		keys[i] = (ListKey){ v[i], config_parse_time_ns(json_str(v[i]->config, "created")), i };
	qsort(keys, n, sizeof(*keys), cmp_created_desc);
	for (i = 0; i < n; i++)
		v[i] = keys[i].info;
	free(keys);
	*ret = v;
	*ret_n = n;
	return 0;
}

static json_t *index_entry_new(const char *manifest_digest, int64_t manifest_size, const char *config_id,
			       int64_t size, const char *name)
{
	char sz[32];
	snprintf(sz, sizeof(sz), "%lld", (long long)size);
	json_t *ann = json_pack("{s:s,s:s}", ANN_CONFIG, config_id, ANN_SIZE, sz);
	if (name)
		json_object_set_new(ann, ANN_REF_NAME, json_string(name));
	return json_pack("{s:s,s:s,s:I,s:o}", "mediaType", MT_OCI_MANIFEST, "digest", manifest_digest,
			 "size", (json_int_t)manifest_size, "annotations", ann);
}

/* Does the index still have an entry for image id? */
static bool index_has_image(ImgStore *s, json_t *manifests, const char *id)
{
	json_t *e;
	size_t i;
	json_array_foreach(manifests, i, e) {
		const char *cid = index_entry_config(s, e);
		if (cid && !strcmp(cid, id))
			return true;
	}
	return false;
}

int store_image_add(ImgStore *s, const char *manifest_digest, int64_t manifest_size, const char *config_id,
		    int64_t size, const char *name, Error **err)
{
	_cleanup_close_ int lock = -1;
	int r = store_lock(s, "index", LOCK_EX, &lock, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *idx = NULL;
	r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	json_t *manifests = json_object_get(idx, "manifests");
	_cleanup_json_ json_t *orphan = NULL; /* the entry of the image that loses `name` */
	for (size_t i = json_array_size(manifests); i-- > 0;) {
		json_t *e = json_array_get(manifests, i);
		const char *ref = entry_ref(e);
		const char *cid = index_entry_config(s, e);
		bool same = cid && !strcmp(cid, config_id);
		if (name && ref && !strcmp(ref, name)) {
			if (!same && cid && !orphan)
				orphan = json_deep_copy(e);
			json_array_remove(manifests, i);
		} else if (name && same && !ref) {
			json_array_remove(manifests, i); /* a dangling entry of this image: it gets a name */
		}
	}
	/* keep an image whose last name moved away as <none>, as docker does */
	if (orphan && !index_has_image(s, manifests, index_entry_config(s, orphan))) {
		json_object_del(json_object_get(orphan, "annotations"), ANN_REF_NAME);
		json_array_append(manifests, orphan);
	}
	if (name || !index_has_image(s, manifests, config_id))
		json_array_append_new(manifests, index_entry_new(manifest_digest, manifest_size, config_id,
								 size, name));
	return store_index_write(s, idx, err);
}

int store_image_write(ImgStore *s, const char *config_buf, size_t config_len, json_t *layers, int64_t size,
		      char *const *names, char ret_id[72], Error **err)
{
	int r = store_blob_put(s, config_buf, config_len, ret_id, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2,
					     "mediaType", MT_OCI_MANIFEST, "config", "mediaType",
					     MT_OCI_CONFIG, "digest", ret_id, "size", (json_int_t)config_len,
					     "layers", layers);
	_cleanup_free_ char *mbuf = json_dumps(m, JSON_COMPACT);
	char mdigest[72];
	size_t mlen = strlen(mbuf);
	r = store_blob_put(s, mbuf, mlen, mdigest, err);
	if (r < 0)
		return r;
	if (!names || !names[0])
		return store_image_add(s, mdigest, (int64_t)mlen, ret_id, size, NULL, err);
	for (char *const *n = names; *n; n++) {
		r = store_image_add(s, mdigest, (int64_t)mlen, ret_id, size, *n, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int img_tag(ImgStore *s, const char *src, const char *dst, Error **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = img_ref_normalize(dst, &norm, err);
	if (r < 0)
		return r;
	if (strchr(norm, '@'))
		return err_set(err, EINVAL, "tag '%s': refusing to create a tag with a digest reference", dst);
	_cleanup_json_ json_t *idx = NULL;
	r = store_index_read(s, &idx, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *id = NULL;
	r = index_lookup(s, idx, src, &id, NULL, err);
	if (r < 0)
		return r;
	_cleanup_(img_info_freep) ImgInfo *info = NULL;
	r = img_info_load(s, idx, id, &info, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *mp = store_blob_path(s, info->manifest_digest);
	struct stat st;
	if (stat(mp, &st) < 0)
		return err_sys(err, errno, "image %.19s: manifest", id);
	return store_image_add(s, info->manifest_digest, st.st_size, id, info->size, norm, err);
}

void img_history_free(ImgHistoryEntry *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].created_by);
		free(h[i].comment);
	}
	free(h);
}

static int64_t chain_size(ImgStore *s, const char *chain)
{
	_cleanup_json_ json_t *info = NULL;
	return layer_info_read(s, chain, &info, NULL) == 0 ? json_int(info, "size", 0) : 0;
}

int img_history(ImgStore *s, const ImgInfo *img, ImgHistoryEntry **ret, size_t *ret_n, Error **err)
{
	(void)err;
	_cleanup_free_ char (*chains)[72] = layer_chain_ids(img);
	json_t *hist = json_object_get(img->config, "history");
	size_t nh = json_array_size(hist), n = 0, layer = 0;
	size_t cap = (nh > img->n_layers ? nh : img->n_layers) + 1;
	ImgHistoryEntry *v = xcalloc(cap, sizeof(*v));
	for (size_t i = 0; i < nh; i++) {
		json_t *h = json_array_get(hist, i);
		ImgHistoryEntry *e = &v[n++];
		e->created = config_parse_time(json_str(h, "created"));
		e->created_by = xstrdup(json_str(h, "created_by") ?: "");
		e->comment = xstrdup(json_str(h, "comment") ?: "");
		e->empty_layer = json_bool(h, "empty_layer", false) || layer >= img->n_layers;
		if (!e->empty_layer)
			e->size = chain_size(s, chains[layer++]);
	}
	/* layers the history does not account for (configs written without it) */
	for (; layer < img->n_layers; layer++) {
		ImgHistoryEntry *e = &v[n++];
		e->created = img->created;
		e->created_by = xstrdup("");
		e->comment = xstrdup("");
		e->size = chain_size(s, chains[layer]);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
