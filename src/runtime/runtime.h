/* runtime.h - the container runtime: the public interface of src/runtime/.
 *
 * Two halves:
 *  1. The low-level runtime (spawn.c, mounts.c, caps.c, seccomp.c, rlimits.c,
 *     cgroup*.c): turn an OCI runtime spec (json_t, the runtime-spec config.json
 *     format) into a running, isolated process.  Stateless: the caller owns
 *     state.  This is what `crun run` does, so it can be compared with crun on
 *     the same bundle and reused by the node agent.
 *  2. Containers (container.c, supervisor.c, network.c): berth's docker-style
 *     containers built on (1): state on disk, the per-container supervisor,
 *     logs, CNI networking.
 */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "../base/err.h"
#include "network.h"
#include "container.h"

/* ---------------------------------------------------------------- cgroups */

typedef enum { CG_MODE_V1 = 1, CG_MODE_HYBRID = 2, CG_MODE_V2 = 3 } CgMode;

typedef struct CgLimits {
	int64_t memory_bytes;   /* 0 = unlimited */
	int64_t memory_swap;    /* 0 = default (same as memory: no extra swap), -1 unlimited */
	int64_t cpu_milli;      /* 0 = unlimited; 1500 = 1.5 CPUs (quota/period) */
	int64_t cpu_shares;     /* 0 = default; v1 cpu.shares, v2 converted to cpu.weight */
	int64_t pids_limit;     /* 0 = unlimited */
	bool devices_allow_all; /* false: Docker's default device allowlist (v1 devices cgroup); true: --privileged */
} CgLimits;

typedef struct CgStats {
	int64_t memory_usage, memory_limit; /* bytes; limit 0 = none */
	int64_t cpu_usage_ns;
	int64_t pids_current;
	int64_t oom_kills;      /* OOM kills inside this cgroup so far */
	int64_t memory_failcnt; /* times the memory limit was hit (v1 memory.failcnt, v2 memory.events max) */
	bool under_oom;         /* v1 memory.oom_control under_oom (v2: always false) */
} CgStats;

typedef struct Cgroup Cgroup;

/* Detect the host layout under `mountroot` (normally "/sys/fs/cgroup"; tests
 * pass a fake tree).  Hybrid = v1 controllers + a cgroup2 mount at unified/. */
int cg_detect(const char *mountroot, CgMode *ret, Error **err);
const char *cg_mode_name(CgMode m);
/* Create (or open) the cgroup at relative path `path` (e.g. "berth/<id>") in
 * every hierarchy used for memory, cpu, pids (and the rest of the v1
 * controllers so the process is fully placed).  Caller frees with cg_free. */
int cg_create(const char *mountroot, const char *path, Cgroup **ret, Error **err);
int cg_apply(Cgroup *cg, const CgLimits *lim, Error **err);
int cg_add_pid(Cgroup *cg, pid_t pid, Error **err);
int cg_stats(Cgroup *cg, CgStats *ret, Error **err);
/* All pids in the cgroup (for `top`); caller frees *ret. */
int cg_pids(Cgroup *cg, pid_t **ret, size_t *ret_n, Error **err);
/* Kill every process in the cgroup with sig (freezer not required). */
int cg_kill_all(Cgroup *cg, int sig, Error **err);
/* Remove the cgroup directories (waits briefly for them to empty). */
int cg_destroy(Cgroup *cg, Error **err);
void cg_free(Cgroup *cg);
/* The path of the cgroup in the memory hierarchy (for diagnostics). */
const char *cg_memory_path(const Cgroup *cg);

/* ---------------------------------------------------------- low-level spawn */

typedef struct RtStdio {
	int in, out, err;  /* become fds 0,1,2 of the container; -1 = /dev/null */
	int console_fd;    /* if >= 0 and process.terminal: the pty slave to use as 0,1,2 and ctty;
			    * RT_CONSOLE_IN_CONTAINER: allocate the pty from the container's own
			    * devpts (as runc/crun do) and hand the master back in RtSpawned */
} RtStdio;
#define RT_CONSOLE_IN_CONTAINER (-2)

typedef struct RtSpawnHooks {
	/* Called in the parent after the container's namespaces exist and before
	 * the container runs anything of its own: cgroup placement is done; this
	 * is where networking (CNI) is attached to /proc/<pid>/ns/net. */
	int (*prestart)(pid_t pid, void *userdata, Error **err);
	void *userdata;
} RtSpawnHooks;

typedef struct RtSpawned {
	pid_t pid;          /* host pid of the container's first process */
	int console_master; /* with RT_CONSOLE_IN_CONTAINER: the pty master (caller closes), else -1 */
} RtSpawned;

/* Start the process described by the OCI spec `spec`:
 *  - namespaces from linux.namespaces (type + optional path to join),
 *  - root.path as the root; if annotations["org.berth.rootfs.overlay"] is set,
 *    an overlayfs with that mount data is first mounted on root.path inside the
 *    new mount namespace, after chdir to annotations["org.berth.rootfs.overlay.dir"]
 *    (lowerdirs are relative short links, as overlay2 does),
 *  - mounts[] in order (proc, tmpfs /dev with device nodes, devpts, shm,
 *    mqueue, sysfs ro, cgroup, bind mounts with ro/rbind/..., tmpfs),
 *  - pivot_root (chroot fallback when root is on the initramfs),
 *  - linux.maskedPaths / readonlyPaths, hostname, sysctl,
 *  - process: user (uid, gid, additionalGids), cwd, env, args, capabilities,
 *    (annotations["org.berth.user"] = "user[:group]" names are resolved in the
 *    child after pivot_root against the container's /etc/passwd and /etc/group,
 *    overriding process.user and setting HOME when env has none),
 *    noNewPrivileges, rlimits (never above the hard limit), terminal,
 *  - linux.seccomp (OCI format; rt_seccomp_default() gives the default profile),
 *  - cgroup: the caller passes `cg` (already created and limited) or NULL.
 * Returns once the container process has exec'ed its program.  If the program
 * cannot be found, returns -ENOENT with "exec 'x': ... not found" (CLI: 127);
 * not executable: -EACCES (CLI: 126). */
int rt_spawn(const json_t *spec, Cgroup *cg, const RtStdio *stdio, const RtSpawnHooks *hooks,
	     RtSpawned *ret, Error **err);

/* Run `argv` inside the namespaces, cgroup and root of the running container
 * whose first process is `target_pid` (what `exec` needs).  `process` is an OCI
 * spec "process" object (args, env, cwd, user, capabilities, noNewPrivileges,
 * terminal).  ret->pid is the host pid of the new process (a child of the
 * caller); with RT_CONSOLE_IN_CONTAINER ret->console_master the pty master. */
int rt_exec(pid_t target_pid, const json_t *process, const json_t *seccomp, Cgroup *cg,
	    const RtStdio *stdio, RtSpawned *ret, Error **err);

/* The default seccomp profile in OCI format (new reference): equivalent to
 * Docker's default: allowlist with ERRNO(EPERM) default, arch-aware. */
json_t *rt_seccomp_default(void);
/* Docker's default capability set, as OCI names ("CAP_CHOWN", ...). */
extern const char *const rt_default_caps[];
/* Every capability name the kernel knows (for --privileged / ALL). */
int rt_cap_from_name(const char *name); /* "NET_ADMIN" or "CAP_NET_ADMIN" -> number, -EINVAL */
/* "CAP_CHOWN" for 0 ...; NULL for numbers the build does not know. */
const char *rt_cap_name(int cap);
/* The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
int rt_cap_last(void);

/* Fill a default OCI spec (new reference) for a container: namespaces
 * (mount, pid, uts, ipc, network, cgroup), Docker's mounts, masked and
 * readonly paths, default caps, no_new_privs, default seccomp.  The caller
 * sets root, process.args/env/cwd/user, and tweaks the rest. */
json_t *rt_spec_default(void);

/* Resolve "user[:group]" (names or numbers) against rootfs/etc/passwd and
 * /etc/group as Docker does; fills uid, gid and supplementary groups. */
int rt_resolve_user(const char *rootfs, const char *spec, uid_t *uid, gid_t *gid, gid_t **groups,
		    size_t *n_groups, char **ret_home, Error **err);


/* Kernel features found (for `berth version`): overlay, seccomp, namespaces. */
json_t *rt_host_features(void);

#endif
