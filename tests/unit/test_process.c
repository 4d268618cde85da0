/*
 * test_process.c - the process event source and its audit record parser.
 *
 * Parser tests feed recorded-style audit text (as the kernel writes it:
 * quoted or hex values, arguments split into chunks across records,
 * AppArmor labels with spaces) and check every field, then the ways a
 * record can be wrong: missing fields, bad hex, NULs, huge argc, arguments
 * out of order, another event's id.
 *
 * The live test (root only) starts the real source on a private event
 * loop, runs 1,000 short-lived programs with distinct arguments, and
 * requires at least 99% of them to be reported with their exact command
 * line and exit code.  Where audit is not available (a container, no
 * privilege) it fails and says why; it never passes without looking.
 * After the source stops, the test checks that no audit rule and no audit
 * pid were left behind.  The agent's cost under load is measured by
 * bench/run.sh, not here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/netlink.h>

#include <event2/event.h>

#include "audit_parse.h"
#include "buf.h"
#include "err.h"
#include "event.h"
#include "source.h"
#include "util.h"

extern const struct mamori_event_source mamori_source_process;

#define CORPUS FIXTURES "/../../fuzz/corpus/audit_record"
#define HDR "audit(1700000000.123:4242): "
#define HDR_OTHER "audit(1700000000.124:4243): "
#define LIVE_RUNS 1000
#define LIVE_WAIT_MS 30000
#define LIVE_PID_MAX (4 * 1024 * 1024 + 1)  /* pid_max can be 2^22 */
#define LIVE_CMDLINE_MAX 256
#define LIVE_ARG_MAX 128
#define BENCH_RATE 100                      /* programs a second */
#define BENCH_SECONDS 20
#define RULES_REPLY_MAX 65536

/* ---- parser ------------------------------------------------------------- */

static void
add(struct mamori_audit_exec *x, unsigned type, const char *text, int want)
{
	int r = mamori_audit_exec_add(x, type, text, strlen(text));

	if (r != want)
		fail_msg("record %u %s: got %s, want %s", type, text,
		    mamori_errname(r), mamori_errname(want));
}

static char *
cmdline_of(const struct mamori_audit_exec *x)
{
	char *s = NULL;

	assert_int_equal(mamori_audit_command_line(x, &s), 0);
	assert_non_null(s);
	return s;
}

static void
test_header(void **unused)
{
	struct mamori_audit_id id;
	const char *body;
	size_t len;
	static const char *const bad[] = {
		"", "audit(", "audit(1.12:3): x=1", "audit(1.1234:3): x=1",
		"audit(x.123:3): x=1", "audit(1.123:): x=1",
		"audit(1.123:3) x=1", "audit(1.123:3):x=1", "audt(1.123:3): ",
		"audit(1.123:3", "audit(-1.123:3): ",
		"audit(1.123:99999999999999999999999): ",
	};
	size_t i;

	(void)unused;
	assert_int_equal(mamori_audit_header(HDR "a=b", strlen(HDR "a=b"), &id,
	    &body, &len), 0);
	assert_true(id.sec == 1700000000ULL);
	assert_int_equal(id.msec, 123);
	assert_true(id.serial == 4242);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "a=b", 3);
	/* EOE: an empty body, with or without the space */
	assert_int_equal(mamori_audit_header(HDR, strlen(HDR), &id, &body,
	    &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(mamori_audit_header("audit(5.000:6):", 15, &id, &body,
	    &len), 0);
	assert_true(id.serial == 6 && id.sec == 5 && len == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mamori_audit_header(bad[i], strlen(bad[i]), &id, &body,
		    &len) == 0)
			fail_msg("accepted header %s", bad[i]);
}

static void
test_fields(void **unused)
{
	const char *text = "arch=c000003e  comm=\"true\" exe=2F746D702F6120622F63"
	    " subj=/usr/sbin/cupsd (enforce) key=(null) empty=";
	const char *p = text;
	size_t left = strlen(text);
	struct mamori_audit_field f;
	struct mamori_buf b;

	(void)unused;
	mamori_buf_init(&b, 64);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 1);
	/* read as hex, "c000003e" holds a NUL: not a string */
	assert_int_equal(mamori_audit_value(&f, &b), MAMORI_ERR_BAD_STRING);
	assert_int_equal(b.len, 0);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 1);
	assert_int_equal(f.key_len, 4);
	assert_true(f.quoted);
	mamori_buf_reset(&b);
	assert_int_equal(mamori_audit_value(&f, &b), 0);
	assert_string_equal((char *)b.data, "true");
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 1);
	mamori_buf_reset(&b);
	assert_int_equal(mamori_audit_value(&f, &b), 0);
	assert_string_equal((char *)b.data, "/tmp/a b/c");
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 1);
	assert_memory_equal(f.key, "subj", 4);
	assert_int_equal(f.val_len, strlen("/usr/sbin/cupsd"));
	/* "(enforce)" has no '=': skipped */
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 1);
	assert_memory_equal(f.key, "key", 3);
	mamori_buf_reset(&b);
	assert_int_equal(mamori_audit_value(&f, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 1);
	assert_int_equal(f.val_len, 0);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f), 0);

	/* unterminated quote, quote glued to the next word, empty key */
	p = "a=\"abc";
	left = strlen(p);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f),
	    MAMORI_ERR_BAD_MESSAGE);
	p = "a=\"abc\"def";
	left = strlen(p);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f),
	    MAMORI_ERR_BAD_MESSAGE);
	p = "=x";
	left = strlen(p);
	assert_int_equal(mamori_audit_next_field(&p, &left, &f),
	    MAMORI_ERR_BAD_MESSAGE);

	/* bad hex: odd, not hex, a NUL; past the cap */
	f.quoted = 0;
	f.val = "414";
	f.val_len = 3;
	assert_int_equal(mamori_audit_value(&f, &b), MAMORI_ERR_BAD_MESSAGE);
	f.val = "4G";
	f.val_len = 2;
	assert_int_equal(mamori_audit_value(&f, &b), MAMORI_ERR_BAD_MESSAGE);
	f.val = "410042";
	f.val_len = 6;
	mamori_buf_reset(&b);
	assert_int_equal(mamori_audit_value(&f, &b), MAMORI_ERR_BAD_STRING);
	assert_int_equal(b.len, 0);     /* left as it was */
	mamori_buf_free(&b);
	mamori_buf_init(&b, 2);
	f.val = "414243";
	assert_int_equal(mamori_audit_value(&f, &b), MAMORI_ERR_TOO_LARGE);
	mamori_buf_free(&b);
}

/* A whole exec as the kernel reports it: hex args with spaces and quotes,
 * a tty, two PATH items, an AppArmor label. */
static void
test_exec_full(void **unused)
{
	struct mamori_audit_exec x;
	char *cmd;

	(void)unused;
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "arch=c000003e syscall=59 "
	    "success=yes exit=0 a0=55d0c1a2b3c0 a1=55d0c1a2b400 a2=55d0c1a2b420 "
	    "a3=8 items=2 ppid=812 pid=4711 auid=1000 uid=1000 gid=1000 "
	    "euid=0 suid=0 fsuid=0 egid=1000 sgid=1000 fsgid=1000 tty=pts1 "
	    "ses=3 comm=\"sudo\" exe=\"/usr/bin/sudo\" "
	    "subj=unconfined key=\"mamori-process\"", 0);
	/* sudo sh -c 'echo "hi there"' */
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=4 a0=\"sudo\" a1=\"sh\" "
	    "a2=\"-c\" a3=6563686F20226869207468657265220A", 0);
	add(&x, MAMORI_AUDIT_CWD, HDR "cwd=2F686F6D652F612062", 0);
	add(&x, MAMORI_AUDIT_PATH, HDR "item=0 name=\"/usr/bin/sudo\" "
	    "inode=393307 dev=fe:01 mode=0104755 ouid=0 ogid=0 rdev=00:00 "
	    "nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 "
	    "cap_frootid=0", 0);
	add(&x, MAMORI_AUDIT_PATH, HDR "item=1 name=\"/lib64/ld-linux-x86-64"
	    ".so.2\" inode=400123 dev=103:0a mode=0100755 ouid=0 ogid=0 "
	    "rdev=00:00 nametype=NORMAL", 0);
	add(&x, MAMORI_AUDIT_PROCTITLE, HDR "proctitle=7375646F007368002D63", 0);
	add(&x, MAMORI_AUDIT_EOE, HDR, 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_int_equal(x.pid, 4711);
	assert_int_equal(x.ppid, 812);
	assert_int_equal(x.uid, 1000);
	assert_int_equal(x.euid, 0);
	assert_string_equal(x.exe, "/usr/bin/sudo");
	assert_string_equal(x.tty, "pts1");
	assert_string_equal(x.cwd, "/home/a b");
	assert_string_equal(x.proctitle, "sudo sh -c");
	assert_int_equal(x.n_args, 4);
	assert_string_equal(x.args[3], "echo \"hi there\"\n");
	assert_false(x.truncated);
	assert_int_equal(x.n_path, 2);
	assert_true(x.path[0].inode == 393307);
	assert_int_equal(x.path[0].dev_major, 0xfe);
	assert_int_equal(x.path[0].dev_minor, 1);
	assert_int_equal(x.path[1].dev_major, 0x103);
	assert_int_equal(x.path[1].dev_minor, 0xa);
	cmd = cmdline_of(&x);
	assert_string_equal(cmd, "sudo sh -c echo \"hi there\"\n");
	free(cmd);
	mamori_audit_exec_free(&x);
	/* free leaves it initialised: free again is harmless */
	mamori_audit_exec_free(&x);
	mamori_audit_exec_free(NULL);
}

/* Long arguments: aN_len then chunks aN[0], aN[1], ... possibly across
 * EXECVE records, each chunk quoted or hex on its own. */
static void
test_exec_split(void **unused)
{
	struct mamori_audit_exec x;
	char *cmd;

	(void)unused;
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=10 ppid=1 uid=0 "
	    "euid=0 tty=(none) exe=\"/usr/bin/printf\"", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=4 a0=\"printf\" a1_len=12 "
	    "a1[0]=\"abcdef\"", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "a1[1]=\"ghijkl\" a2_len=6 "
	    "a2[0]=2061", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "a2[1]=2062 a2[2]=0A20 a3=\"end\"", 0);
	add(&x, MAMORI_AUDIT_EOE, HDR, 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_null(x.tty);
	assert_null(x.cwd);
	assert_int_equal(x.n_args, 4);
	assert_string_equal(x.args[1], "abcdefghijkl");
	assert_string_equal(x.args[2], " a b\n ");
	assert_string_equal(x.args[3], "end");
	cmd = cmdline_of(&x);
	assert_string_equal(cmd, "printf abcdefghijkl  a b\n  end");
	free(cmd);
	mamori_audit_exec_free(&x);

	/* the last argument in chunks ends with the group */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=10", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=1 a0_len=4 a0[0]=\"ab\"", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "a0[1]=6364", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_int_equal(x.n_args, 1);
	assert_string_equal(x.args[0], "abcd");
	mamori_audit_exec_free(&x);

	/* a chunk index skipped, and a chunk without aN_len */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=1 a0_len=4 a0[0]=\"ab\" "
	    "a0[2]=\"cd\"", MAMORI_ERR_BAD_MESSAGE);
	assert_true(mamori_audit_exec_finish(&x) < 0);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=1 a0[0]=\"ab\"",
	    MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);
}

/* Feeds a recorded file of "TYPE TEXT" lines (as the fuzz corpus holds,
 * captured from this kernel) to x. */
static void
feed_file(struct mamori_audit_exec *x, const char *name)
{
	char path[512];
	struct mamori_buf b;
	struct mamori_cursor c;
	const char *line, *sp;
	size_t len;
	uint64_t type;
	char num[8];

	snprintf(path, sizeof(path), "%s/%s", CORPUS, name);
	mamori_buf_init(&b, 1024 * 1024);
	assert_int_equal(mamori_buf_read_file(&b, path), 0);
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &len) == 1) {
		sp = memchr(line, ' ', len);
		assert_non_null(sp);
		assert_true((size_t)(sp - line) < sizeof(num));
		memcpy(num, line, (size_t)(sp - line));
		num[sp - line] = '\0';
		assert_int_equal(mamori_parse_u64(num, 0, 65535, &type), 0);
		assert_int_equal(mamori_audit_exec_add(x, (unsigned)type, sp + 1,
		    len - (size_t)(sp + 1 - line)), 0);
	}
	mamori_buf_free(&b);
}

/* Records as this kernel wrote them: /bin/echo "arg with space" 'q"uote'
 * <9000 x> "\xc3\xa9 \xc3\xbc" run in "/tmp/dir with space"; the long
 * argument came in three chunks over three EXECVE records. */
static void
test_exec_captured(void **unused)
{
	struct mamori_audit_exec x;
	char *cmd, want[9100];
	size_t i;

	(void)unused;
	mamori_audit_exec_init(&x);
	feed_file(&x, "captured_long_arg");
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_string_equal(x.exe, "/usr/bin/echo");
	assert_string_equal(x.cwd, "/tmp/dir with space");
	assert_null(x.tty);
	assert_int_equal(x.n_args, 5);
	assert_string_equal(x.args[0], "/bin/echo");
	assert_string_equal(x.args[1], "arg with space");
	assert_string_equal(x.args[2], "q\"uote");
	assert_int_equal(strlen(x.args[3]), 9000);
	for (i = 0; i < 9000; i++)
		assert_int_equal(x.args[3][i], 'x');
	assert_string_equal(x.args[4], "\xc3\xa9 \xc3\xbc");
	assert_false(x.truncated);
	cmd = cmdline_of(&x);
	memset(want, 'x', sizeof(want));
	i = (size_t)snprintf(want, sizeof(want), "/bin/echo arg with space "
	    "q\"uote ");
	want[i] = 'x';          /* over the NUL snprintf wrote */
	want[i + 9000] = '\0';
	assert_int_equal(strncmp(cmd, want, i + 9000), 0);
	assert_string_equal(cmd + i + 9000, " \xc3\xa9 \xc3\xbc");
	free(cmd);
	mamori_audit_exec_free(&x);

	/* a compiler run: 39 arguments, a BPRM_FCAPS record in between */
	mamori_audit_exec_init(&x);
	feed_file(&x, "captured_clang");
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_int_equal(x.n_args, 39);
	assert_int_equal(x.argc, 39);
	assert_string_equal(x.args[0], "clang");
	mamori_audit_exec_free(&x);

	/* a failed exec, and a bind() someone's rule made: no START */
	mamori_audit_exec_init(&x);
	feed_file(&x, "captured_failed");
	assert_int_equal(mamori_audit_exec_finish(&x), 0);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	feed_file(&x, "captured_bind");
	assert_int_equal(mamori_audit_exec_finish(&x), 0);
	mamori_audit_exec_free(&x);

	/* sh -c 'exit 3' in a directory with a space */
	mamori_audit_exec_init(&x);
	feed_file(&x, "captured_sh");
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	cmd = cmdline_of(&x);
	assert_string_equal(cmd, "sh -c exit 3");
	free(cmd);
	assert_string_equal(x.cwd, "/tmp/dir with space");
	mamori_audit_exec_free(&x);
}

static void
test_exec_missing(void **unused)
{
	struct mamori_audit_exec x;
	char *cmd;

	(void)unused;
	/* a failed exec: no START */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "arch=c000003e syscall=59 "
	    "success=no exit=-2 pid=5 exe=\"/usr/bin/bash\"", 0);
	add(&x, MAMORI_AUDIT_CWD, HDR "cwd=\"/\"", 0);
	add(&x, MAMORI_AUDIT_EOE, HDR, 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 0);
	mamori_audit_exec_free(&x);

	/* another syscall (someone's own rule): no EXECVE, no START */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "syscall=2 success=yes pid=5", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 0);
	mamori_audit_exec_free(&x);

	/* only EXECVE: no SYSCALL, nothing to say who ran it */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=1 a0=\"ls\"", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 0);
	mamori_audit_exec_free(&x);

	/* SYSCALL without exe, uid, tty: those stay unset */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=7 exe=(null)", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=2 a0=\"ls\" a1=\"\"", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_null(x.exe == NULL ? NULL : (x.exe[0] == '\0' ? NULL : x.exe));
	assert_null(x.tty);
	assert_int_equal(x.uid, 0);
	assert_int_equal(x.n_args, 2);
	assert_string_equal(x.args[1], "");
	cmd = cmdline_of(&x);
	assert_string_equal(cmd, "ls ");
	free(cmd);
	mamori_audit_exec_free(&x);

	/* argc=0: the command line falls back to PROCTITLE */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=7", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=0", 0);
	add(&x, MAMORI_AUDIT_PROCTITLE, HDR "proctitle=\"weird\"", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	cmd = cmdline_of(&x);
	assert_string_equal(cmd, "weird");
	free(cmd);
	mamori_audit_exec_free(&x);

	/* arguments missing at the end (a record lost): truncated */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=7", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=3 a0=\"a\" a1=\"b\"", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_true(x.truncated);
	cmd = cmdline_of(&x);
	assert_string_equal(cmd, "a b [truncated]");
	free(cmd);
	mamori_audit_exec_free(&x);
}

static void
test_exec_malformed(void **unused)
{
	struct mamori_audit_exec x;
	static const char *const bad_execve[] = {
		HDR "argc=2 a0=\"x\" a0=\"y\"",         /* repeated */
		HDR "argc=2 a1=\"x\"",                  /* out of order */
		HDR "argc=1 a0=\"x\" a1=\"y\"",         /* past argc */
		HDR "a0=\"x\"",                         /* before argc */
		HDR "argc=1 a0=4G",                     /* not hex */
		HDR "argc=1 a0=414",                    /* odd hex */
		HDR "argc=1 a0=410041",                 /* NUL inside */
		HDR "argc=-1",
		HDR "argc=2147483648",                  /* > MAX_ARG_STRINGS */
		HDR "argc=1 b0=\"x\"",                  /* unknown key */
		HDR "argc=1 a0_len=x",
		HDR "argc=1 a0[x]=\"x\"",
		HDR "argc=1 a0[0=\"x\"",
		HDR "argc=1 a=\"x\"",
		HDR "argc=1 argc=1",
		HDR "argc=1 a0=\"x",                    /* unterminated */
	};
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(bad_execve) / sizeof(bad_execve[0]); i++) {
		mamori_audit_exec_init(&x);
		add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=1", 0);
		if (mamori_audit_exec_add(&x, MAMORI_AUDIT_EXECVE,
		    bad_execve[i], strlen(bad_execve[i])) == 0)
			fail_msg("accepted %s", bad_execve[i]);
		assert_true(x.broken);
		assert_true(mamori_audit_exec_finish(&x) < 0);
		mamori_audit_exec_free(&x);
	}

	/* SYSCALL: numbers that are not, repeated fields, a second SYSCALL */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=12x",
	    MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "uid=4294967296",
	    MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "pid=1 pid=2", MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "pid=1", 0);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "pid=1", MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "exe=2F62696E00", MAMORI_ERR_BAD_STRING);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_PATH, HDR "item=0 dev=fe01 inode=1",
	    MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_CWD, "not a record", MAMORI_ERR_BAD_MESSAGE);
	mamori_audit_exec_free(&x);

	/* a record of another event is refused and changes nothing */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=1", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR_OTHER "argc=1 a0=\"x\"",
	    MAMORI_ERR_INVALID);
	assert_false(x.broken);
	assert_false(x.have_execve);
	/* unknown types are ignored */
	add(&x, 1305, HDR "op=set audit_enabled=1", 0);
	mamori_audit_exec_free(&x);
}

/* argc as large as the kernel allows, and arguments past the limits. */
static void
test_exec_limits(void **unused)
{
	struct mamori_audit_exec x;
	struct mamori_buf rec;
	char *cmd, num[32];
	size_t i, len;

	(void)unused;
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=1", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=2147483647 a0=\"x\"", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_true(x.truncated);
	assert_int_equal(x.n_args, 1);
	mamori_audit_exec_free(&x);

	/* more arguments than kept: the first MAMORI_AUDIT_ARGS_MAX stay */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=1", 0);
	mamori_buf_init(&rec, MAMORI_AUDIT_RECORD_MAX);
	for (i = 0; i < MAMORI_AUDIT_ARGS_MAX + 10; i++) {
		if (rec.len == 0)
			assert_int_equal(mamori_buf_append(&rec, HDR,
			    strlen(HDR)), 0);
		if (i == 0)
			assert_int_equal(mamori_buf_append(&rec, "argc=8202",
			    9), 0);
		len = (size_t)snprintf(num, sizeof(num), " a%zu=\"y\"", i);
		assert_int_equal(mamori_buf_append(&rec, num, len), 0);
		if (rec.len > MAMORI_AUDIT_RECORD_MAX - 64) {
			add(&x, MAMORI_AUDIT_EXECVE, (char *)rec.data, 0);
			mamori_buf_reset(&rec);
		}
	}
	if (rec.len > 0)
		add(&x, MAMORI_AUDIT_EXECVE, (char *)rec.data, 0);
	mamori_buf_free(&rec);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_int_equal(x.n_args, MAMORI_AUDIT_ARGS_MAX);
	assert_true(x.truncated);
	cmd = cmdline_of(&x);
	len = strlen(cmd);
	assert_true(len > 12);
	assert_string_equal(cmd + len - 12, " [truncated]");
	free(cmd);
	mamori_audit_exec_free(&x);

	/* one argument longer than all arguments may be: not kept, nor any
	 * after it (args stays a prefix) */
	mamori_audit_exec_init(&x);
	add(&x, MAMORI_AUDIT_SYSCALL, HDR "success=yes pid=1", 0);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "argc=3 a0=\"x\" a1_len=200000", 0);
	mamori_buf_init(&rec, MAMORI_AUDIT_RECORD_MAX);
	for (i = 0; i < 40; i++) {
		mamori_buf_reset(&rec);
		assert_int_equal(mamori_buf_append(&rec, HDR, strlen(HDR)), 0);
		len = (size_t)snprintf(num, sizeof(num), "a1[%zu]=", i);
		assert_int_equal(mamori_buf_append(&rec, num, len), 0);
		while (rec.len < 7000)
			assert_int_equal(mamori_buf_append(&rec, "41", 2), 0);
		add(&x, MAMORI_AUDIT_EXECVE, (char *)rec.data, 0);
	}
	mamori_buf_free(&rec);
	add(&x, MAMORI_AUDIT_EXECVE, HDR "a2=\"z\"", 0);
	assert_int_equal(mamori_audit_exec_finish(&x), 1);
	assert_true(x.truncated);
	assert_int_equal(x.n_args, 1);
	assert_true(x.args_bytes <= MAMORI_AUDIT_ARGV_BYTES_MAX);
	mamori_audit_exec_free(&x);

	/* a record longer than the kernel ever writes */
	mamori_audit_exec_init(&x);
	cmd = malloc(MAMORI_AUDIT_RECORD_MAX + 2);
	assert_non_null(cmd);
	memset(cmd, 'a', MAMORI_AUDIT_RECORD_MAX + 1);
	cmd[MAMORI_AUDIT_RECORD_MAX + 1] = '\0';
	add(&x, MAMORI_AUDIT_EXECVE, cmd, MAMORI_ERR_TOO_LARGE);
	free(cmd);
	mamori_audit_exec_free(&x);
}

static void
test_text_fix(void **unused)
{
	char s[] = "ok \xc3\xa9 \xff\xfe \xe2\x82 \xed\xa0\x80 \t\n";

	(void)unused;
	mamori_audit_text_fix(s, strlen(s));
	assert_string_equal(s, "ok \xc3\xa9 ?? ?? ??? \t\n");
}

/* ---- live --------------------------------------------------------------- */

struct live {
	int *index_of_pid;              /* pid -> run index + 1 */
	char prefix[64];
	size_t runs;
	pid_t *pids;
	int *started, *ended, *exit_codes;
	size_t n_started, n_ended, n_bad_cmdline, n_loss;
	size_t n_complete, n_end_exe;    /* START fully described; END named */
	int *want_code;
	char (*want_cmd)[LIVE_CMDLINE_MAX];
};

static int
live_emit(void *sink, Mamori__Event *ev)
{
	struct live *t = sink;
	Mamori__ProcessEvent *pe;
	const char *p;
	size_t v;
	int i;

	if (ev->body_case == MAMORI__EVENT__BODY_LOSS) {
		fprintf(stderr, "loss: %s\n", ev->loss->reason);
		t->n_loss++;
	}
	if (ev->body_case != MAMORI__EVENT__BODY_PROCESS)
		goto out;
	pe = ev->process;
	if (pe->action == MAMORI__PROCESS_EVENT__ACTION__START &&
	    (p = strstr(pe->command_line, t->prefix)) != NULL &&
	    p[strlen(t->prefix)] == '-') {
		/* ours: "<prog> <prefix>-<i>[ ...]" */
		p += strlen(t->prefix) + 1;
		for (v = 0; *p >= '0' && *p <= '9' && v < t->runs; p++)
			v = v * 10 + (size_t)(*p - '0');
		if (v >= t->runs || t->started[v])
			goto out;
		if (strcmp(pe->command_line, t->want_cmd[v]) != 0 ||
		    (t->pids[v] != 0 && t->pids[v] != (pid_t)pe->pid)) {
			t->n_bad_cmdline++;
			goto out;
		}
		t->started[v] = 1;
		t->n_started++;
		/* /bin is a link to /usr/bin here: the kernel names the file */
		if (strlen(pe->sha256) == 64 && pe->uid == getuid() &&
		    pe->ppid == (uint32_t)getpid() && pe->n_args >= 2 &&
		    strcmp(pe->user_name, "root") == 0 &&
		    strstr(pe->executable, "/bin/") != NULL &&
		    pe->working_directory[0] == '/' &&
		    strcmp(pe->parent_command_line, "") != 0)
			t->n_complete++;
		if (pe->pid < LIVE_PID_MAX)
			t->index_of_pid[pe->pid] = (int)v + 1;
		goto out;
	}
	if (pe->action != MAMORI__PROCESS_EVENT__ACTION__END ||
	    pe->pid >= LIVE_PID_MAX || (i = t->index_of_pid[pe->pid]) == 0)
		goto out;
	i--;
	if (!t->ended[i]) {
		t->ended[i] = 1;
		t->exit_codes[i] = pe->exit_code;
		t->n_ended++;
		if (strstr(pe->executable, "/bin/") != NULL)
			t->n_end_exe++;
	}
out:
	mamori_event_free(ev);
	return 0;
}

static void
live_init(struct live *t, size_t runs)
{
	memset(t, 0, sizeof(*t));
	t->runs = runs;
	snprintf(t->prefix, sizeof(t->prefix), "mamori-test-%ld-%ld",
	    (long)getpid(), (long)time(NULL));
	t->index_of_pid = calloc(LIVE_PID_MAX, sizeof(int));
	t->pids = calloc(runs, sizeof(pid_t));
	t->started = calloc(runs, sizeof(int));
	t->ended = calloc(runs, sizeof(int));
	t->exit_codes = calloc(runs, sizeof(int));
	t->want_code = calloc(runs, sizeof(int));
	t->want_cmd = calloc(runs, sizeof(*t->want_cmd));
	assert_true(t->index_of_pid && t->pids && t->started && t->ended &&
	    t->exit_codes && t->want_code && t->want_cmd);
}

static void
live_free(struct live *t)
{
	free(t->index_of_pid);
	free(t->pids);
	free(t->started);
	free(t->ended);
	free(t->exit_codes);
	free(t->want_code);
	free(t->want_cmd);
}

static void
break_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs base for about ms milliseconds. */
static void
run_for(struct event_base *base, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};

	event_base_once(base, -1, EV_TIMEOUT, break_loop, base, &tv);
	event_base_dispatch(base);
}

/* Starts the source; fails the test with the reason when it cannot. */
static void *
live_start(struct event_base *base, struct live *t,
    struct mamori_source_options *opt)
{
	struct mamori_source_ctx ctx;
	void *state = NULL;
	int r;

	if (geteuid() != 0)
		fail_msg("the live process test needs root (audit netlink "
		    "and the proc connector): run it as root");
	memset(opt, 0, sizeof(*opt));
	opt->file_hash_max = MAMORI_FILE_HASH_MAX_DEFAULT;
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.root = "";
	ctx.state_dir = "/tmp";
	ctx.opt = opt;
	ctx.emit = live_emit;
	ctx.sink = t;
	if ((r = mamori_source_process.start(&ctx, &state)) != 0)
		fail_msg("the process source did not start: %s (%s).  It needs "
		    "the kernel audit subsystem over netlink (CAP_AUDIT_CONTROL "
		    "in the initial user and pid namespace, so not in a "
		    "container) and no other audit daemon; see its log line",
		    mamori_strerror(r), mamori_errname(r));
	return state;
}

static pid_t
spawn(const char *path, char *const argv[])
{
	static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	return pid;
}

/* Asks the kernel for its audit rules and status: no rule with our key and
 * no audit pid may be left once the source stopped. */
static void
check_audit_clean(void)
{
	struct {
		struct nlmsghdr h;
		uint8_t pad[16];
	} req;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	static uint8_t buf[RULES_REPLY_MAX];
	struct nlmsghdr *h;
	struct pollfd p;
	int fd, done = 0, got_status = 0, ours = 0;
	uint32_t audit_pid = 0;
	ssize_t n;
	size_t left;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	assert_true(fd >= 0);
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(0);
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.h.nlmsg_type = AUDIT_GET;
	req.h.nlmsg_seq = 1;
	assert_true(sendto(fd, &req, req.h.nlmsg_len, 0,
	    (struct sockaddr *)&sa, sizeof(sa)) >= 0);
	req.h.nlmsg_type = AUDIT_LIST_RULES;
	req.h.nlmsg_seq = 2;
	assert_true(sendto(fd, &req, req.h.nlmsg_len, 0,
	    (struct sockaddr *)&sa, sizeof(sa)) >= 0);
	while (!done || !got_status) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 2000) <= 0)
			fail_msg("no answer to AUDIT_LIST_RULES");
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			fail_msg("audit socket: %s", strerror(errno));
		left = (size_t)n;
		for (h = (void *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == AUDIT_GET) {
				audit_pid = ((struct audit_status *)
				    NLMSG_DATA(h))->pid;
				got_status = 1;
			} else if (h->nlmsg_type == AUDIT_LIST_RULES) {
				struct audit_rule_data *r = NLMSG_DATA(h);

				if (r->buflen >= 14 &&
				    memmem(r->buf, r->buflen, "mamori-process",
				    14) != NULL)
					ours++;
			} else if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
			}
		}
	}
	close(fd);
	assert_int_equal(ours, 0);
	assert_int_equal(audit_pid, 0);
}

static void
test_live(void **unused)
{
	struct mamori_source_options opt;
	struct event_base *base;
	struct live t;
	void *state;
	char arg[LIVE_ARG_MAX], arg2[] = "two words \"quoted\"";
	char *argv[4];
	uint64_t deadline;
	size_t i, codes_ok = 0;
	int status;

	(void)unused;
	live_init(&t, LIVE_RUNS);
	base = event_base_new();
	assert_non_null(base);
	state = live_start(base, &t, &opt);
	for (i = 0; i < t.runs; i++) {
		const char *prog = i % 10 == 3 ? "/bin/false" : "/bin/true";

		snprintf(arg, sizeof(arg), "%s-%zu", t.prefix, i);
		argv[0] = (char *)prog;
		argv[1] = arg;
		argv[2] = i % 50 == 7 ? arg2 : NULL;
		argv[3] = NULL;
		snprintf(t.want_cmd[i], sizeof(t.want_cmd[i]), "%s %s%s%s",
		    prog, arg, argv[2] != NULL ? " " : "",
		    argv[2] != NULL ? arg2 : "");
		t.want_code[i] = i % 10 == 3 ? 1 : 0;
		t.pids[i] = spawn(prog, argv);
		assert_true(t.pids[i] > 0 && t.pids[i] < LIVE_PID_MAX);
		t.index_of_pid[t.pids[i]] = (int)i + 1;
		assert_int_equal(waitpid(t.pids[i], &status, 0), t.pids[i]);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	deadline = mamori_monotonic_ms() + LIVE_WAIT_MS;
	while ((t.n_ended < t.runs || t.n_started < t.runs) &&
	    mamori_monotonic_ms() < deadline)
		run_for(base, 100);
	mamori_source_process.stop(state);
	event_base_free(base);
	for (i = 0; i < t.runs; i++)
		if (t.ended[i] && t.exit_codes[i] == t.want_code[i])
			codes_ok++;
	fprintf(stderr, "live: %zu runs, %zu starts with the exact command "
	    "line (%zu with every field), %zu other command lines, %zu ends "
	    "(%zu naming the executable), %zu exit codes right, %zu loss "
	    "events\n", t.runs, t.n_started, t.n_complete, t.n_bad_cmdline,
	    t.n_ended, t.n_end_exe, codes_ok, t.n_loss);
	assert_true(t.n_started * 100 >= t.runs * 99);
	assert_true(codes_ok * 100 >= t.runs * 99);
	assert_int_equal(t.n_bad_cmdline, 0);
	assert_true(t.n_complete * 100 >= t.runs * 99);
	live_free(&t);
	check_audit_clean();
}

/* Starting twice in one process, and stopping cleanly each time. */
static void
test_live_restart(void **unused)
{
	struct mamori_source_options opt;
	struct event_base *base;
	struct live t;
	void *state;

	(void)unused;
	live_init(&t, 1);
	base = event_base_new();
	assert_non_null(base);
	state = live_start(base, &t, &opt);
	mamori_source_process.stop(state);
	check_audit_clean();
	state = live_start(base, &t, &opt);
	mamori_source_process.stop(state);
	mamori_source_process.stop(NULL);
	event_base_free(base);
	live_free(&t);
	check_audit_clean();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_exec_full),
		cmocka_unit_test(test_exec_split),
		cmocka_unit_test(test_exec_captured),
		cmocka_unit_test(test_exec_missing),
		cmocka_unit_test(test_exec_malformed),
		cmocka_unit_test(test_exec_limits),
		cmocka_unit_test(test_text_fix),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_live_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
