/*
 * fuzz_stix_pattern.c - libFuzzer target for STIX pattern text: parse,
 * print the tree back, parse the printed form again (it must be accepted),
 * and compile.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "stix_pattern.h"

#define FUZZ_DUMP_MAX (4 * MAMORI_STIX_PATTERN_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_stix_pattern *p = NULL, *p2 = NULL;
	struct mamori_stix_compiled *c = NULL;
	struct mamori_stix_error e;
	char reason[MAMORI_STIX_REASON_MAX];
	char *dump = NULL;

	if (mamori_stix_pattern_parse((const char *)data, size, &p, &e) != 0)
		return 0;
	if ((dump = malloc(FUZZ_DUMP_MAX)) != NULL &&
	    mamori_stix_pattern_dump(p, dump, FUZZ_DUMP_MAX) == 0 &&
	    strlen(dump) <= MAMORI_STIX_PATTERN_MAX) {
		/* the canonical form of a valid pattern is valid (nesting
		 * grows by the added parentheses, so a depth limit may
		 * refuse it) */
		int r = mamori_stix_pattern_parse(dump, strlen(dump), &p2, &e);

		if (r != 0 && r != MAMORI_ERR_TOO_LARGE)
			abort();
	}
	(void)mamori_stix_pattern_compile(p, &c, reason, sizeof(reason));
	mamori_stix_compiled_free(c);
	mamori_stix_pattern_free(p2);
	mamori_stix_pattern_free(p);
	free(dump);
	return 0;
}
