/* fuzz-chartrepo.c - untrusted text of chart repositories and .Files: the
 * first byte picks the target.  0: a repository index.yaml
 * (chart_repo_parse_index: YAML, apiVersion check, versions sorted with
 * semver); 1: a .Files.Glob pattern and a file name separated by a NUL
 * (gobwas/glob syntax: braces, classes, escapes; backtracking is bounded).
 */
#include "../../src/chart/chart-internal.h"
#include "../../src/chart/value.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] % 2 == 0) {
		json_t *idx = NULL;
		Error *e = NULL;
		int rc = chart_repo_parse_index(p, n, "index.yaml", &idx, &e);
		if (rc < 0 && !e)
			__builtin_trap();      /* a failure always says why */
		if (rc == 0 && !json_is_object(json_object_get(idx, "entries")))
			__builtin_trap();
		json_decref(idx);
		err_free(e);
		return 0;
	}
	if (n > 1024)
		return 0;
	char buf[1026];
	memcpy(buf, p, n);
	buf[n] = 0;
	const char *name = memchr(buf, 0, n) ? buf + strlen(buf) + 1 : "";
	if (name > buf + n)
		name = "";
	Arena *a = arena_new(64u << 20);
	int m = chart_glob_match(a, buf, name);
	if (m < -1 || m > 1)
		__builtin_trap();
	arena_free(a);
	return 0;
}
