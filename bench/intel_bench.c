/*
 * intel_bench.c - how fast the threat-intelligence matcher checks events.
 *
 * Builds a set of N indicators (default 100,000) from generated STIX
 * patterns - SHA-256 and MD5 hashes, IPv4 addresses, IPv4 CIDRs from /16 to
 * /30, IPv6 addresses and /32-/64 networks, domains, URLs, and some
 * multi-value OR patterns - timing parse + compile + insert, then matches a
 * realistic mix of events against it: process starts (SHA-256), file
 * integrity changes (SHA-256 before and after), network connections
 * (address and host name), web requests (host and URL), with about 1% of
 * events carrying a value from the set.  Prints the rates, the matches
 * seen, the memory used, and the machine.  Deterministic (fixed seed).
 *
 *   intel-bench [--indicators N] [--events N]
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "crypto.h"
#include "err.h"
#include "intel.h"
#include "stix_pattern.h"
#include "util.h"

#define BENCH_INDICATORS_DEFAULT 100000
#define BENCH_EVENTS_DEFAULT 2000000
#define BENCH_COUNT_MAX 50000000
#define BENCH_PATTERN_MAX 512
#define BENCH_LINE_MAX 256
#define BENCH_HIT_PERCENT 1
#define BENCH_POOL 16384 /* distinct events, replayed in turn */

struct bench_event {
	int kind;
	char h1[65], h2[65], ip[48], host[128], url[256];
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* The machine line, then this program's own: the load when it started,
 * since the rates depend on what else the machine is doing. */
static void
print_machine(void)
{
	char line[BENCH_LINE_MAX];
	FILE *f;

	bench_print_machine(stdout);
	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(line, sizeof(line), f) != NULL)
			printf("load average at start: %s", line);
		fclose(f);
	}
}

/* Values of indicator i, reproducible: the same i gives the same value,
 * so events can carry values that are in the set. */
static void
hex_of(uint64_t i, uint64_t salt, size_t bytes, char *out)
{
	uint8_t buf[32], d[MAMORI_SHA256_LEN];
	uint64_t v[2] = {i, salt};

	mamori_sha256(v, sizeof(v), d);
	memcpy(buf, d, bytes > sizeof(d) ? sizeof(d) : bytes);
	mamori_hex(buf, bytes, out);
}

static void
ipv4_of(uint64_t i, char *out, size_t len)
{
	uint32_t a = (uint32_t)(i * 2654435761u) | 0x01000000u;

	snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
	    (a >> 8) & 0xff, a & 0xff);
}

static void
domain_of(uint64_t i, char *out, size_t len)
{
	static const char *const tld[] = {"com", "net", "org", "info", "cn",
	    "ru", "xyz", "top"};

	snprintf(out, len, "h%llx.c2-%llu.%s", (unsigned long long)(i * 31),
	    (unsigned long long)(i % 9973), tld[i % 8]);
}

enum bench_kind { K_SHA256, K_MD5, K_IPV4, K_CIDR4, K_IPV6, K_DOMAIN, K_URL,
	K_MULTI, K_COUNT };

/* Of every 100 indicators (a feed's typical mix). */
static const unsigned mix[K_COUNT] = {35, 10, 20, 5, 3, 17, 5, 5};
static const char *const kind_label[K_COUNT] = {"SHA-256", "MD5", "IPv4",
    "IPv4 CIDR", "IPv6/CIDR", "domain", "URL", "OR of 3"};

static enum bench_kind
kind_of(uint64_t i)
{
	unsigned slot = (unsigned)(i % 100), k, acc = 0;

	for (k = 0; k < K_COUNT; k++) {
		acc += mix[k];
		if (slot < acc)
			return (enum bench_kind)k;
	}
	return K_SHA256;
}

static void
pattern_of(uint64_t i, char *out, size_t len)
{
	char a[80], b[80], c[80];

	switch (kind_of(i)) {
	case K_SHA256:
		hex_of(i, 1, 32, a);
		snprintf(out, len, "[file:hashes.'SHA-256' = '%s']", a);
		break;
	case K_MD5:
		hex_of(i, 2, 16, a);
		snprintf(out, len, "[file:hashes.MD5 = '%s']", a);
		break;
	case K_IPV4:
		ipv4_of(i, a, sizeof(a));
		snprintf(out, len, "[ipv4-addr:value = '%s']", a);
		break;
	case K_CIDR4:
		ipv4_of(i, a, sizeof(a));
		snprintf(out, len, "[ipv4-addr:value = '%s/%u']", a,
		    16 + (unsigned)(i % 15));
		break;
	case K_IPV6:
		snprintf(out, len, "[ipv6-addr:value = '2001:db8:%x:%x::%s']",
		    (unsigned)(i & 0xffff), (unsigned)((i >> 16) & 0xffff),
		    i % 2 ? "/48" : "1");
		break;
	case K_DOMAIN:
		domain_of(i, a, sizeof(a));
		snprintf(out, len, "[domain-name:value = '%s']", a);
		break;
	case K_URL:
		domain_of(i, a, sizeof(a));
		snprintf(out, len, "[url:value = 'http://%s/gate.php?id=%llu']",
		    a, (unsigned long long)i);
		break;
	default:
		domain_of(i, a, sizeof(a));
		ipv4_of(i, b, sizeof(b));
		ipv4_of(i + 1000000007ULL, c, sizeof(c));
		snprintf(out, len, "[domain-name:value = '%s' OR ipv4-addr:value "
		    "= '%s' OR ipv4-addr:value = '%s']", a, b, c);
		break;
	}
}

static int
parse_count(const char *opt, const char *v, uint64_t *out)
{
	if (v == NULL || mamori_parse_u64(v, 1, BENCH_COUNT_MAX, out) != 0) {
		fprintf(stderr, "intel-bench: %s needs a number from 1 to %d\n",
		    opt, BENCH_COUNT_MAX);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t nind = BENCH_INDICATORS_DEFAULT, nev = BENCH_EVENTS_DEFAULT;
	uint64_t i, matches = 0, matched_events = 0, lookups = 0;
	uint64_t per_kind[K_COUNT] = {0};
	struct mamori_intel *set = NULL;
	struct bench_event *pool = NULL;
	struct mamori_stix_indicator ind;
	struct mamori_stix_pattern *p = NULL;
	struct mamori_intel_match m[16];
	struct mamori_intel_obs obs;
	char pattern[BENCH_PATTERN_MAX], reason[MAMORI_STIX_REASON_MAX];
	char id[64];
	double t0, t1, t2;
	long rss0, rss1;
	int k, r = 1;
	size_t n;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--indicators") == 0 && k + 1 < argc) {
			if (parse_count("--indicators", argv[++k], &nind) != 0)
				return 2;
		} else if (strcmp(argv[k], "--events") == 0 && k + 1 < argc) {
			if (parse_count("--events", argv[++k], &nev) != 0)
				return 2;
		} else {
			fprintf(stderr, "usage: intel-bench [--indicators N] "
			    "[--events N]\n");
			return 2;
		}
	}
	print_machine();
	rss0 = bench_rss_kib(0);
	if (mamori_intel_new(&set) != 0)
		goto out;
	t0 = bench_wall_seconds();
	for (i = 0; i < nind; i++) {
		memset(&ind, 0, sizeof(ind));
		pattern_of(i, pattern, sizeof(pattern));
		snprintf(id, sizeof(id), "indicator--%016llx",
		    (unsigned long long)i);
		ind.id = id;
		ind.name = id;
		ind.pattern = pattern;
		if (mamori_stix_pattern_parse(pattern, strlen(pattern), &p,
		    NULL) != 0 || mamori_stix_pattern_compile(p, &ind.compiled,
		    reason, sizeof(reason)) != 0 ||
		    mamori_intel_add(set, &ind, "bench") != 0) {
			fprintf(stderr, "intel-bench: cannot add '%s': %s\n",
			    pattern, reason);
			goto out;
		}
		mamori_stix_compiled_free(ind.compiled);
		mamori_stix_pattern_free(p);
		p = NULL;
		per_kind[kind_of(i)]++;
	}
	t1 = bench_wall_seconds();
	rss1 = bench_rss_kib(0);
	printf("indicators: %llu (", (unsigned long long)nind);
	for (k = 0; k < K_COUNT; k++)
		printf("%s%s %llu", k > 0 ? ", " : "", kind_label[k],
		    (unsigned long long)per_kind[k]);
	printf(")\n");
	printf("build: parse + compile + insert in %.3f s, %.0f indicators/s; "
	    "set memory about %ld KiB\n", t1 - t0, (double)nind / (t1 - t0),
	    rss1 - rss0);

	/* the event mix: 50% process starts, 10% file changes, 30% network
	 * connections, 10% web requests; made before the clock starts */
	if ((pool = calloc(BENCH_POOL, sizeof(*pool))) == NULL)
		goto out;
	for (i = 0; i < BENCH_POOL; i++) {
		struct bench_event *e = &pool[i];
		uint64_t x = rng(), kind = x % 10;
		int hit = (x >> 8) % 100 < BENCH_HIT_PERCENT;
		uint64_t j = (x >> 16) % nind; /* an indicator's value */
		uint64_t v = (x >> 4) | (1ULL << 62); /* a value not in it */

		e->kind = (int)kind;
		if (kind < 6) {
			/* a hit takes the hash of a SHA-256 indicator */
			while (hit && kind_of(j) != K_SHA256)
				j = (j + 1) % nind;
			hex_of(hit ? j : v, hit ? 1 : 9, 32, e->h1);
			hex_of(v + 1, 9, 32, e->h2);
		} else if (kind < 9) {
			ipv4_of(hit ? j : v, e->ip, sizeof(e->ip));
			domain_of(hit ? j : v, e->host, sizeof(e->host));
		} else {
			domain_of(hit ? j : v, e->host, sizeof(e->host));
			snprintf(e->url, sizeof(e->url),
			    "http://%s/gate.php?id=%llu", e->host,
			    (unsigned long long)(hit ? j : v));
		}
	}
	t1 = bench_wall_seconds();
	for (i = 0; i < nev; i++) {
		const struct bench_event *e = &pool[i % BENCH_POOL];

		memset(&obs, 0, sizeof(obs));
		if (e->kind < 5) {
			obs.sha256 = e->h1;
		} else if (e->kind < 6) {
			/* before and after */
			obs.sha256 = e->h2;
			lookups++;
			if (mamori_intel_match(set, &obs, m, 16, &n) != 0)
				goto out;
			matches += n;
			obs.sha256 = e->h1;
		} else if (e->kind < 9) {
			obs.ip = e->ip;
			obs.host = e->host;
		} else {
			obs.host = e->host;
			obs.url = e->url;
		}
		lookups++;
		if (mamori_intel_match(set, &obs, m, 16, &n) != 0)
			goto out;
		matches += n;
		matched_events += n > 0;
	}
	t2 = bench_wall_seconds();
	printf("match: %llu events (%llu match calls) in %.3f s: %.0f events/s, "
	    "%.2f us per event; %llu events matched (%llu matches)\n",
	    (unsigned long long)nev, (unsigned long long)lookups, t2 - t1,
	    (double)nev / (t2 - t1), (t2 - t1) * 1e6 / (double)nev,
	    (unsigned long long)matched_events, (unsigned long long)matches);
	printf("event mix: 50%% process (SHA-256), 10%% file change (2 x "
	    "SHA-256), 30%% network (address + host), 10%% web (host + URL); "
	    "about %d%% carry an indicator's value (%d distinct events, "
	    "made before timing; parsing their hex and text is timed)\n",
	    BENCH_HIT_PERCENT, BENCH_POOL);
	r = 0;
out:
	free(pool);
	mamori_stix_pattern_free(p);
	mamori_intel_free(set);
	return r;
}
