/* test-shim-tty.c - the tty side of the node agent's shims (agent/shim.h):
 * the messages of a tty container's tty.sock (resize encoding, parsing of
 * every client message, malformed ones refused), a tty request the agent
 * side refuses to send without a socket path, and a shim server that binds
 * a tty request's socket (SOCK_SEQPACKET, even past sun_path) and removes
 * it when the start fails.  Real tty containers under kubectl are
 * tests/integration/test_pod_tty.py. */
#include "tap.h"
#include "../../src/agent/shim.h"
#include "../../src/base/cleanup.h"
#include "../../src/base/fs.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[] = "/tmp/test-shim-tty.XXXXXX";

static void test_messages(void)
{
	uint8_t m[5];
	const uint8_t *data = NULL;
	size_t len = 0;
	unsigned rows = 0, cols = 0;
	is_int((int)shim_tty_resize_msg(m, 33, 101), 5, "a resize message is 5 bytes");
	is_int(shim_tty_parse(m, 5, &data, &len, &rows, &cols), SHIM_TTY_RESIZE, "it parses as a resize");
	ok(rows == 33 && cols == 101, "rows and cols come back (%u x %u)", rows, cols);
	shim_tty_resize_msg(m, 65535, 1);
	shim_tty_parse(m, 5, &data, &len, &rows, &cols);
	ok(rows == 65535 && cols == 1, "the whole uint16 range (%u x %u)", rows, cols);

	const uint8_t in[] = { SHIM_TTY_INPUT, 'l', 's', '\n' };
	is_int(shim_tty_parse(in, sizeof(in), &data, &len, &rows, &cols), SHIM_TTY_INPUT, "input parses");
	ok(len == 3 && data == in + 1 && !memcmp(data, "ls\n", 3), "input bytes follow the type byte");
	const uint8_t empty[] = { SHIM_TTY_INPUT };
	is_int(shim_tty_parse(empty, 1, &data, &len, &rows, &cols), SHIM_TTY_INPUT, "empty input parses");
	is_int((int)len, 0, "with no bytes");
	const uint8_t sess[] = { SHIM_TTY_STDIN_SESSION };
	is_int(shim_tty_parse(sess, 1, &data, &len, &rows, &cols), SHIM_TTY_STDIN_SESSION, "stdin session parses");

	const uint8_t sess_long[] = { SHIM_TTY_STDIN_SESSION, 0 };
	is_int(shim_tty_parse(sess_long, 2, &data, &len, &rows, &cols), -EBADMSG, "a session message with a body is refused");
	is_int(shim_tty_parse(m, 4, &data, &len, &rows, &cols), -EBADMSG, "a short resize is refused");
	const uint8_t unknown[] = { 'X', 1 };
	is_int(shim_tty_parse(unknown, 2, &data, &len, &rows, &cols), -EBADMSG, "an unknown type is refused");
	is_int(shim_tty_parse(in, 0, &data, &len, &rows, &cols), -EBADMSG, "an empty message is refused");
	static uint8_t big[SHIM_TTY_MSG_MAX + 1] = { SHIM_TTY_INPUT };
	is_int(shim_tty_parse(big, sizeof(big), &data, &len, &rows, &cols), -EBADMSG, "a message over the limit is refused");
	is_int(shim_tty_parse(big, SHIM_TTY_MSG_MAX, &data, &len, &rows, &cols), SHIM_TTY_INPUT, "one at the limit parses");
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

static int ask(int sock, ShimRequest rq, const char *spec, Error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rq.report_fd = p[1];
	rq.spec_fd = spec_fd(spec);
	int r = shim_send_request(sock, &rq);
	close(p[1]);
	close(rq.spec_fd);
	pid_t pid = 0, shim = 0;
	if (r >= 0)
		r = shim_read_report(p[0], &pid, &shim, err);
	close(p[0]);
	return r;
}

static ShimRequest request(const char *cgroup)
{
	static char cgroot[256], log[256], ex[256];
	snprintf(cgroot, sizeof(cgroot), "%s/cg", tmp);
	snprintf(log, sizeof(log), "%s/0.log", tmp);
	snprintf(ex, sizeof(ex), "%s/0.exit", tmp);
	return (ShimRequest){ .cgroup_root = cgroot, .cgroup = cgroup, .log_path = log, .exit_path = ex,
			      .tty = true, .tty_stdin = true, .stdin_once = true, .report_fd = -1, .spec_fd = -1 };
}

static void test_server(int sock)
{
	ShimRequest rq = request("t0");
	is_int(shim_send_request(sock, &rq), -EINVAL, "a tty request without its socket path is not sent");

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nodir/tty.sock", tmp);
	rq.attach_path = missing;
	Error *e = NULL;
	int r = ask(sock, rq, "{}", &e);
	ok(r < 0 && e && strstr(err_msg(e), "attach socket") && strstr(err_msg(e), "nodir"),
	   "a tty socket that cannot be bound fails the start: %s", err_msg(e));
	err_free(e);

	char dir[400];
	snprintf(dir, sizeof(dir), "%s/%s", tmp,
		 "pods/default_a-terminal-pod-with-a-rather-long-name-6c8d7_0f8e6c2a-4b1d-4e5f-9a7b-3c2d1e0f9a8b/sh");
	ok(fs_mkdir_p(dir, 0755, NULL) >= 0, "pod directory made");
	char path[450];
	snprintf(path, sizeof(path), "%s/tty.sock", dir);
	ok(strlen(path) >= 108, "the path is longer than sun_path (%zu)", strlen(path));
	rq = request("t1");
	rq.attach_path = path;
	e = NULL;
	/* no process in the spec: the start fails after the socket was bound */
	r = ask(sock, rq, "{\"ociVersion\":\"1.0.2\"}", &e);
	ok(r < 0 && e && !strstr(err_msg(e), "attach socket"), "the long tty socket path was bound: %s", err_msg(e));
	err_free(e);
	struct stat st;
	ok(lstat(path, &st) < 0 && errno == ENOENT, "the tty socket is removed after a failed start");
}

int main(void)
{
	test_messages();
	if (!mkdtemp(tmp))
		return 1;
	char cg[300];
	snprintf(cg, sizeof(cg), "%s/cg", tmp);
	mkdir(cg, 0755);
	/* a fake cgroup v2 root the shims create their cgroups under */
	const char *files[][2] = { { "cgroup.controllers", "cpu io memory pids\n" }, { "cgroup.subtree_control", "" } };
	for (size_t i = 0; i < 2; i++) {
		char f[400];
		snprintf(f, sizeof(f), "%s/%s", cg, files[i][0]);
		FILE *fp = fopen(f, "w");
		if (fp) {
			fputs(files[i][1], fp);
			fclose(fp);
		}
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	pid_t server = fork();
	if (server == 0) {
		close(sv[0]);
		_exit(shim_server_run(sv[1]) < 0 ? 2 : 0);
	}
	close(sv[1]);
	test_server(sv[0]);
	close(sv[0]);
	int st = -1;
	ok(waitpid(server, &st, 0) == server && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server exits (0)");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmp);
	return tap_done();
}
