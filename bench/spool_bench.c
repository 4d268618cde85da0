/*
 * spool_bench.c - how fast the agent's spool takes events, on this disk.
 *
 * Appends N process events of about 300 bytes to a fresh spool twice: with
 * the shipped policy (mamori_spool_sync at most every MAMORI_SPOOL_SYNC_MS,
 * driven by the clock as the agent's timer would) and with a sync after
 * every append, for comparison.  Prints events/s and MB/s for each, the
 * machine, the file system, and the worst-case loss window on power
 * failure.  Works only inside its own temporary directory (under --dir,
 * default /var/tmp so it measures a disk, not tmpfs) and removes it.
 *
 *   spool-bench [--count N] [--fsync-count N] [--dir DIR]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "err.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define BENCH_COUNT_DEFAULT 200000
#define BENCH_FSYNC_COUNT_DEFAULT 5000
#define BENCH_COUNT_MAX 100000000
#define BENCH_PATH_MAX 4096
#define BENCH_CMDLINE_LEN 120

struct bench_result {
	uint64_t events;
	uint64_t bytes;         /* spool bytes on disk at the end */
	uint64_t syncs;
	double seconds;
};

/* The machine line, then this program's own: the spool's file system. */
static void
print_machine(const char *dir)
{
	struct statfs fs;
	const char *fstype = "other";

	if (statfs(dir, &fs) == 0) {
		switch (fs.f_type) {
		case 0xef53:
			fstype = "ext2/3/4";
			break;
		case 0x58465342:
			fstype = "xfs";
			break;
		case 0x9123683e:
			fstype = "btrfs";
			break;
		case 0x01021994:
			fstype = "tmpfs";
			break;
		case 0x794c7630:
			fstype = "overlayfs";
			break;
		default:
			break;
		}
	}
	bench_print_machine(stdout);
	printf("spool directory: %s (%s)\n", dir, fstype);
}

/* A process start as the collector would report it, about 300 bytes. */
static void
event_fill(Mamori__Event *ev, Mamori__ProcessEvent *p, char *cmd,
    uint64_t i)
{
	mamori__event__init(ev);
	mamori__process_event__init(p);
	snprintf(cmd, BENCH_CMDLINE_LEN, "/usr/bin/python3 "
	    "/opt/app/bin/worker.py --queue jobs-%llu --concurrency 4 "
	    "--log-level info --retries 3", (unsigned long long)(i % 1000));
	p->action = MAMORI__PROCESS_EVENT__ACTION__START;
	p->pid = (uint32_t)(10000 + i % 50000);
	p->ppid = 1234;
	p->executable = "/usr/bin/python3.11";
	p->sha256 = "6b86b273ff34fce19d6b804eff5a3f57"
	    "47ada4eaa22f1d49c01e52ddb7875b4b";
	p->command_line = cmd;
	p->working_directory = "/opt/app";
	p->uid = 1001;
	p->user_name = "app";
	p->parent_executable = "/usr/lib/systemd/systemd";
	p->parent_command_line = "/usr/lib/systemd/systemd --user";
	p->euid = 1001;
	p->tty = "pts/3";
	ev->time_ns = (uint64_t)time(NULL) * 1000000000ULL + i;
	ev->body_case = MAMORI__EVENT__BODY_PROCESS;
	ev->process = p;
}

/* Removes the files a spool made in dir, then dir. */
static void
spool_remove(const char *dir)
{
	char path[BENCH_PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (mamori_path_join(path, sizeof(path), dir,
		    de->d_name) == 0)
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * Appends count events to a fresh spool in dir.  every_append: sync after
 * each append; otherwise whenever MAMORI_SPOOL_SYNC_MS have passed since
 * the last sync, and once at the end.
 */
static int
bench_run(const char *dir, uint64_t count, int every_append,
    struct bench_result *res)
{
	struct mamori_spool_stats st;
	struct mamori_spool *sp = NULL;
	Mamori__Event ev;
	Mamori__ProcessEvent proc;
	char cmd[BENCH_CMDLINE_LEN];
	uint64_t i, seq, last_sync;
	double start;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = mamori_spool_open(dir, MAMORI_SPOOL_MAX_DEFAULT, &sp)) != 0)
		goto out;
	start = bench_wall_seconds();
	last_sync = mamori_monotonic_ms();
	for (i = 0; i < count; i++) {
		event_fill(&ev, &proc, cmd, i);
		if ((r = mamori_spool_append(sp, &ev, &seq)) != 0)
			goto out;
		if (every_append ||
		    mamori_monotonic_ms() - last_sync >= MAMORI_SPOOL_SYNC_MS) {
			if ((r = mamori_spool_sync(sp)) != 0)
				goto out;
			last_sync = mamori_monotonic_ms();
			res->syncs++;
		}
	}
	if ((r = mamori_spool_sync(sp)) != 0)
		goto out;
	res->syncs++;
	res->seconds = bench_wall_seconds() - start;
	mamori_spool_stats(sp, &st);
	res->events = count;
	res->bytes = st.bytes;
	r = 0;
out:
	mamori_spool_close(sp);
	spool_remove(dir);
	return r;
}

static void
report(const char *name, const struct bench_result *res)
{
	double eps = (double)res->events / res->seconds;

	printf("%-30s %9llu events in %7.3f s: %10.0f events/s, "
	    "%7.1f MB/s, %llu syncs\n", name,
	    (unsigned long long)res->events, res->seconds, eps,
	    (double)res->bytes / res->seconds / 1e6,
	    (unsigned long long)res->syncs);
}

static void
usage(void)
{
	fprintf(stderr, "usage: spool-bench [--count N] [--fsync-count N] "
	    "[--dir DIR]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bench_result policy, every;
	const char *base = "/var/tmp";
	char root[BENCH_PATH_MAX], dir[BENCH_PATH_MAX], label[64];
	uint64_t count = BENCH_COUNT_DEFAULT;
	uint64_t fsync_count = BENCH_FSYNC_COUNT_DEFAULT;
	Mamori__Event ev;
	Mamori__ProcessEvent proc;
	char cmd[BENCH_CMDLINE_LEN];
	int i, r;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--count") == 0) {
			if (mamori_parse_u64(argv[++i], 1, BENCH_COUNT_MAX,
			    &count) != 0)
				usage();
		} else if (strcmp(argv[i], "--fsync-count") == 0) {
			if (mamori_parse_u64(argv[++i], 1, BENCH_COUNT_MAX,
			    &fsync_count) != 0)
				usage();
		} else if (strcmp(argv[i], "--dir") == 0)
			base = argv[++i];
		else
			usage();
	}
	mamori_log_init("spool-bench", MAMORI_LOG_ERROR);
	if ((size_t)snprintf(root, sizeof(root), "%s/mamori-spool-bench-XXXXXX",
	    base) >= sizeof(root) || mkdtemp(root) == NULL ||
	    mamori_path_join(dir, sizeof(dir), root, "spool") != 0) {
		fprintf(stderr, "spool-bench: cannot make a directory in %s\n",
		    base);
		return 1;
	}
	print_machine(root);
	event_fill(&ev, &proc, cmd, 0);
	ev.seq = (uint64_t)count;
	printf("event: ProcessEvent, %zu bytes serialized (+8 record "
	    "header)\n", protobuf_c_message_get_packed_size(&ev.base));

	if ((r = bench_run(dir, count, 0, &policy)) != 0 ||
	    (r = bench_run(dir, fsync_count, 1, &every)) != 0) {
		fprintf(stderr, "spool-bench: %s\n", mamori_strerror(r));
		rmdir(root);
		return 1;
	}
	rmdir(root);
	snprintf(label, sizeof(label), "sync every %d ms (shipped):",
	    MAMORI_SPOOL_SYNC_MS);
	report(label, &policy);
	report("fdatasync after every append:", &every);
	printf("worst-case loss on power failure with the shipped policy: "
	    "the last %d ms of events, at most %.0f events at the rate "
	    "above; a process crash loses nothing (written with write(2) "
	    "before append returns)\n", MAMORI_SPOOL_SYNC_MS,
	    (double)policy.events / policy.seconds * MAMORI_SPOOL_SYNC_MS /
	    1000.0);
	return 0;
}
