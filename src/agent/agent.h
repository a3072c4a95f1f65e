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
/* An Event the runtime records about a pod, as the kubelet words them
 * (reasons Pulled, Created, Started, Killing, BackOff, Unhealthy, Failed);
 * field_path "spec.containers{NAME}" / "spec.initContainers{NAME}" or NULL;
 * type "Normal" or "Warning".  Everything borrowed. */
typedef void (*AgentEventFn)(void *ud, const json_t *pod, const char *field_path, const char *type,
			     const char *reason, const char *message);
/* A token for a projected serviceAccountToken source (src: its
 * {audience, expirationSeconds, path}) bound to pod: *ret caller frees. */
typedef int (*AgentTokenFn)(void *ud, const json_t *pod, const json_t *src, char **ret, Error **err);

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
	AgentEventFn on_event;     /* optional */
	AgentTokenFn token;        /* optional: serviceAccountToken volumes fail without */
	void *ud;
	/* cluster DNS (kubelet --cluster-dns/--cluster-domain): with cluster_dns
	 * and resolv_conf set, a pod's /etc/resolv.conf is resolv_conf(pod,
	 * cluster_dns, cluster_domain, host text) (the CLI passes
	 * dns_pod_resolv_conf); unset: the host's resolvers */
	const char *cluster_dns, *cluster_domain;
	char *(*resolv_conf)(const json_t *pod, const char *dns_ip, const char *domain, const char *host_text);
	/* image GC (kubelet --image-gc-high-threshold/--image-gc-low-threshold/
	 * --minimum-image-ttl-duration): over high_pct % full, unused images go
	 * until below low_pct %; high 100 disables it; checked every period.
	 * image_gc_period_ms 0: the kubelet's defaults (85, 80, 2 min, 5 min). */
	int image_gc_high_pct, image_gc_low_pct;
	int64_t image_min_age_ms, image_gc_period_ms;
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
/* The last status of a pod (new reference: the Agent keeps it as text) or NULL. */
json_t *agent_pod_status(Agent *a, const char *uid);

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


/* ---- API mode: the node and its pods from an API server (node.c,
 * events.c, apisource.c; docs/agent.md) ---- */

/* What the Node object says about this machine (strings owned). */
typedef struct AgentNodeInfo {
	char *name, *ip, *hostname, *pod_cidr;
	char *arch, *kernel, *os_image, *machine_id, *system_uuid, *boot_id;
	char *runtime_version, *kubelet_version;
	json_t *labels;            /* extra labels (object) or NULL */
	json_t *taints;            /* array or NULL */
	int64_t cpus, mem_kib, storage_kib, pods;
	int kubelet_port;          /* daemonEndpoints (0: 10250) */
} AgentNodeInfo;

/* Fill what the machine tells (uname, os-release, machine-id, boot_id,
 * CPUs, memory, the root's filesystem); name/ip/labels/taints untouched. */
void agent_node_info_detect(AgentNodeInfo *ni, const char *root);
void agent_node_info_release(AgentNodeInfo *ni);
/* The address this node reaches the API server from (the route's source
 * address; nothing is sent), "127.0.0.1" if that fails.  Caller frees. */
char *agent_node_ip_detect(const char *server_url);
/* "k=v,k2=v2" -> object; "k=v:Effect,k:Effect" -> taints array.  New ref. */
int agent_labels_parse(const char *s, json_t **ret, Error **err);
int agent_taints_parse(const char *s, json_t **ret, Error **err);
/* The Node to register (new ref): labels (hostname, os, arch + extra),
 * spec (podCIDR, taints), status (see agent_node_status). */
json_t *agent_node_object(const AgentNodeInfo *ni, const char *now);
/* status.capacity/allocatable, addresses, nodeInfo, daemonEndpoints and the
 * conditions with heartbeat now, transition times kept from old_status
 * (may be NULL) when a condition's status did not change.  New ref. */
json_t *agent_node_status(const AgentNodeInfo *ni, const json_t *old_status, const char *now);
/* The node's Lease in kube-node-lease (new ref); now_micro RFC 3339 with
 * microseconds. */
json_t *agent_lease_object(const char *node, const char *now_micro, int duration_s);
/* A v1 Event about a pod from the kubelet on node (new ref; name
 * "<pod>.<hex nanoseconds>"). */
json_t *agent_event_new(const json_t *pod, const char *field_path, const char *type, const char *reason,
			const char *message, const char *node, const char *now);
/* The key repeats of an event share (source, involved object, type,
 * reason, message): they bump count/lastTimestamp instead of a new Event.
 * Caller frees. */
char *agent_event_key(const json_t *event);

/* The API source: registers and heartbeats the Node, renews its Lease,
 * lists and watches the pods bound to it (spec.nodeName) and feeds them to
 * the Agent, writes pod statuses and Events, deletes pods for good once
 * they are gone.  Two threads (the watch, the writer); the Agent is only
 * touched from the caller's thread in agent_api_process. */
typedef struct AgentApi AgentApi;
typedef struct KubeClient KubeClient;
/* kc and ni are borrowed and must outlive the AgentApi. */
AgentApi *agent_api_new(KubeClient *kc, const AgentNodeInfo *ni);
/* Point cfg's lookup / on_status / on_gone / on_event / token at the source. */
void agent_api_hook(AgentApi *api, AgentConfig *cfg);
/* The cluster CA pods see as ca.crt in their ServiceAccount volume when the
 * server has no kube-root-ca.crt ConfigMap: PEM text, or base64 of it (as a
 * kubeconfig's certificate-authority-data); either may be NULL. */
void agent_api_set_root_ca(AgentApi *api, const char *pem, const char *pem_b64);
/* Rewrite pods' ServiceAccount tokens this often (default, 0: at 80% of
 * their expirationSeconds, as the kubelet does). */
void agent_api_set_token_refresh(AgentApi *api, int64_t period_ms);
/* Re-read the pods' configMap / secret / downwardAPI / projected volumes
 * this often (default, 0: 1 min, the kubelet's sync period). */
void agent_api_set_volume_refresh(AgentApi *api, int64_t period_ms);
/* PATCH the node status and renew the Lease this often (default 10 s; the
 * kubelet's --node-status-update-frequency). */
void agent_api_set_status_period(AgentApi *api, int64_t period_ms);
/* Register the Node (an authentication failure is returned, other errors
 * are retried in the background) and start the threads. */
int agent_api_start(AgentApi *api, Agent *a, Error **err);
/* Readable when pod events wait for agent_api_process. */
int agent_api_fd(AgentApi *api);
/* Apply waiting pod events to the Agent (caller's thread). */
void agent_api_process(AgentApi *api);
/* Stop the threads (pending writes are flushed for up to flush_ms). */
void agent_api_free(AgentApi *api, int flush_ms);

/* ---- the node's pod network (routes.c; docs/networking.md "Several
 * nodes") ---- */

/* Pods get addresses from the node's podCIDR (ni->pod_cidr, else the Node's
 * spec.podCIDR once allocated), on network "berth-pods-<subnet>" (its own
 * bridge and lease directory); a watch on Nodes keeps "<podCIDR> via <InternalIP>"
 * routes to every other node; traffic from the pods leaving cluster_cidr is
 * masqueraded.  kc and ni borrowed (must outlive it). */
typedef struct AgentPodNet AgentPodNet;
int agent_podnet_start(KubeClient *kc, const AgentNodeInfo *ni, const char *cluster_cidr, AgentPodNet **ret,
		       Error **err);
void agent_podnet_stop(AgentPodNet *pn);
/* The network pods attach to now (copied): 1 the node's pod network,
 * 0 the default one (no pod network started, or none allocated in time),
 * -EAGAIN not known yet (retry). */
typedef struct AgentPodNetCfg {
	char name[96], bridge[16], subnet[64], data_dir[4096]; /* data_dir "": host-local's */
} AgentPodNetCfg;
int agent_podnet_current(AgentPodNetCfg *out);
/* Pure helpers, exported for tests: "a.b.c.d/n" -> host-order network and
 * prefix; does outer contain inner; the routes wanted from nodes
 * (name -> {"cidr","ip"}) for node self (new ref: cidr -> via). */
int agent_cidr_parse(const char *cidr, uint32_t *net, unsigned *prefix);
bool agent_cidr_contains(const char *outer, const char *inner);
json_t *agent_routes_wanted(const json_t *nodes, const char *self, const char *self_ip, const char *self_cidr);

#endif
