/* each.c - see each.h. */
#include "each.h"
#include <stdio.h>

int cli_for_each_container(const Cli *cli, char **names, int n, EachFn fn, void *ud)
{
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	int code = 0;
	for (int i = 0; i < n; i++) {
		Container *c = NULL;
		Error *e = NULL;
		if (ctr_lookup(s, names[i], &c, &e) < 0 || fn(s, c, names[i], ud, &e) < 0) {
			cli_fail_err(e, EXIT_BERTH);
			code = EXIT_BERTH;
		}
		ctr_free(c);
	}
	ctr_store_free(s);
	return code;
}
