/* yaml-internal.h - what yaml.c (reading) and yaml-emit.c (writing) share:
 * go-yaml v2's scalar resolution, which decides both what a plain scalar
 * means and whether a string can be written without quotes. */
#ifndef BERTH_SHARED_YAML_INTERNAL_H
#define BERTH_SHARED_YAML_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { R_STR, R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_MERGE, R_TIMESTAMP } RTag;

typedef struct Resolved {
	RTag tag;
	bool b;
	int64_t i;
	uint64_t u;
	double f;
} Resolved;

/* go-yaml's resolve() of a plain scalar (v3: YAML 1.2-ish booleans, no "_" in numbers). */
Resolved yaml_resolve(const char *in, bool v3);
/* Exact string membership in a NULL-terminated list. */
bool yaml_in_list(const char *s, const char *const *l);

#endif
