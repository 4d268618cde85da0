/*
 * cmd_agents.c - `mamori agents`, `mamori revoke AGENT` and `mamori
 * status`: the fleet as the server sees it.
 *
 * Hostnames, OS names and addresses were written by agents; they reach the
 * terminal only through the table's escaping, never raw.
 */
#include <stdio.h>
#include <string.h>

#include "admin_client.h"
#include "cli.h"
#include "table.h"
#include "util.h"

#define AGENTS_RECENT_SECONDS 86400  /* younger last-seen times: "3m ago" */
#define AGENT_ARG_MAX 256            /* bytes of an AGENT argument */

static const char *
agent_state(const json_t *a)
{
	if (cli_json_u64(a, "revoked_at") != 0)
		return "revoked";
	return cli_json_bool(a, "connected") ? "connected" : "offline";
}

/* "3m ago" for recent times, the time itself for older ones. */
static const char *
last_seen_str(unsigned long long t, char out[48])
{
	char span[32], ts[32];
	uint64_t now = mamori_now();

	if (t == 0)
		snprintf(out, 48, "never");
	else if (t >= now)
		snprintf(out, 48, "just now");
	else if (now - t < AGENTS_RECENT_SECONDS)
		snprintf(out, 48, "%s ago", mamori_span_str(now - t, span));
	else
		snprintf(out, 48, "%s", mamori_time_str(t, ts));
	return out;
}

int
cmd_agents(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "HOSTNAME", "OS", "ADDRESS",
	    "STATE", "LAST SEEN", "ENROLLED"};
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct cli_table t;
	json_t *res = NULL, *a;
	char seen[48], enrolled[32];
	size_t i;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (cli_admin_cmd(ctx, "agents", &res) != 0)
		goto out;
	if (json) {
		r = cli_print_json(res);
		goto out;
	}
	if (!json_is_array(res)) {
		cli_fail("mamorid answered agents without a list");
		goto out;
	}
	if (cli_table_init(&t, 7, headers) != 0)
		goto nomem;
	json_array_foreach(res, i, a) {
		const char *cells[7];

		cells[0] = cli_json_str(a, "id");
		cells[1] = cli_json_str(a, "hostname");
		cells[2] = cli_json_str(a, "os");
		cells[3] = cli_json_str(a, "address");
		cells[4] = agent_state(a);
		cells[5] = last_seen_str(cli_json_u64(a, "last_seen"), seen);
		cells[6] = mamori_time_str(cli_json_u64(a, "enrolled_at"),
		    enrolled);
		if (cli_table_add(&t, cells) != 0)
			goto nomem;
	}
	if (cli_table_print(&t, stdout, 0) != 0 || fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}

int
cmd_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *agent = NULL;
	json_t *req = NULL, *res = NULL;
	char safe[CLI_MSG_MAX];
	int r = CLI_EXIT_FAIL;

	if ((r = cli_parse(ctx, argc, argv, opts, "AGENT", &agent)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (*agent == '\0' || strlen(agent) > AGENT_ARG_MAX) {
		r = cli_usage_error(ctx, "AGENT must be 1 to %d bytes",
		    AGENT_ARG_MAX);
		goto out;
	}
	if ((req = json_pack("{s:s, s:s}", "cmd", "revoke", "agent",
	    agent)) == NULL) {
		r = cli_usage_error(ctx, "AGENT must be UTF-8 text");
		goto out;
	}
	if (cli_admin_call(ctx, req, &res) != 0)
		goto out;
	if (json) {
		r = cli_print_json(res);
		goto out;
	}
	printf("revoked %s\n", cli_safe(cli_json_str(res, "id"), safe,
	    sizeof(safe)));
	if (cli_json_bool(res, "dropped"))
		printf("(its live connection was closed)\n");
	if (fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	json_decref(req);
	json_decref(res);
	return r;
}

int
cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct cli_table t;
	json_t *res = NULL;
	char connected[32], started[96], ts[32], span[32];
	unsigned long long st;
	uint64_t now = mamori_now();
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (cli_admin_cmd(ctx, "status", &res) != 0)
		goto out;
	if (json) {
		r = cli_print_json(res);
		goto out;
	}
	snprintf(connected, sizeof(connected), "%llu",
	    cli_json_u64(res, "agents_connected"));
	st = cli_json_u64(res, "started_at");
	if (st != 0 && st <= now)
		snprintf(started, sizeof(started), "%s (up %s)",
		    mamori_time_str(st, ts), mamori_span_str(now - st, span));
	else
		snprintf(started, sizeof(started), "%s", mamori_time_str(st, ts));
	{
		const char *rows[][2] = {
			{"Version", cli_json_str(res, "version")},
			{"Home", ctx->home},
			{"Listening on", cli_json_str(res, "listen")},
			{"Agents connected", connected},
			{"Started", started},
			{"CA fingerprint", cli_json_str(res, "ca_fingerprint")},
			{"Owner key", cli_json_str(res, "owner_fingerprint")},
		};
		size_t i;

		if (cli_table_init(&t, 2, NULL) != 0)
			goto nomem;
		t.max_width = 0; /* fingerprints are never cut */
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (cli_table_add(&t, rows[i]) != 0)
				goto nomem;
	}
	if (cli_table_print(&t, stdout, 0) != 0 || fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}
