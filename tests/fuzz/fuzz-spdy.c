/* fuzz-spdy.c - the SPDY/3.1 frame decoder and header-block inflater on
 * hostile bytes, as the agent's stream servers run them: frame after
 * frame, every header block through one zlib stream; an accepted frame's
 * payload must lie inside the input, and a decoded header list must be
 * within the limits. */
#include "../../src/shared/spdy.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SpdyZ *z = spdy_z_new(false);
	SpdyHeaders h = { 0 };
	size_t off = 0;
	while (off < size) {
		SpdyFrame f;
		int used = spdy_frame_decode(data + off, size - off, &f);
		if (used <= 0)
			break;
		if ((size_t)used > size - off || f.payload < data + off || f.payload + f.len > data + off + (size_t)used)
			abort();
		if (f.type == SPDY_SYN_STREAM || f.type == SPDY_SYN_REPLY || f.type == SPDY_HEADERS) {
			if (spdy_headers_decode(z, f.payload, f.len, &h) < 0)
				break;  /* the stream is out of sync: the connection ends */
			if (h.n > SPDY_MAX_HEADERS)
				abort();
		}
		off += (size_t)used;
	}
	spdy_headers_clear(&h);
	spdy_z_free(z);
	return 0;
}
