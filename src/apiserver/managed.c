/* managed.c - managedFields and server-side apply.
 *
 * Every write records who owns which fields, as Kubernetes does:
 *
 *   Update (create, PUT, JSON/merge/strategic PATCH): the fields the write
 *     added or changed move to the entry (manager, Update, apiVersion,
 *     subresource); fields the write removed leave every entry.  The manager
 *     is ?fieldManager= or the User-Agent up to its first '/'.
 *   Apply (PATCH application/apply-patch+yaml, ?fieldManager= required): the
 *     applied configuration is merged into the live object; a field another
 *     manager owns whose value the apply would change is a conflict (409
 *     listing each field and its manager) unless ?force=true, which takes it
 *     over; fields this manager applied last time and no longer applies are
 *     removed unless someone else owns them; the manager's Apply entry
 *     becomes exactly the applied set.  An object that never had
 *     managedFields is first credited to "before-first-apply".
 *
 * Sets are computed on the object without the fields Kubernetes strips
 * (apiVersion, kind, name, namespace, uid, resourceVersion, ...), without
 * status on the main resource of a kind with a status subresource, and with
 * only status on the status subresource (only spec.replicas on scale, whose
 * Update and Apply entries name the subresource).  Field-set mechanics: fieldset.c.
 */
#include "api-internal.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include <string.h>

#define MAX_MANAGER_LEN 128

typedef struct MfEntry {
	char *manager, *operation, *api_version, *time, *sub;
	json_t *set;
} MfEntry;

typedef struct Mf {
	MfEntry *v;
	size_t n;
} Mf;

static void mf_release(Mf *mf)
{
	for (size_t i = 0; i < mf->n; i++) {
		free(mf->v[i].manager);
		free(mf->v[i].operation);
		free(mf->v[i].api_version);
		free(mf->v[i].time);
		free(mf->v[i].sub);
		json_decref(mf->v[i].set);
	}
	free(mf->v);
	memset(mf, 0, sizeof(*mf));
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static MfEntry *mf_add(Mf *mf, const char *manager, const char *op, const char *av, const char *sub)
{
	mf->v = xrealloc(mf->v, (mf->n + 1) * sizeof(MfEntry));
	MfEntry *e = &mf->v[mf->n++];
	memset(e, 0, sizeof(*e));
	e->manager = xstrdup(manager);
	e->operation = xstrdup(op);
	e->api_version = dup_or_null(av);
	e->sub = dup_or_null(sub);
	e->set = json_object();
	return e;
}

/* Entries from a managedFields array; false when it is the reset form [{}]. */
static bool mf_parse(const json_t *arr, Mf *mf)
{
	size_t i;
	json_t *e;
	bool any = false;
	json_array_foreach(arr, i, e) {
		const char *m = json_str(e, "manager"), *op = json_str(e, "operation");
		if (!json_is_object(e) || (!m && !op))
			continue;
		any = true;
		MfEntry *x = mf_add(mf, m ? m : "", op ? op : "Update", json_str(e, "apiVersion"), json_str(e, "subresource"));
		x->time = dup_or_null(json_str(e, "time"));
		json_decref(x->set);
		x->set = api_fieldset_from_v1(json_object_get(e, "fieldsV1"));
	}
	return any;
}

static json_t *mf_json(const Mf *mf)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < mf->n; i++) {
		const MfEntry *e = &mf->v[i];
		if (!json_object_size(e->set))
			continue;
		json_t *o = json_pack("{s:s, s:s}", "manager", e->manager, "operation", e->operation);
		if (e->api_version)
			json_object_set_new(o, "apiVersion", json_string(e->api_version));
		if (e->time)
			json_object_set_new(o, "time", json_string(e->time));
		json_object_set_new(o, "fieldsType", json_string("FieldsV1"));
		json_object_set_new(o, "fieldsV1", api_fieldset_to_v1(e->set));
		if (e->sub)
			json_object_set_new(o, "subresource", json_string(e->sub));
		json_array_append_new(arr, o);
	}
	return arr;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The entry of (manager, op, subresource); Update entries are per apiVersion too. */
static MfEntry *mf_entry(Mf *mf, const char *manager, const char *op, const char *av, const char *sub, bool create)
{
	bool update = !strcmp(op, "Update");
	for (size_t i = 0; i < mf->n; i++) {
		MfEntry *e = &mf->v[i];
		if (!strcmp(e->manager, manager) && !strcmp(e->operation, op) && str_eq(e->sub, sub) &&
		    (!update || str_eq(e->api_version, av)))
			return e;
	}
	return create ? mf_add(mf, manager, op, av, sub) : NULL;
}

static void entry_touch(MfEntry *e, const char *av)
{
	char now[40];
	api_now_rfc3339(now, sizeof(now));
	free(e->time);
	e->time = xstrdup(now);
	if (av) {
		free(e->api_version);
		e->api_version = xstrdup(av);
	}
}

/* ---- scope ---- */

/* The subresource an entry is recorded for: status and scale own only their part. */
static const char *status_sub(const ApiRequest *req)
{
	return req->sub && (!strcmp(req->sub, "status") || !strcmp(req->sub, "scale")) ? req->sub : NULL;
}

/* obj without what managedFields never track (a new reference; {} for NULL). */
static json_t *scoped(const ApiRequest *req, const json_t *obj)
{
	static const char *const strip[] = { "name", "namespace", "uid", "resourceVersion", "generation",
					     "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp",
					     "deletionGracePeriodSeconds" };
	if (!json_is_object(obj))
		return json_object();
	if (status_sub(req) && !strcmp(req->sub, "scale")) {
		json_t *rep = json_path(obj, "spec.replicas");
		return rep ? json_pack("{s:{s:O}}", "spec", "replicas", rep) : json_object();
	}
	if (status_sub(req)) {
		json_t *st = json_object_get(obj, "status");
		return st ? json_pack("{s:O}", "status", st) : json_object();
	}
	json_t *s = json_copy((json_t *)obj);
	json_object_del(s, "apiVersion");
	json_object_del(s, "kind");
	if (req->res && req->res->has_status)
		json_object_del(s, "status");
	json_t *m = json_object_get(s, "metadata");
	if (json_is_object(m)) {
		m = json_copy(m);
		for (size_t i = 0; i < ARRAY_SIZE(strip); i++)
			json_object_del(m, strip[i]);
		if (json_object_size(m))
			json_object_set_new(s, "metadata", m);
		else {
			json_decref(m);
			json_object_del(s, "metadata");
		}
	}
	return s;
}

static json_t *fieldset_scoped(const ApiRequest *req, const json_t *obj)
{
	_cleanup_json_ json_t *s = scoped(req, obj);
	return api_fieldset_of(s);
}

/* Whether the value at path differs between a and b (a structural node only
 * when it appears or goes). */
static bool path_changed(const json_t *a, const json_t *b, const char *path)
{
	json_t *x = api_fieldset_lookup(a, path), *y = api_fieldset_lookup(b, path);
	if (!x || !y)
		return x != y;
	if (json_is_object(x) && json_is_object(y) && json_object_size(x) && json_object_size(y))
		return false;
	return !json_equal(x, y);
}

/* Drop from every entry the paths obj no longer has. */
static void mf_prune(Mf *mf, const json_t *obj)
{
	for (size_t i = 0; i < mf->n; i++) {
		const char *p;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(mf->v[i].set, tmp, p, v)
			if (!api_fieldset_lookup(obj, p))
				json_object_del(mf->v[i].set, p);
	}
}

const char *api_field_manager(const ApiRequest *req, char *buf, size_t n)
{
	const char *m = api_param(req, "fieldManager");
	if (m && *m)
		return m;
	if (!req->user_agent || !*req->user_agent)
		return NULL;
	snprintf(buf, n, "%.*s", (int)strcspn(req->user_agent, "/"), req->user_agent);
	return *buf ? buf : NULL;
}

/* ---- Update ---- */

void api_managed_update(const ApiRequest *req, const json_t *old, json_t *obj)
{
	char mbuf[MAX_MANAGER_LEN + 1];
	const char *manager = api_field_manager(req, mbuf, sizeof(mbuf));
	json_t *meta = json_obj_ensure(obj, "metadata");
	json_t *sent = json_object_get(meta, "managedFields");
	const json_t *basis = json_array_size(sent) ? sent : json_path(old, "metadata.managedFields");
	_cleanup_(mf_release) Mf mf = { 0 };
	bool reset = json_array_size(sent) && !mf_parse(basis, &mf);
	(void)reset;
	if (!manager) {
		if (json_is_array(basis))
			json_object_set(meta, "managedFields", (json_t *)basis);
		return;
	}
	_cleanup_json_ json_t *so = scoped(req, old), *sn = scoped(req, obj);
	_cleanup_json_ json_t *newset = api_fieldset_of(sn);
	_cleanup_json_ json_t *changed = json_object();
	const char *p;
	json_t *v;
	json_object_foreach(newset, p, v)
		if (!old || path_changed(so, sn, p))
			json_object_set_new(changed, p, json_true());
	mf_prune(&mf, obj);
	if (json_object_size(changed)) {
		_cleanup_free_ char *av = req->res ? api_resource_api_version(req->res) : NULL;
		for (size_t i = 0; i < mf.n; i++)
			json_object_foreach(changed, p, v)
				json_object_del(mf.v[i].set, p);
		MfEntry *e = mf_entry(&mf, manager, "Update", av, status_sub(req), true);
		json_object_update(e->set, changed);
		entry_touch(e, av);
	}
	json_object_set_new(meta, "managedFields", mf_json(&mf));
}

/* ---- Apply ---- */

typedef struct Conflict {
	const MfEntry *owner;
	char *path;
} Conflict;

static char *manager_text(const MfEntry *e)
{
	StrBuf sb = STRBUF_INIT;
	sb_addf(&sb, "\"%s\"", e->manager);
	if (e->sub)
		sb_addf(&sb, " with subresource \"%s\"", e->sub);
	if (!strcmp(e->operation, "Update"))
		sb_addf(&sb, " using %s", e->api_version ? e->api_version : "v1");
	return sb_detach(&sb);
}

static int cmp_conflict(const void *a, const void *b)
{
	const Conflict *x = a, *y = b;
	int c = strcmp(x->owner->manager, y->owner->manager);
	if (!c)
		c = strcmp(x->owner->operation, y->owner->operation);
	return c ? c : strcmp(x->path, y->path);
}

/* 409 as kube-apiserver words it ("Apply failed with N conflicts: ..."). */
static void respond_conflicts(ApiResponse *resp, Conflict *c, size_t n)
{
	qsort(c, n, sizeof(*c), cmp_conflict);
	json_t *causes = json_array();
	StrBuf msg = STRBUF_INIT;
	sb_addf(&msg, "Apply failed with %zu conflict%s: ", n, n == 1 ? "" : "s");
	const MfEntry *last = NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *who = manager_text(c[i].owner);
		_cleanup_free_ char *field = api_fieldset_path_string(c[i].path);
		_cleanup_free_ char *cm = xasprintf("conflict with %s", who);
		json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", "FieldManagerConflict", "message",
							cm, "field", field));
		if (n == 1) {
			sb_addf(&msg, "conflict with %s: %s", who, field);
			continue;
		}
		if (c[i].owner != last)
			sb_addf(&msg, "%sconflicts with %s:", last ? "\n" : "", who);
		sb_addf(&msg, "\n- %s", field);
		last = c[i].owner;
	}
	api_respond_json(resp, 409, api_status(409, "Conflict", sb_str(&msg), json_pack("{s:o}", "causes", causes)));
	sb_release(&msg);
}

static bool owned_by_other(const Mf *mf, const MfEntry *self, const char *path)
{
	for (size_t i = 0; i < mf->n; i++)
		if (&mf->v[i] != self && json_object_get(mf->v[i].set, path))
			return true;
	return false;
}

/* Conflicts of applying (aset) over live -> merged; with force they change hands. */
static int check_conflicts(Mf *mf, const MfEntry *self, const json_t *aset, const json_t *live, const json_t *merged,
			   bool force, ApiResponse *resp)
{
	Conflict *c = NULL;
	size_t n = 0;
	for (size_t i = 0; i < mf->n; i++) {
		if (&mf->v[i] == self)
			continue;
		const char *p;
		json_t *v;
		json_object_foreach((json_t *)aset, p, v) {
			if (!json_object_get(mf->v[i].set, p) || !api_fieldset_lookup(live, p) ||
			    !path_changed(live, merged, p))
				continue;
			c = xrealloc(c, (n + 1) * sizeof(*c));
			c[n++] = (Conflict){ &mf->v[i], xstrdup(p) };
		}
	}
	int r = 0;
	if (n && !force) {
		respond_conflicts(resp, c, n);
		r = -EBUSY;
	}
	for (size_t i = 0; i < n; i++) {
		if (force)
			json_object_del(((MfEntry *)c[i].owner)->set, c[i].path);
		free(c[i].path);
	}
	free(c);
	return r;
}

/* Fields self applied before and no longer applies go, unless another manager owns them. */
static void remove_unapplied(const Mf *mf, const MfEntry *self, const json_t *aset, json_t *merged)
{
	const char *p;
	json_t *v;
	json_object_foreach(self->set, p, v)
		if (!json_object_get(aset, p) && !owned_by_other(mf, self, p))
			api_fieldset_remove(merged, p);
}

json_t *api_managed_apply(ApiRequest *req, const json_t *live, const json_t *applied, ApiResponse *resp)
{
	const char *manager = api_param(req, "fieldManager");
	if (!manager || !*manager || strlen(manager) > MAX_MANAGER_LEN) {
		api_respond_status(resp, 422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: %s",
				   manager && *manager ? "Too long: may not be longer than 128" :
							 "Required value: is required for apply patch");
		return NULL;
	}
	if (json_path(applied, "metadata.managedFields")) {
		api_respond_status(resp, 400, "BadRequest", "metadata.managedFields must be nil");
		return NULL;
	}
	_cleanup_free_ char *av = req->res ? api_resource_api_version(req->res) : NULL;
	_cleanup_json_ json_t *aset = fieldset_scoped(req, applied);
	_cleanup_(mf_release) Mf mf = { 0 };
	if (live && !mf_parse(json_path(live, "metadata.managedFields"), &mf)) {
		MfEntry *b = mf_add(&mf, "before-first-apply", "Update", av, NULL);
		json_decref(b->set);
		b->set = fieldset_scoped(req, live);
	}
	_cleanup_json_ json_t *merged = live ? api_fieldset_merge(live, applied) : json_deep_copy(applied);
	MfEntry *self = mf_entry(&mf, manager, "Apply", av, status_sub(req), true);
	if (live && check_conflicts(&mf, self, aset, live, merged, api_param_true(req, "force"), resp) < 0)
		return NULL;
	remove_unapplied(&mf, self, aset, merged);
	json_decref(self->set);
	self->set = json_deep_copy(aset);
	entry_touch(self, av);
	mf_prune(&mf, merged);
	json_object_set_new(json_obj_ensure(merged, "metadata"), "managedFields", mf_json(&mf));
	req->managed_set = true;
	return TAKE_PTR(merged);
}
