/* token.c - the token endpoint of Docker's auth flow (--auth token), both
 * forms clients use:
 *
 *   GET  /token?service=S&scope=A[&scope=B][&offline_token=true]
 *        with Basic credentials (or none: anonymous, gets what the ACL
 *        grants "*"); answers {token, access_token, expires_in, issued_at}
 *        (+ refresh_token when offline_token=true and a user logged in).
 *   POST /token  application/x-www-form-urlencoded, OAuth2 (RFC 6749 §4.3,
 *        §6): grant_type=password (username, password) or
 *        grant_type=refresh_token (refresh_token), plus service, scope,
 *        client_id, access_type=offline.  Docker's daemon uses this form
 *        when it holds an identity token.  Errors are OAuth2 JSON
 *        ({"error":"invalid_grant",...}); 401 for bad credentials.
 *
 * Access tokens are ES256 JWTs whose `access` claim is the requested scope
 * intersected with the ACL.  A refresh token is a JWT with use=refresh, the
 * user and the service; it cannot be used as a bearer token (server.c
 * refuses tokens with a `use` claim) nor as a password, lives
 * REFRESH_TTL, and stops working when its user is deleted.
 */
#include "server-internal.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <string.h>

#define TOKEN_SCOPES_MAX 16
#define TOKEN_FORM_MAX (16u << 10)
#define REFRESH_TTL (7 * 24 * 3600)

typedef struct ScopeList {
	char *v[TOKEN_SCOPES_MAX];
	size_t n;
} ScopeList;

static void scopes_add(ScopeList *l, const char *value)
{
	_cleanup_free_ char *copy = xstrdup(value);
	char *save = NULL;
	for (char *t = strtok_r(copy, " ", &save); t && l->n < TOKEN_SCOPES_MAX; t = strtok_r(NULL, " ", &save))
		l->v[l->n++] = xstrdup(t);
}

static void scopes_release(ScopeList *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static enum MHD_Result collect_scope(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (!strcmp(key, "scope") && value)
		scopes_add(cls, value);
	return MHD_YES;
}

/* "repository:name:pull,push" -> access entry with granted actions */
static json_t *grant_scope(RegServer *s, const char *user, const char *scope)
{
	const char *c1 = strchr(scope, ':'), *c2 = strrchr(scope, ':');
	if (!c1 || c1 == c2)
		return NULL;
	_cleanup_free_ char *type = xstrndup(scope, (size_t)(c1 - scope));
	_cleanup_free_ char *name = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
	json_t *acts = json_array();
	if (!strcmp(type, "registry") && !strcmp(name, "catalog")) {
		if (user)
			json_array_append_new(acts, json_string("*"));
	} else if (!strcmp(type, "repository") && reg_name_valid(name)) {
		int want = reg_actions_parse(c2 + 1);
		int have = reg_auth_allowed(s->auth, user, name);
		if (want > 0) {
			static const struct { int bit; const char *s; } names[] = {
				{ REG_PULL, "pull" }, { REG_PUSH, "push" }, { REG_DELETE, "delete" } };
			for (size_t i = 0; i < ARRAY_SIZE(names); i++)
				if (want & have & names[i].bit)
					json_array_append_new(acts, json_string(names[i].s));
		}
	} else {
		json_decref(acts);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o}", "type", type, "name", name, "actions", acts);
}

static char *refresh_token_new(RegServer *s, const char *user)
{
	json_int_t now = (json_int_t)time(NULL);
	char jti[65];
	random_hex_id(jti);
	jti[32] = '\0';
	_cleanup_json_ json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "iss", "berth", "sub", user, "aud",
					     s->service, "use", "refresh", "iat", now, "exp",
					     now + (json_int_t)REFRESH_TTL, "jti", jti);
	return reg_jwt_sign(reg_auth_key(s->auth), c);
}

/* The user a refresh token names, if it is valid, ours and the user exists. */
static char *refresh_token_user(RegServer *s, const char *tok)
{
	_cleanup_json_ json_t *c = NULL;
	if (strlen(tok) > 4096 || reg_jwt_verify(reg_auth_key(s->auth), tok, &c, NULL) < 0)
		return NULL;
	const char *use = json_str(c, "use"), *sub = json_str(c, "sub"), *aud = json_str(c, "aud");
	if (!use || strcmp(use, "refresh") || !aud || strcmp(aud, s->service) || !sub || !*sub ||
	    !reg_auth_user_exists(s->auth, sub))
		return NULL;
	return xstrdup(sub);
}

/* Sign an access token for q->user over the scopes and answer. */
static enum MHD_Result token_respond(Req *q, ScopeList *sl, bool with_refresh)
{
	RegServer *s = q->srv;
	json_t *access = json_array();
	for (size_t i = 0; i < sl->n; i++) {
		json_t *a = grant_scope(s, q->user, sl->v[i]);
		if (a)
			json_array_append_new(access, a);
	}
	scopes_release(sl);
	json_int_t now = (json_int_t)time(NULL);
	char jti[65];
	random_hex_id(jti);
	jti[32] = '\0';
	_cleanup_json_ json_t *claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:o}", "iss", "berth", "sub",
						  q->user ? q->user : "", "aud", s->service, "exp",
						  now + (json_int_t)s->token_ttl, "nbf", now - 1, "iat", now, "jti", jti,
						  "access", access);
	_cleanup_free_ char *tok = reg_jwt_sign(reg_auth_key(s->auth), claims);
	char issued[64];
	format_rfc3339nano(issued, sizeof(issued), now, 0);
	json_t *out = json_pack("{s:s,s:s,s:I,s:s}", "token", tok, "access_token", tok, "expires_in",
				(json_int_t)s->token_ttl, "issued_at", issued);
	if (with_refresh && q->user) {
		_cleanup_free_ char *rt = refresh_token_new(s, q->user);
		json_object_set_new(out, "refresh_token", json_string(rt));
	}
	return req_json(q, MHD_HTTP_OK, out, NULL);
}

static enum MHD_Result oauth_error(Req *q, unsigned status, const char *code, const char *msg)
{
	return req_json(q, status, json_pack("{s:s,s:s}", "error", code, "error_description", msg), NULL);
}

static enum MHD_Result token_get(Req *q)
{
	RegServer *s = q->srv;
	_cleanup_free_ char *u = NULL, *p = NULL;
	if (req_header(q, "Authorization")) {
		if (!req_basic_creds(q, &u, &p) || !reg_auth_check_password(s->auth, u, p))
			return req_challenge(q, NULL, false);
		q->user = xstrdup(u);
	}
	ScopeList sl = { .n = 0 };
	MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, collect_scope, &sl);
	const char *off = req_arg(q, "offline_token");
	return token_respond(q, &sl, off && !strcmp(off, "true"));
}

enum MHD_Result token_begin(Req *q)
{
	if (q->srv->mode != REG_AUTH_TOKEN)
		return req_error(q, MHD_HTTP_NOT_FOUND, "UNSUPPORTED", "token auth is not enabled");
	if (!strcmp(q->method, "GET"))
		return token_get(q);
	if (strcmp(q->method, "POST"))
		return req_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED", "method not allowed");
	const char *ct = req_header(q, "Content-Type");
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return oauth_error(q, MHD_HTTP_BAD_REQUEST, "invalid_request",
				   "want an application/x-www-form-urlencoded body");
	q->body = BODY_BUFFER;
	q->body_max = TOKEN_FORM_MAX;
	return MHD_YES;
}

/* Every "scope" field of the form (each may hold several, space-separated). */
static void form_scopes(Req *q, ScopeList *sl)
{
	for (size_t i = 0; i < TOKEN_SCOPES_MAX; i++) {
		_cleanup_free_ char *v = NULL;
		if (reg_form_get(q->buf.buf, q->buf.len, "scope", i, &v) < 0)
			break;
		scopes_add(sl, v);
	}
}

enum MHD_Result token_end(Req *q)
{
	RegServer *s = q->srv;
	if (q->too_big)
		return oauth_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "invalid_request", "form too large");
	const char *body = q->buf.buf ? q->buf.buf : "";
	size_t len = q->buf.len;
	_cleanup_free_ char *grant = NULL, *access_type = NULL;
	if (reg_form_get(body, len, "grant_type", 0, &grant) < 0)
		return oauth_error(q, MHD_HTTP_BAD_REQUEST, "invalid_request", "grant_type missing");
	reg_form_get(body, len, "access_type", 0, &access_type);
	bool offline = access_type && !strcmp(access_type, "offline");
	if (!strcmp(grant, "password")) {
		_cleanup_free_ char *u = NULL, *p = NULL;
		if (reg_form_get(body, len, "username", 0, &u) < 0 || reg_form_get(body, len, "password", 0, &p) < 0)
			return oauth_error(q, MHD_HTTP_BAD_REQUEST, "invalid_request", "username and password required");
		if (!reg_auth_check_password(s->auth, u, p))
			return oauth_error(q, MHD_HTTP_UNAUTHORIZED, "invalid_grant", "incorrect username or password");
		q->user = TAKE_PTR(u);
	} else if (!strcmp(grant, "refresh_token")) {
		_cleanup_free_ char *rt = NULL;
		if (reg_form_get(body, len, "refresh_token", 0, &rt) < 0)
			return oauth_error(q, MHD_HTTP_BAD_REQUEST, "invalid_request", "refresh_token required");
		q->user = refresh_token_user(s, rt);
		if (!q->user)
			return oauth_error(q, MHD_HTTP_UNAUTHORIZED, "invalid_grant", "refresh token invalid or expired");
		offline = true; /* hand out a fresh one: the client keeps the newest */
	} else {
		return oauth_error(q, MHD_HTTP_BAD_REQUEST, "unsupported_grant_type", "grant_type not supported");
	}
	ScopeList sl = { .n = 0 };
	form_scopes(q, &sl);
	return token_respond(q, &sl, offline);
}
