/* cgroup-v1.c - the cgroup v1 driver (also used on hybrid hosts).
 *
 * v1 has one hierarchy per controller (or a few co-mounted ones, such as
 * "cpu,cpuacct" behind two symlinks).  The container gets the same relative
 * path in every hierarchy berth uses; co-mounted controllers are detected by
 * inode and handled once.  A fresh cpuset cgroup has empty cpus/mems and
 * refuses tasks, so those are copied down from the parent level by level.
 * The hybrid layout's unified/ mount is ignored: limits live in v1. */
#include "cgroup-internal.h"
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "../base/fs.h"

const char *const cg1_names[CG1_N] = {
	[CG1_MEMORY] = "memory", [CG1_CPU] = "cpu", [CG1_CPUACCT] = "cpuacct",
	[CG1_PIDS] = "pids", [CG1_CPUSET] = "cpuset", [CG1_DEVICES] = "devices",
	[CG1_FREEZER] = "freezer", [CG1_BLKIO] = "blkio",
	[CG1_SYSTEMD] = "systemd", /* name=systemd: no controller, but placing the
				    * container there keeps the host tree out of its view */
};

/* Docker's default device allowlist (what a non-privileged container may open
 * or mknod): every node may be created, only these may be used. */
static const char *const default_device_rules[] = {
	"c *:* m", "b *:* m",
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", /* null zero full random urandom */
	"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",                           /* tty console ptmx */
	"c 136:* rwm",                                                   /* /dev/pts/N */
	"c 10:200 rwm",                                                  /* tun */
};

static const char *dir_of(const Cgroup *cg, int i)
{
	if (cg->dirs[i])
		return cg->dirs[i];
	return cg->alias[i] >= 0 ? cg->dirs[cg->alias[i]] : NULL;
}

static bool blank(const char *s)
{
	return s[strspn(s, " \n\t")] == 0;
}

/* Walk the levels of cg->path in the cpuset hierarchy and fill empty
 * cpuset.cpus / cpuset.mems from the level above. */
static int cpuset_fill(const Cgroup *cg, const char *hier, Error **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *parent = xstrdup(hier);
	for (const char *p = cg->path; *p;) {
		size_t len = strcspn(p, "/");
		_cleanup_free_ char *dir = xasprintf("%s/%.*s", parent, (int)len, p);
		for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
			char cur[4096], up[4096];
			int r = cg_read(dir, files[f], cur, sizeof(cur), err);
			if (r < 0)
				return r;
			if (!blank(cur))
				continue;
			r = cg_read(parent, files[f], up, sizeof(up), err);
			if (r < 0)
				return r;
			up[strcspn(up, "\n")] = 0;
			r = cg_write(dir, files[f], up, err);
			if (r < 0)
				return r;
		}
		free(parent);
		parent = TAKE_PTR(dir);
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

static int v1_create(Cgroup *cg, Error **err)
{
	struct stat seen[CG1_N];
	for (int i = 0; i < CG1_N; i++) {
		_cleanup_free_ char *hier = fs_join(cg->root, cg1_names[i]);
		if (stat(hier, &seen[i]) < 0 || !S_ISDIR(seen[i].st_mode)) {
			if (i == CG1_MEMORY)
				return err_sys(err, errno ? errno : ENOTDIR, "v1 memory hierarchy '%s'", hier);
			seen[i].st_ino = 0;
			continue;
		}
		for (int k = 0; k < i; k++)
			if (seen[k].st_ino && seen[k].st_ino == seen[i].st_ino && seen[k].st_dev == seen[i].st_dev)
				cg->alias[i] = k;
		if (cg->alias[i] >= 0)
			continue;
		cg->dirs[i] = fs_join(hier, cg->path);
		int r = fs_mkdir_p(cg->dirs[i], 0755, err);
		if (r < 0)
			return r;
		if (i == CG1_CPUSET && (r = cpuset_fill(cg, hier, err)) < 0)
			return r;
	}
	return 0;
}

static int apply_memory(Cgroup *cg, const CgLimits *lim, Error **err)
{
	const char *dir = cg->dirs[CG1_MEMORY];
	if (lim->memory_bytes <= 0)
		return 0;
	if (lim->memory_swap > 0 && lim->memory_swap < lim->memory_bytes)
		return err_set(err, EINVAL, "memory+swap limit %lld is below the memory limit %lld",
			       (long long)lim->memory_swap, (long long)lim->memory_bytes);
	bool memsw = cg_has(dir, "memory.memsw.limit_in_bytes");
	int64_t sw = lim->memory_swap == 0 ? lim->memory_bytes : lim->memory_swap;
	_cleanup_err_ Error *first = NULL;
	int r = cg_writef(dir, "memory.limit_in_bytes", &first, "%lld", (long long)lim->memory_bytes);
	if (r == -EINVAL && memsw) {
		/* raising above the current memsw limit: memsw has to move first */
		r = cg_writef(dir, "memory.memsw.limit_in_bytes", err, "%lld", (long long)sw);
		if (r < 0)
			return r;
		return cg_writef(dir, "memory.limit_in_bytes", err, "%lld", (long long)lim->memory_bytes);
	}
	if (r < 0) {
		if (err && !*err)
			*err = TAKE_PTR(first);
		return r;
	}
	return memsw ? cg_writef(dir, "memory.memsw.limit_in_bytes", err, "%lld", (long long)sw) : 0;
}

static int apply_devices(Cgroup *cg, bool allow_all, Error **err)
{
	const char *dir = cg->dirs[CG1_DEVICES];
	if (!dir)
		return 0;
	if (allow_all)
		return cg_write(dir, "devices.allow", "a", err);
	int r = cg_write(dir, "devices.deny", "a", err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = fs_join(dir, "devices.allow");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", path);
	for (size_t i = 0; i < ARRAY_SIZE(default_device_rules); i++) {
		/* one rule per write(): the kernel parses each write on its own */
		r = fs_write_all(fd, default_device_rules[i], strlen(default_device_rules[i]));
		if (r < 0)
			return err_sys(err, r, "write '%s' to '%s'", default_device_rules[i], path);
	}
	return 0;
}

static int v1_apply(Cgroup *cg, const CgLimits *lim, Error **err)
{
	int r = apply_memory(cg, lim, err);
	const char *cpu = dir_of(cg, CG1_CPU);
	if (r >= 0 && cpu && lim->cpu_milli > 0) {
		int64_t period = 100000, quota = lim->cpu_milli * period / 1000;
		if (quota < 1000)
			quota = 1000;
		r = cg_writef(cpu, "cpu.cfs_period_us", err, "%lld", (long long)period);
		if (r >= 0)
			r = cg_writef(cpu, "cpu.cfs_quota_us", err, "%lld", (long long)quota);
	}
	if (r >= 0 && cpu && lim->cpu_shares > 0) {
		int64_t s = lim->cpu_shares < 2 ? 2 : lim->cpu_shares > 262144 ? 262144 : lim->cpu_shares;
		r = cg_writef(cpu, "cpu.shares", err, "%lld", (long long)s);
	}
	if (r >= 0 && lim->pids_limit != 0) {
		if (!cg->dirs[CG1_PIDS])
			return err_set(err, ENOTSUP, "the pids controller is not mounted");
		r = lim->pids_limit < 0 ? cg_write(cg->dirs[CG1_PIDS], "pids.max", "max", err)
					: cg_writef(cg->dirs[CG1_PIDS], "pids.max", err, "%lld", (long long)lim->pids_limit);
	}
	if (r >= 0)
		r = apply_devices(cg, lim->devices_allow_all, err);
	return r < 0 ? r : 0;
}

static int v1_add_pid(Cgroup *cg, pid_t pid, Error **err)
{
	for (int i = 0; i < CG1_N; i++) {
		if (!cg->dirs[i])
			continue;
		int r = cg_writef(cg->dirs[i], "cgroup.procs", err, "%d", (int)pid);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_stats(Cgroup *cg, CgStats *st, Error **err)
{
	const char *mem = cg->dirs[CG1_MEMORY];
	int r = cg_read_int(mem, "memory.usage_in_bytes", 0, &st->memory_usage, err);
	if (r < 0)
		return r;
	if ((r = cg_read_int(mem, "memory.limit_in_bytes", 0, &st->memory_limit, err)) < 0)
		return r;
	if (st->memory_limit >= (INT64_C(1) << 62)) /* PAGE_COUNTER_MAX rounded: no limit */
		st->memory_limit = 0;
	if (cg_has(mem, "memory.failcnt") &&
	    (r = cg_read_int(mem, "memory.failcnt", 0, &st->memory_failcnt, err)) < 0)
		return r;
	char buf[512];
	if ((r = cg_read(mem, "memory.oom_control", buf, sizeof(buf), err)) < 0)
		return r;
	int64_t v = 0;
	if (cg_kv_find(buf, "oom_kill", &v))
		st->oom_kills = v;
	if (cg_kv_find(buf, "under_oom", &v))
		st->under_oom = v != 0;
	const char *acct = dir_of(cg, CG1_CPUACCT);
	if (acct && (r = cg_read_int(acct, "cpuacct.usage", 0, &st->cpu_usage_ns, err)) < 0)
		return r;
	if (cg->dirs[CG1_PIDS] && (r = cg_read_int(cg->dirs[CG1_PIDS], "pids.current", 0, &st->pids_current, err)) < 0)
		return r;
	return 0;
}

static const char *v1_procs_dir(const Cgroup *cg)
{
	return cg->dirs[CG1_MEMORY];
}

static int v1_kill_all(Cgroup *cg, int sig, Error **err)
{
	return cg_procs_kill(cg->dirs[CG1_MEMORY], sig, 100, err);
}

static int v1_destroy(Cgroup *cg, Error **err)
{
	int ret = 0;
	for (int i = 0; i < CG1_N; i++) {
		if (!cg->dirs[i])
			continue;
		int r = cg_rmdir(cg->dirs[i], err);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

const CgOps cg_v1_ops = {
	.create = v1_create, .apply = v1_apply, .add_pid = v1_add_pid, .stats = v1_stats,
	.kill_all = v1_kill_all, .procs_dir = v1_procs_dir, .destroy = v1_destroy,
};
