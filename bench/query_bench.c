/*
 * query_bench.c - cost of live queries on this host: CPU time, wall time
 * and peak RSS of `SELECT * FROM processes` and `SELECT * FROM
 * deb_packages` (and a join) through the query engine, as an agent would
 * run them for the server.
 *
 * Usage: query-bench [--runs N]   (default 20 runs of each query)
 * Prints the machine, then one line per query: rows, wall and CPU time per
 * run (mean and worst), and the process's peak RSS after it.  Reads the
 * host only; never writes anything.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "err.h"
#include "query.h"
#include "util.h"

#define BENCH_RUNS_DEFAULT 20
#define BENCH_RUNS_MAX 10000

static int
count_row(void *ud, size_t ncols, const char *const *names,
    const struct mamori_query_value *values)
{
	(void)ncols;
	(void)names;
	if (values != NULL)
		(*(uint64_t *)ud)++;
	return 0;
}

static int
bench(struct mamori_query_engine *e, const char *sql, uint64_t runs)
{
	char err[MAMORI_QUERY_ERR_MAX];
	double w0, c0, w, c, wsum = 0, csum = 0, wmax = 0, cmax = 0;
	uint64_t i, rows = 0;
	int r;

	for (i = 0; i < runs; i++) {
		rows = 0;
		w0 = bench_wall_seconds();
		c0 = bench_cpu_seconds();
		if ((r = mamori_query_run(e, sql, NULL, count_row, &rows, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "query-bench: %s: %s\n", sql, err);
			return 1;
		}
		w = bench_wall_seconds() - w0;
		c = bench_cpu_seconds() - c0;
		wsum += w;
		csum += c;
		if (w > wmax)
			wmax = w;
		if (c > cmax)
			cmax = c;
	}
	printf("%-50s %6llu rows  wall %7.2f ms (max %7.2f)  CPU %7.2f ms "
	    "(max %7.2f)  peak RSS %ld KiB\n", sql, (unsigned long long)rows,
	    wsum / (double)runs * 1e3, wmax * 1e3, csum / (double)runs * 1e3,
	    cmax * 1e3, bench_peak_rss_kib());
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const queries[] = {
		"SELECT * FROM processes",
		"SELECT * FROM deb_packages",
		("SELECT p.name, s.port FROM processes p "
		    "JOIN listening_ports s USING (pid)"),
	};
	struct mamori_query_config cfg = {"", 1};
	struct mamori_query_engine *e = NULL;
	uint64_t runs = BENCH_RUNS_DEFAULT;
	size_t i;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--runs") == 0) {
		if (mamori_parse_u64(argv[2], 1, BENCH_RUNS_MAX, &runs) != 0) {
			fprintf(stderr, "query-bench: --runs takes 1 to %d\n",
			    BENCH_RUNS_MAX);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: query-bench [--runs N]\n");
		return 2;
	}
	bench_print_machine(stdout);
	printf("engine start: peak RSS %ld KiB before\n",
	    bench_peak_rss_kib());
	if (mamori_query_engine_new(&cfg, &e) != 0) {
		fprintf(stderr, "query-bench: cannot start the engine\n");
		return 1;
	}
	printf("engine ready: peak RSS %ld KiB; %llu runs per query\n",
	    bench_peak_rss_kib(), (unsigned long long)runs);
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (bench(e, queries[i], runs) != 0)
			goto out;
	rc = 0;
out:
	mamori_query_engine_free(e);
	return rc;
}
