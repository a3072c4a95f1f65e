/* static.c - static pods from a manifest directory (kubelet's
 * --pod-manifest-path): every non-hidden file holds one Pod (YAML or JSON).
 *
 * Each pod gets the kubelet's static-pod identity: name "<name>-<node>",
 * namespace "default" when unset, spec.nodeName = the node, and a uid that
 * is a hash of the node name, the file and its content - so an unchanged
 * file is the same pod across agent restarts (and is adopted, not
 * restarted), while an edited file is a new pod that replaces the old one.
 * Pods whose file is gone are killed (gracefully).  Only pods marked
 * kubernetes.io/config.source=file are ever killed from here, so an API
 * source can share the agent.  A new static pod whose hostPort another pod
 * holds is rejected (admit.c) and stays rejected while its file is
 * unchanged (the kubelet does not admit a rejected pod again).
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../shared/digest.h"
#include "../shared/json.h"
#include "../shared/yaml.h"
#include <string.h>
#include <sys/stat.h>

/* One manifest -> a pod with its static identity (new ref) or an error. */
static int static_pod_load(Agent *a, const char *path, json_t **ret, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fs_read_file(path, BERTH_MAX_POD_MANIFEST, &buf, &len, err);
	if (r < 0)
		return r;
	json_t *pod = NULL;
	if ((r = yaml_parse_buf(buf, len, &pod, err)) < 0)
		return r;
	if (!json_is_object(pod) || strcmp(json_str(pod, "kind") ? json_str(pod, "kind") : "", "Pod")) {
		json_decref(pod);
		return err_set(err, EINVAL, "not a Pod (kind: %s)", json_str(pod, "kind") ? json_str(pod, "kind") : "none");
	}
	json_t *meta = json_obj_ensure(pod, "metadata");
	const char *name = json_str(meta, "name");
	if (!name || !*name) {
		json_decref(pod);
		return err_set(err, EINVAL, "metadata.name: Required value");
	}
	_cleanup_free_ char *canon = json_dumps(pod, JSON_COMPACT | JSON_SORT_KEYS);
	Sha256 *h = sha256_new();
	_cleanup_free_ char *pre = xasprintf("host:%sfile:%s", a->node_name, path);
	sha256_update(h, pre, strlen(pre));
	sha256_update(h, canon, strlen(canon));
	char dig[72];
	sha256_final(h, dig);
	char uid[33];
	snprintf(uid, sizeof(uid), "%.32s", dig + 7);
	_cleanup_free_ char *full = xasprintf("%s-%s", name, a->node_name);
	json_object_set_new(meta, "name", json_string(full));
	if (!json_str(meta, "namespace"))
		json_object_set_new(meta, "namespace", json_string("default"));
	json_object_set_new(meta, "uid", json_string(uid));
	json_t *ann = json_obj_ensure(meta, "annotations");
	json_object_set_new(ann, "kubernetes.io/config.source", json_string("file"));
	json_object_set_new(ann, "kubernetes.io/config.hash", json_string(uid));
	json_object_set_new(json_obj_ensure(pod, "spec"), "nodeName", json_string(a->node_name));
	*ret = pod;
	return 0;
}

/* uids of static pods rejected at admission (one agent per process) */
static json_t *rejected_uids;

static bool held(Agent *a, const char *uid)
{
	for (Pod *p = a->pods; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return true;
	return false;
}

/* hostPort admission of a static pod the agent does not run yet. */
static int static_admit(Agent *a, const json_t *pod, Error **err)
{
	const char *uid = json_str(json_object_get(pod, "metadata"), "uid");
	if (held(a, uid))
		return 0;
	if (!rejected_uids)
		rejected_uids = json_object();
	_cleanup_free_ char *reason = NULL, *message = NULL;
	if (!json_object_get(rejected_uids, uid) && agent_admit_host_ports(a, pod, &reason, &message) == 0)
		return 0;
	json_object_set_new(rejected_uids, uid, json_true());
	return err_set(err, EADDRINUSE, "%s", message ? message : "Pod was rejected: Predicate NodePorts failed");
}

static bool is_file_pod(const Pod *p)
{
	return !strcmp(p->source, "file");
}

int agent_static_sync(Agent *a, const char *dir, char **bad, Error **err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return err_sys(err, errno, "pod manifest path '%s'", dir);
	json_t *seen = json_object();
	StrBuf problems = STRBUF_INIT;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = fs_join(dir, de->d_name);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		json_t *pod = NULL;
		Error *e = NULL;
		int r = static_pod_load(a, path, &pod, &e);
		if (r >= 0)
			r = static_admit(a, pod, &e);
		if (r >= 0)
			r = agent_pod_sync(a, pod, &e);
		if (r < 0)
			sb_addf(&problems, "%s: %s\n", de->d_name, err_msg(e));
		else
			json_object_set_new(seen, json_str(json_object_get(pod, "metadata"), "uid"), json_true());
		err_free(e);
		json_decref(pod);
	}
	for (Pod *p = a->pods; p; p = p->next)
		if (is_file_pod(p) && !p->killing && !json_object_get(seen, p->uid))
			agent_pod_kill(a, p->uid, -1, NULL);
	json_decref(seen);
	if (bad)
		*bad = problems.len ? sb_detach(&problems) : NULL;
	sb_release(&problems);
	return 0;
}
