/* test-base.c - unit tests for src/base: errors, strbuf, parsers, fs helpers. */
#include "tap.h"
#include "../../src/base/err.h"
#include "../../src/base/fs.h"
#include "../../src/base/parse.h"
#include "../../src/base/strbuf.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

static void test_err(void)
{
	Error *e = NULL;
	int r = err_set(&e, ENOENT, "image '%s' not found", "x");
	is_int(r, -ENOENT, "err_set returns -code");
	is_str(e->msg, "image 'x' not found", "err_set message");
	err_prefix(&e, "run '%s'", "c1");
	is_str(e->msg, "run 'c1': image 'x' not found", "err_prefix adds context");
	r = err_set(&e, EINVAL, "second");
	is_str(e->msg, "run 'c1': image 'x' not found", "first error wins");
	is_int(r, -EINVAL, "later err_set still returns its code");
	err_free(e);
	e = NULL;
	err_sys(&e, ENOENT, "open '%s'", "/nope");
	is_str(e->msg, "open '/nope': No such file or directory", "err_sys appends strerror");
	err_free(e);
	is_int(err_set(NULL, EPERM, "dropped"), -EPERM, "NULL err is allowed");
}

static void test_strbuf(void)
{
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	is_str(sb_str(&sb), "", "empty strbuf is empty string");
	for (int i = 0; i < 1000; i++)
		sb_addf(&sb, "%d,", i);
	ok(sb.len > 3000, "strbuf grows");
	ok(!strncmp(sb.buf, "0,1,2,", 6), "strbuf content");
	sb_reset(&sb);
	sb_adds(&sb, "a");
	sb_addc(&sb, 'b');
	is_str(sb.buf, "ab", "reset + add");
}

static void test_parse(void)
{
	int64_t v = 0;
	ok(parse_size("12m", &v) == 0 && v == 12 * 1024 * 1024, "12m");
	ok(parse_size("1g", &v) == 0 && v == 1024LL * 1024 * 1024, "1g");
	ok(parse_size("64kb", &v) == 0 && v == 64 * 1024, "64kb");
	ok(parse_size("100", &v) == 0 && v == 100, "plain bytes");
	ok(parse_size("1.5k", &v) == 0 && v == 1536, "fractional");
	ok(parse_size("12q", &v) == -EINVAL, "12q rejected");
	ok(parse_size("", &v) == -EINVAL, "empty rejected");
	ok(parse_size("-1m", &v) == -EINVAL, "negative rejected");
	ok(parse_cpus("1.5", &v) == 0 && v == 1500, "cpus 1.5");
	ok(parse_cpus("x", &v) == -EINVAL, "cpus x rejected");
	ok(parse_duration_ms("1m30s", &v) == 0 && v == 90000, "1m30s");
	ok(parse_duration_ms("500ms", &v) == 0 && v == 500, "500ms");
	ok(parse_duration_ms("10", &v) == 0 && v == 10000, "10 = seconds");
	ok(parse_duration_ms("10x", &v) == -EINVAL, "10x rejected");
	int s = 0;
	ok(parse_signal("SIGTERM", &s) == 0 && s == SIGTERM, "SIGTERM");
	ok(parse_signal("kill", &s) == 0 && s == SIGKILL, "kill");
	ok(parse_signal("9", &s) == 0 && s == 9, "9");
	ok(parse_signal("NOPE", &s) == -EINVAL, "unknown signal");
	char buf[64];
	format_rfc3339nano(buf, sizeof(buf), 0, 500000000);
	is_str(buf, "1970-01-01T00:00:00.5Z", "rfc3339nano trims zeros");
	format_rfc3339nano(buf, sizeof(buf), 86400, 0);
	is_str(buf, "1970-01-02T00:00:00Z", "rfc3339nano no fraction");
	char id[65];
	random_hex_id(id);
	is_int(strlen(id), 64, "random id length");
	ok(str_is_hex("00ff", 4) && !str_is_hex("00FF", 4) && !str_is_hex("00f", 4) && !str_is_hex("00fg", 4),
	   "str_is_hex: exact length, lowercase only");
	format_size_human(buf, sizeof(buf), 1234567);
	is_str(buf, "1.23MB", "human size");
}

static void *write_many(void *path)
{
	for (int i = 0; i < 200; i++)
		if (fs_write_atomic(path, "0123456789", 10, 0600, NULL) < 0)
			return (void *)1;
	return NULL;
}

/* Threads of one process replacing the same file never trip over each
 * other's temp files, and the file always reads whole. */
static void test_fs_threads(void)
{
	char tmpl[] = "/tmp/berth-test-XXXXXX";
	ok(mkdtemp(tmpl) != NULL, "mkdtemp");
	_cleanup_free_ char *f = fs_join(tmpl, "state.json");
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, write_many, f);
	int failed = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		failed += r != NULL;
	}
	is_int(failed, 0, "concurrent atomic writes from threads all succeed");
	char *data = NULL;
	size_t len = 0;
	ok(fs_read_file(f, 100, &data, &len, NULL) == 0 && len == 10, "the file is whole");
	free(data);
	struct stat st;
	ok(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600, "mode as asked");
	DIR *d = opendir(tmpl);
	int entries = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		entries += de->d_name[0] != '.';
	if (d)
		closedir(d);
	is_int(entries, 1, "no temp files left behind");
	fs_rm_rf(tmpl, NULL);
}

static void test_fs(void)
{
	char tmpl[] = "/tmp/berth-test-XXXXXX";
	ok(mkdtemp(tmpl) != NULL, "mkdtemp");
	_cleanup_free_ char *deep = fs_join(tmpl, "a/b/c");
	ok(fs_mkdir_p(deep, 0755, NULL) == 0 && fs_is_dir(deep), "mkdir -p");
	_cleanup_free_ char *f = fs_join(tmpl, "a/file");
	ok(fs_write_atomic(f, "hello", 5, 0644, NULL) == 0, "write atomic");
	char *data = NULL;
	size_t len = 0;
	ok(fs_read_file(f, 100, &data, &len, NULL) == 0 && len == 5 && !strcmp(data, "hello"), "read back");
	free(data);
	Error *e = NULL;
	ok(fs_read_file(f, 3, &data, &len, &e) == -EFBIG, "read cap enforced");
	ok(e && strstr(e->msg, "larger than"), "cap error names the file");
	err_free(e);
	_cleanup_free_ char *link = fs_join(tmpl, "a/link");
	ok(symlink("/etc", link) == 0, "symlink to outside");
	_cleanup_free_ char *sub = fs_join(tmpl, "a/b");
	int afd = open(tmpl, O_RDONLY | O_DIRECTORY);
	ok(fs_rm_rf_at(afd, "a/b") == 0 && !fs_exists(sub) && fs_exists(link), "rm -rf at a dirfd");
	ok(fs_rm_rf_at(afd, "missing") == 0, "rm -rf at: a missing name is fine");
	close(afd);
	ok(fs_rm_rf(tmpl, NULL) == 0 && !fs_exists(tmpl), "rm -rf");
	ok(fs_exists("/etc/passwd"), "rm -rf did not follow the symlink");
}

int main(void)
{
	test_err();
	test_strbuf();
	test_parse();
	test_fs();
	test_fs_threads();
	return tap_done();
}
