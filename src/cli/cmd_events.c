/*
 * cmd_events.c - `mamori events`: the operation logs the agents sent, read
 * back from the server's sealed store, filtered, and - with --follow -
 * streamed as they arrive.
 *
 * Every field of an event was written by an agent; it reaches the terminal
 * only through the table's escaping.  --follow polls the server with a
 * cursor (the last event id seen), so nothing is shown twice or skipped.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_client.h"
#include "cli.h"
#include "err.h"
#include "table.h"
#include "util.h"

#define EVENTS_LIMIT_DEFAULT "100"
#define EVENTS_LIMIT_MAX 100000
#define EVENTS_FOLLOW_MS 1000        /* how often --follow asks */
#define EVENTS_SUMMARY_MAX 1024
#define EVENTS_TIME_ARG_MAX 64

static volatile sig_atomic_t events_stop;

static void
events_on_signal(int sig)
{
	(void)sig;
	events_stop = 1;
}

/*
 * A point in time for --since/--until: a duration back from now ("10m",
 * "2h", "7d"), an ISO date ("2026-11-28"), or date and time in UTC
 * ("2026-11-28T10:15:00Z", "2026-11-28 10:15").
 */
int
cli_parse_time_arg(const char *s, uint64_t *out)
{
	struct tm tm;
	uint64_t d;
	time_t t;
	char *end;

	*out = 0;
	if (strlen(s) > EVENTS_TIME_ARG_MAX)
		return MAMORI_ERR_INVALID;
	if (mamori_parse_duration(s, &d) == 0) {
		uint64_t now = mamori_now();

		*out = d >= now ? 1 : now - d;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return MAMORI_ERR_INVALID;
	if (*end == 'T' || *end == ' ') {
		char *e2 = strptime(end + 1, "%H:%M:%S", &tm);

		if (e2 == NULL)
			e2 = strptime(end + 1, "%H:%M", &tm);
		if (e2 == NULL)
			return MAMORI_ERR_INVALID;
		end = e2;
	}
	if (*end == 'Z')
		end++;
	if (*end != '\0')
		return MAMORI_ERR_INVALID;
	if ((t = timegm(&tm)) <= 0)
		return MAMORI_ERR_INVALID;
	*out = (uint64_t)t;
	return 0;
}

static const json_t *
body(const json_t *ev, const char *type)
{
	const json_t *b = json_object_get(ev, type);

	return b != NULL ? b : json_object();
}

static const char *
lower_action(const json_t *b, char *out, size_t outlen)
{
	const json_t *a = json_object_get(b, "action");
	size_t i;

	if (json_is_integer(a)) {
		snprintf(out, outlen, "%lld", (long long)json_integer_value(a));
		return out;
	}
	snprintf(out, outlen, "%s", json_is_string(a) ? json_string_value(a) :
	    "");
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return out;
}

/* One line saying what happened, per event type. */
static void
summary(const json_t *ev, const char *type, char *out, size_t outlen)
{
	const json_t *b = body(ev, type);

	if (strcmp(type, "process") == 0) {
		if (cli_json_u64(b, "exit_code") != 0 ||
		    json_object_get(b, "command_line") == NULL ||
		    cli_json_str(b, "command_line")[0] == '\0')
			snprintf(out, outlen, "pid %llu %s exit %lld",
			    cli_json_u64(b, "pid"),
			    cli_json_str(b, "executable"),
			    (long long)json_integer_value(json_object_get(b,
			    "exit_code")));
		else
			snprintf(out, outlen, "pid %llu uid %llu: %s",
			    cli_json_u64(b, "pid"), cli_json_u64(b, "uid"),
			    cli_json_str(b, "command_line"));
	} else if (strcmp(type, "login") == 0) {
		snprintf(out, outlen, "%s%s%s from %s port %llu (%s %s)%s%s",
		    cli_json_str(b, "user_name"),
		    cli_json_str(b, "target_user")[0] ? " -> " : "",
		    cli_json_str(b, "target_user"),
		    cli_json_str(b, "source_ip")[0] ?
		    cli_json_str(b, "source_ip") : "local",
		    cli_json_u64(b, "source_port"),
		    cli_json_str(b, "service"), cli_json_str(b, "method"),
		    cli_json_str(b, "command")[0] ? ": " : "",
		    cli_json_str(b, "command"));
	} else if (strcmp(type, "file") == 0) {
		snprintf(out, outlen, "%s%s%s%s", cli_json_str(b, "old_path"),
		    cli_json_str(b, "old_path")[0] ? " -> " : "",
		    cli_json_str(b, "path"),
		    cli_json_bool(b, "while_down") ? " (while the agent was "
		    "down)" : "");
	} else if (strcmp(type, "network") == 0 &&
	    strcmp(cli_json_str(b, "action"), "LISTEN") == 0) {
		snprintf(out, outlen, "%s listening on %s:%llu pid %llu %s",
		    cli_json_str(b, "transport"), cli_json_str(b, "source_ip"),
		    cli_json_u64(b, "source_port"), cli_json_u64(b, "pid"),
		    cli_json_str(b, "executable"));
	} else if (strcmp(type, "network") == 0) {
		snprintf(out, outlen, "%s %s:%llu -> %s:%llu pid %llu %s",
		    cli_json_str(b, "transport"), cli_json_str(b, "source_ip"),
		    cli_json_u64(b, "source_port"),
		    cli_json_str(b, "destination_ip"),
		    cli_json_u64(b, "destination_port"), cli_json_u64(b, "pid"),
		    cli_json_str(b, "executable"));
	} else if (strcmp(type, "usb") == 0) {
		snprintf(out, outlen, "%s:%s serial %s %s %s",
		    cli_json_str(b, "vendor_id"), cli_json_str(b, "product_id"),
		    cli_json_str(b, "serial"), cli_json_str(b, "manufacturer"),
		    cli_json_str(b, "product"));
	} else if (strcmp(type, "trust") == 0) {
		snprintf(out, outlen, "%s %s %s %s%s%s", cli_json_str(b,
		    "action"), cli_json_str(b, "task_type"),
		    cli_json_str(b, "task_id"), cli_json_str(b, "reason"),
		    cli_json_str(b, "message")[0] != '\0' ? ": " : "",
		    cli_json_str(b, "message"));
	} else if (strcmp(type, "yara") == 0) {
		snprintf(out, outlen, "%s (set %s) matches %s sha256 %.16s",
		    cli_json_str(b, "rule"), cli_json_str(b, "set"),
		    cli_json_str(b, "path"), cli_json_str(b, "sha256"));
	} else if (strcmp(type, "loss") == 0) {
		snprintf(out, outlen, "%llu events lost (seq %llu-%llu): %s",
		    cli_json_u64(b, "count"), cli_json_u64(b, "first_seq"),
		    cli_json_u64(b, "last_seq"), cli_json_str(b, "reason"));
	} else {
		out[0] = '\0';
	}
}

static int
print_events(const json_t *events, int json_lines)
{
	static const char *const headers[] = {"TIME", "HOST", "TYPE",
	    "ACTION", "WHAT"};
	struct cli_table t;
	char when[32], what[EVENTS_SUMMARY_MAX], action[32], *line;
	const json_t *ev;
	size_t i;
	int r = CLI_EXIT_FAIL;

	if (json_lines) {
		json_array_foreach(events, i, ev) {
			line = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
			if (line == NULL)
				return cli_fail("out of memory");
			printf("%s\n", line);
			free(line);
		}
		return fflush(stdout) == 0 ? CLI_EXIT_OK :
		    cli_fail("cannot write to standard output");
	}
	memset(&t, 0, sizeof(t));
	if (cli_table_init(&t, 5, headers) != 0)
		goto nomem;
	t.max_width = 0;
	json_array_foreach(events, i, ev) {
		const char *type = cli_json_str(ev, "type");
		const char *cells[5];

		cells[0] = mamori_time_str(cli_json_u64(ev, "time_ns") /
		    1000000000ULL, when);
		cells[1] = cli_json_str(ev, "hostname")[0] ?
		    cli_json_str(ev, "hostname") : cli_json_str(ev, "agent");
		cells[2] = type;
		cells[3] = lower_action(body(ev, type), action,
		    sizeof(action));
		summary(ev, type, what, sizeof(what));
		cells[4] = what;
		if (cli_table_add(&t, cells) != 0)
			goto nomem;
	}
	if (cli_table_rows(&t) > 0 && cli_table_print(&t, stdout, 0) != 0) {
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
cmd_events(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *agent = NULL, *type = NULL, *since_s = NULL,
	    *until_s = NULL, *match = NULL, *limit_s = EVENTS_LIMIT_DEFAULT;
	int json = 0, follow = 0;
	const struct cli_option opts[] = {
		{"--agent", "A", &agent, NULL},
		{"--type", "T", &type, NULL},
		{"--since", "TIME", &since_s, NULL},
		{"--until", "TIME", &until_s, NULL},
		{"--match", "TEXT", &match, NULL},
		{"--limit", "N", &limit_s, NULL},
		{"--json", NULL, NULL, &json},
		{"--follow", NULL, NULL, &follow},
		{NULL, NULL, NULL, NULL},
	};
	json_t *req = NULL, *res = NULL;
	uint64_t since = 0, until = 0, limit, last_id = 0;
	int r;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (mamori_parse_u64(limit_s, 1, EVENTS_LIMIT_MAX, &limit) != 0)
		return cli_usage_error(ctx, "--limit takes 1 to %d",
		    EVENTS_LIMIT_MAX);
	if (since_s != NULL && cli_parse_time_arg(since_s, &since) != 0)
		return cli_usage_error(ctx, "--since takes a duration back "
		    "from now (10m, 2h, 7d) or a UTC time "
		    "(2026-11-28T10:15:00Z)");
	if (until_s != NULL && cli_parse_time_arg(until_s, &until) != 0)
		return cli_usage_error(ctx, "--until takes a duration back "
		    "from now (10m, 2h, 7d) or a UTC time "
		    "(2026-11-28T10:15:00Z)");
	if (type != NULL && strcmp(type, "process") != 0 &&
	    strcmp(type, "login") != 0 && strcmp(type, "file") != 0 &&
	    strcmp(type, "network") != 0 && strcmp(type, "usb") != 0 &&
	    strcmp(type, "loss") != 0 && strcmp(type, "trust") != 0 &&
	    strcmp(type, "yara") != 0)
		return cli_usage_error(ctx, "--type takes process, login, "
		    "file, network, usb, trust, yara or loss");
	if (follow) {
		signal(SIGINT, events_on_signal);
		signal(SIGTERM, events_on_signal);
	}
	r = CLI_EXIT_OK;
	do {
		if ((req = json_pack("{s:s, s:I}", "cmd", "events", "limit",
		    (json_int_t)limit)) == NULL)
			return cli_fail("out of memory");
		if ((agent != NULL && json_object_set_new(req, "agent",
		    json_string(agent)) != 0) ||
		    (type != NULL && json_object_set_new(req, "type",
		    json_string(type)) != 0) ||
		    (match != NULL && json_object_set_new(req, "match",
		    json_string(match)) != 0) ||
		    (since > 0 && json_object_set_new(req, "since",
		    json_integer((json_int_t)since)) != 0) ||
		    (until > 0 && json_object_set_new(req, "until",
		    json_integer((json_int_t)until)) != 0) ||
		    (last_id > 0 && json_object_set_new(req, "after_id",
		    json_integer((json_int_t)last_id)) != 0)) {
			json_decref(req);
			return cli_usage_error(ctx, "arguments must be UTF-8 "
			    "text");
		}
		if (cli_admin_call(ctx, req, &res) != 0) {
			json_decref(req);
			return CLI_EXIT_FAIL;
		}
		json_decref(req);
		req = NULL;
		if (!follow && json) {
			r = cli_print_json(json_object_get(res, "events"));
		} else {
			r = print_events(json_object_get(res, "events"),
			    json);
		}
		if (cli_json_u64(res, "last_id") > last_id)
			last_id = cli_json_u64(res, "last_id");
		json_decref(res);
		res = NULL;
		if (r != CLI_EXIT_OK || !follow)
			break;
		usleep(EVENTS_FOLLOW_MS * 1000);
	} while (!events_stop);
	return r;
}
