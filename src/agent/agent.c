/* agent.c - the Agent: its pods, the tick that drives them, adoption of
 * the pods an earlier agent process left running.
 *
 * The agent is single-threaded and level-triggered: agent_tick reaps its
 * children, advances every pod worker (worker.c), reports changed statuses
 * and drops pods that are gone.  It returns how long the caller may sleep:
 * short while something is in flight (a probe, a stop, a start that is
 * retried), up to a second when every pod is steady; the wake fd (SIGCHLD
 * through a signalfd) cuts the sleep short when a shim exits, which is
 * right after its container did.  Steady pods drop their trees (worker.c)
 * and a quiet agent trims its heap after a burst (maybe_trim).
 *
 * Adoption: agent_new reads every <root>/pods/ entry, re-creates each pod from its
 * pod.json, the sandbox from sandbox.json (if its pinned namespaces still
 * exist) and each container from state.json; a container whose pid (with
 * its start time) is alive simply stays Running, one that died meanwhile is
 * noticed by the next tick through its .exit file.  Nothing is restarted.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/memtrim.h"
#include "../shared/json.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t agent_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void agent_now_rfc3339(char buf[48])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 48, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static Pod *find_pod(Agent *a, const char *uid)
{
	for (Pod *p = a->pods; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

/* ---- adoption ---- */

static void adopt_ctr(Pod *p, PodCtr *c, int64_t now)
{
	if (podctr_state_load(p, c) < 0)
		return;
	if (c->phase == CTR_RUN) {
		c->started_mono = now;
		Probe *ps[] = { &c->liveness, &c->readiness, &c->startup };
		for (size_t i = 0; i < 3; i++)
			ps[i]->next_ms = now + (c->started ? 0 : (int64_t)ps[i]->spec.initial_delay_s * 1000);
	}
	if (c->phase == CTR_WAITING && c->reason && !strcmp(c->reason, "CrashLoopBackOff"))
		c->backoff_until_ms = now; /* the wait is over or nearly: do not double it */
}

static void adopt_pod(Agent *a, const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/pod.json", a->pods_dir, dir);
	_cleanup_json_ json_t *pod = NULL;
	if (json_load_path(path, BERTH_MAX_JSON_FILE, &pod, NULL) < 0 || !json_str(json_object_get(pod, "metadata"), "uid"))
		return;
	Pod *p = pod_new(a, pod);
	if (find_pod(a, p->uid)) {
		pod_free(p);
		return;
	}
	sandbox_adopt(a, p);
	int64_t now = agent_now_ms();
	for (size_t i = 0; i < p->n_init; i++)
		adopt_ctr(p, &p->init[i], now);
	for (size_t i = 0; i < p->n_app; i++)
		adopt_ctr(p, &p->app[i], now);
	_cleanup_free_ char *spath = fs_join(p->dir, "status.json");
	_cleanup_json_ json_t *st = NULL;
	if (json_load_path(spath, BERTH_MAX_JSON_FILE, &st, NULL) == 0) {
		status_adopt(p, st);
		snprintf(p->start_time, sizeof(p->start_time), "%s", json_str(st, "startTime") ? json_str(st, "startTime") : "");
	}
	p->next = a->pods;
	a->pods = p;
}

static void adopt_all(Agent *a)
{
	_cleanup_closedir_ DIR *d = opendir(a->pods_dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			adopt_pod(a, de->d_name);
}

/* ---- lifecycle ---- */

int agent_new(const AgentConfig *cfg, Agent **ret, Error **err)
{
	Agent *a = xcalloc(1, sizeof(*a));
	a->cfg = *cfg;
	a->root = xstrdup(cfg->root);
	a->runroot = xstrdup(cfg->runroot);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	a->node_name = xstrdup(cfg->node_name && *cfg->node_name ? cfg->node_name : host);
	a->cgroup_root = xstrdup(cfg->cgroup_root ? cfg->cgroup_root : "/sys/fs/cgroup");
	if (a->cfg.backoff_base_ms <= 0)
		a->cfg.backoff_base_ms = 10000;
	if (a->cfg.backoff_max_ms <= 0)
		a->cfg.backoff_max_ms = 30 * a->cfg.backoff_base_ms;
	if (a->cfg.image_gc_period_ms <= 0) {
		a->cfg.image_gc_high_pct = 85;
		a->cfg.image_gc_low_pct = 80;
		a->cfg.image_min_age_ms = 2 * 60 * 1000;
		a->cfg.image_gc_period_ms = 5 * 60 * 1000;
	}
	a->pods_dir = fs_join(a->root, "pods");
	a->sigfd = -1;
	_cleanup_free_ char *rundir = fs_join(a->runroot, "agent");
	int r = fs_mkdir_p(a->pods_dir, 0750, err);
	if (r >= 0)
		r = fs_mkdir_p(rundir, 0700, err);
	if (r >= 0)
		r = img_store_open(a->root, &a->images, err);
	if (r < 0) {
		agent_free(a);
		return err_prefix(err, "agent");
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	a->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	adopt_all(a);
	if ((r = agent_imagegc_start(a, err)) < 0) {
		agent_free(a);
		return err_prefix(err, "agent");
	}
	*ret = a;
	return 0;
}

void agent_free(Agent *a)
{
	if (!a)
		return;
	agent_imagegc_stop(a->imagegc);
	while (a->pods) {
		Pod *p = a->pods;
		a->pods = p->next;
		pod_free(p);
	}
	if (a->images)
		img_store_free(a->images);
	if (a->sigfd >= 0)
		close(a->sigfd);
	free(a->zombies);
	free(a->root);
	free(a->runroot);
	free(a->node_name);
	free(a->cgroup_root);
	free(a->pods_dir);
	free(a);
}

static int check_name(const char *what, const char *s, Error **err)
{
	if (!s || !*s || strlen(s) > BERTH_MAX_NAME || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return err_set(err, EINVAL, "pod: invalid %s '%s'", what, s ? s : "");
	return 0;
}

int agent_pod_sync(Agent *a, const json_t *pod, Error **err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *uid = json_str(meta, "uid");
	int r = check_name("metadata.uid", uid, err);
	if (r >= 0)
		r = check_name("metadata.name", json_str(meta, "name"), err);
	if (r >= 0 && json_str(meta, "namespace"))
		r = check_name("metadata.namespace", json_str(meta, "namespace"), err);
	if (r >= 0 && !json_array_size(json_path(pod, "spec.containers")))
		r = err_set(err, EINVAL, "pod %s: spec.containers: Required value", json_str(meta, "name"));
	if (r < 0)
		return r;
	const json_t *lists[] = { json_path(pod, "spec.initContainers"), json_path(pod, "spec.containers") };
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(lists[l], i, c)
			if ((r = check_name("container name", json_str(c, "name"), err)) < 0)
				return r;
	}
	Pod *p = find_pod(a, uid);
	if (p) {
		if (!p->killing)
			pod_set_spec(p, pod);
		return 0;
	}
	p = pod_new(a, pod);
	p->next = a->pods;
	a->pods = p;
	return 0;
}

int agent_pod_kill(Agent *a, const char *uid, int64_t grace_s, Error **err)
{
	Pod *p = find_pod(a, uid);
	if (!p)
		return err_set(err, ENOENT, "pod %s not found on this node", uid);
	if (p->killing)
		return 0;
	p->killing = true;
	if (grace_s < 0)
		grace_s = pod_grace_s(pod_tree(p));
	p->kill_deadline_ms = agent_now_ms() + grace_s * 1000;
	return 0;
}

char **agent_pod_uids(Agent *a)
{
	size_t n = 0;
	for (Pod *p = a->pods; p; p = p->next)
		n++;
	char **v = xcalloc(n + 1, sizeof(char *));
	n = 0;
	for (Pod *p = a->pods; p; p = p->next)
		v[n++] = xstrdup(p->uid);
	return v;
}

json_t *agent_pod_status(Agent *a, const char *uid)
{
	Pod *p = find_pod(a, uid);
	return p ? status_last(p) : NULL;
}

int agent_wake_fd(Agent *a) { return a->sigfd; }

bool agent_idle(Agent *a) { return a->pods == NULL; }

/* ---- the tick ---- */

static void reap(Agent *a)
{
	struct signalfd_siginfo si;
	while (a->sigfd >= 0 && read(a->sigfd, &si, sizeof(si)) == sizeof(si))
		;
	size_t k = 0;
	for (size_t i = 0; i < a->n_zombies; i++)
		if (waitpid(a->zombies[i], NULL, WNOHANG) == 0)
			a->zombies[k++] = a->zombies[i];
	a->n_zombies = k;
}

static bool ctr_busy(const PodCtr *c, int64_t now, int64_t *next)
{
	const Probe *ps[] = { &c->liveness, &c->readiness, &c->startup };
	if (c->hook.active || c->stopping || c->poststart_pending)
		return true;
	for (size_t i = 0; i < 3; i++) {
		if (ps[i]->run.active)
			return true;
		if (c->phase == CTR_RUN && ps[i]->spec.kind != PROBE_NONE && ps[i]->next_ms - now < *next)
			*next = ps[i]->next_ms - now;
	}
	if (c->phase == CTR_WAITING) {
		int64_t due = c->backoff_until_ms > c->next_try_ms ? c->backoff_until_ms : c->next_try_ms;
		if (due <= now)
			return true;
		if (due - now < *next)
			*next = due - now;
	}
	return false;
}

/* Milliseconds until this pod needs a tick. */
static int64_t pod_next_due(const Pod *p, int64_t now)
{
	if (p->killing || !p->sandbox_ready)
		return 100;
	int64_t next = 1000;
	for (size_t i = 0; i < p->n_init; i++)
		if (ctr_busy(&p->init[i], now, &next))
			return 100;
	for (size_t i = 0; i < p->n_app; i++)
		if (ctr_busy(&p->app[i], now, &next))
			return 100;
	return next < 10 ? 10 : next;
}

/* After a burst of changes (pods started, statuses written, pods torn
 * down) the heap is full of freed trees and request buffers: once nothing
 * changed for TRIM_QUIET_MS, give the free pages back (mem_trim: every
 * malloc arena, and the library pages the burst touched), and once more
 * TRIM_MIN_MS later.  At most every TRIM_MIN_MS. */
#define TRIM_QUIET_MS 2000
#define TRIM_MIN_MS 5000

static void maybe_trim(Agent *a, bool changed, int64_t now)
{
	if (changed)
		a->changed_ms = now;
	if (a->trimmed_ms && now - a->trimmed_ms < TRIM_MIN_MS)
		return;
	if (a->changed_ms && now - a->changed_ms >= TRIM_QUIET_MS) {
		a->changed_ms = 0;
		a->retrim = true;
	} else if (a->retrim && !a->changed_ms) {
		/* once more: the API threads' writes of the burst's statuses and
		 * Events end after the pods are steady */
		a->retrim = false;
	} else {
		return;
	}
	mem_trim();
	a->trimmed_ms = now;
}

int agent_tick(Agent *a)
{
	reap(a);
	int64_t now = agent_now_ms(), next = 1000;
	size_t n = 0;
	bool changed = false;
	for (Pod **pp = &a->pods; *pp;) {
		Pod *p = *pp;
		pod_tick(a, p, now);
		if (p->gone) {
			*pp = p->next;
			if (a->cfg.on_gone)
				a->cfg.on_gone(a->cfg.ud, p->uid);
			pod_free(p);
			continue;
		}
		changed |= status_report(a, p);
		changed |= pod_sleep(p); /* the freed tree is worth a trim too */
		int64_t due = pod_next_due(p, now);
		if (due < next)
			next = due;
		pp = &p->next;
		n++;
	}
	changed |= n != a->n_pods;
	a->n_pods = n;
	agent_imagegc_publish(a);
	reap(a);
	maybe_trim(a, changed, now); /* next <= 1 s: the tick comes back for it */
	return (int)next;
}
