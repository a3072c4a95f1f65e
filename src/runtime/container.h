/* container.h - docker-style containers on top of the low-level runtime.
 * Part of the runtime component; included by runtime.h.
 *
 * State:
 *   <root>/containers/<id>/config.json  what the user asked for, in Docker's
 *       inspect shape: Id, Name, Created, Image, ImageID, Path, Args, Config{...},
 *       HostConfig{...}.  Written once at create.
 *   <root>/containers/<id>/state.json   State{Status, Running, Pid, ExitCode,
 *       OOMKilled, StartedAt, FinishedAt, Error, RestartCount}, SupervisorPid,
 *       NetworkSettings, the CNI result.  Updated under the container lock by
 *       the supervisor and the CLI.
 *   <root>/containers/<id>/{upper,work,init,merged}  overlay dirs; init holds
 *       /etc/hosts, /etc/resolv.conf, /etc/hostname (never committed).
 *   <root>/containers/<id>/ctr.log      CRI-format log.
 *   <runroot>/containers/<id>/          nothing durable (lock file).
 */
#ifndef BERTH_RUNTIME_CONTAINER_H
#define BERTH_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "../base/err.h"

typedef struct ImgStore ImgStore;

typedef struct CtrStore {
	char *root;      /* berth root */
	char *runroot;
	char *dir;       /* <root>/containers */
	ImgStore *images;
} CtrStore;

typedef struct Container {
	char *id;
	char *dir;       /* <root>/containers/<id> */
	json_t *config;  /* owned */
	json_t *state;   /* owned */
} Container;

typedef enum { CTR_CREATED, CTR_RUNNING, CTR_EXITED, CTR_REMOVING } CtrStatus;

int ctr_store_open(const char *root, const char *runroot, CtrStore **ret, Error **err);
void ctr_store_free(CtrStore *s);
void ctr_free(Container *c);

/* Create from a Docker-shaped create request: {"Image": "...", "Name": "...",
 * "Config": {Cmd, Entrypoint, Env, WorkingDir, User, Hostname, Tty, OpenStdin,
 * Labels, StopSignal}, "HostConfig": {Memory, NanoCpus, PidsLimit,
 * ReadonlyRootfs, Binds, Tmpfs, PortBindings (berth: list of specs),
 * NetworkMode, CapAdd, CapDrop, Privileged, Init, RestartPolicy, AutoRemove}}. */
int ctr_create(CtrStore *s, const json_t *request, Container **ret, Error **err);
/* By name, full id or unique id prefix: -ENOENT "no such container: x". */
int ctr_lookup(CtrStore *s, const char *name_or_id, Container **ret, Error **err);
int ctr_list(CtrStore *s, Container ***ret, size_t *ret_n, Error **err);
/* Re-read state.json (and reconcile a dead supervisor). */
int ctr_refresh(CtrStore *s, Container *c, Error **err);
CtrStatus ctr_status(const Container *c);
const char *ctr_name(const Container *c);
pid_t ctr_pid(const Container *c);

/* Attachment of a foreground CLI: the supervisor forwards output to out/err
 * and the container reads in; exit_fd receives the exit code (int, 4 bytes)
 * once the container is gone and cleaned up. */
typedef struct CtrAttach {
	int in, out, err;
	int exit_fd;
} CtrAttach;

/* Start: forks the supervisor, which creates the cgroup, spawns the container,
 * attaches the network, and reports back.  Returns after the container's
 * program was exec'ed, or the start error (-ENOENT: command not found,
 * -EACCES: cannot invoke).  attach NULL = detached. */
int ctr_start(CtrStore *s, Container *c, const CtrAttach *attach, Error **err);
/* Wait until the container exited (timeout_ms < 0: forever); *ret_code. */
int ctr_wait(CtrStore *s, Container *c, int timeout_ms, int *ret_code, Error **err);
int ctr_kill(CtrStore *s, Container *c, int sig, Error **err);
/* StopSignal, then SIGKILL after timeout_s. */
int ctr_stop(CtrStore *s, Container *c, int timeout_s, Error **err);
/* Remove (force: kill first).  Leaves nothing: cgroup, network, dirs. */
int ctr_remove(CtrStore *s, Container *c, bool force, Error **err);
/* The OCI "process" object for exec in this container (user, env, caps). */
json_t *ctr_exec_process(CtrStore *s, Container *c, char *const *argv, char *const *env,
			 const char *cwd, const char *user, bool tty);
/* The container's cgroup (for exec, top and stats); caller cg_free()s. */
struct Cgroup;
int ctr_cgroup(CtrStore *s, Container *c, struct Cgroup **ret, Error **err);
/* Docker-shaped inspect document (new ref). */
json_t *ctr_inspect(CtrStore *s, Container *c);
/* Mount the container's overlay read-only-ish at a private path in a child
 * and call fn(path) there (export); returns fn's result. */
int ctr_with_rootfs(CtrStore *s, Container *c, int (*fn)(const char *path, void *ud), void *ud,
		    Error **err);

#endif
