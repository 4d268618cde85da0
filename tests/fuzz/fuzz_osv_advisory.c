/*
 * fuzz_osv_advisory.c - libFuzzer target for OSV advisory reading
 * (mamori_osv_parse), the index and the matcher: any bytes as an advisory
 * file, then every advisory kept is matched against a small fixed host.
 * Checks that each finding points into the set and names a package of the
 * host.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "osv.h"
#include "vuln_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mamori_vuln_package host[] = {
	{"nginx-common", "1.2.1-2.2+wheezy2", "nginx", "1.2.1-2.2+wheezy2"},
	{"nginx-full", "1.2.1-2.2+wheezy2", "nginx", NULL},
	{"libc6", "2.36-9+deb12u4", "glibc", "2.36-9+deb12u4"},
	{"libssl3", "3.0.11-1~deb12u2+b1", "openssl", "3.0.11-1~deb12u2"},
	{"foo", "1:2.0~rc1-3", NULL, NULL},
	{"p", "0", "", ""},
};

static void
check(const struct mamori_osv_set *set, const struct mamori_vuln_result *res)
{
	size_t i, j, k;

	for (i = 0; i < res->n; i++) {
		const struct mamori_vuln_finding *f = &res->findings[i];

		for (j = 0; j < set->n && set->items[j] != f->advisory; j++)
			;
		if (j == set->n || f->n_binaries == 0 || f->installed == NULL)
			abort();
		for (k = 0; k < f->n_binaries; k++)
			if (f->binaries[k] == NULL)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const releases[] = {"7", "12"};
	struct mamori_osv_set set;
	struct mamori_vuln_index *ix = NULL;
	struct mamori_vuln_result res;
	size_t i;

	mamori_osv_set_init(&set);
	(void)mamori_osv_parse((const char *)data, size, "fuzz.json", &set,
	    NULL, NULL);
	if (mamori_vuln_index_build(&set, &ix) == 0) {
		for (i = 0; i < 2; i++) {
			if (mamori_vuln_match(ix, releases[i], host,
			    sizeof(host) / sizeof(host[0]), &res) != 0)
				continue;
			check(&set, &res);
			mamori_vuln_result_free(&res);
		}
		mamori_vuln_index_free(ix);
	}
	mamori_osv_set_free(&set);
	return 0;
}
