/* user.c - "user[:group]" -> uid, gid, supplementary groups and home, the way
 * Docker resolves a container's USER against the image's /etc/passwd and
 * /etc/group.
 *
 * Rules (Docker's): a number need not exist in passwd (gid 0, home "/" then);
 * a name must ("unable to find user x: no matching entries in passwd file");
 * an explicit group replaces the passwd gid and suppresses supplementary
 * groups; without one, every /etc/group entry listing the user adds a
 * supplementary gid.  The files are opened with RESOLVE_IN_ROOT so a symlink
 * in the image cannot point the lookup outside the rootfs. */
#include "runtime.h"
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "../base/fs.h"
#include "../base/limits.h"

typedef struct Account {
	char *name, *home;
	uint32_t id, gid;
	char *members;       /* group: comma-separated member names */
} Account;

static bool parse_id(const char *s, uint32_t *ret)
{
	if (!*s || strlen(s) > 10)
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > INT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Read rootfs/<rel> without leaving rootfs; a missing file is empty. */
static int read_in_root(const char *rootfs, const char *rel, char **ret, Error **err)
{
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys(err, errno, "open rootfs '%s'", rootfs);
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		*ret = xstrdup("");
		return 0;
	}
	if (fd < 0)
		return err_sys(err, errno, "open '%s' in '%s'", rel, rootfs);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = fs_read_file(path, BERTH_MAX_ACCOUNT_FILE, ret, NULL, err);
	return r < 0 ? err_prefix(err, "read '%s' in '%s'", rel, rootfs) : 0;
}

/* Split one passwd/group line in place into at most n fields. */
static size_t split_fields(char *line, char **f, size_t n)
{
	size_t k = 0;
	f[k++] = line;
	for (char *p = line; *p && k < n; p++)
		if (*p == ':') {
			*p = 0;
			f[k++] = p + 1;
		}
	return k;
}

/* Find a passwd entry by name (name != NULL) or by uid. Fills a (borrowing buf). */
static bool passwd_find(char *buf, const char *name, uint32_t uid, Account *a)
{
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7];
		if (line[0] == '#' || split_fields(line, f, 7) < 7)
			continue;
		uint32_t id, gid;
		if (!parse_id(f[2], &id) || !parse_id(f[3], &gid))
			continue;
		if (name ? strcmp(f[0], name) : id != uid)
			continue;
		a->name = f[0];
		a->id = id;
		a->gid = gid;
		a->home = f[5];
		return true;
	}
	return false;
}

static bool member_of(const char *members, const char *user)
{
	size_t n = strlen(user);
	for (const char *p = members; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncmp(p, user, n))
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

static int resolve_group(const char *rootfs, const char *group, gid_t *gid, Error **err)
{
	uint32_t id;
	if (parse_id(group, &id)) {
		*gid = id;
		return 0;
	}
	_cleanup_free_ char *buf = NULL;
	int r = read_in_root(rootfs, "/etc/group", &buf, err);
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		if (split_fields(line, f, 4) >= 3 && !strcmp(f[0], group) && parse_id(f[2], &id)) {
			*gid = id;
			return 0;
		}
	}
	return err_set(err, ENOENT, "unable to find group %s: no matching entries in group file", group);
}

static int supplementary_groups(const char *rootfs, const char *user, gid_t **ret, size_t *ret_n, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	int r = read_in_root(rootfs, "/etc/group", &buf, err);
	if (r < 0)
		return r;
	size_t n = 0, cap = 8;
	_cleanup_free_ gid_t *g = xmalloc(cap * sizeof(*g));
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		uint32_t id;
		if (split_fields(line, f, 4) < 4 || !parse_id(f[2], &id) || !member_of(f[3], user))
			continue;
		if (n == NGROUPS_MAX)
			break;
		if (n == cap)
			g = xrealloc(g, (cap *= 2) * sizeof(*g));
		g[n++] = id;
	}
	*ret = TAKE_PTR(g);
	*ret_n = n;
	return 0;
}

int rt_resolve_user(const char *rootfs, const char *spec, uid_t *uid, gid_t *gid, gid_t **groups,
		    size_t *n_groups, char **ret_home, Error **err)
{
	_cleanup_free_ char *user = xstrdup(spec ? spec : "");
	char *group = strchr(user, ':');
	if (group)
		*group++ = 0;
	if (!*user)
		strcpy(user, "0");
	_cleanup_free_ char *passwd = NULL;
	int r = read_in_root(rootfs, "/etc/passwd", &passwd, err);
	if (r < 0)
		return r;
	Account a = { 0 };
	uint32_t id = 0;
	bool numeric = parse_id(user, &id);
	bool found = passwd_find(passwd, numeric ? NULL : user, id, &a);
	if (!found && !numeric)
		return err_set(err, ENOENT, "unable to find user %s: no matching entries in passwd file", user);
	*uid = found ? a.id : id;
	*gid = found ? a.gid : 0;
	*groups = NULL;
	*n_groups = 0;
	if (group && *group) {
		if ((r = resolve_group(rootfs, group, gid, err)) < 0)
			return r;
	} else if (found && (r = supplementary_groups(rootfs, a.name, groups, n_groups, err)) < 0) {
		return r;
	}
	if (ret_home)
		*ret_home = xstrdup(found && a.home && *a.home ? a.home : "/");
	return 0;
}
