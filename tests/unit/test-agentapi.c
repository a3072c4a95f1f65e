/* test-agentapi.c - the pure parts of the agent's API side: --labels and
 * --taints parsing, the Node object (labels, spec, capacity, addresses,
 * nodeInfo, conditions and their transition times across heartbeats), the
 * Lease, the v1 Event built for a pod and the key that aggregates repeats.
 * The agent against a real `berth server` is
 * tests/integration/test_agent_api.py. */
#include "tap.h"
#include "../../src/agent/agent.h"
#include "../../src/base/cleanup.h"
#include "../../src/shared/json.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		tap_diag("bad test json: %s: %s", e.text, s);
	return j;
}

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static void test_labels(void)
{
	json_t *l = NULL;
	Error *e = NULL;
	is_int(agent_labels_parse("a=b,example.com/tier=web,empty=", &l, &e), 0, "labels parse");
	char *s = dump(l);
	is_str(s, "{\"a\":\"b\",\"empty\":\"\",\"example.com/tier\":\"web\"}", "labels object");
	free(s);
	json_decref(l);
	is_int(agent_labels_parse("", &l, &e), 0, "empty labels");
	is_int((int)json_object_size(l), 0, "no labels");
	json_decref(l);
	const char *bad[] = { "novalue", "=v", "a=b c", "a=x/y" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		l = NULL;
		is_int(agent_labels_parse(bad[i], &l, &e), -EINVAL, "label '%s' refused", bad[i]);
		ok(e && strstr(err_msg(e), "label"), "message names the label (%s)", e ? err_msg(e) : "none");
		ok(l == NULL, "nothing returned");
		err_free(e);
		e = NULL;
	}
}

static void test_taints(void)
{
	json_t *t = NULL;
	Error *e = NULL;
	is_int(agent_taints_parse("dedicated=gpu:NoSchedule,spot:PreferNoSchedule,k=v:NoExecute", &t, &e), 0,
	       "taints parse");
	char *s = dump(t);
	is_str(s,
	       "[{\"effect\":\"NoSchedule\",\"key\":\"dedicated\",\"value\":\"gpu\"},"
	       "{\"effect\":\"PreferNoSchedule\",\"key\":\"spot\"},{\"effect\":\"NoExecute\",\"key\":\"k\",\"value\":\"v\"}]",
	       "taints array");
	free(s);
	json_decref(t);
	const char *bad[] = { "k=v", "k=v:Sometimes", ":NoSchedule", "a b:NoSchedule" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = NULL;
		is_int(agent_taints_parse(bad[i], &t, &e), -EINVAL, "taint '%s' refused", bad[i]);
		err_free(e);
		e = NULL;
	}
}

static AgentNodeInfo node_info(void)
{
	AgentNodeInfo ni = { 0 };
	ni.name = strdup("n1");
	ni.ip = strdup("10.1.2.3");
	ni.hostname = strdup("host-1");
	ni.pod_cidr = strdup("10.244.1.0/24");
	ni.arch = strdup("arm64");
	ni.kernel = strdup("6.1.0");
	ni.os_image = strdup("Debian GNU/Linux 12 (bookworm)");
	ni.machine_id = strdup("mid");
	ni.system_uuid = strdup("uuid");
	ni.boot_id = strdup("bid");
	ni.runtime_version = strdup("berth://0.1.0");
	ni.kubelet_version = strdup("v1.31.0");
	ni.labels = J("{\"role\":\"worker\",\"kubernetes.io/os\":\"linux\"}");
	ni.taints = J("[{\"key\":\"k\",\"effect\":\"NoSchedule\"}]");
	ni.cpus = 4;
	ni.mem_kib = 8000000;
	ni.storage_kib = 1000;
	ni.pods = 110;
	return ni;
}

static const json_t *cond(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
		if (!strcmp(json_str(c, "type"), type))
			return c;
	return NULL;
}

static void test_node(void)
{
	AgentNodeInfo ni = node_info();
	json_t *n = agent_node_object(&ni, "2026-01-01T00:00:00Z");
	is_str(json_str(n, "kind"), "Node", "kind");
	is_str(json_str(json_object_get(n, "metadata"), "name"), "n1", "name");
	const json_t *labels = json_path(n, "metadata.labels");
	is_str(json_str(labels, "kubernetes.io/hostname"), "n1", "hostname label is the node name");
	is_str(json_str(labels, "kubernetes.io/os"), "linux", "os label");
	is_str(json_str(labels, "kubernetes.io/arch"), "arm64", "arch label");
	is_str(json_str(labels, "role"), "worker", "extra label");
	is_str(json_str(json_object_get(n, "spec"), "podCIDR"), "10.244.1.0/24", "podCIDR");
	is_str(json_string_value(json_array_get(json_path(n, "spec.podCIDRs"), 0)), "10.244.1.0/24", "podCIDRs");
	is_str(json_str(json_array_get(json_path(n, "spec.taints"), 0), "effect"), "NoSchedule", "taint");
	const json_t *st = json_object_get(n, "status");
	is_str(json_str(json_path(st, "capacity"), "cpu"), "4", "cpu capacity");
	is_str(json_str(json_path(st, "capacity"), "memory"), "8000000Ki", "memory capacity");
	is_str(json_str(json_path(st, "capacity"), "pods"), "110", "pods capacity");
	is_str(json_str(json_path(st, "allocatable"), "ephemeral-storage"), "1000Ki", "allocatable storage");
	char *addrs = dump(json_object_get(st, "addresses"));
	is_str(addrs, "[{\"address\":\"10.1.2.3\",\"type\":\"InternalIP\"},{\"address\":\"host-1\",\"type\":\"Hostname\"}]",
	       "addresses");
	free(addrs);
	const json_t *info = json_object_get(st, "nodeInfo");
	is_str(json_str(info, "containerRuntimeVersion"), "berth://0.1.0", "runtime version");
	is_str(json_str(info, "kubeletVersion"), "v1.31.0", "kubelet version");
	is_str(json_str(info, "architecture"), "arm64", "architecture");
	is_str(json_str(info, "operatingSystem"), "linux", "os");
	is_str(json_str(info, "bootID"), "bid", "bootID");
	is_str(json_str(info, "machineID"), "mid", "machineID");
	is_str(json_str(info, "osImage"), "Debian GNU/Linux 12 (bookworm)", "osImage");
	is_int((int)json_integer_value(json_path(st, "daemonEndpoints.kubeletEndpoint.Port")), 10250, "kubelet port");
	const json_t *ready = cond(st, "Ready");
	is_str(json_str(ready, "status"), "True", "Ready True");
	is_str(json_str(ready, "reason"), "KubeletReady", "Ready reason");
	is_str(json_str(cond(st, "MemoryPressure"), "status"), "False", "MemoryPressure False");
	is_str(json_str(cond(st, "DiskPressure"), "reason"), "KubeletHasNoDiskPressure", "DiskPressure reason");
	is_str(json_str(cond(st, "PIDPressure"), "status"), "False", "PIDPressure False");
	is_str(json_str(ready, "lastHeartbeatTime"), "2026-01-01T00:00:00Z", "heartbeat");

	/* a later heartbeat keeps the transition time of an unchanged condition ... */
	json_t *st2 = agent_node_status(&ni, st, "2026-01-01T00:00:10Z");
	is_str(json_str(cond(st2, "Ready"), "lastHeartbeatTime"), "2026-01-01T00:00:10Z", "heartbeat moves");
	is_str(json_str(cond(st2, "Ready"), "lastTransitionTime"), "2026-01-01T00:00:00Z", "transition kept");
	/* ... and one that changed (here: was NotReady) gets a new one */
	json_t *old = J("{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\",\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"}]}");
	json_t *st3 = agent_node_status(&ni, old, "2026-01-01T00:00:20Z");
	is_str(json_str(cond(st3, "Ready"), "lastTransitionTime"), "2026-01-01T00:00:20Z", "transition on change");
	ni.kubelet_port = 12345;
	json_t *st4 = agent_node_status(&ni, NULL, "2026-01-01T00:00:20Z");
	is_int((int)json_integer_value(json_path(st4, "daemonEndpoints.kubeletEndpoint.Port")), 12345, "kubelet port set");
	json_decref(st4);
	json_decref(st3);
	json_decref(old);
	json_decref(st2);
	json_decref(n);

	/* no pod CIDR, no taints: spec stays empty */
	free(ni.pod_cidr);
	ni.pod_cidr = NULL;
	json_decref(ni.taints);
	ni.taints = NULL;
	n = agent_node_object(&ni, "2026-01-01T00:00:00Z");
	is_int((int)json_object_size(json_object_get(n, "spec")), 0, "empty spec");
	json_decref(n);
	agent_node_info_release(&ni);
	ok(ni.name == NULL && ni.labels == NULL, "release clears");
}

static void test_lease(void)
{
	json_t *l = agent_lease_object("n1", "2026-01-01T00:00:00.123456Z", 40);
	is_str(json_str(l, "apiVersion"), "coordination.k8s.io/v1", "lease apiVersion");
	is_str(json_str(json_object_get(l, "metadata"), "namespace"), "kube-node-lease", "lease namespace");
	is_str(json_str(json_object_get(l, "metadata"), "name"), "n1", "lease name");
	is_str(json_str(json_object_get(l, "spec"), "holderIdentity"), "n1", "holder");
	is_int((int)json_integer_value(json_path(l, "spec.leaseDurationSeconds")), 40, "duration");
	is_str(json_str(json_object_get(l, "spec"), "renewTime"), "2026-01-01T00:00:00.123456Z", "renewTime");
	json_decref(l);
}

static void test_events(void)
{
	json_t *pod = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\",\"uid\":\"u-1\",\"resourceVersion\":\"7\"}}");
	json_t *e1 = agent_event_new(pod, "spec.containers{app}", "Normal", "Started", "Started container app", "n1",
				     "2026-01-01T00:00:00Z");
	is_str(json_str(e1, "kind"), "Event", "event kind");
	const char *name = json_str(json_object_get(e1, "metadata"), "name");
	ok(name && !strncmp(name, "web.", 4) && strlen(name) > 4, "event name <pod>.<hex> (%s)", name);
	is_str(json_str(json_object_get(e1, "metadata"), "namespace"), "ns1", "event namespace");
	const json_t *io = json_object_get(e1, "involvedObject");
	is_str(json_str(io, "kind"), "Pod", "involved kind");
	is_str(json_str(io, "name"), "web", "involved name");
	is_str(json_str(io, "uid"), "u-1", "involved uid");
	is_str(json_str(io, "fieldPath"), "spec.containers{app}", "fieldPath");
	is_str(json_str(json_object_get(e1, "source"), "component"), "kubelet", "source component");
	is_str(json_str(json_object_get(e1, "source"), "host"), "n1", "source host");
	is_int((int)json_integer_value(json_object_get(e1, "count")), 1, "count 1");
	is_str(json_str(e1, "firstTimestamp"), "2026-01-01T00:00:00Z", "firstTimestamp");

	/* a repeat (later, new name) shares the key; any other field makes another */
	json_t *e2 = agent_event_new(pod, "spec.containers{app}", "Normal", "Started", "Started container app", "n1",
				     "2026-01-01T00:05:00Z");
	char *k1 = agent_event_key(e1), *k2 = agent_event_key(e2);
	is_str(k1, k2, "repeat: same key");
	struct { const char *fp, *type, *reason, *msg, *node; } other[] = {
		{ "spec.containers{other}", "Normal", "Started", "Started container app", "n1" },
		{ "spec.containers{app}", "Warning", "Started", "Started container app", "n1" },
		{ "spec.containers{app}", "Normal", "Created", "Started container app", "n1" },
		{ "spec.containers{app}", "Normal", "Started", "Started container app2", "n1" },
		{ "spec.containers{app}", "Normal", "Started", "Started container app", "n2" },
		{ NULL, "Normal", "Started", "Started container app", "n1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		json_t *e = agent_event_new(pod, other[i].fp, other[i].type, other[i].reason, other[i].msg, other[i].node,
					    "2026-01-01T00:00:00Z");
		char *k = agent_event_key(e);
		ok(strcmp(k, k1) != 0, "different event %zu: different key", i);
		free(k);
		json_decref(e);
	}
	/* another pod of the same name (new uid) is another object */
	json_t *pod2 = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\",\"uid\":\"u-2\"}}");
	json_t *e3 = agent_event_new(pod2, "spec.containers{app}", "Normal", "Started", "Started container app", "n1",
				     "2026-01-01T00:00:00Z");
	char *k3 = agent_event_key(e3);
	ok(strcmp(k3, k1) != 0, "other uid: different key");
	/* fields that run together cannot collide */
	json_t *ea = J("{\"reason\":\"ab\",\"message\":\"c\"}"), *eb = J("{\"reason\":\"a\",\"message\":\"bc\"}");
	char *ka = agent_event_key(ea), *kb = agent_event_key(eb);
	ok(strcmp(ka, kb) != 0, "no collision across field boundaries");
	free(ka);
	free(kb);
	json_decref(ea);
	json_decref(eb);
	free(k1);
	free(k2);
	free(k3);
	json_decref(e1);
	json_decref(e2);
	json_decref(e3);
	json_decref(pod);
	json_decref(pod2);
}

static void test_node_ip(void)
{
	char *ip = agent_node_ip_detect("https://127.0.0.1:6443");
	is_str(ip, "127.0.0.1", "route to a loopback server");
	free(ip);
	ip = agent_node_ip_detect("https://[::1]:6443/");
	ok(!strcmp(ip, "::1") || !strcmp(ip, "127.0.0.1"), "v6 loopback server (%s)", ip);
	free(ip);
	ip = agent_node_ip_detect("not a url");
	is_str(ip, "127.0.0.1", "fallback");
	free(ip);
}

static void test_detect(void)
{
	AgentNodeInfo ni = { 0 };
	agent_node_info_detect(&ni, "/");
	struct utsname u;
	uname(&u);
	is_str(ni.kernel, u.release, "kernel from uname");
	ok(ni.cpus >= 1, "cpus %lld", (long long)ni.cpus);
	ok(ni.mem_kib > 0, "memory %lld KiB", (long long)ni.mem_kib);
	ok(ni.storage_kib > 0, "storage %lld KiB", (long long)ni.storage_kib);
	is_int((int)ni.pods, 110, "pods default");
	ok(ni.arch && *ni.arch && strcmp(ni.arch, "x86_64") != 0, "arch in Go's words (%s)", ni.arch);
	ok(ni.os_image && *ni.os_image, "os image (%s)", ni.os_image);
	ok(ni.boot_id && strlen(ni.boot_id) == 36, "boot id");
	agent_node_info_release(&ni);
}

int main(void)
{
	test_detect();
	test_labels();
	test_taints();
	test_node();
	test_lease();
	test_events();
	test_node_ip();
	return tap_done();
}
