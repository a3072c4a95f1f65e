/* test-yaml.c - src/shared/yaml.c: YAML read the way sigs.k8s.io/yaml (go-yaml
 * v2 + JSON) reads it, written the way Helm's toYaml / toYamlPretty write it,
 * go-yaml's error texts, and the caps that keep hostile input harmless. */
#include "tap.h"
#include "../../src/shared/yaml.h"
#include "../../src/base/strbuf.h"
#include <jansson.h>
#include <stdlib.h>

/* A one-line rendering of s for test names (TAP lines must not break). */
static const char *esc(const char *s)
{
	static char buf[96];
	size_t o = 0;
	for (; *s && o + 3 < sizeof(buf); s++) {
		if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *s == '\t' ? ' ' : *s;
	}
	buf[o] = 0;
	return buf;
}

static void emit_is(const char *json, int flags, const char *want)
{
	json_error_t je;
	json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
	StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	int r = j ? yaml_emit(j, flags, &out, &e) : -1;
	if (r < 0)
		tap_diag("emit error: %s", j ? err_msg(e) : je.text);
	is_str(r == 0 ? (out.buf ? out.buf : "") : "(error)", want, "emit%s %s", flags & YAML_EMIT_V3 ? " v3" : "", esc(json));
	err_free(e);
	sb_release(&out);
	json_decref(j);
}

static void parse_is(const char *yaml, const char *want_json)
{
	json_t *j = NULL;
	Error *e = NULL;
	char *got = NULL;
	if (yaml_parse_buf(yaml, strlen(yaml), &j, &e) == 0)
		got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	else
		tap_diag("parse error: %s", err_msg(e));
	is_str(got, want_json, "parse %s", esc(yaml));
	free(got);
	err_free(e);
	json_decref(j);
}

static void parse_err(const char *yaml, const char *want)
{
	json_t *j = NULL;
	Error *e = NULL;
	int r = yaml_parse_buf(yaml, strlen(yaml), &j, &e);
	is_str(r < 0 ? err_msg(e) : "(parsed)", want, "parse error for %s", esc(yaml));
	err_free(e);
	json_decref(j);
}

static void test_emit(void)
{
	emit_is("{\"b\": [1, \"two\", {\"c\": true}], \"a\": \"x: y\"}", 0, "a: 'x: y'\nb:\n- 1\n- two\n- c: true\n");
	emit_is("{\"b\": [1, \"two\", {\"c\": true}], \"a\": \"x: y\"}", YAML_EMIT_V3,
		"a: 'x: y'\nb:\n  - 1\n  - two\n  - c: true\n");
	/* go-yaml's key order: letters by code point, digit runs by value */
	emit_is("{\"b\": 1, \"a10\": 1, \"a2\": 1, \"A\": 1, \"10\": 1, \"9\": 1}", 0,
		"\"9\": 1\n\"10\": 1\nA: 1\na2: 1\na10: 1\nb: 1\n");
	/* strings that would read back as something else are double-quoted (in
	 * YAML 1.1 "y" and "n" are booleans, keys included) */
	emit_is("{\"s\": \"123\", \"t\": \"true\", \"y\": \"y\", \"n\": \"null\", \"e\": \"\", \"o\": \"0777\", \"f\": \"1.0\"}",
		0, "e: \"\"\nf: \"1.0\"\n\"n\": \"null\"\no: \"0777\"\ns: \"123\"\nt: \"true\"\n\"y\": \"y\"\n");
	/* ... and ones the emitter cannot write plain are single-quoted */
	emit_is("[\" x\", \"a #b\", \"- x\", \"*x\", \"trailing \", \"it's\"]", 0,
		"- ' x'\n- 'a #b'\n- '- x'\n- '*x'\n- 'trailing '\n- it's\n");
	emit_is("{\"m\": \"line1\\nline2\\n\", \"n\": \"a\\nb\", \"k\": \"a\\n\\n\"}", 0,
		"k: |+\n  a\n\nm: |\n  line1\n  line2\n\"n\": |-\n  a\n  b\n");
	emit_is("{\"c\": \"a\\u0001b\", \"t\": \"a\\tb\"}", 0, "c: \"a\\x01b\"\nt: \"a\\tb\"\n");
	emit_is("{\"f\": 1.5, \"g\": 1e-7, \"h\": 1e21, \"i\": -3}", 0, "f: 1.5\ng: 1e-07\nh: 1e+21\ni: -3\n");
	emit_is("{}", 0, "{}\n");
	emit_is("[]", 0, "[]\n");
	emit_is("null", 0, "null\n");
	emit_is("{\"a\": {}, \"b\": [], \"c\": null}", 0, "a: {}\nb: []\nc: null\n");
	emit_is("[[1, 2], [3]]", 0, "- - 1\n  - 2\n- - 3\n");
	/* v2 folds long plain scalars at 80 columns; v3 (toYamlPretty) does not */
	emit_is("{\"long\": \"aaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii\"}",
		0, "long: aaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg\n  hhhhhhhhhh iiiiiiiiii\n");
	emit_is("{\"long\": \"aaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii\"}",
		YAML_EMIT_V3,
		"long: aaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii\n");
	char buf[32];
	yaml_format_float(1e6, buf, sizeof(buf));
	is_str(buf, "1e+06", "yaml_format_float 1e6");
	yaml_format_float(3.0, buf, sizeof(buf));
	is_str(buf, "3", "yaml_format_float 3.0");
}

static void test_parse(void)
{
	/* YAML 1.1 scalars as go-yaml v2 resolves them; timestamps stay strings */
	parse_is("a: yes\nb: off\nc: 0777\nd: 0x1f\ne: 1_000\nf: .5\ng: ~\nh: 2001-12-14\ni: \"yes\"\nj: 1e3\n",
		 "{\"a\":true,\"b\":false,\"c\":511,\"d\":31,\"e\":1000,\"f\":0.5,\"g\":null,\"h\":\"2001-12-14\",\"i\":\"yes\",\"j\":1000.0}");
	/* non-string keys become JSON keys */
	parse_is("1: a\ntrue: b\n1.5: c\n", "{\"1\":\"a\",\"1.5\":\"c\",\"true\":\"b\"}");
	parse_is("y: 1\n", "{\"true\":1}");
	/* anchors, aliases and merge keys */
	parse_is("base: &b {p: 1, q: 2}\nd:\n  <<: *b\n  q: 3\n", "{\"base\":{\"p\":1,\"q\":2},\"d\":{\"p\":1,\"q\":3}}");
	parse_is("l: &l [1, 2]\nm: *l\n", "{\"l\":[1,2],\"m\":[1,2]}");
	parse_is("s: |\n  a\n  b\nf: >\n  a\n  b\n", "{\"f\":\"a b\\n\",\"s\":\"a\\nb\\n\"}");
	parse_is("", "null");
	parse_is("- a\n- 2\n- {b: c}\n", "[\"a\",2,{\"b\":\"c\"}]");
	json_t *all = NULL;
	Error *e = NULL;
	const char *multi = "a: 1\n---\nb: 2\n---\n";
	ok(yaml_parse_all(multi, strlen(multi), &all, &e) == 0 && json_array_size(all) == 3 &&
		   json_is_null(json_array_get(all, 2)),
	   "yaml_parse_all returns every document");
	json_decref(all);
	err_free(e);
}

static void test_errors(void)
{
	parse_err("a: b: c", "yaml: mapping values are not allowed in this context");
	parse_err("key: [1, 2", "yaml: line 1: did not find expected ',' or ']'");
	parse_err("\ta: 1", "yaml: found character that cannot start any token");
	parse_err("a: *nope\n", "yaml: unknown anchor 'nope' referenced");
	parse_err("a: .inf\n", "json: unsupported value: +Inf");
	parse_err("a: &x .nan\nb: [*x]\n", "json: unsupported value: NaN");
	parse_is(".inf: 1\n.nan: 2\n", "{\".inf\":1,\".nan\":2}");
	/* keys JSON cannot have, worded as go-yaml v2 and sigs.k8s.io/yaml word them */
	parse_err("~: [1, \"q\"]\n", "unsupported map key of type: %!s(<nil>), key: <nil>, value: []interface {}{1, \"q\"}");
	parse_err("[a]: x\n", "yaml: invalid map key: []interface {}{\"a\"}");
	parse_err("{a: 1}: x\n", "yaml: invalid map key: map[interface {}]interface {}{\"a\":1}");
	/* a billion laughs is refused, quickly */
	StrBuf lol = STRBUF_INIT;
	sb_adds(&lol, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
	for (char c = 'b'; c <= 'z'; c++)
		sb_addf(&lol, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", c, c, c - 1, c - 1, c - 1,
			c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
	json_t *j = NULL;
	Error *e = NULL;
	ok(yaml_parse_buf(lol.buf, lol.len, &j, &e) < 0, "alias expansion bomb is an error (%s)", err_msg(e));
	err_free(e);
	e = NULL;
	json_decref(j);
	j = NULL;
	sb_release(&lol);
	/* deep nesting is an error, not a stack overflow */
	StrBuf deep = STRBUF_INIT;
	for (int i = 0; i < 100000; i++)
		sb_addc(&deep, '[');
	ok(yaml_parse_buf(deep.buf, deep.len, &j, &e) < 0, "100000 nested sequences are refused");
	err_free(e);
	json_decref(j);
	sb_release(&deep);
}

int main(void)
{
	test_emit();
	test_parse();
	test_errors();
	return tap_done();
}
