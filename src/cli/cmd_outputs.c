/*
 * cmd_outputs.c - `mamori outputs`: where the server sends its alerts
 * (HOME/outputs.json) and, per output, what it delivered and what it lost.
 *
 * Every counter the server keeps is shown: an alert that was dropped
 * (queue full), failed (given up after retries) or refused (the receiver
 * said no) must be visible here, never only in a log.  Targets and errors
 * reach the terminal through the table's escaping.
 */
#include <stdio.h>
#include <string.h>

#include "admin_client.h"
#include "cli.h"
#include "table.h"
#include "util.h"

#define OUTPUTS_COLS 11

int
cmd_outputs(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[OUTPUTS_COLS] = {"NAME", "KIND",
	    "TARGET", "QUEUED", "SENT", "RETRIED", "DROPPED", "FAILED",
	    "REFUSED", "LAST SENT", "LAST ERROR"};
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct cli_table t;
	json_t *res = NULL;
	const json_t *o, *arr;
	char num[6][24], when[32], err[320];
	size_t i;
	int r;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (cli_admin_cmd(ctx, "outputs", &res) != 0)
		return CLI_EXIT_FAIL;
	arr = json_object_get(res, "outputs");
	if (json) {
		r = cli_print_json(arr);
		json_decref(res);
		return r;
	}
	memset(&t, 0, sizeof(t));
	r = CLI_EXIT_FAIL;
	if (json_array_size(arr) == 0) {
		printf("no outputs (configure them in HOME/outputs.json, see "
		    "docs/outputs.md)\n");
		r = fflush(stdout) == 0 ? CLI_EXIT_OK :
		    cli_fail("cannot write to standard output");
		goto out;
	}
	if (cli_table_init(&t, OUTPUTS_COLS, headers) != 0)
		goto nomem;
	json_array_foreach(arr, i, o) {
		const char *cells[OUTPUTS_COLS];

		snprintf(num[0], sizeof(num[0]), "%llu/%llu",
		    cli_json_u64(o, "queued"), cli_json_u64(o, "queue_max"));
		snprintf(num[1], sizeof(num[1]), "%llu", cli_json_u64(o, "sent"));
		snprintf(num[2], sizeof(num[2]), "%llu",
		    cli_json_u64(o, "retried"));
		snprintf(num[3], sizeof(num[3]), "%llu",
		    cli_json_u64(o, "dropped"));
		snprintf(num[4], sizeof(num[4]), "%llu",
		    cli_json_u64(o, "failed"));
		snprintf(num[5], sizeof(num[5]), "%llu",
		    cli_json_u64(o, "refused"));
		cells[0] = cli_json_str(o, "name");
		cells[1] = cli_json_str(o, "kind");
		cells[2] = cli_json_str(o, "target");
		cells[3] = num[0];
		cells[4] = num[1];
		cells[5] = num[2];
		cells[6] = num[3];
		cells[7] = num[4];
		cells[8] = num[5];
		cells[9] = mamori_time_str(cli_json_u64(o, "last_sent"), when);
		if (cli_json_u64(o, "last_error_at") != 0) {
			char at[32];

			snprintf(err, sizeof(err), "%s: %s",
			    mamori_time_str(cli_json_u64(o, "last_error_at"),
			    at), cli_json_str(o, "last_error"));
		} else {
			snprintf(err, sizeof(err), "-");
		}
		cells[10] = err;
		if (cli_table_add(&t, cells) != 0)
			goto nomem;
	}
	if (cli_table_print(&t, stdout, 0) != 0) {
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
	json_decref(res);
	return r;
}
