/* cmd-ps.c - `berth ps [-a] [-q] [--no-trunc] [--format json]`: the container
 * table as docker prints it. */
#include "cli.h"
#include "attach.h"
#include "table.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t parse_time(const char *rfc3339)
{
	struct tm tm = { 0 };
	if (!rfc3339 || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static void status_text(const Container *c, char *buf, size_t n)
{
	char age[64];
	int64_t now = (int64_t)time(NULL);
	const char *st = json_str(c->state, "Status");
	switch (ctr_status(c)) {
	case CTR_RUNNING:
		format_age(age, sizeof(age), now - parse_time(json_str(c->state, "StartedAt")));
		snprintf(buf, n, "Up %s", age);
		return;
	case CTR_EXITED:
		if (st && !strcmp(st, "restarting")) {
			snprintf(buf, n, "Restarting (%lld)", (long long)json_int(c->state, "ExitCode", 0));
			return;
		}
		format_age(age, sizeof(age), now - parse_time(json_str(c->state, "FinishedAt")));
		snprintf(buf, n, "Exited (%lld) %s ago", (long long)json_int(c->state, "ExitCode", 0), age);
		return;
	case CTR_REMOVING:
		snprintf(buf, n, "Removal In Progress");
		return;
	case CTR_CREATED:
		snprintf(buf, n, "Created");
		return;
	}
}

static char *command_text(const Container *c, bool trunc)
{
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, json_str(c->config, "Path") ? json_str(c->config, "Path") : "");
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(c->config, "Args"), i, a)
		sb_addf(&sb, " %s", json_string_value(a));
	char *s = sb_detach(&sb);
	if (trunc && strlen(s) > 20)
		strcpy(s + 19, "…");
	char *q = xasprintf("\"%s\"", s);
	free(s);
	return q;
}

static char *ports_text(const Container *c)
{
	StrBuf sb = STRBUF_INIT;
	size_t i;
	json_t *v;
	json_t *actual = json_object_get(json_object_get(c->state, "NetworkSettings"), "Ports");
	if (ctr_status(c) == CTR_RUNNING && json_array_size(actual)) {
		json_array_foreach(actual, i, v)
			sb_addf(&sb, "%s%s", sb.len ? ", " : "", json_string_value(v));
		return sb_detach(&sb);
	}
	json_array_foreach(json_object_get(json_object_get(c->config, "HostConfig"), "PortBindings"), i, v) {
		NetPort p;
		if (net_port_parse(json_string_value(v), &p, NULL) < 0)
			continue;
		_cleanup_free_ char *t = net_port_format(&p);
		sb_addf(&sb, "%s%s", sb.len ? ", " : "", t);
	}
	return sb_detach(&sb);
}

static int run_ps(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, 0, 'a' }, { "quiet", no_argument, 0, 'q' },
		{ "no-trunc", no_argument, 0, 'n' }, { "format", required_argument, 0, 'f' }, { 0, 0, 0, 0 },
	};
	bool all = false, quiet = false, notrunc = false, as_json = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'n': notrunc = true; break;
		case 'f':
			if (strcmp(optarg, "json"))
				return cli_usage_error(&cmd_ps, "unsupported format '%s' (json)", optarg);
			as_json = true;
			break;
		default: return cli_usage_error(&cmd_ps, "unknown option '%s'", argv[optind - 1]);
		}
	}
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container **list = NULL;
	size_t n = 0;
	Error *e = NULL;
	if (ctr_list(s, &list, &n, &e) < 0) {
		ctr_store_free(s);
		return cli_fail_err(e, EXIT_BERTH);
	}
	json_t *out = as_json ? json_array() : NULL;
	static const char *const header[] = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" };
	Table table;
	table_init(&table, header, ARRAY_SIZE(header));
	for (size_t i = 0; i < n; i++) {
		Container *ct = list[i];
		if (!all && ctr_status(ct) != CTR_RUNNING)
			continue;
		if (quiet) {
			printf("%.*s\n", notrunc ? 64 : 12, ct->id);
			continue;
		}
		char status[96], created[64];
		status_text(ct, status, sizeof(status));
		format_age(created, sizeof(created), (int64_t)time(NULL) - parse_time(json_str(ct->config, "Created")));
		_cleanup_free_ char *cmdline = command_text(ct, !notrunc);
		_cleanup_free_ char *ports = ports_text(ct);
		const char *image = json_str(ct->config, "ImageName");
		if (as_json) {
			json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:I}", "Id", ct->id,
				"Image", image ? image : "", "Command", cmdline, "CreatedAt", json_str(ct->config, "Created"),
				"State", json_str(ct->state, "Status") ? json_str(ct->state, "Status") : "created",
				"Status", status, "Names", ctr_name(ct), "Ports", ports,
				"ExitCode", json_int(ct->state, "ExitCode", 0)));
			continue;
		}
		_cleanup_free_ char *ago = xasprintf("%s ago", created);
		char shortid[13];
		snprintf(shortid, sizeof(shortid), "%.12s", ct->id);
		const char *row[] = { notrunc ? ct->id : shortid, image ? image : "", cmdline, ago, status, ports,
				      ctr_name(ct) };
		table_add(&table, row);
	}
	if (!quiet && !as_json)
		table_print(&table);
	table_release(&table);
	if (as_json) {
		_cleanup_free_ char *js = json_dumps(out, JSON_INDENT(2));
		puts(js);
		json_decref(out);
	}
	for (size_t i = 0; i < n; i++)
		ctr_free(list[i]);
	free(list);
	ctr_store_free(s);
	return 0;
}

const CliCommand cmd_ps = {
	.name = "ps", .run = run_ps, .summary = "List containers",
	.usage = "Usage: berth ps [-a] [-q] [--no-trunc] [--format json]\n\n"
		 "Options:\n"
		 "  -a, --all          show all containers (default: running only)\n"
		 "  -q, --quiet        only ids\n"
		 "      --no-trunc     do not truncate ids and commands\n"
		 "      --format json  JSON output\n",
};
