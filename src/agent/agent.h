/* agent.h - the node agent (the kubelet's job): the public interface of
 * src/agent/.
 *
 * The pod runtime takes Kubernetes v1 Pod objects (json_t, as the API
 * serves them) and makes them run on this node with the low-level runtime:
 * a pause-less sandbox (network, IPC and UTS namespaces pinned by bind
 * mounts under the runroot, CNI bridge networking or hostNetwork, a pod
 * cgroup kubepods/pod<uid>), then init containers in order, then the app
 * containers, each an rt_spawn joining the sandbox's namespaces, held by a
 * tiny per-container shim that writes the CRI log and records the exit.
 * Probes, lifecycle hooks, restart back-off and graceful termination run in
 * the agent's single-threaded loop (agent_tick).  Status comes out as a
 * Kubernetes PodStatus through a callback; where pods come from (static
 * manifests now, the API server later) is the caller's business.
 *
 * State (everything a restarted agent needs to adopt running pods):
 *   <root>/pods/<ns>_<name>_<uid>/pod.json        the pod as last synced
 *   <root>/pods/<ns>_<name>_<uid>/sandbox.json    namespaces, IP, CNI result
 *   <root>/pods/<ns>_<name>_<uid>/status.json     the last PodStatus
 *   <root>/pods/<ns>_<name>_<uid>/<ctr>/<n>.log   CRI logs (kubelet's layout)
 *   <root>/pods/<ns>_<name>_<uid>/<ctr>/state.json the current instance
 *   <root>/pods/<ns>_<name>_<uid>/<ctr>/<n>/      its overlay upper/work
 *   <root>/pods/<ns>_<name>_<uid>/volumes/...     emptyDir, configMap, ...
 *   <runroot>/agent/<uid>/{net,ipc,uts}           pinned namespaces
 */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "../base/err.h"

typedef struct Agent Agent;

/* Find a ConfigMap or Secret ("ConfigMap" / "Secret") by namespace and name:
 * *ret a new reference to the object (Secret data base64 as the API has it),
 * -ENOENT when there is none.  NULL callback: nothing exists. */
typedef int (*AgentLookupFn)(void *ud, const char *kind, const char *ns, const char *name,
			     json_t **ret);
/* Called whenever a pod's status changed (pod borrowed, status borrowed). */
typedef void (*AgentStatusFn)(void *ud, const json_t *pod, const json_t *status);
/* Called once a killed pod is completely gone (uid). */
typedef void (*AgentGoneFn)(void *ud, const char *uid);

typedef struct AgentConfig {
	const char *root;          /* state root (the berth root) */
	const char *runroot;       /* runtime root */
	const char *node_name;     /* default: the hostname */
	const char *cgroup_root;   /* default "/sys/fs/cgroup" */
	int64_t backoff_base_ms;   /* crash back-off start (kubelet: 10 s), doubles ... */
	int64_t backoff_max_ms;    /* ... up to this (kubelet: 5 min) */
	AgentLookupFn lookup;
	AgentStatusFn on_status;
	AgentGoneFn on_gone;
	void *ud;
} AgentConfig;

/* Open the agent: image store, directories, and every pod found on disk is
 * adopted (its running containers keep running).  Caller frees. */
int agent_new(const AgentConfig *cfg, Agent **ret, Error **err);
/* Frees memory only: pods keep running (an agent restart adopts them). */
void agent_free(Agent *a);

/* Make the pod (a v1 Pod; metadata.uid required) run here, or update what
 * can change in place.  Idempotent; work happens in agent_tick. */
int agent_pod_sync(Agent *a, const json_t *pod, Error **err);
/* Stop the pod gracefully (preStop, SIGTERM, grace period, SIGKILL) and
 * remove everything it had.  grace_s < 0: the pod's
 * terminationGracePeriodSeconds.  -ENOENT if unknown. */
int agent_pod_kill(Agent *a, const char *uid, int64_t grace_s, Error **err);
/* The pods the agent holds (uids, NULL-terminated, caller frees) - adopted
 * ones included, so a source can kill those it no longer wants. */
char **agent_pod_uids(Agent *a);
/* The last status of a pod (borrowed) or NULL. */
const json_t *agent_pod_status(Agent *a, const char *uid);

/* Do what is due: start, probe, restart, kill, reap, report.  Never blocks
 * long; returns the milliseconds until something is due next (<= 1000). */
int agent_tick(Agent *a);
/* A descriptor that becomes readable when a child of the agent exits
 * (poll it with agent_tick's timeout). */
int agent_wake_fd(Agent *a);
/* True when no pod remains (all killed ones gone). */
bool agent_idle(Agent *a);

/* ---- static pods (kubelet --pod-manifest-path) ---- */

/* Read every manifest (*.yaml, *.yml, *.json; hidden files skipped) in dir,
 * give each pod kubelet's static-pod identity (name "<name>-<node>",
 * namespace "default" if unset, uid from a hash of node, file and content)
 * and sync it; kill the agent's pods that no manifest names any more.
 * Bad files are reported in *bad (one "file: message" line each; caller
 * frees) and skipped. */
int agent_static_sync(Agent *a, const char *dir, char **bad, Error **err);

/* ---- pure parts, exported for tests ---- */

/* args of the container's process: Kubernetes' command/args against the
 * image's Entrypoint/Cmd, with $(VAR) expanded from env (KEY=VALUE strv).
 * New reference (array of strings). */
json_t *agent_command_resolve(const json_t *container, const json_t *image_config, char *const *env);
/* Kubernetes' $(VAR) expansion: $(NAME) from env if defined (else kept),
 * $$ -> $.  Caller frees. */
char *agent_expand(const char *s, char *const *env);
/* The container's environment (KEY=VALUE strv, caller frees): envFrom,
 * then env with value (expanded), fieldRef, resourceFieldRef,
 * configMapKeyRef, secretKeyRef.  pod_ip may be "".  A missing ConfigMap /
 * Secret / key that is not optional fails naming it. */
int agent_env_resolve(const json_t *pod, const json_t *container, const char *pod_ip,
		      const char *node_name, AgentLookupFn lookup, void *ud, char ***ret, Error **err);
/* A Kubernetes quantity ("500m", "1", "64Mi", "1e3", "1.5G") in milli-units. */
int agent_quantity_milli(const char *s, int64_t *ret);
/* The restart delay after `restarts` crash restarts: 0, base, 2*base, ... max. */
int64_t agent_backoff_ms(int restarts, int64_t base_ms, int64_t max_ms);

typedef enum { PROBE_NONE, PROBE_EXEC, PROBE_HTTP, PROBE_TCP } ProbeKind;
typedef struct ProbeSpec {
	ProbeKind kind;
	char **exec;                 /* exec.command */
	char *host, *path, *scheme;  /* httpGet (host NULL: the pod IP) */
	char **headers;              /* "Name: value" */
	int port;
	int initial_delay_s, period_s, timeout_s, success_threshold, failure_threshold;
	int64_t termination_grace_s; /* probe-level override, -1 unset */
} ProbeSpec;
/* Parse a probe object with Kubernetes' defaults (period 10, timeout 1,
 * success 1, failure 3); named ports are looked up in the container's ports.
 * NULL probe: kind PROBE_NONE. */
int agent_probe_parse(const json_t *probe, const json_t *container, ProbeSpec *ret, Error **err);
void agent_probe_spec_release(ProbeSpec *p);

/* The pod phase from container statuses as the kubelet derives it. */
const char *agent_pod_phase(const json_t *pod, const json_t *init_statuses, const json_t *statuses);

#endif
