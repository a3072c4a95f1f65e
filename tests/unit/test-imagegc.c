/* test-imagegc.c - the node image collector's arithmetic (agent/imagegc.c):
 * how full the image filesystem is, in whole percent rounded up as the
 * kubelet compares it, and how many bytes must go to get from over the high
 * threshold down to the low one. */
#include "tap.h"
#include "../../src/agent/agent-internal.h"

#define GB (1024ull * 1024 * 1024)

static void test_usage(void)
{
	is_int(agent_imagegc_usage_pct(100 * GB, 100 * GB), 0, "an empty filesystem is 0%% used");
	is_int(agent_imagegc_usage_pct(100 * GB, 0), 100, "a full one 100%%");
	is_int(agent_imagegc_usage_pct(100 * GB, 15 * GB), 85, "85 of 100 used: 85%%");
	is_int(agent_imagegc_usage_pct(100 * GB, 15 * GB + 1), 85, "a byte less than 85%% rounds up to 85%%");
	is_int(agent_imagegc_usage_pct(100 * GB, 16 * GB), 84, "84%%");
	is_int(agent_imagegc_usage_pct(0, 0), 0, "a filesystem without blocks counts as empty");
	is_int(agent_imagegc_usage_pct(10, 20), 0, "more available than total (a lying statfs) counts as empty");
}

static void test_to_free(void)
{
	ok(agent_imagegc_to_free(100 * GB, 16 * GB, 85, 80) == 0, "under the high threshold nothing goes");
	ok(agent_imagegc_to_free(100 * GB, 15 * GB, 85, 80) == 5 * GB, "at 85%% with low 80%%: 5 GB go");
	ok(agent_imagegc_to_free(100 * GB, 5 * GB, 85, 80) == 15 * GB, "at 95%%: 15 GB");
	ok(agent_imagegc_to_free(100 * GB, 0, 100, 80) == 0, "high 100 turns the collector off, even when full");
	ok(agent_imagegc_to_free(100 * GB, 60 * GB, 0, 0) == 40 * GB, "high 0 low 0: everything used is wanted");
	ok(agent_imagegc_to_free(100 * GB, 15 * GB, 85, 85) == 0, "low = high at exactly the threshold: nothing");
}

int main(void)
{
	test_usage();
	test_to_free();
	return tap_done();
}
