/* name.c - the small grammars of the distribution API: repository names,
 * tags, digests, upload ids, request paths and byte ranges.  Pure string
 * work on untrusted input (fuzzed by tests/fuzz/fuzz-registry-path.c):
 * nothing here allocates more than the input's length.
 *
 * Names are components [a-z0-9]+ joined by ".", "_", "__" or "-"+, separated
 * by "/", at most BERTH_MAX_REPO_NAME bytes; so no component can be "..",
 * start with "_" (our storage keeps "_layers", "_manifests" beside them) or
 * smuggle a path trick into the storage layout.
 */
#include "reg-internal.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include <string.h>

static bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool component_valid(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (lower_alnum(s[i]))
			continue;
		if (s[i] == '.' || s[i] == '_') {
			if (s[i] == '_' && s[i + 1] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i + 1 < n && s[i + 1] == '-')
				i++;
		} else {
			return false;
		}
		if (i + 1 >= n || !lower_alnum(s[i + 1]))
			return false;
	}
	return true;
}

bool reg_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > BERTH_MAX_REPO_NAME)
		return false;
	const char *p = name;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (!component_valid(p, n))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

bool reg_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = tag[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			  (i > 0 && (c == '.' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

bool reg_reference_valid(const char *ref)
{
	return digest_valid(ref) || reg_tag_valid(ref);
}

bool reg_upload_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

void reg_path_release(RegPath *p)
{
	free(p->name);
	free(p->ref);
	p->name = p->ref = NULL;
}

static bool looks_like_digest(const char *s) { return strchr(s, ':') != NULL; }

/* name = path[0..n), checked; ref checked by the caller's rule */
static void set_route(RegPath *ret, RegRoute rt, const char *name, size_t n, const char *ref,
		      const char **code)
{
	_cleanup_free_ char *nm = xstrndup(name, n);
	if (!reg_name_valid(nm)) {
		*code = "NAME_INVALID";
		return;
	}
	if (ref) {
		bool ok;
		if (rt == RT_MANIFEST)
			ok = reg_reference_valid(ref);
		else if (rt == RT_UPLOAD)
			ok = reg_upload_id_valid(ref);
		else
			ok = digest_valid(ref);
		if (!ok) {
			*code = rt == RT_UPLOAD ? "BLOB_UPLOAD_UNKNOWN"
				: (rt == RT_MANIFEST && !looks_like_digest(ref)) ? "TAG_INVALID" : "DIGEST_INVALID";
			return;
		}
	}
	ret->route = rt;
	ret->name = TAKE_PTR(nm);
	ret->ref = ref ? xstrdup(ref) : NULL;
}

/* Find the segment before position end (exclusive, end points at a '/'). */
static const char *prev_segment(const char *start, const char *end, size_t *ret_len)
{
	const char *p = end;
	while (p > start && p[-1] != '/')
		p--;
	*ret_len = (size_t)(end - p);
	return p;
}

void reg_path_parse(const char *path, RegPath *ret, const char **ret_code)
{
	memset(ret, 0, sizeof(*ret));
	*ret_code = NULL;
	if (!strcmp(path, "/v2/") || !strcmp(path, "/v2"))
		ret->route = RT_BASE;
	else if (!strcmp(path, "/v2/_catalog"))
		ret->route = RT_CATALOG;
	else if (!strcmp(path, "/token"))
		ret->route = RT_TOKEN;
	else if (!strcmp(path, "/metrics"))
		ret->route = RT_METRICS;
	if (ret->route != RT_NONE || !str_has_prefix(path, "/v2/"))
		return;
	const char *s = path + 4;
	size_t len = strlen(s);
	if (len > BERTH_MAX_REPO_NAME + 256)
		return;
	if (str_has_suffix(s, "/tags/list")) {
		set_route(ret, RT_TAGS, s, len - 10, NULL, ret_code);
		return;
	}
	const char *slash = strrchr(s, '/');
	if (!slash || slash == s)
		return;
	const char *tail = slash + 1;
	size_t n1, n2 = 0;
	const char *seg1 = prev_segment(s, slash, &n1);
	const char *seg2 = seg1 > s + 1 ? prev_segment(s, seg1 - 1, &n2) : NULL;
	if (n1 == 7 && !memcmp(seg1, "uploads", 7) && seg2 && n2 == 5 && !memcmp(seg2, "blobs", 5) && seg2 > s + 1) {
		size_t nn = (size_t)(seg2 - 1 - s);
		if (*tail)
			set_route(ret, RT_UPLOAD, s, nn, tail, ret_code);
		else
			set_route(ret, RT_UPLOADS, s, nn, NULL, ret_code);
		return;
	}
	if (seg1 <= s + 1)
		return;
	size_t nn = (size_t)(seg1 - 1 - s);
	if (n1 == 5 && !memcmp(seg1, "blobs", 5)) {
		if (!strcmp(tail, "uploads"))
			set_route(ret, RT_UPLOADS, s, nn, NULL, ret_code);
		else
			set_route(ret, RT_BLOB, s, nn, tail, ret_code);
	} else if (n1 == 9 && !memcmp(seg1, "manifests", 9)) {
		set_route(ret, RT_MANIFEST, s, nn, tail, ret_code);
	} else if (n1 == 9 && !memcmp(seg1, "referrers", 9)) {
		set_route(ret, RT_REFERRERS, s, nn, tail, ret_code);
	}
}

static int parse_u64(const char *s, size_t n, uint64_t *ret)
{
	if (n == 0 || n > 19)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

int reg_range_parse(const char *s, bool bytes_prefix, uint64_t *ret_start, uint64_t *ret_end, bool *ret_open)
{
	if (bytes_prefix) {
		if (!str_has_prefix(s, "bytes="))
			return -EINVAL;
		s += 6;
	}
	const char *dash = strchr(s, '-');
	if (!dash || strchr(dash + 1, '-') || strchr(s, ','))
		return -EINVAL;
	if (parse_u64(s, (size_t)(dash - s), ret_start) < 0)
		return -EINVAL;
	*ret_open = dash[1] == '\0';
	if (*ret_open) {
		if (!bytes_prefix)
			return -EINVAL;
		*ret_end = UINT64_MAX;
		return 0;
	}
	if (parse_u64(dash + 1, strlen(dash + 1), ret_end) < 0 || *ret_end < *ret_start)
		return -EINVAL;
	return 0;
}
