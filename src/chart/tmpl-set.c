/* tmpl-set.c - template sets (the public API of chart.h), the function
 * tables, and the large stack parse and execute run on.
 *
 * Why a big stack: Go allows 100000 nested {{template}} calls and 10000
 * nested parentheses; C recursion that deep needs far more than the default
 * 8 MiB stack.  Each parse/execute runs on a big, lazily committed stack with
 * a guard that turns "almost out of stack" into Go's depth error.  The stack
 * is one reserved mapping per process, entered with swapcontext on the
 * calling thread: a thread per call cost a clone, a 512 MiB mmap/munmap and,
 * on a busy machine, a scheduler round trip per template (the scaffold's 20
 * parse/execute calls were most of `chart template`'s wall time).  A nested
 * or concurrent call, and ASan builds (whose stack bookkeeping dislikes
 * swapcontext), use a thread as before.
 */
#include "tmpl.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

/* ---- function tables ---------------------------------------------------------------- */
struct FuncTable {
	const FuncDef **defs;   /* sorted by name */
	size_t n;
};

static int def_cmp(const void *a, const void *b)
{
	return strcmp((*(const FuncDef *const *)a)->name, (*(const FuncDef *const *)b)->name);
}

/* Later groups override earlier ones (Helm's funcMap overrides Sprig's). */
static void table_build(FuncTable *t, const FuncDef *const *groups, size_t ng)
{
	size_t cap = 0;
	for (size_t g = 0; g < ng; g++)
		for (const FuncDef *d = groups[g]; d->name; d++)
			cap++;
	t->defs = xcalloc(cap, sizeof(FuncDef *));
	t->n = 0;
	for (size_t g = 0; g < ng; g++) {
		for (const FuncDef *d = groups[g]; d->name; d++) {
			size_t i;
			for (i = 0; i < t->n; i++)
				if (!strcmp(t->defs[i]->name, d->name))
					break;
			t->defs[i] = d;
			if (i == t->n)
				t->n++;
		}
	}
	qsort(t->defs, t->n, sizeof(FuncDef *), def_cmp);
}

static FuncTable go_table, helm_table;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
	const FuncDef *const go[] = { funcs_builtin };
	table_build(&go_table, go, 1);
	const FuncDef *const helm[] = { funcs_builtin, funcs_strings, funcs_math, funcs_lists, funcs_dicts,
		funcs_defaults, funcs_encoding, funcs_regex, funcs_semver, funcs_date, funcs_crypto, funcs_helm };
	table_build(&helm_table, helm, ARRAY_SIZE(helm));
}

const FuncTable *functable_go(void)
{
	pthread_once(&tables_once, tables_init);
	return &go_table;
}

const FuncTable *functable_helm(void)
{
	pthread_once(&tables_once, tables_init);
	return &helm_table;
}

const FuncDef *functable_find(const FuncTable *t, const char *name, size_t len)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *k = t->defs[mid]->name;
		int c = strncmp(k, name, len);
		if (c == 0 && k[len] != 0)
			c = 1;
		if (c == 0)
			return t->defs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int fn_error(Ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *buf = arena_alloc(c->a, n > 0 ? (size_t)n + 1 : 1);
	va_start(ap, fmt);
	vsnprintf(buf, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	va_end(ap);
	c->errmsg = buf;
	return -1;
}

/* ---- the big-stack runner -------------------------------------------------------------- */
#define WORKER_STACK (512u << 20)
#define STACK_RESERVE (2u << 20)   /* leave this much unused below the guard */

typedef struct Job {
	int (*fn)(void *arg, char *stack_base, size_t budget);
	void *arg;
	int ret;
} Job;

static void *job_main(void *p)
{
	Job *j = p;
	char base;
	j->ret = j->fn(j->arg, &base, WORKER_STACK - STACK_RESERVE);
	return NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define BIG_STACK_UCONTEXT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_STACK_UCONTEXT 0
#endif
#endif
#ifndef BIG_STACK_UCONTEXT
#define BIG_STACK_UCONTEXT 1
#endif

#if BIG_STACK_UCONTEXT
#define GUARD_SIZE (64u << 10)
static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static char *big_stack;           /* GUARD_SIZE (PROT_NONE) + WORKER_STACK, reserved once */
static Job *big_job;
static ucontext_t big_uc, big_caller;

static void big_main(void)
{
	char base;
	big_job->ret = big_job->fn(big_job->arg, &base, WORKER_STACK - STACK_RESERVE);
}

/* Run job on the shared big stack of this process; -1 when it is busy or
 * cannot be set up (the caller then uses a thread). */
static int run_on_shared_stack(Job *j)
{
	if (pthread_mutex_trylock(&big_lock) != 0)
		return -1;
	if (!big_stack) {
		void *m = mmap(NULL, GUARD_SIZE + WORKER_STACK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (m == MAP_FAILED || mprotect(m, GUARD_SIZE, PROT_NONE) < 0) {
			if (m != MAP_FAILED)
				munmap(m, GUARD_SIZE + WORKER_STACK);
			pthread_mutex_unlock(&big_lock);
			return -1;
		}
		big_stack = m;
	}
	if (getcontext(&big_uc) < 0) {
		pthread_mutex_unlock(&big_lock);
		return -1;
	}
	big_uc.uc_stack.ss_sp = big_stack + GUARD_SIZE;
	big_uc.uc_stack.ss_size = WORKER_STACK;
	big_uc.uc_link = &big_caller;
	big_job = j;
	makecontext(&big_uc, big_main, 0);
	int rc = swapcontext(&big_caller, &big_uc);
	/* whatever deep recursion committed goes back; the top 1 MiB stays warm
	 * (dropping never-touched pages is a cheap page-table walk) */
	madvise(big_stack + GUARD_SIZE, WORKER_STACK - (1u << 20), MADV_DONTNEED);
	big_job = NULL;
	pthread_mutex_unlock(&big_lock);
	return rc < 0 ? -1 : 0;
}
#endif

static int run_big_stack(int (*fn)(void *, char *, size_t), void *arg)
{
#if BIG_STACK_UCONTEXT
	{
		Job sj = { fn, arg, 0 };
		if (run_on_shared_stack(&sj) == 0)
			return sj.ret;
	}
#endif
	pthread_attr_t attr;
	pthread_t th;
	Job j = { fn, arg, 0 };
	if (pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, WORKER_STACK) == 0 &&
	    pthread_create(&th, &attr, job_main, &j) == 0) {
		pthread_attr_destroy(&attr);
		pthread_join(th, NULL);
		return j.ret;
	}
	pthread_attr_destroy(&attr);
	/* no thread (resource limits): run here with a conservative budget */
	char base;
	return fn(arg, &base, 4u << 20);
}

/* ---- sets ------------------------------------------------------------------------------------ */
TmplSet *tmpl_set_new(const TmplOptions *o)
{
	TmplSet *s = xcalloc(1, sizeof(*s));
	s->arena = arena_new(0);
	TmplOptions def = { 0 };
	if (!o)
		o = &def;
	s->funcs = o->funcs == TMPL_FUNCS_GO ? functable_go() : functable_helm();
	s->missingkey = o->missingkey;
	s->lint_mode = o->lint_mode;
	if (o->ldelim && *o->ldelim)
		s->ldelim = arena_strdup(s->arena, o->ldelim);
	if (o->rdelim && *o->rdelim)
		s->rdelim = arena_strdup(s->arena, o->rdelim);
	if (o->name)
		s->name = arena_strdup(s->arena, o->name);
	return s;
}

void tmpl_set_free(TmplSet *s)
{
	if (!s)
		return;
	arena_free(s->arena);
	free(s);
}

int tmpl_set_option(TmplSet *s, const char *opt, Error **err)
{
	if (!strcmp(opt, "missingkey=default") || !strcmp(opt, "missingkey=invalid"))
		s->missingkey = MISSINGKEY_DEFAULT;
	else if (!strcmp(opt, "missingkey=zero"))
		s->missingkey = MISSINGKEY_ZERO;
	else if (!strcmp(opt, "missingkey=error"))
		s->missingkey = MISSINGKEY_ERROR;
	else if (!strncmp(opt, "missingkey=", 11))
		return err_set(err, EINVAL, "unrecognized option: %s", opt);
	else
		return err_set(err, EINVAL, "unrecognized option: %s", opt);
	return 0;
}

Tmpl *tmplset_lookup(const TmplSet *s, const char *name)
{
	for (; s; s = s->parent)
		for (size_t i = 0; i < s->ntmpls; i++)
			if (!strcmp(s->tmpls[i]->name, name))
				return s->tmpls[i];
	return NULL;
}

bool tmpl_set_has(const TmplSet *s, const char *name)
{
	return tmplset_lookup(s, name) != NULL;
}

typedef struct ParseJob {
	TmplSet *s;
	const char *name, *text;
	size_t len;
	Error **err;
} ParseJob;

static int parse_job(void *p, char *base, size_t budget)
{
	(void)base;
	(void)budget;
	ParseJob *j = p;
	return tmplset_parse_into(j->s, j->name, j->text, j->len, NULL, j->err);
}

int tmpl_set_parse(TmplSet *s, const char *name, const char *text, size_t len, Error **err)
{
	if (len > BERTH_MAX_TEMPLATE_SIZE)
		return err_set(err, EFBIG, "template: %s: template is larger than %u bytes", name,
			       BERTH_MAX_TEMPLATE_SIZE);
	ParseJob j = { s, name, text, len, err };
	return run_big_stack(parse_job, &j);
}

typedef struct ExecJob {
	TmplSet *s;
	Tmpl *t;
	Arena *a;
	Value *data;
	StrBuf *out;
	Error **err;
} ExecJob;

static void on_arena_limit(void *ctx)
{
	ExecShared *sh = ctx;
	err_free(sh->err);
	sh->err = NULL;
	err_set(&sh->err, ENOMEM, "template: rendering needs more than %u bytes of memory",
		BERTH_MAX_TEMPLATE_MEMORY);
	longjmp(*sh->jb, 1);
}

static int exec_job(void *p, char *base, size_t budget)
{
	ExecJob *j = p;
	ExecShared sh = { 0 };
	sh.a = j->a;
	sh.out = j->out;
	sh.out_limit = BERTH_MAX_TEMPLATE_OUTPUT;
	sh.stack_base = base;
	sh.stack_budget = budget;
	sh.root_name = j->s->name ? j->s->name : j->t->name;
	arena_set_limit(j->a, arena_used(j->a) + BERTH_MAX_TEMPLATE_MEMORY);
	arena_set_limit_handler(j->a, on_arena_limit, &sh);
	jmp_buf jb;
	sh.jb = &jb;
	int r;
	if (setjmp(jb)) {
		/* the memory cap was hit outside any template frame */
		if (j->err && !*j->err)
			*j->err = sh.err;
		else
			err_free(sh.err);
		r = -ENOMEM;
	} else
		r = exec_template(&sh, j->s, j->t, j->data, j->s->missingkey, NULL, 0, j->err);
	arena_set_limit_handler(j->a, NULL, NULL);
	arena_set_limit(j->a, 0);
	return r;
}

int tmpl_set_execute(TmplSet *s, const char *name, Arena *a, Value *data, StrBuf *out, Error **err)
{
	Tmpl *t = tmplset_lookup(s, name);
	if (!t)
		return err_set(err, ENOENT, "template: no template \"%s\" associated with template \"%s\"", name,
			       s->name ? s->name : name);
	ExecJob j = { s, t, a, data, out, err };
	return run_big_stack(exec_job, &j);
}
