/*
 * fuzz_detect.c - detection at ingest on hostile events: any bytes that
 * decode as a mamori.Event are evaluated against a small rule set and
 * bundle (rules that match broadly, so the alert path runs), the alerts
 * raised into a real store in a group transaction; every stored detail
 * must read back.  Detection may refuse nothing and must never crash.
 *
 * The home and store live in a temporary directory made on the first
 * input and removed at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "detect.h"
#include "err.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_AGENT "0123456789abcdef0123456789abcdef"

static const char fuzz_rule[] =
    "title: broad\n"
    "id: f0000000-0000-4000-8000-000000000001\n"
    "tags: [attack.t1059]\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n"
    "  a: {CommandLine|contains: 'a'}\n"
    "  b: {ParentProcessId|lt: 100}\n"
    "  c: {Image|re: '^/(usr/)?bin/'}\n"
    "  condition: a or b or c\n"
    "level: high\n";

static const char fuzz_rule_file[] =
    "title: files\n"
    "id: f0000000-0000-4000-8000-000000000002\n"
    "logsource: {product: linux, category: file_event}\n"
    "detection:\n"
    "  s: {TargetFilename|contains: '/'}\n"
    "  condition: s\n"
    "level: low\n";

static const char fuzz_rule_net[] =
    "title: net\n"
    "id: f0000000-0000-4000-8000-000000000003\n"
    "logsource: {product: linux, category: network_connection}\n"
    "detection:\n"
    "  s: {DestinationIp|cidr: '10.0.0.0/8'}\n"
    "  t: {Initiated: 'true'}\n"
    "  condition: s or t\n"
    "level: medium\n";

static const char fuzz_bundle[] =
    "{\"type\":\"bundle\",\"objects\":["
    "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern\":"
    "\"[ipv4-addr:value = '0.0.0.0/0']\"},"
    "{\"type\":\"indicator\",\"id\":\"indicator--2\",\"pattern\":"
    "\"[domain-name:value = 'example']\"},"
    "{\"type\":\"indicator\",\"id\":\"indicator--3\",\"pattern\":"
    "\"[file:hashes.'SHA-256' = '"
    "0000000000000000000000000000000000000000000000000000000000000000']\"}"
    "]}";

static char fuzz_dir[64];
static struct mamori_store *fuzz_store;
static struct mamori_detect *fuzz_detect;
static uint64_t fuzz_seq;

static void
fuzz_cleanup(void)
{
	static const char *const files[] = {"rules/sigma/a.yml",
	    "rules/sigma/b.yml", "rules/sigma/c.yml", "rules/intel/a.json",
	    "rules/sigma", "rules/intel", "rules", "store.db",
	    "store.db-wal", "store.db-shm", ""};
	char p[256];
	size_t i;

	mamori_detect_free(fuzz_detect);
	mamori_store_close(fuzz_store);
	if (fuzz_dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fuzz_dir, files[i]);
		if (unlink(p) != 0)
			(void)rmdir(p);
	}
}

static void
put(const char *rel, const char *text)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", fuzz_dir, rel);
	if (mamori_file_write(p, text, strlen(text), 0600, 0) != 0)
		abort();
}

static void
fuzz_init(void)
{
	struct mamori_agent_rec a;
	uint8_t key[MAMORI_KEY_LEN];
	char p[256];

	mamori_log_init("fuzz_detect", MAMORI_LOG_ERROR);
	mamori_strlcpy(fuzz_dir, "/tmp/mamori-fuzz-detect-XXXXXX",
	    sizeof(fuzz_dir));
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	snprintf(p, sizeof(p), "%s/rules", fuzz_dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/rules/sigma", fuzz_dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/rules/intel", fuzz_dir);
	mkdir(p, 0700);
	put("rules/sigma/a.yml", fuzz_rule);
	put("rules/sigma/b.yml", fuzz_rule_file);
	put("rules/sigma/c.yml", fuzz_rule_net);
	put("rules/intel/a.json", fuzz_bundle);
	if (mamori_detect_load(fuzz_dir, &fuzz_detect) != 0)
		abort();
	mamori_random(key, sizeof(key));
	snprintf(p, sizeof(p), "%s/store.db", fuzz_dir);
	if (mamori_store_open_sqlite(p, key, 1, &fuzz_store) != 0)
		abort();
	memset(&a, 0, sizeof(a));
	mamori_strlcpy(a.id, FUZZ_AGENT, sizeof(a.id));
	mamori_strlcpy(a.cert_serial, "00", sizeof(a.cert_serial));
	if (mamori_store_agent_add(fuzz_store, &a) != 0)
		abort();
}

static int
check_alert(void *ctx, const struct mamori_alert_rec *rec)
{
	(void)ctx;
	if (rec->detail == NULL || rec->detail[0] != '{' || rec->count == 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_alert_query q;
	ProtobufCMessage *m = NULL;
	Mamori__Event *ev;
	size_t raised = 0;

	if (fuzz_store == NULL)
		fuzz_init();
	if (mamori_pb_decode(&mamori__event__descriptor, data, size,
	    MAMORI_DECODE_BUDGET_PREAUTH, &m) != 0)
		return 0;
	ev = (Mamori__Event *)m;
	ev->seq = ++fuzz_seq;
	ev->time_ns &= INT64_MAX;
	if (mamori_store_group_begin(fuzz_store) != 0)
		abort();
	if (mamori_store_event_add(fuzz_store, FUZZ_AGENT, ev->seq,
	    ev->time_ns, (uint32_t)ev->body_case, data, size, &(int){0}) != 0)
		abort();
	if (mamori_detect_event(fuzz_detect, fuzz_store, FUZZ_AGENT, ev,
	    &raised) != 0)
		abort();
	if (mamori_store_group_end(fuzz_store, 1) != 0)
		abort();
	if (raised > 0) {
		memset(&q, 0, sizeof(q));
		q.limit = 4;
		if (mamori_store_alert_list(fuzz_store, &q, check_alert,
		    NULL) != 0)
			abort();
	}
	mamori_pb_free(m);
	return 0;
}
