/*
 * test_output.c - unit tests for the alert outputs (src/server/output/):
 * RFC 5424 formatting (PRI, header fields cut and cleaned, the NILVALUE,
 * escaping of '"', '\' and ']' in SD-PARAM values, control characters and
 * invalid UTF-8, the length limit cutting only the MSG), the JSON alert,
 * outputs.json checking, the bounded queue with its drop, retry and
 * failure counters, and the JSON lines file with rotation and filters.
 *
 * Receivers here are local files and unix sockets under a temporary
 * directory; nothing is sent off the machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "output.h"
#include "store.h"
#include "util.h"

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-test-output.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	static const char *const names[] = {"cfg.jsonl", "alerts.jsonl",
	    "alerts.jsonl.1", "repeats.jsonl", "log.sock"};
	char path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	return rmdir(tmpdir);
}

static struct mamori_output_alert *
make_alert(uint64_t id, const char *host, const char *rule, uint32_t sev,
    int repeat)
{
	struct mamori_output_alert_info info;
	struct mamori_output_alert *a = NULL;

	memset(&info, 0, sizeof(info));
	info.id = id;
	info.agent_id = "0123456789abcdef0123456789abcdef";
	info.host = host;
	info.source = MAMORI_ALERT_SIGMA;
	info.rule = rule;
	info.severity = sev;
	info.time_ns = 1795850444123456789ULL;
	info.seq = 42;
	info.repeat = repeat;
	info.detail_json = "{\"title\":\"Suspicious \\u00e9 thing\","
	    "\"event\":{\"process.command_line\":\"sh -c \\\"id\\\"\"}}";
	assert_int_equal(mamori_output_alert_new(&info, &a), 0);
	assert_non_null(a);
	return a;
}

/* 2026-11-28T07:20:44.123456Z */
#define NOW_US 1795850444123456ULL

static char *
format(const struct mamori_output_alert *a, const char *hostname,
    const char *app, size_t max_len, int *rc)
{
	struct mamori_buf b;
	char *s;

	mamori_buf_init(&b, 70000);
	*rc = mamori_syslog_format(a, 16, NOW_US, hostname, app, 4242,
	    MAMORI_SYSLOG_SD_ID, max_len, &b);
	s = mamori_memdup_str(b.data != NULL ? (const char *)b.data : "",
	    b.len);
	mamori_buf_free(&b);
	return s;
}

static void
test_syslog_exact(void **state)
{
	struct mamori_output_alert *a = make_alert(7, "web-01", "rule-1",
	    MAMORI_SEVERITY_HIGH, 0);
	char expect[4096];
	char *s;
	int rc;

	(void)state;
	s = format(a, "mamori-srv", "mamorid", 65000, &rc);
	assert_int_equal(rc, 0);
	/* local0 (16) * 8 + err (3) = 131 */
	snprintf(expect, sizeof(expect), "<131>1 2026-11-28T07:20:44.123456Z "
	    "mamori-srv mamorid 4242 alert [mamori@32473 id=\"7\" "
	    "rule=\"rule-1\" severity=\"high\" host=\"web-01\" "
	    "agent=\"0123456789abcdef0123456789abcdef\" source=\"sigma\"] %s",
	    a->json);
	assert_string_equal(s, expect);
	free(s);
	mamori_output_alert_release(a);
}

static void
test_syslog_severity_pri(void **state)
{
	(void)state;
	assert_int_equal(mamori_syslog_severity(MAMORI_SEVERITY_CRITICAL), 2);
	assert_int_equal(mamori_syslog_severity(MAMORI_SEVERITY_HIGH), 3);
	assert_int_equal(mamori_syslog_severity(MAMORI_SEVERITY_MEDIUM), 4);
	assert_int_equal(mamori_syslog_severity(MAMORI_SEVERITY_LOW), 5);
	assert_int_equal(mamori_syslog_severity(
	    MAMORI_SEVERITY_INFORMATIONAL), 6);
}

static void
test_syslog_escaping(void **state)
{
	/* A hostile host name: quote, backslash, bracket, newline, a NUL-free
	 * invalid UTF-8 byte, and valid UTF-8 that must stay. */
	struct mamori_output_alert *a = make_alert(1,
	    "a\"b\\c]d\ne\xff" "f\xc3\xa9g\xed\xa0\x80h", "x]\"\\y",
	    MAMORI_SEVERITY_LOW, 0);
	char *s;
	int rc;

	(void)state;
	s = format(a, "srv", "app", 65000, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, " host=\"a\\\"b\\\\c\\]d?e?f\xc3\xa9g???h\" "));
	assert_non_null(strstr(s, " rule=\"x\\]\\\"\\\\y\" "));
	/* One line: no raw newline anywhere (the JSON escapes its own). */
	assert_null(strchr(s, '\n'));
	/* The structured data ends at the first unescaped ']'. */
	assert_non_null(strstr(s, "source=\"sigma\"] {"));
	assert_int_equal(strncmp(s, "<133>1 ", 7), 0);  /* 16*8 + notice */
	free(s);
	mamori_output_alert_release(a);
}

static void
test_syslog_nilvalue_and_header(void **state)
{
	struct mamori_output_alert *a = make_alert(2, "", "r",
	    MAMORI_SEVERITY_CRITICAL, 0);
	char longname[400], *s, *p;
	int rc;

	(void)state;
	/* Empty hostname and app name: NILVALUE; host param stays "". */
	s = format(a, "", "", 65000, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "Z - - 4242 alert [mamori@32473 "));
	assert_non_null(strstr(s, " host=\"\" "));
	free(s);
	/* A header field with a space and a non-ASCII byte: '?'; cut to
	 * 255 bytes. */
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[3] = ' ';
	longname[4] = (char)0xc3;
	s = format(a, longname, "an app name that is much longer than the "
	    "forty-eight bytes allowed", 65000, &rc);
	assert_int_equal(rc, 0);
	p = strstr(s, "Z hhh??h");
	assert_non_null(p);
	p += 2;
	assert_int_equal(strcspn(p, " "), MAMORI_SYSLOG_HOSTNAME_MAX);
	p += MAMORI_SYSLOG_HOSTNAME_MAX + 1;
	/* The app name: 48 bytes, its spaces replaced. */
	assert_int_equal(strcspn(p, " "), MAMORI_SYSLOG_APPNAME_MAX);
	assert_int_equal(strncmp(p, "an?app?name", 11), 0);
	free(s);
	mamori_output_alert_release(a);
}

static void
test_syslog_length(void **state)
{
	struct mamori_output_alert *a = make_alert(3, "h", "r",
	    MAMORI_SEVERITY_MEDIUM, 0);
	char *full, *cut, *s;
	size_t head;
	int rc;

	(void)state;
	full = format(a, "srv", "mamorid", 65000, &rc);
	assert_int_equal(rc, 0);
	head = strlen(full) - a->json_len;
	/* Exactly long enough: not cut. */
	s = format(a, "srv", "mamorid", strlen(full), &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(s, full);
	free(s);
	/* Ten bytes short: the MSG loses its last ten bytes, nothing else. */
	cut = format(a, "srv", "mamorid", strlen(full) - 10, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(cut), strlen(full) - 10);
	assert_memory_equal(cut, full, strlen(cut));
	free(cut);
	/* Room for the header and structured data and the space only. */
	s = format(a, "srv", "mamorid", head, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(s), head);
	free(s);
	/* Not even that: refused, never a broken structured data. */
	s = format(a, "srv", "mamorid", head - 2, &rc);
	assert_int_equal(rc, MAMORI_ERR_TOO_LARGE);
	free(s);
	free(full);
	mamori_output_alert_release(a);
}

static void
test_alert_json(void **state)
{
	struct mamori_output_alert *a = make_alert(9, "h\xc3\xa9\"x", "r",
	    MAMORI_SEVERITY_HIGH, 1);
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < a->json_len; i++)
		assert_true((unsigned char)a->json[i] < 0x80);
	j = json_loads(a->json, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 9);
	assert_string_equal(json_string_value(json_object_get(j, "host")),
	    "h\xc3\xa9\"x");
	assert_string_equal(json_string_value(json_object_get(j, "severity")),
	    "high");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	    "2026-11-28T07:20:44.123456789Z");
	assert_true(json_is_true(json_object_get(j, "repeat")));
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "detail"), "event"), "process.command_line")),
	    "sh -c \"id\"");
	json_decref(j);
	mamori_output_alert_release(a);
}

/* ---- outputs.json ------------------------------------------------------- */

static void
expect_bad(const char *text, const char *needle)
{
	struct mamori_outputs *o = (void *)1;
	char why[300] = "";

	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), MAMORI_ERR_OUTPUT_CONFIG);
	assert_null(o);
	if (strstr(why, needle) == NULL)
		fail_msg("config %s: got \"%s\", wanted \"%s\"", text, why,
		    needle);
	assert_null(strchr(why, '\n'));
}

static void
test_config(void **state)
{
	struct mamori_outputs *o = NULL;
	struct mamori_output_stats st;
	char text[1024], why[300];

	(void)state;
	expect_bad("[", "not JSON");
	expect_bad("[]", "must be an object");
	expect_bad("{\"outputs\": {}}", "must be an array");
	expect_bad("{\"output\": []}", "unknown key \"output\"");
	expect_bad("{\"outputs\": [{\"kind\": \"kafka\"}]}",
	    "unknown kind \"kafka\"");
	expect_bad("{\"outputs\": [{\"path\": \"/x\"}]}", "\"kind\" is required");
	expect_bad("{\"outputs\": [{\"kind\": \"jsonl\"}]}",
	    "\"path\" must be an absolute");
	expect_bad("{\"outputs\": [{\"kind\": \"jsonl\", \"path\": \"/tmp/x\","
	    " \"colour\": 1}]}", "unknown key \"colour\"");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"queue\": 0}]}", "\"queue\" must be");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"queue\": 1000001}]}", "\"queue\" must be");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h\"}]}", "udp://HOST:PORT");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"smtp://h:25\"}]}", "must start with");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"facility\": \"local9\"}]}", "\"facility\"");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"sd_id\": \"mamori\"}]}", "NAME@NUMBER");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"max_length\": 100}]}", "\"max_length\"");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"min_severity\": \"severe\"}]}", "min_severity");
	expect_bad("{\"outputs\": [{\"kind\": \"webhook\", \"url\": "
	    "\"http://h/x\"}]}", "plain http is not allowed");
	expect_bad("{\"outputs\": [{\"kind\": \"webhook\", \"url\": "
	    "\"https://h/x\", \"headers\": {\"X-A\": \"a\\r\\nB: c\"}}]}",
	    "control character");
	expect_bad("{\"outputs\": [{\"kind\": \"webhook\", \"url\": "
	    "\"https://h/x\", \"headers\": {\"Host\": \"evil\"}}]}",
	    "may not set Host");
	expect_bad("{\"outputs\": [{\"kind\": \"webhook\", \"url\": "
	    "\"https://h/x\", \"ca_file\": \"/nonexistent/ca.pem\"}]}",
	    "cannot load \"ca_file\"");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"name\": \"a\", "
	    "\"address\": \"udp://h:1\"}, {\"kind\": \"syslog\", \"name\": "
	    "\"a\", \"address\": \"udp://h:2\"}]}", "two outputs are named a");
	expect_bad("{\"outputs\": [{\"kind\": \"syslog\", \"address\": "
	    "\"udp://h:1\", \"repeats\": 1}]}", "\"repeats\" must be");

	/* No outputs at all is fine, and so is a missing file. */
	assert_int_equal(mamori_outputs_parse("{\"outputs\": []}", 15, &o, why,
	    sizeof(why)), 0);
	assert_null(o);
	assert_int_equal(mamori_outputs_load("/nonexistent/outputs.json", &o,
	    why, sizeof(why)), 0);
	assert_null(o);

	snprintf(text, sizeof(text), "{\"outputs\": ["
	    "{\"kind\": \"jsonl\", \"path\": \"%s/cfg.jsonl\"},"
	    "{\"kind\": \"syslog\", \"name\": \"siem\", \"address\": "
	    "\"tcp://[::1]:6514\", \"facility\": \"auth\", \"queue\": 5},"
	    "{\"kind\": \"webhook\", \"url\": \"https://example.org:8443/in\","
	    " \"headers\": {\"Authorization\": \"Bearer x\"}}]}", tmpdir);
	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), 0);
	assert_int_equal(mamori_outputs_count(o), 3);
	assert_int_equal(mamori_outputs_stats(o, 0, &st), 0);
	assert_string_equal(st.name, "jsonl-1");
	assert_string_equal(st.kind, "jsonl");
	assert_int_equal(st.queue_max, MAMORI_OUTPUT_QUEUE_DEFAULT);
	assert_int_equal(mamori_outputs_stats(o, 1, &st), 0);
	assert_string_equal(st.name, "siem");
	assert_string_equal(st.target, "tcp://[::1]:6514");
	assert_int_equal(st.queue_max, 5);
	assert_int_equal(mamori_outputs_stats(o, 2, &st), 0);
	assert_string_equal(st.kind, "webhook");
	assert_int_equal(mamori_outputs_stats(o, 3, &st),
	    MAMORI_ERR_NOT_FOUND);
	mamori_outputs_free(o);
}

/* ---- the queue ---------------------------------------------------------- */

static void
wait_stats(struct mamori_outputs *o, size_t i, struct mamori_output_stats *st,
    int (*done)(const struct mamori_output_stats *))
{
	int n;

	for (n = 0; n < 1000; n++) {
		assert_int_equal(mamori_outputs_stats(o, i, st), 0);
		if (done(st))
			return;
		usleep(5000);
	}
	fail_msg("output counters did not get there in 5 s");
}

static int
retried_once(const struct mamori_output_stats *st)
{
	return st->retried >= 1;
}

static int
failed_once(const struct mamori_output_stats *st)
{
	return st->failed >= 1;
}

static void
test_queue_bounded(void **state)
{
	struct mamori_outputs *o = NULL;
	struct mamori_output_stats st;
	struct mamori_output_alert *a;
	char text[512], why[300];
	struct timespec t0, t1;
	int i;

	(void)state;
	/* Nobody listens on the socket, and the backoff is a minute: the
	 * thread holds its first alert while the queue of 3 fills. */
	snprintf(text, sizeof(text), "{\"outputs\": [{\"kind\": \"syslog\", "
	    "\"address\": \"unix://%s/nobody.sock\", \"queue\": 3, "
	    "\"backoff_ms\": 60000}]}", tmpdir);
	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), 0);
	assert_int_equal(mamori_outputs_start(o), 0);
	a = make_alert(1, "h", "r", MAMORI_SEVERITY_HIGH, 0);
	mamori_outputs_submit(o, a);
	wait_stats(o, 0, &st, retried_once);
	assert_int_equal(st.queued, 1);         /* the one being retried */
	for (i = 0; i < 9; i++)
		mamori_outputs_submit(o, a);
	assert_int_equal(mamori_outputs_stats(o, 0, &st), 0);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.sent, 0);
	assert_non_null(strstr(st.last_error, "nobody.sock"));
	/* The caller's reference is its own: 1 + the 3 queued + 1 held. */
	assert_int_equal(__atomic_load_n(&a->refs, __ATOMIC_RELAXED), 5);
	mamori_outputs_count_dropped(o, 2);
	assert_int_equal(mamori_outputs_stats(o, 0, &st), 0);
	assert_int_equal(st.dropped, 8);
	/* Shutdown gives up after the drain time, not the backoff. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mamori_outputs_free(o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec <= MAMORI_OUTPUT_DRAIN_MS / 1000 + 2);
	assert_int_equal(__atomic_load_n(&a->refs, __ATOMIC_RELAXED), 1);
	mamori_output_alert_release(a);
}

static void
test_queue_retries_then_fails(void **state)
{
	struct mamori_outputs *o = NULL;
	struct mamori_output_stats st;
	struct mamori_output_alert *a;
	char text[512], why[300];

	(void)state;
	snprintf(text, sizeof(text), "{\"outputs\": [{\"kind\": \"syslog\", "
	    "\"address\": \"unix://%s/nobody.sock\", \"retries\": 2, "
	    "\"backoff_ms\": 1}]}", tmpdir);
	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), 0);
	assert_int_equal(mamori_outputs_start(o), 0);
	a = make_alert(1, "h", "r", MAMORI_SEVERITY_HIGH, 0);
	mamori_outputs_submit(o, a);
	mamori_output_alert_release(a);
	wait_stats(o, 0, &st, failed_once);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 0);
	assert_true(st.last_error_at > 0);
	mamori_outputs_free(o);
}

static int
sent_three(const struct mamori_output_stats *st)
{
	return st->sent >= 3;
}

static int
sent_four(const struct mamori_output_stats *st)
{
	return st->sent >= 4;
}

static int
sent_five(const struct mamori_output_stats *st)
{
	return st->sent >= 5;
}

static size_t
read_lines(const char *path, json_t **lines, size_t max)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		assert_true(strlen(buf) > 0 && buf[strlen(buf) - 1] == '\n');
		assert_true(n < max);
		lines[n] = json_loads(buf, 0, NULL);
		assert_non_null(lines[n]);
		n++;
	}
	fclose(f);
	return n;
}

static void
test_jsonl(void **state)
{
	struct mamori_outputs *o = NULL;
	struct mamori_output_stats st;
	struct mamori_output_alert *a;
	char text[512], why[300], path[128], rotated[140];
	json_t *lines[8];
	struct stat sb;
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/alerts.jsonl", tmpdir);
	snprintf(text, sizeof(text), "{\"outputs\": [{\"kind\": \"jsonl\", "
	    "\"path\": \"%s\", \"min_severity\": \"medium\"}]}", path);
	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), 0);
	assert_int_equal(stat(path, &sb), 0);   /* opened at configuration */
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(mamori_outputs_start(o), 0);
	for (i = 1; i <= 3; i++) {
		a = make_alert(i, "host\n\"1\"", "rule", MAMORI_SEVERITY_HIGH,
		    0);
		mamori_outputs_submit(o, a);
		mamori_output_alert_release(a);
	}
	/* Below min_severity, and a repeat: neither is written. */
	a = make_alert(10, "h", "r", MAMORI_SEVERITY_LOW, 0);
	mamori_outputs_submit(o, a);
	mamori_output_alert_release(a);
	a = make_alert(11, "h", "r", MAMORI_SEVERITY_CRITICAL, 1);
	mamori_outputs_submit(o, a);
	mamori_output_alert_release(a);
	wait_stats(o, 0, &st, sent_three);
	assert_int_equal(st.skipped, 2);
	n = read_lines(path, lines, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(json_integer_value(json_object_get(lines[i],
		    "id")), (json_int_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(lines[i],
		    "host")), "host\n\"1\"");
		json_decref(lines[i]);
	}
	/* Rotated away: the next alert starts a new file. */
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	assert_int_equal(rename(path, rotated), 0);
	a = make_alert(4, "h", "r", MAMORI_SEVERITY_HIGH, 0);
	mamori_outputs_submit(o, a);
	mamori_output_alert_release(a);
	wait_stats(o, 0, &st, sent_four);
	assert_int_equal(read_lines(rotated, lines, 8), 3);
	for (i = 0; i < 3; i++)
		json_decref(lines[i]);
	assert_int_equal(read_lines(path, lines, 8), 1);
	assert_int_equal(json_integer_value(json_object_get(lines[0], "id")),
	    4);
	json_decref(lines[0]);
	/* Reopen (SIGHUP) keeps appending to the same file. */
	mamori_outputs_reopen(o);
	a = make_alert(5, "h", "r", MAMORI_SEVERITY_HIGH, 0);
	mamori_outputs_submit(o, a);
	mamori_output_alert_release(a);
	wait_stats(o, 0, &st, sent_five);
	assert_int_equal(read_lines(path, lines, 8), 2);
	json_decref(lines[0]);
	json_decref(lines[1]);
	assert_int_equal(st.dropped + st.failed + st.refused, 0);
	mamori_outputs_free(o);
}

static void
test_jsonl_repeats(void **state)
{
	struct mamori_outputs *o = NULL;
	struct mamori_output_stats st;
	struct mamori_output_alert *a;
	char text[512], why[300], path[128];
	json_t *lines[4];
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/repeats.jsonl", tmpdir);
	snprintf(text, sizeof(text), "{\"outputs\": [{\"kind\": \"jsonl\", "
	    "\"path\": \"%s\", \"repeats\": true}]}", path);
	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), 0);
	assert_int_equal(mamori_outputs_start(o), 0);
	for (i = 0; i < 3; i++) {
		a = make_alert(1, "h", "r", MAMORI_SEVERITY_LOW, i > 0);
		mamori_outputs_submit(o, a);
		mamori_output_alert_release(a);
	}
	wait_stats(o, 0, &st, sent_three);
	assert_int_equal(read_lines(path, lines, 4), 3);
	assert_true(json_is_false(json_object_get(lines[0], "repeat")));
	assert_true(json_is_true(json_object_get(lines[2], "repeat")));
	for (i = 0; i < 3; i++)
		json_decref(lines[i]);
	mamori_outputs_free(o);
}

/* A unix datagram receiver gets exactly the formatted message. */
static void
test_syslog_unix_dgram(void **state)
{
	struct mamori_outputs *o = NULL;
	struct mamori_output_alert *a;
	struct sockaddr_un sun;
	char text[512], why[300], buf[70000];
	struct timeval tv = {5, 0};
	ssize_t n;
	int fd;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	snprintf(text, sizeof(text), "{\"outputs\": [{\"kind\": \"syslog\", "
	    "\"address\": \"unix://%s\", \"hostname\": \"srv\", "
	    "\"facility\": 4, \"max_length\": 600}]}", sun.sun_path);
	assert_int_equal(mamori_outputs_parse(text, strlen(text), &o, why,
	    sizeof(why)), 0);
	assert_int_equal(mamori_outputs_start(o), 0);
	a = make_alert(77, "h", "r", MAMORI_SEVERITY_CRITICAL, 0);
	mamori_outputs_submit(o, a);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true((size_t)n <= 600);
	/* auth (4) * 8 + crit (2) = 34 */
	assert_int_equal(strncmp(buf, "<34>1 ", 6), 0);
	assert_non_null(strstr(buf, " srv mamorid "));
	assert_non_null(strstr(buf, "[mamori@32473 id=\"77\" "));
	mamori_output_alert_release(a);
	mamori_outputs_free(o);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syslog_exact),
		cmocka_unit_test(test_syslog_severity_pri),
		cmocka_unit_test(test_syslog_escaping),
		cmocka_unit_test(test_syslog_nilvalue_and_header),
		cmocka_unit_test(test_syslog_length),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_queue_bounded),
		cmocka_unit_test(test_queue_retries_then_fails),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_jsonl_repeats),
		cmocka_unit_test(test_syslog_unix_dgram),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
