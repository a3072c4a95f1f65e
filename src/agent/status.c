/* status.c - a pod's PodStatus built as the kubelet reports it: container
 * statuses (waiting / running / terminated with Kubernetes' reasons,
 * restartCount, lastState, ready, started), init container statuses, the
 * phase (podspec.c), the conditions PodReadyToStartContainers, Initialized,
 * Ready, ContainersReady, PodScheduled with transition times kept while a
 * status does not change, podIP(s), hostIP, startTime and qosClass.
 *
 * status_report writes <poddir>/status.json and calls the status callback
 * only when something changed, so a source (files now, the API later) sees
 * each change once.  What was last reported is kept as a hash of its text
 * (the comparison) plus the phase and the conditions' transition times, not
 * as a tree (~8.5 KB a pod); status.json has the whole of it (status_last).
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include "../shared/podqos.h"
#include <stdio.h>
#include <string.h>

void status_ctr_terminated(PodCtr *c, const char *reason)
{
	c->phase = CTR_DONE;
	free(c->reason);
	c->reason = xstrdup(reason);
}

json_t *status_terminated_json(const PodCtr *c)
{
	json_t *t = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", c->exit_code, "reason", c->reason ? c->reason : "Error",
			      "startedAt", c->started_at, "finishedAt", c->finished_at);
	if (!c->started_at[0])
		json_object_set_new(t, "startedAt", json_null());
	if (c->signal)
		json_object_set_new(t, "signal", json_integer(c->signal));
	if (c->message && *c->message)
		json_object_set_new(t, "message", json_string(c->message));
	if (c->id)
		json_object_set_new(t, "containerID", json_sprintf("berth://%s", c->id));
	return t;
}

static json_t *pctr_state(const PodCtr *c, const char *default_waiting)
{
	switch (c->phase) {
	case CTR_RUN:
		return json_pack("{s:{s:s}}", "running", "startedAt", c->started_at);
	case CTR_DONE:
		return json_pack("{s:o}", "terminated", status_terminated_json(c));
	default: {
		json_t *w = json_pack("{s:s}", "reason", c->reason ? c->reason : default_waiting);
		if (c->message && *c->message)
			json_object_set_new(w, "message", json_string(c->message));
		return json_pack("{s:o}", "waiting", w);
	}
	}
}

static json_t *pctr_status(const PodCtr *c, const char *default_waiting)
{
	json_t *s = json_pack("{s:s,s:s,s:s,s:b,s:i,s:o,s:o}", "name", c->name, "image", c->image, "imageID",
			      c->image_id ? c->image_id : "", "ready", c->phase == CTR_RUN && c->ready,
			      "restartCount", c->restarts, "state", pctr_state(c, default_waiting), "lastState",
			      c->last_term ? json_pack("{s:O}", "terminated", c->last_term) : json_object());
	if (c->id && c->phase != CTR_WAITING)
		json_object_set_new(s, "containerID", json_sprintf("berth://%s", c->id));
	json_object_set_new(s, "started", json_boolean(c->phase == CTR_RUN && c->started));
	return s;
}

/* names of the containers matching `bad` as "[a b]" */
static char *name_list(PodCtr *v, size_t n, bool (*bad)(const PodCtr *))
{
	StrBuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (bad(&v[i]))
			sb_addf(&sb, "%s%s", sb.len ? " " : "[", v[i].name);
	if (!sb.len)
		return NULL;
	sb_adds(&sb, "]");
	return sb_detach(&sb);
}

static bool not_ready(const PodCtr *c) { return !(c->phase == CTR_RUN && c->ready); }
static bool not_done(const PodCtr *c) { return !(c->phase == CTR_DONE && c->exit_code == 0); }

static const char *const cond_types[POD_CONDS] = { "PodReadyToStartContainers", "Initialized", "Ready",
						    "ContainersReady", "PodScheduled" };

/* Condition k of the pod; its lastTransitionTime is kept while its status
 * stays what was last reported. */
static json_t *condition(const Pod *p, int k, bool ok, const char *reason, const char *msg)
{
	char now[48];
	agent_now_rfc3339(now);
	const PodCond *old = &p->conds[k];
	const char *since = old->since[0] && old->ok == ok ? old->since : now;
	json_t *c = json_pack("{s:s,s:s,s:n,s:s}", "type", cond_types[k], "status", ok ? "True" : "False",
			      "lastProbeTime", "lastTransitionTime", since);
	if (!ok && reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (!ok && msg)
		json_object_set_new(c, "message", json_string(msg));
	return c;
}

/* Remember what st says of the phase and the conditions' transitions. */
static void status_remember(Pod *p, const json_t *st)
{
	snprintf(p->phase, sizeof(p->phase), "%s", json_str(st, "phase") ? json_str(st, "phase") : "");
	memset(p->conds, 0, sizeof(p->conds));
	size_t i;
	json_t *oc;
	json_array_foreach(json_object_get(st, "conditions"), i, oc) {
		const char *type = json_str(oc, "type"), *status = json_str(oc, "status");
		const char *since = json_str(oc, "lastTransitionTime");
		if (!type || !status || !since || strlen(since) >= sizeof(p->conds[0].since))
			continue;
		for (int k = 0; k < POD_CONDS; k++)
			if (!strcmp(type, cond_types[k])) {
				p->conds[k].ok = !strcmp(status, "True");
				memcpy(p->conds[k].since, since, strlen(since) + 1);
			}
	}
}

/* 64-bit FNV-1a of the status's compact text with sorted keys: what is
 * compared tick after tick (a change missed by a collision: ~5e-20). */
static bool status_hash(const json_t *st, uint64_t *ret)
{
	_cleanup_free_ char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return false;
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *c = text; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
	*ret = h;
	return true;
}

void status_adopt(Pod *p, const json_t *st)
{
	p->status_known = status_hash(st, &p->status_hash);
	status_remember(p, st);
}

json_t *status_build(Agent *a, Pod *p)
{
	(void)a;
	json_t *st = json_object();
	json_t *init = json_array(), *app = json_array();
	bool init_done = true;
	for (size_t i = 0; i < p->n_init; i++) {
		json_array_append_new(init, pctr_status(&p->init[i], "PodInitializing"));
		init_done &= !not_done(&p->init[i]);
	}
	for (size_t i = 0; i < p->n_app; i++)
		json_array_append_new(app, pctr_status(&p->app[i], init_done ? "ContainerCreating" : "PodInitializing"));
	const char *phase = pod_phase_of(p->restart_policy, p->n_init, p->n_app, init, app);
	json_object_set_new(st, "phase", json_string(phase));
	bool done = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	_cleanup_free_ char *unready = name_list(p->app, p->n_app, not_ready);
	_cleanup_free_ char *uninit = name_list(p->init, p->n_init, not_done);
	_cleanup_free_ char *m_ready = unready ? xasprintf("containers with unready status: %s", unready) : NULL;
	_cleanup_free_ char *m_init = uninit ? xasprintf("containers with incomplete status: %s", uninit) : NULL;
	json_t *conds = json_array();
	json_array_append_new(conds, condition(p, 0, p->sandbox_ready, NULL, NULL));
	json_array_append_new(conds, condition(p, 1, init_done, "ContainersNotInitialized", m_init));
	json_array_append_new(conds, condition(p, 2, !unready && !done, done ? "PodCompleted" : "ContainersNotReady",
					       done ? NULL : m_ready));
	json_array_append_new(conds, condition(p, 3, !unready && !done, done ? "PodCompleted" : "ContainersNotReady",
					       done ? NULL : m_ready));
	json_array_append_new(conds, condition(p, 4, true, NULL, NULL));
	json_object_set_new(st, "conditions", conds);
	if (p->host_ip[0])
		json_object_set_new(st, "hostIP", json_string(p->host_ip));
	if (p->ip[0]) {
		json_object_set_new(st, "podIP", json_string(p->ip));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip));
	}
	if (p->start_time[0])
		json_object_set_new(st, "startTime", json_string(p->start_time));
	if (p->n_init)
		json_object_set_new(st, "initContainerStatuses", init);
	else
		json_decref(init);
	json_object_set_new(st, "containerStatuses", app);
	json_object_set_new(st, "qosClass", json_string(p->qos));
	if (p->config_error) {
		json_object_set_new(st, "message", json_string(p->config_error));
	}
	return st;
}

bool status_report(Agent *a, Pod *p)
{
	_cleanup_json_ json_t *st = status_build(a, p);
	uint64_t h = 0;
	bool known = status_hash(st, &h);
	if (p->status_known && known && h == p->status_hash)
		return false;
	p->status_hash = h;
	p->status_known = known;
	status_remember(p, st);
	_cleanup_free_ char *path = fs_join(p->dir, "status.json");
	json_save_path_volatile(path, st, JSON_INDENT(2) | JSON_SORT_KEYS, NULL);
	if (a->cfg.on_status)
		a->cfg.on_status(a->cfg.ud, pod_tree(p), st);
	return true;
}

json_t *status_last(const Pod *p)
{
	if (!p->status_known)
		return NULL;
	_cleanup_free_ char *path = fs_join(p->dir, "status.json");
	json_t *st = NULL;
	return json_load_path(path, BERTH_MAX_JSON_FILE, &st, NULL) == 0 ? st : NULL;
}
