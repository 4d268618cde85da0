/*
 * cmd_intel.c - `mamori intel check` and `mamori intel show`: STIX 2.1
 * bundles read offline, on this machine, without a server.  show lists
 * each indicator with what mamori will match or why it cannot; check runs
 * the matcher over observables given on the command line.
 *
 * Bundle text (ids, names, patterns, values) came from outside the fleet:
 * it reaches the terminal only through the table's escaping or cli_safe,
 * and JSON output through jansson, never raw and never as a format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <jansson.h>

#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "intel.h"
#include "stix_bundle.h"
#include "table.h"
#include "util.h"

#define INTEL_BUNDLES_MAX 256     /* bundle files on one command line */
#define INTEL_MATCHES_MAX 10000   /* matches printed for one check */
#define INTEL_VALUES_MAX 4096     /* bytes of a VALUES cell */
#define INTEL_ERR_MAX 512
#define INTEL_CELL_WIDTH 120      /* reasons and value lists are long */

struct intel_args {
	const char *files[INTEL_BUNDLES_MAX];
	size_t nfiles;
	const char *sha256, *sha1, *md5, *ip, *domain, *url;
	int json;
};

/* Option name -> where its value goes (NULL: a flag). */
struct intel_opt {
	const char *name;
	const char **value;
};

static int
add_file(struct cli_ctx *ctx, struct intel_args *a, const char *f)
{
	char safe[256];

	if (*f == '\0')
		return cli_usage_error(ctx, "empty bundle file name");
	if (a->nfiles >= INTEL_BUNDLES_MAX)
		return cli_usage_error(ctx, "more than %d bundles (%s)",
		    INTEL_BUNDLES_MAX, cli_safe(f, safe, sizeof(safe)));
	a->files[a->nfiles++] = f;
	return CLI_CONTINUE;
}

/*
 * Parses FILE arguments (positional for show, after --bundle for check:
 * "--bundle A B" and "--bundle A --bundle B" alike), the value options in
 * opts, --json and --help.  Returns CLI_CONTINUE or the exit code.
 */
static int
parse_intel_args(struct cli_ctx *ctx, int argc, char **argv,
    const struct intel_opt *opts, int positional_files, struct intel_args *a)
{
	char safe[256];
	const char *arg, *eq, *v;
	size_t n, k;
	int i, in_bundle = 0, only_pos = 0, r;

	for (i = 0; i < argc; i++) {
		arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] == '\0') {
			if (!positional_files && !in_bundle)
				return cli_usage_error(ctx, "unexpected argument "
				    "'%s'", cli_safe(arg, safe, sizeof(safe)));
			if ((r = add_file(ctx, a, arg)) != CLI_CONTINUE)
				return r;
			continue;
		}
		in_bundle = 0;
		if (strcmp(arg, "--") == 0) {
			only_pos = positional_files;
			if (!positional_files)
				return cli_usage_error(ctx, "unexpected '--'");
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
		eq = strchr(arg, '=');
		n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		v = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
		if (n == 6 && strncmp(arg, "--home", 6) == 0) {
			if (v == NULL || *v == '\0')
				return cli_usage_error(ctx, "option --home needs "
				    "a value (DIR)");
			ctx->home = v;
			ctx->home_given = 1;
			i += eq == NULL;
			continue;
		}
		if (!positional_files && n == 8 &&
		    strncmp(arg, "--bundle", 8) == 0) {
			if (v == NULL || (eq == NULL && v[0] == '-'))
				return cli_usage_error(ctx, "option --bundle "
				    "needs a value (FILE)");
			if ((r = add_file(ctx, a, v)) != CLI_CONTINUE)
				return r;
			i += eq == NULL;
			in_bundle = 1;
			continue;
		}
		for (k = 0; opts[k].name != NULL; k++)
			if (strlen(opts[k].name) == n &&
			    strncmp(opts[k].name, arg, n) == 0)
				break;
		if (opts[k].name == NULL) {
			char name[64];

			mamori_strlcpy(name, arg, n + 1 < sizeof(name) ? n + 1 :
			    sizeof(name));
			return cli_usage_error(ctx, "unknown option %s",
			    cli_safe(name, safe, sizeof(safe)));
		}
		if (v == NULL || *v == '\0')
			return cli_usage_error(ctx, "option %s needs a value",
			    opts[k].name);
		if (*opts[k].value != NULL)
			return cli_usage_error(ctx, "option %s given twice",
			    opts[k].name);
		*opts[k].value = v;
		i += eq == NULL;
	}
	if (a->nfiles == 0)
		return cli_usage_error(ctx, "no bundle file given");
	return CLI_CONTINUE;
}

/* Loads every file; on failure prints one line naming the file. */
static int
load_all(const struct intel_args *a, struct mamori_stix_bundle **b)
{
	char err[INTEL_ERR_MAX], safe[256], safe_err[INTEL_ERR_MAX];
	size_t i;

	for (i = 0; i < a->nfiles; i++)
		if (mamori_stix_bundle_load(a->files[i], &b[i], err,
		    sizeof(err)) != 0)
			return cli_fail("%s: %s", cli_safe(a->files[i], safe,
			    sizeof(safe)), cli_safe(err, safe_err,
			    sizeof(safe_err)));
	return 0;
}

static void
free_all(struct mamori_stix_bundle **b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mamori_stix_bundle_free(b[i]);
}

/* "domain+ipv4" from the kinds of c's terms. */
static void
kinds_str(const struct mamori_stix_compiled *c, char *out, size_t outlen)
{
	int seen[MAMORI_STIX_KIND_COUNT] = {0};
	size_t i, used = 0;
	int k, n;

	out[0] = '\0';
	for (i = 0; i < c->nterms; i++)
		seen[c->terms[i].kind] = 1;
	for (k = 0; k < MAMORI_STIX_KIND_COUNT; k++) {
		if (!seen[k])
			continue;
		n = snprintf(out + used, outlen - used, "%s%s",
		    used > 0 ? "+" : "",
		    mamori_stix_kind_name((enum mamori_stix_kind)k));
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
	}
}

/* "a OR b AND c" from c's alternatives (cut to fit). */
static void
values_str(const struct mamori_stix_compiled *c, char *out, size_t outlen)
{
	size_t i, j, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < c->nconj; i++)
		for (j = 0; j < c->conj[i].count; j++) {
			n = snprintf(out + used, outlen - used, "%s%s",
			    j > 0 ? " AND " : i > 0 ? " OR " : "",
			    c->terms[c->conj[i].first + j].value);
			if (n < 0 || (size_t)n >= outlen - used)
				return;
			used += (size_t)n;
		}
}

/* A JSON string of s; text that is not valid UTF-8 (a reason cut inside a
 * character) is escaped as for a terminal first. */
static json_t *
text_json(const char *s)
{
	char safe[CLI_MSG_MAX];
	json_t *v;

	if ((v = json_string(s)) != NULL)
		return v;
	return json_string(cli_safe(s, safe, sizeof(safe)));
}

static json_t *
str_list(char **l, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(l[i]));
	return a;
}

/* One indicator as a JSON object (NULL when out of memory). */
static json_t *
indicator_json(const struct mamori_stix_bundle *b,
    const struct mamori_stix_indicator *ind)
{
	json_t *o, *alts = NULL, *terms;
	const struct mamori_stix_compiled *c = ind->compiled;
	size_t i, j;

	o = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:o, "
	    "s:o, s:b}", "source", b->source, "id", ind->id, "name", ind->name,
	    "pattern", ind->pattern, "pattern_type", ind->pattern_type,
	    "valid_from", ind->valid_from, "valid_until", ind->valid_until,
	    "labels", str_list(ind->labels, ind->nlabels),
	    "kill_chain_phases", str_list(ind->kill_chain, ind->nkill_chain),
	    "attack_ids", str_list(ind->attack_ids, ind->nattack_ids),
	    "supported", c != NULL);
	if (o == NULL)
		return NULL;
	if (c == NULL) {
		json_object_set_new(o, "reason", text_json(ind->reason));
		return o;
	}
	if (c->note != NULL)
		json_object_set_new(o, "note", text_json(c->note));
	/* "match": alternatives, each a list of terms that must all hold */
	if ((alts = json_array()) == NULL)
		goto fail;
	for (i = 0; i < c->nconj; i++) {
		if ((terms = json_array()) == NULL)
			goto fail;
		for (j = 0; j < c->conj[i].count; j++) {
			const struct mamori_stix_term *t =
			    &c->terms[c->conj[i].first + j];

			json_array_append_new(terms, json_pack("{s:s, s:s}",
			    "kind", mamori_stix_kind_name(t->kind), "value",
			    t->value));
		}
		json_array_append_new(alts, terms);
	}
	json_object_set_new(o, "match", alts);
	return o;
fail:
	json_decref(alts);
	json_decref(o);
	return NULL;
}

static int
print_json_line(json_t *o)
{
	char *s;
	int r;

	if (o == NULL)
		return cli_fail("out of memory");
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		return cli_fail("out of memory");
	r = printf("%s\n", s) < 0 ? cli_fail("cannot write to standard "
	    "output") : CLI_EXIT_OK;
	free(s);
	return r;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

int
cmd_intel_show(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"BUNDLE", "ID", "NAME", "KIND",
	    "VALUES", "STATUS"};
	const struct intel_opt opts[] = {{NULL, NULL}};
	struct mamori_stix_bundle *b[INTEL_BUNDLES_MAX];
	struct intel_args a;
	struct cli_table t;
	char kinds[128], *values = NULL, status[MAMORI_STIX_REASON_MAX + 16];
	size_t i, j;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&t, 0, sizeof(t));
	memset(b, 0, sizeof(b));
	if ((r = parse_intel_args(ctx, argc, argv, opts, 1, &a)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (load_all(&a, b) != 0)
		goto out;
	if ((values = malloc(INTEL_VALUES_MAX)) == NULL ||
	    cli_table_init(&t, 6, headers) != 0) {
		r = cli_fail("out of memory");
		goto out;
	}
	t.max_width = INTEL_CELL_WIDTH;
	for (i = 0; i < a.nfiles; i++)
		for (j = 0; j < b[i]->nind; j++) {
			const struct mamori_stix_indicator *ind = &b[i]->ind[j];
			const char *cells[6];

			if (a.json) {
				if ((r = print_json_line(indicator_json(b[i],
				    ind))) != CLI_EXIT_OK)
					goto out;
				continue;
			}
			kinds[0] = values[0] = '\0';
			if (ind->compiled != NULL) {
				kinds_str(ind->compiled, kinds, sizeof(kinds));
				values_str(ind->compiled, values,
				    INTEL_VALUES_MAX);
				snprintf(status, sizeof(status), "%s",
				    ind->compiled->note != NULL ?
				    "supported (SHA-1/MD5: see --json note)" :
				    "supported");
			} else {
				snprintf(status, sizeof(status), "unsupported: "
				    "%s", ind->reason);
			}
			cells[0] = base_name(b[i]->source);
			cells[1] = ind->id;
			cells[2] = ind->name;
			cells[3] = kinds;
			cells[4] = values;
			cells[5] = status;
			if (cli_table_add(&t, cells) != 0) {
				r = cli_fail("out of memory");
				goto out;
			}
		}
	if (!a.json) {
		if (cli_table_rows(&t) > 0 && cli_table_print(&t, stdout, 0) != 0) {
			r = cli_fail("cannot write to standard output");
			goto out;
		}
		if (cli_table_rows(&t) > 0)
			printf("\n");
		for (i = 0; i < a.nfiles; i++) {
			char safe[256];

			printf("%s: %zu indicators, %zu supported, %zu "
			    "unsupported, %zu other objects\n",
			    cli_safe(b[i]->source, safe, sizeof(safe)),
			    b[i]->nind, b[i]->nsupported,
			    b[i]->nind - b[i]->nsupported, b[i]->nother);
		}
	}
	r = fflush(stdout) != 0 ? cli_fail("cannot write to standard output") :
	    CLI_EXIT_OK;
out:
	free(values);
	cli_table_free(&t);
	free_all(b, a.nfiles);
	return r;
}

/* Checks one observable option; prints the problem. */
static int
check_value(struct cli_ctx *ctx, const char *opt, const char *v, size_t hex)
{
	char buf[MAMORI_STIX_URL_MAX], safe[256];
	uint8_t addr[16];
	uint8_t digest[32];

	if (v == NULL)
		return 0;
	if (hex > 0 && (strlen(v) != 2 * hex || mamori_unhex(v, digest,
	    hex) != 0))
		return cli_usage_error(ctx, "%s needs %zu hex digits, not '%s'",
		    opt, 2 * hex, cli_safe(v, safe, sizeof(safe)));
	if (strcmp(opt, "--ip") == 0 && inet_pton(AF_INET, v, addr) != 1 &&
	    inet_pton(AF_INET6, v, addr) != 1)
		return cli_usage_error(ctx, "--ip needs an IPv4 or IPv6 address, "
		    "not '%s'", cli_safe(v, safe, sizeof(safe)));
	if (strcmp(opt, "--domain") == 0 &&
	    mamori_stix_domain_normalise(v, buf, sizeof(buf)) != 0)
		return cli_usage_error(ctx, "--domain needs a host name, not "
		    "'%s'", cli_safe(v, safe, sizeof(safe)));
	if (strcmp(opt, "--url") == 0 &&
	    mamori_stix_url_normalise(v, buf, sizeof(buf)) != 0)
		return cli_usage_error(ctx, "--url needs scheme://host..., not "
		    "'%s'", cli_safe(v, safe, sizeof(safe)));
	return 0;
}

int
cmd_intel_check(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "NAME", "KIND", "MATCHED",
	    "BUNDLE", "PATTERN"};
	struct intel_args a;
	const struct intel_opt opts[] = {
		{"--sha256", &a.sha256}, {"--sha1", &a.sha1}, {"--md5", &a.md5},
		{"--ip", &a.ip}, {"--domain", &a.domain}, {"--url", &a.url},
		{NULL, NULL},
	};
	struct mamori_stix_bundle *b[INTEL_BUNDLES_MAX];
	struct mamori_intel *set = NULL;
	struct mamori_intel_match *m = NULL;
	struct mamori_intel_obs obs;
	struct cli_table t;
	size_t i, n = 0, total = 0, unsupported = 0;
	int r, mr;

	memset(&a, 0, sizeof(a));
	memset(&t, 0, sizeof(t));
	memset(b, 0, sizeof(b));
	if ((r = parse_intel_args(ctx, argc, argv, opts, 0, &a)) !=
	    CLI_CONTINUE)
		goto out;
	if (a.sha256 == NULL && a.sha1 == NULL && a.md5 == NULL &&
	    a.ip == NULL && a.domain == NULL && a.url == NULL) {
		r = cli_usage_error(ctx, "nothing to check: give --sha256, "
		    "--sha1, --md5, --ip, --domain or --url");
		goto out;
	}
	if ((r = check_value(ctx, "--sha256", a.sha256, 32)) != 0 ||
	    (r = check_value(ctx, "--sha1", a.sha1, 20)) != 0 ||
	    (r = check_value(ctx, "--md5", a.md5, 16)) != 0 ||
	    (r = check_value(ctx, "--ip", a.ip, 0)) != 0 ||
	    (r = check_value(ctx, "--domain", a.domain, 0)) != 0 ||
	    (r = check_value(ctx, "--url", a.url, 0)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	if (load_all(&a, b) != 0)
		goto out;
	if (mamori_intel_new(&set) != 0 ||
	    (m = calloc(INTEL_MATCHES_MAX, sizeof(*m))) == NULL) {
		r = cli_fail("out of memory");
		goto out;
	}
	for (i = 0; i < a.nfiles; i++) {
		if (mamori_intel_add_bundle(set, b[i], NULL) != 0) {
			r = cli_fail("out of memory");
			goto out;
		}
		total += b[i]->nind;
		unsupported += b[i]->nind - b[i]->nsupported;
	}
	memset(&obs, 0, sizeof(obs));
	obs.sha256 = a.sha256;
	obs.sha1 = a.sha1;
	obs.md5 = a.md5;
	obs.ip = a.ip;
	obs.host = a.domain;
	obs.url = a.url;
	mr = mamori_intel_match(set, &obs, m, INTEL_MATCHES_MAX, &n);
	if (mr != 0 && mr != MAMORI_ERR_TOO_LARGE) {
		r = cli_fail("matching failed: %s", mamori_strerror(mr));
		goto out;
	}
	if (a.json) {
		for (i = 0; i < n; i++)
			if ((r = print_json_line(json_pack("{s:s, s:s?, s:s, "
			    "s:s, s:s, s:s?}", "id", m[i].id, "name", m[i].name,
			    "kind", mamori_stix_kind_name(m[i].kind), "matched",
			    m[i].value, "pattern", m[i].pattern, "source",
			    m[i].source))) != CLI_EXIT_OK)
				goto out;
	} else {
		if (cli_table_init(&t, 6, headers) != 0) {
			r = cli_fail("out of memory");
			goto out;
		}
		for (i = 0; i < n; i++) {
			const char *cells[6] = {m[i].id, m[i].name,
			    mamori_stix_kind_name(m[i].kind), m[i].value,
			    m[i].source != NULL ? base_name(m[i].source) : NULL,
			    m[i].pattern};

			if (cli_table_add(&t, cells) != 0) {
				r = cli_fail("out of memory");
				goto out;
			}
		}
		if (n > 0 && cli_table_print(&t, stdout, 0) != 0) {
			r = cli_fail("cannot write to standard output");
			goto out;
		}
		printf("%s%zu of %zu indicators match (%zu bundle%s)",
		    n > 0 ? "\n" : "", n, total, a.nfiles,
		    a.nfiles == 1 ? "" : "s");
		if (unsupported > 0)
			printf("; %zu unsupported, not checked: see mamori intel "
			    "show", unsupported);
		printf("\n");
		if (mr == MAMORI_ERR_TOO_LARGE)
			printf("more indicators match than are shown (limits: "
			    "%d matches, %d values per event)\n",
			    INTEL_MATCHES_MAX, MAMORI_INTEL_HITS_MAX);
	}
	r = fflush(stdout) != 0 ? cli_fail("cannot write to standard output") :
	    CLI_EXIT_OK;
out:
	cli_table_free(&t);
	free(m);
	mamori_intel_free(set);
	free_all(b, a.nfiles);
	return r;
}
