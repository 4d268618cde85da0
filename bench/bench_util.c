/*
 * bench_util.c - the machine, clocks and memory readings the benchmark
 * programs share (see bench_util.h).
 *
 * Reads only uname(2), sysconf, getrusage(2), the clocks and a few files
 * under /proc; it never writes a file and never prints anything but the
 * machine line it is asked for.  A reading that fails gives a documented
 * placeholder ("unknown", -1, 0) rather than stopping the benchmark.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "util.h"

#define BENCH_PROC_LINE_MAX 512     /* a line of /proc/cpuinfo or status */
#define BENCH_PROC_PATH_MAX 64      /* "/proc/<pid>/status" */

/* The value of the first "model name" line of /proc/cpuinfo, or
 * "unknown". */
static void
cpu_model(char *model, size_t size)
{
	char line[BENCH_PROC_LINE_MAX];
	FILE *f;

	mamori_strlcpy(model, "unknown", size);
	if ((f = fopen("/proc/cpuinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon;

		if (strncmp(line, "model name", 10) != 0 ||
		    (colon = strchr(line, ':')) == NULL)
			continue;
		mamori_strlcpy(model, colon + 2, size);
		model[strcspn(model, "\n")] = '\0';
		break;
	}
	fclose(f);
}

int
bench_machine_get(struct bench_machine *m)
{
	int r = 0;

	memset(m, 0, sizeof(*m));
	if (uname(&m->uts) != 0) {
		memset(&m->uts, 0, sizeof(m->uts));
		r = -1;
	}
	m->cores = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_model(m->model, sizeof(m->model));
	return r;
}

void
bench_print_machine(FILE *out)
{
	struct bench_machine m;

	(void)bench_machine_get(&m);
	fprintf(out, "machine: %s %s %s, %ld cores, %s\n", m.uts.sysname,
	    m.uts.release, m.uts.machine, m.cores, m.model);
}

double
bench_clock_seconds(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_wall_seconds(void)
{
	return bench_clock_seconds(CLOCK_MONOTONIC);
}

double
bench_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

long
bench_peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

long
bench_rss_kib(long pid)
{
	char path[BENCH_PROC_PATH_MAX], line[BENCH_PROC_LINE_MAX];
	long kib = -1;
	FILE *f;

	if (pid == 0)
		mamori_strlcpy(path, "/proc/self/status", sizeof(path));
	else
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		uint64_t v;
		char *p = line + 6;

		if (strncmp(line, "VmRSS:", 6) != 0)
			continue;
		p += strspn(p, " \t");
		p[strcspn(p, " \t\n")] = '\0';
		if (mamori_parse_u64(p, 0, LONG_MAX, &v) == 0)
			kib = (long)v;
		break;
	}
	fclose(f);
	return kib;
}
