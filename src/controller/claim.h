/* claim.h - adoption and release of dependents (pods, ControllerRevisions)
 * by the DaemonSet and StatefulSet controllers, as Kubernetes'
 * ControllerRefManager: a dependent without a controller ownerReference that
 * the owner selects is adopted, one the owner controls that it no longer
 * selects is released; dependents controlled by someone else are left alone.
 */
#ifndef BERTH_CONTROLLER_CLAIM_H
#define BERTH_CONTROLLER_CLAIM_H
#include "controller-internal.h"

/* Does owner select obj (its selector, plus any filter of the kind)? */
typedef bool (*ClaimMatchFn)(const json_t *owner, const json_t *obj, void *ud);

typedef struct ClaimSpec {
	const char *resource_fmt;  /* "/api/v1/namespaces/%s/pods" (namespace) */
	ClaimMatchFn match;
	void *ud;
} ClaimSpec;

/* The JSON patch that adopts obj for owner / releases it: a test of
 * metadata.uid (the precondition) and of what it changes, then the add or
 * remove of owner's reference.  New refs. */
json_t *claim_adopt_patch(const json_t *owner, const char *api_version, const char *kind, const json_t *obj);
json_t *claim_release_patch(const json_t *owner, const json_t *obj);

/* Claim objs (all candidates of owner's namespace) for owner of controller c
 * (c->kind, c->api_version, c->coll_fmt name the owner).  Returns a new array
 * of the objects owner controls afterwards: those it already controlled and
 * still selects, plus those adopted now (their cached copies).  Adoption is
 * checked once against a fresh GET of owner (same uid, not being deleted).
 * *ret is always set; a failed release or adoption (other than 404) makes the
 * call fail with the first error (the rest are still tried). */
int ctl_claim(Ctl *c, const json_t *owner, const json_t *objs, const ClaimSpec *spec, json_t **ret, Error **err);

/* The owner's spec.selector matches obj's labels (a ClaimMatchFn). */
bool claim_selector_matches(const json_t *owner, const json_t *obj, void *ud);

/* An orphan obj (no controller reference) was added or changed: queue every
 * owner in c's informer whose selector matches it (it may be adopted). */
void ctl_enqueue_selecting(Ctl *c, const json_t *obj);

/* history.c: the ControllerRevisions owner controls after claiming the
 * namespace's revisions by its selector, sorted by revision (new array). */
int hist_claim(Ctl *c, const json_t *owner, json_t **ret, Error **err);
#endif
