/* fuzz-api-patch.c - the API server's patch and selector code fed arbitrary
 * bytes.  Input: DOC \0 PATCH \0 SELECTOR.  DOC and PATCH are parsed as JSON
 * (as the request decoder does) and the patch is applied as a JSON merge
 * patch, a JSON patch and a strategic merge patch; the selector text is
 * parsed as a label and as a field selector and matched against DOC.
 * Besides crashes it checks that no patch modifies its inputs. */
#include "../../src/apiserver/api-internal.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *part(const char **p, const char *end, size_t *len)
{
	const char *s = *p;
	const char *z = memchr(s, 0, (size_t)(end - s));
	*len = z ? (size_t)(z - s) : (size_t)(end - s);
	*p = z ? z + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	size_t dl, pl, sl;
	const char *d = part(&p, end, &dl), *pa = part(&p, end, &pl), *se = part(&p, end, &sl);
	json_t *doc = json_loadb(d, dl, JSON_REJECT_DUPLICATES, NULL);
	json_t *patch = json_loadb(pa, pl, 0, NULL);
	if (!doc)
		doc = json_object();
	json_t *doc_copy = json_deep_copy(doc);
	if (patch) {
		json_t *patch_copy = json_deep_copy(patch);
		Error *err = NULL;
		json_decref(api_patch_merge(doc, patch));
		if (json_is_array(patch))
			json_decref(api_patch_json(doc, patch, &err));
		err_free(err);
		err = NULL;
		json_decref(api_patch_strategic(doc, patch, &err));
		err_free(err);
		if (!json_equal(doc, doc_copy) || !json_equal(patch, patch_copy))
			__builtin_trap();
		json_decref(patch_copy);
		json_decref(patch);
	}
	char *sel = strndup(se, sl);
	for (int field = 0; field < 2; field++) {
		ApiSelector *s = NULL;
		Error *err = NULL;
		if (api_selector_parse(sel, field, &s, &err) == 0)
			api_selector_match(s, doc);
		api_selector_free(s);
		err_free(err);
	}
	free(sel);
	json_decref(doc_copy);
	json_decref(doc);
	return 0;
}
