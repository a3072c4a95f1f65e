/* server.c - the cluster DNS server: one UDP and one TCP socket on the same
 * address, a poll loop on its own thread, answers for the cluster domain from
 * two informers (services, endpointslices), and forwarding of every other
 * name to the upstream resolvers (from resolv.conf or given), over UDP with a
 * timeout on a short-lived thread per query so a slow upstream never blocks
 * cluster answers.  TCP connections get a thread each (length-prefixed
 * messages, idle timeout).  dns_stop waits for all of them.
 */
#include "dns.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../controller/framework/framework.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_UPSTREAMS 3
#define MAX_THREADS 128
#define TCP_IDLE_MS 5000
#define EDNS_SIZE 1232

struct DnsServer {
	Informer *svcs, *slices;
	DnsSource src;
	char *domain;
	struct sockaddr_in up[MAX_UPSTREAMS];
	int nup;
	int timeout_ms;
	int udp, tcp, wake[2];
	int port;
	pthread_t loop;
	bool started;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int nthreads;
};

static json_t *src_get_service(void *ud, const char *ns, const char *name)
{
	return informer_get(((DnsServer *)ud)->svcs, ns, name);
}

static json_t *src_list_slices(void *ud, const char *ns) { return informer_list(((DnsServer *)ud)->slices, ns); }
static json_t *src_list_services(void *ud) { return informer_list(((DnsServer *)ud)->svcs, NULL); }

/* "IP[:PORT]" into sa (default port def). */
static int parse_addr(const char *s, int def, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	int port = def;
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || p < 0 || p > 65535)
			return -EINVAL;
		port = (int)p;
	}
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static void load_upstreams(DnsServer *s, const DnsOptions *opt)
{
	if (opt->upstreams && opt->upstreams[0]) {
		for (char **u = opt->upstreams; *u && s->nup < MAX_UPSTREAMS; u++)
			if (parse_addr(*u, 53, &s->up[s->nup]) == 0)
				s->nup++;
		return;
	}
	_cleanup_fclose_ FILE *f = fopen(opt->resolv_conf ? opt->resolv_conf : "/etc/resolv.conf", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f) && s->nup < MAX_UPSTREAMS) {
		char ip[64];
		if (sscanf(line, "nameserver %63s", ip) == 1 && parse_addr(ip, 53, &s->up[s->nup]) == 0)
			s->nup++;
	}
}

/* Never forward to ourselves (resolv.conf naming the address we serve on):
 * that would loop every unknown name until the timeout. */
static void drop_self(DnsServer *s, const char *listen)
{
	struct sockaddr_in me;
	if (parse_addr(listen, 53, &me) < 0)
		return;
	int k = 0;
	for (int i = 0; i < s->nup; i++) {
		bool loopback = (ntohl(s->up[i].sin_addr.s_addr) >> 24) == 127;
		bool me_too = s->up[i].sin_addr.s_addr == me.sin_addr.s_addr ||
			      (me.sin_addr.s_addr == htonl(INADDR_ANY) && loopback);
		if (ntohs(s->up[i].sin_port) == s->port && me_too) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &s->up[i].sin_addr, ip, sizeof(ip));
			log_warn("dns: not forwarding to %s:%d, that is this server", ip, s->port);
			continue;
		}
		s->up[k++] = s->up[i];
	}
	s->nup = k;
}

/* ---- answering ---- */

static int edns_size(const DnsMsg *q)
{
	for (int i = 0; i < q->arcount; i++)
		if (q->ar[i].type == DNS_OPT)
			return q->ar[i].cls < DNS_UDP_MAX ? DNS_UDP_MAX : (q->ar[i].cls > 4096 ? 4096 : q->ar[i].cls);
	return 0;
}

/* Answer a cluster query into out; returns the length or < 0 to forward. */
static int answer_local(DnsServer *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap, bool udp)
{
	_cleanup_free_ DnsMsg *q = xcalloc(1, sizeof(*q));
	_cleanup_free_ DnsMsg *r = xcalloc(1, sizeof(*r));
	_cleanup_err_ Error *err = NULL;
	if (dns_parse(in, n, q, &err) < 0 || q->qdcount != 1 || (q->flags & DNS_F_QR) || dns_opcode(q) != 0) {
		if (n < 12)
			return 0;  /* nothing to answer to */
		memset(r, 0, sizeof(*r));
		r->id = (uint16_t)(in[0] << 8 | in[1]);
		r->flags = DNS_F_QR | (q->qdcount == 1 && !err ? DNS_NOTIMP : DNS_FORMERR);
		return dns_encode(r, out, cap, DNS_UDP_MAX);
	}
	if (!dns_is_cluster_name(&s->src, q->qd[0].name))
		return -1;
	dns_answer(&s->src, q, r);
	int esz = edns_size(q);
	if (esz && r->arcount < DNS_MAX_RR) {
		DnsRR *opt = &r->ar[r->arcount++];
		memset(opt, 0, sizeof(*opt));
		opt->type = DNS_OPT;
		opt->cls = EDNS_SIZE;
	}
	size_t max = udp ? (size_t)(esz ? esz : DNS_UDP_MAX) : cap;
	return dns_encode(r, out, cap, max);
}

/* Ask the upstreams; the reply (length) in out, or < 0. */
static int forward(DnsServer *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	for (int i = 0; i < s->nup && !s->stop; i++) {
		_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&s->up[i], sizeof(s->up[i])) < 0 ||
		    send(fd, in, n, 0) < 0)
			continue;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (poll(&p, 1, s->timeout_ms) == 1) {
			ssize_t got = recv(fd, out, cap, 0);
			if (got >= 12 && out[0] == in[0] && out[1] == in[1])
				return (int)got;
			if (got < 0)
				break;
		}
	}
	return -ETIMEDOUT;
}

static int servfail(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	if (n < 12 || cap < n)
		return -EINVAL;
	memcpy(out, in, n);  /* the question back, flags QR|RA|SERVFAIL, no records */
	out[2] = (uint8_t)((in[2] & 0x79) | 0x80);
	out[3] = 0x80 | DNS_SERVFAIL;
	memset(out + 6, 0, 6);
	return (int)n;
}

/* ---- threads ---- */

static bool thread_enter(DnsServer *s)
{
	pthread_mutex_lock(&s->lock);
	bool ok = s->nthreads < MAX_THREADS && !s->stop;
	if (ok)
		s->nthreads++;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void thread_leave(DnsServer *s)
{
	pthread_mutex_lock(&s->lock);
	if (--s->nthreads == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

typedef struct {
	DnsServer *s;
	struct sockaddr_in from;
	size_t n;
	int fd;
	uint8_t buf[DNS_UDP_MAX * 8];
} Job;

static void *forward_main(void *arg)
{
	_cleanup_free_ Job *j = arg;
	uint8_t out[4096];
	int n = forward(j->s, j->buf, j->n, out, sizeof(out));
	if (n < 0)
		n = servfail(j->buf, j->n, out, sizeof(out));
	if (n > 0)
		sendto(j->s->udp, out, (size_t)n, 0, (struct sockaddr *)&j->from, sizeof(j->from));
	thread_leave(j->s);
	return NULL;
}

static bool spawn(DnsServer *s, void *(*fn)(void *), void *arg)
{
	if (!thread_enter(s))
		return false;
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &at, fn, arg);
	pthread_attr_destroy(&at);
	if (r) {
		thread_leave(s);
		return false;
	}
	return true;
}

static void on_udp(DnsServer *s)
{
	Job *j = xcalloc(1, sizeof(*j));
	socklen_t fl = sizeof(j->from);
	ssize_t n = recvfrom(s->udp, j->buf, sizeof(j->buf), MSG_DONTWAIT, (struct sockaddr *)&j->from, &fl);
	if (n <= 0) {
		free(j);
		return;
	}
	j->s = s;
	j->n = (size_t)n;
	uint8_t out[4096];
	int r = answer_local(s, j->buf, j->n, out, sizeof(out), true);
	if (r >= 0) {
		if (r > 0)
			sendto(s->udp, out, (size_t)r, 0, (struct sockaddr *)&j->from, fl);
		free(j);
		return;
	}
	if (!spawn(s, forward_main, j))
		free(j);
}

/* Read exactly n bytes within the idle timeout. */
static int read_full(DnsServer *s, int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	int waited = 0;
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 200);
		if (s->stop || r < 0)
			return -1;
		if (r == 0) {
			if ((waited += 200) >= TCP_IDLE_MS)
				return -1;
			continue;
		}
		ssize_t k = read(fd, buf + got, n - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static void *tcp_main(void *arg)
{
	Job *j = arg;
	DnsServer *s = j->s;
	_cleanup_close_ int fd = j->fd;
	free(j);
	uint8_t in[65535], out[65535 + 2];
	for (;;) {
		uint8_t lb[2];
		if (read_full(s, fd, lb, 2) < 0)
			break;
		size_t n = (size_t)(lb[0] << 8 | lb[1]);
		if (n == 0 || read_full(s, fd, in, n) < 0)
			break;
		int r = answer_local(s, in, n, out + 2, sizeof(out) - 2, false);
		if (r < 0)
			r = forward(s, in, n, out + 2, sizeof(out) - 2);
		if (r < 0)
			r = servfail(in, n, out + 2, sizeof(out) - 2);
		if (r <= 0)
			break;
		out[0] = (uint8_t)(r >> 8);
		out[1] = (uint8_t)r;
		if (write(fd, out, (size_t)r + 2) != r + 2)
			break;
	}
	thread_leave(s);
	return NULL;
}

static void on_tcp(DnsServer *s)
{
	int fd = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	Job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->fd = fd;
	if (!spawn(s, tcp_main, j)) {
		close(fd);
		free(j);
	}
}

static void *loop_main(void *arg)
{
	DnsServer *s = arg;
	struct pollfd p[3] = { { .fd = s->udp, .events = POLLIN }, { .fd = s->tcp, .events = POLLIN },
			       { .fd = s->wake[0], .events = POLLIN } };
	while (!s->stop) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			on_udp(s);
		if (p[1].revents & POLLIN)
			on_tcp(s);
	}
	return NULL;
}

/* ---- start / stop ---- */

static int open_sockets(DnsServer *s, const char *addr, Error **err)
{
	struct sockaddr_in sa;
	if (parse_addr(addr, 53, &sa) < 0)
		return err_set(err, EINVAL, "dns: bad listen address '%s'", addr);
	s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->udp < 0 || bind(s->udp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys(err, errno, "dns: bind udp %s", addr);
	socklen_t l = sizeof(sa);
	getsockname(s->udp, (struct sockaddr *)&sa, &l);
	s->port = ntohs(sa.sin_port);
	s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->tcp < 0 || bind(s->tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->tcp, 64) < 0)
		return err_sys(err, errno, "dns: bind tcp %s", addr);
	return 0;
}

int dns_port(const DnsServer *s) { return s->port; }

void dns_stop(DnsServer *s)
{
	if (!s)
		return;
	s->stop = 1;
	if (s->wake[1] >= 0 && write(s->wake[1], "x", 1) < 0)
		log_debug("dns: wake: %m");
	if (s->started)
		pthread_join(s->loop, NULL);
	pthread_mutex_lock(&s->lock);
	while (s->nthreads > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	informer_free(s->svcs);
	informer_free(s->slices);
	int fds[] = { s->udp, s->tcp, s->wake[0], s->wake[1] };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	free(s->domain);
	free(s);
}

int dns_start(KubeClient *kc, const DnsOptions *opt, DnsServer **ret, Error **err)
{
	DnsServer *s = xcalloc(1, sizeof(*s));
	s->udp = s->tcp = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->domain = xstrdup(opt->domain && *opt->domain ? opt->domain : "cluster.local");
	s->timeout_ms = opt->forward_timeout_ms > 0 ? opt->forward_timeout_ms : 2000;
	s->src = (DnsSource){ .ud = s, .get_service = src_get_service, .list_slices = src_list_slices,
			      .domain = s->domain, .list_services = src_list_services };
	load_upstreams(s, opt);
	s->svcs = informer_new(kc, "/api/v1/services");
	s->slices = informer_new(kc, "/apis/discovery.k8s.io/v1/endpointslices");
	int r = open_sockets(s, opt->listen ? opt->listen : "127.0.0.1:53", err);
	if (r >= 0)
		drop_self(s, opt->listen ? opt->listen : "127.0.0.1:53");
	if (r >= 0 && pipe2(s->wake, O_CLOEXEC) < 0)
		r = err_sys(err, errno, "dns: pipe");
	if (r >= 0)
		r = informer_start(s->svcs, err);
	if (r >= 0)
		r = informer_start(s->slices, err);
	if (r < 0) {
		dns_stop(s);
		return r;
	}
	/* answer from a complete view: wait for the first lists (bounded) */
	for (int i = 0; i < 30 && !(informer_wait_synced(s->svcs, 1000) && informer_wait_synced(s->slices, 1000)); i++)
		;
	r = pthread_create(&s->loop, NULL, loop_main, s);
	if (r) {
		dns_stop(s);
		return err_sys(err, r, "dns: thread");
	}
	s->started = true;
	log_info("dns: serving %s on port %d (udp, tcp), %d upstream(s)", s->domain, s->port, s->nup);
	*ret = s;
	return 0;
}
