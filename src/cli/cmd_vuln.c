/*
 * cmd_vuln.c - `mamori vuln check`: which OSV advisories are open on a
 * Debian system, offline, from a dpkg status file.
 *
 *   mamori vuln check --advisories FILE|DIR [--packages STATUS_FILE]
 *       [--release N] [--json] [--verbose]
 *
 * The packages default to this host's /var/lib/dpkg/status and the release
 * to the major VERSION_ID of /etc/os-release.  The parsing and matching
 * are the library's (src/detect/vuln); this file only reads the inputs
 * and prints.  Advisory and package text is untrusted: it reaches the
 * terminal only through the table's escaping or cli_safe, and JSON output
 * is written by jansson with non-ASCII escaped.  This command must never
 * talk to the server or write a file.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "collect.h"
#include "err.h"
#include "osv.h"
#include "parse.h"
#include "table.h"
#include "vuln_match.h"

#define VULN_STATUS_PATH "/var/lib/dpkg/status"
#define VULN_OS_RELEASE_PATH "/etc/os-release"
#define VULN_STATUS_MAX (64 * 1024 * 1024)   /* bytes of a status file */
#define VULN_OS_RELEASE_MAX (64 * 1024)      /* bytes of os-release */
#define VULN_CELL_MAX 4096                   /* bytes of a joined cell */
#define VULN_NO_FIX "no fix"

struct vuln_reports {
	int verbose;
	size_t shown_skips;
};

static void
on_report(void *arg, int kind, const char *file, const char *message)
{
	struct vuln_reports *rep = arg;
	char sfile[CLI_MSG_MAX / 2], smsg[CLI_MSG_MAX / 2];

	if (kind == MAMORI_OSV_SKIPPED && !rep->verbose)
		return;
	cli_safe(file, sfile, sizeof(sfile));
	cli_safe(message, smsg, sizeof(smsg));
	if (kind == MAMORI_OSV_SKIPPED)
		fprintf(stderr, "%s: %s: %s\n", CLI_PROGRAM, sfile, smsg);
	else
		cli_fail("%s: %s", sfile, smsg);
}

/* The release from os-release at path into out; prints the problem. */
static int
host_release(const char *path, char out[MAMORI_VULN_RELEASE_MAX])
{
	Mamori__OsInfo os = MAMORI__OS_INFO__INIT;
	struct mamori_buf b;
	char id[64], ver[64];
	int r = CLI_EXIT_FAIL;

	mamori_buf_init(&b, VULN_OS_RELEASE_MAX);
	if (mamori_buf_read_file(&b, path) != 0) {
		cli_fail("cannot read %s; give the Debian release with "
		    "--release N", path);
		goto out;
	}
	if (mamori_parse_os_release((const char *)b.data, b.len, &os) != 0) {
		cli_fail("out of memory");
		goto out;
	}
	if (mamori_vuln_release(os.id, os.version_id, out) != 0) {
		cli_fail("%s names no numbered Debian release (ID=%s, "
		    "VERSION_ID=%s); give it with --release N", path,
		    cli_safe(os.id != NULL ? os.id : "", id, sizeof(id)),
		    cli_safe(os.version_id != NULL ? os.version_id : "", ver,
		    sizeof(ver)));
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	free(os.id);
	free(os.version_id);
	free(os.name);
	free(os.version);
	free(os.pretty_name);
	mamori_buf_free(&b);
	return r;
}

/* Joins n strings with "," into out (cut to fit). */
static const char *
join(const char *const *v, size_t n, char *out, size_t outlen)
{
	size_t i, used = 0;
	int len;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		len = snprintf(out + used, outlen - used, "%s%s",
		    i > 0 ? "," : "", v[i]);
		if (len < 0 || (size_t)len >= outlen - used)
			break;
		used += (size_t)len;
	}
	return out;
}

static json_t *
strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* One finding as a line of JSON. */
static int
print_json(const struct mamori_vuln_finding *f, const char *release)
{
	const struct mamori_osv_advisory *a = f->advisory;
	json_t *o;
	char *line = NULL;
	int r = -1;

	o = json_pack("{s:s, s:o*, s:s?, s:s, s:s, s:o*, s:s, s:s?, s:s}",
	    "advisory", a->id,
	    "aliases", strv_json((const char *const *)a->aliases,
	    a->n_aliases),
	    "summary", a->summary,
	    "release", release,
	    "source", f->source,
	    "binaries", strv_json(f->binaries, f->n_binaries),
	    "installed", f->installed,
	    "fixed", f->fixed,
	    "file", a->file);
	if (o == NULL)
		goto out;
	/* Text that is not UTF-8 makes json_pack fail above; the caller says
	 * so rather than print half a finding.  A NULL fixed is JSON null. */
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	printf("%s\n", line);
	r = 0;
out:
	free(line);
	json_decref(o);
	return r;
}

static int
print_table(const struct mamori_vuln_result *res, FILE *out)
{
	static const char *const headers[] = {"ADVISORY", "ALIASES", "SOURCE",
	    "BINARIES", "INSTALLED", "FIXED"};
	char aliases[VULN_CELL_MAX], bins[VULN_CELL_MAX];
	struct cli_table t;
	size_t i;
	int r = -1;

	memset(&t, 0, sizeof(t));
	if (cli_table_init(&t, 6, headers) != 0)
		goto out;
	for (i = 0; i < res->n; i++) {
		const struct mamori_vuln_finding *f = &res->findings[i];
		const char *cells[6];

		cells[0] = f->advisory->id;
		cells[1] = join((const char *const *)f->advisory->aliases,
		    f->advisory->n_aliases, aliases, sizeof(aliases));
		cells[2] = f->source;
		cells[3] = join(f->binaries, f->n_binaries, bins, sizeof(bins));
		cells[4] = f->installed;
		cells[5] = f->fixed != NULL ? f->fixed : VULN_NO_FIX;
		if (cli_table_add(&t, cells) != 0)
			goto out;
	}
	r = cli_table_print(&t, out, 0);
out:
	cli_table_free(&t);
	return r;
}

static size_t
count_sources(const struct mamori_vuln_result *res)
{
	size_t i, j, n = 0;

	for (i = 0; i < res->n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(res->findings[j].source,
			    res->findings[i].source) == 0)
				break;
		n += j == i;
	}
	return n;
}

int
cmd_vuln_check(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *advisories = NULL, *packages = NULL, *release_arg = NULL;
	int json = 0, verbose = 0;
	const struct cli_option opts[] = {
		{"--advisories", "FILE|DIR", &advisories, NULL},
		{"--packages", "STATUS_FILE", &packages, NULL},
		{"--release", "N", &release_arg, NULL},
		{"--json", NULL, NULL, &json},
		{"--verbose", NULL, NULL, &verbose},
		{NULL, NULL, NULL, NULL},
	};
	struct vuln_reports rep = {0, 0};
	struct mamori_osv_set set;
	struct mamori_vuln_index *ix = NULL;
	struct mamori_vuln_result res;
	struct mamori_vuln_package *pkgs = NULL;
	Mamori__Inventory *inv = NULL;
	struct mamori_buf b;
	char release[MAMORI_VULN_RELEASE_MAX], safe[CLI_MSG_MAX / 2];
	size_t n_pkgs = 0, i;
	int r = CLI_EXIT_FAIL, e;

	mamori_osv_set_init(&set);
	memset(&res, 0, sizeof(res));
	mamori_buf_init(&b, VULN_STATUS_MAX);
	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	rep.verbose = verbose;
	if (advisories == NULL || advisories[0] == '\0') {
		r = cli_usage_error(ctx, "--advisories FILE|DIR is required");
		goto out;
	}
	if (release_arg != NULL) {
		size_t n = strlen(release_arg);

		if (n == 0 || n >= MAMORI_VULN_RELEASE_MAX ||
		    strspn(release_arg, "0123456789") != n) {
			r = cli_usage_error(ctx, "--release takes a Debian "
			    "major release number such as 12, not %s",
			    cli_safe(release_arg, safe, sizeof(safe)));
			goto out;
		}
		memcpy(release, release_arg, n + 1);
	} else if (host_release(VULN_OS_RELEASE_PATH, release) != 0)
		goto out;

	if (packages == NULL)
		packages = VULN_STATUS_PATH;
	if ((e = mamori_buf_read_file(&b, packages)) != 0) {
		cli_fail("cannot read the dpkg status file %s: %s",
		    cli_safe(packages, safe, sizeof(safe)),
		    mamori_strerror(e));
		goto out;
	}
	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL ||
	    mamori_parse_dpkg_status((const char *)b.data, b.len, inv) != 0 ||
	    mamori_vuln_packages_from_inventory(inv, &pkgs, &n_pkgs) != 0) {
		cli_fail("cannot read the packages of %s: out of memory or "
		    "too many packages", cli_safe(packages, safe,
		    sizeof(safe)));
		goto out;
	}
	if (n_pkgs == 0) {
		cli_fail("%s lists no installed package; is it a dpkg status "
		    "file?", cli_safe(packages, safe, sizeof(safe)));
		goto out;
	}

	if ((e = mamori_osv_load(advisories, &set, on_report, &rep)) != 0) {
		cli_fail("cannot read advisories from %s: %s",
		    cli_safe(advisories, safe, sizeof(safe)),
		    mamori_strerror(e));
		goto out;
	}
	if (set.n_files == 0) {
		cli_fail("%s holds no .json file",
		    cli_safe(advisories, safe, sizeof(safe)));
		goto out;
	}
	if (mamori_vuln_index_build(&set, &ix) != 0 ||
	    mamori_vuln_match(ix, release, pkgs, n_pkgs, &res) != 0) {
		cli_fail("out of memory");
		goto out;
	}

	if (json) {
		for (i = 0; i < res.n; i++)
			if (print_json(&res.findings[i], release) != 0) {
				cli_fail("cannot write %s as JSON: text that "
				    "is not UTF-8, or out of memory",
				    cli_safe(res.findings[i].advisory->id,
				    safe, sizeof(safe)));
				goto out;
			}
	} else if (res.n == 0) {
		printf("no open advisory for %zu installed packages "
		    "(Debian %s, %zu advisories)\n", n_pkgs, release, set.n);
	} else {
		if (print_table(&res, stdout) != 0) {
			cli_fail("cannot write to standard output");
			goto out;
		}
		size_t n_src = count_sources(&res);

		printf("\n%zu open advisor%s on %zu source package%s "
		    "(Debian %s, %zu installed packages, %zu advisories)\n",
		    res.n, res.n == 1 ? "y" : "ies", n_src,
		    n_src == 1 ? "" : "s", release, n_pkgs, set.n);
	}
	if (fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	if (!verbose && (set.n_skipped_affected > 0 ||
	    set.n_skipped_ranges > 0 || set.n_withdrawn > 0))
		fprintf(stderr, "%s: skipped %zu affected entries of other "
		    "ecosystems, %zu non-ECOSYSTEM ranges, %zu withdrawn "
		    "advisories (--verbose lists them)\n", CLI_PROGRAM,
		    set.n_skipped_affected, set.n_skipped_ranges,
		    set.n_withdrawn);
	if (set.n_rejected > 0) {
		cli_fail("%zu advisories or files were rejected (above); "
		    "the findings leave them out", set.n_rejected);
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	mamori_vuln_result_free(&res);
	mamori_vuln_index_free(ix);
	mamori_osv_set_free(&set);
	free(pkgs);
	mamori_inventory_free(inv);
	mamori_buf_free(&b);
	return r;
}
