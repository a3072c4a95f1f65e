/* pull.c - `berth pull`: an image from any registry into the local store.
 *
 * The manifest is fetched with every media type we understand in Accept and
 * its digest checked (against the reference's digest, else against
 * Docker-Content-Digest); an index or manifest list is resolved to the
 * host's platform.  The config and the layers the store lacks are streamed
 * into store blob writers (hashed as they arrive, committed only when the
 * digest matches), layers in parallel; a download that breaks resumes with
 * a Range request.  Then image/pull.c unpacks the layers and names the image.
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

typedef struct Sink {
	ImgBlobWriter *w;
	Error *err;
} Sink;

static int sink_write(const void *buf, size_t n, void *ud)
{
	Sink *s = ud;
	return img_blob_writer_write(s->w, buf, n, &s->err);
}

/* Download a blob into the store, resuming with Range after a failure. */
static int fetch_blob(PullCtx *p, const char *digest, Error **err)
{
	if (img_blob_exists(p->s, digest))
		return 0;
	_cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", p->ref->repo, digest);
	Sink sk = { 0 };
	int e = img_blob_writer_new(p->s, &sk.w, err);
	int tries = p->o->retries > 0 ? p->o->retries : 3;
	for (int t = 0; e == 0; t++) {
		uint64_t have = img_blob_writer_size(sk.w);
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)have);
		const char *hdrs[] = { have ? range : NULL, NULL };
		RcResp r = { .max_body = 1u << 16, .sink = sink_write, .sink_ud = &sk };
		Error *re = NULL;
		int rr = rc_do(p->c, "GET", path, hdrs, NULL, &r, &re);
		bool done = rr == 0 && (r.status == 200 || r.status == 206);
		if (!done && rr == 0 && r.status != 200 && r.status != 206)
			rr = rc_fail(&r, "blob", &re);
		if (rr == 0 && have && r.status == 200)
			rr = err_set(&re, EIO, "registry ignored the Range request");
		rc_resp_release(&r);
		if (rr == 0 && !sk.err) {
			err_free(re);
			break;
		}
		if (t + 1 >= tries || rr == -EACCES || rr == -EPERM || rr == -ENOENT) {
			e = err_set(err, rr < 0 ? -rr : EIO, "blob %s: %s", digest,
				    sk.err ? err_msg(sk.err) : err_msg(re));
			err_free(re);
			break;
		}
		err_free(re);
		if (have && img_blob_writer_size(sk.w) == have) {
			/* no progress: start over */
			img_blob_writer_abort(sk.w);
			sk.w = NULL;
			e = img_blob_writer_new(p->s, &sk.w, err);
		}
	}
	err_free(sk.err);
	if (e < 0) {
		img_blob_writer_abort(sk.w);
		return e;
	}
	return img_blob_writer_commit(p->s, sk.w, digest, err);
}

static int pull_layer(size_t i, void *ud, Error **err)
{
	PullCtx *p = ud;
	char id[13];
	rc_short_id(p->layers[i], id);
	if (img_blob_exists(p->s, p->layers[i])) {
		progress(p->o, id, "Already exists");
		return 0;
	}
	int e = fetch_blob(p, p->layers[i], err);
	if (e == 0)
		progress(p->o, id, "Download complete");
	return e;
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
		e = rc_parallel(p->n, p->o->parallel > 0 ? p->o->parallel : 3, pull_layer, p, err);
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
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
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
	const char *name = rr.digest ? NULL : rr.full;
	*ret_new = !(e == 0 && already_have(s, name, digest));
	if (e == 0 && *ret_new)
		e = pull_image(&p, mbuf, mlen, name, err);
	if (e == 0)
		*ret_digest = xstrdup(digest);
	rc_free(p.c);
	free(p.layers);
	reg_ref_release(&rr);
	return e < 0 ? err_prefix(err, "pull '%s'", ref) : 0;
}
