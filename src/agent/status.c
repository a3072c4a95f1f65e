/* status.c - a pod's PodStatus built as the kubelet reports it: container
 * statuses (waiting / running / terminated with Kubernetes' reasons,
 * restartCount, lastState, ready, started), init container statuses, the
 * phase (podspec.c), the conditions PodReadyToStartContainers, Initialized,
 * Ready, ContainersReady, PodScheduled with transition times kept while a
 * status does not change, podIP(s), hostIP, startTime and qosClass.
 *
 * status_report writes <poddir>/status.json and calls the status callback
 * only when something changed, so a source (files now, the API later) sees
 * each change once.
 */
#include "agent-internal.h"
#include "../base/fs.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include "../shared/podqos.h"
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
	json_t *s = json_pack("{s:s,s:s,s:s,s:b,s:i,s:o,s:o}", "name", c->name, "image",
			      json_str(c->spec, "image") ? json_str(c->spec, "image") : "", "imageID",
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

static json_t *condition(const json_t *old, const char *type, bool ok, const char *reason, const char *msg)
{
	char now[48];
	agent_now_rfc3339(now);
	const char *since = now;
	size_t i;
	json_t *oc;
	json_array_foreach(json_object_get(old, "conditions"), i, oc)
		if (!strcmp(json_str(oc, "type"), type) && !strcmp(json_str(oc, "status"), ok ? "True" : "False") &&
		    json_str(oc, "lastTransitionTime"))
			since = json_str(oc, "lastTransitionTime");
	json_t *c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", ok ? "True" : "False", "lastProbeTime",
			      "lastTransitionTime", since);
	if (!ok && reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (!ok && msg)
		json_object_set_new(c, "message", json_string(msg));
	return c;
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
	const char *phase = agent_pod_phase(p->pod, init, app);
	json_object_set_new(st, "phase", json_string(phase));
	bool done = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
	_cleanup_free_ char *unready = name_list(p->app, p->n_app, not_ready);
	_cleanup_free_ char *uninit = name_list(p->init, p->n_init, not_done);
	_cleanup_free_ char *m_ready = unready ? xasprintf("containers with unready status: %s", unready) : NULL;
	_cleanup_free_ char *m_init = uninit ? xasprintf("containers with incomplete status: %s", uninit) : NULL;
	const json_t *old = p->status;
	json_t *conds = json_array();
	json_array_append_new(conds, condition(old, "PodReadyToStartContainers", p->sandbox_ready, NULL, NULL));
	json_array_append_new(conds, condition(old, "Initialized", init_done, "ContainersNotInitialized", m_init));
	json_array_append_new(conds, condition(old, "Ready", !unready && !done, done ? "PodCompleted" : "ContainersNotReady",
					       done ? NULL : m_ready));
	json_array_append_new(conds, condition(old, "ContainersReady", !unready && !done,
					       done ? "PodCompleted" : "ContainersNotReady", done ? NULL : m_ready));
	json_array_append_new(conds, condition(old, "PodScheduled", true, NULL, NULL));
	json_object_set_new(st, "conditions", conds);
	const char *host_ip = json_str(json_object_get(p->pod, "status"), "hostIP");
	if (host_ip)
		json_object_set_new(st, "hostIP", json_string(host_ip));
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
	json_object_set_new(st, "qosClass", json_string(pod_qos_class(p->pod)));
	if (p->config_error) {
		json_object_set_new(st, "message", json_string(p->config_error));
	}
	return st;
}

void status_report(Agent *a, Pod *p)
{
	json_t *st = status_build(a, p);
	if (p->status && json_equal(st, p->status)) {
		json_decref(st);
		return;
	}
	json_decref(p->status);
	p->status = st;
	_cleanup_free_ char *path = fs_join(p->dir, "status.json");
	json_save_path_volatile(path, st, JSON_INDENT(2) | JSON_SORT_KEYS, NULL);
	if (a->cfg.on_status)
		a->cfg.on_status(a->cfg.ud, p->pod, st);
}
