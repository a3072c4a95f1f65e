/* shim.h - the container shim server: what the hidden `berth shim`
 * subcommand runs (src/cli/cmd-shim.c), the second public header of
 * src/agent/ beside agent.h.
 *
 * The node agent starts one `berth shim` per agent process (posix_spawn of
 * /proc/self/exe, so no agent memory is inherited) and keeps a
 * SOCK_SEQPACKET socket to it on the shim's fd 3.  For every container
 * instance the agent sends one request (src/agent/shim.c); the server forks
 * a shim that spawns and holds that container.  Forking the small,
 * freshly exec'd server instead of the agent (or exec'ing berth once per
 * container) keeps every shim's own memory to the few pages it writes: the
 * libraries' relocated data and text stay shared with the server.
 */
#ifndef BERTH_AGENT_SHIM_H
#define BERTH_AGENT_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "../base/err.h"

/* The fd on which `berth shim` finds its socket to the agent. */
#define SHIM_SERVER_FD 3

/* One container instance for the server to start and hold. */
typedef struct ShimRequest {
	const char *cgroup_root;  /* cgroup mount root ("/sys/fs/cgroup") */
	const char *cgroup;       /* the container's cgroup under it, created and limited */
	const char *log_path;     /* CRI log */
	const char *exit_path;    /* written when the container exited */
	const char *attach_path;  /* the attach socket to serve: for stdin (no tty), or the tty's
				   * (tty: always); NULL: no tty and stdin is /dev/null */
	bool stdin_once;          /* close stdin when the first attached client leaves */
	bool tty;                 /* a pty: the shim keeps its master, attach_path is SEQPACKET */
	bool tty_stdin;           /* tty: clients may write to it (the spec's stdin: true) */
	int report_fd;            /* write end of the pipe the shim reports on */
	int spec_fd;              /* the OCI spec (JSON), read from offset 0 */
} ShimRequest;

/* The tty attach protocol (a tty container's <ctr>/tty.sock, SOCK_SEQPACKET,
 * one message each):
 *   shim -> client: first SHIM_TTY_HELLO + flags (SHIM_TTY_HELLO_STDIN: the
 *     terminal takes input), then raw output of the terminal - for the first
 *     client ever also what it wrote before (the last SHIM_TTY_EARLY bytes);
 *     the socket closes once the container exited and its output is drained;
 *   client -> shim: SHIM_TTY_STDIN_SESSION (this client is the attach
 *     session with stdin that stdinOnce ends), SHIM_TTY_INPUT + bytes
 *     (at most SHIM_TTY_MSG_MAX - 1), SHIM_TTY_RESIZE + rows, cols (uint16,
 *     host order). */
#define SHIM_TTY_HELLO 'H'
#define SHIM_TTY_HELLO_STDIN 1
#define SHIM_TTY_STDIN_SESSION 'S'
#define SHIM_TTY_INPUT 'I'
#define SHIM_TTY_RESIZE 'R'
#define SHIM_TTY_MSG_MAX 4096
#define SHIM_TTY_EARLY 16384

/* A resize message for rows x cols into buf (5 bytes): its length. */
size_t shim_tty_resize_msg(uint8_t buf[5], unsigned rows, unsigned cols);
/* Parse a client message: its type (a SHIM_TTY_ letter) with the input
 * bytes in data and len, or the size in rows and cols; or -EBADMSG. */
int shim_tty_parse(const uint8_t *msg, size_t n, const uint8_t **data, size_t *len, unsigned *rows, unsigned *cols);

/* Send a request (the fds are passed, the caller still closes its copies):
 * 0 or -errno (-EPIPE: the server is gone). */
int shim_send_request(int sock, const ShimRequest *rq);
/* Read the shim's report from the pipe's read end: 0 with the container's
 * and the shim's pids, or the start error (-errno, message in err). */
int shim_read_report(int fd, pid_t *ret_pid, pid_t *ret_shim, Error **err);

/* Serve requests on `sock` until the agent closes it (or exits); shims
 * already forked keep running.  Returns 0, or -errno if the server could
 * not set itself up.  The caller should _exit: this is a forked world. */
int shim_server_run(int sock);

#endif
