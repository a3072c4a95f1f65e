/* proxy.c - the running service proxy: informers on services and
 * endpointslices mark the state dirty; one sync thread (at most every
 * SYNC_MIN_MS, and every RESYNC_MS regardless) gives LoadBalancer services
 * their ingress (the node IPs), builds the rule text (rules.c) and, when it
 * differs from what was last written, applies it with
 * `iptables-restore -w --noflush` (only berth's chains are named, so nothing
 * else in the nat and filter tables is touched), then makes sure PREROUTING,
 * OUTPUT and POSTROUTING (nat), OUTPUT, FORWARD and INPUT (filter, new
 * connections) jump to berth's chains.  proxy_cleanup takes all of it away.
 */
#include "proxy.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../controller/framework/framework.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYNC_MIN_MS 100
#define RESYNC_MS 30000
#define MAX_OUTPUT (16u << 20)

struct Proxy {
	KubeClient *kc;
	ProxyOptions opt;
	char **node_ips;
	char *cidr;
	Informer *svcs, *slices;
	pthread_t th;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool dirty;
	volatile int stop;
	char *last;
};

/* ---- running commands ---- */

int proxy_run(char *const argv[], const char *in, char **out, Error **err)
{
	int pin[2], pout[2];
	if (pipe2(pin, O_CLOEXEC) < 0)
		return err_sys(err, errno, "%s: pipe", argv[0]);
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		return err_sys(err, errno, "%s: pipe", argv[0]);
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
		return err_sys(err, e, "%s: fork", argv[0]);
	}
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		if (!out)  /* what it says goes into the error, not into our log */
			dup2(pout[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	/* write stdin and read stdout together (poll), so neither side can block the other */
	size_t inlen = in ? strlen(in) : 0, done = 0;
	if (!inlen)
		close(pin[1]), pin[1] = -1;
	StrBuf sb;
	sb_init(&sb);
	while (pout[0] >= 0) {
		struct pollfd p[2] = { { .fd = pout[0], .events = POLLIN }, { .fd = pin[1], .events = POLLOUT } };
		if (poll(p, pin[1] >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (pin[1] >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(pin[1], in + done, inlen - done);
			if (w > 0)
				done += (size_t)w;
			if (w < 0 || done == inlen)
				close(pin[1]), pin[1] = -1;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[8192];
			ssize_t r = read(pout[0], buf, sizeof(buf));
			if (r <= 0)
				close(pout[0]), pout[0] = -1;
			else if (sb.len < MAX_OUTPUT)
				sb_add(&sb, buf, (size_t)r);
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		const char *said = out || !sb.len ? "" : sb.buf;
		int r = err_set(err, EIO, "%s: exited with status %d%s%.*s", argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : 128,
				*said ? ": " : "", (int)strcspn(said, "\n"), said);
		sb_release(&sb);
		return r;
	}
	if (out)
		*out = sb_detach(&sb);
	else
		sb_release(&sb);
	return 0;
}

/* Chain names in the nat table (NULL-terminated, caller frees). */
static char **nat_chains(Error **err)
{
	_cleanup_free_ char *out = NULL;
	char *argv[] = { "iptables-save", "-t", "nat", NULL };
	if (proxy_run(argv, NULL, &out, err) < 0)
		return NULL;
	size_t n = 0, cap = 16;
	char **v = xcalloc(cap, sizeof(*v));
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] != ':')
			continue;
		if (n + 1 >= cap)
			v = xrealloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = xstrndup(l + 1, strcspn(l + 1, " "));
		v[n] = NULL;
	}
	return v;
}

/* table, chain, comment, target, (filter) match conntrack state NEW */
static const struct { const char *table, *chain, *comment, *target; bool new_only; } jumps[] = {
	{ "nat", "PREROUTING", "berth service portals", "BERTH-SERVICES", false },
	{ "nat", "OUTPUT", "berth service portals", "BERTH-SERVICES", false },
	{ "nat", "POSTROUTING", "berth postrouting rules", "BERTH-POSTROUTING", false },
	{ "filter", "OUTPUT", "berth service portals", "BERTH-SERVICES", true },
	{ "filter", "FORWARD", "berth service portals", "BERTH-SERVICES", true },
	{ "filter", "INPUT", "berth external services", "BERTH-EXTERNAL-SERVICES", true },
	{ "filter", "FORWARD", "berth external services", "BERTH-EXTERNAL-SERVICES", true },
};

static int jump(const char *op, size_t i, Error **err)
{
	char *argv[20] = { "iptables", "-w", "-t", (char *)jumps[i].table, (char *)op, (char *)jumps[i].chain };
	int n = 6;
	if (jumps[i].new_only) {
		argv[n++] = "-m", argv[n++] = "conntrack", argv[n++] = "--ctstate", argv[n++] = "NEW";
	}
	argv[n++] = "-m", argv[n++] = "comment", argv[n++] = "--comment", argv[n++] = (char *)jumps[i].comment;
	argv[n++] = "-j", argv[n++] = (char *)jumps[i].target, argv[n] = NULL;
	return proxy_run(argv, NULL, NULL, err);
}

static int ensure_jumps(Error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(jumps); i++) {
		_cleanup_err_ Error *cerr = NULL;
		if (jump("-C", i, &cerr) == 0)
			continue;
		int r = jump("-I", i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int proxy_cleanup(Error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(jumps); i++)
		for (int k = 0; k < 16; k++) {
			_cleanup_err_ Error *derr = NULL;
			if (jump("-D", i, &derr) < 0)
				break;
		}
	_cleanup_strv_ char **chains = nat_chains(err);
	if (!chains)
		return -EIO;
	StrBuf sb;
	sb_init(&sb);
	/* filter: berth's two fixed chains (declaring creates them if absent; then delete) */
	sb_adds(&sb, "*filter\n:BERTH-SERVICES - [0:0]\n:BERTH-EXTERNAL-SERVICES - [0:0]\n"
		     "-X BERTH-SERVICES\n-X BERTH-EXTERNAL-SERVICES\nCOMMIT\n*nat\n");
	int n = 1;
	for (char **c = chains; *c; c++)
		if (!strncmp(*c, "BERTH-", 6)) {
			sb_addf(&sb, ":%s - [0:0]\n", *c);
			n++;
		}
	for (char **c = chains; *c; c++)
		if (!strncmp(*c, "BERTH-", 6))
			sb_addf(&sb, "-X %s\n", *c);
	sb_adds(&sb, "COMMIT\n");
	int r = 0;
	if (n) {
		char *argv[] = { "iptables-restore", "-w", "--noflush", NULL };
		r = proxy_run(argv, sb_str(&sb), NULL, err);
	}
	sb_release(&sb);
	return r;
}

/* ---- node addresses ---- */

static char **default_node_ips(void)
{
	char ip[INET_ADDRSTRLEN] = "";
	/* the source address of the default route: connect() on UDP sends nothing */
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	inet_pton(AF_INET, "192.0.2.53", &sa.sin_addr);
	socklen_t l = sizeof(sa);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &l) == 0)
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	if (!*ip || !strcmp(ip, "0.0.0.0"))
		snprintf(ip, sizeof(ip), "127.0.0.1");
	char **v = xcalloc(2, sizeof(*v));
	v[0] = xstrdup(ip);
	return v;
}

/* ---- LoadBalancer status ---- */

static bool ingress_is(const json_t *svc, char **ips)
{
	const json_t *ing = json_path(svc, "status.loadBalancer.ingress");
	size_t n = 0;
	while (ips[n])
		n++;
	if (json_array_size(ing) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_str(json_array_get(ing, i), "ip") ?: "", ips[i]))
			return false;
	return true;
}

static void update_lb_status(Proxy *p, const json_t *services)
{
	size_t i;
	json_t *svc;
	json_array_foreach(services, i, svc) {
		if (strcmp(json_str(json_object_get(svc, "spec"), "type") ?: "", "LoadBalancer") || ingress_is(svc, p->node_ips))
			continue;
		json_t *ing = json_array();
		for (char **ip = p->node_ips; *ip; ip++)
			json_array_append_new(ing, json_pack("{s:s}", "ip", *ip));
		_cleanup_json_ json_t *patch = json_pack("{s:{s:{s:o}}}", "status", "loadBalancer", "ingress", ing);
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/services/%s/status",
						      obj_meta(svc, "namespace") ?: "", obj_meta(svc, "name") ?: "");
		_cleanup_err_ Error *err = NULL;
		if (kube_patch(p->kc, path, patch, NULL, &err) < 0)
			log_warn("proxy: load balancer status of %s: %s", path, err_msg(err));
	}
}

/* ---- sync ---- */

static int sync_once(Proxy *p, Error **err)
{
	_cleanup_json_ json_t *svcs = informer_list(p->svcs, NULL);
	_cleanup_json_ json_t *slices = informer_list(p->slices, NULL);
	update_lb_status(p, svcs);
	_cleanup_strv_ char **chains = nat_chains(err);
	if (!chains)
		return -EIO;
	_cleanup_free_ char *text = proxy_rules_build(svcs, slices, &p->opt, chains);
	if (!p->last || strcmp(p->last, text)) {
		char *argv[] = { "iptables-restore", "-w", "--noflush", NULL };
		int r = proxy_run(argv, text, NULL, err);
		if (r < 0)
			return r;
		free(p->last);
		p->last = TAKE_PTR(text);
		log_debug("proxy: rules written");
	}
	return ensure_jumps(err);
}

static void mark_dirty(Proxy *p)
{
	pthread_mutex_lock(&p->lock);
	p->dirty = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void on_event(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old, (void)obj;
	mark_dirty(ud);
}

static void *sync_main(void *arg)
{
	Proxy *p = arg;
	while (!p->stop) {
		pthread_mutex_lock(&p->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += RESYNC_MS / 1000;
		while (!p->dirty && !p->stop)
			if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
				break;
		p->dirty = false;
		pthread_mutex_unlock(&p->lock);
		if (p->stop)
			break;
		_cleanup_err_ Error *err = NULL;
		if (sync_once(p, &err) < 0) {
			log_warn("proxy: sync: %s", err_msg(err));
			free(p->last);  /* write again next time */
			p->last = NULL;
			mark_dirty(p);
			nanosleep(&(struct timespec){ 1, 0 }, NULL);
		}
		nanosleep(&(struct timespec){ 0, SYNC_MIN_MS * 1000000L }, NULL);
	}
	return NULL;
}

int proxy_start(KubeClient *kc, const ProxyOptions *opt, Proxy **ret, Error **err)
{
	Proxy *p = xcalloc(1, sizeof(*p));
	p->kc = kc;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (opt->node_ips && opt->node_ips[0]) {
		size_t n = 0;
		while (opt->node_ips[n])
			n++;
		p->node_ips = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			p->node_ips[i] = xstrdup(opt->node_ips[i]);
	} else
		p->node_ips = default_node_ips();
	p->cidr = opt->cluster_cidr ? xstrdup(opt->cluster_cidr) : NULL;
	p->opt = (ProxyOptions){ .node_ips = p->node_ips, .cluster_cidr = p->cidr,
				 .localhost_nodeports = opt->localhost_nodeports };
	if (opt->localhost_nodeports) {
		_cleanup_close_ int fd = open("/proc/sys/net/ipv4/conf/all/route_localnet", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || fs_write_all(fd, "1\n", 2) < 0)
			log_warn("proxy: route_localnet: %m");
	}
	p->svcs = informer_new(kc, "/api/v1/services");
	p->slices = informer_new(kc, "/apis/discovery.k8s.io/v1/endpointslices");
	informer_add_handler(p->svcs, on_event, p);
	informer_add_handler(p->slices, on_event, p);
	int r = informer_start(p->svcs, err);
	if (r >= 0)
		r = informer_start(p->slices, err);
	if (r >= 0)
		for (int i = 0; i < 30 && !(informer_wait_synced(p->svcs, 1000) && informer_wait_synced(p->slices, 1000));
		     i++)
			;
	if (r >= 0 && (r = -pthread_create(&p->th, NULL, sync_main, p)) < 0)
		err_sys(err, -r, "proxy: thread");
	if (r < 0) {
		proxy_stop(p);
		return r;
	}
	p->started = true;
	mark_dirty(p);
	log_info("proxy: node IP %s%s%s", p->node_ips[0], p->cidr ? ", cluster CIDR " : "", p->cidr ? p->cidr : "");
	*ret = p;
	return 0;
}

void proxy_stop(Proxy *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->started)
		pthread_join(p->th, NULL);
	informer_free(p->svcs);
	informer_free(p->slices);
	for (char **ip = p->node_ips; ip && *ip; ip++)
		free(*ip);
	free(p->node_ips);
	free(p->cidr);
	free(p->last);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}
