/* queue.c - the scheduling queue (kube-scheduler's PriorityQueue): pods wait
 * in the active queue ordered by spec.priority, highest first, FIFO among
 * equals (PrioritySort); a pod that failed waits in
 * back-off (1 s, doubling per attempt, at most 10 s) or, when no node fitted
 * it, in the unschedulable set until something in the cluster changes (a node
 * added or changed, a pod gone) - then it goes back through what is left of
 * its back-off.  Pods unschedulable for 5 minutes are retried anyway.
 *
 * Each key has one entry in a jansson object (key -> entry pointer as an
 * integer); the FIFO is a doubly linked list, back-off a binary heap by
 * due time.  A key being scheduled is "in
 * flight": adds and cluster changes meanwhile are remembered so its failure
 * sends it to back-off rather than to the unschedulable set (kube-scheduler's
 * moveRequestCycle), and no key is handed out twice at once.
 */
#include "sched-internal.h"
#include "../base/cleanup.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_INITIAL_MS 1000
#define BACKOFF_MAX_MS 10000
#define UNSCHED_MAX_MS (5 * 60 * 1000)
#define FLUSH_EVERY_MS 30000

enum { Q_ACTIVE = 1, Q_BACKOFF, Q_UNSCHED, Q_FLIGHT };

typedef struct QEntry QEntry;
struct QEntry {
	char *key;
	int state, attempts;
	int64_t prio;
	int64_t last_ms, due_ms;
	size_t heap_idx;
	bool readd, moved, gone;
	QEntry *prev, *next;
};

struct SchedQueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *entries;           /* key -> (json_int_t)(intptr_t)QEntry* */
	QEntry *head, *tail;       /* active FIFO */
	size_t nactive, nunsched;
	QEntry **heap;             /* back-off, by due_ms */
	size_t nheap, cheap;
	int64_t (*now)(void);
	int64_t last_flush;
	bool shutdown;
};

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

SchedQueue *sched_queue_new(int64_t (*now_ms)(void))
{
	SchedQueue *q = xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->entries = json_object();
	q->now = now_ms ? now_ms : real_ms;
	q->last_flush = q->now();
	return q;
}

static QEntry *entry_get(SchedQueue *q, const char *key)
{
	json_t *v = json_object_get(q->entries, key);
	return v ? (QEntry *)(intptr_t)json_integer_value(v) : NULL;
}

static void entry_free(QEntry *e)
{
	free(e->key);
	free(e);
}

void sched_queue_free(SchedQueue *q)
{
	if (!q)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(q->entries, k, v)
		entry_free((QEntry *)(intptr_t)json_integer_value(v));
	json_decref(q->entries);
	free(q->heap);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

/* ---- active queue: by priority, FIFO among equals ---- */
static void fifo_push(SchedQueue *q, QEntry *e)
{
	e->state = Q_ACTIVE;
	QEntry *after = q->tail;  /* equal priorities: O(1) at the tail */
	while (after && after->prio < e->prio)
		after = after->prev;
	e->prev = after;
	e->next = after ? after->next : q->head;
	if (e->next)
		e->next->prev = e;
	else
		q->tail = e;
	if (after)
		after->next = e;
	else
		q->head = e;
	q->nactive++;
	pthread_cond_signal(&q->cond);
}

static void fifo_unlink(SchedQueue *q, QEntry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		q->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		q->tail = e->prev;
	e->prev = e->next = NULL;
	q->nactive--;
}

/* ---- back-off heap ---- */
static void heap_swap(SchedQueue *q, size_t a, size_t b)
{
	QEntry *t = q->heap[a];
	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void heap_up(SchedQueue *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->due_ms > q->heap[i]->due_ms) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(SchedQueue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->nheap && q->heap[l]->due_ms < q->heap[m]->due_ms)
			m = l;
		if (r < q->nheap && q->heap[r]->due_ms < q->heap[m]->due_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static void heap_push(SchedQueue *q, QEntry *e)
{
	if (q->nheap == q->cheap) {
		q->cheap = q->cheap ? q->cheap * 2 : 64;
		q->heap = xrealloc(q->heap, q->cheap * sizeof(*q->heap));
	}
	e->state = Q_BACKOFF;
	e->heap_idx = q->nheap;
	q->heap[q->nheap++] = e;
	heap_up(q, e->heap_idx);
	pthread_cond_signal(&q->cond);
}

static void heap_remove(SchedQueue *q, QEntry *e)
{
	size_t i = e->heap_idx;
	q->nheap--;
	if (i != q->nheap) {
		q->heap[i] = q->heap[q->nheap];
		q->heap[i]->heap_idx = i;
		heap_down(q, i);
		heap_up(q, i);
	}
}

static int64_t backoff_ms(int attempts)
{
	int64_t d = BACKOFF_INITIAL_MS;
	for (int i = 1; i < attempts && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	return d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

/* Back to active, or to back-off for what is left of it. */
static void requeue(SchedQueue *q, QEntry *e)
{
	e->due_ms = e->attempts ? e->last_ms + backoff_ms(e->attempts) : 0;
	if (e->due_ms > q->now())
		heap_push(q, e);
	else
		fifo_push(q, e);
}

static void detach(SchedQueue *q, QEntry *e)
{
	if (e->state == Q_ACTIVE)
		fifo_unlink(q, e);
	else if (e->state == Q_BACKOFF)
		heap_remove(q, e);
	else if (e->state == Q_UNSCHED)
		q->nunsched--;
	e->state = 0;
}

void sched_queue_add(SchedQueue *q, const char *key)
{
	sched_queue_add_priority(q, key, 0);
}

void sched_queue_add_priority(SchedQueue *q, const char *key, int64_t prio)
{
	pthread_mutex_lock(&q->lock);
	QEntry *e = entry_get(q, key);
	if (e)
		e->prio = prio;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->prio = prio;
		json_object_set_new(q->entries, key, json_integer((json_int_t)(intptr_t)e));
		fifo_push(q, e);
	} else if (e->state == Q_UNSCHED) {
		detach(q, e);
		requeue(q, e);
	} else if (e->state == Q_FLIGHT) {
		e->readd = true;
		e->gone = false;
	}
	pthread_mutex_unlock(&q->lock);
}

static void entry_delete(SchedQueue *q, QEntry *e)
{
	detach(q, e);
	json_object_del(q->entries, e->key);
	entry_free(e);
}

void sched_queue_failed(SchedQueue *q, const char *key, bool unschedulable)
{
	pthread_mutex_lock(&q->lock);
	QEntry *e = entry_get(q, key);
	if (e && e->state == Q_FLIGHT) {
		e->attempts++;
		e->last_ms = q->now();
		bool to_unsched = unschedulable && !e->readd && !e->moved;
		e->readd = e->moved = false;
		if (e->gone) {
			entry_delete(q, e);
		} else if (to_unsched) {
			e->state = Q_UNSCHED;
			q->nunsched++;
		} else {
			e->state = 0;
			requeue(q, e);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

void sched_queue_done(SchedQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	QEntry *e = entry_get(q, key);
	if (e && e->state == Q_FLIGHT) {
		if (e->readd && !e->gone) {
			e->readd = e->moved = false;
			requeue(q, e);
		} else
			entry_delete(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

void sched_queue_forget(SchedQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	QEntry *e = entry_get(q, key);
	if (e) {
		if (e->state == Q_FLIGHT) {
			e->gone = true;
			e->readd = false;
		} else
			entry_delete(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

static void move_unsched(SchedQueue *q, int64_t older_than)
{
	const char *k;
	json_t *v;
	json_object_foreach(q->entries, k, v) {
		QEntry *e = (QEntry *)(intptr_t)json_integer_value(v);
		if (e->state == Q_UNSCHED && e->last_ms <= older_than) {
			detach(q, e);
			requeue(q, e);
		} else if (e->state == Q_FLIGHT && older_than == INT64_MAX) {
			e->moved = true;
		}
	}
}

void sched_queue_move_all(SchedQueue *q)
{
	pthread_mutex_lock(&q->lock);
	move_unsched(q, INT64_MAX);
	pthread_mutex_unlock(&q->lock);
}

void sched_queue_move(SchedQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	QEntry *e = entry_get(q, key);
	if (e && e->state == Q_UNSCHED) {
		detach(q, e);
		requeue(q, e);
	} else if (e && e->state == Q_FLIGHT) {
		e->moved = true;
	}
	pthread_mutex_unlock(&q->lock);
}

static void abs_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

char *sched_queue_pop(SchedQueue *q, int timeout_ms, bool *ret_shutdown)
{
	int64_t start = q->now();
	char *key = NULL;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->shutdown)
			break;
		int64_t now = q->now();
		while (q->nheap && q->heap[0]->due_ms <= now) {
			QEntry *e = q->heap[0];
			heap_remove(q, e);
			fifo_push(q, e);
		}
		if (now - q->last_flush >= FLUSH_EVERY_MS) {
			q->last_flush = now;
			move_unsched(q, now - UNSCHED_MAX_MS);
		}
		if (q->head) {
			QEntry *e = q->head;
			fifo_unlink(q, e);
			e->state = Q_FLIGHT;
			key = xstrdup(e->key);
			break;
		}
		int64_t wait = 1000;
		if (q->nheap && q->heap[0]->due_ms - now < wait)
			wait = q->heap[0]->due_ms - now;
		if (timeout_ms >= 0) {
			int64_t left = start + timeout_ms - now;
			if (left <= 0)
				break;
			if (left < wait)
				wait = left;
		}
		struct timespec ts;
		abs_deadline(&ts, wait < 1 ? 1 : wait);
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
	if (ret_shutdown)
		*ret_shutdown = q->shutdown;
	pthread_mutex_unlock(&q->lock);
	return key;
}

void sched_queue_shutdown(SchedQueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t sched_queue_len(SchedQueue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->nactive;
	int64_t now = q->now();
	for (size_t i = 0; i < q->nheap; i++)
		if (q->heap[i]->due_ms <= now)
			n++;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t sched_queue_unschedulable(SchedQueue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->nunsched;
	pthread_mutex_unlock(&q->lock);
	return n;
}

int sched_queue_attempts(SchedQueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	QEntry *e = entry_get(q, key);
	int n = e ? e->attempts : -1;
	pthread_mutex_unlock(&q->lock);
	return n;
}
