/* history.c - ControllerRevisions, the template history of DaemonSets and
 * StatefulSets (what `kubectl rollout history/undo daemonset|statefulset`
 * read and apply).
 *
 * A revision stores the owner's spec.template as the strategic-merge patch
 * Kubernetes stores, {"spec":{"template":{..., "$patch":"replace"}}}, as
 * Go's json.Marshal writes it (keys sorted, no spaces, <>& escaped, a null
 * metadata.creationTimestamp), so kubectl's undo can PATCH it back.  Its name
 * is "<owner>-<hash>", the hash FNV-32 (FNV-1) of those bytes plus the
 * collision count in decimal, in SafeEncodeString's alphabet.  Revision
 * numbers grow: a template equal to an older revision moves that revision to
 * max+1.  Revisions no pod uses are pruned beyond revisionHistoryLimit
 * (default 10), lowest revision first.  hist_claim adopts orphaned
 * revisions the owner selects (a set deleted with --cascade=orphan and made
 * again finds its history, so the pods' revision hash still matches).
 */
#include "controller-internal.h"
#include "claim.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>

#define DEFAULT_HISTORY_LIMIT 10

json_t *hist_patch(const json_t *owner)
{
	json_t *tmpl = obj_copy_or_new(json_path(owner, "spec.template"));
	if (!json_is_object(tmpl)) {
		json_decref(tmpl);
		tmpl = json_object();
	}
	json_t *meta = json_obj_ensure(tmpl, "metadata");
	if (!json_object_get(meta, "creationTimestamp"))
		json_object_set_new(meta, "creationTimestamp", json_null());
	json_object_set_new(tmpl, "$patch", json_string("replace"));
	return json_pack("{s:{s:o}}", "spec", "template", tmpl);
}

char *hist_patch_text(const json_t *patch)
{
	_cleanup_free_ char *raw = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!raw)
		return xstrdup("null");
	/* Go's encoder escapes <, > and & (and U+2028/2029) inside strings */
	size_t n = 0;
	for (const char *p = raw; *p; p++)
		n += (*p == '<' || *p == '>' || *p == '&') ? 6 : 1;
	char *out = xmalloc(n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
		if (*p == '<' || *p == '>' || *p == '&') {
			o += sprintf(o, "\\u%04x", *p);
		} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			/* same length is not guaranteed: grow for the rare case */
			size_t at = (size_t)(o - out);
			n += 3;
			out = xrealloc(out, n + 1);
			o = out + at;
			o += sprintf(o, "\\u%04x", p[2] == 0xa8 ? 0x2028 : 0x2029);
			p += 2;
		} else
			*o++ = (char)*p;
	}
	*o = 0;
	return out;
}

void hist_hash(const char *text, int64_t collision, char *buf, size_t n)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h * 16777619u) ^ *p;  /* FNV-1: multiply, then xor */
	if (collision >= 0) {
		char d[24];
		snprintf(d, sizeof(d), "%lld", (long long)collision);
		for (const char *p = d; *p; p++)
			h = (h * 16777619u) ^ (unsigned char)*p;
	}
	static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
	char dec[16];
	snprintf(dec, sizeof(dec), "%u", h);
	size_t i;
	for (i = 0; dec[i] && i + 1 < n; i++)
		buf[i] = al[(unsigned char)dec[i] % (sizeof(al) - 1)];
	if (n)
		buf[i] = 0;
}

int64_t hist_revision(const json_t *cr) { return json_int(cr, "revision", 0); }

static int cmp_revision(const void *a, const void *b)
{
	int64_t x = hist_revision(*(json_t *const *)a), y = hist_revision(*(json_t *const *)b);
	if (x != y)
		return x < y ? -1 : 1;
	return strcmp(obj_meta(*(json_t *const *)a, "name") ?: "", obj_meta(*(json_t *const *)b, "name") ?: "");
}

void hist_sort(json_t *revs)
{
	size_t n = json_array_size(revs);
	if (n < 2)
		return;
	json_t **v = xmalloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(revs, i));
	qsort(v, n, sizeof(*v), cmp_revision);
	json_array_clear(revs);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(revs, v[i]);
	free(v);
}

json_t *hist_owned(Informer *crs, const json_t *owner)
{
	_cleanup_json_ json_t *all = informer_list(crs, obj_meta(owner, "namespace"));
	const char *uid = obj_meta(owner, "uid") ?: "";
	json_t *mine = json_array();
	size_t i;
	json_t *cr;
	json_array_foreach(all, i, cr) {
		const json_t *ref = obj_controller_ref(cr);
		if (ref && !strcmp(json_str(ref, "uid") ?: "", uid) && !json_path(cr, "metadata.deletionTimestamp"))
			json_array_append(mine, cr);
	}
	hist_sort(mine);
	return mine;
}

static bool cr_live(const json_t *owner, const json_t *cr, void *ud)
{
	return claim_selector_matches(owner, cr, ud);
}

int hist_claim(Ctl *c, const json_t *owner, json_t **ret, Error **err)
{
	_cleanup_json_ json_t *all = informer_list(c->m->crs, obj_meta(owner, "namespace"));
	_cleanup_json_ json_t *cands = json_array();
	size_t i;
	json_t *cr;
	json_array_foreach(all, i, cr)
		if (!json_path(cr, "metadata.deletionTimestamp"))
			json_array_append(cands, cr);
	ClaimSpec spec = { .resource_fmt = "/apis/apps/v1/namespaces/%s/controllerrevisions", .match = cr_live };
	int r = ctl_claim(c, owner, cands, &spec, ret, err);
	hist_sort(*ret);
	return r;
}

int64_t hist_max_revision(const json_t *revs)
{
	int64_t m = 0;
	size_t i;
	json_t *cr;
	json_array_foreach(revs, i, cr)
		if (hist_revision(cr) > m)
			m = hist_revision(cr);
	return m;
}

json_t *hist_template(const json_t *cr)
{
	json_t *t = obj_copy_or_new(json_path(cr, "data.spec.template"));
	json_object_del(t, "$patch");
	return t;
}

static char *cr_path(const char *ns, const char *name)
{
	return name ? xasprintf("/apis/apps/v1/namespaces/%s/controllerrevisions/%s", ns, name)
		    : xasprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
}

static json_t *cr_new(const Ctl *c, const json_t *owner, const char *hash_label, const char *hash, json_t *data,
		      int64_t revision)
{
	const char *ns = obj_meta(owner, "namespace") ?: "";
	_cleanup_free_ char *name = xasprintf("%.223s-%s", obj_meta(owner, "name") ?: "", hash);
	json_t *labels = obj_copy_or_new(json_path(owner, "spec.template.metadata.labels"));
	json_object_set_new(labels, hash_label, json_string(hash));
	json_t *anns = obj_copy_or_new(json_path(owner, "metadata.annotations"));
	json_object_del(anns, "kubectl.kubernetes.io/last-applied-configuration");
	json_t *meta = json_pack("{s:s, s:s, s:o, s:o, s:[o]}", "name", name, "namespace", ns, "labels", labels,
				 "annotations", anns, "ownerReferences", owner_ref_new(owner, c->api_version, c->kind));
	return json_pack("{s:s, s:s, s:o, s:O, s:I}", "apiVersion", "apps/v1", "kind", "ControllerRevision", "metadata",
			 meta, "data", data, "revision", (json_int_t)revision);
}

static int bump_collision(Ctl *c, const json_t *owner, int64_t collision, Error **err)
{
	char coll[512];
	snprintf(coll, sizeof(coll), c->coll_fmt, obj_meta(owner, "namespace"));
	_cleanup_free_ char *path = xasprintf("%s/%s/status", coll, obj_meta(owner, "name"));
	_cleanup_json_ json_t *patch = json_pack("{s:{s:I}}", "status", "collisionCount", (json_int_t)(collision + 1));
	return kube_patch(c->m->kc, path, patch, NULL, err);
}

int hist_update_revision(Ctl *c, const json_t *owner, const char *hash_label, const json_t *revs,
			 int64_t unset_collision, json_t **ret, Error **err)
{
	const char *ns = obj_meta(owner, "namespace") ?: "";
	_cleanup_json_ json_t *data = hist_patch(owner);
	int64_t max = hist_max_revision(revs);
	size_t i;
	json_t *cr, *equal = NULL;
	json_array_foreach(revs, i, cr)
		if (json_equal(json_object_get(cr, "data"), data))
			equal = cr;  /* revs are sorted: the newest equal one */
	if (equal) {
		if (hist_revision(equal) == max) {
			*ret = json_incref(equal);
			return 0;
		}
		_cleanup_json_ json_t *patch = json_pack("{s:I}", "revision", (json_int_t)(max + 1));
		_cleanup_free_ char *path = cr_path(ns, obj_meta(equal, "name"));
		int r = kube_patch(c->m->kc, path, patch, ret, err);
		return r < 0 ? err_prefix(err, "%s '%s/%s': revision", c->kind, ns, obj_meta(owner, "name")) : 0;
	}
	json_t *ccj = json_path(owner, "status.collisionCount");
	int64_t collision = json_is_integer(ccj) ? json_integer_value(ccj) : unset_collision;
	_cleanup_free_ char *text = hist_patch_text(data);
	char hash[16];
	hist_hash(text, collision, hash, sizeof(hash));
	_cleanup_json_ json_t *obj = cr_new(c, owner, hash_label, hash, data, max + 1);
	_cleanup_free_ char *coll = cr_path(ns, NULL);
	int r = kube_post(c->m->kc, coll, obj, ret, err);
	if (r != -EEXIST)
		return r < 0 ? err_prefix(err, "%s '%s/%s': create revision", c->kind, ns, obj_meta(owner, "name")) : 0;
	err_freep(err);
	_cleanup_free_ char *path = cr_path(ns, obj_meta(obj, "name"));
	json_t *have = NULL;
	if ((r = kube_get(c->m->kc, path, &have, err)) < 0)
		return r;
	const json_t *ref = obj_controller_ref(have);
	if (ref && !strcmp(json_str(ref, "uid") ?: "", obj_meta(owner, "uid") ?: "") &&
	    json_equal(json_object_get(have, "data"), data)) {
		*ret = have;  /* ours, not yet in the cache */
		return 0;
	}
	json_decref(have);
	_cleanup_err_ Error *e2 = NULL;
	bump_collision(c, owner, collision < 0 ? 0 : collision, &e2);
	return err_set(err, EEXIST, "%s '%s/%s': hash collision on controller revision '%s'", c->kind, ns,
		       obj_meta(owner, "name"), obj_meta(obj, "name"));
}

void hist_prune(Ctl *c, const json_t *owner, const json_t *revs, const json_t *live)
{
	json_t *lim = json_path(owner, "spec.revisionHistoryLimit");
	int64_t limit = json_is_integer(lim) ? json_integer_value(lim) : DEFAULT_HISTORY_LIMIT;
	_cleanup_json_ json_t *dead = json_array();
	size_t i;
	json_t *cr;
	json_array_foreach(revs, i, cr) {
		bool in_use = false;
		size_t j;
		json_t *l;
		json_array_foreach(live, j, l)
			in_use |= !strcmp(json_string_value(l) ?: "", obj_meta(cr, "name") ?: "");
		if (!in_use)
			json_array_append(dead, cr);
	}
	int64_t extra = (int64_t)json_array_size(dead) - limit;
	hist_sort(dead);
	for (int64_t k = 0; k < extra; k++) {
		json_t *d = json_array_get(dead, (size_t)k);
		_cleanup_free_ char *path = cr_path(obj_meta(d, "namespace") ?: "", obj_meta(d, "name"));
		_cleanup_err_ Error *e = NULL;
		if (kube_delete(c->m->kc, path, &e) < 0 && e && e->code != ENOENT)
			log_debug("%s: prune revision: %s", c->name, err_msg(e));
	}
}
