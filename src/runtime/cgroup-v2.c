/* cgroup-v2.c - the cgroup v2 (unified) driver.
 *
 * One tree: the container's cgroup is root/<path>.  Controllers must be
 * enabled in cgroup.subtree_control of every ancestor, top-down, before the
 * leaf gets its interface files.  Limits map from the v1-flavoured CgLimits:
 * memory.max, memory.swap.max (swap only, not memory+swap), cpu.max,
 * cpu.weight (converted from shares), pids.max.  v2 has no devices files: the
 * device allowlist is a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup, built here from the same rules as the v1 list. */
#include "cgroup-internal.h"
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include "../base/fs.h"

/* The controllers berth enables for containers, in subtree_control order. */
static const char *const wanted_controllers[] = { "cpu", "io", "memory", "pids" };

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '+') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* Enable the wanted controllers (those the level offers) in dir's subtree. */
static int enable_subtree(const char *dir, Error **err)
{
	char avail[1024], on[1024], req[256] = "";
	int r = cg_read(dir, "cgroup.controllers", avail, sizeof(avail), err);
	if (r < 0)
		return r;
	if ((r = cg_read(dir, "cgroup.subtree_control", on, sizeof(on), err)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(wanted_controllers); i++) {
		const char *c = wanted_controllers[i];
		if (word_in(avail, c) && !word_in(on, c)) {
			strcat(req, *req ? " +" : "+");
			strcat(req, c);
		}
	}
	if (!*req)
		return 0;
	_cleanup_err_ Error *all = NULL;
	if (cg_write(dir, "cgroup.subtree_control", req, &all) == 0)
		return 0;
	/* one controller may refuse (e.g. cpu with realtime tasks): enable the
	 * rest one by one and report only memory/pids failures */
	for (char *tok = strtok(req, " "); tok; tok = strtok(NULL, " ")) {
		r = cg_write(dir, "cgroup.subtree_control", tok, NULL);
		if (r < 0 && (!strcmp(tok, "+memory") || !strcmp(tok, "+pids")))
			return cg_write(dir, "cgroup.subtree_control", tok, err);
	}
	return 0;
}

static int v2_create(Cgroup *cg, Error **err)
{
	cg->dirs[0] = fs_join(cg->root, cg->path);
	int r = fs_mkdir_p(cg->dirs[0], 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *level = xstrdup(cg->root);
	for (const char *p = cg->path; *p;) {
		if ((r = enable_subtree(level, err)) < 0)
			return r;
		size_t len = strcspn(p, "/");
		char *next = xasprintf("%s/%.*s", level, (int)len, p);
		free(level);
		level = next;
		p += len;
		if (*p)
			p++;
		if (!*p)
			break; /* the leaf holds processes: nothing to enable below it */
	}
	return 0;
}

/* ------------------------------------------------ BPF device allowlist */

typedef struct DevRule {
	short type;          /* BPF_DEVCG_DEV_CHAR / _BLOCK */
	int major, minor;    /* -1 = any */
	short access;        /* BPF_DEVCG_ACC_* mask */
} DevRule;

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)
static const DevRule default_dev_rules[] = {
	{ BPF_DEVCG_DEV_CHAR, -1, -1, BPF_DEVCG_ACC_MKNOD },
	{ BPF_DEVCG_DEV_BLOCK, -1, -1, BPF_DEVCG_ACC_MKNOD },
	{ BPF_DEVCG_DEV_CHAR, 1, 3, ACC_ALL }, { BPF_DEVCG_DEV_CHAR, 1, 5, ACC_ALL },
	{ BPF_DEVCG_DEV_CHAR, 1, 7, ACC_ALL }, { BPF_DEVCG_DEV_CHAR, 1, 8, ACC_ALL },
	{ BPF_DEVCG_DEV_CHAR, 1, 9, ACC_ALL }, { BPF_DEVCG_DEV_CHAR, 5, 0, ACC_ALL },
	{ BPF_DEVCG_DEV_CHAR, 5, 1, ACC_ALL }, { BPF_DEVCG_DEV_CHAR, 5, 2, ACC_ALL },
	{ BPF_DEVCG_DEV_CHAR, 136, -1, ACC_ALL }, { BPF_DEVCG_DEV_CHAR, 10, 200, ACC_ALL },
};

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* r2 = access_type & 0xffff (device type), r3 = access_type >> 16 (access),
 * r4 = major, r5 = minor; then per rule a block that jumps to the next rule
 * on mismatch and returns 1 on match; finally return 0. */
static size_t devices_prog(const DevRule *rules, size_t n, struct bpf_insn *out)
{
	size_t k = 0;
	out[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	out[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
	out[k++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	out[k++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	out[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
	out[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
	for (size_t i = 0; i < n; i++) {
		const DevRule *r = &rules[i];
		size_t end = k + 1 + (r->major >= 0) + (r->minor >= 0) + (r->access != ACC_ALL ? 3 : 0) + 2;
#define JNE_NEXT(reg, val) (out[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, reg, 0, (short)(end - k - 1), val), k++)
		JNE_NEXT(BPF_REG_2, r->type);
		if (r->major >= 0)
			JNE_NEXT(BPF_REG_4, r->major);
		if (r->minor >= 0)
			JNE_NEXT(BPF_REG_5, r->minor);
		if (r->access != ACC_ALL) { /* any requested access outside the rule's mask: no match */
			out[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
			out[k++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, ~r->access & ACC_ALL);
			JNE_NEXT(BPF_REG_6, 0);
		}
#undef JNE_NEXT
		out[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
		out[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	out[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	out[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return k;
}

/* Attach the default device allowlist to the cgroup directory `dir` (which
 * must be on a cgroup2 mount).  The program stays with the cgroup. */
int cg_v2_devices_attach(const char *dir, Error **err)
{
	struct bpf_insn insns[8 + ARRAY_SIZE(default_dev_rules) * 10];
	size_t n = devices_prog(default_dev_rules, ARRAY_SIZE(default_dev_rules), insns);
	char log[1024] = "";
	union bpf_attr load = { 0 };
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)insns;
	load.insn_cnt = (uint32_t)n;
	load.license = (uint64_t)(uintptr_t)"Apache-2.0";
	load.log_buf = (uint64_t)(uintptr_t)log;
	load.log_size = sizeof(log);
	load.log_level = 1;
	_cleanup_close_ int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (prog < 0 && errno == ENOSPC) { /* verifier log too small: retry without it */
		load.log_buf = 0, load.log_size = 0, load.log_level = 0;
		prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	}
	if (prog < 0) {
		int er = errno;
		log[strcspn(log, "\n")] = 0; /* the verifier's first complaint is enough */
		return err_sys(err, er, "load the device filter for '%s'%s%.200s", dir, *log ? ": " : "", log);
	}
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(err, errno, "open '%s'", dir);
	union bpf_attr att = { 0 };
	att.target_fd = (uint32_t)dfd;
	att.attach_bpf_fd = (uint32_t)prog;
	att.attach_type = BPF_CGROUP_DEVICE;
	att.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof(att)) < 0)
		return err_sys(err, errno, "attach the device filter to '%s'", dir);
	return 0;
}

static bool on_cgroup2(const char *dir)
{
	struct statfs sf;
	return statfs(dir, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* ------------------------------------------------------------ limits */

static int apply_memory(const char *dir, const CgLimits *lim, Error **err)
{
	if (lim->memory_bytes <= 0)
		return 0;
	if (lim->memory_swap > 0 && lim->memory_swap < lim->memory_bytes)
		return err_set(err, EINVAL, "memory+swap limit %lld is below the memory limit %lld",
			       (long long)lim->memory_swap, (long long)lim->memory_bytes);
	int r = cg_writef(dir, "memory.max", err, "%lld", (long long)lim->memory_bytes);
	if (r < 0 || !cg_has(dir, "memory.swap.max")) /* no swap accounting: nothing more to say */
		return r;
	if (lim->memory_swap < 0)
		return cg_write(dir, "memory.swap.max", "max", err);
	int64_t swap = lim->memory_swap == 0 ? 0 : lim->memory_swap - lim->memory_bytes;
	return cg_writef(dir, "memory.swap.max", err, "%lld", (long long)swap);
}

/* The shares -> weight mapping runc and crun use: [2, 262144] -> [1, 10000]. */
static int64_t shares_to_weight(int64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int v2_apply(Cgroup *cg, const CgLimits *lim, Error **err)
{
	const char *dir = cg->dirs[0];
	int r = apply_memory(dir, lim, err);
	if (r >= 0 && lim->cpu_milli > 0) {
		int64_t period = 100000, quota = lim->cpu_milli * period / 1000;
		r = cg_writef(dir, "cpu.max", err, "%lld %lld", (long long)(quota < 1000 ? 1000 : quota),
			      (long long)period);
	}
	if (r >= 0 && lim->cpu_shares > 0)
		r = cg_writef(dir, "cpu.weight", err, "%lld", (long long)shares_to_weight(lim->cpu_shares));
	if (r >= 0 && lim->pids_limit != 0)
		r = lim->pids_limit < 0 ? cg_write(dir, "pids.max", "max", err)
					: cg_writef(dir, "pids.max", err, "%lld", (long long)lim->pids_limit);
	if (r >= 0 && !lim->devices_allow_all && on_cgroup2(dir))
		r = cg_v2_devices_attach(dir, err);
	return r < 0 ? r : 0;
}

static int v2_add_pid(Cgroup *cg, pid_t pid, Error **err)
{
	return cg_writef(cg->dirs[0], "cgroup.procs", err, "%d", (int)pid);
}

static int v2_stats(Cgroup *cg, CgStats *st, Error **err)
{
	const char *dir = cg->dirs[0];
	int r = cg_read_int(dir, "memory.current", 0, &st->memory_usage, err);
	if (r < 0 || (r = cg_read_int(dir, "memory.max", 0, &st->memory_limit, err)) < 0)
		return r;
	char buf[1024];
	int64_t v;
	if ((r = cg_read(dir, "memory.events", buf, sizeof(buf), err)) < 0)
		return r;
	if (cg_kv_find(buf, "oom_kill", &v))
		st->oom_kills = v;
	if (cg_kv_find(buf, "max", &v))
		st->memory_failcnt = v;
	if ((r = cg_read(dir, "cpu.stat", buf, sizeof(buf), err)) < 0)
		return r;
	if (cg_kv_find(buf, "usage_usec", &v))
		st->cpu_usage_ns = v * 1000;
	if (cg_has(dir, "pids.current") && (r = cg_read_int(dir, "pids.current", 0, &st->pids_current, err)) < 0)
		return r;
	return 0;
}

static const char *v2_procs_dir(const Cgroup *cg)
{
	return cg->dirs[0];
}

static int v2_kill_all(Cgroup *cg, int sig, Error **err)
{
	if (sig == SIGKILL && cg_has(cg->dirs[0], "cgroup.kill")) {
		int r = cg_write(cg->dirs[0], "cgroup.kill", "1", err);
		if (r < 0)
			return r;
	}
	return cg_procs_kill(cg->dirs[0], sig, 100, err);
}

static int v2_destroy(Cgroup *cg, Error **err)
{
	return cg_rmdir(cg->dirs[0], err);
}

const CgOps cg_v2_ops = {
	.create = v2_create, .apply = v2_apply, .add_pid = v2_add_pid, .stats = v2_stats,
	.kill_all = v2_kill_all, .procs_dir = v2_procs_dir, .destroy = v2_destroy,
};
