/* step-run.c - RUN: the command runs in a container of the low-level
 * runtime on an overlay of the step's parent image, and its upper dir is
 * what exec.c commits.
 *
 * No container record, supervisor or cgroup is made: a build step is a
 * short-lived child of the build, so the spec from rt_spec_default() with
 * the overlay annotations goes straight to rt_spawn and the build waits for
 * it, relaying stdout/stderr to the log.  The rootfs is only mounted inside
 * the step's own mount namespace, so nothing is left mounted when it ends.
 * Networking: "host" (BuildKit's default without CNI) or "none" (a private
 * network namespace with only loopback).  An init layer below the upper dir
 * gives /etc/hosts, /etc/resolv.conf and /etc/hostname without them ever
 * landing in the committed layer.
 */
#include "build-internal.h"
#include "../base/fs.h"
#include "../runtime/runtime.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUILD_HOSTNAME "berth-build"

static int write_init_layer(const char *init, const char *network, Error **err)
{
	_cleanup_free_ char *etc = fs_join(init, "etc");
	int r = fs_mkdir_p(etc, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *resolv = NULL;
	if (!strcmp(network, "host") && fs_read_file("/etc/resolv.conf", 1 << 16, &resolv, NULL, NULL) < 0)
		resolv = NULL;
	if (!resolv)
		resolv = xstrdup("");
	static const char hosts[] = "127.0.0.1\tlocalhost " BUILD_HOSTNAME "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
	static const char hostname[] = BUILD_HOSTNAME "\n";
	struct { const char *name, *data; } files[] = {
		{ "hosts", hosts }, { "hostname", hostname }, { "resolv.conf", resolv },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = fs_join(etc, files[i].name);
		r = fs_write_replace(p, files[i].data, strlen(files[i].data), 0644, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static json_t *run_spec(const BuildRunSpec *rs, const char *merged, const char *data, const char *dir)
{
	json_t *spec = rt_spec_default();
	json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", merged, "readonly", 0));
	json_t *ann = json_obj_ensure(spec, "annotations");
	json_object_set_new(ann, "org.berth.rootfs.overlay", json_string(data));
	json_object_set_new(ann, "org.berth.rootfs.overlay.dir", json_string(dir));
	if (rs->user && *rs->user)
		json_object_set_new(ann, "org.berth.user", json_string(rs->user));
	json_object_set_new(spec, "hostname", json_string(BUILD_HOSTNAME));
	json_t *process = json_obj_ensure(spec, "process");
	json_object_set_new(process, "args", json_strv(rs->args));
	json_object_set_new(process, "env", json_strv(rs->env));
	json_object_set_new(process, "cwd", json_string(rs->cwd && *rs->cwd ? rs->cwd : "/"));
	json_object_set_new(process, "terminal", json_false());
	json_object_set_new(process, "user", json_pack("{s:i,s:i}", "uid", 0, "gid", 0));
	if (!strcmp(rs->network, "host")) {
		json_t *nss = json_path(spec, "linux.namespaces");
		for (size_t i = json_array_size(nss); i-- > 0;) {
			const char *t = json_str(json_array_get(nss, i), "type");
			if (t && !strcmp(t, "network"))
				json_array_remove(nss, i);
		}
	}
	return spec;
}

/* Copy the container's output to the log until it closes its end. */
static void relay_output(int fd, const BuildRunSpec *rs)
{
	char buf[8192];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (rs->output)
			rs->output(buf, (size_t)n, rs->ud);
	}
}

int build_step_run(const BuildRunSpec *rs, int *ret_status, Error **err)
{
	_cleanup_free_ char *upper = fs_join(rs->workdir, "upper");
	_cleanup_free_ char *work = fs_join(rs->workdir, "work");
	_cleanup_free_ char *merged = fs_join(rs->workdir, "merged");
	_cleanup_free_ char *init = fs_join(rs->workdir, "init");
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(merged, 0755) < 0)
		return err_sys(err, errno, "create the step's directories in '%s'", rs->workdir);
	int r = write_init_layer(init, rs->network, err);
	if (r < 0)
		return r;
	ImgInfo empty = { 0 };
	_cleanup_free_ char *data = NULL, *dir = NULL;
	r = img_overlay_options(rs->store, rs->parent ? rs->parent : &empty, init, upper, work, &data, &dir, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *spec = run_spec(rs, merged, data, dir);
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	RtStdio io = { .in = -1, .out = pipefd[1], .err = pipefd[1], .console_fd = -1 };
	RtSpawned sp = { .pid = -1, .console_master = -1 };
	r = rt_spawn(spec, NULL, &io, NULL, &sp, err);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return r;
	}
	relay_output(pipefd[0], rs);
	close(pipefd[0]);
	int st = 0;
	while (waitpid(sp.pid, &st, 0) < 0) {
		if (errno != EINTR)
			return err_sys(err, errno, "wait for the RUN process");
	}
	*ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}
