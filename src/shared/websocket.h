/* websocket.h - the WebSocket wire format (RFC 6455) as the node agent
 * speaks it to kubectl's exec/attach streams (through the API server):
 * the handshake's accept key and frame encoding/decoding.  Pure functions
 * over buffers, so the decoder can be fuzzed on its own.
 */
#ifndef BERTH_SHARED_WEBSOCKET_H
#define BERTH_SHARED_WEBSOCKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* Largest frame payload accepted from a peer (kubectl sends <= 32 KiB). */
#define WS_MAX_PAYLOAD (1u << 20)

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
 * out must hold 29 bytes. */
void ws_accept_key(const char *key, char out[29]);

typedef struct WsFrame {
	bool fin;
	int opcode;
	const uint8_t *payload;  /* points into the caller's buffer, unmasked in place */
	size_t len;
} WsFrame;

/* Decode one frame from buf[0..n): 0 = need more bytes, > 0 = bytes used
 * (frame filled, masked payload unmasked in place), < 0 = protocol error
 * (-EPROTO: reserved bits, bad opcode, fragmented control frame, missing
 * mask when require_mask; -E2BIG: payload over WS_MAX_PAYLOAD). */
int ws_frame_decode(uint8_t *buf, size_t n, bool require_mask, WsFrame *ret);

/* The header of an unmasked server frame (FIN set) for a payload of len
 * bytes; returns the header size (2, 4 or 10). */
size_t ws_frame_header(uint8_t hdr[10], int opcode, size_t len);

#endif
