/*
 * fuzz_sigma_rule.c - libFuzzer target for the Sigma engine: each input is
 * one rule file.  It is loaded and compiled against the offline schema (a
 * slot per field name) and against the ingest schema, and matched against
 * one fixed event whose every slot holds text derived from the input, so
 * the YAML reader, the condition parser, the pattern compiler and the
 * matcher all see it.  A rule must either load or carry a reason.  Must
 * never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigma.h"

#define FUZZ_SLOT_TEXT_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_and_match(struct mamori_sigma_ruleset *rs, const uint8_t *data,
    size_t size, uint32_t category)
{
	struct mamori_sigma_slot slots[MAMORI_SIGMA_SLOTS_MAX];
	const struct mamori_sigma_rule_info *info;
	struct mamori_sigma_matcher *m = NULL;
	const uint32_t *hits;
	size_t n, i, nslots = MAMORI_SIGMA_SLOTS_MAX;
	size_t text = size < FUZZ_SLOT_TEXT_MAX ? size : FUZZ_SLOT_TEXT_MAX;

	if (mamori_sigma_ruleset_compile(rs) != 0)
		return;
	for (i = 0; i < mamori_sigma_ruleset_count(rs); i++) {
		info = mamori_sigma_rule_info(rs, i);
		if (!info->loaded && info->reason[0] == '\0')
			abort();
		if (info->loaded && info->reason[0] != '\0')
			abort();
	}
	if (mamori_sigma_matcher_new(rs, &m) != 0)
		return;
	/* Every slot present, holding a piece of the input (the last
	 * bytes, where values tend to be), or empty for odd slots. */
	for (i = 0; i < nslots; i++) {
		slots[i].value = (const char *)data + size - text;
		slots[i].len = (i & 1) ? 0 : text;
		slots[i].present = (i % 3) != 2;
	}
	if (mamori_sigma_match(m, category, slots, nslots, &hits, &n) == 0) {
		if (n > mamori_sigma_ruleset_loaded(rs))
			abort();
		for (i = 1; i < n; i++)
			if (hits[i] <= hits[i - 1])
				abort();
	}
	mamori_sigma_matcher_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_sigma_dynamic *d = NULL;
	struct mamori_sigma_ruleset *rs = NULL;
	struct mamori_sigma_schema schema;

	if (mamori_sigma_dynamic_new(&d) != 0)
		return 0;
	mamori_sigma_dynamic_schema(d, &schema);
	if (mamori_sigma_ruleset_new(&schema, &rs) == 0 &&
	    mamori_sigma_ruleset_add_yaml(rs, "fuzz", (const char *)data,
	    size) == 0)
		check_and_match(rs, data, size, MAMORI_SIGMA_ANY_CATEGORY);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_dynamic_free(d);

	rs = NULL;
	mamori_sigma_ingest_schema(&schema);
	if (mamori_sigma_ruleset_new(&schema, &rs) == 0 &&
	    mamori_sigma_ruleset_add_yaml(rs, "fuzz", (const char *)data,
	    size) == 0)
		check_and_match(rs, data, size,
		    MAMORI_SIGMA_CAT_PROCESS_CREATION);
	mamori_sigma_ruleset_free(rs);
	return 0;
}
