/*
 * bench_util.h - what every benchmark program in bench/ shares: the machine
 * it ran on (kernel, architecture, online cores, CPU model), the clocks it
 * times with, and the memory a process holds.  One copy, so that every
 * benchmark reports its machine and its times the same way.
 *
 * Linked only into the programs under bench/; never into mamori's own
 * programs or tests.  It must never decide what a benchmark measures or
 * how it reports it: each program keeps its own numbers and output lines
 * (and anything extra it says about the machine, such as a file system).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

#define BENCH_MODEL_MAX 256    /* bytes of the CPU model name kept */

struct bench_machine {
	struct utsname uts;    /* all empty strings when uname(2) failed */
	long cores;            /* processors online, -1 if unknown */
	char model[BENCH_MODEL_MAX]; /* first "model name", or "unknown" */
};

/* Fills m from uname(2), sysconf and /proc/cpuinfo.  Returns 0, or -1 when
 * uname failed (m is filled all the same, with empty uname fields). */
int bench_machine_get(struct bench_machine *m);

/* Writes the usual line to out:
 *   "machine: SYSNAME RELEASE ARCH, N cores, MODEL\n" */
void bench_print_machine(FILE *out);

/* Seconds of the given clock (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID, ...); 0 if the clock cannot be read. */
double bench_clock_seconds(clockid_t id);

/* Seconds of the monotonic wall clock: only differences mean anything. */
double bench_wall_seconds(void);

/* User plus system CPU seconds of this process so far, from getrusage(2)
 * (microsecond resolution); 0 if it cannot be read.  For a nanosecond CPU
 * clock use bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID). */
double bench_cpu_seconds(void);

/* Peak resident set of this process so far in KiB (ru_maxrss), or -1. */
long bench_peak_rss_kib(void);

/* Current resident set (VmRSS in /proc/PID/status) in KiB of process pid,
 * or of this process when pid is 0; -1 if it cannot be read. */
long bench_rss_kib(long pid);

#endif
