/* network-internal.h - what network.c shares with network-port.c and
 * network-exec.c.  Private to src/runtime; the public side is network.h. */
#ifndef BERTH_RUNTIME_NETWORK_INTERNAL_H
#define BERTH_RUNTIME_NETWORK_INTERNAL_H

#include <stddef.h>
#include <jansson.h>
#include "network.h"

#define NET_MAX_PLUGIN_OUTPUT   (1u << 20)   /* a CNI result or error on stdout */
#define NET_MAX_PLUGIN_STDERR   (8u << 10)   /* kept for error messages */
#define NET_MAX_IPTABLES_DUMP   (64u << 20)  /* iptables-save of a busy host */
#define NET_PLUGIN_TIMEOUT_MS   60000
#define NET_MAX_ID              128

/* Output of a helper program run by net_exec. */
typedef struct NetExecOut {
	char *out;      /* stdout, NUL-terminated, owned */
	size_t out_len;
	char *errout;   /* first NET_MAX_PLUGIN_STDERR bytes of stderr, owned */
	int status;     /* wait status */
} NetExecOut;
void net_exec_out_release(NetExecOut *o);

/* Run argv (argv[0] absolute) with env envp and `in` on stdin, in its own
 * process group, collecting at most out_max bytes of stdout, killed after
 * timeout_ms.  Fails only when it cannot run or times out; the exit status is
 * the caller's to judge. */
int net_exec(const char *const *argv, const char *const *envp, const char *in, size_t in_len,
	     size_t out_max, int timeout_ms, NetExecOut *ret, Error **err);

/* Find a system tool (iptables-save, ...) in the sbin/bin dirs; absolute path
 * into buf. */
int net_tool_find(const char *name, char *buf, size_t size, Error **err);
/* Run a tool; non-zero exit becomes an error naming the tool and its stderr. */
int net_tool_run(const char *name, const char *const *args, const char *in, size_t in_len,
		 size_t out_max, char **ret_out, Error **err);

/* CNI_PATH: BERTH_CNI_PATH if set, else the existing ones of /usr/lib/cni,
 * /usr/libexec/cni, /opt/cni/bin joined by ':'.  Caller frees. */
char *net_cni_path(void);
/* Execute one plugin (conf["type"]) with CNI_COMMAND=command; a JSON result
 * on success goes to *ret (new ref; may be NULL when the plugin prints
 * nothing, as DEL does).  A CNI error {"code","msg","details"} becomes one
 * Error "plugin 'bridge' ADD: msg: details". */
int net_cni_exec(const char *command, const char *id, const char *netns, const char *ifname,
		 const json_t *conf, json_t **ret, Error **err);

/* Copy ports, checking each is IPv4-publishable, not published twice, not
 * in `taken` (published by other containers) and not listened on, and
 * replacing host_port 0 with a free port (sockets bound to port 0, held until
 * all are picked so two never get the same).  *ret owned by the caller. */
int net_ports_prepare(const NetPort *ports, size_t n, const NetPort *taken, size_t n_taken,
		      NetPort **ret, Error **err);

#endif
