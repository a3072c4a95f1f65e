/* store-etcd.c - the etcd v3 backend, spoken through etcd's JSON gateway
 * (/v3/kv/range, /v3/kv/txn, /v3/kv/compaction, /v3/watch) with libcurl.
 *
 * The mapping is Kubernetes' own: a key's resourceVersion is its etcd
 * mod_revision, a list's is the header revision it was read at, creates are
 * a transaction "create_revision == 0 -> put", updates and deletes
 * "mod_revision == expected -> put/delete" (the failure branch reads the key
 * to tell -ENOENT from -ESTALE).  Several berth servers over one etcd thus
 * share one revision sequence, and each one's watches see every write.
 *
 * Calls are blocking POSTs on pooled curl handles (connections kept alive);
 * a watch is one streaming POST on its own curl multi handle, driven from
 * store_watch_next() with curl_multi_poll, so no thread is needed.  The
 * gateway writes one JSON message per watch response; events carry prev_kv
 * so a DELETE still has the object that went away.  Keys and values are
 * base64 in the gateway's JSON, int64s are decimal strings.
 *
 * Endpoints are tried in order; the first that answers is used until it
 * fails to connect.  Responses are capped (BERTH_MAX_ETCD_RESPONSE).
 */
#include "store-internal.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/curl-lazy.h" /* libcurl, loaded on first use */
#include "../shared/json.h"
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define POOL_MAX 16

typedef struct EtcdStore {
	Store base;
	char **endpoints;
	size_t nendpoints, current;
	pthread_mutex_t lock;
	CURL *pool[POOL_MAX];
	size_t npool;
	int64_t compact_rev;
} EtcdStore;

typedef struct EtcdWatch {
	StoreWatch base;
	EtcdStore *s;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	StrBuf in;                 /* bytes received, not yet parsed */
	StoreEvent *q;             /* events parsed, not yet delivered */
	size_t nq, qpos;
	int64_t cursor;            /* every event <= cursor was delivered */
	bool done, too_big;
} EtcdWatch;

static const StoreOps etcd_ops;

/* ---- encoding ---- */

static char *b64(const char *data, size_t n)
{
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)data, (int)n);
	return o;
}

static int unb64(const char *s, char **ret, size_t *ret_len)
{
	size_t n = s ? strlen(s) : 0;
	if (n % 4)
		return -EINVAL;
	char *o = xmalloc(n / 4 * 3 + 1);
	int len = n ? EVP_DecodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n) : 0;
	if (len < 0) {
		free(o);
		return -EINVAL;
	}
	for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
		len--;
	o[len] = 0;
	*ret = o;
	*ret_len = (size_t)len;
	return 0;
}

/* An int64 the gateway wrote as a string (or a number; absent: 0). */
static int64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return json_integer_value(v);
	int64_t n = 0;
	if (json_is_string(v))
		parse_int64(json_string_value(v), &n);
	return n;
}

static json_t *jkey(const char *key)
{
	_cleanup_free_ char *k = b64(key, strlen(key));
	return json_string(k);
}

static int kv_from_json(const json_t *j, StoreKV *kv)
{
	memset(kv, 0, sizeof(*kv));
	size_t klen;
	if (unb64(json_str(j, "key"), &kv->key, &klen) < 0)
		return -EIO;
	const char *v = json_str(j, "value");
	if (unb64(v ? v : "", &kv->value, &kv->value_len) < 0) {
		store_kv_release(kv);
		return -EIO;
	}
	kv->create_revision = jint(j, "create_revision");
	kv->mod_revision = jint(j, "mod_revision");
	return 0;
}

/* ---- calls ---- */

static size_t collect(char *data, size_t size, size_t n, void *cls)
{
	StrBuf *sb = cls;
	if (sb->len + size * n > BERTH_MAX_ETCD_RESPONSE)
		return 0;
	sb_add(sb, data, size * n);
	return size * n;
}

static CURL *handle_get(EtcdStore *s)
{
	pthread_mutex_lock(&s->lock);
	CURL *c = s->npool ? s->pool[--s->npool] : NULL;
	pthread_mutex_unlock(&s->lock);
	return c ? c : curl_easy_init();
}

static void handle_put(EtcdStore *s, CURL *c)
{
	curl_easy_reset(c);
	pthread_mutex_lock(&s->lock);
	if (s->npool < POOL_MAX) {
		s->pool[s->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (c)
		curl_easy_cleanup(c);
}

static void setup_post(CURL *c, const char *url, const char *body, struct curl_slist *h)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* Map a gateway error body to -errno. */
static int etcd_error(const json_t *resp, long status, const char *what, Error **err)
{
	const char *msg = json_str(resp, "message") ?: json_str(resp, "error") ?: "";
	if (strstr(msg, "compacted"))
		return err_set(err, ERANGE, "etcd: %s: %s", what, msg);
	return err_set(err, EIO, "etcd: %s: HTTP %ld: %s", what, status, *msg ? msg : "unexpected answer");
}

#define ETCD_CALL_TIMEOUT_MS 60000L
#define ETCD_PING_TIMEOUT_MS 2000L

/* POST body (stolen) to path within timeout_ms; *ret gets the JSON answer. */
static int etcd_call_within(EtcdStore *s, const char *path, json_t *body, long timeout_ms, json_t **ret, Error **err)
{
	_cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = handle_get(s);
	StrBuf out = STRBUF_INIT;
	CURLcode cc = CURLE_COULDNT_CONNECT;
	long status = 0;
	pthread_mutex_lock(&s->lock);
	size_t first = s->current;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < s->nendpoints; i++) {
		size_t e = (first + i) % s->nendpoints;
		_cleanup_free_ char *url = xasprintf("%s%s", s->endpoints[e], path);
		setup_post(c, url, text, h);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
		out.len = 0;
		cc = curl_easy_perform(c);
		if (cc != CURLE_COULDNT_CONNECT && cc != CURLE_OPERATION_TIMEDOUT) {
			pthread_mutex_lock(&s->lock);
			s->current = e;
			pthread_mutex_unlock(&s->lock);
			break;
		}
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	handle_put(s, c);
	curl_slist_free_all(h);
	int r = 0;
	if (cc != CURLE_OK) {
		r = err_set(err, cc == CURLE_WRITE_ERROR ? E2BIG : EIO, "etcd %s: %s", path, curl_easy_strerror(cc));
		goto out;
	}
	json_t *j = json_loadb(out.buf ? out.buf : "", out.len, 0, NULL);
	if (!json_is_object(j) || status != 200) {
		r = etcd_error(j, status, path, err);
		json_decref(j);
		goto out;
	}
	*ret = j;
out:
	sb_release(&out);
	return r;
}

static int etcd_call(EtcdStore *s, const char *path, json_t *body, json_t **ret, Error **err)
{
	return etcd_call_within(s, path, body, ETCD_CALL_TIMEOUT_MS, ret, err);
}

static json_t *range_body(const char *key, const char *end, int64_t limit, int64_t rev)
{
	json_t *b = json_pack("{s:o}", "key", jkey(key));
	if (end)
		json_object_set_new(b, "range_end", jkey(end));
	if (limit > 0)
		json_object_set_new(b, "limit", json_integer(limit));
	if (rev > 0)
		json_object_set_new(b, "revision", json_integer(rev));
	return b;
}

/* ---- operations ---- */

static void etcd_free(Store *base)
{
	EtcdStore *s = (EtcdStore *)base;
	for (size_t i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	strv_free(s->endpoints);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int64_t etcd_revision(Store *base)
{
	json_t *j = NULL;
	json_t *b = range_body("/", NULL, 0, 0);
	json_object_set_new(b, "count_only", json_true());
	if (etcd_call((EtcdStore *)base, "/v3/kv/range", b, &j, NULL) < 0)
		return 0;
	int64_t r = jint(json_object_get(j, "header"), "revision");
	json_decref(j);
	return r;
}

/* A count-only range of one key: etcd answers it from its index. */
static int etcd_ping(Store *base, Error **err)
{
	json_t *j = NULL;
	json_t *b = range_body("/", NULL, 0, 0);
	json_object_set_new(b, "count_only", json_true());
	int r = etcd_call_within((EtcdStore *)base, "/v3/kv/range", b, ETCD_PING_TIMEOUT_MS, &j, err);
	json_decref(j);
	return r;
}

static int64_t etcd_compact_revision(Store *base)
{
	EtcdStore *s = (EtcdStore *)base;
	pthread_mutex_lock(&s->lock);
	int64_t r = s->compact_rev;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void note_compacted(EtcdStore *s, int64_t rev)
{
	pthread_mutex_lock(&s->lock);
	if (rev > s->compact_rev)
		s->compact_rev = rev;
	pthread_mutex_unlock(&s->lock);
}

static int etcd_get(Store *base, const char *key, StoreKV *ret, Error **err)
{
	json_t *j = NULL;
	int r = etcd_call((EtcdStore *)base, "/v3/kv/range", range_body(key, NULL, 0, 0), &j, err);
	if (r < 0)
		return r;
	const json_t *kv = json_array_get(json_object_get(j, "kvs"), 0);
	r = kv ? kv_from_json(kv, ret) : err_set(err, ENOENT, "key '%s' not found", key);
	json_decref(j);
	return r;
}

static int etcd_list(Store *base, const char *prefix, const char *start_after, int64_t limit, int64_t rev,
		     StoreKVList *ret, int64_t *ret_rev, bool *ret_more, Error **err)
{
	EtcdStore *s = (EtcdStore *)base;
	memset(ret, 0, sizeof(*ret));
	*ret_more = false;
	_cleanup_free_ char *end = store_prefix_end(prefix);
	_cleanup_free_ char *from = start_after && strcmp(start_after, prefix) > 0 ?
					    xasprintf("%s%c", start_after, 0) : xstrdup(prefix);
	/* "start_after + \0" is the next key: the gateway takes it base64-encoded, with its NUL */
	json_t *b = range_body(prefix, end, limit, rev);
	if (start_after && strcmp(start_after, prefix) > 0) {
		size_t n = strlen(start_after) + 1;
		_cleanup_free_ char *k = b64(from, n);
		json_object_set_new(b, "key", json_string(k));
	}
	json_t *j = NULL;
	int r = etcd_call(s, "/v3/kv/range", b, &j, err);
	if (r == -ERANGE)
		note_compacted(s, rev);
	if (r < 0)
		return r;
	const json_t *kvs = json_object_get(j, "kvs");
	ret->items = xcalloc(json_array_size(kvs) + 1, sizeof(StoreKV));
	size_t i;
	json_t *kv;
	json_array_foreach(kvs, i, kv)
		if (kv_from_json(kv, &ret->items[ret->n]) == 0)
			ret->n++;
	*ret_more = json_is_true(json_object_get(j, "more"));
	*ret_rev = rev > 0 ? rev : jint(json_object_get(j, "header"), "revision");
	json_decref(j);
	return 0;
}

static int64_t etcd_count(Store *base, const char *prefix)
{
	_cleanup_free_ char *end = store_prefix_end(prefix);
	json_t *b = range_body(prefix, end, 0, 0);
	json_object_set_new(b, "count_only", json_true());
	json_t *j = NULL;
	if (etcd_call((EtcdStore *)base, "/v3/kv/range", b, &j, NULL) < 0)
		return 0;
	int64_t n = jint(j, "count");
	json_decref(j);
	return n;
}

/* A transaction on one key: compare (target, result, value) -> op, else read the key.
 * Returns 1 when it succeeded, 0 when the compare failed (*ret_exists tells
 * whether the key is there), -errno on error; *ret answers on success. */
static int txn(EtcdStore *s, const char *key, json_t *compare, json_t *op, json_t **ret, bool *ret_exists, Error **err)
{
	json_t *body = json_pack("{s:[o], s:[o], s:[{s:{s:o, s:b}}]}", "compare", compare, "success", op, "failure",
				 "request_range", "key", jkey(key), "count_only", 1);
	json_t *j = NULL;
	int r = etcd_call(s, "/v3/kv/txn", body, &j, err);
	if (r < 0)
		return r;
	if (json_is_true(json_object_get(j, "succeeded"))) {
		*ret = j;
		return 1;
	}
	const json_t *rr = json_object_get(json_array_get(json_object_get(j, "responses"), 0), "response_range");
	if (ret_exists)
		*ret_exists = jint(rr, "count") > 0;
	json_decref(j);
	return 0;
}

static json_t *compare_mod(const char *key, int64_t expect_rev)
{
	if (expect_rev)
		return json_pack("{s:o, s:s, s:s, s:I}", "key", jkey(key), "target", "MOD", "result", "EQUAL",
				 "mod_revision", (json_int_t)expect_rev);
	return json_pack("{s:o, s:s, s:s, s:I}", "key", jkey(key), "target", "CREATE", "result", "GREATER",
			 "create_revision", (json_int_t)0);
}

static json_t *put_op(const char *key, const char *value, size_t len)
{
	_cleanup_free_ char *v = b64(value, len);
	return json_pack("{s:{s:o, s:s}}", "request_put", "key", jkey(key), "value", v);
}

static int etcd_create(Store *base, const char *key, const char *value, size_t len, int64_t *ret_rev, Error **err)
{
	json_t *cmp = json_pack("{s:o, s:s, s:s, s:I}", "key", jkey(key), "target", "CREATE", "result", "EQUAL",
				"create_revision", (json_int_t)0);
	json_t *j = NULL;
	int r = txn((EtcdStore *)base, key, cmp, put_op(key, value, len), &j, NULL, err);
	if (r == 0)
		return err_set(err, EEXIST, "key '%s' exists", key);
	if (r < 0)
		return r;
	if (ret_rev)
		*ret_rev = jint(json_object_get(j, "header"), "revision");
	json_decref(j);
	return 0;
}

static int etcd_update(Store *base, const char *key, const char *value, size_t len, int64_t expect_rev,
		       int64_t *ret_rev, Error **err)
{
	json_t *j = NULL;
	bool exists = false;
	int r = txn((EtcdStore *)base, key, compare_mod(key, expect_rev), put_op(key, value, len), &j, &exists, err);
	if (r == 0)
		return exists ? err_set(err, ESTALE, "key '%s' was modified", key) :
				err_set(err, ENOENT, "key '%s' not found", key);
	if (r < 0)
		return r;
	if (ret_rev)
		*ret_rev = jint(json_object_get(j, "header"), "revision");
	json_decref(j);
	return 0;
}

static int etcd_delete(Store *base, const char *key, int64_t expect_rev, StoreKV *ret_prev, int64_t *ret_rev,
		       Error **err)
{
	json_t *op = json_pack("{s:{s:o, s:b}}", "request_delete_range", "key", jkey(key), "prev_kv", 1);
	json_t *j = NULL;
	bool exists = false;
	int r = txn((EtcdStore *)base, key, compare_mod(key, expect_rev), op, &j, &exists, err);
	if (r == 0)
		return exists ? err_set(err, ESTALE, "key '%s' was modified", key) :
				err_set(err, ENOENT, "key '%s' not found", key);
	if (r < 0)
		return r;
	const json_t *dr = json_object_get(json_array_get(json_object_get(j, "responses"), 0), "response_delete_range");
	const json_t *prev = json_array_get(json_object_get(dr, "prev_kvs"), 0);
	if (jint(dr, "deleted") < 1 || !prev) {
		json_decref(j);
		return err_set(err, ENOENT, "key '%s' not found", key);
	}
	if (ret_rev)
		*ret_rev = jint(json_object_get(j, "header"), "revision");
	if (ret_prev)
		kv_from_json(prev, ret_prev);
	json_decref(j);
	return 0;
}

static int etcd_compact(Store *base, int64_t rev, Error **err)
{
	EtcdStore *s = (EtcdStore *)base;
	json_t *j = NULL;
	int r = etcd_call(s, "/v3/kv/compaction", json_pack("{s:I, s:b}", "revision", (json_int_t)rev, "physical", 1), &j,
			  err);
	if (r == -ERANGE)
		r = 0; /* already compacted past rev */
	json_decref(j);
	if (r == 0)
		note_compacted(s, rev);
	return r;
}

/* ---- watch ---- */

static size_t watch_collect(char *data, size_t size, size_t n, void *cls)
{
	EtcdWatch *w = cls;
	if (w->in.len + size * n > BERTH_MAX_ETCD_RESPONSE) {
		w->too_big = true;
		return 0;
	}
	sb_add(&w->in, data, size * n);
	return size * n;
}

static void queue_event(EtcdWatch *w, const json_t *ev)
{
	const json_t *kv = json_object_get(ev, "kv"), *prev = json_object_get(ev, "prev_kv");
	bool del = json_str(ev, "type") && !strcmp(json_str(ev, "type"), "DELETE");
	StoreEvent e = { 0 };
	if (del) {
		if (!prev || kv_from_json(prev, &e.kv) < 0)
			return; /* a delete without its previous value: nothing to tell */
		e.type = STORE_EVENT_DELETE;
		e.kv.mod_revision = jint(kv, "mod_revision");
	} else {
		if (kv_from_json(kv, &e.kv) < 0)
			return;
		e.type = jint(kv, "version") == 1 ? STORE_EVENT_PUT_NEW : STORE_EVENT_PUT;
	}
	w->q = xrealloc(w->q, (w->nq + 1) * sizeof(StoreEvent));
	w->q[w->nq++] = e;
}

/* Parse every complete message in w->in. */
static void watch_parse(EtcdWatch *w)
{
	size_t off = 0;
	while (off < w->in.len) {
		while (off < w->in.len && (w->in.buf[off] == '\n' || w->in.buf[off] == '\r' || w->in.buf[off] == ' '))
			off++;
		if (off == w->in.len)
			break;
		json_error_t e;
		json_t *m = json_loadb(w->in.buf + off, w->in.len - off, JSON_DISABLE_EOF_CHECK, &e);
		if (!m)
			break; /* incomplete: wait for more */
		off += (size_t)e.position;
		const json_t *res = json_object_get(m, "result");
		if (jint(res, "compact_revision") > 0 || json_is_true(json_object_get(res, "canceled")) ||
		    json_object_get(m, "error")) {
			note_compacted(w->s, jint(res, "compact_revision"));
			w->done = true;
		}
		size_t i;
		json_t *ev;
		json_array_foreach(json_object_get(res, "events"), i, ev)
			queue_event(w, ev);
		if (!json_array_size(json_object_get(res, "events")) && w->qpos == w->nq) {
			int64_t hr = jint(json_object_get(res, "header"), "revision");
			if (hr > w->cursor && !json_is_true(json_object_get(res, "created")))
				w->cursor = hr; /* a progress notification */
		}
		json_decref(m);
	}
	if (off) {
		memmove(w->in.buf, w->in.buf + off, w->in.len - off);
		w->in.len -= off;
	}
}

static int etcd_watch_new(Store *base, const char *prefix, int64_t after_rev, StoreWatch **ret, Error **err)
{
	EtcdStore *s = (EtcdStore *)base;
	if (after_rev <= 0)
		after_rev = etcd_revision(base);
	else {
		/* a compacted start answers now, as 410, instead of a dead stream */
		json_t *b = range_body(prefix, NULL, 1, after_rev), *j = NULL;
		json_object_set_new(b, "count_only", json_true());
		int r = etcd_call(s, "/v3/kv/range", b, &j, err);
		json_decref(j);
		if (r == -ERANGE) {
			note_compacted(s, after_rev + 1);
			return r;
		}
	}
	EtcdWatch *w = xcalloc(1, sizeof(*w));
	w->base.ops = &etcd_ops;
	w->s = s;
	w->cursor = after_rev;
	sb_init(&w->in);
	_cleanup_free_ char *end = store_prefix_end(prefix);
	json_t *body = json_pack("{s:{s:o, s:o, s:I, s:b, s:b}}", "create_request", "key", jkey(prefix), "range_end",
				 jkey(end), "start_revision", (json_int_t)(after_rev + 1), "prev_kv", 1, "progress_notify", 1);
	w->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	pthread_mutex_lock(&s->lock);
	_cleanup_free_ char *url = xasprintf("%s/v3/watch", s->endpoints[s->current]);
	pthread_mutex_unlock(&s->lock);
	w->headers = curl_slist_append(NULL, "Content-Type: application/json");
	w->easy = curl_easy_init();
	setup_post(w->easy, url, w->body, w->headers);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_collect);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	w->multi = curl_multi_init();
	curl_multi_add_handle(w->multi, w->easy);
	*ret = &w->base;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int etcd_watch_next(StoreWatch *base, int timeout_ms, StoreEvent *ret, Error **err)
{
	EtcdWatch *w = (EtcdWatch *)base;
	int64_t until = mono_ms() + timeout_ms;
	for (;;) {
		if (w->qpos < w->nq) {
			*ret = w->q[w->qpos++];
			w->cursor = ret->kv.mod_revision;
			if (w->qpos == w->nq) {
				free(w->q);
				w->q = NULL;
				w->nq = w->qpos = 0;
			}
			return 1;
		}
		if (w->done)
			return err_set(err, EIO, "etcd watch ended");
		int running = 0;
		curl_multi_perform(w->multi, &running);
		watch_parse(w);
		if (w->qpos < w->nq)
			continue;
		if (!running) {
			w->done = true;
			return err_set(err, w->too_big ? E2BIG : EIO, "etcd watch stream closed");
		}
		int64_t left = until - mono_ms();
		if (left <= 0)
			return 0;
		curl_multi_poll(w->multi, NULL, 0, (int)(left < 1000 ? left : 1000), NULL);
	}
}

static int64_t etcd_watch_revision(StoreWatch *base)
{
	EtcdWatch *w = (EtcdWatch *)base;
	if (w->qpos < w->nq)
		return w->q[w->qpos].kv.mod_revision - 1;
	return w->cursor;
}

static void etcd_watch_free(StoreWatch *base)
{
	EtcdWatch *w = (EtcdWatch *)base;
	curl_multi_remove_handle(w->multi, w->easy);
	curl_easy_cleanup(w->easy);
	curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->headers);
	for (size_t i = w->qpos; i < w->nq; i++)
		store_event_release(&w->q[i]);
	free(w->q);
	free(w->body);
	sb_release(&w->in);
	free(w);
}

/* ---- open ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int store_etcd_open(const char *endpoints, Store **ret, Error **err)
{
	pthread_once(&curl_once, curl_init_once);
	EtcdStore *s = xcalloc(1, sizeof(*s));
	s->base.ops = &etcd_ops;
	pthread_mutex_init(&s->lock, NULL);
	s->endpoints = xcalloc(1, sizeof(char *));
	_cleanup_free_ char *copy = xstrdup(endpoints);
	for (char *save = NULL, *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(e);
		while (n && e[n - 1] == '/')
			e[--n] = 0;
		if (!str_has_prefix(e, "http://") && !str_has_prefix(e, "https://")) {
			etcd_free(&s->base);
			return err_set(err, EINVAL, "etcd endpoint '%s': expected http://HOST:PORT", e);
		}
		s->endpoints = xrealloc(s->endpoints, (s->nendpoints + 2) * sizeof(char *));
		s->endpoints[s->nendpoints++] = xstrdup(e);
		s->endpoints[s->nendpoints] = NULL;
	}
	if (!s->nendpoints) {
		etcd_free(&s->base);
		return err_set(err, EINVAL, "etcd: no endpoint given");
	}
	json_t *j = NULL;
	json_t *b = range_body("/", NULL, 0, 0);
	json_object_set_new(b, "count_only", json_true());
	int r = etcd_call(s, "/v3/kv/range", b, &j, err);
	json_decref(j);
	if (r < 0) {
		etcd_free(&s->base);
		return err_prefix(err, "etcd '%s'", endpoints), r;
	}
	*ret = &s->base;
	return 0;
}

static const StoreOps etcd_ops = {
	.free = etcd_free,
	.ping = etcd_ping,
	.revision = etcd_revision,
	.compact_revision = etcd_compact_revision,
	.get = etcd_get,
	.list = etcd_list,
	.count = etcd_count,
	.create = etcd_create,
	.update = etcd_update,
	.del = etcd_delete,
	.compact = etcd_compact,
	.watch_new = etcd_watch_new,
	.watch_next = etcd_watch_next,
	.watch_revision = etcd_watch_revision,
	.watch_free = etcd_watch_free,
};
