/* imagegc.c - the node's image garbage collection (the kubelet's image GC
 * manager): when the filesystem holding the node's image store is fuller
 * than the high threshold, remove images no pod on the node uses, least
 * recently used first, until it is below the low threshold.
 *
 * The agent's tick publishes what is in use (agent_imagegc_publish: the
 * image names of every pod's containers and the ids of the images their
 * instances run); a thread of its own wakes every period, records when
 * each image was last in use (images never used count from when they were
 * first seen, so a fresh import or pull is never taken at once), and, over
 * the threshold, removes unused images older than the minimum age through
 * its own handle on the store (img_remove takes the store's gc lock, so a
 * pull or import in progress is never disturbed; blobs and unpacked layers
 * no other image shares go with the image).
 */
#include "agent-internal.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

struct AgentImageGc {
	char *root;
	int high_pct, low_pct;
	int64_t min_age_ms, period_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	json_t *in_use;       /* under lock: {"names": {ref: true}, "ids": {id: true}} */
	json_t *last_used;    /* thread: image id -> monotonic ms */
	bool short_of;        /* thread: the last round could not free enough */
	bool stop;
	pthread_t th;
};

/* ---- what is in use ---- */

static void add_ctr(json_t *names, json_t *ids, const PodCtr *c)
{
	const char *image = c->image[0] ? c->image : NULL;
	_cleanup_free_ char *full = NULL;
	if (image && img_ref_normalize(image, &full, NULL) == 0)
		json_object_set_new(names, full, json_true());
	if (c->image_id)
		json_object_set_new(ids, c->image_id, json_true());
}

void agent_imagegc_publish(Agent *a)
{
	AgentImageGc *g = a->imagegc;
	if (!g)
		return;
	json_t *names = json_object(), *ids = json_object();
	for (const Pod *p = a->pods; p; p = p->next) {
		for (size_t i = 0; i < p->n_init; i++)
			add_ctr(names, ids, &p->init[i]);
		for (size_t i = 0; i < p->n_app; i++)
			add_ctr(names, ids, &p->app[i]);
	}
	json_t *now = json_pack("{s:o, s:o}", "names", names, "ids", ids);
	pthread_mutex_lock(&g->lock);
	if (json_equal(now, g->in_use)) {
		json_decref(now);
	} else {
		json_decref(g->in_use);
		g->in_use = now;
	}
	pthread_mutex_unlock(&g->lock);
}

static bool image_in_use(const json_t *in_use, const ImgInfo *img)
{
	if (json_object_get(json_object_get(in_use, "ids"), img->id))
		return true;
	const json_t *names = json_object_get(in_use, "names");
	for (char **n = img->names; n && *n; n++)
		if (json_object_get(names, *n))
			return true;
	return false;
}

/* ---- the pure decision ---- */

int agent_imagegc_usage_pct(uint64_t total, uint64_t avail)
{
	if (total == 0 || avail >= total)
		return 0;
	return (int)(((total - avail) * 100 + total - 1) / total);
}

uint64_t agent_imagegc_to_free(uint64_t total, uint64_t avail, int high_pct, int low_pct)
{
	if (high_pct >= 100 || agent_imagegc_usage_pct(total, avail) < high_pct)
		return 0;
	uint64_t used = total - avail, keep = total / 100 * (uint64_t)low_pct;
	return used > keep ? used - keep : 0;
}

typedef struct Candidate {
	ImgInfo *img;
	int64_t last_used;
} Candidate;

static int by_last_used(const void *x, const void *y)
{
	const Candidate *a = x, *b = y;
	if (a->last_used != b->last_used)
		return a->last_used < b->last_used ? -1 : 1;
	return strcmp(a->img->id, b->img->id);
}

/* ---- one round ---- */

static json_t *in_use_snapshot(AgentImageGc *g)
{
	pthread_mutex_lock(&g->lock);
	json_t *j = json_incref(g->in_use);
	pthread_mutex_unlock(&g->lock);
	return j;
}

static uint64_t remove_image(AgentImageGc *g, ImgStore *s, ImgInfo *img)
{
	/* what is in use is read again right before the removal */
	_cleanup_json_ json_t *in_use = in_use_snapshot(g);
	if (image_in_use(in_use, img))
		return 0;
	_cleanup_err_ Error *err = NULL;
	char **lines = NULL;
	int r = img_remove(s, img->id, true, NULL, &lines, &err);
	for (char **l = lines; l && *l; l++)
		free(*l);
	free(lines);
	if (r < 0) {
		log_warn("image gc: remove %.19s: %s", img->id, err_msg(err));
		return 0;
	}
	log_info("image gc: removed %.19s (%s, %lld bytes)", img->id, img->names && img->names[0] ? img->names[0] : "<none>",
		 (long long)img->size);
	json_object_del(g->last_used, img->id);
	return img->size > 0 ? (uint64_t)img->size : 1;
}

static void gc_round(AgentImageGc *g, ImgStore *s)
{
	ImgInfo **imgs = NULL;
	size_t n = 0;
	_cleanup_err_ Error *err = NULL;
	if (img_list(s, &imgs, &n, &err) < 0) {
		log_warn("image gc: %s", err_msg(err));
		return;
	}
	int64_t now = agent_now_ms();
	_cleanup_json_ json_t *in_use = in_use_snapshot(g);
	Candidate *cand = xcalloc(n + 1, sizeof(*cand));
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *seen = json_object_get(g->last_used, imgs[i]->id);
		if (image_in_use(in_use, imgs[i]) || !seen) {
			json_object_set_new(g->last_used, imgs[i]->id, json_integer(now));
			continue;
		}
		if (now - json_integer_value(seen) >= g->min_age_ms)
			cand[nc++] = (Candidate){ imgs[i], json_integer_value(seen) };
	}
	struct statvfs fs;
	uint64_t to_free = 0;
	if (statvfs(g->root, &fs) == 0)
		to_free = agent_imagegc_to_free((uint64_t)fs.f_blocks * fs.f_frsize, (uint64_t)fs.f_bavail * fs.f_frsize,
						g->high_pct, g->low_pct);
	log_debug("image gc: %zu images, %zu unused and older than the minimum age, %llu bytes to free", n, nc,
		  (unsigned long long)to_free);
	bool short_of = false;
	if (to_free > 0) {
		qsort(cand, nc, sizeof(*cand), by_last_used);
		uint64_t freed = 0;
		for (size_t i = 0; i < nc && freed < to_free && !g->stop; i++)
			freed += remove_image(g, s, cand[i].img);
		short_of = freed < to_free;
		if (short_of && !g->short_of)  /* said once until a round frees enough again */
			log_warn("image gc: wanted to free %llu bytes, freed %llu: the rest is in use or too young",
				 (unsigned long long)to_free, (unsigned long long)freed);
	}
	g->short_of = short_of;
	free(cand);
	for (size_t i = 0; i < n; i++)
		img_info_free(imgs[i]);
	free(imgs);
}

static void *gc_main(void *arg)
{
	AgentImageGc *g = arg;
	ImgStore *s = NULL;
	_cleanup_err_ Error *err = NULL;
	if (img_store_open(g->root, &s, &err) < 0) {
		log_warn("image gc: %s", err_msg(err));
		return NULL;
	}
	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += g->period_ms / 1000;
		until.tv_nsec += (g->period_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!g->stop && pthread_cond_timedwait(&g->wake, &g->lock, &until) == 0)
			;
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->lock);
		gc_round(g, s);
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	img_store_free(s);
	return NULL;
}

/* ---- the interface ---- */

int agent_imagegc_start(Agent *a, Error **err)
{
	const AgentConfig *cfg = &a->cfg;
	if (cfg->image_gc_high_pct >= 100)
		return 0;  /* disabled, as the kubelet with a high threshold of 100 */
	if (cfg->image_gc_low_pct < 0 || cfg->image_gc_high_pct < 0 || cfg->image_gc_low_pct > cfg->image_gc_high_pct)
		return err_set(err, EINVAL, "image gc: low threshold %d%% must be between 0 and the high threshold %d%%",
			       cfg->image_gc_low_pct, cfg->image_gc_high_pct);
	AgentImageGc *g = xcalloc(1, sizeof(*g));
	g->root = xstrdup(a->root);
	g->high_pct = cfg->image_gc_high_pct;
	g->low_pct = cfg->image_gc_low_pct;
	g->min_age_ms = cfg->image_min_age_ms;
	g->period_ms = cfg->image_gc_period_ms > 0 ? cfg->image_gc_period_ms : 1000;
	g->in_use = json_pack("{s:{}, s:{}}", "names", "ids");
	g->last_used = json_object();
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	a->imagegc = g;
	agent_imagegc_publish(a);
	int r = pthread_create(&g->th, NULL, gc_main, g);
	if (r) {
		a->imagegc = NULL;
		g->th = 0;
		agent_imagegc_stop(g);
		return err_sys(err, r, "image gc: thread");
	}
	return 0;
}

void agent_imagegc_stop(AgentImageGc *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_broadcast(&g->wake);
	pthread_mutex_unlock(&g->lock);
	if (g->th)
		pthread_join(g->th, NULL);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	json_decref(g->in_use);
	json_decref(g->last_used);
	free(g->root);
	free(g);
}
