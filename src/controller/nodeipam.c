/* nodeipam.c - what the control plane does for a node joining the cluster,
 * run from the node lifecycle controller's sync of each node:
 *
 *  - pod CIDRs (kube-controller-manager --allocate-node-cidrs): a node with
 *    no spec.podCIDR gets a /24 of the cluster CIDR (`berth server
 *    --cluster-cidr`, default 10.42.0.0/16).  The first candidate is a hash
 *    of the node's name, so a node that comes back under the same name gets
 *    the same subnet while it is free; then the next free one.  Subnets in
 *    use are those of every Node in the cache plus the ones this process
 *    handed out (a write may not be in the cache yet), under one lock, so
 *    two nodes never get the same.  An agent started with --pod-cidr keeps
 *    its own.
 *  - the control-plane node's taint: a node labelled
 *    berth.dev/control-plane-node=true (the agent `berth up` starts; it
 *    also carries both role labels, node-role.kubernetes.io/control-plane
 *    and .../master) gets node-role.kubernetes.io/master:NoSchedule once
 *    another node exists, so workloads go to the workers while a lone
 *    `berth up` node still runs everything.  Exactly what kubeadm 1.20-1.23
 *    did (both labels, the master taint): a taint is only tolerated by a
 *    toleration with its own key, so adding control-plane:NoSchedule too
 *    (kubeadm 1.24) would keep seed 001's DaemonSet, which tolerates only
 *    `master`, off the node (3/4 instead of the seed's 4/4).  The taint
 *    stays when the workers go.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>

#define NODE_PREFIX 24

static pthread_mutex_t ipam_lock = PTHREAD_MUTEX_INITIALIZER;
static char cluster_cidr[64] = "10.42.0.0/16";
static json_t *handed_out;  /* node name -> cidr (under ipam_lock) */

int controller_set_cluster_cidr(const char *cidr)
{
	uint32_t net;
	unsigned prefix;
	if (!cidr || ipam_cidr_parse(cidr, &net, &prefix) < 0 || prefix > NODE_PREFIX)
		return -EINVAL;
	pthread_mutex_lock(&ipam_lock);
	snprintf(cluster_cidr, sizeof(cluster_cidr), "%s", cidr);
	pthread_mutex_unlock(&ipam_lock);
	return 0;
}

/* ---- pure parts ---- */

int ipam_cidr_parse(const char *cidr, uint32_t *net, unsigned *prefix)
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
	*net = ntohl(a.s_addr) & (p ? 0xffffffffu << (32 - p) : 0);
	*prefix = (unsigned)p;
	return 0;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

char *ipam_pick(const char *cluster, const char *name, const json_t *used)
{
	uint32_t net;
	unsigned prefix;
	if (ipam_cidr_parse(cluster, &net, &prefix) < 0 || prefix > NODE_PREFIX)
		return NULL;
	uint32_t n = 1u << (NODE_PREFIX - prefix);
	uint32_t start = fnv1a(name) % n;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t sub = net + (((start + i) % n) << (32 - NODE_PREFIX));
		struct in_addr a = { .s_addr = htonl(sub) };
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		char *cidr = xasprintf("%s/%d", ip, NODE_PREFIX);
		if (!json_object_get(used, cidr))
			return cidr;
		free(cidr);
	}
	return NULL;
}

json_t *control_plane_taints(const json_t *node, size_t n_nodes, bool *changed)
{
	static const char *const keys[] = { "node-role.kubernetes.io/master" };
	json_t *old = json_path(node, "spec.taints");
	json_t *out = json_is_array(old) ? json_deep_copy(old) : json_array();
	*changed = false;
	const char *label = json_str(json_path(node, "metadata.labels"), CONTROL_PLANE_LABEL);
	if (n_nodes < 2 || !label || strcmp(label, "true"))
		return out;
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		bool have = false;
		size_t i;
		json_t *t;
		json_array_foreach(out, i, t)
			if (!strcmp(json_str(t, "key") ?: "", keys[k]) && !strcmp(json_str(t, "effect") ?: "", "NoSchedule"))
				have = true;
		if (!have) {
			json_array_append_new(out, json_pack("{s:s, s:s}", "key", keys[k], "effect", "NoSchedule"));
			*changed = true;
		}
	}
	return out;
}

/* ---- against the API ---- */

static int podcidr_assign(Ctl *c, const json_t *node, const json_t *nodes, Error **err)
{
	const char *name = obj_meta(node, "name");
	pthread_mutex_lock(&ipam_lock);
	if (!handed_out)
		handed_out = json_object();
	_cleanup_json_ json_t *used = json_object();
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		const char *cidr = json_str(json_object_get(n, "spec"), "podCIDR");
		if (cidr && strcmp(obj_meta(n, "name") ?: "", name))
			json_object_set_new(used, cidr, json_true());
	}
	const char *k;
	json_object_foreach(handed_out, k, n)
		if (strcmp(k, name))
			json_object_set_new(used, json_string_value(n), json_true());
	const char *mine = json_str(handed_out, name);
	_cleanup_free_ char *cidr = mine && !json_object_get(used, mine) ? xstrdup(mine)
									  : ipam_pick(cluster_cidr, name, used);
	if (cidr)
		json_object_set_new(handed_out, name, json_string(cidr));
	pthread_mutex_unlock(&ipam_lock);
	if (!cidr)
		return err_set(err, ENOSPC, "node %s: no free /%d left in cluster CIDR %s", name, NODE_PREFIX,
			       cluster_cidr);
	_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s", name);
	_cleanup_json_ json_t *patch = json_pack("{s:{s:s}, s:{s:s, s:[s]}}", "metadata", "resourceVersion",
						 obj_meta(node, "resourceVersion") ?: "", "spec", "podCIDR", cidr,
						 "podCIDRs", cidr);
	log_info("node ipam: node %s gets podCIDR %s", name, cidr);
	return kube_patch(c->m->kc, path, patch, NULL, err);
}

static int taints_apply(Ctl *c, const json_t *node, size_t n_nodes, Error **err)
{
	bool changed;
	_cleanup_json_ json_t *taints = control_plane_taints(node, n_nodes, &changed);
	if (!changed)
		return 0;
	_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s", obj_meta(node, "name"));
	_cleanup_json_ json_t *patch = json_pack("{s:{s:s}, s:{s:O}}", "metadata", "resourceVersion",
						 obj_meta(node, "resourceVersion") ?: "", "spec", "taints", taints);
	log_info("node ipam: control-plane node %s tainted NoSchedule (%zu nodes)", obj_meta(node, "name"), n_nodes);
	return kube_patch(c->m->kc, path, patch, NULL, err);
}

int nodeipam_sync(Ctl *c, const json_t *node, bool *wrote, Error **err)
{
	*wrote = false;
	_cleanup_json_ json_t *nodes = informer_list(c->inf, NULL);
	if (!json_str(json_object_get(node, "spec"), "podCIDR")) {
		*wrote = true;
		return podcidr_assign(c, node, nodes, err);  /* the update event brings the node back */
	}
	bool changed;
	_cleanup_json_ json_t *t = control_plane_taints(node, json_array_size(nodes), &changed);
	if (changed) {
		*wrote = true;
		return taints_apply(c, node, json_array_size(nodes), err);
	}
	return 0;
}

void nodeipam_node_added(Ctl *c)
{
	_cleanup_json_ json_t *nodes = informer_list(c->inf, NULL);
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		const char *label = json_str(json_path(n, "metadata.labels"), CONTROL_PLANE_LABEL);
		if (label && !strcmp(label, "true"))
			wq_add(c->q, obj_meta(n, "name"));
	}
}
