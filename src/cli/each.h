/* each.h - the shape shared by commands that act on a list of containers
 * (stop, kill, rm, wait): look each one up, act, print, keep going, and exit
 * non-zero if any failed, as docker does. */
#ifndef BERTH_CLI_EACH_H
#define BERTH_CLI_EACH_H

#include "cli.h"
#include "attach.h"

typedef int (*EachFn)(CtrStore *s, Container *c, const char *arg, void *ud, Error **err);
int cli_for_each_container(const Cli *cli, char **names, int n, EachFn fn, void *ud);

#endif
