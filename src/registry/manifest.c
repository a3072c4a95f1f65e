/* manifest.c - parsing manifests pushed to the registry (untrusted input,
 * fuzzed by tests/fuzz/fuzz-registry-manifest.c): the four media types the
 * distribution spec deals in (OCI manifest and index, Docker schema2
 * manifest and list), the blobs and child manifests each references, and the
 * OCI 1.1 `subject` / `artifactType`.  A manifest's declared mediaType and
 * the request's Content-Type must agree when both are given.
 */
#include "reg-internal.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <string.h>

void reg_manifest_release(RegManifest *m)
{
	strv_free(m->blobs);
	strv_free(m->children);
	json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

static bool is_index_type(const char *mt)
{
	return !strcmp(mt, REG_MT_OCI_INDEX) || !strcmp(mt, REG_MT_DOCKER_LIST);
}

static bool known_type(const char *mt)
{
	return is_index_type(mt) || !strcmp(mt, REG_MT_OCI_MANIFEST) || !strcmp(mt, REG_MT_DOCKER_MANIFEST);
}

/* A descriptor: digest valid, size a non-negative integer. */
static int desc_check(const json_t *d, const char *what, Error **err)
{
	if (!json_is_object(d))
		return err_set(err, EINVAL, "%s: not a descriptor", what);
	const char *dg = json_str(d, "digest");
	if (!dg || !digest_valid(dg))
		return err_set(err, EINVAL, "%s: invalid digest", what);
	json_t *sz = json_object_get(d, "size");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return err_set(err, EINVAL, "%s: invalid size", what);
	const char *mt = json_str(d, "mediaType");
	if (json_object_get(d, "mediaType") && !mt)
		return err_set(err, EINVAL, "%s: invalid mediaType", what);
	return 0;
}

static int desc_list(const json_t *arr, const char *what, char ***v, size_t *n, Error **err)
{
	if (!json_is_array(arr))
		return err_set(err, EINVAL, "%s: not an array", what);
	if (json_array_size(arr) > BERTH_MAX_LAYERS)
		return err_set(err, EINVAL, "%s: more than %d entries", what, BERTH_MAX_LAYERS);
	size_t i;
	json_t *d;
	json_array_foreach(arr, i, d) {
		int r = desc_check(d, what, err);
		if (r < 0)
			return r;
		*v = xrealloc(*v, (*n + 2) * sizeof(char *));
		(*v)[(*n)++] = xstrdup(json_str(d, "digest"));
		(*v)[*n] = NULL;
	}
	return 0;
}

static const char *media_type_of(const json_t *j, const char *content_type, Error **err)
{
	const char *declared = json_str(j, "mediaType");
	if (json_object_get(j, "mediaType") && !declared) {
		err_set(err, EINVAL, "mediaType is not a string");
		return NULL;
	}
	const char *ct = content_type && *content_type ? content_type : NULL;
	if (declared && ct && strcmp(declared, ct)) {
		err_set(err, EINVAL, "mediaType '%s' does not match Content-Type '%s'", declared, ct);
		return NULL;
	}
	const char *mt = declared ? declared : ct;
	if (!mt)
		mt = json_object_get(j, "manifests") ? REG_MT_OCI_INDEX : REG_MT_OCI_MANIFEST;
	if (!known_type(mt)) {
		err_set(err, EINVAL, "unsupported manifest media type '%s'", mt);
		return NULL;
	}
	return mt;
}

int reg_manifest_parse(const char *buf, size_t len, const char *content_type, RegManifest *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	if (len > BERTH_MAX_MANIFEST)
		return err_set(err, EFBIG, "manifest larger than %u bytes", BERTH_MAX_MANIFEST);
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return err_set(err, EINVAL, "manifest: invalid JSON: %s", je.text);
	ret->json = j;
	size_t n = 0;
	int r = -EINVAL;
	if (!json_is_object(j)) {
		err_set(err, EINVAL, "manifest: not a JSON object");
		goto fail;
	}
	if (json_int(j, "schemaVersion", 0) != 2 || !json_is_integer(json_object_get(j, "schemaVersion"))) {
		err_set(err, EINVAL, "manifest: schemaVersion must be 2");
		goto fail;
	}
	ret->media_type = media_type_of(j, content_type, err);
	if (!ret->media_type)
		goto fail;
	ret->is_index = is_index_type(ret->media_type);
	if (ret->is_index) {
		r = desc_list(json_object_get(j, "manifests"), "manifests", &ret->children, &n, err);
	} else {
		json_t *cfg = json_object_get(j, "config");
		r = desc_check(cfg, "config", err);
		if (r == 0) {
			ret->blobs = xcalloc(2, sizeof(char *));
			ret->blobs[n++] = xstrdup(json_str(cfg, "digest"));
			r = desc_list(json_object_get(j, "layers"), "layers", &ret->blobs, &n, err);
		}
	}
	if (r < 0)
		goto fail;
	if (!ret->children)
		ret->children = xcalloc(1, sizeof(char *));
	if (!ret->blobs)
		ret->blobs = xcalloc(1, sizeof(char *));
	json_t *subj = json_object_get(j, "subject");
	if (subj) {
		r = desc_check(subj, "subject", err);
		if (r < 0)
			goto fail;
		ret->subject = json_str(subj, "digest");
	}
	ret->artifact_type = json_str(j, "artifactType");
	if (!ret->artifact_type && !ret->is_index)
		ret->artifact_type = json_str(json_object_get(j, "config"), "mediaType");
	return 0;
fail:
	reg_manifest_release(ret);
	return r < 0 ? r : -EINVAL;
}
