/* tmpl-node.c - parse-tree helpers: each node's String() as Go's
 * parse/node.go writes it (error messages quote it: "at <.x.y>"), the
 * NAME:LINE:COL error location, and IsEmptyTree.
 */
#include "tmpl.h"
#include <string.h>

static void pipe_string(const Node *n, ABuf *b);

void node_string(const Node *n, ABuf *b)
{
	if (!n)
		return;
	const char *ld = n->src ? n->src->ldelim : "{{";
	const char *rd = n->src ? n->src->rdelim : "}}";
	switch (n->type) {
	case N_TEXT:
		abuf_add(b, n->text, n->tlen);
		break;
	case N_COMMENT:
		abuf_adds(b, ld);
		abuf_add(b, n->text, n->tlen);
		abuf_adds(b, rd);
		break;
	case N_PIPE:
		pipe_string(n, b);
		break;
	case N_ACTION:
		abuf_adds(b, ld);
		pipe_string(n->node, b);
		abuf_adds(b, rd);
		break;
	case N_COMMAND:
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				abuf_addc(b, ' ');
			if (n->kids[i]->type == N_PIPE) {
				abuf_addc(b, '(');
				pipe_string(n->kids[i], b);
				abuf_addc(b, ')');
			} else
				node_string(n->kids[i], b);
		}
		break;
	case N_IDENT:
		abuf_add(b, n->name, n->name_len);
		break;
	case N_VARIABLE:
		for (size_t i = 0; i < n->nident; i++) {
			if (i)
				abuf_addc(b, '.');
			abuf_adds(b, n->ident[i]);
		}
		break;
	case N_DOT:
		abuf_addc(b, '.');
		break;
	case N_NIL:
		abuf_adds(b, "nil");
		break;
	case N_FIELD:
		for (size_t i = 0; i < n->nident; i++) {
			abuf_addc(b, '.');
			abuf_adds(b, n->ident[i]);
		}
		break;
	case N_CHAIN:
		if (n->node->type == N_PIPE) {
			abuf_addc(b, '(');
			node_string(n->node, b);
			abuf_addc(b, ')');
		} else
			node_string(n->node, b);
		for (size_t i = 0; i < n->nident; i++) {
			abuf_addc(b, '.');
			abuf_adds(b, n->ident[i]);
		}
		break;
	case N_BOOL:
		abuf_adds(b, n->b ? "true" : "false");
		break;
	case N_NUMBER:
	case N_STRING:
		abuf_add(b, n->text, n->tlen);
		break;
	case N_END:
		abuf_adds(b, ld);
		abuf_adds(b, "end");
		abuf_adds(b, rd);
		break;
	case N_ELSE:
		abuf_adds(b, ld);
		abuf_adds(b, "else");
		abuf_adds(b, rd);
		break;
	case N_BREAK:
	case N_CONTINUE:
		abuf_adds(b, ld);
		abuf_adds(b, n->type == N_BREAK ? "break" : "continue");
		abuf_adds(b, rd);
		break;
	case N_IF:
	case N_RANGE:
	case N_WITH:
		abuf_adds(b, ld);
		abuf_adds(b, n->type == N_IF ? "if" : n->type == N_RANGE ? "range" : "with");
		abuf_addc(b, ' ');
		pipe_string(n->node, b);
		abuf_adds(b, rd);
		node_string(n->list, b);
		if (n->else_list) {
			abuf_adds(b, ld);
			abuf_adds(b, "else");
			abuf_adds(b, rd);
			node_string(n->else_list, b);
		}
		abuf_adds(b, ld);
		abuf_adds(b, "end");
		abuf_adds(b, rd);
		break;
	case N_TEMPLATE:
		abuf_adds(b, ld);
		abuf_adds(b, "template ");
		go_quote(b, n->name, n->name_len, false);
		if (n->node) {
			abuf_addc(b, ' ');
			pipe_string(n->node, b);
		}
		abuf_adds(b, rd);
		break;
	case N_LIST:
		for (size_t i = 0; i < n->nkids; i++)
			node_string(n->kids[i], b);
		break;
	}
}

static void pipe_string(const Node *n, ABuf *b)
{
	if (!n)
		return;
	if (n->ndecl) {
		for (size_t i = 0; i < n->ndecl; i++) {
			if (i)
				abuf_adds(b, ", ");
			node_string(n->decl[i], b);
		}
		abuf_adds(b, n->is_assign ? " = " : " := ");
	}
	for (size_t i = 0; i < n->nkids; i++) {
		if (i)
			abuf_adds(b, " | ");
		node_string(n->kids[i], b);
	}
}

void node_error_context(const Node *n, ABuf *location, ABuf *context)
{
	const TreeSrc *src = n->src;
	int pos = n->pos;
	int line = 1, col = pos;
	if (src && pos >= 0 && (size_t)pos <= src->len) {
		const char *t = src->text;
		int last_nl = -1;
		for (int i = 0; i < pos; i++) {
			if (t[i] == '\n') {
				line++;
				last_nl = i;
			}
		}
		col = last_nl < 0 ? pos : pos - (last_nl + 1);
	}
	abuf_addf(location, "%s:%d:%d", src ? src->parse_name : "", line, col);
	node_string(n, context);
}

static bool all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'))
			return false;
	}
	return true;
}

bool node_is_empty_tree(const Node *n)
{
	if (!n)
		return true;
	switch (n->type) {
	case N_COMMENT:
		return true;
	case N_LIST:
		for (size_t i = 0; i < n->nkids; i++)
			if (!node_is_empty_tree(n->kids[i]))
				return false;
		return true;
	case N_TEXT:
		return all_space(n->text, n->tlen);
	default:
		return false;
	}
}
