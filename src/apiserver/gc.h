/* gc.h - the garbage collector's interface between gc.c (owner references,
 * dependents, foreground and orphan finalizers), update.c (the DELETE paths
 * that start a cascade and the removal that continues it) and sweep.c (the
 * periodic safety sweep), and namespace deletion (the namespace controller's
 * passes).  See gc.c for the model. */
#ifndef BERTH_APISERVER_GC_H
#define BERTH_APISERVER_GC_H
#include "api-internal.h"

#define GC_FINALIZER_FOREGROUND "foregroundDeletion"
#define GC_FINALIZER_ORPHAN "orphan"

/* update.c: delete r ns/name as a client's DELETE would (finalizers only
 * mark it, a pod on a node is deleted gracefully, propagation as given);
 * uid, when set, is a precondition.  0, -ENOENT, -ESTALE or -EIO. */
int api_delete_as_client(Api *api, const ApiResource *r, const char *ns, const char *name, const char *uid,
			 const char *propagation);

/* Does any stored object name obj as an owner? */
bool api_gc_has_dependents(Api *api, const json_t *obj);
/* obj (of r) is marked for deletion: do the work its "orphan" and
 * "foregroundDeletion" finalizers stand for (orphan the dependents / delete
 * them), and remove those finalizers when done; the object goes when none
 * is left. */
void api_gc_process_deleting(Api *api, const ApiResource *r, const json_t *obj);
/* obj was removed from the store: owners waiting for their dependents
 * (foreground deletion) are looked at again. */
void api_gc_owners_recheck(Api *api, const json_t *obj);
/* The periodic safety sweep: deleting owners whose finalizer work is not
 * done, and dependents whose owners are gone (after a restart mid-cascade,
 * or writes by another server). */
void api_gc_sweep(Api *api);

/* Namespace deletion (gc.c; api_namespace_delete in handlers.h marks it):
 * default, kube-system and kube-public may not be deleted. */
bool api_namespace_immortal(const char *name);
/* An object of namespace ns was removed from the store: when ns is
 * terminating, the namespace controller's pass runs (and finalizes it once
 * it is empty). */
void api_namespace_content_removed(Api *api, const char *ns);
/* api_check_namespace for a create of obj (req: the create): a terminating
 * namespace refuses it with kube-apiserver's Forbidden Status. */
int api_check_namespace_create(Api *api, const ApiRequest *req, const json_t *obj, ApiResponse *resp);
/* The sweep's pass over every terminating namespace. */
void api_namespaces_sweep(Api *api);

#endif
