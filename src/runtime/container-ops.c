/* container-ops.c - what happens to a container after start: wait, kill,
 * stop, remove, exec's process description, inspect, and the rootfs view
 * for export.  All of it works from the CLI process against state.json and
 * the supervisor, so any number of CLIs can act on one container. */
#include "container-internal.h"
#include "../base/fs.h"
#include "../base/parse.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Done = not running and the supervisor finished its cleanup (or is gone). */
static bool ctr_settled(Container *c)
{
	CtrStatus st = ctr_status(c);
	if (st == CTR_RUNNING)
		return false;
	const char *s = json_str(c->state, "Status");
	if (s && !strcmp(s, "restarting"))
		return false;
	return true;
}

int ctr_wait(CtrStore *s, Container *c, int timeout_ms, int *ret_code, Error **err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int delay = 2;
	for (;;) {
		if (ctr_refresh(s, c, NULL) < 0) {
			/* removed meanwhile (--rm): docker wait reports the last code it saw */
			*ret_code = (int)json_int(c->state, "ExitCode", 0);
			return 0;
		}
		if (ctr_settled(c)) {
			*ret_code = (int)json_int(c->state, "ExitCode", 0);
			return 0;
		}
		if (deadline >= 0 && now_ms() >= deadline)
			return err_set(err, ETIMEDOUT, "container %s did not exit in time", ctr_name(c));
		sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
}

int ctr_kill(CtrStore *s, Container *c, int sig, Error **err)
{
	ctr_refresh(s, c, NULL);
	pid_t pid = ctr_pid(c);
	if (ctr_status(c) != CTR_RUNNING || pid <= 0)
		return err_set(err, EINVAL, "container %s is not running", ctr_name(c));
	if (kill(pid, sig) < 0 && errno != ESRCH)
		return err_sys(err, errno, "kill container %s", ctr_name(c));
	return 0;
}

/* Kill every process of the container: the first process and, in case it
 * left orphans behind in a shared pid namespace, the whole cgroup. */
static void kill_all(CtrStore *s, Container *c)
{
	pid_t pid = ctr_pid(c);
	if (pid > 0)
		kill(pid, SIGKILL);
	Cgroup *cg = NULL;
	if (ctr_cgroup(s, c, &cg, NULL) == 0) {
		cg_kill_all(cg, SIGKILL, NULL);
		cg_free(cg);
	}
}

int ctr_stop(CtrStore *s, Container *c, int timeout_s, Error **err)
{
	ctr_refresh(s, c, NULL);
	ctr_state_update(c, json_pack("{s:b}", "StopRequested", 1), NULL);
	if (ctr_status(c) != CTR_RUNNING)
		return 0; /* docker: stopping a stopped container succeeds */
	int sig = SIGTERM;
	const char *ss = json_str(json_object_get(c->config, "Config"), "StopSignal");
	if (ss)
		parse_signal(ss, &sig);
	int code;
	if (kill(ctr_pid(c), sig) == 0 && ctr_wait(s, c, timeout_s * 1000, &code, NULL) == 0)
		return 0;
	kill_all(s, c);
	return ctr_wait(s, c, 10000, &code, err);
}

int ctr_remove(CtrStore *s, Container *c, bool force, Error **err)
{
	ctr_refresh(s, c, NULL);
	if (ctr_status(c) == CTR_RUNNING) {
		if (!force)
			return err_set(err, EBUSY,
				       "cannot remove container %s: container is running: stop the container before removing or force remove",
				       ctr_name(c));
	}
	ctr_state_update(c, json_pack("{s:s,s:b}", "Status", "removing", "StopRequested", 1), NULL);
	if (ctr_supervisor_alive(c)) {
		kill_all(s, c);
		/* the supervisor releases network and cgroup; wait for it */
		int64_t deadline = now_ms() + 10000;
		while (ctr_supervisor_alive(c) && now_ms() < deadline) {
			sleep_ms(5);
			if (ctr_refresh(s, c, NULL) < 0)
				return 0; /* it removed the container itself (--rm) */
		}
	}
	ctr_release_resources(s, c);
	int r = fs_rm_rf(c->dir, err);
	if (r < 0)
		return err_prefix(err, "remove container %s", ctr_name(c));
	return 0;
}

int ctr_cgroup(CtrStore *s, Container *c, Cgroup **ret, Error **err)
{
	(void)s;
	_cleanup_free_ char *path = ctr_cgroup_path(c);
	return cg_create("/sys/fs/cgroup", path, ret, err);
}

json_t *ctr_exec_process(CtrStore *s, Container *c, char *const *argv, char *const *env,
			 const char *cwd, const char *user, bool tty)
{
	json_t *spec = NULL;
	CgLimits lim;
	json_t *process;
	if (ctr_build_spec(s, c, &spec, &lim, NULL) == 0) {
		process = json_deep_copy(json_object_get(spec, "process"));
		json_decref(spec);
	} else {
		process = json_object();
	}
	json_object_set_new(process, "args", json_strv(argv));
	json_t *penv = json_object_get(process, "env");
	if (!json_is_array(penv)) {
		penv = json_array();
		json_object_set_new(process, "env", penv);
	}
	for (char *const *e = env; e && *e; e++)
		json_array_append_new(penv, json_string(*e));
	if (cwd && *cwd)
		json_object_set_new(process, "cwd", json_string(cwd));
	json_object_set_new(process, "terminal", json_boolean(tty));
	const char *u = user && *user ? user : json_str(json_object_get(c->config, "Config"), "User");
	json_object_set_new(process, "user", json_pack("{s:i,s:i}", "uid", 0, "gid", 0));
	if (u && *u) {
		/* resolve against the container's own /etc/passwd, seen through /proc */
		_cleanup_free_ char *root = xasprintf("/proc/%d/root", (int)ctr_pid(c));
		uid_t uid;
		gid_t gid;
		_cleanup_free_ gid_t *groups = NULL;
		size_t ng = 0;
		_cleanup_free_ char *home = NULL;
		if (rt_resolve_user(root, u, &uid, &gid, &groups, &ng, &home, NULL) == 0) {
			json_t *ag = json_array();
			for (size_t i = 0; i < ng; i++)
				json_array_append_new(ag, json_integer(groups[i]));
			json_object_set_new(process, "user", json_pack("{s:i,s:i,s:o}", "uid", (json_int_t)uid, "gid",
								       (json_int_t)gid, "additionalGids", ag));
		} else {
			json_object_set_new(process, "user", json_pack("{s:s}", "username", u)); /* rt_exec reports */
		}
	}
	return process;
}

json_t *ctr_inspect(CtrStore *s, Container *c)
{
	ctr_refresh(s, c, NULL);
	json_t *doc = json_deep_copy(c->config);
	json_object_del(doc, "CreatedNs");
	json_t *st = c->state;
	const char *status = json_str(st, "Status");
	json_t *state = json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:I,s:I,s:s,s:s,s:s}",
		"Status", status ? status : "created",
		"Running", ctr_status(c) == CTR_RUNNING,
		"Paused", 0, "Restarting", status && !strcmp(status, "restarting"),
		"OOMKilled", json_bool(st, "OOMKilled", false),
		"Dead", 0,
		"Pid", json_int(st, "Pid", 0),
		"ExitCode", json_int(st, "ExitCode", 0),
		"Error", json_str(st, "Error") ? json_str(st, "Error") : "",
		"StartedAt", json_str(st, "StartedAt") ? json_str(st, "StartedAt") : "0001-01-01T00:00:00Z",
		"FinishedAt", json_str(st, "FinishedAt") ? json_str(st, "FinishedAt") : "0001-01-01T00:00:00Z");
	json_object_set_new(doc, "State", state);
	json_object_set_new(doc, "RestartCount", json_integer(json_int(st, "RestartCount", 0)));
	json_t *ns = json_object_get(st, "NetworkSettings");
	json_object_set_new(doc, "NetworkSettings", ns ? json_deep_copy(ns) : json_pack("{s:s}", "IPAddress", ""));
	_cleanup_free_ char *log = fs_join(c->dir, "ctr.log");
	json_object_set_new(doc, "LogPath", json_string(log));
	json_object_set_new(doc, "GraphDriver", json_pack("{s:s,s:{s:s,s:s}}", "Name", "overlay", "Data",
		"UpperDir", "", "WorkDir", ""));
	json_t *gd = json_object_get(json_object_get(doc, "GraphDriver"), "Data");
	_cleanup_free_ char *up = fs_join(c->dir, "upper"), *wk = fs_join(c->dir, "work");
	json_object_set_new(gd, "UpperDir", json_string(up));
	json_object_set_new(gd, "WorkDir", json_string(wk));
	return doc;
}

int ctr_with_rootfs(CtrStore *s, Container *c, int (*fn)(const char *path, void *ud), void *ud,
		    Error **err)
{
	json_t *spec = NULL;
	CgLimits lim;
	int r = ctr_build_spec(s, c, &spec, &lim, err);
	if (r < 0)
		return r;
	json_t *ann = json_object_get(spec, "annotations");
	_cleanup_free_ char *data = xstrdup(json_str(ann, "org.berth.rootfs.overlay"));
	_cleanup_free_ char *dir = xstrdup(json_str(ann, "org.berth.rootfs.overlay.dir"));
	_cleanup_free_ char *merged = fs_join(c->dir, "merged");
	json_decref(spec);
	/* Mount in a private mount namespace of a child: nothing is ever left
	 * mounted on the host, whatever happens to the child. */
	pid_t pid = fork();
	if (pid < 0)
		return err_sys(err, errno, "fork");
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(120);
		if (chdir(dir) < 0 || mount("overlay", merged, "overlay", 0, data) < 0)
			_exit(121);
		_exit(fn(merged, ud) < 0 ? 122 : 0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		return err_set(err, EIO, "container %s: %s", ctr_name(c),
			       code == 121 ? "mount of the container's root failed" :
			       code == 122 ? "writing the export failed" : "rootfs helper failed");
	}
	return 0;
}
