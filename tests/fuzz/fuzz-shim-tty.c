/* fuzz-shim-tty.c - the parser of the messages a tty container's shim reads
 * on its tty.sock (agent/shim.h) on hostile bytes: the input is cut into
 * messages by a one-byte length before each (250..255: 1000..6000 bytes); a message is refused or
 * parsed into input bytes that lie inside it, or a window size that
 * encodes back to the same message. */
#include "../../src/agent/shim.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		size_t n = data[off] < 250 ? data[off] : (data[off] - 249u) * 1000u; /* past SHIM_TTY_MSG_MAX too */
		off++;
		if (n > size - off)
			n = size - off;
		const uint8_t *msg = data + off, *in = NULL;
		size_t len = 0;
		unsigned rows = 0, cols = 0;
		int t = shim_tty_parse(msg, n, &in, &len, &rows, &cols);
		if (t == SHIM_TTY_INPUT && (in != msg + 1 || len != n - 1 || n > SHIM_TTY_MSG_MAX))
			abort();
		if (t == SHIM_TTY_RESIZE) {
			uint8_t back[5];
			if (shim_tty_resize_msg(back, rows, cols) != n || memcmp(back, msg, n))
				abort();
		}
		if (t < 0 && t != -EBADMSG)
			abort();
		off += n;
	}
	return 0;
}
