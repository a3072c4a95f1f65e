/* cmd-chart.c - `berth chart` (not written yet). */
#include "cli.h"

static int run_chart(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("chart: not implemented yet");
}

const CliCommand cmd_chart = {
	.name = "chart", .run = run_chart, .summary = "(not implemented yet)",
	.usage = "Usage: berth chart\n",
};
