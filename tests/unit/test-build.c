/* test-build.c - the Dockerfile parser, word substitution and the
 * .dockerignore matcher of src/build/ (no store, no containers). */
#include "tap.h"
#include "../../src/build/build.h"
#include <stdlib.h>
#include <string.h>

static BuildDockerfile *parse(const char *text, Error **e)
{
	BuildDockerfile *df = NULL;
	if (build_dockerfile_parse("Dockerfile", text, strlen(text), &df, e) < 0)
		return NULL;
	return df;
}

static void test_instructions(void)
{
	Error *e = NULL;
	BuildDockerfile *df = parse("FROM busybox AS base\n"
				    "# a comment\n"
				    "\n"
				    "run echo a \\\n"
				    "  # comment inside a continuation\n"
				    "   && echo b\n"
				    "COPY --from=base --chown=1:2 a b /c/\n"
				    "CMD [\"sh\", \"-c\", \"x\"]\n"
				    "ENTRYPOINT echo hi\n"
				    "ENV A=1 B=\"two words\"\n"
				    "HEALTHCHECK --interval=5s CMD true\n", &e);
	ok(df != NULL, "a Dockerfile with every form parses: %s", e ? e->msg : "");
	if (!df)
		return;
	is_int(df->n, 7, "seven instructions");
	is_str(df->instrs[0].cmd, "from", "FROM");
	is_int(df->instrs[0].line, 1, "FROM on line 1");
	is_str(df->instrs[1].cmd, "run", "lower-case run is RUN");
	is_int(df->instrs[1].line, 4, "RUN starts on line 4");
	is_str(df->instrs[1].rest, "echo a    && echo b", "continuation joined, comment dropped");
	is_str(build_instr_flag(&df->instrs[2], "from"), "base", "--from flag");
	is_str(build_instr_flag(&df->instrs[2], "chown"), "1:2", "--chown flag");
	ok(build_instr_flag(&df->instrs[2], "chmod") == NULL, "absent flag is NULL");
	is_str(df->instrs[2].rest, "a b /c/", "args after flags");
	ok(df->instrs[3].json && !strcmp(df->instrs[3].json[2], "x") && !df->instrs[3].json[3], "CMD exec form");
	ok(df->instrs[4].json == NULL, "ENTRYPOINT shell form");
	is_str(build_instr_flag(&df->instrs[6], "interval"), "5s", "HEALTHCHECK flag");
	build_dockerfile_free(df);
}

static void test_escape_directive(void)
{
	Error *e = NULL;
	BuildDockerfile *df = parse("# escape=`\n"
				    "FROM scratch\n"
				    "COPY a `\n"
				    "  c:\\dir\\\n", &e);
	ok(df != NULL, "escape directive parses");
	if (df) {
		ok(df->escape == '`', "escape is backtick");
		is_str(df->instrs[1].rest, "a   c:\\dir\\", "backslash is literal, backtick continues");
		build_dockerfile_free(df);
	}
	df = parse("FROM scratch\n# escape=`\nRUN a `\n", &e);
	ok(df && df->escape == '\\' && df->n == 2, "a directive after an instruction is a comment");
	build_dockerfile_free(df);
	df = parse("# escape=x\nFROM scratch\n", &e);
	ok(!df && e && strstr(e->msg, "Dockerfile:1:") && strstr(e->msg, "escape"), "bad escape token: %s",
	   e ? e->msg : "");
	err_freep(&e);
	df = parse("# escape=`\n# escape=\\\nFROM scratch\n", &e);
	ok(!df && e && strstr(e->msg, "Dockerfile:2:"), "duplicate escape directive");
	err_freep(&e);
}

static void test_heredocs(void)
{
	Error *e = NULL;
	BuildDockerfile *df = parse("FROM scratch\n"
				    "RUN <<EOF\n"
				    "echo one\n"
				    "echo two\n"
				    "EOF\n"
				    "COPY <<-\"A\" <<B /dir/\n"
				    "\tliteral $X\n"
				    "\tA\n"
				    "b $X\n"
				    "B\n"
				    "USER nobody\n", &e);
	ok(df != NULL, "heredocs parse: %s", e ? e->msg : "");
	if (!df)
		return;
	is_int(df->n, 4, "four instructions around the heredocs");
	is_int(df->instrs[1].n_heredocs, 1, "RUN has one heredoc");
	is_str(df->instrs[1].heredocs[0].content, "echo one\necho two\n", "RUN heredoc body");
	is_int(df->instrs[2].n_heredocs, 2, "COPY has two heredocs");
	is_str(df->instrs[2].heredocs[0].content, "literal $X\n", "<<- strips tabs");
	ok(!df->instrs[2].heredocs[0].expand && df->instrs[2].heredocs[1].expand, "quoted word: no expansion");
	is_int(df->instrs[3].line, 11, "line numbers continue after heredocs");
	build_dockerfile_free(df);
	df = parse("FROM scratch\nRUN <<EOF\necho\n", &e);
	ok(!df && e && strstr(e->msg, "Dockerfile:2: unterminated heredoc"), "unterminated heredoc: %s",
	   e ? e->msg : "");
	err_freep(&e);
}

static void test_errors(void)
{
	Error *e = NULL;
	BuildDockerfile *df = parse("FROM scratch\n\n\n\n\n\nCOPPY a b\n", &e);
	ok(!df && e && !strcmp(e->msg, "Dockerfile:7: unknown instruction: COPPY"), "unknown instruction: %s",
	   e ? e->msg : "");
	err_freep(&e);
	df = parse("FROM scratch\nCMD [\"a\", \n", &e);
	ok(!df && e && strstr(e->msg, "Dockerfile:2:") && strstr(e->msg, "malformed"), "malformed JSON: %s",
	   e ? e->msg : "");
	err_freep(&e);
	df = parse("FROM scratch\nRUN [ -f /x ] && true\n", &e);
	ok(df && !df->instrs[1].json, "a shell test bracket is the shell form");
	build_dockerfile_free(df);
	const char nul[] = "FROM a\0b";
	ok(build_dockerfile_parse("Dockerfile", nul, sizeof(nul) - 1, &df, &e) < 0, "NUL byte refused");
	err_freep(&e);
}

static const char *lookup(const char *name, void *ud)
{
	(void)ud;
	if (!strcmp(name, "A"))
		return "apple";
	if (!strcmp(name, "EMPTY"))
		return "";
	return NULL;
}

static void expect_word(const char *in, const char *want)
{
	Error *e = NULL;
	char *out = NULL;
	int r = build_word_expand(in, '\\', lookup, NULL, &out, &e);
	ok(r == 0 && out && !strcmp(out, want), "expand '%s' -> '%s' (got '%s')", in, want, out ? out : e->msg);
	free(out);
	err_free(e);
}

static void test_words(void)
{
	expect_word("$A", "apple");
	expect_word("${A}s", "apples");
	expect_word("x${UNSET}y", "xy");
	expect_word("${UNSET:-def}", "def");
	expect_word("${EMPTY:-def}", "def");
	expect_word("${EMPTY-def}", "");
	expect_word("${A:+alt}", "alt");
	expect_word("${UNSET:+alt}", "");
	expect_word("${EMPTY+alt}", "alt");
	expect_word("${UNSET:-${A}}", "apple");
	expect_word("'$A'", "$A");
	expect_word("\"$A b\"", "apple b");
	expect_word("\\$A", "$A");
	expect_word("a\\ b", "a b");
	expect_word("$", "$");
	Error *e = NULL;
	char *out = NULL;
	ok(build_word_expand("${UNSET:?must be set}", '\\', lookup, NULL, &out, &e) < 0 && strstr(e->msg, "must be set"),
	   "${VAR:?msg} errors");
	err_freep(&e);
	ok(build_word_expand("${A", '\\', lookup, NULL, &out, &e) < 0, "unterminated ${ errors");
	err_freep(&e);
	ok(build_word_expand("'abc", '\\', lookup, NULL, &out, &e) < 0, "unterminated quote errors");
	err_freep(&e);
	char **w = NULL;
	ok(build_words_split("A=1 B=\"x y\"  C='p q'", '\\', &w, &e) == 0 && w[0] && w[1] && w[2] && !w[3] &&
	   !strcmp(w[1], "B=\"x y\""), "words split on unquoted blanks");
	strv_free(w);
	ok(build_text_expand("a '$A' \"b\"", lookup, NULL, &out, &e) == 0 && !strcmp(out, "a 'apple' \"b\""),
	   "heredoc text: only variables expand");
	free(out);
}

static bool ig(const char *patterns, const char *path)
{
	BuildIgnore *g = NULL;
	Error *e = NULL;
	build_ignore_parse(patterns, strlen(patterns), &g, &e);
	bool r = build_ignore_match(g, path);
	build_ignore_free(g);
	return r;
}

static void test_ignore(void)
{
	ok(ig("*.log\n", "a.log"), "*.log matches a.log");
	ok(!ig("*.log\n", "dir/a.log"), "*.log does not cross directories");
	ok(ig("**/*.log\n", "dir/sub/a.log"), "**/*.log matches deep");
	ok(ig("**/*.log\n", "a.log"), "**/ matches zero directories");
	ok(ig("build\n", "build/out/x.o"), "a directory pattern excludes its contents");
	ok(ig("/build\n", "build/x"), "leading slash is the context root");
	ok(ig("./tmp//x\n", "tmp/x"), "patterns are cleaned");
	ok(ig("a/../b\n", "b"), "a/../b is b");
	ok(!ig("*.md\n!README.md\n", "README.md"), "! makes an exception");
	ok(ig("*.md\n!README.md\n", "CHANGES.md"), "exception only for its match");
	ok(ig("!README.md\n*.md\n", "README.md"), "the last matching pattern wins");
	ok(!ig("docs\n!docs/keep\n", "docs/keep/file"), "exception inside an excluded directory");
	ok(ig("file?.txt\n", "file1.txt") && !ig("file?.txt\n", "file10.txt"), "? is one character");
	ok(ig("[a-c].txt\n", "b.txt") && !ig("[a-c].txt\n", "d.txt"), "character classes");
	ok(ig("[!a].txt\n", "b.txt") && !ig("[!a].txt\n", "a.txt"), "negated class");
	ok(!ig("# *.txt\n\n", "a.txt"), "comments and blank lines ignored");
	ok(ig("  spaced.txt  \n", "spaced.txt"), "surrounding blanks trimmed");
	ok(ig("dir/**\n", "dir/a/b"), "trailing ** matches everything below");
	ok(build_glob_match("a\\*b", "a*b") && !build_glob_match("a\\*b", "axb"), "escaped star is literal");
	BuildIgnore *g = NULL;
	Error *e = NULL;
	build_ignore_parse("x\n!y\n", 4, &g, &e);
	ok(build_ignore_has_exceptions(g), "exceptions are reported");
	build_ignore_free(g);
}

int main(void)
{
	test_instructions();
	test_escape_directive();
	test_heredocs();
	test_errors();
	test_words();
	test_ignore();
	return tap_done();
}
