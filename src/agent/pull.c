/* pull.c - the agent's image puller: the image step before a container
 * starts, as the kubelet's image manager does it.
 *
 * imagePullPolicy: Always pulls before every start (the registry client
 * fetches only the manifest when the store already has that digest),
 * IfNotPresent (also when unset: the API server defaults it from the tag)
 * pulls only a missing image, Never leaves the missing image to ctrspec.c
 * (ErrImageNeverPull).
 *
 * Credentials: the Secrets named by the pod's spec.imagePullSecrets, then
 * those of its ServiceAccount's imagePullSecrets, read through the agent's
 * lookup callback; types kubernetes.io/dockerconfigjson and
 * kubernetes.io/dockercfg; a registry key matches the image as the
 * kubelet's keyring does (scheme and /v1/ /v2/ dropped, port equal, "*"
 * globs per host label, the key's path a prefix of the repository's; the
 * Docker Hub names are one).  Each matching credential is tried, most
 * specific key first, then the node's own (the registry client's
 * credentials file, else anonymous).  Bearer token auth is the registry
 * client's (registry/client.c), which sends the credentials to the realm.
 *
 * A name that does not parse is InvalidImageName, whatever the policy.
 * A pull runs on its own detached thread with its own store handle, so the
 * agent's loop never waits; only one pull of an image runs at a time (a
 * second container wanting it waits for the first to finish, then pulls
 * with its own credentials).  The container polls its job on every tick.
 * A failure is ErrImagePull (Events `Failed to pull image "X": ...` and
 * `Error: ErrImagePull`), then ImagePullBackOff (`Back-off pulling image
 * "X"`) until the back-off ends: base, 2*base, ... max, the crash
 * back-off's schedule (kubelet: 10 s doubling to 300 s; --crash-backoff
 * sets the base for tests).
 */
#include "agent-internal.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../registry/registry.h"
#include "../shared/json.h"
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- pure parts ---- */

static const char *strip_scheme(const char *s)
{
	if (!strncmp(s, "https://", 8))
		return s + 8;
	if (!strncmp(s, "http://", 7))
		return s + 7;
	return s;
}

static bool is_docker_hub(const char *host)
{
	return !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") || !strcmp(host, "registry-1.docker.io");
}

/* "host[:port]/path" -> host, port ("" if none), path ("" or "/a/b"). */
typedef struct KeyParts {
	char host[256], port[16], path[512];
} KeyParts;

static bool key_split(const char *s, KeyParts *k)
{
	s = strip_scheme(s);
	size_t hl = strcspn(s, "/");
	const char *colon = memchr(s, ':', hl);
	size_t nl = colon ? (size_t)(colon - s) : hl;
	size_t pl = colon ? hl - nl - 1 : 0;
	if (!nl || nl >= sizeof(k->host) || pl >= sizeof(k->port) || strlen(s + hl) >= sizeof(k->path))
		return false;
	memcpy(k->host, s, nl);
	k->host[nl] = 0;
	memcpy(k->port, colon ? colon + 1 : "", pl);
	k->port[pl] = 0;
	snprintf(k->path, sizeof(k->path), "%s", s + hl);
	if (is_docker_hub(k->host) && !k->port[0])
		snprintf(k->host, sizeof(k->host), "docker.io");
	return true;
}

bool agent_registry_key_match(const char *key, const char *repo)
{
	KeyParts g, t;
	if (!key || !repo || !key_split(key, &g) || !key_split(repo, &t))
		return false;
	/* a key's /v1/ or /v2/ is the API's, not a repository path */
	if (!strncmp(g.path, "/v1/", 4) || !strncmp(g.path, "/v2/", 4))
		memmove(g.path, g.path + 3, strlen(g.path + 3) + 1);
	size_t gl = strlen(g.path);
	while (gl && g.path[gl - 1] == '/')
		g.path[--gl] = 0;
	if (strcmp(g.port, t.port))
		return false;
	/* host labels glob one by one, same count */
	char *gs = NULL, *ts = NULL;
	char *gp = strtok_r(g.host, ".", &gs), *tp = strtok_r(t.host, ".", &ts);
	for (; gp && tp; gp = strtok_r(NULL, ".", &gs), tp = strtok_r(NULL, ".", &ts))
		if (fnmatch(gp, tp, 0) != 0)
			return false;
	if (gp || tp)
		return false;
	if (strncmp(t.path, g.path, gl))
		return false;
	return t.path[gl] == 0 || t.path[gl] == '/';
}

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Standard or URL-safe base64, padding optional; NULL if malformed.
 * Caller frees (NUL-terminated, length in *ret_len). */
static char *b64_decode(const char *in, size_t *ret_len)
{
	size_t n = strlen(in);
	char *out = xmalloc(n / 4 * 3 + 4);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '=')
			break;
		if (in[i] == '\n' || in[i] == '\r')
			continue;
		int v = b64val((unsigned char)in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = 0;
	*ret_len = o;
	return out;
}

/* One config entry -> {"key","user","password"}, or NULL without usable credentials. */
static json_t *entry_cred(const char *key, const json_t *ent)
{
	const char *auth = json_str(ent, "auth");
	if (auth && *auth) {
		size_t n;
		_cleanup_free_ char *raw = b64_decode(auth, &n);
		char *colon = raw ? memchr(raw, ':', n) : NULL;
		if (!colon || strlen(raw) != n)
			return NULL;
		*colon = 0;
		json_t *c = json_pack("{s:s, s:s, s:s}", "key", key, "user", raw, "password", colon + 1);
		explicit_bzero(raw, n);
		return c;
	}
	const char *u = json_str(ent, "username"), *pw = json_str(ent, "password");
	if (!u || !*u)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "key", key, "user", u, "password", pw ? pw : "");
}

static int cmp_key_desc(const void *x, const void *y)
{
	const char *a = json_str(*(json_t *const *)x, "key"), *b = json_str(*(json_t *const *)y, "key");
	return strcmp(strip_scheme(b), strip_scheme(a)); /* reverse: more specific paths first */
}

int agent_pull_secret_creds(const json_t *secret, const char *repo, json_t *creds, Error **err)
{
	const char *type = json_str(secret, "type"), *name = json_str(json_object_get(secret, "metadata"), "name");
	const char *field = NULL;
	if (type && !strcmp(type, "kubernetes.io/dockerconfigjson"))
		field = ".dockerconfigjson";
	else if (type && !strcmp(type, "kubernetes.io/dockercfg"))
		field = ".dockercfg";
	const char *data = field ? json_str(json_object_get(secret, "data"), field) : NULL;
	if (!data || !*data)
		return 0;
	size_t n;
	_cleanup_free_ char *raw = b64_decode(data, &n);
	json_error_t je;
	_cleanup_json_ json_t *cfg = raw ? json_loadb(raw, n, 0, &je) : NULL;
	if (raw)
		explicit_bzero(raw, n);
	const json_t *auths = !strcmp(field, ".dockerconfigjson") ? json_object_get(cfg, "auths") : cfg;
	if (!json_is_object(auths))
		return err_set(err, EINVAL, "secret %s: %s: not a docker config", name ? name : "", field);
	_cleanup_json_ json_t *found = json_array();
	const char *key;
	json_t *ent;
	json_object_foreach((json_t *)auths, key, ent) {
		if (!agent_registry_key_match(key, repo))
			continue;
		json_t *c = entry_cred(key, ent);
		if (c)
			json_array_append_new(found, c);
	}
	size_t k = json_array_size(found);
	json_t **v = xcalloc(k + 1, sizeof(json_t *));
	for (size_t i = 0; i < k; i++)
		v[i] = json_array_get(found, i);
	qsort(v, k, sizeof(*v), cmp_key_desc);
	for (size_t i = 0; i < k; i++)
		json_array_append(creds, v[i]);
	free(v);
	return 0;
}

char *agent_go_duration(int64_t ms)
{
	if (ms <= 0)
		return xstrdup("0s");
	if (ms < 1000)
		return xasprintf("%lldms", (long long)ms);
	StrBuf sb = STRBUF_INIT;
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
	if (h)
		sb_addf(&sb, "%lldh", (long long)h);
	if (h || m)
		sb_addf(&sb, "%lldm", (long long)m);
	sb_addf(&sb, "%lld", (long long)s);
	if (frac) {
		char f[8];
		snprintf(f, sizeof(f), "%03lld", (long long)frac);
		for (int i = 2; i > 0 && f[i] == '0'; i--)
			f[i] = 0;
		sb_addf(&sb, ".%s", f);
	}
	sb_adds(&sb, "s");
	return sb_detach(&sb);
}

void agent_pull_backoff(int failures, int64_t base_ms, int64_t max_ms, int64_t *ret_show_ms, int64_t *ret_retry_ms)
{
	int64_t delay = agent_backoff_ms(failures, base_ms, max_ms);
	*ret_retry_ms = delay;
	*ret_show_ms = delay / 2 < base_ms ? delay / 2 : base_ms;
}

char *agent_image_repo(const char *image)
{
	char *full = NULL;
	if (img_ref_normalize(image, &full, NULL) < 0)
		full = xstrdup(image);
	char *at = strchr(full, '@');
	if (at)
		*at = 0;
	char *slash = strrchr(full, '/'), *colon = strrchr(full, ':');
	if (colon && (!slash || colon > slash))
		*colon = 0;
	return full;
}

/* ---- jobs: one pull on its own thread ---- */

typedef struct PullJob {
	int refs;                  /* the thread and the container (under jobs_lock) */
	bool done;                 /* under jobs_lock */
	char *root, *image, *busy_key;
	char **users, **passwords; /* tried in order, then the node's own */
	size_t n_creds;
	/* results (read once done) */
	int result;
	char *message, *digest, *img_id;
	int64_t size, pull_ms, end_ms;
} PullJob;

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static char **busy;              /* "root\nimage" of the pulls running (under jobs_lock) */
static size_t n_busy;

static int64_t mono_ms(void) { return agent_now_ms(); }

static bool busy_has(const char *key)
{
	for (size_t i = 0; i < n_busy; i++)
		if (!strcmp(busy[i], key))
			return true;
	return false;
}

static void busy_del(const char *key)
{
	for (size_t i = 0; i < n_busy; i++)
		if (!strcmp(busy[i], key)) {
			free(busy[i]);
			busy[i] = busy[--n_busy];
			return;
		}
}

static void job_free(PullJob *j)
{
	for (size_t i = 0; i < j->n_creds; i++) {
		free(j->users[i]);
		if (j->passwords[i])
			explicit_bzero(j->passwords[i], strlen(j->passwords[i]));
		free(j->passwords[i]);
	}
	free(j->users);
	free(j->passwords);
	free(j->root);
	free(j->image);
	free(j->busy_key);
	free(j->message);
	free(j->digest);
	free(j->img_id);
	free(j);
}

static void job_unref(PullJob *j)
{
	pthread_mutex_lock(&jobs_lock);
	bool last = --j->refs == 0;
	pthread_mutex_unlock(&jobs_lock);
	if (last)
		job_free(j);
}

/* Kubelet's aggregate of errors: one as is, several as "[a, b]"; repeats once. */
static void errs_add(StrBuf *sb, int *n, const char *msg)
{
	if (*n && strstr(sb->buf, msg))
		return;
	if (*n)
		sb_adds(sb, ", ");
	sb_adds(sb, msg);
	(*n)++;
}

/* reg_pull with each credential, then the node's own: 0, or -EIO with the
 * errors of every attempt in j->message. */
static int job_try_pulls(PullJob *j, ImgStore *s)
{
	StrBuf errs = STRBUF_INIT;
	int n_errs = 0;
	_cleanup_free_ char *prefix = xasprintf("pull '%s': ", j->image);
	for (size_t i = 0; i <= j->n_creds; i++) {
		RegClientOpts o = { .tls_verify = true };
		if (i < j->n_creds) {
			o.user = j->users[i];
			o.password = j->passwords[i];
		}
		bool fresh = false;
		Error *pe = NULL;
		if (reg_pull(s, j->image, &o, &j->digest, &fresh, &pe) == 0) {
			sb_release(&errs);
			return 0;
		}
		/* the Event names the image already: drop reg_pull's "pull 'X': " */
		const char *m = err_msg(pe);
		errs_add(&errs, &n_errs, strncmp(m, prefix, strlen(prefix)) ? m : m + strlen(prefix));
		err_free(pe);
	}
	j->message = n_errs > 1 ? xasprintf("[%s]", errs.buf) : sb_detach(&errs);
	sb_release(&errs);
	return -EIO;
}

static void job_run(PullJob *j)
{
	ImgStore *s = NULL;
	Error *e = NULL;
	ImgInfo *img = NULL;
	j->result = img_store_open(j->root, &s, &e);
	if (j->result == 0 && (j->result = job_try_pulls(j, s)) < 0) {
		img_store_free(s);
		return;
	}
	if (j->result == 0)
		j->result = img_resolve(s, j->image, &img, &e);
	if (j->result < 0) {
		j->message = xstrdup(err_msg(e));
	} else {
		j->img_id = xstrdup(img->id);
		j->size = img->size;
		img_info_free(img);
	}
	err_free(e);
	img_store_free(s);
}

static void *job_main(void *arg)
{
	PullJob *j = arg;
	int64_t t0 = mono_ms();
	job_run(j);
	j->end_ms = mono_ms();
	j->pull_ms = j->end_ms - t0;
	if (j->result < 0)
		log_info("pull %s: %s", j->image, j->message);
	pthread_mutex_lock(&jobs_lock);
	busy_del(j->busy_key);
	j->done = true;
	bool last = --j->refs == 0;
	pthread_mutex_unlock(&jobs_lock);
	if (last)
		job_free(j);
	return NULL;
}

/* ---- the container's side ---- */

typedef struct CtrPull {
	PullJob *job;
	int failures;              /* pulls failed in a row (the back-off) */
	int64_t requested_ms;      /* when the image was first wanted (waiting counts from here) */
	int64_t backoff_ms;        /* ErrImagePull turns ImagePullBackOff then */
	int64_t retry_ms;          /* no pull before */
	bool pulled;               /* the next start follows a pull */
	char *img_id, *ref_id;     /* the pulled image's id, "host/repo@sha256:..." */
} CtrPull;

static CtrPull *ctr_pull(PodCtr *c)
{
	if (!c->pull)
		c->pull = xcalloc(1, sizeof(CtrPull));
	return c->pull;
}

void pull_ctr_release(PodCtr *c)
{
	CtrPull *st = c->pull;
	if (!st)
		return;
	if (st->job)
		job_unref(st->job); /* a pull in flight finishes on its own */
	free(st->img_id);
	free(st->ref_id);
	free(st);
	c->pull = NULL;
}

bool pull_take_pulled(PodCtr *c)
{
	bool p = c->pull && c->pull->pulled;
	if (p)
		c->pull->pulled = false;
	return p;
}

const char *pull_image_ref_id(const PodCtr *c)
{
	const CtrPull *st = c->pull;
	if (!st || !st->ref_id || !c->image_id || strcmp(c->image_id, st->img_id))
		return NULL;
	return st->ref_id;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* The container waits (an exited one keeps its last state). */
static void ctr_pull_wait(Pod *p, PodCtr *c, const char *reason, const char *msg)
{
	if (c->phase == CTR_DONE) {
		json_decref(c->last_term);
		c->last_term = status_terminated_json(c);
		c->phase = CTR_WAITING;
	}
	set_str(&c->reason, reason);
	set_str(&c->message, msg);
	podctr_state_save(p, c);
}

static void add_secret(Agent *a, Pod *p, const char *name, const char *repo, json_t *creds, StrBuf *missing)
{
	_cleanup_json_ json_t *sec = NULL;
	Error *e = NULL;
	if (!a->cfg.lookup || a->cfg.lookup(a->cfg.ud, "Secret", p->ns, name, &sec) < 0 || !sec) {
		sb_addf(missing, "%s%s", missing->len ? ", " : "", name);
		return;
	}
	if (agent_pull_secret_creds(sec, repo, creds, &e) < 0)
		log_warn("pod %s/%s: %s", p->ns, p->name, err_msg(e));
	err_free(e);
}

/* The credentials to try, in order: the pod's pull secrets, then its
 * ServiceAccount's; duplicates once.  New ref. */
static json_t *gather_creds(Agent *a, Pod *p, const char *image)
{
	_cleanup_free_ char *repo = agent_image_repo(image);
	json_t *creds = json_array();
	StrBuf missing = STRBUF_INIT;
	const json_t *spec = json_object_get(pod_tree(p), "spec");
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, ref)
		if (json_str(ref, "name"))
			add_secret(a, p, json_str(ref, "name"), repo, creds, &missing);
	const char *sa_name = json_str(spec, "serviceAccountName");
	_cleanup_json_ json_t *sa = NULL;
	if (a->cfg.lookup && a->cfg.lookup(a->cfg.ud, "ServiceAccount", p->ns, sa_name ? sa_name : "default", &sa) == 0)
		json_array_foreach(json_object_get(sa, "imagePullSecrets"), i, ref)
			if (json_str(ref, "name"))
				add_secret(a, p, json_str(ref, "name"), repo, creds, &missing);
	if (missing.len)
		agent_event(a, p, NULL, "Warning", "FailedToRetrieveImagePullSecret",
			    "Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.",
			    missing.buf);
	sb_release(&missing);
	/* the same user and password once */
	json_t *uniq = json_array();
	json_t *cr;
	json_array_foreach(creds, i, cr) {
		bool dup = false;
		for (size_t k = 0; k < json_array_size(uniq) && !dup; k++) {
			json_t *u = json_array_get(uniq, k);
			dup = !strcmp(json_str(u, "user"), json_str(cr, "user")) &&
			      !strcmp(json_str(u, "password"), json_str(cr, "password"));
		}
		if (!dup)
			json_array_append(uniq, cr);
	}
	json_decref(creds);
	return uniq;
}

static char *busy_key(Agent *a, const char *image)
{
	char *full = NULL;
	if (img_ref_normalize(image, &full, NULL) < 0)
		full = xstrdup(image);
	char *k = xasprintf("%s\n%s", a->root, full);
	free(full);
	return k;
}

/* Start the pull: false (the container waits). */
static bool job_start(Agent *a, Pod *p, PodCtr *c, CtrPull *st, const char *image, int64_t now)
{
	if (!st->requested_ms)
		st->requested_ms = mono_ms(); /* not the tick's start: the sandbox may have been made since */
	c->next_try_ms = now; /* polled every tick */
	_cleanup_free_ char *key = busy_key(a, image);
	pthread_mutex_lock(&jobs_lock);
	bool taken = busy_has(key);
	if (!taken) {
		busy = xrealloc(busy, (n_busy + 1) * sizeof(char *));
		busy[n_busy++] = xstrdup(key);
	}
	pthread_mutex_unlock(&jobs_lock);
	if (taken)
		return false; /* another pull of this image runs: after it */
	_cleanup_json_ json_t *creds = gather_creds(a, p, image);
	PullJob *j = xcalloc(1, sizeof(*j));
	j->refs = 2;
	j->root = xstrdup(a->root);
	j->image = xstrdup(image);
	j->busy_key = TAKE_PTR(key);
	j->n_creds = json_array_size(creds);
	j->users = xcalloc(j->n_creds + 1, sizeof(char *));
	j->passwords = xcalloc(j->n_creds + 1, sizeof(char *));
	for (size_t i = 0; i < j->n_creds; i++) {
		j->users[i] = xstrdup(json_str(json_array_get(creds, i), "user"));
		j->passwords[i] = xstrdup(json_str(json_array_get(creds, i), "password"));
	}
	agent_event(a, p, c, "Normal", "Pulling", "Pulling image \"%s\"", image);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&th, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		/* no thread: the job is finished with that error */
		pthread_mutex_lock(&jobs_lock);
		busy_del(j->busy_key);
		j->refs = 1;
		j->done = true;
		pthread_mutex_unlock(&jobs_lock);
		j->result = -r;
		j->message = xasprintf("cannot start a pull thread: %s", strerror(r));
	}
	st->job = j;
	return false;
}

static void backoff_show(Agent *a, Pod *p, PodCtr *c, CtrPull *st, const char *image, int64_t now)
{
	if (now < st->backoff_ms) {
		c->next_try_ms = st->backoff_ms;
		return;
	}
	c->next_try_ms = st->retry_ms;
	if (c->phase == CTR_WAITING && c->reason && !strcmp(c->reason, "ImagePullBackOff"))
		return;
	_cleanup_free_ char *msg = xasprintf("Back-off pulling image \"%s\"", image);
	ctr_pull_wait(p, c, "ImagePullBackOff", msg);
	agent_event(a, p, c, "Normal", "BackOff", "%s", msg);
	agent_event(a, p, c, "Warning", "Failed", "Error: ImagePullBackOff");
}

/* The job ended: true when the image is in place. */
static bool job_finish(Agent *a, Pod *p, PodCtr *c, CtrPull *st, const char *image, int64_t now)
{
	PullJob *j = st->job;
	st->job = NULL;
	bool ok = j->result == 0;
	if (ok) {
		_cleanup_free_ char *took = agent_go_duration(j->pull_ms);
		_cleanup_free_ char *waited = agent_go_duration(j->end_ms - st->requested_ms);
		_cleanup_free_ char *repo = agent_image_repo(image);
		set_str(&st->img_id, j->img_id);
		free(st->ref_id);
		st->ref_id = xasprintf("%s@%s", repo, j->digest);
		st->pulled = true;
		st->failures = 0;
		st->retry_ms = st->backoff_ms = 0;
		agent_event(a, p, c, "Normal", "Pulled",
			    "Successfully pulled image \"%s\" in %s (%s including waiting). Image size: %lld bytes.", image,
			    took, waited, (long long)j->size);
	} else {
		int64_t show, delay;
		agent_pull_backoff(++st->failures, a->cfg.backoff_base_ms, a->cfg.backoff_max_ms, &show, &delay);
		st->retry_ms = now + delay;
		st->backoff_ms = now + show;
		c->next_try_ms = st->backoff_ms;
		ctr_pull_wait(p, c, "ErrImagePull", j->message);
		agent_event(a, p, c, "Warning", "Failed", "Failed to pull image \"%s\": %s", image, j->message);
		agent_event(a, p, c, "Warning", "Failed", "Error: ErrImagePull");
	}
	st->requested_ms = 0;
	job_unref(j);
	return ok;
}

static bool image_present(Agent *a, const char *image)
{
	ImgInfo *img = NULL;
	if (img_resolve(a->images, image, &img, NULL) < 0)
		return false;
	img_info_free(img);
	return true;
}

/* A name that does not parse: InvalidImageName (whatever the policy), as
 * the kubelet; tried again a base back-off later (the spec cannot change). */
static bool image_name_ok(Agent *a, Pod *p, PodCtr *c, const char *image, int64_t now)
{
	_cleanup_free_ char *full = NULL;
	Error *e = NULL;
	if (img_ref_normalize(image, &full, &e) == 0)
		return true;
	_cleanup_free_ char *msg = xasprintf("Failed to apply default image tag \"%s\": couldn't parse image name \"%s\": %s",
					     image, image, err_msg(e));
	err_free(e);
	c->next_try_ms = now + a->cfg.backoff_base_ms;
	if (c->reason && !strcmp(c->reason, "InvalidImageName"))
		return false;
	ctr_pull_wait(p, c, "InvalidImageName", msg);
	agent_event(a, p, c, "Warning", "InspectFailed", "%s", msg);
	agent_event(a, p, c, "Warning", "Failed", "Error: InvalidImageName");
	return false;
}

bool pull_image_step(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	const char *image = json_str(ctr_spec(p, c), "image"), *policy = json_str(ctr_spec(p, c), "imagePullPolicy");
	if (!image || !*image)
		return true; /* ctrspec.c reports it */
	if (!image_name_ok(a, p, c, image, now))
		return false;
	if (policy && !strcmp(policy, "Never"))
		return true; /* ctrspec.c reports a missing image: ErrImageNeverPull */
	CtrPull *st = ctr_pull(c);
	if (st->job) {
		pthread_mutex_lock(&jobs_lock);
		bool done = st->job->done;
		pthread_mutex_unlock(&jobs_lock);
		if (!done) {
			c->next_try_ms = now;
			return false;
		}
		return job_finish(a, p, c, st, image, now);
	}
	if (now < st->retry_ms) {
		backoff_show(a, p, c, st, image, now);
		return false;
	}
	bool always = policy && !strcmp(policy, "Always");
	if (!always && image_present(a, image))
		return true;
	return job_start(a, p, c, st, image, now);
}
