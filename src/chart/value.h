/* value.h - the template engine's value model: Go's interface{} values as
 * Helm sees them (nil, bool, int/int64/..., float64, complex128, string,
 * slices, map[string]T and a few opaque Go objects such as time.Time).
 *
 * Why our own type and not json_t: Go's printing and comparison rules depend
 * on the *Go type* of a value (int vs int64 vs float64, []string vs
 * []interface {}), Go strings may hold any bytes, and maps must be shared by
 * reference (sprig's `set` mutates in place).  Every value lives in an Arena
 * that is freed as a whole at the end of a render: no refcounts, cycles made
 * by hostile templates cannot leak.  A NULL `Value *` is Go's invalid
 * reflect.Value ("<no value>"); value_nil() is a nil interface{}.
 *
 * Ownership: everything returned by value_* / arena_* belongs to the arena.
 */
#ifndef BERTH_CHART_VALUE_H
#define BERTH_CHART_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../base/err.h"
#include "../base/strbuf.h"

/* ---- arena ---------------------------------------------------------------- */
typedef struct Arena Arena;
/* limit: bytes the arena may hand out (0 = unlimited).  Past it, on_limit is
 * called (it must not return; the executor longjmps out), or abort(). */
Arena *arena_new(size_t limit);
void arena_free(Arena *a);
static inline void arena_freep(Arena **a) { if (*a) arena_free(*a); }
#define _cleanup_arena_ __attribute__((cleanup(arena_freep)))
void arena_set_limit_handler(Arena *a, void (*on_limit)(void *ctx), void *ctx);
void arena_set_limit(Arena *a, size_t limit);   /* 0 = unlimited */
void *arena_alloc(Arena *a, size_t n);          /* zeroed, 16-aligned */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t arena_used(const Arena *a);
/* Run fn(p) when the arena is freed (for resources owned by a render). */
void arena_defer(Arena *a, void (*fn)(void *), void *p);

/* An arena-backed growable byte buffer (no malloc: safe across longjmp). */
typedef struct ABuf {
	Arena *a;
	char *p;
	size_t len, cap;
} ABuf;
void abuf_init(ABuf *b, Arena *a);
void abuf_add(ABuf *b, const void *d, size_t n);
void abuf_adds(ABuf *b, const char *s);
void abuf_addc(ABuf *b, char c);
void abuf_addf(ABuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void abuf_rune(ABuf *b, uint32_t r);            /* UTF-8 encode */
const char *abuf_str(ABuf *b);                  /* NUL-terminated view */

/* ---- values ----------------------------------------------------------------- */
typedef enum {
	VK_NIL, VK_BOOL, VK_INT, VK_UINT, VK_FLOAT, VK_COMPLEX, VK_STRING,
	VK_LIST, VK_MAP, VK_OBJECT,
} VKind;

/* The Go type of a scalar, or the element type of a list/map. */
typedef enum {
	GT_ANY = 0,    /* interface {} (element types) */
	GT_INT, GT_INT64, GT_INT32, GT_INT8, GT_INT16,
	GT_UINT, GT_UINT8, GT_UINT16, GT_UINT32, GT_UINT64,
	GT_FLOAT64, GT_FLOAT32, GT_COMPLEX128, GT_BOOL, GT_STRING,
	GT_LIST_ANY,   /* element type []interface {} (chunk) */
} GoType;

typedef struct Value Value;
typedef struct ObjType ObjType;
typedef struct Ctx Ctx;

typedef struct VList {
	Value **items;
	size_t len;
	size_t cap;        /* Go's cap(): slicing may extend up to it */
} VList;

typedef struct VMapEntry {
	const char *key;
	size_t klen;
	Value *val;
} VMapEntry;

typedef struct VMap {
	VMapEntry *e;      /* sorted by key bytes (Go's string order) */
	size_t len, cap;
	Arena *arena;      /* where growth is allocated */
	/* A named Go map type with methods (Helm's engine.files): NULL for plain
	 * map[string]T.  Methods are looked up before keys, as text/template does. */
	const struct FuncDef *methods;   /* NULL-name terminated */
	const char *type_name;           /* %T, e.g. "engine.files" */
} VMap;

struct Value {
	uint8_t kind;      /* VKind */
	uint8_t type;      /* GoType: scalar type, or element type of list/map */
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double f;
		struct { double re, im; } c;
		struct { const char *p; size_t n; } s;
		VList *l;
		VMap *m;
		struct { const ObjType *t; void *p; } o;
	} u;
};

/* Opaque Go objects (time.Time, *semver.Version, ...): fields and methods are
 * looked up by name; fmt uses str() like a Stringer. */
typedef struct FuncDef FuncDef;
struct ObjType {
	const char *type_name;     /* %T, e.g. "time.Time" */
	const char *kind_name;     /* reflect Kind, e.g. "struct", "ptr", "int64" */
	/* Field by name: *ret set, return 0; method: *ret_method set, return 1;
	 * neither: -1. */
	int (*lookup)(const Value *self, const char *name, Value **ret, const FuncDef **ret_method, Arena *a);
	/* Stringer; NULL: printed as a struct via fields(). */
	void (*str)(const Value *self, ABuf *out);
	/* For %v of structs without String(): field values in order (names for %+v). */
	size_t (*fields)(const Value *self, const char *const **names, Value ***vals, Arena *a);
	bool (*equal)(const Value *a, const Value *b);   /* Go == (NULL: identity) */
	double (*as_number)(const Value *self, bool *ok); /* int-kinded objects (time.Duration) */
	/* MarshalJSON as a JSON string (time.Time: RFC 3339); NULL: use str(). */
	void (*json_text)(const Value *self, ABuf *out);
};

Value *value_nil(void);
Value *value_true(void);
Value *value_false(void);
Value *value_bool(bool b);
Value *value_int(Arena *a, int64_t i);                 /* Go int */
Value *value_int_typed(Arena *a, int64_t i, GoType t); /* int64, int32, ... */
Value *value_uint_typed(Arena *a, uint64_t u, GoType t);
Value *value_float(Arena *a, double f);
Value *value_complex(Arena *a, double re, double im);
Value *value_strn(Arena *a, const char *s, size_t n);  /* copies */
Value *value_str(Arena *a, const char *s);
Value *value_str_nocopy(Arena *a, const char *s, size_t n); /* s must outlive the arena */
Value *value_list(Arena *a, size_t n, GoType elem);     /* n items, all NULL-initialised to nil */
Value *value_list_from(Arena *a, Value **items, size_t n, GoType elem);
Value *value_map(Arena *a, GoType elem);
Value *value_object(Arena *a, const ObjType *t, void *p);

/* Go map[string]T operations (VK_MAP). get returns NULL when absent. */
Value *map_get(const Value *m, const char *key, size_t klen);
static inline Value *map_gets(const Value *m, const char *key) { return map_get(m, key, __builtin_strlen(key)); }
void map_set(Value *m, const char *key, size_t klen, Value *v);
static inline void map_sets(Value *m, const char *key, Value *v) { map_set(m, key, __builtin_strlen(key), v); }
bool map_del(Value *m, const char *key, size_t klen);

static inline bool value_is_nil(const Value *v) { return !v || v->kind == VK_NIL; }
static inline bool value_is_int(const Value *v) { return v && (v->kind == VK_INT || v->kind == VK_UINT); }

/* Go's %T of the value ("<nil>" for nil). */
const char *value_type_name(const Value *v, Arena *a);
/* reflect.Kind string: "int", "string", "slice", "map", "invalid", ... */
const char *value_kind_name(const Value *v);
/* text/template's truth (isTrue); ok=false when the value has no truth (never for our kinds). */
bool value_truth(const Value *v);
/* sprig's empty(). */
bool value_empty(const Value *v);
/* reflect.DeepEqual over our model. */
bool value_deep_equal(const Value *a, const Value *b);
/* Deep copy (mitchellh/copystructure as sprig's deepCopy uses it). */
Value *value_deep_copy(Arena *a, const Value *v);

/* JSON glue.  Numbers: integer JSON numbers become int64 (INT_AS_INT64),
 * Go int, or float64 (INT_AS_FLOAT: encoding/json into interface{}). */
typedef enum { JSON_INT_AS_INT64, JSON_INT_AS_INT, JSON_INT_AS_FLOAT } JsonIntMode;
Value *value_from_json(Arena *a, const json_t *j, JsonIntMode mode);
/* To json_t with Go's encoding/json rules for numbers (integral floats below
 * 1e21 become JSON integers when they fit int64).  New reference; objects are
 * rendered through their Stringer. */
json_t *value_to_json(const Value *v);
/* JSON text to a Value with encoding/json's rules and error texts ("invalid
 * character 'x' looking for beginning of value"); integers per mode (numbers
 * that overflow int64 stay float64).  NULL with *err on error. */
Value *value_parse_json(Arena *a, const char *s, size_t n, JsonIntMode mode, Error **err);
/* keep_floats: float64 stays a JSON real even when integral (go-yaml v3's view). */
json_t *value_to_json_ex(const Value *v, bool keep_floats);

#endif
