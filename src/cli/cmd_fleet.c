/*
 * cmd_fleet.c - remote management through the server: `mamori policy push`,
 * `mamori policy current`, `mamori query`, `mamori hunt start/list/show`
 * and `mamori task submit`.
 *
 * The administrator's keys never come here: policies and tasks arrive as
 * files signed on the administrator's machine (`mamori policy sign`,
 * `mamori sign`), and this tool only hands their bytes to the server.
 * Queries are the one thing the server makes itself, unsigned, and agents
 * run them only when the fleet policy allows observe tasks from the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "policy.h"
#include "table.h"
#include "task.h"
#include "util.h"

#define FLEET_AGENTS_MAX 1024          /* --agent ids, MAMORI_TASK_MAX_TARGETS */
#define FLEET_WAIT_DEFAULT 10          /* seconds, MAMORI_FLEET_WAIT_DEFAULT */
#define FLEET_WAIT_MAX 3600
#define FLEET_HUNT_TTL_DEFAULT 3600    /* seconds a hunt stays valid */
#define FLEET_STREAM_SLACK_MS 15000    /* past the wait, for the summary */
#define FLEET_CELL_MAX 80              /* a query cell, people's view */

/* A signed file (policy or task) as base64url, for the admin socket. */
static int
file_b64(const char *path, size_t max, char **out)
{
	struct mamori_buf b;
	char safe[CLI_MSG_MAX];
	int r;

	*out = NULL;
	mamori_buf_init(&b, max);
	if ((r = mamori_buf_read_file(&b, path)) != 0) {
		cli_fail("cannot read %s: %s", cli_safe(path, safe,
		    sizeof(safe)), r == MAMORI_ERR_TOO_LARGE ? "larger than "
		    "a signed file can be" : mamori_strerror(r));
		mamori_buf_free(&b);
		return r;
	}
	if ((*out = malloc(mamori_b64url_len(b.len) + 1)) == NULL) {
		mamori_buf_free(&b);
		return cli_fail("out of memory"), MAMORI_ERR_ALLOC;
	}
	mamori_b64url_encode(b.data, b.len, *out);
	mamori_buf_free(&b);
	return 0;
}

int
cmd_policy_push(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	int json = 0, r;
	struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	json_t *req = NULL, *res = NULL;
	char *b64 = NULL;

	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		return r;
	if (file_b64(file, MAMORI_POLICY_MAX_BYTES, &b64) != 0)
		return CLI_EXIT_FAIL;
	req = json_pack("{s:s, s:s}", "cmd", "policy.push", "policy", b64);
	free(b64);
	if (req == NULL)
		return cli_fail("out of memory");
	r = cli_admin_call(ctx, req, &res);
	json_decref(req);
	if (r != 0)
		return CLI_EXIT_FAIL;
	if (json)
		r = cli_print_json(res);
	else
		printf("policy version %llu pushed; sent to %llu connected "
		    "agents now, the others get it when they connect\n",
		    cli_json_u64(res, "version"), cli_json_u64(res, "sent"));
	json_decref(res);
	return r;
}

int
cmd_policy_current(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r;
	struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	static const char *const gh[] = {"GROUP", "AGENTS", "ACCEPTS"};
	struct cli_table t;
	json_t *res = NULL, *g, *v;
	struct mamori_buf acc, ids;
	char when[32];
	size_t i, j;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (cli_admin_cmd(ctx, "policy.show", &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	printf("Version              %llu (issued %s)\n",
	    cli_json_u64(res, "version"),
	    mamori_time_str(cli_json_u64(res, "issued_at"), when));
	printf("Owner key            %s\n", cli_json_str(res,
	    "owner_fingerprint"));
	printf("Queries from server  %s\n", cli_json_bool(res,
	    "observe_from_server") ? "allowed" : "not allowed");
	printf("Quorum               collect %llu, change %llu\n",
	    cli_json_u64(res, "quorum_collect"),
	    cli_json_u64(res, "quorum_change"));
	printf("Admins               %zu\n", json_array_size(json_object_get(
	    res, "admins")));
	printf("Connected agents     %llu on this version, %llu older\n\n",
	    cli_json_u64(res, "connected_current"),
	    cli_json_u64(res, "connected_older"));
	memset(&t, 0, sizeof(t));
	mamori_buf_init(&acc, 4096);
	mamori_buf_init(&ids, 4096);
	r = CLI_EXIT_FAIL;
	if (cli_table_init(&t, 3, gh) != 0)
		goto out;
	json_array_foreach(json_object_get(res, "groups"), i, g) {
		const char *cells[3];

		mamori_buf_reset(&acc);
		mamori_buf_reset(&ids);
		json_array_foreach(json_object_get(g, "accept"), j, v) {
			if ((j > 0 && mamori_buf_append(&acc, ", ", 2) != 0) ||
			    mamori_buf_append(&acc, json_string_value(v),
			    strlen(json_string_value(v))) != 0)
				goto out;
		}
		json_array_foreach(json_object_get(g, "agents"), j, v) {
			if ((j > 0 && mamori_buf_append(&ids, " ", 1) != 0) ||
			    mamori_buf_append(&ids, json_string_value(v),
			    strlen(json_string_value(v))) != 0)
				goto out;
		}
		if (mamori_buf_append(&acc, "", 1) != 0 ||
		    mamori_buf_append(&ids, "", 1) != 0)
			goto out;
		cells[0] = cli_json_str(g, "name");
		cells[1] = (const char *)ids.data;
		cells[2] = (const char *)acc.data;
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	if (cli_table_print(&t, stdout, 0) != 0)
		goto out;
	r = cli_print_yara_sets(json_object_get(res, "yara"));
out:
	cli_table_free(&t);
	mamori_buf_free(&acc);
	mamori_buf_free(&ids);
	json_decref(res);
	return r;
}

/* ---- streamed results -------------------------------------------------- */

struct stream {
	int json;
	int quiet;                    /* hunt start: the id only */
	size_t results;
};

static void
cell_text(const json_t *v, char *out, size_t outlen)
{
	if (json_is_string(v))
		snprintf(out, outlen, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, outlen, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, outlen, "%s", json_is_true(v) ? "1" : "0");
	else
		out[0] = '\0';
}

static int
print_rows(const json_t *q)
{
	const json_t *cols = json_object_get(q, "columns");
	const json_t *rows = json_object_get(q, "rows"), *row;
	const char **hdr = NULL, **cells = NULL;
	char (*text)[FLEET_CELL_MAX * 4] = NULL;
	struct cli_table t;
	size_t n = json_array_size(cols), i, j;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if (n == 0)
		return 0;
	if ((hdr = calloc(n, sizeof(*hdr))) == NULL ||
	    (cells = calloc(n, sizeof(*cells))) == NULL ||
	    (text = calloc(n, sizeof(*text))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		hdr[i] = json_string_value(json_array_get(cols, i)) != NULL ?
		    json_string_value(json_array_get(cols, i)) : "?";
	if (cli_table_init(&t, n, hdr) != 0)
		goto out;
	t.max_width = FLEET_CELL_MAX;
	json_array_foreach(rows, i, row) {
		for (j = 0; j < n; j++) {
			cell_text(json_array_get(row, j), text[j],
			    sizeof(text[j]));
			cells[j] = text[j];
		}
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	r = cli_table_print(&t, stdout, 2) == 0 ? 0 : CLI_EXIT_FAIL;
out:
	cli_table_free(&t);
	free(hdr);
	free(cells);
	free(text);
	return r;
}

static void
print_result(const json_t *res)
{
	const json_t *q = json_object_get(res, "query");
	const char *host = cli_json_str(res, "hostname");
	const char *st = cli_json_str(res, "status");
	char id[16], safe[CLI_MSG_MAX], hs[CLI_MSG_MAX];

	snprintf(id, sizeof(id), "%.8s", cli_json_str(res, "agent"));
	cli_safe(host[0] != '\0' ? host : id, hs, sizeof(hs));
	if (strcmp(st, "ok") != 0) {
		printf("%s (%s): %s: %s\n", hs, id, st, cli_safe(cli_json_str(
		    res, "message"), safe, sizeof(safe)));
		return;
	}
	if (q != NULL) {
		size_t n = json_array_size(json_object_get(q, "rows"));

		printf("%s (%s): %zu row%s\n", hs, id, n, n == 1 ? "" : "s");
		(void)print_rows(q);
		return;
	}
	printf("%s (%s): ok", hs, id);
	if (json_object_get(res, "exit_code") != NULL)
		printf(", exit code %lld", (long long)json_integer_value(
		    json_object_get(res, "exit_code")));
	printf("\n");
	if (cli_json_str(res, "output")[0] != '\0') {
		struct mamori_buf b;

		mamori_buf_init(&b, 16 * 1024 * 1024);
		if (cli_escape(cli_json_str(res, "output"), 0, &b, NULL) == 0 &&
		    mamori_buf_append(&b, "", 1) == 0)
			printf("%s\n", (const char *)b.data);
		mamori_buf_free(&b);
	}
}

static int
print_summary(const json_t *sum)
{
	static const char *const hdr[] = {"AGENT", "HOST", "STATUS",
	    "MESSAGE"};
	const json_t *a;
	struct cli_table t;
	size_t i, ok = 0, other = 0;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if (cli_table_init(&t, 4, hdr) != 0)
		return CLI_EXIT_FAIL;
	json_array_foreach(json_object_get(sum, "agents"), i, a) {
		const char *cells[4];

		cells[0] = cli_json_str(a, "agent");
		cells[1] = cli_json_str(a, "hostname");
		cells[2] = cli_json_str(a, "status");
		cells[3] = cli_json_str(a, "message");
		if (strcmp(cells[2], "ok") == 0)
			ok++;
		else
			other++;
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	printf("\n");
	if (cli_table_print(&t, stdout, 0) != 0)
		goto out;
	printf("%zu of %zu agents answered ok\n", ok, ok + other);
	r = 0;
out:
	cli_table_free(&t);
	return r;
}

static int
stream_cb(void *ud, const json_t *v, int kind)
{
	struct stream *s = ud;

	if (s->json) {
		json_t *line = json_pack("{s:s, s:O}", "type", kind == 0 ?
		    "task" : kind == 1 ? "result" : "summary", "data", v);
		char *text = line == NULL ? NULL : json_dumps(line,
		    JSON_COMPACT | JSON_ENSURE_ASCII);

		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(line);
		fflush(stdout);
		return 0;
	}
	switch (kind) {
	case 0:
		if (s->quiet)
			printf("%s\n", cli_json_str(v, "task"));
		else
			printf("task %s: %llu agents targeted, %llu "
			    "connected\n", cli_json_str(v, "task"),
			    cli_json_u64(v, "targets"),
			    cli_json_u64(v, "connected"));
		break;
	case 1:
		s->results++;
		print_result(v);
		break;
	default:
		return print_summary(v);
	}
	fflush(stdout);
	return 0;
}

/* "a,b,c" into a JSON array of strings. */
static int
agents_array(const char *list, json_t **out)
{
	const char *p = list, *comma;
	json_t *arr = json_array();

	*out = NULL;
	if (arr == NULL)
		return MAMORI_ERR_ALLOC;
	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		if (comma == p || json_array_size(arr) >= FLEET_AGENTS_MAX ||
		    json_array_append_new(arr, json_stringn(p,
		    (size_t)(comma - p))) != 0) {
			json_decref(arr);
			return MAMORI_ERR_INVALID;
		}
		p = *comma == ',' ? comma + 1 : comma;
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return MAMORI_ERR_INVALID;
	}
	*out = arr;
	return 0;
}

/* Shared by query and hunt start: the targets of a request. */
static int
set_targets(struct cli_ctx *ctx, json_t *req, const char *agents,
    const char *group, int all)
{
	json_t *arr;

	if ((agents != NULL) + (group != NULL) + (all != 0) != 1)
		return cli_usage_error(ctx, "say which agents: --agent ID[,ID...]"
		    ", --group NAME or --all");
	if (agents != NULL) {
		if (agents_array(agents, &arr) != 0)
			return cli_usage_error(ctx, "--agent takes 1 to %d ids "
			    "separated by commas", FLEET_AGENTS_MAX);
		json_object_set_new(req, "agents", arr);
	} else if (group != NULL) {
		json_object_set_new(req, "group", json_string(group));
	} else {
		json_object_set_new(req, "all", json_true());
	}
	return CLI_CONTINUE;
}

/*
 * query and hunt start: the same request, told apart by how long it lives.
 * A query waits (--timeout seconds) and streams; a hunt stays valid (--ttl)
 * for agents that connect later, and prints its id.
 */
static int
query_or_hunt(struct cli_ctx *ctx, int argc, char **argv, int hunt)
{
	const char *sql = NULL, *agents = NULL, *group = NULL, *span_s = NULL;
	int all = 0, json = 0, r;
	struct cli_option opts[] = {
		{"--agent", "ID[,ID...]", &agents, NULL},
		{"--group", "NAME", &group, NULL},
		{"--all", NULL, NULL, &all},
		{hunt ? "--ttl" : "--timeout", hunt ? "DURATION" : "SECONDS",
		    &span_s, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct stream s;
	uint64_t span = hunt ? FLEET_HUNT_TTL_DEFAULT : FLEET_WAIT_DEFAULT;
	json_t *req;

	if ((r = cli_parse(ctx, argc, argv, opts, "SQL", &sql)) !=
	    CLI_CONTINUE)
		return r;
	if (span_s != NULL && hunt && (mamori_parse_duration(span_s,
	    &span) != 0 || span < 1 || span > MAMORI_TASK_MAX_WINDOW))
		return cli_usage_error(ctx, "--ttl takes a duration from 1s to "
		    "24h, e.g. 30m");
	if (span_s != NULL && !hunt && mamori_parse_u64(span_s, 1,
	    FLEET_WAIT_MAX, &span) != 0)
		return cli_usage_error(ctx, "--timeout takes 1 to %d seconds",
		    FLEET_WAIT_MAX);
	if ((req = json_pack("{s:s, s:s, s:I}", "cmd", "query", "sql", sql,
	    hunt ? "ttl" : "wait", (json_int_t)span)) == NULL)
		return cli_fail("out of memory");
	if ((r = set_targets(ctx, req, agents, group, all)) != CLI_CONTINUE) {
		json_decref(req);
		return r;
	}
	memset(&s, 0, sizeof(s));
	s.json = json;
	s.quiet = hunt;
	r = cli_admin_stream(ctx, req, hunt ? CLI_ADMIN_TIMEOUT_MS :
	    span * 1000 + FLEET_STREAM_SLACK_MS, stream_cb, &s);
	json_decref(req);
	return r == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int
cmd_query(struct cli_ctx *ctx, int argc, char **argv)
{
	return query_or_hunt(ctx, argc, argv, 0);
}

int
cmd_hunt_start(struct cli_ctx *ctx, int argc, char **argv)
{
	return query_or_hunt(ctx, argc, argv, 1);
}

int
cmd_task_submit(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *wait_s = NULL;
	int json = 0, r;
	struct cli_option opts[] = {
		{"--wait", "SECONDS", &wait_s, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct stream s;
	uint64_t wait = 0;
	json_t *req;
	char *b64 = NULL;

	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		return r;
	if (wait_s != NULL && mamori_parse_u64(wait_s, 0, FLEET_WAIT_MAX,
	    &wait) != 0)
		return cli_usage_error(ctx, "--wait takes 0 to %d seconds",
		    FLEET_WAIT_MAX);
	if (file_b64(file, MAMORI_TASK_MAX_BYTES, &b64) != 0)
		return CLI_EXIT_FAIL;
	req = json_pack("{s:s, s:s, s:I}", "cmd", "task.submit", "task", b64,
	    "wait", (json_int_t)wait);
	free(b64);
	if (req == NULL)
		return cli_fail("out of memory");
	memset(&s, 0, sizeof(s));
	s.json = json;
	s.quiet = wait == 0;
	r = cli_admin_stream(ctx, req, wait * 1000 + FLEET_STREAM_SLACK_MS,
	    stream_cb, &s);
	json_decref(req);
	return r == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- hunts ------------------------------------------------------------- */

int
cmd_hunt_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const hdr[] = {"ID", "KIND", "TYPE", "CREATED",
	    "EXPIRES", "TARGETS", "OK", "FAILED", "PENDING", "WHAT"};
	const char *limit_s = NULL;
	int json = 0, r;
	struct cli_option opts[] = {
		{"--limit", "N", &limit_s, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	char c[6][32];
	struct cli_table t;
	uint64_t limit = 100;
	json_t *req, *res = NULL, *h;
	size_t i;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (limit_s != NULL && mamori_parse_u64(limit_s, 1, 100000,
	    &limit) != 0)
		return cli_usage_error(ctx, "--limit takes 1 to 100000");
	if ((req = json_pack("{s:s, s:I}", "cmd", "hunt.list", "limit",
	    (json_int_t)limit)) == NULL)
		return cli_fail("out of memory");
	r = cli_admin_call(ctx, req, &res);
	json_decref(req);
	if (r != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	memset(&t, 0, sizeof(t));
	r = CLI_EXIT_FAIL;
	if (cli_table_init(&t, 10, hdr) != 0)
		goto out;
	json_array_foreach(res, i, h) {
		const char *cells[10];

		cells[0] = cli_json_str(h, "id");
		cells[1] = cli_json_str(h, "kind");
		cells[2] = cli_json_str(h, "type");
		cells[3] = mamori_time_str(cli_json_u64(h, "created"), c[0]);
		cells[4] = mamori_time_str(cli_json_u64(h, "not_after"), c[1]);
		snprintf(c[2], sizeof(c[2]), "%llu", cli_json_u64(h,
		    "targets"));
		snprintf(c[3], sizeof(c[3]), "%llu", cli_json_u64(h, "ok"));
		snprintf(c[4], sizeof(c[4]), "%llu", cli_json_u64(h,
		    "failed"));
		snprintf(c[5], sizeof(c[5]), "%llu", cli_json_u64(h,
		    "pending"));
		cells[5] = c[2];
		cells[6] = c[3];
		cells[7] = c[4];
		cells[8] = c[5];
		cells[9] = cli_json_str(h, "what");
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	if (cli_table_rows(&t) == 0) {
		printf("no tasks yet\n");
		r = CLI_EXIT_OK;
		goto out;
	}
	r = cli_table_print(&t, stdout, 0) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}

int
cmd_hunt_show(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *id = NULL;
	int json = 0, r;
	struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	json_t *req, *res = NULL, *v;
	char when[32], safe[CLI_MSG_MAX];
	size_t i;

	if ((r = cli_parse(ctx, argc, argv, opts, "ID", &id)) != CLI_CONTINUE)
		return r;
	if ((req = json_pack("{s:s, s:s}", "cmd", "hunt.show", "id", id)) ==
	    NULL)
		return cli_fail("out of memory");
	r = cli_admin_call(ctx, req, &res);
	json_decref(req);
	if (r != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	printf("Task        %s\n", cli_json_str(res, "id"));
	printf("Kind        %s (%s), by %s\n", cli_json_str(res, "kind"),
	    cli_json_str(res, "type"), cli_json_str(res, "by"));
	printf("What        %s\n", cli_safe(cli_json_str(res, "what"), safe,
	    sizeof(safe)));
	printf("Created     %s\n", mamori_time_str(cli_json_u64(res,
	    "created"), when));
	printf("Valid until %s\n", mamori_time_str(cli_json_u64(res,
	    "not_after"), when));
	printf("Signatures  %llu\n\n", cli_json_u64(res, "signatures"));
	json_array_foreach(json_object_get(res, "results"), i, v)
		print_result(v);
	r = print_summary(res);
	json_decref(res);
	return r;
}
