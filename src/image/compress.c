/* compress.c - layer compressors for commits that ask for them (builds):
 * gzip that stores incompressible data, and zstd.
 *
 * zlib spends as long on random or already-compressed bytes as on text and
 * gains nothing, and a build's layers are often such bytes (archives, binaries).
 * So input is staged in 256 KiB chunks and each chunk's byte entropy picks
 * the level: above 7.6 bits/byte the chunk is written as stored deflate
 * blocks, otherwise it is compressed at zlib's default level.  The choice
 * depends only on the data, so the output is still reproducible, and it is
 * ordinary gzip (no timestamp, no name) any reader accepts.
 */
#include "image-internal.h"
#include <math.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK (256u << 10)
#define OUTBUF (128u << 10)

struct LayerCompressor {
	BlobWriter *bw;
	bool zstd;
	z_stream z;
	int level;
	ZSTD_CCtx *zc;
	unsigned char *stage;
	size_t staged;
	unsigned char *out;
};

static double chunk_entropy(const unsigned char *p, size_t n)
{
	uint32_t hist[256] = { 0 };
	for (size_t i = 0; i < n; i++)
		hist[p[i]]++;
	double h = 0;
	for (int i = 0; i < 256; i++) {
		if (!hist[i])
			continue;
		double f = (double)hist[i] / (double)n;
		h -= f * log2(f);
	}
	return h;
}

static int gz_drain(LayerCompressor *c, int flush, Error **err)
{
	do {
		c->z.next_out = c->out;
		c->z.avail_out = OUTBUF;
		int r = deflate(&c->z, flush);
		if (r == Z_STREAM_ERROR)
			return err_set(err, EIO, "gzip: deflate failed");
		size_t have = OUTBUF - c->z.avail_out;
		if (have && blob_writer_write(c->bw, c->out, have, err) < 0)
			return -EIO;
		if (r == Z_STREAM_END)
			break;
	} while (c->z.avail_out == 0 || (flush == Z_FINISH));
	return 0;
}

static int gz_chunk(LayerCompressor *c, bool last, Error **err)
{
	if (c->staged) {
		int level = chunk_entropy(c->stage, c->staged) > 7.6 ? 0 : Z_DEFAULT_COMPRESSION;
		if (level != c->level) {
			/* deflateParams flushes what it holds; it needs output room */
			for (;;) {
				c->z.next_out = c->out;
				c->z.avail_out = OUTBUF;
				int r = deflateParams(&c->z, level, Z_DEFAULT_STRATEGY);
				size_t have = OUTBUF - c->z.avail_out;
				if (have && blob_writer_write(c->bw, c->out, have, err) < 0)
					return -EIO;
				if (r == Z_OK)
					break;
				if (r != Z_BUF_ERROR)
					return err_set(err, EIO, "gzip: cannot change level");
			}
			c->level = level;
		}
		c->z.next_in = c->stage;
		c->z.avail_in = (uInt)c->staged;
		int r = gz_drain(c, Z_NO_FLUSH, err);
		if (r < 0)
			return r;
		c->staged = 0;
	}
	return last ? gz_drain(c, Z_FINISH, err) : 0;
}

static int zs_chunk(LayerCompressor *c, bool last, Error **err)
{
	ZSTD_inBuffer in = { c->stage, c->staged, 0 };
	ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
	for (;;) {
		ZSTD_outBuffer out = { c->out, OUTBUF, 0 };
		size_t left = ZSTD_compressStream2(c->zc, &out, &in, mode);
		if (ZSTD_isError(left))
			return err_set(err, EIO, "zstd: %s", ZSTD_getErrorName(left));
		if (out.pos && blob_writer_write(c->bw, c->out, out.pos, err) < 0)
			return -EIO;
		if (last ? left == 0 : in.pos == in.size)
			break;
	}
	c->staged = 0;
	return 0;
}

LayerCompressor *compressor_open(BlobWriter *bw, bool zstd, Error **err)
{
	LayerCompressor *c = xcalloc(1, sizeof(*c));
	c->bw = bw;
	c->zstd = zstd;
	c->stage = xmalloc(CHUNK);
	c->out = xmalloc(OUTBUF);
	if (zstd) {
		c->zc = ZSTD_createCCtx();
		if (!c->zc) {
			compressor_abort(c);
			err_set(err, ENOMEM, "zstd: cannot create a context");
			return NULL;
		}
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
	} else {
		c->level = Z_DEFAULT_COMPRESSION;
		/* 15 + 16: a gzip wrapper; zlib writes mtime 0 and no name */
		if (deflateInit2(&c->z, c->level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(c->stage);
			free(c->out);
			free(c);
			err_set(err, ENOMEM, "gzip: cannot start");
			return NULL;
		}
	}
	return c;
}

int compressor_write(LayerCompressor *c, const void *buf, size_t n, Error **err)
{
	const unsigned char *p = buf;
	while (n) {
		size_t take = CHUNK - c->staged < n ? CHUNK - c->staged : n;
		memcpy(c->stage + c->staged, p, take);
		c->staged += take;
		p += take;
		n -= take;
		if (c->staged == CHUNK) {
			int r = c->zstd ? zs_chunk(c, false, err) : gz_chunk(c, false, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void compressor_abort(LayerCompressor *c)
{
	if (!c)
		return;
	if (c->zstd)
		ZSTD_freeCCtx(c->zc);
	else
		deflateEnd(&c->z);
	free(c->stage);
	free(c->out);
	free(c);
}

int compressor_close(LayerCompressor *c, Error **err)
{
	int r = c->zstd ? zs_chunk(c, true, err) : gz_chunk(c, true, err);
	compressor_abort(c);
	return r;
}

const char *compressor_media_type(bool zstd)
{
	return zstd ? MT_OCI_LAYER_ZS : MT_OCI_LAYER_GZ;
}
