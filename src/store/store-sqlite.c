/* store-sqlite.c - the embedded backend: kine's log table in one SQLite file.
 *
 *   kv(id INTEGER PRIMARY KEY   -- the revision
 *      name, created, deleted, create_revision, prev_revision, value)
 *
 * Revisions are given explicitly (one process owns the file), so the table
 * has no AUTOINCREMENT: its sqlite_sequence row was one more B-tree update
 * and page write per insert.  The revision never goes back anyway: at open
 * it is the largest of MAX(id), the compaction revision (meta 'compact',
 * written in the same transaction as the compaction's deletes, which are
 * the only rows ever removed) and, for files made with AUTOINCREMENT,
 * sqlite_sequence.
 *
 * A key's state is its row with the largest id; a delete appends a row with
 * deleted=1 that keeps the last value.  One connection, one mutex: writes are
 * serialised anyway, and reads are short indexed lookups.  WAL with
 * synchronous=NORMAL keeps every committed write across a process kill.
 * Watchers wait on a condition variable signalled after each commit and read
 * the log forward from their cursor (the log is the event history).
 *
 * Group commit: creates, updates and deletes are queued; the first writer
 * that finds no commit in progress becomes the leader, takes every queued
 * write and applies them in order in ONE transaction (each its own
 * compare-and-swap and revision), commits, and only then hands every writer
 * its result: nobody returns before the transaction holding its write is
 * committed to the WAL, as before.  Writers arriving meanwhile queue for the
 * next leader, so a burst of N concurrent writers costs about one commit
 * (WAL frames, locks, checkpoints) per batch instead of one per write.  If
 * the batch fails as a whole it is rolled back and every write is retried
 * alone, so each still gets exactly its own answer.
 */
#include "store-internal.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <pthread.h>
#include "../shared/sqlite-lazy.h" /* SQLite, loaded on first use */
#include <string.h>
#include <time.h>

typedef struct SqliteStore {
	Store base;
	sqlite3 *db;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int64_t rev;
	int64_t compact_rev;
	sqlite3_stmt *st_latest, *st_insert, *st_get;
	/* group commit: queued writes, and whether a leader is committing */
	pthread_mutex_t qlock;
	struct WriteOp *qhead, *qtail;
	bool committing;
	uint64_t commits, batched;    /* transactions, and writes in them (tests, benches) */
} SqliteStore;

typedef enum { OP_CREATE, OP_UPDATE, OP_DELETE } WriteKind;

/* One queued write; lives on its writer's stack until done. */
typedef struct WriteOp {
	WriteKind kind;
	const char *key, *value;
	size_t len;
	int64_t expect_rev;
	bool want_prev;
	/* results, filled by the leader */
	int r;
	int64_t rev;
	StoreKV prev;
	Error *error;
	bool done;
	pthread_cond_t wake;      /* its writer waits here: done, or its turn to lead */
	struct WriteOp *next;
} WriteOp;

#define GROUP_MAX 256

#define WATCH_BATCH 256

typedef struct SqliteWatch {
	StoreWatch base;
	SqliteStore *s;
	char *prefix, *prefix_end;
	int64_t cursor;           /* every event <= cursor was delivered or skipped */
	StoreEvent *buf;
	size_t nbuf, pos;
	bool woken;
	sqlite3_stmt *st;         /* the log read, prepared once (under s->lock) */
} SqliteWatch;

static const char *SCHEMA =
	"CREATE TABLE IF NOT EXISTS kv ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" created INTEGER NOT NULL, deleted INTEGER NOT NULL,"
	" create_revision INTEGER NOT NULL, prev_revision INTEGER NOT NULL, value BLOB);"
	"CREATE INDEX IF NOT EXISTS kv_name_id ON kv(name, id);"
	"CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER);";

static int db_fail(SqliteStore *s, Error **err, const char *what)
{
	return err_set(err, EIO, "store: %s: %s", what, sqlite3_errmsg(s->db));
}


static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int store_prepare(SqliteStore *s, Error **err)
{
	static const char *latest = "SELECT id, create_revision, deleted FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1";
	static const char *insert = "INSERT INTO kv(name, created, deleted, create_revision, prev_revision, value, id)"
				    " VALUES (?, ?, ?, ?, ?, ?, ?)";
	static const char *get = "SELECT id, create_revision, deleted, value FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1";
	if (sqlite3_prepare_v2(s->db, latest, -1, &s->st_latest, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, insert, -1, &s->st_insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, get, -1, &s->st_get, NULL) != SQLITE_OK)
		return db_fail(s, err, "prepare");
	return 0;
}

static const StoreOps sqlite_ops;
static void sq_free(Store *base);
static void sq_freep(SqliteStore **p)
{
	if (*p)
		sq_free(&(*p)->base);
}

int store_sqlite_open(const char *path, Store **ret, Error **err)
{
	_cleanup_(sq_freep) SqliteStore *s = xcalloc(1, sizeof(*s));
	s->base.ops = &sqlite_ops;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return err_set(err, EIO, "store: open '%s': %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
	sqlite3_busy_timeout(s->db, 5000);
	/* exclusive: this process owns the file (revisions are assigned here),
	 * so the WAL index lives in memory and transactions take no file locks;
	 * a second server on the same file fails here instead of corrupting
	 * the revision sequence; a 512 KiB page cache (not SQLite's 2 MiB):
	 * reads are served by the API server's watch cache, and the OS page
	 * cache holds the file anyway */
	if (sqlite3_exec(s->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
				"PRAGMA cache_size=-512;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, err, "schema");
	int r = store_prepare(s, err);
	if (r < 0)
		return r;
	s->rev = query_int(s->db, "SELECT COALESCE(MAX(id), 0) FROM kv");
	int64_t seq = query_int(s->db, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name='kv'), 0)");
	if (seq > s->rev)
		s->rev = seq;
	s->compact_rev = query_int(s->db, "SELECT COALESCE((SELECT v FROM meta WHERE k='compact'), 0)");
	if (s->compact_rev > s->rev)
		s->rev = s->compact_rev;  /* a compaction may have removed the newest row (a delete) */
	*ret = &TAKE_PTR(s)->base;
	return 0;
}

static void sq_free(Store *base)
{
	SqliteStore *s = (SqliteStore *)base;
	if (!s)
		return;
	sqlite3_finalize(s->st_latest);
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_get);
	if (s->db)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->qlock);
	free(s);
}

static int64_t sq_revision(Store *base)
{
	SqliteStore *s = (SqliteStore *)base;
	pthread_mutex_lock(&s->lock);
	int64_t r = s->rev;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int64_t sq_compact_revision(Store *base)
{
	SqliteStore *s = (SqliteStore *)base;
	pthread_mutex_lock(&s->lock);
	int64_t r = s->compact_rev;
	pthread_mutex_unlock(&s->lock);
	return r;
}




static void kv_from_row(sqlite3_stmt *st, int col_name, int col_id, int col_crev, int col_value, StoreKV *kv)
{
	kv->key = xstrdup((const char *)sqlite3_column_text(st, col_name));
	kv->mod_revision = sqlite3_column_int64(st, col_id);
	kv->create_revision = sqlite3_column_int64(st, col_crev);
	const void *v = sqlite3_column_blob(st, col_value);
	kv->value_len = (size_t)sqlite3_column_bytes(st, col_value);
	kv->value = xmalloc(kv->value_len + 1);
	if (kv->value_len)
		memcpy(kv->value, v, kv->value_len);
	kv->value[kv->value_len] = 0;
}

static int sq_get(Store *base, const char *key, StoreKV *ret, Error **err)
{
	SqliteStore *s = (SqliteStore *)base;
	int r = -ENOENT;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = s->st_get;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !sqlite3_column_int(st, 2)) {
		memset(ret, 0, sizeof(*ret));
		ret->key = xstrdup(key);
		ret->mod_revision = sqlite3_column_int64(st, 0);
		ret->create_revision = sqlite3_column_int64(st, 1);
		ret->value_len = (size_t)sqlite3_column_bytes(st, 3);
		ret->value = xmalloc(ret->value_len + 1);
		if (ret->value_len)
			memcpy(ret->value, sqlite3_column_blob(st, 3), ret->value_len);
		ret->value[ret->value_len] = 0;
		r = 0;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = db_fail(s, err, "get");
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	if (r == -ENOENT)
		err_set(err, ENOENT, "key '%s' not found", key);
	return r;
}

static int sq_list(Store *base, const char *prefix, const char *start_after, int64_t limit, int64_t rev,
	       StoreKVList *ret, int64_t *ret_rev, bool *ret_more, Error **err)
{
	SqliteStore *s = (SqliteStore *)base;
	static const char *sql =
		"SELECT kv.name, kv.id, kv.create_revision, kv.value FROM kv JOIN"
		" (SELECT MAX(id) AS mid FROM kv WHERE name >= ? AND name < ? AND name > ? AND id <= ? GROUP BY name) m"
		" ON kv.id = m.mid WHERE kv.deleted = 0 ORDER BY kv.name LIMIT ?";
	_cleanup_free_ char *end = store_prefix_end(prefix);
	memset(ret, 0, sizeof(*ret));
	*ret_more = false;
	pthread_mutex_lock(&s->lock);
	if (rev > 0 && rev < s->compact_rev) {
		pthread_mutex_unlock(&s->lock);
		return err_set(err, ERANGE, "revision %lld has been compacted", (long long)rev);
	}
	if (rev <= 0 || rev > s->rev)
		rev = s->rev;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		int r = db_fail(s, err, "list");
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, start_after ? start_after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, rev);
	sqlite3_bind_int64(st, 5, limit > 0 ? limit + 1 : -1);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (limit > 0 && (int64_t)ret->n == limit) {
			*ret_more = true;
			break;
		}
		if (ret->n == cap) {
			cap = cap ? cap * 2 : 64;
			ret->items = xrealloc(ret->items, cap * sizeof(StoreKV));
		}
		StoreKV *kv = &ret->items[ret->n++];
		kv_from_row(st, 0, 1, 2, 3, kv);
	}
	int r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : db_fail(s, err, "list");
	sqlite3_finalize(st);
	*ret_rev = rev;
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		store_kv_list_release(ret);
	return r;
}

static int64_t sq_count(Store *base, const char *prefix)
{
	SqliteStore *s = (SqliteStore *)base;
	static const char *sql = "SELECT COUNT(*) FROM kv JOIN (SELECT MAX(id) AS mid FROM kv WHERE name >= ? AND name < ?"
				 " GROUP BY name) m ON kv.id = m.mid WHERE kv.deleted = 0";
	_cleanup_free_ char *end = store_prefix_end(prefix);
	int64_t n = 0;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Under the lock: the newest row of key.  Returns 1 when live, 0 when absent/deleted. */
static int latest_locked(SqliteStore *s, const char *key, int64_t *ret_id, int64_t *ret_crev)
{
	sqlite3_stmt *st = s->st_latest;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int live = 0;
	*ret_id = *ret_crev = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret_id = sqlite3_column_int64(st, 0);
		*ret_crev = sqlite3_column_int64(st, 1);
		live = !sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	return live;
}

static int insert_locked(SqliteStore *s, const char *key, bool created, bool deleted, int64_t crev, int64_t prev,
			 const char *value, size_t len, int64_t *ret_rev, Error **err)
{
	/* one process owns the file: the next revision is known, so a create's
	 * create_revision (its own revision) is written with the row */
	int64_t next = s->rev + 1;
	sqlite3_stmt *st = s->st_insert;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, created);
	sqlite3_bind_int(st, 3, deleted);
	sqlite3_bind_int64(st, 4, created && crev == 0 ? next : crev);
	sqlite3_bind_int64(st, 7, next);
	sqlite3_bind_int64(st, 5, prev);
	sqlite3_bind_blob(st, 6, value, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, err, "write");
	/* visible to readers only once committed: they need s->lock, which the
	 * committing writer holds until then (watchers are woken after COMMIT) */
	s->rev = next;
	*ret_rev = next;
	return 0;
}

/* Under the lock: append the delete row; ret_prev gets the last value. */
static int delete_locked(SqliteStore *s, const char *key, int64_t expect_rev, StoreKV *ret_prev, int64_t *ret_rev,
			 Error **err)
{
	sqlite3_stmt *st = s->st_get;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 2)) {
		sqlite3_reset(st);
		return err_set(err, ENOENT, "key '%s' not found", key);
	}
	int64_t id = sqlite3_column_int64(st, 0), crev = sqlite3_column_int64(st, 1);
	if (expect_rev && expect_rev != id) {
		sqlite3_reset(st);
		return err_set(err, ESTALE, "key '%s' was modified", key);
	}
	size_t len = (size_t)sqlite3_column_bytes(st, 3);
	_cleanup_free_ char *val = xmalloc(len + 1);
	if (len)
		memcpy(val, sqlite3_column_blob(st, 3), len);
	val[len] = 0;
	sqlite3_reset(st);
	int r = insert_locked(s, key, false, true, crev, id, val, len, ret_rev, err);
	if (r >= 0 && ret_prev) {
		ret_prev->key = xstrdup(key);
		ret_prev->value = TAKE_PTR(val);
		ret_prev->value_len = len;
		ret_prev->create_revision = crev;
		ret_prev->mod_revision = id;
	}
	return r;
}

/* ---- group commit ---- */

/* Under the lock: one write, as if alone (its CAS sees the batch's earlier writes). */
static int apply_locked(SqliteStore *s, WriteOp *op)
{
	int64_t id, crev;
	Error **err = &op->error;
	switch (op->kind) {
	case OP_CREATE:
		if (latest_locked(s, op->key, &id, &crev))
			return err_set(err, EEXIST, "key '%s' exists", op->key);
		return insert_locked(s, op->key, true, false, 0, id, op->value, op->len, &op->rev, err);
	case OP_UPDATE:
		if (!latest_locked(s, op->key, &id, &crev))
			return err_set(err, ENOENT, "key '%s' not found", op->key);
		if (op->expect_rev && op->expect_rev != id)
			return err_set(err, ESTALE, "key '%s' was modified (revision %lld, expected %lld)", op->key,
				       (long long)id, (long long)op->expect_rev);
		return insert_locked(s, op->key, false, false, crev, id, op->value, op->len, &op->rev, err);
	case OP_DELETE:
		return delete_locked(s, op->key, op->expect_rev, op->want_prev ? &op->prev : NULL, &op->rev, err);
	}
	return -EINVAL;
}

static void op_reset(WriteOp *op)
{
	op->r = 0;
	op->rev = 0;
	store_kv_release(&op->prev);
	err_free(op->error);
	op->error = NULL;
}

static bool exec_ok(SqliteStore *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* Under the lock: the batch in one transaction.  false when it failed as a
 * whole (rolled back, s->rev restored): the caller retries each write alone. */
static bool batch_commit_locked(SqliteStore *s, WriteOp *batch)
{
	int64_t base = s->rev;
	if (!exec_ok(s, "BEGIN"))
		return false;
	for (WriteOp *op = batch; op; op = op->next) {
		op->r = apply_locked(s, op);
		/* a CAS answer (exists, missing, stale) is the write's own; anything
		 * else is the database failing, which aborts the batch */
		if (op->r < 0 && op->r != -EEXIST && op->r != -ENOENT && op->r != -ESTALE)
			goto fail;
	}
	if (exec_ok(s, "COMMIT"))
		return true;
fail:
	exec_ok(s, "ROLLBACK");
	s->rev = base;
	for (WriteOp *op = batch; op; op = op->next)
		op_reset(op);
	return false;
}

/* The leader's work: apply and commit batch, every answer in its WriteOp. */
static void batch_run(SqliteStore *s, WriteOp *batch)
{
	pthread_mutex_lock(&s->lock);
	size_t n = 0;
	for (WriteOp *op = batch; op; op = op->next)
		n++;
	if (n == 1 || !batch_commit_locked(s, batch)) {
		/* alone: each write is its own (autocommit) transaction */
		for (WriteOp *op = batch; op; op = op->next) {
			op->r = apply_locked(s, op);
			s->commits++;
		}
	} else {
		s->commits++;
	}
	s->batched += n;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

/* Queue op and return once it is committed (or failed): the first writer to
 * find no leader commits everything queued, the others wait for their turn.
 * Each writer sleeps on its own condition variable, so a commit wakes
 * exactly the writers it answered and the next leader. */
static void write_submit(SqliteStore *s, WriteOp *op)
{
	pthread_cond_init(&op->wake, NULL);
	pthread_mutex_lock(&s->qlock);
	if (s->qtail)
		s->qtail->next = op;
	else
		s->qhead = op;
	s->qtail = op;
	while (!op->done) {
		if (s->committing) {
			pthread_cond_wait(&op->wake, &s->qlock);
			continue;
		}
		s->committing = true;
		WriteOp *batch = s->qhead, *last = batch;
		for (size_t n = 1; n < GROUP_MAX && last->next; n++)
			last = last->next;
		s->qhead = last->next;
		if (!s->qhead)
			s->qtail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->qlock);
		batch_run(s, batch);
		pthread_mutex_lock(&s->qlock);
		for (WriteOp *o = batch, *next; o; o = next) {
			next = o->next;  /* o may be gone once its writer runs (after we unlock) */
			o->done = true;
			if (o != op)
				pthread_cond_signal(&o->wake);
		}
		s->committing = false;
		if (s->qhead)
			pthread_cond_signal(&s->qhead->wake); /* the next leader */
	}
	pthread_mutex_unlock(&s->qlock);
	pthread_cond_destroy(&op->wake);
}

/* Submit and hand the answer to the caller. */
static int write_do(SqliteStore *s, WriteOp *op, int64_t *ret_rev, StoreKV *ret_prev, Error **err)
{
	write_submit(s, op);
	if (ret_rev)
		*ret_rev = op->r >= 0 ? op->rev : 0;
	if (ret_prev && op->r >= 0)
		*ret_prev = op->prev;
	else
		store_kv_release(&op->prev);
	if (op->error) {
		if (err && !*err)
			*err = op->error;
		else
			err_free(op->error);
	}
	return op->r;
}

static int sq_create(Store *base, const char *key, const char *value, size_t len, int64_t *ret_rev, Error **err)
{
	WriteOp op = { .kind = OP_CREATE, .key = key, .value = value, .len = len };
	return write_do((SqliteStore *)base, &op, ret_rev, NULL, err);
}

static int sq_update(Store *base, const char *key, const char *value, size_t len, int64_t expect_rev,
		     int64_t *ret_rev, Error **err)
{
	WriteOp op = { .kind = OP_UPDATE, .key = key, .value = value, .len = len, .expect_rev = expect_rev };
	return write_do((SqliteStore *)base, &op, ret_rev, NULL, err);
}

static int sq_delete(Store *base, const char *key, int64_t expect_rev, StoreKV *ret_prev, int64_t *ret_rev, Error **err)
{
	WriteOp op = { .kind = OP_DELETE, .key = key, .expect_rev = expect_rev, .want_prev = ret_prev != NULL };
	return write_do((SqliteStore *)base, &op, ret_rev, ret_prev, err);
}

static int sq_commit_stats(Store *base, uint64_t *ret_commits, uint64_t *ret_writes)
{
	SqliteStore *s = (SqliteStore *)base;
	pthread_mutex_lock(&s->lock);
	*ret_commits = s->commits;
	*ret_writes = s->batched;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int sq_compact(Store *base, int64_t rev, Error **err)
{
	SqliteStore *s = (SqliteStore *)base;
	static const char *sql =
		"DELETE FROM kv WHERE id <= ?1 AND (deleted = 1 OR id < (SELECT MAX(id) FROM kv k2 WHERE k2.name = kv.name AND k2.id <= ?1));"
		"";
	int r = 0;
	pthread_mutex_lock(&s->lock);
	if (rev > s->rev)
		rev = s->rev;
	sqlite3_stmt *st = NULL;
	if (rev <= s->compact_rev)
		goto out;
	/* the deletes and the compaction revision commit together: the
	 * revision read at open must cover a removed newest row */
	if (!exec_ok(s, "BEGIN")) {
		r = db_fail(s, err, "compact");
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = db_fail(s, err, "compact");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, rev);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(s, err, "compact");
		goto rollback;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(k, v) VALUES ('compact', ?)", -1, &st, NULL) !=
	    SQLITE_OK) {
		r = db_fail(s, err, "compact");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, rev);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || !exec_ok(s, "COMMIT")) {
		r = db_fail(s, err, "compact");
		goto rollback;
	}
	s->compact_rev = rev;
	goto out;
rollback:
	exec_ok(s, "ROLLBACK");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- watch ---- */

static int sq_watch_new(Store *base, const char *prefix, int64_t after_rev, StoreWatch **ret, Error **err)
{
	SqliteStore *s = (SqliteStore *)base;
	pthread_mutex_lock(&s->lock);
	int64_t crev = s->compact_rev, cur = s->rev;
	pthread_mutex_unlock(&s->lock);
	if (after_rev > 0 && after_rev < crev)
		return err_set(err, ERANGE, "too old resource version: %lld (%lld)", (long long)after_rev, (long long)crev);
	SqliteWatch *w = xcalloc(1, sizeof(*w));
	w->base.ops = &sqlite_ops;
	w->s = s;
	w->prefix = xstrdup(prefix);
	w->prefix_end = store_prefix_end(prefix);
	w->cursor = after_rev > 0 ? after_rev : cur;
	*ret = &w->base;
	return 0;
}

static void watch_drop_buffer(SqliteWatch *w)
{
	for (size_t i = w->pos; i < w->nbuf; i++)
		store_event_release(&w->buf[i]);
	free(w->buf);
	w->buf = NULL;
	w->nbuf = w->pos = 0;
}

/* Under the lock: read the next batch of matching log rows after the cursor. */
static int watch_fill_locked(SqliteWatch *w, Error **err)
{
	static const char *sql = "SELECT id, name, created, deleted, create_revision, value FROM kv"
				 " WHERE id > ? AND name >= ? AND name < ? ORDER BY id LIMIT ?";
	SqliteStore *s = w->s;
	int64_t upto = s->rev;
	if (!w->st && sqlite3_prepare_v2(s->db, sql, -1, &w->st, NULL) != SQLITE_OK)
		return db_fail(s, err, "watch");
	sqlite3_stmt *st = w->st;
	sqlite3_bind_int64(st, 1, w->cursor);
	sqlite3_bind_text(st, 2, w->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, w->prefix_end, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, WATCH_BATCH);
	w->buf = xcalloc(WATCH_BATCH, sizeof(StoreEvent));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreEvent *e = &w->buf[w->nbuf++];
		e->type = sqlite3_column_int(st, 3) ? STORE_EVENT_DELETE :
			  sqlite3_column_int(st, 2) ? STORE_EVENT_PUT_NEW : STORE_EVENT_PUT;
		kv_from_row(st, 1, 0, 4, 5, &e->kv);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, err, "watch");
	if (w->nbuf == WATCH_BATCH)
		w->cursor = w->buf[w->nbuf - 1].kv.mod_revision;
	else
		w->cursor = upto;
	return 0;
}

static int sq_watch_next(StoreWatch *base, int timeout_ms, StoreEvent *ret, Error **err)
{
	SqliteWatch *w = (SqliteWatch *)base;
	SqliteStore *s = w->s;
	if (w->pos < w->nbuf) {
		*ret = w->buf[w->pos++];
		return 1;
	}
	watch_drop_buffer(w);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int r = 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->rev > w->cursor) {
			r = watch_fill_locked(w, err);
			if (r < 0 || w->nbuf > 0)
				break;
			continue;
		}
		if (w->woken || pthread_cond_timedwait(&s->changed, &s->lock, &until) == ETIMEDOUT)
			break;
	}
	w->woken = false;
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	if (w->pos < w->nbuf) {
		*ret = w->buf[w->pos++];
		return 1;
	}
	return 0;
}

static int64_t sq_watch_revision(StoreWatch *base)
{
	SqliteWatch *w = (SqliteWatch *)base;
	if (w->pos < w->nbuf)
		return w->buf[w->pos].kv.mod_revision - 1;
	return w->cursor;
}

static void sq_watch_free(StoreWatch *base)
{
	SqliteWatch *w = (SqliteWatch *)base;
	if (!w)
		return;
	watch_drop_buffer(w);
	if (w->st) {
		pthread_mutex_lock(&w->s->lock); /* the connection is used under the lock only */
		sqlite3_finalize(w->st);
		pthread_mutex_unlock(&w->s->lock);
	}
	free(w->prefix);
	free(w->prefix_end);
	free(w);
}

static const StoreOps sqlite_ops = {
	.free = sq_free,
	.revision = sq_revision,
	.compact_revision = sq_compact_revision,
	.get = sq_get,
	.list = sq_list,
	.count = sq_count,
	.create = sq_create,
	.update = sq_update,
	.del = sq_delete,
	.compact = sq_compact,
	.commit_stats = sq_commit_stats,
	.watch_new = sq_watch_new,
	.watch_next = sq_watch_next,
	.watch_revision = sq_watch_revision,
	.watch_free = sq_watch_free,
};
