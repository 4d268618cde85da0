/*
 * cmd_sigma.c - `mamori sigma scan` and `mamori sigma check`: Sigma rules
 * on this machine, without a server.
 *
 *   sigma scan --rules PATH... --events FILE [--json]
 *       evaluates the rules over a JSON-lines file of flat events whose
 *       keys are the rules' own field names, and prints each match
 *   sigma check --rules PATH... [--ingest] [--json]
 *       lists every rule with its status: loaded, or unsupported and why
 *       (with --ingest, against the server's field mapping)
 *
 * PATH is a rule file or a directory searched recursively for .yml and
 * .yaml files; --rules may be repeated and takes every following word up
 * to the next option.  Rule text and event text are untrusted: every cell
 * is escaped (table.h) and JSON is written by jansson with non-ASCII as
 * \uXXXX; none of it is ever used as a format string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "err.h"
#include "sigma.h"
#include "table.h"

#define SIGMA_CLI_PATHS_MAX 256
#define SIGMA_CLI_CELL_WIDTH 100 /* reasons and titles are long */

struct sigma_args {
	const char *paths[SIGMA_CLI_PATHS_MAX];
	size_t npaths;
	const char *events;
	int json;
	int ingest;
};

/* Parses the arguments of scan (events_allowed) or check. */
static int
parse_args(struct cli_ctx *ctx, int argc, char **argv, int scan,
    struct sigma_args *a)
{
	char safe[CLI_MSG_MAX / 4];
	int i, in_rules = 0;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			cli_command_help(ctx->cmd, stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(arg, "--rules") == 0) {
			in_rules = 1;
			if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
				return cli_usage_error(ctx, "option --rules "
				    "needs a value (PATH)");
			continue;
		}
		if (scan && strcmp(arg, "--events") == 0) {
			in_rules = 0;
			if (a->events != NULL)
				return cli_usage_error(ctx, "option --events "
				    "given twice");
			if (i + 1 >= argc || argv[i + 1][0] == '\0')
				return cli_usage_error(ctx, "option --events "
				    "needs a value (FILE)");
			a->events = argv[++i];
			continue;
		}
		if (strcmp(arg, "--json") == 0) {
			in_rules = 0;
			a->json = 1;
			continue;
		}
		if (!scan && strcmp(arg, "--ingest") == 0) {
			in_rules = 0;
			a->ingest = 1;
			continue;
		}
		if (in_rules && strncmp(arg, "--", 2) != 0 && arg[0] != '\0') {
			if (a->npaths >= SIGMA_CLI_PATHS_MAX)
				return cli_usage_error(ctx, "more than %d rule "
				    "paths", SIGMA_CLI_PATHS_MAX);
			a->paths[a->npaths++] = arg;
			continue;
		}
		return cli_usage_error(ctx, "unexpected argument %s",
		    cli_safe(arg, safe, sizeof(safe)));
	}
	if (a->npaths == 0)
		return cli_usage_error(ctx, "no rules given (--rules PATH)");
	if (scan && a->events == NULL)
		return cli_usage_error(ctx, "no events given (--events FILE)");
	return CLI_CONTINUE;
}

/* Loads and compiles the rules of a; prints what failed to load on
 * stderr unless quiet. */
static int
load_rules(const struct sigma_args *a, const struct mamori_sigma_schema *sc,
    struct mamori_sigma_ruleset **out, int quiet)
{
	const struct mamori_sigma_rule_info *info;
	struct mamori_sigma_ruleset *rs = NULL;
	char safe[CLI_MSG_MAX / 2], safe2[CLI_MSG_MAX / 2];
	size_t i;
	int r;

	*out = NULL;
	if ((r = mamori_sigma_ruleset_new(sc, &rs)) != 0)
		return cli_fail("cannot start a ruleset: %s",
		    mamori_strerror(r));
	for (i = 0; i < a->npaths; i++) {
		r = mamori_sigma_ruleset_add_path(rs, a->paths[i]);
		if (r == MAMORI_ERR_NOT_FOUND) {
			mamori_sigma_ruleset_free(rs);
			return cli_fail("rules %s: no such file or directory",
			    cli_safe(a->paths[i], safe, sizeof(safe)));
		}
		if (r != 0) {
			mamori_sigma_ruleset_free(rs);
			return cli_fail("rules %s: %s", cli_safe(a->paths[i],
			    safe, sizeof(safe)), mamori_strerror(r));
		}
	}
	if ((r = mamori_sigma_ruleset_compile(rs)) != 0) {
		mamori_sigma_ruleset_free(rs);
		return cli_fail("cannot compile the rules: %s",
		    mamori_strerror(r));
	}
	for (i = 0; !quiet && i < mamori_sigma_ruleset_count(rs); i++) {
		info = mamori_sigma_rule_info(rs, i);
		if (!info->loaded)
			fprintf(stderr, "%s: rule %s not loaded: %s\n",
			    CLI_PROGRAM, cli_safe(info->path, safe,
			    sizeof(safe)), cli_safe(info->reason, safe2,
			    sizeof(safe2)));
	}
	*out = rs;
	return CLI_CONTINUE;
}

struct scan_out {
	const struct mamori_sigma_ruleset *rs;
	struct cli_table *table;
	int json;
	int failed;
};

static int
on_match(void *arg, uint64_t line, uint32_t rule)
{
	struct scan_out *so = arg;
	const struct mamori_sigma_rule_info *info =
	    mamori_sigma_rule_info(so->rs, rule);
	char num[32];
	const char *cells[4];
	json_t *o;
	char *s;

	if (so->json) {
		o = json_pack("{sIssssssss}", "line", (json_int_t)line,
		    "rule_id", info->id, "title", info->title, "level",
		    mamori_sigma_level_name(info->level), "path", info->path);
		if (o == NULL || (s = json_dumps(o, JSON_COMPACT |
		    JSON_ENSURE_ASCII)) == NULL) {
			json_decref(o);
			return MAMORI_ERR_ALLOC;
		}
		json_decref(o);
		if (puts(s) == EOF) {
			free(s);
			return MAMORI_ERR_IO;
		}
		free(s);
		return 0;
	}
	snprintf(num, sizeof(num), "%llu", (unsigned long long)line);
	cells[0] = num;
	cells[1] = mamori_sigma_level_name(info->level);
	cells[2] = info->id;
	cells[3] = info->title;
	return cli_table_add(so->table, cells);
}

static void
on_bad(void *arg, uint64_t line, const char *reason)
{
	(void)arg;
	fprintf(stderr, "%s: events line %llu skipped: %s\n", CLI_PROGRAM,
	    (unsigned long long)line, reason);
}

int
cmd_sigma_scan(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"LINE", "LEVEL", "RULE ID",
	    "TITLE"};
	struct mamori_sigma_dynamic *dyn = NULL;
	struct mamori_sigma_ruleset *rs = NULL;
	struct mamori_sigma_scan_stats st;
	struct mamori_sigma_schema schema;
	struct mamori_sigma_scan_cb cb;
	struct cli_table table;
	struct scan_out so;
	struct sigma_args a;
	char safe[CLI_MSG_MAX / 2];
	FILE *in = NULL;
	int ret, r;

	memset(&table, 0, sizeof(table));
	if ((ret = parse_args(ctx, argc, argv, 1, &a)) != CLI_CONTINUE)
		return ret;
	if (mamori_sigma_dynamic_new(&dyn) != 0)
		return cli_fail("out of memory");
	mamori_sigma_dynamic_schema(dyn, &schema);
	if ((ret = load_rules(&a, &schema, &rs, 0)) != CLI_CONTINUE)
		goto out;
	if ((in = fopen(a.events, "r")) == NULL) {
		ret = cli_fail("cannot open events file %s",
		    cli_safe(a.events, safe, sizeof(safe)));
		goto out;
	}
	if (cli_table_init(&table, 4, headers) != 0) {
		ret = cli_fail("out of memory");
		goto out;
	}
	table.max_width = SIGMA_CLI_CELL_WIDTH;
	so.rs = rs;
	so.table = &table;
	so.json = a.json;
	so.failed = 0;
	cb.arg = &so;
	cb.on_match = on_match;
	cb.on_bad = on_bad;
	if ((r = mamori_sigma_scan_jsonl(rs, dyn, in, &cb, &st)) != 0) {
		ret = cli_fail("scan of %s failed: %s", cli_safe(a.events,
		    safe, sizeof(safe)), mamori_strerror(r));
		goto out;
	}
	if (!a.json && cli_table_rows(&table) > 0 &&
	    cli_table_print(&table, stdout, 0) != 0) {
		ret = cli_fail("cannot write the output");
		goto out;
	}
	if (fflush(stdout) != 0) {
		ret = cli_fail("cannot write the output");
		goto out;
	}
	fprintf(stderr, "%s: %zu rules loaded, %zu unsupported; %llu events "
	    "read, %llu bad lines skipped, %llu matches\n", CLI_PROGRAM,
	    mamori_sigma_ruleset_loaded(rs), mamori_sigma_ruleset_count(rs) -
	    mamori_sigma_ruleset_loaded(rs), (unsigned long long)st.events,
	    (unsigned long long)st.bad, (unsigned long long)st.matches);
	ret = CLI_EXIT_OK;
out:
	if (in != NULL)
		fclose(in);
	cli_table_free(&table);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_dynamic_free(dyn);
	return ret;
}

int
cmd_sigma_check(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"STATUS", "LEVEL", "RULE ID",
	    "TITLE", "REASON"};
	const struct mamori_sigma_rule_info *info;
	struct mamori_sigma_dynamic *dyn = NULL;
	struct mamori_sigma_ruleset *rs = NULL;
	struct mamori_sigma_schema schema;
	struct cli_table table;
	struct sigma_args a;
	const char *cells[5];
	json_t *arr = NULL, *o;
	size_t i;
	int ret;

	memset(&table, 0, sizeof(table));
	if ((ret = parse_args(ctx, argc, argv, 0, &a)) != CLI_CONTINUE)
		return ret;
	if (a.ingest)
		mamori_sigma_ingest_schema(&schema);
	else {
		if (mamori_sigma_dynamic_new(&dyn) != 0)
			return cli_fail("out of memory");
		mamori_sigma_dynamic_schema(dyn, &schema);
	}
	if ((ret = load_rules(&a, &schema, &rs, 1)) != CLI_CONTINUE)
		goto out;
	ret = CLI_EXIT_FAIL;
	if (a.json ? (arr = json_array()) == NULL :
	    cli_table_init(&table, 5, headers) != 0) {
		cli_fail("out of memory");
		goto out;
	}
	table.max_width = SIGMA_CLI_CELL_WIDTH;
	for (i = 0; i < mamori_sigma_ruleset_count(rs); i++) {
		info = mamori_sigma_rule_info(rs, i);
		if (a.json) {
			o = json_pack("{sssssssssssssbss}", "path", info->path,
			    "id", info->id, "title", info->title, "level",
			    info->level_text, "category", info->category,
			    "product", info->product, "loaded", info->loaded,
			    "reason", info->reason);
			if (o == NULL || json_array_append_new(arr, o) != 0) {
				cli_fail("out of memory");
				goto out;
			}
			continue;
		}
		cells[0] = info->loaded ? "loaded" : "unsupported";
		cells[1] = info->level_text;
		cells[2] = info->id[0] != '\0' ? info->id : info->path;
		cells[3] = info->title;
		cells[4] = info->reason;
		if (cli_table_add(&table, cells) != 0) {
			cli_fail("out of memory");
			goto out;
		}
	}
	if (a.json) {
		if (json_dumpf(arr, stdout, JSON_INDENT(2) |
		    JSON_ENSURE_ASCII) != 0 || fputc('\n', stdout) == EOF) {
			ret = cli_fail("cannot write the output");
			goto out;
		}
	} else if (cli_table_print(&table, stdout, 0) != 0) {
		ret = cli_fail("cannot write the output");
		goto out;
	}
	fprintf(stderr, "%s: %zu rules loaded, %zu unsupported\n", CLI_PROGRAM,
	    mamori_sigma_ruleset_loaded(rs), mamori_sigma_ruleset_count(rs) -
	    mamori_sigma_ruleset_loaded(rs));
	ret = fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write the output");
out:
	json_decref(arr);
	cli_table_free(&table);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_dynamic_free(dyn);
	return ret;
}
