/* fuzz-template.c - the chart engine's untrusted inputs: template text (lexer,
 * parser, executor with Sprig's and Helm's functions) and YAML/JSON data.
 *
 * Input layout: TEMPLATE [ '\0' DATA ].  DATA is parsed as YAML (the way
 * values files and fromYaml read it) and becomes dot.  Every YAML document
 * that parses must also survive a round trip through the emitter
 * (toYaml, then parse again) unchanged, which checks the emitter's quoting.
 * Functions that are slow by design (key generation, scrypt, bcrypt) are
 * left out so the fuzzer spends its time on the engine.
 */
#include "../../src/chart/chart.h"
#include "../../src/shared/yaml.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const slow[] = {
	"genPrivateKey", "genCA", "genSelfSigned", "genSigned", "derivePassword", "bcrypt", "htpasswd", "buildCustomCert",
};

static bool has_slow_call(const char *t, size_t n)
{
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (memmem(t, n, slow[i], strlen(slow[i])))
			return true;
	return false;
}

/* parse(emit(v)) must give v back (compared as Helm sees values: numbers as float64). */
static void yaml_round_trip(const json_t *j, int flags)
{
	StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	if (yaml_emit(j, flags, &out, &e) < 0) {
		err_free(e);
		sb_release(&out);
		return;
	}
	json_t *back = NULL;
	if (yaml_parse_buf(out.buf ? out.buf : "", out.len, &back, &e) < 0)
		abort();   /* the emitter wrote something its own parser rejects */
	Arena *a = arena_new(0);
	if (!value_deep_equal(value_from_json(a, j, JSON_INT_AS_FLOAT), value_from_json(a, back, JSON_INT_AS_FLOAT)))
		abort();   /* the emitter changed the value */
	arena_free(a);
	json_decref(back);
	sb_release(&out);
}

static Value *load_data(Arena *a, const char *d, size_t n)
{
	json_t *j = NULL;
	Error *e = NULL;
	if (yaml_parse_buf(d, n, &j, &e) < 0) {
		err_free(e);
		return value_nil();
	}
	yaml_round_trip(j, 0);
	yaml_round_trip(j, YAML_EMIT_V3);
	Value *v = value_from_json(a, j, JSON_INT_AS_INT64);
	json_decref(j);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, 0, size);
	size_t tlen = nul ? (size_t)(nul - text) : size;
	if (has_slow_call(text, tlen))
		return 0;
	Arena *a = arena_new(0);
	Value *dot = nul ? load_data(a, nul + 1, size - tlen - 1) : value_nil();
	TmplOptions o = { .missingkey = (MissingKey)(size % 3) };
	TmplSet *set = tmpl_set_new(&o);
	Error *e = NULL;
	if (tmpl_set_parse(set, "fuzz", text, tlen, &e) == 0) {
		StrBuf out = STRBUF_INIT;
		tmpl_set_execute(set, "fuzz", a, dot, &out, &e);
		sb_release(&out);
	}
	err_free(e);
	tmpl_set_free(set);
	arena_free(a);
	return 0;
}
