/* test-shared.c - unit tests for src/shared: JSON glue and digests. */
#include "tap.h"
#include "../../src/shared/digest.h"
#include "../../src/shared/json.h"
#include <stdlib.h>

int main(void)
{
	char d[72];
	sha256_buf("", 0, d);
	is_str(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
	sha256_buf("abc", 3, d);
	is_str(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 abc");
	ok(digest_valid(d), "digest_valid accepts");
	ok(!digest_valid("sha256:ABC"), "digest_valid rejects short");
	ok(!digest_valid("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "rejects algo");

	json_t *j = NULL;
	Error *e = NULL;
	const char *doc = "{\"a\":{\"b\":[\"x\",\"y\"]},\"n\":3}";
	ok(json_parse_buf(doc, strlen(doc), "t", &j, &e) == 0, "parse");
	is_int(json_int(j, "n", 0), 3, "json_int");
	char **v = json_to_strv(json_path(j, "a.b"));
	ok(v && v[0] && !strcmp(v[1], "y") && !v[2], "json_path + json_to_strv");
	strv_free(v);
	json_decref(j);
	j = NULL;
	ok(json_parse_buf("{\"a\":", 5, "manifest 'm'", &j, &e) == -EINVAL, "bad json rejected");
	ok(e && strstr(e->msg, "manifest 'm': invalid JSON at line 1"), "error names input and place");
	err_free(e);
	return tap_done();
}
