/* worker.c - the pod worker: one level-triggered state machine per pod,
 * advanced by every agent_tick.
 *
 * Order of a sync: sandbox and volumes (retried on error), then each init
 * container in turn to a successful exit, then the app containers; every
 * start first passes the image step (pull.c: imagePullPolicy, pulls off
 * this thread, ErrImagePull / ImagePullBackOff); exits
 * are noticed through the shims, restarts follow restartPolicy
 * (Always / OnFailure / Never; init containers never under Never) with
 * the kubelet's back-off: the first restart at once, then base, 2*base, ...
 * up to the maximum, shown as CrashLoopBackOff while waiting; a container
 * that ran for twice the maximum starts the schedule over.  Probes and
 * hooks run from here (probe.c).  Stopping a container is: preStop hook,
 * SIGTERM, SIGKILL at the grace deadline.  A killed pod stops all of its
 * containers that way, then tears the sandbox down and removes its
 * directories.
 *
 * Memory: a steady pod keeps its Pod object as compact text, not as a
 * tree (pod_sleep at the end of each tick; pod_tree / ctr_spec parse it
 * again on demand), and what the tick reads every second is cached in the
 * Pod: with 100 pods the trees were ~1.2 MB of the agent's heap.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../shared/json.h"
#include "../shared/podqos.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void pctr_init(Pod *p, PodCtr *c, const json_t *spec, bool init)
{
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(json_str(spec, "name") ? json_str(spec, "name") : "");
	c->init = init;
	c->spec = spec;
	c->image = xstrdup(json_str(spec, "image") ? json_str(spec, "image") : "");
	c->dir = fs_join(p->dir, c->name);
	c->hook.fd = c->hook.out_fd = -1;
	c->liveness.run.fd = c->readiness.run.fd = c->startup.run.fd = -1;
	Error *e = NULL;
	if (!init) {
		agent_probe_parse(json_object_get(spec, "livenessProbe"), spec, &c->liveness.spec, &e);
		agent_probe_parse(json_object_get(spec, "readinessProbe"), spec, &c->readiness.spec, &e);
		agent_probe_parse(json_object_get(spec, "startupProbe"), spec, &c->startup.spec, &e);
	}
	err_free(e);
}

static void pctr_release(PodCtr *c)
{
	free(c->name);
	free(c->image);
	free(c->dir);
	free(c->reason);
	free(c->message);
	free(c->id);
	free(c->image_id);
	json_decref(c->last_term);
	free(c->process);
	agent_probe_spec_release(&c->liveness.spec);
	agent_probe_spec_release(&c->readiness.spec);
	agent_probe_spec_release(&c->startup.spec);
	agent_probe_spec_release(&c->hook_spec);
	pull_ctr_release(c);
}

static void build_ctrs(Pod *p)
{
	const json_t *spec = json_object_get(p->pod, "spec");
	const json_t *ic = json_object_get(spec, "initContainers"), *ac = json_object_get(spec, "containers");
	p->n_init = json_array_size(ic);
	p->n_app = json_array_size(ac);
	/* exactly as many as there are (a PodCtr is ~1.1 KB): no init containers, no array */
	p->init = p->n_init ? xcalloc(p->n_init, sizeof(PodCtr)) : NULL;
	p->app = p->n_app ? xcalloc(p->n_app, sizeof(PodCtr)) : NULL;
	for (size_t i = 0; i < p->n_init; i++)
		pctr_init(p, &p->init[i], json_array_get(ic, i), true);
	for (size_t i = 0; i < p->n_app; i++)
		pctr_init(p, &p->app[i], json_array_get(ac, i), false);
}

/* ---- the pod's tree: awake while something happens, text while steady ---- */

static void pod_cache(Pod *p)
{
	snprintf(p->restart_policy, sizeof(p->restart_policy), "%s", pod_restart_policy(p->pod));
	const char *src = json_str(json_path(p->pod, "metadata.annotations"), "kubernetes.io/config.source");
	snprintf(p->source, sizeof(p->source), "%s", src ? src : "");
	const char *ip = json_str(json_object_get(p->pod, "status"), "hostIP");
	snprintf(p->host_ip, sizeof(p->host_ip), "%s", ip ? ip : "");
	p->qos = pod_qos_class(p->pod);
	free(p->pod_text);
	p->pod_text = json_dumps(p->pod, JSON_COMPACT);
}

static void pod_point_specs(Pod *p)
{
	const json_t *spec = json_object_get(p->pod, "spec");
	const json_t *ic = json_object_get(spec, "initContainers"), *ac = json_object_get(spec, "containers");
	for (size_t i = 0; i < p->n_init; i++)
		p->init[i].spec = p->pod ? json_array_get(ic, i) : NULL;
	for (size_t i = 0; i < p->n_app; i++)
		p->app[i].spec = p->pod ? json_array_get(ac, i) : NULL;
}

const json_t *pod_tree(const Pod *cp)
{
	Pod *p = (Pod *)cp; /* the tree is a cache of pod_text */
	if (p->pod)
		return p->pod;
	log_debug("pod %s/%s: woken", p->ns, p->name);
	p->pod = p->pod_text ? json_loads(p->pod_text, 0, NULL) : NULL;
	if (!p->pod) /* our own text: cannot happen but out of memory, which aborts */
		p->pod = json_object();
	pod_point_specs(p);
	return p->pod;
}

const json_t *ctr_spec(const Pod *p, const PodCtr *c)
{
	pod_tree(p);
	return c->spec;
}

static bool ctr_steady(const PodCtr *c)
{
	if (c->stopping || c->hook.active || c->poststart_pending || c->liveness.run.active ||
	    c->readiness.run.active || c->startup.run.active)
		return false;
	return c->phase == CTR_RUN || (c->init && c->phase == CTR_DONE && c->exit_code == 0);
}

bool pod_sleep(Pod *p)
{
	/* static pods stay awake: few, and their mirror is built on every API pass */
	if (!p->pod || !p->pod_text || p->killing || !p->sandbox_ready || p->config_error ||
	    !strcmp(p->source, "file"))
		return false;
	for (size_t i = 0; i < p->n_init; i++)
		if (!ctr_steady(&p->init[i]))
			return false;
	for (size_t i = 0; i < p->n_app; i++)
		if (!ctr_steady(&p->app[i]))
			return false;
	json_decref(p->pod);
	p->pod = NULL;
	pod_point_specs(p);
	return true;
}

Pod *pod_new(Agent *a, const json_t *pod)
{
	Pod *p = xcalloc(1, sizeof(*p));
	const json_t *meta = json_object_get(pod, "metadata");
	p->uid = xstrdup(json_str(meta, "uid"));
	p->ns = xstrdup(json_str(meta, "namespace") ? json_str(meta, "namespace") : "default");
	p->name = xstrdup(json_str(meta, "name") ? json_str(meta, "name") : "");
	p->dir = xasprintf("%s/%s_%s_%s", a->pods_dir, p->ns, p->name, p->uid);
	p->rundir = xasprintf("%s/agent/%s", a->runroot, p->uid);
	p->pod = json_deep_copy(pod);
	pod_cache(p);
	build_ctrs(p);
	return p;
}

void pod_free(Pod *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_init; i++)
		pctr_release(&p->init[i]);
	for (size_t i = 0; i < p->n_app; i++)
		pctr_release(&p->app[i]);
	free(p->init);
	free(p->app);
	free(p->uid);
	free(p->ns);
	free(p->name);
	free(p->dir);
	free(p->rundir);
	free(p->config_error);
	json_decref(p->pod);
	free(p->pod_text);
	json_decref(p->cni_result);
	free(p);
}

int pod_save(Pod *p)
{
	_cleanup_free_ char *path = fs_join(p->dir, "pod.json");
	return json_save_path_volatile(path, pod_tree(p), JSON_COMPACT, NULL);
}

/* What may change in place: metadata (labels, annotations) for the
 * downward API, and activeDeadlineSeconds; container specs are immutable. */
void pod_set_spec(Pod *p, const json_t *pod)
{
	pod_tree(p);
	json_object_set(p->pod, "metadata", json_object_get(pod, "metadata"));
	pod_cache(p);
	pod_save(p);
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* ---- stopping one container ---- */

static void pctr_signal(Agent *a, Pod *p, PodCtr *c, int sig)
{
	if (sig == SIGKILL) {
		_cleanup_free_ char *path = pod_cgroup_path(p, c->name);
		Cgroup *cg = NULL;
		if (cg_create(a->cgroup_root, path, &cg, NULL) == 0) {
			cg_kill_all(cg, SIGKILL, NULL);
			cg_free(cg);
		}
	}
	if (pid_alive(c->pid, c->pid_start))
		kill(c->pid, sig);
}

static void pctr_stop_begin(Agent *a, Pod *p, PodCtr *c, int64_t grace_s, int64_t now)
{
	c->stopping = true;
	c->stop_deadline_ms = now + grace_s * 1000;
	probe_cancel(a, &c->liveness.run);
	probe_cancel(a, &c->readiness.run);
	probe_cancel(a, &c->startup.run);
	probe_cancel(a, &c->hook);
	c->poststart_pending = false;
	const json_t *pre = json_path(ctr_spec(p, c), "lifecycle.preStop");
	agent_probe_spec_release(&c->hook_spec);
	Error *e = NULL;
	if (pre && grace_s > 0 && agent_probe_parse(pre, ctr_spec(p, c), &c->hook_spec, &e) == 0) {
		c->hook_spec.timeout_s = (int)grace_s;
		if (probe_start(a, p, c, c->hook_spec.kind, &c->hook_spec, &c->hook, &e) == 0)
			return;
	}
	if (e)
		log_warn("pod %s/%s container %s: preStop: %s", p->ns, p->name, c->name, err_msg(e));
	err_free(e);
	pctr_signal(a, p, c, grace_s > 0 ? SIGTERM : SIGKILL);
	c->term_sent = true;
}

static void pctr_stop_tick(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	if (c->hook.active) {
		if (probe_check_hook(a, p, &c->hook_spec, &c->hook) == -EAGAIN && now < c->stop_deadline_ms)
			return;
		probe_cancel(a, &c->hook);
	}
	if (!c->term_sent) {
		pctr_signal(a, p, c, SIGTERM);
		c->term_sent = true;
	}
	if (now >= c->stop_deadline_ms)
		pctr_signal(a, p, c, SIGKILL);
}

/* ---- starting ---- */

static bool should_restart(const Pod *p, const PodCtr *c)
{
	const char *policy = p->restart_policy;
	if (p->killing)
		return false;
	if (c->init)
		return strcmp(policy, "Never") && c->exit_code != 0;
	if (!strcmp(policy, "Always"))
		return true;
	if (!strcmp(policy, "OnFailure"))
		return c->exit_code != 0;
	return false;
}

static void pctr_reset_probes(PodCtr *c, int64_t now)
{
	Probe *ps[] = { &c->liveness, &c->readiness, &c->startup };
	for (size_t i = 0; i < 3; i++) {
		ps[i]->successes = ps[i]->failures = 0;
		ps[i]->next_ms = now + (int64_t)ps[i]->spec.initial_delay_s * 1000;
	}
	c->ready = false;
	c->started = false;
}

static void start_post_hook(Agent *a, Pod *p, PodCtr *c)
{
	const json_t *post = json_path(ctr_spec(p, c), "lifecycle.postStart");
	if (!post)
		return;
	agent_probe_spec_release(&c->hook_spec);
	Error *e = NULL;
	if (agent_probe_parse(post, ctr_spec(p, c), &c->hook_spec, &e) == 0) {
		c->hook_spec.timeout_s = (int)pod_grace_s(pod_tree(p));
		if (probe_start(a, p, c, c->hook_spec.kind, &c->hook_spec, &c->hook, &e) == 0)
			c->poststart_pending = true;
	}
	if (!c->poststart_pending)
		c->stop_reason = "postStart";
	err_free(e);
}

static void pctr_start(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	bool again = c->phase == CTR_DONE || c->last_term != NULL || c->id != NULL;
	if (c->phase == CTR_DONE) {
		json_decref(c->last_term);
		c->last_term = status_terminated_json(c);
	}
	int prev = c->restarts;
	if (again && c->id)
		c->restarts++;
	Error *e = NULL;
	set_str(&c->message, NULL);
	int r = shim_start(a, p, c, &e);
	if (r < 0) {
		const char *reason;
		bool config = r == -EINVAL || r == -ENOENT || r == -EPERM;
		if (r == -EHOSTUNREACH)
			reason = c->crashes > 0 ? "ImagePullBackOff" : "ErrImagePull";
		else if (r == -ENOENT && strstr(err_msg(e), "pull policy of Never"))
			reason = "ErrImageNeverPull";
		else if (config && !strstr(err_msg(e), "exec"))
			reason = "CreateContainerConfigError";
		else
			reason = NULL;
		if (reason) {
			/* nothing ran: no new restart, retry later */
			c->restarts = prev;
			c->phase = CTR_WAITING;
			set_str(&c->reason, reason);
			set_str(&c->message, err_msg(e));
			c->next_try_ms = now + agent_backoff_ms(++c->crashes, a->cfg.backoff_base_ms, a->cfg.backoff_max_ms);
			agent_event(a, p, c, "Warning", "Failed", "Error: %s", err_msg(e));
		} else {
			/* the runtime could not start it: terminated StartError, 128 */
			c->exit_code = 128;
			c->signal = 0;
			agent_now_rfc3339(c->finished_at);
			c->started_at[0] = 0;
			status_ctr_terminated(c, "StartError");
			set_str(&c->message, err_msg(e));
			agent_event(a, p, c, "Warning", "Failed", "Error: %s", err_msg(e));
		}
		err_free(e);
		podctr_state_save(p, c);
		return;
	}
	if (!pull_take_pulled(c))
		agent_event(a, p, c, "Normal", "Pulled", "Container image \"%s\" already present on machine",
			    c->image);
	if (pull_image_ref_id(c))
		set_str(&c->image_id, pull_image_ref_id(c));
	agent_event(a, p, c, "Normal", "Created", "Created container %s", c->name);
	agent_event(a, p, c, "Normal", "Started", "Started container %s", c->name);
	c->phase = CTR_RUN;
	c->stopping = c->term_sent = false;
	c->stop_reason = NULL;
	set_str(&c->reason, NULL);
	pctr_reset_probes(c, now);
	start_post_hook(a, p, c);
	podctr_state_save(p, c);
}

/* The container's instance exited (fields filled by shim_poll). */
static void pctr_exited(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	(void)now;
	probe_cancel(a, &c->liveness.run);
	probe_cancel(a, &c->readiness.run);
	probe_cancel(a, &c->startup.run);
	probe_cancel(a, &c->hook);
	c->ready = false;
	c->stopping = false;
	c->poststart_pending = false;
	/* a container that ran long enough starts the back-off over */
	if (c->started_mono && now - c->started_mono > 2 * a->cfg.backoff_max_ms)
		c->crashes = 0;
	c->next_try_ms = 0;
	podctr_state_save(p, c);
}

/* Start or restart c if due; back-off shows as CrashLoopBackOff. */
static void pctr_maybe_start(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	if (c->phase == CTR_WAITING && c->next_try_ms && now < c->next_try_ms)
		return;
	if (c->phase == CTR_WAITING && c->reason && !strcmp(c->reason, "CrashLoopBackOff")) {
		if (now < c->backoff_until_ms || !pull_image_step(a, p, c, now))
			return;
		pctr_start(a, p, c, now);
		c->crashes++;
		return;
	}
	if (c->phase != CTR_DONE) {
		if (pull_image_step(a, p, c, now))
			pctr_start(a, p, c, now);
		return;
	}
	/* exited: restart per policy with back-off */
	if (!should_restart(p, c))
		return;
	int64_t delay = agent_backoff_ms(c->crashes, a->cfg.backoff_base_ms, a->cfg.backoff_max_ms);
	if (delay == 0) {
		if (!pull_image_step(a, p, c, now))
			return;
		pctr_start(a, p, c, now);
		c->crashes++;
		return;
	}
	json_decref(c->last_term);
	c->last_term = status_terminated_json(c);
	c->phase = CTR_WAITING;
	set_str(&c->reason, "CrashLoopBackOff");
	char d[32];
	if (delay % 60000 == 0)
		snprintf(d, sizeof(d), "%lldm0s", (long long)(delay / 60000));
	else if (delay >= 60000)
		snprintf(d, sizeof(d), "%lldm%llds", (long long)(delay / 60000), (long long)(delay % 60000 / 1000));
	else if (delay % 1000 == 0)
		snprintf(d, sizeof(d), "%llds", (long long)(delay / 1000));
	else
		snprintf(d, sizeof(d), "%lldms", (long long)delay);
	_cleanup_free_ char *msg = xasprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", d, c->name,
					     p->name, p->ns, p->uid);
	set_str(&c->message, msg);
	c->backoff_until_ms = now + delay;
	agent_event(a, p, c, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c->name,
		    p->name, p->ns, p->uid);
	podctr_state_save(p, c);
}

/* A running container: exit, hooks, probes, stop requests. */
static void pctr_watch(Agent *a, Pod *p, PodCtr *c, int64_t now)
{
	if (c->phase != CTR_RUN)
		return;
	if (shim_poll(a, p, c)) {
		pctr_exited(a, p, c, now);
		return;
	}
	if (c->stopping) {
		pctr_stop_tick(a, p, c, now);
		return;
	}
	if (c->poststart_pending) {
		int r = probe_check_hook(a, p, &c->hook_spec, &c->hook);
		if (r == -EAGAIN)
			return;
		c->poststart_pending = false;
		if (r == 0)
			c->stop_reason = "postStart";
	}
	probes_tick(a, p, c, now);
	if (c->stop_reason) {
		log_info("pod %s/%s: container %s failed %s%s, will be restarted", p->ns, p->name, c->name,
			 c->stop_reason, strcmp(c->stop_reason, "postStart") ? " probe" : " hook");
		int64_t grace = pod_grace_s(pod_tree(p));
		const ProbeSpec *ps = !strcmp(c->stop_reason, "liveness") ? &c->liveness.spec
				      : !strcmp(c->stop_reason, "startup") ? &c->startup.spec : NULL;
		if (ps && ps->termination_grace_s >= 0)
			grace = ps->termination_grace_s;
		agent_event(a, p, c, "Normal", "Killing", "Container %s failed %s%s, will be restarted", c->name,
			    c->stop_reason, strcmp(c->stop_reason, "postStart") ? " probe" : " hook");
		pctr_stop_begin(a, p, c, grace, now);
	}
}

/* ---- the pod ---- */

static bool any_running(Agent *a, Pod *p)
{
	(void)a;
	PodCtr *lists[] = { p->init, p->app };
	size_t ns[] = { p->n_init, p->n_app };
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < ns[l]; i++) {
			PodCtr *c = &lists[l][i];
			if (c->phase == CTR_RUN || (c->shim > 0 && pid_alive(c->shim, 0)))
				return true;
		}
	return false;
}

static void pod_teardown(Agent *a, Pod *p)
{
	volumes_teardown(a, p);
	PodCtr *lists[] = { p->init, p->app };
	size_t ns[] = { p->n_init, p->n_app };
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < ns[l]; i++) {
			_cleanup_free_ char *path = pod_cgroup_path(p, lists[l][i].name);
			Cgroup *cg = NULL;
			if (cg_create(a->cgroup_root, path, &cg, NULL) == 0) {
				cg_kill_all(cg, SIGKILL, NULL);
				cg_destroy(cg, NULL);
				cg_free(cg);
			}
		}
	sandbox_destroy(a, p);
	Error *e = NULL;
	if (fs_rm_rf(p->dir, &e) < 0)
		log_warn("pod %s/%s: remove '%s': %s", p->ns, p->name, p->dir, err_msg(e));
	err_free(e);
	p->gone = true;
}

static void pod_kill_tick(Agent *a, Pod *p, int64_t now)
{
	PodCtr *lists[] = { p->init, p->app };
	size_t ns[] = { p->n_init, p->n_app };
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < ns[l]; i++) {
			PodCtr *c = &lists[l][i];
			if (c->phase == CTR_RUN && !c->stopping) {
				int64_t left = (p->kill_deadline_ms - now + 999) / 1000;
				agent_event(a, p, c, "Normal", "Killing", "Stopping container %s", c->name);
				pctr_stop_begin(a, p, c, left > 0 ? left : 0, now);
				c->stop_deadline_ms = p->kill_deadline_ms;
			}
			pctr_watch(a, p, c, now);
		}
	if (!any_running(a, p))
		pod_teardown(a, p);
}

static int pod_prepare(Agent *a, Pod *p, int64_t now)
{
	if (p->sandbox_ready)
		return 0;
	if (p->next_try_ms && now < p->next_try_ms)
		return -EAGAIN;
	Error *e = NULL;
	int r = fs_mkdir_p(p->dir, 0750, &e);
	if (r >= 0)
		r = pod_save(p);
	if (r >= 0)
		r = sandbox_create(a, p, &e);
	if (r >= 0 && (r = volumes_setup(a, p, &e)) < 0)
		sandbox_destroy(a, p);
	if (r < 0) {
		set_str(&p->config_error, err_msg(e));
		log_warn("pod %s/%s: %s", p->ns, p->name, err_msg(e));
		err_free(e);
		p->next_try_ms = now + 2000;
		return r;
	}
	set_str(&p->config_error, NULL);
	if (!p->start_time[0])
		agent_now_rfc3339(p->start_time);
	return 0;
}

void pod_tick(Agent *a, Pod *p, int64_t now)
{
	if (p->killing) {
		pod_kill_tick(a, p, now);
		return;
	}
	if (!p->start_time[0])
		agent_now_rfc3339(p->start_time);
	if (pod_prepare(a, p, now) < 0)
		return;
	for (size_t i = 0; i < p->n_init; i++)
		pctr_watch(a, p, &p->init[i], now);
	for (size_t i = 0; i < p->n_app; i++)
		pctr_watch(a, p, &p->app[i], now);
	const char *policy = p->restart_policy;
	for (size_t i = 0; i < p->n_init; i++) {
		PodCtr *c = &p->init[i];
		if (c->phase == CTR_DONE && c->exit_code == 0)
			continue;
		if (c->phase == CTR_RUN)
			return;
		if (c->phase == CTR_DONE && !strcmp(policy, "Never"))
			return; /* the pod failed */
		pctr_maybe_start(a, p, c, now);
		return;
	}
	for (size_t i = 0; i < p->n_app; i++)
		if (p->app[i].phase != CTR_RUN)
			pctr_maybe_start(a, p, &p->app[i], now);
}
