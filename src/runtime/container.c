/* container.c - container records: create, look up, list, and the state file.
 *
 * A container is a directory under <root>/containers/<id> (see container.h).
 * config.json is written once; state.json changes over the life of the
 * container and is always written atomically under the container's lock
 * (flock on <dir>/lock) because the supervisor and CLI commands update it
 * concurrently.  Names are unique per root: creation holds the store lock.
 */
#include "runtime.h"
#include "container-internal.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ctr_store_open(const char *root, const char *runroot, CtrStore **ret, Error **err)
{
	_cleanup_free_ char *dir = fs_join(root, "containers");
	int r = fs_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	CtrStore *s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root);
	s->runroot = xstrdup(runroot);
	s->dir = TAKE_PTR(dir);
	r = img_store_open(root, &s->images, err);
	if (r < 0) {
		ctr_store_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void ctr_store_free(CtrStore *s)
{
	if (!s)
		return;
	if (s->images)
		img_store_free(s->images);
	free(s->root);
	free(s->runroot);
	free(s->dir);
	free(s);
}

void ctr_free(Container *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->dir);
	if (c->config)
		json_decref(c->config);
	if (c->state)
		json_decref(c->state);
	free(c);
}

int ctr_lock(const Container *c)
{
	_cleanup_free_ char *p = fs_join(c->dir, "lock");
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return -e;
		}
	return fd;
}

void ctr_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int ctr_state_save(Container *c, Error **err)
{
	_cleanup_free_ char *p = fs_join(c->dir, "state.json");
	return json_save_path_volatile(p, c->state, JSON_COMPACT, err);
}

/* Apply `changes` (object) to state.json under the lock, re-reading first so
 * concurrent writers do not lose each other's fields. */
int ctr_state_update(Container *c, json_t *changes, Error **err)
{
	int lk = ctr_lock(c);
	_cleanup_free_ char *p = fs_join(c->dir, "state.json");
	json_t *cur = NULL;
	if (json_load_path(p, BERTH_MAX_JSON_FILE, &cur, NULL) == 0 && json_is_object(cur)) {
		if (c->state)
			json_decref(c->state);
		c->state = cur;
	} else if (cur) {
		json_decref(cur);
	}
	if (!c->state)
		c->state = json_object();
	json_object_update(c->state, changes);
	int r = ctr_state_save(c, err);
	ctr_unlock(lk);
	json_decref(changes);
	return r;
}

static int ctr_load(CtrStore *s, const char *id, Container **ret, Error **err)
{
	_cleanup_free_ char *dir = fs_join(s->dir, id);
	_cleanup_free_ char *cfg = fs_join(dir, "config.json");
	_cleanup_free_ char *st = fs_join(dir, "state.json");
	json_t *config = NULL, *state = NULL;
	int r = json_load_path(cfg, BERTH_MAX_JSON_FILE, &config, err);
	if (r < 0)
		return err_prefix(err, "container %.12s", id);
	if (json_load_path(st, BERTH_MAX_JSON_FILE, &state, NULL) < 0)
		state = json_pack("{s:s}", "Status", "created");
	Container *c = xcalloc(1, sizeof(*c));
	c->id = xstrdup(id);
	c->dir = TAKE_PTR(dir);
	c->config = config;
	c->state = state;
	*ret = c;
	return 0;
}

/* Ids of every container directory (unsorted). */
static int ctr_ids(CtrStore *s, char ***ret, size_t *ret_n, Error **err)
{
	_cleanup_closedir_ DIR *d = opendir(s->dir);
	if (!d)
		return err_sys(err, errno, "open '%s'", s->dir);
	size_t n = 0, cap = 16;
	char **v = xcalloc(cap + 1, sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!str_is_hex(de->d_name, 64))
			continue;
		if (n == cap) {
			cap *= 2;
			v = xrealloc(v, (cap + 1) * sizeof(char *));
		}
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	v[n] = NULL;
	*ret = v;
	*ret_n = n;
	return 0;
}

const char *ctr_name(const Container *c)
{
	const char *n = json_str(c->config, "Name");
	return n ? n : c->id;
}

int ctr_lookup(CtrStore *s, const char *key, Container **ret, Error **err)
{
	if (!key || !*key)
		return err_set(err, EINVAL, "container name or id is empty");
	if (str_is_hex(key, 64)) {
		_cleanup_free_ char *dir = fs_join(s->dir, key);
		if (fs_is_dir(dir))
			return ctr_load(s, key, ret, err);
	}
	_cleanup_strv_ char **ids = NULL;
	size_t n = 0;
	int r = ctr_ids(s, &ids, &n, err);
	if (r < 0)
		return r;
	const char *match = NULL;
	size_t klen = strlen(key);
	/* exact name first, then unique id prefix, as docker resolves */
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *cfg = xasprintf("%s/%s/config.json", s->dir, ids[i]);
		json_t *j = NULL;
		if (json_load_path(cfg, BERTH_MAX_JSON_FILE, &j, NULL) < 0)
			continue;
		bool same = json_str(j, "Name") && !strcmp(json_str(j, "Name"), key);
		json_decref(j);
		if (same)
			return ctr_load(s, ids[i], ret, err);
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(ids[i], key, klen) != 0)
			continue;
		if (match)
			return err_set(err, EINVAL, "container id prefix '%s' is ambiguous", key);
		match = ids[i];
	}
	if (!match)
		return err_set(err, ENOENT, "no such container: %s", key);
	return ctr_load(s, match, ret, err);
}

static int cmp_created_desc(const void *a, const void *b)
{
	const Container *x = *(Container *const *)a, *y = *(Container *const *)b;
	json_int_t cx = json_int(x->config, "CreatedNs", 0), cy = json_int(y->config, "CreatedNs", 0);
	return cx < cy ? 1 : cx > cy ? -1 : 0;
}

int ctr_list(CtrStore *s, Container ***ret, size_t *ret_n, Error **err)
{
	_cleanup_strv_ char **ids = NULL;
	size_t n = 0;
	int r = ctr_ids(s, &ids, &n, err);
	if (r < 0)
		return r;
	Container **v = xcalloc(n + 1, sizeof(Container *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		Container *c = NULL;
		if (ctr_load(s, ids[i], &c, NULL) < 0)
			continue; /* half-created or half-removed: not listed */
		ctr_refresh(s, c, NULL);
		v[k++] = c;
	}
	qsort(v, k, sizeof(*v), cmp_created_desc);
	*ret = v;
	*ret_n = k;
	return 0;
}

CtrStatus ctr_status(const Container *c)
{
	const char *st = json_str(c->state, "Status");
	if (!st || !strcmp(st, "created"))
		return CTR_CREATED;
	if (!strcmp(st, "running"))
		return CTR_RUNNING;
	if (!strcmp(st, "removing"))
		return CTR_REMOVING;
	return CTR_EXITED;
}

pid_t ctr_pid(const Container *c) { return (pid_t)json_int(c->state, "Pid", 0); }

/* Start time of a live process in clock ticks (field 22 of /proc/PID/stat),
 * used to tell a live supervisor from a recycled pid; -1 for a zombie. */
long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	long long v = -1;
	if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return -1; /* a zombie has finished: it only waits to be reaped */
	/* after ')': state(3) ... starttime is field 22 */
	int field = 2;
	for (char *t = p + 1; *t; t++) {
		if (*t == ' ') {
			field++;
			if (field == 22) {
				v = atoll(t + 1);
				break;
			}
		}
	}
	return v;
}

bool ctr_supervisor_alive(const Container *c)
{
	pid_t sp = (pid_t)json_int(c->state, "SupervisorPid", 0);
	if (sp <= 0)
		return false;
	long long st = proc_start_time(sp);
	return st >= 0 && st == json_int(c->state, "SupervisorStart", -2);
}

int ctr_refresh(CtrStore *s, Container *c, Error **err)
{
	(void)s;
	_cleanup_free_ char *p = fs_join(c->dir, "state.json");
	json_t *st = NULL;
	if (json_load_path(p, BERTH_MAX_JSON_FILE, &st, err) < 0)
		return -ENOENT;
	json_decref(c->state);
	c->state = st;
	/* A running container whose supervisor is gone (killed, host reboot) is
	 * reported as exited; its leftovers are cleaned by rm. */
	if (ctr_status(c) == CTR_RUNNING && !ctr_supervisor_alive(c)) {
		json_object_set_new(c->state, "Status", json_string("exited"));
		json_object_set_new(c->state, "Running", json_false());
		if (!json_object_get(c->state, "ExitCode"))
			json_object_set_new(c->state, "ExitCode", json_integer(255));
		json_object_set_new(c->state, "Error", json_string("supervisor is gone"));
	}
	return 0;
}

/* ------------------------------------------------------------------ create */

static const char *const adjectives[] = {
	"admiring", "brave", "calm", "eager", "festive", "gentle", "happy", "jolly", "keen",
	"lucid", "modest", "nifty", "quirky", "relaxed", "serene", "tender", "vibrant", "witty",
	"zealous", "bold", "clever", "dreamy", "elated", "focused",
};
static const char *const nouns[] = {
	"hopper", "lovelace", "turing", "curie", "noether", "ritchie", "thompson", "knuth",
	"dijkstra", "hamilton", "shannon", "babbage", "kare", "liskov", "torvalds", "pike",
	"wozniak", "allen", "engelbart", "goldberg", "hypatia", "lamarr", "meitner", "sammet",
};

static bool name_in_use(CtrStore *s, const char *name)
{
	Container *c = NULL;
	_cleanup_strv_ char **ids = NULL;
	size_t n = 0;
	if (ctr_ids(s, &ids, &n, NULL) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ctr_load(s, ids[i], &c, NULL) < 0)
			continue;
		bool same = !strcmp(ctr_name(c), name);
		ctr_free(c);
		if (same)
			return true;
	}
	return false;
}

static bool name_valid(const char *n)
{
	/* docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	size_t len = strlen(n);
	if (len < 1 || len > BERTH_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = n[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

static char *name_generate(CtrStore *s, const char *id)
{
	unsigned seed = 0;
	for (int i = 0; i < 8; i++)
		seed = seed * 16 + (unsigned)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	for (int attempt = 0; attempt < 50; attempt++) {
		unsigned v = seed + (unsigned)attempt * 2654435761u;
		char *n = xasprintf("%s_%s", adjectives[v % ARRAY_SIZE(adjectives)],
				    nouns[(v / 64) % ARRAY_SIZE(nouns)]);
		if (attempt > 5) {
			char *m = xasprintf("%s%d", n, attempt);
			free(n);
			n = m;
		}
		if (!name_in_use(s, n))
			return n;
		free(n);
	}
	return xstrndup(id, 12);
}

static int store_lock(CtrStore *s)
{
	_cleanup_free_ char *p = fs_join(s->dir, ".lock");
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
	return fd;
}

/* Docker's rule: a given Entrypoint resets the image's Cmd unless Cmd is given too. */
static void resolve_command(json_t *cfg, const json_t *imgcfg, const json_t *req)
{
	json_t *ep = json_object_get(req, "Entrypoint");
	json_t *cmd = json_object_get(req, "Cmd");
	json_t *iep = json_object_get(imgcfg, "Entrypoint");
	json_t *icmd = json_object_get(imgcfg, "Cmd");
	json_t *use_ep = json_is_array(ep) ? ep : (json_is_array(iep) ? iep : NULL);
	json_t *use_cmd = json_array_size(cmd) ? cmd : (json_is_array(ep) ? NULL : icmd);
	json_object_set_new(cfg, "Entrypoint", use_ep ? json_deep_copy(use_ep) : json_null());
	json_object_set_new(cfg, "Cmd", json_is_array(use_cmd) ? json_deep_copy(use_cmd) : json_null());
}

static void merge_env(json_t *cfg, const json_t *imgcfg, const json_t *req, const char *hostname,
		      bool tty)
{
	json_t *env = json_array();
	json_t *src[2] = { json_object_get(imgcfg, "Env"), json_object_get(req, "Env") };
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *v;
		json_array_foreach(src[k], i, v) {
			const char *kv = json_string_value(v);
			if (!kv)
				continue;
			size_t klen = strcspn(kv, "=");
			size_t j;
			json_t *old;
			bool replaced = false;
			json_array_foreach(env, j, old) {
				const char *o = json_string_value(old);
				if (!strncmp(o, kv, klen) && (o[klen] == '=' || o[klen] == 0)) {
					json_array_set_new(env, j, json_string(kv));
					replaced = true;
					break;
				}
			}
			if (!replaced)
				json_array_append_new(env, json_string(kv));
		}
	}
	bool has_path = false, has_host = false, has_term = false;
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		const char *kv = json_string_value(v);
		has_path |= !strncmp(kv, "PATH=", 5);
		has_host |= !strncmp(kv, "HOSTNAME=", 9);
		has_term |= !strncmp(kv, "TERM=", 5);
	}
	if (!has_path)
		json_array_insert_new(env, 0,
				      json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	if (!has_host)
		json_array_append_new(env, json_string_nocheck(xasprintf("HOSTNAME=%s", hostname)));
	if (tty && !has_term)
		json_array_append_new(env, json_string("TERM=xterm"));
	json_object_set_new(cfg, "Env", env);
}

/* Validate what create can check so start never fails on user input. */
static int validate_host_config(const json_t *hc, Error **err)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(hc, "PortBindings"), i, v) {
		NetPort p;
		int r = net_port_parse(json_string_value(v), &p, err);
		if (r < 0)
			return r;
	}
	json_array_foreach(json_object_get(hc, "Binds"), i, v) {
		const char *b = json_string_value(v);
		_cleanup_free_ char *copy = xstrdup(b);
		char *ctr = strchr(copy, ':');
		if (!ctr || copy[0] != '/' || ctr[1] != '/')
			return err_set(err, EINVAL, "invalid volume spec '%s': want /HOST/PATH:/CONTAINER/PATH[:ro]", b);
		char *mode = strchr(ctr + 1, ':');
		if (mode && strcmp(mode + 1, "ro") && strcmp(mode + 1, "rw"))
			return err_set(err, EINVAL, "invalid volume spec '%s': mode must be ro or rw", b);
	}
	json_array_foreach(json_object_get(hc, "Tmpfs"), i, v) {
		const char *t = json_string_value(v);
		if (!t || t[0] != '/')
			return err_set(err, EINVAL, "invalid tmpfs mount '%s': path must be absolute", t ? t : "");
	}
	json_array_foreach(json_object_get(hc, "CapAdd"), i, v)
		if (strcasecmp(json_string_value(v), "ALL") && rt_cap_from_name(json_string_value(v)) < 0)
			return err_set(err, EINVAL, "unknown capability '%s'", json_string_value(v));
	json_array_foreach(json_object_get(hc, "CapDrop"), i, v)
		if (strcasecmp(json_string_value(v), "ALL") && rt_cap_from_name(json_string_value(v)) < 0)
			return err_set(err, EINVAL, "unknown capability '%s'", json_string_value(v));
	const char *net = json_str(hc, "NetworkMode");
	if (net && strcmp(net, "bridge") && strcmp(net, "none") && strcmp(net, "host") && strcmp(net, "default"))
		return err_set(err, EINVAL, "unknown network '%s' (bridge, none or host)", net);
	return 0;
}

static json_t *build_config(const json_t *rc, const json_t *imgcfg, const char *image,
			    const char *hostname)
{
	bool tty = json_bool(rc, "Tty", false);
	json_t *cfg = json_object();
	json_object_set_new(cfg, "Hostname", json_string(hostname));
	json_object_set_new(cfg, "Tty", json_boolean(tty));
	json_object_set_new(cfg, "OpenStdin", json_boolean(json_bool(rc, "OpenStdin", false)));
	resolve_command(cfg, imgcfg, rc);
	merge_env(cfg, imgcfg, rc, hostname, tty);
	const char *wd = json_str(rc, "WorkingDir");
	if (!wd || !*wd)
		wd = json_str(imgcfg, "WorkingDir");
	json_object_set_new(cfg, "WorkingDir", json_string(wd && *wd ? wd : "/"));
	const char *user = json_str(rc, "User");
	if (!user || !*user)
		user = json_str(imgcfg, "User");
	json_object_set_new(cfg, "User", json_string(user ? user : ""));
	json_t *labels = json_deep_copy(json_object_get(imgcfg, "Labels"));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_update(labels, json_object_get(rc, "Labels"));
	json_object_set_new(cfg, "Labels", labels);
	const char *stopsig = json_str(rc, "StopSignal");
	if (!stopsig)
		stopsig = json_str(imgcfg, "StopSignal");
	json_object_set_new(cfg, "StopSignal", json_string(stopsig ? stopsig : "SIGTERM"));
	json_object_set_new(cfg, "Image", json_string(image));
	return cfg;
}

/* The inspect-shaped document of a new container; NULL when there is no command. */
static json_t *build_document(const char *id, const char *name, const ImgInfo *img, const char *image,
			      json_t *cfg, const json_t *hc)
{
	json_t *argv = json_array();
	json_array_extend(argv, json_object_get(cfg, "Entrypoint"));
	json_array_extend(argv, json_object_get(cfg, "Cmd"));
	if (json_array_size(argv) == 0) {
		json_decref(argv);
		return NULL;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char created[48];
	format_rfc3339nano(created, sizeof(created), now.tv_sec, now.tv_nsec);
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(argv); i++)
		json_array_append(args, json_array_get(argv, i));
	json_t *doc = json_pack("{s:s,s:s,s:s,s:I,s:O,s:o,s:s,s:s,s:s,s:O,s:o,s:s}",
		"Id", id, "Name", name, "Created", created,
		"CreatedNs", (json_int_t)now.tv_sec * 1000000000 + now.tv_nsec,
		"Path", json_array_get(argv, 0), "Args", args,
		"Image", img->id, "ImageID", img->id, "ImageName", image,
		"Config", cfg, "HostConfig", hc ? json_deep_copy(hc) : json_object(),
		"Driver", "overlay");
	json_decref(argv);
	return doc;
}

static int pick_name(CtrStore *s, const char *want, const char *id, char **ret, Error **err)
{
	if (!want || !*want) {
		*ret = name_generate(s, id);
		return 0;
	}
	if (!name_valid(want))
		return err_set(err, EINVAL, "invalid container name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", want);
	if (name_in_use(s, want))
		return err_set(err, EEXIST, "the container name '%s' is already in use", want);
	*ret = xstrdup(want);
	return 0;
}

/* Lay out the directory and files; config.json last, so a container is
 * visible only once complete.  On failure the directory is removed. */
static int write_container(const char *dir, json_t *doc, json_t *state, const char *hostname,
			   const char *netmode, Error **err)
{
	static const char *const subdirs[] = { "upper", "work", "init/etc", "merged" };
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(subdirs) && r >= 0; i++) {
		_cleanup_free_ char *p = fs_join(dir, subdirs[i]);
		r = fs_mkdir_p(p, 0755, err);
	}
	_cleanup_free_ char *cfgpath = fs_join(dir, "config.json");
	_cleanup_free_ char *stpath = fs_join(dir, "state.json");
	if (r >= 0)
		r = json_save_path_volatile(stpath, state, JSON_COMPACT, err);
	if (r >= 0)
		r = ctr_init_layer_write(dir, hostname, NULL, netmode, err);
	if (r >= 0)
		r = json_save_path_volatile(cfgpath, doc, JSON_INDENT(1), err);
	if (r < 0)
		fs_rm_rf(dir, NULL);
	return r;
}

static int create_with_image(CtrStore *s, const json_t *req, const ImgInfo *img, Container **ret,
			     Error **err)
{
	const char *image = json_str(req, "Image");
	const json_t *rc = json_object_get(req, "Config");
	const json_t *hc = json_object_get(req, "HostConfig");
	char id[65];
	random_hex_id(id);
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%.12s", id);
	const char *hostname = json_str(rc, "Hostname");
	if (!hostname || !*hostname)
		hostname = short_id;
	json_t *cfg = build_config(rc, json_object_get(img->config, "config"), image, hostname);
	_cleanup_free_ char *name = NULL;
	int lk = store_lock(s);
	int r = pick_name(s, json_str(req, "Name"), id, &name, err);
	if (r < 0) {
		ctr_unlock(lk);
		json_decref(cfg);
		return r;
	}
	json_t *doc = build_document(id, name, img, image, cfg, hc);
	json_decref(cfg);
	if (!doc) {
		ctr_unlock(lk);
		return err_set(err, EINVAL, "no command specified for image '%s' (it has no CMD or ENTRYPOINT)", image);
	}
	json_t *state = json_pack("{s:s,s:b,s:i,s:i,s:b,s:i}", "Status", "created", "Running", 0,
				  "Pid", 0, "ExitCode", 0, "OOMKilled", 0, "RestartCount", 0);
	_cleanup_free_ char *dir = fs_join(s->dir, id);
	r = write_container(dir, doc, state, hostname, json_str(hc, "NetworkMode"), err);
	ctr_unlock(lk);
	if (r < 0) {
		json_decref(doc);
		json_decref(state);
		return r;
	}
	Container *c = xcalloc(1, sizeof(*c));
	c->id = xstrdup(id);
	c->dir = TAKE_PTR(dir);
	c->config = doc;
	c->state = state;
	*ret = c;
	return 0;
}

int ctr_create(CtrStore *s, const json_t *req, Container **ret, Error **err)
{
	ImgInfo *img = NULL;
	int r = img_resolve(s->images, json_str(req, "Image"), &img, err);
	if (r < 0)
		return r;
	r = validate_host_config(json_object_get(req, "HostConfig"), err);
	if (r >= 0)
		r = img_ensure_unpacked(s->images, img, err);
	if (r >= 0)
		r = create_with_image(s, req, img, ret, err);
	img_info_free(img);
	return r;
}
