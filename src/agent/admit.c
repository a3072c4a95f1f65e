/* admit.c - pod admission on the node, the part of the kubelet's
 * GeneralPredicates the agent can check itself: hostPorts (NodePorts).
 *
 * A pod asking for a hostPort (with its protocol and hostIP) another pod of
 * the node already holds is rejected before anything of it runs, so it never
 * takes the port: the sources (apisource.c, static.c) report it Failed with
 * reason "NodePorts" and "Pod was rejected: Predicate NodePorts failed: ...",
 * the kubelet's words.  Holders are the agent's pods that are not being
 * killed and have not finished (Succeeded / Failed).
 */
#include "agent-internal.h"
#include "../shared/json.h"
#include <string.h>
#include <strings.h>

#define NODEPORTS_DESC "node(s) didn't have free ports for the requested pod ports"

/* Two hostPort entries collide: same port and protocol, and hostIPs that
 * overlap ("" and 0.0.0.0 mean every address). */
static bool ports_collide(const json_t *a, const json_t *b)
{
	if (json_int(a, "hostPort", 0) != json_int(b, "hostPort", 0))
		return false;
	const char *pa = json_str(a, "protocol") ?: "TCP", *pb = json_str(b, "protocol") ?: "TCP";
	if (strcasecmp(pa, pb))
		return false;
	const char *ia = json_str(a, "hostIP") ?: "", *ib = json_str(b, "hostIP") ?: "";
	bool any_a = !*ia || !strcmp(ia, "0.0.0.0"), any_b = !*ib || !strcmp(ib, "0.0.0.0");
	return any_a || any_b || !strcmp(ia, ib);
}

/* other NULL: does the pod ask for any hostPort?  Else: does one of its
 * hostPorts (init containers' too) collide with one of other's? */
static bool any_port(const json_t *pod, const json_t *other)
{
	static const char *const lists[] = { "initContainers", "containers" };
	const json_t *spec = json_object_get(pod, "spec");
	for (size_t l = 0; l < 2; l++) {
		size_t i, j;
		json_t *c, *port;
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			json_array_foreach(json_object_get(c, "ports"), j, port) {
				if (json_int(port, "hostPort", 0) <= 0)
					continue;
				if (!other)
					return true;
				for (size_t m = 0; m < 2; m++) {
					size_t k, n;
					json_t *oc, *op;
					json_array_foreach(json_path(other, m ? "spec.containers" : "spec.initContainers"), k, oc)
						json_array_foreach(json_object_get(oc, "ports"), n, op)
							if (json_int(op, "hostPort", 0) > 0 && ports_collide(port, op))
								return true;
				}
			}
	}
	return false;
}

bool agent_host_ports_conflict(const json_t *pod_a, const json_t *pod_b)
{
	return any_port(pod_a, pod_b);
}

static bool pod_finished(const Pod *p)
{
	return !strcmp(p->phase, "Succeeded") || !strcmp(p->phase, "Failed");
}

int agent_admit_host_ports(Agent *a, const json_t *pod, char **reason, char **message)
{
	*reason = *message = NULL;
	if (!any_port(pod, NULL))
		return 0;
	const char *uid = json_str(json_object_get(pod, "metadata"), "uid") ?: "";
	for (Pod *p = a->pods; p; p = p->next) {
		if (!strcmp(p->uid, uid) || p->killing || pod_finished(p))
			continue;
		if (agent_host_ports_conflict(pod, pod_tree(p))) {
			*reason = xstrdup("NodePorts");
			*message = xstrdup("Pod was rejected: Predicate NodePorts failed: " NODEPORTS_DESC);
			return -EADDRINUSE;
		}
	}
	return 0;
}
