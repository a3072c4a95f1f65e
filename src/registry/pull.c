/* pull.c - `berth pull`: an image from any registry into the local store.
 *
 * The manifest is fetched with every media type we understand in Accept and
 * its digest checked (against the reference's digest, else against
 * Docker-Content-Digest); an index or manifest list is resolved to the
 * host's platform; the digest reported is the one the reference names (the
 * index's, for a multi-platform image), and a pull by digest names the
 * image "host/repo@sha256:...".  The config and the layers the store lacks are streamed
 * into the store: the config into a blob writer, the layers (in parallel)
 * through image/pull.c's ImgPullLayers, which hashes each blob as it arrives
 * and unpacks it on another thread at the same time, publishing the layer
 * only once the blob's digest matched.  A download that breaks resumes with
 * a Range request.  Then img_put_manifest names the image (layers in place).
 */
#include "client.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <string.h>
#include <sys/utsname.h>

#define ACCEPT_MANIFESTS "Accept: " REG_MT_OCI_INDEX ", " REG_MT_DOCKER_LIST ", " REG_MT_OCI_MANIFEST ", " \
	REG_MT_DOCKER_MANIFEST

typedef struct PullCtx {
	RegClient *c;
	ImgStore *s;
	const RegRef *ref;
	const RegClientOpts *o;
	char (*layers)[72];
	size_t n;
	ImgPullLayers *group;   /* the layers, unpacked as they download */
} PullCtx;

static void progress(const RegClientOpts *o, const char *id, const char *status)
{
	if (o->progress)
		o->progress(id, status, o->ud);
}

static int get_manifest(PullCtx *p, const char *reference, char **ret, size_t *ret_len, char ret_digest[72],
			Error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", p->ref->repo, reference);
	const char *hdrs[] = { ACCEPT_MANIFESTS, NULL };
	RcResp r = { .max_body = BERTH_MAX_MANIFEST };
	int e = rc_do(p->c, "GET", path, hdrs, NULL, &r, err);
	if (e == 0 && r.status != 200)
		e = rc_fail(&r, "manifest", err);
	if (e == 0) {
		sha256_buf(r.body.buf, r.body.len, ret_digest);
		const char *want = digest_valid(reference) ? reference : r.digest;
		if (want && digest_valid(want) && strcmp(want, ret_digest))
			e = err_set(err, EBADMSG, "manifest digest mismatch: got %s, want %s", ret_digest, want);
	}
	if (e == 0) {
		*ret_len = r.body.len;
		*ret = sb_detach(&r.body);
	}
	rc_resp_release(&r);
	return e;
}

static const char *host_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	if (!strcmp(u.machine, "x86_64"))
		return "amd64";
	if (!strcmp(u.machine, "aarch64"))
		return "arm64";
	return str_has_prefix(u.machine, "arm") ? "arm" : "amd64";
}

static const char *pick_platform(json_t *index)
{
	const char *arch = host_arch(), *any = NULL;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		json_t *pl = json_object_get(d, "platform");
		const char *os = json_str(pl, "os"), *a = json_str(pl, "architecture");
		if (os && a && !strcmp(os, "linux") && !strcmp(a, arch))
			return json_str(d, "digest");
		if (!pl && !any)
			any = json_str(d, "digest");
	}
	return any;
}

/* Where a blob's bytes go: a store blob writer (the config) or a layer of
 * the image's ImgPullLayers group (unpacked as it arrives, which gathers
 * the bytes in chunks itself). */
#define DEST_BUF (1u << 20)   /* curl hands over up to 256 KiB at a time: write in 1 MiB steps */

typedef struct Dest {
	PullCtx *p;
	ImgBlobWriter *w;   /* or */
	size_t layer;
	Error *err;
	char *buf;
	size_t len;
} Dest;

static int dest_flush(Dest *d)
{
	if (!d->len || d->err)
		return d->err ? -EIO : 0;
	int r = d->w ? img_blob_writer_write(d->w, d->buf, d->len, &d->err)
		     : img_pull_layer_write(d->p->group, d->layer, d->buf, d->len, &d->err);
	d->len = 0;
	return r;
}

static int dest_write(const void *buf, size_t n, void *ud)
{
	Dest *d = ud;
	if (!d->w) /* a layer: the group collects chunks itself */
		return img_pull_layer_write(d->p->group, d->layer, buf, n, &d->err) < 0 ? -EIO : 0;
	if (!d->buf)
		d->buf = xmalloc(DEST_BUF);
	if (d->len + n > DEST_BUF && dest_flush(d) < 0)
		return -EIO;
	if (n >= DEST_BUF) {
		int r = d->w ? img_blob_writer_write(d->w, buf, n, &d->err)
			     : img_pull_layer_write(d->p->group, d->layer, buf, n, &d->err);
		return r;
	}
	memcpy(d->buf + d->len, buf, n);
	d->len += n;
	return 0;
}

static uint64_t dest_size(Dest *d)
{
	return d->w ? img_blob_writer_size(d->w) : img_pull_layer_size(d->p->group, d->layer);
}

static int dest_restart(Dest *d, Error **err)
{
	if (!d->w)
		return img_pull_layer_restart(d->p->group, d->layer, err) < 0 ? -EIO : 0;
	img_blob_writer_abort(d->w);
	d->w = NULL;
	return img_blob_writer_new(d->p->s, &d->w, err);
}

/* Download a blob into d, resuming with Range after a failure. */
static int fetch_into(PullCtx *p, const char *digest, Dest *d, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->ref->repo, digest);
	int tries = p->o->retries > 0 ? p->o->retries : 3;
	int e = 0;
	for (int t = 0;; t++) {
		uint64_t have = dest_size(d);
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)have);
		const char *hdrs[] = { have ? range : NULL, NULL };
		RcResp r = { .max_body = 1u << 16, .sink = dest_write, .sink_ud = d };
		Error *re = NULL;
		int rr = rc_do(p->c, "GET", path, hdrs, NULL, &r, &re);
		dest_flush(d); /* what arrived is good: a resume continues after it */
		bool done = rr == 0 && (r.status == 200 || r.status == 206);
		if (!done && rr == 0 && r.status != 200 && r.status != 206)
			rr = rc_fail(&r, "blob", &re);
		if (rr == 0 && have && r.status == 200)
			rr = err_set(&re, EIO, "registry ignored the Range request");
		rc_resp_release(&r);
		if (rr == 0 && !d->err) {
			err_free(re);
			return 0;
		}
		if (t + 1 >= tries || rr == -EACCES || rr == -EPERM || rr == -ENOENT) {
			e = err_set(err, rr < 0 ? -rr : EIO, "blob %s: %s", digest, d->err ? err_msg(d->err) : err_msg(re));
			err_free(re);
			return e;
		}
		err_free(re);
		err_free(d->err);
		d->err = NULL;
		if (have && dest_size(d) == have && (e = dest_restart(d, err)) < 0) /* no progress: start over */
			return e;
	}
}

static int fetch_blob(PullCtx *p, const char *digest, Error **err)
{
	if (img_blob_exists(p->s, digest))
		return 0;
	Dest d = { .p = p };
	int e = img_blob_writer_new(p->s, &d.w, err);
	if (e == 0)
		e = fetch_into(p, digest, &d, err);
	err_free(d.err);
	free(d.buf);
	if (e < 0) {
		img_blob_writer_abort(d.w);
		return e;
	}
	return img_blob_writer_commit(p->s, d.w, digest, err);
}

static int pull_layer(size_t i, void *ud, Error **err)
{
	PullCtx *p = ud;
	char id[13];
	rc_short_id(p->layers[i], id);
	int e = img_pull_layer_begin(p->group, i, err);
	if (e == 1) {
		progress(p->o, id, "Already exists");
		return 0;
	}
	Dest d = { .p = p, .layer = i };
	if (e == 0)
		e = fetch_into(p, p->layers[i], &d, err);
	err_free(d.err);
	free(d.buf);
	if (e == 0)
		e = img_pull_layer_finish(p->group, i, err);
	if (e == 0)
		progress(p->o, id, "Download complete");
	return e;
}

/* Layers (digests, media types) from the manifest, diff_ids from the config. */
static int plan_layers(PullCtx *p, json_t *layers, const char *cfg, Error **err)
{
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	_cleanup_json_ json_t *config = NULL;
	int e = img_blob_read(p->s, cfg, BERTH_MAX_IMAGE_CONFIG, &cbuf, &clen, err);
	if (e == 0)
		e = json_parse_buf(cbuf, clen, "image config", &config, err);
	if (e < 0)
		return e;
	json_t *diff_ids = json_path(config, "rootfs.diff_ids");
	if (json_array_size(diff_ids) != p->n)
		return err_set(err, EINVAL, "manifest: layers do not match the config's diff_ids");
	_cleanup_free_ const char **dv = xcalloc(p->n + 1, sizeof(char *));
	_cleanup_free_ const char **mv = xcalloc(p->n + 1, sizeof(char *));
	_cleanup_free_ const char **lv = xcalloc(p->n + 1, sizeof(char *));
	for (size_t i = 0; i < p->n; i++) {
		dv[i] = json_string_value(json_array_get(diff_ids, i));
		mv[i] = json_str(json_array_get(layers, i), "mediaType");
		lv[i] = p->layers[i];
		if (!dv[i] || !digest_valid(dv[i]))
			return err_set(err, EINVAL, "image config: diff_id %zu invalid", i);
	}
	p->group = img_pull_layers_new(p->s, p->n, lv, mv, dv);
	return 0;
}

static int pull_image(PullCtx *p, const char *mbuf, size_t mlen, const char *name, Error **err)
{
	_cleanup_json_ json_t *m = NULL;
	int e = json_parse_buf(mbuf, mlen, "manifest", &m, err);
	if (e < 0)
		return e;
	json_t *layers = json_object_get(m, "layers");
	const char *cfg = json_str(json_object_get(m, "config"), "digest");
	if (!cfg || !digest_valid(cfg) || !json_is_array(layers) || json_array_size(layers) > BERTH_MAX_LAYERS)
		return err_set(err, EINVAL, "manifest: not an image manifest");
	p->n = json_array_size(layers);
	p->layers = xcalloc(p->n + 1, 72);
	for (size_t i = 0; i < p->n; i++) {
		const char *d = json_str(json_array_get(layers, i), "digest");
		if (!d || !digest_valid(d))
			return err_set(err, EINVAL, "manifest: layer %zu: bad digest", i);
		snprintf(p->layers[i], 72, "%s", d);
		char id[13];
		rc_short_id(d, id);
		progress(p->o, id, "Pulling fs layer");
	}
	e = fetch_blob(p, cfg, err);
	if (e == 0)
		e = plan_layers(p, layers, cfg, err);
	if (e == 0)
		e = rc_parallel(p->n, p->o->parallel > 0 ? p->o->parallel : 3, pull_layer, p, err);
	if (p->group) {
		Error *we = NULL;
		int w = img_pull_layers_wait(p->group, e == 0 ? err : &we);
		err_free(we);
		if (e == 0)
			e = w;
	}
	_cleanup_free_ char *id = NULL;
	if (e == 0)
		e = img_put_manifest(p->s, mbuf, mlen, name, &id, err);
	for (size_t i = 0; e == 0 && i < p->n; i++) {
		char sid[13];
		rc_short_id(p->layers[i], sid);
		progress(p->o, sid, "Pull complete");
	}
	return e;
}

static bool already_have(ImgStore *s, const char *name, const char *digest)
{
	ImgInfo *img = NULL;
	if (!name || img_resolve(s, name, &img, NULL) < 0)
		return false;
	bool same = img->manifest_digest && !strcmp(img->manifest_digest, digest);
	img_info_free(img);
	return same;
}

int reg_pull(ImgStore *s, const char *ref, const RegClientOpts *o, char **ret_digest, bool *ret_new, Error **err)
{
	RegRef rr;
	int e = reg_ref_parse(ref, &rr, err);
	if (e < 0)
		return e;
	PullCtx p = { .s = s, .ref = &rr, .o = o };
	_cleanup_free_ char *scope = xasprintf("repository:%s:pull", rr.repo);
	_cleanup_free_ char *mbuf = NULL;
	size_t mlen = 0;
	char digest[72] = "";
	_cleanup_close_ int lock = -1;
	e = img_lock_content(s, &lock, err);
	if (e == 0)
		e = rc_new(rr.registry, rr.host, scope, o, &p.c, err);
	if (e == 0) {
		_cleanup_free_ char *line = xasprintf("%s: Pulling from %s", rr.digest ? rr.digest : rr.tag, rr.repo);
		progress(o, NULL, line);
		e = get_manifest(&p, rr.digest ? rr.digest : rr.tag, &mbuf, &mlen, digest, err);
	}
	char top[72]; /* what the reference names: the index of a multi-platform image */
	memcpy(top, digest, sizeof(top));
	_cleanup_json_ json_t *m = NULL;
	if (e == 0)
		e = json_parse_buf(mbuf, mlen, "manifest", &m, err);
	if (e == 0 && json_object_get(m, "manifests")) {
		const char *child = pick_platform(m);
		if (!child || !digest_valid(child)) {
			e = err_set(err, ENOENT, "no manifest for linux/%s in the index", host_arch());
		} else {
			_cleanup_free_ char *c = xstrdup(child);
			free(mbuf);
			mbuf = NULL;
			e = get_manifest(&p, c, &mbuf, &mlen, digest, err);
		}
	}
	/* a pull by digest names the image by it ("host/repo@sha256:..."), as docker does */
	const char *name = rr.full;
	*ret_new = !(e == 0 && already_have(s, name, digest));
	if (e == 0 && *ret_new)
		e = pull_image(&p, mbuf, mlen, name, err);
	if (e == 0)
		*ret_digest = xstrdup(top);
	rc_free(p.c);
	img_pull_layers_free(p.group);
	free(p.layers);
	reg_ref_release(&rr);
	return e < 0 ? err_prefix(err, "pull '%s'", ref) : 0;
}
