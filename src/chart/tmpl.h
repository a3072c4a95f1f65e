/* tmpl.h - internals shared by the template engine's files: lexer items,
 * parse-tree nodes, template sets, the executor's state and the function
 * table.  Not part of the component API (that is chart.h).
 *
 * The structure follows Go's text/template closely on purpose: lexer ->
 * parser (one Tree per named template, nodes carry byte positions so error
 * messages can say NAME:LINE:COL) -> a tree-walking executor.  Execution
 * errors unwind with longjmp to the executor's entry point; everything the
 * executor allocates lives in the render's Arena, so unwinding leaks nothing.
 */
#ifndef BERTH_CHART_TMPL_H
#define BERTH_CHART_TMPL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "chart.h"
#include "value.h"
#include "../base/err.h"
#include "../base/strbuf.h"

/* ---- lexer ------------------------------------------------------------------ */
typedef enum {
	IT_ERROR, IT_BOOL, IT_CHAR, IT_CHAR_CONSTANT, IT_COMMENT, IT_COMPLEX, IT_ASSIGN,
	IT_DECLARE, IT_EOF, IT_FIELD, IT_IDENTIFIER, IT_LEFT_DELIM, IT_LEFT_PAREN,
	IT_NUMBER, IT_PIPE, IT_RAW_STRING, IT_RIGHT_DELIM, IT_RIGHT_PAREN, IT_SPACE,
	IT_STRING, IT_TEXT, IT_VARIABLE,
	IT_KEYWORD,   /* delimits keywords */
	IT_BLOCK, IT_BREAK, IT_CONTINUE, IT_DOT, IT_DEFINE, IT_ELSE, IT_END, IT_IF,
	IT_NIL, IT_RANGE, IT_TEMPLATE, IT_WITH,
} ItemType;

typedef struct Item {
	ItemType typ;
	int pos;             /* byte offset in the input */
	const char *val;     /* points into the input, or to an error message */
	size_t len;
	int line;
} Item;

typedef struct Lexer {
	const char *input;
	size_t len;
	const char *ldelim, *rdelim;
	size_t ldlen, rdlen;
	size_t pos, start;
	bool at_eof;
	int paren_depth;
	int line, start_line;
	bool inside_action;
	bool break_ok, continue_ok;
	Item item;
	char errbuf[160];
} Lexer;

void lex_init(Lexer *l, const char *input, size_t len, const char *ldelim, const char *rdelim);
Item lex_next(Lexer *l);

/* ---- nodes -------------------------------------------------------------------- */
typedef enum {
	N_TEXT, N_ACTION, N_BOOL, N_CHAIN, N_COMMAND, N_DOT, N_ELSE, N_END, N_FIELD,
	N_IDENT, N_IF, N_LIST, N_NIL, N_NUMBER, N_PIPE, N_RANGE, N_STRING, N_TEMPLATE,
	N_VARIABLE, N_WITH, N_COMMENT, N_BREAK, N_CONTINUE,
} NodeType;

typedef struct TreeSrc {       /* shared by all trees of one Parse call */
	const char *text;      /* the full input (owned by the set's arena) */
	size_t len;
	const char *parse_name;
	const char *ldelim, *rdelim;
} TreeSrc;

typedef struct FuncDef FuncDef;
typedef struct Node Node;
struct Node {
	NodeType type;
	int pos, line;
	const TreeSrc *src;
	/* text / string / number / comment text; for N_STRING the quoted form */
	const char *text;
	size_t tlen;
	/* N_LIST nodes, N_COMMAND args, N_PIPE commands */
	Node **kids;
	size_t nkids;
	/* N_PIPE declarations */
	Node **decl;
	size_t ndecl;
	bool is_assign;
	/* N_FIELD / N_VARIABLE identifiers, N_CHAIN fields */
	char **ident;
	size_t nident;
	/* N_CHAIN operand, N_IF/RANGE/WITH/TEMPLATE/ACTION pipeline */
	Node *node;
	Node *list, *else_list;        /* branches */
	const char *name;              /* N_IDENT function name, N_TEMPLATE name */
	size_t name_len;
	/* N_NUMBER */
	bool is_int, is_uint, is_float, is_complex;
	int64_t i64;
	uint64_t u64;
	double f64;
	double cre, cim;
	bool b;                        /* N_BOOL */
	Value *cv;                     /* constant value: N_STRING, N_BOOL, ideal N_NUMBER */
	const char *cv_err;            /* "... overflows int" */
	const FuncDef *fn;             /* N_IDENT, resolved at parse time */
};

void node_string(const Node *n, ABuf *out);
/* "NAME:LINE:COL" and the node's text, as Go's Tree.ErrorContext. */
void node_error_context(const Node *n, ABuf *location, ABuf *context);
bool node_is_empty_tree(const Node *n);

/* ---- functions ---------------------------------------------------------------- */
/* Parameter types as Go sees them (drives argument conversion and errors). */
enum {
	PT_ANY = 'a', PT_STRING = 's', PT_INT = 'i', PT_INT64 = 'I', PT_FLOAT = 'f',
	PT_BOOL = 'b', PT_LIST = 'l', PT_MAP = 'm', PT_VALUE = 'v', PT_STRINGS = 'S',
	PT_TIME = 'T',   /* time.Time */
	PT_UINT32 = 'u',
};
enum { FN_AND = 1, FN_OR = 2, FN_CALL = 4, FN_BUILTIN = 8 };

struct ExecState;
struct Ctx {
	Arena *a;
	struct ExecState *st;
	const char *fname;
	const Value *self;        /* receiver of a method call */
	const char *errmsg;       /* set by fn_error */
};

typedef int (*FuncImpl)(Ctx *c, Value **args, int nargs, Value **ret);
struct FuncDef {
	const char *name;
	const char *sig;          /* one char per parameter; a trailing '*' makes the last variadic */
	FuncImpl fn;
	int flags;
};

/* Record "msg" as the function's error; returns -1. */
int fn_error(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct FuncTable FuncTable;
const FuncDef *functable_find(const FuncTable *t, const char *name, size_t len);
const FuncTable *functable_go(void);     /* text/template builtins only */
const FuncTable *functable_helm(void);   /* builtins + sprig + Helm's own */

/* Function groups (each funcs-*.c exports one NULL-terminated table). */
extern const FuncDef funcs_builtin[];
extern const FuncDef funcs_strings[];
extern const FuncDef funcs_math[];
extern const FuncDef funcs_lists[];
extern const FuncDef funcs_dicts[];
extern const FuncDef funcs_defaults[];
extern const FuncDef funcs_encoding[];
extern const FuncDef funcs_regex[];
extern const FuncDef funcs_semver[];
extern const FuncDef funcs_date[];
extern const FuncDef funcs_crypto[];
extern const FuncDef funcs_helm[];

/* ---- template sets -------------------------------------------------------------- */
typedef struct Tmpl {
	const char *name;
	Node *root;               /* N_LIST; NULL for an incomplete template */
	const TreeSrc *src;
} Tmpl;

struct TmplSet {
	Arena *arena;             /* trees, names, texts, constants */
	struct TmplSet *parent;   /* overlay: tpl's clones look through to the parent */
	Tmpl **tmpls;
	size_t ntmpls, cap;
	const FuncTable *funcs;
	MissingKey missingkey;
	char *ldelim, *rdelim;
	const char *name;         /* TmplOptions.name or NULL */
	bool lint_mode;           /* TmplOptions.lint_mode */
};

Tmpl *tmplset_lookup(const TmplSet *s, const char *name);
/* Parse text under name into s (Go's t.New(name).Parse(text)); err gets Go's
 * text.  *top (optional) gets the main tree even when an empty one did not
 * replace an existing template of that name (Go's Execute on the New'd template). */
int tmplset_parse_into(TmplSet *s, const char *name, const char *text, size_t len, Tmpl **top, Error **err);

/* ---- executor ------------------------------------------------------------------- */
typedef struct Var {
	const char *name;
	Value *val;
} Var;

typedef struct ExecShared {
	Arena *a;
	StrBuf *out;              /* the top-level output */
	size_t out_limit;
	char *stack_base;         /* for the stack guard */
	size_t stack_budget;
	Value *include_counts;    /* Helm's include recursion counter (a map) */
	const char *root_name;    /* Go's t.Name() of the executing set (include, tpl) */
	Error *err;               /* the error being unwound */
	jmp_buf *jb;
} ExecShared;

typedef struct ExecState {
	ExecShared *sh;
	const TmplSet *set;
	Tmpl *tmpl;
	const Node *node;         /* current node, for errors */
	Var *vars;
	size_t nvars, vcap, vbase;
	int depth;
	MissingKey missingkey;
	ABuf *capture;            /* non-NULL: write here instead of sh->out */
} ExecState;

/* Execute template t of set with dot=data, appending to out (or *ret_str when
 * capturing for include/tpl).  Returns 0 or -EINVAL with *err set. */
int exec_template(ExecShared *sh, const TmplSet *set, Tmpl *t, Value *data, MissingKey mk,
		  ABuf *capture, int depth, Error **err);
void exec_errorf(struct ExecState *s, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
bool stack_near_limit(const ExecShared *sh);

/* ---- fmt (gofmt.c) ---------------------------------------------------------------- */
void gofmt_sprint(ABuf *out, Value **args, int n);
void gofmt_sprintln(ABuf *out, Value **args, int n);
void gofmt_sprintf(ABuf *out, const char *fmt, size_t flen, Value **args, int n);
/* %v of one value as fmt.Fprint prints it (top level). */
void gofmt_value(ABuf *out, const Value *v);
/* strconv.Quote / QuoteToASCII / QuoteRune. */
void go_quote(ABuf *out, const char *s, size_t n, bool ascii_only);
void go_quote_rune(ABuf *out, uint32_t r, bool ascii_only);
bool go_rune_is_print(uint32_t r);
/* strconv.FormatFloat(f, fmt, prec, 64). */
void go_format_float(ABuf *out, double f, char fmt, int prec);
/* utf8.DecodeRune: returns rune (0xFFFD on error) and sets *size. */
uint32_t utf8_decode(const char *s, size_t n, size_t *size);
size_t utf8_count(const char *s, size_t n);

/* ---- helpers shared by funcs-*.c ----------------------------------------------------- */
/* spf13/cast as sprig uses it. */
int64_t cast_to_int64(const Value *v);
double cast_to_float64(const Value *v);
/* sprig's strval: fmt.Sprintf("%v") with []byte/string/Stringer/error handling. */
const char *value_to_string(Ctx *c, const Value *v, size_t *len);
/* sprig's strslice: a []string view of a list or a one-element list. */
Value *value_to_strings(Ctx *c, const Value *v);
/* Go's encoding/json Marshal (escape_html) / MarshalIndent. */
bool gojson_encode(ABuf *out, const Value *v, bool escape_html, const char *indent, int depth);
const char *gojson_error(Arena *a, const Value *v);
/* base64.StdEncoding; decode returns -1 with the failing input offset. */
void base64_encode(ABuf *b, const unsigned char *s, size_t n);
int base64_decode(ABuf *b, const char *s, size_t n, size_t *bad);
/* url.QueryEscape (path=false) / url.PathEscape (path=true). */
void url_query_escape(ABuf *b, const char *s, size_t n, bool path);
/* encoding/json Unmarshal into interface{}; returns NULL and sets *err on error. */
Value *gojson_decode(Arena *a, const char *s, size_t n, const char **err);

#endif
