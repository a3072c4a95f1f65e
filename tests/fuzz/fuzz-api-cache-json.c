/* fuzz-api-cache-json.c - the watch cache's JSON text scanner: the member
 * lookup used on every stored object (metadata, labels, resourceVersion)
 * and the resourceVersion splice, fed arbitrary bytes.  Any span returned
 * must lie inside the input and itself scan as a value; a spliced text of a
 * valid object must parse and carry the revision. */
#include "../../src/apiserver/cache.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: reads past the end are caught by ASan */
	char *text = malloc(size ? size : 1);
	memcpy(text, data, size);
	const char *e = text + size, *vs, *ve, *ls, *le;
	static const char *const keys[] = { "metadata", "kind", "a", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (cache_json_member(text, e, keys[i], &vs, &ve) == 0) {
			if (vs < text || ve > e || vs >= ve)
				abort();
			if (*vs == '{')
				cache_json_member(vs, ve, "labels", &ls, &le);
		}
	size_t n;
	char *w = cache_json_with_rv(text, size, 123, &n);
	if (w) {
		json_t *j = json_loadb(w, n, 0, NULL);
		json_t *orig = json_loadb(text, size, 0, NULL);
		if (json_is_object(orig) && json_is_object(json_object_get(orig, "metadata")) &&
		    !json_object_get(json_object_get(orig, "metadata"), "resourceVersion")) {
			const char *rv = j ? json_string_value(json_object_get(json_object_get(j, "metadata"),
									       "resourceVersion")) : NULL;
			if (!rv || strcmp(rv, "123"))
				abort();
		}
		json_decref(orig);
		json_decref(j);
		free(w);
	}
	free(text);
	return 0;
}
