/* semver.c - Masterminds/semver v3 (see semver.h), ported with the same
 * regular expressions (run through goregex) so constraint syntax is accepted
 * and rejected exactly as Helm does.
 */
#include "semver.h"
#include "goregex.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CV "v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?" \
	"(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?" \
	"(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?"
#define OPS "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^"
#define LOOSE "^v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?" \
	"(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?" \
	"(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?$"

static GoRegex *re_loose, *re_constraint, *re_range, *re_find, *re_valid;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static GoRegex *mk(const char *p)
{
	char err[256];
	GoRegex *r = goregex_compile(p, strlen(p), err, sizeof(err));
	if (!r)
		abort();
	return r;
}

static void re_init(void)
{
	re_loose = mk(LOOSE);
	re_constraint = mk("^\\s*(" OPS ")\\s*(" CV ")\\s*$");
	re_range = mk("\\s*(" CV ")\\s+-\\s+(" CV ")\\s*");
	re_find = mk("(" OPS ")\\s*(" CV ")");
	re_valid = mk("^(\\s*(" OPS ")\\s*(" CV ")\\s*)((?:\\s+|,\\s*)(" OPS ")\\s*(" CV ")\\s*)*$");
}

static void init(void) { pthread_once(&re_once, re_init); }

static char *sub(Arena *a, const char *s, const ssize_t *m, int g)
{
	if (m[2 * g] < 0)
		return arena_strdup(a, "");
	return arena_strndup(a, s + m[2 * g], (size_t)(m[2 * g + 1] - m[2 * g]));
}

static bool only(const char *s, const char *set)
{
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

#define NUM "0123456789"
#define ALLOWED "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-" NUM

static const char *validate_parts(Arena *a, const char *p, bool pre)
{
	char *copy = arena_strdup(a, p);
	char *save = NULL;
	size_t n = strlen(p);
	if (n == 0 || p[0] == '.' || p[n - 1] == '.' || strstr(p, ".."))
		return pre ? "invalid prerelease string" : "invalid metadata string";
	for (char *t = strtok_r(copy, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		if (pre && only(t, NUM)) {
			if (strlen(t) > 1 && t[0] == '0')
				return "version segment starts with 0";
		} else if (!only(t, ALLOWED))
			return pre ? "invalid prerelease string" : "invalid metadata string";
	}
	return NULL;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return false;
	*out = v;
	return true;
}

SemVer *semver_parse(Arena *a, const char *s, size_t n, const char **err)
{
	init();
	ssize_t m[20];
	if (!goregex_exec(re_loose, s, n, 0, m)) {
		*err = "invalid semantic version";
		return NULL;
	}
	SemVer *v = arena_alloc(a, sizeof(*v));
	v->original = arena_strndup(a, s, n);
	v->pre = sub(a, s, m, 5);
	v->meta = sub(a, s, m, 8);
	const char *maj = sub(a, s, m, 1), *min = sub(a, s, m, 2), *pat = sub(a, s, m, 3);
	if (!parse_u64(maj, &v->major) || (*min && !parse_u64(min + 1, &v->minor)) ||
	    (*pat && !parse_u64(pat + 1, &v->patch))) {
		*err = "error parsing version segment: value out of range";
		return NULL;
	}
	const char *e;
	if (*v->pre && (e = validate_parts(a, v->pre, true))) {
		*err = e;
		return NULL;
	}
	if (*v->meta && (e = validate_parts(a, v->meta, false))) {
		*err = e;
		return NULL;
	}
	return v;
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int compare_pre_part(const char *s, size_t sn, const char *o, size_t on)
{
	if (sn == on && !memcmp(s, o, sn))
		return 0;
	if (sn == 0)
		return on ? -1 : 1;
	if (on == 0)
		return 1;
	char sb[64], ob[64];
	bool snum = sn < sizeof(sb), onum = on < sizeof(ob);
	uint64_t si = 0, oi = 0;
	if (snum) {
		memcpy(sb, s, sn);
		sb[sn] = 0;
		snum = only(sb, NUM) && parse_u64(sb, &si);
	}
	if (onum) {
		memcpy(ob, o, on);
		ob[on] = 0;
		onum = only(ob, NUM) && parse_u64(ob, &oi);
	}
	if (!snum && !onum) {
		size_t k = sn < on ? sn : on;
		int c = memcmp(s, o, k);
		if (c == 0)
			c = sn < on ? -1 : 1;
		return c > 0 ? 1 : -1;
	}
	if (!onum)
		return -1;
	if (!snum)
		return 1;
	return si > oi ? 1 : -1;
}

static int compare_pre(const char *v, const char *o)
{
	for (;;) {
		const char *vd = strchr(v, '.'), *od = strchr(o, '.');
		size_t vn = vd ? (size_t)(vd - v) : strlen(v), on = od ? (size_t)(od - o) : strlen(o);
		int d = compare_pre_part(v, vn, o, on);
		if (d)
			return d;
		if (!vd && !od)
			return 0;
		v = vd ? vd + 1 : v + vn;
		o = od ? od + 1 : o + on;
	}
}

int semver_compare(const SemVer *x, const SemVer *y)
{
	int d;
	if ((d = cmp_u64(x->major, y->major)) || (d = cmp_u64(x->minor, y->minor)) || (d = cmp_u64(x->patch, y->patch)))
		return d;
	if (!*x->pre && !*y->pre)
		return 0;
	if (!*x->pre)
		return 1;
	if (!*y->pre)
		return -1;
	return compare_pre(x->pre, y->pre);
}

const char *semver_string(Arena *a, const SemVer *v)
{
	return arena_printf(a, "%llu.%llu.%llu%s%s%s%s", (unsigned long long)v->major, (unsigned long long)v->minor,
			    (unsigned long long)v->patch, *v->pre ? "-" : "", v->pre, *v->meta ? "+" : "", v->meta);
}

/* ---- constraints ------------------------------------------------------------------- */
typedef enum { OP_TILDE_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_TILDE, OP_CARET } Op;

typedef struct Constraint {
	Op op;
	SemVer *con;
	bool minor_dirty, patch_dirty, dirty;
} Constraint;

struct SemConstraints {
	Constraint **ors;      /* ors[i] is an array of nands[i] constraints */
	size_t *nands;
	bool *has_pre;
	size_t nors;
};

static bool is_x(const char *s) { return !strcmp(s, "x") || !strcmp(s, "*") || !strcmp(s, "X"); }

static Op op_of(const char *o)
{
	if (!*o || !strcmp(o, "=")) return OP_TILDE_EQ;
	if (!strcmp(o, "!=")) return OP_NE;
	if (!strcmp(o, ">")) return OP_GT;
	if (!strcmp(o, "<")) return OP_LT;
	if (!strcmp(o, ">=") || !strcmp(o, "=>")) return OP_GE;
	if (!strcmp(o, "<=") || !strcmp(o, "=<")) return OP_LE;
	if (!strcmp(o, "~") || !strcmp(o, "~>")) return OP_TILDE;
	return OP_CARET;
}

static Constraint *parse_one(Arena *a, const char *s, const char **err)
{
	ssize_t m[40];
	Constraint *c = arena_alloc(a, sizeof(*c));
	if (!*s) {
		c->op = OP_TILDE_EQ;
		c->con = semver_parse(a, "0.0.0", 5, err);
		c->dirty = true;
		return c;
	}
	if (!goregex_exec(re_constraint, s, strlen(s), 0, m)) {
		*err = arena_printf(a, "improper constraint: %s", s);
		return NULL;
	}
	const char *op = sub(a, s, m, 1);
	const char *m3 = sub(a, s, m, 3), *m4 = sub(a, s, m, 4), *m5 = sub(a, s, m, 5), *m6 = sub(a, s, m, 6);
	const char *ver = sub(a, s, m, 2);
	c->op = op_of(op);
	if (is_x(m3) || !*m3) {
		ver = arena_printf(a, "0.0.0%s", m6);
		c->dirty = true;
	} else if (is_x(*m4 == '.' ? m4 + 1 : m4) || !*m4) {
		c->minor_dirty = c->dirty = true;
		ver = arena_printf(a, "%s.0.0%s", m3, m6);
	} else if (is_x(*m5 == '.' ? m5 + 1 : m5) || !*m5) {
		c->dirty = c->patch_dirty = true;
		ver = arena_printf(a, "%s%s.0%s", m3, m4, m6);
	}
	const char *e2;
	c->con = semver_parse(a, ver, strlen(ver), &e2);
	if (!c->con) {
		*err = "constraint parser error";
		return NULL;
	}
	return c;
}

typedef struct Matches {
	Arena *a;
	const char *s;
	char **items;
	size_t n, cap;
	ssize_t (*pos)[2];
	char **g1, **g11;
} Matches;

static void grow(Matches *k)
{
	if (k->n < k->cap)
		return;
	size_t nc = k->cap ? k->cap * 2 : 8;
	char **ni = arena_alloc(k->a, nc * sizeof(char *));
	char **n1 = arena_alloc(k->a, nc * sizeof(char *));
	char **n2 = arena_alloc(k->a, nc * sizeof(char *));
	if (k->n) {
		memcpy(ni, k->items, k->n * sizeof(char *));
		memcpy(n1, k->g1, k->n * sizeof(char *));
		memcpy(n2, k->g11, k->n * sizeof(char *));
	}
	k->items = ni;
	k->g1 = n1;
	k->g11 = n2;
	k->cap = nc;
}

static void take_find(void *ctx, const ssize_t *m)
{
	Matches *k = ctx;
	grow(k);
	k->items[k->n] = arena_strndup(k->a, k->s + m[0], (size_t)(m[1] - m[0]));
	k->n++;
}

static void take_range(void *ctx, const ssize_t *m)
{
	Matches *k = ctx;
	grow(k);
	k->items[k->n] = arena_strndup(k->a, k->s + m[0], (size_t)(m[1] - m[0]));
	k->g1[k->n] = sub(k->a, k->s, m, 1);
	k->g11[k->n] = sub(k->a, k->s, m, 11);
	k->n++;
}

static char *rewrite_range(Arena *a, const char *in)
{
	Matches k = { .a = a, .s = in };
	goregex_find_all(re_range, in, strlen(in), -1, take_range, &k);
	char *o = arena_strdup(a, in);
	for (size_t i = 0; i < k.n; i++) {
		char *t = arena_printf(a, ">= %s, <= %s ", k.g1[i], k.g11[i]);
		char *at = strstr(o, k.items[i]);
		if (!at)
			continue;
		o = arena_printf(a, "%.*s%s%s", (int)(at - o), o, t, at + strlen(k.items[i]));
	}
	return o;
}

SemConstraints *semver_constraints_parse(Arena *a, const char *s0, size_t n, const char **err)
{
	init();
	char *s = rewrite_range(a, arena_strndup(a, s0, n));
	size_t nors = 1;
	for (const char *p = s; (p = strstr(p, "||")); p += 2)
		nors++;
	SemConstraints *cs = arena_alloc(a, sizeof(*cs));
	cs->ors = arena_alloc(a, nors * sizeof(Constraint *));
	cs->nands = arena_alloc(a, nors * sizeof(size_t));
	cs->has_pre = arena_alloc(a, nors * sizeof(bool));
	cs->nors = nors;
	const char *p = s;
	for (size_t k = 0; k < nors; k++) {
		const char *e = strstr(p, "||");
		char *part = arena_strndup(a, p, e ? (size_t)(e - p) : strlen(p));
		p = e ? e + 2 : p + strlen(p);
		ssize_t m[64];
		if (!goregex_exec(re_valid, part, strlen(part), 0, m)) {
			*err = arena_printf(a, "improper constraint: %s", part);
			return NULL;
		}
		Matches f = { .a = a, .s = part };
		goregex_find_all(re_find, part, strlen(part), -1, take_find, &f);
		if (f.n == 0) {
			grow(&f);
			f.items[f.n++] = part;
		}
		Constraint *arr = arena_alloc(a, f.n * sizeof(Constraint));
		for (size_t i = 0; i < f.n; i++) {
			Constraint *c = parse_one(a, f.items[i], err);
			if (!c)
				return NULL;
			if (*c->con->pre)
				cs->has_pre[k] = true;
			arr[i] = *c;
		}
		cs->ors[k] = arr;
		cs->nands[k] = f.n;
	}
	return cs;
}

static bool check_one(const Constraint *c, const SemVer *v, bool inc_pre)
{
	if (*v->pre && !inc_pre)
		return false;
	const SemVer *k = c->con;
	switch (c->op) {
	case OP_NE:
		if (c->dirty) {
			if (k->major != v->major)
				return true;
			if (k->minor != v->minor && !c->minor_dirty)
				return true;
			if (c->minor_dirty)
				return false;
			if (k->patch != v->patch && !c->patch_dirty)
				return true;
			if (c->patch_dirty) {
				if (*v->pre || *k->pre)
					return compare_pre(v->pre, k->pre) != 0;
				return false;
			}
		}
		return semver_compare(v, k) != 0;
	case OP_GT:
		if (!c->dirty)
			return semver_compare(v, k) == 1;
		if (v->major > k->major)
			return true;
		if (v->major < k->major || c->minor_dirty)
			return false;
		if (c->patch_dirty)
			return v->minor > k->minor;
		return semver_compare(v, k) == 1;
	case OP_LT:
		return semver_compare(v, k) < 0;
	case OP_GE:
		return semver_compare(v, k) >= 0;
	case OP_LE:
		if (!c->dirty)
			return semver_compare(v, k) <= 0;
		if (v->major > k->major)
			return false;
		if (v->major == k->major && v->minor > k->minor && !c->minor_dirty)
			return false;
		return true;
	case OP_TILDE_EQ:
		if (!c->dirty)
			return semver_compare(v, k) == 0;
		/* fallthrough */
	case OP_TILDE:
		if (semver_compare(v, k) < 0)
			return false;
		if (k->major == 0 && k->minor == 0 && k->patch == 0 && !c->minor_dirty && !c->patch_dirty)
			return true;
		if (v->major != k->major)
			return false;
		if (v->minor != k->minor && !c->minor_dirty)
			return false;
		return true;
	case OP_CARET:
		if (semver_compare(v, k) < 0)
			return false;
		if (k->major > 0 || c->minor_dirty)
			return v->major == k->major;
		if (k->major == 0 && v->major > 0)
			return false;
		if (k->minor > 0 || c->patch_dirty)
			return v->minor == k->minor;
		if (k->minor == 0 && v->minor > 0)
			return false;
		return k->patch == v->patch;
	}
	return false;
}

bool semver_constraints_check(const SemConstraints *cs, const SemVer *v)
{
	for (size_t i = 0; i < cs->nors; i++) {
		bool ok = true;
		for (size_t j = 0; j < cs->nands[i] && ok; j++)
			ok = check_one(&cs->ors[i][j], v, cs->has_pre[i]);
		if (ok)
			return true;
	}
	return false;
}
