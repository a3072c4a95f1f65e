/* push.c - `berth push`: a local image's blobs and manifest to a registry.
 *
 * Layers go up in parallel (RegClientOpts.parallel).  For each blob: HEAD
 * says whether the repository has it ("Layer already exists"); otherwise a
 * cross-repository mount is tried from other repositories on the same
 * registry that this image is also named in ("Mounted from x"); otherwise an
 * upload: POST, one streamed PATCH of the whole file, PUT ?digest=.  A
 * transfer that breaks resumes where the registry says it got to (GET on the
 * upload's Location -> Range) and the blob is retried a few times.  The
 * config goes last among the blobs, then the manifest, byte for byte as the
 * store holds it, so its digest is the image's.
 */
#include "client.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <string.h>

typedef struct PushBlob {
	char digest[72];
	int64_t size;
	bool layer;
} PushBlob;

typedef struct PushCtx {
	RegClient *c;
	ImgStore *s;
	const RegRef *ref;
	const RegClientOpts *o;
	PushBlob *blobs;
	size_t n;
	char **mount_from;   /* repositories on the same registry */
} PushCtx;

static void progress(const RegClientOpts *o, const char *id, const char *status)
{
	if (o->progress)
		o->progress(id, status, o->ud);
}

static int blob_exists(PushCtx *p, const char *digest, bool *ret, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->ref->repo, digest);
	RcResp r = { .max_body = 1u << 16 };
	int e = rc_do(p->c, "HEAD", path, NULL, NULL, &r, err);
	if (e == 0 && r.status != 200 && r.status != 404)
		e = rc_fail(&r, "check blob", err);
	*ret = e == 0 && r.status == 200;
	rc_resp_release(&r);
	return e;
}

static bool try_mount(PushCtx *p, const char *digest, const char **ret_from)
{
	for (char **f = p->mount_from; f && *f; f++) {
		_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->ref->repo, digest, *f);
		RcResp r = { .max_body = 1u << 16 };
		int e = rc_do(p->c, "POST", path, NULL, NULL, &r, NULL);
		bool ok = e == 0 && r.status == 201;
		if (e == 0 && r.status == 202 && r.location) {
			/* the registry started an upload instead: cancel it */
			_cleanup_free_ char *u = rc_url(p->c, r.location, NULL);
			RcResp d = { .max_body = 1u << 16 };
			rc_do(p->c, "DELETE", u, NULL, NULL, &d, NULL);
			rc_resp_release(&d);
		}
		rc_resp_release(&r);
		if (ok) {
			*ret_from = *f;
			return true;
		}
	}
	return false;
}

/* Where did the registry get to?  -> next offset */
static int upload_offset(PushCtx *p, const char *location, uint64_t *ret, Error **err)
{
	_cleanup_free_ char *u = rc_url(p->c, location, NULL);
	RcResp r = { .max_body = 1u << 16 };
	int e = rc_do(p->c, "GET", u, NULL, NULL, &r, err);
	if (e == 0 && r.status != 204 && r.status != 200)
		e = rc_fail(&r, "upload status", err);
	uint64_t a = 0, b = 0;
	bool open_end;
	*ret = 0;
	if (e == 0 && r.range && reg_range_parse(r.range, false, &a, &b, &open_end) == 0 && b > 0)
		*ret = b + 1;
	rc_resp_release(&r);
	return e;
}

static int upload_once(PushCtx *p, int fd, const PushBlob *b, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", p->ref->repo);
	RcResp r = { .max_body = 1u << 16 };
	int e = rc_do(p->c, "POST", path, NULL, NULL, &r, err);
	if (e == 0 && (r.status != 202 || !r.location))
		e = rc_fail(&r, "start upload", err);
	_cleanup_free_ char *loc = e == 0 ? xstrdup(r.location) : NULL;
	rc_resp_release(&r);
	uint64_t off = 0;
	for (int attempt = 0; e == 0 && off < (uint64_t)b->size; attempt++) {
		RcBody body = { .fd = fd, .offset = off, .len = (uint64_t)b->size - off };
		char cr[96], cl[64];
		snprintf(cr, sizeof(cr), "Content-Range: %llu-%llu", (unsigned long long)off,
			 (unsigned long long)b->size - 1);
		snprintf(cl, sizeof(cl), "Content-Type: application/octet-stream");
		const char *hdrs[] = { cl, off ? cr : NULL, NULL };
		_cleanup_free_ char *u = rc_url(p->c, loc, NULL);
		Error *pe = NULL;
		int pr = rc_do(p->c, "PATCH", u, hdrs, &body, &r, &pe);
		if (pr == 0 && r.status == 202 && r.location) {
			free(loc);
			loc = xstrdup(r.location);
			off = (uint64_t)b->size;
		} else if (attempt + 1 < (p->o->retries > 0 ? p->o->retries : 3)) {
			/* resume from what the registry has */
			if (upload_offset(p, loc, &off, NULL) < 0)
				off = 0;
		} else {
			e = pr < 0 ? err_set(err, -pr, "%s", err_msg(pe)) : rc_fail(&r, "upload", err);
		}
		err_free(pe);
		rc_resp_release(&r);
	}
	if (e < 0)
		return e;
	_cleanup_free_ char *q = xasprintf("digest=%s", b->digest);
	_cleanup_free_ char *u = rc_url(p->c, loc, q);
	RcBody empty = { .buf = "", .fd = -1, .len = 0 };
	const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
	e = rc_do(p->c, "PUT", u, hdrs, &empty, &r, err);
	if (e == 0 && r.status != 201)
		e = rc_fail(&r, "finish upload", err);
	rc_resp_release(&r);
	return e;
}

static int push_blob(size_t i, void *ud, Error **err)
{
	PushCtx *p = ud;
	const PushBlob *b = &p->blobs[i];
	char id[13];
	rc_short_id(b->digest, id);
	bool exists;
	int e = blob_exists(p, b->digest, &exists, err);
	if (e < 0)
		return e;
	if (exists) {
		if (b->layer)
			progress(p->o, id, "Layer already exists");
		return 0;
	}
	const char *from = NULL;
	if (try_mount(p, b->digest, &from)) {
		if (b->layer) {
			_cleanup_free_ char *st = xasprintf("Mounted from %s", from);
			progress(p->o, id, st);
		}
		return 0;
	}
	int64_t size;
	_cleanup_close_ int fd = img_blob_open(p->s, b->digest, &size, err);
	if (fd < 0)
		return fd;
	int tries = p->o->retries > 0 ? p->o->retries : 3;
	for (int t = 0;; t++) {
		Error *ue = NULL;
		e = upload_once(p, fd, b, &ue);
		if (e == 0 || t + 1 >= tries || e == -EACCES || e == -EPERM) {
			if (e < 0) {
				err_set(err, -e, "blob %s: %s", id, err_msg(ue));
			}
			err_free(ue);
			break;
		}
		err_free(ue);
		if (b->layer)
			progress(p->o, id, "Retrying");
	}
	if (e == 0 && b->layer)
		progress(p->o, id, "Pushed");
	return e;
}

static int collect_blobs(PushCtx *p, json_t *m, Error **err)
{
	json_t *layers = json_object_get(m, "layers"), *cfg = json_object_get(m, "config");
	size_t n = json_array_size(layers);
	if (n > BERTH_MAX_LAYERS || !json_str(cfg, "digest"))
		return err_set(err, EINVAL, "stored manifest is not an image manifest");
	p->blobs = xcalloc(n + 1, sizeof(PushBlob));
	for (size_t i = 0; i <= n; i++) {
		json_t *d = i < n ? json_array_get(layers, i) : cfg;
		const char *dg = json_str(d, "digest");
		if (!dg || !digest_valid(dg))
			return err_set(err, EINVAL, "stored manifest: bad digest");
		snprintf(p->blobs[i].digest, 72, "%s", dg);
		p->blobs[i].size = json_int(d, "size", 0);
		p->blobs[i].layer = i < n;
	}
	p->n = n + 1;
	return 0;
}

/* Other repositories on this registry that already hold the image. */
static char **mount_sources(const ImgInfo *img, const RegRef *ref)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	for (char **nm = img->names; nm && *nm; nm++) {
		RegRef o;
		if (reg_ref_parse(*nm, &o, NULL) < 0)
			continue;
		if (!strcmp(o.registry, ref->registry) && strcmp(o.repo, ref->repo)) {
			v = xrealloc(v, (n + 2) * sizeof(char *));
			v[n++] = xstrdup(o.repo);
			v[n] = NULL;
		}
		reg_ref_release(&o);
	}
	return v;
}

static int put_manifest(PushCtx *p, const char *mbuf, size_t mlen, const char *mt, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", p->ref->repo,
					     p->ref->digest ? p->ref->digest : p->ref->tag);
	_cleanup_free_ char *ct = xasprintf("Content-Type: %s", mt);
	const char *hdrs[] = { ct, NULL };
	RcBody body = { .buf = mbuf, .fd = -1, .len = mlen };
	RcResp r = { .max_body = 1u << 16 };
	int e = rc_do(p->c, "PUT", path, hdrs, &body, &r, err);
	if (e == 0 && r.status != 201 && r.status != 200)
		e = rc_fail(&r, "put manifest", err);
	rc_resp_release(&r);
	return e;
}

int reg_push(ImgStore *s, const char *name, const char *ref, const RegClientOpts *o, char **ret_digest,
	     int64_t *ret_size, Error **err)
{
	ImgInfo *img = NULL;
	int e = img_resolve(s, name, &img, err);
	if (e < 0)
		return e;
	RegRef rr;
	e = reg_ref_parse(ref ? ref : name, &rr, err);
	if (e < 0) {
		img_info_free(img);
		return e;
	}
	PushCtx p = { .s = s, .ref = &rr, .o = o };
	_cleanup_free_ char *mbuf = NULL;
	size_t mlen = 0;
	_cleanup_json_ json_t *m = NULL;
	_cleanup_close_ int lock = -1;
	e = img_lock_content(s, &lock, err);
	if (e == 0)
		e = img_blob_read(s, img->manifest_digest, BERTH_MAX_MANIFEST, &mbuf, &mlen, err);
	if (e == 0)
		e = json_parse_buf(mbuf, mlen, "manifest", &m, err);
	if (e == 0)
		e = collect_blobs(&p, m, err);
	p.mount_from = e == 0 ? mount_sources(img, &rr) : NULL;
	StrBuf scope = STRBUF_INIT;
	sb_addf(&scope, "repository:%s:pull,push", rr.repo);
	for (char **f = p.mount_from; f && *f; f++)
		sb_addf(&scope, " repository:%s:pull", *f);
	if (e == 0)
		e = rc_new(rr.registry, rr.host, scope.buf, o, &p.c, err);
	sb_release(&scope);
	if (e == 0) {
		_cleanup_free_ char *line = xasprintf("The push refers to repository [%s/%s]", rr.registry, rr.repo);
		progress(o, NULL, line);
		for (size_t i = p.n - 1; i-- > 0;) {
			char id[13];
			rc_short_id(p.blobs[i].digest, id);
			progress(o, id, "Preparing");
		}
		e = rc_parallel(p.n - 1, o->parallel > 0 ? o->parallel : 3, push_blob, &p, err);
	}
	if (e == 0)
		e = push_blob(p.n - 1, &p, err);
	const char *mt = json_str(m, "mediaType");
	if (e == 0)
		e = put_manifest(&p, mbuf, mlen, mt ? mt : REG_MT_OCI_MANIFEST, err);
	if (e == 0) {
		char d[72];
		sha256_buf(mbuf, mlen, d);
		*ret_digest = xstrdup(d);
		*ret_size = (int64_t)mlen;
	}
	rc_free(p.c);
	free(p.blobs);
	strv_free(p.mount_from);
	reg_ref_release(&rr);
	img_info_free(img);
	return e < 0 ? err_prefix(err, "push '%s'", ref ? ref : name) : 0;
}
