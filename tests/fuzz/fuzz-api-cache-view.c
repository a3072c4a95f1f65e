/* fuzz-api-cache-view.c - the watch cache's scalar view (what field
 * selectors are matched against) fed arbitrary bytes: it must never read
 * outside the input, and whenever jansson decodes the text as an object the
 * view must equal that object with every array removed. */
#include "../../src/apiserver/cache.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *strip_arrays(const json_t *obj)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_array(v))
			continue;
		json_object_set_new(out, k, json_is_object(v) ? strip_arrays(v) : json_deep_copy(v));
	}
	return out;
}

static int depth_ok(const json_t *v, int d)
{
	if (d > 60)
		return 0;
	const char *k;
	json_t *c;
	size_t i;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, c) if (!depth_ok(c, d + 1)) return 0;
	if (json_is_array(v))
		json_array_foreach(v, i, c) if (!depth_ok(c, d + 1)) return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: reads past the end are caught by ASan */
	char *text = malloc(size ? size : 1);
	memcpy(text, data, size);
	json_t *view = cache_json_scalar_view(text, size);
	json_t *full = json_loadb(text, size, 0, NULL);
	if (json_is_object(full) && depth_ok(full, 0)) {
		json_t *want = strip_arrays(full);
		if (!view || !json_equal(view, want))
			abort();
		json_decref(want);
	}
	/* a text jansson rejects may still give a view (arrays are skipped, not
	 * checked): the cache only holds texts the server wrote itself */
	json_decref(full);
	json_decref(view);
	free(text);
	return 0;
}
