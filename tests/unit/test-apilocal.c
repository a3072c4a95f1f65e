/* test-apilocal.c - the API server's in-process KubeTransport
 * (apiserver/local-kube.h): a real server runs in a thread on a free port
 * while kube_client_wait_local's client is pointed at a port nobody
 * listens on, so every answer here can only have come in-process.  Then
 * an HTTPS client of the same server: its pooled connections are closed
 * once idle too long, and its sockets are close-on-exec. */
#include "tap.h"
#include "../../src/apiserver/apiserver.h"
#include "../../src/apiserver/local-kube.h"
#include "../../src/base/err.h"
#include "../../src/shared/json.h"
#include "../../src/shared/kube.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static char listen_addr[64];

static void *server_main(void *ud)
{
	const char *dir = ud;
	ApiServerConfig cfg = { .data_dir = dir, .listen = listen_addr, .service_cidr = "10.43.0.0/16" };
	Error *err = NULL;
	if (apiserver_run(&cfg, &err) < 0) {
		fprintf(stderr, "# server: %s\n", err_msg(err));
		err_free(err);
	}
	return NULL;
}

/* A loopback port free now (nothing listens on it afterwards). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	return ntohs(sa.sin_port);
}

/* The fds of this process's TCP connections to port (the client ends):
 * inode lookup in /proc/net/tcp, then /proc/self/fd.  Returns how many,
 * *cloexec how many of them are close-on-exec. */
static int client_sockets(int port, int *cloexec)
{
	unsigned long inodes[64];
	int ni = 0, n = 0;
	*cloexec = 0;
	FILE *f = fopen("/proc/net/tcp", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f) && ni < 64) {
		unsigned rport, st;
		unsigned long ino;
		if (sscanf(line, " %*d: %*x:%*x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*d %lu", &rport, &st, &ino) == 3 &&
		    (int)rport == port && st == 1 /* ESTABLISHED */)
			inodes[ni++] = ino;
	}
	if (f)
		fclose(f);
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], link[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		unsigned long ino;
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		for (int i = 0; i < ni; i++)
			if (inodes[i] == ino) {
				n++;
				if (fcntl(atoi(e->d_name), F_GETFD) & FD_CLOEXEC)
					(*cloexec)++;
			}
	}
	if (d)
		closedir(d);
	return n;
}

static void nap_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* A client over HTTPS (no local transport) to the server in the thread. */
static void test_https_pool(const char *dir)
{
	char path[256], url[96];
	snprintf(path, sizeof(path), "%s/kubeconfig.yaml", dir);
	snprintf(url, sizeof(url), "https://%s", listen_addr);
	KubeClient *kc = NULL;
	Error *err = NULL;
	is_int(kube_client_new_from_file(path, &kc, &err), 0, "an HTTPS client from the kubeconfig");
	if (!kc)
		return;
	kube_client_set_server(kc, url);
	is_int(kube_get(kc, "/api/v1/namespaces/default/configmaps/local-cm", NULL, &err), 0, "a GET over HTTPS");
	is_int(kube_client_idle_handles(kc, 0), 1, "its connection is kept for the next request");
	int port = atoi(strrchr(listen_addr, ':') + 1), cloexec = 0;
	int socks = client_sockets(port, &cloexec);
	is_int(socks, 1, "one client connection to the server");
	is_int(cloexec, socks, "which is close-on-exec");
	/* a short idle limit: the kept connection is closed (waited for, not timed) */
	size_t left = 1;
	for (int i = 0; i < 200 && (left = kube_client_idle_handles(kc, 50)) > 0; i++)
		nap_ms(50);
	is_int(left, 0, "an idle connection past the limit is closed");
	is_int(client_sockets(port, &cloexec), 0, "and its socket with it");
	is_int(kube_get(kc, "/api/v1/namespaces/default/configmaps/local-cm", NULL, &err), 0,
	       "the next request opens a new one");
	kube_client_free(kc);
}

typedef struct Seen {
	int added;
	char name[64];
} Seen;

static int on_event(const json_t *ev, void *ud)
{
	Seen *s = ud;
	const char *type = json_str(ev, "type");
	if (type && !strcmp(type, "ADDED")) {
		s->added++;
		snprintf(s->name, sizeof(s->name), "%s", json_str(json_path(json_object_get(ev, "object"), "metadata"), "name") ?: "");
		return 1; /* stop the watch */
	}
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/berth-apilocal.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%d", free_port());
	kube_set_local_transport(&apiserver_kube_transport, NULL);
	pthread_t th;
	pthread_create(&th, NULL, server_main, dir);

	/* the client's URL: a port where nothing answers */
	char nowhere[64];
	snprintf(nowhere, sizeof(nowhere), "127.0.0.1:%d", free_port());
	volatile int stop = 0;
	KubeClient *kc = kube_client_wait_local(dir, nowhere, &stop);
	ok(kc != NULL, "kube_client_wait_local answers through the in-process transport");

	json_t *cm = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
			       "local-cm", "data", "k", "v");
	Error *err = NULL;
	json_t *got = NULL;
	is_int(kube_post(kc, "/api/v1/namespaces/default/configmaps", cm, &got, &err), 0, "create in-process");
	is_str(json_str(json_object_get(got, "metadata"), "name"), "local-cm", "the created object comes back");
	json_decref(got);
	got = NULL;
	is_int(kube_get(kc, "/api/v1/namespaces/default/configmaps/local-cm", &got, &err), 0, "get in-process");
	is_str(json_str(json_object_get(got, "data"), "k"), "v", "with its data");
	json_decref(got);
	got = NULL;
	is_int(kube_post(kc, "/api/v1/namespaces/default/configmaps", cm, NULL, &err), -EEXIST,
	       "a second create is AlreadyExists (409 mapped)");
	ok(err && strstr(err_msg(err), "local-cm"), "the Status message names the object: %s", err ? err_msg(err) : "");
	err_free(err);
	err = NULL;
	is_int(kube_get(kc, "/api/v1/namespaces/default/configmaps/nope", NULL, &err), -ENOENT, "404 -> -ENOENT");
	err_free(err);
	err = NULL;
	json_decref(cm);

	/* a watch: the initial ADDED event arrives, the callback stops it */
	Seen seen = { 0 };
	is_int(kube_watch(kc, "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dlocal-cm",
			  on_event, &seen, &stop, &err), 0, "watch in-process");
	is_int(seen.added, 1, "one ADDED event");
	is_str(seen.name, "local-cm", "for the configmap");
	is_int(kube_watch(kc, "/api/v1/namespaces/nope-ns/widgets?watch=1", on_event, &seen, &stop, &err), -ENOENT,
	       "a watch of an unknown resource is a 404 error");
	err_free(err);

	test_https_pool(dir);

	apiserver_stop();
	pthread_join(th, NULL);
	err = NULL;
	ok(kube_get(kc, "/api/v1/namespaces/default/configmaps/local-cm", NULL, &err) == -EAGAIN,
	   "once the server stopped: -EAGAIN (503), no hang");
	err_free(err);
	kube_client_free(kc);
	kube_set_local_transport(NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
