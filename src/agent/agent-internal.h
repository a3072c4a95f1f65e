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
	char buf[64];       /* http: the status line (what sscanf needs of it) */
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
	const json_t *spec;       /* borrowed from Pod.pod; NULL while it sleeps: read ctr_spec() */
	char *image;              /* spec.image (read every tick: status, image GC) */
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
	char *process;            /* the OCI process of the instance, args removed (for exec): compact JSON text */
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
	struct CtrPull *pull;     /* pull.c: the image step's state (owned) or NULL */
} PodCtr;

/* A pod condition as last reported: its status and lastTransitionTime. */
#define POD_CONDS 5
typedef struct PodCond {
	bool ok;
	char since[24];
} PodCond;

typedef struct Pod {
	char *uid, *ns, *name;
	char *dir;                /* <root>/pods/<ns>_<name>_<uid> */
	char *rundir;             /* <runroot>/agent/<uid> */
	json_t *pod;              /* owned; NULL while the pod sleeps: read pod_tree() */
	char *pod_text;           /* the same pod, compact JSON (what pod_tree() parses) */
	/* what the tick reads of the pod every second, so a steady pod needs no tree */
	char restart_policy[16];
	char source[8];           /* annotation kubernetes.io/config.source ("api", "file") */
	char host_ip[48];         /* status.hostIP the source gave */
	const char *qos;          /* status.qosClass */
	PodCtr *init;
	size_t n_init;
	PodCtr *app;
	size_t n_app;
	bool host_network;
	bool sandbox_ready;
	char ip[64];
	json_t *cni_result;       /* only while the sandbox is made (sandbox.json keeps it) */
	char start_time[48];
	bool killing;
	int64_t kill_deadline_ms;
	bool gone;
	char *config_error;       /* pod-level sync error (volumes, sandbox) */
	int64_t next_try_ms;      /* sandbox/volume retry */
	uint64_t status_hash;     /* of the last reported PodStatus (status.c); status.json has it */
	bool status_known;        /* ... if any */
	char phase[12];           /* its phase */
	PodCond conds[POD_CONDS]; /* its conditions (status.c's order) */
	struct Pod *next;
} Pod;

typedef struct AgentImageGc AgentImageGc;

struct Agent {
	AgentConfig cfg;
	AgentImageGc *imagegc;    /* imagegc.c, or NULL when disabled */
	char *root, *runroot, *node_name, *cgroup_root;
	char *pods_dir;
	ImgStore *images;
	Pod *pods;
	int sigfd;
	pid_t *zombies;           /* children to reap */
	size_t n_zombies;
	size_t n_pods;            /* at the last tick */
	int64_t changed_ms;       /* monotonic: a pod came, went or reported a change; 0 trimmed since */
	int64_t trimmed_ms;       /* monotonic: the last mem_trim */
	bool retrim;              /* one more trim due TRIM_MIN_MS after it */
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
/* The OCI process.user a process runs as now (uid, gid and supplementary
 * groups from /proc/PID/status): what exec and probes in a container take,
 * so they run as its main process does, image user names resolved. */
json_t *agent_proc_user(pid_t pid);

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
/* Report the pod's status if it changed (status.json + callback): true if so. */
bool status_report(Agent *a, Pod *p);
/* Take st (a status.json read back) as the last reported status. */
void status_adopt(Pod *p, const json_t *st);
/* The last reported status, read back from status.json (new reference), or NULL. */
json_t *status_last(const Pod *p);

/* worker.c */
/* The pod's tree (and its containers' spec pointers), parsed again from
 * pod_text if the pod sleeps: a steady pod (sandbox ready, every container
 * running or done, nothing in flight) drops its tree at the end of each
 * tick (pod_sleep), ~12 KB of jansson nodes for ~1.5 KB of text.  Pointers
 * into the tree stay valid until the end of the tick. */
const json_t *pod_tree(const Pod *p);
const json_t *ctr_spec(const Pod *p, const PodCtr *c);
/* true if it dropped the tree */
bool pod_sleep(Pod *p);
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
/* agent_pod_phase from the restart policy and the numbers of containers */
const char *pod_phase_of(const char *policy, size_t n_init, size_t n_app, const json_t *init_statuses,
			 const json_t *statuses);
/* apisource.c: drop what the agent never reads from its copy of an API pod */
void pod_strip_unread(json_t *pod);
int64_t pod_grace_s(const json_t *pod);

/* ---- pull.c: the image puller (imagePullPolicy, pull secrets, back-off) ---- */

/* The image step before a container starts: true when it may start now
 * (image present as the policy wants, or policy Never: ctrspec.c reports a
 * missing image); false while a pull is in flight (off the agent's thread)
 * or backs off, with c->reason/message and the Events set as the kubelet's. */
bool pull_image_step(Agent *a, Pod *p, PodCtr *c, int64_t now);
/* After a start attempt: true once if the image was just pulled (then no
 * "already present" Event), and the image's id as the kubelet reports it
 * after a pull ("host/repo@sha256:...") when c->image_id is that image. */
bool pull_take_pulled(PodCtr *c);
const char *pull_image_ref_id(const PodCtr *c);
void pull_ctr_release(PodCtr *c);

/* Pure parts (tests/unit/test-agentpull.c).  Does a registry key of a
 * docker config ("host[:port][/path]", scheme allowed, "*" globs per host
 * label) cover repo ("host[:port]/path", no tag), as the kubelet matches? */
bool agent_registry_key_match(const char *key, const char *repo);
/* Append {"key","user","password"} for every entry of a Secret of type
 * kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg matching repo,
 * most specific key first; other types add nothing.  -EINVAL if malformed. */
int agent_pull_secret_creds(const json_t *secret, const char *repo, json_t *creds, Error **err);
/* A duration as Go prints a time.Duration truncated to milliseconds
 * ("512ms", "1.2s", "1m3.5s").  Caller frees. */
char *agent_go_duration(int64_t ms);
/* "host/repo" of a reference (normalised, tag and digest removed).  Caller frees. */
char *agent_image_repo(const char *image);
/* After the n-th failed pull in a row: retry after base, 2*base ... max;
 * ErrImagePull shows for half of that (at most base), ImagePullBackOff after. */
void agent_pull_backoff(int failures, int64_t base_ms, int64_t max_ms, int64_t *ret_show_ms, int64_t *ret_retry_ms);

/* ---- imagegc.c: the node's image garbage collection ---- */

int agent_imagegc_start(Agent *a, Error **err);
void agent_imagegc_stop(AgentImageGc *g);
/* Tell the collector which images the pods use now (from the agent's tick). */
void agent_imagegc_publish(Agent *a);
/* Pure parts: the used share of a filesystem in whole percent (rounded up),
 * and the bytes to free to get from over high_pct down to low_pct (0 when
 * not over high_pct, or high_pct >= 100). */
int agent_imagegc_usage_pct(uint64_t total, uint64_t avail);
uint64_t agent_imagegc_to_free(uint64_t total, uint64_t avail, int high_pct, int low_pct);

/* ---- kubelet2: volume refresh, hostPort admission, shared PID namespace,
 * local-path directories (volumes.c, admit.c, sandbox.c, localvol.c) ---- */

/* Rewrite the pod's configMap/secret/downwardAPI/projected volumes whose
 * content changed (..data swapped); the number rewritten, or < 0. */
int volumes_refresh_changed(Agent *a, Pod *p, Error **err);
/* hostPort admission (kubelet's NodePorts predicate): 0 admitted, or
 * -EADDRINUSE with *reason / *message (caller frees) when another pod of the
 * node, not terminated, holds one of pod's hostPort+protocol+hostIP. */
int agent_admit_host_ports(Agent *a, const json_t *pod, char **reason, char **message);
/* Do two pods' hostPorts collide?  (pure, for tests) */
bool agent_host_ports_conflict(const json_t *pod_a, const json_t *pod_b);
/* shareProcessNamespace: the pid of the pod's PID-1 process, 0 if none. */
pid_t sandbox_pid_holder(const Pod *p);
/* local-path directories (localvol.c): record the directory of a PV the
 * local-path provisioner made; sweep: remove those whose PV the server no
 * longer has (the number removed).  name_ok: pv is "pvc-<uid>" and path's
 * last component starts with "<pv>_" (pure, for tests). */
void agent_localvol_record(Agent *a, const json_t *pv, const char *path);
int agent_localvol_sweep(const char *root, KubeClient *kc);
bool agent_localvol_name_ok(const char *pv, const char *path);

#endif
