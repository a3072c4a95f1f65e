/* handlers.c - the OCI distribution API v1.1 endpoints over storage.c and
 * upload.c: base, catalog, tags (n/last + Link), manifests (GET/HEAD/PUT/
 * DELETE by tag or digest, Accept honoured, subject -> OCI-Subject), referrers, blobs
 * (GET with Range, HEAD, DELETE), uploads (POST monolithic / ?digest= /
 * ?mount=&from=, PATCH with Content-Range checks, PUT, GET status, DELETE).
 *
 * Each endpoint has a begin step (first callback, before any body: checks
 * and, for bodies, where they go) and an end step (after the body).  Bodies
 * of blob uploads go straight into the upload file; manifest bodies are
 * buffered up to BERTH_MAX_MANIFEST.
 */
#include "server-internal.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static bool is(Req *q, const char *m) { return !strcmp(q->method, m); }

static enum MHD_Result not_allowed(Req *q)
{
	return req_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED", "method not allowed");
}

static enum MHD_Result respond_empty(Req *q, unsigned status, const char *const *hdrs)
{
	struct MHD_Response *resp = resp_new_buf("", 0);
	for (size_t i = 0; hdrs && hdrs[i]; i += 2)
		MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
	return req_respond(q, status, resp);
}

/* ---- lists with n/last ---- */

static json_t *paginate(Req *q, char **all, const char *base, char **ret_link)
{
	const char *last = req_arg(q, "last"), *ns = req_arg(q, "n");
	int64_t n = -1;
	if (ns && (parse_int64(ns, &n) < 0 || n < 0))
		n = -1;
	json_t *out = json_array();
	size_t count = 0;
	const char *prev = NULL;
	bool more = false;
	for (char **p = all; *p; p++) {
		if (last && strcmp(*p, last) <= 0)
			continue;
		if (n >= 0 && count == (size_t)n) {
			more = true;
			break;
		}
		json_array_append_new(out, json_string(*p));
		prev = *p;
		count++;
	}
	*ret_link = more && prev ? xasprintf("<%s?n=%lld&last=%s>; rel=\"next\"", base, (long long)n, prev) : NULL;
	return out;
}

static enum MHD_Result list_respond(Req *q, json_t *j, const char *link)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (link)
		MHD_add_response_header(resp, "Link", link);
	return req_respond(q, MHD_HTTP_OK, resp);
}

static enum MHD_Result h_catalog(Req *q)
{
	if (!is(q, "GET"))
		return not_allowed(q);
	_cleanup_strv_ char **all = NULL;
	rs_catalog(q->srv->store, false, &all, NULL);
	_cleanup_free_ char *link = NULL;
	json_t *list = paginate(q, all, "/v2/_catalog", &link);
	return list_respond(q, json_pack("{s:o}", "repositories", list), link);
}

static enum MHD_Result h_tags(Req *q)
{
	if (!is(q, "GET"))
		return not_allowed(q);
	_cleanup_strv_ char **all = NULL;
	_cleanup_err_ Error *e = NULL;
	if (rs_tags_list(q->srv->store, q->p.name, &all, &e) < 0)
		return req_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN", err_msg(e));
	_cleanup_free_ char *link = NULL, *base = xasprintf("/v2/%s/tags/list", q->p.name);
	json_t *list = paginate(q, all, base, &link);
	return list_respond(q, json_pack("{s:s,s:o}", "name", q->p.name, "tags", list), link);
}

/* ---- manifests ---- */

#define ACCEPT_MAX 16

typedef struct AcceptList {
	const char *v[ACCEPT_MAX];
	size_t n;
} AcceptList;

static enum MHD_Result collect_accept(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	AcceptList *l = cls;
	if (!strcasecmp(key, "Accept") && value && l->n < ACCEPT_MAX)
		l->v[l->n++] = value;
	return MHD_YES;
}

/* Content negotiation.  The stored manifest is the only representation, so
 * it is served whenever the request's Accept allows its media type (no
 * Accept, a wildcard, or the type itself).  By digest it is always served:
 * the spec says a GET of an existing manifest MUST answer 200 with it, and a
 * digest names exactly those bytes.  By tag, a client whose Accept lists
 * only other types (an old Docker client asking for schema2 and meeting an
 * OCI index, say) gets 404 MANIFEST_UNKNOWN, as the reference registry
 * answers: the tag has no representation it can read. */
static bool manifest_acceptable(Req *q, const char *media)
{
	if (digest_valid(q->p.ref))
		return true;
	AcceptList l = { .n = 0 };
	MHD_get_connection_values(q->conn, MHD_HEADER_KIND, collect_accept, &l);
	return reg_accept_allows(l.v, l.n, media);
}

static enum MHD_Result manifest_get(Req *q)
{
	_cleanup_free_ char *buf = NULL, *media = NULL;
	size_t len;
	char digest[72];
	_cleanup_err_ Error *e = NULL;
	if (rs_manifest_get(q->srv->store, q->p.name, q->p.ref, &buf, &len, &media, digest, &e) < 0)
		return req_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", err_msg(e));
	if (!manifest_acceptable(q, media)) {
		_cleanup_free_ char *msg = xasprintf("manifest is %s, which the Accept header does not allow", media);
		return req_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", msg);
	}
	struct MHD_Response *resp = is(q, "HEAD")
		? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT) : resp_new_buf(buf, len);
	if (is(q, "HEAD")) {
		/* libmicrohttpd derives Content-Length from the body: send the real one */
		MHD_destroy_response(resp);
		resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_COPY);
	} else {
		q->bytes_out += len;
	}
	MHD_add_response_header(resp, "Content-Type", media);
	MHD_add_response_header(resp, "Docker-Content-Digest", digest);
	_cleanup_free_ char *etag = xasprintf("\"%s\"", digest);
	MHD_add_response_header(resp, "Etag", etag);
	return req_respond(q, MHD_HTTP_OK, resp);
}

static enum MHD_Result manifest_put_end(Req *q)
{
	if (q->too_big)
		return req_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID", "manifest too large");
	char digest[72];
	_cleanup_free_ char *subject = NULL;
	_cleanup_err_ Error *e = NULL;
	int r = rs_manifest_put(q->srv->store, q->p.name, q->p.ref, q->buf.buf, q->buf.len,
				req_header(q, "Content-Type"), digest, &subject, &e);
	if (r == -ENOENT)
		return req_error(q, MHD_HTTP_BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", err_msg(e));
	if (r == -EBADMSG)
		return req_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", err_msg(e));
	if (r == -EINVAL || r == -EFBIG)
		return req_error(q, MHD_HTTP_BAD_REQUEST, "MANIFEST_INVALID", err_msg(e));
	if (r < 0)
		return req_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", err_msg(e));
	__atomic_add_fetch(&q->srv->manifests_pushed, 1, __ATOMIC_RELAXED);
	_cleanup_free_ char *loc = xasprintf("/v2/%s/manifests/%s", q->p.name, digest);
	const char *hdrs[] = { "Location", loc, "Docker-Content-Digest", digest,
			       subject ? "OCI-Subject" : NULL, subject, NULL };
	return respond_empty(q, MHD_HTTP_CREATED, hdrs);
}

static enum MHD_Result h_manifest(Req *q)
{
	if (is(q, "GET") || is(q, "HEAD"))
		return manifest_get(q);
	if (is(q, "PUT")) {
		const char *cl = req_header(q, "Content-Length");
		int64_t n;
		/* a little too large: read and drop it, so the client sees the 413;
		 * absurdly large: answer at once and let the connection close */
		if (cl && parse_int64(cl, &n) == 0 && n > 16 * (int64_t)BERTH_MAX_MANIFEST)
			return req_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID", "manifest too large");
		q->body = BODY_BUFFER;
		return MHD_YES;
	}
	if (is(q, "DELETE")) {
		_cleanup_err_ Error *e = NULL;
		if (rs_manifest_delete(q->srv->store, q->p.name, q->p.ref, &e) < 0)
			return req_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", err_msg(e));
		return respond_empty(q, MHD_HTTP_ACCEPTED, NULL);
	}
	return not_allowed(q);
}

static enum MHD_Result h_referrers(Req *q)
{
	if (!is(q, "GET"))
		return not_allowed(q);
	json_t *idx = NULL;
	const char *at = req_arg(q, "artifactType");
	rs_referrers(q->srv->store, q->p.name, q->p.ref, at, &idx, NULL);
	char *s = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", REG_MT_OCI_INDEX);
	if (at)
		MHD_add_response_header(resp, "OCI-Filters-Applied", "artifactType");
	return req_respond(q, MHD_HTTP_OK, resp);
}

/* ---- blobs ---- */

static enum MHD_Result blob_get(Req *q)
{
	int64_t size;
	if (!rs_blob_visible(q->srv->store, q->p.name, q->p.ref, &size))
		return req_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	_cleanup_free_ char *path = rs_blob_path(q->srv->store, q->p.ref);
	uint64_t start = 0, end = (uint64_t)size - 1;
	bool open_end, ranged = false;
	const char *range = req_header(q, "Range");
	if (range && size > 0) {
		if (reg_range_parse(range, true, &start, &end, &open_end) < 0 || start >= (uint64_t)size) {
			_cleanup_free_ char *cr = xasprintf("bytes */%lld", (long long)size);
			const char *h[] = { "Content-Range", cr, NULL };
			q->status = 416;
			return respond_empty(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, h);
		}
		if (end >= (uint64_t)size)
			end = (uint64_t)size - 1;
		ranged = true;
	}
	uint64_t len = size > 0 ? end - start + 1 : 0;
	struct MHD_Response *resp;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return req_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
	if (!resp) {
		close(fd);
		return req_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "cannot send blob");
	}
	if (!is(q, "HEAD"))
		q->bytes_out += len;
	MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
	MHD_add_response_header(resp, "Docker-Content-Digest", q->p.ref);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	_cleanup_free_ char *etag = xasprintf("\"%s\"", q->p.ref);
	MHD_add_response_header(resp, "Etag", etag);
	if (ranged) {
		_cleanup_free_ char *cr = xasprintf("bytes %llu-%llu/%lld", (unsigned long long)start,
						    (unsigned long long)end, (long long)size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	return req_respond(q, ranged ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
}

static enum MHD_Result h_blob(Req *q)
{
	if (is(q, "GET") || is(q, "HEAD"))
		return blob_get(q);
	if (is(q, "DELETE")) {
		_cleanup_err_ Error *e = NULL;
		if (rs_blob_unlink(q->srv->store, q->p.name, q->p.ref, &e) < 0)
			return req_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", err_msg(e));
		return respond_empty(q, MHD_HTTP_ACCEPTED, NULL);
	}
	return not_allowed(q);
}

/* ---- uploads ---- */

static enum MHD_Result upload_status(Req *q, unsigned status, const char *id, uint64_t size)
{
	_cleanup_free_ char *loc = xasprintf("/v2/%s/blobs/uploads/%s", q->p.name, id);
	_cleanup_free_ char *range = xasprintf("0-%llu", (unsigned long long)(size ? size - 1 : 0));
	char min[32];
	snprintf(min, sizeof(min), "%u", REG_CHUNK_MIN);
	const char *h[] = { "Location", loc, "Range", range, "Docker-Upload-UUID", id, "OCI-Chunk-Min-Length", min,
			    NULL };
	return respond_empty(q, status, h);
}

static enum MHD_Result blob_created(Req *q, const char *digest)
{
	_cleanup_free_ char *loc = xasprintf("/v2/%s/blobs/%s", q->p.name, digest);
	const char *h[] = { "Location", loc, "Docker-Content-Digest", digest, NULL };
	return respond_empty(q, MHD_HTTP_CREATED, h);
}

static bool try_mount(Req *q)
{
	const char *d = req_arg(q, "mount"), *from = req_arg(q, "from");
	if (!d || !from || !digest_valid(d) || !reg_name_valid(from) || !req_may(q, from, REG_PULL))
		return false;
	RegStore *rs = q->srv->store;
	if (!rs_blob_visible(rs, from, d, NULL) || rs_blob_link(rs, q->p.name, d, NULL) < 0)
		return false;
	blob_created(q, d);
	return true;
}

static enum MHD_Result uploads_post(Req *q)
{
	if (!is(q, "POST"))
		return not_allowed(q);
	if (req_arg(q, "mount") && try_mount(q))
		return MHD_YES;
	const char *digest = req_arg(q, "digest");
	if (digest && !digest_valid(digest))
		return req_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	char id[37];
	_cleanup_err_ Error *e = NULL;
	if (rs_upload_new(q->srv->store, q->p.name, id, &e) < 0)
		return req_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", err_msg(e));
	if (!digest)
		return upload_status(q, MHD_HTTP_ACCEPTED, id, 0);
	if (rs_upload_acquire(q->srv->store, q->p.name, id, &q->up, &e) < 0)
		return req_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", err_msg(e));
	q->digest = xstrdup(digest);
	q->body = BODY_UPLOAD;
	return MHD_YES;
}

static enum MHD_Result range_invalid(Req *q, uint64_t size)
{
	_cleanup_free_ char *loc = xasprintf("/v2/%s/blobs/uploads/%s", q->p.name, q->p.ref);
	_cleanup_free_ char *range = xasprintf("0-%llu", (unsigned long long)(size ? size - 1 : 0));
	json_t *j = json_pack("{s:[{s:s,s:s,s:n}]}", "errors", "code", "BLOB_UPLOAD_INVALID", "message",
			      "chunk out of order or Content-Range invalid", "detail");
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Location", loc);
	MHD_add_response_header(resp, "Range", range);
	return req_respond(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
}

/* PATCH / PUT with a body: the chunk must start where the upload ends. */
static bool chunk_in_order(Req *q)
{
	const char *cr = req_header(q, "Content-Range");
	const char *cl = req_header(q, "Content-Length");
	if (!cr)
		return true;
	uint64_t a, b;
	bool open_end;
	if (reg_range_parse(cr, false, &a, &b, &open_end) < 0 || a != rs_upload_size(q->up))
		return false;
	int64_t n;
	if (cl && (parse_int64(cl, &n) < 0 || (uint64_t)n != b - a + 1))
		return false;
	return true;
}

static enum MHD_Result h_upload(Req *q)
{
	RegStore *rs = q->srv->store;
	_cleanup_err_ Error *e = NULL;
	int r = rs_upload_acquire(rs, q->p.name, q->p.ref, &q->up, &e);
	if (r == -EBUSY)
		return req_error(q, MHD_HTTP_CONFLICT, "BLOB_UPLOAD_INVALID", err_msg(e));
	if (r < 0)
		return req_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", err_msg(e));
	if (is(q, "GET"))
		return upload_status(q, MHD_HTTP_NO_CONTENT, q->p.ref, rs_upload_size(q->up));
	if (is(q, "DELETE")) {
		rs_upload_cancel(rs, TAKE_PTR(q->up), NULL);
		return respond_empty(q, MHD_HTTP_NO_CONTENT, NULL);
	}
	if (!is(q, "PATCH") && !is(q, "PUT"))
		return not_allowed(q);
	if (!chunk_in_order(q))
		return range_invalid(q, rs_upload_size(q->up));
	if (is(q, "PUT")) {
		const char *d = req_arg(q, "digest");
		if (!d || !digest_valid(d))
			return req_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "digest missing or invalid");
		q->digest = xstrdup(d);
	}
	q->body = BODY_UPLOAD;
	return MHD_YES;
}

static enum MHD_Result upload_end(Req *q)
{
	RegStore *rs = q->srv->store;
	if (q->werr)
		return req_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", err_msg(q->werr));
	if (!q->digest)
		return upload_status(q, MHD_HTTP_ACCEPTED, q->p.ref, rs_upload_size(q->up));
	_cleanup_err_ Error *e = NULL;
	int r = rs_upload_finish(rs, TAKE_PTR(q->up), q->digest, &e);
	if (r == -EBADMSG)
		return req_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", err_msg(e));
	if (r < 0)
		return req_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", err_msg(e));
	__atomic_add_fetch(&q->srv->blobs_uploaded, 1, __ATOMIC_RELAXED);
	return blob_created(q, q->digest);
}

enum MHD_Result handle_begin(Req *q)
{
	switch (q->p.route) {
	case RT_BASE:
		return req_json(q, MHD_HTTP_OK, json_object(), NULL);
	case RT_CATALOG: return h_catalog(q);
	case RT_TAGS: return h_tags(q);
	case RT_MANIFEST: return h_manifest(q);
	case RT_REFERRERS: return h_referrers(q);
	case RT_BLOB: return h_blob(q);
	case RT_UPLOADS: return uploads_post(q);
	case RT_UPLOAD: return h_upload(q);
	default:
		return req_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such endpoint");
	}
}

enum MHD_Result handle_end(Req *q)
{
	if (q->body == BODY_BUFFER)
		return manifest_put_end(q);
	if (q->body == BODY_UPLOAD)
		return upload_end(q);
	return MHD_YES;
}
