/* container-internal.h - what container*.c and supervisor.c share privately. */
#ifndef BERTH_RUNTIME_CONTAINER_INTERNAL_H
#define BERTH_RUNTIME_CONTAINER_INTERNAL_H

#include "runtime.h"

int ctr_lock(const Container *c);
void ctr_unlock(int fd);
int ctr_state_save(Container *c, Error **err);
/* Merge `changes` (reference stolen) into state.json under the lock. */
int ctr_state_update(Container *c, json_t *changes, Error **err);
long long proc_start_time(pid_t pid);
bool ctr_supervisor_alive(const Container *c);
/* (Re)write init/etc/{hostname,hosts,resolv.conf}; ip may be NULL. */
int ctr_init_layer_write(const char *dir, const char *hostname, const char *ip, const char *netmode,
			 Error **err);
/* The OCI spec and cgroup limits for starting c. */
int ctr_build_spec(CtrStore *s, Container *c, json_t **ret_spec, CgLimits *ret_lim, Error **err);
/* Published ports of c (parsed from HostConfig.PortBindings); caller frees. */
NetPort *ctr_ports(const Container *c, size_t *ret_n);
/* "berth/<id>" */
char *ctr_cgroup_path(const Container *c);
/* Undo what a start set up (network, cgroup); safe to call twice. */
void ctr_release_resources(CtrStore *s, Container *c);
const char *ctr_netmode(const Container *c);

#endif
