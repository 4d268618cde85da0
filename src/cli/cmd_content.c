/*
 * cmd_content.c - detection content on the running server: `mamori rules
 * add|remove`, `mamori intel import|list|remove`, `mamori yara
 * add|list|remove`, `mamori vuln import|report`.
 *
 * The CLI only reads the files and sends their text over the admin socket
 * (docs/admin-protocol.md); the server checks them with its engines and
 * answers what it took or one line saying why not.  What the server
 * returns (rule titles, indicator values, hostnames, package versions) was
 * written by others: it reaches the terminal only through the table's
 * escaping or cli_safe, never raw and never as a format string.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "err.h"
#include "table.h"
#include "util.h"

#define CONTENT_FILE_MAX (12 * 1024 * 1024) /* the server's text limit */
#define CONTENT_ARGS_MAX 256        /* files or ids on one command line */
#define CONTENT_DIR_FILES_MAX 100000 /* .json files of a vuln import DIR */
#define CONTENT_SAFE_MAX 512        /* bytes of a name in a message */
#define CONTENT_CELL_MAX 1024       /* bytes of a composed table cell */

/*
 * Splits argv into positional words (up to max, into pos) and options,
 * which cli_parse then checks.  Only for commands whose options are all
 * flags (besides --home DIR), so a word after an option is never its
 * value.  Returns CLI_CONTINUE or an exit code.
 */
static int
parse_many(struct cli_ctx *ctx, int argc, char **argv,
    const struct cli_option *opts, const char *what, char **pos, int max,
    int *npos)
{
	char *rest[2 * CONTENT_ARGS_MAX + 4];
	int i, nrest = 0, only_pos = 0, r;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (*npos >= max)
				return cli_usage_error(ctx, "at most %d %s at "
				    "once", max, what);
			pos[(*npos)++] = a;
			continue;
		}
		if (nrest >= (int)(sizeof(rest) / sizeof(rest[0])) - 2)
			return cli_usage_error(ctx, "too many options");
		rest[nrest++] = a;
		if (strcmp(a, "--home") == 0 && i + 1 < argc)
			rest[nrest++] = argv[++i];
	}
	if ((r = cli_parse(ctx, nrest, rest, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (*npos == 0)
		return cli_usage_error(ctx, "%s needs %s", ctx->cmd->name, what);
	return CLI_CONTINUE;
}

/* A request {"cmd": cmd, "name": path, "text": <path's bytes>}; NULL
 * after printing why. */
static json_t *
file_request(const char *cmd, const char *path)
{
	struct mamori_buf b;
	char safe[CONTENT_SAFE_MAX];
	json_t *req = NULL, *text;
	int r;

	mamori_buf_init(&b, CONTENT_FILE_MAX);
	cli_safe(path, safe, sizeof(safe));
	if ((r = mamori_buf_read_file(&b, path)) != 0) {
		if (r == MAMORI_ERR_TOO_LARGE)
			cli_fail("%s is larger than %d MiB, more than the server "
			    "takes at once; split it", safe,
			    CONTENT_FILE_MAX / (1024 * 1024));
		else
			cli_fail("cannot read %s: %s", safe,
			    mamori_strerror(r));
		goto out;
	}
	if (b.len == 0) {
		cli_fail("%s is empty", safe);
		goto out;
	}
	if (memchr(b.data, '\0', b.len) != NULL ||
	    (text = json_stringn((const char *)b.data, b.len)) == NULL) {
		cli_fail("%s is not UTF-8 text", safe);
		goto out;
	}
	if ((req = json_pack("{s:s, s:s, s:o}", "cmd", cmd, "name", path,
	    "text", text)) == NULL)
		cli_fail("%s: the file name is not UTF-8 text", safe);
out:
	mamori_buf_free(&b);
	return req;
}

/* Sends req (consumed); *res gets the result. */
static int
call(const struct cli_ctx *ctx, json_t *req, json_t **res)
{
	int r;

	*res = NULL;
	if (req == NULL)
		return CLI_EXIT_FAIL;
	r = cli_admin_call(ctx, req, res);
	json_decref(req);
	return r == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int
print_table(struct cli_table *t)
{
	if (cli_table_rows(t) > 0 && cli_table_print(t, stdout, 0) != 0)
		return cli_fail("cannot write to standard output");
	return CLI_EXIT_OK;
}

static int
flush_out(void)
{
	return fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write to standard output");
}

/* ---- rules ------------------------------------------------------------- */

int
cmd_rules_add(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "LEVEL", "TITLE", "FILE"};
	int json = 0, npos, i, r, fails = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	char *files[CONTENT_ARGS_MAX];
	struct cli_table t;
	json_t *res = NULL, *all = NULL, *e;
	size_t k;

	if ((r = parse_many(ctx, argc, argv, opts, "FILE", files,
	    CONTENT_ARGS_MAX, &npos)) != CLI_CONTINUE)
		return r;
	memset(&t, 0, sizeof(t));
	if ((all = json_array()) == NULL ||
	    cli_table_init(&t, 4, headers) != 0) {
		r = cli_fail("out of memory");
		goto out;
	}
	t.max_width = 0;
	/* Each file alone: a file that is refused changes nothing, and the
	 * others are still added. */
	for (i = 0; i < npos; i++) {
		if (call(ctx, file_request("rules.add", files[i]), &res) != 0) {
			fails++;
			continue;
		}
		json_array_foreach(json_object_get(res, "added"), k, e) {
			const char *cells[4];

			json_array_append(all, e);
			cells[0] = cli_json_str(e, "id");
			cells[1] = cli_json_str(e, "level");
			cells[2] = cli_json_str(e, "title");
			cells[3] = cli_json_str(e, "file");
			if (cli_table_add(&t, cells) != 0) {
				r = cli_fail("out of memory");
				goto out;
			}
		}
		json_decref(res);
		res = NULL;
	}
	if (fails == npos)
		r = CLI_EXIT_FAIL;      /* each refusal said why on stderr */
	else if (json)
		r = cli_print_json(all);
	else if ((r = print_table(&t)) == CLI_EXIT_OK) {
		printf("%zu Sigma rule(s) added and applied\n",
		    json_array_size(all));
		r = flush_out();
	}
	if (fails > 0)
		r = CLI_EXIT_FAIL;
out:
	json_decref(res);
	json_decref(all);
	cli_table_free(&t);
	return r;
}

int
cmd_rules_remove(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "TITLE", "FILE"};
	int json = 0, npos, i, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	char *ids[CONTENT_ARGS_MAX];
	struct cli_table t;
	json_t *req = NULL, *arr, *res = NULL, *e;
	size_t k;

	if ((r = parse_many(ctx, argc, argv, opts, "ID", ids,
	    CONTENT_ARGS_MAX, &npos)) != CLI_CONTINUE)
		return r;
	if ((req = json_pack("{s:s, s:[]}", "cmd", "rules.remove", "ids")) ==
	    NULL)
		return cli_fail("out of memory");
	arr = json_object_get(req, "ids");
	for (i = 0; i < npos; i++)
		if (json_array_append_new(arr, json_string(ids[i])) != 0) {
			json_decref(req);
			return cli_usage_error(ctx, "rule ids must be UTF-8 "
			    "text");
		}
	if (call(ctx, req, &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	memset(&t, 0, sizeof(t));
	r = CLI_EXIT_FAIL;
	if (cli_table_init(&t, 3, headers) != 0)
		goto out;
	json_array_foreach(json_object_get(res, "removed"), k, e) {
		const char *cells[3];

		cells[0] = cli_json_str(e, "id");
		cells[1] = cli_json_str(e, "title");
		cells[2] = cli_json_str(e, "file");
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	if ((r = print_table(&t)) == CLI_EXIT_OK) {
		printf("removed; %llu Sigma rules applied now\n",
		    cli_json_u64(res, "sigma_loaded"));
		r = flush_out();
	}
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}

/* ---- intel ------------------------------------------------------------- */

int
cmd_intel_import(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"UNSUPPORTED INDICATOR", "NAME",
	    "REASON"};
	int json = 0, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *file;
	char safe[CONTENT_SAFE_MAX];
	struct cli_table t;
	json_t *res = NULL, *e;
	size_t k;

	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		return r;
	if (call(ctx, file_request("intel.import", file), &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	memset(&t, 0, sizeof(t));
	r = CLI_EXIT_FAIL;
	printf("bundle %s %s as %s: %llu of %llu indicators taken\n",
	    cli_safe(cli_json_str(res, "bundle"), safe, sizeof(safe)),
	    cli_json_bool(res, "replaced") ? "replaced" : "imported",
	    cli_json_str(res, "file"), cli_json_u64(res, "taken"),
	    cli_json_u64(res, "indicators"));
	if (cli_table_init(&t, 3, headers) != 0)
		goto out;
	t.max_width = 0;        /* reasons are shown whole */
	json_array_foreach(json_object_get(res, "unsupported"), k, e) {
		const char *cells[3];

		cells[0] = cli_json_str(e, "id");
		cells[1] = cli_json_str(e, "name");
		cells[2] = cli_json_str(e, "reason");
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	if ((r = print_table(&t)) == CLI_EXIT_OK)
		r = flush_out();
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}

/* "sha256 abc...", with "(+N more)" when a pattern has several terms. */
static const char *
matches_cell(const json_t *ind, char *out, size_t outlen)
{
	const json_t *values = json_object_get(ind, "values");
	const json_t *first = json_array_get(values, 0);
	size_t n = json_array_size(values);

	if (first == NULL) {
		snprintf(out, outlen, "-");
		return out;
	}
	if (n > 1)
		snprintf(out, outlen, "%s %s (+%zu more)",
		    cli_json_str(first, "kind"), cli_json_str(first, "value"),
		    n - 1);
	else
		snprintf(out, outlen, "%s %s", cli_json_str(first, "kind"),
		    cli_json_str(first, "value"));
	return out;
}

int
cmd_intel_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "NAME", "TYPE", "MATCHES",
	    "BUNDLE", "STATUS"};
	int json = 0, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	char matches[CONTENT_CELL_MAX], status[CONTENT_CELL_MAX];
	struct cli_table t;
	json_t *res = NULL, *e;
	size_t k, applied = 0, n;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (call(ctx, json_pack("{s:s}", "cmd", "intel.list"), &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	memset(&t, 0, sizeof(t));
	r = CLI_EXIT_FAIL;
	if (cli_table_init(&t, 6, headers) != 0)
		goto out;
	n = json_array_size(json_object_get(res, "indicators"));
	json_array_foreach(json_object_get(res, "indicators"), k, e) {
		const char *cells[6];

		if (cli_json_bool(e, "applied")) {
			snprintf(status, sizeof(status), "applied");
			applied++;
		} else {
			snprintf(status, sizeof(status), "unsupported: %s",
			    cli_json_str(e, "reason"));
		}
		cells[0] = cli_json_str(e, "id");
		cells[1] = cli_json_str(e, "name");
		cells[2] = cli_json_str(e, "pattern_type");
		cells[3] = matches_cell(e, matches, sizeof(matches));
		cells[4] = cli_json_str(e, "bundle");
		cells[5] = status;
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	if ((r = print_table(&t)) != CLI_EXIT_OK)
		goto out;
	json_array_foreach(json_object_get(res, "unreadable"), k, e) {
		char f[CONTENT_SAFE_MAX], why[CONTENT_SAFE_MAX];

		printf("bundle %s not read: %s\n", cli_safe(cli_json_str(e,
		    "file"), f, sizeof(f)), cli_safe(cli_json_str(e,
		    "reason"), why, sizeof(why)));
	}
	printf("%zu indicators applied, %zu unsupported, from %llu bundles\n",
	    applied, n - applied, cli_json_u64(res, "bundles"));
	r = flush_out();
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}

int
cmd_intel_remove(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *id;
	char safe[CONTENT_SAFE_MAX];
	json_t *req, *res = NULL;

	if ((r = cli_parse(ctx, argc, argv, opts, "ID", &id)) != CLI_CONTINUE)
		return r;
	if ((req = json_pack("{s:s, s:s}", "cmd", "intel.remove", "id", id)) ==
	    NULL)
		return cli_usage_error(ctx, "ID must be UTF-8 text");
	if (call(ctx, req, &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
	} else {
		printf("removed %s %s (%llu indicators); %llu indicators "
		    "applied now\n", cli_json_str(res, "kind"),
		    cli_safe(cli_json_str(res, "id"), safe, sizeof(safe)),
		    cli_json_u64(res, "indicators_removed"),
		    cli_json_u64(res, "indicators_loaded"));
		r = flush_out();
	}
	json_decref(res);
	return r;
}

/* ---- yara -------------------------------------------------------------- */

static int
yara_rules_table(const json_t *rules)
{
	static const char *const headers[] = {"RULE", "FILE", "TAGS",
	    "DESCRIPTION"};
	char tags[CONTENT_CELL_MAX];
	struct cli_table t;
	const json_t *e, *tag;
	size_t k, m, used;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if (cli_table_init(&t, 4, headers) != 0)
		goto out;
	json_array_foreach(rules, k, e) {
		const char *cells[4];

		tags[0] = '\0';
		used = 0;
		json_array_foreach(json_object_get(e, "tags"), m, tag) {
			int len = snprintf(tags + used, sizeof(tags) - used,
			    "%s%s", used > 0 ? "," : "",
			    json_string_value(tag) != NULL ?
			    json_string_value(tag) : "");

			if (len < 0 || (size_t)len >= sizeof(tags) - used)
				break;
			used += (size_t)len;
		}
		cells[0] = cli_json_str(e, "name");
		cells[1] = cli_json_str(e, "file");
		cells[2] = tags;
		cells[3] = cli_json_str(e, "description");
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	r = print_table(&t);
out:
	cli_table_free(&t);
	return r;
}

int
cmd_yara_add(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *file;
	json_t *res = NULL;

	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		return r;
	if (call(ctx, file_request("yara.add", file), &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
	} else if ((r = yara_rules_table(json_object_get(res, "rules"))) ==
	    CLI_EXIT_OK) {
		printf("%zu YARA rules kept as %s\n",
		    json_array_size(json_object_get(res, "rules")),
		    cli_json_str(res, "file"));
		r = flush_out();
	}
	json_decref(res);
	return r;
}

int
cmd_yara_list(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	json_t *res = NULL, *e;
	size_t k;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if (call(ctx, json_pack("{s:s}", "cmd", "yara.list"), &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
		json_decref(res);
		return r;
	}
	if ((r = yara_rules_table(json_object_get(res, "rules"))) ==
	    CLI_EXIT_OK) {
		json_array_foreach(json_object_get(res, "files"), k, e) {
			char err[CONTENT_SAFE_MAX];

			if (cli_json_str(e, "error")[0] != '\0')
				printf("file %s does not compile: %s\n",
				    cli_json_str(e, "file"), cli_safe(
				    cli_json_str(e, "error"), err,
				    sizeof(err)));
		}
		printf("%zu YARA rules in %zu files\n",
		    json_array_size(json_object_get(res, "rules")),
		    json_array_size(json_object_get(res, "files")));
		r = flush_out();
	}
	json_decref(res);
	return r;
}

int
cmd_yara_remove(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *name;
	json_t *req, *res = NULL;

	if ((r = cli_parse(ctx, argc, argv, opts, "NAME", &name)) !=
	    CLI_CONTINUE)
		return r;
	if ((req = json_pack("{s:s, s:s}", "cmd", "yara.remove", "name",
	    name)) == NULL)
		return cli_usage_error(ctx, "NAME must be UTF-8 text");
	if (call(ctx, req, &res) != 0)
		return CLI_EXIT_FAIL;
	if (json) {
		r = cli_print_json(res);
	} else {
		printf("removed %s (%zu rules)\n", cli_json_str(res, "file"),
		    json_array_size(json_object_get(res, "rules")));
		r = flush_out();
	}
	json_decref(res);
	return r;
}

/* ---- vuln -------------------------------------------------------------- */

/* The .json files of dir in name order, or dir itself when a file. */
static int
vuln_paths(const char *path, json_t *out)
{
	struct dirent **ents = NULL;
	char safe[CONTENT_SAFE_MAX], full[PATH_MAX];
	struct stat sb;
	int i, n, r = 0;

	cli_safe(path, safe, sizeof(safe));
	if (stat(path, &sb) != 0)
		return cli_fail("cannot read %s: %s", safe, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return json_array_append_new(out, json_string(path)) == 0 ? 0 :
		    cli_fail("%s: the file name is not UTF-8 text", safe);
	if ((n = scandir(path, &ents, NULL, alphasort)) < 0)
		return cli_fail("cannot read %s: %s", safe, strerror(errno));
	for (i = 0; i < n && r == 0; i++) {
		const char *name = ents[i]->d_name;
		size_t len = strlen(name);

		if (name[0] == '.' || len <= 5 ||
		    strcmp(name + len - 5, ".json") != 0)
			continue;
		if (json_array_size(out) >= CONTENT_DIR_FILES_MAX)
			r = cli_fail("%s holds more than %d .json files", safe,
			    CONTENT_DIR_FILES_MAX);
		else if (mamori_path_join(full, sizeof(full), path, name) != 0 ||
		    json_array_append_new(out, json_string(full)) != 0)
			r = cli_fail("%s: a file name is too long or not UTF-8",
			    safe);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (r == 0 && json_array_size(out) == 0)
		r = cli_fail("%s holds no .json file", safe);
	return r;
}

int
cmd_vuln_import(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r, fails = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *path;
	json_t *paths = NULL, *all = NULL, *res = NULL, *p;
	unsigned long long total = 0;
	size_t k;

	if ((r = cli_parse(ctx, argc, argv, opts, "FILE|DIR", &path)) !=
	    CLI_CONTINUE)
		return r;
	if ((paths = json_array()) == NULL || (all = json_array()) == NULL) {
		r = cli_fail("out of memory");
		goto out;
	}
	if (vuln_paths(path, paths) != 0) {
		r = CLI_EXIT_FAIL;
		goto out;
	}
	/* One request a file: a refused file changes nothing and the rest
	 * are still imported; each refusal is one line on stderr. */
	json_array_foreach(paths, k, p) {
		if (call(ctx, file_request("vuln.import",
		    json_string_value(p)), &res) != 0) {
			fails++;
			continue;
		}
		total += cli_json_u64(res, "advisories");
		if (!json)
			printf("%s: %llu advisories%s\n", cli_json_str(res,
			    "file"), cli_json_u64(res, "advisories"),
			    cli_json_bool(res, "replaced") ? " (replaced)" : "");
		json_array_append_new(all, res);
		res = NULL;
	}
	if (json_array_size(all) == 0) {
		r = CLI_EXIT_FAIL;      /* each refusal said why on stderr */
	} else if (json) {
		r = cli_print_json(all);
	} else {
		printf("%llu advisories imported from %zu of %zu files\n", total,
		    json_array_size(all), json_array_size(paths));
		r = flush_out();
	}
	if (fails > 0)
		r = CLI_EXIT_FAIL;
out:
	json_decref(paths);
	json_decref(all);
	return r;
}

static int
vuln_print(const json_t *res, int one_host)
{
	static const char *const adv_headers[] = {"ADVISORY", "SOURCE", "HOST",
	    "INSTALLED", "FIXED"};
	static const char *const host_headers[] = {"HOST", "AGENT", "RELEASE",
	    "OPEN", "ADVISORIES"};
	static const char *const one_headers[] = {"ADVISORY", "SOURCE",
	    "INSTALLED", "FIXED", "SUMMARY"};
	struct cli_table a, h;
	const json_t *adv, *e, *host;
	char ids[CONTENT_CELL_MAX], open[24];
	size_t k, m, used;
	int r = CLI_EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	memset(&h, 0, sizeof(h));
	if (one_host) {
		if (cli_table_init(&a, 5, one_headers) != 0)
			goto out;
		json_array_foreach(json_object_get(res, "hosts"), k, host) {
			json_array_foreach(json_object_get(host, "advisories"),
			    m, e) {
				const char *cells[5];

				cells[0] = cli_json_str(e, "id");
				cells[1] = cli_json_str(e, "source");
				cells[2] = cli_json_str(e, "installed");
				cells[3] = cli_json_str(e, "fixed")[0] != '\0' ?
				    cli_json_str(e, "fixed") : "(no fix)";
				cells[4] = cli_json_str(e, "summary");
				if (cli_table_add(&a, cells) != 0)
					goto out;
			}
		}
		if ((r = print_table(&a)) != CLI_EXIT_OK)
			goto out;
	} else {
		if (cli_table_init(&a, 5, adv_headers) != 0 ||
		    cli_table_init(&h, 5, host_headers) != 0)
			goto out;
		json_array_foreach(json_object_get(res, "advisories"), k, adv) {
			json_array_foreach(json_object_get(adv, "hosts"), m,
			    e) {
				const char *cells[5];

				cells[0] = m == 0 ? cli_json_str(adv, "id") : "";
				cells[1] = cli_json_str(e, "source");
				cells[2] = cli_json_str(e, "hostname");
				cells[3] = cli_json_str(e, "installed");
				cells[4] = cli_json_str(e, "fixed")[0] != '\0' ?
				    cli_json_str(e, "fixed") : "(no fix)";
				if (cli_table_add(&a, cells) != 0)
					goto out;
			}
		}
		json_array_foreach(json_object_get(res, "hosts"), k, host) {
			const char *cells[5];

			ids[0] = '\0';
			used = 0;
			json_array_foreach(json_object_get(host, "advisories"),
			    m, e) {
				int len = snprintf(ids + used, sizeof(ids) -
				    used, "%s%s", used > 0 ? " " : "",
				    cli_json_str(e, "id"));

				if (len < 0 || (size_t)len >= sizeof(ids) - used)
					break;
				used += (size_t)len;
			}
			snprintf(open, sizeof(open), "%zu", json_array_size(
			    json_object_get(host, "advisories")));
			cells[0] = cli_json_str(host, "hostname");
			cells[1] = cli_json_str(host, "agent");
			cells[2] = cli_json_str(host, "release");
			cells[3] = open;
			cells[4] = ids;
			if (cli_table_add(&h, cells) != 0)
				goto out;
		}
		if ((r = print_table(&a)) != CLI_EXIT_OK)
			goto out;
		if (cli_table_rows(&a) > 0 && cli_table_rows(&h) > 0)
			printf("\n");
		if ((r = print_table(&h)) != CLI_EXIT_OK)
			goto out;
	}
	json_array_foreach(json_object_get(res, "skipped"), k, e) {
		char hn[CONTENT_SAFE_MAX];

		printf("%s (%s) not checked: %s\n", cli_safe(cli_json_str(e,
		    "hostname"), hn, sizeof(hn)), cli_json_str(e, "agent"),
		    cli_json_str(e, "reason"));
	}
	printf("%zu advisories open on %zu hosts checked, against %llu "
	    "stored advisories\n",
	    json_array_size(json_object_get(res, "advisories")),
	    json_array_size(json_object_get(res, "hosts")),
	    cli_json_u64(res, "advisories_loaded"));
	r = flush_out();
out:
	cli_table_free(&a);
	cli_table_free(&h);
	return r;
}

int
cmd_vuln_report(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0, r;
	const char *host = NULL;
	const struct cli_option opts[] = {
		{"--host", "H", &host, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	json_t *req, *res = NULL;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		return r;
	if ((req = json_pack("{s:s}", "cmd", "vuln.report")) == NULL)
		return cli_fail("out of memory");
	if (host != NULL && json_object_set_new(req, "agent",
	    json_string(host)) != 0) {
		json_decref(req);
		return cli_usage_error(ctx, "--host must be UTF-8 text");
	}
	if (call(ctx, req, &res) != 0)
		return CLI_EXIT_FAIL;
	r = json ? cli_print_json(res) : vuln_print(res, host != NULL);
	json_decref(res);
	return r;
}
