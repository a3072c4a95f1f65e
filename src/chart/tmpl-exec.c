/* tmpl-exec.c - the executor: walks a parse tree with a dot value and writes
 * output, following Go's text/template/exec.go step by step so that values,
 * scoping, argument conversion and error messages come out the same.
 *
 * Errors unwind with longjmp to exec_template (Go uses panic/recover);
 * {{break}}/{{continue}} are return codes of walk().  Variables live on one
 * stack; a {{template}} call starts a new frame that sees only its own $.
 */
#include "tmpl.h"
#include "../base/limits.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { WALK_OK, WALK_BREAK, WALK_CONTINUE };

static Value missing_val;
#define MISSING (&missing_val)

/* ---- errors --------------------------------------------------------------------- */
void exec_errorf(ExecState *s, const char *fmt, ...)
{
	Arena *a = s->sh->a;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ABuf b;
	abuf_init(&b, a);
	if (!s->node) {
		abuf_addf(&b, "template: %s: %s", s->tmpl->name, msg);
	} else {
		ABuf loc, ctx;
		abuf_init(&loc, a);
		abuf_init(&ctx, a);
		node_error_context(s->node, &loc, &ctx);
		abuf_addf(&b, "template: %s: executing ", abuf_str(&loc));
		go_quote(&b, s->tmpl->name, strlen(s->tmpl->name), false);
		abuf_adds(&b, " at <");
		abuf_add(&b, ctx.p, ctx.len);
		abuf_adds(&b, ">: ");
		abuf_adds(&b, msg);
	}
	err_free(s->sh->err);
	s->sh->err = NULL;
	err_set(&s->sh->err, EINVAL, "%s", abuf_str(&b));
	longjmp(*s->sh->jb, 1);
}

/* Like exec_errorf but the message is already complete (may be long). */
static void exec_error_msg(ExecState *s, const char *prefix, const char *msg) __attribute__((noreturn));
static void exec_error_msg(ExecState *s, const char *prefix, const char *msg)
{
	Arena *a = s->sh->a;
	ABuf b;
	abuf_init(&b, a);
	ABuf loc, ctx;
	abuf_init(&loc, a);
	abuf_init(&ctx, a);
	node_error_context(s->node, &loc, &ctx);
	abuf_addf(&b, "template: %s: executing ", abuf_str(&loc));
	go_quote(&b, s->tmpl->name, strlen(s->tmpl->name), false);
	abuf_adds(&b, " at <");
	abuf_add(&b, ctx.p, ctx.len);
	abuf_adds(&b, ">: ");
	abuf_adds(&b, prefix);
	abuf_adds(&b, msg);
	err_free(s->sh->err);
	s->sh->err = NULL;
	err_set(&s->sh->err, EINVAL, "%s", abuf_str(&b));
	longjmp(*s->sh->jb, 1);
}

bool stack_near_limit(const ExecShared *sh)
{
	char here;
	if (!sh->stack_base)
		return false;
	size_t used = (size_t)(sh->stack_base > &here ? sh->stack_base - &here : &here - sh->stack_base);
	return used > sh->stack_budget;
}

static const char *vstr(ExecState *s, const Value *v)
{
	ABuf b;
	abuf_init(&b, s->sh->a);
	gofmt_value(&b, v);
	return abuf_str(&b);
}

static const char *nstr(ExecState *s, const Node *n)
{
	ABuf b;
	abuf_init(&b, s->sh->a);
	node_string(n, &b);
	return abuf_str(&b);
}

/* ---- variables ----------------------------------------------------------------------- */
static void push_var(ExecState *s, const char *name, Value *v)
{
	if (s->nvars == s->vcap) {
		size_t nc = s->vcap ? s->vcap * 2 : 16;
		Var *nv = arena_alloc(s->sh->a, nc * sizeof(Var));
		if (s->nvars)
			memcpy(nv, s->vars, s->nvars * sizeof(Var));
		s->vars = nv;
		s->vcap = nc;
	}
	s->vars[s->nvars].name = name;
	s->vars[s->nvars].val = v;
	s->nvars++;
}

static void set_var(ExecState *s, const char *name, Value *v)
{
	for (size_t i = s->nvars; i-- > 0;) {
		if (!strcmp(s->vars[i].name, name)) {
			s->vars[i].val = v;
			return;
		}
	}
	exec_errorf(s, "undefined variable: %s", name);
}

static Value *var_value(ExecState *s, const char *name)
{
	for (size_t i = s->nvars; i-- > 0;)
		if (!strcmp(s->vars[i].name, name))
			return s->vars[i].val;
	exec_errorf(s, "undefined variable: %s", name);
}

/* ---- output ------------------------------------------------------------------------------ */
static void out_write(ExecState *s, const char *p, size_t n)
{
	if (s->capture) {
		if (s->capture->len + n > s->sh->out_limit)
			exec_errorf(s, "template output exceeds %zu bytes", s->sh->out_limit);
		abuf_add(s->capture, p, n);
		return;
	}
	StrBuf *o = s->sh->out;
	if (o->len + n > s->sh->out_limit)
		exec_errorf(s, "template output exceeds %zu bytes", s->sh->out_limit);
	sb_add(o, p, n);
}

static void print_value(ExecState *s, const Node *n, const Value *v)
{
	s->node = n;
	if (!v) {
		out_write(s, "<no value>", 10);
		return;
	}
	ABuf b;
	abuf_init(&b, s->sh->a);
	gofmt_value(&b, v);
	out_write(s, b.p ? b.p : "", b.len);
}

/* ---- types of parameters -------------------------------------------------------------------- */
static const char *ptype_name(char t)
{
	switch (t) {
	case PT_ANY: return "interface {}";
	case PT_STRING: return "string";
	case PT_INT: return "int";
	case PT_INT64: return "int64";
	case PT_FLOAT: return "float64";
	case PT_BOOL: return "bool";
	case PT_LIST: return "[]interface {}";
	case PT_MAP: return "map[string]interface {}";
	case PT_VALUE: return "reflect.Value";
	case PT_STRINGS: return "[]string";
	case PT_TIME: return "time.Time";
	case PT_UINT32: return "uint32";
	}
	return "interface {}";
}

static bool can_be_nil(char t)
{
	return t == PT_ANY || t == PT_LIST || t == PT_MAP || t == PT_VALUE || t == PT_STRINGS || t == 0;
}

static bool assignable(const Value *v, char t)
{
	switch (t) {
	case 0:
	case PT_ANY:
	case PT_VALUE:
		return true;
	case PT_STRING: return v->kind == VK_STRING;
	case PT_INT: return v->kind == VK_INT && v->type == GT_INT;
	case PT_INT64: return v->kind == VK_INT && v->type == GT_INT64;
	case PT_FLOAT: return v->kind == VK_FLOAT && v->type == GT_FLOAT64;
	case PT_BOOL: return v->kind == VK_BOOL;
	case PT_LIST: return v->kind == VK_LIST && v->type == GT_ANY;
	case PT_MAP: return v->kind == VK_MAP && v->type == GT_ANY;
	case PT_STRINGS: return v->kind == VK_LIST && v->type == GT_STRING;
	case PT_UINT32: return v->kind == VK_UINT && v->type == GT_UINT32;
	case PT_TIME: return v->kind == VK_OBJECT && !strcmp(v->u.o.t->type_name, "time.Time");
	}
	return false;
}

/* validateType: a NULL result is Go's zero value of a nillable type. */
static Value *validate_type(ExecState *s, Value *v, char t)
{
	if (!v) {
		if (t == 0)
			return NULL;
		if (can_be_nil(t))
			return t == PT_ANY ? value_nil() : NULL;
		exec_errorf(s, "invalid value; expected %s", ptype_name(t));
	}
	if (assignable(v, t))
		return v;
	const char *got = v->kind == VK_NIL ? "interface {}" : value_type_name(v, s->sh->a);
	exec_errorf(s, "wrong type for value; expected %s; got %s", ptype_name(t), got);
}

/* ---- evaluation ------------------------------------------------------------------------------ */
static Value *eval_pipeline(ExecState *s, Value *dot, const Node *pipe);
static Value *eval_arg(ExecState *s, Value *dot, char t, const Node *n);
static Value *eval_field_chain(ExecState *s, Value *dot, Value *recv, const Node *node, char **ident,
			       size_t nident, const Node *const *args, size_t nargs, Value *final);

static void not_a_function(ExecState *s, const Node *const *args, size_t nargs, Value *final)
{
	if (nargs > 1 || final != MISSING)
		exec_errorf(s, "can't give argument to non-function %s", nstr(s, args[0]));
}

static Value *ideal_constant(ExecState *s, const Node *n)
{
	s->node = n;
	if (n->cv_err)
		exec_errorf(s, "%s", n->cv_err);
	return n->cv;
}

/* The parameter type of argument i (0-based) of a signature. */
static char sig_param(const char *sig, size_t nparams, bool variadic, size_t i)
{
	if (variadic && i >= nparams - 1)
		return sig[nparams - 1];
	return sig[i];
}

static void sig_info(const char *sig, size_t *nparams, bool *variadic)
{
	size_t n = strlen(sig);
	*variadic = n > 0 && sig[n - 1] == '*';
	*nparams = *variadic ? n - 1 : n;
}

static Value *call_builtin_call(ExecState *s, const Node *node, Value **argv, size_t n);

static Value *eval_call(ExecState *s, Value *dot, const FuncDef *fn, const Value *self, const Node *node,
			const char *name, const Node *const *args, size_t nargs, Value *final)
{
	/* args includes the function's own node at [0] */
	if (nargs > 0) {
		args++;
		nargs--;
	}
	size_t nparams;
	bool variadic;
	sig_info(fn->sig, &nparams, &variadic);
	size_t num_in = nargs + (final != MISSING);
	size_t num_fixed = nargs;
	if (variadic) {
		num_fixed = nparams - 1;
		if (num_in < num_fixed)
			exec_errorf(s, "wrong number of args for %s: want at least %zu got %zu", name, nparams - 1, nargs);
	} else if (num_in != nparams) {
		exec_errorf(s, "wrong number of args for %s: want %zu got %zu", name, nparams, num_in);
	}
	if (fn->flags & (FN_AND | FN_OR)) {
		Value *v = NULL;
		for (size_t i = 0; i < nargs; i++) {
			v = eval_arg(s, dot, PT_VALUE, args[i]);
			bool t = value_truth(v);
			if (t == ((fn->flags & FN_OR) != 0))
				return v;
		}
		if (final != MISSING)
			v = validate_type(s, final, PT_VALUE);
		return v;
	}
	Value **argv = arena_alloc(s->sh->a, (num_in + 1) * sizeof(Value *));
	size_t i = 0;
	for (; i < num_fixed && i < nargs; i++)
		argv[i] = eval_arg(s, dot, fn->sig[i], args[i]);
	if (variadic)
		for (; i < nargs; i++)
			argv[i] = eval_arg(s, dot, fn->sig[nparams - 1], args[i]);
	if (final != MISSING) {
		char t = fn->sig[nparams - 1];
		if (variadic && num_in - 1 < num_fixed)
			t = fn->sig[num_in - 1];
		else if (!variadic)
			t = fn->sig[nparams - 1];
		argv[i] = validate_type(s, final, t);
	}
	if (fn->flags & FN_CALL)
		return call_builtin_call(s, node, argv, num_in);
	Ctx c = { .a = s->sh->a, .st = s, .fname = name, .self = self };
	Value *ret = NULL;
	(void)sig_param;
	if (fn->fn(&c, argv, (int)num_in, &ret) < 0) {
		s->node = node;
		exec_error_msg(s, arena_printf(s->sh->a, "error calling %s: ", name), c.errmsg ? c.errmsg : "error");
	}
	return ret;
}

/* The "call" builtin: there are no function values in our data model. */
static Value *call_builtin_call(ExecState *s, const Node *node, Value **argv, size_t n)
{
	(void)n;
	Value *fnv = argv[0];
	s->node = node;
	const Node *cmd = node;
	const char *callee = cmd && cmd->type == N_COMMAND && cmd->nkids > 1 ? nstr(s, cmd->kids[1]) : "";
	if (value_is_nil(fnv))
		exec_errorf(s, "error calling call: call of nil");
	exec_errorf(s, "error calling call: non-function %s of type %s", callee, value_type_name(fnv, s->sh->a));
}

static Value *eval_function(ExecState *s, Value *dot, const Node *ident, const Node *cmd,
			    const Node *const *args, size_t nargs, Value *final)
{
	s->node = ident;
	return eval_call(s, dot, ident->fn, NULL, cmd, ident->name, args, nargs, final);
}

static Value *map_zero(const Value *m)
{
	switch (m->type) {
	case GT_STRING: return value_str_nocopy(m->u.m->arena, "", 0);
	default: return value_nil();
	}
}

static Value *eval_field(ExecState *s, Value *dot, const char *name, const Node *node,
			 const Node *const *args, size_t nargs, Value *final, Value *recv)
{
	if (!recv) {
		if (s->missingkey == MISSINGKEY_ERROR) {
			ABuf q;
			abuf_init(&q, s->sh->a);
			go_quote(&q, name, strlen(name), false);
			exec_errorf(s, "nil data; no entry for key %s", abuf_str(&q));
		}
		return NULL;
	}
	if (recv->kind == VK_NIL)
		exec_errorf(s, "nil pointer evaluating interface {}.%s", name);
	bool has_args = nargs > 1 || final != MISSING;
	if (recv->kind == VK_OBJECT) {
		Value *field = NULL;
		const FuncDef *method = NULL;
		int r = recv->u.o.t->lookup(recv, name, &field, &method, s->sh->a);
		if (r == 1)
			return eval_call(s, dot, method, recv, node, name, args, nargs, final);
		if (r == 0) {
			if (has_args)
				exec_errorf(s, "%s has arguments but cannot be invoked as function", name);
			return field;
		}
	}
	if (recv->kind == VK_MAP && recv->u.m->methods) {
		for (const FuncDef *m = recv->u.m->methods; m->name; m++)
			if (!strcmp(m->name, name))
				return eval_call(s, dot, m, recv, node, name, args, nargs, final);
	}
	if (recv->kind == VK_MAP) {
		if (has_args)
			exec_errorf(s, "%s is not a method but has arguments", name);
		Value *res = map_get(recv, name, strlen(name));
		if (!res) {
			switch (s->missingkey) {
			case MISSINGKEY_DEFAULT: break;
			case MISSINGKEY_ZERO: res = map_zero(recv); break;
			case MISSINGKEY_ERROR: {
				ABuf q;
				abuf_init(&q, s->sh->a);
				go_quote(&q, name, strlen(name), false);
				exec_errorf(s, "map has no entry for key %s", abuf_str(&q));
			}
			}
		}
		return res;
	}
	exec_errorf(s, "can't evaluate field %s in type %s", name, value_type_name(recv, s->sh->a));
}

static Value *eval_field_chain(ExecState *s, Value *dot, Value *recv, const Node *node, char **ident,
			       size_t nident, const Node *const *args, size_t nargs, Value *final)
{
	for (size_t i = 0; i + 1 < nident; i++)
		recv = eval_field(s, dot, ident[i], node, NULL, 0, MISSING, recv);
	return eval_field(s, dot, ident[nident - 1], node, args, nargs, final, recv);
}

static Value *eval_field_node(ExecState *s, Value *dot, const Node *f, const Node *const *args, size_t nargs,
			      Value *final)
{
	s->node = f;
	return eval_field_chain(s, dot, dot, f, f->ident, f->nident, args, nargs, final);
}

static Value *eval_chain_node(ExecState *s, Value *dot, const Node *c, const Node *const *args, size_t nargs,
			      Value *final)
{
	s->node = c;
	if (c->nident == 0)
		exec_errorf(s, "internal error: no fields in evalChainNode");
	if (c->node->type == N_NIL)
		exec_errorf(s, "indirection through explicit nil in %s", nstr(s, c));
	Value *pipe = eval_arg(s, dot, 0, c->node);
	return eval_field_chain(s, dot, pipe, c, c->ident, c->nident, args, nargs, final);
}

static Value *eval_variable_node(ExecState *s, Value *dot, const Node *v, const Node *const *args, size_t nargs,
				 Value *final)
{
	s->node = v;
	Value *val = var_value(s, v->ident[0]);
	if (v->nident == 1) {
		if (args)
			not_a_function(s, args, nargs, final);
		return val;
	}
	return eval_field_chain(s, dot, val, v, v->ident + 1, v->nident - 1, args, nargs, final);
}

static Value *eval_empty_interface(ExecState *s, Value *dot, const Node *n)
{
	s->node = n;
	switch (n->type) {
	case N_BOOL: return n->cv;
	case N_DOT: return dot;
	case N_FIELD: return eval_field_node(s, dot, n, NULL, 0, MISSING);
	case N_IDENT: return eval_function(s, dot, n, n, NULL, 0, MISSING);
	case N_NIL: exec_errorf(s, "evalEmptyInterface: nil (can't happen)");
	case N_NUMBER: return ideal_constant(s, n);
	case N_STRING: return n->cv;
	case N_VARIABLE: return eval_variable_node(s, dot, n, NULL, 0, MISSING);
	case N_PIPE: return eval_pipeline(s, dot, n);
	default: break;
	}
	exec_errorf(s, "can't handle assignment of %s to empty interface argument", nstr(s, n));
}

static Value *eval_arg(ExecState *s, Value *dot, char t, const Node *n)
{
	s->node = n;
	switch (n->type) {
	case N_DOT: return validate_type(s, dot, t);
	case N_NIL:
		if (can_be_nil(t))
			return t == PT_ANY ? value_nil() : NULL;
		exec_errorf(s, "cannot assign nil to %s", ptype_name(t));
	case N_FIELD: {
		const Node *self[1] = { n };
		return validate_type(s, eval_field_node(s, dot, n, self, 1, MISSING), t);
	}
	case N_VARIABLE: return validate_type(s, eval_variable_node(s, dot, n, NULL, 0, MISSING), t);
	case N_PIPE: return validate_type(s, eval_pipeline(s, dot, n), t);
	case N_IDENT: return validate_type(s, eval_function(s, dot, n, n, NULL, 0, MISSING), t);
	case N_CHAIN: return validate_type(s, eval_chain_node(s, dot, n, NULL, 0, MISSING), t);
	default: break;
	}
	switch (t) {
	case PT_BOOL:
		if (n->type == N_BOOL)
			return n->cv;
		exec_errorf(s, "expected bool; found %s", nstr(s, n));
	case PT_FLOAT:
		if (n->type == N_NUMBER && n->is_float)
			return value_float(s->sh->a, n->f64);
		exec_errorf(s, "expected float; found %s", nstr(s, n));
	case PT_INT:
	case PT_INT64:
		if (n->type == N_NUMBER && n->is_int)
			return value_int_typed(s->sh->a, n->i64, t == PT_INT ? GT_INT : GT_INT64);
		exec_errorf(s, "expected integer; found %s", nstr(s, n));
	case PT_UINT32:
		if (n->type == N_NUMBER && n->is_uint)
			return value_uint_typed(s->sh->a, (uint32_t)n->u64, GT_UINT32);
		exec_errorf(s, "expected unsigned integer; found %s", nstr(s, n));
	case PT_ANY:
	case PT_VALUE:
		return eval_empty_interface(s, dot, n);
	case PT_STRING:
		if (n->type == N_STRING)
			return n->cv;
		exec_errorf(s, "expected string; found %s", nstr(s, n));
	default:
		break;
	}
	exec_errorf(s, "can't handle %s for arg of type %s", nstr(s, n), ptype_name(t));
}

static Value *eval_command(ExecState *s, Value *dot, const Node *cmd, Value *final)
{
	const Node *first = cmd->kids[0];
	const Node *const *args = (const Node *const *)cmd->kids;
	size_t nargs = cmd->nkids;
	switch (first->type) {
	case N_FIELD: return eval_field_node(s, dot, first, args, nargs, final);
	case N_CHAIN: return eval_chain_node(s, dot, first, args, nargs, final);
	case N_IDENT: return eval_function(s, dot, first, cmd, args, nargs, final);
	case N_PIPE:
		not_a_function(s, args, nargs, final);
		return eval_pipeline(s, dot, first);
	case N_VARIABLE: return eval_variable_node(s, dot, first, args, nargs, final);
	default: break;
	}
	s->node = first;
	not_a_function(s, args, nargs, final);
	switch (first->type) {
	case N_BOOL: return first->cv;
	case N_DOT: return dot;
	case N_NIL: exec_errorf(s, "nil is not a command");
	case N_NUMBER: return ideal_constant(s, first);
	case N_STRING: return first->cv;
	default: break;
	}
	exec_errorf(s, "can't evaluate command %s", nstr(s, first));
}

static Value *eval_pipeline(ExecState *s, Value *dot, const Node *pipe)
{
	if (!pipe)
		return NULL;
	s->node = pipe;
	if (stack_near_limit(s->sh))
		exec_errorf(s, "exceeded maximum template depth (%d)", BERTH_MAX_TEMPLATE_DEPTH);
	Value *v = MISSING;
	for (size_t i = 0; i < pipe->nkids; i++) {
		v = eval_command(s, dot, pipe->kids[i], v);
		if (v && v->kind == VK_NIL)
			v = NULL;   /* an interface{} holding nil is "no value" */
	}
	for (size_t i = 0; i < pipe->ndecl; i++) {
		if (pipe->is_assign)
			set_var(s, pipe->decl[i]->ident[0], v);
		else
			push_var(s, pipe->decl[i]->ident[0], v);
	}
	return v;
}

/* ---- walking --------------------------------------------------------------------------------- */
static int walk(ExecState *s, Value *dot, const Node *n);

static int walk_if_or_with(ExecState *s, bool is_with, Value *dot, const Node *n)
{
	size_t mark = s->nvars;
	Value *val = eval_pipeline(s, dot, n->node);
	int r = WALK_OK;
	if (value_truth(val))
		r = walk(s, is_with ? val : dot, n->list);
	else if (n->else_list)
		r = walk(s, dot, n->else_list);
	s->nvars = mark;
	return r;
}

static int one_iteration(ExecState *s, const Node *r, size_t mark, Value *index, Value *elem)
{
	const Node *pipe = r->node;
	if (pipe->ndecl > 0) {
		if (pipe->is_assign)
			set_var(s, pipe->decl[0]->ident[0], pipe->ndecl > 1 ? index : elem);
		else
			s->vars[s->nvars - 1].val = elem;
	}
	if (pipe->ndecl > 1) {
		if (pipe->is_assign)
			set_var(s, pipe->decl[1]->ident[0], elem);
		else
			s->vars[s->nvars - 2].val = index;
	}
	int w = walk(s, elem, r->list);
	s->nvars = mark;
	return w == WALK_BREAK ? WALK_BREAK : WALK_OK;
}

static int walk_range(ExecState *s, Value *dot, const Node *r)
{
	s->node = r;
	size_t outer = s->nvars;
	Value *val = eval_pipeline(s, dot, r->node);
	size_t mark = s->nvars;
	bool ran = false;
	Arena *a = s->sh->a;
	if (val) {
		switch (val->kind) {
		case VK_LIST:
			for (size_t i = 0; i < val->u.l->len; i++) {
				ran = true;
				if (one_iteration(s, r, mark, value_int(a, (int64_t)i), val->u.l->items[i]) == WALK_BREAK)
					break;
			}
			break;
		case VK_MAP: {
			VMap *m = val->u.m;
			for (size_t i = 0; i < m->len; i++) {
				ran = true;
				if (one_iteration(s, r, mark, value_str_nocopy(a, m->e[i].key, m->e[i].klen),
						  m->e[i].val) == WALK_BREAK)
					break;
			}
			break;
		}
		case VK_INT:
		case VK_UINT:
			if (r->node->ndecl > 1)
				exec_errorf(s, "can't use %s to iterate over more than one variable", vstr(s, val));
			if (val->kind == VK_INT) {
				for (int64_t i = 0; i < val->u.i; i++) {
					ran = true;
					if (one_iteration(s, r, mark, NULL, value_int_typed(a, i, val->type)) == WALK_BREAK)
						break;
				}
			} else {
				for (uint64_t i = 0; i < val->u.u; i++) {
					ran = true;
					if (one_iteration(s, r, mark, NULL, value_uint_typed(a, i, val->type)) == WALK_BREAK)
						break;
				}
			}
			break;
		default:
			exec_errorf(s, "range can't iterate over %s", vstr(s, val));
		}
	}
	if (!ran && r->else_list)
		walk(s, dot, r->else_list);
	s->nvars = outer;
	return WALK_OK;
}

static void walk_template(ExecState *s, Value *dot, const Node *t)
{
	s->node = t;
	Tmpl *tm = tmplset_lookup(s->set, t->name);
	if (!tm) {
		ABuf q;
		abuf_init(&q, s->sh->a);
		go_quote(&q, t->name, t->name_len, false);
		exec_errorf(s, "template %s not defined", abuf_str(&q));
	}
	if (s->depth >= BERTH_MAX_TEMPLATE_DEPTH || stack_near_limit(s->sh))
		exec_errorf(s, "exceeded maximum template depth (%d)", BERTH_MAX_TEMPLATE_DEPTH);
	Value *newdot = eval_pipeline(s, dot, t->node);
	ExecState ns = *s;
	ns.depth = s->depth + 1;
	ns.tmpl = tm;
	ns.vbase = s->nvars;
	/* a new frame: only $ is visible; we keep one stack and search from the top */
	ns.vars = arena_alloc(s->sh->a, 8 * sizeof(Var));
	ns.vcap = 8;
	ns.nvars = 0;
	push_var(&ns, "$", newdot);
	if (tm->root)
		walk(&ns, newdot, tm->root);
	else {
		ns.node = NULL;
		ABuf q;
		abuf_init(&q, s->sh->a);
		go_quote(&q, tm->name, strlen(tm->name), false);
		exec_errorf(&ns, "%s is an incomplete or empty template", abuf_str(&q));
	}
}

static int walk(ExecState *s, Value *dot, const Node *n)
{
	s->node = n;
	switch (n->type) {
	case N_ACTION: {
		Value *v = eval_pipeline(s, dot, n->node);
		if (n->node->ndecl == 0)
			print_value(s, n, v);
		return WALK_OK;
	}
	case N_BREAK: return WALK_BREAK;
	case N_CONTINUE: return WALK_CONTINUE;
	case N_COMMENT: return WALK_OK;
	case N_IF: return walk_if_or_with(s, false, dot, n);
	case N_WITH: return walk_if_or_with(s, true, dot, n);
	case N_LIST:
		for (size_t i = 0; i < n->nkids; i++) {
			int r = walk(s, dot, n->kids[i]);
			if (r != WALK_OK)
				return r;
		}
		return WALK_OK;
	case N_RANGE: return walk_range(s, dot, n);
	case N_TEMPLATE: walk_template(s, dot, n); return WALK_OK;
	case N_TEXT: out_write(s, n->text, n->tlen); return WALK_OK;
	default:
		exec_errorf(s, "unknown node: %s", nstr(s, n));
	}
}

int exec_template(ExecShared *sh, const TmplSet *set, Tmpl *t, Value *data, MissingKey mk,
		  ABuf *capture, int depth, Error **err)
{
	jmp_buf jb;
	jmp_buf *saved = sh->jb;
	sh->jb = &jb;
	ExecState *s = arena_alloc(sh->a, sizeof(*s));
	s->sh = sh;
	s->set = set;
	s->tmpl = t;
	s->missingkey = mk;
	s->capture = capture;
	s->depth = depth;
	if (setjmp(jb)) {
		sh->jb = saved;
		Error *e = sh->err;
		sh->err = NULL;
		if (err && !*err)
			*err = e;
		else
			err_free(e);
		return -EINVAL;
	}
	Value *dot = data && data->kind == VK_NIL ? NULL : data;
	push_var(s, "$", dot);
	if (!t->root) {
		ABuf q;
		abuf_init(&q, sh->a);
		go_quote(&q, t->name, strlen(t->name), false);
		exec_errorf(s, "%s is an incomplete or empty template", abuf_str(&q));
	}
	walk(s, dot, t->root);
	sh->jb = saved;
	return 0;
}
