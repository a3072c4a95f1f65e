/* workqueue.c - the de-duplicating work queue with delays and back-off.
 *
 * Kubernetes' semantics: a key is in `dirty` from add until a worker takes it;
 * adding a dirty key does nothing; a key added while a worker processes it is
 * marked dirty and re-queued by wq_done, so one key never runs on two workers
 * at once and no change is lost.  Delayed adds wait in a small array until
 * due (O(n) scan: controllers keep few delayed keys).  The clock is
 * injectable for tests.
 */
#include "framework.h"
#include "../../base/cleanup.h"
#include "../../shared/json.h"
#include <string.h>
#include <time.h>

#define WQ_BASE_MS 5
#define WQ_MAX_MS 60000

typedef struct Delayed {
	char *key;
	int64_t due;
} Delayed;

struct WorkQueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *queue;       /* array of keys, FIFO */
	json_t *dirty;       /* key -> true */
	json_t *processing;  /* key -> true */
	json_t *failures;    /* key -> count */
	Delayed *delayed;
	size_t ndelayed, cap;
	int64_t (*now)(void);
	bool shutdown;
};

WorkQueue *wq_new(int64_t (*now_ms)(void))
{
	WorkQueue *q = xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->queue = json_array();
	q->dirty = json_object();
	q->processing = json_object();
	q->failures = json_object();
	q->now = now_ms ? now_ms : clock_real_ms;
	return q;
}

void wq_free(WorkQueue *q)
{
	if (!q)
		return;
	json_decref(q->queue);
	json_decref(q->dirty);
	json_decref(q->processing);
	json_decref(q->failures);
	for (size_t i = 0; i < q->ndelayed; i++)
		free(q->delayed[i].key);
	free(q->delayed);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

static void add_locked(WorkQueue *q, const char *key)
{
	if (q->shutdown || json_object_get(q->dirty, key))
		return;
	json_object_set_new(q->dirty, key, json_true());
	if (json_object_get(q->processing, key))
		return;
	json_array_append_new(q->queue, json_string(key));
	pthread_cond_signal(&q->cond);
}

void wq_add(WorkQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	add_locked(q, key);
	pthread_mutex_unlock(&q->lock);
}

void wq_add_after(WorkQueue *q, const char *key, int64_t delay_ms)
{
	if (delay_ms <= 0) {
		wq_add(q, key);
		return;
	}
	pthread_mutex_lock(&q->lock);
	int64_t due = q->now() + delay_ms;
	for (size_t i = 0; i < q->ndelayed; i++)
		if (!strcmp(q->delayed[i].key, key)) {
			if (due < q->delayed[i].due)
				q->delayed[i].due = due;
			goto out;
		}
	if (q->ndelayed == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->delayed = xrealloc(q->delayed, q->cap * sizeof(*q->delayed));
	}
	q->delayed[q->ndelayed++] = (Delayed){ xstrdup(key), due };
	pthread_cond_broadcast(&q->cond);
out:
	pthread_mutex_unlock(&q->lock);
}

int wq_failures(WorkQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	int n = (int)json_int(q->failures, key, 0);
	pthread_mutex_unlock(&q->lock);
	return n;
}

void wq_add_rate_limited(WorkQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	int n = (int)json_int(q->failures, key, 0);
	json_object_set_new(q->failures, key, json_integer(n + 1));
	pthread_mutex_unlock(&q->lock);
	int64_t d = WQ_BASE_MS;
	for (int i = 0; i < n && d < WQ_MAX_MS; i++)
		d *= 2;
	wq_add_after(q, key, d < WQ_MAX_MS ? d : WQ_MAX_MS);
}

void wq_forget(WorkQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->failures, key);
	pthread_mutex_unlock(&q->lock);
}

/* Move due delayed keys into the queue; returns ms until the next one (-1 none). */
static int64_t promote_due(WorkQueue *q)
{
	int64_t now = q->now(), next = -1;
	for (size_t i = 0; i < q->ndelayed;) {
		if (q->delayed[i].due <= now) {
			add_locked(q, q->delayed[i].key);
			free(q->delayed[i].key);
			q->delayed[i] = q->delayed[--q->ndelayed];
			continue;
		}
		int64_t left = q->delayed[i].due - now;
		if (next < 0 || left < next)
			next = left;
		i++;
	}
	return next;
}

static void wait_ms(WorkQueue *q, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&q->cond, &q->lock, &ts);
}

int wq_get(WorkQueue *q, int timeout_ms, char **ret)
{
	*ret = NULL;
	int64_t deadline = timeout_ms >= 0 ? clock_real_ms() + timeout_ms : -1;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->shutdown) {
			pthread_mutex_unlock(&q->lock);
			return -1;
		}
		int64_t next = promote_due(q);
		if (json_array_size(q->queue))
			break;
		int64_t wait = next < 0 ? 1000 : (next < 1000 ? next : 1000);
		if (deadline >= 0) {
			int64_t left = deadline - clock_real_ms();
			if (left <= 0) {
				pthread_mutex_unlock(&q->lock);
				return 0;
			}
			if (left < wait)
				wait = left;
		}
		wait_ms(q, wait > 0 ? wait : 1);
	}
	char *key = xstrdup(json_string_value(json_array_get(q->queue, 0)));
	json_array_remove(q->queue, 0);
	json_object_del(q->dirty, key);
	json_object_set_new(q->processing, key, json_true());
	pthread_mutex_unlock(&q->lock);
	*ret = key;
	return 1;
}

void wq_done(WorkQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->processing, key);
	if (json_object_get(q->dirty, key) && !q->shutdown) {
		json_array_append_new(q->queue, json_string(key));
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
}

void wq_shutdown(WorkQueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t wq_len(WorkQueue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = json_array_size(q->queue);
	pthread_mutex_unlock(&q->lock);
	return n;
}
