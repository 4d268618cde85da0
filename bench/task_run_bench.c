/*
 * task_run_bench.c - cost of tasks through the agent's runner on this
 * host: the QUERY task `SELECT * FROM processes` (engine, JSON text and
 * TaskResult, as the agent would send it) and the RUN_COMMAND task
 * `/bin/true` (one program through posix_spawn, pipe and reaping); then,
 * once each, the collect tasks HASH_PATH /usr/bin and YARA_SCAN /usr/bin
 * with the JPCERT/CC Tick rules of the shared corpora.
 *
 * Usage: task-run-bench [--runs N]   (default 20 runs of each)
 * Prints the machine, then one line per task: wall and CPU time per run
 * (mean and worst), result size, and the process's peak RSS before and
 * after.  Changes nothing on the host.
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
#include "task_run.h"
#include "util.h"

#define BENCH_RUNS_DEFAULT 20
#define BENCH_RUNS_MAX 10000

/* Runs body runs times and prints one line; 0 or the first failure. */
static int
bench(const char *label, const struct mamori_task_env *env,
    const Mamori__TaskBody *body, uint64_t runs)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	double w0, c0, w, worst = 0, wall = 0, cpu;
	long rss0 = bench_peak_rss_kib();
	size_t bytes = 0;
	uint64_t i;
	int r;

	c0 = bench_cpu_seconds();
	for (i = 0; i < runs; i++) {
		w0 = bench_wall_seconds();
		r = mamori_task_execute(env, body, &res);
		w = bench_wall_seconds() - w0;
		if (r != 0) {
			fprintf(stderr, "%s failed: %s\n", label, res.message);
			mamori_task_result_clear(&res);
			return r;
		}
		bytes = strlen(res.query_json) + res.output.len;
		for (size_t k = 0; k < res.n_hashes; k++)
			bytes += strlen(res.hashes[k]->path) + 64;
		wall += w;
		if (w > worst)
			worst = w;
		if (i + 1 < runs)
			mamori_task_result_clear(&res);
	}
	cpu = bench_cpu_seconds() - c0;
	printf("%-34s %s, %zu bytes; wall %.2f ms mean, %.2f ms worst; "
	    "cpu %.2f ms/run (runner only); peak RSS %ld KiB before, "
	    "%ld KiB after\n", label, res.message, bytes,
	    wall * 1000 / (double)runs, worst * 1000,
	    cpu * 1000 / (double)runs, rss0, bench_peak_rss_kib());
	mamori_task_result_clear(&res);
	return 0;
}

int
main(int argc, char **argv)
{
	struct mamori_query_config cfg = {"", 1};
	struct mamori_task_env env;
	Mamori__TaskBody q = MAMORI__TASK_BODY__INIT;
	Mamori__QueryParams qp = MAMORI__QUERY_PARAMS__INIT;
	Mamori__TaskBody c = MAMORI__TASK_BODY__INIT;
	Mamori__RunCommandParams cp = MAMORI__RUN_COMMAND_PARAMS__INIT;
	char *true_argv[] = {"/bin/true"};
	Mamori__TaskBody h = MAMORI__TASK_BODY__INIT;
	Mamori__HashPathParams hp = MAMORI__HASH_PATH_PARAMS__INIT;
	Mamori__TaskBody y = MAMORI__TASK_BODY__INIT;
	Mamori__YaraScanParams yp = MAMORI__YARA_SCAN_PARAMS__INIT;
	uint64_t runs = BENCH_RUNS_DEFAULT;
	int r;

	if (argc == 3 && strcmp(argv[1], "--runs") == 0) {
		if (mamori_parse_u64(argv[2], 1, BENCH_RUNS_MAX, &runs) != 0) {
			fprintf(stderr, "task-run-bench: --runs takes 1..%d\n",
			    BENCH_RUNS_MAX);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: task-run-bench [--runs N]\n");
		return 2;
	}
	bench_print_machine(stdout);
	memset(&env, 0, sizeof(env));
	if ((r = mamori_query_engine_new(&cfg, &env.query)) != 0) {
		fprintf(stderr, "task-run-bench: cannot start the query engine: "
		    "%s\n", mamori_strerror(r));
		return 1;
	}
	qp.sql = "SELECT * FROM processes";
	q.type = MAMORI__TASK_TYPE__TASK_TYPE_QUERY;
	q.params_case = MAMORI__TASK_BODY__PARAMS_QUERY;
	q.query = &qp;
	cp.argv = true_argv;
	cp.n_argv = 1;
	c.type = MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND;
	c.params_case = MAMORI__TASK_BODY__PARAMS_RUN_COMMAND;
	c.run_command = &cp;
	printf("%llu runs each\n", (unsigned long long)runs);
	r = bench("QUERY SELECT * FROM processes", &env, &q, runs);
	if (r == 0)
		r = bench("RUN_COMMAND /bin/true", &env, &c, runs);
	hp.path = "/usr/bin";
	h.type = MAMORI__TASK_TYPE__TASK_TYPE_HASH_PATH;
	h.params_case = MAMORI__TASK_BODY__PARAMS_HASH_PATH;
	h.hash_path = &hp;
	if (r == 0)
		r = bench("HASH_PATH /usr/bin", &env, &h, 1);
	yp.path = "/usr/bin";
	y.type = MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN;
	y.params_case = MAMORI__TASK_BODY__PARAMS_YARA_SCAN;
	y.yara_scan = &yp;
	env.yara_rules_dir = CORPORA "/yara";
	if (r == 0)
		r = bench("YARA_SCAN /usr/bin (JPCERT/CC)", &env, &y, 1);
	mamori_query_engine_free(env.query);
	return r == 0 ? 0 : 1;
}
