/* fuzz-registry-path.c - the registry's request-line grammar fed arbitrary
 * bytes: path routing (names, references, upload ids), Range and
 * Content-Range values, ACL text, bearer tokens, Accept lists and
 * url-encoded token forms.  Beyond sanitizer
 * findings it checks the property storage relies on: a routed name is
 * valid and never contains "..", a leading "/" or a "_" component. */
#include "../../src/registry/reg-internal.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	RegPath p;
	const char *code;
	reg_path_parse(s, &p, &code);
	if (p.name) {
		if (!reg_name_valid(p.name) || strstr(p.name, "..") || p.name[0] == '/' || strstr(p.name, "/_"))
			abort();
	}
	reg_path_release(&p);
	uint64_t a, b;
	bool open_end;
	if (reg_range_parse(s, true, &a, &b, &open_end) == 0 && !open_end && b < a)
		abort();
	reg_range_parse(s, false, &a, &b, &open_end);
	json_t *acl = NULL;
	if (reg_acl_parse(s, &acl, NULL) == 0) {
		reg_acl_eval(acl, "user", "team-a/app");
		json_decref(acl);
	}
	const char *acc[] = { s, "application/json" };
	bool a1 = reg_accept_allows(acc, 1, REG_MT_OCI_MANIFEST);
	bool a2 = reg_accept_allows(acc, 2, REG_MT_OCI_MANIFEST);
	(void)a1;
	(void)a2;
	for (size_t i = 0; i < 3; i++) {
		char *v = NULL;
		if (reg_form_get(s, strlen(s), "scope", i, &v) == 0) {
			if (strlen(v) > strlen(s))
				abort();
			free(v);
		}
	}
	unsigned char *raw = NULL;
	size_t n;
	if (reg_b64_decode(s, strlen(s), &raw, &n) == 0)
		free(raw);
	free(s);
	return 0;
}
