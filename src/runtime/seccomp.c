/* seccomp.c - OCI seccomp profiles: the default profile, compiling a profile
 * to a BPF program with libseccomp (in the parent, once), and loading the
 * program in the child with one seccomp(2) call.
 *
 * The default profile is berth's equivalent of Docker's: everything not
 * allowed fails with EPERM; a large allowlist of ordinary syscalls; clone only
 * without namespace flags; clone3 answers ENOSYS so libc falls back to clone;
 * personality only for the harmless personas; socket for every family but
 * AF_VSOCK; chroot because CAP_SYS_CHROOT is in the default capability set.
 * Names the running libseccomp does not know are skipped, so one profile
 * works across libseccomp and kernel versions.
 *
 * Compiled programs are cached (see "cache" below): libseccomp takes ~10 ms
 * for this profile, loading the result takes ~0.2 ms. */
#include "spawn-internal.h"
#include <ctype.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include "../base/fs.h"
#include "../shared/digest.h"
#include "../shared/json.h"

/* ------------------------------------------------------ default profile */

static const char *const default_allow[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
	"capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
	"clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
	"clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
	"dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
	"exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
	"fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
	"fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
	"fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
	"ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
	"futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents",
	"getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
	"getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
	"getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
	"getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid",
	"getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc",
	"kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
	"lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
	"lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
	"membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
	"mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
	"mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
	"mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
	"munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "_newselect", "open", "openat",
	"openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
	"preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "ptrace",
	"pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
	"removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
	"semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
	"sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
	"setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
	"setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
	"setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
	"signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
	"stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
	"timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
	"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	"timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
	"ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
	"utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
	"writev",
	/* CAP_SYS_CHROOT is in the default capability set */
	"chroot",
	/* architecture-specific (unknown names are skipped at compile time) */
#if defined(__x86_64__) || defined(__i386__)
	"arch_prctl", "modify_ldt",
#elif defined(__aarch64__) || defined(__arm__)
	"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls",
#endif
};

/* personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
 * UNAME26|PER_LINUX32, and the 0xffffffff query. */
static const json_int_t allowed_personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP */
#define CLONE_NS_MASK 0x7E020000

static json_t *name_rule(const char *name, const char *action)
{
	return json_pack("{s:[s],s:s}", "names", name, "action", action);
}

static json_t *arg_rule(const char *name, int index, json_int_t value, json_int_t value2, const char *op)
{
	return json_pack("{s:[s],s:s,s:[{s:i,s:I,s:I,s:s}]}", "names", name, "action", "SCMP_ACT_ALLOW",
			 "args", "index", index, "value", value, "valueTwo", value2, "op", op);
}

json_t *rt_seccomp_default(void)
{
	json_t *names = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(default_allow); i++)
		json_array_append_new(names, json_string(default_allow[i]));
	json_t *rules = json_array();
	json_array_append_new(rules, json_pack("{s:o,s:s}", "names", names, "action", "SCMP_ACT_ALLOW"));
	for (size_t i = 0; i < ARRAY_SIZE(allowed_personas); i++)
		json_array_append_new(rules, arg_rule("personality", 0, allowed_personas[i], 0, "SCMP_CMP_EQ"));
	json_array_append_new(rules, arg_rule("clone", 0, CLONE_NS_MASK, 0, "SCMP_CMP_MASKED_EQ"));
	json_t *clone3 = name_rule("clone3", "SCMP_ACT_ERRNO");
	json_object_set_new(clone3, "errnoRet", json_integer(ENOSYS));
	json_array_append_new(rules, clone3);
	json_array_append_new(rules, arg_rule("socket", 0, 40 /* AF_VSOCK */, 0, "SCMP_CMP_NE"));
#if defined(__aarch64__) || defined(__arm__)
	json_t *arches = json_pack("[s,s]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
	json_t *arches = json_pack("[s,s,s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#endif
	return json_pack("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM,
			 "architectures", arches, "syscalls", rules);
}

/* ------------------------------------------------------------- compile */

static int parse_action(const char *name, const json_t *errno_ret, uint32_t *ret, Error **err)
{
	int e = json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : EPERM;
	if (!name)
		return err_set(err, EINVAL, "seccomp: missing action");
	if (!strcmp(name, "SCMP_ACT_ALLOW"))
		*ret = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_ERRNO"))
		*ret = SCMP_ACT_ERRNO((uint32_t)e & 0xffff);
	else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		*ret = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		*ret = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP"))
		*ret = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_TRACE"))
		*ret = SCMP_ACT_TRACE((uint32_t)e & 0xffff);
	else if (!strcmp(name, "SCMP_ACT_LOG"))
		*ret = SCMP_ACT_LOG;
	else
		return err_set(err, EINVAL, "seccomp: unsupported action '%s'", name);
	return 0;
}

static int parse_op(const char *op, enum scmp_compare *ret)
{
	static const struct { const char *name; enum scmp_compare op; } ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; op && i < ARRAY_SIZE(ops); i++)
		if (!strcmp(op, ops[i].name)) {
			*ret = ops[i].op;
			return 0;
		}
	return -EINVAL;
}

static int parse_args(const json_t *args, struct scmp_arg_cmp *cmp, size_t *n, bool *same_index, Error **err)
{
	size_t i;
	json_t *a;
	unsigned seen = 0;
	*n = 0;
	*same_index = false;
	if (json_array_size(args) > 6)
		return err_set(err, EINVAL, "seccomp: more than 6 argument conditions in one rule");
	json_array_foreach(args, i, a) {
		json_int_t idx = json_int(a, "index", -1);
		enum scmp_compare op;
		if (idx < 0 || idx > 5 || parse_op(json_str(a, "op"), &op) < 0)
			return err_set(err, EINVAL, "seccomp: args[%zu]: bad index or op", i);
		if (seen & (1u << idx))
			*same_index = true;
		seen |= 1u << idx;
		cmp[i] = (struct scmp_arg_cmp){ .arg = (unsigned)idx, .op = op,
			.datum_a = (scmp_datum_t)json_int(a, "value", 0), .datum_b = (scmp_datum_t)json_int(a, "valueTwo", 0) };
		(*n)++;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const json_t *rule, uint32_t def, Error **err)
{
	uint32_t act;
	int r = parse_action(json_str(rule, "action"), json_object_get(rule, "errnoRet"), &act, err);
	if (r < 0)
		return r;
	if (act == def)
		return 0; /* libseccomp refuses rules that repeat the default */
	struct scmp_arg_cmp cmp[6];
	size_t ncmp;
	bool same;
	if ((r = parse_args(json_object_get(rule, "args"), cmp, &ncmp, &same, err)) < 0)
		return r;
	size_t i;
	json_t *nj;
	json_array_foreach(json_object_get(rule, "names"), i, nj) {
		const char *name = json_string_value(nj);
		int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp: skip, as Docker does */
		/* conditions on the same argument are alternatives: one rule each */
		size_t rounds = same ? ncmp : 1;
		for (size_t k = 0; k < rounds; k++) {
			r = same ? seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k])
				 : seccomp_rule_add_array(ctx, act, nr, (unsigned)ncmp, ncmp ? cmp : NULL);
			if (r < 0)
				return err_sys(err, -r, "seccomp: rule for '%s'", name);
		}
	}
	return 0;
}

static int add_arches(scmp_filter_ctx ctx, const json_t *arches, Error **err)
{
	size_t i;
	json_t *a;
	json_array_foreach(arches, i, a) {
		const char *s = json_string_value(a);
		char name[32];
		if (!s)
			return err_set(err, EINVAL, "seccomp: architectures[%zu] is not a string", i);
		if (!strncmp(s, "SCMP_ARCH_", 10))
			s += 10;
		size_t k = 0;
		for (; s[k] && k < sizeof(name) - 1; k++)
			name[k] = (char)tolower((unsigned char)s[k]);
		name[k] = 0;
		uint32_t arch = seccomp_arch_resolve_name(name);
		if (!arch)
			continue;
		int r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return err_sys(err, -r, "seccomp: add architecture '%s'", name);
	}
	return 0;
}

static int parse_flags(const json_t *flags, unsigned *ret, Error **err)
{
	size_t i;
	json_t *f;
	*ret = 0;
	json_array_foreach(flags, i, f) {
		const char *s = json_string_value(f);
		if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_LOG"))
			*ret |= SECCOMP_FILTER_FLAG_LOG;
		else if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			*ret |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
		else if (s && !strcmp(s, "SECCOMP_FILTER_FLAG_TSYNC"))
			; /* the container process is single-threaded when the filter loads */
		else
			return err_set(err, EINVAL, "seccomp: unsupported flag '%s'", s ? s : "?");
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, RtSeccomp *ret, Error **err)
{
	_cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "seccomp: memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return err_sys(err, -r, "seccomp: export the filter");
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter) || size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter)))
		return err_set(err, E2BIG, "seccomp: the compiled filter has a bad size (%lld bytes)", (long long)size);
	struct sock_filter *f = xmalloc((size_t)size);
	if (pread(fd, f, (size_t)size, 0) != size) {
		free(f);
		return err_sys(err, errno ? errno : EIO, "seccomp: read the filter back");
	}
	ret->prog.filter = f;
	ret->prog.len = (unsigned short)(size / sizeof(struct sock_filter));
	return 0;
}

/* ---------------------------------------------------------------- cache */

/* libseccomp needs ~10 ms for Docker's profile on three architectures, most
 * of a container start.  The result depends only on the profile, the
 * libseccomp version and the native architecture, so it is cached: in memory
 * for long-lived callers, and in CACHE_DIR for one-shot CLI runs.  Entries
 * are written atomically, carry their length, and are only trusted in a
 * root-owned directory nobody else can write. */
#define CACHE_DIR "/run/berth/seccomp"
#define CACHE_MAGIC "BERTHSC2"

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char key[72];
	struct sock_filter *insns;
	unsigned short len;
} mem_cache;

/* The key hashes the profile's JSON tree as it is walked (tagged,
 * length-prefixed tokens through a small buffer): no serialisation, no key
 * sorting.  Objects are taken in their stored order, so the same producer
 * always gives the same key; a reordered profile only costs a cache miss. */
typedef struct KeyHash {
	Sha256 *h;
	unsigned char buf[4096];
	size_t len;
} KeyHash;

static void kh_add(KeyHash *k, const void *data, size_t n)
{
	if (k->len + n > sizeof(k->buf)) {
		sha256_update(k->h, k->buf, k->len);
		k->len = 0;
	}
	if (n > sizeof(k->buf)) {
		sha256_update(k->h, data, n);
		return;
	}
	memcpy(k->buf + k->len, data, n);
	k->len += n;
}

static void kh_str(KeyHash *k, char tag, const char *str, size_t n)
{
	uint32_t len = (uint32_t)n;
	kh_add(k, &tag, 1);
	kh_add(k, &len, sizeof(len));
	kh_add(k, str, n);
}

static void kh_json(KeyHash *k, const json_t *j, int depth)
{
	char tag = (char)json_typeof(j);
	if (depth > 64) /* profiles are shallow; never recurse without bound */
		return;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *v;
		kh_add(k, &tag, 1);
		json_object_foreach((json_t *)j, key, v) {
			kh_str(k, 'k', key, strlen(key));
			kh_json(k, v, depth + 1);
		}
		kh_add(k, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		kh_add(k, &tag, 1);
		json_array_foreach(j, i, v)
			kh_json(k, v, depth + 1);
		kh_add(k, "]", 1);
		break;
	}
	case JSON_STRING:
		kh_str(k, tag, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER: {
		json_int_t v = json_integer_value(j);
		kh_add(k, &tag, 1);
		kh_add(k, &v, sizeof(v));
		break;
	}
	case JSON_REAL: {
		double v = json_real_value(j);
		kh_add(k, &tag, 1);
		kh_add(k, &v, sizeof(v));
		break;
	}
	default:
		kh_add(k, &tag, 1);
	}
}

static void cache_key(const json_t *sc, char key[72])
{
	const struct scmp_version *v = seccomp_version();
	char head[128];
	snprintf(head, sizeof(head), "%s\n%u.%u.%u\n%u\n", CACHE_MAGIC, v ? v->major : 0, v ? v->minor : 0,
		 v ? v->micro : 0, seccomp_arch_native());
	KeyHash k = { .h = sha256_new() };
	kh_add(&k, head, strlen(head));
	kh_json(&k, sc, 0);
	sha256_update(k.h, k.buf, k.len);
	sha256_final(k.h, key);
}

static bool cache_dir_trusted(void)
{
	struct stat st;
	return stat(CACHE_DIR, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022);
}

static void prog_set(RtSeccomp *ret, const struct sock_filter *insns, size_t len)
{
	ret->prog.filter = xmalloc(len * sizeof(*insns));
	memcpy(ret->prog.filter, insns, len * sizeof(*insns));
	ret->prog.len = (unsigned short)len;
}

static bool cache_get(const char *key, RtSeccomp *ret)
{
	pthread_mutex_lock(&mem_lock);
	bool hit = mem_cache.insns && !strcmp(mem_cache.key, key);
	if (hit)
		prog_set(ret, mem_cache.insns, mem_cache.len);
	pthread_mutex_unlock(&mem_lock);
	if (hit)
		return true;
	if (!cache_dir_trusted())
		return false;
	_cleanup_free_ char *path = xasprintf("%s/%s", CACHE_DIR, key + 7);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || st.st_size < 12 ||
	    st.st_size > 12 + BPF_MAXINSNS * (off_t)sizeof(struct sock_filter))
		return false;
	_cleanup_free_ char *buf = xmalloc((size_t)st.st_size);
	uint32_t len;
	if (fs_read_full(fd, buf, (size_t)st.st_size) != st.st_size || memcmp(buf, CACHE_MAGIC, 8))
		return false;
	memcpy(&len, buf + 8, 4);
	if (len == 0 || 12 + (off_t)len * (off_t)sizeof(struct sock_filter) != st.st_size)
		return false;
	prog_set(ret, (const struct sock_filter *)(buf + 12), len);
	return true;
}

static void cache_put(const char *key, const RtSeccomp *prog)
{
	pthread_mutex_lock(&mem_lock);
	free(mem_cache.insns);
	snprintf(mem_cache.key, sizeof(mem_cache.key), "%s", key);
	mem_cache.len = prog->prog.len;
	mem_cache.insns = xmalloc(prog->prog.len * sizeof(struct sock_filter));
	memcpy(mem_cache.insns, prog->prog.filter, prog->prog.len * sizeof(struct sock_filter));
	pthread_mutex_unlock(&mem_lock);
	if (fs_mkdir_p(CACHE_DIR, 0700, NULL) < 0 || !cache_dir_trusted())
		return; /* only an optimisation: never an error */
	size_t n = prog->prog.len * sizeof(struct sock_filter);
	_cleanup_free_ char *buf = xmalloc(12 + n);
	uint32_t len = prog->prog.len;
	memcpy(buf, CACHE_MAGIC, 8);
	memcpy(buf + 8, &len, 4);
	memcpy(buf + 12, prog->prog.filter, n);
	_cleanup_free_ char *path = xasprintf("%s/%s", CACHE_DIR, key + 7);
	fs_write_atomic(path, buf, 12 + n, 0600, NULL);
}

int rt_seccomp_compile(const json_t *sc, RtSeccomp *ret, Error **err)
{
	memset(ret, 0, sizeof(*ret));
	if (!sc || json_is_null(sc))
		return 0;
	if (!json_is_object(sc))
		return err_set(err, EINVAL, "seccomp: not an object");
	uint32_t def;
	int r = parse_action(json_str(sc, "defaultAction"), json_object_get(sc, "defaultErrnoRet"), &def, err);
	if (r < 0 || (r = parse_flags(json_object_get(sc, "flags"), &ret->flags, err)) < 0)
		return r;
	char key[72];
	cache_key(sc, key);
	if (cache_get(key, ret)) {
		ret->set = true;
		return 0;
	}
	const json_t *rules = json_object_get(sc, "syscalls");
	if (json_array_size(rules) > 4096)
		return err_set(err, E2BIG, "seccomp: more than 4096 rules");
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return err_set(err, EINVAL, "seccomp: cannot initialise a filter");
	/* a binary tree of syscall numbers: fewer instructions run per syscall
	 * and a much cheaper load (the kernel emulates the filter per syscall
	 * number to build its allow cache) */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	r = add_arches(ctx, json_object_get(sc, "architectures"), err);
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule) {
		if (r < 0)
			break;
		r = add_rule(ctx, rule, def, err);
	}
	if (r >= 0)
		r = export_bpf(ctx, ret, err);
	seccomp_release(ctx);
	if (r < 0)
		return r;
	cache_put(key, ret);
	ret->set = true;
	return 0;
}

void rt_seccomp_release(RtSeccomp *s)
{
	free(s->prog.filter);
	memset(s, 0, sizeof(*s));
}

int rt_seccomp_load(const RtSeccomp *s, RtChildErr *e)
{
	if (!s->set)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->flags, &s->prog) == 0)
		return 0;
	if (errno == ENOSYS && !s->flags && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &s->prog) == 0)
		return 0;
	return rt_cerr_sys(e, errno, "load the seccomp filter");
}
