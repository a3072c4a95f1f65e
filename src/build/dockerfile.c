/* dockerfile.c - the Dockerfile lexer/parser.
 *
 * Docker's rules, read line by line: parser directives (`# escape=`,
 * `# syntax=`) only at the very top; comment lines and blank lines are
 * dropped everywhere, also inside a continuation; a line ending in the escape
 * character continues on the next one (joined without the escape and without
 * a newline, the next line's leading blanks kept); the first word is the
 * instruction (any case), leading `--flag[=value]` words are flags, and an
 * argument that is a JSON array of strings is the exec form.  RUN, COPY and
 * ADD may carry heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`) whose bodies are the
 * raw lines that follow.  Every instruction keeps the line it starts on so
 * the executor's errors can point at it.  Input is untrusted: sizes are
 * capped (BERTH_MAX_DOCKERFILE*) and nothing is assumed about its bytes.
 */
#include "build.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <ctype.h>
#include <string.h>

static const char *const known_instrs[] = {
	"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
	"maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir", NULL,
};

bool build_instr_known(const char *cmd)
{
	for (const char *const *p = known_instrs; *p; p++)
		if (!strcmp(*p, cmd))
			return true;
	return false;
}

const char *build_instr_flag(const BuildInstr *in, const char *name)
{
	size_t n = strlen(name);
	for (char **f = in->flags; f && *f; f++) {
		if (strncmp(*f + 2, name, n))
			continue;
		if ((*f)[2 + n] == '=')
			return *f + 3 + n;
		if ((*f)[2 + n] == 0)
			return "";
	}
	return NULL;
}

static void instr_release(BuildInstr *in)
{
	free(in->cmd);
	free(in->original);
	strv_free(in->flags);
	free(in->rest);
	strv_free(in->json);
	for (size_t i = 0; i < in->n_heredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].content);
	}
	free(in->heredocs);
}

void build_dockerfile_free(BuildDockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->n; i++)
		instr_release(&df->instrs[i]);
	free(df->instrs);
	free(df->name);
	free(df);
}

/* ---- reading lines ---- */

typedef struct Lines {
	const char *p, *end;
	int lineno;      /* of the line last returned */
} Lines;

/* The next line without its newline (and a trailing '\r'); false at the end. */
static bool lines_next(Lines *l, const char **ret, size_t *ret_len)
{
	if (l->p >= l->end)
		return false;
	const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	const char *e = nl ? nl : l->end;
	*ret = l->p;
	*ret_len = (size_t)(e - l->p);
	if (*ret_len && (*ret)[*ret_len - 1] == '\r')
		(*ret_len)--;
	l->p = nl ? nl + 1 : l->end;
	l->lineno++;
	return true;
}

static size_t skip_ws(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static bool line_blank(const char *s, size_t n)
{
	return skip_ws(s, n) == n;
}

static bool line_comment(const char *s, size_t n)
{
	size_t i = skip_ws(s, n);
	return i < n && s[i] == '#';
}

/* A parser directive "# name = value": 1 and the parts, 0 when not one. */
static int directive_parse(const char *s, size_t n, char **ret_name, char **ret_value)
{
	size_t i = skip_ws(s, n);
	if (i >= n || s[i] != '#')
		return 0;
	i++;
	i += skip_ws(s + i, n - i);
	size_t ns = i;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	if (i == ns || !isalpha((unsigned char)s[ns]))
		return 0;
	size_t ne = i;
	i += skip_ws(s + i, n - i);
	if (i >= n || s[i] != '=')
		return 0;
	i++;
	i += skip_ws(s + i, n - i);
	size_t ve = n;
	while (ve > i && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
		ve--;
	*ret_name = xstrndup(s + ns, ne - ns);
	for (char *c = *ret_name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*ret_value = xstrndup(s + i, ve - i);
	return 1;
}

/* Does the line (right-trimmed) end with the escape char?  Sets *ret_len to
 * the length without it. */
static bool line_continues(const char *s, size_t n, char escape, size_t *ret_len)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || s[n - 1] != escape)
		return false;
	*ret_len = n - 1;
	return true;
}

/* ---- heredocs ---- */

/* Find "<<[-]WORD" / "<<[-]'WORD'" / "<<[-]\"WORD\"" markers in the args. */
static int heredocs_find(const char *args, BuildHeredoc **ret, size_t *ret_n, bool **ret_chomp)
{
	BuildHeredoc *v = NULL;
	bool *chomp = NULL;
	size_t n = 0;
	for (const char *p = strstr(args, "<<"); p; p = strstr(p, "<<")) {
		const char *q = p + 2;
		bool dash = *q == '-';
		if (dash)
			q++;
		char quote = (*q == '"' || *q == '\'') ? *q : 0;
		if (quote)
			q++;
		const char *w = q;
		while (isalnum((unsigned char)*q) || *q == '_' || *q == '-' || *q == '.')
			q++;
		if (q == w || (quote && *q != quote)) {
			p += 2;
			continue;
		}
		if (n >= 64)
			break;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		chomp = xrealloc(chomp, (n + 1) * sizeof(*chomp));
		v[n] = (BuildHeredoc){ .name = xstrndup(w, (size_t)(q - w)), .expand = !quote };
		chomp[n] = dash;
		n++;
		p = quote ? q + 1 : q;
	}
	*ret = v;
	*ret_n = n;
	*ret_chomp = chomp;
	return 0;
}

static int heredocs_read(Lines *l, const char *file, BuildHeredoc *h, bool chomp, Error **err)
{
	int start = l->lineno;
	StrBuf sb = STRBUF_INIT;
	const char *s;
	size_t n;
	while (lines_next(l, &s, &n)) {
		size_t skip = 0;
		if (chomp)
			while (skip < n && s[skip] == '\t')
				skip++;
		if (n - skip == strlen(h->name) && !memcmp(s + skip, h->name, n - skip)) {
			h->content = sb_detach(&sb);
			return 0;
		}
		sb_add(&sb, s + skip, n - skip);
		sb_addc(&sb, '\n');
		if (sb.len > BERTH_MAX_DOCKERFILE) {
			sb_release(&sb);
			return err_set(err, E2BIG, "%s:%d: heredoc is too long", file, start);
		}
	}
	sb_release(&sb);
	return err_set(err, EINVAL, "%s:%d: unterminated heredoc '%s'", file, start, h->name);
}

/* ---- one instruction ---- */

static bool instr_has_heredocs(const char *cmd)
{
	return !strcmp(cmd, "run") || !strcmp(cmd, "copy") || !strcmp(cmd, "add");
}

/* Exec form: a JSON array of strings.  Returns NULL when it is not one. */
static char **json_form(const char *rest)
{
	if (rest[0] != '[')
		return NULL;
	json_error_t je;
	json_t *j = json_loads(rest, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(j, i, v) {
		if (!json_is_string(v)) {
			json_decref(j);
			return NULL;
		}
	}
	char **r = json_to_strv(j);
	json_decref(j);
	return r;
}

/* Text meant as an exec form: `["...` or ending in `"]`. */
static bool looks_like_json(const char *rest)
{
	size_t n = strlen(rest);
	while (n && isspace((unsigned char)rest[n - 1]))
		n--;
	return rest[0] == '[' && (rest[1] == '"' || (n >= 2 && rest[n - 1] == ']' && rest[n - 2] == '"'));
}

static void flags_split(const char *args, char ***ret_flags, const char **ret_rest)
{
	size_t n = 0;
	char **flags = xcalloc(1, sizeof(char *));
	const char *p = args;
	while (p[0] == '-' && p[1] == '-' && p[2] && p[2] != ' ' && p[2] != '\t') {
		const char *e = p;
		while (*e && *e != ' ' && *e != '\t')
			e++;
		flags = xrealloc(flags, (n + 2) * sizeof(char *));
		flags[n++] = xstrndup(p, (size_t)(e - p));
		flags[n] = NULL;
		p = e + skip_ws(e, strlen(e));
	}
	*ret_flags = flags;
	*ret_rest = p;
}

static int instr_build(BuildDockerfile *df, const char *text, int line, Lines *l, Error **err)
{
	const char *s = text + skip_ws(text, strlen(text));
	const char *e = s;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	_cleanup_free_ char *cmd = xstrndup(s, (size_t)(e - s));
	for (char *c = cmd; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!build_instr_known(cmd)) {
		_cleanup_free_ char *word = xstrndup(s, (size_t)(e - s) > 64 ? 64 : (size_t)(e - s));
		for (char *c = word; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		return err_set(err, EINVAL, "%s:%d: unknown instruction: %s", df->name, line, word);
	}
	if (df->n >= BERTH_MAX_DOCKERFILE_INSTRS)
		return err_set(err, E2BIG, "%s:%d: too many instructions (limit %d)", df->name, line,
			       BERTH_MAX_DOCKERFILE_INSTRS);
	BuildInstr in = { .cmd = TAKE_PTR(cmd), .line = line };
	const char *args = e + skip_ws(e, strlen(e));
	size_t alen = strlen(args);
	while (alen && (args[alen - 1] == ' ' || args[alen - 1] == '\t'))
		alen--;
	_cleanup_free_ char *trimmed = xstrndup(args, alen);
	const char *rest;
	flags_split(trimmed, &in.flags, &rest);
	in.rest = xstrdup(rest);
	in.original = xstrdup(s);
	size_t olen = strlen(in.original);
	while (olen && (in.original[olen - 1] == ' ' || in.original[olen - 1] == '\t'))
		in.original[--olen] = 0;
	in.json = json_form(in.rest);
	int r = 0;
	if (!in.json && looks_like_json(in.rest) && strcmp(in.cmd, "onbuild"))
		r = err_set(err, EINVAL, "%s:%d: %s: malformed exec form (a JSON array of strings): %.80s",
			    df->name, line, in.cmd, in.rest);
	if (r == 0 && instr_has_heredocs(in.cmd) && !in.json) {
		_cleanup_free_ bool *chomp = NULL;
		heredocs_find(in.rest, &in.heredocs, &in.n_heredocs, &chomp);
		for (size_t i = 0; r == 0 && i < in.n_heredocs; i++)
			r = heredocs_read(l, df->name, &in.heredocs[i], chomp[i], err);
	}
	if (r < 0) {
		instr_release(&in);
		return r;
	}
	df->instrs = xrealloc(df->instrs, (df->n + 1) * sizeof(BuildInstr));
	df->instrs[df->n++] = in;
	return 0;
}

/* ---- the file ---- */

static int directives_read(BuildDockerfile *df, Lines *l, Error **err)
{
	bool seen_escape = false, seen_syntax = false;
	for (;;) {
		Lines save = *l;
		const char *s;
		size_t n;
		if (!lines_next(l, &s, &n))
			return 0;
		_cleanup_free_ char *name = NULL, *value = NULL;
		if (!directive_parse(s, n, &name, &value) ||
		    (strcmp(name, "escape") && strcmp(name, "syntax") && strcmp(name, "check"))) {
			*l = save;
			return 0;
		}
		if (!strcmp(name, "escape")) {
			if (seen_escape)
				return err_set(err, EINVAL, "%s:%d: only one escape parser directive can be used",
					       df->name, l->lineno);
			if (strcmp(value, "\\") && strcmp(value, "`"))
				return err_set(err, EINVAL, "%s:%d: invalid escape token '%s' does not match ` or \\",
					       df->name, l->lineno, value);
			df->escape = value[0];
			seen_escape = true;
		} else if (!strcmp(name, "syntax")) {
			if (seen_syntax)
				return err_set(err, EINVAL, "%s:%d: only one syntax parser directive can be used",
					       df->name, l->lineno);
			seen_syntax = true;
		}
	}
}

int build_dockerfile_parse(const char *name, const char *text, size_t len, BuildDockerfile **ret,
			   Error **err)
{
	if (len > BERTH_MAX_DOCKERFILE)
		return err_set(err, E2BIG, "%s: larger than %u bytes", name, BERTH_MAX_DOCKERFILE);
	if (memchr(text, 0, len))
		return err_set(err, EINVAL, "%s: contains a NUL byte", name);
	BuildDockerfile *df = xcalloc(1, sizeof(*df));
	df->escape = '\\';
	df->name = xstrdup(name);
	Lines l = { .p = text, .end = text + len };
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		l.p += 3; /* a UTF-8 byte order mark */
	int r = directives_read(df, &l, err);
	const char *s;
	size_t n;
	while (r == 0 && lines_next(&l, &s, &n)) {
		if (line_blank(s, n) || line_comment(s, n))
			continue;
		int start = l.lineno;
		StrBuf sb = STRBUF_INIT;
		size_t keep;
		size_t lead = skip_ws(s, n);
		bool more = line_continues(s + lead, n - lead, df->escape, &keep);
		sb_add(&sb, s + lead, more ? keep : n - lead);
		while (more) {
			if (!lines_next(&l, &s, &n))
				break;
			if (line_blank(s, n) || line_comment(s, n))
				continue;
			more = line_continues(s, n, df->escape, &keep);
			sb_add(&sb, s, more ? keep : n);
		}
		r = instr_build(df, sb_str(&sb), start, &l, err);
		sb_release(&sb);
	}
	if (r < 0) {
		build_dockerfile_free(df);
		return r;
	}
	*ret = df;
	return 0;
}
