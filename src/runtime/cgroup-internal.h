/* cgroup-internal.h - what cgroup.c shares with the two drivers (cgroup-v1.c,
 * cgroup-v2.c): the Cgroup object, the driver vtable, and small cgroupfs file
 * helpers.  Not part of the public interface (runtime.h). */
#ifndef BERTH_RUNTIME_CGROUP_INTERNAL_H
#define BERTH_RUNTIME_CGROUP_INTERNAL_H

#include "runtime.h"

/* The v1 hierarchies a container is placed in (index into Cgroup.dirs). */
enum {
	CG1_MEMORY, CG1_CPU, CG1_CPUACCT, CG1_PIDS, CG1_CPUSET,
	CG1_DEVICES, CG1_FREEZER, CG1_BLKIO, CG1_SYSTEMD, CG1_N
};
extern const char *const cg1_names[CG1_N];

typedef struct CgOps {
	int (*create)(Cgroup *cg, Error **err);
	int (*apply)(Cgroup *cg, const CgLimits *lim, Error **err);
	int (*add_pid)(Cgroup *cg, pid_t pid, Error **err);
	int (*stats)(Cgroup *cg, CgStats *ret, Error **err);
	int (*kill_all)(Cgroup *cg, int sig, Error **err);
	/* the directory whose cgroup.procs lists every process */
	const char *(*procs_dir)(const Cgroup *cg);
	int (*destroy)(Cgroup *cg, Error **err);
} CgOps;

extern const CgOps cg_v1_ops, cg_v2_ops;

struct Cgroup {
	CgMode mode;
	const CgOps *ops;
	char *root;          /* the mount root, "/sys/fs/cgroup" */
	char *path;          /* relative path, "berth/<id>" */
	/* v1: the directory in each hierarchy (NULL: controller absent or
	 * co-mounted with an earlier one, see `alias`); v2: dirs[0] only. */
	char *dirs[CG1_N];
	int alias[CG1_N];    /* v1: index of the entry this controller shares a hierarchy with, or -1 */
};

/* Write `value` to dir/file (no O_CREAT: a missing file is an error, as in
 * cgroupfs).  The error names the file and the value. */
int cg_write(const char *dir, const char *file, const char *value, Error **err);
int cg_writef(const char *dir, const char *file, Error **err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool cg_has(const char *dir, const char *file);
/* Read a small cgroup file into buf (NUL-terminated, truncated at size-1). */
int cg_read(const char *dir, const char *file, char *buf, size_t size, Error **err);
/* A file holding one integer; "max" reads as `max_value`. */
int cg_read_int(const char *dir, const char *file, int64_t max_value, int64_t *ret, Error **err);
/* Find "key value" in a flat-keyed file's content (memory.events, cpu.stat). */
bool cg_kv_find(const char *content, const char *key, int64_t *ret);
/* Parse cgroup.procs of dir; caller frees *ret. */
int cg_procs_read(const char *dir, pid_t **ret, size_t *ret_n, Error **err);
/* Signal every pid listed in dir/cgroup.procs until it stays empty or `rounds` pass. */
int cg_procs_kill(const char *dir, int sig, int rounds, Error **err);
/* v2: attach Docker's default device allowlist as a BPF program to dir. */
int cg_v2_devices_attach(const char *dir, Error **err);
/* The host's cgroup mounts (from /proc/self/mountinfo). */
typedef struct CgHier {
	char *mountpoint;    /* "/sys/fs/cgroup/cpu,cpuacct" */
	char *opts;          /* v1 mount data: "cpu,cpuacct" or "none,name=systemd"; v2: "" */
	bool v2;
} CgHier;
int cg_host_hierarchies(CgHier **ret, size_t *ret_n, Error **err);
void cg_hierarchies_free(CgHier *h, size_t n);
/* Move pid into every cgroup `target` is in (what exec does without a Cgroup). */
int cg_join_like(pid_t target, pid_t pid, Error **err);
/* rmdir, retrying briefly while the kernel still counts exiting tasks. */
int cg_rmdir(const char *dir, Error **err);

#endif
