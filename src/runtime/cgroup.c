/* cgroup.c - cgroup layout detection, the driver-independent entry points and
 * the small cgroupfs file helpers both drivers use.
 *
 * A Cgroup hides its driver: cg_create() detects the layout once and picks the
 * v1 driver (cgroup-v1.c, also for the hybrid layout, whose unified/ mount is
 * ignored for limits) or the v2 driver (cgroup-v2.c).  Everything is plain
 * file I/O under a mount root so that tests can point it at a fake tree. */
#include "cgroup-internal.h"
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"

const char *cg_mode_name(CgMode m)
{
	switch (m) {
	case CG_MODE_V1: return "v1";
	case CG_MODE_HYBRID: return "hybrid (v1 controllers + v2 unified)";
	case CG_MODE_V2: return "v2";
	}
	return "unknown";
}

/* Decide by files rather than statfs magic so that tests can point the
 * detection at a fake tree: v2 has cgroup.controllers at the top; v1 has a
 * directory per controller; hybrid additionally has unified/cgroup.controllers. */
int cg_detect(const char *mountroot, CgMode *ret, Error **err)
{
	_cleanup_free_ char *top = fs_join(mountroot, "cgroup.controllers");
	if (fs_exists(top)) {
		*ret = CG_MODE_V2;
		return 0;
	}
	_cleanup_free_ char *mem = fs_join(mountroot, "memory");
	if (!fs_is_dir(mem))
		return err_set(err, ENOTSUP, "cgroups: no v2 mount and no v1 memory controller under '%s'", mountroot);
	_cleanup_free_ char *uni = fs_join(mountroot, "unified/cgroup.controllers");
	*ret = fs_exists(uni) ? CG_MODE_HYBRID : CG_MODE_V1;
	return 0;
}

/* ------------------------------------------------------------ file helpers */

int cg_write(const char *dir, const char *file, const char *value, Error **err)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return err_set(err, ENAMETOOLONG, "cgroup path '%s/%s' too long", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	int r = fs_write_all(fd, value, strlen(value));
	if (r < 0)
		return err_sys(err, r, "write '%s' to '%s'", value, path);
	return 0;
}

int cg_writef(const char *dir, const char *file, Error **err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cg_write(dir, file, buf, err);
}

bool cg_has(const char *dir, const char *file)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

int cg_read(const char *dir, const char *file, char *buf, size_t size, Error **err)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return err_set(err, ENAMETOOLONG, "cgroup path '%s/%s' too long", dir, file);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	ssize_t n = fs_read_full(fd, buf, size - 1);
	if (n < 0)
		return err_sys(err, (int)n, "read '%s'", path);
	buf[n] = 0;
	return 0;
}

int cg_read_int(const char *dir, const char *file, int64_t max_value, int64_t *ret, Error **err)
{
	char buf[64];
	int r = cg_read(dir, file, buf, sizeof(buf), err);
	if (r < 0)
		return r;
	buf[strcspn(buf, " \n")] = 0;
	if (!strcmp(buf, "max")) {
		*ret = max_value;
		return 0;
	}
	if (parse_int64(buf, ret) < 0)
		return err_set(err, EINVAL, "cgroup file '%s/%s': not a number: '%s'", dir, file, buf);
	return 0;
}

bool cg_kv_find(const char *content, const char *key, int64_t *ret)
{
	size_t klen = strlen(key);
	for (const char *p = content; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) || p[klen] != ' ')
			continue;
		char *end;
		errno = 0;
		long long v = strtoll(p + klen + 1, &end, 10);
		if (errno || end == p + klen + 1)
			return false;
		*ret = v;
		return true;
	}
	return false;
}

int cg_procs_read(const char *dir, pid_t **ret, size_t *ret_n, Error **err)
{
	_cleanup_free_ char *path = fs_join(dir, "cgroup.procs");
	_cleanup_free_ char *buf = NULL;
	int r = fs_read_file(path, BERTH_MAX_CGROUP_PROCS, &buf, NULL, err);
	if (r < 0)
		return r;
	size_t n = 0, cap = 16;
	_cleanup_free_ pid_t *pids = xmalloc(cap * sizeof(*pids));
	for (char *p = buf, *end; *p; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		while (*end == '\n' || *end == ' ')
			end++;
		if (v <= 0)
			continue;
		if (n == cap)
			pids = xrealloc(pids, (cap *= 2) * sizeof(*pids));
		pids[n++] = (pid_t)v;
	}
	*ret = TAKE_PTR(pids);
	*ret_n = n;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Without a freezer a fork can race with the kill; repeating until the list
 * stays empty (or `rounds` runs out) closes that race for SIGKILL. */
int cg_procs_kill(const char *dir, int sig, int rounds, Error **err)
{
	for (int i = 0; i < rounds; i++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		int r = cg_procs_read(dir, &pids, &n, err);
		if (r < 0)
			return r;
		if (n == 0)
			return 0;
		for (size_t k = 0; k < n; k++)
			if (kill(pids[k], sig) < 0 && errno != ESRCH)
				return err_sys(err, errno, "kill %d in cgroup '%s'", (int)pids[k], dir);
		if (sig != SIGKILL)
			return 0;
		sleep_ms(i < 5 ? 1 : 10);
	}
	return 0;
}

int cg_rmdir(const char *dir, Error **err)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return err_sys(err, errno, "remove cgroup '%s'", dir);
		sleep_ms(i < 10 ? 1 : 10);
	}
	return err_sys(err, EBUSY, "remove cgroup '%s'", dir);
}

/* ---------------------------------------------------- host hierarchies */

/* Keep only what names the hierarchy in v1 super options: the controllers
 * and name=; "none," marks a named hierarchy without controllers. */
static char *v1_mount_data(const char *superopts)
{
	_cleanup_free_ char *copy = xstrdup(superopts);
	char out[512] = "";
	bool controllers = false;
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		static const char *const skip[] = { "rw", "ro", "xattr", "noprefix", "clone_children",
						    "cpuset_v2_mode", "favordynmods", "nsdelegate" };
		bool drop = strchr(o, '=') && !str_has_prefix(o, "name=");
		for (size_t i = 0; i < ARRAY_SIZE(skip) && !drop; i++)
			drop = !strcmp(o, skip[i]);
		if (drop || strlen(out) + strlen(o) + 2 >= sizeof(out))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, o);
		controllers |= !str_has_prefix(o, "name=");
	}
	return controllers ? xstrdup(out) : xasprintf("none,%s", out);
}

int cg_host_hierarchies(CgHier **ret, size_t *ret_n, Error **err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return err_sys(err, errno, "open '/proc/self/mountinfo'");
	size_t n = 0, cap = 16;
	CgHier *h = xcalloc(cap, sizeof(*h));
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char fstype[32], superopts[1024], mp[2048];
		if (sscanf(sep + 3, "%31s %*s %1023s", fstype, superopts) != 2 ||
		    sscanf(line, "%*s %*s %*s %*s %2047s", mp) != 1)
			continue;
		bool v2 = !strcmp(fstype, "cgroup2");
		if (!v2 && strcmp(fstype, "cgroup"))
			continue;
		if (n == cap)
			h = xrealloc(h, (cap *= 2) * sizeof(*h));
		h[n].mountpoint = xstrdup(mp);
		h[n].opts = v2 ? xstrdup("") : v1_mount_data(superopts);
		h[n].v2 = v2;
		n++;
	}
	*ret = h;
	*ret_n = n;
	return 0;
}

void cg_hierarchies_free(CgHier *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].mountpoint);
		free(h[i].opts);
	}
	free(h);
}

static const CgHier *hier_for(const CgHier *h, size_t n, const char *ctrls)
{
	for (size_t i = 0; i < n; i++) {
		if (!*ctrls) {
			if (h[i].v2)
				return &h[i];
			continue;
		}
		const char *o = h[i].opts;
		if (str_has_prefix(o, "none,"))
			o += 5;
		if (!h[i].v2 && !strcmp(o, ctrls))
			return &h[i];
	}
	return NULL;
}

int cg_join_like(pid_t target, pid_t pid, Error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)target);
	_cleanup_free_ char *buf = NULL;
	int r = fs_read_file(path, 1u << 20, &buf, NULL, err);
	if (r < 0)
		return r;
	CgHier *h = NULL;
	size_t n = 0;
	if ((r = cg_host_hierarchies(&h, &n, err)) < 0)
		return r;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const CgHier *hh = hier_for(h, n, c1 + 1);
		if (!hh)
			continue; /* a hierarchy the host does not mount: nothing to join */
		_cleanup_free_ char *dir = xasprintf("%s%s", hh->mountpoint, c2 + 1);
		r = cg_writef(dir, "cgroup.procs", err, "%d", (int)pid);
	}
	cg_hierarchies_free(h, n);
	return r < 0 ? r : 0;
}

/* --------------------------------------------------------- public API */

static bool path_is_clean(const char *path)
{
	if (!*path || *path == '/' || strlen(path) > 1024)
		return false;
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p)
			p++;
	}
	return true;
}

int cg_create(const char *mountroot, const char *path, Cgroup **ret, Error **err)
{
	if (!path_is_clean(path))
		return err_set(err, EINVAL, "cgroup path '%s' must be relative, without '.' or '..'", path);
	CgMode mode;
	int r = cg_detect(mountroot, &mode, err);
	if (r < 0)
		return r;
	Cgroup *cg = xcalloc(1, sizeof(*cg));
	cg->mode = mode;
	cg->ops = mode == CG_MODE_V2 ? &cg_v2_ops : &cg_v1_ops;
	cg->root = xstrdup(mountroot);
	cg->path = xstrdup(path);
	for (int i = 0; i < CG1_N; i++)
		cg->alias[i] = -1;
	r = cg->ops->create(cg, err);
	if (r < 0) {
		err_prefix(err, "cgroup '%s'", path);
		cg_free(cg);
		return r;
	}
	*ret = cg;
	return 0;
}

int cg_apply(Cgroup *cg, const CgLimits *lim, Error **err)
{
	int r = cg->ops->apply(cg, lim, err);
	return r < 0 ? err_prefix(err, "cgroup '%s': set limits", cg->path) : 0;
}

int cg_add_pid(Cgroup *cg, pid_t pid, Error **err)
{
	int r = cg->ops->add_pid(cg, pid, err);
	return r < 0 ? err_prefix(err, "cgroup '%s': add pid %d", cg->path, (int)pid) : 0;
}

int cg_stats(Cgroup *cg, CgStats *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	int r = cg->ops->stats(cg, ret, err);
	return r < 0 ? err_prefix(err, "cgroup '%s': stats", cg->path) : 0;
}

int cg_pids(Cgroup *cg, pid_t **ret, size_t *ret_n, Error **err)
{
	int r = cg_procs_read(cg->ops->procs_dir(cg), ret, ret_n, err);
	return r < 0 ? err_prefix(err, "cgroup '%s': list pids", cg->path) : 0;
}

int cg_kill_all(Cgroup *cg, int sig, Error **err)
{
	int r = cg->ops->kill_all(cg, sig, err);
	return r < 0 ? err_prefix(err, "cgroup '%s': kill", cg->path) : 0;
}

int cg_destroy(Cgroup *cg, Error **err)
{
	int r = cg->ops->destroy(cg, err);
	return r < 0 ? err_prefix(err, "cgroup '%s'", cg->path) : 0;
}

void cg_free(Cgroup *cg)
{
	if (!cg)
		return;
	for (int i = 0; i < CG1_N; i++)
		free(cg->dirs[i]);
	free(cg->root);
	free(cg->path);
	free(cg);
}

const char *cg_memory_path(const Cgroup *cg)
{
	return cg->dirs[0] ? cg->dirs[0] : cg->ops->procs_dir(cg);
}
