/* chart-tar.c - chart archives (.tgz): a small in-memory gzip + ustar reader
 * and writer.  Charts are small and untrusted, so the reader inflates with a
 * hard cap on the total (BERTH_MAX_CHART_SIZE) and on each file
 * (BERTH_MAX_CHART_FILE), understands ustar prefixes, GNU long names and
 * PAX "path" records, and leaves path policy to the loader.  The writer
 * produces plain ustar entries (mode 0644, Helm's layout NAME/...) gzipped,
 * which Helm's loader and `tar` both read.
 */
#include "chart-internal.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Inflate gzip data into a malloc'd buffer of at most max bytes. */
static int gunzip(const char *data, size_t len, size_t max, char **ret, size_t *ret_len, Error **err)
{
	if (len < 2 || (unsigned char)data[0] != 0x1f || (unsigned char)data[1] != 0x8b)
		return err_set(err, EINVAL, "file does not appear to be a gzipped archive");
	z_stream z = { 0 };
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return err_set(err, ENOMEM, "inflateInit failed");
	size_t cap = 64 << 10, n = 0;
	char *out = xmalloc(cap);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	int rc;
	do {
		if (n == cap) {
			if (cap >= max + 1) {
				inflateEnd(&z);
				free(out);
				return err_set(err, EFBIG, "chart archive exceeds the maximum decompressed size of %zu bytes", max);
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			out = xrealloc(out, cap);
		}
		z.next_out = (Bytef *)out + n;
		z.avail_out = (uInt)(cap - n);
		rc = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
		if (rc == Z_STREAM_END && z.avail_in > 0) {   /* concatenated members */
			if (inflateReset(&z) != Z_OK)
				break;
			rc = Z_OK;
		}
	} while (rc == Z_OK || (rc == Z_BUF_ERROR && n == cap));
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return err_set(err, EINVAL, "gzip: %s", z.msg ? z.msg : "invalid compressed data");
	}
	if (n > max) {
		free(out);
		return err_set(err, EFBIG, "chart archive exceeds the maximum decompressed size of %zu bytes", max);
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

static uint64_t octal(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == 0))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

/* The "path" record of a PAX header, if any (malloc'd). */
static char *pax_path(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t rl = 0, j = i;
		while (j < n && p[j] >= '0' && p[j] <= '9')
			rl = rl * 10 + (size_t)(p[j++] - '0');
		if (rl == 0 || i + rl > n || j >= n || p[j] != ' ')
			return NULL;
		const char *kv = p + j + 1, *end = p + i + rl - 1;   /* record ends in '\n' */
		if (end > kv && !strncmp(kv, "path=", 5))
			return xstrndup(kv + 5, (size_t)(end - kv - 5));
		i += rl;
	}
	return NULL;
}

int chart_tar_read(const char *data, size_t len, ChartFile **ret, size_t *ret_n, Error **err)
{
	char *buf = NULL;
	size_t blen = 0;
	if (gunzip(data, len, BERTH_MAX_CHART_SIZE, &buf, &blen, err) < 0)
		return -EINVAL;
	ChartFile *files = NULL;
	size_t nf = 0, cap = 0, off = 0;
	char *longname = NULL;
	int rc = 0;
	while (off + 512 <= blen) {
		const char *h = buf + off;
		if (!h[0]) {                          /* end-of-archive block */
			break;
		}
		uint64_t size = octal(h + 124, 12);
		char type = h[156];
		off += 512;
		if (size > blen - off) {
			rc = err_set(err, EINVAL, "tar: unexpected EOF");
			break;
		}
		const char *body = buf + off;
		off += (size + 511) & ~(uint64_t)511;
		if (type == 'L' || type == 'x') {
			free(longname);
			longname = type == 'L' ? xstrndup(body, strnlen(body, size)) : pax_path(body, size);
			continue;
		}
		if (type == 'g' || type == 'K')
			continue;
		char name[BERTH_MAX_TAR_ENTRY_NAME + 1];
		if (longname) {
			snprintf(name, sizeof name, "%s", longname);
			free(longname);
			longname = NULL;
		} else if (!memcmp(h + 257, "ustar", 5) && h[345]) {
			snprintf(name, sizeof name, "%.*s/%.*s", (int)strnlen(h + 345, 155), h + 345,
				 (int)strnlen(h, 100), h);
		} else {
			snprintf(name, sizeof name, "%.*s", (int)strnlen(h, 100), h);
		}
		if (type != '0' && type != 0 && type != '7')
			continue;                     /* directories, links, devices: not chart content */
		if (size > BERTH_MAX_CHART_FILE) {
			rc = err_set(err, EFBIG, "decompressed chart file %s is larger than the maximum file size %u",
				     name, BERTH_MAX_CHART_FILE);
			break;
		}
		if (nf >= BERTH_MAX_CHART_FILES) {
			rc = err_set(err, EFBIG, "chart archive has more than %u files", BERTH_MAX_CHART_FILES);
			break;
		}
		if (nf == cap) {
			cap = cap ? cap * 2 : 16;
			files = xrealloc(files, cap * sizeof *files);
		}
		files[nf].name = xstrdup(name);
		files[nf].data = xmalloc(size + 1);
		memcpy(files[nf].data, body, size);
		files[nf].data[size] = 0;
		files[nf].len = size;
		nf++;
	}
	free(longname);
	free(buf);
	if (rc < 0) {
		chart_files_free(files, nf);
		return rc;
	}
	*ret = files;
	*ret_n = nf;
	return 0;
}

/* ---- writing ---------------------------------------------------------------------- */
static void tar_header(StrBuf *out, const char *name, size_t size, char type, long mtime)
{
	char h[512] = { 0 };
	size_t nl = strlen(name);
	if (nl > 100) {                       /* split into prefix/name at a '/' */
		const char *cut = name + nl - 100;
		const char *slash = strchr(cut, '/');
		if (slash && (size_t)(slash - name) <= 155) {
			memcpy(h + 345, name, (size_t)(slash - name));
			memcpy(h, slash + 1, strlen(slash + 1));
		} else {
			memcpy(h, name, 100);
		}
	} else {
		memcpy(h, name, nl);
	}
	snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011lo", (unsigned long)size);
	snprintf(h + 136, 12, "%011lo", (unsigned long)mtime);
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257, "ustar\0" "00", 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	sb_add(out, h, 512);
}

int chart_tar_write(const ChartFile *files, size_t n, long mtime, StrBuf *out, Error **err)
{
	StrBuf tar = STRBUF_INIT;
	sb_init(&tar);
	for (size_t i = 0; i < n; i++) {
		tar_header(&tar, files[i].name, files[i].len, '0', mtime);
		sb_add(&tar, files[i].data, files[i].len);
		static const char zeros[512];
		if (files[i].len % 512)
			sb_add(&tar, zeros, 512 - files[i].len % 512);
	}
	static const char end[1024];
	sb_add(&tar, end, sizeof end);
	z_stream z = { 0 };
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		sb_release(&tar);
		return err_set(err, ENOMEM, "deflateInit failed");
	}
	size_t bound = deflateBound(&z, tar.len);
	char *zb = xmalloc(bound);
	z.next_in = (Bytef *)tar.buf;
	z.avail_in = (uInt)tar.len;
	z.next_out = (Bytef *)zb;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	size_t zn = bound - z.avail_out;
	deflateEnd(&z);
	sb_release(&tar);
	if (rc != Z_STREAM_END) {
		free(zb);
		return err_set(err, EIO, "gzip: deflate failed");
	}
	sb_add(out, zb, zn);
	free(zb);
	return 0;
}
