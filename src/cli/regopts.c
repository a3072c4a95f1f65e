/* regopts.c - see regopts.h.  Progress lines match docker's plain output
 * ("abc123def456: Pushed"); on a terminal the lines of all ids stay on
 * screen and each is redrawn in place when its status changes. */
#include "regopts.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char ids[512][13];
static size_t n_ids;

int cli_tls_verify_parse(const char *v, bool *ret)
{
	if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
		*ret = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static void print_progress(const char *id, const char *status, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&out_lock);
	bool tty = isatty(1);
	if (!id) {
		printf("%s\n", status);
	} else if (!tty) {
		printf("%s: %s\n", id, status);
	} else {
		size_t i;
		for (i = 0; i < n_ids && strcmp(ids[i], id); i++)
			;
		if (i == n_ids && n_ids < 512) {
			snprintf(ids[n_ids++], 13, "%s", id);
			printf("%s: %s\n", id, status);
		} else {
			size_t up = n_ids - i;
			printf("\033[%zuA\r\033[2K%s: %s\033[%zuB\r", up, id, status, up);
		}
	}
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void cli_reg_opts_init(RegClientOpts *o, bool quiet)
{
	memset(o, 0, sizeof(*o));
	o->tls_verify = true;
	o->parallel = 3;
	o->retries = 3;
	o->progress = quiet ? NULL : print_progress;
}

int cli_reg_transfer_opts(const CliCommand *cmd, int argc, char **argv, RegClientOpts *o, bool *ret_quiet,
			  char **ret_creds)
{
	static const struct option opts[] = {
		{ "tls-verify", optional_argument, 0, 't' }, { "cert-dir", required_argument, 0, 'C' },
		{ "quiet", no_argument, 0, 'q' }, { "creds", required_argument, 0, 'c' }, { 0, 0, 0, 0 },
	};
	cli_reg_opts_init(o, false);
	*ret_quiet = false;
	*ret_creds = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'C': o->cert_dir = optarg; break;
		case 't':
			if (cli_tls_verify_parse(optarg, &o->tls_verify) < 0)
				return cli_usage_error(cmd, "--tls-verify: true or false");
			break;
		case 'q': *ret_quiet = true; break;
		case 'c': free(*ret_creds); *ret_creds = xstrdup(optarg); break;
		default: return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (*ret_quiet)
		o->progress = NULL;
	if (*ret_creds) {
		char *colon = strchr(*ret_creds, ':');
		if (!colon)
			return cli_usage_error(cmd, "--creds USER:PASSWORD");
		*colon = '\0';
		o->user = *ret_creds;
		o->password = colon + 1;
	}
	return 0;
}
