/* localvol.c - the local-path provisioner's directories on this node.
 *
 * The provisioner (src/controller/localpath.c, in the server) makes a PV
 * "pvc-<uid>" whose hostPath is <storage dir>/pvc-<uid>_<ns>_<name>, pinned
 * to one node; the agent of that node creates the directory when a pod
 * mounts it (volumes.c), and is the one to remove it once the PV is deleted
 * (the server may run on another machine).  So each such directory the
 * agent sets up is recorded as <root>/local-path/<pv name> (its path inside),
 * and the writer thread of the API source (apisource.c) sweeps the records:
 * a PV the server answers 404 for has its directory removed - only when the
 * name is pvc-<uid>, the directory's own name starts with "<pv name>_", the
 * path is absolute without "..", and no pod directory of the node still
 * links to it - and then the record.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../shared/json.h"
#include "../shared/kube.h"
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#define LP_PROVISIONER "berth.dev/local-path"

bool agent_localvol_name_ok(const char *pv, const char *path)
{
	if (!pv || !path || strncmp(pv, "pvc-", 4) || strlen(pv) < 5 || strlen(pv) > 253 || path[0] != '/')
		return false;
	for (const char *c = pv + 4; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || *c == '-'))
			return false;
	if (strstr(path, "/../") || strstr(path, "/./") || strstr(path, "//"))
		return false;
	const char *base = strrchr(path, '/') + 1;
	size_t n = strlen(pv);
	return base > path + 1 && !strncmp(base, pv, n) && base[n] == '_';
}

static char *records_dir(const char *root)
{
	return fs_join(root, "local-path");
}

void agent_localvol_record(Agent *a, const json_t *pv, const char *path)
{
	const char *name = json_str(json_object_get(pv, "metadata"), "name");
	const char *by = json_str(json_path(pv, "metadata.annotations"), "pv.kubernetes.io/provisioned-by");
	if (!by || strcmp(by, LP_PROVISIONER) || !agent_localvol_name_ok(name, path))
		return;
	_cleanup_free_ char *dir = records_dir(a->root);
	_cleanup_free_ char *rec = fs_join(dir, name);
	if (fs_mkdir_p(dir, 0700, NULL) < 0)
		return;
	fs_write_replace(rec, path, strlen(path), 0600, NULL);
}

/* Does a pod directory under root still link a volume to path? */
static bool path_in_use(const char *root, const char *path)
{
	_cleanup_free_ char *pods = fs_join(root, "pods");
	_cleanup_closedir_ DIR *d = opendir(pods);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *vd = xasprintf("%s/%s/volumes/kubernetes.io~local-volume", pods, de->d_name);
		_cleanup_closedir_ DIR *v = opendir(vd);
		struct dirent *ve;
		while (v && (ve = readdir(v))) {
			if (ve->d_name[0] == '.')
				continue;
			_cleanup_free_ char *link = fs_join(vd, ve->d_name);
			char buf[4096];
			ssize_t n = readlink(link, buf, sizeof(buf) - 1);
			if (n > 0 && (buf[n] = 0, !strcmp(buf, path)))
				return true;
		}
	}
	return false;
}

int agent_localvol_sweep(const char *root, KubeClient *kc)
{
	_cleanup_free_ char *dir = records_dir(root);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	int removed = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *rec = fs_join(dir, de->d_name);
		_cleanup_free_ char *path = NULL;
		if (fs_read_file(rec, 4096, &path, NULL, NULL) < 0)
			continue;
		if (!agent_localvol_name_ok(de->d_name, path)) {
			unlink(rec); /* not one of ours to remove */
			continue;
		}
		_cleanup_free_ char *api = xasprintf("/api/v1/persistentvolumes/%s", de->d_name);
		_cleanup_json_ json_t *pv = NULL;
		_cleanup_err_ Error *err = NULL;
		int r = kube_get(kc, api, &pv, &err);
		if (r != -ENOENT)
			continue; /* still there, or the server did not answer */
		if (path_in_use(root, path))
			continue;
		if (fs_exists(path) && fs_rm_rf(path, &err) < 0) {
			log_warn("local-path: %s: %s", de->d_name, err_msg(err));
			continue;
		}
		log_info("local-path: %s deleted, removed %s", de->d_name, path);
		unlink(rec);
		removed++;
	}
	return removed;
}
