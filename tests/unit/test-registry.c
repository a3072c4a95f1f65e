/* test-registry.c - units of src/registry/: names and routing, ranges,
 * manifest parsing, ACL evaluation, JWT signing/verification and temporary
 * passwords, the users file, upload verification, storage visibility,
 * Accept lists and url-encoded forms, the catalog, gc beside an open
 * upload and temp files of writes in flight. */
#include "tap.h"
#include "../../src/registry/reg-internal.h"
#include "../../src/base/fs.h"
#include "../../src/shared/json.h"
#include <string.h>
#include <time.h>

static void test_names(void)
{
	ok(reg_name_valid("library/busybox"), "plain name");
	ok(reg_name_valid("a.b_c__d--e/f-0"), "separators");
	ok(!reg_name_valid("Upper"), "uppercase refused");
	ok(!reg_name_valid("a/../b"), "dot-dot refused");
	ok(!reg_name_valid("a/_layers"), "underscore component refused");
	ok(!reg_name_valid("a//b") && !reg_name_valid("/a") && !reg_name_valid("a/"), "empty components refused");
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[299] = 0;
	ok(!reg_name_valid(longname), "over-long refused");
	ok(reg_tag_valid("v1.0-rc_1") && !reg_tag_valid(".x") && !reg_tag_valid("a/b"), "tags");
}

static void test_routes(void)
{
	RegPath p;
	const char *code;
	reg_path_parse("/v2/a/b/manifests/latest", &p, &code);
	ok(p.route == RT_MANIFEST && !strcmp(p.name, "a/b") && !strcmp(p.ref, "latest"), "manifest route");
	reg_path_release(&p);
	reg_path_parse("/v2/blobs/blobs/uploads/", &p, &code);
	ok(p.route == RT_UPLOADS && !strcmp(p.name, "blobs"), "uploads route, repo named blobs");
	reg_path_release(&p);
	reg_path_parse("/v2/x/blobs/uploads/0123abcd-0123-4567-89ab-0123456789ab", &p, &code);
	ok(p.route == RT_UPLOAD && !strcmp(p.name, "x"), "upload route");
	reg_path_release(&p);
	reg_path_parse("/v2/x/blobs/uploads/../../etc", &p, &code);
	ok(p.route == RT_NONE, "upload id tricks refused");
	reg_path_release(&p);
	reg_path_parse("/v2/x/tags/list", &p, &code);
	ok(p.route == RT_TAGS && !strcmp(p.name, "x"), "tags route");
	reg_path_release(&p);
	reg_path_parse("/v2/X/tags/list", &p, &code);
	ok(p.route == RT_NONE && code && !strcmp(code, "NAME_INVALID"), "bad name code");
	reg_path_release(&p);
	reg_path_parse("/v2/x/blobs/sha256:abc", &p, &code);
	ok(p.route == RT_NONE && code && !strcmp(code, "DIGEST_INVALID"), "bad digest code");
	reg_path_release(&p);
	reg_path_parse("/v3/x", &p, &code);
	ok(p.route == RT_NONE && !code, "unknown path");
	reg_path_release(&p);
}

static void test_ranges(void)
{
	uint64_t a, b;
	bool open_end;
	ok(reg_range_parse("bytes=10-19", true, &a, &b, &open_end) == 0 && a == 10 && b == 19, "closed range");
	ok(reg_range_parse("bytes=5-", true, &a, &b, &open_end) == 0 && open_end, "open range");
	ok(reg_range_parse("0-99", false, &a, &b, &open_end) == 0 && b == 99, "content-range");
	ok(reg_range_parse("9-1", false, &a, &b, &open_end) < 0, "backwards refused");
	ok(reg_range_parse("bytes=1-2,4-5", true, &a, &b, &open_end) < 0, "multi-range refused");
	ok(reg_range_parse("99999999999999999999-1", false, &a, &b, &open_end) < 0, "overflow refused");
}

static void test_manifest(void)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"c\",\"digest\":\"sha256:%064d\",\"size\":1},"
		 "\"layers\":[{\"mediaType\":\"l\",\"digest\":\"sha256:%064d\",\"size\":2}]}", 1, 2);
	RegManifest m;
	Error *e = NULL;
	ok(reg_manifest_parse(buf, strlen(buf), NULL, &m, &e) == 0, "manifest parses");
	ok(m.blobs[0] && m.blobs[1] && !m.blobs[2] && !m.is_index, "config + layer listed");
	is_str(m.media_type, REG_MT_OCI_MANIFEST, "media type inferred");
	reg_manifest_release(&m);
	ok(reg_manifest_parse(buf, strlen(buf), REG_MT_DOCKER_LIST, &m, &e) < 0, "content-type decides, index lacks manifests");
	err_free(e);
	e = NULL;
	ok(reg_manifest_parse("{\"schemaVersion\":1}", 19, NULL, &m, NULL) < 0, "schema 1 refused");
	ok(reg_manifest_parse("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:x\",\"size\":1},\"layers\":[]}", 71, NULL,
			      &m, NULL) < 0, "bad digest refused");
}

static void test_acl(void)
{
	json_t *acl = NULL;
	ok(reg_acl_parse("# c\nteam-a/* alice pull,push\n* * pull\nprivate/* @users delete\n", &acl, NULL) == 0, "acl parses");
	is_int(reg_acl_eval(acl, "alice", "team-a/x/y"), REG_PULL | REG_PUSH, "pattern crosses /");
	is_int(reg_acl_eval(acl, NULL, "team-a/x"), REG_PULL, "anonymous pull");
	is_int(reg_acl_eval(acl, "bob", "private/p"), REG_PULL | REG_DELETE, "@users");
	json_decref(acl);
	ok(reg_acl_parse("x y fly\n", &acl, NULL) < 0, "bad action refused");
}

static void test_jwt_and_users(const char *dir)
{
	RegKey *k;
	ok(reg_key_load(dir, &k, NULL) == 0, "key created");
	json_int_t now = (json_int_t)time(NULL);
	json_t *c = json_pack("{s:s,s:I}", "sub", "alice", "exp", now + 60);
	char *tok = reg_jwt_sign(k, c);
	json_t *got = NULL;
	ok(reg_jwt_verify(k, tok, &got, NULL) == 0 && !strcmp(json_str(got, "sub"), "alice"), "token verifies");
	json_decref(got);
	got = NULL;
	tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
	ok(reg_jwt_verify(k, tok, &got, NULL) < 0, "tampered token refused");
	free(tok);
	json_object_set_new(c, "exp", json_integer(now - 1));
	tok = reg_jwt_sign(k, c);
	ok(reg_jwt_verify(k, tok, &got, NULL) < 0, "expired token refused");
	free(tok);
	json_decref(c);
	reg_key_free(k);

	char *users = fs_join(dir, "users");
	ok(reg_user_add(users, "alice", "pw1", NULL, NULL) == 0, "bcrypt user added");
	ok(reg_user_add(users, "bob", "pw2", "yescrypt", NULL) == 0, "yescrypt user added");
	ok(reg_user_add(users, "bad:name", "pw", NULL, NULL) < 0, "colon in name refused");
	RegAuth *a;
	ok(reg_auth_open(dir, users, NULL, &a, NULL) == 0, "auth opens");
	ok(reg_auth_check_password(a, "alice", "pw1") && reg_auth_check_password(a, "alice", "pw1"), "password ok (and cached)");
	ok(reg_auth_check_password(a, "bob", "pw2"), "yescrypt password ok");
	ok(!reg_auth_check_password(a, "alice", "pw2") && !reg_auth_check_password(a, "nobody", "x"), "wrong refused");
	char *tmp = NULL;
	ok(reg_temp_token(dir, "alice", 60, &tmp, NULL) == 0, "temporary password issued");
	ok(reg_auth_check_password(a, "alice", tmp) && !reg_auth_check_password(a, "bob", tmp), "temporary password for its user only");
	free(tmp);
	is_int(reg_auth_allowed(a, "alice", "any"), REG_PULL | REG_PUSH, "default policy: users pull+push");
	is_int(reg_auth_allowed(a, NULL, "any"), 0, "default policy: anonymous nothing");
	reg_auth_free(a);
	free(users);
}

static void test_storage(const char *dir)
{
	RegStore *rs;
	char *root = fs_join(dir, "reg");
	ok(rs_open(root, &rs, NULL) == 0, "store opens");
	char id[37];
	ok(rs_upload_new(rs, "r", id, NULL) == 0 && reg_upload_id_valid(id), "upload created");
	RegUpload *u;
	ok(rs_upload_acquire(rs, "other", id, &u, NULL) == -ENOENT, "upload bound to its repository");
	ok(rs_upload_acquire(rs, "r", id, &u, NULL) == 0, "upload acquired");
	RegUpload *u2;
	ok(rs_upload_acquire(rs, "r", id, &u2, NULL) == -EBUSY, "one request at a time");
	rs_upload_write(u, "hello ", 6, NULL);
	rs_upload_release(rs, u);
	ok(rs_upload_acquire(rs, "r", id, &u, NULL) == 0 && rs_upload_size(u) == 6, "resumed at 6");
	rs_upload_write(u, "world", 5, NULL);
	char d[72];
	sha256_buf("hello world", 11, d);
	ok(rs_upload_finish(rs, u, d, NULL) == 0, "verified and stored");
	ok(rs_blob_visible(rs, "r", d, NULL) && !rs_blob_visible(rs, "s", d, NULL), "visible in its repository only");
	char **cat = NULL;
	ok(rs_catalog(rs, false, &cat, NULL) == 0 && !cat[0], "catalog: a repository with only blobs is not listed");
	strv_free(cat);
	ok(rs_catalog(rs, true, &cat, NULL) == 0 && cat[0] && !strcmp(cat[0], "r"), "gc still sees it");
	strv_free(cat);
	rs_free(rs);
	free(root);
}

static void test_accept_and_form(void)
{
	const char *none[] = { "" };
	ok(reg_accept_allows(NULL, 0, REG_MT_OCI_MANIFEST) && reg_accept_allows(none, 1, REG_MT_OCI_MANIFEST),
	   "no Accept allows everything");
	const char *docker[] = { REG_MT_DOCKER_MANIFEST ", " REG_MT_DOCKER_LIST };
	ok(!reg_accept_allows(docker, 1, REG_MT_OCI_MANIFEST) && reg_accept_allows(docker, 1, REG_MT_DOCKER_LIST),
	   "a Docker-only list");
	const char *two[] = { REG_MT_DOCKER_MANIFEST, REG_MT_OCI_MANIFEST "; charset=x" };
	ok(reg_accept_allows(two, 2, REG_MT_OCI_MANIFEST), "several Accept headers, parameters ignored");
	const char *wild[] = { "application/*;q=0.5" };
	ok(reg_accept_allows(wild, 1, REG_MT_OCI_INDEX), "type wildcard");
	const char *q0[] = { "*/*, " REG_MT_OCI_INDEX ";q=0" };
	ok(!reg_accept_allows(q0, 1, REG_MT_OCI_INDEX) && reg_accept_allows(q0, 1, REG_MT_OCI_MANIFEST),
	   "q=0 on the exact type beats the wildcard");
	const char *body = "grant_type=password&username=al%40ice&password=p+w%26d&scope=a&scope=b%20c";
	char *v = NULL;
	ok(reg_form_get(body, strlen(body), "username", 0, &v) == 0 && !strcmp(v, "al@ice"), "form: percent-decoding");
	free(v);
	ok(reg_form_get(body, strlen(body), "password", 0, &v) == 0 && !strcmp(v, "p w&d"), "form: plus and escaped ampersand");
	free(v);
	ok(reg_form_get(body, strlen(body), "scope", 1, &v) == 0 && !strcmp(v, "b c"), "form: repeated keys");
	free(v);
	ok(reg_form_get(body, strlen(body), "scope", 2, &v) == -ENOENT, "form: absent");
	ok(reg_form_get("a=%4", 4, "a", 0, &v) == -EINVAL && reg_form_get("a=%00", 5, "a", 0, &v) == -EINVAL,
	   "form: truncated escape and NUL refused");
}

/* gc with --grace 0 beside an open upload and temp files of writes in flight */
static void test_gc_in_flight(const char *dir)
{
	RegStore *rs;
	char *root = fs_join(dir, "gcreg");
	rs_open(root, &rs, NULL);
	char id[37];
	RegUpload *u;
	rs_upload_new(rs, "r", id, NULL);
	rs_upload_acquire(rs, "r", id, &u, NULL);
	rs_upload_write(u, "part", 4, NULL);
	rs_upload_release(rs, u);
	char hex[65];
	memset(hex, 'a', 64);
	hex[64] = 0;
	char *t1 = xasprintf("%s/.%s.tmp-abc123", rs->blobs, hex), *t2 = xasprintf("%s/%s.tmp.xyz", rs->blobs, hex);
	fs_write_atomic(t1, "x", 1, 0644, NULL);
	fs_write_atomic(t2, "y", 1, 0644, NULL);
	char **lines = NULL;
	ok(reg_gc(root, false, true, 0, &lines, NULL) == 0, "gc runs");
	strv_free(lines);
	ok(fs_exists(t1) && fs_exists(t2), "gc leaves temp files in flight alone");
	ok(rs_upload_acquire(rs, "r", id, &u, NULL) == 0 && rs_upload_size(u) == 4, "the open upload survives gc");
	rs_upload_write(u, "ial", 3, NULL);
	char d[72];
	sha256_buf("partial", 7, d);
	ok(rs_upload_finish(rs, u, d, NULL) == 0 && rs_blob_visible(rs, "r", d, NULL), "and finishes after it");
	free(t1);
	free(t2);
	rs_free(rs);
	free(root);
}

int main(void)
{
	char dir[] = "/tmp/test-registry-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	test_names();
	test_routes();
	test_ranges();
	test_manifest();
	test_acl();
	test_jwt_and_users(dir);
	test_storage(dir);
	test_accept_and_form();
	test_gc_in_flight(dir);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
