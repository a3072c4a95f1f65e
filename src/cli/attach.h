/* attach.h - a foreground CLI attached to a container: the exit pipe the
 * supervisor answers on, the terminal in raw mode for -t, and signals proxied
 * to the container.  Shared by run and start -a. */
#ifndef BERTH_CLI_ATTACH_H
#define BERTH_CLI_ATTACH_H

#include <stdbool.h>
#include "../runtime/runtime.h"

typedef struct Attached {
	CtrAttach attach;
	int exit_r;          /* read end of the exit pipe */
	bool raw;            /* terminal put in raw mode */
} Attached;

int attached_prepare(Attached *a, bool interactive, bool tty, Error **err);
/* After a successful start: proxy signals to pid and wait for the exit code. */
int attached_wait(Attached *a, pid_t pid, bool tty);
void attached_release(Attached *a);

/* Open the container store for cli->root (prints the error; NULL on failure). */
CtrStore *cli_open_containers(const Cli *cli);

#endif
