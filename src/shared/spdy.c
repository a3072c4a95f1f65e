/* spdy.c - SPDY/3.1 frames and compressed header blocks (see spdy.h).
 * Owns the protocol's fixed zlib dictionary, built once from its word
 * list: every word with a 4-byte big-endian length in front, then a run of
 * raw text. */
#include "spdy.h"
#include "../base/cleanup.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---- the dictionary (SPDY/3 section 2.6.10.1) ---- */

static const char *const dict_words[] = {
	"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
	"accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
	"content-base", "content-encoding", "content-language", "content-length", "content-location",
	"content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
	"if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
	"location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
	"retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
	"warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
	"public", "set-cookie", "keep-alive", "origin",
};
static const char dict_tail[] =
	"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
	"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
	"401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
	"503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
	"Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
	"application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,"
	"deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

#define DICT_SIZE 1423
static uint8_t dict[DICT_SIZE];
static size_t dict_len;
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
	size_t off = 0;
	for (size_t i = 0; i < sizeof(dict_words) / sizeof(dict_words[0]); i++) {
		size_t n = strlen(dict_words[i]);
		dict[off++] = 0;
		dict[off++] = 0;
		dict[off++] = 0;
		dict[off++] = (uint8_t)n;
		memcpy(dict + off, dict_words[i], n);
		off += n;
	}
	memcpy(dict + off, dict_tail, sizeof(dict_tail) - 1);
	dict_len = off + sizeof(dict_tail) - 1;
}

/* ---- big-endian helpers ---- */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(StrBuf *out, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	sb_add(out, b, 4);
}

/* ---- frames ---- */

int spdy_frame_decode(const uint8_t *buf, size_t n, SpdyFrame *ret)
{
	if (n < 8)
		return 0;
	size_t len = (size_t)buf[5] << 16 | (size_t)buf[6] << 8 | buf[7];
	if (len > SPDY_MAX_PAYLOAD)
		return -E2BIG;
	if (n - 8 < len)
		return 0;
	const uint8_t *p = buf + 8;
	SpdyFrame f = { .flags = buf[4], .payload = p, .len = len };
	if (!(buf[0] & 0x80)) {
		f.type = SPDY_DATA;
		f.stream = get32(buf) & 0x7fffffff;
		*ret = f;
		return (int)(8 + len);
	}
	if (((buf[0] & 0x7f) << 8 | buf[1]) != SPDY_VERSION)
		return -EPROTO;
	f.type = buf[2] << 8 | buf[3];
	size_t need = 0, skip = 0;
	switch (f.type) {
	case SPDY_SYN_STREAM:
		need = skip = 10;
		break;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		need = skip = 4;
		break;
	case SPDY_RST_STREAM:
	case SPDY_WINDOW_UPDATE:
	case SPDY_GOAWAY:
		need = 8;
		break;
	case SPDY_PING:
	case SPDY_SETTINGS:
		need = 4;
		break;
	default:
		break;  /* unknown control frames are skipped by the caller */
	}
	if (len < need)
		return -EPROTO;
	switch (f.type) {
	case SPDY_SYN_STREAM:
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		f.stream = get32(p) & 0x7fffffff;
		f.payload = p + skip;
		f.len = len - skip;
		break;
	case SPDY_RST_STREAM:
	case SPDY_WINDOW_UPDATE:
	case SPDY_GOAWAY:
		f.stream = get32(p) & 0x7fffffff;
		f.value = get32(p + 4) & (f.type == SPDY_WINDOW_UPDATE ? 0x7fffffff : 0xffffffff);
		break;
	case SPDY_PING:
		f.value = get32(p);
		break;
	default:
		break;
	}
	*ret = f;
	return (int)(8 + len);
}

static void put_control_head(StrBuf *out, int type, uint8_t flags, size_t len)
{
	put32(out, 0x80000000u | (uint32_t)SPDY_VERSION << 16 | (uint32_t)type);
	put32(out, (uint32_t)flags << 24 | (uint32_t)len);
}

void spdy_put_data(StrBuf *out, uint32_t stream, uint8_t flags, const void *data, size_t len)
{
	put32(out, stream & 0x7fffffff);
	put32(out, (uint32_t)flags << 24 | (uint32_t)len);
	if (len)
		sb_add(out, data, len);
}

void spdy_put_rst_stream(StrBuf *out, uint32_t stream, uint32_t status)
{
	put_control_head(out, SPDY_RST_STREAM, 0, 8);
	put32(out, stream & 0x7fffffff);
	put32(out, status);
}

void spdy_put_ping(StrBuf *out, uint32_t id)
{
	put_control_head(out, SPDY_PING, 0, 4);
	put32(out, id);
}

void spdy_put_goaway(StrBuf *out, uint32_t last_good, uint32_t status)
{
	put_control_head(out, SPDY_GOAWAY, 0, 8);
	put32(out, last_good & 0x7fffffff);
	put32(out, status);
}

/* ---- header lists ---- */

void spdy_headers_add(SpdyHeaders *h, const char *name, const char *value)
{
	if (h->n >= SPDY_MAX_HEADERS)
		return;
	h->v[h->n++] = (SpdyHeader){ .name = xstrdup(name), .value = xstrdup(value), .value_len = strlen(value) };
}

const char *spdy_header(const SpdyHeaders *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcasecmp(h->v[i].name, name))
			return h->v[i].value;
	return NULL;
}

void spdy_headers_clear(SpdyHeaders *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	h->n = 0;
}

/* ---- compression ---- */

struct SpdyZ {
	z_stream z;
	bool compress, dict_set;
};

SpdyZ *spdy_z_new(bool compress)
{
	pthread_once(&dict_once, dict_build);
	SpdyZ *s = xcalloc(1, sizeof(*s));
	s->compress = compress;
	int r = compress ? deflateInit(&s->z, Z_DEFAULT_COMPRESSION) : inflateInit(&s->z);
	if (r != Z_OK)
		abort();  /* only out of memory: as xmalloc */
	if (compress && deflateSetDictionary(&s->z, dict, (uInt)dict_len) != Z_OK)
		abort();
	return s;
}

void spdy_z_free(SpdyZ *s)
{
	if (!s)
		return;
	if (s->compress)
		deflateEnd(&s->z);
	else
		inflateEnd(&s->z);
	free(s);
}

int spdy_headers_decode(SpdyZ *s, const uint8_t *block, size_t n, SpdyHeaders *h)
{
	spdy_headers_clear(h);
	if (s->compress)
		return -EINVAL;
	_cleanup_free_ uint8_t *out = xmalloc(SPDY_MAX_HEADER_BLOCK + 1);
	size_t got = 0;
	s->z.next_in = (Bytef *)block;
	s->z.avail_in = (uInt)n;
	while (s->z.avail_in > 0) {
		s->z.next_out = out + got;
		s->z.avail_out = (uInt)(SPDY_MAX_HEADER_BLOCK + 1 - got);
		int r = inflate(&s->z, Z_SYNC_FLUSH);
		got = SPDY_MAX_HEADER_BLOCK + 1 - s->z.avail_out;
		if (r == Z_NEED_DICT) {
			if (s->dict_set || inflateSetDictionary(&s->z, dict, (uInt)dict_len) != Z_OK)
				return -EPROTO;
			s->dict_set = true;
			continue;
		}
		if (got > SPDY_MAX_HEADER_BLOCK)
			return -E2BIG;
		if (r == Z_BUF_ERROR && s->z.avail_in == 0)
			break;
		if (r != Z_OK)
			return -EPROTO;  /* includes Z_STREAM_END: one stream per connection */
	}
	/* the block itself: count, then (length, name, length, value) */
	size_t off = 0;
	if (got < 4)
		return -EPROTO;
	uint32_t count = get32(out);
	off = 4;
	if (count > SPDY_MAX_HEADERS)
		return -E2BIG;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t len[2];
		size_t at[2];
		for (int k = 0; k < 2; k++) {
			if (got - off < 4)
				return -EPROTO;
			len[k] = get32(out + off);
			off += 4;
			if (got - off < len[k])
				return -EPROTO;
			at[k] = off;
			off += len[k];
		}
		if (len[0] == 0)
			return -EPROTO;
		for (uint32_t c = 0; c < len[0]; c++) {
			uint8_t ch = out[at[0] + c];
			if (ch == 0 || (ch >= 'A' && ch <= 'Z'))
				return -EPROTO;
		}
		SpdyHeader *e = &h->v[h->n++];
		e->name = xstrndup((const char *)out + at[0], len[0]);
		e->value = xmalloc(len[1] + 1);
		memcpy(e->value, out + at[1], len[1]);
		e->value[len[1]] = 0;
		e->value_len = len[1];
	}
	return off == got ? 0 : -EPROTO;
}

/* Compress the block of h through z onto out. */
static void headers_encode(SpdyZ *s, const SpdyHeaders *h, StrBuf *out)
{
	_cleanup_(sb_releasep) StrBuf raw = { 0 };
	put32(&raw, (uint32_t)h->n);
	for (size_t i = 0; i < h->n; i++) {
		size_t nl = strlen(h->v[i].name);
		put32(&raw, (uint32_t)nl);
		for (size_t c = 0; c < nl; c++) {
			char ch = h->v[i].name[c];
			sb_addc(&raw, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch);
		}
		put32(&raw, (uint32_t)h->v[i].value_len);
		sb_add(&raw, h->v[i].value, h->v[i].value_len);
	}
	spdy_z_deflate(s, raw.buf, raw.len, out);
}

void spdy_z_deflate(SpdyZ *s, const void *raw, size_t n, StrBuf *out)
{
	s->z.next_in = (Bytef *)raw;
	s->z.avail_in = (uInt)n;
	do {
		sb_grow(out, 256);
		s->z.next_out = (Bytef *)out->buf + out->len;
		s->z.avail_out = (uInt)(out->cap - out->len - 1);
		size_t before = s->z.avail_out;
		deflate(&s->z, Z_SYNC_FLUSH);
		out->len += before - s->z.avail_out;
		out->buf[out->len] = 0;
	} while (s->z.avail_out == 0 || s->z.avail_in > 0);
}

static void put_headers_frame(StrBuf *out, SpdyZ *z, int type, uint32_t stream, uint8_t flags,
			      const SpdyHeaders *h)
{
	_cleanup_(sb_releasep) StrBuf block = { 0 };
	static const SpdyHeaders none = { .n = 0 };
	headers_encode(z, h ? h : &none, &block);
	size_t extra = type == SPDY_SYN_STREAM ? 10 : 4;
	put_control_head(out, type, flags, extra + block.len);
	put32(out, stream & 0x7fffffff);
	if (type == SPDY_SYN_STREAM) {
		put32(out, 0);                           /* associated stream */
		sb_add(out, "\0\0", 2);                  /* priority, slot */
	}
	sb_add(out, block.buf, block.len);
}

void spdy_put_syn_stream(StrBuf *out, SpdyZ *z, uint32_t stream, uint8_t flags, const SpdyHeaders *h)
{
	put_headers_frame(out, z, SPDY_SYN_STREAM, stream, flags, h);
}

void spdy_put_syn_reply(StrBuf *out, SpdyZ *z, uint32_t stream, uint8_t flags, const SpdyHeaders *h)
{
	put_headers_frame(out, z, SPDY_SYN_REPLY, stream, flags, h);
}
