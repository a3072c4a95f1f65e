/* fuzz-release.c - the release decoder berth runs on every Secret labelled
 * owner=helm it lists (chart/release.c): arbitrary bytes as data.release
 * (base64 -> gzip -> JSON), directly and wrapped in a Secret object.  A
 * record it accepts must survive Go's JSON encoding (parse(encode(x)) == x)
 * and its manifest must split without crashing. */
#include "../../src/chart/release.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Go writes every float64 as its shortest text, so 1.0 reads back as the
 * integer 1: numbers compare by value. */
static bool same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b) &&
		       (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) == json_integer_value(b));
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)a, k, v) if (!json_object_get(b, k) || !same(v, json_object_get(b, k)))
			return false;
		return true;
	}
	return json_equal(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *rel = NULL;
	if (release_decode((const char *)data, size, &rel, NULL) == 0) {
		char *text = release_to_json(rel);
		json_error_t je;
		json_t *back = json_loadb(text, strlen(text), JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		if (!back || !same(back, rel))
			abort();
		json_decref(back);
		free(text);
		RelDoc *d = NULL;
		size_t n = 0;
		if (json_is_string(json_object_get(rel, "manifest")) &&
		    release_split(json_string_value(json_object_get(rel, "manifest")), &d, &n, NULL) == 0) {
			release_sort_install(d, n);
			reldocs_free(d, n);
		}
		json_decref(rel);
	}
	/* the same bytes as the Secret's (API-level) data.release */
	char *s = xstrndup((const char *)data, size);
	json_t *secret = json_pack("{s:{s:s},s:s,s:{s:s}}", "metadata", "name", "sh.helm.release.v1.f.v1", "type",
				   RELEASE_SECRET_TYPE, "data", "release", s);
	free(s);
	if (secret && release_from_secret(secret, &rel, NULL) == 0)
		json_decref(rel);
	json_decref(secret);
	return 0;
}
