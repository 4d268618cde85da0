/*
 * task_bench.c - how many signed tasks an agent can verify per second
 * (mamori_task_verify: strict decode, policy checks, Ed25519 signatures,
 * replay set), for a 1-signature collect task and a 2-of-3 change task,
 * with the replay set in memory and, for a smaller run, on disk (one
 * atomic, fsynced write per accepted task).
 *
 *   task-bench [--count N]      (default 20000)
 *
 * Each line gives the rate by the wall clock and by the process's CPU
 * time: on a machine shared with other work the wall clock says more
 * about the neighbours than about mamori.
 *
 * Tasks are signed before the clock starts; each has its own id, so every
 * verification is a full one that ends in acceptance.  Prints what it
 * measured and on what machine.  Never run as a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "util.h"
#include "../tests/unit/trust_fixture.h"

#define BENCH_DEFAULT_COUNT 20000
#define BENCH_DISK_COUNT 500
#define BENCH_MAX_COUNT 1000000

/* n tasks of type, each signed by the first nsig admins. */
static struct mamori_buf *
make_tasks(const struct fx *f, size_t n, int type, size_t nsig)
{
	struct mamori_buf *tasks = calloc(n, sizeof(*tasks));
	size_t i, j;

	if (tasks == NULL)
		abort();
	for (i = 0; i < n; i++) {
		uint8_t id[MAMORI_TASK_ID_LEN] = {0};
		struct fx_task_opts o = {
			.type = type, .agent = "agent-1",
			.not_before = FX_NOW - 60, .not_after = FX_NOW + 3600,
			.id = id,
		};

		memcpy(id, &i, sizeof(i));
		mamori_buf_init(&tasks[i], MAMORI_TASK_MAX_BYTES);
		fx_task(&o, &tasks[i]);
		for (j = 0; j < nsig; j++)
			fx_sign(f, j, &tasks[i]);
	}
	return tasks;
}

static void
run(const char *label, const struct fx *f, struct mamori_policy *p,
    int type, size_t nsig, size_t n, const char *seen_path)
{
	struct mamori_buf *tasks = make_tasks(f, n, type, nsig);
	struct mamori_seen_set *seen = NULL;
	struct mamori_decision d;
	struct mamori_task *t;
	double t0, t1, c0, c1;
	size_t i;

	if (seen_path != NULL)
		unlink(seen_path);
	if (mamori_seen_open(seen_path, FX_NOW, &seen) != 0)
		abort();
	t0 = bench_clock_seconds(CLOCK_MONOTONIC);
	c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < n; i++) {
		if (mamori_task_verify(p, "agent-1", FX_NOW, seen,
		    tasks[i].data, tasks[i].len, &t, &d) != 0) {
			fprintf(stderr, "task %zu refused: %s: %s\n", i,
			    mamori_decision_name(d.reason), d.detail);
			exit(1);
		}
		mamori_task_free(t);
	}
	t1 = bench_clock_seconds(CLOCK_MONOTONIC);
	c1 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	/* Wall clock, and CPU time, which a busy shared machine inflates
	 * less. */
	printf("%-42s %6zu tasks %7.0f/s wall %7.1f us each, %7.0f/s CPU "
	    "%7.1f us each\n", label, n, (double)n / (t1 - t0),
	    (t1 - t0) * 1e6 / (double)n, (double)n / (c1 - c0),
	    (c1 - c0) * 1e6 / (double)n);
	mamori_seen_free(seen);
	for (i = 0; i < n; i++)
		mamori_buf_free(&tasks[i]);
	free(tasks);
	if (seen_path != NULL)
		unlink(seen_path);
}

int
main(int argc, char **argv)
{
	const struct fx_policy_opts po = {
		.version = 1, .observe_from_server = 1, .quorum_collect = 1,
		.quorum_change = 2, .n_admins = 3,
	};
	struct mamori_policy *p;
	struct fx f;
	uint64_t count = BENCH_DEFAULT_COUNT;
	char dir[] = "/tmp/mamori-task-bench.XXXXXX", path[64];

	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		if (mamori_parse_u64(argv[2], 1, BENCH_MAX_COUNT,
		    &count) != 0) {
			fprintf(stderr, "task-bench: --count must be 1 to %d\n",
			    BENCH_MAX_COUNT);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: task-bench [--count N]\n");
		return 2;
	}
	bench_print_machine(stdout);
	fx_init(&f);
	p = fx_policy(&f, &po);
	run("collect (read_file), 1 signature, memory", &f, p,
	    MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE, 1, (size_t)count, NULL);
	run("change (run_command), 2 of 3, memory", &f, p,
	    MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND, 2, (size_t)count, NULL);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, MAMORI_SEEN_FILE);
	run("collect, 1 signature, replay set on disk", &f, p,
	    MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE, 1, BENCH_DISK_COUNT, path);
	rmdir(dir);
	mamori_policy_free(p);
	fx_free(&f);
	return 0;
}
