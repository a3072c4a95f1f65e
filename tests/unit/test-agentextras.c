/* test-agentextras.c - pure parts of the agent's kubelet extras: the
 * hostPort collision rule of admission (admit.c: same port and protocol,
 * overlapping hostIPs, init containers included), and which local-path
 * directories the agent may ever remove (localvol.c: "pvc-<uid>" PVs whose
 * directory name starts with "<pv>_").  Clusters are
 * tests/integration/test_agent_extras.py. */
#include "tap.h"
#include "../../src/agent/agent-internal.h"
#include "../../src/base/cleanup.h"
#include "../../src/shared/json.h"
#include <string.h>

/* A pod with one container (or init container) port. */
static json_t *pod_port(const char *list, int host_port, const char *proto, const char *host_ip)
{
	json_t *port = json_pack("{s:i, s:i}", "containerPort", 80, "hostPort", host_port);
	if (proto)
		json_object_set_new(port, "protocol", json_string(proto));
	if (host_ip)
		json_object_set_new(port, "hostIP", json_string(host_ip));
	return json_pack("{s:{s:[{s:s, s:[o]}]}}", "spec", list, "name", "c", "ports", port);
}

static void test_host_ports(void)
{
	static const struct {
		int pa; const char *proto_a, *ip_a;
		int pb; const char *proto_b, *ip_b;
		bool conflict;
		const char *what;
	} cases[] = {
		{ 8080, NULL, NULL, 8080, NULL, NULL, true, "same port, default TCP, all addresses" },
		{ 8080, "TCP", NULL, 8081, "TCP", NULL, false, "different ports" },
		{ 8080, "TCP", NULL, 8080, "UDP", NULL, false, "same port, other protocol" },
		{ 8080, "UDP", NULL, 8080, "udp", NULL, true, "protocol compared without case" },
		{ 8080, NULL, "10.0.0.1", 8080, NULL, "10.0.0.2", false, "two different hostIPs" },
		{ 8080, NULL, "10.0.0.1", 8080, NULL, "10.0.0.1", true, "the same hostIP" },
		{ 8080, NULL, "0.0.0.0", 8080, NULL, "10.0.0.2", true, "0.0.0.0 covers every address" },
		{ 8080, NULL, "10.0.0.1", 8080, NULL, NULL, true, "an unset hostIP covers every address" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_json_ json_t *a = pod_port("containers", cases[i].pa, cases[i].proto_a, cases[i].ip_a);
		_cleanup_json_ json_t *b = pod_port("containers", cases[i].pb, cases[i].proto_b, cases[i].ip_b);
		ok(agent_host_ports_conflict(a, b) == cases[i].conflict, "%s", cases[i].what);
		ok(agent_host_ports_conflict(b, a) == cases[i].conflict, "%s (reversed)", cases[i].what);
	}
	_cleanup_json_ json_t *init = pod_port("initContainers", 9000, NULL, NULL);
	_cleanup_json_ json_t *app = pod_port("containers", 9000, NULL, NULL);
	ok(agent_host_ports_conflict(init, app), "an init container's hostPort counts");
	_cleanup_json_ json_t *none = json_pack("{s:{s:[{s:s, s:[{s:i}]}]}}", "spec", "containers", "name", "c", "ports",
						"containerPort", 9000);
	ok(!agent_host_ports_conflict(none, app), "a containerPort without hostPort holds nothing");
}

static void test_localvol_names(void)
{
	const char *pv = "pvc-0a1b2c3d-4e5f-6789-abcd-ef0123456789";
	_cleanup_free_ char *good = xasprintf("/var/lib/berth/storage/%s_default_data", pv);
	ok(agent_localvol_name_ok(pv, good), "the provisioner's own directory");
	_cleanup_free_ char *other = xasprintf("/var/lib/berth/storage/%s_default_data", "pvc-ffff");
	ok(!agent_localvol_name_ok(pv, other), "another PV's directory");
	_cleanup_free_ char *nounder = xasprintf("/var/lib/berth/storage/%s", pv);
	ok(!agent_localvol_name_ok(pv, nounder), "no '_' after the PV name");
	_cleanup_free_ char *dotdot = xasprintf("/var/lib/berth/storage/../%s_x", pv);
	ok(!agent_localvol_name_ok(pv, dotdot), "a path with ..");
	_cleanup_free_ char *rel = xasprintf("storage/%s_x", pv);
	ok(!agent_localvol_name_ok(pv, rel), "a relative path");
	_cleanup_free_ char *top = xasprintf("/%s_x", pv);
	ok(!agent_localvol_name_ok(pv, top), "a directory right under /");
	ok(!agent_localvol_name_ok("data", "/srv/data_x"), "a PV not named pvc-<uid>");
	ok(!agent_localvol_name_ok("pvc-../x", "/srv/pvc-../x_y"), "a PV name with other characters");
	ok(!agent_localvol_name_ok("pvc-", "/srv/pvc-_x"), "an empty uid");
	ok(!agent_localvol_name_ok(pv, "/"), "the root");
}

int main(void)
{
	test_host_ports();
	test_localvol_names();
	return tap_done();
}
