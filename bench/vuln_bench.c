/*
 * vuln_bench.c - how long matching a fleet against advisories takes.
 *
 *   vuln-bench [--hosts N] [--advisories N] [--status FILE] [--osv FILE]
 *
 * Hosts are this machine's installed packages (a dpkg status file), varied
 * per host: on each host about one source package in twenty has its
 * version (for all its binaries) bumped above or lowered below the real
 * one.  Advisories are synthetic, over the real source package names
 * (each source equally likely), with realistic ranges - introduced
 * "0" or a version, fixed just above or just below the installed version,
 * some with a second interval, some last_affected, some with no fix, a few
 * for other releases - plus the real DSA-3029-1.  They are written as OSV
 * JSON and read through mamori_osv_parse like any file.  Prints the parse,
 * index build and match times, the findings, and the machine.  Writes
 * nothing; deterministic (fixed seed).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "buf.h"
#include "collect.h"
#include "debver.h"
#include "err.h"
#include "osv.h"
#include "parse.h"
#include "vuln_match.h"

#ifndef CORPORA
#define CORPORA "../shared/corpora"
#endif
#define BENCH_STATUS "/var/lib/dpkg/status"
#define BENCH_OSV CORPORA "/osv/DSA-3029-1.json"
#define BENCH_MAX_HOSTS 100000
#define BENCH_MAX_ADVISORIES 1000000
#define BENCH_VERSION_MAX 300

static uint64_t rng_state = 0x6d616d6f7269ULL;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void
die(const char *what)
{
	fprintf(stderr, "vuln-bench: %s\n", what);
	exit(1);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* v with a suffix that sorts above (up) or below it. */
static char *
vary(const char *v, int up)
{
	char out[BENCH_VERSION_MAX];

	snprintf(out, sizeof(out), "%s%s%u", v, up ? "+zz" : "~zz",
	    rnd(9) + 1);
	return xstrdup(out);
}

/* Appends s to b, dying on failure. */
static void
put(struct mamori_buf *b, const char *s)
{
	if (mamori_buf_append(b, s, strlen(s)) != 0)
		die("advisory text too large");
}

/*
 * One synthetic advisory for source src at installed version v, of one of
 * the shapes real Debian advisories take (shares out of 100):
 *   70  introduced 0, fixed: below v (97%) or just above it (3%)
 *   15  introduced 0, fixed below v; then a regression introduced above v
 *       with no fix (open on hosts that run a newer version)
 *   10  introduced 0, last_affected: below v (97%) or v itself (3%)
 *    4  introduced above v, fixed further above (open on newer hosts)
 *    1  introduced 0, no fix yet
 * One in twenty is for another release (11 or 7).
 */
static void
write_advisory(struct mamori_buf *b, size_t i, const char *src,
    const char *v)
{
	char text[2048], *lo, *hi, *hi2;
	const char *rel = rnd(20) == 0 ? (rnd(2) ? "11" : "7") : "12";
	uint32_t shape = rnd(100);
	int open = rnd(100) < 3;

	lo = vary(v, 0);
	hi = vary(v, 1);
	snprintf(text, sizeof(text), "%s+zz9", hi);
	hi2 = xstrdup(text);
	snprintf(text, sizeof(text), "%s{\"id\": \"DSA-B%05zu-1\", "
	    "\"modified\": \"2026-01-01T00:00:00Z\", "
	    "\"published\": \"2026-01-01T00:00:00Z\", "
	    "\"aliases\": [\"CVE-2026-%05zu\"], "
	    "\"summary\": \"%s - security update\", "
	    "\"affected\": [{\"package\": {\"ecosystem\": \"Debian:%s\", "
	    "\"name\": \"%s\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [", i == 0 ? "" : ",\n", i, i, src, rel, src);
	put(b, text);
	if (shape < 70)
		snprintf(text, sizeof(text), "{\"introduced\": \"0\"}, "
		    "{\"fixed\": \"%s\"}]}]", open ? hi : lo);
	else if (shape < 85)
		snprintf(text, sizeof(text), "{\"introduced\": \"0\"}, "
		    "{\"fixed\": \"%s\"}, {\"introduced\": \"%s\"}]}]", lo,
		    hi);
	else if (shape < 95)
		snprintf(text, sizeof(text), "{\"introduced\": \"0\"}, "
		    "{\"last_affected\": \"%s\"}]}]", open ? v : lo);
	else if (shape < 99)
		snprintf(text, sizeof(text), "{\"introduced\": \"%s\"}, "
		    "{\"fixed\": \"%s\"}]}]", hi, hi2);
	else
		snprintf(text, sizeof(text), "{\"introduced\": \"0\"}]}]");
	put(b, text);
	put(b, "}]}");
	free(lo);
	free(hi);
	free(hi2);
}

static const char *
src_of(const struct mamori_vuln_package *p)
{
	return p->source != NULL && p->source[0] != '\0' ? p->source : p->name;
}

static const char *
ver_of(const struct mamori_vuln_package *p)
{
	return p->source_version != NULL && p->source_version[0] != '\0' ?
	    p->source_version : p->version;
}

static int
by_source(const void *a, const void *b)
{
	return strcmp(src_of(a), src_of(b));
}

int
main(int argc, char **argv)
{
	const char *status = BENCH_STATUS, *osv = BENCH_OSV;
	unsigned long n_hosts = 1000, n_adv = 10000;
	static const struct option longopts[] = {
		{"hosts", required_argument, NULL, 'h'},
		{"advisories", required_argument, NULL, 'a'},
		{"status", required_argument, NULL, 's'},
		{"osv", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	struct mamori_vuln_package *base = NULL, **hosts;
	struct mamori_vuln_index *ix = NULL;
	struct mamori_vuln_result res;
	struct mamori_osv_set set;
	struct mamori_buf file, text;
	Mamori__Inventory *inv;
	size_t n_base = 0, i, j, g, findings = 0, varied = 0, hosts_hit = 0;
	size_t *group = NULL, n_groups = 0, n_owned = 0;
	char **owned = NULL;
	double t0, c0, t_parse, t_index, t_match, c_match;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			n_hosts = strtoul(optarg, NULL, 10);
			break;
		case 'a':
			n_adv = strtoul(optarg, NULL, 10);
			break;
		case 's':
			status = optarg;
			break;
		case 'o':
			osv = optarg;
			break;
		default:
			die("usage: vuln-bench [--hosts N] [--advisories N] "
			    "[--status FILE] [--osv FILE]");
		}
	}
	if (n_hosts == 0 || n_hosts > BENCH_MAX_HOSTS || n_adv == 0 ||
	    n_adv > BENCH_MAX_ADVISORIES)
		die("--hosts or --advisories out of range");

	/* The base host: this machine's packages. */
	mamori_buf_init(&file, 64 * 1024 * 1024);
	if (mamori_buf_read_file(&file, status) != 0)
		die("cannot read the dpkg status file");
	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL ||
	    mamori_parse_dpkg_status((const char *)file.data, file.len,
	    inv) != 0 ||
	    mamori_vuln_packages_from_inventory(inv, &base, &n_base) != 0 ||
	    n_base == 0)
		die("no packages in the status file");

	/* Group the packages by source: a host upgrades or lags a source
	 * with all its binaries. */
	qsort(base, n_base, sizeof(*base), by_source);
	if ((group = calloc(n_base + 1, sizeof(*group))) == NULL)
		die("out of memory");
	for (i = 0; i < n_base; i++)
		if (i == 0 || strcmp(src_of(&base[i]),
		    src_of(&base[i - 1])) != 0)
			group[n_groups++] = i;
	group[n_groups] = n_base;

	/* The fleet: each host a copy, about 1 source in 20 varied. */
	if ((hosts = calloc(n_hosts, sizeof(*hosts))) == NULL ||
	    (owned = calloc(n_hosts * n_groups, sizeof(*owned))) == NULL)
		die("out of memory");
	for (i = 0; i < n_hosts; i++) {
		if ((hosts[i] = malloc(n_base * sizeof(*base))) == NULL)
			die("out of memory");
		memcpy(hosts[i], base, n_base * sizeof(*base));
		for (g = 0; g < n_groups; g++) {
			char *nv;

			if (rnd(20) != 0)
				continue;
			nv = vary(ver_of(&base[group[g]]), (int)rnd(2));
			owned[n_owned++] = nv;
			for (j = group[g]; j < group[g + 1]; j++)
				hosts[i][j].source_version = nv;
			varied++;
		}
	}

	/* The advisories, as OSV JSON. */
	mamori_buf_init(&text, 256 * 1024 * 1024);
	put(&text, "[\n");
	for (i = 0; i < n_adv; i++) {
		const struct mamori_vuln_package *p =
		    &base[group[rnd((uint32_t)n_groups)]];

		write_advisory(&text, i, src_of(p), ver_of(p));
	}
	put(&text, "\n]\n");

	mamori_osv_set_init(&set);
	t0 = bench_wall_seconds();
	if (mamori_osv_parse((const char *)text.data, text.len, "bench.json",
	    &set, NULL, NULL) != 0 || set.n != n_adv || set.n_rejected != 0)
		die("the synthetic advisories did not parse");
	if (mamori_osv_load(osv, &set, NULL, NULL) != 0 ||
	    set.n != n_adv + 1)
		die("cannot read the real advisory (--osv FILE)");
	t_parse = bench_wall_seconds() - t0;

	t0 = bench_wall_seconds();
	if (mamori_vuln_index_build(&set, &ix) != 0)
		die("index build failed");
	t_index = bench_wall_seconds() - t0;

	t0 = bench_wall_seconds();
	c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < n_hosts; i++) {
		if (mamori_vuln_match(ix, "12", hosts[i], n_base, &res) != 0)
			die("match failed");
		findings += res.n;
		hosts_hit += res.n > 0;
		mamori_vuln_result_free(&res);
	}
	t_match = bench_wall_seconds() - t0;
	c_match = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;

	bench_print_machine(stdout);
	printf("fleet: %lu hosts x %zu packages of %zu sources (%zu source "
	    "versions varied), Debian 12\n", n_hosts, n_base, n_groups,
	    varied);
	printf("advisories: %zu (%lu synthetic + DSA-3029-1), %zu index "
	    "entries, %.1f MiB of JSON parsed in %.3f s\n", set.n, n_adv,
	    mamori_vuln_index_size(ix), (double)text.len / (1024.0 * 1024.0),
	    t_parse);
	printf("index build: %.4f s\n", t_index);
	printf("match: %.3f s wall, %.3f s CPU for %lu hosts (%.3f ms CPU per "
	    "host), %zu findings on %zu hosts (%.1f per host)\n", t_match,
	    c_match, n_hosts, 1000.0 * c_match / (double)n_hosts, findings,
	    hosts_hit, (double)findings / (double)n_hosts);

	mamori_vuln_index_free(ix);
	mamori_osv_set_free(&set);
	for (i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	for (i = 0; i < n_hosts; i++)
		free(hosts[i]);
	free(group);
	free(hosts);
	free(base);
	mamori_inventory_free(inv);
	mamori_buf_free(&text);
	mamori_buf_free(&file);
	return 0;
}
