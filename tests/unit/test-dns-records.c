/* test-dns-records.c - the cluster DNS records beyond services' A/SRV
 * (src/dns/answer.c): reverse lookups (PTR for ClusterIPs and endpoints,
 * authoritative NXDOMAIN inside the reverse CIDRs, what is forwarded), pod
 * A-B-C-D.NS.pod names, hostname+subdomain names from slices the endpoint
 * controller builds, IPv6 (AAAA NODATA, dual-stack ClusterIPs, IPv6
 * endpoints, ip6.arpa), ANY, dns-version TXT and the zone apex SOA/NS; and
 * that those records survive the wire encoder. */
#include "tap.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/dns/dns.h"
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
		if (!ns || !strcmp(obj_meta(s, "namespace"), ns))
			json_array_append(out, s);
	return out;
}

static json_t *t_list_services(void *ud)
{
	(void)ud;
	return json_deep_copy(g_svcs);
}

static DnsMsg *ask(const DnsSource *src, const char *name, uint16_t type)
{
	static DnsMsg r;
	DnsMsg *q = calloc(1, sizeof(*q));
	q->id = 9;
	q->flags = DNS_F_RD;
	q->qdcount = 1;
	snprintf(q->qd[0].name, sizeof(q->qd[0].name), "%s", name);
	q->qd[0].type = type, q->qd[0].cls = DNS_CLASS_IN;
	dns_answer(src, q, &r);
	free(q);
	return &r;
}

/* The address of a record as text. */
static const char *addr(const DnsRR *rr)
{
	static char buf[INET6_ADDRSTRLEN];
	if (rr->type == DNS_A)
		return inet_ntop(AF_INET, rr->rd.a, buf, sizeof(buf));
	if (rr->type == DNS_AAAA)
		return inet_ntop(AF_INET6, rr->rd.aaaa, buf, sizeof(buf));
	return "(not an address)";
}

/* The single PTR answer's target, or "" (with a diagnostic) otherwise. */
static const char *ptr1(const DnsMsg *r)
{
	if (r->ancount != 1 || r->an[0].type != DNS_PTR) {
		tap_diag("want one PTR, got %d answers, rcode %d", r->ancount, dns_rcode(r));
		return "";
	}
	return r->an[0].rd.target;
}

static bool nodata(const DnsMsg *r, const char *zone)
{
	return dns_rcode(r) == DNS_NOERROR && r->ancount == 0 && r->nscount == 1 && r->ns[0].type == DNS_SOA &&
	       dns_name_eq(r->ns[0].name, zone);
}

static bool nxdomain(const DnsMsg *r, const char *zone)
{
	return dns_rcode(r) == DNS_NXDOMAIN && r->ancount == 0 && r->nscount == 1 && r->ns[0].type == DNS_SOA &&
	       dns_name_eq(r->ns[0].name, zone) && (r->flags & DNS_F_AA);
}

static void setup(void)
{
	g_svcs = J("["
		   "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.43.0.20\","
		   " \"clusterIPs\":[\"10.43.0.20\",\"fd00:43::20\"],\"ipFamilies\":[\"IPv4\",\"IPv6\"],"
		   " \"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"}]}},"
		   "{\"metadata\":{\"name\":\"v4\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.43.0.30\"}},"
		   "{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\"},\"spec\":{\"clusterIP\":\"10.43.0.10\"}},"
		   "{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\"}},"
		   "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ExternalName\","
		   " \"externalName\":\"example.test\"}},"
		   "{\"metadata\":{\"name\":\"legacy\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"None\"}}"
		   "]");
	g_slices = J("["
		     "{\"metadata\":{\"name\":\"db-a\",\"namespace\":\"prod\",\"labels\":{\"kubernetes.io/service-name\":\"db\"}},"
		     " \"addressType\":\"IPv4\",\"endpoints\":["
		     "  {\"addresses\":[\"10.42.0.5\"],\"hostname\":\"db-0\",\"conditions\":{\"ready\":true}},"
		     "  {\"addresses\":[\"10.42.0.8\"],\"conditions\":{\"ready\":true}},"
		     "  {\"addresses\":[\"10.42.0.7\"],\"conditions\":{\"ready\":false}}]},"
		     "{\"metadata\":{\"name\":\"db-b\",\"namespace\":\"prod\",\"labels\":{\"kubernetes.io/service-name\":\"db\"}},"
		     " \"addressType\":\"IPv6\",\"endpoints\":["
		     "  {\"addresses\":[\"fd00:42::8\"],\"conditions\":{\"ready\":true}}]},"
		     "{\"metadata\":{\"name\":\"legacy-a\",\"namespace\":\"default\",\"labels\":{\"kubernetes.io/service-name\":\"legacy\"}},"
		     " \"addressType\":\"IPv4\",\"endpoints\":["
		     "  {\"addresses\":[\"192.168.77.5\"],\"conditions\":{\"ready\":true}}]}"
		     "]");
}

static void test_reverse(void)
{
	DnsSource src = { .get_service = t_get_service, .list_slices = t_list_slices, .list_services = t_list_services,
			  .domain = "cluster.local" };
	DnsMsg *r;

	r = ask(&src, "20.0.43.10.in-addr.arpa", DNS_PTR);
	is_str(ptr1(r), "web.default.svc.cluster.local", "PTR of a ClusterIP: the service name");
	ok(dns_rcode(r) == DNS_NOERROR && (r->flags & DNS_F_AA) && r->id == 9, "NOERROR, authoritative, same id");
	is_str(ptr1(ask(&src, "10.0.43.10.IN-ADDR.ARPA.", DNS_PTR)), "kube-dns.kube-system.svc.cluster.local",
	       "PTR is case-insensitive and takes the trailing dot");
	is_str(ptr1(ask(&src, "5.0.42.10.in-addr.arpa", DNS_PTR)), "db-0.db.prod.svc.cluster.local",
	       "PTR of an endpoint with a hostname");
	is_str(ptr1(ask(&src, "8.0.42.10.in-addr.arpa", DNS_PTR)), "10-42-0-8.db.prod.svc.cluster.local",
	       "PTR of an endpoint without one: the dashed address");
	ok(nxdomain(ask(&src, "7.0.42.10.in-addr.arpa", DNS_PTR), "42.10.in-addr.arpa"),
	   "a not-ready endpoint has no PTR: NXDOMAIN with the pod zone's SOA");
	ok(nxdomain(ask(&src, "99.99.43.10.in-addr.arpa", DNS_PTR), "43.10.in-addr.arpa"),
	   "unknown address in the service CIDR: NXDOMAIN with the service zone's SOA");
	ok(dns_is_cluster_name(&src, "99.99.43.10.in-addr.arpa") && dns_is_cluster_name(&src, "1.1.42.10.in-addr.arpa"),
	   "names inside the service and pod CIDRs are answered, not forwarded");
	ok(nodata(ask(&src, "20.0.43.10.in-addr.arpa", DNS_A), "43.10.in-addr.arpa"),
	   "A for a ClusterIP's reverse name: NODATA");
	r = ask(&src, "20.0.43.10.in-addr.arpa", DNS_ANY);
	ok(r->ancount == 1 && r->an[0].type == DNS_PTR, "ANY on a reverse name: the PTR");

	ok(!dns_is_cluster_name(&src, "1.2.0.192.in-addr.arpa"), "an unknown address outside the CIDRs is forwarded");
	ok(!dns_is_cluster_name(&src, "0.192.in-addr.arpa") && !dns_is_cluster_name(&src, "in-addr.arpa"),
	   "reverse zones above the CIDRs are forwarded");
	ok(dns_is_cluster_name(&src, "5.77.168.192.in-addr.arpa"), "a known endpoint outside the CIDRs is answered");
	is_str(ptr1(ask(&src, "5.77.168.192.in-addr.arpa", DNS_PTR)), "192-168-77-5.legacy.default.svc.cluster.local",
	       "its PTR");
	ok(!dns_is_cluster_name(&src, "300.0.43.10.in-addr.arpa") && !dns_is_cluster_name(&src, "1.2.0.43.10.in-addr.arpa") &&
	   !dns_is_cluster_name(&src, "01.0.43.10.in-addr.arpa") && !dns_is_cluster_name(&src, "x.0.43.10.in-addr.arpa") &&
	   !dns_is_cluster_name(&src, " 1.0.43.10.in-addr.arpa"),
	   "malformed reverse names (octet > 255, 5 octets, leading zero, letters, space) are not ours");

	r = ask(&src, "43.10.in-addr.arpa", DNS_SOA);
	ok(dns_is_cluster_name(&src, "43.10.in-addr.arpa") && r->ancount == 1 && r->an[0].type == DNS_SOA &&
	   !strcmp(r->an[0].name, "43.10.in-addr.arpa") && r->nscount == 0, "the reverse zone's apex: SOA in the answer");
	ok(nodata(ask(&src, "0.43.10.in-addr.arpa", DNS_PTR), "43.10.in-addr.arpa"),
	   "a name between the apex and the addresses: NODATA");

	/* IPv6: ip6.arpa of a dual-stack ClusterIP and of an IPv6 endpoint */
	const char *v6 = "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa";
	ok(dns_is_cluster_name(&src, v6), "ip6.arpa of an IPv6 ClusterIP is answered");
	is_str(ptr1(ask(&src, v6, DNS_PTR)), "web.default.svc.cluster.local", "its PTR");
	const char *v6ep = "8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.0.0.0.0.d.f.ip6.arpa";
	is_str(ptr1(ask(&src, v6ep, DNS_PTR)), "fd00-42--8.db.prod.svc.cluster.local", "PTR of an IPv6 endpoint");
	ok(!dns_is_cluster_name(&src, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
	   "an unknown ip6.arpa name is forwarded");
	ok(!dns_is_cluster_name(&src, "8.b.d.0.1.0.0.2.ip6.arpa") && !dns_is_cluster_name(&src, "g.0.ip6.arpa") &&
	   !dns_is_cluster_name(&src, "10.0.ip6.arpa"), "partial and malformed ip6.arpa names are forwarded");

	/* without list_services: endpoints still resolve, ClusterIPs do not */
	DnsSource bare = src;
	bare.list_services = NULL;
	ok(nxdomain(ask(&bare, "20.0.43.10.in-addr.arpa", DNS_PTR), "43.10.in-addr.arpa") &&
	   !strcmp(ptr1(ask(&bare, "5.0.42.10.in-addr.arpa", DNS_PTR)), "db-0.db.prod.svc.cluster.local"),
	   "a source without list_services: endpoint PTRs only");

	/* other reverse CIDRs */
	const char *const cidrs[] = { "10.96.0.0/12", "bogus", "10.1.2.0/24", NULL };
	DnsSource other = src;
	other.reverse_cidrs = cidrs;
	ok(nxdomain(ask(&other, "5.0.100.10.in-addr.arpa", DNS_PTR), "10.in-addr.arpa"),
	   "a /12: its addresses are ours, SOA of the enclosing octet zone");
	ok(!dns_is_cluster_name(&other, "5.0.112.10.in-addr.arpa"), "just past the /12 is forwarded");
	ok(nxdomain(ask(&other, "9.2.1.10.in-addr.arpa", DNS_PTR), "2.1.10.in-addr.arpa"), "a /24 zone");
	ok(!dns_is_cluster_name(&other, "99.99.43.10.in-addr.arpa"), "the default CIDRs no longer apply");
	is_str(ptr1(ask(&other, "20.0.43.10.in-addr.arpa", DNS_PTR)), "web.default.svc.cluster.local",
	       "a known ClusterIP outside them still has its PTR");
}

static void test_pods_and_subdomains(void)
{
	DnsSource src = { .get_service = t_get_service, .list_slices = t_list_slices, .list_services = t_list_services,
			  .domain = "cluster.local" };
	DnsMsg *r = ask(&src, "10-42-0-9.default.pod.cluster.local", DNS_A);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "10.42.0.9") && dns_rcode(r) == DNS_NOERROR,
	   "A-B-C-D.NS.pod: the address (%s)", r->ancount ? addr(&r->an[0]) : "none");
	ok(nodata(ask(&src, "10-42-0-9.default.pod.cluster.local", DNS_AAAA), "cluster.local"),
	   "AAAA of an IPv4 pod name: NODATA");
	r = ask(&src, "fd00-42--9.any.pod.cluster.local", DNS_AAAA);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "fd00:42::9"), "an IPv6 pod name: AAAA");
	ok(nxdomain(ask(&src, "10-42-0.default.pod.cluster.local", DNS_A), "cluster.local") &&
	   nxdomain(ask(&src, "300-1-1-1.default.pod.cluster.local", DNS_A), "cluster.local") &&
	   nxdomain(ask(&src, "x.10-42-0-9.default.pod.cluster.local", DNS_A), "cluster.local"),
	   "not an address, or a name below one: NXDOMAIN");
	ok(nodata(ask(&src, "default.pod.cluster.local", DNS_A), "cluster.local") &&
	   nodata(ask(&src, "pod.cluster.local", DNS_A), "cluster.local"), "NS.pod and pod: exist without records");

	/* hostname + subdomain: the endpoint controller's slice carries the hostname */
	json_t *svc = J("{\"metadata\":{\"name\":\"nginx\",\"namespace\":\"web\",\"uid\":\"u1\"},\"spec\":{"
			"\"clusterIP\":\"None\",\"selector\":{\"app\":\"nginx\"},\"ports\":[{\"name\":\"http\",\"port\":80}]}}");
	json_t *pods = J("["
			 "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"web\",\"uid\":\"a\",\"labels\":{\"app\":\"nginx\"}},"
			 " \"spec\":{\"hostname\":\"bee\",\"subdomain\":\"nginx\",\"containers\":[{\"name\":\"c\"}]},"
			 " \"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.1.3\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
			 "{\"metadata\":{\"name\":\"p2\",\"namespace\":\"web\",\"uid\":\"b\",\"labels\":{\"app\":\"nginx\"}},"
			 " \"spec\":{\"hostname\":\"wasp\",\"subdomain\":\"other\",\"containers\":[{\"name\":\"c\"}]},"
			 " \"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.1.4\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"
			 "]");
	json_t *built = ep_build_slices(svc, pods);
	size_t i;
	json_t *s;
	json_array_foreach(built, i, s)
		json_array_append(g_slices, s);
	json_array_append(g_svcs, svc);
	r = ask(&src, "bee.nginx.web.svc.cluster.local", DNS_A);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "10.42.1.3"), "HOSTNAME.SUBDOMAIN.NS.svc: the pod's address");
	ok(nxdomain(ask(&src, "wasp.nginx.web.svc.cluster.local", DNS_A), "cluster.local"),
	   "a pod whose subdomain names another service has no hostname record here");
	ok(ask(&src, "10-42-1-4.nginx.web.svc.cluster.local", DNS_A)->ancount == 1, "it keeps its dashed name");
	is_str(ptr1(ask(&src, "3.1.42.10.in-addr.arpa", DNS_PTR)), "bee.nginx.web.svc.cluster.local",
	       "and the PTR names the hostname");
	json_decref(built);
	json_decref(pods);
	json_decref(svc);
}

static void test_ipv6_and_any(void)
{
	DnsSource src = { .get_service = t_get_service, .list_slices = t_list_slices, .list_services = t_list_services,
			  .domain = "cluster.local" };
	DnsMsg *r = ask(&src, "web.default.svc.cluster.local", DNS_AAAA);
	ok(r->ancount == 1 && r->an[0].type == DNS_AAAA && !strcmp(addr(&r->an[0]), "fd00:43::20"),
	   "dual-stack service: AAAA from spec.clusterIPs");
	r = ask(&src, "web.default.svc.cluster.local", DNS_A);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "10.43.0.20"), "and A has only the IPv4 one");
	r = ask(&src, "web.default.svc.cluster.local", DNS_ANY);
	ok(r->ancount == 2 && r->an[0].type == DNS_A && r->an[1].type == DNS_AAAA, "ANY: both addresses");
	ok(nodata(ask(&src, "v4.default.svc.cluster.local", DNS_AAAA), "cluster.local"),
	   "AAAA of an IPv4-only service: NODATA with SOA, not NXDOMAIN");
	ok(nxdomain(ask(&src, "nope.default.svc.cluster.local", DNS_AAAA), "cluster.local"), "AAAA of nothing: NXDOMAIN");
	r = ask(&src, "db.prod.svc.cluster.local", DNS_AAAA);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "fd00:42::8"), "headless: AAAA of the IPv6 endpoint");
	is_int(ask(&src, "db.prod.svc.cluster.local", DNS_A)->ancount, 2, "headless A: the two ready IPv4 endpoints");
	r = ask(&src, "fd00-42--8.db.prod.svc.cluster.local", DNS_AAAA);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "fd00:42::8"), "the IPv6 endpoint's dashed name");
	r = ask(&src, "_http._tcp.web.default.svc.cluster.local", DNS_SRV);
	ok(r->ancount == 1 && r->arcount == 2 && r->ar[0].type == DNS_A && r->ar[1].type == DNS_AAAA,
	   "SRV of a dual-stack service: A and AAAA as additional");
	r = ask(&src, "ext.default.svc.cluster.local", DNS_AAAA);
	ok(r->ancount == 1 && r->an[0].type == DNS_CNAME, "ExternalName answers AAAA with its CNAME");
}

static void test_version_and_apex(void)
{
	DnsSource src = { .get_service = t_get_service, .list_slices = t_list_slices, .list_services = t_list_services,
			  .domain = "cluster.local" };
	DnsMsg *r = ask(&src, "dns-version.cluster.local", DNS_TXT);
	ok(r->ancount == 1 && r->an[0].type == DNS_TXT && r->an[0].rawlen == 6 && r->an[0].raw[0] == 5 &&
	   !memcmp(r->an[0].raw + 1, "1.1.0", 5), "dns-version TXT \"1.1.0\"");
	ok(nodata(ask(&src, "dns-version.cluster.local", DNS_A), "cluster.local"), "dns-version A: NODATA");

	r = ask(&src, "cluster.local", DNS_SOA);
	ok(r->ancount == 1 && r->an[0].type == DNS_SOA && !strcmp(r->an[0].rd.soa.mname, "ns.dns.cluster.local") &&
	   r->nscount == 0 && dns_rcode(r) == DNS_NOERROR, "apex SOA in the answer");
	r = ask(&src, "cluster.local.", DNS_NS);
	ok(r->ancount == 1 && r->an[0].type == DNS_NS && !strcmp(r->an[0].rd.target, "ns.dns.cluster.local") &&
	   r->arcount == 1 && !strcmp(addr(&r->ar[0]), "10.43.0.10"), "apex NS, with kube-dns's address as additional");
	r = ask(&src, "cluster.local", DNS_ANY);
	ok(r->ancount == 2 && r->an[0].type == DNS_SOA && r->an[1].type == DNS_NS, "apex ANY: SOA and NS");
	r = ask(&src, "ns.dns.cluster.local", DNS_A);
	ok(r->ancount == 1 && !strcmp(addr(&r->an[0]), "10.43.0.10"), "ns.dns.DOMAIN A: the kube-dns ClusterIP");
	ok(nodata(ask(&src, "dns.cluster.local", DNS_A), "cluster.local"), "dns.DOMAIN exists (NODATA)");
	ok(nodata(ask(&src, "cluster.local", DNS_A), "cluster.local"), "apex A: NODATA");
	ok(nxdomain(ask(&src, "x.dns.cluster.local", DNS_A), "cluster.local"), "other names under dns: NXDOMAIN");
}

/* The new record types survive encode + parse. */
static void test_wire(void)
{
	DnsSource src = { .get_service = t_get_service, .list_slices = t_list_slices, .list_services = t_list_services,
			  .domain = "cluster.local" };
	const struct { const char *name; uint16_t type; } qs[] = {
		{ "20.0.43.10.in-addr.arpa", DNS_PTR }, { "dns-version.cluster.local", DNS_TXT },
		{ "web.default.svc.cluster.local", DNS_AAAA }, { "cluster.local", DNS_ANY },
		{ "99.99.43.10.in-addr.arpa", DNS_PTR },
	};
	DnsMsg *d = calloc(1, sizeof(*d));
	for (size_t i = 0; i < ARRAY_SIZE(qs); i++) {
		DnsMsg *r = ask(&src, qs[i].name, qs[i].type);
		uint8_t buf[1024];
		Error *err = NULL;
		int n = dns_encode(r, buf, sizeof(buf), DNS_UDP_MAX);
		bool same = n > 0 && dns_parse(buf, (size_t)n, d, &err) == 0 && d->ancount == r->ancount &&
			    d->nscount == r->nscount && d->arcount == r->arcount && dns_rcode(d) == dns_rcode(r);
		for (int k = 0; same && k < r->ancount; k++) {
			const DnsRR *a = &r->an[k], *b = &d->an[k];
			same = a->type == b->type && dns_name_eq(a->name, b->name);
			if (a->type == DNS_PTR || a->type == DNS_NS)
				same = same && dns_name_eq(a->rd.target, b->rd.target);
			else if (a->type == DNS_AAAA)
				same = same && !memcmp(a->rd.aaaa, b->rd.aaaa, 16);
			else if (a->type == DNS_TXT)
				same = same && a->rawlen == b->rawlen && !memcmp(a->raw, b->raw, a->rawlen);
		}
		for (int k = 0; same && k < r->nscount; k++)
			same = dns_name_eq(r->ns[k].name, d->ns[k].name);
		ok(same, "%s type %u: encodes and parses back the same", qs[i].name, qs[i].type);
		err_free(err);
	}
	free(d);
}

int main(void)
{
	setup();
	test_reverse();
	test_pods_and_subdomains();
	test_ipv6_and_any();
	test_version_and_apex();
	test_wire();
	json_decref(g_svcs);
	json_decref(g_slices);
	return tap_done();
}
