/* test-shared.c - unit tests for src/shared: JSON glue, digests, WebSocket framing, pod QoS class. */
#include "tap.h"
#include "../../src/shared/digest.h"
#include "../../src/shared/json.h"
#include "../../src/shared/podqos.h"
#include "../../src/base/cleanup.h"
#include "../../src/shared/websocket.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_websocket(void)
{
	char acc[29];
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc);  /* RFC 6455 section 1.3 */
	is_str(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Sec-WebSocket-Accept of the RFC's example");
	/* a masked client frame: "Hello" with the RFC's mask */
	uint8_t f1[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	WsFrame f;
	is_int(ws_frame_decode(f1, sizeof(f1), true, &f), (int)sizeof(f1), "masked frame consumed whole");
	ok(f.fin && f.opcode == WS_TEXT && f.len == 5 && !memcmp(f.payload, "Hello", 5), "masked payload unmasked");
	is_int(ws_frame_decode(f1, 6, true, &f), 0, "a partial frame asks for more");
	uint8_t unmasked[] = { 0x82, 0x01, 0x00 };
	is_int(ws_frame_decode(unmasked, 3, true, &f), -EPROTO, "unmasked client frame refused");
	is_int(ws_frame_decode(unmasked, 3, false, &f), 3, "unmasked frame fine from a server");
	uint8_t rsv[] = { 0xc2, 0x00 };
	is_int(ws_frame_decode(rsv, 2, false, &f), -EPROTO, "reserved bits refused");
	uint8_t big[10] = { 0x82, 0x7f, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff };
	is_int(ws_frame_decode(big, 10, false, &f), -E2BIG, "2 GiB frame refused");
	uint8_t ping[] = { 0x09, 0x00 };
	is_int(ws_frame_decode(ping, 2, false, &f), -EPROTO, "fragmented control frame refused");
	uint8_t hdr[10];
	is_int((int)ws_frame_header(hdr, WS_BINARY, 5), 2, "short header");
	is_int((int)ws_frame_header(hdr, WS_BINARY, 300), 4, "16-bit length header");
	ok(hdr[0] == 0x82 && hdr[1] == 126 && hdr[2] == 1 && hdr[3] == 44, "16-bit length encoded big-endian");
	is_int((int)ws_frame_header(hdr, WS_BINARY, 70000), 10, "64-bit length header");
}

static const char *qos_of(const char *containers)
{
	static char buf[16];
	_cleanup_free_ char *text = xasprintf("{\"spec\":{%s}}", containers);
	json_t *pod = json_loads(text, 0, NULL);
	snprintf(buf, sizeof(buf), "%s", pod ? pod_qos_class(pod) : "bad json");
	json_decref(pod);
	return buf;
}

static void test_qos_class(void)
{
	is_str(qos_of("\"containers\":[{\"name\":\"a\"}]"), "BestEffort", "qos: nothing asked");
	is_str(qos_of("\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]"), "Burstable",
	       "qos: a request without limits");
	is_str(qos_of("\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"64Mi\"}}}]"),
	       "Guaranteed", "qos: limits only (requests default to them)");
	is_str(qos_of("\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"64Mi\"},"
		      "\"requests\":{\"cpu\":\"500m\"}}}]"), "Burstable", "qos: a request below its limit");
	is_str(qos_of("\"containers\":[{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"64Mi\"}}},"
		      "{\"name\":\"b\"}]"), "Burstable", "qos: one container without limits");
	is_str(qos_of("\"initContainers\":[{\"resources\":{\"requests\":{\"memory\":\"1Mi\"}}}],"
		      "\"containers\":[{\"name\":\"a\"}]"), "Burstable", "qos: init containers count");
}

int main(void)
{
	char d[72];
	sha256_buf("", 0, d);
	is_str(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of empty");
	sha256_buf("abc", 3, d);
	is_str(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 abc");
	ok(digest_valid(d), "digest_valid accepts");
	ok(!digest_valid("sha256:ABC"), "digest_valid rejects short");
	ok(!digest_valid("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "rejects algo");

	json_t *j = NULL;
	Error *e = NULL;
	const char *doc = "{\"a\":{\"b\":[\"x\",\"y\"]},\"n\":3}";
	ok(json_parse_buf(doc, strlen(doc), "t", &j, &e) == 0, "parse");
	is_int(json_int(j, "n", 0), 3, "json_int");
	char **v = json_to_strv(json_path(j, "a.b"));
	ok(v && v[0] && !strcmp(v[1], "y") && !v[2], "json_path + json_to_strv");
	strv_free(v);
	json_decref(j);
	j = NULL;
	ok(json_parse_buf("{\"a\":", 5, "manifest 'm'", &j, &e) == -EINVAL, "bad json rejected");
	ok(e && strstr(e->msg, "manifest 'm': invalid JSON at line 1"), "error names input and place");
	err_free(e);
	test_websocket();
	test_qos_class();
	return tap_done();
}
