/* toml.h - TOML encode/decode for template values (see toml.c). */
#ifndef BERTH_CHART_TOML_H
#define BERTH_CHART_TOML_H

#include "tmpl.h"

/* BurntSushi/toml Encoder output of v (a map) appended to out; -1 + *err on failure. */
int toml_encode(ABuf *out, const Value *v, const char **err);
/* A TOML document as map[string]interface{}; NULL + *err ("toml: line N: ..."). */
Value *toml_decode(Arena *a, const char *s, size_t n, const char **err);

#endif
