/*
 * test_isolate.c - host isolation without touching the host's firewall:
 * address validation (nothing but numeric addresses reaches the ruleset),
 * the ruleset text (checked by nftables itself in dry-run mode when run as
 * root: parsed and validated by the kernel, never committed), the strict
 * state file, and name resolution.  The real effect on traffic is proven
 * in network namespaces by tests/integration/test_isolation.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "isolate.h"

static void
test_target_add(void **unused)
{
	static const char *const bad[] = {
		"", "10.0.0", "10.0.0.256", " 10.0.0.1", "10.0.0.1 ",
		"10.0.0.1; flush ruleset", "10.0.0.1 tcp dport 22 accept",
		"server.example", "::1%lo", "fe80::1/64", "0x0a000001",
		"[::1]",
	};
	struct mamori_isolate_target t;
	char addr[32];
	size_t i;

	(void)unused;
	memset(&t, 0, sizeof(t));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mamori_isolate_target_add(&t, bad[i], 1),
		    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_isolate_target_add(&t, NULL, 1),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_isolate_target_add(&t, "10.0.0.1", 0),
	    MAMORI_ERR_INVALID);
	assert_int_equal(t.n, 0);
	assert_int_equal(mamori_isolate_target_add(&t, "10.0.0.1", 7443), 0);
	assert_int_equal(mamori_isolate_target_add(&t, "FE80:0:0::0001", 443),
	    0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.peer[0].family, AF_INET);
	assert_string_equal(t.peer[1].addr, "fe80::1");
	assert_int_equal(t.peer[1].family, AF_INET6);
	/* The same pair once; the same address on another port is new. */
	assert_int_equal(mamori_isolate_target_add(&t, "fe80::1", 443), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(mamori_isolate_target_add(&t, "10.0.0.1", 7444), 0);
	assert_int_equal(t.n, 3);
	for (i = t.n; i < MAMORI_ISOLATE_PEERS_MAX; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%zu", i);
		assert_int_equal(mamori_isolate_target_add(&t, addr, 1), 0);
	}
	assert_int_equal(mamori_isolate_target_add(&t, "198.51.100.1", 1),
	    MAMORI_ERR_TOO_LARGE);
}

static void
test_ruleset(void **unused)
{
	struct mamori_isolate_target t;
	char *text = NULL;

	(void)unused;
	memset(&t, 0, sizeof(t));
	assert_int_equal(mamori_isolate_ruleset(&t, &text),
	    MAMORI_ERR_INVALID);
	assert_null(text);
	assert_int_equal(mamori_isolate_target_add(&t, "192.0.2.10", 7443), 0);
	assert_int_equal(mamori_isolate_target_add(&t, "2001:db8::10", 7443),
	    0);
	assert_int_equal(mamori_isolate_ruleset(&t, &text), 0);
	/* Replaces only its own table, in one transaction. */
	assert_int_equal(strncmp(text, "table inet mamori_isolation\n"
	    "delete table inet mamori_isolation\n"
	    "table inet mamori_isolation {\n", 93), 0);
	assert_null(strstr(text, "flush ruleset"));
	assert_non_null(strstr(text, "hook input priority -10; policy drop;"));
	assert_non_null(strstr(text, "hook output priority -10; policy drop;"));
	assert_non_null(strstr(text, "hook forward priority -10; policy drop;"));
	assert_non_null(strstr(text, "iif \"lo\" accept"));
	assert_non_null(strstr(text, "oif \"lo\" accept"));
	assert_non_null(strstr(text,
	    "ip saddr 192.0.2.10 tcp sport 7443 accept"));
	assert_non_null(strstr(text,
	    "ip daddr 192.0.2.10 tcp dport 7443 accept"));
	assert_non_null(strstr(text,
	    "ip6 saddr 2001:db8::10 tcp sport 7443 accept"));
	assert_non_null(strstr(text,
	    "ip6 daddr 2001:db8::10 tcp dport 7443 accept"));
	/* nftables itself accepts it (dry run: checked, never committed). */
	if (geteuid() == 0) {
		struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

		assert_non_null(nft);
		nft_ctx_set_dry_run(nft, true);
		assert_int_equal(nft_ctx_buffer_error(nft), 0);
		assert_int_equal(nft_run_cmd_from_buffer(nft, text), 0);
		/* and would refuse a broken one */
		assert_int_not_equal(nft_run_cmd_from_buffer(nft,
		    "table inet mamori_isolation { chain c { bogus } }\n"), 0);
		nft_ctx_free(nft);
	} else {
		fprintf(stderr, "not root: the nftables dry run is skipped\n");
	}
	free(text);
}

/* Writes body + its checksum line as the state file of dir. */
static void
write_state(const char *dir, const char *body)
{
	uint8_t sum[MAMORI_SHA256_LEN];
	char hex[2 * MAMORI_SHA256_LEN + 1], path[256];
	FILE *f;

	mamori_sha256(body, strlen(body), sum);
	mamori_hex(sum, sizeof(sum), hex);
	snprintf(path, sizeof(path), "%s/%s", dir, MAMORI_ISOLATE_FILE);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%ssha256 %s\n", body, hex);
	fclose(f);
}

static void
test_state_file(void **unused)
{
	static const char *const bad[] = {
		"mamori-isolation 2\nisolated\npeer 10.0.0.1 1\n",
		"mamori-isolation 1\nisolated\n",               /* no peer */
		"mamori-isolation 1\nmaybe\npeer 10.0.0.1 1\n",
		"mamori-isolation 1\nisolated\npeer 10.0.0.1 0\n",
		"mamori-isolation 1\nisolated\npeer 10.0.0.1 65536\n",
		"mamori-isolation 1\nisolated\npeer 10.0.0.1  1\n",
		"mamori-isolation 1\nisolated\npeer 10.0.0.1 1\npeer 10.0.0.1 1\n",
		"mamori-isolation 1\nisolated\npeer fe80:0::1 1\n", /* not canon */
		"mamori-isolation 1\nisolated\npeer 10.0.0.1 tcp dport 1\n",
		"mamori-isolation 1\nisolated\npeer 10.0.0.1; flush ruleset 1\n",
		"mamori-isolation 1\nisolated\nhost 10.0.0.1 1\n",
	};
	struct mamori_isolate_target t;
	char dir[] = "/tmp/mamori-isolate-XXXXXX", path[256], why[256];
	size_t i;
	int iso = 9;
	FILE *f;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	/* No file: not isolated, and restore does nothing (needs no
	 * privilege, touches no firewall). */
	assert_int_equal(mamori_isolate_status(dir, &iso, &t), 0);
	assert_int_equal(iso, 0);
	assert_int_equal(t.n, 0);
	iso = 9;
	assert_int_equal(mamori_isolate_restore(dir, &iso, why, sizeof(why)),
	    0);
	assert_int_equal(iso, 0);

	write_state(dir, "mamori-isolation 1\nisolated\npeer 10.0.0.1 7443\n"
	    "peer 2001:db8::1 7443\n");
	assert_int_equal(mamori_isolate_status(dir, &iso, &t), 0);
	assert_int_equal(iso, 1);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.peer[1].addr, "2001:db8::1");
	assert_int_equal(t.peer[1].port, 7443);
	write_state(dir, "mamori-isolation 1\nreleased\n");
	assert_int_equal(mamori_isolate_status(dir, &iso, &t), 0);
	assert_int_equal(iso, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_state(dir, bad[i]);
		iso = 9;
		assert_int_equal(mamori_isolate_status(dir, &iso, &t),
		    MAMORI_ERR_ISOLATION);
		assert_int_equal(iso, 0);
		/* A damaged intent is not acted on. */
		assert_int_equal(mamori_isolate_restore(dir, &iso, why,
		    sizeof(why)), MAMORI_ERR_ISOLATION);
		assert_non_null(strstr(why, "damaged"));
	}
	/* A good body with a wrong checksum. */
	snprintf(path, sizeof(path), "%s/%s", dir, MAMORI_ISOLATE_FILE);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "mamori-isolation 1\nreleased\nsha256 %064d\n", 0);
	fclose(f);
	assert_int_equal(mamori_isolate_status(dir, &iso, NULL),
	    MAMORI_ERR_ISOLATION);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_resolve(void **unused)
{
	struct mamori_isolate_target t;
	char why[256];
	size_t i;
	int v4 = 0;

	(void)unused;
	memset(&t, 0, sizeof(t));
	assert_int_equal(mamori_isolate_resolve("localhost:7443", &t, why,
	    sizeof(why)), 0);
	assert_true(t.n >= 1);
	for (i = 0; i < t.n; i++) {
		assert_int_equal(t.peer[i].port, 7443);
		if (strcmp(t.peer[i].addr, "127.0.0.1") == 0)
			v4 = 1;
	}
	assert_true(v4);
	memset(&t, 0, sizeof(t));
	assert_int_equal(mamori_isolate_resolve("[2001:db8::1]:443", &t, why,
	    sizeof(why)), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.peer[0].addr, "2001:db8::1");
	memset(&t, 0, sizeof(t));
	assert_int_equal(mamori_isolate_resolve("no-port", &t, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "not host:port"));
	assert_int_equal(mamori_isolate_resolve("host.invalid:443", &t, why,
	    sizeof(why)), MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "cannot resolve"));
	assert_int_equal(t.n, 0);
}

/* Task bodies the isolation entry refuses before touching anything. */
static void
test_task_refusals(void **unused)
{
	Mamori__TaskBody body = MAMORI__TASK_BODY__INIT;
	Mamori__HostIsolationParams p = MAMORI__HOST_ISOLATION_PARAMS__INIT;
	Mamori__KillProcessParams kill = MAMORI__KILL_PROCESS_PARAMS__INIT;
	char dir[] = "/tmp/mamori-isolate-task-XXXXXX", path[256], why[256];

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, MAMORI_ISOLATE_FILE);
	body.params_case = MAMORI__TASK_BODY__PARAMS_KILL_PROCESS;
	body.kill_process = &kill;
	assert_int_equal(mamori_isolate_task(dir, "192.0.2.1:7443", &body,
	    why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "not a host isolation task"));
	assert_int_equal(mamori_isolate_task(dir, "192.0.2.1:7443", NULL,
	    why, sizeof(why)), MAMORI_ERR_INVALID);
	/* A server that does not resolve: refused before anything is
	 * saved or installed. */
	body.params_case = MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST;
	body.isolate_host = &p;
	assert_int_equal(mamori_isolate_task(dir, "server.invalid:7443",
	    &body, why, sizeof(why)), MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "cannot resolve the server"));
	assert_int_equal(mamori_isolate_task(dir, "no-port", &body, why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_add),
		cmocka_unit_test(test_ruleset),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_task_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
