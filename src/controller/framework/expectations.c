/* expectations.c - creates/deletes issued but not yet observed, per key.
 *
 * Kubernetes' ControllerExpectations: a sync that created N pods records
 * "expect N adds"; each pod ADD seen by the informer lowers it; until it
 * reaches zero (or 5 minutes pass, in case an event was lost) the controller
 * does not create or delete again from its possibly stale cache.
 */
#include "framework.h"
#include "../../base/cleanup.h"
#include "../../shared/json.h"

#define EXP_TTL_MS (5 * 60 * 1000)

struct Expectations {
	pthread_mutex_t lock;
	json_t *map;  /* key -> {add, del, ts} */
	int64_t (*now)(void);
};

Expectations *exp_new(int64_t (*now_ms)(void))
{
	Expectations *e = xcalloc(1, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	e->map = json_object();
	e->now = now_ms ? now_ms : clock_real_ms;
	return e;
}

void exp_free(Expectations *e)
{
	if (!e)
		return;
	json_decref(e->map);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void exp_expect(Expectations *e, const char *key, int adds, int dels)
{
	pthread_mutex_lock(&e->lock);
	json_object_set_new(e->map, key, json_pack("{s:i, s:i, s:I}", "add", adds, "del", dels,
						   "ts", (json_int_t)e->now()));
	pthread_mutex_unlock(&e->lock);
}

static void bump(Expectations *e, const char *key, int adds, int dels)
{
	pthread_mutex_lock(&e->lock);
	json_t *x = json_object_get(e->map, key);
	if (x) {
		json_object_set_new(x, "add", json_integer(json_int(x, "add", 0) - adds));
		json_object_set_new(x, "del", json_integer(json_int(x, "del", 0) - dels));
	}
	pthread_mutex_unlock(&e->lock);
}

void exp_creation_observed(Expectations *e, const char *key) { bump(e, key, 1, 0); }
void exp_deletion_observed(Expectations *e, const char *key) { bump(e, key, 0, 1); }
void exp_lower(Expectations *e, const char *key, int adds, int dels) { bump(e, key, adds, dels); }

bool exp_satisfied(Expectations *e, const char *key)
{
	pthread_mutex_lock(&e->lock);
	json_t *x = json_object_get(e->map, key);
	bool ok = !x || (json_int(x, "add", 0) <= 0 && json_int(x, "del", 0) <= 0) ||
		  e->now() - json_int(x, "ts", 0) > EXP_TTL_MS;
	pthread_mutex_unlock(&e->lock);
	return ok;
}

void exp_delete(Expectations *e, const char *key)
{
	pthread_mutex_lock(&e->lock);
	json_object_del(e->map, key);
	pthread_mutex_unlock(&e->lock);
}
