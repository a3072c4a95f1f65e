/* upload.c - blob upload sessions.
 *
 * An upload is a directory <root>/uploads/<uuid>/ holding `repo` (the
 * repository it was started in) and `data` (the bytes so far).  Bytes are
 * hashed as they are written; the running hash lives in an in-memory table
 * beside the open session, so finishing a 200 MiB upload does not read it
 * again.  After a restart (or when the table lost track) the file is hashed
 * once from the start.  Writeback starts every 16 MiB as the bytes arrive,
 * so the fdatasync that makes a finished blob durable has little left to
 * do.  One request at a time may hold an upload (busy flag),
 * so interleaved PATCHes cannot corrupt it.  Finishing verifies the digest,
 * then renames the file into the blob store: a wrong digest or a crash leaves
 * nothing visible.
 */
#include "reg-internal.h"
#include "../base/fs.h"
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#define UPLOAD_SYNC_STEP (16u << 20)

struct RegUpload {
	struct RegUpload *next;
	char id[37];
	char *repo;
	char *dir;
	char *data;
	int fd;
	Sha256 *hash;
	uint64_t hashed;  /* bytes the hash has seen */
	uint64_t size;    /* bytes in the file */
	uint64_t synced;  /* bytes handed to writeback (so finishing has little left to flush) */
	bool busy;
};

static void upload_free(RegUpload *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	sha256_free(u->hash);
	free(u->repo);
	free(u->dir);
	free(u->data);
	free(u);
}

static void uuid_v4(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		abort();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int rs_upload_new(RegStore *rs, const char *repo, char ret_id[37], Error **err)
{
	uuid_v4(ret_id);
	_cleanup_free_ char *dir = fs_join(rs->uploads, ret_id);
	if (mkdir(dir, 0755) < 0)
		return err_sys(err, errno, "mkdir '%s'", dir);
	_cleanup_free_ char *rp = fs_join(dir, "repo"), *dp = fs_join(dir, "data");
	int r = fs_write_atomic(rp, repo, strlen(repo), 0644, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(dp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(err, errno, "create '%s'", dp);
	return 0;
}

static RegUpload *table_find(RegStore *rs, const char *id)
{
	for (RegUpload *u = rs->open_uploads; u; u = u->next)
		if (!strcmp(u->id, id))
			return u;
	return NULL;
}

static void table_remove(RegStore *rs, RegUpload *u)
{
	for (RegUpload **p = &rs->open_uploads; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			return;
		}
}

static int upload_load(RegStore *rs, const char *repo, const char *id, RegUpload **ret, Error **err)
{
	_cleanup_free_ char *dir = fs_join(rs->uploads, id);
	_cleanup_free_ char *rp = fs_join(dir, "repo"), *owner = NULL;
	size_t n;
	if (fs_read_file(rp, 1024, &owner, &n, NULL) < 0 || strcmp(owner, repo))
		return err_set(err, ENOENT, "blob upload unknown");
	RegUpload *u = xcalloc(1, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->repo = xstrdup(repo);
	u->dir = TAKE_PTR(dir);
	u->data = fs_join(u->dir, "data");
	u->fd = -1;
	*ret = u;
	return 0;
}

int rs_upload_acquire(RegStore *rs, const char *repo, const char *id, RegUpload **ret, Error **err)
{
	pthread_mutex_lock(&rs->lock);
	RegUpload *u = table_find(rs, id);
	int r = 0;
	if (u && strcmp(u->repo, repo))
		r = err_set(err, ENOENT, "blob upload unknown");
	else if (u && u->busy)
		r = err_set(err, EBUSY, "upload in use by another request");
	else if (!u && (r = upload_load(rs, repo, id, &u, err)) == 0) {
		u->next = rs->open_uploads;
		rs->open_uploads = u;
	}
	if (r == 0) {
		u->fd = open(u->data, O_WRONLY | O_APPEND | O_CLOEXEC);
		struct stat st;
		if (u->fd < 0 || fstat(u->fd, &st) < 0) {
			r = err_set(err, ENOENT, "blob upload unknown");
			table_remove(rs, u);
			upload_free(u);
		} else {
			u->size = (uint64_t)st.st_size;
			u->busy = true;
			*ret = u;
		}
	}
	pthread_mutex_unlock(&rs->lock);
	return r;
}

void rs_upload_release(RegStore *rs, RegUpload *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&rs->lock);
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->busy = false;
	pthread_mutex_unlock(&rs->lock);
}

uint64_t rs_upload_size(const RegUpload *u) { return u->size; }

/* Bring the running hash up to the file's size (after a restart). */
static int hash_catch_up(RegUpload *u, Error **err)
{
	if (u->hash && u->hashed == u->size)
		return 0;
	sha256_free(u->hash);
	u->hash = sha256_new();
	u->hashed = 0;
	_cleanup_close_ int fd = open(u->data, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open '%s'", u->data);
	char buf[1 << 16];
	ssize_t n;
	while (u->hashed < u->size && (n = read(fd, buf, sizeof(buf))) > 0) {
		sha256_update(u->hash, buf, (size_t)n);
		u->hashed += (uint64_t)n;
	}
	if (u->hashed != u->size)
		return err_set(err, EIO, "upload %s changed while hashing", u->id);
	return 0;
}

int rs_upload_write(RegUpload *u, const void *buf, size_t n, Error **err)
{
	int r = hash_catch_up(u, err);
	if (r < 0)
		return r;
	r = fs_write_all(u->fd, buf, n);
	if (r < 0)
		return err_sys(err, -r, "write upload %s", u->id);
	sha256_update(u->hash, buf, n);
	u->hashed += n;
	u->size += n;
	if (u->size - u->synced >= UPLOAD_SYNC_STEP) {
		sync_file_range(u->fd, (off64_t)u->synced, 0, SYNC_FILE_RANGE_WRITE);
		u->synced = u->size;
	}
	return 0;
}

static void upload_drop(RegStore *rs, RegUpload *u)
{
	fs_rm_rf(u->dir, NULL);
	pthread_mutex_lock(&rs->lock);
	table_remove(rs, u);
	pthread_mutex_unlock(&rs->lock);
	upload_free(u);
}

int rs_upload_finish(RegStore *rs, RegUpload *u, const char *digest, Error **err)
{
	int r = hash_catch_up(u, err);
	char got[72];
	if (r == 0) {
		sha256_final(u->hash, got);
		u->hash = NULL;
		if (strcmp(got, digest))
			r = err_set(err, EBADMSG, "digest mismatch: content is %s, not %s", got, digest);
	}
	if (r == 0 && fdatasync(u->fd) < 0)
		r = err_sys(err, errno, "fsync upload");
	if (r == 0)
		r = rs_blob_commit_file(rs, u->data, digest, err);
	if (r == 0)
		r = rs_blob_link(rs, u->repo, digest, err);
	upload_drop(rs, u);
	return r;
}

int rs_upload_cancel(RegStore *rs, RegUpload *u, Error **err)
{
	(void)err;
	upload_drop(rs, u);
	return 0;
}
