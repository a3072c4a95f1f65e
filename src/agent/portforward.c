/* portforward.c - `kubectl port-forward` on the node, as the kubelet serves
 * it: the client opens, per local connection, an "error" and a "data" SPDY
 * stream carrying the same requestid and port headers; once both are there
 * the agent connects to 127.0.0.1:PORT from inside the pod's network
 * namespace (a socket made after setns on this thread only) and copies
 * bytes both ways.  A connection that cannot be made is reported as text on
 * the error stream.  The TCP end closing ends both streams (FIN); the
 * client's FIN on data half-closes the TCP connection; RST_STREAM drops
 * it.  A malformed frame ends the whole SPDY connection (logged).  One
 * thread per forwarding session, everything in one poll loop.
 *
 * kubectl >= 1.31 first asks for a WebSocket with the subprotocol
 * SPDY/3.1+portforward.k8s.io: the same SPDY bytes, carried in binary
 * WebSocket messages (its writes one message each, ours unmasked).
 */
#include "portforward.h"
#include "../base/cleanup.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/spdy.h"
#include "../shared/websocket.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PF_MAX_PAIRS 256

typedef struct Pair {
	char *request;       /* the requestid header */
	int port;
	uint32_t id_err, id_data;
	int fd;              /* the TCP connection in the pod, -1 when none */
	bool dialed, ended;  /* connection tried; both streams finished */
} Pair;

typedef struct Forward {
	int sock, netns;
	const char *what;
	bool open, ws;       /* ws: SPDY tunnelled in WebSocket messages */
	StrBuf wsraw;        /* ws: received bytes not yet a whole message */
	SpdyZ *zin, *zout;
	StrBuf rx, tx;
	Pair pairs[PF_MAX_PAIRS];
	size_t npairs;
} Forward;

static void send_all(Forward *f, const void *buf, size_t len)
{
	for (size_t off = 0; f->open && off < len;) {
		ssize_t w = send(f->sock, (const char *)buf + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			f->open = false;
		else
			off += (size_t)w;
	}
}

static void pf_flush(Forward *f)
{
	if (f->ws && f->tx.len) {
		uint8_t hdr[10];
		send_all(f, hdr, ws_frame_header(hdr, WS_BINARY, f->tx.len));
	}
	send_all(f, f->tx.buf, f->tx.len);
	sb_reset(&f->tx);
}

/* A TCP socket connected to 127.0.0.1:port in the namespace netns. */
static int dial_in_netns(int netns, int port, Error **err)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys(err, errno, "own network namespace");
	if (setns(netns, CLONE_NEWNET) < 0)
		return err_sys(err, errno, "entering the pod's network namespace");
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0)
		log_warn("port-forward: cannot return to the agent's network namespace: %s", strerror(errno));
	if (fd < 0)
		return err_sys(err, saved, "socket");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys(err, errno, "connect to 127.0.0.1:%d", port);
	return TAKE_FD(fd);
}

static void pair_close_tcp(Pair *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* End both streams of p (FIN), with an error message when there is one. */
static void pair_end(Forward *f, Pair *p, const char *message)
{
	if (p->ended)
		return;
	p->ended = true;
	pair_close_tcp(p);
	if (p->id_data)
		spdy_put_data(&f->tx, p->id_data, SPDY_FLAG_FIN, NULL, 0);
	if (p->id_err)
		spdy_put_data(&f->tx, p->id_err, SPDY_FLAG_FIN, message, message ? strlen(message) : 0);
}

static Pair *pair_for(Forward *f, const char *request)
{
	for (size_t i = 0; i < f->npairs; i++)
		if (!strcmp(f->pairs[i].request, request))
			return &f->pairs[i];
	if (f->npairs == PF_MAX_PAIRS) {  /* reuse a finished slot */
		for (size_t i = 0; i < f->npairs; i++)
			if (f->pairs[i].ended) {
				free(f->pairs[i].request);
				f->pairs[i] = (Pair){ .request = xstrdup(request), .fd = -1 };
				return &f->pairs[i];
			}
		return NULL;
	}
	f->pairs[f->npairs] = (Pair){ .request = xstrdup(request), .fd = -1 };
	return &f->pairs[f->npairs++];
}

static Pair *pair_of_stream(Forward *f, uint32_t id)
{
	for (size_t i = 0; id && i < f->npairs; i++)
		if (f->pairs[i].id_err == id || f->pairs[i].id_data == id)
			return &f->pairs[i];
	return NULL;
}

static void pair_dial(Forward *f, Pair *p)
{
	p->dialed = true;
	_cleanup_err_ Error *e = NULL;
	int fd = dial_in_netns(f->netns, p->port, &e);
	if (fd < 0) {
		_cleanup_free_ char *msg = xasprintf("error forwarding port %d to pod %s: %s", p->port, f->what, err_msg(e));
		log_info("port-forward: %s", msg);
		pair_end(f, p, msg);
		return;
	}
	p->fd = fd;
}

static int pf_new_stream(Forward *f, const SpdyFrame *fr)
{
	SpdyHeaders h = { 0 };
	int r = spdy_headers_decode(f->zin, fr->payload, fr->len, &h);
	if (r < 0)
		return r;
	const char *type = spdy_header(&h, "streamtype"), *port = spdy_header(&h, "port");
	const char *req = spdy_header(&h, "requestid");
	int64_t pn = 0;
	bool data = type && !strcmp(type, "data"), error = type && !strcmp(type, "error");
	Pair *p = (data || error) && port && parse_int64(port, &pn) == 0 && pn > 0 && pn < 65536
			  ? pair_for(f, req ? req : port) : NULL;
	spdy_headers_clear(&h);
	if (!p || (data ? p->id_data : p->id_err)) {
		spdy_put_rst_stream(&f->tx, fr->stream, SPDY_PROTOCOL_ERROR);
		return 0;
	}
	*(data ? &p->id_data : &p->id_err) = fr->stream;
	p->port = (int)pn;
	spdy_put_syn_reply(&f->tx, f->zout, fr->stream, 0, NULL);
	if (p->id_data && p->id_err && !p->dialed)
		pair_dial(f, p);
	return 0;
}

static void pf_data(Forward *f, const SpdyFrame *fr)
{
	Pair *p = pair_of_stream(f, fr->stream);
	if (!p || fr->stream != p->id_data || p->fd < 0)
		return;  /* the error stream carries nothing from the client */
	for (size_t off = 0; off < fr->len;) {
		ssize_t w = write(p->fd, fr->payload + off, fr->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			pair_end(f, p, NULL);
			return;
		}
		off += (size_t)w;
	}
	if (fr->flags & SPDY_FLAG_FIN)
		shutdown(p->fd, SHUT_WR);
}

/* One frame from the client; < 0 ends the connection. */
static int pf_frame(Forward *f, const SpdyFrame *fr)
{
	SpdyHeaders h = { 0 };
	int r;
	Pair *p;
	switch (fr->type) {
	case SPDY_SYN_STREAM:
		return pf_new_stream(f, fr);
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		r = spdy_headers_decode(f->zin, fr->payload, fr->len, &h);
		spdy_headers_clear(&h);
		return r;
	case SPDY_DATA:
		pf_data(f, fr);
		return 0;
	case SPDY_RST_STREAM:
		if ((p = pair_of_stream(f, fr->stream)) && !p->ended) {
			p->ended = true;  /* the client dropped it: no FIN back */
			pair_close_tcp(p);
		}
		return 0;
	case SPDY_PING:
		spdy_put_ping(&f->tx, fr->value);
		return 0;
	case SPDY_GOAWAY:
		return -ECONNRESET;
	default:
		return 0;
	}
}

/* ws: the SPDY bytes of the whole messages received so far onto rx;
 * false when the client closed or broke the WebSocket. */
static bool pf_unwrap(Forward *f, const char *buf, size_t n)
{
	sb_add(&f->wsraw, buf, n);
	size_t off = 0;
	bool ok = true;
	for (;;) {
		WsFrame w;
		int used = ws_frame_decode((uint8_t *)f->wsraw.buf + off, f->wsraw.len - off, true, &w);
		if (used == 0)
			break;
		if (used < 0) {
			log_warn("port-forward %s: bad WebSocket frame from the client: closing the connection", f->what);
			ok = false;
			break;
		}
		off += (size_t)used;
		if (w.opcode == WS_CLOSE) {
			ok = false;
			break;
		}
		if (w.opcode == WS_PING) {
			uint8_t hdr[10];
			send_all(f, hdr, ws_frame_header(hdr, WS_PONG, w.len));
			send_all(f, w.payload, w.len);
		} else if (w.opcode == WS_BINARY || w.opcode == WS_CONT)
			sb_add(&f->rx, w.payload, w.len);
	}
	if (off) {
		memmove(f->wsraw.buf, f->wsraw.buf + off, f->wsraw.len - off);
		f->wsraw.len -= off;
	}
	return ok;
}

static bool pf_read(Forward *f)
{
	char buf[32768];
	ssize_t n = recv(f->sock, buf, sizeof(buf), 0);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	if (f->ws) {
		if (!pf_unwrap(f, buf, (size_t)n))
			return false;
	} else
		sb_add(&f->rx, buf, (size_t)n);
	size_t off = 0;
	int r = 0;
	for (;;) {
		SpdyFrame fr;
		int used = spdy_frame_decode((uint8_t *)f->rx.buf + off, f->rx.len - off, &fr);
		if (used == 0)
			break;
		if (used < 0 || (r = pf_frame(f, &fr)) < 0) {
			if (used < 0 || r != -ECONNRESET)
				log_warn("port-forward %s: bad SPDY frame from the client (%s): closing the connection", f->what,
					 strerror(-(used < 0 ? used : r)));
			r = -1;
			break;
		}
		off += (size_t)used;
	}
	if (off) {
		memmove(f->rx.buf, f->rx.buf + off, f->rx.len - off);
		f->rx.len -= off;
	}
	pf_flush(f);
	return r >= 0;
}

/* The pod's side of p has something (or closed). */
static void pf_tcp(Forward *f, Pair *p)
{
	char buf[32768];
	ssize_t n = read(p->fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n > 0)
		spdy_put_data(&f->tx, p->id_data, 0, buf, (size_t)n);
	else
		pair_end(f, p, n < 0 ? strerror(errno) : NULL);
	pf_flush(f);
}

/* MHD does not pass a TLS peer's hang-up on to the upgraded socket. */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void portforward_serve(int sock, int netns_fd, const char *what, int peer, bool ws)
{
	Forward f = { .sock = sock, .netns = netns_fd, .what = what, .open = true, .ws = ws, .zin = spdy_z_new(false),
		      .zout = spdy_z_new(true) };
	struct pollfd p[PF_MAX_PAIRS + 1];
	Pair *of[PF_MAX_PAIRS + 1];
	while (f.open) {
		nfds_t n = 0;
		p[n++] = (struct pollfd){ .fd = sock, .events = POLLIN };
		for (size_t i = 0; i < f.npairs; i++)
			if (f.pairs[i].fd >= 0) {
				of[n] = &f.pairs[i];
				p[n++] = (struct pollfd){ .fd = f.pairs[i].fd, .events = POLLIN };
			}
		if (poll(p, n, 1000) < 0 && errno != EINTR)
			break;
		if (peer_gone(peer))
			break;
		for (nfds_t i = 1; i < n; i++)
			if (p[i].revents && of[i]->fd == p[i].fd)
				pf_tcp(&f, of[i]);
		if (p[0].revents && !pf_read(&f))
			break;
	}
	for (size_t i = 0; i < f.npairs; i++) {
		pair_close_tcp(&f.pairs[i]);
		free(f.pairs[i].request);
	}
	spdy_z_free(f.zin);
	spdy_z_free(f.zout);
	sb_release(&f.rx);
	sb_release(&f.tx);
	sb_release(&f.wsraw);
}
