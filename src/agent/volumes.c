/* volumes.c - a pod's volumes on the node and the bind mounts containers
 * get for their volumeMounts.
 *
 * Layout as the kubelet's: <poddir>/volumes/kubernetes.io~<plugin>/<name>.
 * emptyDir is a directory (medium Memory: a tmpfs mounted there, the only
 * host mount a pod makes), hostPath is checked against its type, and
 * configMap / secret / downwardAPI / projected volumes are files written
 * with the kubelet's atomic writer scheme: the payload goes into a fresh
 * "..<time>" directory, "..data" is swapped to it with one rename, and each
 * top-level name is a symlink through ..data - so a reader never sees a
 * half-updated volume and an update is one rename.
 * persistentVolumeClaim: the claim must be Bound (else FailedMount, retried);
 * the bound PV's hostPath/local path is created 0777 if missing (the
 * local-path provisioner's directory, src/controller/localpath.c) and
 * recorded as the link kubernetes.io~local-volume/<name> the mounts read.
 *
 * Refresh (the kubelet's periodic volume sync): volumes_refresh_changed
 * rebuilds each configMap / secret / downwardAPI / projected payload and swaps
 * ..data only when it differs from what was written last (a digest kept
 * beside the volume, .<name>.sum in the plugin directory); projected
 * serviceAccountToken files keep their current token (tokens have their own
 * schedule).  subPath mounts bind the file itself, so they keep the old one,
 * as in Kubernetes.
 * fsGroup (pod securityContext): emptyDir, persistentVolumeClaim and the
 * written volumes get that group (setgid directories, group rw, or r for the
 * read-only kinds), the kubelet's SetVolumeOwnership; fsGroupChangePolicy
 * OnRootMismatch skips a volume whose root already has group and mode.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/strbuf.h"
#include "../shared/digest.h"
#include "../shared/json.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

char *agent_field_value(const json_t *pod, const char *path, const char *pod_ip, const char *node_name, Error **err);
char *agent_resource_value(const json_t *pod, const json_t *ctr, const json_t *ref, Error **err);

#define TMPFS_MAGIC_ 0x01021994

char *volume_dir(const Pod *p, const char *plugin, const char *name)
{
	return xasprintf("%s/volumes/kubernetes.io~%s/%s", p->dir, plugin, name);
}

/* ---- payloads: path -> (content, mode) ---- */

typedef struct Payload {
	json_t *files; /* {path: {"data": str, "mode": int}} */
} Payload;

static void payload_add(Payload *pl, const char *path, const char *data, size_t len, int mode)
{
	json_object_set_new(pl->files, path, json_pack("{s:s%,s:i}", "data", data, len, "mode", mode));
}

static char *b64dec(const char *in, size_t *n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t l = strlen(in), k = 0;
	char *out = xmalloc(l / 4 * 3 + 4);
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < l; i++) {
		const char *p = in[i] && in[i] != '=' ? strchr(tab, in[i]) : NULL;
		if (!p)
			continue;
		acc = (acc << 6) | (unsigned)(p - tab);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[k++] = (char)(acc >> bits);
		}
	}
	out[k] = 0;
	*n = k;
	return out;
}

/* configMap / secret source into the payload (items or every key). */
static int payload_object(Agent *a, Pod *p, const char *kind, const json_t *src, int def_mode, Payload *pl,
			  Error **err)
{
	const char *name = json_str(src, kind[0] == 'S' ? "secretName" : "name");
	if (!name)
		name = json_str(src, "name");
	_cleanup_json_ json_t *obj = NULL;
	int r = a->cfg.lookup ? a->cfg.lookup(a->cfg.ud, kind, p->ns, name ? name : "", &obj) : -ENOENT;
	if (r < 0) {
		if (json_bool(src, "optional", false))
			return 0;
		return err_set(err, ENOENT, "%s \"%s\" not found", kind[0] == 'S' ? "secret" : "configmap",
			       name ? name : "");
	}
	bool secret = kind[0] == 'S';
	json_t *data = json_object_get(obj, "data"), *bin = json_object_get(obj, "binaryData");
	if (json_int(src, "defaultMode", -1) >= 0)
		def_mode = (int)json_int(src, "defaultMode", 0644);
	const json_t *items = json_object_get(src, "items");
	size_t i;
	json_t *it;
	const char *key;
	json_t *v;
	if (json_array_size(items)) {
		json_array_foreach(items, i, it) {
			const char *k = json_str(it, "key");
			const char *sv = json_str(data, k ? k : "");
			bool b64 = secret;
			if (!sv && (sv = json_str(bin, k ? k : "")))
				b64 = true;
			if (!sv) {
				if (json_bool(src, "optional", false))
					continue;
				return err_set(err, ENOENT, "configmap references non-existent config key: %s", k);
			}
			size_t n = strlen(sv);
			_cleanup_free_ char *dec = b64 ? b64dec(sv, &n) : NULL;
			payload_add(pl, json_str(it, "path"), dec ? dec : sv, n, (int)json_int(it, "mode", def_mode));
		}
		return 0;
	}
	json_object_foreach(data, key, v) {
		size_t n = strlen(json_string_value(v));
		_cleanup_free_ char *dec = secret ? b64dec(json_string_value(v), &n) : NULL;
		payload_add(pl, key, dec ? dec : json_string_value(v), n, def_mode);
	}
	json_object_foreach(bin, key, v) {
		size_t n;
		_cleanup_free_ char *dec = b64dec(json_string_value(v), &n);
		payload_add(pl, key, dec, n, def_mode);
	}
	return 0;
}

static int payload_downward(Agent *a, Pod *p, const json_t *src, int def_mode, Payload *pl, Error **err)
{
	if (json_int(src, "defaultMode", -1) >= 0)
		def_mode = (int)json_int(src, "defaultMode", 0644);
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(src, "items"), i, it) {
		char *v = NULL;
		const json_t *f;
		if ((f = json_object_get(it, "fieldRef")))
			v = agent_field_value(pod_tree(p), json_str(f, "fieldPath"), p->ip, a->node_name, err);
		else if ((f = json_object_get(it, "resourceFieldRef")))
			v = agent_resource_value(pod_tree(p), NULL, f, err);
		if (!v)
			return -EINVAL;
		payload_add(pl, json_str(it, "path"), v, strlen(v), (int)json_int(it, "mode", def_mode));
		free(v);
	}
	return 0;
}

static bool path_ok(const char *path)
{
	if (!path || !*path || path[0] == '/' || strlen(path) > 4096)
		return false;
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, "/");
		if ((n == 2 && !strncmp(s, "..", 2)) || (n >= 2 && !strncmp(s, "..", 2)))
			return false;
		s += n + (s[n] == '/');
	}
	return true;
}

/* ---- the atomic writer ---- */

static int write_payload(const char *dir, const Payload *pl, Error **err)
{
	int r = fs_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	_cleanup_free_ char *tsname = xasprintf("..%lld_%09ld", (long long)ts.tv_sec, ts.tv_nsec);
	_cleanup_free_ char *tsdir = fs_join(dir, tsname);
	if ((r = fs_mkdir_p(tsdir, 0755, err)) < 0)
		return r;
	const char *path;
	json_t *f;
	json_t *top = json_object();
	json_object_foreach(pl->files, path, f) {
		if (!path_ok(path)) {
			json_decref(top);
			return err_set(err, EINVAL, "invalid volume path '%s'", path);
		}
		_cleanup_free_ char *full = fs_join(tsdir, path);
		char *slash = strrchr(full, '/');
		*slash = 0;
		fs_mkdir_p(full, 0755, NULL);
		*slash = '/';
		const char *d = json_str(f, "data");
		size_t n = json_string_length(json_object_get(f, "data"));
		if ((r = fs_write_replace(full, d, n, (mode_t)json_int(f, "mode", 0644), err)) < 0) {
			json_decref(top);
			return r;
		}
		chmod(full, (mode_t)json_int(f, "mode", 0644));
		_cleanup_free_ char *first = xstrndup(path, strcspn(path, "/"));
		json_object_set_new(top, first, json_true());
	}
	/* ..data -> the new directory, in one rename */
	_cleanup_free_ char *tmp = fs_join(dir, "..data_tmp");
	_cleanup_free_ char *data = fs_join(dir, "..data");
	char old[4096] = "";
	ssize_t ol = readlink(data, old, sizeof(old) - 1);
	if (ol > 0)
		old[ol] = 0;
	unlink(tmp);
	if (symlink(tsname, tmp) < 0 || rename(tmp, data) < 0) {
		json_decref(top);
		return err_sys(err, errno, "volume '%s': swap ..data", dir);
	}
	const char *name;
	json_t *v;
	json_object_foreach(top, name, v) {
		_cleanup_free_ char *link = fs_join(dir, name);
		_cleanup_free_ char *target = xasprintf("..data/%s", name);
		struct stat st;
		if (lstat(link, &st) == 0)
			continue;
		if (symlink(target, link) < 0) {
			json_decref(top);
			return err_sys(err, errno, "volume '%s': link '%s'", dir, name);
		}
	}
	/* drop links to names that are gone, and the old payload */
	_cleanup_closedir_ DIR *dh = opendir(dir);
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		if (de->d_name[0] == '.' || json_object_get(top, de->d_name))
			continue;
		_cleanup_free_ char *p = fs_join(dir, de->d_name);
		unlink(p);
	}
	json_decref(top);
	if (ol > 0 && strcmp(old, tsname)) {
		_cleanup_free_ char *oldp = fs_join(dir, old);
		fs_rm_rf(oldp, NULL);
	}
	return 0;
}

/* ---- per volume ---- */

static int hostpath_check(const json_t *hp, Error **err)
{
	const char *path = json_str(hp, "path"), *type = json_str(hp, "type");
	if (!path || path[0] != '/')
		return err_set(err, EINVAL, "hostPath: path must be absolute");
	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (!type || !*type)
		return 0;
	if (!strcmp(type, "DirectoryOrCreate"))
		return exists ? 0 : fs_mkdir_p(path, 0755, err);
	if (!strcmp(type, "FileOrCreate")) {
		if (exists)
			return 0;
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_sys(err, errno, "hostPath: create '%s'", path);
		close(fd);
		return 0;
	}
	static const struct { const char *t; mode_t m; const char *what; } types[] = {
		{ "Directory", S_IFDIR, "a directory" }, { "File", S_IFREG, "a file" },
		{ "Socket", S_IFSOCK, "a socket file" }, { "CharDevice", S_IFCHR, "a character device" },
		{ "BlockDevice", S_IFBLK, "a block device" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(type, types[i].t)) {
			if (!exists || (st.st_mode & S_IFMT) != types[i].m)
				return err_set(err, ENOENT, "hostPath type check failed: %s is not %s", path,
					       types[i].what);
			return 0;
		}
	return err_set(err, EINVAL, "hostPath: unknown type '%s'", type);
}

static int emptydir_setup(Pod *p, const char *name, const json_t *ed, Error **err)
{
	_cleanup_free_ char *dir = volume_dir(p, "empty-dir", name);
	int r = fs_mkdir_p(dir, 0777, err);
	if (r < 0)
		return r;
	chmod(dir, 0777);
	const char *medium = json_str(ed, "medium");
	if (!medium || strcmp(medium, "Memory"))
		return 0;
	struct statfs sf;
	if (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == TMPFS_MAGIC_)
		return 0; /* already mounted (adopted pod) */
	_cleanup_free_ char *opts = NULL;
	int64_t lim = 0;
	if (json_str(ed, "sizeLimit") && agent_quantity_milli(json_str(ed, "sizeLimit"), &lim) == 0)
		opts = xasprintf("mode=1777,size=%lld", (long long)(lim / 1000));
	else
		opts = xstrdup("mode=1777");
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return err_sys(err, errno, "emptyDir '%s': mount tmpfs", name);
	return 0;
}

/* ---- persistentVolumeClaim: the bound PV's directory on this node ---- */

/* The PV's node path of a bound claim (caller frees); a claim not Bound
 * yet is -EAGAIN with the kubelet's words for FailedMount. */
static int pvc_path(Agent *a, Pod *p, const char *vol, const json_t *src, char **ret, Error **err)
{
	const char *claim = json_str(src, "claimName") ?: "";
	_cleanup_json_ json_t *pvc = NULL, *pv = NULL;
	if (!a->cfg.lookup || a->cfg.lookup(a->cfg.ud, "PersistentVolumeClaim", p->ns, claim, &pvc) < 0 || !pvc)
		return err_set(err, ENOENT, "persistentvolumeclaim \"%s\" not found", claim);
	const char *phase = json_str(json_object_get(pvc, "status"), "phase") ?: "";
	const char *pvname = json_str(json_object_get(pvc, "spec"), "volumeName");
	if (strcmp(phase, "Bound") || !pvname || !*pvname)
		return err_set(err, EAGAIN,
			       "Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[%s], "
			       "failed to process volumes=[%s]: error processing PVC %s/%s: PVC is not bound",
			       vol, vol, vol, p->ns, claim);
	if (a->cfg.lookup(a->cfg.ud, "PersistentVolume", "", pvname, &pv) < 0 || !pv)
		return err_set(err, ENOENT, "persistentvolume \"%s\" not found", pvname);
	const json_t *spec = json_object_get(pv, "spec");
	const char *path = json_str(json_object_get(spec, "hostPath"), "path");
	if (!path)
		path = json_str(json_object_get(spec, "local"), "path");
	if (!path || path[0] != '/')
		return err_set(err, ENOTSUP, "persistentvolume \"%s\": only hostPath and local volumes are supported",
			       pvname);
	agent_localvol_record(a, pv, path); /* the agent removes it once the PV is gone */
	*ret = xstrdup(path);
	return 0;
}

/* Make the claim's directory (0777, as local-path does) and record it as a
 * link <poddir>/volumes/kubernetes.io~local-volume/<name> -> path, which
 * is what the containers' bind mounts read (volume_source). */
static int pvc_setup(Agent *a, Pod *p, const char *name, const json_t *src, Error **err)
{
	_cleanup_free_ char *path = NULL;
	int r = pvc_path(a, p, name, src, &path, err);
	if (r == -EAGAIN)
		agent_event(a, p, NULL, "Warning", "FailedMount", "%s", err_msg(*err));
	if (r < 0)
		return r;
	if (!fs_exists(path)) {
		if ((r = fs_mkdir_p(path, 0777, err)) < 0)
			return r;
		chmod(path, 0777);
	}
	_cleanup_free_ char *link = volume_dir(p, "local-volume", name);
	_cleanup_free_ char *dir = volume_dir(p, "local-volume", "");
	if ((r = fs_mkdir_p(dir, 0750, err)) < 0)
		return r;
	unlink(link);
	if (symlink(path, link) < 0)
		return err_sys(err, errno, "volume \"%s\": link '%s'", name, link);
	return 0;
}

/* A serviceAccountToken source: the token from the API server (cfg.token);
 * keep_dir set (a periodic refresh): the token already written there. */
static int payload_sa_token(Agent *a, Pod *p, const json_t *src, int mode, const char *keep_dir, Payload *pl,
			    Error **err)
{
	const char *rel = json_str(src, "path") ? json_str(src, "path") : "token";
	_cleanup_free_ char *tok = NULL;
	if (keep_dir && path_ok(rel)) {
		_cleanup_free_ char *cur = xasprintf("%s/..data/%s", keep_dir, rel);
		if (fs_read_file(cur, 1 << 20, &tok, NULL, NULL) == 0) {
			payload_add(pl, rel, tok, strlen(tok), mode);
			return 0;
		}
	}
	if (!a->cfg.token)
		return err_set(err, ENOTSUP, "serviceAccountToken: no API server to ask");
	int r = a->cfg.token(a->cfg.ud, pod_tree(p), src, &tok, err);
	if (r < 0)
		return r;
	payload_add(pl, rel, tok, strlen(tok), mode);
	return 0;
}

static char *volume_source(Pod *p, const json_t *vol);

/* ---- fsGroup: the kubelet's SetVolumeOwnership ---- */

#define RW_MASK 0660
#define RO_MASK 0440
#define EXEC_MASK 0110

/* The pod's fsGroup, -1 if none. */
static int64_t pod_fs_group(const Pod *p)
{
	const json_t *g = json_object_get(json_path(pod_tree(p), "spec.securityContext"), "fsGroup");
	return json_is_integer(g) && json_integer_value(g) >= 0 ? (int64_t)json_integer_value(g) : -1;
}

static void own_one(int dirfd, const char *name, gid_t gid, bool ro)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (fchownat(dirfd, name, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISLNK(st.st_mode))
		return; /* links are not altered */
	mode_t mask = ro ? RO_MASK : RW_MASK;
	if (S_ISDIR(st.st_mode))
		mask |= S_ISGID | EXEC_MASK;
	fchmodat(dirfd, name, (st.st_mode & 07777) | mask, 0);
}

/* Group gid on everything under dirfd (depth-bounded), setgid directories. */
static void own_tree(int dirfd, gid_t gid, bool ro, int depth)
{
	if (depth > 64)
		return;
	int fd = dup(dirfd);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		own_one(dirfd, de->d_name, gid, ro);
		if (de->d_type == DT_DIR) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				own_tree(sub, gid, ro, depth + 1);
				close(sub);
			}
		}
	}
	closedir(d);
}

/* Does the volume's root still need the change (OnRootMismatch)? */
static bool root_mismatch(const char *dir, gid_t gid, bool ro)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return true;
	mode_t want = (ro ? RO_MASK : RW_MASK) | EXEC_MASK;
	return st.st_gid != gid || (st.st_mode & want) != want || !(st.st_mode & S_ISGID);
}

/* Apply the pod's fsGroup to the volume at dir (nothing without one). */
static void volume_ownership(const Pod *p, const char *dir, bool ro, bool always)
{
	int64_t g = pod_fs_group(p);
	if (g < 0)
		return;
	const char *policy = json_str(json_path(pod_tree(p), "spec.securityContext"), "fsGroupChangePolicy");
	if (!always && policy && !strcmp(policy, "OnRootMismatch") && !root_mismatch(dir, (gid_t)g, ro))
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && fchown(fd, (uid_t)-1, (gid_t)g) == 0)
		fchmod(fd, (st.st_mode & 07777) | (ro ? RO_MASK : RW_MASK) | EXEC_MASK | S_ISGID);
	own_tree(fd, (gid_t)g, ro, 0);
	close(fd);
}

/* ---- the digest of a written payload (refresh only rewrites a change) ---- */

static char *payload_sum_path(const Pod *p, const char *plugin, const char *name)
{
	return xasprintf("%s/volumes/kubernetes.io~%s/.%s.sum", p->dir, plugin, name);
}

static void payload_sum(const Pod *p, const Payload *pl, char out[72])
{
	_cleanup_free_ char *canon = json_dumps(pl->files, JSON_COMPACT | JSON_SORT_KEYS);
	_cleanup_free_ char *all = xasprintf("%lld|%s", (long long)pod_fs_group(p), canon ? canon : "");
	sha256_buf(all, strlen(all), out);
}

static int volume_setup_ex(Agent *a, Pod *p, const json_t *vol, bool refresh, Error **err);

static int volume_setup(Agent *a, Pod *p, const json_t *vol, Error **err)
{
	return volume_setup_ex(a, p, vol, false, err);
}

/* refresh: only the written kinds, only when their payload changed, tokens kept. */
static int volume_setup_ex(Agent *a, Pod *p, const json_t *vol, bool refresh, Error **err)
{
	const char *name = json_str(vol, "name");
	const json_t *src;
	Payload pl = { json_object() };
	int r = 0;
	const char *plugin = NULL;
	_cleanup_free_ char *keep = NULL;
	if (refresh && json_object_get(vol, "projected"))
		keep = volume_dir(p, "projected", name);
	if (refresh && (json_object_get(vol, "emptyDir") || json_object_get(vol, "hostPath") ||
			json_object_get(vol, "persistentVolumeClaim"))) {
		json_decref(pl.files);
		return 0;
	}
	if ((src = json_object_get(vol, "emptyDir"))) {
		r = emptydir_setup(p, name, src, err);
		if (r >= 0) {
			_cleanup_free_ char *dir = volume_dir(p, "empty-dir", name);
			volume_ownership(p, dir, false, false);
		}
	} else if ((src = json_object_get(vol, "hostPath")))
		r = hostpath_check(src, err);
	else if ((src = json_object_get(vol, "persistentVolumeClaim"))) {
		r = pvc_setup(a, p, name, src, err);
		if (r >= 0) {
			_cleanup_free_ char *dir = volume_source(p, vol);
			if (dir)
				volume_ownership(p, dir, json_bool(src, "readOnly", false), false);
		}
	} else if ((src = json_object_get(vol, "configMap"))) {
		plugin = "configmap";
		r = payload_object(a, p, "ConfigMap", src, 0644, &pl, err);
	} else if ((src = json_object_get(vol, "secret"))) {
		plugin = "secret";
		r = payload_object(a, p, "Secret", src, 0644, &pl, err);
	} else if ((src = json_object_get(vol, "downwardAPI"))) {
		plugin = "downward-api";
		r = payload_downward(a, p, src, 0644, &pl, err);
	} else if ((src = json_object_get(vol, "projected"))) {
		plugin = "projected";
		int mode = (int)json_int(src, "defaultMode", 0644);
		size_t i;
		json_t *s, *o;
		json_array_foreach(json_object_get(src, "sources"), i, s) {
			if (r < 0)
				break;
			if ((o = json_object_get(s, "configMap")))
				r = payload_object(a, p, "ConfigMap", o, mode, &pl, err);
			else if ((o = json_object_get(s, "secret")))
				r = payload_object(a, p, "Secret", o, mode, &pl, err);
			else if ((o = json_object_get(s, "downwardAPI")))
				r = payload_downward(a, p, o, mode, &pl, err);
			else if ((o = json_object_get(s, "serviceAccountToken")))
				r = payload_sa_token(a, p, o, mode, keep, &pl, err);
		}
	} else {
		r = err_set(err, EINVAL, "unsupported volume type");
	}
	if (r >= 0 && plugin) {
		_cleanup_free_ char *dir = volume_dir(p, plugin, name);
		_cleanup_free_ char *sum_path = payload_sum_path(p, plugin, name);
		char sum[72];
		payload_sum(p, &pl, sum);
		_cleanup_free_ char *old = NULL;
		if (refresh && fs_read_file(sum_path, 128, &old, NULL, NULL) == 0 && !strcmp(old, sum)) {
			json_decref(pl.files);
			return 0; /* unchanged: nothing to swap */
		}
		r = write_payload(dir, &pl, err);
		if (r >= 0) {
			volume_ownership(p, dir, true, true);
			fs_write_replace(sum_path, sum, strlen(sum), 0600, NULL);
			if (refresh)
				r = 1;
		}
	}
	json_decref(pl.files);
	if (r == -EAGAIN) /* an unbound claim: the kubelet's words as they are */
		return r;
	return r < 0 ? err_prefix(err, "MountVolume.SetUp failed for volume \"%s\"", name) : r;
}

int volumes_refresh(Agent *a, Pod *p, const char *name, Error **err)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod_tree(p), "spec.volumes"), i, v)
		if (!strcmp(json_str(v, "name") ? json_str(v, "name") : "", name))
			return volume_setup(a, p, v, err);
	return err_set(err, ENOENT, "volume \"%s\" not found", name);
}

int volumes_refresh_changed(Agent *a, Pod *p, Error **err)
{
	size_t i;
	json_t *v;
	int n = 0;
	json_array_foreach(json_path(pod_tree(p), "spec.volumes"), i, v) {
		int r = volume_setup_ex(a, p, v, true, err);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

int volumes_setup(Agent *a, Pod *p, Error **err)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod_tree(p), "spec.volumes"), i, v) {
		int r = volume_setup(a, p, v, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void volumes_teardown(Agent *a, Pod *p)
{
	(void)a;
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod_tree(p), "spec.volumes"), i, v) {
		if (!json_object_get(v, "emptyDir"))
			continue;
		_cleanup_free_ char *dir = volume_dir(p, "empty-dir", json_str(v, "name"));
		struct statfs sf;
		while (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == TMPFS_MAGIC_ && umount2(dir, MNT_DETACH) == 0)
			;
	}
}

/* Where a volume's content lives on the node. */
static char *volume_source(Pod *p, const json_t *vol)
{
	const char *name = json_str(vol, "name");
	const json_t *src;
	if ((src = json_object_get(vol, "hostPath")))
		return xstrdup(json_str(src, "path"));
	if (json_object_get(vol, "persistentVolumeClaim")) {
		_cleanup_free_ char *link = volume_dir(p, "local-volume", name);
		char buf[4096];
		ssize_t n = readlink(link, buf, sizeof(buf) - 1);
		if (n <= 0)
			return NULL;
		buf[n] = 0;
		return xstrdup(buf);
	}
	static const struct { const char *key, *plugin; } map[] = {
		{ "emptyDir", "empty-dir" }, { "configMap", "configmap" }, { "secret", "secret" },
		{ "downwardAPI", "downward-api" }, { "projected", "projected" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (json_object_get(vol, map[i].key))
			return volume_dir(p, map[i].plugin, name);
	return NULL;
}

int volumes_mounts(Agent *a, Pod *p, const json_t *ctr, json_t *mounts, Error **err)
{
	(void)a;
	size_t i;
	json_t *vm;
	json_array_foreach(json_object_get(ctr, "volumeMounts"), i, vm) {
		const char *name = json_str(vm, "name"), *dst = json_str(vm, "mountPath");
		const json_t *vol = NULL;
		size_t j;
		json_t *v;
		json_array_foreach(json_path(pod_tree(p), "spec.volumes"), j, v)
			if (name && !strcmp(json_str(v, "name"), name))
				vol = v;
		if (!vol || !dst || dst[0] != '/')
			return err_set(err, EINVAL, "volumeMount \"%s\": no such volume", name ? name : "");
		_cleanup_free_ char *src = volume_source(p, vol);
		if (!src)
			return err_set(err, EINVAL, "volume \"%s\": unsupported type", name);
		const char *sub = json_str(vm, "subPath");
		if (sub && *sub) {
			if (!path_ok(sub))
				return err_set(err, EINVAL, "volumeMount \"%s\": invalid subPath '%s'", name, sub);
			char *full = fs_join(src, sub);
			if (!fs_exists(full))
				fs_mkdir_p(full, 0755, NULL);
			free(src);
			src = full;
		}
		bool ro = json_bool(vm, "readOnly", false) ||
			  json_bool(json_object_get(vol, "persistentVolumeClaim"), "readOnly", false) ||
			  json_object_get(vol, "configMap") ||
			  json_object_get(vol, "secret") || json_object_get(vol, "downwardAPI") ||
			  json_object_get(vol, "projected");
		json_t *opts = json_pack("[s,s]", "rbind", "rprivate");
		if (ro)
			json_array_append_new(opts, json_string("ro"));
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", "bind",
							"source", src, "options", opts));
	}
	return 0;
}
