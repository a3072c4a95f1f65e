/* spawn-internal.h - the low-level runtime's private interface: the parsed,
 * ready-to-apply form of an OCI spec (RtConfig / RtProcess) and the steps the
 * container's first process runs between fork and exec.
 *
 * Split of work: everything that can fail on bad input or needs the heap is
 * done in the parent (config.c parses the json_t into flat C data, seccomp.c
 * compiles the filter to BPF, caps.c builds the capability sets), so the child
 * mostly issues syscalls on prepared data.  Child-side steps report failure in
 * an RtChildErr (a fixed buffer, no allocation), which spawn.c sends to the
 * parent over the sync socket where it becomes an Error. */
#ifndef BERTH_RUNTIME_SPAWN_INTERNAL_H
#define BERTH_RUNTIME_SPAWN_INTERNAL_H

#include "runtime.h"
#include <sys/resource.h>
#include <sys/capability.h>
#include <linux/filter.h>

/* ----------------------------------------------------------- child errors */

typedef struct RtChildErr {
	int code;          /* positive errno */
	char msg[1024];
} RtChildErr;

/* Fill e (first error wins) and return -code. */
int rt_cerr(RtChildErr *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, appending ": strerror(code)". */
int rt_cerr_sys(RtChildErr *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------- the process */

typedef struct RtCaps {
	bool set;                    /* process.capabilities was given */
	int last_cap;                /* highest capability the kernel knows */
	uint64_t bounding, ambient;
	cap_t eip;                   /* effective/inheritable/permitted (libcap, owned) */
} RtCaps;

typedef struct RtSeccomp {
	bool set;
	unsigned flags;              /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	struct sock_fprog prog;      /* filter owned (malloc) */
} RtSeccomp;

typedef struct RtRlimit {
	int resource;
	struct rlimit rl;
} RtRlimit;

typedef struct RtProcess {
	char **argv;                 /* owned, NULL-terminated, argv[0] non-empty */
	char **env;                  /* owned, NULL-terminated, one spare slot for HOME */
	size_t n_env;
	char *cwd;                   /* absolute */
	uid_t uid;
	gid_t gid;
	gid_t *groups;               /* additionalGids */
	size_t n_groups;
	char *user_spec;             /* "user[:group]" to resolve in the container, or NULL */
	bool terminal, nnp, has_umask, has_oom_score;
	bool init;                   /* PID 1 is a reaper that forks the program */
	mode_t umask;
	int oom_score_adj;
	RtRlimit rlimits[RLIM_NLIMITS];
	size_t n_rlimits;
	RtCaps caps;
	RtSeccomp seccomp;
} RtProcess;

/* process.c: parse an OCI "process" object (and the org.berth.user annotation
 * value, may be NULL) into p.  `seccomp` (may be NULL) is compiled too. */
int rt_process_parse(const json_t *process, const char *user_annotation, const json_t *seccomp,
		     RtProcess *p, Error **err);
void rt_process_release(RtProcess *p);
/* Child: make stdio fds 0,1,2 (and the terminal the controlling one). */
int rt_process_stdio(const RtStdio *st, bool terminal, RtChildErr *e);
/* Child, last step: rlimits, user, cwd, capabilities, no_new_privs, seccomp,
 * then execve.  Returns only on failure. */
int rt_process_exec(RtProcess *p, RtChildErr *e);

/* caps.c */
int rt_caps_parse(const json_t *caps, RtCaps *ret, Error **err);
void rt_caps_release(RtCaps *c);
/* Child: drop from the bounding set everything not in c->bounding (needs
 * CAP_SETPCAP, so before switching user). */
int rt_caps_drop_bounding(const RtCaps *c, RtChildErr *e);
/* Child, after the user switch: set E/P/I and raise the ambient set. */
int rt_caps_apply(const RtCaps *c, RtChildErr *e);

/* seccomp.c */
int rt_seccomp_compile(const json_t *seccomp, RtSeccomp *ret, Error **err);
void rt_seccomp_release(RtSeccomp *s);
int rt_seccomp_load(const RtSeccomp *s, RtChildErr *e);

/* ----------------------------------------------------------- the container */

typedef struct RtMount {
	char *dest;                  /* absolute path in the container */
	char *source;
	char *type;                  /* "bind" for bind mounts */
	char *data;                  /* options the filesystem parses ("mode=755"), or NULL */
	unsigned long flags;         /* MS_* (MS_BIND, MS_REC, MS_RDONLY, ...) */
	unsigned long propagation;   /* MS_PRIVATE/MS_SLAVE/... (| MS_REC), or 0 */
	bool clear_ro;               /* "rw" given explicitly */
} RtMount;

typedef struct RtDevice {
	char *path;                  /* absolute in the container */
	mode_t type;                 /* S_IFCHR, S_IFBLK, S_IFIFO */
	unsigned major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
} RtDevice;

typedef struct RtCgroupMount {
	char *dir;                   /* directory under /sys/fs/cgroup ("cpu,cpuacct") */
	char *opts;                  /* mount data ("cpu,cpuacct", "none,name=systemd") */
} RtCgroupMount;

enum { RT_NS_USER, RT_NS_MNT, RT_NS_PID, RT_NS_NET, RT_NS_IPC, RT_NS_UTS, RT_NS_CGROUP, RT_NS_N };

typedef struct RtConfig {
	RtProcess proc;
	int unshare_flags;           /* created by the child (never NEWPID/NEWCGROUP) */
	bool new_pid, new_cgroupns;
	int ns_fd[RT_NS_N];          /* namespaces to join (opened by the parent), -1 = none */
	char *uid_map, *gid_map;     /* for a new user namespace, "0 100000 65536\n" */
	char *rootfs;                /* absolute */
	char *overlay_data, *overlay_dir;
	unsigned long root_propagation;
	bool root_readonly;
	RtMount *mounts;
	size_t n_mounts;
	RtDevice *devices;
	size_t n_devices;
	char **masked, **readonly;   /* NULL-terminated */
	char *hostname, *domainname;
	char **sysctl;               /* NULL-terminated pairs: "/proc/sys/..." path, value */
	RtCgroupMount *cgmounts;     /* v1 hierarchies to show at the cgroup mount */
	size_t n_cgmounts;
	bool cgroup2;                /* host is v2: one cgroup2 mount */
} RtConfig;

/* config.c */
int rt_config_parse(const json_t *spec, RtConfig *cfg, Error **err);
void rt_config_release(RtConfig *cfg);
/* "ro,nosuid,mode=755" -> flags/propagation/data (shared with tests). */
int rt_mount_options(const json_t *opts, RtMount *m, Error **err);

/* mounts.c (child): everything from the root's propagation to pivot_root,
 * masked/readonly paths and the read-only root.  On return the process is in
 * the new root with cwd "/". */
int rt_rootfs_setup(const RtConfig *cfg, int console_fd, RtChildErr *e);
/* devices.c (child): /dev contents on a fresh /dev: default nodes (mknod, or
 * bind from the host where mknod is not allowed), spec devices, pts/ptmx
 * symlinks, fd symlinks, the console. */
int rt_dev_populate(const RtConfig *cfg, int rootfd, int console_fd, RtChildErr *e);

/* Open (creating when missing) path inside the tree rooted at rootfd without
 * ever leaving it, even through symlinks; returns an O_PATH fd.  `dir`: create
 * a directory (else an empty file) as the last component. */
int rt_path_open_in_root(int rootfd, const char *path, bool create, bool dir, RtChildErr *e);

#endif
