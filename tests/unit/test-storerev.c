/* test-storerev.c - the SQLite store's revision never goes back across a
 * reopen, even when its newest row is gone: a deleted key's delete row is
 * the newest, and compaction removes delete rows (the revisions are given
 * explicitly, without AUTOINCREMENT's bookkeeping). */
#include "tap.h"
#include "../../src/store/store.h"
#include "../../src/base/fs.h"
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/test-storerev-XXXXXX";

static Store *reopen(Store *s, const char *spec)
{
	store_free(s);
	Store *n = NULL;
	Error *err = NULL;
	if (store_open(spec, &n, &err) < 0) {
		printf("# reopen: %s\n", err_msg(err));
		err_free(err);
		abort();
	}
	return n;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	Store *s = reopen(NULL, spec);
	int64_t r1, r2, rdel, rnext;
	is_int(store_create(s, "/registry/a/1", "one", 3, &r1, NULL), 0, "create a/1");
	is_int(store_create(s, "/registry/a/2", "two", 3, &r2, NULL), 0, "create a/2");
	is_int(store_delete(s, "/registry/a/2", 0, NULL, &rdel, NULL), 0, "delete a/2 (the newest row is its delete)");
	ok(rdel > r2, "the delete has its own revision");

	s = reopen(s, spec);
	is_int(store_revision(s), rdel, "reopened at the delete's revision");
	is_int(store_create(s, "/registry/a/3", "three", 5, &rnext, NULL), 0, "create after reopen");
	ok(rnext > rdel, "its revision is above every earlier one");

	int64_t rd2;
	is_int(store_delete(s, "/registry/a/3", 0, NULL, &rd2, NULL), 0, "delete a/3");
	is_int(store_compact(s, rd2, NULL), 0, "compact up to the delete (its row goes)");
	s = reopen(s, spec);
	is_int(store_revision(s), rd2, "reopened at the compacted delete's revision, not below");
	is_int(store_compact_revision(s), rd2, "the compaction point survives too");
	int64_t r4;
	is_int(store_create(s, "/registry/a/3", "again", 5, &r4, NULL), 0, "the key can be created again");
	ok(r4 > rd2, "with a new revision above the removed rows'");
	StoreKV kv;
	is_int(store_get(s, "/registry/a/1", &kv, NULL), 0, "the untouched key is still there");
	is_int(kv.mod_revision, r1, "with its revision");
	store_kv_release(&kv);

	store_free(s);
	fs_rm_rf(dir, NULL);
	free(spec);
	return tap_done();
}
