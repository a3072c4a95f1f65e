/* release-action.c - Helm's actions on releases (pkg/action): install,
 * upgrade, rollback, uninstall and test, with the same sequence of stored
 * states (pending-* record first, then deployed / superseded / failed /
 * uninstalled), hooks around the object changes, --atomic undo, history
 * pruning, and Helm's descriptions ("Install complete", "Rollback to 2"...).
 * Nothing is stored when rendering fails.
 */
#include "release.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hand e to the caller (or drop it when the caller passed no err). */
static void err_pass(Error **err, Error *e)
{
	if (err && !*err)
		*err = e;
	else
		err_free(e);
}

int release_check_name(const char *name, Error **err)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= 53;
	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		bool alnum = islower((unsigned char)c) || isdigit((unsigned char)c);
		if (alnum)
			continue;
		if (c != '-' && c != '.')
			ok = false;
		else if (i == 0 || i == n - 1 || (c == '.' && (name[i - 1] == '.' || name[i - 1] == '-' || name[i + 1] == '-')))
			ok = false;
	}
	if (!ok)
		return err_set(err, EINVAL,
			       "release name \"%s\": invalid release name, must match regex "
			       "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be "
			       "longer than 53", name);
	return 0;
}

static const char *kube_version(KubeClient *kc, char *buf, size_t n)
{
	_cleanup_json_ json_t *v = NULL;
	if (kube_get(kc, "/version", &v, NULL) < 0 || !json_str(v, "gitVersion"))
		return NULL;
	snprintf(buf, n, "%s", json_str(v, "gitVersion"));
	/* strip a "+build" suffix: Capabilities.KubeVersion is semver-ish */
	char *plus = strchr(buf, '+');
	if (plus)
		*plus = 0;
	return buf;
}

static int render(KubeClient *kc, RelKube *k, const RelOptions *o, const json_t *vals, int revision, bool upgrade,
		  RelRender *out, Error **err)
{
	char kv[64];
	RenderOptions ro = { .release_name = o->name, .namespace = o->ns, .kube_version = kube_version(kc, kv, sizeof kv),
			     .is_upgrade = upgrade, .revision = revision };
	chart_set_lookup(relkube_lookup, k);
	int rc = release_render(o->chart, vals, &ro, out, err);
	chart_set_lookup(NULL, NULL);
	return rc;
}

static void set_time(json_t *rel, const char *field, const char *value)
{
	json_t *info = json_object_get(rel, "info");
	if (value)
		json_object_set_new(info, field, json_string(value));
	else {
		_cleanup_free_ char *now = release_time_now();
		json_object_set_new(info, field, json_string(now));
	}
}

static int hooks(RelKube *k, json_t *rel, const RelOptions *o, const char *event, Error **err)
{
	if (o->no_hooks || o->dry_run)
		return 0;
	if (relkube_run_hooks(k, rel, event, o->timeout_s, err) < 0)
		return err_prefix(err, "failed %s", event);
	return 0;
}

/* ---- install ------------------------------------------------------------------------------------- */
static int uninstall_rel(KubeClient *kc, RelKube *k, json_t *rel, const RelOptions *o, StrBuf *kept, Error **err);

static int install_apply(KubeClient *kc, RelKube *k, json_t *rel, const RelOptions *o, Error **err)
{
	const char *ns = release_namespace(rel), *manifest = json_str(rel, "manifest") ?: "";
	if (hooks(k, rel, o, "pre-install", err) < 0)
		return -EIO;
	if (relkube_create(k, manifest, ns, o->name, true, err) < 0)
		return -EIO;
	if ((o->wait || o->atomic) && relkube_wait(k, manifest, ns, o->timeout_s, err) < 0)
		return -EIO;
	if (hooks(k, rel, o, "post-install", err) < 0)
		return -EIO;
	(void)kc;
	return 0;
}

/* chart.CRDObjects(): crds/ of the chart and its subcharts, installed first. */
static int install_crds(RelKube *k, const Chart *c, Error **err)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (!strncmp(c->files[i].name, "crds/", 5) && relkube_install_crds(k, c->files[i].data, err) < 0)
			return err_prefix(err, "failed to install CRD %s", c->files[i].name);
	for (size_t i = 0; i < c->ndeps; i++)
		if (install_crds(k, c->deps[i], err) < 0)
			return -EIO;
	return 0;
}

static int install_with(KubeClient *kc, RelKube *k, const RelOptions *o, json_t **ret, Error **err)
{
	if (release_check_name(o->name, err) < 0)
		return -EINVAL;
	if (!o->dry_run) {
		_cleanup_json_ json_t *last = NULL;
		if (release_store_last(kc, o->ns, o->name, &last, NULL) == 0)
			return err_set(err, EEXIST, "cannot re-use a name that is still in use");
	}
	RelRender rr;
	if (render(kc, k, o, o->values, 1, false, &rr, err) < 0)
		return -EINVAL;
	json_t *rel = release_new(o->name, o->ns, 1, release_chart_json(o->chart),
				  o->values ? json_deep_copy(o->values) : NULL, rr.manifest, json_incref(rr.hooks), rr.notes);
	relrender_release(&rr);
	*ret = rel;
	release_set_status(rel, "pending-install", "Initial install underway");
	if (o->dry_run) {
		release_set_status(rel, "pending-install", "Dry run complete");
		return 0;
	}
	if (o->create_namespace && relkube_ensure_namespace(k, o->ns, err) < 0)
		return err_prefix(err, "create namespace %s", o->ns);
	if (!o->no_crds && install_crds(k, o->chart, err) < 0)
		return -EIO;
	if (relkube_check_conflicts(k, json_str(rel, "manifest"), o->ns, o->name, err) < 0)
		return -EEXIST;
	if (release_store_create(kc, rel, err) < 0)
		return -EIO;
	Error *e = NULL;
	if (install_apply(kc, k, rel, o, &e) < 0) {
		_cleanup_free_ char *msg = xasprintf("Release \"%s\" failed: %s", o->name, err_msg(e));
		release_set_status(rel, "failed", msg);
		set_time(rel, "last_deployed", NULL);
		release_store_update(kc, rel, NULL);
		if (o->atomic) {
			Error *ue = NULL;
			if (uninstall_rel(kc, k, rel, o, NULL, &ue) < 0) {
				err_set(err, EIO, "an error occurred while uninstalling the release. original install error: "
					"%s: %s", err_msg(e), err_msg(ue));
				err_free(ue);
			} else {
				err_set(err, EIO, "release %s failed, and has been uninstalled due to atomic being set: %s",
					o->name, err_msg(e));
			}
			err_free(e);
			return -EIO;
		}
		err_pass(err, e);
		return -EIO;
	}
	release_set_status(rel, "deployed", o->description && *o->description ? o->description : "Install complete");
	return release_store_update(kc, rel, err);
}

int release_install(KubeClient *kc, const RelOptions *o, json_t **ret, Error **err)
{
	_cleanup_(relkube_freep) RelKube *k = NULL;
	relkube_new(kc, &k);
	*ret = NULL;
	return install_with(kc, k, o, ret, err);
}

/* ---- upgrade --------------------------------------------------------------------------------------- */
static bool is_pending(const char *s) { return !strncmp(s, "pending-", 8); }

static void prune_history(KubeClient *kc, const RelOptions *o)
{
	if (o->history_max <= 0)
		return;
	_cleanup_json_ json_t *all = NULL;
	if (release_store_list(kc, o->ns, o->name, &all, NULL) < 0)
		return;
	size_t n = json_array_size(all);
	for (size_t i = 0; i < n && n - i > (size_t)o->history_max; i++) {
		json_t *r = json_array_get(all, i);
		if (!strcmp(release_status(r), "deployed"))
			continue;
		release_store_delete(kc, o->ns, o->name, release_version(r), NULL);
	}
}

static int rollback_with(KubeClient *kc, RelKube *k, const RelOptions *o, int revision, json_t **ret, Error **err);

int release_upgrade(KubeClient *kc, const RelOptions *o, json_t **ret, bool *installed, Error **err)
{
	*ret = NULL;
	*installed = false;
	if (release_check_name(o->name, err) < 0)
		return -EINVAL;
	_cleanup_(relkube_freep) RelKube *k = NULL;
	relkube_new(kc, &k);
	_cleanup_json_ json_t *hist = NULL;
	if (release_store_list(kc, o->ns, o->name, &hist, err) < 0)
		return -EIO;
	size_t n = json_array_size(hist);
	if (!n) {
		if (!o->install)
			return err_set(err, ENOENT, "\"%s\" has no deployed releases", o->name);
		*installed = true;
		return install_with(kc, k, o, ret, err);
	}
	json_t *last = json_array_get(hist, n - 1), *current = NULL;
	if (is_pending(release_status(last)))
		return err_set(err, EBUSY, "another operation (install/upgrade/rollback) is in progress");
	for (size_t i = n; i-- > 0 && !current;)
		if (!strcmp(release_status(json_array_get(hist, i)), "deployed"))
			current = json_array_get(hist, i);
	if (!current && !strcmp(release_status(last), "failed"))
		current = last;
	if (!current)
		return err_set(err, ENOENT, "\"%s\" has no deployed releases", o->name);
	/* values: --reuse-values merges the old config under the new; no new
	 * values at all (and no --reset-values) reuse the old ones */
	json_t *cfg = json_object_get(current, "config");
	_cleanup_json_ json_t *vals = o->values ? json_deep_copy(o->values) : json_object();
	if (o->reuse_values && json_is_object(cfg)) {
		_cleanup_json_ json_t *old = json_deep_copy(cfg);
		chart_coalesce_tables(vals, old, true);
	} else if (!o->reset_values && !json_object_size(vals) && json_is_object(cfg)) {
		json_decref(vals);
		vals = json_deep_copy(cfg);
	}
	int version = release_version(last) + 1;
	RelRender rr;
	if (render(kc, k, o, vals, version, true, &rr, err) < 0)
		return -EINVAL;
	json_t *rel = release_new(o->name, o->ns, version, release_chart_json(o->chart), json_incref(vals), rr.manifest,
				  json_incref(rr.hooks), rr.notes);
	relrender_release(&rr);
	*ret = rel;
	const char *first = json_str(json_object_get(current, "info"), "first_deployed");
	if (first)
		set_time(rel, "first_deployed", first);
	release_set_status(rel, "pending-upgrade", "Preparing upgrade");
	if (o->dry_run) {
		release_set_status(rel, "pending-upgrade", "Dry run complete");
		return 0;
	}
	if (release_store_create(kc, rel, err) < 0)
		return -EIO;
	const char *ns = o->ns, *old_m = json_str(current, "manifest") ?: "", *new_m = json_str(rel, "manifest") ?: "";
	Error *e = NULL;
	int rc = hooks(k, rel, o, "pre-upgrade", &e);
	if (rc == 0)
		rc = relkube_update(k, old_m, new_m, ns, o->name, &e);
	if (rc == 0 && (o->wait || o->atomic))
		rc = relkube_wait(k, new_m, ns, o->timeout_s, &e);
	if (rc == 0)
		rc = hooks(k, rel, o, "post-upgrade", &e);
	if (rc < 0) {
		_cleanup_free_ char *msg = xasprintf("Upgrade \"%s\" failed: %s", o->name, err_msg(e));
		release_set_status(rel, "failed", msg);
		set_time(rel, "last_deployed", NULL);
		release_store_update(kc, rel, NULL);
		if (o->atomic) {
			_cleanup_json_ json_t *rb = NULL;
			Error *re = NULL;
			RelOptions ro = *o;
			ro.wait = true;
			if (rollback_with(kc, k, &ro, release_version(current), &rb, &re) < 0) {
				err_set(err, EIO, "an error occurred while rolling back the release. original upgrade error: %s: %s",
					err_msg(e), err_msg(re));
				err_free(re);
			} else {
				err_set(err, EIO, "release %s failed, and has been rolled back due to atomic being set: %s",
					o->name, err_msg(e));
			}
			err_free(e);
			return -EIO;
		}
		err_pass(err, e);
		return -EIO;
	}
	release_set_status(current, "superseded", NULL);
	if (release_store_update(kc, current, err) < 0)
		return -EIO;
	release_set_status(rel, "deployed", o->description && *o->description ? o->description : "Upgrade complete");
	if (release_store_update(kc, rel, err) < 0)
		return -EIO;
	prune_history(kc, o);
	return 0;
}

/* ---- rollback ---------------------------------------------------------------------------------------- */
static int rollback_with(KubeClient *kc, RelKube *k, const RelOptions *o, int revision, json_t **ret, Error **err)
{
	_cleanup_json_ json_t *hist = NULL;
	if (release_store_list(kc, o->ns, o->name, &hist, err) < 0)
		return -EIO;
	size_t n = json_array_size(hist);
	if (!n)
		return err_set(err, ENOENT, "release: not found");
	json_t *current = json_array_get(hist, n - 1), *prev = NULL;
	if (revision <= 0)
		revision = release_version(current) - 1;
	for (size_t i = 0; i < n; i++)
		if (release_version(json_array_get(hist, i)) == revision)
			prev = json_array_get(hist, i);
	if (!prev)
		return err_set(err, ENOENT, "release: not found");
	json_t *chart = json_deep_copy(json_object_get(prev, "chart"));
	json_t *cfg = json_deep_copy(json_object_get(prev, "config"));
	json_t *hk = json_deep_copy(json_object_get(prev, "hooks"));
	const char *notes = json_str(json_object_get(prev, "info"), "notes");
	json_t *rel = release_new(o->name, o->ns, release_version(current) + 1, chart ? chart : json_object(), cfg,
				  json_str(prev, "manifest"), hk, notes);
	*ret = rel;
	const char *first = json_str(json_object_get(current, "info"), "first_deployed");
	if (first)
		set_time(rel, "first_deployed", first);
	_cleanup_free_ char *desc = xasprintf("Rollback to %d", revision);
	release_set_status(rel, "pending-rollback", desc);
	if (o->dry_run)
		return 0;
	if (release_store_create(kc, rel, err) < 0)
		return -EIO;
	const char *old_m = json_str(current, "manifest") ?: "", *new_m = json_str(rel, "manifest") ?: "";
	Error *e = NULL;
	int rc = hooks(k, rel, o, "pre-rollback", &e);
	if (rc == 0)
		rc = relkube_update(k, old_m, new_m, o->ns, o->name, &e);
	if (rc == 0 && o->wait)
		rc = relkube_wait(k, new_m, o->ns, o->timeout_s, &e);
	if (rc == 0)
		rc = hooks(k, rel, o, "post-rollback", &e);
	if (rc < 0) {
		_cleanup_free_ char *msg = xasprintf("Rollback \"%s\" failed: %s", o->name, err_msg(e));
		release_set_status(current, "superseded", NULL);
		release_set_status(rel, "failed", msg);
		release_store_update(kc, current, NULL);
		release_store_update(kc, rel, NULL);
		err_pass(err, e);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(hist, i);
		if (!strcmp(release_status(r), "deployed")) {
			release_set_status(r, "superseded", NULL);
			if (release_store_update(kc, r, err) < 0)
				return -EIO;
		}
	}
	release_set_status(rel, "deployed", NULL);
	return release_store_update(kc, rel, err);
}

int release_rollback(KubeClient *kc, const RelOptions *o, int revision, json_t **ret, Error **err)
{
	_cleanup_(relkube_freep) RelKube *k = NULL;
	relkube_new(kc, &k);
	*ret = NULL;
	return rollback_with(kc, k, o, revision, ret, err);
}

/* ---- uninstall ----------------------------------------------------------------------------------------- */
static int purge(KubeClient *kc, const RelOptions *o, Error **err)
{
	_cleanup_json_ json_t *hist = NULL;
	if (release_store_list(kc, o->ns, o->name, &hist, err) < 0)
		return -EIO;
	for (size_t i = 0; i < json_array_size(hist); i++)
		if (release_store_delete(kc, o->ns, o->name, release_version(json_array_get(hist, i)), err) < 0)
			return -EIO;
	return 0;
}

static int uninstall_rel(KubeClient *kc, RelKube *k, json_t *rel, const RelOptions *o, StrBuf *kept, Error **err)
{
	release_set_status(rel, "uninstalling", "Deletion in progress (or silently failed)");
	set_time(rel, "deleted", NULL);
	if (release_store_update(kc, rel, err) < 0)
		return -EIO;
	if (hooks(k, rel, o, "pre-delete", err) < 0)
		return -EIO;
	if (relkube_delete(k, json_str(rel, "manifest"), release_namespace(rel), kept, err) < 0)
		return -EIO;
	if (hooks(k, rel, o, "post-delete", err) < 0)
		return -EIO;
	release_set_status(rel, "uninstalled", o->description && *o->description ? o->description
										: "Uninstallation complete");
	if (!o->keep_history)
		return purge(kc, o, err);
	return release_store_update(kc, rel, err);
}

int release_uninstall(KubeClient *kc, const RelOptions *o, json_t **ret, StrBuf *kept, Error **err)
{
	*ret = NULL;
	_cleanup_(relkube_freep) RelKube *k = NULL;
	relkube_new(kc, &k);
	json_t *rel = NULL;
	Error *e = NULL;
	if (release_store_last(kc, o->ns, o->name, &rel, &e) < 0) {
		err_set(err, ENOENT, "uninstall: Release not loaded: %s: %s", o->name, err_msg(e));
		err_free(e);
		return -ENOENT;
	}
	*ret = rel;
	if (!strcmp(release_status(rel), "uninstalled")) {
		if (!o->keep_history)
			return purge(kc, o, err);
		return err_set(err, EEXIST, "\"%s\" is already deleted", o->name);
	}
	if (o->dry_run)
		return 0;
	return uninstall_rel(kc, k, rel, o, kept, err);
}

/* ---- test -------------------------------------------------------------------------------------------------- */
int release_test(KubeClient *kc, const RelOptions *o, json_t **ret, Error **err)
{
	*ret = NULL;
	_cleanup_(relkube_freep) RelKube *k = NULL;
	relkube_new(kc, &k);
	json_t *rel = NULL;
	if (release_store_last(kc, o->ns, o->name, &rel, err) < 0)
		return -ENOENT;
	*ret = rel;
	Error *e = NULL;
	int rc = relkube_run_hooks(k, rel, "test", o->timeout_s, &e);
	Error *se = NULL;
	release_store_update(kc, rel, &se);
	err_free(se);
	if (rc < 0) {
		err_pass(err, e);
		return rc;
	}
	return 0;
}
