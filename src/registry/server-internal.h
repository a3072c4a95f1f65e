/* server-internal.h - what server.c (HTTP glue, auth, logging, metrics)
 * and handlers.c (the distribution API) share about one request. */
#ifndef BERTH_REG_SERVER_INTERNAL_H
#define BERTH_REG_SERVER_INTERNAL_H

#include "reg-internal.h"
#include "../base/strbuf.h"
#include "../shared/mhd-lazy.h" /* libmicrohttpd, loaded on first use */
#include <time.h>

struct RegServer {
	struct MHD_Daemon *daemon;
	RegStore *store;
	RegAuth *auth;          /* NULL with --auth none */
	RegAuthMode mode;
	char *realm, *service;
	int64_t token_ttl;
	uint16_t port;
	bool tls;
	char *cert_pem, *key_pem;
	/* metrics (atomic) */
	uint64_t n_requests, n_2xx, n_3xx, n_4xx, n_5xx, bytes_in, bytes_out;
	uint64_t blobs_uploaded, manifests_pushed;
	/* idleness (memtrim.c): requests started / in flight (atomic), and the
	 * marks reg_server_idle keeps between its calls (its caller's thread) */
	uint64_t n_started, in_flight;
	uint64_t idle_mark, trim_mark;
	bool trimmed;
};

typedef enum ReqBody { BODY_NONE, BODY_UPLOAD, BODY_BUFFER } ReqBody;

typedef struct Req {
	RegServer *srv;
	struct MHD_Connection *conn;
	const char *method;
	char *path;
	RegPath p;
	char *user;             /* authenticated user or NULL */
	json_t *claims;         /* verified token claims (token mode) */
	struct timespec start;
	unsigned status;
	uint64_t bytes_out, bytes_in;
	bool responded;
	ReqBody body;
	RegUpload *up;          /* BODY_UPLOAD */
	char *digest;           /* digest to finish with (monolithic / PUT) */
	StrBuf buf;             /* BODY_BUFFER */
	size_t body_max;        /* its cap (0: BERTH_MAX_MANIFEST) */
	bool too_big;
	Error *werr;            /* a failure while consuming the body */
} Req;

/* ---- server.c ---- */
const char *req_header(Req *q, const char *name);
const char *req_arg(Req *q, const char *name);
/* Queue a response (frees it); records status/bytes for the log. */
enum MHD_Result req_respond(Req *q, unsigned status, struct MHD_Response *resp);
struct MHD_Response *resp_new_buf(const char *data, size_t n);
enum MHD_Result req_error(Req *q, unsigned status, const char *code, const char *msg);
enum MHD_Result req_json(Req *q, unsigned status, json_t *j, const char *content_type);
/* Basic credentials of the request, if any (caller frees both). */
bool req_basic_creds(Req *q, char **ret_user, char **ret_pass);
/* 401 with the WWW-Authenticate challenge of the auth mode. */
enum MHD_Result req_challenge(Req *q, const char *scope, bool insufficient);
/* May the request's user do `actions` on repo (REG_* bits)? */
bool req_may(Req *q, const char *repo, int actions);

/* ---- token.c ---- */
/* /token: GET answers at once; POST (OAuth2 form) buffers its body and
 * token_end answers. */
enum MHD_Result token_begin(Req *q);
enum MHD_Result token_end(Req *q);

/* ---- handlers.c ---- */
/* First call for a route: check, set up body consumption or respond. */
enum MHD_Result handle_begin(Req *q);
/* Body consumed (or none): respond. */
enum MHD_Result handle_end(Req *q);

#endif
