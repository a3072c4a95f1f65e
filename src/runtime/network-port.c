/* network-port.c - published ports: docker's -p syntax, `ps` formatting, and
 * choosing/checking host ports before portmap writes its rules.
 *
 * Syntax (docker's): [IP:][HOST:]CTR[/PROTO], IP may be "[v6]", HOST and CTR
 * may be ranges "A-B" of equal size.  Split from the right at ':' as docker
 * does, so an unbracketed IPv6 address also works.  Every error is
 * "invalid port spec 'SPEC': REASON".
 *
 * portmap only writes DNAT rules; nothing listens on the host port.  So a
 * free port is found the way docker-proxy would get one: bind a socket to port
 * 0 and read the port back; an explicit port is bound once to see that no
 * host service already listens there (the rules would silently steal it).
 */
#include "network-internal.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef struct PortSpec {
	char ip[64];
	int hs, he;   /* host range, 0/0 when absent */
	int cs, ce;   /* container range */
	char proto[4];
} PortSpec;

/* "8080" -> 8080; -EINVAL if not a number, -ERANGE above 65535 */
static int port_number(const char *s, size_t n, int *ret)
{
	if (n == 0 || n > 16)
		return n ? -ERANGE : -EINVAL;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > 65535)
			return -ERANGE;
	}
	*ret = (int)v;
	return 0;
}

/* "80" or "80-90" (s of length n) into [lo, hi] */
static int port_range(const char *spec, const char *s, size_t n, int *lo, int *hi, Error **err)
{
	const char *dash = memchr(s, '-', n);
	size_t n1 = dash ? (size_t)(dash - s) : n;
	int r = port_number(s, n1, lo);
	if (r >= 0 && dash)
		r = port_number(dash + 1, n - n1 - 1, hi);
	else
		*hi = *lo;
	if (r == -ERANGE)
		return err_set(err, EINVAL, "invalid port spec '%s': port out of range", spec);
	if (r < 0)
		return err_set(err, EINVAL, "invalid port spec '%s': invalid port '%.*s'", spec,
			       (int)n, s);
	if (*lo > *hi)
		return err_set(err, EINVAL, "invalid port spec '%s': invalid port range '%.*s'",
			       spec, (int)n, s);
	return 0;
}

static int spec_ip(const char *spec, const char *s, size_t n, char *out, size_t size, Error **err)
{
	if (n && s[0] == '[') {
		if (n < 2 || s[n - 1] != ']')
			return err_set(err, EINVAL, "invalid port spec '%s': invalid IP address '%.*s'",
				       spec, (int)n, s);
		s++, n -= 2;
	}
	if (n >= size)
		return err_set(err, EINVAL, "invalid port spec '%s': invalid IP address '%.*s'", spec,
			       (int)n, s);
	memcpy(out, s, n);
	out[n] = 0;
	unsigned char buf[sizeof(struct in6_addr)];
	if (n && inet_pton(AF_INET, out, buf) != 1 && inet_pton(AF_INET6, out, buf) != 1)
		return err_set(err, EINVAL, "invalid port spec '%s': invalid IP address '%s'", spec,
			       out);
	return 0;
}

/* The container part "80", "80-81/udp", "80/" into range and protocol. */
static int spec_container(const char *spec, const char *s, PortSpec *ps, Error **err)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	const char *proto = slash && slash[1] ? slash + 1 : "tcp";
	if (n == 0)
		return err_set(err, EINVAL, "invalid port spec '%s': no container port", spec);
	if (strcasecmp(proto, "tcp") && strcasecmp(proto, "udp"))
		return err_set(err, EINVAL, "invalid port spec '%s': unsupported protocol '%s'", spec,
			       proto);
	for (int i = 0; i < 3; i++)
		ps->proto[i] = (char)tolower((unsigned char)proto[i]);
	ps->proto[3] = 0;
	int r = port_range(spec, s, n, &ps->cs, &ps->ce, err);
	if (r < 0)
		return r;
	if (ps->cs == 0)
		return err_set(err, EINVAL, "invalid port spec '%s': port out of range", spec);
	return 0;
}

static int spec_parse(const char *spec, PortSpec *ps, Error **err)
{
	*ps = (PortSpec){ 0 };
	if (!spec || !*spec)
		return err_set(err, EINVAL, "invalid port spec '': no container port");
	const char *last = strrchr(spec, ':');
	const char *prev = NULL;
	for (const char *p = spec; last && p < last; p++)
		if (*p == ':')
			prev = p;
	int r = spec_container(spec, last ? last + 1 : spec, ps, err);
	if (r < 0)
		return r;
	if (prev) {
		r = spec_ip(spec, spec, (size_t)(prev - spec), ps->ip, sizeof(ps->ip), err);
		if (r < 0)
			return r;
	}
	const char *host = prev ? prev + 1 : spec;
	if (last && last > host) {
		r = port_range(spec, host, (size_t)(last - host), &ps->hs, &ps->he, err);
		if (r < 0)
			return r;
		if (ps->he - ps->hs != ps->ce - ps->cs)
			return err_set(err, EINVAL,
				       "invalid port spec '%s': host and container port ranges differ in size",
				       spec);
	}
	if (ps->ce - ps->cs >= NET_MAX_PORT_RANGE)
		return err_set(err, EINVAL, "invalid port spec '%s': range larger than %d ports", spec,
			       NET_MAX_PORT_RANGE);
	return 0;
}

static void spec_port(const PortSpec *ps, int i, NetPort *p)
{
	*p = (NetPort){ 0 };
	snprintf(p->host_ip, sizeof(p->host_ip), "%s", ps->ip);
	p->host_port = ps->hs ? ps->hs + i : 0;
	p->container_port = ps->cs + i;
	memcpy(p->proto, ps->proto, sizeof(p->proto));
}

int net_port_parse(const char *spec, NetPort *ret, Error **err)
{
	PortSpec ps;
	int r = spec_parse(spec, &ps, err);
	if (r < 0)
		return r;
	if (ps.ce != ps.cs)
		return err_set(err, EINVAL, "invalid port spec '%s': port ranges are not allowed here",
			       spec);
	spec_port(&ps, 0, ret);
	return 0;
}

int net_port_parse_range(const char *spec, NetPort **ret, size_t *ret_n, Error **err)
{
	PortSpec ps;
	int r = spec_parse(spec, &ps, err);
	if (r < 0)
		return r;
	size_t n = (size_t)(ps.ce - ps.cs) + 1;
	NetPort *v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		spec_port(&ps, (int)i, &v[i]);
	*ret = v;
	*ret_n = n;
	return 0;
}

char *net_port_format(const NetPort *p)
{
	const char *ip = p->host_ip[0] ? p->host_ip : "0.0.0.0";
	bool v6 = strchr(ip, ':') != NULL;
	return xasprintf("%s%s%s:%d->%d/%s", v6 ? "[" : "", ip, v6 ? "]" : "", p->host_port,
			 p->container_port, p->proto[0] ? p->proto : "tcp");
}

static bool port_clash(const NetPort *a, const NetPort *b)
{
	return a->host_port == b->host_port && !strcmp(a->proto, b->proto) &&
	       (!a->host_ip[0] || !b->host_ip[0] || !strcmp(a->host_ip, b->host_ip));
}

static bool port_taken(const NetPort *p, const NetPort *taken, size_t n_taken)
{
	for (size_t i = 0; i < n_taken; i++)
		if (port_clash(p, &taken[i]))
			return true;
	return false;
}

/* Bind a socket for p (port 0: any free one, written back); fd into *ret_fd. */
static int port_bind(NetPort *p, int *ret_fd, Error **err)
{
	_cleanup_free_ char *what = net_port_format(p);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->host_port) };
	if (p->host_ip[0] && inet_pton(AF_INET, p->host_ip, &sa.sin_addr) != 1)
		return err_set(err, EINVAL,
			       "publish '%s': only IPv4 host addresses are supported on network 'berth'",
			       what);
	bool tcp = !strcmp(p->proto, "tcp");
	_cleanup_close_ int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(err, errno, "publish '%s': socket", what);
	int one = 1;
	/* TCP: ignore TIME_WAIT leftovers, still collide with listeners.  Not for
	 * UDP, where SO_REUSEADDR would let two sockets share the port. */
	if (tcp)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EADDRINUSE)
			return err_set(err, EADDRINUSE, "publish '%s': host port %d/%s is in use", what,
				       p->host_port, p->proto);
		if (errno == EADDRNOTAVAIL)
			return err_set(err, EADDRNOTAVAIL,
				       "publish '%s': '%s' is not an address of this host", what,
				       p->host_ip);
		return err_sys(err, errno, "publish '%s': bind", what);
	}
	socklen_t len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return err_sys(err, errno, "publish '%s': getsockname", what);
	p->host_port = ntohs(sa.sin_port);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

#define PICK_TRIES 16

int net_ports_prepare(const NetPort *ports, size_t n, const NetPort *taken, size_t n_taken,
		      NetPort **ret, Error **err)
{
	NetPort *v = xcalloc(n ? n : 1, sizeof(*v));
	int *fds = xcalloc(n * PICK_TRIES + 1, sizeof(int));
	size_t n_fds = 0;
	int r = 0;
	for (size_t i = 0; i < n && r >= 0; i++) {
		v[i] = ports[i];
		if (!v[i].proto[0])
			memcpy(v[i].proto, "tcp", 4);
		bool pick = v[i].host_port == 0;
		for (size_t j = 0; !pick && j < i; j++)
			if (port_clash(&v[i], &v[j])) {
				_cleanup_free_ char *what = net_port_format(&v[i]);
				r = err_set(err, EINVAL, "publish '%s': host port %d/%s is published twice",
					    what, v[i].host_port, v[i].proto);
			}
		for (int t = 0; r >= 0 && t < PICK_TRIES; t++) {
			if (pick)
				v[i].host_port = 0;
			r = port_bind(&v[i], &fds[n_fds], err);
			if (r < 0)
				break;
			n_fds++; /* held open: the next pick cannot get this port */
			if (!port_taken(&v[i], taken, n_taken))
				break;
			if (!pick || t == PICK_TRIES - 1) {
				_cleanup_free_ char *what = net_port_format(&v[i]);
				r = err_set(err, EADDRINUSE,
					    "publish '%s': host port %d/%s is already published by another container",
					    what, v[i].host_port, v[i].proto);
			}
		}
	}
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	free(fds);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	return 0;
}
