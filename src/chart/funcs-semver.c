/* funcs-semver.c - Sprig's semver and semverCompare, and the
 * *semver.Version object templates can call methods on
 * ((semver "1.2.3").Major, .Compare, .IncMinor, ...).
 */
#include "tmpl.h"
#include "semver.h"
#include <string.h>

static const ObjType version_type;

static Value *wrap(Ctx *c, SemVer *v) { return value_object(c->a, &version_type, v); }
static SemVer *self(Ctx *c) { return (SemVer *)c->self->u.o.p; }

static SemVer *arg_version(const Value *v)
{
	if (v && v->kind == VK_OBJECT && v->u.o.t == &version_type)
		return v->u.o.p;
	return NULL;
}

static int m_major(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_uint_typed(c->a, self(c)->major, GT_UINT64); return 0; }
static int m_minor(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_uint_typed(c->a, self(c)->minor, GT_UINT64); return 0; }
static int m_patch(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_uint_typed(c->a, self(c)->patch, GT_UINT64); return 0; }
static int m_pre(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_str(c->a, self(c)->pre); return 0; }
static int m_meta(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_str(c->a, self(c)->meta); return 0; }
static int m_original(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_str(c->a, self(c)->original); return 0; }
static int m_string(Ctx *c, Value **a, int n, Value **ret) { (void)a; (void)n; *ret = value_str(c->a, semver_string(c->a, self(c))); return 0; }

static int need_version(Ctx *c, const Value *v, SemVer **out)
{
	*out = arg_version(v);
	if (!*out)
		return fn_error(c, "runtime error: invalid memory address or nil pointer dereference");
	return 0;
}

static int m_compare(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	SemVer *o;
	if (need_version(c, a[0], &o) < 0)
		return -1;
	*ret = value_int(c->a, semver_compare(self(c), o));
	return 0;
}

#define CMP_METHOD(name, expr) \
	static int name(Ctx *c, Value **a, int n, Value **ret) \
	{ \
		(void)n; \
		SemVer *o; \
		if (need_version(c, a[0], &o) < 0) \
			return -1; \
		int d = semver_compare(self(c), o); \
		*ret = value_bool(expr); \
		return 0; \
	}
CMP_METHOD(m_less, d < 0)
CMP_METHOD(m_greater, d > 0)
CMP_METHOD(m_equal, d == 0)
CMP_METHOD(m_less_eq, d <= 0)
CMP_METHOD(m_greater_eq, d >= 0)

static SemVer *copy(Ctx *c)
{
	SemVer *v = arena_alloc(c->a, sizeof(*v));
	*v = *self(c);
	return v;
}

static int m_inc_patch(Ctx *c, Value **a, int n, Value **ret)
{
	(void)a; (void)n;
	SemVer *v = copy(c);
	if (*v->pre) {
		v->meta = "";
		v->pre = "";
	} else {
		v->meta = "";
		v->pre = "";
		v->patch++;
	}
	v->original = semver_string(c->a, v);
	*ret = wrap(c, v);
	return 0;
}

static int m_inc_minor(Ctx *c, Value **a, int n, Value **ret)
{
	(void)a; (void)n;
	SemVer *v = copy(c);
	v->meta = v->pre = "";
	v->patch = 0;
	v->minor++;
	v->original = semver_string(c->a, v);
	*ret = wrap(c, v);
	return 0;
}

static int m_inc_major(Ctx *c, Value **a, int n, Value **ret)
{
	(void)a; (void)n;
	SemVer *v = copy(c);
	v->meta = v->pre = "";
	v->patch = v->minor = 0;
	v->major++;
	v->original = semver_string(c->a, v);
	*ret = wrap(c, v);
	return 0;
}

static const FuncDef methods[] = {
	{ "Major", "", m_major, 0 },
	{ "Minor", "", m_minor, 0 },
	{ "Patch", "", m_patch, 0 },
	{ "Prerelease", "", m_pre, 0 },
	{ "Metadata", "", m_meta, 0 },
	{ "Original", "", m_original, 0 },
	{ "String", "", m_string, 0 },
	{ "Compare", "a", m_compare, 0 },
	{ "LessThan", "a", m_less, 0 },
	{ "GreaterThan", "a", m_greater, 0 },
	{ "Equal", "a", m_equal, 0 },
	{ "LessThanEqual", "a", m_less_eq, 0 },
	{ "GreaterThanEqual", "a", m_greater_eq, 0 },
	{ "IncPatch", "", m_inc_patch, 0 },
	{ "IncMinor", "", m_inc_minor, 0 },
	{ "IncMajor", "", m_inc_major, 0 },
	{ NULL, NULL, NULL, 0 },
};

static int v_lookup(const Value *selfv, const char *name, Value **ret, const FuncDef **method, Arena *a)
{
	(void)selfv; (void)ret; (void)a;
	for (const FuncDef *m = methods; m->name; m++)
		if (!strcmp(m->name, name)) {
			*method = m;
			return 1;
		}
	return -1;
}

static void v_str(const Value *v, ABuf *out)
{
	const SemVer *s = v->u.o.p;
	abuf_adds(out, semver_string(out->a, s));
}

static bool v_equal(const Value *x, const Value *y) { return x->u.o.p == y->u.o.p; }

static const ObjType version_type = {
	.type_name = "*semver.Version", .kind_name = "ptr", .lookup = v_lookup, .str = v_str, .equal = v_equal,
};

static int f_semver(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *err;
	SemVer *v = semver_parse(c->a, a[0]->u.s.p, a[0]->u.s.n, &err);
	if (!v)
		return fn_error(c, "%s", err);
	*ret = wrap(c, v);
	return 0;
}

static int f_semver_compare(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *err;
	SemConstraints *cs = semver_constraints_parse(c->a, a[0]->u.s.p, a[0]->u.s.n, &err);
	if (!cs)
		return fn_error(c, "%s", err);
	SemVer *v = semver_parse(c->a, a[1]->u.s.p, a[1]->u.s.n, &err);
	if (!v)
		return fn_error(c, "%s", err);
	*ret = value_bool(semver_constraints_check(cs, v));
	return 0;
}

const FuncDef funcs_semver[] = {
	{ "semver", "s", f_semver, 0 },
	{ "semverCompare", "ss", f_semver_compare, 0 },
	{ NULL, NULL, NULL, 0 },
};
