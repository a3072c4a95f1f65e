/* table.h - docker-style text tables: every column as wide as its widest
 * cell, three spaces between columns, the last column unpadded. */
#ifndef BERTH_CLI_TABLE_H
#define BERTH_CLI_TABLE_H

#include <stddef.h>

typedef struct Table {
	size_t ncol, nrow, cap;
	char **cells; /* nrow * ncol owned strings; row 0 is the header */
} Table;

void table_init(Table *t, const char *const *header, size_t ncol);
/* Append a row of ncol strings (copied). */
void table_add(Table *t, const char *const *cells);
void table_print(const Table *t);
void table_release(Table *t);

#endif
