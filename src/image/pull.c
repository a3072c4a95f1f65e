/* pull.c - the store's side of registry transfers: blobs streamed in with
 * their digest verified (ImgBlobWriter over store.c's BlobWriter), blobs read
 * out for a push, and a pulled manifest turned into an image (config and
 * layer blobs already stored: layers unpacked in order, the image recorded
 * under its name).  OCI manifests are kept byte for byte so the image keeps
 * the registry's manifest digest; Docker schema2 ones are rewritten with OCI
 * media types as `load` does.  Callers hold img_lock_content() for the
 * whole transfer so a concurrent rmi/gc cannot sweep blobs in between.
 */
#include "image-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>

struct ImgBlobWriter {
	BlobWriter w;
};

int img_blob_writer_new(ImgStore *s, ImgBlobWriter **ret, Error **err)
{
	ImgBlobWriter *bw = xcalloc(1, sizeof(*bw));
	int r = blob_writer_open(s, &bw->w, err);
	if (r < 0) {
		free(bw);
		return r;
	}
	*ret = bw;
	return 0;
}

int img_blob_writer_write(ImgBlobWriter *w, const void *buf, size_t n, Error **err)
{
	return blob_writer_write(&w->w, buf, n, err);
}

uint64_t img_blob_writer_size(const ImgBlobWriter *w) { return w->w.size; }

int img_blob_writer_commit(ImgStore *s, ImgBlobWriter *w, const char *expect, Error **err)
{
	int r = blob_writer_commit(s, &w->w, expect, err);
	free(w);
	return r;
}

void img_blob_writer_abort(ImgBlobWriter *w)
{
	if (!w)
		return;
	blob_writer_abort(&w->w);
	free(w);
}

bool img_blob_exists(ImgStore *s, const char *digest)
{
	return digest_valid(digest) && store_blob_exists(s, digest);
}

int img_blob_open(ImgStore *s, const char *digest, int64_t *ret_size, Error **err)
{
	if (!digest_valid(digest))
		return err_set(err, EINVAL, "invalid digest '%s'", digest);
	_cleanup_free_ char *p = store_blob_path(s, digest);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return err_sys(err, e, "blob %s", digest);
	}
	*ret_size = (int64_t)st.st_size;
	return fd;
}

int img_blob_read(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err)
{
	return store_blob_read(s, digest, max, ret, ret_len, err);
}

int img_lock_content(ImgStore *s, int *ret_fd, Error **err)
{
	return store_lock(s, "gc", LOCK_SH, ret_fd, err);
}

int img_put_manifest(ImgStore *s, const char *mbuf, size_t mlen, const char *name, char **ret_id, Error **err)
{
	_cleanup_json_ json_t *m = NULL, *config = NULL;
	int r = json_parse_buf(mbuf, mlen, "manifest", &m, err);
	if (r < 0)
		return r;
	const char *mt = json_str(m, "mediaType");
	bool docker = mt && !strcmp(mt, MT_DOCKER_MANIFEST);
	if (mt && !docker && strcmp(mt, MT_OCI_MANIFEST))
		return err_set(err, EINVAL, "manifest: unsupported media type '%s'", mt);
	const char *cd = json_str(json_object_get(m, "config"), "digest");
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	if (!cd || !digest_valid(cd))
		return err_set(err, EINVAL, "manifest: no config digest");
	r = store_blob_read(s, cd, BERTH_MAX_IMAGE_CONFIG, &cbuf, &clen, err);
	if (r == 0)
		r = json_parse_buf(cbuf, clen, "image config", &config, err);
	if (r < 0)
		return r;
	json_t *mlayers = json_object_get(m, "layers"), *diff_ids = json_path(config, "rootfs.diff_ids");
	if (!json_is_array(mlayers) || json_array_size(mlayers) > BERTH_MAX_LAYERS ||
	    json_array_size(diff_ids) != json_array_size(mlayers))
		return err_set(err, EINVAL, "manifest: layers do not match the config's diff_ids");
	_cleanup_close_ int lock = -1;
	r = store_lock(s, "gc", LOCK_SH, &lock, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *layers = json_array();
	int64_t size = 0;
	r = layers_from_blobs(s, mlayers, diff_ids, layers, &size, err);
	if (r < 0)
		return r;
	char id[72];
	if (docker) {
		char *nv[] = { (char *)name, NULL };
		r = store_image_write(s, cbuf, clen, layers, size, nv, id, err);
	} else {
		char md[72];
		memcpy(id, cd, 72);
		r = store_blob_put(s, mbuf, mlen, md, err);
		if (r == 0)
			r = store_image_add(s, md, (int64_t)mlen, id, size, name, err);
	}
	if (r < 0)
		return r;
	*ret_id = xstrdup(id);
	return 0;
}

/* ---- layers unpacked while they download ----
 *
 * Per layer: the download thread collects the bytes in 1 MiB chunks; a full
 * chunk is hashed and written to the blob, then handed (the buffer itself,
 * not a copy) to an unpacker thread running layer_unpack_gated, whose
 * libarchive read callback takes chunks off the queue.  So decompressing,
 * hashing the diff_id and writing files overlap the transfer, and the bytes
 * are copied once (curl's buffer into the chunk) on their way to both the
 * blob and the unpacker.  The queue is bounded (PULL_QUEUE chunks): a slow
 * unpacker slows the download instead of growing memory.  The gate holds
 * publication until the blob digest is verified (finish) and the parent
 * layer is final; a failure anywhere marks the layer failed, which also
 * fails the layers above it. */

#define PULL_SYNC_STEP (32u << 20)  /* start blob writeback every 32 MiB */
#define PULL_CHUNK (1u << 20)
#define PULL_QUEUE 16               /* chunks waiting for the unpacker (16 MiB) */
#define PULL_SPARE 2                /* emptied chunks kept for reuse */

typedef enum LState { L_PENDING, L_OK, L_FAILED } LState;

typedef struct Chunk {
	struct Chunk *next;
	size_t len;
	char data[PULL_CHUNK];
} Chunk;

/* The chunks between the download thread and the unpacker (its own lock). */
typedef struct ChunkQueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	Chunk *head, *tail;
	size_t n;
	Chunk *spare;        /* emptied chunks for the writer */
	size_t n_spare;
	Chunk *reading;      /* the chunk the unpacker works on */
	bool eof;            /* writer done: the unpacker reads to the end */
	bool aborted;        /* writer gave up: the unpacker's read fails */
	bool reader_gone;    /* unpacker finished: writes are dropped */
} ChunkQueue;

typedef struct PullLayer {
	struct ImgPullLayers *g;
	size_t i;
	char digest[72], diff_id[72], chain[72], media[96];
	BlobWriter bw;
	bool writing;        /* bw open */
	uint64_t synced;     /* bytes handed to writeback */
	Chunk *cur;          /* being filled by _write */
	bool feeding;        /* the unpacker reads the queue */
	ChunkQueue q;
	TarInput in;         /* the unpacker's input: the queue or a stored blob's fd */
	bool thread;         /* unpacker started, not joined */
	LState blob, layer;
	int rc;
	Error *err;
	pthread_t tid;
} PullLayer;

struct ImgPullLayers {
	ImgStore *s;
	size_t n;
	PullLayer *l;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void chunks_free(Chunk *c)
{
	while (c) {
		Chunk *next = c->next;
		free(c);
		c = next;
	}
}

/* Unpacker side: the next chunk (the previous one goes back to the writer). */
static ssize_t queue_read(void *ud, const void **ret_buf)
{
	ChunkQueue *q = ud;
	pthread_mutex_lock(&q->lock);
	if (q->reading) {
		Chunk *c = q->reading;
		q->reading = NULL;
		if (q->n_spare < PULL_SPARE) {
			c->next = q->spare;
			q->spare = c;
			q->n_spare++;
		} else {
			free(c);
		}
	}
	while (!q->head && !q->eof && !q->aborted)
		pthread_cond_wait(&q->cond, &q->lock);
	ssize_t r = 0;
	if (q->aborted) {
		r = -1;
	} else if (q->head) {
		Chunk *c = q->head;
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		q->reading = c;
		*ret_buf = c->data;
		r = (ssize_t)c->len;
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Writer side: hand a full chunk over (waits while the queue is full). */
static void queue_push(ChunkQueue *q, Chunk *c)
{
	pthread_mutex_lock(&q->lock);
	while (q->n >= PULL_QUEUE && !q->reader_gone)
		pthread_cond_wait(&q->cond, &q->lock);
	if (q->reader_gone) {
		free(c);
	} else {
		c->next = NULL;
		if (q->tail)
			q->tail->next = c;
		else
			q->head = c;
		q->tail = c;
		q->n++;
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static Chunk *queue_take_spare(ChunkQueue *q)
{
	pthread_mutex_lock(&q->lock);
	Chunk *c = q->spare;
	if (c) {
		q->spare = c->next;
		q->n_spare--;
	}
	pthread_mutex_unlock(&q->lock);
	if (!c)
		c = xmalloc(sizeof(*c));
	c->len = 0;
	c->next = NULL;
	return c;
}

static void queue_set(ChunkQueue *q, bool *flag)
{
	pthread_mutex_lock(&q->lock);
	*flag = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Empty the queue for another run (no unpacker running). */
static void queue_reset(ChunkQueue *q)
{
	chunks_free(q->head);
	chunks_free(q->reading);
	q->head = q->tail = q->reading = NULL;
	q->n = 0;
	q->eof = q->aborted = q->reader_gone = false;
}

ImgPullLayers *img_pull_layers_new(ImgStore *s, size_t n, const char *const *digests,
				   const char *const *media, const char *const *diff_ids)
{
	ImgPullLayers *g = xcalloc(1, sizeof(*g));
	g->s = s;
	g->n = n;
	g->l = xcalloc(n ? n : 1, sizeof(PullLayer));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	for (size_t i = 0; i < n; i++) {
		PullLayer *l = &g->l[i];
		l->g = g;
		l->i = i;
		l->in.fd = -1;
		l->bw.fd = -1;
		pthread_mutex_init(&l->q.lock, NULL);
		pthread_cond_init(&l->q.cond, NULL);
		snprintf(l->digest, sizeof(l->digest), "%s", digests[i]);
		snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_ids[i]);
		snprintf(l->media, sizeof(l->media), "%s", layer_media_oci(media[i] ? media[i] : MT_OCI_LAYER_GZ));
		layer_chain_id(i ? g->l[i - 1].chain : NULL, l->diff_id, l->chain);
	}
	return g;
}

static void set_state(ImgPullLayers *g, LState *st, LState v)
{
	pthread_mutex_lock(&g->lock);
	*st = v;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Publish only a verified blob on top of a final parent. */
static int layer_gate(void *ud, Error **err)
{
	PullLayer *l = ud;
	ImgPullLayers *g = l->g;
	PullLayer *parent = l->i ? &g->l[l->i - 1] : NULL;
	pthread_mutex_lock(&g->lock);
	while (l->blob == L_PENDING || (parent && parent->layer == L_PENDING))
		pthread_cond_wait(&g->cond, &g->lock);
	bool blob_ok = l->blob == L_OK, parent_ok = !parent || parent->layer == L_OK;
	pthread_mutex_unlock(&g->lock);
	if (!blob_ok)
		return err_set(err, EBADMSG, "blob %s was not verified", l->digest);
	if (!parent_ok)
		return err_set(err, ENOENT, "parent layer %s failed", parent->digest);
	return 0;
}

static void *unpacker(void *arg)
{
	PullLayer *l = arg;
	LayerResult res = { .blob_size = 0 };
	memcpy(res.blob_digest, l->digest, 72);
	snprintf(res.blob_media, sizeof(res.blob_media), "%s", l->media);
	const char *parent = l->i ? l->g->l[l->i - 1].chain : NULL;
	Error *e = NULL;
	int rc = layer_unpack_gated(l->g->s, &l->in, parent, l->diff_id, false, layer_gate, l, &res, &e);
	if (rc < 0)
		err_prefix(&e, "layer %s", l->digest);
	/* a failed unpack stops reading: the writer's chunks are dropped, not queued */
	if (l->feeding)
		queue_set(&l->q, &l->q.reader_gone);
	pthread_mutex_lock(&l->g->lock);
	l->rc = rc;
	err_free(l->err);
	l->err = e;
	l->layer = rc < 0 ? L_FAILED : L_OK;
	pthread_cond_broadcast(&l->g->cond);
	pthread_mutex_unlock(&l->g->lock);
	return NULL;
}

/* in_fd: a stored blob to unpack (taken), or -1 to unpack what _write sends. */
static int start_unpacker(PullLayer *l, int in_fd, Error **err)
{
	if (in_fd >= 0) {
		l->in = (TarInput){ .fd = in_fd };
	} else {
		queue_reset(&l->q);
		l->in = (TarInput){ .fd = -1, .read = queue_read, .ud = &l->q };
		l->feeding = true;
	}
	l->layer = L_PENDING;
	if (pthread_create(&l->tid, NULL, unpacker, l) != 0) {
		l->feeding = false;
		l->layer = L_FAILED;
		return err_set(err, EAGAIN, "layer %s: cannot start the unpacker", l->digest);
	}
	l->thread = true;
	return 0;
}

static void join_unpacker(PullLayer *l)
{
	if (l->feeding && l->thread)
		queue_set(&l->q, &l->q.eof); /* end of input, if nobody said so */
	if (l->thread) {
		pthread_join(l->tid, NULL);
		l->thread = false;
	}
	if (l->feeding) {
		queue_reset(&l->q);
		l->feeding = false;
	}
	if (l->in.fd >= 0) {
		close(l->in.fd);
		l->in.fd = -1;
	}
}

int img_pull_layer_begin(ImgPullLayers *g, size_t i, Error **err)
{
	PullLayer *l = &g->l[i];
	bool have_blob = store_blob_exists(g->s, l->digest), have_layer = layer_exists(g->s, l->chain);
	l->blob = have_blob ? L_OK : L_PENDING;
	l->layer = have_layer ? L_OK : L_PENDING;
	l->synced = 0;
	if (have_blob && have_layer)
		return 1;
	if (have_blob) {
		_cleanup_free_ char *bp = store_blob_path(g->s, l->digest);
		int fd = open(bp, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			set_state(g, &l->layer, L_FAILED);
			return err_sys(err, errno, "layer %s", l->digest);
		}
		int r = start_unpacker(l, fd, err);
		if (r < 0) {
			close(fd);
			l->in.fd = -1;
			set_state(g, &l->layer, L_FAILED);
			return r;
		}
		return 1;
	}
	int r = blob_writer_open(g->s, &l->bw, err);
	if (r == 0)
		l->writing = true;
	if (r == 0 && !have_layer)
		r = start_unpacker(l, -1, err);
	if (r < 0) {
		set_state(g, &l->blob, L_FAILED);
		set_state(g, &l->layer, L_FAILED);
	}
	return r;
}

/* Write the current chunk to the blob and pass it to the unpacker. */
static int layer_flush(PullLayer *l, Error **err)
{
	Chunk *c = l->cur;
	if (!c || !c->len)
		return 0;
	l->cur = NULL;
	int r = blob_writer_write(&l->bw, c->data, c->len, err);
	if (r < 0) {
		free(c);
		return r;
	}
	if (l->bw.size - l->synced >= PULL_SYNC_STEP) {
		sync_file_range(l->bw.fd, (off64_t)l->synced, (off64_t)(l->bw.size - l->synced), SYNC_FILE_RANGE_WRITE);
		l->synced = l->bw.size;
	}
	if (l->feeding) {
		queue_push(&l->q, c);
	} else {
		c->len = 0; /* nobody unpacks: fill it again */
		l->cur = c;
	}
	return 0;
}

int img_pull_layer_write(ImgPullLayers *g, size_t i, const void *buf, size_t n, Error **err)
{
	PullLayer *l = &g->l[i];
	const char *p = buf;
	while (n) {
		if (!l->cur)
			l->cur = queue_take_spare(&l->q);
		size_t take = PULL_CHUNK - l->cur->len;
		if (take > n)
			take = n;
		memcpy(l->cur->data + l->cur->len, p, take);
		l->cur->len += take;
		p += take;
		n -= take;
		if (l->cur->len == PULL_CHUNK) {
			int r = layer_flush(l, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

uint64_t img_pull_layer_size(ImgPullLayers *g, size_t i)
{
	PullLayer *l = &g->l[i];
	return l->bw.size + (l->cur ? l->cur->len : 0);
}

/* Fail layer i's blob, stop its unpacker, drop what was written. */
static void layer_cancel(ImgPullLayers *g, PullLayer *l)
{
	free(l->cur);
	l->cur = NULL;
	if (l->writing) {
		blob_writer_abort(&l->bw);
		l->writing = false;
	}
	if (l->blob == L_PENDING)
		set_state(g, &l->blob, L_FAILED);
	if (l->feeding && l->thread)
		queue_set(&l->q, &l->q.aborted);
	join_unpacker(l);
	if (l->layer == L_PENDING) /* never started: the layers above must not wait */
		set_state(g, &l->layer, L_FAILED);
}

int img_pull_layer_restart(ImgPullLayers *g, size_t i, Error **err)
{
	PullLayer *l = &g->l[i];
	layer_cancel(g, l);
	err_free(l->err);
	l->err = NULL;
	l->rc = 0;
	return img_pull_layer_begin(g, i, err);
}

int img_pull_layer_finish(ImgPullLayers *g, size_t i, Error **err)
{
	PullLayer *l = &g->l[i];
	int r = layer_flush(l, err);
	if (l->feeding)
		queue_set(&l->q, r < 0 ? &l->q.aborted : &l->q.eof); /* end of input for the unpacker */
	if (r < 0) {
		layer_cancel(g, l);
		return r;
	}
	l->writing = false;
	r = blob_writer_commit(g->s, &l->bw, l->digest, err);
	set_state(g, &l->blob, r < 0 ? L_FAILED : L_OK);
	return r;
}

int img_pull_layers_wait(ImgPullLayers *g, Error **err)
{
	int r = 0;
	for (size_t i = 0; i < g->n; i++) {
		PullLayer *l = &g->l[i];
		if (l->writing) /* never finished: the download failed */
			layer_cancel(g, l);
		join_unpacker(l);
		if (l->layer == L_PENDING) {
			set_state(g, &l->layer, L_FAILED);
			if (r == 0)
				r = err_set(err, EIO, "layer %s was not pulled", l->digest);
		}
		if (r == 0 && l->rc < 0) {
			r = l->rc;
			if (err && !*err)
				*err = TAKE_PTR(l->err);
		}
	}
	return r;
}

void img_pull_layers_free(ImgPullLayers *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		layer_cancel(g, &g->l[i]);
	for (size_t i = 0; i < g->n; i++) {
		PullLayer *l = &g->l[i];
		err_free(l->err);
		chunks_free(l->q.spare);
		pthread_cond_destroy(&l->q.cond);
		pthread_mutex_destroy(&l->q.lock);
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g->l);
	free(g);
}
