/*
 * cmd_alerts.c - `mamori alerts` and `mamori rules list`: what the server's
 * detection raised, and which rules and indicators it applies.
 *
 * Alert details hold what agents sent (command lines, paths) and rules
 * hold what rule files said: everything reaches the terminal only through
 * the table's escaping, and JSON output only through jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "cli.h"
#include "err.h"
#include "table.h"
#include "util.h"

#define ALERTS_LIMIT_DEFAULT "100"
#define ALERTS_LIMIT_MAX 100000
#define ALERTS_WHAT_MAX 1024

static int
is_severity(const char *s)
{
	static const char *const names[] = {"informational", "low", "medium",
	    "high", "critical"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/* What matched, in a few words: the indicator's value, or the command
 * line, path or destination of the event. */
static void
alert_what(const json_t *a, char *out, size_t outlen)
{
	const json_t *d = json_object_get(a, "detail");
	const json_t *ev = json_object_get(d, "event");
	const char *v;

	if (strcmp(cli_json_str(a, "source"), "indicator") == 0) {
		snprintf(out, outlen, "%s %s", cli_json_str(d, "field"),
		    cli_json_str(d, "observed"));
		return;
	}
	if ((v = cli_json_str(ev, "process.command_line"))[0] == '\0' &&
	    (v = cli_json_str(ev, "file.path"))[0] == '\0' &&
	    (v = cli_json_str(ev, "destination.domain"))[0] == '\0' &&
	    (v = cli_json_str(ev, "destination.ip"))[0] == '\0')
		v = cli_json_str(ev, "process.executable");
	snprintf(out, outlen, "%s", v);
}

static int
print_alerts(const json_t *alerts)
{
	static const char *const headers[] = {"LAST SEEN", "HOST", "SEVERITY",
	    "COUNT", "SOURCE", "TITLE", "RULE", "WHAT"};
	struct cli_table t;
	char when[32], count[24], what[ALERTS_WHAT_MAX];
	const json_t *a;
	size_t i;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if (cli_table_init(&t, 8, headers) != 0)
		goto nomem;
	t.max_width = 0;      /* hashes and paths are shown whole */
	json_array_foreach(alerts, i, a) {
		const char *cells[8];

		cells[0] = mamori_time_str(cli_json_u64(a, "last_seen_ns") /
		    1000000000ULL, when);
		cells[1] = cli_json_str(a, "hostname")[0] ?
		    cli_json_str(a, "hostname") : cli_json_str(a, "agent");
		cells[2] = cli_json_str(a, "severity");
		snprintf(count, sizeof(count), "%llu", cli_json_u64(a,
		    "count"));
		cells[3] = count;
		cells[4] = cli_json_str(a, "source");
		cells[5] = cli_json_str(json_object_get(a, "detail"), "title");
		cells[6] = cli_json_str(a, "rule");
		alert_what(a, what, sizeof(what));
		cells[7] = what;
		if (cli_table_add(&t, cells) != 0)
			goto nomem;
	}
	if (cli_table_rows(&t) == 0)
		printf("no alerts\n");
	else if (cli_table_print(&t, stdout, 0) != 0) {
		r = cli_fail("cannot write to standard output");
		goto out;
	}
	r = fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write to standard output");
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	cli_table_free(&t);
	return r;
}

int
cmd_alerts(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *host = NULL, *sev = NULL, *since_s = NULL,
	    *limit_s = ALERTS_LIMIT_DEFAULT;
	int json = 0;
	const struct cli_option opts[] = {
		{"--since", "TIME", &since_s, NULL},
		{"--severity", "S", &sev, NULL},
		{"--host", "H", &host, NULL},
		{"--limit", "N", &limit_s, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	json_t *req = NULL, *res = NULL;
	uint64_t since = 0, limit;
	int r;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (mamori_parse_u64(limit_s, 1, ALERTS_LIMIT_MAX, &limit) != 0)
		return cli_usage_error(ctx, "--limit takes 1 to %d",
		    ALERTS_LIMIT_MAX);
	if (since_s != NULL && cli_parse_time_arg(since_s, &since) != 0)
		return cli_usage_error(ctx, "--since takes a duration back "
		    "from now (10m, 2h, 7d) or a UTC time "
		    "(2026-11-28T10:15:00Z)");
	if (sev != NULL && !is_severity(sev))
		return cli_usage_error(ctx, "--severity takes informational, "
		    "low, medium, high or critical");
	if ((req = json_pack("{s:s, s:I}", "cmd", "alerts", "limit",
	    (json_int_t)limit)) == NULL)
		return cli_fail("out of memory");
	if ((host != NULL && json_object_set_new(req, "agent",
	    json_string(host)) != 0) ||
	    (sev != NULL && json_object_set_new(req, "severity",
	    json_string(sev)) != 0) ||
	    (since > 0 && json_object_set_new(req, "since",
	    json_integer((json_int_t)since)) != 0)) {
		json_decref(req);
		return cli_usage_error(ctx, "arguments must be UTF-8 text");
	}
	if (cli_admin_call(ctx, req, &res) != 0) {
		json_decref(req);
		return CLI_EXIT_FAIL;
	}
	json_decref(req);
	if (json)
		r = cli_print_json(json_object_get(res, "alerts"));
	else
		r = print_alerts(json_object_get(res, "alerts"));
	json_decref(res);
	return r;
}

int
cmd_rules_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"SOURCE", "ID", "SEVERITY",
	    "STATUS", "TITLE", "PATH"};
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct cli_table t;
	json_t *res = NULL;
	const json_t *rule;
	char status[320];
	size_t i;
	int r;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (cli_admin_cmd(ctx, "rules", &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	memset(&t, 0, sizeof(t));
	r = CLI_EXIT_FAIL;
	if (cli_table_init(&t, 6, headers) != 0)
		goto nomem;
	json_array_foreach(json_object_get(res, "rules"), i, rule) {
		const char *cells[6];

		cells[0] = cli_json_str(rule, "source");
		cells[1] = cli_json_str(rule, "id");
		cells[2] = cli_json_str(rule, "severity");
		if (cli_json_bool(rule, "loaded"))
			snprintf(status, sizeof(status), "applied");
		else
			snprintf(status, sizeof(status), "unsupported: %s",
			    cli_json_str(rule, "reason"));
		cells[3] = status;
		cells[4] = cli_json_str(rule, "title");
		cells[5] = cli_json_str(rule, "path");
		if (cli_table_add(&t, cells) != 0)
			goto nomem;
	}
	if (cli_table_rows(&t) > 0 && cli_table_print(&t, stdout, 0) != 0) {
		r = cli_fail("cannot write to standard output");
		goto out;
	}
	printf("%llu Sigma rules applied, %llu unsupported; %llu indicators "
	    "applied, %llu unsupported\n",
	    cli_json_u64(res, "sigma_loaded"),
	    cli_json_u64(res, "sigma_unsupported"),
	    cli_json_u64(res, "indicators_loaded"),
	    cli_json_u64(res, "indicators_unsupported"));
	r = fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write to standard output");
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}
