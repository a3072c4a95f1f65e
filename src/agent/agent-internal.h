/* agent-internal.h - what the files of src/agent share: the Agent, a pod
 * (Pod) and the containers it runs (PodCtr), the sandbox, probes in flight.
 *
 * One thread: agent_tick walks the pods and advances each one's state
 * machine (worker.c); nothing in it blocks for long (container starts are a
 * fork + exec report; probes and hooks run as children / non-blocking
 * sockets polled on later ticks).
 */
#ifndef BERTH_AGENT_INTERNAL_H
#define BERTH_AGENT_INTERNAL_H

#include "agent.h"
#include "../runtime/runtime.h"
#include "../image/image.h"
#include <sys/types.h>

/* A probe or exec hook in flight. */
typedef struct ProbeRun {
	bool active;
	ProbeKind kind;
	pid_t pid;          /* exec: the rt_exec child */
	int fd;             /* http/tcp: the socket */
	int out_fd;         /* exec: its output (drained) */
	bool sent;
	char buf[256];      /* http: the status line */
	size_t len;
	int64_t deadline_ms;
} ProbeRun;

typedef struct Probe {
	ProbeSpec spec;
	ProbeRun run;
	int64_t next_ms;    /* when to run next */
	int successes, failures;
	int result;         /* -1 unknown, 0 failed, 1 ok */
} Probe;

typedef enum { CTR_WAITING, CTR_RUN, CTR_DONE } CtrPhase;

typedef struct PodCtr {
	char *name;
	bool init;
	const json_t *spec;       /* borrowed from Pod.pod */
	char *dir;                /* <poddir>/<name> */
	CtrPhase phase;
	char *reason;             /* waiting reason, or terminated reason */
	int restarts;             /* restartCount */
	int crashes;              /* restarts that count for back-off */
	int64_t backoff_until_ms; /* monotonic; 0 = none */
	/* the current (or last) instance */
	char *id;                 /* "<uid>-<name>-<n>" */
	pid_t pid;                /* container init, host pid */
	int64_t pid_start;        /* its start time (for reuse checks) */
	pid_t shim;               /* the shim (our child unless adopted) */
	int64_t started_mono;
	char started_at[48], finished_at[48];
	int exit_code;
	int signal;
	json_t *last_term;        /* lastState.terminated (owned) or NULL */
	char *image_id;
	bool ready, started;      /* readiness; startup probe passed */
	json_t *process;          /* the OCI process of the instance, args removed (for exec) */
	char *message;            /* terminated/waiting message */
	bool term_sent;           /* SIGTERM sent for the current instance */
	bool stopping;            /* being stopped (pod kill, failed probe or hook) */
	int64_t stop_deadline_ms; /* SIGKILL then */
	const char *stop_reason;  /* set by probes: "liveness", "startup", "postStart" */
	ProbeRun hook;            /* postStart / preStop in flight */
	ProbeSpec hook_spec;
	bool poststart_pending;
	int64_t next_try_ms;      /* config/image errors: retry then */
	Probe liveness, readiness, startup;
} PodCtr;

typedef struct Pod {
	char *uid, *ns, *name;
	char *dir;                /* <root>/pods/<ns>_<name>_<uid> */
	char *rundir;             /* <runroot>/agent/<uid> */
	json_t *pod;              /* owned */
	PodCtr *init;
	size_t n_init;
	PodCtr *app;
	size_t n_app;
	bool host_network;
	bool sandbox_ready;
	char ip[64];
	json_t *cni_result;
	char start_time[48];
	bool killing;
	int64_t kill_deadline_ms;
	bool gone;
	char *config_error;       /* pod-level sync error (volumes, sandbox) */
	int64_t next_try_ms;      /* sandbox/volume retry */
	json_t *status;           /* last reported */
	struct Pod *next;
} Pod;

struct Agent {
	AgentConfig cfg;
	char *root, *runroot, *node_name, *cgroup_root;
	char *pods_dir;
	ImgStore *images;
	Pod *pods;
	int sigfd;
	pid_t *zombies;           /* children to reap */
	size_t n_zombies;
};

/* time */
int64_t agent_now_ms(void);              /* monotonic */
void agent_now_rfc3339(char buf[48]);

/* sandbox.c */
int sandbox_create(Agent *a, Pod *p, Error **err);
int sandbox_adopt(Agent *a, Pod *p);     /* 1 if adopted */
void sandbox_destroy(Agent *a, Pod *p);
char *sandbox_ns_path(const Pod *p, const char *ns); /* caller frees */
char *pod_cgroup_path(const Pod *p, const char *ctr); /* ctr NULL: the pod's */

/* volumes.c */
int volumes_setup(Agent *a, Pod *p, Error **err);
void volumes_teardown(Agent *a, Pod *p);
/* Write a configMap/secret/downwardAPI/projected volume again (atomically:
 * ..data swapped), e.g. a ServiceAccount token near its expiry. */
int volumes_refresh(Agent *a, Pod *p, const char *name, Error **err);
/* mounts[] entries for the container's volumeMounts */
int volumes_mounts(Agent *a, Pod *p, const json_t *container, json_t *mounts, Error **err);
char *volume_dir(const Pod *p, const char *plugin, const char *name);

/* ctrspec.c */
int ctrspec_build(Agent *a, Pod *p, PodCtr *c, const char *instdir, json_t **ret_spec,
		  CgLimits *ret_lim, char **ret_image_id, Error **err);
json_t *ctrspec_exec_process(Agent *a, Pod *p, PodCtr *c, char *const *argv);

/* shim.c */
int shim_start(Agent *a, Pod *p, PodCtr *c, Error **err);
/* 1 if the instance exited (fields filled), 0 running. */
int shim_poll(Agent *a, Pod *p, PodCtr *c);
int podctr_state_save(Pod *p, PodCtr *c);
int podctr_state_load(Pod *p, PodCtr *c);
bool pid_alive(pid_t pid, int64_t start);
int64_t pid_start_time(pid_t pid);
void agent_reap_later(Agent *a, pid_t pid);

/* probe.c */
int probe_start(Agent *a, Pod *p, PodCtr *c, ProbeKind kind, const ProbeSpec *spec, ProbeRun *run,
		Error **err);
/* 1 success, 0 failure, -EAGAIN still running */
int probe_check(Agent *a, ProbeRun *run);
int probe_check_hook(Agent *a, Pod *p, const ProbeSpec *spec, ProbeRun *run);
void probe_cancel(Agent *a, ProbeRun *run);
void probes_tick(Agent *a, Pod *p, PodCtr *c, int64_t now);

/* status.c */
json_t *status_build(Agent *a, Pod *p);
void status_ctr_terminated(PodCtr *c, const char *reason);
json_t *status_terminated_json(const PodCtr *c);
/* Report the pod's status if it changed (status.json + callback). */
void status_report(Agent *a, Pod *p);

/* worker.c */
Pod *pod_new(Agent *a, const json_t *pod);
void pod_free(Pod *p);
void pod_tick(Agent *a, Pod *p, int64_t now);
void pod_set_spec(Pod *p, const json_t *pod);
int pod_save(Pod *p);

/* events.c: an Event through cfg.on_event (c NULL: about the pod) */
void agent_event(Agent *a, Pod *p, const PodCtr *c, const char *type, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* podspec.c */
const char *pod_restart_policy(const json_t *pod);
int64_t pod_grace_s(const json_t *pod);

#endif
