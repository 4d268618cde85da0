/*
 * fuzz_isolation_state.c - the agent's isolation state decoder.  Each
 * input is tried as it is and with the correct "sha256" line appended.  An
 * accepted file holds only canonical numeric addresses and non-zero ports
 * (so nothing else can reach the nftables ruleset), and the ruleset built
 * from it mentions each of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "isolate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size)
{
	struct mamori_isolate_target t, again;
	char *rules = NULL, want[128];
	size_t i;
	int iso = 7;

	if (mamori_isolate_state_parse(data, size, &iso, &t) != 0) {
		if (iso != 0)
			abort();
		return;
	}
	if ((iso != 0 && iso != 1) || t.n > MAMORI_ISOLATE_PEERS_MAX ||
	    (iso && t.n == 0))
		abort();
	memset(&again, 0, sizeof(again));
	for (i = 0; i < t.n; i++) {
		if (t.peer[i].port == 0 || mamori_isolate_target_add(&again,
		    t.peer[i].addr, t.peer[i].port) != 0 ||
		    strcmp(again.peer[i].addr, t.peer[i].addr) != 0)
			abort();
	}
	if (t.n == 0)
		return;
	if (mamori_isolate_ruleset(&t, &rules) != 0)
		abort();
	for (i = 0; i < t.n; i++) {
		snprintf(want, sizeof(want), "daddr %s tcp dport %u accept\n",
		    t.peer[i].addr, (unsigned)t.peer[i].port);
		if (strstr(rules, want) == NULL)
			abort();
	}
	free(rules);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sum[MAMORI_SHA256_LEN], *buf;
	char hex[2 * MAMORI_SHA256_LEN + 1];

	check(data, size);
	if (size > MAMORI_ISOLATE_FILE_MAX)
		return 0;
	if ((buf = malloc(size + 8 + sizeof(hex))) == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	mamori_sha256(data, size, sum);
	mamori_hex(sum, sizeof(sum), hex);
	memcpy(buf + size, "sha256 ", 7);
	memcpy(buf + size + 7, hex, 64);
	buf[size + 71] = '\n';
	check(buf, size + 72);
	free(buf);
	return 0;
}
