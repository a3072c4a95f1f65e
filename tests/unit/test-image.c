/* test-image.c - unit tests for src/image: reference parsing, --change
 * instructions, the safe unpacker against hostile tarballs (built here with
 * libarchive), whiteout round trips, the image records (import, tag, rmi,
 * gc), commit/diff, save/load, and overlay options for deep images (with a
 * real overlay mount in a private mount namespace).  Needs root. */
#include "tap.h"
#include "../../src/image/image-internal.h"
#include "../../src/base/fs.h"
#include "../../src/base/limits.h"
#include "../../src/base/parse.h"
#include "../../src/base/strbuf.h"
#include "../../src/shared/json.h"
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

static char base[] = "/tmp/test-image-XXXXXX";

/* ---- building tarballs in memory ---- */

typedef struct Tb {
	struct archive *a;
	StrBuf sb;
} Tb;

static la_ssize_t tb_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	sb_add(&((Tb *)ud)->sb, buf, n);
	return (la_ssize_t)n;
}

static void tb_start(Tb *t)
{
	sb_init(&t->sb);
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	archive_write_open(t->a, t, NULL, tb_write, NULL);
}

static void tb_add(Tb *t, const char *path, mode_t type, mode_t perm, const char *data, const char *link,
		   bool hard, dev_t rdev)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (data)
		archive_entry_set_size(e, (la_int64_t)strlen(data));
	if (link && hard) {
		archive_entry_set_hardlink(e, link);
		archive_entry_set_size(e, 0);
	} else if (link) {
		archive_entry_set_symlink(e, link);
	}
	if (rdev)
		archive_entry_set_rdev(e, rdev);
	archive_write_header(t->a, e);
	if (data && !hard)
		archive_write_data(t->a, data, strlen(data));
	archive_entry_free(e);
}

static void tb_file(Tb *t, const char *p, const char *data) { tb_add(t, p, AE_IFREG, 0644, data, NULL, false, 0); }
static void tb_dir(Tb *t, const char *p) { tb_add(t, p, AE_IFDIR, 0755, NULL, NULL, false, 0); }

/* Finish and return a memfd holding the tar (only the first `cut` bytes when cut > 0). */
static int tb_fd(Tb *t, size_t cut)
{
	archive_write_close(t->a);
	archive_write_free(t->a);
	int fd = memfd_create("tar", MFD_CLOEXEC);
	size_t n = cut ? cut : t->sb.len;
	fs_write_all(fd, t->sb.buf, n);
	lseek(fd, 0, SEEK_SET);
	sb_release(&t->sb);
	return fd;
}

static char *path_in(const char *a, const char *b) { return xasprintf("%s/%s", a, b); }

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* ---- references ---- */

static void test_refs(void)
{
	static const struct { const char *in, *out; } good[] = {
		{ "busybox", "docker.io/library/busybox:latest" },
		{ "busybox:1.36", "docker.io/library/busybox:1.36" },
		{ "library/busybox", "docker.io/library/busybox:latest" },
		{ "docker.io/busybox", "docker.io/library/busybox:latest" },
		{ "index.docker.io/foo/bar:v1", "docker.io/foo/bar:v1" },
		{ "foo/bar", "docker.io/foo/bar:latest" },
		{ "localhost/bb", "localhost/bb:latest" },
		{ "localhost:5000/a/b:t", "localhost:5000/a/b:t" },
		{ "registry.example.com/team/app:1.0-rc_1", "registry.example.com/team/app:1.0-rc_1" },
		{ "127.0.0.1:5000/x", "127.0.0.1:5000/x:latest" },
		{ "a.b__c-d--e", "docker.io/library/a.b__c-d--e:latest" },
		{ "bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "docker.io/library/bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "localhost", "docker.io/library/localhost:latest" },
		{ "localhost:5000", "docker.io/library/localhost:5000" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char *out = NULL;
		Error *e = NULL;
		int r = img_ref_normalize(good[i].in, &out, &e);
		is_int(r, 0, "ref '%s' parses", good[i].in);
		is_str(out, good[i].out, "ref '%s' normalises", good[i].in);
		free(out);
		err_free(e);
	}
	static const struct { const char *in, *msg; } bad[] = {
		{ "Bad:Name", "invalid reference format: 'Bad:Name': repository name must be lowercase" },
		{ "", "invalid reference format: '': empty reference" },
		{ "a:", "invalid reference format: 'a:': invalid tag" },
		{ "a:-x", "invalid reference format: 'a:-x': invalid tag" },
		{ "a@sha256:12", "invalid reference format: 'a@sha256:12': digest must be sha256: and 64 lowercase hex digits" },
		{ "foo//bar", "invalid reference format: 'foo//bar'" },
		{ "-foo", "invalid reference format: '-foo'" },
		{ "foo_", "invalid reference format: 'foo_'" },
		{ "a b", "invalid reference format: 'a b'" },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "invalid reference format: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef': "
		  "cannot use a 64-character hexadecimal string as a repository name" },
		{ "exa_mple.com/x", "invalid reference format: 'exa_mple.com/x': invalid registry host" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *out = NULL;
		Error *e = NULL;
		int r = img_ref_normalize(bad[i].in, &out, &e);
		is_int(r, -EINVAL, "ref '%s' rejected", bad[i].in);
		is_str(e ? e->msg : NULL, bad[i].msg, "ref '%s' error message", bad[i].in);
		free(out);
		err_free(e);
	}
	char *s = img_ref_short("docker.io/library/busybox:latest");
	is_str(s, "busybox:latest", "short form drops docker.io/library/");
	free(s);
	s = img_ref_short("docker.io/foo/bar:1");
	is_str(s, "foo/bar:1", "short form drops docker.io/");
	free(s);
	s = img_ref_short("localhost/bb:latest");
	is_str(s, "localhost/bb:latest", "localhost names stay");
	free(s);
	char *repo, *tag;
	img_ref_split("localhost:5000/a/b:t", &repo, &tag);
	is_str(repo, "localhost:5000/a/b", "split repo keeps the registry port");
	is_str(tag, "t", "split tag");
	free(repo);
	free(tag);
	img_ref_split("docker.io/library/bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		      &repo, &tag);
	is_str(repo, "bb", "split digest ref repo");
	is_str(tag, "<none>", "digest ref has no tag");
	free(repo);
	free(tag);
}

/* ---- --change ---- */

static void test_changes(void)
{
	json_t *cfg = json_object();
	Error *e = NULL;
	ok(img_config_apply_change(cfg, "CMD [\"/bin/sh\",\"-c\",\"echo hi\"]", &e) == 0, "CMD json form");
	ok(img_config_apply_change(cfg, "entrypoint echo \"a b\"", &e) == 0, "ENTRYPOINT shell form");
	ok(img_config_apply_change(cfg, "ENV A=1 B=\"two words\" C=x\\ y", &e) == 0, "ENV pairs");
	ok(img_config_apply_change(cfg, "ENV A=3", &e) == 0, "ENV replaces");
	ok(img_config_apply_change(cfg, "ENV LEGACY value with spaces", &e) == 0, "ENV legacy form");
	ok(img_config_apply_change(cfg, "WORKDIR /srv", &e) == 0, "WORKDIR");
	ok(img_config_apply_change(cfg, "WORKDIR app", &e) == 0, "relative WORKDIR");
	ok(img_config_apply_change(cfg, "USER 1000:1000", &e) == 0, "USER");
	ok(img_config_apply_change(cfg, "EXPOSE 80 53/udp", &e) == 0, "EXPOSE");
	ok(img_config_apply_change(cfg, "LABEL a=b \"c d\"=e", &e) == 0, "LABEL");
	ok(img_config_apply_change(cfg, "VOLUME [\"/data\"]", &e) == 0, "VOLUME json");
	ok(img_config_apply_change(cfg, "VOLUME /x /y", &e) == 0, "VOLUME words");
	ok(img_config_apply_change(cfg, "STOPSIGNAL=SIGTERM", &e) == 0, "podman's KEY=value form");
	ok(img_config_apply_change(cfg, "STOPSIGNAL SIGINT", &e) == 0, "STOPSIGNAL");
	err_free(e);
	e = NULL;
	char *dump = json_dumps(cfg, JSON_SORT_KEYS | JSON_COMPACT);
	is_str(dump,
	       "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"Entrypoint\":[\"/bin/sh\",\"-c\",\"echo \\\"a b\\\"\"],"
	       "\"Env\":[\"A=3\",\"B=two words\",\"C=x y\",\"LEGACY=value with spaces\"],"
	       "\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{}},\"Labels\":{\"a\":\"b\",\"c d\":\"e\"},"
	       "\"StopSignal\":\"SIGINT\",\"User\":\"1000:1000\",\"Volumes\":{\"/data\":{},\"/x\":{},\"/y\":{}},"
	       "\"WorkingDir\":\"/srv/app\"}",
	       "changes build the docker config");
	free(dump);
	ok(img_config_apply_change(cfg, "RUN echo no", &e) == -EINVAL, "RUN refused");
	ok(e && strstr(e->msg, "RUN is not supported"), "RUN error names it");
	err_free(e);
	e = NULL;
	ok(img_config_apply_change(cfg, "EXPOSE 99999", &e) == -EINVAL && strstr(e->msg, "invalid port"),
	   "bad port refused");
	err_free(e);
	e = NULL;
	ok(img_config_apply_change(cfg, "ENV A=\"unterminated", &e) == -EINVAL, "unterminated quote refused");
	err_free(e);
	e = NULL;
	ok(img_config_apply_change(cfg, "STOPSIGNAL SIGNOPE", &e) == -EINVAL, "bad signal refused");
	err_free(e);
	json_decref(cfg);
}

/* ---- hostile tarballs ---- */

typedef struct Hostile {
	const char *what;
	const char *expect;      /* substring of the error */
	void (*build)(Tb *t, const char *outside);
	size_t cut;              /* truncate the tar to this many bytes */
} Hostile;

static void h_dotdot(Tb *t, const char *o) { (void)o; tb_file(t, "ok", "x"); tb_file(t, "../../etc/x", "pwned"); }
static void h_dotdot2(Tb *t, const char *o) { (void)o; tb_file(t, "a/../../outside/x", "pwned"); }
static void h_abs(Tb *t, const char *o)
{
	_cleanup_free_ char *p = path_in(o, "abs");
	tb_file(t, p, "pwned");
}
static void h_symlink(Tb *t, const char *o)
{
	tb_add(t, "a", AE_IFLNK, 0777, NULL, o, false, 0);
	tb_file(t, "a/passwd", "pwned");
}
static void h_symlink_dir(Tb *t, const char *o)
{
	tb_dir(t, "d");
	tb_add(t, "d/sub", AE_IFLNK, 0777, NULL, o, false, 0);
	tb_dir(t, "d/sub/x");
}
static void h_hardlink(Tb *t, const char *o)
{
	(void)o;
	tb_add(t, "h", AE_IFREG, 0644, "", "../outside/secret", true, 0);
}
static void h_hardlink_sym(Tb *t, const char *o)
{
	tb_add(t, "s", AE_IFLNK, 0777, NULL, o, false, 0);
	tb_add(t, "h", AE_IFREG, 0644, "", "s/secret", true, 0);
}
static void h_blockdev(Tb *t, const char *o) { (void)o; tb_add(t, "dev/sda", AE_IFBLK, 0600, NULL, NULL, false, makedev(8, 0)); }
static void h_chardev(Tb *t, const char *o) { (void)o; tb_add(t, "dev/null", AE_IFCHR, 0666, NULL, NULL, false, makedev(1, 3)); }
static void h_trunc(Tb *t, const char *o)
{
	(void)o;
	static char big[20000];
	memset(big, 'z', sizeof(big) - 1);
	tb_file(t, "big", big);
}

static void check_outside_untouched(const char *outside, const char *what)
{
	is_int(count_entries(outside), 1, "%s: nothing written outside the layer", what);
	_cleanup_free_ char *secret = path_in(outside, "secret");
	struct stat st;
	ok(stat(secret, &st) == 0 && st.st_nlink == 1, "%s: outside file not linked", what);
	_cleanup_free_ char *etc = path_in(base, "etc");
	ok(!fs_exists(etc) && !fs_exists("/abs"), "%s: no escape via ..", what);
}

static void test_hostile(ImgStore *s)
{
	static const Hostile cases[] = {
		{ "../../etc/x", "'../../etc/x': path escapes the archive root", h_dotdot, 0 },
		{ "a/../../outside/x", "path escapes the archive root", h_dotdot2, 0 },
		{ "absolute path", "absolute path in archive", h_abs, 0 },
		{ "symlink a -> outside then a/passwd", "'a/passwd': component 'a' is a symlink", h_symlink, 0 },
		{ "symlinked dir then mkdir below", "component 'sub' is a symlink", h_symlink_dir, 0 },
		{ "hardlink to ../outside", "hardlink 'h': '../outside/secret': path escapes", h_hardlink, 0 },
		{ "hardlink through a symlink", "hardlink 'h' -> 's/secret'", h_hardlink_sym, 0 },
		{ "block device", "'dev/sda': block device 8:0 is not allowed in an image layer", h_blockdev, 0 },
		{ "char device", "'dev/null': char device 1:3 is not allowed", h_chardev, 0 },
		{ "truncated tar", "Truncated tar archive", h_trunc, 5000 },
	};
	_cleanup_free_ char *outside = path_in(base, "outside");
	mkdir(outside, 0755);
	_cleanup_free_ char *secret = path_in(outside, "secret");
	fs_write_atomic(secret, "s3cret", 6, 0600, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Tb t;
		tb_start(&t);
		cases[i].build(&t, outside);
		int fd = tb_fd(&t, cases[i].cut);
		LayerResult res = { 0 };
		Error *e = NULL;
		int r = layer_unpack(s, fd, NULL, NULL, true, &res, &e);
		close(fd);
		ok(r < 0, "%s: rejected", cases[i].what);
		ok(e && strstr(e->msg, cases[i].expect), "%s: clear error", cases[i].what);
		if (!e || !strstr(e->msg, cases[i].expect))
			tap_diag("got: %s", e ? e->msg : "(none)");
		err_free(e);
		check_outside_untouched(outside, cases[i].what);
		is_int(count_entries(s->layers), 0, "%s: no layer and no temp dir left", cases[i].what);
		is_int(count_entries(s->links), 0, "%s: no l/ link left", cases[i].what);
	}
	/* gzip'd garbage and a non-tar */
	int fd = memfd_create("junk", MFD_CLOEXEC);
	fs_write_all(fd, "\x1f\x8b\x08\x00garbage-garbage-garbage", 27);
	lseek(fd, 0, SEEK_SET);
	LayerResult res = { 0 };
	Error *e = NULL;
	ok(layer_unpack(s, fd, NULL, NULL, true, &res, &e) < 0, "corrupt gzip rejected");
	close(fd);
	err_free(e);
	is_int(count_entries(s->layers), 0, "corrupt gzip: nothing left");
}

/* ---- a good layer: whiteouts, links, metadata, and back to a tar ---- */

static int read_tar_names(const char *blob_path, StrBuf *out)
{
	int fd = open(blob_path, O_RDONLY);
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 4096) != ARCHIVE_OK)
		return -1;
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		sb_adds(out, archive_entry_pathname(e));
		if (archive_entry_hardlink(e))
			sb_addf(out, "=>%s", archive_entry_hardlink(e));
		sb_addc(out, ' ');
	}
	archive_read_free(a);
	close(fd);
	return 0;
}

static void test_layer_roundtrip(ImgStore *s)
{
	Tb t;
	tb_start(&t);
	tb_dir(&t, "./");
	tb_dir(&t, "etc/");
	tb_file(&t, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	tb_add(&t, "etc/shadow", AE_IFREG, 0600, "secret\n", NULL, false, 0);
	tb_add(&t, "bin/sh", AE_IFREG, 04755, "#!fake\n", NULL, false, 0);   /* parent implied */
	tb_add(&t, "bin/ash", AE_IFREG, 0755, "", "bin/sh", true, 0);
	tb_add(&t, "bin/ls", AE_IFLNK, 0777, NULL, "/bin/busybox", false, 0);
	tb_file(&t, ".wh.gone", "");
	tb_dir(&t, "opq/");
	tb_file(&t, "opq/.wh..wh..opq", "");
	tb_file(&t, "opq/kept", "k");
	tb_file(&t, "etc/passwd", "replaced\n");  /* the later member wins */
	tb_add(&t, "fifo", AE_IFIFO, 0644, NULL, NULL, false, 0);
	tb_add(&t, "wh-dev", AE_IFCHR, 0, NULL, NULL, false, 0);   /* an overlay whiteout as is */
	int fd = tb_fd(&t, 0);
	LayerResult res = { 0 };
	Error *e = NULL;
	int r = layer_unpack(s, fd, NULL, NULL, true, &res, &e);
	close(fd);
	is_int(r, 0, "good layer unpacks");
	if (e)
		tap_diag("%s", e->msg);
	err_free(e);
	e = NULL;
	is_str(res.chain_id, res.diff_id, "base layer: chain id = diff id");
	ok(store_blob_exists(s, res.blob_digest), "gzip blob stored");
	_cleanup_free_ char *ld = layer_dir(s, res.chain_id);
	_cleanup_free_ char *diff = path_in(ld, "diff");
	struct stat st;
	char *p = path_in(diff, "gone");
	ok(lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0), ".wh.gone -> 0/0 char device");
	free(p);
	p = path_in(diff, "opq");
	char v[4] = "";
	ok(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y', ".wh..wh..opq -> opaque xattr");
	free(p);
	p = path_in(diff, "opq/.wh..wh..opq");
	ok(!fs_exists(p), "no .wh. file left in the layer");
	free(p);
	p = path_in(diff, "bin/sh");
	struct stat st2;
	_cleanup_free_ char *p2 = path_in(diff, "bin/ash");
	ok(lstat(p, &st) == 0 && lstat(p2, &st2) == 0 && st.st_ino == st2.st_ino, "hardlink inside the layer");
	is_int(st.st_mode & 07777, 04755, "setuid mode kept");
	is_int(st.st_mtime, 1700000000, "mtime kept");
	free(p);
	p = path_in(diff, "etc/passwd");
	char *content = NULL;
	fs_read_file(p, 100, &content, NULL, NULL);
	is_str(content, "replaced\n", "later member replaces earlier");
	free(content);
	free(p);
	p = path_in(diff, "bin/ls");
	char target[64] = "";
	ok(readlink(p, target, sizeof(target) - 1) > 0 && !strcmp(target, "/bin/busybox"), "symlink kept as is");
	free(p);
	p = path_in(diff, "fifo");
	ok(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode), "fifo created");
	free(p);
	_cleanup_free_ char *linkf = path_in(ld, "link");
	char *link = NULL;
	fs_read_file(linkf, 64, &link, NULL, NULL);
	ok(link && strlen(link) == 28 && !strncmp(link, "l/", 2), "short link name l/<26 chars>");
	_cleanup_free_ char *lp = path_in(s->root, link ? link : "x");
	ok(fs_is_dir(lp), "l/ link resolves to the diff dir");
	free(link);
	/* unpacking the same content again is idempotent */
	Tb t2;
	tb_start(&t2);
	tb_file(&t2, "x", "1");
	fd = tb_fd(&t2, 0);
	LayerResult child = { 0 };
	r = layer_unpack(s, fd, res.chain_id, NULL, true, &child, &e);
	close(fd);
	is_int(r, 0, "child layer unpacks");
	ok(strcmp(child.chain_id, child.diff_id) != 0, "child chain id differs from its diff id");
	_cleanup_free_ char *cd = layer_dir(s, child.chain_id);
	_cleanup_free_ char *lowerf = path_in(cd, "lower");
	char *lower = NULL;
	fs_read_file(lowerf, 64, &lower, NULL, NULL);
	char *plink = NULL;
	fs_read_file(linkf, 64, &plink, NULL, NULL);
	is_str(lower, plink, "child's lower file lists the parent's link");
	free(lower);
	free(plink);

	/* overlay dir -> OCI tar: whiteouts and opaque dirs come back */
	LayerTarWriter *lw;
	struct archive *w;
	r = layer_tar_writer_open(s, &lw, &w, &e);
	if (r == 0)
		r = diff_write_tree(w, diff, true, &e);
	char did[72], blob[72];
	int64_t bsize, tsize;
	if (r == 0)
		r = layer_tar_writer_close(s, lw, did, blob, &bsize, &tsize, &e);
	is_int(r, 0, "diff dir written back as a layer tar");
	err_free(e);
	e = NULL;
	StrBuf names = STRBUF_INIT;
	_cleanup_free_ char *bp = store_blob_path(s, blob);
	read_tar_names(bp, &names);
	ok(strstr(names.buf, ".wh.gone ") != NULL, "char 0/0 -> .wh.gone entry (%s)", names.buf);
	ok(strstr(names.buf, "opq/.wh..wh..opq ") != NULL, "opaque dir -> .wh..wh..opq entry");
	ok(strstr(names.buf, ".wh.wh-dev ") != NULL, "whiteout device -> .wh. entry");
	ok(strstr(names.buf, "bin/sh=>bin/ash ") || strstr(names.buf, "bin/ash=>bin/sh "), "hardlink kept as a tar hardlink");
	sb_release(&names);
	/* and unpacking that tar gives the same layer back (same diff after a second round) */
	fd = open(bp, O_RDONLY);
	LayerResult again = { 0 };
	r = layer_unpack(s, fd, NULL, did, false, &again, &e);
	close(fd);
	is_int(r, 0, "round-tripped layer unpacks with the expected diff_id");
	err_free(e);
}

/* ---- images: import, resolve, tag, rmi, gc ---- */

static int tiny_rootfs(const char *marker)
{
	Tb t;
	tb_start(&t);
	tb_dir(&t, "bin/");
	tb_file(&t, "bin/marker", marker);
	tb_dir(&t, "etc/");
	tb_file(&t, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	return tb_fd(&t, 0);
}

static char *import_tiny(ImgStore *s, const char *marker, const char *name)
{
	int fd = tiny_rootfs(marker);
	char *id = NULL;
	Error *e = NULL;
	char *changes[] = { "CMD [\"/bin/sh\"]", "ENV PATH=/bin", NULL };
	int r = img_import(s, fd, name, changes, NULL, &id, &e);
	close(fd);
	if (r < 0)
		tap_diag("import: %s", err_msg(e));
	err_free(e);
	return id;
}

static void test_images(ImgStore *s)
{
	char *id = import_tiny(s, "one", "bb");
	ok(id && digest_valid(id), "import gives an id");
	ImgInfo *img = NULL;
	Error *e = NULL;
	is_int(img_resolve(s, "bb", &img, &e), 0, "resolve by short name");
	is_str(img ? img->id : NULL, id, "resolved id");
	is_str(img && img->names[0] ? img->names[0] : NULL, "docker.io/library/bb:latest", "stored full name");
	is_int(img ? img->n_layers : 0, 1, "one layer");
	ok(img && img->size > 0 && img->created > 0, "size and created filled");
	_cleanup_free_ char *bydigest = xasprintf("bb@%s", img ? img->manifest_digest : "");
	ImgInfo *d = NULL;
	ok(img_resolve(s, bydigest, &d, &e) == 0 && d && !strcmp(d->id, id), "resolve name@manifest-digest");
	img_info_free(d);
	d = NULL;
	ok(img_resolve(s, "other@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &d, &e) ==
	   -ENOENT, "unknown digest reference");
	err_free(e);
	e = NULL;
	_cleanup_free_ char *shortid = xasprintf("sha256:%.5s", id + 7);
	ok(img_resolve(s, shortid, &d, &e) == 0, "resolve sha256:<prefix>");
	img_info_free(d);
	is_str(img ? json_string_value(json_array_get(json_path(img->config, "config.Cmd"), 0)) : NULL, "/bin/sh",
	       "config has the CMD change");
	img_info_free(img);
	img = NULL;
	ok(img_resolve(s, id + 7, &img, &e) == 0, "resolve by full hex id");
	img_info_free(img);
	img = NULL;
	char prefix[20];
	snprintf(prefix, sizeof(prefix), "%.12s", id + 7);
	ok(img_resolve(s, prefix, &img, &e) == 0, "resolve by 12-char id prefix");
	img_info_free(img);
	img = NULL;
	ok(img_resolve(s, "nope", &img, &e) == -ENOENT, "unknown image");
	is_str(e ? e->msg : NULL, "image 'nope' not found", "not-found message");
	err_free(e);
	e = NULL;
	ok(img_resolve(s, "Bad:Name", &img, &e) == -EINVAL && strstr(e->msg, "invalid reference format"),
	   "bad reference is an error, not 'not found'");
	err_free(e);
	e = NULL;

	is_int(img_tag(s, "bb", "localhost/other:v1", &e), 0, "tag");
	is_int(img_resolve(s, "localhost/other:v1", &img, &e), 0, "resolve new tag");
	size_t nn = 0;
	while (img && img->names[nn])
		nn++;
	is_int(nn, 2, "image has two names");
	img_info_free(img);
	img = NULL;
	char **lines = NULL;
	char *in_use[] = { id, NULL };
	ok(img_remove(s, id, false, NULL, &lines, &e) == -EBUSY && strstr(e->msg, "multiple repositories"),
	   "rmi by id with two names needs force");
	err_free(e);
	e = NULL;
	is_int(img_remove(s, "localhost/other:v1", false, in_use, &lines, &e), 0, "untag one of two names");
	is_str(lines ? lines[0] : NULL, "Untagged: localhost/other:v1", "untag line");
	ok(lines && !lines[1], "only untagged");
	strv_free(lines);
	lines = NULL;
	ok(img_remove(s, "bb", false, in_use, &lines, &e) == -EBUSY && strstr(e->msg, "in use by a container"),
	   "image in use refused");
	err_free(e);
	e = NULL;
	is_int(img_remove(s, "bb", true, in_use, &lines, &e), 0, "force on an image in use untags");
	ok(lines && !strcmp(lines[0], "Untagged: bb:latest") && !lines[1], "only untagged (kept as <none>)");
	strv_free(lines);
	lines = NULL;
	ok(img_resolve(s, id, &img, &e) == 0 && img && !img->names[0], "image kept, dangling");
	ImgInfo *kept = img;
	img = NULL;
	_cleanup_free_ char (*chains)[72] = layer_chain_ids(kept);
	ok(layer_exists(s, chains[0]), "its layer stays");
	is_int(img_remove(s, id, false, NULL, &lines, &e), 0, "rmi by id once unused");
	ok(lines && !strncmp(lines[0], "Deleted: sha256:", 16), "deleted line");
	strv_free(lines);
	lines = NULL;
	ok(!layer_exists(s, chains[0]), "layer garbage-collected");
	ok(!store_blob_exists(s, kept->layer_digests[0]) && !store_blob_exists(s, kept->id) &&
	   !store_blob_exists(s, kept->manifest_digest), "blobs garbage-collected");
	is_int(count_entries(s->links), 0, "l/ links garbage-collected");
	img_info_free(kept);
	free(id);

	/* a tag that moves leaves the old image as <none>; list is newest first */
	char *a = import_tiny(s, "A", "localhost/mv");
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	sleep(1);
	char *b = import_tiny(s, "B", "localhost/mv");
	ImgInfo **list;
	size_t n;
	is_int(img_list(s, &list, &n, &e), 0, "list");
	is_int(n, 2, "two images after the tag moved");
	ok(n == 2 && !strcmp(list[0]->id, b) && !strcmp(list[1]->id, a), "newest first");
	ok(n == 2 && list[0]->names[0] && !list[1]->names[0], "old image lost its name");
	for (size_t i = 0; i < n; i++)
		img_info_free(list[i]);
	free(list);
	ok(img_remove(s, a, false, NULL, &lines, &e) == 0, "remove dangling by id");
	strv_free(lines);
	lines = NULL;
	ok(img_remove(s, "localhost/mv", false, NULL, &lines, &e) == 0, "remove by name");
	strv_free(lines);
	free(a);
	free(b);
	is_int(count_entries(s->layers), 0, "store empty again");
	is_int(count_entries(s->blobs), 0, "no blobs left");
	err_free(e);
}

/* ---- commit and diff ---- */

static void record_change(char kind, const char *path, void *ud)
{
	sb_addf(ud, "%c %s\n", kind, path);
}

static void test_commit_diff(ImgStore *s)
{
	char *id = import_tiny(s, "base", "localhost/base");
	ImgInfo *img = NULL;
	Error *e = NULL;
	img_resolve(s, id, &img, &e);
	_cleanup_free_ char *upper = path_in(base, "upper");
	mkdir(upper, 0755);
	char *p = path_in(upper, "bin");
	mkdir(p, 0755);
	free(p);
	p = path_in(upper, "bin/marker");
	mknod(p, S_IFCHR, makedev(0, 0));
	free(p);
	p = path_in(upper, "etc");
	mkdir(p, 0755);
	setxattr(p, "trusted.overlay.opaque", "y", 1, 0);
	free(p);
	p = path_in(upper, "etc/hostname");
	fs_write_atomic(p, "box\n", 4, 0644, NULL);
	free(p);
	p = path_in(upper, "new.txt");
	fs_write_atomic(p, "hello\n", 6, 0644, NULL);
	free(p);
	StrBuf out = STRBUF_INIT;
	is_int(img_diff(s, img, upper, record_change, &out, &e), 0, "diff");
	is_str(out.buf, "C /bin\nD /bin/marker\nC /etc\nA /etc/hostname\nA /new.txt\n", "A/C/D listing");
	sb_release(&out);
	ok(img_path_in_image(s, img, "/etc/passwd") && !img_path_in_image(s, img, "/etc/nope"),
	   "path lookups in the image");
	/* export writes the tree as it is (no whiteout conversion) */
	int xfd = memfd_create("export", MFD_CLOEXEC);
	is_int(img_export_dir(upper, xfd, &e), 0, "export a tree");
	char xpath[64];
	snprintf(xpath, sizeof(xpath), "/proc/self/fd/%d", xfd);
	StrBuf xnames = STRBUF_INIT;
	read_tar_names(xpath, &xnames);
	is_str(xnames.buf, "bin/ bin/marker etc/ etc/hostname new.txt ", "export lists the tree sorted");
	sb_release(&xnames);
	close(xfd);
	json_t *changes = json_pack("{s:[s]}", "Cmd", "/new.txt");
	char *cid = NULL;
	is_int(img_commit(s, upper, img, changes, "/bin/sh -c edit", "a comment", "localhost/committed", &cid, &e),
	       0, "commit");
	if (e)
		tap_diag("%s", e->msg);
	json_decref(changes);
	ImgInfo *c = NULL;
	is_int(img_resolve(s, "localhost/committed", &c, &e), 0, "committed image resolves");
	is_int(c ? c->n_layers : 0, 2, "committed image has parent layer + 1");
	is_str(c ? json_string_value(json_array_get(json_path(c->config, "config.Cmd"), 0)) : NULL, "/new.txt",
	       "config change merged");
	is_str(c ? json_string_value(json_array_get(json_path(c->config, "config.Env"), 0)) : NULL, "PATH=/bin",
	       "parent config kept");
	json_t *hist = c ? json_object_get(c->config, "history") : NULL;
	is_int(json_array_size(hist), 2, "history entry appended");
	is_str(json_str(json_array_get(hist, 1), "created_by"), "/bin/sh -c edit", "history created_by");
	ok(c && !img_path_in_image(s, c, "/bin/marker"), "whiteout hides the lower file in the new image");
	ok(c && !img_path_in_image(s, c, "/etc/passwd") && img_path_in_image(s, c, "/etc/hostname"),
	   "opaque dir hides lower contents, keeps its own");
	ImgHistoryEntry *h;
	size_t nh;
	is_int(c ? img_history(s, c, &h, &nh, &e) : -1, 0, "history");
	ok(nh == 2 && h[1].size == 10 && !strcmp(h[1].comment, "a comment"), "history sizes and comments");
	img_history_free(h, nh);
	/* metadata-only commit */
	char *mid = NULL;
	json_t *ch2 = json_pack("{s:s}", "User", "app");
	is_int(img_commit(s, NULL, c, ch2, "USER app", NULL, NULL, &mid, &e), 0, "metadata-only commit");
	json_decref(ch2);
	ImgInfo *m = NULL;
	img_resolve(s, mid, &m, &e);
	ok(m && m->n_layers == 2 && json_bool(json_array_get(json_object_get(m->config, "history"), 2), "empty_layer", false),
	   "no new layer, empty_layer history");
	img_info_free(m);
	free(mid);

	/* save (docker-archive, oci-archive) and load into a fresh store: same id */
	const char *formats[] = { "docker-archive", "oci-archive" };
	for (int f = 0; f < 2; f++) {
		int fd = memfd_create("save", MFD_CLOEXEC);
		char *refs[] = { "localhost/committed", NULL };
		is_int(img_save(s, refs, formats[f], fd, &e), 0, "save %s", formats[f]);
		if (e)
			tap_diag("%s", e->msg);
		lseek(fd, 0, SEEK_SET);
		_cleanup_free_ char *root2 = xasprintf("%s/store-%d", base, f);
		ImgStore *s2;
		img_store_open(root2, &s2, &e);
		char **names = NULL;
		is_int(img_load(s2, fd, &names, &e), 0, "load %s", formats[f]);
		if (e)
			tap_diag("%s", e->msg);
		close(fd);
		is_str(names ? names[0] : NULL, "localhost/committed:latest", "%s: loaded name", formats[f]);
		strv_free(names);
		ImgInfo *l = NULL;
		is_int(img_resolve(s2, "localhost/committed", &l, &e), 0, "%s: loaded image resolves", formats[f]);
		is_str(l ? l->id : NULL, cid, "%s: image id survives save/load", formats[f]);
		ok(l && !img_path_in_image(s2, l, "/bin/marker") && img_path_in_image(s2, l, "/new.txt"),
		   "%s: layers unpacked with whiteouts", formats[f]);
		img_info_free(l);
		img_store_free(s2);
	}
	img_info_free(c);
	img_info_free(img);
	free(cid);
	free(id);
	err_free(e);
}

/* ---- deep images and overlay options ---- */

static void test_deep(ImgStore *s)
{
	/* a synthetic image deeper than BERTH_MAX_LAYERS: checked before any file is read */
	ImgInfo fake = { .id = "sha256:fake", .n_layers = BERTH_MAX_LAYERS + 1 };
	char *data = NULL, *dir = NULL;
	Error *e = NULL;
	ok(img_overlay_options(s, &fake, NULL, "/u", "/w", &data, &dir, &e) == -E2BIG, "too deep refused");
	is_str(e ? e->msg : NULL, "image has 501 layers: more than the BERTH_MAX_LAYERS limit (500)",
	       "BERTH_MAX_LAYERS message");
	err_free(e);
	e = NULL;

	/* real layers: a chain of 150 one-file layers */
	enum { DEEP = 150 };
	json_t *layers = json_array(), *diff_ids = json_array();
	char parent[72] = "";
	int64_t size = 0;
	for (int i = 0; i < DEEP; i++) {
		Tb t;
		tb_start(&t);
		char name[32];
		snprintf(name, sizeof(name), "f%03d", i);
		tb_file(&t, name, name);
		int fd = tb_fd(&t, 0);
		LayerResult r = { 0 };
		if (layer_unpack(s, fd, i ? parent : NULL, NULL, true, &r, &e) < 0)
			tap_diag("layer %d: %s", i, err_msg(e));
		close(fd);
		memcpy(parent, r.chain_id, 72);
		json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType", MT_OCI_LAYER_GZ, "digest",
							r.blob_digest, "size", (json_int_t)r.blob_size));
		json_array_append_new(diff_ids, json_string(r.diff_id));
		size += r.size;
	}
	/* two images: all 150 layers, and the bottom 100 */
	for (int variant = 0; variant < 2; variant++) {
		int n = variant ? 100 : DEEP;
		json_t *l = json_array(), *d = json_array();
		for (int i = 0; i < n; i++) {
			json_array_append(l, json_array_get(layers, (size_t)i));
			json_array_append(d, json_array_get(diff_ids, (size_t)i));
		}
		json_t *cfg = json_pack("{s:s,s:s,s:s,s:{},s:{s:s,s:o}}", "created", "2024-01-02T03:04:05Z",
					"architecture", "amd64", "os", "linux", "config", "rootfs", "type", "layers",
					"diff_ids", d);
		char *buf = json_dumps(cfg, JSON_COMPACT);
		char id[72];
		char *names[] = { variant ? "localhost/deep100:latest" : "localhost/deep150:latest", NULL };
		if (store_image_write(s, buf, strlen(buf), l, size, names, id, &e) < 0)
			tap_diag("write: %s", err_msg(e));
		free(buf);
		json_decref(cfg);
		json_decref(l);
	}
	json_decref(layers);
	json_decref(diff_ids);

	ImgInfo *img = NULL;
	is_int(img_resolve(s, "localhost/deep150", &img, &e), 0, "deep image resolves");
	if (!img) {
		tap_diag("resolve: %s", err_msg(e));
		return;
	}
	ok(img_overlay_options(s, img, NULL, "/u", "/w", &data, &dir, &e) == -E2BIG, "150 layers exceed a page");
	ok(e && strstr(e->msg, "image has 150 layers: overlay mount options exceed the page size"), "page size message");
	err_free(e);
	e = NULL;
	img_info_free(img);
	img = NULL;

	/* 100 layers fit: measure the run-time path (open + resolve + options) */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ImgStore *s2;
	img_store_open(s->root, &s2, &e);
	int r = img_resolve(s2, "localhost/deep100", &img, &e);
	if (r == 0)
		r = img_overlay_options(s2, img, "/init", "/tmp/upper", "/tmp/work", &data, &dir, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	is_int(r, 0, "100 layers: options built");
	tap_diag("open+resolve+overlay options for 100 layers: %.3f ms", ms);
	ok(ms < 20, "fast path under 20 ms (%.3f ms)", ms);
	ok(data && strlen(data) < 4096, "mount data within a page");
	ok(data && str_has_prefix(data, "lowerdir=/init:l/"), "init layer first, then relative l/ names");
	ok(data && strstr(data, ",upperdir=/tmp/upper,workdir=/tmp/work"), "upper and work dirs");
	size_t colons = 0;
	for (const char *q = data; q && *q; q++)
		colons += *q == ':';
	is_int(colons, 100, "101 lowerdirs (init + 100 layers)");
	is_str(dir, s->root, "chdir to the store root");
	free(data);
	free(dir);

	/* and the kernel accepts it: mount in a private mount namespace */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		_cleanup_free_ char *up = path_in(base, "mup"), *wk = path_in(base, "mwk"), *mnt = path_in(base, "mnt");
		mkdir(up, 0755);
		mkdir(wk, 0755);
		mkdir(mnt, 0755);
		r = img_overlay_options(s2, img, NULL, up, wk, &data, &dir, &e);
		char cwd[4096];
		getcwd(cwd, sizeof(cwd));
		int mr = r == 0 && chdir(dir) == 0 ? mount("overlay", mnt, "overlay", 0, data) : -1;
		if (mr < 0)
			tap_diag("mount: %s (%s)", strerror(errno), data ? data : "");
		chdir(cwd);
		is_int(mr, 0, "overlay mount with 100 relative lowerdirs");
		_cleanup_free_ char *f0 = path_in(mnt, "f000"), *f99 = path_in(mnt, "f099"), *f100 = path_in(mnt, "f100");
		ok(fs_exists(f0) && fs_exists(f99) && !fs_exists(f100), "bottom and top layer files visible");
		if (mr == 0)
			umount2(mnt, MNT_DETACH);
		free(data);
		free(dir);
	} else {
		ok(0, "private mount namespace (needs root)");
	}
	img_info_free(img);
	img_store_free(s2);
	err_free(e);
}

int main(void)
{
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	test_refs();
	test_changes();
	_cleanup_free_ char *root = path_in(base, "deep/root");
	_cleanup_free_ char *deep = path_in(base, "deep");
	mkdir(deep, 0755);
	ImgStore *s = NULL;
	Error *e = NULL;
	if (img_store_open(root, &s, &e) < 0) {
		printf("Bail out! %s\n", err_msg(e));
		return 1;
	}
	test_hostile(s);
	test_layer_roundtrip(s);
	img_store_free(s);
	fs_rm_rf(root, NULL);
	img_store_open(root, &s, &e);
	test_images(s);
	test_commit_diff(s);
	img_store_free(s);
	fs_rm_rf(root, NULL);
	img_store_open(root, &s, &e);
	test_deep(s);
	img_store_free(s);
	fs_rm_rf(base, NULL);
	return tap_done();
}
