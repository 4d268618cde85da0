/*
 * test_logins.c - the login source: its pure parsers (auth log lines, wtmp
 * records) and the source itself following files in a temporary tree.
 *
 * The sshd lines are the exact ones a real sshd 9.2 wrote under
 * tests/integration/sshd_fixture.sh (sshd -E, so without a syslog header
 * and ending in CR); the syslog forms, sudo and su lines are as Debian 12
 * writes them.  wtmp records are built here byte by byte at glibc's x86_64
 * offsets.  The source tests run the agent's loop for a few polls over
 * files they append to, rotate and truncate.  Tests must never touch the
 * host's own logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "authlog.h"
#include "err.h"
#include "event.h"
#include "source.h"

extern const struct mamori_event_source mamori_source_logins;

#define TEST_PATH_MAX 4096
#define TEST_MAX_EVENTS 64
#define TEST_WAIT_MS 700        /* a few of the source's polls */

/* ---- auth log lines ------------------------------------------------------- */

struct line_case {
	const char *line;
	Mamori__LoginEvent__Action action;   /* UNSPECIFIED: no event */
	const char *service, *user, *target, *ip;
	uint32_t port;
	const char *method, *terminal, *command;
	uint32_t pid;
};

#define A(x) MAMORI__LOGIN_EVENT__ACTION__##x

static const struct line_case line_cases[] = {
	/* Written by sshd -E in sshd_fixture.sh. */
	{"Accepted publickey for root from 127.0.0.1 port 41542 ssh2: ED25519 "
	    "SHA256:Y0E3OKgWdoIXpX4mu7VkSU6UBkPv51WisIxx2eb4pow\r",
	    A(AUTH_SUCCESS), "sshd", "root", "", "127.0.0.1", 41542,
	    "publickey", "", "", 0},
	{"Failed password for root from 127.0.0.1 port 41544 ssh2\r",
	    A(AUTH_FAILURE), "sshd", "root", "", "127.0.0.1", 41544,
	    "password", "", "", 0},
	{"Connection closed by authenticating user root 127.0.0.1 port 41544 "
	    "[preauth]\r", A(AUTH_FAILURE), "sshd", "root", "", "127.0.0.1",
	    41544, "", "", "", 0},
	{"Invalid user mamori-nosuchuser from 127.0.0.1 port 41560\r",
	    A(AUTH_FAILURE), "sshd", "mamori-nosuchuser", "", "127.0.0.1",
	    41560, "", "", "", 0},
	{"Failed password for invalid user mamori-nosuchuser from 127.0.0.1 "
	    "port 41560 ssh2\r", A(AUTH_FAILURE), "sshd", "mamori-nosuchuser",
	    "", "127.0.0.1", 41560, "password", "", "", 0},
	{"Connection closed by invalid user mamori-nosuchuser 127.0.0.1 port "
	    "41560 [preauth]\r", A(AUTH_FAILURE), "sshd", "mamori-nosuchuser",
	    "", "127.0.0.1", 41560, "", "", "", 0},
	{"Server listening on 127.0.0.1 port 36461.\r", A(ACTION_UNSPECIFIED),
	    NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0},
	{"Received disconnect from 127.0.0.1 port 41542:11: disconnected by "
	    "user\r", A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0, NULL,
	    NULL, NULL, 0},
	{"Disconnected from user root 127.0.0.1 port 41542\r",
	    A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    0},
	{"Could not get shadow information for NOUSER\r",
	    A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    0},
	/* Through syslog, traditional and RFC 3339 headers. */
	{"Nov 28 10:15:00 host1 sshd[1234]: Accepted password for alice from "
	    "192.0.2.7 port 50022 ssh2", A(AUTH_SUCCESS), "sshd", "alice", "",
	    "192.0.2.7", 50022, "password", "", "", 1234},
	{"Nov  3 01:02:03 host1 sshd[77]: Failed publickey for bob from "
	    "2001:db8::5 port 22 ssh2: RSA SHA256:abc", A(AUTH_FAILURE), "sshd",
	    "bob", "", "2001:db8::5", 22, "publickey", "", "", 77},
	{"2024-11-28T10:15:00.123456+01:00 host1 sshd[99]: Invalid user admin "
	    "from 198.51.100.3 port 4444", A(AUTH_FAILURE), "sshd", "admin", "",
	    "198.51.100.3", 4444, "", "", "", 99},
	{"2025-01-02T03:04:05+00:00 h sshd-session[5]: Failed "
	    "keyboard-interactive/pam for invalid user x from 10.0.0.1 port 1 "
	    "ssh2", A(AUTH_FAILURE), "sshd", "x", "", "10.0.0.1", 1,
	    "keyboard-interactive/pam", "", "", 5},
	{"Nov 28 10:15:00 host1 sshd[1]: Invalid user  from 10.1.1.1 port 2",
	    A(AUTH_FAILURE), "sshd", "", "", "10.1.1.1", 2, "", "", "", 1},
	/* A user name holding our words: the address is taken from the right. */
	{"Nov 28 10:15:00 h sshd[8]: Invalid user a from 1.2.3.4 port 1 from "
	    "10.9.8.7 port 2222", A(AUTH_FAILURE), "sshd",
	    "a from 1.2.3.4 port 1", "", "10.9.8.7", 2222, "", "", "", 8},
	{"Nov 28 10:15:00 h sshd[8]: Failed password for invalid user "
	    "q from 1.2.3.4 port 9 ssh2 from 10.9.8.7 port 2222 ssh2",
	    A(AUTH_FAILURE), "sshd", "q from 1.2.3.4 port 9 ssh2", "",
	    "10.9.8.7", 2222, "password", "", "", 8},
	/* A phrase we know whose fields do not parse: still an event. */
	{"Nov 28 10:15:00 h sshd[8]: Accepted password for carol from "
	    "host.example port 22 ssh2", A(AUTH_SUCCESS), "sshd", "", "", "", 0,
	    "password", "", "", 8},
	/* sshd's words from another program are not sshd's. */
	{"Nov 28 10:15:00 h evil[8]: Accepted password for root from 1.1.1.1 "
	    "port 1 ssh2", A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0,
	    NULL, NULL, NULL, 0},
	{"Nov 28 10:15:00 h sshd[8]: pam_unix(sshd:session): session opened "
	    "for user root(uid=0) by (uid=0)", A(ACTION_UNSPECIFIED), NULL,
	    NULL, NULL, NULL, 0, NULL, NULL, NULL, 0},
	/* sudo. */
	{"Nov 28 10:16:00 host1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; "
	    "USER=root ; COMMAND=/bin/ls -l /root", A(SUDO), "sudo", "alice",
	    "root", "", 0, "", "pts/0", "/bin/ls -l /root", 0},
	{"2024-11-28T10:16:00.1+00:00 host1 sudo[321]:    bob : TTY=pts/1 ; "
	    "PWD=/ ; USER=postgres ; ENV=A=1 ; COMMAND=/usr/bin/psql -c 'a ; b'",
	    A(SUDO), "sudo", "bob", "postgres", "", 0, "", "pts/1",
	    "/usr/bin/psql -c 'a ; b'", 321},
	{"Nov 28 10:16:00 host1 sudo:    eve : 3 incorrect password attempts ;"
	    " TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
	    A(AUTH_FAILURE), "sudo", "eve", "root", "", 0, "", "pts/2",
	    "/bin/sh", 0},
	{"Nov 28 10:16:00 host1 sudo:    mallory : user NOT in sudoers ; "
	    "TTY=pts/3 ; PWD=/ ; USER=root ; COMMAND=/bin/id", A(AUTH_FAILURE),
	    "sudo", "mallory", "root", "", 0, "", "pts/3", "/bin/id", 0},
	{"Nov 28 10:16:00 host1 sudo: pam_unix(sudo:session): session opened "
	    "for user root(uid=0) by alice(uid=1000)", A(ACTION_UNSPECIFIED),
	    NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0},
	/* su. */
	{"Nov 28 10:17:00 host1 su[4242]: (to root) alice on pts/0", A(SU),
	    "su", "alice", "root", "", 0, "", "pts/0", "", 4242},
	{"Nov 28 10:17:00 host1 su[4242]: pam_unix(su:session): session opened "
	    "for user root(uid=0) by alice(uid=1000)", A(SU), "su", "alice",
	    "root", "", 0, "", "", "", 4242},
	{"Nov 28 10:17:00 host1 su[43]: pam_unix(su-l:session): session opened"
	    " for user postgres(uid=111) by (uid=0)", A(SU), "su", "", "postgres",
	    "", 0, "", "", "", 43},
	{"Nov 28 10:17:00 host1 su[44]: FAILED SU (to root) bob on pts/4",
	    A(AUTH_FAILURE), "su", "bob", "root", "", 0, "", "pts/4", "", 44},
	{"Nov 28 10:17:00 host1 su[45]: pam_unix(su:session): session closed "
	    "for user root", A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0,
	    NULL, NULL, NULL, 0},
	/* Not lines at all. */
	{"", A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    0},
	{"Nov 28", A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0, NULL, NULL,
	    NULL, 0},
	{"Nov 28 10:17:00 host1", A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL,
	    0, NULL, NULL, NULL, 0},
	{"Nov 28 10:17:00 host1 sshd[x]: Invalid user a from 1.1.1.1",
	    A(ACTION_UNSPECIFIED), NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL,
	    0},
};

static void
test_authlog_lines(void **unused)
{
	const struct line_case *c;
	Mamori__LoginEvent *le;
	Mamori__Event *ev;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		c = &line_cases[i];
		ev = NULL;
		assert_int_equal(mamori_authlog_parse(c->line, strlen(c->line),
		    &ev), 0);
		if (c->action == A(ACTION_UNSPECIFIED)) {
			if (ev != NULL)
				fail_msg("case %zu gave an event: %s", i,
				    c->line);
			continue;
		}
		if (ev == NULL)
			fail_msg("case %zu gave no event: %s", i, c->line);
		assert_int_equal(ev->body_case, MAMORI__EVENT__BODY_LOGIN);
		le = ev->login;
		assert_int_equal(le->action, c->action);
		assert_string_equal(le->service, c->service);
		assert_string_equal(le->user_name, c->user);
		assert_string_equal(le->target_user, c->target);
		assert_string_equal(le->source_ip, c->ip);
		assert_int_equal(le->source_port, c->port);
		assert_string_equal(le->method, c->method);
		assert_string_equal(le->terminal, c->terminal);
		assert_string_equal(le->command, c->command);
		assert_int_equal(le->pid, c->pid);
		/* The message is the line, without its CR. */
		assert_int_equal(strlen(le->message), strlen(c->line) -
		    (c->line[strlen(c->line) - 1] == '\r'));
		mamori_event_free(ev);
	}
}

static void
test_authlog_hostile(void **unused)
{
	static const char nul[] = "Invalid user a\0b from 1.1.1.1 port 1";
	static const char bad_utf8[] = "Invalid user \xff\xfe from 1.1.1.1 "
	    "port 1";
	char *longline;
	Mamori__Event *ev = NULL;
	size_t n;

	(void)unused;
	assert_int_equal(mamori_authlog_parse(nul, sizeof(nul) - 1, &ev), 0);
	assert_null(ev);
	/* Invalid UTF-8 is kept visible as '?', so the event stays proto3. */
	assert_int_equal(mamori_authlog_parse(bad_utf8, strlen(bad_utf8),
	    &ev), 0);
	assert_non_null(ev);
	assert_string_equal(ev->login->user_name, "??");
	mamori_event_free(ev);
	ev = NULL;
	/* A line past the limit is not read. */
	n = MAMORI_AUTHLOG_LINE_MAX + 1;
	longline = malloc(n);
	assert_non_null(longline);
	memset(longline, 'a', n);
	memcpy(longline, "Invalid user ", strlen("Invalid user "));
	assert_int_equal(mamori_authlog_parse(longline, n, &ev), 0);
	assert_null(ev);
	/* At the limit it is (no address: only the message), and views
	 * never read past the length. */
	assert_int_equal(mamori_authlog_parse(longline, n - 1, &ev), 0);
	assert_non_null(ev);
	assert_string_equal(ev->login->user_name, "");
	assert_int_equal(strlen(ev->login->message), MAMORI_AUTHLOG_LINE_MAX);
	mamori_event_free(ev);
	free(longline);
}

/* ---- wtmp records --------------------------------------------------------- */

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A glibc x86_64 struct utmp, built at its offsets. */
static void
make_record(uint8_t rec[MAMORI_WTMP_RECORD_SIZE], int type, uint32_t pid,
    const char *line, const char *user, const char *host,
    const uint8_t *addr, uint32_t sec)
{
	memset(rec, 0, MAMORI_WTMP_RECORD_SIZE);
	rec[0] = (uint8_t)type;
	put_le32(rec + 4, pid);
	memcpy(rec + 8, line, strnlen(line, 32));
	memcpy(rec + 40, "ts/0", 4);
	memcpy(rec + 44, user, strnlen(user, 32));
	memcpy(rec + 76, host, strnlen(host, 256));
	put_le32(rec + 336, 7);
	put_le32(rec + 340, sec);
	put_le32(rec + 344, 250000);
	if (addr != NULL)
		memcpy(rec + 348, addr, 16);
}

static const uint8_t addr_v4[16] = {192, 0, 2, 9};
static const uint8_t addr_v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 1};

static void
test_wtmp_decode(void **unused)
{
	uint8_t rec[MAMORI_WTMP_RECORD_SIZE + 1];
	struct mamori_wtmp_record r;
	char full[MAMORI_WTMP_USER_MAX + 1];

	(void)unused;
	make_record(rec, MAMORI_WTMP_USER_PROCESS, 4321, "pts/3", "alice",
	    "client.example", addr_v4, 1700000000);
	assert_int_equal(mamori_wtmp_decode(rec, MAMORI_WTMP_RECORD_SIZE, &r),
	    0);
	assert_int_equal(r.type, MAMORI_WTMP_USER_PROCESS);
	assert_int_equal(r.pid, 4321);
	assert_string_equal(r.line, "pts/3");
	assert_string_equal(r.id, "ts/0");
	assert_string_equal(r.user, "alice");
	assert_string_equal(r.host, "client.example");
	assert_int_equal(r.session, 7);
	assert_int_equal(r.tv_sec, 1700000000);
	assert_int_equal(r.tv_usec, 250000);
	assert_string_equal(r.ip, "192.0.2.9");
	make_record(rec, MAMORI_WTMP_USER_PROCESS, 1, "pts/1", "b", "h",
	    addr_v6, 1);
	assert_int_equal(mamori_wtmp_decode(rec, MAMORI_WTMP_RECORD_SIZE, &r),
	    0);
	assert_string_equal(r.ip, "2001:db8::1");
	/* Fields that fill their space have no NUL: they end there. */
	memset(full, 'u', MAMORI_WTMP_USER_MAX);
	full[MAMORI_WTMP_USER_MAX] = '\0';
	memset(rec + 8, 'l', 32);
	memset(rec + 44, 'u', 32);
	memset(rec + 76, 'h', 256);
	assert_int_equal(mamori_wtmp_decode(rec, MAMORI_WTMP_RECORD_SIZE, &r),
	    0);
	assert_string_equal(r.user, full);
	assert_int_equal(strlen(r.line), 32);
	assert_int_equal(strlen(r.host), 256);
	/* Exactly one record, no more, no less. */
	assert_int_equal(mamori_wtmp_decode(rec, MAMORI_WTMP_RECORD_SIZE - 1,
	    &r), MAMORI_ERR_TRUNCATED);
	assert_int_equal(mamori_wtmp_decode(rec, MAMORI_WTMP_RECORD_SIZE + 1,
	    &r), MAMORI_ERR_TRAILING);
	assert_int_equal(mamori_wtmp_decode(rec, 0, &r), MAMORI_ERR_TRUNCATED);
}

static void
test_wtmp_events(void **unused)
{
	uint8_t rec[MAMORI_WTMP_RECORD_SIZE];
	struct mamori_wtmp_record open, close, boot;
	Mamori__Event *ev = NULL;

	(void)unused;
	make_record(rec, MAMORI_WTMP_USER_PROCESS, 4321, "pts/3", "alice",
	    "192.0.2.10", NULL, 1700000000);
	assert_int_equal(mamori_wtmp_decode(rec, sizeof(rec), &open), 0);
	make_record(rec, MAMORI_WTMP_DEAD_PROCESS, 4321, "pts/3", "", "",
	    NULL, 1700000100);
	assert_int_equal(mamori_wtmp_decode(rec, sizeof(rec), &close), 0);
	make_record(rec, 2, 0, "~", "reboot", "6.1.0", NULL, 1);
	assert_int_equal(mamori_wtmp_decode(rec, sizeof(rec), &boot), 0);

	assert_int_equal(mamori_wtmp_event(&open, NULL, &ev), 0);
	assert_non_null(ev);
	assert_int_equal(ev->login->action, A(SESSION_OPEN));
	assert_string_equal(ev->login->user_name, "alice");
	assert_string_equal(ev->login->terminal, "pts/3");
	/* No address in the record: the host is one. */
	assert_string_equal(ev->login->source_ip, "192.0.2.10");
	assert_int_equal(ev->login->pid, 4321);
	assert_true(ev->time_ns == 1700000000250000000ULL);
	mamori_event_free(ev);

	assert_int_equal(mamori_wtmp_event(&close, &open, &ev), 0);
	assert_non_null(ev);
	assert_int_equal(ev->login->action, A(SESSION_CLOSE));
	assert_string_equal(ev->login->user_name, "alice");
	assert_string_equal(ev->login->source_ip, "192.0.2.10");
	assert_string_equal(ev->login->terminal, "pts/3");
	mamori_event_free(ev);

	assert_int_equal(mamori_wtmp_event(&close, NULL, &ev), 0);
	assert_non_null(ev);
	assert_string_equal(ev->login->user_name, "");
	mamori_event_free(ev);

	assert_int_equal(mamori_wtmp_event(&boot, NULL, &ev), 0);
	assert_null(ev);
}

/* ---- the source ----------------------------------------------------------- */

struct sink {
	Mamori__Event *ev[TEST_MAX_EVENTS];
	size_t n;
	int fail_next;          /* refuse this many emits */
};

static int
sink_emit(void *arg, Mamori__Event *ev)
{
	struct sink *s = arg;

	if (s->fail_next > 0) {
		s->fail_next--;
		mamori_event_free(ev);
		return MAMORI_ERR_IO;
	}
	if (s->n == TEST_MAX_EVENTS) {
		mamori_event_free(ev);
		return MAMORI_ERR_TOO_LARGE;
	}
	s->ev[s->n++] = ev;
	return 0;
}

static void
sink_clear(struct sink *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		mamori_event_free(s->ev[i]);
	s->n = 0;
}

struct fixture {
	char dir[TEST_PATH_MAX];
	char wtmp[TEST_PATH_MAX];
	char auth[TEST_PATH_MAX];
	char state[TEST_PATH_MAX];
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	struct sink sink;
	void *src;
};

static void
path_fmt(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, TEST_PATH_MAX, "%s%s", dir, name);

	assert_true(n > 0 && n < TEST_PATH_MAX);
}

static void
append(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
append_str(const char *path, const char *s)
{
	append(path, s, strlen(s));
}

static void
append_record(const char *path, int type, uint32_t pid, const char *line,
    const char *user, const char *host)
{
	uint8_t rec[MAMORI_WTMP_RECORD_SIZE];

	make_record(rec, type, pid, line, user, host, NULL, 1700000000);
	append(path, rec, sizeof(rec));
}

static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char sub[TEST_PATH_MAX];

	assert_non_null(fx);
	path_fmt(fx->dir, "/tmp", "/mamori-logins.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	path_fmt(sub, fx->dir, "/var");
	assert_int_equal(mkdir(sub, 0755), 0);
	path_fmt(sub, fx->dir, "/var/log");
	assert_int_equal(mkdir(sub, 0755), 0);
	path_fmt(fx->state, fx->dir, "/state");
	assert_int_equal(mkdir(fx->state, 0700), 0);
	path_fmt(fx->wtmp, fx->dir, "/var/log/wtmp");
	path_fmt(fx->auth, fx->dir, "/auth.log");
	assert_non_null(fx->base = event_base_new());
	fx->opt.auth_log = fx->auth;
	fx->ctx.base = fx->base;
	fx->ctx.root = fx->dir;
	fx->ctx.state_dir = fx->state;
	fx->ctx.opt = &fx->opt;
	fx->ctx.emit = sink_emit;
	fx->ctx.sink = &fx->sink;
	*state = fx;
	return 0;
}

static void
rm_tree(const char *dir)
{
	static const char *const names[] = {"/state/logins.state",
	    "/state/logins.state.tmp", "/var/log/wtmp", "/var/log/wtmp.1",
	    "/auth.log", "/auth.log.1", "/state", "/var/log", "/var", ""};
	char path[TEST_PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_fmt(path, dir, names[i]);
		(void)remove(path);
	}
}

static int
fx_teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->src != NULL)
		mamori_source_logins.stop(fx->src);
	sink_clear(&fx->sink);
	event_base_free(fx->base);
	rm_tree(fx->dir);
	free(fx);
	return 0;
}

static void
fx_start(struct fixture *fx)
{
	assert_int_equal(mamori_source_logins.start(&fx->ctx, &fx->src), 0);
	assert_non_null(fx->src);
}

static void
fx_stop(struct fixture *fx)
{
	mamori_source_logins.stop(fx->src);
	fx->src = NULL;
}

/* Runs the loop for a few polls. */
static void
fx_run(struct fixture *fx)
{
	struct timeval tv = {0, TEST_WAIT_MS * 1000};

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

static Mamori__LoginEvent *
nth(struct fixture *fx, size_t i)
{
	assert_true(i < fx->sink.n);
	assert_int_equal(fx->sink.ev[i]->body_case, MAMORI__EVENT__BODY_LOGIN);
	return fx->sink.ev[i]->login;
}

#define LINE_OLD "Nov 28 10:00:00 h sshd[1]: Failed password for old from " \
	"10.0.0.1 port 1 ssh2\n"
#define LINE_A "Nov 28 10:00:01 h sshd[2]: Accepted publickey for alice " \
	"from 10.0.0.2 port 2 ssh2: ED25519 SHA256:x\n"
#define LINE_B "Nov 28 10:00:02 h sshd[3]: Failed password for bob from " \
	"10.0.0.3 port 3 ssh2\n"
#define LINE_C "Nov 28 10:00:03 h sudo:  carol : TTY=pts/0 ; PWD=/ ; " \
	"USER=root ; COMMAND=/bin/true\n"
#define LINE_D "Nov 28 10:00:04 h sshd[4]: Invalid user dave from " \
	"10.0.0.4 port 4\n"

/* History before the first start is not reported; what follows is, and a
 * restart goes on where it stopped. */
static void
test_source_follow_restart(void **state)
{
	struct fixture *fx = *state;

	append_str(fx->auth, LINE_OLD);
	append_record(fx->wtmp, MAMORI_WTMP_USER_PROCESS, 10, "pts/5", "erin",
	    "10.0.0.5");
	fx_start(fx);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 0);

	append_str(fx->auth, LINE_A);
	append_record(fx->wtmp, MAMORI_WTMP_DEAD_PROCESS, 10, "pts/5", "", "");
	fx_run(fx);
	assert_int_equal(fx->sink.n, 2);
	/* The close found the session opened before we started. */
	assert_int_equal(nth(fx, 0)->action, A(SESSION_CLOSE));
	assert_string_equal(nth(fx, 0)->user_name, "erin");
	assert_string_equal(nth(fx, 0)->source_ip, "10.0.0.5");
	assert_int_equal(nth(fx, 1)->action, A(AUTH_SUCCESS));
	assert_string_equal(nth(fx, 1)->user_name, "alice");
	sink_clear(&fx->sink);

	/* Down while lines are written: they come after the restart, and
	 * nothing before them comes again. */
	fx_stop(fx);
	append_str(fx->auth, LINE_B);
	append_record(fx->wtmp, MAMORI_WTMP_USER_PROCESS, 11, "pts/6", "frank",
	    "10.0.0.6");
	fx_start(fx);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 2);
	assert_int_equal(nth(fx, 0)->action, A(SESSION_OPEN));
	assert_string_equal(nth(fx, 0)->user_name, "frank");
	assert_int_equal(nth(fx, 0)->pid, 11);
	assert_int_equal(nth(fx, 1)->action, A(AUTH_FAILURE));
	assert_string_equal(nth(fx, 1)->user_name, "bob");
	sink_clear(&fx->sink);

	/* A restart with nothing new reports nothing; the open session is
	 * rebuilt from wtmp so its close names the user. */
	fx_stop(fx);
	fx_start(fx);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 0);
	append_record(fx->wtmp, MAMORI_WTMP_DEAD_PROCESS, 11, "pts/6", "", "");
	/* A getty's close without a session is not a logout. */
	append_record(fx->wtmp, MAMORI_WTMP_DEAD_PROCESS, 12, "tty1", "", "");
	fx_run(fx);
	assert_int_equal(fx->sink.n, 1);
	assert_int_equal(nth(fx, 0)->action, A(SESSION_CLOSE));
	assert_string_equal(nth(fx, 0)->user_name, "frank");
	assert_string_equal(nth(fx, 0)->terminal, "pts/6");
}

/* Rotation (also while down) and truncation. */
static void
test_source_rotate_truncate(void **state)
{
	struct fixture *fx = *state;
	char rotated[TEST_PATH_MAX];

	path_fmt(rotated, fx->dir, "/auth.log.1");
	fx_start(fx);
	/* The file appears after the start: read from its start. */
	append_str(fx->auth, LINE_A);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 1);
	sink_clear(&fx->sink);

	/* A line lands just before the rotation; both files are read. */
	append_str(fx->auth, LINE_B);
	assert_int_equal(rename(fx->auth, rotated), 0);
	append_str(fx->auth, LINE_C);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 2);
	assert_string_equal(nth(fx, 0)->user_name, "bob");
	assert_int_equal(nth(fx, 1)->action, A(SUDO));
	assert_string_equal(nth(fx, 1)->command, "/bin/true");
	sink_clear(&fx->sink);

	/* Truncated (copytruncate) and written again. */
	assert_int_equal(truncate(fx->auth, 0), 0);
	append_str(fx->auth, LINE_D);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 1);
	assert_string_equal(nth(fx, 0)->user_name, "dave");
	sink_clear(&fx->sink);

	/* Rotated while down: the old file's tail comes from auth.log.1. */
	fx_stop(fx);
	append_str(fx->auth, LINE_A);
	assert_int_equal(remove(rotated), 0);
	assert_int_equal(rename(fx->auth, rotated), 0);
	append_str(fx->auth, LINE_B);
	fx_start(fx);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 2);
	assert_string_equal(nth(fx, 0)->user_name, "alice");
	assert_string_equal(nth(fx, 1)->user_name, "bob");
}

/* Partial lines wait for their end; an over-long line is skipped whole;
 * su's two lines for one switch give one event; a refused emit is tried
 * again. */
static void
test_source_lines(void **state)
{
	struct fixture *fx = *state;
	char *junk;
	size_t n = 3 * MAMORI_AUTHLOG_LINE_MAX;

	fx_start(fx);
	append_str(fx->auth, "Nov 28 10:00:01 h sshd[2]: Invalid user ha");
	fx_run(fx);
	assert_int_equal(fx->sink.n, 0);
	append_str(fx->auth, "lf from 10.0.0.9 port 9\n");
	fx_run(fx);
	assert_int_equal(fx->sink.n, 1);
	assert_string_equal(nth(fx, 0)->user_name, "half");
	sink_clear(&fx->sink);

	junk = malloc(n);
	assert_non_null(junk);
	memset(junk, 'x', n);
	memcpy(junk, "Nov 28 10:00:01 h sshd[2]: Invalid user ",
	    strlen("Nov 28 10:00:01 h sshd[2]: Invalid user "));
	append(fx->auth, junk, n);
	free(junk);
	fx_run(fx);
	append_str(fx->auth, " from 10.0.0.9 port 9\n" LINE_D);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 1);
	assert_string_equal(nth(fx, 0)->user_name, "dave");
	sink_clear(&fx->sink);

	append_str(fx->auth, "Nov 28 10:17:00 h su[77]: pam_unix(su:session): "
	    "session opened for user root(uid=0) by alice(uid=1000)\n"
	    "Nov 28 10:17:00 h su[77]: (to root) alice on pts/0\n");
	fx_run(fx);
	assert_int_equal(fx->sink.n, 1);
	assert_int_equal(nth(fx, 0)->action, A(SU));
	assert_string_equal(nth(fx, 0)->target_user, "root");
	sink_clear(&fx->sink);

	fx->sink.fail_next = 1;
	append_str(fx->auth, LINE_A LINE_B);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 2);
	assert_string_equal(nth(fx, 0)->user_name, "alice");
	assert_string_equal(nth(fx, 1)->user_name, "bob");
}

/* Without files the source still starts, and picks them up later. */
static void
test_source_missing(void **state)
{
	struct fixture *fx = *state;

	fx->opt.auth_log = "";
	fx_start(fx);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 0);
	append_record(fx->wtmp, MAMORI_WTMP_USER_PROCESS, 20, "pts/9", "gina",
	    "");
	path_fmt(fx->auth, fx->dir, "/var/log/auth.log");
	append_str(fx->auth, LINE_C);
	fx_run(fx);
	assert_int_equal(fx->sink.n, 2);
	assert_int_equal(nth(fx, 0)->action, A(SESSION_OPEN));
	assert_int_equal(nth(fx, 1)->action, A(SUDO));
	(void)remove(fx->auth);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authlog_lines),
		cmocka_unit_test(test_authlog_hostile),
		cmocka_unit_test(test_wtmp_decode),
		cmocka_unit_test(test_wtmp_events),
		cmocka_unit_test_setup_teardown(test_source_follow_restart,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_rotate_truncate,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_lines, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_source_missing, fx_setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
