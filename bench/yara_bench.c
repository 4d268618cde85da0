/*
 * yara_bench.c - how fast a rule set scans executables on this machine,
 * through the same calls the agent makes (src/detect/yara).
 *
 * Compiles the rule files given (default: the JPCERT/CC Tick rules under
 * ../shared/corpora), then scans every regular file directly in a
 * directory (default /usr/bin; symbolic links are not followed, as in the
 * agent), --passes times.  The first pass is reported apart: it may read
 * from disk, the later ones from the page cache.  Prints the compile time,
 * files/s and MiB/s, the matches, and the machine.  Reads only; writes
 * nothing.
 *
 *   yara-bench [--rules FILE]... [--dir DIR] [--passes N]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "buf.h"
#include "err.h"
#include "util.h"
#include "yara_rules.h"

#define BENCH_RULES_DEFAULT "../shared/corpora/yara/jpcert-tick.yara"
#define BENCH_DIR_DEFAULT "/usr/bin"
#define BENCH_PASSES_DEFAULT 3
#define BENCH_PASSES_MAX 100
#define BENCH_MAX_RULE_FILES 16
#define BENCH_PATH_MAX 4096

struct pass_stats {
	size_t files;
	size_t skipped;
	size_t matches;
	uint64_t bytes;
	double seconds;
};

static int
scan_pass(const mamori_yara_rules_t *rules, const char *dir,
    struct pass_stats *st)
{
	struct mamori_yara_result res;
	struct dirent *de;
	char path[BENCH_PATH_MAX];
	double t0;
	DIR *d;
	int r;

	memset(st, 0, sizeof(*st));
	if ((d = opendir(dir)) == NULL)
		return -1;
	t0 = bench_wall_seconds();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    mamori_path_join(path, sizeof(path), dir, de->d_name) != 0)
			continue;
		r = mamori_yara_scan_file(rules, path, NULL, &res);
		if (r == 0) {
			st->files++;
			st->bytes += res.scanned;
			st->matches += res.n;
		} else {
			st->skipped++; /* links, too large, unreadable */
		}
		mamori_yara_result_free(&res);
	}
	st->seconds = bench_wall_seconds() - t0;
	closedir(d);
	return 0;
}

static void
print_pass(const char *what, const struct pass_stats *st)
{
	double s = st->seconds > 0 ? st->seconds : 1e-9;

	printf("%-22s %6zu files  %8.1f MiB  %6.2f s  %8.1f MiB/s  %8.0f "
	    "files/s  %zu matches, %zu skipped\n", what, st->files,
	    (double)st->bytes / (1024.0 * 1024.0), st->seconds,
	    (double)st->bytes / (1024.0 * 1024.0) / s, (double)st->files / s,
	    st->matches, st->skipped);
}

int
main(int argc, char **argv)
{
	const char *rule_files[BENCH_MAX_RULE_FILES];
	struct mamori_yara_source src[BENCH_MAX_RULE_FILES];
	struct mamori_buf bufs[BENCH_MAX_RULE_FILES];
	struct mamori_yara_messages msgs;
	struct pass_stats st, sum;
	mamori_yara_rules_t *rules = NULL;
	const char *dir = BENCH_DIR_DEFAULT;
	uint64_t passes = BENCH_PASSES_DEFAULT, p;
	size_t nrules = 0, i;
	double t0;
	int r = 1, a;

	memset(bufs, 0, sizeof(bufs));
	memset(&msgs, 0, sizeof(msgs));
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--rules") == 0 && a + 1 < argc &&
		    nrules < BENCH_MAX_RULE_FILES)
			rule_files[nrules++] = argv[++a];
		else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc)
			dir = argv[++a];
		else if (strcmp(argv[a], "--passes") == 0 && a + 1 < argc &&
		    mamori_parse_u64(argv[a + 1], 1, BENCH_PASSES_MAX,
		    &passes) == 0)
			a++;
		else {
			fprintf(stderr, "usage: yara-bench [--rules FILE]... "
			    "[--dir DIR] [--passes 1-%d]\n", BENCH_PASSES_MAX);
			return 2;
		}
	}
	if (nrules == 0)
		rule_files[nrules++] = BENCH_RULES_DEFAULT;
	for (i = 0; i < nrules; i++) {
		mamori_buf_init(&bufs[i], MAMORI_YARA_SOURCE_MAX);
		if (mamori_buf_read_file(&bufs[i], rule_files[i]) != 0) {
			fprintf(stderr, "yara-bench: cannot read %s\n",
			    rule_files[i]);
			goto out;
		}
		src[i].name = rule_files[i];
		src[i].text = (const char *)bufs[i].data;
		src[i].len = bufs[i].len;
	}
	if (mamori_yara_init() != 0)
		goto out;
	bench_print_machine(stdout);
	t0 = bench_wall_seconds();
	if (mamori_yara_compile(src, nrules, &rules, &msgs) != 0) {
		fprintf(stderr, "yara-bench: the rules do not compile\n");
		mamori_yara_finish();
		goto out;
	}
	printf("rules: %zu from %zu files, compiled in %.1f ms\n",
	    mamori_yara_rules_count(rules), nrules,
	    (bench_wall_seconds() - t0) * 1000.0);
	printf("scanning the regular files in %s, %llu passes, one thread, "
	    "fast mode, default limits\n", dir, (unsigned long long)passes);
	memset(&sum, 0, sizeof(sum));
	for (p = 0; p < passes; p++) {
		if (scan_pass(rules, dir, &st) != 0) {
			fprintf(stderr, "yara-bench: cannot list %s\n", dir);
			break;
		}
		if (p == 0) {
			print_pass("first pass:", &st);
			continue;
		}
		sum.files += st.files;
		sum.bytes += st.bytes;
		sum.matches += st.matches;
		sum.skipped += st.skipped;
		sum.seconds += st.seconds;
	}
	if (passes > 1 && p == passes)
		print_pass("later passes (cached):", &sum);
	r = p == passes ? 0 : 1;
	mamori_yara_rules_free(rules);
	mamori_yara_finish();
out:
	mamori_yara_messages_free(&msgs);
	for (i = 0; i < nrules; i++)
		mamori_buf_free(&bufs[i]);
	return r;
}
