/* websocket.c - RFC 6455 framing and the handshake key (see websocket.h). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "websocket.h"
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ws_accept_key(const char *key, char out[29])
{
	SHA_CTX c;
	unsigned char md[SHA_DIGEST_LENGTH];
	SHA1_Init(&c);
	SHA1_Update(&c, key, strlen(key));
	SHA1_Update(&c, ws_guid, sizeof(ws_guid) - 1);
	SHA1_Final(md, &c);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);  /* 28 chars + NUL */
}

static bool opcode_known(int op)
{
	return op == WS_CONT || op == WS_TEXT || op == WS_BINARY || op == WS_CLOSE || op == WS_PING || op == WS_PONG;
}

int ws_frame_decode(uint8_t *buf, size_t n, bool require_mask, WsFrame *ret)
{
	if (n < 2)
		return 0;
	int op = buf[0] & 0x0f;
	if ((buf[0] & 0x70) || !opcode_known(op))
		return -EPROTO;
	bool fin = buf[0] & 0x80, masked = buf[1] & 0x80;
	if (require_mask && !masked)
		return -EPROTO;
	uint64_t len = buf[1] & 0x7f;
	size_t pos = 2;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (uint64_t)buf[2] << 8 | buf[3];
		pos = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | buf[2 + i];
		pos = 10;
	}
	if (op >= WS_CLOSE && (!fin || len > 125))
		return -EPROTO;  /* control frames: unfragmented, short */
	if (len > WS_MAX_PAYLOAD)
		return -E2BIG;
	size_t mask_at = pos;
	if (masked)
		pos += 4;
	if (n < pos || n - pos < len)
		return 0;
	if (masked)
		for (size_t i = 0; i < len; i++)
			buf[pos + i] ^= buf[mask_at + (i & 3)];
	*ret = (WsFrame){ .fin = fin, .opcode = op, .payload = buf + pos, .len = (size_t)len };
	return (int)(pos + len);
}

size_t ws_frame_header(uint8_t hdr[10], int opcode, size_t len)
{
	hdr[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		hdr[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}
