/*
 * yara_policy_bench.c - what the agent's scan of a new executable costs
 * (src/agent/yara_policy.c), to decide whether it may run on the event loop:
 * compiling the policy's sets (the JPCERT/CC Tick rules and a marker rule),
 * then, for up to N executables of a directory (default /usr/bin), the time
 * of mamori_agent_yara_scan_file (open, read, SHA-256, YARA scan) against
 * the time of a SHA-256 of the same bytes alone (what the file source
 * already does on the loop).  Prints the machine, totals, p50, p99, max and
 * the slowest file.  Reads files only; never writes.
 *
 * Usage: yara-policy-bench [DIR] [N]
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "util.h"
#include "bench_util.h"
#include "yara_policy.h"

#define BENCH_FILES_MAX 5000

static double
now_ms(void)
{
	return bench_wall_seconds() * 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/usr/bin";
	uint64_t limit = 300;
	struct mamori_agent_yara *y = NULL;
	Mamori__PolicyYaraSet set[2], *sets[2];
	struct mamori_buf tick, data;
	Mamori__Event **evs;
	static double scan_ms[BENCH_FILES_MAX], hash_ms[BENCH_FILES_MAX];
	static char names[BENCH_FILES_MAX][256];
	uint8_t digest[MAMORI_SHA256_LEN];
	double t0, total_scan = 0, total_hash = 0, worst = 0;
	uint64_t bytes = 0;
	size_t n = 0, nev, i, worst_i = 0, matches = 0, applied;
	struct dirent *de;
	struct stat sb;
	char path[4096];
	DIR *d;

	if (argc > 2 && mamori_parse_u64(argv[2], 1, BENCH_FILES_MAX,
	    &limit) != 0) {
		fprintf(stderr, "usage: yara-policy-bench [DIR] [N<=%d]\n",
		    BENCH_FILES_MAX);
		return 2;
	}
	mamori_log_init("yara-policy-bench", MAMORI_LOG_WARN);
	bench_print_machine(stdout);
	mamori_buf_init(&tick, 1024 * 1024);
	mamori_buf_init(&data, MAMORI_AGENT_YARA_FILE_MAX);
	if (mamori_buf_read_file(&tick, CORPORA "/yara/jpcert-tick.yara") != 0 ||
	    mamori_buf_append(&tick, "", 1) != 0 ||
	    mamori_agent_yara_new(NULL, NULL, NULL, &y) != 0) {
		fprintf(stderr, "cannot read the Tick rules or start libyara\n");
		return 1;
	}
	mamori__policy_yara_set__init(&set[0]);
	mamori__policy_yara_set__init(&set[1]);
	set[0].name = "jpcert-tick.yara";
	set[0].source = (char *)tick.data;
	set[1].name = "marker.yar";
	set[1].source = "rule marker { strings: $a = \"MAMORI-BENCH\" "
	    "condition: $a }";
	sets[0] = &set[0];
	sets[1] = &set[1];
	t0 = now_ms();
	if (mamori_agent_yara_apply(y, sets, 2, NULL, NULL, &applied) != 0 ||
	    applied != 2) {
		fprintf(stderr, "the sets do not compile\n");
		return 1;
	}
	printf("policy apply (2 sets, %zu rules, compiled alone then "
	    "together): %.1f ms\n", mamori_agent_yara_rule_count(y),
	    now_ms() - t0);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < limit) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path) || lstat(path, &sb) != 0 ||
		    !S_ISREG(sb.st_mode) || (sb.st_mode & 0111) == 0 ||
		    (uint64_t)sb.st_size > MAMORI_AGENT_YARA_FILE_MAX)
			continue;
		/* Warm the page cache, as a file just written is. */
		if (mamori_buf_read_file(&data, path) != 0)
			continue;
		t0 = now_ms();
		mamori_sha256(data.data, data.len, digest);
		hash_ms[n] = now_ms() - t0;
		t0 = now_ms();
		if (mamori_agent_yara_scan_file(y, path, path, &evs,
		    &nev) != 0)
			continue;
		scan_ms[n] = now_ms() - t0;
		for (i = 0; i < nev; i++)
			mamori_event_free(evs[i]);
		free(evs);
		matches += nev;
		bytes += data.len;
		total_scan += scan_ms[n];
		total_hash += hash_ms[n];
		if (scan_ms[n] > worst) {
			worst = scan_ms[n];
			worst_i = n;
		}
		mamori_strlcpy(names[n], de->d_name, sizeof(names[n]));
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "no executables in %s\n", dir);
		return 1;
	}
	printf("files: %zu executables of %s, %.1f MiB, %zu matches\n", n,
	    dir, (double)bytes / (1024.0 * 1024.0), matches);
	printf("slowest: %s, %.2f ms scan, %.2f ms sha256 alone\n",
	    names[worst_i], scan_ms[worst_i], hash_ms[worst_i]);
	qsort(scan_ms, n, sizeof(double), cmp_double);
	qsort(hash_ms, n, sizeof(double), cmp_double);
	printf("scan (open+read+sha256+yara): total %.1f ms, p50 %.3f ms, "
	    "p99 %.2f ms, max %.2f ms, %.1f MiB/s\n", total_scan,
	    scan_ms[n / 2], scan_ms[n * 99 / 100], scan_ms[n - 1],
	    (double)bytes / (1024.0 * 1024.0) / (total_scan / 1e3));
	printf("sha256 alone: total %.1f ms, p50 %.3f ms, p99 %.2f ms, "
	    "max %.2f ms\n", total_hash, hash_ms[n / 2],
	    hash_ms[n * 99 / 100], hash_ms[n - 1]);
	mamori_agent_yara_free(y);
	mamori_buf_free(&tick);
	mamori_buf_free(&data);
	return 0;
}
