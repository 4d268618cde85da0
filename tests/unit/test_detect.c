/*
 * test_detect.c - unit tests for the server's detection at ingest
 * (src/server/detect.c) through mamori_ingest_events_write: rules and
 * bundles in a temporary server home, events written into a temporary
 * store, the alerts read back.
 *
 * Each test builds its own home and store under /tmp and removes them.
 * Events are built in memory as the agent would send them; no agent, no
 * network, no audit socket.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "detect.h"
#include "err.h"
#include "server.h"
#include "store.h"
#include "util.h"

#define TEST_PATH_MAX 512
#define TEST_ALERTS_MAX 32
#define AGENT "0123456789abcdef0123456789abcdef"
#define RULE_ID "5b0f6a1e-0c1d-4e55-9a77-000000000001"
#define IND_HASH "indicator--11111111-1111-4111-8111-111111111111"
#define IND_DOMAIN "indicator--22222222-2222-4222-8222-222222222222"
#define IND_BAD "indicator--33333333-3333-4333-8333-333333333333"
#define SHA_BAD_FILE \
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char rule_yaml[] =
    "title: Marker command\n"
    "id: " RULE_ID "\n"
    "tags:\n"
    "    - attack.execution\n"
    "    - attack.t1059\n"
    "logsource:\n"
    "    product: linux\n"
    "    category: process_creation\n"
    "detection:\n"
    "    selection:\n"
    "        CommandLine|contains: 'qz-detect-marker'\n"
    "        ParentProcessId: 4242\n"
    "    condition: selection\n"
    "level: critical\n";

static const char unsupported_yaml[] =
    "title: Keyword rule\n"
    "id: 5b0f6a1e-0c1d-4e55-9a77-000000000002\n"
    "logsource:\n"
    "    product: linux\n"
    "    category: process_creation\n"
    "detection:\n"
    "    keywords:\n"
    "        - 'x'\n"
    "    condition: keywords\n"
    "level: low\n";

static const char bundle_json[] =
    "{\"type\":\"bundle\",\"id\":\"bundle--44444444-4444-4444-8444-"
    "444444444444\",\"objects\":["
    "{\"type\":\"indicator\",\"id\":\"" IND_HASH "\",\"name\":\"bad file\","
    "\"pattern_type\":\"stix\",\"labels\":[\"severity:medium\"],"
    "\"pattern\":\"[file:hashes.'SHA-256' = '" SHA_BAD_FILE "']\"},"
    "{\"type\":\"indicator\",\"id\":\"" IND_DOMAIN "\",\"name\":\"c2\","
    "\"pattern_type\":\"stix\","
    "\"pattern\":\"[domain-name:value = 'evil.example']\"},"
    "{\"type\":\"indicator\",\"id\":\"" IND_BAD "\","
    "\"pattern_type\":\"stix\","
    "\"pattern\":\"[email-message:subject = 'x']\"}]}";

#define TEST_DIR_MAX 64

struct fixture {
	char dir[TEST_DIR_MAX];
	struct mamori_store *s;
	struct mamori_detect *d;
};

static void
write_file(const char *dir, const char *rel, const char *text)
{
	char path[TEST_PATH_MAX];

	assert_int_equal(mamori_path_join(path, sizeof(path), dir, rel), 0);
	assert_int_equal(mamori_file_write(path, text, strlen(text), 0600, 0), 0);
}

static void
rm_rf(const char *path)
{
	char p[TEST_PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (mamori_path_join(p, sizeof(p), path,
			    de->d_name) == 0)
				rm_rf(p);
		}
		closedir(d);
		rmdir(path);
		return;
	}
	unlink(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mamori_agent_rec a;
	uint8_t key[MAMORI_KEY_LEN];
	char p[TEST_PATH_MAX];

	if (f == NULL)
		return -1;
	mamori_strlcpy(f->dir, "/tmp/mamori-detect-XXXXXX", sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;   /* teardown removes what exists, even after a failure */
	snprintf(p, sizeof(p), "%s/rules", f->dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/rules/sigma", f->dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/rules/sigma/sub", f->dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/rules/intel", f->dir);
	mkdir(p, 0700);
	write_file(f->dir, "rules/sigma/sub/marker.yml", rule_yaml);
	write_file(f->dir, "rules/sigma/keywords.yaml", unsupported_yaml);
	write_file(f->dir, "rules/sigma/notes.txt", "not a rule");
	write_file(f->dir, "rules/intel/a.json", bundle_json);
	write_file(f->dir, "rules/intel/broken.json", "{\"type\": \"nope\"}");
	mamori_random(key, sizeof(key));
	snprintf(p, sizeof(p), "%s/store.db", f->dir);
	if (mamori_store_open_sqlite(p, key, 1, &f->s) != 0)
		return -1;
	memset(&a, 0, sizeof(a));
	mamori_strlcpy(a.id, AGENT, sizeof(a.id));
	mamori_strlcpy(a.cert_serial, "00", sizeof(a.cert_serial));
	if (mamori_store_agent_add(f->s, &a) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mamori_detect_free(f->d);
	mamori_store_close(f->s);
	rm_rf(f->dir);
	free(f);
	return 0;
}

struct alerts {
	char key[TEST_ALERTS_MAX][300];
	char detail[TEST_ALERTS_MAX][2048];
	uint32_t severity[TEST_ALERTS_MAX];
	uint64_t count[TEST_ALERTS_MAX];
	uint64_t id[TEST_ALERTS_MAX];
	size_t n;
};

static int
alert_cb(void *ctx, const struct mamori_alert_rec *rec)
{
	struct alerts *l = ctx;

	assert_true(l->n < TEST_ALERTS_MAX);
	mamori_strlcpy(l->key[l->n], rec->rule_key, sizeof(l->key[0]));
	mamori_strlcpy(l->detail[l->n], rec->detail, sizeof(l->detail[0]));
	l->severity[l->n] = rec->severity;
	l->count[l->n] = rec->count;
	l->id[l->n] = rec->id;
	l->n++;
	return 0;
}

static void
list(struct fixture *f, struct alerts *l)
{
	struct mamori_alert_query q;

	memset(&q, 0, sizeof(q));
	memset(l, 0, sizeof(*l));
	assert_int_equal(mamori_store_alert_list(f->s, &q, alert_cb, l), 0);
}

/* Index of key in l, or -1. */
static int
find(const struct alerts *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->key[i], key) == 0)
			return (int)i;
	return -1;
}

static void
write_batch(struct fixture *f, Mamori__Event **evs, size_t n)
{
	Mamori__EventBatch b = MAMORI__EVENT_BATCH__INIT;
	size_t added = 0;

	b.events = evs;
	b.n_events = n;
	assert_int_equal(mamori_ingest_events_check(&b), 0);
	assert_int_equal(mamori_store_group_begin(f->s), 0);
	assert_int_equal(mamori_ingest_events_write(f->s, AGENT, &b, f->d,
	    &added), 0);
	assert_int_equal(mamori_store_group_end(f->s, 1), 0);
}

static void
test_load_and_list(void **state)
{
	struct fixture *f = *state;
	struct mamori_detect_stats st;
	struct mamori_detect_rule r;
	size_t i, n;
	int saw_rule = 0, saw_bad_rule = 0, saw_bad_ind = 0, saw_bundle = 0;

	assert_int_equal(mamori_detect_load(f->dir, &f->d), 0);
	mamori_detect_stats(f->d, &st);
	assert_int_equal(st.sigma_loaded, 1);
	assert_int_equal(st.sigma_unsupported, 1);
	assert_int_equal(st.indicators_loaded, 2);
	assert_int_equal(st.indicators_unsupported, 1);
	assert_int_equal(st.bundles, 2);
	assert_int_equal(st.bundles_unreadable, 1);
	n = mamori_detect_rule_count(f->d);
	assert_int_equal(n, 2 + 4);
	for (i = 0; i < n; i++) {
		assert_int_equal(mamori_detect_rule_get(f->d, i, &r), 0);
		if (strcmp(r.key, RULE_ID) == 0) {
			saw_rule = 1;
			assert_true(r.loaded);
			assert_int_equal(r.severity, MAMORI_SEVERITY_CRITICAL);
			assert_string_equal(r.title, "Marker command");
		} else if (r.source == MAMORI_ALERT_SIGMA) {
			saw_bad_rule = 1;
			assert_false(r.loaded);
			assert_true(r.reason[0] != '\0');
		} else if (strcmp(r.key, IND_BAD) == 0) {
			saw_bad_ind = 1;
			assert_false(r.loaded);
			assert_true(r.reason[0] != '\0');
		} else if (r.key[0] == '\0') {
			saw_bundle = 1;
			assert_false(r.loaded);
			assert_non_null(strstr(r.path, "broken.json"));
		} else if (strcmp(r.key, IND_HASH) == 0) {
			assert_int_equal(r.severity, MAMORI_SEVERITY_MEDIUM);
		} else {
			assert_string_equal(r.key, IND_DOMAIN);
			assert_int_equal(r.severity, MAMORI_SEVERITY_HIGH);
		}
	}
	assert_true(saw_rule && saw_bad_rule && saw_bad_ind && saw_bundle);
	assert_int_equal(mamori_detect_rule_get(f->d, n, &r),
	    MAMORI_ERR_NOT_FOUND);
}

static void
test_no_rules(void **state)
{
	struct fixture *f = *state;
	struct mamori_detect_stats st;
	char empty[TEST_PATH_MAX];

	snprintf(empty, sizeof(empty), "%s/nothing-here", f->dir);
	assert_int_equal(mamori_detect_load(empty, &f->d), 0);
	mamori_detect_stats(f->d, &st);
	assert_int_equal(st.sigma_loaded + st.sigma_unsupported +
	    st.indicators_loaded + st.indicators_unsupported, 0);
	assert_int_equal(mamori_detect_rule_count(f->d), 0);
}

/* An agent's YaraEvent is an alert of source yara, keyed by the rule,
 * high unless the rule's meta says another known level. */
static void
test_yara_events(void **state)
{
	struct fixture *f = *state;
	Mamori__Event ev[3], *evs[3];
	Mamori__YaraEvent y[3];
	char *tags[] = {"tick", "downloader"};
	struct alerts l;
	size_t i;
	int k;

	assert_int_equal(mamori_detect_load(f->dir, &f->d), 0);
	for (i = 0; i < 3; i++) {
		mamori__event__init(&ev[i]);
		ev[i].seq = i + 1;
		ev[i].time_ns = 1000000000ULL * (200 + i);
		evs[i] = &ev[i];
		mamori__yara_event__init(&y[i]);
		y[i].path = (char *)(uintptr_t)"/usr/local/bin/update";
		y[i].sha256 = (char *)(uintptr_t)SHA_BAD_FILE;
		y[i].set = (char *)(uintptr_t)"jpcert-tick.yara";
		y[i].namespace_ = y[i].set;
		ev[i].body_case = MAMORI__EVENT__BODY_YARA;
		ev[i].yara = &y[i];
	}
	y[0].rule = (char *)(uintptr_t)"tick_SKYSEA_downloader";
	y[0].tags = tags;
	y[0].n_tags = 2;
	y[1].rule = (char *)(uintptr_t)"marker_low";
	y[1].severity = (char *)(uintptr_t)"low";
	y[2].rule = (char *)(uintptr_t)"marker_odd";
	y[2].severity = (char *)(uintptr_t)"harmless, trust me";
	write_batch(f, evs, 3);
	list(f, &l);
	assert_true((k = find(&l, "tick_SKYSEA_downloader")) >= 0);
	assert_int_equal(l.severity[k], MAMORI_SEVERITY_HIGH);
	assert_non_null(strstr(l.detail[k], "\"set\":\"jpcert-tick.yara\""));
	assert_non_null(strstr(l.detail[k], "downloader"));
	assert_non_null(strstr(l.detail[k], "/usr/local/bin/update"));
	assert_true((k = find(&l, "marker_low")) >= 0);
	assert_int_equal(l.severity[k], MAMORI_SEVERITY_LOW);
	assert_true((k = find(&l, "marker_odd")) >= 0);
	assert_int_equal(l.severity[k], MAMORI_SEVERITY_HIGH);
	assert_string_equal(mamori_alert_source_name(MAMORI_ALERT_YARA),
	    "yara");
}

static void
test_events_raise_alerts(void **state)
{
	struct fixture *f = *state;
	Mamori__Event ev[8], *evs[8];
	Mamori__ProcessEvent p[3];
	Mamori__FileEvent fe[2];
	Mamori__NetworkEvent ne[2];
	struct alerts l;
	size_t i;
	int k;

	assert_int_equal(mamori_detect_load(f->dir, &f->d), 0);
	for (i = 0; i < 8; i++) {
		mamori__event__init(&ev[i]);
		ev[i].seq = i + 1;
		ev[i].time_ns = 1000000000ULL * (100 + i);
		evs[i] = &ev[i];
	}
	for (i = 0; i < 3; i++) {
		mamori__process_event__init(&p[i]);
		p[i].action = MAMORI__PROCESS_EVENT__ACTION__START;
		p[i].executable = (char *)(uintptr_t)"/usr/bin/true";
		p[i].command_line = (char *)(uintptr_t)
		    "true qz-detect-marker";
		p[i].ppid = 4242;
		p[i].pid = 77;
	}
	p[1].ppid = 4243;                            /* no match */
	p[2].action = MAMORI__PROCESS_EVENT__ACTION__END; /* not evaluated */
	for (i = 0; i < 3; i++) {
		ev[i].body_case = MAMORI__EVENT__BODY_PROCESS;
		ev[i].process = &p[i];
	}
	for (i = 0; i < 2; i++) {
		mamori__file_event__init(&fe[i]);
		fe[i].action = MAMORI__FILE_EVENT__ACTION__MODIFIED;
		fe[i].path = (char *)(uintptr_t)"/etc/x";
		ev[3 + i].body_case = MAMORI__EVENT__BODY_FILE;
		ev[3 + i].file = &fe[i];
	}
	fe[0].sha256_after = (char *)(uintptr_t)SHA_BAD_FILE;
	fe[1].sha256_after = (char *)(uintptr_t)"zz-not-a-hash";
	for (i = 0; i < 2; i++) {
		mamori__network_event__init(&ne[i]);
		ne[i].action = MAMORI__NETWORK_EVENT__ACTION__CONNECT;
		ne[i].destination_ip = (char *)(uintptr_t)"198.51.100.7";
		ne[i].destination_port = 443;
		ev[5 + i].body_case = MAMORI__EVENT__BODY_NETWORK;
		ev[5 + i].network = &ne[i];
	}
	ne[0].destination_hostname = (char *)(uintptr_t)"a.b.EVIL.example.";
	ne[1].destination_hostname = (char *)(uintptr_t)"notevil.example";
	mamori__event__init(&ev[7]);
	ev[7].seq = 8;
	ev[7].body_case = MAMORI__EVENT__BODY_LOSS;
	{
		static Mamori__LossEvent loss = MAMORI__LOSS_EVENT__INIT;

		ev[7].loss = &loss;
	}
	write_batch(f, evs, 8);

	list(f, &l);
	assert_int_equal(l.n, 3);
	k = find(&l, RULE_ID);
	assert_true(k >= 0);
	assert_int_equal(l.severity[k], MAMORI_SEVERITY_CRITICAL);
	assert_int_equal(l.count[k], 1);
	assert_non_null(strstr(l.detail[k], "\"title\":\"Marker command\""));
	assert_non_null(strstr(l.detail[k], "attack.t1059"));
	assert_non_null(strstr(l.detail[k], "qz-detect-marker"));
	assert_non_null(strstr(l.detail[k], "\"seqs\":[1]"));
	k = find(&l, IND_HASH);
	assert_true(k >= 0);
	assert_int_equal(l.severity[k], MAMORI_SEVERITY_MEDIUM);
	assert_non_null(strstr(l.detail[k], "\"matched_value\":\""
	    SHA_BAD_FILE "\""));
	assert_non_null(strstr(l.detail[k], "\"seqs\":[4]"));
	k = find(&l, IND_DOMAIN);
	assert_true(k >= 0);
	assert_int_equal(l.severity[k], MAMORI_SEVERITY_HIGH);
	assert_non_null(strstr(l.detail[k],
	    "\"matched_value\":\"evil.example\""));
	assert_non_null(strstr(l.detail[k],
	    "\"observed\":\"a.b.EVIL.example.\""));

	/* The same batch again (redelivery): nothing new is stored, so no
	 * match counts twice. */
	write_batch(f, evs, 8);
	list(f, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.count[find(&l, RULE_ID)], 1);

	/* A new event matching again, inside the window: counted. */
	ev[0].seq = 9;
	ev[0].time_ns += 1000000000ULL;
	write_batch(f, evs, 1);
	list(f, &l);
	assert_int_equal(l.n, 3);
	k = find(&l, RULE_ID);
	assert_int_equal(l.count[k], 2);
	assert_non_null(strstr(l.detail[k], "\"seqs\":[1,9]"));
}

/* What the sink (the server's hand-over to its outputs) was told. */
struct sunk {
	size_t n;
	uint64_t id[8];
	int created[8];
	uint64_t seq[8];
	char key[8][80];
};

static void
sink_cb(void *ctx, const struct mamori_detect_alert *a)
{
	struct sunk *k = ctx;

	assert_true(k->n < 8);
	assert_string_equal(a->agent_id, AGENT);
	assert_non_null(a->detail_json);
	k->id[k->n] = a->id;
	k->created[k->n] = a->created;
	k->seq[k->n] = a->seq;
	snprintf(k->key[k->n], sizeof(k->key[0]), "%s", a->rule_key);
	k->n++;
}

static void
test_sink(void **state)
{
	struct fixture *f = *state;
	Mamori__Event ev, *evs[1] = {&ev};
	Mamori__ProcessEvent p;
	struct sunk k;
	struct alerts l;

	assert_int_equal(mamori_detect_load(f->dir, &f->d), 0);
	memset(&k, 0, sizeof(k));
	mamori_detect_set_sink(f->d, sink_cb, &k);
	mamori__event__init(&ev);
	mamori__process_event__init(&p);
	p.action = MAMORI__PROCESS_EVENT__ACTION__START;
	p.executable = (char *)(uintptr_t)"/usr/bin/true";
	p.command_line = (char *)(uintptr_t)"true qz-detect-marker";
	p.ppid = 4242;
	ev.seq = 1;
	ev.time_ns = 1000000000ULL * 100;
	ev.body_case = MAMORI__EVENT__BODY_PROCESS;
	ev.process = &p;
	write_batch(f, evs, 1);
	assert_int_equal(k.n, 1);
	assert_string_equal(k.key[0], RULE_ID);
	assert_int_equal(k.created[0], 1);
	assert_int_equal(k.seq[0], 1);
	list(f, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(k.id[0], l.id[0]);
	/* A repeat in the window: the same stored alert, not created. */
	ev.seq = 2;
	ev.time_ns += 1000000000ULL;
	write_batch(f, evs, 1);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.created[1], 0);
	assert_int_equal(k.id[1], k.id[0]);
	assert_int_equal(k.seq[1], 2);
	/* Redelivery of a stored event raises nothing, so tells nothing. */
	write_batch(f, evs, 1);
	assert_int_equal(k.n, 2);
	mamori_detect_set_sink(f->d, NULL, NULL);
	ev.seq = 3;
	write_batch(f, evs, 1);
	assert_int_equal(k.n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_and_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_events_raise_alerts,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_yara_events, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
