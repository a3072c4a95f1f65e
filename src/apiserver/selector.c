/* selector.c - label and field selectors as the API takes them in
 * ?labelSelector= and ?fieldSelector=.
 *
 * Labels: comma-separated requirements `k`, `!k`, `k=v`, `k==v`, `k!=v`,
 * `k in (a,b)`, `k notin (a,b)`.  Fields: `f=v`, `f==v`, `f!=v` where f is a
 * dotted path into the object (metadata.name, spec.nodeName, status.phase,
 * type, involvedObject.name ...); an absent field compares as "".
 */
#include "api-internal.h"
#include "../base/cleanup.h"
#include <ctype.h>
#include <string.h>

enum { OP_EXISTS, OP_NOT_EXISTS, OP_EQ, OP_NE, OP_IN, OP_NOTIN };

typedef struct Req {
	char *key;
	int op;
	char **values;
	size_t nvalues;
} Req;

struct ApiSelector {
	bool field;
	Req *reqs;
	size_t n;
};

void api_selector_free(ApiSelector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->reqs[i].key);
		for (size_t j = 0; j < sel->reqs[i].nvalues; j++)
			free(sel->reqs[i].values[j]);
		free(sel->reqs[i].values);
	}
	free(sel->reqs);
	free(sel);
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/';
}

static bool value_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static char *take_word(const char **p, bool (*ok)(char))
{
	const char *s = *p;
	while (**p && ok(**p))
		(*p)++;
	return xstrndup(s, (size_t)(*p - s));
}

static void add_value(Req *r, char *v)
{
	r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(char *));
	r->values[r->nvalues++] = v;
}

static int parse_set(const char **p, Req *r, Error **err)
{
	skip_ws(p);
	if (**p != '(')
		return err_set(err, EINVAL, "found '%c', expected: '('", **p ? **p : ' ');
	(*p)++;
	for (;;) {
		skip_ws(p);
		add_value(r, take_word(p, value_char));
		skip_ws(p);
		if (**p == ')') {
			(*p)++;
			return 0;
		}
		if (**p != ',')
			return err_set(err, EINVAL, "found '%c', expected: ',' or ')'", **p ? **p : ' ');
		(*p)++;
	}
}

static bool word_at(const char *p, const char *w)
{
	size_t n = strlen(w);
	return !strncmp(p, w, n) && (p[n] == ' ' || p[n] == '(');
}

static int parse_req(const char **p, bool field, Req *r, Error **err)
{
	skip_ws(p);
	if (!field && **p == '!') {
		(*p)++;
		skip_ws(p);
		r->key = take_word(p, key_char);
		r->op = OP_NOT_EXISTS;
		return *r->key ? 0 : err_set(err, EINVAL, "missing key after '!'");
	}
	r->key = take_word(p, key_char);
	if (!*r->key)
		return err_set(err, EINVAL, "found '%c', expected: identifier", **p ? **p : ' ');
	skip_ws(p);
	if (!**p || **p == ',') {
		if (field)
			return err_set(err, EINVAL, "invalid selector: '%s'; can't understand '%s'", r->key, r->key);
		r->op = OP_EXISTS;
		return 0;
	}
	if (!strncmp(*p, "==", 2) || !strncmp(*p, "!=", 2) || **p == '=') {
		r->op = **p == '!' ? OP_NE : OP_EQ;
		*p += (**p == '=' && (*p)[1] != '=') ? 1 : 2;
		skip_ws(p);
		add_value(r, take_word(p, field ? key_char : value_char));
		return 0;
	}
	if (!field && word_at(*p, "in")) {
		*p += 2;
		r->op = OP_IN;
		return parse_set(p, r, err);
	}
	if (!field && word_at(*p, "notin")) {
		*p += 5;
		r->op = OP_NOTIN;
		return parse_set(p, r, err);
	}
	return err_set(err, EINVAL, "found '%c', expected: in, notin, =, ==, !=", **p);
}

int api_selector_parse(const char *text, bool field, ApiSelector **ret, Error **err)
{
	_cleanup_(api_selector_freep) ApiSelector *sel = xcalloc(1, sizeof(*sel));
	sel->field = field;
	if (strlen(text) > BERTH_MAX_SELECTOR)
		return err_set(err, E2BIG, "selector longer than %u bytes", BERTH_MAX_SELECTOR);
	const char *p = text;
	skip_ws(&p);
	while (*p) {
		sel->reqs = xrealloc(sel->reqs, (sel->n + 1) * sizeof(Req));
		Req *r = &sel->reqs[sel->n++];
		memset(r, 0, sizeof(*r));
		int rc = parse_req(&p, field, r, err);
		if (rc < 0)
			return rc;
		skip_ws(&p);
		if (*p == ',') {
			p++;
			skip_ws(&p);
			if (!*p)
				return err_set(err, EINVAL, "found '', expected: identifier after ','");
		} else if (*p) {
			return err_set(err, EINVAL, "found '%c', expected: ',' or end of string", *p);
		}
	}
	*ret = TAKE_PTR(sel);
	return 0;
}

/* The field's value as text ("" when absent); buf holds converted scalars. */
static const char *field_value(const json_t *obj, const char *path, char *buf, size_t n)
{
	json_t *v = json_path(obj, path);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return "";
}

static bool in_values(const Req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

bool api_selector_match(const ApiSelector *sel, const json_t *obj)
{
	if (!sel)
		return true;
	const json_t *labels = json_path(obj, "metadata.labels");
	for (size_t i = 0; i < sel->n; i++) {
		const Req *r = &sel->reqs[i];
		char buf[32];
		const char *v;
		if (sel->field)
			v = field_value(obj, r->key, buf, sizeof(buf));
		else
			v = json_str(labels, r->key);
		bool ok;
		switch (r->op) {
		case OP_EXISTS: ok = v != NULL; break;
		case OP_NOT_EXISTS: ok = v == NULL; break;
		case OP_EQ: ok = v && in_values(r, v); break;
		case OP_NE: ok = !v || !in_values(r, v); break;
		case OP_IN: ok = v && in_values(r, v); break;
		default: ok = !v || !in_values(r, v); break;
		}
		if (!ok)
			return false;
	}
	return true;
}
