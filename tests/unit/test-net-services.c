/* test-net-services.c - services and cluster DNS, pure parts: the DNS wire
 * format (round trips, compression pointers, pointer loops, truncation, bad
 * input), the cluster answers from services and slices, the pod resolv.conf,
 * the endpoints / slices computed from pods, and the iptables rule text for
 * a service and its slices (probabilities 1/n, affinity, NodePort, LB). */
#include "tap.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/dns/dns.h"
#include "../../src/proxy/proxy.h"
#include "../../src/shared/json.h"
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		tap_diag("bad test JSON: %s: %s", e.text, s);
	return j;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- DNS wire ---- */

static void test_dns_roundtrip(void)
{
	DnsMsg *m = calloc(1, sizeof(*m)), *d = calloc(1, sizeof(*d));
	m->id = 0x1234;
	m->flags = DNS_F_QR | DNS_F_AA | DNS_F_RD;
	m->qdcount = 1;
	strcpy(m->qd[0].name, "web.default.svc.cluster.local");
	m->qd[0].type = DNS_A;
	m->qd[0].cls = DNS_CLASS_IN;
	m->ancount = 2;
	strcpy(m->an[0].name, "web.default.svc.cluster.local");
	m->an[0].type = DNS_A, m->an[0].cls = 1, m->an[0].ttl = 5;
	inet_pton(AF_INET, "10.96.0.10", m->an[0].rd.a);
	strcpy(m->an[1].name, "_http._tcp.web.default.svc.cluster.local");
	m->an[1].type = DNS_SRV, m->an[1].cls = 1, m->an[1].ttl = 5;
	m->an[1].rd.srv.prio = 1, m->an[1].rd.srv.weight = 50, m->an[1].rd.srv.port = 8080;
	strcpy(m->an[1].rd.srv.target, "web.default.svc.cluster.local");
	m->nscount = 1;
	strcpy(m->ns[0].name, "cluster.local");
	m->ns[0].type = DNS_SOA, m->ns[0].cls = 1;
	strcpy(m->ns[0].rd.soa.mname, "ns.dns.cluster.local");
	strcpy(m->ns[0].rd.soa.rname, "hostmaster.cluster.local");
	m->ns[0].rd.soa.serial = 7, m->ns[0].rd.soa.minimum = 5;
	uint8_t buf[1024];
	int n = dns_encode(m, buf, sizeof(buf), sizeof(buf));
	ok(n > 12, "encode: %d bytes", n);
	/* uncompressed, the three names alone would be > 100 bytes more */
	/* uncompressed: 12 + question 35 + A 45 + SRV 88 + SOA 93 = 273 bytes */
	ok(n <= 160, "names are compressed (%d bytes instead of 273)", n);
	Error *err = NULL;
	is_int(dns_parse(buf, (size_t)n, d, &err), 0, "decode the encoded message");
	is_int(d->id, 0x1234, "id");
	is_int(d->flags, m->flags, "flags");
	is_str(d->qd[0].name, "web.default.svc.cluster.local", "question name through compression");
	is_int(d->ancount, 2, "two answers");
	ok(!memcmp(d->an[0].rd.a, m->an[0].rd.a, 4), "A rdata");
	is_str(d->an[1].name, "_http._tcp.web.default.svc.cluster.local", "SRV owner name (suffix compressed)");
	is_int(d->an[1].rd.srv.port, 8080, "SRV port");
	is_int(d->an[1].rd.srv.weight, 50, "SRV weight");
	is_str(d->an[1].rd.srv.target, "web.default.svc.cluster.local", "SRV target (compressed pointer)");
	is_str(d->ns[0].rd.soa.rname, "hostmaster.cluster.local", "SOA rname");
	is_int(d->ns[0].rd.soa.serial, 7, "SOA serial");
	int ptrs = 0;
	for (int i = 12; i < n - 1; i++)
		ptrs += (buf[i] & 0xc0) == 0xc0 && (((buf[i] & 0x3f) << 8) | buf[i + 1]) == 12;
	ok(ptrs >= 2, "pointers to the question name at offset 12 (%d)", ptrs);
	free(m);
	free(d);
}

static void test_dns_bad_input(void)
{
	DnsMsg *d = calloc(1, sizeof(*d));
	Error *err = NULL;
	/* a pointer to itself (loop) in the question */
	uint8_t loop[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
	ok(dns_parse(loop, sizeof(loop), d, &err) < 0, "a self-pointer is rejected");
	err_freep(&err);
	/* two pointers pointing at each other: forward pointer rejected */
	uint8_t loop2[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12, 0, 1, 0, 1 };
	ok(dns_parse(loop2, sizeof(loop2), d, &err) < 0, "a forward pointer (possible loop) is rejected");
	err_freep(&err);
	/* truncated: label longer than the buffer */
	uint8_t trunc[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 'a', 'b' };
	ok(dns_parse(trunc, sizeof(trunc), d, &err) < 0, "a label running past the end is rejected");
	err_freep(&err);
	ok(dns_parse(trunc, 5, d, &err) < 0, "a short header is rejected");
	err_freep(&err);
	/* counts larger than the records present */
	uint8_t counts[] = { 0, 1, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
	ok(dns_parse(counts, sizeof(counts), d, &err) < 0, "answer count beyond the data is rejected");
	err_freep(&err);
	/* a name of more than 255 bytes */
	uint8_t big[12 + 5 * 64 + 5];
	memset(big, 0, sizeof(big));
	big[5] = 1;
	size_t o = 12;
	for (int i = 0; i < 5; i++) {
		big[o++] = 63;
		memset(big + o, 'a', 63);
		o += 63;
	}
	big[o++] = 0;
	big[o + 1] = 1, big[o + 3] = 1;
	ok(dns_parse(big, o + 4, d, &err) < 0, "a name over 255 bytes is rejected");
	err_freep(&err);
	/* a valid backwards pointer is followed */
	uint8_t good[] = { 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 2, 'b', 'c', 0, 0, 1, 0, 1,
			   1, 'x', 0xc0, 14, 0, 28, 0, 1 };
	is_int(dns_parse(good, sizeof(good), d, &err), 0, "a backwards pointer is accepted");
	is_str(d->qd[1].name, "x.bc", "and the name completed from it");
	is_int(d->qd[1].type, DNS_AAAA, "type after the pointer");
	free(d);
}

static void test_dns_truncation(void)
{
	DnsMsg *m = calloc(1, sizeof(*m)), *d = calloc(1, sizeof(*d));
	m->id = 9;
	m->flags = DNS_F_QR;
	m->qdcount = 1;
	strcpy(m->qd[0].name, "headless.default.svc.cluster.local");
	m->qd[0].type = DNS_A, m->qd[0].cls = 1;
	m->ancount = 60;
	for (int i = 0; i < 60; i++) {
		strcpy(m->an[i].name, m->qd[0].name);
		m->an[i].type = DNS_A, m->an[i].cls = 1, m->an[i].ttl = 5;
		m->an[i].rd.a[0] = 10, m->an[i].rd.a[3] = (uint8_t)i;
	}
	uint8_t buf[2048];
	int n = dns_encode(m, buf, sizeof(buf), 512);
	ok(n > 0 && n <= 512, "truncated to 512 bytes (%d)", n);
	Error *err = NULL;
	is_int(dns_parse(buf, (size_t)n, d, &err), 0, "the truncated message parses");
	ok(d->flags & DNS_F_TC, "TC is set");
	ok(d->ancount > 0 && d->ancount < 60, "only whole records kept (%d)", d->ancount);
	n = dns_encode(m, buf, sizeof(buf), sizeof(buf));
	dns_parse(buf, (size_t)n, d, &err);
	ok(!(d->flags & DNS_F_TC) && d->ancount == 60, "no TC when it fits (%d answers)", d->ancount);
	ok(dns_name_in_zone("a.b.cluster.local", "cluster.local") && !dns_name_in_zone("xcluster.local", "cluster.local") &&
	   dns_name_in_zone("Cluster.Local.", "cluster.local"), "zone membership is label-wise and case-insensitive");
	free(m);
	free(d);
}

/* ---- DNS answers ---- */

static json_t *g_svcs, *g_slices;
static json_t *t_get_service(void *ud, const char *ns, const char *name)
{
	(void)ud;
	size_t i;
	json_t *s;
	json_array_foreach(g_svcs, i, s)
		if (!strcmp(obj_meta(s, "namespace"), ns) && !strcmp(obj_meta(s, "name"), name))
			return json_incref(s);
	return NULL;
}
static json_t *t_list_slices(void *ud, const char *ns)
{
	(void)ud;
	json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(g_slices, i, s)
		if (!strcmp(obj_meta(s, "namespace"), ns))
			json_array_append(out, s);
	return out;
}

static void ask(const DnsSource *src, const char *name, uint16_t type, DnsMsg *r)
{
	DnsMsg *q = calloc(1, sizeof(*q));
	q->id = 77;
	q->flags = DNS_F_RD;
	q->qdcount = 1;
	snprintf(q->qd[0].name, sizeof(q->qd[0].name), "%s", name);
	q->qd[0].type = type, q->qd[0].cls = 1;
	dns_answer(src, q, r);
	free(q);
}

static void test_dns_answers(void)
{
	g_svcs = J("[{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.20\","
		   "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"}]}},"
		   "{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\","
		   "\"ports\":[{\"name\":\"pg\",\"port\":5432,\"protocol\":\"TCP\"}]}},"
		   "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ExternalName\","
		   "\"externalName\":\"example.test\"}}]");
	g_slices = J("[{\"metadata\":{\"name\":\"db-x\",\"namespace\":\"prod\",\"labels\":{\"kubernetes.io/service-name\":\"db\"}},"
		     "\"ports\":[{\"name\":\"pg\",\"port\":15432,\"protocol\":\"TCP\"}],\"endpoints\":["
		     "{\"addresses\":[\"10.203.0.5\"],\"hostname\":\"db-0\",\"conditions\":{\"ready\":true}},"
		     "{\"addresses\":[\"10.203.0.6\"],\"hostname\":\"db-1\",\"conditions\":{\"ready\":true}},"
		     "{\"addresses\":[\"10.203.0.8\"],\"conditions\":{\"ready\":true}},"
		     "{\"addresses\":[\"10.203.0.7\"],\"conditions\":{\"ready\":false}}]}]");
	DnsSource src = { .get_service = t_get_service, .list_slices = t_list_slices, .domain = "cluster.local" };
	DnsMsg *r = calloc(1, sizeof(*r));
	char ip[INET_ADDRSTRLEN];

	ask(&src, "web.default.svc.cluster.local", DNS_A, r);
	is_int(dns_rcode(r), DNS_NOERROR, "service A: NOERROR");
	is_int(r->ancount, 1, "one A record");
	inet_ntop(AF_INET, r->an[0].rd.a, ip, sizeof(ip));
	is_str(ip, "10.96.0.20", "the ClusterIP");
	ok((r->flags & DNS_F_AA) && r->id == 77, "authoritative, same id");

	ask(&src, "web.default.svc.cluster.local", DNS_AAAA, r);
	ok(dns_rcode(r) == DNS_NOERROR && r->ancount == 0 && r->nscount == 1 && r->ns[0].type == DNS_SOA,
	   "AAAA of an IPv4 service: NODATA with SOA");

	ask(&src, "nope.default.svc.cluster.local", DNS_A, r);
	ok(dns_rcode(r) == DNS_NXDOMAIN && r->nscount == 1 && r->ns[0].type == DNS_SOA, "unknown service: NXDOMAIN + SOA");
	is_str(r->ns[0].name, "cluster.local", "SOA owner is the zone");

	ask(&src, "db.prod.svc.cluster.local", DNS_A, r);
	is_int(r->ancount, 3, "headless: the three ready endpoints, not the not-ready one");

	ask(&src, "db-1.db.prod.svc.cluster.local", DNS_A, r);
	inet_ntop(AF_INET, r->an[0].rd.a, ip, sizeof(ip));
	ok(r->ancount == 1 && !strcmp(ip, "10.203.0.6"), "pod hostname record db-1 -> %s", ip);

	ask(&src, "10-203-0-8.db.prod.svc.cluster.local", DNS_A, r);
	is_int(r->ancount, 1, "dashed-IP name of an endpoint without hostname");

	ask(&src, "_pg._tcp.db.prod.svc.cluster.local", DNS_SRV, r);
	is_int(r->ancount, 3, "headless SRV: one per ready endpoint");
	is_int(r->an[0].rd.srv.port, 15432, "SRV port is the endpoint port");
	ok(strstr(r->an[0].rd.srv.target, ".db.prod.svc.cluster.local") != NULL, "SRV target %s", r->an[0].rd.srv.target);
	is_int(r->arcount, 3, "targets' A records as additional");

	ask(&src, "_http._tcp.web.default.svc.cluster.local", DNS_SRV, r);
	ok(r->ancount == 1 && r->an[0].rd.srv.port == 80 && !strcmp(r->an[0].rd.srv.target, "web.default.svc.cluster.local"),
	   "ClusterIP SRV: the service port and name");

	ask(&src, "_nope._tcp.web.default.svc.cluster.local", DNS_SRV, r);
	is_int(dns_rcode(r), DNS_NXDOMAIN, "unknown named port: NXDOMAIN");

	ask(&src, "ext.default.svc.cluster.local", DNS_A, r);
	ok(r->ancount == 1 && r->an[0].type == DNS_CNAME && !strcmp(r->an[0].rd.target, "example.test"),
	   "ExternalName: CNAME");
	ok(!dns_is_cluster_name(&src, "example.test") && dns_is_cluster_name(&src, "x.cluster.local"),
	   "names outside the domain are forwarded");
	free(r);
	json_decref(g_svcs);
	json_decref(g_slices);
}

static void test_resolv_conf(void)
{
	const char *host = "# generated\nnameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch corp.test\noptions edns0\n";
	json_t *pod = J("{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{}}");
	char *s = dns_pod_resolv_conf(pod, "10.96.0.10", "cluster.local", host);
	is_str(s, "search shop.svc.cluster.local svc.cluster.local cluster.local corp.test\nnameserver 10.96.0.10\n"
		  "options ndots:5\n", "ClusterFirst");
	free(s);
	json_decref(pod);
	pod = J("{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"dnsPolicy\":\"Default\"}}");
	s = dns_pod_resolv_conf(pod, "10.96.0.10", "cluster.local", host);
	is_str(s, "search corp.test\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions edns0\n", "Default: the host's");
	free(s);
	json_decref(pod);
	pod = J("{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"hostNetwork\":true}}");
	s = dns_pod_resolv_conf(pod, "10.96.0.10", "cluster.local", host);
	ok(strstr(s, "nameserver 192.0.2.1") && !strstr(s, "10.96.0.10"), "ClusterFirst + hostNetwork acts as Default");
	free(s);
	json_decref(pod);
	pod = J("{\"metadata\":{\"namespace\":\"shop\"},\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{"
		"\"nameservers\":[\"1.2.3.4\"],\"searches\":[\"a.test\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},"
		"{\"name\":\"edns0\"}]}}}");
	s = dns_pod_resolv_conf(pod, "10.96.0.10", "cluster.local", host);
	is_str(s, "search a.test\nnameserver 1.2.3.4\noptions ndots:2 edns0\n", "None: only dnsConfig");
	free(s);
	json_decref(pod);
	pod = J("{\"metadata\":{\"namespace\":\"x\"},\"spec\":{\"dnsConfig\":{\"nameservers\":[\"10.96.0.10\",\"9.9.9.9\"],"
		"\"options\":[{\"name\":\"ndots\",\"value\":\"1\"}]}}}");
	s = dns_pod_resolv_conf(pod, "10.96.0.10", "cluster.local", "");
	is_str(s, "search x.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\nnameserver 9.9.9.9\n"
		  "options ndots:1\n", "ClusterFirst + dnsConfig: merged, deduplicated, option overridden");
	free(s);
	json_decref(pod);
}

/* ---- endpoints from pods ---- */

static json_t *mkpod(const char *name, const char *ip, bool ready, const char *extra_spec)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\",\"labels\":{\"app\":\"web\"}},"
		 "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"web\","
		 "\"containerPort\":8443}]}]%s},\"status\":{\"phase\":\"Running\",\"podIP\":\"%s\",\"conditions\":"
		 "[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
		 name, name, extra_spec ? extra_spec : "", ip, ready ? "True" : "False");
	return J(buf);
}

static void test_endpoints(void)
{
	json_t *svc = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"s1\"},\"spec\":{"
			"\"selector\":{\"app\":\"web\"},\"clusterIP\":\"10.96.0.20\",\"ports\":["
			"{\"name\":\"https\",\"port\":9443,\"targetPort\":\"web\",\"protocol\":\"TCP\"},"
			"{\"name\":\"alt\",\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"}]}}");
	json_t *pods = json_array();
	json_array_append_new(pods, mkpod("b", "10.203.0.3", true, ",\"hostname\":\"bee\",\"subdomain\":\"web\""));
	json_array_append_new(pods, mkpod("a", "10.203.0.2", true, NULL));
	json_array_append_new(pods, mkpod("c", "10.203.0.4", false, NULL));
	json_t *other = mkpod("d", "10.203.0.9", true, NULL);
	json_object_set_new(json_path(other, "metadata.labels"), "app", json_string("db"));
	json_array_append_new(pods, other);
	json_array_append_new(pods, mkpod("e", "", true, NULL));  /* no IP yet */

	json_t *ep = ep_build_endpoints(svc, pods);
	json_t *ss = json_object_get(ep, "subsets");
	is_int(json_array_size(ss), 1, "one subset (all pods serve the same ports)");
	json_t *s0 = json_array_get(ss, 0);
	is_int(json_array_size(json_object_get(s0, "addresses")), 2, "two ready addresses");
	is_int(json_array_size(json_object_get(s0, "notReadyAddresses")), 1, "one not ready");
	is_str(json_str(json_array_get(json_object_get(s0, "addresses"), 0), "ip"), "10.203.0.2", "sorted by pod name");
	is_str(json_str(json_array_get(json_object_get(s0, "addresses"), 1), "hostname"), "bee",
	       "hostname for hostname+subdomain");
	is_str(json_str(json_path(json_array_get(json_object_get(s0, "addresses"), 0), "targetRef"), "name"), "a",
	       "targetRef");
	is_str(json_str(json_array_get(json_object_get(s0, "addresses"), 0), "nodeName"), "n1", "nodeName");
	json_t *p0 = json_array_get(json_object_get(s0, "ports"), 0);
	is_int(json_int(p0, "port", 0), 8443, "named targetPort resolved from the container port");
	is_int(json_int(json_array_get(json_object_get(s0, "ports"), 1), "port", 0), 8080, "numeric targetPort");
	json_decref(ep);

	json_t *slices = ep_build_slices(svc, pods);
	is_int(json_array_size(slices), 1, "one slice");
	json_t *sl = json_array_get(slices, 0);
	is_str(json_str(json_path(sl, "metadata.labels"), "kubernetes.io/service-name"), "web", "service-name label");
	is_str(json_str(json_path(sl, "metadata.labels"), "endpointslice.kubernetes.io/managed-by"),
	       "endpointslice-controller.k8s.io", "managed-by label");
	is_int(json_array_size(json_object_get(sl, "endpoints")), 3, "ready and not-ready endpoints");
	ok(json_is_false(json_path(json_array_get(json_object_get(sl, "endpoints"), 2), "conditions.ready")),
	   "the not-ready one has conditions.ready false");
	json_decref(slices);

	/* publishNotReadyAddresses: everyone is ready */
	json_object_set_new(json_object_get(svc, "spec"), "publishNotReadyAddresses", json_true());
	ep = ep_build_endpoints(svc, pods);
	s0 = json_array_get(json_object_get(ep, "subsets"), 0);
	ok(json_array_size(json_object_get(s0, "addresses")) == 3 && !json_object_get(s0, "notReadyAddresses"),
	   "publishNotReadyAddresses puts not-ready pods in addresses");
	json_decref(ep);

	/* > 100 endpoints are split */
	json_t *many = json_array();
	for (int i = 0; i < 250; i++) {
		char n[16], ip[32];
		snprintf(n, sizeof(n), "p%03d", i);
		snprintf(ip, sizeof(ip), "10.203.%d.%d", i / 200, i % 200 + 1);
		json_array_append_new(many, mkpod(n, ip, true, NULL));
	}
	slices = ep_build_slices(svc, many);
	is_int(json_array_size(slices), 3, "250 endpoints: 3 slices");
	is_int(json_array_size(json_object_get(json_array_get(slices, 0), "endpoints")), 100, "of at most 100");
	json_decref(slices);
	json_decref(many);

	json_t *nosel = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"default\"},\"spec\":{\"ports\":[{\"port\":1}]}}");
	ok(!ep_service_selects(nosel, json_array_get(pods, 0)), "a service without selector selects nothing");
	json_t *eps = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"default\"},\"subsets\":[{\"addresses\":["
			"{\"ip\":\"192.0.2.7\",\"hostname\":\"h\"}],\"notReadyAddresses\":[{\"ip\":\"192.0.2.8\"}],"
			"\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}]}");
	json_t *m = ep_mirror_slices(nosel, eps);
	json_t *m0 = json_array_get(m, 0);
	ok(json_array_size(m) == 1 && json_array_size(json_object_get(m0, "endpoints")) == 2, "Endpoints mirrored into a slice");
	is_str(json_str(json_path(m0, "metadata.labels"), "endpointslice.kubernetes.io/managed-by"),
	       "endpointslicemirroring-controller.k8s.io", "managed by the mirroring controller");
	ok(json_is_true(json_path(json_array_get(json_object_get(m0, "endpoints"), 0), "conditions.ready")) &&
	   json_is_false(json_path(json_array_get(json_object_get(m0, "endpoints"), 1), "conditions.ready")),
	   "addresses ready, notReadyAddresses not");
	is_int(json_int(json_array_get(json_object_get(m0, "ports"), 0), "port", 0), 53, "ports copied");
	json_decref(m);
	json_object_set_new(json_object_get(eps, "metadata"), "labels",
			    json_pack("{s:s}", "endpointslice.kubernetes.io/skip-mirror", "true"));
	m = ep_mirror_slices(nosel, eps);
	is_int(json_array_size(m), 0, "skip-mirror is honoured");
	json_decref(m);
	json_decref(eps);
	json_decref(nosel);
	json_decref(pods);
	json_decref(svc);
}

/* ---- iptables rules ---- */

static void test_rules(void)
{
	json_t *svcs = J("[{\"metadata\":{\"name\":\"dash\",\"namespace\":\"kube-system\"},\"spec\":{\"type\":\"LoadBalancer\","
			 "\"clusterIP\":\"10.96.0.50\",\"ports\":[{\"protocol\":\"TCP\",\"port\":9443,\"targetPort\":8443,"
			 "\"nodePort\":30063}]},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.2\"}]}}},"
			 "{\"metadata\":{\"name\":\"hl\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"None\","
			 "\"ports\":[{\"port\":80}]}},"
			 "{\"metadata\":{\"name\":\"sticky\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.60\","
			 "\"sessionAffinity\":\"ClientIP\",\"ports\":[{\"name\":\"h\",\"port\":80,\"protocol\":\"TCP\"}]}},"
			 "{\"metadata\":{\"name\":\"empty\",\"namespace\":\"default\"},\"spec\":{\"type\":\"NodePort\","
			 "\"clusterIP\":\"10.96.0.70\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"nodePort\":31000}]}}]");
	json_t *slices = J("[{\"metadata\":{\"namespace\":\"kube-system\",\"labels\":{\"kubernetes.io/service-name\":\"dash\"}},"
			   "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"\",\"port\":8443,\"protocol\":\"TCP\"}],\"endpoints\":["
			   "{\"addresses\":[\"10.203.0.2\"],\"conditions\":{\"ready\":true}},"
			   "{\"addresses\":[\"10.203.0.3\"],\"conditions\":{\"ready\":true}},"
			   "{\"addresses\":[\"10.203.0.4\"],\"conditions\":{\"ready\":true}},"
			   "{\"addresses\":[\"10.203.0.5\"],\"conditions\":{\"ready\":false}}]},"
			   "{\"metadata\":{\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},"
			   "\"ports\":[{\"port\":80}],\"endpoints\":[{\"addresses\":[\"10.203.0.9\"]}]},"
			   "{\"metadata\":{\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"sticky\"}},"
			   "\"ports\":[{\"name\":\"h\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":["
			   "{\"addresses\":[\"10.203.0.7\"]},{\"addresses\":[\"10.203.0.8\"]}]}]");
	ProxyOptions opt = { .cluster_cidr = "10.203.0.0/24" };
	char *existing[] = { "PREROUTING", "BERTH-SERVICES", "BERTH-SVC-0000000000000000", "CNI-HOSTPORT-DNAT", NULL };
	char *t = proxy_rules_build(svcs, slices, &opt, existing);
	char svc[40], ext[40], sep[40];
	proxy_chain_name("SVC", "kube-system/dash", "tcp", NULL, svc, sizeof(svc));
	proxy_chain_name("EXT", "kube-system/dash", "tcp", NULL, ext, sizeof(ext));
	ok(!strncmp(t, "*filter\n", 8) && strstr(t, "COMMIT\n*nat\n") && count(t, "COMMIT\n") == 2,
	   "iptables-restore input: filter then nat");
	ok(strstr(t, "-A BERTH-SERVICES -m comment --comment \"default/empty has no endpoints\" -m tcp -p tcp "
		     "-d 10.96.0.70/32 --dport 80 -j REJECT") != NULL, "a port without endpoints is rejected (filter)");
	ok(strstr(t, "-A BERTH-EXTERNAL-SERVICES -m comment --comment \"default/empty has no endpoints\" -m addrtype "
		     "--dst-type LOCAL -m tcp -p tcp --dport 31000 -j REJECT") != NULL, "and so is its NodePort");
	ok(!strstr(t, "10.96.0.70/32 --dport 80 -j BERTH-SVC"), "and it gets no nat rules");
	is_int(count(t, "-j REJECT"), 2, "only the empty service is rejected");
	char line[256];
	snprintf(line, sizeof(line), "-d 10.96.0.50/32 --dport 9443 -j %s\n", svc);
	ok(strstr(t, line) != NULL, "ClusterIP:port jumps to the service chain");
	snprintf(line, sizeof(line), "--dport 30063 -j %s\n", ext);
	ok(strstr(t, line) && strstr(t, "-A BERTH-NODEPORTS"), "NodePort 30063 jumps to the external chain");
	snprintf(line, sizeof(line), "-d 192.0.2.2/32 --dport 9443 -j %s\n", ext);
	ok(strstr(t, line) != NULL, "LoadBalancer ingress IP:9443 jumps to the external chain");
	snprintf(line, sizeof(line), "-A %s -j BERTH-MARK-MASQ\n", ext);
	ok(strstr(t, "masquerade traffic for kube-system/dash external") != NULL, "external traffic is masqueraded");
	ok(strstr(t, "--probability 0.3333333333 -j") && strstr(t, "--probability 0.5000000000 -j"),
	   "probabilities 1/3, 1/2 then the last unconditionally");
	is_int(count(t, "-j DNAT --to-destination 10.203.0."), 5, "3 + 2 DNAT endpoints (not the not-ready one)");
	ok(!strstr(t, "10.203.0.5:"), "the not-ready endpoint gets no rule");
	ok(!strstr(t, "10.203.0.9") && !strstr(t, "default/hl"), "headless service: no rules");
	proxy_chain_name("SEP", "kube-system/dash", "tcp", "10.203.0.2:8443", sep, sizeof(sep));
	snprintf(line, sizeof(line), "-A %s -m comment --comment \"kube-system/dash\" -s 10.203.0.2/32 -j BERTH-MARK-MASQ", sep);
	ok(strstr(t, line) != NULL, "hairpin traffic from the endpoint itself is masqueraded");
	ok(strstr(t, "! -s 10.203.0.0/24 -j BERTH-MARK-MASQ") != NULL, "off-cluster-CIDR sources are masqueraded");
	ok(strstr(t, "--rcheck --seconds 10800 --reap") && strstr(t, "-m recent --name BERTH-SEP-") && strstr(t, "--set -j DNAT"),
	   "ClientIP affinity with the recent module, default 3 hours");
	is_int(count(t, "--rcheck"), 2, "one affinity check per sticky endpoint");
	ok(strstr(t, ":BERTH-SVC-0000000000000000 - [0:0]\n") && strstr(t, "-X BERTH-SVC-0000000000000000\n"),
	   "a stale berth chain is flushed and deleted");
	ok(!strstr(t, "CNI-HOSTPORT") && !strstr(t, ":PREROUTING"), "other chains are not touched");
	ok(strstr(t, "--dst-type LOCAL -j BERTH-NODEPORTS\n-A") == NULL && strstr(t, "-j BERTH-NODEPORTS\n"),
	   "the NODEPORTS jump is the last BERTH-SERVICES rule");
	char *t2 = proxy_rules_build(svcs, slices, &opt, existing);
	is_str(t2, t, "the same input gives the same text (no needless rewrites)");
	free(t2);
	free(t);
	json_decref(svcs);
	json_decref(slices);
}

int main(void)
{
	test_dns_roundtrip();
	test_dns_bad_input();
	test_dns_truncation();
	test_dns_answers();
	test_resolv_conf();
	test_endpoints();
	test_rules();
	return tap_done();
}
