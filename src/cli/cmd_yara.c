/*
 * cmd_yara.c - `mamori yara check` and `mamori yara scan`: an analyst's
 * tools for YARA rule files, on this machine, without a server.
 *
 *   check FILE...                 compile each file, list its rules, or
 *                                 print each error as FILE:LINE
 *   scan --rules FILE PATH...     scan files and directories (recursive,
 *                                 regular files only) with the rules
 *
 * scan goes through the same code as the agent (src/detect/yara): the
 * same limits, the same refusal of links, FIFOs and devices.  Directories
 * are walked with each level held open (openat), never following a
 * symbolic link, to a bounded depth.  Rule names, meta and paths are
 * escaped before they reach a terminal; none is ever a format string.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "err.h"
#include "table.h"
#include "util.h"
#include "yara_rules.h"

#define YARA_CLI_MAX_FILES 256         /* rule files on one command line */
#define YARA_CLI_MAX_PATHS 4096        /* paths on one command line */
#define YARA_WALK_DEPTH_MAX 64         /* directory levels below a path */
#define YARA_WALK_ENTRIES_MAX 1000000  /* entries of one directory */
#define YARA_PATH_MAX 4096
#define YARA_MAX_SIZE_MIB_MAX (MAMORI_YARA_FILE_MAX_LIMIT / (1024 * 1024))

/* Reads one rule file; prints why not and returns non-zero on failure. */
static int
read_rule_file(const char *path, struct mamori_buf *b)
{
	char safe[CLI_MSG_MAX / 2];
	struct stat st;
	int r;

	mamori_buf_init(b, MAMORI_YARA_SOURCE_MAX);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		cli_fail("%s: not a regular file; give a YARA rule file",
		    cli_safe(path, safe, sizeof(safe)));
		return -1;
	}
	if ((r = mamori_buf_read_file(b, path)) != 0) {
		if (r == MAMORI_ERR_TOO_LARGE)
			cli_fail("%s: larger than %u bytes; split the rules",
			    cli_safe(path, safe, sizeof(safe)),
			    MAMORI_YARA_SOURCE_MAX);
		else
			cli_fail("cannot read %s: %s", cli_safe(path, safe,
			    sizeof(safe)), mamori_strerror(r));
		return -1;
	}
	return 0;
}

static void
print_messages(const struct mamori_yara_messages *m, int warnings)
{
	char safe[CLI_MSG_MAX / 2], safe2[CLI_MSG_MAX / 2];
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct mamori_yara_message *it = &m->items[i];

		if (it->is_warning != warnings)
			continue;
		if (it->line > 0)
			fprintf(stderr, "%s:%d: %s: %s\n", cli_safe(it->source,
			    safe, sizeof(safe)), it->line, it->is_warning ?
			    "warning" : "error", cli_safe(it->text, safe2,
			    sizeof(safe2)));
		else
			fprintf(stderr, "%s: %s: %s\n", cli_safe(it->source,
			    safe, sizeof(safe)), it->is_warning ? "warning" :
			    "error", cli_safe(it->text, safe2, sizeof(safe2)));
	}
	if (!warnings && m->dropped > 0)
		fprintf(stderr, "(%zu more messages not shown)\n", m->dropped);
}

static json_t *
messages_json(const struct mamori_yara_messages *m, int warnings)
{
	json_t *arr = json_array(), *o;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < m->n; i++) {
		if (m->items[i].is_warning != warnings)
			continue;
		o = json_pack("{s:s, s:i, s:s}", "file", m->items[i].source,
		    "line", m->items[i].line, "message", m->items[i].text);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
rule_info_json(const struct mamori_yara_rule_info *info)
{
	json_t *o, *tags, *meta;
	size_t i;

	tags = json_array();
	meta = json_object();
	if (tags == NULL || meta == NULL)
		goto fail;
	for (i = 0; i < info->ntags; i++)
		if (json_array_append_new(tags, json_string(info->tags[i])) != 0)
			goto fail;
	for (i = 0; i < info->nmeta; i++) {
		/* Meta strings may hold any byte; non-UTF-8 becomes null. */
		json_t *v = json_string(info->meta[i].value);

		if (json_object_set_new(meta, info->meta[i].key,
		    v != NULL ? v : json_null()) != 0)
			goto fail;
	}
	o = json_pack("{s:s, s:s, s:o, s:o}", "rule", info->name,
	    "namespace", info->ns, "tags", tags, "meta", meta);
	return o;
fail:
	json_decref(tags);
	json_decref(meta);
	return NULL;
}

/* The tags of a rule joined with spaces, into b (NUL-terminated). */
static const char *
tags_text(const struct mamori_yara_rule_info *info, struct mamori_buf *b)
{
	size_t i;

	mamori_buf_reset(b);
	for (i = 0; i < info->ntags; i++) {
		if (i > 0)
			(void)mamori_buf_append(b, " ", 1);
		(void)mamori_buf_append(b, info->tags[i],
		    strlen(info->tags[i]));
	}
	if (mamori_buf_append(b, "", 1) != 0 || b->data == NULL)
		return "";
	return (const char *)b->data;
}

/* Splits argv into options and positional arguments.  Options: --json,
 * and for scan --rules FILE (repeatable), --max-size MIB, --timeout S,
 * --all-matches.  Returns CLI_CONTINUE or an exit code. */
struct yara_args {
	int json;
	int all_matches;
	const char *max_size;
	const char *timeout;
	const char *rules[YARA_CLI_MAX_FILES];
	size_t nrules;
	char **pos;
	size_t npos;
};

static int
parse_args(struct cli_ctx *ctx, int argc, char **argv, int is_scan,
    struct yara_args *a)
{
	char safe[CLI_MSG_MAX / 4];
	const char *arg, *value;
	int i, only_pos = 0;

	memset(a, 0, sizeof(*a));
	if ((a->pos = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return cli_fail("out of memory");
	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (a->npos >= YARA_CLI_MAX_PATHS)
				return cli_usage_error(ctx, "more than %d paths",
				    YARA_CLI_MAX_PATHS);
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			cli_command_help(ctx->cmd, stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(arg, "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (is_scan && strcmp(arg, "--all-matches") == 0) {
			a->all_matches = 1;
			continue;
		}
		value = NULL;
		if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') != NULL) {
			value = strchr(arg, '=') + 1;
		} else if (i + 1 < argc) {
			value = argv[i + 1];
		}
#define OPT_IS(name) (strncmp(arg, name, strlen(name)) == 0 && \
	(arg[strlen(name)] == '\0' || arg[strlen(name)] == '='))
		if (OPT_IS("--home") || (is_scan && (OPT_IS("--rules") ||
		    OPT_IS("--max-size") || OPT_IS("--timeout")))) {
			if (value == NULL || *value == '\0')
				return cli_usage_error(ctx, "option %s needs a "
				    "value", cli_safe(arg, safe, sizeof(safe)));
			if (strchr(arg, '=') == NULL)
				i++;
			if (OPT_IS("--rules")) {
				if (a->nrules >= YARA_CLI_MAX_FILES)
					return cli_usage_error(ctx, "more than "
					    "%d rule files", YARA_CLI_MAX_FILES);
				a->rules[a->nrules++] = value;
			} else if (OPT_IS("--max-size")) {
				a->max_size = value;
			} else if (OPT_IS("--timeout")) {
				a->timeout = value;
			} else {
				ctx->home = value; /* not used by yara */
				ctx->home_given = 1;
			}
			continue;
		}
#undef OPT_IS
		return cli_usage_error(ctx, "unknown option %s for %s",
		    cli_safe(arg, safe, sizeof(safe)), ctx->cmd->name);
	}
	return CLI_CONTINUE;
}

/* Prints the compile errors of one file (or all) and whether it failed. */
static int
compile_files(const char *const *paths, size_t n, mamori_yara_rules_t **out,
    struct mamori_yara_messages *msgs, struct mamori_buf *bufs)
{
	struct mamori_yara_source src[YARA_CLI_MAX_FILES];
	size_t i;

	for (i = 0; i < n; i++) {
		src[i].name = paths[i];
		src[i].text = (const char *)bufs[i].data;
		src[i].len = bufs[i].len;
	}
	return mamori_yara_compile(src, n, out, msgs);
}

int
cmd_yara_check(struct cli_ctx *ctx, int argc, char **argv)
{
	struct yara_args a;
	struct mamori_buf *bufs = NULL, tagbuf;
	struct mamori_yara_messages msgs;
	struct mamori_yara_rule_info *infos = NULL;
	struct cli_table t;
	mamori_yara_rules_t *rules = NULL;
	static const char *const headers[] = {"FILE", "RULE", "TAGS",
	    "DESCRIPTION"};
	json_t *jfiles = NULL, *jf, *jrules, *root = NULL;
	size_t i, j, ninfos = 0, failed = 0, total = 0;
	int r, inited = 0, together_failed = 0;

	memset(&msgs, 0, sizeof(msgs));
	memset(&t, 0, sizeof(t));
	mamori_buf_init(&tagbuf, CLI_ESCAPE_MAX_BYTES);
	if ((r = parse_args(ctx, argc, argv, 0, &a)) != CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (a.npos == 0) {
		r = cli_usage_error(ctx, "yara check needs at least one rule "
		    "FILE");
		goto out;
	}
	if (a.npos > YARA_CLI_MAX_FILES) {
		r = cli_usage_error(ctx, "more than %d rule files",
		    YARA_CLI_MAX_FILES);
		goto out;
	}
	if ((bufs = calloc(a.npos, sizeof(*bufs))) == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	for (i = 0; i < a.npos; i++)
		if (read_rule_file(a.pos[i], &bufs[i]) != 0)
			goto out;
	if (mamori_yara_init() != 0) {
		cli_fail("libyara could not start");
		goto out;
	}
	inited = 1;
	if ((jfiles = json_array()) == NULL ||
	    cli_table_init(&t, 4, headers) != 0)
		goto nomem;
	/* Each file alone, so every file's errors are reported. */
	for (i = 0; i < a.npos; i++) {
		const char *path = a.pos[i];
		int cr;

		cr = compile_files((const char *const *)&a.pos[i], 1, &rules,
		    &msgs, &bufs[i]);
		if (cr == MAMORI_ERR_ALLOC)
			goto nomem;
		if (cr != 0)
			failed++;
		if (!a.json)
			print_messages(&msgs, cr != 0 ? 0 : 1);
		if ((jrules = json_array()) == NULL)
			goto nomem;
		if (cr == 0) {
			if (mamori_yara_rules_list(rules, &infos, &ninfos) != 0) {
				json_decref(jrules);
				goto nomem;
			}
			total += ninfos;
			for (j = 0; j < ninfos; j++) {
				const char *desc = mamori_yara_rule_meta(
				    &infos[j], "description");
				const char *row[4];

				row[0] = path;
				row[1] = infos[j].name;
				row[2] = tags_text(&infos[j], &tagbuf);
				row[3] = desc != NULL ? desc : "";
				if (cli_table_add(&t, row) != 0 ||
				    json_array_append_new(jrules,
				    rule_info_json(&infos[j])) != 0) {
					json_decref(jrules);
					goto nomem;
				}
			}
			mamori_yara_rule_infos_free(infos, ninfos);
			infos = NULL;
			ninfos = 0;
		}
		jf = json_pack("{s:s, s:b, s:o, s:o, s:o}", "file", path,
		    "ok", cr == 0, "rules", jrules,
		    "errors", messages_json(&msgs, 0),
		    "warnings", messages_json(&msgs, 1));
		if (jf == NULL || json_array_append_new(jfiles, jf) != 0)
			goto nomem;
		mamori_yara_rules_free(rules);
		rules = NULL;
		mamori_yara_messages_free(&msgs);
	}
	/* Then all together, as a policy would carry them: two files must
	 * not define the same rule. */
	if (failed == 0 && a.npos > 1) {
		int cr = compile_files((const char *const *)a.pos, a.npos,
		    &rules, &msgs, bufs);

		if (cr == MAMORI_ERR_ALLOC)
			goto nomem;
		if (cr != 0) {
			together_failed = 1;
			if (!a.json)
				print_messages(&msgs, 0);
			else if ((jf = json_pack("{s:s, s:b, s:o}", "file",
			    "(all files together)", "ok", 0, "errors",
			    messages_json(&msgs, 0))) == NULL ||
			    json_array_append_new(jfiles, jf) != 0)
				goto nomem;
		}
	}
	if (a.json) {
		if ((root = json_pack("{s:b, s:I, s:O}", "ok", failed == 0 &&
		    !together_failed,
		    "rules", (json_int_t)total, "files", jfiles)) == NULL)
			goto nomem;
		r = cli_print_json(root);
		if (r == CLI_EXIT_OK && (failed > 0 || together_failed))
			r = CLI_EXIT_FAIL;
		goto out;
	}
	if (failed > 0) {
		r = cli_fail("%zu of %zu rule files do not compile (errors "
		    "above); fix them and check again", failed, a.npos);
		goto out;
	}
	if (together_failed) {
		r = cli_fail("each file compiles alone, but not together "
		    "(errors above): rename the rules defined twice");
		goto out;
	}
	if (cli_table_print(&t, stdout, 0) != 0)
		goto out;
	printf("\n%zu rules in %zu files compile.\n", total, a.npos);
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	mamori_yara_rule_infos_free(infos, ninfos);
	mamori_yara_rules_free(rules);
	mamori_yara_messages_free(&msgs);
	if (inited)
		mamori_yara_finish();
	for (i = 0; bufs != NULL && i < a.npos; i++)
		mamori_buf_free(&bufs[i]);
	free(bufs);
	free(a.pos);
	mamori_buf_free(&tagbuf);
	cli_table_free(&t);
	json_decref(jfiles);
	json_decref(root);
	return r;
}

/* One scan run over many paths. */
struct scan_run {
	const mamori_yara_rules_t *rules;
	struct mamori_yara_scan_options opts;
	int json;
	struct cli_table table;
	struct mamori_buf tagbuf;
	json_t *jmatches;
	json_t *jskipped;
	size_t files;
	size_t matched_files;
	size_t matches;
	size_t skipped;
	size_t failed;     /* files that could not be read */
	uint64_t bytes;
};

static int
note_skip(struct scan_run *run, const char *path, const char *why,
    int is_failure)
{
	char safe[CLI_MSG_MAX / 2];
	json_t *o;

	run->skipped++;
	if (is_failure)
		run->failed++;
	if (run->json) {
		o = json_pack("{s:s, s:s}", "path", path, "reason", why);
		if (o == NULL)  /* a path that is not UTF-8 */
			o = json_pack("{s:n, s:s}", "path", "reason", why);
		if (o == NULL || json_array_append_new(run->jskipped, o) != 0)
			return MAMORI_ERR_ALLOC;
		return 0;
	}
	fprintf(stderr, "%s: %s: %s\n", CLI_PROGRAM, cli_safe(path, safe,
	    sizeof(safe)), why);
	return 0;
}

static int
record_result(struct scan_run *run, const char *path,
    const struct mamori_yara_result *res)
{
	json_t *o, *strs, *s;
	size_t i, k;

	run->files++;
	run->bytes += res->scanned;
	if (res->n > 0)
		run->matched_files++;
	run->matches += res->n;
	for (i = 0; i < res->n; i++) {
		const struct mamori_yara_match *m = &res->matches[i];

		if (!run->json) {
			const char *row[3] = {path, m->rule.name,
			    tags_text(&m->rule, &run->tagbuf)};

			if (cli_table_add(&run->table, row) != 0)
				return MAMORI_ERR_ALLOC;
			continue;
		}
		if ((o = rule_info_json(&m->rule)) == NULL)
			return MAMORI_ERR_ALLOC;
		if (json_object_set_new(o, "path", json_string(path)) != 0)
			(void)json_object_set_new(o, "path", json_null());
		if ((strs = json_array()) == NULL ||
		    json_object_set_new(o, "strings", strs) != 0) {
			json_decref(o);
			return MAMORI_ERR_ALLOC;
		}
		for (k = 0; k < m->nstrings; k++) {
			s = json_pack("{s:s, s:I, s:I}", "id",
			    m->strings[k].identifier, "offset",
			    (json_int_t)m->strings[k].offset, "length",
			    (json_int_t)m->strings[k].length);
			if (s == NULL || json_array_append_new(strs, s) != 0) {
				json_decref(o);
				return MAMORI_ERR_ALLOC;
			}
		}
		if (json_object_set_new(o, "strings_dropped",
		    json_integer((json_int_t)m->strings_dropped)) != 0 ||
		    json_array_append_new(run->jmatches, o) != 0)
			return MAMORI_ERR_ALLOC;
	}
	return 0;
}

/* Scans name in the directory dirfd; path is its name for people. */
static int
scan_one(struct scan_run *run, int dirfd, const char *name,
    const char *path)
{
	struct mamori_yara_result res;
	char why[128];
	int r;

	r = mamori_yara_scan_at(run->rules, dirfd, name, &run->opts, &res);
	switch (r) {
	case 0:
		r = record_result(run, path, &res);
		break;
	case MAMORI_ERR_TOO_LARGE:
		snprintf(why, sizeof(why), "larger than %llu MiB; skipped "
		    "(see --max-size)", (unsigned long long)(run->opts.file_max /
		    (1024 * 1024)));
		r = note_skip(run, path, why, 0);
		break;
	case MAMORI_ERR_NOT_REGULAR:
		r = note_skip(run, path, "not a regular file; skipped", 0);
		break;
	case MAMORI_ERR_TIMEOUT:
		snprintf(why, sizeof(why), "scan ran past %d s; skipped (see "
		    "--timeout)", run->opts.timeout);
		r = note_skip(run, path, why, 1);
		break;
	case MAMORI_ERR_ALLOC:
		break;
	default:
		snprintf(why, sizeof(why), "cannot scan: %s", mamori_strerror(r));
		r = note_skip(run, path, why, 1);
		break;
	}
	mamori_yara_result_free(&res);
	return r;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scans the directory open as fd (owned: closed here), path its name. */
static int
walk_dir(struct scan_run *run, int fd, const char *path, int depth)
{
	char **names = NULL, child[YARA_PATH_MAX];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0, sub;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return note_skip(run, path, "cannot list directory", 1);
	}
	/* Sorted, so output is the same from run to run. */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n >= YARA_WALK_ENTRIES_MAX)
			break;
		if (n == cap) {
			size_t ncap = cap == 0 ? 64 : cap * 2;
			char **nn = realloc(names, ncap * sizeof(*nn));

			if (nn == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		if ((names[n] = mamori_memdup_str(de->d_name,
		    strlen(de->d_name))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), compare_names);
	for (i = 0; i < n && r == 0; i++) {
		if (mamori_path_join(child, sizeof(child), path, names[i]) != 0) {
			r = note_skip(run, names[i], "path too long; skipped", 0);
			continue;
		}
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		if (S_ISREG(st.st_mode)) {
			r = scan_one(run, dirfd(d), names[i], child);
		} else if (S_ISDIR(st.st_mode)) {
			if (depth >= YARA_WALK_DEPTH_MAX) {
				r = note_skip(run, child, "too deep; skipped", 0);
				continue;
			}
			sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = note_skip(run, child, "cannot open "
				    "directory", 1);
				continue;
			}
			r = walk_dir(run, sub, child, depth + 1);
		} else {
			run->skipped++; /* links, devices, FIFOs, sockets */
		}
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int
scan_path(struct scan_run *run, const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0)
		return note_skip(run, path, errno == ENOENT ? "no such file or "
		    "directory" : "cannot stat", 1);
	if (S_ISDIR(st.st_mode)) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0)
			return note_skip(run, path, "cannot open directory", 1);
		return walk_dir(run, fd, path, 0);
	}
	return scan_one(run, AT_FDCWD, path, path);
}

int
cmd_yara_scan(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"PATH", "RULE", "TAGS"};
	struct yara_args a;
	struct mamori_buf *bufs = NULL;
	struct mamori_yara_messages msgs;
	struct scan_run run;
	mamori_yara_rules_t *rules = NULL;
	json_t *root = NULL;
	uint64_t v;
	char sz[32];
	size_t i;
	int r, cr, inited = 0;

	memset(&msgs, 0, sizeof(msgs));
	memset(&run, 0, sizeof(run));
	mamori_buf_init(&run.tagbuf, CLI_ESCAPE_MAX_BYTES);
	if ((r = parse_args(ctx, argc, argv, 1, &a)) != CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (a.nrules == 0) {
		r = cli_usage_error(ctx, "yara scan needs --rules FILE");
		goto out;
	}
	if (a.npos == 0) {
		r = cli_usage_error(ctx, "yara scan needs a PATH to scan");
		goto out;
	}
	run.opts.file_max = MAMORI_YARA_FILE_MAX_DEFAULT;
	if (a.max_size != NULL) {
		if (mamori_parse_u64(a.max_size, 1, YARA_MAX_SIZE_MIB_MAX, &v)
		    != 0) {
			r = cli_usage_error(ctx, "--max-size must be a number of "
			    "MiB from 1 to %u", YARA_MAX_SIZE_MIB_MAX);
			goto out;
		}
		run.opts.file_max = v * 1024 * 1024;
	}
	run.opts.timeout = MAMORI_YARA_TIMEOUT_DEFAULT;
	if (a.timeout != NULL) {
		if (mamori_parse_u64(a.timeout, 1, MAMORI_YARA_TIMEOUT_MAX, &v)
		    != 0) {
			r = cli_usage_error(ctx, "--timeout must be a number of "
			    "seconds from 1 to %d", MAMORI_YARA_TIMEOUT_MAX);
			goto out;
		}
		run.opts.timeout = (int)v;
	}
	run.opts.all_matches = a.all_matches;
	run.json = a.json;
	if ((bufs = calloc(a.nrules, sizeof(*bufs))) == NULL)
		goto nomem;
	for (i = 0; i < a.nrules; i++)
		if (read_rule_file(a.rules[i], &bufs[i]) != 0)
			goto out;
	if (mamori_yara_init() != 0) {
		cli_fail("libyara could not start");
		goto out;
	}
	inited = 1;
	if ((cr = compile_files(a.rules, a.nrules, &rules, &msgs, bufs))
	    != 0) {
		if (cr == MAMORI_ERR_ALLOC)
			goto nomem;
		print_messages(&msgs, 0);
		r = cli_fail("the rules do not compile (errors above); check "
		    "them with mamori yara check");
		goto out;
	}
	run.rules = rules;
	if (cli_table_init(&run.table, 3, headers) != 0 ||
	    (run.jmatches = json_array()) == NULL ||
	    (run.jskipped = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < a.npos; i++)
		if (scan_path(&run, a.pos[i]) != 0)
			goto nomem;
	if (a.json) {
		root = json_pack("{s:I, s:I, s:I, s:I, s:O, s:O}",
		    "rules", (json_int_t)mamori_yara_rules_count(rules),
		    "files_scanned", (json_int_t)run.files,
		    "bytes_scanned", (json_int_t)run.bytes,
		    "skipped", (json_int_t)run.skipped,
		    "matches", run.jmatches, "skipped_files", run.jskipped);
		if (root == NULL)
			goto nomem;
		r = cli_print_json(root);
	} else {
		if (cli_table_rows(&run.table) > 0 &&
		    cli_table_print(&run.table, stdout, 0) != 0)
			goto out;
		printf("%s%zu files scanned (%s) with %zu rules: %zu matches in "
		    "%zu files, %zu skipped\n",
		    cli_table_rows(&run.table) > 0 ? "\n" : "", run.files,
		    mamori_size_str(run.bytes, sz),
		    mamori_yara_rules_count(rules), run.matches,
		    run.matched_files, run.skipped);
		r = CLI_EXIT_OK;
	}
	if (r == CLI_EXIT_OK && run.failed > 0)
		r = cli_fail("%zu files could not be scanned (see above)",
		    run.failed);
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	mamori_yara_rules_free(rules);
	mamori_yara_messages_free(&msgs);
	if (inited)
		mamori_yara_finish();
	for (i = 0; bufs != NULL && i < a.nrules; i++)
		mamori_buf_free(&bufs[i]);
	free(bufs);
	free(a.pos);
	cli_table_free(&run.table);
	mamori_buf_free(&run.tagbuf);
	json_decref(run.jmatches);
	json_decref(run.jskipped);
	json_decref(root);
	return r;
}
