/* container-opts.h - the options `run` and `create` share, parsed into the
 * Docker-shaped create request that ctr_create takes. */
#ifndef BERTH_CLI_CONTAINER_OPTS_H
#define BERTH_CLI_CONTAINER_OPTS_H

#include <stdbool.h>
#include <jansson.h>
#include "cli.h"

typedef struct CreateOpts {
	json_t *request;   /* owned */
	bool detach, interactive, tty, rm;
	int first_arg;     /* index in argv of IMAGE */
} CreateOpts;

/* Parse argv (argv[0] = command name).  On a usage error prints it and
 * returns EXIT_BERTH; 0 on success. */
int create_opts_parse(const CliCommand *cmd, int argc, char **argv, bool is_run, CreateOpts *ret);
void create_opts_release(CreateOpts *o);
/* Exit code for a start/create error value (127, 126 or 125). */
int exit_code_for_error(const Error *e);

#define CREATE_OPTIONS_HELP \
	"  --name NAME              assign a name\n" \
	"  -e, --env K=V            set an environment variable (K alone: take it from here)\n" \
	"      --env-file FILE      read K=V lines from a file\n" \
	"  -w, --workdir DIR        working directory inside the container\n" \
	"  -u, --user USER[:GROUP]  user (name or id) to run as\n" \
	"      --hostname NAME      container host name\n" \
	"  -v, --volume HOST:CTR[:ro] bind mount a host directory\n" \
	"      --tmpfs PATH[:OPTS]  mount a tmpfs\n" \
	"  -p, --publish [IP:]HOST:CTR[/tcp|udp] publish a port\n" \
	"      --network MODE       bridge (default), none or host\n" \
	"  -m, --memory SIZE        memory limit (e.g. 64m, 1g)\n" \
	"      --memory-swap SIZE   memory + swap limit (-1 unlimited)\n" \
	"      --cpus N             CPU limit (e.g. 0.5)\n" \
	"      --cpu-shares N       relative CPU weight\n" \
	"      --pids-limit N       maximum number of processes\n" \
	"      --read-only          mount the root filesystem read-only\n" \
	"      --entrypoint CMD     override the image's ENTRYPOINT\n" \
	"      --cap-add CAP        add a capability (or ALL)\n" \
	"      --cap-drop CAP       drop a capability (or ALL)\n" \
	"      --privileged         all capabilities, no seccomp, no masked paths\n" \
	"      --init               run an init as PID 1 that reaps zombies and forwards signals\n" \
	"      --restart POLICY     no, on-failure[:N], always, unless-stopped\n" \
	"  -l, --label K=V          set a label\n" \
	"      --stop-signal SIG    signal for stop (default SIGTERM)\n" \
	"  -i, --interactive        keep stdin open\n" \
	"  -t, --tty                allocate a pseudo-terminal\n"

#endif
