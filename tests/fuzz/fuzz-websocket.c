/* fuzz-websocket.c - the WebSocket frame decoder on hostile bytes: decode
 * frame after frame as the agent's exec pump does; every frame it accepts
 * must lie inside the input. */
#include "../../src/shared/websocket.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	size_t off = 0;
	for (int mask = 0; mask < 2; mask++) {
		off = 0;
		memcpy(buf, data, size);
		while (off < size) {
			WsFrame f;
			int used = ws_frame_decode(buf + off, size - off, mask, &f);
			if (used <= 0)
				break;
			if (f.payload < buf + off || f.payload + f.len > buf + off + (size_t)used)
				abort();
			off += (size_t)used;
		}
	}
	free(buf);
	return 0;
}
