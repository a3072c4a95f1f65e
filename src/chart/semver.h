/* semver.h - Masterminds/semver v3 as Helm and Sprig use it: lenient
 * version parsing ("v1.2", "1.2.3-rc.1+b"), precedence, and constraint
 * strings (">= 1.2, < 2", "^1.4 || ~2.0", "1.2 - 1.5", "1.x").  Everything
 * is allocated in the caller's Arena.
 */
#ifndef BERTH_CHART_SEMVER_H
#define BERTH_CHART_SEMVER_H

#include <stdbool.h>
#include <stdint.h>
#include "value.h"

typedef struct SemVer {
	uint64_t major, minor, patch;
	const char *pre;        /* "" when absent */
	const char *meta;
	const char *original;
} SemVer;

typedef struct SemConstraints SemConstraints;

/* NewVersion (coercing); NULL with *err = Masterminds' message on failure. */
SemVer *semver_parse(Arena *a, const char *s, size_t n, const char **err);
int semver_compare(const SemVer *x, const SemVer *y);
const char *semver_string(Arena *a, const SemVer *v);
SemConstraints *semver_constraints_parse(Arena *a, const char *s, size_t n, const char **err);
bool semver_constraints_check(const SemConstraints *c, const SemVer *v);

#endif
