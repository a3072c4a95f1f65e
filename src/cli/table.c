/* table.c - see table.h. */
#include "table.h"
#include "../base/cleanup.h"
#include <stdio.h>
#include <string.h>

/* Display width of UTF-8 text: count code points (the tables hold ASCII and
 * the odd "…"), not bytes. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void table_init(Table *t, const char *const *header, size_t ncol)
{
	t->ncol = ncol;
	t->nrow = 0;
	t->cap = 0;
	t->cells = NULL;
	table_add(t, header);
}

void table_add(Table *t, const char *const *cells)
{
	if (t->nrow == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->cells = xrealloc(t->cells, t->cap * t->ncol * sizeof(char *));
	}
	for (size_t c = 0; c < t->ncol; c++)
		t->cells[t->nrow * t->ncol + c] = xstrdup(cells[c] ? cells[c] : "");
	t->nrow++;
}

void table_print(const Table *t)
{
	_cleanup_free_ size_t *w = xcalloc(t->ncol, sizeof(size_t));
	for (size_t r = 0; r < t->nrow; r++)
		for (size_t c = 0; c < t->ncol; c++) {
			size_t l = text_width(t->cells[r * t->ncol + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrow; r++) {
		for (size_t c = 0; c < t->ncol; c++) {
			const char *cell = t->cells[r * t->ncol + c];
			fputs(cell, stdout);
			if (c + 1 < t->ncol)
				printf("%*s", (int)(w[c] - text_width(cell) + 3), "");
		}
		putchar('\n');
	}
}

void table_release(Table *t)
{
	for (size_t i = 0; i < t->nrow * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrow = t->cap = 0;
}
