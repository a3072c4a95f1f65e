/* dns.h - berth's cluster DNS (the job CoreDNS's kubernetes plugin does):
 *
 *   wire.c       the DNS message format (RFC 1035): a defensive parser
 *                (compression pointers only backwards, bounded jumps, label
 *                and name lengths, counts capped) and an encoder with name
 *                compression and truncation (TC) to a size limit.
 *   answer.c     answers for the cluster domain from Services and
 *                EndpointSlices: A/AAAA for SVC.NS.svc.DOMAIN (ClusterIPs, or
 *                the ready endpoints of a headless service), SRV for
 *                _port._proto.SVC.NS.svc.DOMAIN, HOST.SVC.NS.svc.DOMAIN for
 *                endpoints with a hostname, CNAME for ExternalName,
 *                A-B-C-D.NS.pod.DOMAIN, dns-version TXT, the apex SOA/NS;
 *                PTR for ClusterIPs and endpoint addresses (in-addr.arpa,
 *                ip6.arpa), authoritative inside the service and pod CIDRs;
 *                NXDOMAIN / NODATA with the zone's SOA in authority.
 *   server.c     UDP + TCP listener; names outside the cluster domain are
 *                forwarded to the upstream resolvers (resolv.conf), UDP with a
 *                timeout.  dns_start / dns_stop for in-process use.
 *   resolvconf.c the pod's resolv.conf as the kubelet writes it.
 */
#ifndef BERTH_DNS_H
#define BERTH_DNS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../base/err.h"
#include "../shared/kube.h"

#define DNS_NAME_MAX 255      /* presentation form without the final dot */
#define DNS_MAX_RR 64         /* records kept per section when parsing / answering */
#define DNS_MAX_QD 4
#define DNS_UDP_MAX 512
#define DNS_TTL 5             /* CoreDNS kubernetes plugin's default */

enum { DNS_A = 1, DNS_NS = 2, DNS_CNAME = 5, DNS_SOA = 6, DNS_PTR = 12, DNS_TXT = 16, DNS_AAAA = 28,
       DNS_SRV = 33, DNS_OPT = 41, DNS_ANY = 255 };
enum { DNS_NOERROR = 0, DNS_FORMERR = 1, DNS_SERVFAIL = 2, DNS_NXDOMAIN = 3, DNS_NOTIMP = 4, DNS_REFUSED = 5 };
#define DNS_CLASS_IN 1

typedef struct {
	char name[DNS_NAME_MAX + 1];  /* lower-case-preserving, no trailing dot; "" is the root */
	uint16_t type, cls;
} DnsQuestion;

typedef struct {
	char name[DNS_NAME_MAX + 1];
	uint16_t type, cls;
	uint32_t ttl;
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		char target[DNS_NAME_MAX + 1];        /* CNAME, PTR, NS */
		struct { uint16_t prio, weight, port; char target[DNS_NAME_MAX + 1]; } srv;
		struct { char mname[DNS_NAME_MAX + 1], rname[DNS_NAME_MAX + 1];
			 uint32_t serial, refresh, retry, expire, minimum; } soa;
	} rd;
	uint16_t rawlen;              /* other types (and OPT): the rdata bytes */
	uint8_t raw[512];
} DnsRR;

typedef struct {
	uint16_t id, flags;           /* flags: QR opcode AA TC RD RA Z rcode, as on the wire */
	int qdcount, ancount, nscount, arcount;
	DnsQuestion qd[DNS_MAX_QD];
	DnsRR an[DNS_MAX_RR], ns[DNS_MAX_RR], ar[DNS_MAX_RR];
} DnsMsg;

#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
static inline int dns_rcode(const DnsMsg *m) { return m->flags & 0xf; }
static inline int dns_opcode(const DnsMsg *m) { return (m->flags >> 11) & 0xf; }

/* ---- wire.c ---- */
/* Parse a whole message (sections beyond DNS_MAX_* are an error). 0 or -EBADMSG
 * with err naming what is wrong. */
int dns_parse(const uint8_t *buf, size_t len, DnsMsg *m, Error **err);
/* Decode the name at *off (following compression pointers) into out; *off moves
 * past the name as it appears at that place.  0 or -EBADMSG. */
int dns_name_decode(const uint8_t *buf, size_t len, size_t *off, char out[DNS_NAME_MAX + 1]);
/* Encode into buf (cap bytes): returns the length, or -EMSGSIZE when even the
 * header and question do not fit.  When the answer would exceed max_len, the
 * records that do not fit are left out and TC is set. */
int dns_encode(const DnsMsg *m, uint8_t *buf, size_t cap, size_t max_len);
/* Case-insensitive name equality, and "name ends with zone" (label-wise). */
bool dns_name_eq(const char *a, const char *b);
bool dns_name_in_zone(const char *name, const char *zone);

/* ---- answer.c ---- */
/* What the answerer reads: services and endpoint slices (informer-like
 * lookups, so the unit tests can pass fixed lists). */
typedef struct {
	void *ud;
	json_t *(*get_service)(void *ud, const char *ns, const char *name);  /* new ref or NULL */
	json_t *(*list_slices)(void *ud, const char *ns);  /* new array ref; ns NULL: all namespaces */
	const char *domain;                                                   /* "cluster.local" */
	/* Every service (new array ref), for PTR records of ClusterIPs; NULL:
	 * reverse names find endpoint addresses only. */
	json_t *(*list_services)(void *ud);
	/* IPv4 CIDRs whose in-addr.arpa names are answered authoritatively
	 * (NXDOMAIN for unknown addresses), NULL-terminated; NULL: the service
	 * and pod CIDRs berth defaults to, DNS_REVERSE_CIDRS. */
	const char *const *reverse_cidrs;
} DnsSource;
#define DNS_REVERSE_CIDRS "10.43.0.0/16", "10.42.0.0/16"
#define DNS_VERSION "1.1.0"  /* dns-version.DOMAIN TXT: the Kubernetes DNS spec's schema version */
/* Does the server answer name itself?  Names in the cluster domain; reverse
 * names (in-addr.arpa) inside the reverse CIDRs; and any reverse name (also
 * ip6.arpa) of a ClusterIP or an endpoint address.  Other names are forwarded. */
bool dns_is_cluster_name(const DnsSource *src, const char *name);
/* Fill resp (header, question copied, answers, authority, additional) for
 * the first question of q, a name dns_is_cluster_name accepts. */
void dns_answer(const DnsSource *src, const DnsMsg *q, DnsMsg *resp);

/* ---- server.c ---- */
typedef struct DnsServer DnsServer;
typedef struct {
	const char *listen;           /* "127.0.0.1:53" */
	const char *domain;           /* default cluster.local */
	const char *resolv_conf;      /* default /etc/resolv.conf */
	char **upstreams;             /* NULL-terminated "IP[:PORT]"; overrides resolv.conf */
	int forward_timeout_ms;       /* default 2000 */
} DnsOptions;
/* Start serving (threads); kc is borrowed and must outlive the server. */
int dns_start(KubeClient *kc, const DnsOptions *opt, DnsServer **ret, Error **err);
/* The port actually bound (listen with port 0). */
int dns_port(const DnsServer *s);
void dns_stop(DnsServer *s);

/* ---- resolvconf.c ---- */
/* The resolv.conf text the kubelet writes for pod (dnsPolicy ClusterFirst,
 * ClusterFirstWithHostNet, Default, None; dnsConfig merged), given the cluster
 * DNS IP, the cluster domain and the host's resolv.conf text.  Caller frees. */
char *dns_pod_resolv_conf(const json_t *pod, const char *cluster_dns_ip, const char *domain,
			  const char *host_resolv_conf);

#endif
