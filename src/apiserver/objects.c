/* objects.c - small helpers on API objects: the stored form (JSON without
 * resourceVersion, which always comes from the store's revision), uids,
 * timestamps, continue tokens, and choosing the patch algorithm by
 * Content-Type.
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

void api_object_set_rv(json_t *obj, int64_t rev)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)rev);
	json_object_set_new(json_obj_ensure(obj, "metadata"), "resourceVersion", json_string(buf));
}

json_t *api_object_decode(const StoreKV *kv)
{
	json_t *obj = json_loadb(kv->value, kv->value_len, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	api_object_set_rv(obj, kv->mod_revision);
	return obj;
}

char *api_object_encode(json_t *obj, size_t *ret_len)
{
	json_t *meta = json_object_get(obj, "metadata");
	_cleanup_json_ json_t *rv = json_incref(json_object_get(meta, "resourceVersion"));
	json_object_del(meta, "resourceVersion");
	char *s = json_dumps(obj, JSON_COMPACT);
	if (rv)
		json_object_set(meta, "resourceVersion", rv);
	*ret_len = strlen(s);
	return s;
}

const char *api_meta_str(const json_t *obj, const char *key)
{
	return json_str(json_object_get(obj, "metadata"), key);
}

void api_now_rfc3339(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void api_new_uid(char out[37])
{
	unsigned char b[16];
	RAND_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

char *api_continue_encode(int64_t rev, const char *key)
{
	_cleanup_json_ json_t *j = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rev, "start",
					     key);
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	size_t n = strlen(s);
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n);
	return o;
}

int api_continue_decode(const char *tok, int64_t *ret_rev, char **ret_key)
{
	size_t n = strlen(tok);
	if (n == 0 || n > 4096 || n % 4)
		return -EINVAL;
	_cleanup_free_ unsigned char *raw = xmalloc(n);
	int len = EVP_DecodeBlock(raw, (const unsigned char *)tok, (int)n);
	if (len < 0)
		return -EINVAL;
	while (len > 0 && raw[len - 1] == 0)
		len--; /* padding */
	_cleanup_json_ json_t *j = json_loadb((const char *)raw, (size_t)len, 0, NULL);
	const char *key = json_str(j, "start");
	json_int_t rev = json_int(j, "rv", 0);
	if (!key || rev <= 0 || !str_has_prefix(key, "/registry/"))
		return -EINVAL;
	*ret_rev = rev;
	*ret_key = xstrdup(key);
	return 0;
}

json_t *api_patch_apply(const ApiRequest *req, const json_t *cur, int *ret_code, Error **err)
{
	const char *ct = req->content_type ? req->content_type : "";
	_cleanup_json_ json_t *patch = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
	*ret_code = 400;
	if (!patch) {
		err_set(err, EINVAL, "error decoding patch: invalid JSON");
		return NULL;
	}
	if (str_has_prefix(ct, "application/json-patch+json")) {
		if (!json_is_array(patch)) {
			err_set(err, EINVAL, "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
			return NULL;
		}
		*ret_code = 422;
		return api_patch_json(cur, patch, err);
	}
	if (!json_is_object(patch)) {
		err_set(err, EINVAL, "patch must be a JSON object");
		return NULL;
	}
	if (str_has_prefix(ct, "application/merge-patch+json"))
		return api_patch_merge(cur, patch);
	if (str_has_prefix(ct, "application/strategic-merge-patch+json")) {
		if (req->res && req->res->custom) {
			*ret_code = 415;
			err_set(err, EINVAL, "strategic merge patch is not supported for custom resources");
			return NULL;
		}
		*ret_code = 422;
		return api_patch_strategic(cur, patch, err);
	}
	if (str_has_prefix(ct, "application/apply-patch+yaml") || str_has_prefix(ct, "application/apply-patch")) {
		/* server-side apply, simplified: the applied configuration wins field by field */
		return api_patch_merge(cur, patch);
	}
	*ret_code = 415;
	err_set(err, EINVAL, "the body of the request was in an unknown format - accepted media types include: "
			     "application/json-patch+json, application/merge-patch+json, "
			     "application/apply-patch+yaml, application/strategic-merge-patch+json");
	return NULL;
}
