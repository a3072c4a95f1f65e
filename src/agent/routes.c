/* routes.c - the node's pod network across nodes (flannel's host-gw
 * backend's job, with the kube-controller-manager's node IPAM upstream):
 *
 *  - which subnet this node's pods get: --pod-cidr, else the Node's
 *    spec.podCIDR once the server allocated it (the agent's sandboxes wait
 *    for it up to PODNET_WAIT_MS, then fall back to the default network);
 *  - a network per pod subnet: bridge net_bridge_name(subnet), CNI name
 *    and host-local lease directory "berth-pods-<subnet>", so agents of one
 *    machine (each in its own network namespace, or in the same one with
 *    different subnets) never share a lease or a bridge, while two agents
 *    that do end up with one subnet on one bridge (two clusters' nodes of
 *    the same name in the root namespace) share its leases instead of
 *    handing out the same address twice;
 *  - a route "<other node's podCIDR> via <its InternalIP>" for every other
 *    Node, kept in this agent's network namespace by a watch on Nodes and
 *    removed when the node goes or changes; routes carry protocol number
 *    ROUTE_PROTO, so an agent that restarts adopts the ones its predecessor
 *    left and removes those of nodes that went away meanwhile;
 *  - one masquerade rule: traffic from this node's pods leaving the cluster
 *    CIDR (pod to pod keeps its source address, as Kubernetes requires).
 *
 * The watch runs on its own thread; sandbox.c reads the current network
 * under the lock (agent_podnet_current).  Routes and the rule are made with
 * ip(8) and iptables(8), each a short child process.
 */
#include "agent-internal.h"
#include "../base/log.h"
#include "../shared/json.h"
#include "../shared/kube.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PODNET_WAIT_MS 10000
#define RETRY_MS 1000
#define WATCH_TIMEOUT_S 300
/* The routing protocol number our routes carry, so an agent that starts
 * again finds the routes an earlier run left (rtnetlink's free range). */
#define ROUTE_PROTO "201"

extern char **environ;

struct AgentPodNet {
	KubeClient *kc;
	char *node, *cluster_cidr, *node_ip;
	pthread_mutex_t lock;
	char *pod_cidr;          /* under lock; NULL until known */
	bool masq_done;
	int64_t wait_until_ms;   /* sandboxes wait for a pod CIDR until then */
	json_t *nodes;           /* watch thread: name -> {"cidr","ip"} */
	json_t *routes;          /* watch thread: cidr -> via (installed by us) */
	volatile int stop;
	pthread_t th;
	bool started;
};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static AgentPodNet *current;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- pure parts ---- */

int agent_cidr_parse(const char *cidr, uint32_t *net, unsigned *prefix)
{
	char buf[32];
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	if (!slash || (size_t)(slash - cidr) >= sizeof(buf) || !slash[1])
		return -EINVAL;
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = 0;
	char *end;
	unsigned long p = strtoul(slash + 1, &end, 10);
	struct in_addr a;
	if (*end || p > 32 || inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	uint32_t mask = p ? 0xffffffffu << (32 - p) : 0;
	*net = ntohl(a.s_addr) & mask;
	*prefix = (unsigned)p;
	return 0;
}

bool agent_cidr_contains(const char *outer, const char *inner)
{
	uint32_t on, in;
	unsigned op, ip;
	if (agent_cidr_parse(outer, &on, &op) < 0 || agent_cidr_parse(inner, &in, &ip) < 0 || ip < op)
		return false;
	uint32_t mask = op ? 0xffffffffu << (32 - op) : 0;
	return (in & mask) == on;
}

/* The routes this node wants: every other node with a valid podCIDR and an
 * InternalIP that is not ours, not loopback, and not a subnet of our own
 * (new ref: cidr -> via). */
json_t *agent_routes_wanted(const json_t *nodes, const char *self, const char *self_ip, const char *self_cidr)
{
	json_t *out = json_object();
	const char *name;
	json_t *n;
	json_object_foreach((json_t *)nodes, name, n) {
		const char *cidr = json_str(n, "cidr"), *ip = json_str(n, "ip");
		uint32_t net;
		unsigned prefix;
		struct in_addr a;
		if (!strcmp(name, self) || !cidr || !ip || agent_cidr_parse(cidr, &net, &prefix) < 0 ||
		    inet_pton(AF_INET, ip, &a) != 1 || (ntohl(a.s_addr) >> 24) == 127 ||
		    (self_ip && !strcmp(ip, self_ip)) || (self_cidr && !strcmp(cidr, self_cidr)))
			continue;
		json_object_set_new(out, cidr, json_string(ip));
	}
	return out;
}

/* {"cidr","ip"} of a Node object (new ref). */
static json_t *node_entry(const json_t *node)
{
	const char *ip = NULL;
	size_t i;
	json_t *a;
	json_array_foreach(json_path(node, "status.addresses"), i, a)
		if (!strcmp(json_str(a, "type") ?: "", "InternalIP") && !ip)
			ip = json_str(a, "address");
	return json_pack("{s:s?, s:s?}", "cidr", json_str(json_object_get(node, "spec"), "podCIDR"), "ip", ip);
}

/* ---- running ip / iptables ---- */

static const char *tool_path(const char *name, char buf[64])
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(buf, 64, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Run a tool quietly; its exit status (or -errno when it cannot run). */
static int tool(const char *const *argv)
{
	char path[64];
	if (!tool_path(argv[0], path))
		return -ENOENT;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Masquerade what leaves the cluster from this node's pods (once). */
static void masq_ensure(AgentPodNet *pn, const char *pod_cidr)
{
	if (pn->masq_done)
		return;
	_cleanup_free_ char *comment = xasprintf("berth pod network %s", pod_cidr);
	const char *check[] = { "iptables", "-w", "5", "-t", "nat", "-C", "POSTROUTING", "-s", pod_cidr, "!", "-d",
				pn->cluster_cidr, "-m", "comment", "--comment", comment, "-j", "MASQUERADE", NULL };
	if (tool(check) != 0) {
		check[5] = "-A";
		int r = tool(check);
		if (r != 0) {
			log_warn("pod network %s: masquerade rule: iptables exited %d", pod_cidr, r);
			return;
		}
	}
	pn->masq_done = true;
}

/* Run a tool and return what it printed on stdout (new string, at most
 * 64 KiB; NULL when it could not run or failed). */
static char *tool_output(const char *const *argv)
{
	char path[64];
	int fds[2];
	if (!tool_path(argv[0], path) || pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r) {
		close(fds[0]);
		return NULL;
	}
	size_t cap = 64 * 1024, len = 0;
	char *out = xmalloc(cap + 1);
	ssize_t n;
	while ((n = read(fds[0], out + len, cap - len)) > 0 || (n < 0 && errno == EINTR))
		len += n > 0 ? (size_t)n : 0;
	close(fds[0]);
	out[len] = 0;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			free(out);
			return NULL;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void route_set(const char *cidr, const char *via)
{
	const char *argv[] = { "ip", "route", "replace", cidr, "via", via, "proto", ROUTE_PROTO, NULL };
	int r = tool(argv);
	if (r != 0)
		log_warn("pod network: route %s via %s: ip exited %d", cidr, via, r);
	else
		log_info("pod network: route %s via %s", cidr, via);
}

static void route_del(const char *cidr, const char *via)
{
	const char *argv[] = { "ip", "route", "del", cidr, "via", via, NULL };
	if (tool(argv) == 0)
		log_info("pod network: route %s via %s removed", cidr, via);
}

/* Routes an earlier agent process installed (ours by their protocol
 * number, inside the cluster CIDR) become known, so the next reconcile
 * removes those no Node wants any more: cidr -> via. */
static void routes_adopt(AgentPodNet *pn)
{
	const char *argv[] = { "ip", "-o", "route", "show", "proto", ROUTE_PROTO, NULL };
	_cleanup_free_ char *out = tool_output(argv);
	for (char *line = out, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char cidr[64], via[64];
		if (sscanf(line, "%63s via %63s", cidr, via) == 2 && agent_cidr_contains(pn->cluster_cidr, cidr) &&
		    !json_object_get(pn->routes, cidr))
			json_object_set_new(pn->routes, cidr, json_string(via));
	}
}

/* Make the installed routes the wanted ones. */
static void routes_reconcile(AgentPodNet *pn)
{
	pthread_mutex_lock(&pn->lock);
	_cleanup_free_ char *own = pn->pod_cidr ? xstrdup(pn->pod_cidr) : NULL;
	pthread_mutex_unlock(&pn->lock);
	if (own)
		masq_ensure(pn, own);  /* retried here if it failed before */
	_cleanup_json_ json_t *want = agent_routes_wanted(pn->nodes, pn->node, pn->node_ip, own);
	const char *cidr;
	json_t *via;
	void *tmp;
	json_object_foreach_safe(pn->routes, tmp, cidr, via) {
		const char *w = json_str(want, cidr);
		if (!w || strcmp(w, json_string_value(via))) {
			route_del(cidr, json_string_value(via));
			json_object_del(pn->routes, cidr);
		}
	}
	json_object_foreach(want, cidr, via) {
		if (json_object_get(pn->routes, cidr))
			continue;
		route_set(cidr, json_string_value(via));
		json_object_set(pn->routes, cidr, via);
	}
}

/* ---- the watch ---- */

static void node_seen(AgentPodNet *pn, const json_t *node, bool deleted)
{
	const char *name = json_str(json_object_get(node, "metadata"), "name");
	if (!name)
		return;
	if (deleted) {
		json_object_del(pn->nodes, name);
		return;
	}
	json_t *e = node_entry(node);
	if (!strcmp(name, pn->node)) {
		const char *cidr = json_str(e, "cidr");
		pthread_mutex_lock(&pn->lock);
		bool learn = !pn->pod_cidr && cidr;
		if (learn)
			pn->pod_cidr = xstrdup(cidr);
		pthread_mutex_unlock(&pn->lock);
		if (learn) {
			log_info("pod network: node %s has podCIDR %s", name, cidr);
			masq_ensure(pn, cidr);
		}
	}
	json_object_set_new(pn->nodes, name, e);
}

typedef struct NodeWatch {
	AgentPodNet *pn;
	char *rv;
	bool expired;
} NodeWatch;

static int on_node_event(const json_t *ev, void *ud)
{
	NodeWatch *w = ud;
	const char *type = json_str(ev, "type");
	json_t *obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj))
		return 0;
	if (!strcmp(type, "ERROR")) {
		w->expired = json_int(obj, "code", 0) == 410;
		return 1;
	}
	const char *rv = json_str(json_object_get(obj, "metadata"), "resourceVersion");
	if (rv) {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	node_seen(w->pn, obj, !strcmp(type, "DELETED"));
	routes_reconcile(w->pn);
	return 0;
}

static int nodes_list(AgentPodNet *pn, NodeWatch *w, Error **err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = kube_get(pn->kc, "/api/v1/nodes", &list, err);
	if (r < 0)
		return r;
	json_object_clear(pn->nodes);
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(list, "items"), i, n)
		node_seen(pn, n, false);
	free(w->rv);
	const char *rv = json_str(json_object_get(list, "metadata"), "resourceVersion");
	w->rv = rv ? xstrdup(rv) : NULL;
	routes_reconcile(pn);
	return 0;
}

static void nap(AgentPodNet *pn, int ms)
{
	for (int i = 0; i < ms / 50 && !pn->stop; i++)
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
}

static void *watch_main(void *arg)
{
	AgentPodNet *pn = arg;
	NodeWatch w = { .pn = pn };
	bool need_list = true;
	while (!pn->stop) {
		_cleanup_err_ Error *err = NULL;
		if (need_list) {
			if (nodes_list(pn, &w, &err) < 0) {
				log_debug("pod network: list nodes: %s", err_msg(err));
				nap(pn, RETRY_MS);
				continue;
			}
			need_list = false;
		}
		_cleanup_free_ char *path = xasprintf("/api/v1/nodes?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d"
						      "&resourceVersion=%s", WATCH_TIMEOUT_S, w.rv ? w.rv : "0");
		w.expired = false;
		int64_t t0 = mono_ms();
		int r = kube_watch(pn->kc, path, on_node_event, &w, &pn->stop, &err);
		if (w.expired || r < 0) {
			if (r < 0 && !w.expired)
				nap(pn, RETRY_MS);
			need_list = true;
		} else if (mono_ms() - t0 < 1000) {
			nap(pn, RETRY_MS);
		}
	}
	free(w.rv);
	return NULL;
}

/* ---- the interface ---- */

int agent_podnet_start(KubeClient *kc, const AgentNodeInfo *ni, const char *cluster_cidr, AgentPodNet **ret,
		       Error **err)
{
	uint32_t net;
	unsigned prefix;
	if (agent_cidr_parse(cluster_cidr, &net, &prefix) < 0)
		return err_set(err, EINVAL, "cluster CIDR '%s': not an IPv4 CIDR", cluster_cidr ?: "");
	if (ni->pod_cidr && (agent_cidr_parse(ni->pod_cidr, &net, &prefix) < 0 || prefix > 30))
		return err_set(err, EINVAL, "pod CIDR '%s': not an IPv4 CIDR of /30 or larger", ni->pod_cidr);
	AgentPodNet *pn = xcalloc(1, sizeof(*pn));
	pn->kc = kc;
	pn->node = xstrdup(ni->name);
	pn->node_ip = ni->ip ? xstrdup(ni->ip) : NULL;
	pn->cluster_cidr = xstrdup(cluster_cidr);
	pn->pod_cidr = ni->pod_cidr ? xstrdup(ni->pod_cidr) : NULL;
	pn->wait_until_ms = mono_ms() + PODNET_WAIT_MS;
	pn->nodes = json_object();
	pn->routes = json_object();
	pthread_mutex_init(&pn->lock, NULL);
	routes_adopt(pn);
	if (pn->pod_cidr)
		masq_ensure(pn, pn->pod_cidr);
	int r = pthread_create(&pn->th, NULL, watch_main, pn);
	if (r) {
		agent_podnet_stop(pn);
		return err_sys(err, r, "pod network: thread");
	}
	pn->started = true;
	pthread_mutex_lock(&current_lock);
	current = pn;
	pthread_mutex_unlock(&current_lock);
	*ret = pn;
	return 0;
}

void agent_podnet_stop(AgentPodNet *pn)
{
	if (!pn)
		return;
	pthread_mutex_lock(&current_lock);
	if (current == pn)
		current = NULL;
	pthread_mutex_unlock(&current_lock);
	pn->stop = 1;
	if (pn->started)
		pthread_join(pn->th, NULL);
	pthread_mutex_destroy(&pn->lock);
	json_decref(pn->nodes);
	json_decref(pn->routes);
	free(pn->node);
	free(pn->node_ip);
	free(pn->cluster_cidr);
	free(pn->pod_cidr);
	free(pn);
}

int agent_podnet_current(AgentPodNetCfg *out)
{
	*out = (AgentPodNetCfg){ 0 };
	pthread_mutex_lock(&current_lock);
	AgentPodNet *pn = current;
	int r = 0;
	if (pn) {
		pthread_mutex_lock(&pn->lock);
		if (pn->pod_cidr) {
			snprintf(out->subnet, sizeof(out->subnet), "%s", pn->pod_cidr);
			r = 1;
		} else if (mono_ms() < pn->wait_until_ms) {
			r = -EAGAIN;
		}
		pthread_mutex_unlock(&pn->lock);
	}
	pthread_mutex_unlock(&current_lock);
	if (r == 1) {
		/* one network (and lease directory) per subnet: "berth-pods-10.42.7.0-24" */
		snprintf(out->name, sizeof(out->name), "berth-pods-%s", out->subnet);
		for (char *s = out->name; *s; s++)
			if (*s == '/')
				*s = '-';
		if (net_bridge_name(out->subnet, out->bridge) < 0)
			return -EINVAL;
	}
	return r;
}
