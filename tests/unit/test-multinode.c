/* test-multinode.c - unit tests for several nodes: the parametrised pod
 * network (runtime/network.c: conflist, bridge names, a real attach on a
 * private subnet with leases in a private dataDir), the agent's pod network
 * helpers (agent/routes.c: CIDRs, the routes wanted) and the control plane's
 * side (controller/nodeipam.c: podCIDR picks, the control-plane taint).
 *
 * The real attach runs as root in a network namespace held by a sleeping
 * child (it dies with the test); the bridge it creates is deleted at exit.
 */
#include "tap.h"
#include "../../src/runtime/network.h"
#include "../../src/agent/agent.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/shared/json.h"
#include "../../src/base/fs.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_conflist(void)
{
	_cleanup_json_ json_t *def = net_conflist_of(NULL);
	is_str(json_str(def, "name"), "berth", "default network name");
	json_t *br = json_array_get(json_object_get(def, "plugins"), 0);
	is_str(json_str(br, "bridge"), "berth0", "default bridge");
	ok(json_is_true(json_object_get(br, "ipMasq")), "default network masquerades");
	is_str(json_str(json_array_get(json_array_get(json_path(br, "ipam.ranges"), 0), 0), "subnet"), "10.89.0.0/16",
	       "default subnet unchanged");
	ok(!json_object_get(json_object_get(br, "ipam"), "dataDir"), "default leases in host-local's own dir");

	NetConfig pod = { .name = "berth-pods", .bridge = "bp0a2a0700-24", .subnet = "10.42.7.0/24",
			  .data_dir = "/run/x/cni/networks" };
	_cleanup_json_ json_t *l = net_conflist_of(&pod);
	br = json_array_get(json_object_get(l, "plugins"), 0);
	is_str(json_str(l, "name"), "berth-pods", "pod network name");
	is_str(json_str(br, "bridge"), "bp0a2a0700-24", "pod bridge");
	ok(json_is_false(json_object_get(br, "ipMasq")), "pod network: no blanket masquerade");
	json_t *range = json_array_get(json_array_get(json_path(br, "ipam.ranges"), 0), 0);
	is_str(json_str(range, "subnet"), "10.42.7.0/24", "pod subnet");
	is_str(json_str(range, "gateway"), "10.42.7.1", "gateway: the subnet's first address");
	is_str(json_str(json_object_get(br, "ipam"), "dataDir"), "/run/x/cni/networks", "private dataDir");
}

static void test_bridge_name(void)
{
	char b[16];
	ok(net_bridge_name("10.42.7.0/24", b) == 0, "bridge name of 10.42.7.0/24");
	is_str(b, "bp0a2a0700-24", "hex network + prefix");
	ok(net_bridge_name("10.42.7.9/24", b) == 0 && !strcmp(b, "bp0a2a0700-24"), "host bits ignored");
	ok(net_bridge_name("10.42.8.0/24", b) == 0 && strcmp(b, "bp0a2a0700-24"), "another subnet, another bridge");
	ok(strlen(b) < IFNAMSIZ, "fits IFNAMSIZ");
	ok(net_bridge_name("10.42.7.0", b) < 0 && net_bridge_name("300.1.1.1/24", b) < 0 &&
		   net_bridge_name("10.0.0.0/31", b) < 0, "bad CIDRs refused");
}

static void test_cidr(void)
{
	uint32_t net;
	unsigned p;
	ok(agent_cidr_parse("10.42.3.0/24", &net, &p) == 0 && net == 0x0a2a0300 && p == 24, "parse");
	ok(agent_cidr_parse("10.42.3.0", &net, &p) < 0 && agent_cidr_parse("10.42.3.0/33", &net, &p) < 0 &&
		   agent_cidr_parse("x/8", &net, &p) < 0 && agent_cidr_parse(NULL, &net, &p) < 0,
	   "bad CIDRs");
	ok(agent_cidr_contains("10.42.0.0/16", "10.42.3.0/24"), "contains");
	ok(!agent_cidr_contains("10.42.0.0/16", "10.43.3.0/24"), "outside");
	ok(!agent_cidr_contains("10.42.3.0/24", "10.42.0.0/16"), "larger is not inside");
}

static void test_routes_wanted(void)
{
	_cleanup_json_ json_t *nodes = json_pack(
		"{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
		"me", "cidr", "10.42.1.0/24", "ip", "10.204.0.2",
		"b", "cidr", "10.42.2.0/24", "ip", "10.204.0.3",
		"no-cidr", "ip", "10.204.0.4",
		"loop", "cidr", "10.42.5.0/24", "ip", "127.0.0.1",
		"same-ip", "cidr", "10.42.6.0/24", "ip", "10.204.0.2",
		"c", "cidr", "10.42.9.0/24", "ip", "10.204.0.9");
	_cleanup_json_ json_t *w = agent_routes_wanted(nodes, "me", "10.204.0.2", "10.42.1.0/24");
	is_int((int)json_object_size(w), 2, "two routes");
	is_str(json_str(w, "10.42.2.0/24"), "10.204.0.3", "b's pods via b");
	is_str(json_str(w, "10.42.9.0/24"), "10.204.0.9", "c's pods via c");
	ok(!json_object_get(w, "10.42.1.0/24") && !json_object_get(w, "10.42.5.0/24") &&
		   !json_object_get(w, "10.42.6.0/24"),
	   "not ours, not via loopback, not via our own address");
	json_object_del(nodes, "b");
	_cleanup_json_ json_t *w2 = agent_routes_wanted(nodes, "me", "10.204.0.2", "10.42.1.0/24");
	ok(!json_object_get(w2, "10.42.2.0/24") && json_object_get(w2, "10.42.9.0/24"), "a node gone: its route too");
}

static void test_ipam(void)
{
	_cleanup_json_ json_t *used = json_object();
	_cleanup_free_ char *a = ipam_pick("10.42.0.0/16", "node-a", used);
	_cleanup_free_ char *a2 = ipam_pick("10.42.0.0/16", "node-a", used);
	ok(a && a2 && !strcmp(a, a2), "stable per node name (%s)", a ? a : "(null)");
	uint32_t net;
	unsigned p;
	ok(a && ipam_cidr_parse(a, &net, &p) == 0 && p == 24 && (net >> 16) == 0x0a2a, "a /24 of the cluster CIDR");
	json_object_set_new(used, a, json_true());
	_cleanup_free_ char *a3 = ipam_pick("10.42.0.0/16", "node-a", used);
	ok(a3 && strcmp(a3, a), "taken: the next free one (%s)", a3 ? a3 : "(null)");
	/* a /22 has 4 subnets: 4 nodes get 4 different ones, the 5th none */
	_cleanup_json_ json_t *u = json_object();
	const char *names[] = { "n1", "n2", "n3", "n4" };
	for (int i = 0; i < 4; i++) {
		char *c = ipam_pick("10.50.4.0/22", names[i], u);
		ok(c && !json_object_get(u, c), "%s gets a free subnet %s", names[i], c ? c : "(null)");
		if (c)
			json_object_set_new(u, c, json_true());
		free(c);
	}
	ok(json_object_get(u, "10.50.4.0/24") && json_object_get(u, "10.50.7.0/24"), "the whole range used");
	char *none = ipam_pick("10.50.4.0/22", "n5", u);
	ok(!none, "full: nothing");
	free(none);
	ok(!ipam_pick("10.50.4.0/25", "x", u), "cluster CIDR smaller than a /24 refused");
	ok(controller_set_cluster_cidr("10.42.0.0/25") < 0 && controller_set_cluster_cidr("nope") < 0 &&
		   controller_set_cluster_cidr("10.42.0.0/16") == 0,
	   "controller_set_cluster_cidr checks");
}

static void test_control_plane_taints(void)
{
	_cleanup_json_ json_t *cp = json_pack("{s:{s:{s:s}}}", "metadata", "labels", CONTROL_PLANE_LABEL, "true");
	_cleanup_json_ json_t *worker = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "x", "y");
	bool changed;
	_cleanup_json_ json_t *t1 = control_plane_taints(cp, 1, &changed);
	ok(!changed && json_array_size(t1) == 0, "alone: no taint");
	_cleanup_json_ json_t *t2 = control_plane_taints(cp, 2, &changed);
	ok(changed && json_array_size(t2) == 1, "a second node: tainted");
	is_str(json_str(json_array_get(t2, 0), "key"), "node-role.kubernetes.io/master", "the master key");
	is_str(json_str(json_array_get(t2, 0), "effect"), "NoSchedule", "NoSchedule");
	json_object_set_new(cp, "spec", json_pack("{s:O}", "taints", t2));
	_cleanup_json_ json_t *t3 = control_plane_taints(cp, 4, &changed);
	ok(!changed && json_array_size(t3) == 1, "already tainted: unchanged");
	_cleanup_json_ json_t *t4 = control_plane_taints(worker, 4, &changed);
	ok(!changed && json_array_size(t4) == 0, "a worker: never");
}

/* ---- a real attach on a pod network ---- */

static pid_t holder = -1;
static char bridge[16];

static void cleanup(void)
{
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	}
	if (bridge[0]) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", bridge);
		if (system(cmd) < 0)
			tap_diag("could not delete bridge %s", bridge);
	}
}

static void test_attach_pod_network(void)
{
	if (geteuid() != 0) {
		ok(0, "the pod network test needs root");
		return;
	}
	int pfd[2];
	if (pipe(pfd) < 0)
		return;
	holder = fork();
	if (holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char c = 0;
	if (!ok(read(pfd[0], &c, 1) == 1 && c == 'y', "netns for the pod"))
		return;
	close(pfd[0]);
	char netns[64], dir[] = "/tmp/berth-podnet-XXXXXX";
	snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)holder);
	if (!mkdtemp(dir))
		return;
	_cleanup_free_ char *data = fs_join(dir, "cni/networks");
	net_bridge_name("10.207.5.0/24", bridge);
	NetConfig cfg = { .name = "berth-pods", .bridge = bridge, .subnet = "10.207.5.0/24", .data_dir = data };
	NetAttachment at = { 0 };
	Error *e = NULL;
	int r = net_attach_on(&cfg, "podnet-test-1", netns, NULL, 0, &at, &e);
	if (!ok(r == 0, "attach to the pod network: %s", r < 0 ? err_msg(e) : "ok")) {
		err_free(e);
		return;
	}
	struct in_addr a;
	ok(inet_pton(AF_INET, at.ip, &a) == 1 && (ntohl(a.s_addr) & 0xffffff00u) == 0x0acf0500u &&
		   ntohl(a.s_addr) != 0x0acf0501u,
	   "address %s from the node's subnet", at.ip);
	is_str(at.gateway, "10.207.5.1", "gateway");
	ok(if_nametoindex(bridge) > 0, "bridge %s exists", bridge);
	_cleanup_free_ char *lease = xasprintf("%s/berth-pods/%s", data, at.ip);
	struct stat st;
	ok(stat(lease, &st) == 0, "lease in the private dataDir");
	_cleanup_free_ char *shared = xasprintf("/var/lib/cni/networks/berth-pods/%s", at.ip);
	ok(stat(shared, &st) < 0, "nothing in the shared dataDir");
	r = net_detach_on(&cfg, "podnet-test-1", netns, NULL, 0, at.result, &e);
	ok(r == 0, "detach: %s", r < 0 ? err_msg(e) : "ok");
	err_free(e);
	ok(stat(lease, &st) < 0, "lease released");
	net_attachment_release(&at);
	_cleanup_free_ char *rm = xasprintf("rm -rf %s", dir);
	if (system(rm) < 0)
		tap_diag("could not remove %s", dir);
}

int main(void)
{
	atexit(cleanup);
	test_conflist();
	test_bridge_name();
	test_cidr();
	test_routes_wanted();
	test_ipam();
	test_control_plane_taints();
	test_attach_pod_network();
	return tap_done();
}
