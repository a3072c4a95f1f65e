/* probe.c - probes and lifecycle hooks without blocking the agent's loop.
 *
 * A probe run is started, then checked on later ticks until it answers or
 * its deadline passes: exec runs the command in the container with rt_exec
 * (a child of the agent, reaped with WNOHANG, killed at the timeout),
 * tcpSocket is a non-blocking connect from the host to the pod IP, httpGet
 * the same plus one HTTP/1.1 GET whose status line decides (200-399 is
 * success, as the kubelet's prober).  Hooks (postStart, preStop) use the
 * same machinery with the grace period as their timeout.
 *
 * probes_tick applies Kubernetes' probe rules to one running container:
 * startup first (liveness and readiness wait for it), then liveness
 * (failureThreshold failures -> the container is stopped and restarted per
 * restartPolicy) and readiness (successThreshold / failureThreshold flip
 * Ready), each every periodSeconds after initialDelaySeconds.
 */
#include "agent-internal.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int start_exec(Agent *a, Pod *p, PodCtr *c, const ProbeSpec *spec, ProbeRun *run, Error **err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_sys(err, errno, "pipe");
	_cleanup_json_ json_t *proc = ctrspec_exec_process(a, p, c, spec->exec);
	RtStdio io = { .in = -1, .out = fds[1], .err = fds[1], .console_fd = -1 };
	RtSpawned sp = { .console_master = -1 };
	int r = rt_exec(c->pid, proc, NULL, NULL, &io, &sp, err);
	close(fds[1]);
	if (r < 0) {
		close(fds[0]);
		return r;
	}
	run->pid = sp.pid;
	run->out_fd = fds[0];
	return 0;
}

static int start_socket(Pod *p, const ProbeSpec *spec, ProbeRun *run, Error **err)
{
	const char *host = spec->host ? spec->host : p->ip;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)spec->port) };
	if (!host || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return err_set(err, EINVAL, "probe: no IPv4 address to probe ('%s')", host ? host : "");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		run->fd = fd; /* refused at once: the check reports the failure */
		return 0;
	}
	run->fd = fd;
	return 0;
}

int probe_start(Agent *a, Pod *p, PodCtr *c, ProbeKind kind, const ProbeSpec *spec, ProbeRun *run, Error **err)
{
	(void)kind;
	memset(run, 0, sizeof(*run));
	run->fd = run->out_fd = -1;
	run->kind = spec->kind;
	run->deadline_ms = agent_now_ms() + (int64_t)spec->timeout_s * 1000;
	int r = spec->kind == PROBE_EXEC ? start_exec(a, p, c, spec, run, err) : start_socket(p, spec, run, err);
	if (r < 0)
		return r;
	run->active = true;
	return 0;
}

static void drain(int fd)
{
	char buf[4096];
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

void probe_cancel(Agent *a, ProbeRun *run)
{
	if (!run->active)
		return;
	if (run->pid > 0) {
		kill(run->pid, SIGKILL);
		if (waitpid(run->pid, NULL, WNOHANG) == 0)
			agent_reap_later(a, run->pid);
	}
	if (run->fd >= 0)
		close(run->fd);
	if (run->out_fd >= 0)
		close(run->out_fd);
	memset(run, 0, sizeof(*run));
	run->fd = run->out_fd = -1;
}

static int check_exec(ProbeRun *run)
{
	drain(run->out_fd);
	int st;
	pid_t w = waitpid(run->pid, &st, WNOHANG);
	if (w == 0)
		return -EAGAIN;
	run->pid = 0;
	return w == run->pid || w > 0 ? (WIFEXITED(st) && WEXITSTATUS(st) == 0) : 0;
}

static int check_http(ProbeRun *run, const char *req)
{
	struct pollfd pfd = { .fd = run->fd, .events = run->sent ? POLLIN : POLLOUT };
	if (poll(&pfd, 1, 0) <= 0)
		return -EAGAIN;
	if (!run->sent) {
		int e = 0;
		socklen_t l = sizeof(e);
		if (getsockopt(run->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
			return 0;
		if (!req)
			return 1; /* tcpSocket: connected */
		if (send(run->fd, req, strlen(req), MSG_NOSIGNAL) < 0)
			return 0;
		run->sent = true;
		return -EAGAIN;
	}
	ssize_t n = read(run->fd, run->buf + run->len, sizeof(run->buf) - 1 - run->len);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	if (n > 0)
		run->len += (size_t)n;
	run->buf[run->len] = 0;
	if (!strstr(run->buf, "\r\n") && n > 0 && run->len < sizeof(run->buf) - 1)
		return -EAGAIN;
	int code = 0;
	if (sscanf(run->buf, "HTTP/%*d.%*d %d", &code) != 1)
		return 0;
	return code >= 200 && code < 400;
}

/* The GET request of an httpGet handler (caller frees). */
static char *http_request(const ProbeSpec *s, const char *ip)
{
	StrBuf sb = STRBUF_INIT;
	bool host_hdr = false;
	sb_addf(&sb, "GET %s HTTP/1.1\r\n", s->path ? s->path : "/");
	for (char **h = s->headers; h && *h; h++) {
		sb_addf(&sb, "%s\r\n", *h);
		host_hdr |= !strncasecmp(*h, "host:", 5);
	}
	if (!host_hdr)
		sb_addf(&sb, "Host: %s:%d\r\n", s->host ? s->host : ip, s->port);
	sb_adds(&sb, "User-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n\r\n");
	return sb_detach(&sb);
}

static int probe_check_spec(Agent *a, Pod *p, const ProbeSpec *spec, ProbeRun *run)
{
	if (!run->active)
		return 0;
	int r;
	if (run->kind == PROBE_EXEC)
		r = check_exec(run);
	else {
		_cleanup_free_ char *req = run->kind == PROBE_HTTP ? http_request(spec, p->ip) : NULL;
		r = check_http(run, req);
	}
	if (r == -EAGAIN && agent_now_ms() < run->deadline_ms)
		return -EAGAIN;
	if (r == -EAGAIN)
		r = 0; /* timed out */
	probe_cancel(a, run);
	return r;
}

int probe_check(Agent *a, ProbeRun *run)
{
	/* hooks: the spec is only needed for http requests, which hooks build
	 * through probe_check_spec; exec and tcp need none */
	ProbeSpec none = { .kind = run->kind };
	return probe_check_spec(a, NULL, &none, run);
}

int probe_check_hook(Agent *a, Pod *p, const ProbeSpec *spec, ProbeRun *run)
{
	return probe_check_spec(a, p, spec, run);
}

/* One probe: start it when due, count its answer.  Returns 1 when a result
 * came in this tick. */
static int probe_step(Agent *a, Pod *p, PodCtr *c, Probe *pr, int64_t now)
{
	if (pr->spec.kind == PROBE_NONE)
		return 0;
	if (!pr->run.active) {
		if (now < pr->next_ms)
			return 0;
		Error *e = NULL;
		pr->next_ms = now + (int64_t)pr->spec.period_s * 1000;
		if (probe_start(a, p, c, pr->spec.kind, &pr->spec, &pr->run, &e) < 0) {
			log_debug("pod %s/%s container %s: probe: %s", p->ns, p->name, c->name, err_msg(e));
			err_free(e);
			pr->failures++;
			pr->successes = 0;
			return 1;
		}
	}
	int r = probe_check_spec(a, p, &pr->spec, &pr->run);
	if (r == -EAGAIN)
		return 0;
	if (r > 0) {
		pr->successes++;
		pr->failures = 0;
	} else {
		pr->failures++;
		pr->successes = 0;
		agent_event(a, p, c, "Warning", "Unhealthy", "%s probe failed",
			    pr == &c->liveness ? "Liveness" : pr == &c->readiness ? "Readiness" : "Startup");
	}
	return 1;
}

void probes_tick(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	if (c->phase != CTR_RUN || c->stopping)
		return;
	if (!c->started) {
		if (c->startup.spec.kind == PROBE_NONE) {
			c->started = true;
		} else if (probe_step(a, p, c, &c->startup, now)) {
			if (c->startup.successes >= 1) {
				c->started = true;
				c->liveness.next_ms = now + (int64_t)c->liveness.spec.initial_delay_s * 1000;
				c->readiness.next_ms = now + (int64_t)c->readiness.spec.initial_delay_s * 1000;
			} else if (c->startup.failures >= c->startup.spec.failure_threshold) {
				c->stop_reason = "startup";
				return;
			}
		}
		if (!c->started)
			return;
	}
	if (probe_step(a, p, c, &c->liveness, now) && c->liveness.failures >= c->liveness.spec.failure_threshold) {
		c->stop_reason = "liveness";
		return;
	}
	if (c->readiness.spec.kind == PROBE_NONE) {
		c->ready = true;
	} else if (probe_step(a, p, c, &c->readiness, now)) {
		if (c->readiness.successes >= c->readiness.spec.success_threshold)
			c->ready = true;
		else if (c->readiness.failures >= c->readiness.spec.failure_threshold)
			c->ready = false;
	}
}
