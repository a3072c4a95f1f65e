/* ref.c - image references, parsed and normalised as Docker does.
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] component ("/" component)*
 * The first component is a domain when it contains "." or ":" or is
 * "localhost"; otherwise the domain is docker.io, and single-component
 * docker.io names live under "library/".  Components are lowercase
 * alphanumerics joined by ".", "_", "__" or dashes; tags are
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are sha256:<64 hex>.  A name
 * without tag or digest gets ":latest".  Everything here is pure string work.
 */
#include "image-internal.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <ctype.h>
#include <string.h>

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* One path component: alnum runs joined by separators [._] | "__" | "-"+ */
static bool component_valid(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_lower_alnum(s[i]))
			continue;
		if (s[i] == '.') {
			if (!is_lower_alnum(s[i + 1]))
				return false;
		} else if (s[i] == '_') {
			if (s[i + 1] == '_')
				i++;
			if (!is_lower_alnum(s[i + 1]))
				return false;
		} else if (s[i] == '-') {
			while (s[i + 1] == '-')
				i++;
			if (!is_lower_alnum(s[i + 1]))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

/* host[:port]: DNS labels or a bracketed IPv6 address, then digits */
static bool domain_valid(const char *s, size_t n)
{
	size_t host_end = n;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		host_end = (size_t)(close - s) + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			host_end = (size_t)(colon - s);
		if (host_end == 0)
			return false;
		size_t label = 0;
		for (size_t i = 0; i < host_end; i++) {
			char c = s[i];
			if (c == '.') {
				if (label == 0 || s[i - 1] == '-')
					return false;
				label = 0;
				continue;
			}
			if (!isalnum((unsigned char)c) && c != '-')
				return false;
			if (label == 0 && c == '-')
				return false;
			label++;
		}
		if (label == 0 || s[host_end - 1] == '-')
			return false;
	}
	if (host_end == n)
		return true;
	if (s[host_end] != ':' || host_end + 1 == n)
		return false;
	for (size_t i = host_end + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128)
		return false;
	if (!isalnum((unsigned char)t[0]) && t[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

void ref_parts_release(RefParts *p)
{
	free(p->domain);
	free(p->path);
	free(p->tag);
	free(p->digest);
	*p = (RefParts){ 0 };
}

static int bad_ref(Error **err, const char *s, const char *why)
{
	if (why)
		return err_set(err, EINVAL, "invalid reference format: '%s': %s", s, why);
	return err_set(err, EINVAL, "invalid reference format: '%s'", s);
}

int ref_parse(const char *s, RefParts *p, Error **err)
{
	*p = (RefParts){ 0 };
	size_t len = strlen(s);
	if (len == 0)
		return bad_ref(err, s, "empty reference");
	if (len > BERTH_MAX_REPO_NAME + 128 + 80)
		return bad_ref(err, s, "too long");
	_cleanup_free_ char *work = xstrdup(s);
	char *at = strchr(work, '@');
	if (at) {
		*at = 0;
		const char *d = at + 1;
		if (!digest_valid(d))
			return bad_ref(err, s, "digest must be sha256: and 64 lowercase hex digits");
		p->digest = xstrdup(d);
	}
	char *slash = strrchr(work, '/');
	char *colon = strrchr(slash ? slash : work, ':');
	if (colon) {
		*colon = 0;
		if (!tag_valid(colon + 1)) {
			ref_parts_release(p);
			return bad_ref(err, s, "invalid tag");
		}
		p->tag = xstrdup(colon + 1);
	}
	size_t nlen = strlen(work);
	if (nlen == 0) {
		ref_parts_release(p);
		return bad_ref(err, s, "empty repository name");
	}
	const char *rest = work;
	char *first_slash = strchr(work, '/');
	if (first_slash) {
		size_t dn = (size_t)(first_slash - work);
		bool is_domain = memchr(work, '.', dn) || memchr(work, ':', dn) ||
				 (dn == 9 && !strncmp(work, "localhost", 9));
		if (is_domain) {
			if (!domain_valid(work, dn)) {
				ref_parts_release(p);
				return bad_ref(err, s, "invalid registry host");
			}
			p->domain = xstrndup(work, dn);
			rest = first_slash + 1;
		}
	}
	if (!p->domain)
		p->domain = xstrdup("docker.io");
	if (!strcmp(p->domain, "index.docker.io")) {
		free(p->domain);
		p->domain = xstrdup("docker.io");
	}
	/* validate the path components */
	const char *c = rest;
	size_t ncomp = 0;
	for (;;) {
		const char *e = strchr(c, '/');
		size_t cn = e ? (size_t)(e - c) : strlen(c);
		if (!component_valid(c, cn)) {
			bool upper = has_upper(c, cn);
			ref_parts_release(p);
			return bad_ref(err, s, upper ? "repository name must be lowercase" : NULL);
		}
		ncomp++;
		if (!e)
			break;
		c = e + 1;
	}
	if (ncomp == 1 && str_is_hex(rest, 64) && !strcmp(p->domain, "docker.io")) {
		ref_parts_release(p);
		return bad_ref(err, s, "cannot use a 64-character hexadecimal string as a repository name");
	}
	if (!strcmp(p->domain, "docker.io") && ncomp == 1)
		p->path = xasprintf("library/%s", rest);
	else
		p->path = xstrdup(rest);
	if (strlen(p->domain) + 1 + strlen(p->path) > BERTH_MAX_REPO_NAME) {
		ref_parts_release(p);
		return bad_ref(err, s, "repository name longer than 255 characters");
	}
	return 0;
}

int img_ref_normalize(const char *ref, char **ret, Error **err)
{
	RefParts p;
	int r = ref_parse(ref, &p, err);
	if (r < 0)
		return r;
	StrBuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s/%s", p.domain, p.path);
	if (p.tag)
		sb_addf(&sb, ":%s", p.tag);
	if (p.digest)
		sb_addf(&sb, "@%s", p.digest);
	else if (!p.tag)
		sb_adds(&sb, ":latest");
	ref_parts_release(&p);
	*ret = sb_detach(&sb);
	return 0;
}

char *img_ref_short(const char *full)
{
	if (str_has_prefix(full, "docker.io/library/"))
		return xstrdup(full + strlen("docker.io/library/"));
	if (str_has_prefix(full, "docker.io/"))
		return xstrdup(full + strlen("docker.io/"));
	return xstrdup(full);
}

char *ref_repo(const char *full)
{
	size_t n = strcspn(full, "@");
	const char *slash = memrchr(full, '/', n);
	const char *colon = memrchr(slash ? slash : full, ':', n - (size_t)((slash ? slash : full) - full));
	if (colon)
		n = (size_t)(colon - full);
	return xstrndup(full, n);
}

void img_ref_split(const char *full, char **ret_repo, char **ret_tag)
{
	_cleanup_free_ char *repo_full = ref_repo(full);
	*ret_repo = img_ref_short(repo_full);
	const char *rest = full + strlen(repo_full);
	if (*rest == ':') {
		size_t n = strcspn(rest + 1, "@");
		*ret_tag = xstrndup(rest + 1, n);
	} else {
		*ret_tag = xstrdup("<none>");
	}
}
