/*
 * test_query.c - the live-query engine and its tables.
 *
 * Every table runs over recorded fixture trees (FIXTURES/collect/host1 for
 * the tables built on inventory collectors, FIXTURES/query/host1 for the
 * others) with exact expected rows.  Then the guards: tables that need a
 * path refuse a query without one, every kind of write, ATTACH, PRAGMA,
 * transaction and forbidden function is refused with its message, a
 * runaway query stops at its timeout, a huge result at its caps - and
 * after each failure the same engine answers the next query.  Tests must
 * never change the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "query.h"
#include "util.h"

#define COLLECT_HOST1 FIXTURES "/collect/host1"
#define QUERY_HOST1 FIXTURES "/query/host1"

static struct mamori_query_engine *
engine(const char *root)
{
	struct mamori_query_config cfg = {root, 0};
	struct mamori_query_engine *e = NULL;

	assert_int_equal(mamori_query_engine_new(&cfg, &e), 0);
	assert_non_null(e);
	return e;
}

/* The rows of sql as compact JSON; fails the test on a query error. */
static char *
rows_of(struct mamori_query_engine *e, const char *sql)
{
	char err[MAMORI_QUERY_ERR_MAX];
	json_t *j = NULL;
	char *s;
	int r;

	r = mamori_query_json(e, sql, NULL, &j, err, sizeof(err));
	if (r != 0)
		fail_msg("%s: %s", sql, err);
	s = json_dumps(json_object_get(j, "rows"), JSON_COMPACT);
	assert_non_null(s);
	json_decref(j);
	return s;
}

static void
expect_rows(struct mamori_query_engine *e, const char *sql,
    const char *rows)
{
	char *got = rows_of(e, sql);

	if (strcmp(got, rows) != 0)
		fail_msg("%s\n got: %s\nwant: %s", sql, got, rows);
	free(got);
}

/* sql fails with code and exactly msg. */
static void
expect_error(struct mamori_query_engine *e, const char *sql,
    const struct mamori_query_limits *lim, int code, const char *msg)
{
	char err[MAMORI_QUERY_ERR_MAX];
	json_t *j = NULL;
	int r;

	r = mamori_query_json(e, sql, lim, &j, err, sizeof(err));
	if (r != code || strcmp(err, msg) != 0)
		fail_msg("%s\n got: %d %s\nwant: %d %s", sql, r, err, code,
		    msg);
	assert_null(j);
	/* The engine still answers. */
	expect_rows(e, "SELECT 1 + 1", "[[2]]");
}

/* ---- tables built on the inventory collectors -------------------------- */

static void
test_inventory_tables(void **state)
{
	struct mamori_query_engine *e = engine(COLLECT_HOST1);

	(void)state;
	expect_rows(e, "SELECT name, version, source, arch, revision, status, "
	    "admindir FROM deb_packages WHERE name IN ('libc6', 'oldpkg') "
	    "ORDER BY name, arch",
	    "[[\"libc6\",\"2.36-9+deb12u4\",\"glibc\",\"amd64\",\"9+deb12u4\","
	    "\"installed\",\"/var/lib/dpkg\"],"
	    "[\"libc6\",\"2.36-9+deb12u4\",\"glibc\",\"i386\",\"9+deb12u4\","
	    "\"installed\",\"/var/lib/dpkg\"],"
	    "[\"oldpkg\",\"1:1.0-1\",\"\",\"all\",\"1\",\"config-files\","
	    "\"/var/lib/dpkg\"]]");
	expect_rows(e, "SELECT count(*) FROM deb_packages", "[[8]]");
	expect_rows(e, "SELECT uid, gid, uid_signed, username, description, "
	    "directory, shell FROM users WHERE uid >= 1000 ORDER BY uid",
	    "[[1000,1000,1000,\"alice\",\"Alice Example,Room 1,,\","
	    "\"/home/alice\",\"/bin/bash\"],"
	    "[1001,1001,1001,\"noshell\",\"\",\"/nonexistent\",\"\"],"
	    "[4294967295,4294967295,-1,\"maxuid\",\"\",\"/\",\"/bin/sh\"]]");
	expect_rows(e, "SELECT gid, gid_signed, groupname FROM groups ORDER BY "
	    "gid", "[[0,0,\"root\"],[27,27,\"sudo\"],[100,100,\"users\"],"
	    "[200,200,\"empty\"]]");
	expect_rows(e, "SELECT name, size, used_by, status FROM kernel_modules",
	    "[[\"nf_tables\",344064,\"nft_chain_nat,nft_compat\",\"Live\"],"
	    "[\"dm_crypt\",65536,\"\",\"Live\"],"
	    "[\"vboxdrv\",696320,\"vboxnetadp,vboxnetflt\",\"Live\"],"
	    "[\"loading_mod\",4096,\"\",\"Loading\"]]");
	expect_rows(e, "SELECT usb_address, usb_port, vendor, vendor_id, model, "
	    "model_id, serial, class, removable FROM usb_devices ORDER BY "
	    "usb_port",
	    "[[1,0,\"Linux 6.1.0-18-amd64 xhci-hcd\",\"1d6b\","
	    "\"xHCI Host Controller\",\"0002\",\"0000:00:14.0\",\"09\",-1],"
	    "[1,1,\"SanDisk\",\"0781\",\"Ultra Fit\",\"5583\","
	    "\"4C530001234567891234\",\"00\",-1],"
	    "[1,2,\"\",\"046d\",\"USB Receiver\",\"c52b\",\"\",\"00\",-1]]");
	expect_rows(e, "SELECT interface, address, mask FROM "
	    "interface_addresses ORDER BY interface, address",
	    "[[\"eth0\",\"2001:db8::1\",\"ffff:ffff:ffff:ffff::\"],"
	    "[\"eth0\",\"fe80::5054:ff:fe12:34ea\",\"ffff:ffff:ffff:ffff::\"],"
	    "[\"lo\",\"::1\",\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\"]]");
	expect_rows(e, "SELECT name, version, major, minor, patch, platform, "
	    "codename FROM os_version",
	    "[[\"Debian GNU/Linux\",\"12 (bookworm)\",12,0,0,\"debian\","
	    "\"bookworm\"]]");
	expect_rows(e, "SELECT hostname, cpu_brand, cpu_physical_cores, "
	    "cpu_logical_cores, physical_memory, hardware_vendor FROM "
	    "system_info",
	    "[[\"fixture-host\",\"Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\","
	    "2,4,16706134016,\"QEMU\"]]");
	expect_rows(e, "SELECT pid, port, protocol, family, address, socket "
	    "FROM listening_ports ORDER BY socket",
	    "[[1234,22,6,2,\"127.0.0.1\",1001],[555,80,6,2,\"0.0.0.0\",1002],"
	    "[1234,22,6,10,\"::\",1003],[-1,8080,6,10,\"::ffff:127.0.0.1\","
	    "1004],[-1,68,17,2,\"0.0.0.0\",2001],[555,53,17,10,\"::1\",2002]]");
	expect_rows(e, "SELECT pid, fd, socket, family, protocol, local_port, "
	    "state FROM process_open_sockets ORDER BY pid, fd",
	    "[[555,6,1002,2,6,80,\"LISTEN\"],[555,7,2002,10,17,53,\"\"],"
	    "[1234,3,1001,2,6,22,\"LISTEN\"],[1234,4,1003,10,6,22,\"LISTEN\"],"
	    "[2000,3,1001,2,6,22,\"LISTEN\"]]");
	/* An older tree without mountinfo: /proc/self/mounts. */
	expect_rows(e, "SELECT device, path, type, flags, blocks FROM mounts "
	    "WHERE path LIKE '/home/%'",
	    "[[\"/dev/mapper/home_crypt\",\"/home/my files\",\"ext4\","
	    "\"rw,relatime\",null]]");
	mamori_query_engine_free(e);
}

/* ---- tables with readers of their own ---------------------------------- */

static void
test_processes(void **state)
{
	struct mamori_query_engine *e = engine(QUERY_HOST1);
	char want[2048];
	long hz = sysconf(_SC_CLK_TCK);

	(void)state;
	snprintf(want, sizeof(want),
	    "[[100,\"sleep\",\"/usr/bin/sleep\",\"sleep 3600\",\"S\","
	    "\"/home/alice\",\"/\",1000,1000,1000,1000,1000,1000,1,0,%ld,"
	    "8192000,%ld,%ld,4096,8192,%ld,1,100,1,0,"
	    "\"/user.slice/user-1000.slice\"],"
	    "[200,\"evil (x) y\",\"/tmp/evil\",\"\",\"R\",null,null,0,0,0,0,0,"
	    "0,0,0,%ld,1000,%ld,0,null,null,%ld,100,200,3,-5,null]]",
	    300L * sysconf(_SC_PAGESIZE), 250L * 1000 / hz, 50L * 1000 / hz,
	    1700000000L + 1000 / hz, 10L * sysconf(_SC_PAGESIZE),
	    100L * 1000 / hz, 1700000000L + 500 / hz);
	expect_rows(e, "SELECT * FROM processes ORDER BY pid", want);
	/* pid is a key: = and IN read only the pids named. */
	expect_rows(e, "SELECT pid, name FROM processes WHERE pid IN (200, 9, "
	    "100) ORDER BY pid", "[[100,\"sleep\"],[200,\"evil (x) y\"]]");
	expect_rows(e, "SELECT pid FROM processes WHERE pid = 300", "[]");
	expect_rows(e, "SELECT pid FROM processes WHERE pid IN (100.0, '200', "
	    "100.5, 'x', NULL) ORDER BY pid", "[[100],[200]]");
	expect_rows(e, "SELECT * FROM process_open_sockets",
	    "[[200,3,5001,2,6,\"127.0.0.1\",\"12.2.0.9\",8080,50000,\"\","
	    "\"ESTABLISHED\",\"4026531840\"]]");
	expect_rows(e, "SELECT p.name, s.remote_port FROM processes p JOIN "
	    "process_open_sockets s USING (pid)", "[[\"evil (x) y\",50000]]");
	mamori_query_engine_free(e);
}

static void
test_config_tables(void **state)
{
	struct mamori_query_engine *e = engine(QUERY_HOST1);

	(void)state;
	expect_rows(e, "SELECT * FROM mounts",
	    "[[\"/dev/sda1\",\"/dev/sda1\",\"/\",\"ext4\",null,null,null,null,"
	    "null,null,\"rw,relatime\"],"
	    "[\"/dev/sdb1\",\"/dev/sdb1\",\"/mnt/my disk\",\"vfat\",null,null,"
	    "null,null,null,null,\"rw,nosuid\"],"
	    "[\"srv:/export\",\"srv:/export\",\"/net\",\"nfs4\",null,null,null,"
	    "null,null,null,\"rw\"]]");
	expect_rows(e, "SELECT * FROM crontab",
	    "[[\"\",\"17\",\"*\",\"*\",\"*\",\"*\",\"root    cd / && run-parts "
	    "--report /etc/cron.hourly\",\"/etc/crontab\"],"
	    "[\"@reboot\",\"\",\"\",\"\",\"\",\"\",\"root /usr/local/bin/"
	    "boot-task --now\",\"/etc/crontab\"],"
	    "[\"\",\"*/5\",\"*\",\"*\",\"*\",\"*\",\"root /usr/bin/job.sh > "
	    "/dev/null 2>&1\",\"/etc/cron.d/job\"],"
	    "[\"\",\"0\",\"2\",\"*\",\"*\",\"1\",\"/home/alice/backup.sh\","
	    "\"/var/spool/cron/crontabs/alice\"]]");
	/* bob's file is a symlink to /etc/passwd: not followed. */
	expect_rows(e, "SELECT * FROM authorized_keys",
	    "[[1000,\"ssh-ed25519\",\"AAAAC3NzaC1lZDI1NTE5AAAAIFixture1\",\"\","
	    "\"alice@laptop\",\"/home/alice/.ssh/authorized_keys\"],"
	    "[1000,\"ssh-rsa\",\"AAAAB3NzaC1yc2EFixture2\","
	    "\"from=\\\"192.0.2.0/24\\\",command=\\\"echo \\\\\\\"a b\\\\\\\"\\\"\","
	    "\"backup key\",\"/home/alice/.ssh/authorized_keys\"],"
	    "[1000,\"ecdsa-sha2-nistp256\",\"AAAAE2VjZHNhFixture3\",\"\",\"\","
	    "\"/home/alice/.ssh/authorized_keys\"]]");
	expect_rows(e, "SELECT id, description, load_state, active_state, "
	    "sub_state, unit_file_state, object_path, fragment_path FROM "
	    "systemd_units ORDER BY id",
	    "[[\"bar.service\",\"Bar helper\",\"loaded\",null,null,\"static\","
	    "\"/org/freedesktop/systemd1/unit/bar_2eservice\","
	    "\"/lib/systemd/system/bar.service\"],"
	    "[\"baz.service\",\"Local baz override\",\"loaded\",null,null,"
	    "\"disabled\",\"/org/freedesktop/systemd1/unit/baz_2eservice\","
	    "\"/etc/systemd/system/baz.service\"],"
	    "[\"foo.service\",\"Foo daemon\",\"loaded\",\"active\",\"running\","
	    "\"enabled\",\"/org/freedesktop/systemd1/unit/foo_2eservice\","
	    "\"/lib/systemd/system/foo.service\"],"
	    "[\"masked.service\",\"\",\"masked\",null,null,\"masked\","
	    "\"/org/freedesktop/systemd1/unit/masked_2eservice\",\"\"]]");
	expect_rows(e, "SELECT * FROM logged_in_users",
	    "[[\"login\",\"LOGIN\",\"tty1\",\"\",1700000000,700],"
	    "[\"user\",\"alice\",\"pts/0\",\"192.0.2.9\",1700000100,4242]]");
	mamori_query_engine_free(e);
}

static void
test_file_hash(void **state)
{
	struct mamori_query_engine *e = engine(QUERY_HOST1);

	(void)state;
	/* A directory's size depends on the file system: not compared.
	 * data/sub holds only .keep, so that git keeps it. */
	expect_rows(e, "SELECT path, directory, filename, CASE type WHEN "
	    "'directory' THEN 4096 ELSE size END, symlink, type "
	    "FROM file WHERE directory = '/data' ORDER BY path",
	    "[[\"/data/abc.txt\",\"/data\",\"abc.txt\",3,0,\"regular\"],"
	    "[\"/data/empty\",\"/data\",\"empty\",0,0,\"regular\"],"
	    "[\"/data/link\",\"/data\",\"link\",7,1,\"symlink\"],"
	    "[\"/data/sub\",\"/data\",\"sub\",4096,0,\"directory\"]]");
	expect_rows(e, "SELECT path, directory, filename, size FROM file WHERE "
	    "path IN ('/etc/hostname', '/missing', 'relative')",
	    "[[\"/etc/hostname\",\"/etc\",\"hostname\",8]]");
	expect_rows(e, "SELECT path, md5, sha1, sha256 FROM hash WHERE path = "
	    "'/data/abc.txt'",
	    "[[\"/data/abc.txt\",\"900150983cd24fb0d6963f7d28e17f72\","
	    "\"a9993e364706816aba3e25717850c26c9cd0d89d\","
	    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	    "\"]]");
	/* Directories and missing paths have no hash; a symlink is
	 * followed to its file. */
	expect_rows(e, "SELECT path, md5 FROM hash WHERE directory = '/data' "
	    "ORDER BY path",
	    "[[\"/data/abc.txt\",\"900150983cd24fb0d6963f7d28e17f72\"],"
	    "[\"/data/empty\",\"d41d8cd98f00b204e9800998ecf8427e\"],"
	    "[\"/data/link\",\"900150983cd24fb0d6963f7d28e17f72\"]]");
	expect_rows(e, "SELECT f.filename, h.sha1 FROM file f JOIN hash h ON "
	    "h.path = f.path WHERE f.directory = '/data' AND f.size = 3",
	    "[[\"abc.txt\",\"a9993e364706816aba3e25717850c26c9cd0d89d\"]]");
	mamori_query_engine_free(e);
	/* On the live host: a device is described, never opened. */
	e = engine("");
	expect_rows(e, "SELECT type FROM file WHERE path = '/dev/null'",
	    "[[\"character\"]]");
	expect_rows(e, "SELECT * FROM hash WHERE path = '/dev/null'", "[]");
	expect_rows(e, "SELECT count(*) FROM hash WHERE directory = '/dev'",
	    "[[0]]");
	expect_error(e, "SELECT * FROM file", NULL, MAMORI_ERR_QUERY_TABLE,
	    "table file requires a constraint on path or directory");
	expect_error(e, "SELECT * FROM hash WHERE path LIKE '/etc/%'", NULL,
	    MAMORI_ERR_QUERY_TABLE,
	    "table hash requires a constraint on path or directory");
	expect_error(e, "SELECT count(*) FROM file WHERE size > 0", NULL,
	    MAMORI_ERR_QUERY_TABLE,
	    "table file requires a constraint on path or directory");
	mamori_query_engine_free(e);
}

/* ---- guards ------------------------------------------------------------ */

static void
test_refusals(void **state)
{
	static const struct {
		const char *sql;
		int code;
		const char *msg;
	} cases[] = {
		{"INSERT INTO users (uid) VALUES (1)", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: INSERT"},
		{"  /* c */ update users SET uid = 0", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: UPDATE"},
		{"DELETE FROM processes", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: DELETE"},
		{"REPLACE INTO groups VALUES (1, 1, 'x')",
		    MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: REPLACE"},
		{"WITH x AS (SELECT 1) INSERT INTO users (uid) SELECT * FROM x",
		    MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: INSERT"},
		{"CREATE TABLE t (x)", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: CREATE"},
		{"CREATE TEMP VIEW v AS SELECT 1", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: CREATE"},
		{"DROP TABLE users", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: DROP"},
		{"ALTER TABLE users RENAME TO u", MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: ALTER"},
		{"VACUUM INTO '/tmp/mamori-test-query-vacuum.db'",
		    MAMORI_ERR_QUERY_DENIED,
		    "query writes are not allowed: VACUUM"},
		{"ATTACH DATABASE '/tmp/mamori-test-query-attach.db' AS x",
		    MAMORI_ERR_QUERY_DENIED,
		    "query may not attach databases: ATTACH"},
		{"DETACH x", MAMORI_ERR_QUERY_DENIED,
		    "query may not attach databases: DETACH"},
		{"BEGIN", MAMORI_ERR_QUERY_DENIED,
		    "query may not control transactions: BEGIN"},
		{"savepoint a", MAMORI_ERR_QUERY_DENIED,
		    "query may not control transactions: SAVEPOINT"},
		{"PRAGMA writable_schema = 1", MAMORI_ERR_QUERY_DENIED,
		    "query may not use PRAGMA writable_schema (only table_info "
		    "and table_xinfo)"},
		{"PRAGMA journal_mode", MAMORI_ERR_QUERY_DENIED,
		    "query may not use PRAGMA journal_mode (only table_info and "
		    "table_xinfo)"},
		{"SELECT * FROM pragma_function_list", MAMORI_ERR_QUERY_DENIED,
		    "query may not use PRAGMA functions"},
		{"SELECT load_extension('/tmp/evil.so')",
		    MAMORI_ERR_QUERY_DENIED,
		    "query may not call load_extension()"},
		{"SELECT username FROM users WHERE load_extension('x') IS NULL",
		    MAMORI_ERR_QUERY_DENIED,
		    "query may not call load_extension()"},
		{"SELECT 1; DELETE FROM users", MAMORI_ERR_QUERY_SQL,
		    "query must be one statement; remove what follows the "
		    "first ';'"},
		{"SELECT 1; SELECT 2", MAMORI_ERR_QUERY_SQL,
		    "query must be one statement; remove what follows the "
		    "first ';'"},
		{"SELEC 1", MAMORI_ERR_QUERY_SQL, "near \"SELEC\": syntax error"},
		{"SELECT nope FROM users", MAMORI_ERR_QUERY_SQL,
		    "no such column: nope"},
		{"SELECT * FROM shadow", MAMORI_ERR_QUERY_SQL,
		    "no such table: shadow"},
		{" -- only a comment", MAMORI_ERR_QUERY_SQL, "query is empty"},
		{"", MAMORI_ERR_QUERY_SQL, "query is empty"},
		{"SELECT zeroblob(100000000)", MAMORI_ERR_QUERY_TOO_LARGE,
		    "a value in the query exceeds 8388608 bytes"},
	};
	struct mamori_query_engine *e = engine(QUERY_HOST1);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(e, cases[i].sql, NULL, cases[i].code,
		    cases[i].msg);
	/* Nothing was written. */
	assert_int_not_equal(access("/tmp/mamori-test-query-vacuum.db", F_OK),
	    0);
	assert_int_not_equal(access("/tmp/mamori-test-query-attach.db", F_OK),
	    0);
	/* What reads is allowed. */
	expect_rows(e, "PRAGMA table_info(groups)",
	    "[[0,\"gid\",\"INTEGER\",0,null,0],"
	    "[1,\"gid_signed\",\"INTEGER\",0,null,0],"
	    "[2,\"groupname\",\"TEXT\",0,null,0]]");
	expect_rows(e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
	    "FROM c WHERE x < 5) SELECT sum(x) FROM c;  -- done", "[[15]]");
	expect_rows(e, "SELECT value FROM json_each('[1, 2]')", "[[1],[2]]");
	expect_rows(e, "SELECT count(*) FROM sqlite_master", "[[0]]");
	mamori_query_engine_free(e);
}

static void
test_timeout(void **state)
{
	struct mamori_query_limits lim = {500, 0, 0};
	struct mamori_query_engine *e = engine(QUERY_HOST1);
	uint64_t t0, took;

	(void)state;
	t0 = mamori_monotonic_ms();
	expect_error(e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
	    "x + 1 FROM c WHERE x < 10000000000) SELECT count(*) FROM c", &lim,
	    MAMORI_ERR_QUERY_TIMEOUT, "query took longer than 500 ms");
	took = mamori_monotonic_ms() - t0;
	assert_true(took >= 500);
	assert_true(took < 3000);
	lim.timeout_ms = 1000;
	t0 = mamori_monotonic_ms();
	expect_error(e, "SELECT count(*) FROM processes a, processes b, "
	    "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
	    "SELECT x FROM c)", &lim, MAMORI_ERR_QUERY_TIMEOUT,
	    "query took longer than 1 s");
	took = mamori_monotonic_ms() - t0;
	assert_true(took >= 1000 && took < 4000);
	mamori_query_engine_free(e);
}

static void
test_caps(void **state)
{
	struct mamori_query_limits lim = {0, 10, 0};
	struct mamori_query_engine *e = engine(QUERY_HOST1);

	(void)state;
	expect_error(e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
	    "x + 1 FROM c) SELECT x FROM c LIMIT 200000", NULL,
	    MAMORI_ERR_QUERY_TOO_LARGE, "result exceeds 100000 rows");
	expect_error(e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
	    "x + 1 FROM c) SELECT printf('%.1000c', 'x') FROM c LIMIT 20000",
	    NULL, MAMORI_ERR_QUERY_TOO_LARGE, "result exceeds 8 MiB");
	expect_error(e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
	    "x + 1 FROM c) SELECT x FROM c LIMIT 11", &lim,
	    MAMORI_ERR_QUERY_TOO_LARGE, "result exceeds 10 rows");
	lim.rows_max = 0;
	lim.bytes_max = 1000;
	expect_error(e, "SELECT printf('%.2000c', 'x')", &lim,
	    MAMORI_ERR_QUERY_TOO_LARGE, "result exceeds 1000 bytes");
	lim.rows_max = 10;
	lim.bytes_max = 0;
	expect_rows(e, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
	    "x + 1 FROM c) SELECT count(*) FROM (SELECT x FROM c LIMIT 100000)",
	    "[[100000]]");
	mamori_query_engine_free(e);
}

/* ---- the callback API and JSON ----------------------------------------- */

struct seen {
	size_t headers, rows, ncols;
	char first[64];
	int types[4];
};

static int
count_rows(void *ud, size_t ncols, const char *const *names,
    const struct mamori_query_value *values)
{
	struct seen *s = ud;
	size_t i;

	if (values == NULL) {
		s->headers++;
		s->ncols = ncols;
		snprintf(s->first, sizeof(s->first), "%s", names[0]);
		return 0;
	}
	for (i = 0; i < ncols && i < 4; i++)
		s->types[i] = values[i].type;
	return ++s->rows == 2 ? 42 : 0;
}

static void
test_api(void **state)
{
	struct mamori_query_engine *e = engine(QUERY_HOST1);
	struct seen s;
	char err[MAMORI_QUERY_ERR_MAX];
	json_t *j = NULL;
	char *text;
	size_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(mamori_query_run(e, "SELECT 1 AS a, 2.5, NULL, 'x' "
	    "UNION ALL SELECT 2, 3.5, NULL, 'y' UNION ALL SELECT 3, 1, 1, 1",
	    NULL, count_rows, &s, err, sizeof(err)), 42);
	assert_int_equal(s.headers, 1);
	assert_int_equal(s.ncols, 4);
	assert_string_equal(s.first, "a");
	assert_int_equal(s.rows, 2);
	assert_int_equal(s.types[0], MAMORI_QUERY_INT);
	assert_int_equal(s.types[1], MAMORI_QUERY_REAL);
	assert_int_equal(s.types[2], MAMORI_QUERY_NULL);
	assert_int_equal(s.types[3], MAMORI_QUERY_TEXT);
	assert_int_equal(mamori_query_json(e, "SELECT 1 AS n, 0.5 AS r, NULL "
	    "AS z, 'a\"b' AS t", NULL, &j, err, sizeof(err)), 0);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"columns\":[\"n\",\"r\",\"z\",\"t\"],"
	    "\"rows\":[[1,0.5,null,\"a\\\"b\"]]}");
	free(text);
	json_decref(j);
	assert_true(mamori_query_table_names(&n) != NULL);
	assert_int_equal(n, 18);
	mamori_query_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory_tables),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_config_tables),
		cmocka_unit_test(test_file_hash),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
