/* test-cgroup.c - the cgroup drivers against fake cgroupfs trees (a temp dir
 * holding the files the kernel would show): layout detection, the files each
 * limit writes, cpuset inheritance, v2 subtree_control, stats parsing, pid
 * listing.  One real check: the v2 BPF device filter, attached to a cgroup on
 * the host's cgroup2 mount (unified/ on hybrid hosts), enforced on a child. */
#include "tap.h"
#include "../../src/runtime/runtime.h"
#include "../../src/runtime/cgroup-internal.h"
#include "../../src/base/fs.h"
#include "../../src/base/parse.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

static char tmp[256];

static void put(const char *rel, const char *content)
{
	_cleanup_free_ char *p = fs_join(tmp, rel);
	_cleanup_free_ char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	fs_mkdir_p(dir, 0755, NULL);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

/* file content with trailing newlines trimmed; static buffer */
static const char *get(const char *rel)
{
	static char buf[4096];
	_cleanup_free_ char *p = fs_join(tmp, rel);
	_cleanup_free_ char *s = NULL;
	if (fs_read_file(p, sizeof(buf), &s, NULL, NULL) < 0)
		return "(missing)";
	snprintf(buf, sizeof(buf), "%s", s);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	return buf;
}

static void reset_tree(void)
{
	fs_rm_rf(tmp, NULL);
	mkdir(tmp, 0755);
}

static void test_detect(void)
{
	CgMode m = 0;
	Error *e = NULL;
	reset_tree();
	is_int(cg_detect(tmp, &m, &e), -ENOTSUP, "empty tree: no cgroups");
	ok(e && strstr(e->msg, tmp), "error names the mount root");
	err_free(e);
	put("memory/memory.limit_in_bytes", "9223372036854771712\n");
	is_int(cg_detect(tmp, &m, NULL), 0, "v1 tree detected");
	is_int(m, CG_MODE_V1, "v1 mode");
	put("unified/cgroup.controllers", "hugetlb\n"); /* this host's stray controller */
	cg_detect(tmp, &m, NULL);
	is_int(m, CG_MODE_HYBRID, "hybrid: v1 controllers + unified/");
	reset_tree();
	put("cgroup.controllers", "cpuset cpu io memory pids\n");
	cg_detect(tmp, &m, NULL);
	is_int(m, CG_MODE_V2, "v2 tree detected");
	ok(strcmp(cg_mode_name(CG_MODE_HYBRID), cg_mode_name(CG_MODE_V1)) != 0, "mode names differ");
}

/* ------------------------------------------------------------------ v1 */

static void v1_tree(void)
{
	static const char *const ctrls[] = { "memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "freezer", "blkio" };
	reset_tree();
	for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/berth/c1/cgroup.procs", ctrls[i]);
		put(p, "");
	}
	put("memory/berth/c1/memory.limit_in_bytes", "9223372036854771712\n");
	put("memory/berth/c1/memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put("memory/berth/c1/memory.usage_in_bytes", "0\n");
	put("memory/berth/c1/memory.failcnt", "0\n");
	put("memory/berth/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
	put("cpu/berth/c1/cpu.cfs_period_us", "100000\n");
	put("cpu/berth/c1/cpu.cfs_quota_us", "-1\n");
	put("cpu/berth/c1/cpu.shares", "1024\n");
	put("cpuacct/berth/c1/cpuacct.usage", "0\n");
	put("pids/berth/c1/pids.max", "max\n");
	put("pids/berth/c1/pids.current", "0\n");
	put("cpuset/cpuset.cpus", "0-1\n");
	put("cpuset/cpuset.mems", "0\n");
	put("cpuset/berth/cpuset.cpus", "\n");
	put("cpuset/berth/cpuset.mems", "\n");
	put("cpuset/berth/c1/cpuset.cpus", "\n");
	put("cpuset/berth/c1/cpuset.mems", "\n");
	put("devices/berth/c1/devices.allow", "");
	put("devices/berth/c1/devices.deny", "");
}

static void test_v1(void)
{
	v1_tree();
	Cgroup *cg = NULL;
	Error *e = NULL;
	is_int(cg_create(tmp, "berth/c1", &cg, &e), 0, "v1: create");
	if (!cg) {
		tap_diag("%s", err_msg(e));
		err_free(e);
		return;
	}
	is_str(get("cpuset/berth/cpuset.cpus"), "0-1", "v1: empty cpuset.cpus copied from the parent");
	is_str(get("cpuset/berth/c1/cpuset.cpus"), "0-1", "v1: ... down to the leaf");
	is_str(get("cpuset/berth/c1/cpuset.mems"), "0", "v1: cpuset.mems copied too");
	ok(str_has_suffix(cg_memory_path(cg), "/memory/berth/c1"), "v1: memory path");

	CgLimits lim = { .memory_bytes = 16 << 20, .cpu_milli = 1500, .cpu_shares = 512, .pids_limit = 64 };
	is_int(cg_apply(cg, &lim, NULL), 0, "v1: apply");
	is_str(get("memory/berth/c1/memory.limit_in_bytes"), "16777216", "v1: memory.limit_in_bytes");
	is_str(get("memory/berth/c1/memory.memsw.limit_in_bytes"), "16777216", "v1: memsw = memory (no swap) by default");
	is_str(get("cpu/berth/c1/cpu.cfs_period_us"), "100000", "v1: cfs period");
	is_str(get("cpu/berth/c1/cpu.cfs_quota_us"), "150000", "v1: 1.5 CPUs = quota 150000");
	is_str(get("cpu/berth/c1/cpu.shares"), "512", "v1: cpu.shares");
	is_str(get("pids/berth/c1/pids.max"), "64", "v1: pids.max");
	is_str(get("devices/berth/c1/devices.deny"), "a", "v1: devices: deny all first");
	ok(strstr(get("devices/berth/c1/devices.allow"), "c 1:3 rwm") && strstr(get("devices/berth/c1/devices.allow"), "c 136:* rwm"),
	   "v1: devices: default allowlist (null, pts, ...)");

	CgLimits l2 = { .memory_bytes = 16 << 20, .memory_swap = 48 << 20, .cpu_milli = 5, .pids_limit = -1 };
	cg_apply(cg, &l2, NULL);
	is_str(get("memory/berth/c1/memory.memsw.limit_in_bytes"), "50331648", "v1: memory_swap is memory+swap");
	is_str(get("cpu/berth/c1/cpu.cfs_quota_us"), "1000", "v1: tiny cpu quota clamps to 1ms");
	is_str(get("pids/berth/c1/pids.max"), "max", "v1: negative pids = max");
	CgLimits l3 = { .memory_bytes = 16 << 20, .memory_swap = -1 };
	cg_apply(cg, &l3, NULL);
	is_str(get("memory/berth/c1/memory.memsw.limit_in_bytes"), "-1", "v1: swap -1 = unlimited");
	CgLimits bad = { .memory_bytes = 32 << 20, .memory_swap = 16 << 20 };
	Error *be = NULL;
	is_int(cg_apply(cg, &bad, &be), -EINVAL, "v1: memory+swap below memory is refused");
	ok(be && strstr(be->msg, "berth/c1"), "v1: error names the cgroup");
	err_free(be);
	CgLimits priv = { .devices_allow_all = true };
	cg_apply(cg, &priv, NULL);
	is_str(get("devices/berth/c1/devices.allow"), "a", "v1: privileged: allow all devices");

	is_int(cg_add_pid(cg, 4242, NULL), 0, "v1: add pid");
	static const char *const ctrls[] = { "memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "freezer", "blkio" };
	int placed = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/berth/c1/cgroup.procs", ctrls[i]);
		placed += !strcmp(get(p), "4242");
	}
	is_int(placed, 8, "v1: pid placed in all 8 hierarchies");

	put("memory/berth/c1/memory.usage_in_bytes", "1000\n");
	put("memory/berth/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n");
	put("memory/berth/c1/memory.failcnt", "7\n");
	put("cpuacct/berth/c1/cpuacct.usage", "123456789\n");
	put("pids/berth/c1/pids.current", "4\n");
	CgStats st;
	is_int(cg_stats(cg, &st, NULL), 0, "v1: stats");
	is_int(st.memory_usage, 1000, "v1: memory usage");
	is_int(st.memory_limit, 16 << 20, "v1: memory limit");
	is_int(st.oom_kills, 3, "v1: oom_kill count from memory.oom_control");
	ok(st.under_oom, "v1: under_oom");
	is_int(st.memory_failcnt, 7, "v1: memory.failcnt");
	is_int(st.cpu_usage_ns, 123456789, "v1: cpuacct.usage");
	is_int(st.pids_current, 4, "v1: pids.current");
	put("memory/berth/c1/memory.limit_in_bytes", "9223372036854771712\n");
	cg_stats(cg, &st, NULL);
	is_int(st.memory_limit, 0, "v1: the kernel's 'no limit' reads as 0");

	put("memory/berth/c1/cgroup.procs", "12\n34\n56\n");
	pid_t *pids = NULL;
	size_t n = 0;
	is_int(cg_pids(cg, &pids, &n, NULL), 0, "v1: list pids");
	ok(n == 3 && pids[0] == 12 && pids[2] == 56, "v1: pids parsed");
	free(pids);
	cg_free(cg);
	is_int(cg_create(tmp, "../escape", &cg, NULL), -EINVAL, "a path with .. is refused");
}

/* cpu and cpuacct co-mounted behind symlinks, as most distributions do */
static void test_v1_comount(void)
{
	v1_tree();
	_cleanup_free_ char *cpu = fs_join(tmp, "cpu"), *acct = fs_join(tmp, "cpuacct");
	fs_rm_rf(cpu, NULL);
	fs_rm_rf(acct, NULL);
	put("cpu,cpuacct/berth/c1/cgroup.procs", "");
	put("cpu,cpuacct/berth/c1/cpu.shares", "1024\n");
	put("cpu,cpuacct/berth/c1/cpuacct.usage", "55\n");
	symlink("cpu,cpuacct", cpu);
	symlink("cpu,cpuacct", acct);
	Cgroup *cg = NULL;
	is_int(cg_create(tmp, "berth/c1", &cg, NULL), 0, "v1 co-mounted: create");
	if (!cg)
		return;
	CgLimits lim = { .cpu_shares = 256 };
	cg_apply(cg, &lim, NULL);
	is_str(get("cpu,cpuacct/berth/c1/cpu.shares"), "256", "v1 co-mounted: cpu.shares written once");
	cg_add_pid(cg, 99, NULL);
	is_str(get("cpu,cpuacct/berth/c1/cgroup.procs"), "99", "v1 co-mounted: pid placed");
	CgStats st;
	cg_stats(cg, &st, NULL);
	is_int(st.cpu_usage_ns, 55, "v1 co-mounted: cpuacct.usage read through the alias");
	cg_free(cg);
}

/* ------------------------------------------------------------------ v2 */

static void v2_tree(const char *root_on)
{
	reset_tree();
	put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put("cgroup.subtree_control", root_on);
	put("berth/cgroup.controllers", "cpu io memory pids\n");
	put("berth/cgroup.subtree_control", "");
	static const char *const files[][2] = {
		{ "memory.max", "max\n" }, { "memory.swap.max", "max\n" }, { "cpu.max", "max 100000\n" },
		{ "cpu.weight", "100\n" }, { "pids.max", "max\n" }, { "cgroup.procs", "" },
		{ "memory.current", "0\n" }, { "memory.events", "" }, { "cpu.stat", "" }, { "pids.current", "0\n" },
		{ "cgroup.kill", "" }, { "cgroup.controllers", "cpu io memory pids\n" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char p[128];
		snprintf(p, sizeof(p), "berth/c1/%s", files[i][0]);
		put(p, files[i][1]);
	}
}

static void test_v2(void)
{
	v2_tree("");
	Cgroup *cg = NULL;
	Error *e = NULL;
	is_int(cg_create(tmp, "berth/c1", &cg, &e), 0, "v2: create");
	if (!cg) {
		tap_diag("%s", err_msg(e));
		err_free(e);
		return;
	}
	is_str(get("cgroup.subtree_control"), "+cpu +io +memory +pids", "v2: controllers enabled at the root");
	is_str(get("berth/cgroup.subtree_control"), "+cpu +io +memory +pids", "v2: ... and at berth/");
	is_str(get("berth/c1/cpu.max"), "max 100000", "v2: nothing enabled below the leaf, nothing written");

	CgLimits lim = { .memory_bytes = 64 << 20, .cpu_milli = 500, .cpu_shares = 1024, .pids_limit = 100 };
	is_int(cg_apply(cg, &lim, NULL), 0, "v2: apply");
	is_str(get("berth/c1/memory.max"), "67108864", "v2: memory.max");
	is_str(get("berth/c1/memory.swap.max"), "0", "v2: no swap by default");
	is_str(get("berth/c1/cpu.max"), "50000 100000", "v2: cpu.max from 0.5 CPUs");
	is_str(get("berth/c1/cpu.weight"), "39", "v2: shares 1024 -> weight 39");
	is_str(get("berth/c1/pids.max"), "100", "v2: pids.max");
	CgLimits l2 = { .memory_bytes = 64 << 20, .memory_swap = 128 << 20, .pids_limit = -1, .cpu_shares = 2 };
	cg_apply(cg, &l2, NULL);
	is_str(get("berth/c1/memory.swap.max"), "67108864", "v2: swap.max = memory_swap - memory");
	is_str(get("berth/c1/pids.max"), "max", "v2: unlimited pids");
	is_str(get("berth/c1/cpu.weight"), "1", "v2: minimum shares -> weight 1");
	CgLimits l3 = { .memory_bytes = 64 << 20, .memory_swap = -1, .cpu_shares = 262144 };
	cg_apply(cg, &l3, NULL);
	is_str(get("berth/c1/memory.swap.max"), "max", "v2: swap -1 = max");
	is_str(get("berth/c1/cpu.weight"), "10000", "v2: maximum shares -> weight 10000");

	is_int(cg_add_pid(cg, 777, NULL), 0, "v2: add pid");
	is_str(get("berth/c1/cgroup.procs"), "777", "v2: cgroup.procs written");
	put("berth/c1/memory.current", "2048\n");
	put("berth/c1/memory.max", "max\n");
	put("berth/c1/memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n");
	put("berth/c1/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
	put("berth/c1/pids.current", "3\n");
	CgStats st;
	is_int(cg_stats(cg, &st, NULL), 0, "v2: stats");
	is_int(st.memory_usage, 2048, "v2: memory.current");
	is_int(st.memory_limit, 0, "v2: memory.max 'max' = no limit");
	is_int(st.oom_kills, 2, "v2: oom_kill from memory.events");
	is_int(st.memory_failcnt, 5, "v2: 'max' events as failcnt");
	is_int(st.cpu_usage_ns, 1500000, "v2: usage_usec in ns");
	is_int(st.pids_current, 3, "v2: pids.current");
	put("berth/c1/cgroup.procs", "");
	is_int(cg_kill_all(cg, SIGKILL, NULL), 0, "v2: kill all");
	is_str(get("berth/c1/cgroup.kill"), "1", "v2: cgroup.kill used when present");
	cg_free(cg);

	v2_tree("cpu io memory pids\n");
	is_int(cg_create(tmp, "berth/c1", &cg, NULL), 0, "v2: create with controllers already on");
	is_str(get("cgroup.subtree_control"), "cpu io memory pids", "v2: enabled controllers left alone");
	cg_free(cg);
}

/* ------------------------------------------------- real: BPF device filter */

static const char *cgroup2_mount(void)
{
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return "/sys/fs/cgroup";
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

static void test_v2_devices_real(void)
{
	const char *mnt = cgroup2_mount();
	ok(mnt != NULL, "the host has a cgroup2 mount (for the device filter test)");
	if (!mnt)
		return;
	_cleanup_free_ char *dir = xasprintf("%s/berth-test-dev-%d", mnt, (int)getpid());
	_cleanup_free_ char *nodes = xasprintf("/tmp/berth-test-dev-%d", (int)getpid());
	mkdir(dir, 0755);
	mkdir(nodes, 0755);
	Error *e = NULL;
	int r = cg_v2_devices_attach(dir, &e);
	is_int(r, 0, "v2: device filter loads and attaches");
	if (r < 0)
		tap_diag("%s", err_msg(e));
	err_free(e);
	pid_t pid = fork();
	if (pid == 0) {
		char procs[512];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
		int fd = open(procs, O_WRONLY);
		if (fd < 0 || dprintf(fd, "%d", (int)getpid()) < 0)
			_exit(100);
		close(fd);
		int res = 0;
		if ((fd = open("/dev/null", O_RDWR)) >= 0) /* allowed: c 1:3 rwm */
			res |= 1, close(fd);
		char mem[600], blk[600];
		snprintf(mem, sizeof(mem), "%s/mem", nodes);
		snprintf(blk, sizeof(blk), "%s/blk", nodes);
		if (mknod(mem, S_IFCHR | 0600, makedev(1, 1)) == 0) /* mknod of any char node allowed */
			res |= 2;
		if (open(mem, O_RDONLY) < 0 && errno == EPERM) /* but /dev/mem may not be opened */
			res |= 4;
		if (mknod(blk, S_IFBLK | 0600, makedev(7, 0)) == 0)
			res |= 8;
		if (open(blk, O_RDONLY) < 0 && errno == EPERM) /* no block devices */
			res |= 16;
		_exit(res);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	int res = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	ok(res & 1, "device filter: /dev/null opens");
	ok(res & 2, "device filter: mknod allowed (m for every char device)");
	ok(res & 4, "device filter: opening /dev/mem (c 1:1) is refused");
	ok(res & 8, "device filter: mknod of a block device allowed");
	ok(res & 16, "device filter: opening a block device is refused");
	fs_rm_rf(nodes, NULL);
	is_int(rmdir(dir), 0, "device test cgroup removed");
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/berth-test-cgroup-%d", (int)getpid());
	test_detect();
	test_v1();
	test_v1_comount();
	test_v2();
	test_v2_devices_real();
	fs_rm_rf(tmp, NULL);
	return tap_done();
}
