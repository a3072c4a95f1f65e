/* sqlite-lazy.h - SQLite (the API server's datastore), loaded on first use (see lazy.h).
 * Generated from the functions berth uses; add a function here when you start
 * using it. */
#ifndef BERTH_SHARED_SQLITE_LAZY_H
#define BERTH_SHARED_SQLITE_LAZY_H

#include <sqlite3.h>
#include "lazy.h"

#define SQLITE_LAZY_FUNCS(X) \
	X(sqlite3_bind_blob) \
	X(sqlite3_bind_int) \
	X(sqlite3_bind_int64) \
	X(sqlite3_bind_text) \
	X(sqlite3_busy_timeout) \
	X(sqlite3_clear_bindings) \
	X(sqlite3_close) \
	X(sqlite3_column_blob) \
	X(sqlite3_column_bytes) \
	X(sqlite3_column_int) \
	X(sqlite3_column_int64) \
	X(sqlite3_column_text) \
	X(sqlite3_errmsg) \
	X(sqlite3_exec) \
	X(sqlite3_finalize) \
	X(sqlite3_last_insert_rowid) \
	X(sqlite3_open_v2) \
	X(sqlite3_prepare_v2) \
	X(sqlite3_reset) \
	X(sqlite3_step)

typedef struct SqliteApi {
	SQLITE_LAZY_FUNCS(LAZY_MEMBER)
} SqliteApi;

const SqliteApi *sqlite_api(void);

#ifndef SQLITE_LAZY_NO_REDIRECT
#define sqlite3_bind_blob (sqlite_api()->sqlite3_bind_blob)
#define sqlite3_bind_int (sqlite_api()->sqlite3_bind_int)
#define sqlite3_bind_int64 (sqlite_api()->sqlite3_bind_int64)
#define sqlite3_bind_text (sqlite_api()->sqlite3_bind_text)
#define sqlite3_busy_timeout (sqlite_api()->sqlite3_busy_timeout)
#define sqlite3_clear_bindings (sqlite_api()->sqlite3_clear_bindings)
#define sqlite3_close (sqlite_api()->sqlite3_close)
#define sqlite3_column_blob (sqlite_api()->sqlite3_column_blob)
#define sqlite3_column_bytes (sqlite_api()->sqlite3_column_bytes)
#define sqlite3_column_int (sqlite_api()->sqlite3_column_int)
#define sqlite3_column_int64 (sqlite_api()->sqlite3_column_int64)
#define sqlite3_column_text (sqlite_api()->sqlite3_column_text)
#define sqlite3_errmsg (sqlite_api()->sqlite3_errmsg)
#define sqlite3_exec (sqlite_api()->sqlite3_exec)
#define sqlite3_finalize (sqlite_api()->sqlite3_finalize)
#define sqlite3_last_insert_rowid (sqlite_api()->sqlite3_last_insert_rowid)
#define sqlite3_open_v2 (sqlite_api()->sqlite3_open_v2)
#define sqlite3_prepare_v2 (sqlite_api()->sqlite3_prepare_v2)
#define sqlite3_reset (sqlite_api()->sqlite3_reset)
#define sqlite3_step (sqlite_api()->sqlite3_step)
#endif

#endif
