/*
 * fuzz_yara_rules.c - libFuzzer target for YARA rule text: the bytes are
 * one rule source, compiled through mamori_yara_compile (limits, include
 * refusal, message collection) and, when they compile, listed and applied
 * to a fixed buffer shaped like a small PE file with some text, with a
 * one-second scan timeout.  libyara is started once for the process and
 * never finished (as in an agent).  Must keep no other state between
 * inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yara_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TARGET_LEN 4096

static void
make_target(uint8_t *t)
{
	static const char text[] = "This program cannot be run in DOS mode. "
	    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; SV1) "
	    "C:\\Users\\test\\Release\\x.pdb |||ccaacmds .php .php MMID";
	size_t i;

	for (i = 0; i < FUZZ_TARGET_LEN; i++)
		t[i] = (uint8_t)(i * 7u + 3u);
	memset(t, 0, 0x100);
	t[0] = 'M';
	t[1] = 'Z';
	t[0x3c] = 0x80;
	memcpy(t + 0x80, "PE\0\0\x4c\x01\x01\x00", 8);
	memcpy(t + 0x400, text, sizeof(text) - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	static uint8_t target[FUZZ_TARGET_LEN];
	struct mamori_yara_source src = {"fuzz.yar", (const char *)data, size};
	struct mamori_yara_scan_options opts = {0, 1, 1};
	struct mamori_yara_messages msgs;
	struct mamori_yara_rule_info *infos = NULL;
	struct mamori_yara_result res;
	mamori_yara_rules_t *rules = NULL;
	size_t n = 0;

	if (!started) {
		if (mamori_yara_init() != 0)
			return 0;
		make_target(target);
		started = 1;
	}
	if (mamori_yara_compile(&src, 1, &rules, &msgs) == 0) {
		if (mamori_yara_rules_list(rules, &infos, &n) == 0)
			mamori_yara_rule_infos_free(infos, n);
		(void)mamori_yara_scan_mem(rules, target, sizeof(target), &opts,
		    &res);
		mamori_yara_result_free(&res);
	}
	mamori_yara_messages_free(&msgs);
	mamori_yara_rules_free(rules);
	return 0;
}
