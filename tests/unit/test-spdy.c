/* test-spdy.c - SPDY/3.1 framing and header compression (shared/spdy.c):
 * frames round-trip through encode/decode, partial and hostile frames are
 * told apart, header blocks made by another zlib with the protocol's
 * dictionary decode (so ours is the real one), and one zlib stream carries
 * many blocks each way. */
#include "../../src/shared/spdy.h"
#include "../../src/base/cleanup.h"
#include "tap.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	for (; hex[0] && hex[1]; hex += 2)
		out[n++] = (uint8_t)strtoul((char[]){ hex[0], hex[1], 0 }, NULL, 16);
	return n;
}

/* Blocks from Python's zlib (level 9, the SPDY/3 dictionary of the spec),
 * one stream: {streamtype: error}, then {streamtype: stdout, port: 8080}. */
static void test_foreign_blocks(void)
{
	uint8_t b1[64], b2[64];
	size_t n1 = unhex("78f9e3c6a7c202a62346703a2b294a4dcc851625aca9a08006000000ffff", b1);
	size_t n2 = unhex("02651c0c2960624ec90797d1c022bb084c5b18581800000000ffff", b2);
	_cleanup_(spdy_z_freep) SpdyZ *in = spdy_z_new(false);
	SpdyHeaders h = { 0 };
	is_int(spdy_headers_decode(in, b1, n1, &h), 0, "a foreign first block decodes (dictionary matches)");
	is_int(h.n, 1, "one header");
	is_str(spdy_header(&h, "streamType"), "error", "streamType looked up without case");
	is_int(spdy_headers_decode(in, b2, n2, &h), 0, "the second block continues the same zlib stream");
	is_str(spdy_header(&h, "streamtype"), "stdout", "second block: streamtype");
	is_str(spdy_header(&h, "port"), "8080", "second block: port");
	ok(spdy_header(&h, "requestid") == NULL, "absent header is NULL");
	spdy_headers_clear(&h);
}

static void test_round_trip(void)
{
	_cleanup_(spdy_z_freep) SpdyZ *out = spdy_z_new(true);
	_cleanup_(spdy_z_freep) SpdyZ *in = spdy_z_new(false);
	_cleanup_(sb_releasep) StrBuf wire = { 0 };
	for (uint32_t id = 1; id <= 9; id += 2) {
		SpdyHeaders h = { 0 };
		char port[16];
		snprintf(port, sizeof(port), "%u", 8000 + id);
		spdy_headers_add(&h, "StreamType", id == 1 ? "error" : "data");
		spdy_headers_add(&h, "port", port);
		spdy_headers_add(&h, "requestid", "0");
		spdy_put_syn_stream(&wire, out, id, 0, &h);
		spdy_headers_clear(&h);
	}
	spdy_put_syn_reply(&wire, out, 1, SPDY_FLAG_FIN, NULL);
	size_t off = 0, frames = 0;
	bool all_ok = true;
	while (off < wire.len) {
		SpdyFrame f;
		int used = spdy_frame_decode((uint8_t *)wire.buf + off, wire.len - off, &f);
		if (used <= 0) {
			all_ok = false;
			break;
		}
		SpdyHeaders h = { 0 };
		int r = spdy_headers_decode(in, f.payload, f.len, &h);
		if (f.type == SPDY_SYN_STREAM) {
			char port[16];
			snprintf(port, sizeof(port), "%u", 8000 + f.stream);
			all_ok &= r == 0 && h.n == 3 && !strcmp(spdy_header(&h, "streamtype"), f.stream == 1 ? "error" : "data") &&
				  !strcmp(spdy_header(&h, "port"), port) && !strcmp(h.v[0].name, "streamtype");
		} else {
			is_int(f.type, SPDY_SYN_REPLY, "last frame is the reply");
			is_int(f.flags, SPDY_FLAG_FIN, "reply keeps its FIN flag");
			is_int(f.stream, 1, "reply stream id");
			all_ok &= r == 0 && h.n == 0;
		}
		spdy_headers_clear(&h);
		off += (size_t)used;
		frames++;
	}
	ok(all_ok, "five SYN_STREAMs and a SYN_REPLY decode through one zlib stream (names lowered)");
	is_int(frames, 6, "six frames");

	/* a value holding several NUL-separated values survives */
	SpdyHeaders h = { 0 }, back = { 0 };
	h.v[0] = (SpdyHeader){ .name = xstrdup("x-multi"), .value = xstrdup("a"), .value_len = 3 };
	memcpy(h.v[0].value = xrealloc(h.v[0].value, 4), "a\0b", 4);
	h.n = 1;
	_cleanup_(sb_releasep) StrBuf one = { 0 };
	spdy_put_syn_reply(&one, out, 3, 0, &h);
	SpdyFrame f;
	ok(spdy_frame_decode((uint8_t *)one.buf, one.len, &f) > 0 && spdy_headers_decode(in, f.payload, f.len, &back) == 0 &&
		   back.v[0].value_len == 3 && !memcmp(back.v[0].value, "a\0b", 3),
	   "NUL-separated values kept");
	spdy_headers_clear(&h);
	spdy_headers_clear(&back);
}

static void test_frames(void)
{
	_cleanup_(sb_releasep) StrBuf w = { 0 };
	spdy_put_data(&w, 5, SPDY_FLAG_FIN, "hello", 5);
	SpdyFrame f;
	is_int(spdy_frame_decode((uint8_t *)w.buf, w.len, &f), 13, "data frame: 8 + 5 bytes");
	ok(f.type == SPDY_DATA && f.stream == 5 && f.flags == SPDY_FLAG_FIN && f.len == 5 && !memcmp(f.payload, "hello", 5),
	   "data frame fields");
	is_int(spdy_frame_decode((uint8_t *)w.buf, 12, &f), 0, "a partial data frame asks for more");
	is_int(spdy_frame_decode((uint8_t *)w.buf, 7, &f), 0, "a partial head asks for more");
	sb_reset(&w);
	spdy_put_data(&w, 7, SPDY_FLAG_FIN, NULL, 0);
	ok(spdy_frame_decode((uint8_t *)w.buf, w.len, &f) == 8 && f.len == 0 && f.flags == SPDY_FLAG_FIN && f.stream == 7,
	   "empty FIN data frame");

	sb_reset(&w);
	spdy_put_ping(&w, 0x01020304);
	ok(spdy_frame_decode((uint8_t *)w.buf, w.len, &f) == 12 && f.type == SPDY_PING && f.value == 0x01020304, "ping id");
	ok((uint8_t)w.buf[0] == 0x80 && w.buf[1] == 3 && w.buf[3] == 6, "control bit, version 3, type 6 on the wire");
	sb_reset(&w);
	spdy_put_rst_stream(&w, 9, SPDY_CANCEL);
	ok(spdy_frame_decode((uint8_t *)w.buf, w.len, &f) == 16 && f.type == SPDY_RST_STREAM && f.stream == 9 &&
		   f.value == SPDY_CANCEL,
	   "rst_stream fields");
	sb_reset(&w);
	spdy_put_goaway(&w, 11, 0);
	ok(spdy_frame_decode((uint8_t *)w.buf, w.len, &f) == 16 && f.type == SPDY_GOAWAY && f.stream == 11, "goaway fields");

	/* hostile input */
	uint8_t v2[12] = { 0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1 };
	is_int(spdy_frame_decode(v2, sizeof(v2), &f), -EPROTO, "SPDY/2 control frame refused");
	uint8_t shortrst[12] = { 0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1 };
	is_int(spdy_frame_decode(shortrst, sizeof(shortrst), &f), -EPROTO, "RST_STREAM shorter than 8 refused");
	uint8_t shortsyn[10] = { 0x80, 3, 0, 1, 0, 0, 0, 2, 0, 1 };
	is_int(spdy_frame_decode(shortsyn, sizeof(shortsyn), &f), -EPROTO, "SYN_STREAM shorter than 10 refused");
	uint8_t huge[8] = { 0, 0, 0, 1, 0, 0xff, 0xff, 0xff };
	is_int(spdy_frame_decode(huge, sizeof(huge), &f), -E2BIG, "16 MiB data frame refused");
	uint8_t unknown[10] = { 0x80, 3, 0, 42, 0, 0, 0, 2, 7, 7 };
	ok(spdy_frame_decode(unknown, sizeof(unknown), &f) == 10 && f.type == 42, "unknown control type is skipped whole");
}

static void test_bad_blocks(void)
{
	SpdyHeaders h = { 0 };
	_cleanup_(spdy_z_freep) SpdyZ *in = spdy_z_new(false);
	uint8_t junk[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	ok(spdy_headers_decode(in, junk, sizeof(junk), &h) < 0, "garbage is not a zlib stream");

	/* an upper-case name, a count over the limit and a truncated block, each
	 * compressed validly: the decoder must reject the content itself */
	static const uint8_t upper[] = { 0, 0, 0, 1, 0, 0, 0, 1, 'A', 0, 0, 0, 1, 'x' };
	static const uint8_t many[] = { 0, 0, 1, 0 };
	static const uint8_t trunc[] = { 0, 0, 0, 1, 0, 0, 0, 9, 'a' };
	const struct { const uint8_t *b; size_t n; int want; const char *what; } cases[] = {
		{ upper, sizeof(upper), -EPROTO, "upper-case name refused" },
		{ many, sizeof(many), -E2BIG, "256 headers refused" },
		{ trunc, sizeof(trunc), -EPROTO, "truncated block refused" },
	};
	for (size_t i = 0; i < 3; i++) {
		SpdyZ *dz = spdy_z_new(false);
		_cleanup_(sb_releasep) StrBuf z = { 0 };
		SpdyZ *cz = spdy_z_new(true);
		spdy_z_deflate(cz, cases[i].b, cases[i].n, &z);
		spdy_z_free(cz);
		is_int(spdy_headers_decode(dz, (uint8_t *)z.buf, z.len, &h), cases[i].want, "%s", cases[i].what);
		spdy_z_free(dz);
	}
	spdy_headers_clear(&h);
}

int main(void)
{
	test_foreign_blocks();
	test_round_trip();
	test_frames();
	test_bad_blocks();
	return tap_done();
}
