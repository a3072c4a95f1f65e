/* test-agentpull.c - the pure parts of the agent's image puller
 * (src/agent/pull.c): registry keys of a docker config matched against an
 * image's repository as the kubelet's keyring does, the credentials a
 * kubernetes.io/dockerconfigjson or dockercfg Secret yields (order, auth
 * vs username/password, other types, malformed data), the durations of the
 * Pulled Event in Go's notation, the pull back-off schedule and an image's
 * repository for imageID.
 * Pulls from a real registry are tests/integration/test_agent_pull.py. */
#include "tap.h"
#include "../../src/agent/agent-internal.h"
#include "../../src/base/cleanup.h"
#include "../../src/shared/json.h"
#include <errno.h>
#include <string.h>

static char *b64(const char *s)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n / 3 * 4 + 8);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

/* A Secret of type with data[field] = base64(config json). */
static json_t *secret(const char *type, const char *field, json_t *config)
{
	_cleanup_free_ char *text = json_dumps(config, JSON_COMPACT);
	_cleanup_free_ char *enc = b64(text);
	json_decref(config);
	return json_pack("{s:{s:s}, s:s, s:{s:s}}", "metadata", "name", "regcred", "type", type, "data", field, enc);
}

static void test_key_match(void)
{
	const char *repo = "127.0.0.1:5000/test/bb";
	ok(agent_registry_key_match("127.0.0.1:5000", repo), "host:port key");
	ok(agent_registry_key_match("https://127.0.0.1:5000/v2/", repo), "scheme and /v2/ dropped");
	ok(agent_registry_key_match("http://127.0.0.1:5000", repo), "http scheme");
	ok(agent_registry_key_match("127.0.0.1:5000/test", repo), "a path prefix");
	ok(agent_registry_key_match("127.0.0.1:5000/test/", repo), "a path prefix with a slash");
	ok(!agent_registry_key_match("127.0.0.1:5000/tes", repo), "a path prefix ends at a slash");
	ok(!agent_registry_key_match("127.0.0.1:5000/other", repo), "another path");
	ok(!agent_registry_key_match("127.0.0.1:5001", repo), "another port");
	ok(!agent_registry_key_match("127.0.0.1", repo), "no port in the key: the port must still match");
	ok(!agent_registry_key_match("127.0.0.1:5000", "127.0.0.1/test/bb"), "a port the image lacks");
	ok(agent_registry_key_match("*.example.com", "reg.example.com/a/b"), "a glob label");
	ok(!agent_registry_key_match("*.example.com", "a.reg.example.com/a"), "globs do not cross labels");
	ok(!agent_registry_key_match("*.example.com", "example.com/a"), "label counts differ");
	ok(agent_registry_key_match("reg-?.example.com", "reg-1.example.com/a"), "? in a label");
	ok(agent_registry_key_match("https://index.docker.io/v1/", "docker.io/library/busybox"),
	   "Docker Hub's config key");
	ok(agent_registry_key_match("docker.io", "docker.io/library/busybox"), "docker.io key");
	ok(!agent_registry_key_match("quay.io", "docker.io/library/busybox"), "another registry");
	ok(!agent_registry_key_match("", repo) && !agent_registry_key_match(NULL, repo), "empty keys match nothing");
}

static void test_secret_creds(void)
{
	_cleanup_free_ char *a1 = b64("alice:secret1"), *a2 = b64("dave:pw:with:colons"), *a3 = b64("x:y");
	json_t *cfg = json_pack("{s:{s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:{s:s}}}", "auths", "127.0.0.1:5000", "auth", a1,
				"https://127.0.0.1:5000/test/", "username", "bob", "password", "pw2", "other.io", "auth",
				a3, "127.0.0.1:5000/test/bb", "auth", a2);
	_cleanup_json_ json_t *s = secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", cfg);
	_cleanup_json_ json_t *creds = json_array();
	Error *e = NULL;
	is_int(agent_pull_secret_creds(s, "127.0.0.1:5000/test/bb", creds, &e), 0, "dockerconfigjson parsed");
	is_int((int)json_array_size(creds), 3, "three keys match, other.io does not");
	is_str(json_str(json_array_get(creds, 0), "user"), "dave", "the most specific key first");
	is_str(json_str(json_array_get(creds, 0), "password"), "pw:with:colons", "auth splits at the first colon");
	is_str(json_str(json_array_get(creds, 1), "user"), "bob", "then the path key");
	is_str(json_str(json_array_get(creds, 1), "password"), "pw2", "username/password without auth");
	is_str(json_str(json_array_get(creds, 2), "user"), "alice", "the host key last");
	is_str(json_str(json_array_get(creds, 2), "password"), "secret1", "auth decoded");

	_cleanup_json_ json_t *none = json_array();
	is_int(agent_pull_secret_creds(s, "127.0.0.1:5000/else/x", none, &e), 0, "parsed again");
	is_int((int)json_array_size(none), 1, "only the host key matches another repository");

	/* dockercfg: the entries at the top level */
	json_t *old = json_pack("{s:{s:s, s:s, s:s}}", "127.0.0.1:5000", "username", "carol", "password", "pw3", "email",
				"c@example.com");
	_cleanup_json_ json_t *s2 = secret("kubernetes.io/dockercfg", ".dockercfg", old);
	_cleanup_json_ json_t *c2 = json_array();
	is_int(agent_pull_secret_creds(s2, "127.0.0.1:5000/test/bb", c2, &e), 0, "dockercfg parsed");
	is_int((int)json_array_size(c2), 1, "one entry");
	is_str(json_str(json_array_get(c2, 0), "user"), "carol", "dockercfg user");

	/* the type decides: an Opaque secret with the same key yields nothing */
	json_t *cfg3 = json_pack("{s:{s:{s:s}}}", "auths", "127.0.0.1:5000", "auth", a1);
	_cleanup_json_ json_t *s3 = secret("Opaque", ".dockerconfigjson", cfg3);
	_cleanup_json_ json_t *c3 = json_array();
	is_int(agent_pull_secret_creds(s3, "127.0.0.1:5000/test/bb", c3, &e), 0, "Opaque is no error");
	is_int((int)json_array_size(c3), 0, "and gives no credentials");

	/* malformed: not base64, not JSON, auths not an object */
	_cleanup_json_ json_t *bad1 = json_pack("{s:s, s:{s:s}}", "type", "kubernetes.io/dockerconfigjson", "data",
						 ".dockerconfigjson", "!!!");
	_cleanup_json_ json_t *c4 = json_array();
	is_int(agent_pull_secret_creds(bad1, "127.0.0.1:5000/x", c4, &e), -EINVAL, "bad base64 -> EINVAL");
	ok(e && strstr(err_msg(e), ".dockerconfigjson"), "message names the field: %s", err_msg(e));
	err_free(e);
	e = NULL;
	_cleanup_json_ json_t *bad2 = secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson",
					     json_pack("{s:[]}", "auths"));
	is_int(agent_pull_secret_creds(bad2, "127.0.0.1:5000/x", c4, &e), -EINVAL, "auths not an object -> EINVAL");
	ok(e && strstr(err_msg(e), "secret regcred"), "message names the secret: %s", err_msg(e));
	err_free(e);
	e = NULL;
	/* an auth without a colon is skipped, the rest still used */
	_cleanup_free_ char *nocolon = b64("justuser");
	json_t *cfg5 = json_pack("{s:{s:{s:s}, s:{s:s, s:s}}}", "auths", "127.0.0.1:5000", "auth", nocolon,
				 "127.0.0.1:5000/test", "username", "u", "password", "p");
	_cleanup_json_ json_t *s5 = secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", cfg5);
	_cleanup_json_ json_t *c5 = json_array();
	is_int(agent_pull_secret_creds(s5, "127.0.0.1:5000/test/bb", c5, &e), 0, "a bad entry is skipped");
	is_int((int)json_array_size(c5), 1, "the good entry stays");
	is_int((int)json_array_size(c4), 0, "failures add nothing");
}

static void test_durations(void)
{
	struct {
		int64_t ms;
		const char *want;
	} t[] = { { 0, "0s" }, { 7, "7ms" }, { 512, "512ms" }, { 1000, "1s" }, { 1200, "1.2s" }, { 1234, "1.234s" },
		  { 10050, "10.05s" }, { 63500, "1m3.5s" }, { 120000, "2m0s" }, { 3600000, "1h0m0s" },
		  { 3723004, "1h2m3.004s" } };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		_cleanup_free_ char *s = agent_go_duration(t[i].ms);
		is_str(s, t[i].want, "%lld ms", (long long)t[i].ms);
	}
}

static void test_backoff(void)
{
	/* the kubelet's image back-off: 10 s doubling to 300 s */
	const int64_t want[] = { 10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000 };
	for (int n = 1; n <= (int)ARRAY_SIZE(want); n++) {
		int64_t show, retry;
		agent_pull_backoff(n, 10000, 300000, &show, &retry);
		is_int((int)retry, (int)want[n - 1], "retry after failure %d", n);
		is_int((int)show, (int)(want[n - 1] / 2 < 10000 ? want[n - 1] / 2 : 10000), "ErrImagePull shown after failure %d", n);
		ok(show > 0 && show < retry, "ImagePullBackOff shows before the retry (failure %d)", n);
	}
	int64_t show, retry;
	agent_pull_backoff(1, 1000, 30000, &show, &retry);
	ok(retry == 1000 && show == 500, "a test base of 1s: retry 1s, back-off shown after 0.5s");
}

static void test_image_repo(void)
{
	struct {
		const char *in, *want;
	} t[] = { { "busybox", "docker.io/library/busybox" },
		  { "127.0.0.1:5000/test/bb:v1", "127.0.0.1:5000/test/bb" },
		  { "127.0.0.1:5000/test/bb", "127.0.0.1:5000/test/bb" },
		  { "reg.example.com/a/b@sha256:0123456789012345678901234567890123456789012345678901234567890123",
		    "reg.example.com/a/b" } };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		_cleanup_free_ char *s = agent_image_repo(t[i].in);
		is_str(s, t[i].want, "repo of %s", t[i].in);
	}
}

int main(void)
{
	test_key_match();
	test_secret_creds();
	test_durations();
	test_backoff();
	test_image_repo();
	return tap_done();
}
