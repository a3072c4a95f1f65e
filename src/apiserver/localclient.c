/* localclient.c - apiserver_kube_transport (local-kube.h): kube.h's
 * requests and watches as in-process calls into the running API server,
 * JSON in and out, so in-process components keep the KubeClient API. */
#include "local-kube.h"
#include "local.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <errno.h>
#include <string.h>

#define LOCAL_UNAVAILABLE 503

static int local_request(void *ud, const char *method, const char *path, const json_t *body,
			 const char *content_type, json_t **ret)
{
	(void)ud;
	_cleanup_free_ char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	int status = 0;
	*ret = NULL;
	int r = apiserver_local_request(method, path, content_type, data, data ? strlen(data) : 0, &status, &out,
					&out_len);
	if (r < 0)
		return LOCAL_UNAVAILABLE;
	if (out && out_len)
		*ret = json_loadb(out, out_len, 0, NULL);
	return status;
}

typedef struct LocalWatch {
	KubeWatchFn fn;
	void *ud;
} LocalWatch;

static int local_line(const char *line, size_t len, void *ud)
{
	LocalWatch *w = ud;
	while (len > 0) { /* one event a line, as on the wire */
		const char *nl = memchr(line, '\n', len);
		size_t n = nl ? (size_t)(nl - line) : len;
		if (n) {
			_cleanup_json_ json_t *ev = json_loadb(line, n, 0, NULL);
			if (ev && w->fn(ev, w->ud))
				return 1;
		}
		line += nl ? n + 1 : n;
		len -= nl ? n + 1 : n;
	}
	return 0;
}

static int local_watch(void *ud, const char *path, KubeWatchFn fn, void *fn_ud, volatile int *stop, json_t **ret)
{
	(void)ud;
	LocalWatch w = { .fn = fn, .ud = fn_ud };
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	int status = 0;
	*ret = NULL;
	int r = apiserver_local_watch(path, local_line, &w, stop, &status, &out, &out_len);
	if (r < 0)
		return LOCAL_UNAVAILABLE;
	if (out && out_len)
		*ret = json_loadb(out, out_len, 0, NULL);
	return status;
}

const KubeTransport apiserver_kube_transport = { .request = local_request, .watch = local_watch };
