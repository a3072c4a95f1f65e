/* process.c - the OCI "process" object: parsing it (parent) and the last
 * steps of the container's process before execve (child): rlimits, stdio and
 * the terminal, the user, cwd, capabilities, no_new_privs, seccomp, exec.
 *
 * Order matters and follows runc: the bounding set is dropped while still
 * root; the user switch keeps the permitted set (PR_SET_KEEPCAPS) so that the
 * spec's sets can be applied after it; seccomp loads last when no_new_privs
 * is set (so the filter need not allow the setup syscalls), otherwise before
 * the user switch, while CAP_SYS_ADMIN still allows loading it. */
#include "spawn-internal.h"
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include "../base/limits.h"
#include "../shared/json.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ------------------------------------------------------------ child errors */

int rt_cerr(RtChildErr *e, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (e->code == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		e->code = code;
	}
	return -code;
}

int rt_cerr_sys(RtChildErr *e, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (e->code == 0) {
		char head[768];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(head, sizeof(head), fmt, ap);
		va_end(ap);
		snprintf(e->msg, sizeof(e->msg), "%s: %s", head, strerror(code));
		e->code = code;
	}
	return -code;
}

/* ---------------------------------------------------------------- parse */

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static rlim_t rlim_value(const json_t *v)
{
	if (!json_is_integer(v))
		return RLIM_INFINITY;
	json_int_t x = json_integer_value(v);
	return x < 0 ? RLIM_INFINITY : (rlim_t)x;
}

/* Without CAP_SYS_RESOURCE a hard limit cannot go up: clamp to the current
 * hard limit rather than fail, and keep soft <= hard. */
static int parse_rlimits(const json_t *arr, RtProcess *p, Error **err)
{
	size_t i;
	json_t *rl;
	json_array_foreach(arr, i, rl) {
		const char *type = json_str(rl, "type");
		size_t k = 0;
		while (k < ARRAY_SIZE(rlimit_names) && (!type || strcmp(type, rlimit_names[k].name)))
			k++;
		if (k == ARRAY_SIZE(rlimit_names))
			return err_set(err, EINVAL, "process.rlimits[%zu]: unknown type '%s'", i, type ? type : "?");
		if (p->n_rlimits == ARRAY_SIZE(p->rlimits))
			return err_set(err, E2BIG, "process.rlimits: too many entries");
		struct rlimit cur;
		if (getrlimit(rlimit_names[k].res, &cur) < 0)
			return err_sys(err, errno, "getrlimit %s", type);
		RtRlimit *r = &p->rlimits[p->n_rlimits++];
		r->resource = rlimit_names[k].res;
		r->rl.rlim_max = rlim_value(json_object_get(rl, "hard"));
		r->rl.rlim_cur = rlim_value(json_object_get(rl, "soft"));
		if (cur.rlim_max != RLIM_INFINITY && (r->rl.rlim_max == RLIM_INFINITY || r->rl.rlim_max > cur.rlim_max))
			r->rl.rlim_max = cur.rlim_max;
		if (r->rl.rlim_max != RLIM_INFINITY && (r->rl.rlim_cur == RLIM_INFINITY || r->rl.rlim_cur > r->rl.rlim_max))
			r->rl.rlim_cur = r->rl.rlim_max;
	}
	return 0;
}

static int parse_user(const json_t *user, RtProcess *p, Error **err)
{
	json_int_t uid = json_int(user, "uid", 0), gid = json_int(user, "gid", 0);
	if (uid < 0 || uid > INT32_MAX || gid < 0 || gid > INT32_MAX)
		return err_set(err, EINVAL, "process.user: uid/gid out of range");
	p->uid = (uid_t)uid;
	p->gid = (gid_t)gid;
	json_t *um = json_object_get(user, "umask");
	if (json_is_integer(um)) {
		p->has_umask = true;
		p->umask = (mode_t)json_integer_value(um) & 0777;
	}
	const json_t *extra = json_object_get(user, "additionalGids");
	size_t n = json_array_size(extra), i;
	if (n > NGROUPS_MAX)
		return err_set(err, E2BIG, "process.user.additionalGids: more than %d groups", NGROUPS_MAX);
	p->groups = xcalloc(n ? n : 1, sizeof(gid_t));
	json_t *g;
	json_array_foreach(extra, i, g) {
		if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > INT32_MAX)
			return err_set(err, EINVAL, "process.user.additionalGids[%zu] is not a gid", i);
		p->groups[p->n_groups++] = (gid_t)json_integer_value(g);
	}
	return 0;
}

static int parse_strv(const json_t *arr, const char *what, char ***ret, size_t spare, size_t *ret_n, Error **err)
{
	if (arr && !json_is_array(arr))
		return err_set(err, EINVAL, "%s must be an array of strings", what);
	size_t n = json_array_size(arr), i;
	if (n > BERTH_MAX_SPEC_ITEMS)
		return err_set(err, E2BIG, "%s has more than %u entries", what, BERTH_MAX_SPEC_ITEMS);
	char **v = xcalloc(n + 1 + spare, sizeof(char *));
	json_t *s;
	json_array_foreach(arr, i, s) {
		if (!json_is_string(s)) {
			strv_free(v);
			return err_set(err, EINVAL, "%s[%zu] is not a string", what, i);
		}
		v[i] = xstrdup(json_string_value(s));
	}
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
}

int rt_process_parse(const json_t *process, const char *user_annotation, const json_t *seccomp,
		     RtProcess *p, Error **err)
{
	memset(p, 0, sizeof(*p));
	int r = parse_strv(json_object_get(process, "args"), "process.args", &p->argv, 0, NULL, err);
	if (r < 0 || (r = parse_strv(json_object_get(process, "env"), "process.env", &p->env, 1, &p->n_env, err)) < 0)
		return r;
	if (!p->argv[0] || !p->argv[0][0])
		return err_set(err, EINVAL, "process.args: no program to run");
	const char *cwd = json_str(process, "cwd");
	if (cwd && cwd[0] != '/')
		return err_set(err, EINVAL, "process.cwd '%s' is not an absolute path", cwd);
	if (cwd && strlen(cwd) >= PATH_MAX)
		return err_set(err, ENAMETOOLONG, "process.cwd is too long");
	p->cwd = xstrdup(cwd ? cwd : "/");
	if ((r = parse_user(json_object_get(process, "user"), p, err)) < 0)
		return r;
	p->user_spec = user_annotation && *user_annotation ? xstrdup(user_annotation) : NULL;
	p->terminal = json_bool(process, "terminal", false);
	p->nnp = json_bool(process, "noNewPrivileges", false);
	json_t *oom = json_object_get(process, "oomScoreAdj");
	if (json_is_integer(oom)) {
		if (json_integer_value(oom) < -1000 || json_integer_value(oom) > 1000)
			return err_set(err, EINVAL, "process.oomScoreAdj must be within [-1000, 1000]");
		p->has_oom_score = true;
		p->oom_score_adj = (int)json_integer_value(oom);
	}
	if ((r = parse_rlimits(json_object_get(process, "rlimits"), p, err)) < 0)
		return r;
	if ((r = rt_caps_parse(json_object_get(process, "capabilities"), &p->caps, err)) < 0)
		return err_prefix(err, "process");
	return rt_seccomp_compile(seccomp, &p->seccomp, err);
}

void rt_process_release(RtProcess *p)
{
	strv_free(p->argv);
	strv_free(p->env);
	free(p->cwd);
	free(p->groups);
	free(p->user_spec);
	rt_caps_release(&p->caps);
	rt_seccomp_release(&p->seccomp);
	memset(p, 0, sizeof(*p));
}

/* --------------------------------------------------------------- stdio */

int rt_process_stdio(const RtStdio *st, bool terminal, RtChildErr *e)
{
	if (terminal && st->console_fd >= 0) {
		if (ioctl(st->console_fd, TIOCSCTTY, 0) < 0)
			return rt_cerr_sys(e, errno, "make the terminal the controlling terminal");
		for (int i = 0; i < 3; i++)
			if (dup2(st->console_fd, i) < 0)
				return rt_cerr_sys(e, errno, "dup the terminal to fd %d", i);
		return 0;
	}
	int src[3] = { st->in, st->out, st->err }, tmp[3];
	int null = -1;
	for (int i = 0; i < 3; i++) {
		if (src[i] < 0) {
			if (null < 0 && (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				return rt_cerr_sys(e, errno, "open /dev/null");
			src[i] = null;
		}
		/* move out of 0..2 first so that no dup2 clobbers a later source */
		if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return rt_cerr_sys(e, errno, "dup stdio fd %d", src[i]);
	}
	for (int i = 0; i < 3; i++) {
		if (dup2(tmp[i], i) < 0)
			return rt_cerr_sys(e, errno, "dup stdio to fd %d", i);
		close(tmp[i]);
	}
	if (null >= 0)
		close(null);
	return 0;
}

/* ----------------------------------------------------------- child steps */

static int apply_rlimits(const RtProcess *p, RtChildErr *e)
{
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].rl) < 0)
			return rt_cerr_sys(e, errno, "setrlimit %d", p->rlimits[i].resource);
	if (p->has_oom_score) {
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (fd < 0 || write(fd, buf, (size_t)n) != n) {
			int er = errno;
			if (fd >= 0)
				close(fd);
			return rt_cerr_sys(e, er, "set oom_score_adj");
		}
		close(fd);
	}
	return 0;
}

static bool env_has(char **env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return true;
	return false;
}

/* org.berth.user: resolved against the container's own files (we are past
 * pivot_root, so "/" is the container's root). */
static int resolve_user(RtProcess *p, RtChildErr *e)
{
	if (!p->user_spec)
		return 0;
	_cleanup_err_ Error *err = NULL;
	gid_t *groups = NULL;
	size_t n = 0;
	_cleanup_free_ char *home = NULL;
	if (rt_resolve_user("/", p->user_spec, &p->uid, &p->gid, &groups, &n, &home, &err) < 0)
		return rt_cerr(e, err->code, "%s", err_msg(err));
	/* the user's own groups, then the spec's additionalGids (docker's
	 * --group-add, a pod's fsGroup and supplementalGroups) not among them */
	groups = xrealloc(groups, (n + p->n_groups + 1) * sizeof(gid_t));
	for (size_t i = 0; i < p->n_groups; i++) {
		bool have = false;
		for (size_t j = 0; j < n && !have; j++)
			have = groups[j] == p->groups[i];
		if (!have && n < NGROUPS_MAX)
			groups[n++] = p->groups[i];
	}
	free(p->groups);
	p->groups = groups;
	p->n_groups = n;
	if (!env_has(p->env, "HOME"))
		p->env[p->n_env++] = xasprintf("HOME=%s", home);
	return 0;
}

/* Docker creates a missing working directory (owned by root). */
static int ensure_cwd(const char *cwd, RtChildErr *e)
{
	struct stat st;
	if (stat(cwd, &st) == 0)
		return 0;
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", cwd);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return rt_cerr_sys(e, errno, "create working directory '%s'", buf);
		if (!c)
			break;
		*p = c;
	}
	return 0;
}

static int switch_user(const RtProcess *p, RtChildErr *e)
{
	if (p->caps.set && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return rt_cerr_sys(e, errno, "keep capabilities across the user switch");
	/* always: the host's supplementary groups must not leak in */
	if (setgroups(p->n_groups, p->groups) < 0 && !(errno == EPERM && p->n_groups == 0))
		return rt_cerr_sys(e, errno, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return rt_cerr_sys(e, errno, "setgid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return rt_cerr_sys(e, errno, "setuid %u", (unsigned)p->uid);
	if (p->caps.set && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return rt_cerr_sys(e, errno, "reset keep-capabilities");
	return 0;
}

static const char *env_get(char **env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* execve, searching the container's PATH for a bare name as execvpe would,
 * but reporting "not found" and "not executable" distinctly. */
static int exec_program(RtProcess *p, RtChildErr *e)
{
	const char *prog = p->argv[0];
	if (strchr(prog, '/')) {
		execve(prog, p->argv, p->env);
		return rt_cerr_sys(e, errno, "exec '%s'", prog);
	}
	const char *path = env_get(p->env, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	bool denied = false;
	for (const char *d = path; *d;) {
		size_t len = strcspn(d, ":");
		char full[PATH_MAX];
		if ((size_t)snprintf(full, sizeof(full), "%.*s/%s", (int)len, len ? d : ".", prog) < sizeof(full)) {
			execve(full, p->argv, p->env);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				return rt_cerr_sys(e, errno, "exec '%s'", full);
		}
		d += len;
		if (*d)
			d++;
	}
	if (denied)
		return rt_cerr_sys(e, EACCES, "exec '%s'", prog);
	return rt_cerr(e, ENOENT, "exec '%s': executable file not found in $PATH", prog);
}

/* --init: this process stays PID 1 of the container, forwards every signal
 * it can catch to the program, reaps every orphan, and exits with the
 * program's status (128+N for a signal).  It runs with the program's user,
 * capabilities and seccomp filter, and keeps no fd but stdio: the start
 * handshake sees end-of-file when the program's exec succeeds. */
static pid_t init_child;

static void init_forward(int sig)
{
	if (init_child > 0)
		kill(init_child, sig);
}

static void run_init(RtProcess *p, RtChildErr *e)
{
	(void)p;
	(void)e;
	pid_t child = fork();
	if (child <= 0)
		return; /* the program (or fork failed: exec it as PID 1 then) */
	init_child = child;
	syscall(SYS_close_range, 3, ~0U, 0);
	struct sigaction sa = { .sa_handler = init_forward };
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	for (;;) {
		int st;
		pid_t w = wait(&st);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(255);
		if (w == child)
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

int rt_process_exec(RtProcess *p, RtChildErr *e)
{
	int r;
	if ((r = apply_rlimits(p, e)) < 0 || (r = resolve_user(p, e)) < 0 || (r = ensure_cwd(p->cwd, e)) < 0)
		return r;
	/* nothing of the runtime's may reach the program */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != ENOSYS && errno != EINVAL)
		return rt_cerr_sys(e, errno, "close_range");
	if ((r = rt_caps_drop_bounding(&p->caps, e)) < 0)
		return r;
	if (!p->nnp && (r = rt_seccomp_load(&p->seccomp, e)) < 0)
		return r;
	if ((r = switch_user(p, e)) < 0 || (r = rt_caps_apply(&p->caps, e)) < 0)
		return r;
	if (chdir(p->cwd) < 0)
		return rt_cerr_sys(e, errno, "chdir to cwd '%s'", p->cwd);
	if (p->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return rt_cerr_sys(e, errno, "set no_new_privs");
	if (p->nnp && (r = rt_seccomp_load(&p->seccomp, e)) < 0)
		return r;
	umask(p->has_umask ? p->umask : 022);
	if (p->init)
		run_init(p, e);
	return exec_program(p, e);
}
