/* spdy.h - SPDY/3.1 framing as kubectl speaks it for exec, attach and
 * port-forward before WebSocket (kubectl <= 1.29, and later ones when a
 * WebSocket upgrade is refused): frames decoded from and encoded into
 * buffers, and the header blocks with their zlib compression (SPDY/3's
 * fixed dictionary, ONE zlib stream per direction for the whole
 * connection, so every block sent or received must go through the same
 * SpdyZ in order).  Pure functions over buffers: the decoder is fuzzed on
 * its own.  No flow control: kubectl's SPDY library neither sends nor
 * honours WINDOW_UPDATE.
 */
#ifndef BERTH_SHARED_SPDY_H
#define BERTH_SHARED_SPDY_H
#include "../base/strbuf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SPDY_DATA = 0,  /* not a control type: a data frame */
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};
#define SPDY_FLAG_FIN 0x01
#define SPDY_VERSION 3
/* RST_STREAM status codes used here */
enum { SPDY_PROTOCOL_ERROR = 1, SPDY_INVALID_STREAM = 2, SPDY_CANCEL = 5 };

/* Largest frame payload accepted from a peer (kubectl writes <= 32 KiB). */
#define SPDY_MAX_PAYLOAD (1u << 20)
/* Largest decompressed header block, and most pairs in one. */
#define SPDY_MAX_HEADER_BLOCK (64u * 1024)
#define SPDY_MAX_HEADERS 64

typedef struct SpdyFrame {
	int type;          /* SPDY_DATA or a control type (unknown types are kept) */
	uint8_t flags;
	uint32_t stream;   /* data, SYN_STREAM/REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE */
	uint32_t value;    /* RST_STREAM/GOAWAY status, PING id, WINDOW_UPDATE delta,
			    * GOAWAY: the last good stream in `stream` */
	const uint8_t *payload;  /* data; for SYN_STREAM/SYN_REPLY/HEADERS the
				  * compressed header block (into the caller's buffer) */
	size_t len;
} SpdyFrame;

/* Decode one frame from buf[0..n): 0 = need more bytes, > 0 = bytes used,
 * < 0 = protocol error (-EPROTO: a control frame of another version or too
 * short for its type; -E2BIG: payload over SPDY_MAX_PAYLOAD). */
int spdy_frame_decode(const uint8_t *buf, size_t n, SpdyFrame *ret);

/* Header names/values (names lower case on the wire; a value may hold
 * several values separated by NUL bytes, kept as they are). */
typedef struct SpdyHeader {
	char *name, *value;
	size_t value_len;
} SpdyHeader;
typedef struct SpdyHeaders {
	SpdyHeader v[SPDY_MAX_HEADERS];
	size_t n;
} SpdyHeaders;

void spdy_headers_add(SpdyHeaders *h, const char *name, const char *value);
/* The (first) value of name, compared without case; NULL when absent. */
const char *spdy_header(const SpdyHeaders *h, const char *name);
void spdy_headers_clear(SpdyHeaders *h);

/* One direction's zlib stream. */
typedef struct SpdyZ SpdyZ;
SpdyZ *spdy_z_new(bool compress);
void spdy_z_free(SpdyZ *z);
static inline void spdy_z_freep(SpdyZ **z) { spdy_z_free(*z); }

/* Decompress and parse a header block through z (the inflating side):
 * 0, or -EPROTO (bad zlib data, truncated or malformed block, a name that
 * is empty or not lower case), -E2BIG (over the limits).  After an error
 * the stream is out of sync: drop the connection.  h is cleared first. */
int spdy_headers_decode(SpdyZ *z, const uint8_t *block, size_t n, SpdyHeaders *h);

/* Compress a raw (already laid out) header block through z onto out: what
 * the frame writers below use; tests and fuzzers craft blocks with it. */
void spdy_z_deflate(SpdyZ *z, const void *raw, size_t n, StrBuf *out);

/* Frames appended to out.  Blocks go through z (the deflating side). */
void spdy_put_syn_stream(StrBuf *out, SpdyZ *z, uint32_t stream, uint8_t flags, const SpdyHeaders *h);
void spdy_put_syn_reply(StrBuf *out, SpdyZ *z, uint32_t stream, uint8_t flags, const SpdyHeaders *h);
void spdy_put_data(StrBuf *out, uint32_t stream, uint8_t flags, const void *data, size_t len);
void spdy_put_rst_stream(StrBuf *out, uint32_t stream, uint32_t status);
void spdy_put_ping(StrBuf *out, uint32_t id);
void spdy_put_goaway(StrBuf *out, uint32_t last_good, uint32_t status);

#endif
