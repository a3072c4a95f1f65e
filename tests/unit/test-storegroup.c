/* test-storegroup.c - the SQLite store's group commit: concurrent writers
 * share transactions, yet each gets its own revision and compare-and-swap
 * answer, watchers see every write once in revision order, and a write that
 * was acknowledged survives a SIGKILL of the writing process. */
#include "tap.h"
#include "../../src/store/store.h"
#include "../../src/base/fs.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 16
#define PER_THREAD 100
#define INCREMENTS 40

static char dir[] = "/tmp/test-storegroup-XXXXXX";
static pthread_barrier_t start;

typedef struct Worker {
	Store *s;
	int id;
	int64_t revs[PER_THREAD];
	int created, failed, dup_ok, dup_exists, incs, stale_seen;
} Worker;

/* Distinct creates, one contended create, then CAS increments of a counter. */
static void *worker(void *arg)
{
	Worker *w = arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < PER_THREAD; i++) {
		char k[64];
		snprintf(k, sizeof(k), "/registry/g/%02d-%03d", w->id, i);
		if (store_create(w->s, k, k, strlen(k), &w->revs[i], NULL) == 0)
			w->created++;
		else
			w->failed++;
	}
	int r = store_create(w->s, "/registry/dup/x", "mine", 4, NULL, NULL);
	if (r == 0)
		w->dup_ok++;
	else if (r == -EEXIST)
		w->dup_exists++;
	while (w->incs < INCREMENTS) {
		StoreKV kv;
		if (store_get(w->s, "/registry/counter/n", &kv, NULL) < 0)
			break;
		char v[32];
		snprintf(v, sizeof(v), "%lld", atoll(kv.value) + 1);
		r = store_update(w->s, "/registry/counter/n", v, strlen(v), kv.mod_revision, NULL, NULL);
		store_kv_release(&kv);
		if (r == 0)
			w->incs++;
		else if (r == -ESTALE)
			w->stale_seen++;
		else
			break;
	}
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void concurrent_writers(const char *spec)
{
	Store *s = NULL;
	is_int(store_open(spec, &s, NULL), 0, "open");
	is_int(store_create(s, "/registry/counter/n", "0", 1, NULL, NULL), 0, "counter created");
	StoreWatch *w = NULL;
	int64_t base = store_revision(s);
	is_int(store_watch_new(s, "/registry/g/", base, &w, NULL), 0, "watch before the burst");
	uint64_t c0, w0;
	is_int(store_commit_stats(s, &c0, &w0), 0, "commit stats");

	static Worker ws[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		ws[i] = (Worker){ .s = s, .id = i };
		pthread_create(&th[i], NULL, worker, &ws[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);

	int created = 0, failed = 0, dup_ok = 0, dup_exists = 0, incs = 0, stale = 0;
	int64_t *all = xcalloc(THREADS * PER_THREAD, sizeof(*all));
	for (int i = 0; i < THREADS; i++) {
		created += ws[i].created;
		failed += ws[i].failed;
		dup_ok += ws[i].dup_ok;
		dup_exists += ws[i].dup_exists;
		incs += ws[i].incs;
		stale += ws[i].stale_seen;
		memcpy(all + i * PER_THREAD, ws[i].revs, sizeof(ws[i].revs));
	}
	is_int(created, THREADS * PER_THREAD, "every distinct create succeeded");
	is_int(failed, 0, "no create failed");
	is_int(dup_ok, 1, "exactly one of the contended creates won");
	is_int(dup_exists, THREADS - 1, "the others got EEXIST");
	is_int(incs, THREADS * INCREMENTS, "every increment landed once");
	StoreKV kv;
	is_int(store_get(s, "/registry/counter/n", &kv, NULL), 0, "counter read");
	is_int(atoll(kv.value), THREADS * INCREMENTS, "no lost update: compare-and-swap held inside batches");
	store_kv_release(&kv);

	qsort(all, THREADS * PER_THREAD, sizeof(*all), cmp64);
	bool distinct = true;
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		if (all[i] == all[i - 1])
			distinct = false;
	ok(distinct && all[0] > base, "each create got its own revision");
	/* every write got a revision, none was skipped: creates + 1 dup + increments */
	is_int(store_revision(s) - base, THREADS * PER_THREAD + 1 + THREADS * INCREMENTS, "revisions are contiguous");

	uint64_t c1, w1;
	store_commit_stats(s, &c1, &w1);
	is_int((int64_t)(w1 - w0), THREADS * PER_THREAD + THREADS + THREADS * INCREMENTS + stale,
	       "every write attempt went through the queue");
	ok(c1 - c0 < w1 - w0, "concurrent writers shared transactions (%llu commits for %llu writes)",
	   (unsigned long long)(c1 - c0), (unsigned long long)(w1 - w0));

	/* the watch sees every create once, in revision order, with its value */
	int seen = 0;
	bool ordered = true, values = true;
	int64_t last = base;
	StoreEvent ev;
	while (seen < THREADS * PER_THREAD && store_watch_next(w, 5000, &ev, NULL) == 1) {
		if (ev.kv.mod_revision <= last)
			ordered = false;
		if (strcmp(ev.kv.key, ev.kv.value) || ev.type != STORE_EVENT_PUT_NEW)
			values = false;
		last = ev.kv.mod_revision;
		seen++;
		store_event_release(&ev);
	}
	is_int(seen, THREADS * PER_THREAD, "the watcher saw every create");
	ok(ordered, "in increasing revision order");
	ok(values, "each with its own key and value");
	is_int(all[THREADS * PER_THREAD - 1], last, "the last create's revision is the last event's");
	store_watch_free(w);
	free(all);

	/* deletes in a batch with others: prev values and CAS */
	int64_t rv;
	StoreKV prev = { 0 };
	is_int(store_get(s, "/registry/g/00-000", &kv, NULL), 0, "get before delete");
	is_int(store_delete(s, "/registry/g/00-000", kv.mod_revision + 1000, NULL, NULL, NULL), -ESTALE,
	       "delete with a wrong revision -> ESTALE");
	is_int(store_delete(s, "/registry/g/00-000", kv.mod_revision, &prev, &rv, NULL), 0, "delete");
	is_str(prev.value, "/registry/g/00-000", "delete returns the last value");
	is_int(prev.mod_revision, kv.mod_revision, "and its revision");
	ok(rv > kv.mod_revision, "the delete has a new revision");
	store_kv_release(&prev);
	store_kv_release(&kv);
	is_int(store_delete(s, "/registry/g/00-000", 0, NULL, NULL, NULL), -ENOENT, "delete again -> ENOENT");
	store_free(s);
}

/* A child writes with 8 threads, acknowledging each committed write on a
 * pipe; it is SIGKILLed mid-burst; every acknowledged write must be there. */
typedef struct KillArg {
	Store *s;
	int fd, id;
} KillArg;

static void *kill_writer(void *arg)
{
	KillArg *a = arg;
	for (int i = 0;; i++) {
		char k[64], line[128];
		int64_t rev;
		snprintf(k, sizeof(k), "/registry/k/%d-%06d", a->id, i);
		if (store_create(a->s, k, k, strlen(k), &rev, NULL) < 0)
			_exit(3);
		int n = snprintf(line, sizeof(line), "%s %lld\n", k, (long long)rev);
		if (write(a->fd, line, (size_t)n) != n) /* PIPE_BUF: lines stay whole */
			_exit(4);
	}
	return NULL;
}

static void sigkill_mid_burst(const char *spec)
{
	int p[2];
	if (pipe(p) < 0) {
		ok(false, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		Store *s = NULL;
		if (store_open(spec, &s, NULL) < 0)
			_exit(2);
		KillArg a[8];
		pthread_t th[8];
		for (int i = 0; i < 8; i++) {
			a[i] = (KillArg){ s, p[1], i };
			pthread_create(&th[i], NULL, kill_writer, &a[i]);
		}
		for (int i = 0; i < 8; i++)
			pthread_join(th[i], NULL);
		_exit(0);
	}
	close(p[1]);
	/* read acknowledgements until 3,000 arrived, then kill; keep reading what
	 * was acknowledged before the kill (the pipe holds it) */
	size_t cap = 1 << 20, len = 0;
	char *buf = xmalloc(cap);
	int lines = 0;
	bool killed = false;
	for (;;) {
		if (len + 4096 > cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t n = read(p[0], buf + len, 4096);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + i] == '\n';
		len += (size_t)n;
		if (!killed && lines >= 3000) {
			kill(pid, SIGKILL);
			killed = true;
		}
	}
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	ok(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer killed mid-burst (%d acks)", lines);

	Store *s = NULL;
	is_int(store_open(spec, &s, NULL), 0, "reopen after SIGKILL");
	int checked = 0, lost = 0, wrong = 0;
	int64_t maxrev = 0;
	for (char *line = buf, *nl; line < buf + len && (nl = memchr(line, '\n', (size_t)(buf + len - line)));
	     line = nl + 1) {
		*nl = 0;
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = 0;
		int64_t rev = atoll(sp + 1);
		if (rev > maxrev)
			maxrev = rev;
		StoreKV kv;
		if (store_get(s, line, &kv, NULL) < 0)
			lost++;
		else {
			if (kv.mod_revision != rev || strcmp(kv.value, line))
				wrong++;
			store_kv_release(&kv);
		}
		checked++;
	}
	ok(checked >= 3000, "checked every acknowledged write (%d)", checked);
	is_int(lost, 0, "no acknowledged write was lost");
	is_int(wrong, 0, "each kept its acknowledged revision and value");
	ok(store_revision(s) >= maxrev, "the store's revision covers them");
	int64_t r;
	is_int(store_create(s, "/registry/k/after", "x", 1, &r, NULL), 0, "writes continue after the crash");
	ok(r > maxrev, "with newer revisions");
	store_free(s);
	free(buf);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	char *spec2 = xasprintf("sqlite:%s/killed", dir);
	sigkill_mid_burst(spec2); /* first: fork before this process has threads */
	concurrent_writers(spec);
	free(spec);
	free(spec2);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
