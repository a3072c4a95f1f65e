/* test-network.c - unit tests for src/runtime/network*.c: the -p syntax, and
 * real attach/detach through the installed CNI plugins (runs as root).
 *
 * Network namespaces are unshared by sleeping children (PR_SET_PDEATHSIG, so
 * they die with the test); their netns goes away with them.  Traffic goes
 * only to 127.0.0.1, the bridge's gateway 10.89.0.1 and the container
 * addresses on our own bridge.  Every id attached is detached again at exit,
 * also after a failed assertion.
 */
#include "tap.h"
#include "../../src/runtime/network.h"
#include "../../src/runtime/network-internal.h"
#include "../../src/shared/json.h"
#include "../../src/base/strbuf.h"
#include <fcntl.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#define LEASE_DIR "/var/lib/cni/networks/berth"

/* ------------------------------------------------------------ port specs */

static void test_port_parse(void)
{
	static const struct {
		const char *spec, *ip;
		int host, ctr;
		const char *proto, *formatted;
	} good[] = {
		{ "80", "", 0, 80, "tcp", "0.0.0.0:0->80/tcp" },
		{ "8080:80", "", 8080, 80, "tcp", "0.0.0.0:8080->80/tcp" },
		{ "127.0.0.1:8080:80/udp", "127.0.0.1", 8080, 80, "udp", "127.0.0.1:8080->80/udp" },
		{ "127.0.0.1::80", "127.0.0.1", 0, 80, "tcp", "127.0.0.1:0->80/tcp" },
		{ "[::1]:8080:80", "::1", 8080, 80, "tcp", "[::1]:8080->80/tcp" },
		{ "::1:8080:80", "::1", 8080, 80, "tcp", "[::1]:8080->80/tcp" },
		{ "53/UDP", "", 0, 53, "udp", "0.0.0.0:0->53/udp" },
		{ "80/", "", 0, 80, "tcp", "0.0.0.0:0->80/tcp" },
		{ "0:80", "", 0, 80, "tcp", "0.0.0.0:0->80/tcp" },
		{ "65535:65535", "", 65535, 65535, "tcp", "0.0.0.0:65535->65535/tcp" },
		{ "10.0.0.1:1-1:2-2", "10.0.0.1", 1, 2, "tcp", "10.0.0.1:1->2/tcp" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		NetPort p;
		Error *e = NULL;
		int r = net_port_parse(good[i].spec, &p, &e);
		if (!ok(r == 0, "parse '%s'", good[i].spec)) {
			tap_diag("%s", err_msg(e));
			err_free(e);
			continue;
		}
		ok(!strcmp(p.host_ip, good[i].ip) && p.host_port == good[i].host &&
			   p.container_port == good[i].ctr && !strcmp(p.proto, good[i].proto),
		   "'%s' -> ip '%s' host %d ctr %d %s", good[i].spec, p.host_ip, p.host_port,
		   p.container_port, p.proto);
		char *f = net_port_format(&p);
		is_str(f, good[i].formatted, "format '%s'", good[i].spec);
		free(f);
	}
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "99999:80", "invalid port spec '99999:80': port out of range" },
		{ "80:99999", "invalid port spec '80:99999': port out of range" },
		{ "0", "invalid port spec '0': port out of range" },
		{ "80:x", "invalid port spec '80:x': invalid port 'x'" },
		{ "x:80", "invalid port spec 'x:80': invalid port 'x'" },
		{ "-1:80", "invalid port spec '-1:80': invalid port '-1'" },
		{ "", "invalid port spec '': no container port" },
		{ "8080:", "invalid port spec '8080:': no container port" },
		{ "80/sctp", "invalid port spec '80/sctp': unsupported protocol 'sctp'" },
		{ "1.2.3:80:80", "invalid port spec '1.2.3:80:80': invalid IP address '1.2.3'" },
		{ "[::1:80:80", "invalid port spec '[::1:80:80': invalid IP address '[::1'" },
		{ "90-80", "invalid port spec '90-80': invalid port range '90-80'" },
		{ "8000-8001:80-82", "invalid port spec '8000-8001:80-82': host and container port ranges differ in size" },
		{ "8000-8001:80", "invalid port spec '8000-8001:80': host and container port ranges differ in size" },
		{ "80-81", "invalid port spec '80-81': port ranges are not allowed here" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		NetPort p;
		Error *e = NULL;
		int r = net_port_parse(bad[i].spec, &p, &e);
		ok(r == -EINVAL, "reject '%s'", bad[i].spec);
		is_str(e ? e->msg : NULL, bad[i].msg, "message for '%s'", bad[i].spec);
		err_free(e);
	}
	NetPort *v = NULL;
	size_t n = 0;
	Error *e = NULL;
	ok(net_port_parse_range("127.0.0.1:8000-8002:80-82/udp", &v, &n, &e) == 0 && n == 3 &&
		   v[0].host_port == 8000 && v[2].host_port == 8002 && v[2].container_port == 82 &&
		   !strcmp(v[1].proto, "udp") && !strcmp(v[1].host_ip, "127.0.0.1"),
	   "range expands to 3 ports");
	free(v);
	ok(net_port_parse_range("1-2000", &v, &n, &e) == -EINVAL && e &&
		   strstr(e->msg, "range larger than 1024 ports"),
	   "range size capped");
	err_free(e);
}

/* ------------------------------------------------------------ netns helpers */

typedef struct Holder {
	pid_t pid;
	char path[64];
} Holder;

static Holder holders[8];
static char attached[8][64];

static int holder_start(Holder *h)
{
	int p[2];
	if (pipe(p) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c = 0;
	if (read(p[0], &c, 1) != 1 || c != 'y') {
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -EIO;
	}
	close(p[0]);
	h->pid = pid;
	snprintf(h->path, sizeof(h->path), "/proc/%d/ns/net", (int)pid);
	for (size_t i = 0; i < ARRAY_SIZE(holders); i++)
		if (!holders[i].pid) {
			holders[i] = *h;
			break;
		}
	return 0;
}

static void holder_stop(Holder *h)
{
	if (h->pid <= 0)
		return;
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(holders); i++)
		if (holders[i].pid == h->pid)
			holders[i].pid = 0;
	h->pid = 0;
}

static void attached_add(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(attached); i++)
		if (!attached[i][0]) {
			snprintf(attached[i], sizeof(attached[i]), "%.63s", id);
			return;
		}
}

static void attached_del(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(attached); i++)
		if (!strcmp(attached[i], id))
			attached[i][0] = 0;
}

/* At exit, whatever happened: detach what is still attached, end holders. */
static void cleanup_all(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(attached); i++)
		if (attached[i][0]) {
			NetPort any = { "", 1, 1, "tcp" };
			(void)net_detach(attached[i], NULL, &any, 1, NULL, NULL);
			attached[i][0] = 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(holders); i++)
		holder_stop(&holders[i]);
}

/* Run fn in a child that has joined h's netns; its exit code (0 = passed). */
static int in_netns(const Holder *h, int (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(h->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(100);
		alarm(10);
		_exit(fn(arg));
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int check_lo_up(void *arg)
{
	(void)arg;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = { .ifr_name = "lo" };
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return 2;
	return (ifr.ifr_flags & IFF_UP) ? 0 : 1;
}

/* eth0 has exactly the address arg (in 10.89.0.0/16). */
static int check_eth0(void *arg)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = { .ifr_name = "eth0" };
	if (ioctl(s, SIOCGIFADDR, &ifr) < 0)
		return 2;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	uint32_t a = ntohl(sin->sin_addr.s_addr);
	if ((a & 0xffff0000u) != 0x0a590000u)
		return 3;
	return strcmp(inet_ntoa(sin->sin_addr), (const char *)arg) ? 4 : 0;
}

static int check_no_eth0(void *arg)
{
	(void)arg;
	return if_nametoindex("eth0") == 0 ? 0 : 1;
}

/* /proc/self/net/route is the reading task's netns: default via 10.89.0.1 on eth0. */
static int check_default_route(void *arg)
{
	(void)arg;
	FILE *f = fopen("/proc/self/net/route", "re");
	char line[256];
	int found = 1;
	while (f && fgets(line, sizeof(line), f)) {
		char ifn[32];
		unsigned dst, gw;
		if (sscanf(line, "%31s %x %x", ifn, &dst, &gw) == 3 && dst == 0 &&
		    !strcmp(ifn, "eth0") && gw == htonl(0x0a590001u))
			found = 0;
	}
	return found;
}

static int tcp_connect(const char *ip, int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 5, 0 };
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Connect, send "ping", return whether the reply is "pong:ping". */
static bool ping_pong(const char *ip, int port)
{
	int s = tcp_connect(ip, port);
	if (s < 0)
		return false;
	char buf[64] = "";
	bool good = write(s, "ping", 4) == 4 && read(s, buf, sizeof(buf) - 1) > 0 &&
		    !strcmp(buf, "pong:ping");
	close(s);
	return good;
}

typedef struct Listener {
	int port, count, ready_fd;
} Listener;

/* In the container: answer `count` connections on port with "pong:<data>". */
static int listen_pong(void *arg)
{
	Listener *l = arg;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)l->port) };
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 8) < 0)
		return 2;
	if (write(l->ready_fd, "r", 1) != 1)
		return 3;
	for (int i = 0; i < l->count; i++) {
		int c = accept(s, NULL, NULL);
		char buf[32] = "pong:";
		ssize_t n = read(c, buf + 5, sizeof(buf) - 6);
		if (n <= 0 || write(c, buf, 5 + (size_t)n) != 5 + n)
			return 4;
		close(c);
	}
	return 0;
}

/* Start listen_pong in h's netns in the background; returns its pid. */
static pid_t listener_start(const Holder *h, int port, int count)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		Listener l = { port, count, p[1] };
		_exit(in_netns(h, listen_pong, &l));
	}
	close(p[1]);
	char c;
	struct pollfd pf = { p[0], POLLIN, 0 };
	bool ready = poll(&pf, 1, 5000) == 1 && read(p[0], &c, 1) == 1;
	close(p[0]);
	if (!ready) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static int gw_port;
/* In the container: talk to a host listener on the gateway address. */
static int reach_gateway(void *arg)
{
	(void)arg;
	return ping_pong("10.89.0.1", gw_port) ? 0 : 1;
}

/* The host answers one connection from the container on 10.89.0.1. */
static bool container_reaches_gateway(const Holder *h)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, "10.89.0.1", &sa.sin_addr);
	socklen_t len = sizeof(sa);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
		close(s);
		return false;
	}
	gw_port = ntohs(sa.sin_port);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(in_netns(h, reach_gateway, NULL));
	struct pollfd pf = { s, POLLIN, 0 };
	bool served = false;
	if (poll(&pf, 1, 5000) == 1) {
		int c = accept(s, NULL, NULL);
		char buf[32] = "pong:";
		ssize_t n = read(c, buf + 5, sizeof(buf) - 6);
		served = n > 0 && write(c, buf, 5 + (size_t)n) == 5 + n;
		close(c);
	}
	close(s);
	int st = 0;
	waitpid(pid, &st, 0);
	return served && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* --------------------------------------------------------- host-side checks */

static char *cmd_output(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	StrBuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&sb, buf, n);
	if (f)
		pclose(f);
	return sb.buf ? sb_detach(&sb) : xstrdup("");
}

static bool iptables_mentions(const char *id)
{
	char *dump = cmd_output("iptables-save 2>/dev/null");
	char mark[128];
	snprintf(mark, sizeof(mark), "id: \\\"%s\\\"", id);
	bool found = strstr(dump, mark) != NULL;
	free(dump);
	return found;
}

/* A lease file of host-local starts with the container id. */
static bool lease_exists(const char *id)
{
	DIR *d = opendir(LEASE_DIR);
	struct dirent *de;
	bool found = false;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "lock"))
			continue;
		char path[512], buf[256] = "";
		snprintf(path, sizeof(path), LEASE_DIR "/%s", de->d_name);
		FILE *f = fopen(path, "re");
		if (f && fgets(buf, sizeof(buf), f) && !strncmp(buf, id, strlen(id)) &&
		    (buf[strlen(id)] == '\r' || buf[strlen(id)] == '\n' || !buf[strlen(id)]))
			found = true;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

static const char *host_veth(const json_t *result)
{
	json_t *ifs = json_object_get(result, "interfaces"), *it;
	size_t i;
	json_array_foreach(ifs, i, it)
		if (!json_object_get(it, "sandbox") && strcmp(json_str(it, "name"), "berth0"))
			return json_str(it, "name");
	return NULL;
}

static int read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;
	if (f && fscanf(f, "%d", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ------------------------------------------------------------------- tests */

static void test_loopback(void)
{
	Holder h;
	if (!ok(holder_start(&h) == 0, "unshare a netns"))
		return;
	is_int(in_netns(&h, check_lo_up, NULL), 1, "lo starts down");
	Error *e = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = net_attach_loopback(h.path, &e);
	double ms = ms_since(&t0);
	ok(r == 0, "net_attach_loopback: %s", e ? e->msg : "ok");
	tap_diag("loopback up: %.3f ms", ms);
	is_int(in_netns(&h, check_lo_up, NULL), 0, "lo is up");
	ok(net_attach_loopback(h.path, &e) == 0, "lo up again is fine");
	err_free(e);
	e = NULL;
	ok(net_attach_loopback("/nonexistent/netns", &e) == -ENOENT && e &&
		   strstr(e->msg, "netns '/nonexistent/netns'"),
	   "missing netns named in error");
	err_free(e);
	holder_stop(&h);
}

static void test_plugin_errors(void)
{
	Error *e = NULL;
	json_t *conf = json_pack("{s:s, s:s, s:s}", "cniVersion", "9.9.9", "name", "berth-test",
				 "type", "bridge");
	int r = net_cni_exec("ADD", "errtest", "/nonexistent", "eth0", conf, NULL, &e);
	ok(r < 0 && e && strstr(e->msg, "plugin 'bridge' ADD: ") && strstr(e->msg, "(CNI code 1)"),
	   "CNI error JSON becomes one Error: %s", e ? e->msg : "");
	err_free(e);
	e = NULL;
	json_object_set_new(conf, "type", json_string("no-such-plugin"));
	r = net_cni_exec("ADD", "errtest", "/nonexistent", "eth0", conf, NULL, &e);
	ok(r == -ENOENT && e && strstr(e->msg, "CNI plugin 'no-such-plugin' not found"),
	   "missing plugin: %s", e ? e->msg : "");
	err_free(e);
	e = NULL;
	json_decref(conf);
	Holder hostns = { 0, "/proc/self/ns/net" };
	NetAttachment a;
	ok(net_attach("hosttest", hostns.path, NULL, 0, &a, &e) == -EINVAL && e &&
		   strstr(e->msg, "is the host's"),
	   "the host's netns is refused");
	err_free(e);
	e = NULL;
	ok(net_attach("bad/id", "/proc/self/ns/net", NULL, 0, &a, &e) == -EINVAL && e &&
		   strstr(e->msg, "invalid container id 'bad/id'"),
	   "bad id refused");
	err_free(e);
	e = NULL;
	ok(net_attach("gone", "/nonexistent/ns", NULL, 0, &a, &e) == -ENOENT && e &&
		   strstr(e->msg, "netns '/nonexistent/ns' not found"),
	   "missing netns refused");
	err_free(e);
}

/* Ports that cannot be published are refused before any plugin runs. */
static void test_port_refusals(void)
{
	char id[64];
	snprintf(id, sizeof(id), "berth-refuse-%d", (int)getpid());
	Holder h;
	if (!ok(holder_start(&h) == 0, "unshare a netns"))
		return;
	NetAttachment a;
	Error *e = NULL;
	attached_add(id);
	NetPort v6 = { "::1", 8080, 80, "tcp" };
	ok(net_attach(id, h.path, &v6, 1, &a, &e) == -EINVAL && e &&
		   strstr(e->msg, "publish '[::1]:8080->80/tcp': only IPv4 host addresses"),
	   "IPv6 host address refused: %s", e ? e->msg : "");
	err_free(e);
	e = NULL;
	/* a host service listening on 127.0.0.1:P */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t len = sizeof(sa);
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	listen(s, 1);
	getsockname(s, (struct sockaddr *)&sa, &len);
	NetPort busy = { "", ntohs(sa.sin_port), 80, "tcp" };
	ok(net_attach(id, h.path, &busy, 1, &a, &e) == -EADDRINUSE && e && strstr(e->msg, "is in use"),
	   "port a host service listens on refused: %s", e ? e->msg : "");
	err_free(e);
	e = NULL;
	close(s);
	/* the port just freed (no connection ever: no TIME-WAIT), not a fixed one */
	uint16_t freed = ntohs(sa.sin_port);
	NetPort twice[2] = { { "", freed, 80, "tcp" }, { "127.0.0.1", freed, 81, "tcp" } };
	ok(net_attach(id, h.path, twice, 2, &a, &e) == -EINVAL && e && strstr(e->msg, "published twice"),
	   "same host port twice refused: %s", e ? e->msg : "");
	err_free(e);
	ok(!lease_exists(id) && !iptables_mentions(id), "refusals left nothing");
	is_int(in_netns(&h, check_no_eth0, NULL), 0, "and no eth0");
	attached_del(id);
	holder_stop(&h);
}

static void test_attach_detach(void)
{
	char id[64], id2[64];
	snprintf(id, sizeof(id), "berth-test-%d", (int)getpid());
	snprintf(id2, sizeof(id2), "berth-test2-%d", (int)getpid());
	int localnet_all = read_sysctl("/proc/sys/net/ipv4/conf/all/route_localnet");
	Holder h;
	if (!ok(holder_start(&h) == 0, "unshare a netns"))
		return;
	NetPort port = { "", 0, 8080, "tcp" };
	NetAttachment a;
	Error *e = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	attached_add(id);
	int r = net_attach(id, h.path, &port, 1, &a, &e);
	double ms = ms_since(&t0);
	if (!ok(r == 0, "net_attach with -p 8080: %s", e ? e->msg : "ok")) {
		err_free(e);
		return;
	}
	tap_diag("attach (bridge + portmap, 1 port): %.1f ms", ms);
	ok(a.result && json_is_object(a.result), "CNI result kept");
	ok(!strncmp(a.ip, "10.89.", 6), "address %s in 10.89.0.0/16", a.ip);
	is_str(a.gateway, "10.89.0.1", "gateway");
	ok(strlen(a.mac) == 17, "mac %s", a.mac);
	ok(a.n_ports == 1 && a.ports[0].host_port > 0 && a.ports[0].container_port == 8080,
	   "host port picked: %d", a.n_ports ? a.ports[0].host_port : -1);
	is_int(in_netns(&h, check_eth0, a.ip), 0, "netns has eth0 with %s", a.ip);
	is_int(in_netns(&h, check_default_route, NULL), 0, "default route via 10.89.0.1");
	is_int(in_netns(&h, check_lo_up, NULL), 0, "lo up too");
	is_int(read_sysctl("/proc/sys/net/ipv4/ip_forward"), 1, "ip_forward on");
	is_int(read_sysctl("/proc/sys/net/ipv4/conf/all/route_localnet"), localnet_all,
	       "route_localnet of 'all' untouched");
	ok(iptables_mentions(id), "portmap/masq rules present");
	ok(lease_exists(id), "lease present");
	const char *veth = host_veth(a.result);
	ok(veth && if_nametoindex(veth) > 0, "host veth %s exists", veth ? veth : "?");
	char veth_name[IFNAMSIZ] = "";
	snprintf(veth_name, sizeof(veth_name), "%s", veth ? veth : "");

	pid_t lp = listener_start(&h, 8080, 2);
	ok(lp > 0, "listener in the container");
	if (lp > 0) {
		ok(ping_pong("127.0.0.1", a.ports[0].host_port), "published port answers on 127.0.0.1:%d",
		   a.ports[0].host_port);
		ok(ping_pong("10.89.0.1", a.ports[0].host_port),
		   "published port answers on the host's bridge address 10.89.0.1:%d",
		   a.ports[0].host_port);
		int st = 0;
		if (waitpid(lp, &st, 0) != lp || !WIFEXITED(st) || WEXITSTATUS(st)) {
			kill(lp, SIGKILL);
			waitpid(lp, NULL, 0);
		}
		is_int(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, "listener served both");
	}
	ok(container_reaches_gateway(&h), "container reaches the gateway");

	/* the same host port for a second container is refused, nothing leaks */
	Holder h2;
	if (ok(holder_start(&h2) == 0, "second netns")) {
		NetPort same = a.ports[0];
		NetAttachment b;
		attached_add(id2);
		r = net_attach(id2, h2.path, &same, 1, &b, &e);
		ok(r == -EADDRINUSE && e && strstr(e->msg, "already published"),
		   "published host port refused: %s", e ? e->msg : "");
		err_free(e);
		e = NULL;
		ok(!lease_exists(id2) && !iptables_mentions(id2), "refused attach left nothing");
		is_int(in_netns(&h2, check_no_eth0, NULL), 0, "refused attach made no eth0");
		holder_stop(&h2);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = net_detach(id, h.path, a.ports, a.n_ports, a.result, &e);
	ms = ms_since(&t0);
	ok(r == 0, "net_detach: %s", e ? e->msg : "ok");
	tap_diag("detach (netns alive): %.1f ms", ms);
	err_free(e);
	e = NULL;
	ok(veth_name[0] && if_nametoindex(veth_name) == 0, "veth %s gone", veth_name);
	is_int(in_netns(&h, check_no_eth0, NULL), 0, "eth0 gone from the netns");
	ok(!lease_exists(id), "lease released");
	ok(!iptables_mentions(id), "no iptables rule mentions the id");
	ok(net_detach(id, h.path, a.ports, a.n_ports, a.result, &e) == 0, "detach twice: %s",
	   e ? e->msg : "ok");
	err_free(e);
	e = NULL;
	holder_stop(&h);
	ok(net_detach(id, h.path, a.ports, a.n_ports, a.result, &e) == 0,
	   "detach with the netns gone: %s", e ? e->msg : "ok");
	err_free(e);
	e = NULL;
	ok(net_detach(id, NULL, NULL, 0, NULL, &e) == 0, "detach without netns/result: %s",
	   e ? e->msg : "ok");
	err_free(e);
	attached_del(id);
	attached_del(id2);
	net_attachment_release(&a);
}

/* The netns dies before detach: bridge cannot find the masq rules by
 * address; the sweep must still leave nothing. */
static void test_detach_netns_gone(void)
{
	char id[64];
	snprintf(id, sizeof(id), "berth-gone-%d", (int)getpid());
	Holder h;
	if (!ok(holder_start(&h) == 0, "unshare a netns"))
		return;
	NetPort ports[2] = { { "127.0.0.1", 0, 80, "tcp" }, { "", 0, 53, "udp" } };
	NetAttachment a;
	Error *e = NULL;
	attached_add(id);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = net_attach(id, h.path, NULL, 0, &a, &e);
	double ms = ms_since(&t0);
	ok(r == 0, "attach without ports: %s", e ? e->msg : "ok");
	tap_diag("attach (bridge only, no ports): %.1f ms", ms);
	err_free(e);
	e = NULL;
	net_attachment_release(&a);
	ok(net_detach(id, h.path, NULL, 0, NULL, &e) == 0, "detach without ports");
	err_free(e);
	e = NULL;
	r = net_attach(id, h.path, ports, 2, &a, &e);
	ok(r == 0, "attach with 2 ports: %s", e ? e->msg : "ok");
	err_free(e);
	e = NULL;
	if (r < 0)
		return;
	const char *veth = host_veth(a.result);
	char veth_name[IFNAMSIZ] = "";
	snprintf(veth_name, sizeof(veth_name), "%s", veth ? veth : "");
	ok(a.n_ports == 2 && a.ports[0].host_port > 0 && a.ports[1].host_port > 0 &&
		   !strcmp(a.ports[1].proto, "udp"),
	   "two ports picked");
	holder_stop(&h);
	/* as the supervisor does: no netns path, ports as parsed (-p 80: host 0) */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = net_detach(id, NULL, ports, 2, a.result, &e);
	ms = ms_since(&t0);
	ok(r == 0, "detach with the netns gone, unresolved ports: %s", e ? e->msg : "ok");
	tap_diag("detach (netns gone): %.1f ms", ms);
	err_free(e);
	e = NULL;
	ok(veth_name[0] && if_nametoindex(veth_name) == 0, "veth %s gone", veth_name);
	ok(!lease_exists(id), "lease released");
	ok(!iptables_mentions(id), "no iptables rule mentions the id (masq chain swept)");
	ok(net_detach(id, h.path, a.ports, a.n_ports, a.result, &e) == 0, "and again");
	err_free(e);
	attached_del(id);
	net_attachment_release(&a);
}

typedef struct Par {
	char id[64];
	Holder h;
	NetAttachment a;
	int r;
	Error *e;
} Par;

static void *par_attach(void *arg)
{
	Par *p = arg;
	p->r = net_attach(p->id, p->h.path, NULL, 0, &p->a, &p->e);
	return NULL;
}

/* host-local and iptables lock themselves: concurrent attaches get
 * distinct addresses. */
static void test_concurrent(void)
{
	enum { N = 4 };
	Par p[N];
	pthread_t t[N];
	memset(p, 0, sizeof(p));
	for (int i = 0; i < N; i++) {
		snprintf(p[i].id, sizeof(p[i].id), "berth-par%d-%d", i, (int)getpid());
		if (holder_start(&p[i].h) < 0)
			p[i].r = -EIO;
		attached_add(p[i].id);
	}
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, par_attach, &p[i]);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	bool all = true, distinct = true;
	for (int i = 0; i < N; i++) {
		if (p[i].r < 0) {
			all = false;
			tap_diag("%s: %s", p[i].id, err_msg(p[i].e));
		}
		for (int j = 0; j < i; j++)
			if (p[i].r == 0 && p[j].r == 0 && !strcmp(p[i].a.ip, p[j].a.ip))
				distinct = false;
	}
	ok(all, "%d concurrent attaches succeed", N);
	ok(distinct, "with distinct addresses");
	bool clean = true;
	for (int i = 0; i < N; i++) {
		if (i % 2)
			holder_stop(&p[i].h);
		Error *e = NULL;
		/* i == 2: netns alive but no path given: the veth goes by its MAC */
		if (net_detach(p[i].id, i == 2 ? NULL : p[i].h.path, NULL, 0, p[i].a.result, &e) < 0) {
			tap_diag("detach %s: %s", p[i].id, err_msg(e));
			clean = false;
		}
		const char *veth = host_veth(p[i].a.result);
		if (veth && if_nametoindex(veth) > 0)
			clean = false;
		if (i == 2)
			is_int(in_netns(&p[i].h, check_no_eth0, NULL), 0,
			       "detach without a path for a live netns removes its eth0");
		if (lease_exists(p[i].id) || iptables_mentions(p[i].id))
			clean = false;
		err_free(e);
		err_free(p[i].e);
		net_attachment_release(&p[i].a);
		holder_stop(&p[i].h);
		attached_del(p[i].id);
	}
	ok(clean, "all detached, nothing left");
}

int main(void)
{
	atexit(cleanup_all);
	signal(SIGPIPE, SIG_IGN);
	test_port_parse();
	test_loopback();
	test_plugin_errors();
	test_port_refusals();
	test_attach_detach();
	test_detach_netns_gone();
	test_concurrent();
	return tap_done();
}
