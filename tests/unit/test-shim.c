/* test-shim.c - the node agent's shim server (agent/shim.h) driven over its
 * socket the way the agent drives it: requests that cannot start a container
 * are answered on the report pipe with an error naming what failed (and the
 * shim's pid), malformed messages are ignored and their fds closed, the
 * attach socket of a stdin container is bound even at a path longer than
 * sun_path and removed when the start fails, and the server exits when the
 * agent closes the socket.  Containers really running under shims are
 * tests/integration/test_shim.py. */
#include "tap.h"
#include "../../src/agent/shim.h"
#include "../../src/base/cleanup.h"
#include "../../src/base/fs.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[] = "/tmp/test-shim.XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int spec_fd(const char *text)
{
	int fd = memfd_create("spec", MFD_CLOEXEC);
	if (fd >= 0 && fs_write_all(fd, text, strlen(text)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send rq (spec text, report pipe made here) and read the report. */
static int ask(int sock, ShimRequest rq, const char *spec, pid_t *shim, Error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rq.report_fd = p[1];
	rq.spec_fd = spec_fd(spec);
	int r = shim_send_request(sock, &rq);
	close(p[1]);
	close(rq.spec_fd);
	pid_t pid = 0;
	if (r >= 0)
		r = shim_read_report(p[0], &pid, shim, err);
	close(p[0]);
	return r;
}

static ShimRequest request(const char *cgroup)
{
	static char cgroot[256], log[256], ex[256];
	snprintf(cgroot, sizeof(cgroot), "%s/cg", tmp);
	snprintf(log, sizeof(log), "%s/0.log", tmp);
	snprintf(ex, sizeof(ex), "%s/0.exit", tmp);
	return (ShimRequest){ .cgroup_root = cgroot, .cgroup = cgroup, .log_path = log, .exit_path = ex };
}

static void test_errors(int sock)
{
	Error *e = NULL;
	pid_t shim = 0;
	int r = ask(sock, request("c0"), "not json", &shim, &e);
	is_int(r, -EINVAL, "a spec that is not JSON is refused");
	ok(e && strstr(err_msg(e), "container spec"), "the message names the spec: %s", err_msg(e));
	ok(shim > 0 && shim != getpid(), "the report carries the shim's pid");
	err_free(e);
	e = NULL;

	r = ask(sock, request("../evil"), "{}", &shim, &e);
	is_int(r, -EINVAL, "a cgroup path leaving the root is refused");
	ok(e && strstr(err_msg(e), "'../evil'"), "the message names the cgroup: %s", err_msg(e));
	err_free(e);
	e = NULL;

	ShimRequest rq = request("c1");
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nodir/attach.sock", tmp);
	rq.attach_path = missing;
	r = ask(sock, rq, "{}", &shim, &e);
	ok(r < 0 && e && strstr(err_msg(e), "attach socket") && strstr(err_msg(e), "nodir"),
	   "an attach socket that cannot be bound fails the start: %s", err_msg(e));
	err_free(e);
	e = NULL;
}

static void test_long_attach_path(int sock)
{
	/* deeper than sun_path (108): bound through /proc/self/fd/<dir>/ */
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/%s", tmp,
		 "pods/default_a-pod-with-a-rather-long-name-7d9f8c6b5-xk2lp_0f8e6c2a-4b1d-4e5f-9a7b-3c2d1e0f9a8b/app");
	ok(fs_mkdir_p(dir, 0755, NULL) >= 0, "pod directory made");
	char sock_path[450];
	snprintf(sock_path, sizeof(sock_path), "%s/attach.sock", dir);
	ok(strlen(sock_path) >= 108, "the path is longer than sun_path (%zu)", strlen(sock_path));
	ShimRequest rq = request("c2");
	rq.attach_path = sock_path;
	rq.stdin_once = true;
	Error *e = NULL;
	pid_t shim = 0;
	/* no process in the spec: the start fails after the socket was bound */
	int r = ask(sock, rq, "{\"ociVersion\":\"1.0.2\"}", &shim, &e);
	ok(r < 0 && e && !strstr(err_msg(e), "attach socket"), "the long socket path was bound: %s", err_msg(e));
	err_free(e);
	/* the failed shim removed its socket before it reported */
	struct stat st;
	ok(lstat(sock_path, &st) < 0 && errno == ENOENT, "the attach socket is removed after a failed start");
}

static void test_malformed(int sock)
{
	/* no fds, no header: ignored */
	const char junk[] = "garbage";
	ok(send(sock, junk, sizeof(junk), MSG_NOSIGNAL) == (ssize_t)sizeof(junk), "junk sent");
	/* a header but truncated strings, with fds: they are closed, the
	 * report pipe sees EOF */
	int p[2];
	ok(pipe2(p, O_CLOEXEC) == 0, "pipe");
	int sfd = spec_fd("{}");
	char buf[64] = { 0 };
	memcpy(buf, "SHIM", 4); /* the magic, little-endian */
	memcpy(buf + 8, "only-one", 8);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = buf, .iov_len = 16 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = { p[1], sfd };
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ok(sendmsg(sock, &m, MSG_NOSIGNAL) == 16, "truncated request sent");
	close(p[1]);
	close(sfd);
	Error *e = NULL;
	pid_t pid, shim;
	is_int(shim_read_report(p[0], &pid, &shim, &e), -EIO, "a malformed request is dropped, its fds closed");
	err_free(e);
	close(p[0]);
	/* and the server still answers */
	e = NULL;
	ok(ask(sock, request("c0"), "[", &shim, &e) == -EINVAL, "the server still serves");
	err_free(e);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return 1;
	char cg[300];
	snprintf(cg, sizeof(cg), "%s/cg", tmp);
	mkdir(cg, 0755);
	put("cg/cgroup.controllers", "cpu io memory pids\n");
	put("cg/cgroup.subtree_control", "");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	pid_t server = fork();
	if (server == 0) {
		close(sv[0]);
		_exit(shim_server_run(sv[1]) < 0 ? 2 : 0);
	}
	close(sv[1]);
	test_errors(sv[0]);
	test_long_attach_path(sv[0]);
	test_malformed(sv[0]);
	close(sv[0]);
	int st = -1;
	ok(waitpid(server, &st, 0) == server && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "the server exits (0) when the agent closes the socket");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmp);
	return tap_done();
}
