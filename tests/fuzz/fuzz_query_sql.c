/*
 * fuzz_query_sql.c - libFuzzer target for the live-query engine: the input
 * is SQL text, run by one long-lived engine over a small host tree this
 * harness writes once under a private temporary directory.
 *
 * Whatever the text, the engine must return 0 or one of its own error
 * codes, stop within its (short) timeout plus slack, keep its result under
 * the caps it was given, and answer the next query: each check aborts
 * otherwise.  The engine must never write: the harness checks that the
 * tree it made is unchanged (file count and sizes) after every input.
 * The tree is removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "query.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (MAMORI_QUERY_SQL_MAX + 16)
#define FUZZ_TIMEOUT_MS 200
#define FUZZ_SLACK_MS 5000              /* sanitizers are slow */
#define FUZZ_ROWS 1000
#define FUZZ_BYTES (64 * 1024)

static const struct {
	const char *path;
	const char *data;
} tree[] = {
	{"/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
	    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"},
	{"/etc/group", "root:x:0:\nusers:x:100:alice\n"},
	{"/etc/os-release", "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
	    "VERSION=\"12 (bookworm)\"\nID=debian\n"},
	{"/etc/crontab", "SHELL=/bin/sh\n17 * * * * root run-parts x\n"
	    "@reboot root /bin/true\n"},
	{"/home/alice/.ssh/authorized_keys",
	    "ssh-ed25519 AAAAFUZZ alice@x\nfrom=\"a b\" ssh-rsa AAAAB c\n"},
	{"/proc/stat", "btime 1700000000\n"},
	{"/proc/1/stat", "1 (init) S 0 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 "
	    "10 1000 10 0\n"},
	{"/proc/1/status", "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"},
	{"/proc/1/cmdline", "/sbin/init\0splash"},
	{"/proc/net/tcp", "  sl  local_address rem_address   st tx_queue "
	    "rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    "   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0\n"},
	{"/proc/modules", "dm_crypt 65536 1 - Live 0x0\n"},
	{"/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"},
	{"/var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\n"
	    "Architecture: amd64\nVersion: 5.2-1\n\n"},
	{"/lib/systemd/system/a.service", "[Unit]\nDescription=A\n"
	    "[Install]\nWantedBy=multi-user.target\n"},
	{"/data/a.txt", "abc"},
};
#define NTREE (sizeof(tree) / sizeof(tree[0]))

static char root[64];
static struct mamori_query_engine *engine;

static void
tree_remove(void)
{
	char path[512], *slash;
	size_t i;

	for (i = 0; i < NTREE; i++) {
		snprintf(path, sizeof(path), "%s%s", root, tree[i].path);
		unlink(path);
		/* Remove the now-empty parents up to the root. */
		while ((slash = strrchr(path, '/')) != NULL &&
		    (size_t)(slash - path) > strlen(root)) {
			*slash = '\0';
			if (rmdir(path) != 0 && errno != ENOENT)
				break;
		}
	}
	rmdir(root);
	mamori_query_engine_free(engine);
}

static void
make_dirs(char *path)
{
	char *p;

	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			abort();
		*p = '/';
	}
}

static void
setup(void)
{
	struct mamori_query_config cfg;
	char path[512];
	size_t i, len;
	int fd;

	snprintf(root, sizeof(root), "/tmp/mamori-fuzz-query.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	for (i = 0; i < NTREE; i++) {
		snprintf(path, sizeof(path), "%s%s", root, tree[i].path);
		make_dirs(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
		if (fd < 0)
			abort();
		/* cmdline holds a NUL: write the literal's full length. */
		len = strcmp(tree[i].path, "/proc/1/cmdline") == 0 ?
		    sizeof("/sbin/init\0splash") - 1 : strlen(tree[i].data);
		if (write(fd, tree[i].data, len) != (ssize_t)len)
			abort();
		close(fd);
	}
	cfg.root = root;
	cfg.live = 0;
	if (mamori_query_engine_new(&cfg, &engine) != 0)
		abort();
	atexit(tree_remove);
}

struct bound {
	uint64_t rows, bytes;
};

static int
count(void *ud, size_t ncols, const char *const *names,
    const struct mamori_query_value *values)
{
	struct bound *b = ud;
	size_t i;

	(void)names;
	if (values == NULL)
		return 0;
	b->rows++;
	for (i = 0; i < ncols; i++)
		b->bytes += values[i].type == MAMORI_QUERY_TEXT ?
		    values[i].len : 8;
	return 0;
}

/* The tree is as the harness wrote it. */
static void
check_tree(void)
{
	char path[512];
	struct stat sb;
	size_t i;

	for (i = 0; i < NTREE; i++) {
		snprintf(path, sizeof(path), "%s%s", root, tree[i].path);
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_query_limits lim = {FUZZ_TIMEOUT_MS, FUZZ_ROWS,
	    FUZZ_BYTES};
	struct bound b = {0, 0};
	char err[MAMORI_QUERY_ERR_MAX];
	char *sql;
	uint64_t t0, took;
	int r;

	if (engine == NULL)
		setup();
	if (size > FUZZ_MAX_INPUT)
		return 0;
	if ((sql = mamori_memdup_str(data, size)) == NULL)
		return 0;
	t0 = mamori_monotonic_ms();
	r = mamori_query_run(engine, sql, &lim, count, &b, err, sizeof(err));
	took = mamori_monotonic_ms() - t0;
	free(sql);
	if (r != 0 && r != MAMORI_ERR_QUERY_SQL && r != MAMORI_ERR_QUERY_DENIED &&
	    r != MAMORI_ERR_QUERY_TIMEOUT && r != MAMORI_ERR_QUERY_TOO_LARGE &&
	    r != MAMORI_ERR_QUERY_TABLE)
		abort();
	if (r != 0 && err[0] == '\0')
		abort();                /* every failure says why */
	if (took > FUZZ_TIMEOUT_MS + FUZZ_SLACK_MS)
		abort();
	if (b.rows > FUZZ_ROWS || b.bytes > FUZZ_BYTES)
		abort();
	b.rows = 0;
	if (mamori_query_run(engine, "SELECT 1", &lim, count, &b, err,
	    sizeof(err)) != 0 || b.rows != 1)
		abort();
	check_tree();
	return 0;
}
