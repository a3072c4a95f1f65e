/* claim.c - adoption and release of dependents for the DaemonSet and
 * StatefulSet controllers (and their ControllerRevisions), as Kubernetes'
 * ControllerRefManager.ClaimObject:
 *
 *   controlled by owner + selected      -> kept
 *   controlled by owner + not selected  -> released (unless owner is being deleted)
 *   no controller + selected            -> adopted (owner not being deleted,
 *                                          obj not being deleted, and a fresh
 *                                          GET of owner confirms its uid)
 *   controlled by another               -> ignored
 *
 * Both patches are JSON patches whose first operation tests the dependent's
 * uid (the precondition Kubernetes' patches carry), so a dependent deleted
 * and made again under the same name is never claimed by mistake; they also
 * test the ownerReferences they change (or, when there are none, the
 * resourceVersion), so a concurrent claim by someone else is not lost.
 */
#include "claim.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>

#define JSON_PATCH "application/json-patch+json"

/* A JSON patch (RFC 6902) starting with the uid precondition: a dependent
 * deleted and made again under the same name fails the test (422). */
static json_t *uid_guarded(const json_t *obj)
{
	return json_pack("[{s:s, s:s, s:s}]", "op", "test", "path", "/metadata/uid", "value", obj_meta(obj, "uid") ?: "");
}

json_t *claim_adopt_patch(const json_t *owner, const char *api_version, const char *kind, const json_t *obj)
{
	json_t *ops = uid_guarded(obj);
	json_t *ref = owner_ref_new(owner, api_version, kind);
	if (json_is_array(json_path(obj, "metadata.ownerReferences"))) {
		/* the list as cached: nobody took the object meanwhile */
		json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "test", "path", "/metadata/ownerReferences",
						     "value", json_path(obj, "metadata.ownerReferences")));
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "add", "path", "/metadata/ownerReferences/-",
						     "value", ref));
	} else {
		/* no list to test: the resourceVersion guards the add */
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "test", "path", "/metadata/resourceVersion",
						     "value", obj_meta(obj, "resourceVersion") ?: ""));
		json_array_append_new(ops, json_pack("{s:s, s:s, s:[o]}", "op", "add", "path", "/metadata/ownerReferences",
						     "value", ref));
	}
	return ops;
}

json_t *claim_release_patch(const json_t *owner, const json_t *obj)
{
	json_t *ops = uid_guarded(obj);
	size_t i;
	json_t *r;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, r) {
		if (strcmp(json_str(r, "uid") ?: "", obj_meta(owner, "uid") ?: ""))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/metadata/ownerReferences/%zu/uid", i);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "test", "path", path, "value",
						     obj_meta(owner, "uid") ?: ""));
		snprintf(path, sizeof(path), "/metadata/ownerReferences/%zu", i);
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", path));
		break;
	}
	return ops;
}

bool claim_selector_matches(const json_t *owner, const json_t *obj, void *ud)
{
	(void)ud;
	json_t *sel = json_path(owner, "spec.selector");
	return sel && sel_matches(sel, json_path(obj, "metadata.labels"));
}

static int patch_obj(Ctl *c, const ClaimSpec *spec, const json_t *obj, const json_t *patch, Error **err)
{
	char coll[512];
	snprintf(coll, sizeof(coll), spec->resource_fmt, obj_meta(obj, "namespace") ?: "");
	_cleanup_free_ char *path = xasprintf("%s/%s", coll, obj_meta(obj, "name") ?: "");
	return kube_request(c->m->kc, "PATCH", path, patch, JSON_PATCH, NULL, NULL, err);
}

/* Kubernetes' RecheckDeletionTimestamp: the owner as the API has it now. */
static int owner_can_adopt(Ctl *c, const json_t *owner, Error **err)
{
	char coll[512];
	snprintf(coll, sizeof(coll), c->coll_fmt, obj_meta(owner, "namespace") ?: "");
	_cleanup_free_ char *path = xasprintf("%s/%s", coll, obj_meta(owner, "name") ?: "");
	_cleanup_json_ json_t *fresh = NULL;
	int r = kube_get(c->m->kc, path, &fresh, err);
	if (r < 0)
		return err_prefix(err, "%s '%s/%s': can't adopt", c->kind, obj_meta(owner, "namespace"),
				  obj_meta(owner, "name"));
	if (strcmp(obj_meta(fresh, "uid") ?: "", obj_meta(owner, "uid") ?: ""))
		return err_set(err, ESTALE, "%s '%s/%s': original was deleted (uid changed)", c->kind,
			       obj_meta(owner, "namespace"), obj_meta(owner, "name"));
	if (json_path(fresh, "metadata.deletionTimestamp"))
		return err_set(err, EBUSY, "%s '%s/%s': being deleted, can't adopt", c->kind,
			       obj_meta(owner, "namespace"), obj_meta(owner, "name"));
	return 0;
}

/* Keep the first error (and its code in *rc); free the later ones. */
static void keep_err(int *rc, int r, Error **err, Error **e)
{
	if (*rc < 0) {
		err_freep(e);
		return;
	}
	*rc = r < 0 ? r : -EIO;
	if (err)
		*err = TAKE_PTR(*e);
	else
		err_freep(e);
}

int ctl_claim(Ctl *c, const json_t *owner, const json_t *objs, const ClaimSpec *spec, json_t **ret, Error **err)
{
	json_t *mine = json_array();
	int rc = 0;
	const char *uid = obj_meta(owner, "uid") ?: "";
	bool owner_deleting = json_path(owner, "metadata.deletionTimestamp") != NULL;
	int can_adopt = 1;  /* 1 unknown, 0 yes, < 0 no */
	size_t i;
	json_t *obj;
	json_array_foreach(objs, i, obj) {
		const json_t *ref = obj_controller_ref(obj);
		bool match = spec->match(owner, obj, spec->ud);
		_cleanup_err_ Error *e = NULL;
		if (ref) {
			if (strcmp(json_str(ref, "uid") ?: "", uid))
				continue;  /* another controller's */
			if (match) {
				json_array_append(mine, obj);
				continue;
			}
			if (owner_deleting)
				continue;
			_cleanup_json_ json_t *patch = claim_release_patch(owner, obj);
			int r = patch_obj(c, spec, obj, patch, &e);
			if (r < 0 && r != -ENOENT) {
				err_prefix(&e, "%s '%s/%s': release '%s'", c->kind, obj_meta(owner, "namespace"),
					   obj_meta(owner, "name"), obj_meta(obj, "name"));
				keep_err(&rc, r, err, &e);
			}
			continue;
		}
		if (!match || owner_deleting || json_path(obj, "metadata.deletionTimestamp"))
			continue;
		if (can_adopt == 1)
			can_adopt = owner_can_adopt(c, owner, &e);
		if (can_adopt < 0) {
			if (e)
				keep_err(&rc, can_adopt, err, &e);
			continue;
		}
		_cleanup_json_ json_t *patch = claim_adopt_patch(owner, c->api_version, c->kind, obj);
		int r = patch_obj(c, spec, obj, patch, &e);
		if (r == 0) {
			log_debug("%s '%s/%s': adopted '%s'", c->kind, obj_meta(owner, "namespace"), obj_meta(owner, "name"),
				  obj_meta(obj, "name"));
			json_t *adopted = json_deep_copy(obj);
			json_t *refs = json_object_get(json_object_get(adopted, "metadata"), "ownerReferences");
			if (!json_is_array(refs)) {
				refs = json_array();
				json_object_set_new(json_object_get(adopted, "metadata"), "ownerReferences", refs);
			}
			json_array_append_new(refs, owner_ref_new(owner, c->api_version, c->kind));
			json_array_append_new(mine, adopted);
		} else if (r != -ENOENT) {
			err_prefix(&e, "%s '%s/%s': adopt '%s'", c->kind, obj_meta(owner, "namespace"), obj_meta(owner, "name"),
				   obj_meta(obj, "name"));
			keep_err(&rc, r, err, &e);
		}
	}
	*ret = mine;
	return rc;
}

void ctl_enqueue_selecting(Ctl *c, const json_t *obj)
{
	if (obj_controller_ref(obj) || json_path(obj, "metadata.deletionTimestamp"))
		return;
	_cleanup_json_ json_t *owners = informer_list(c->inf, obj_meta(obj, "namespace"));
	size_t i;
	json_t *o;
	json_array_foreach(owners, i, o)
		if (claim_selector_matches(o, obj, NULL))
			ctl_enqueue_obj(c, o);
}
