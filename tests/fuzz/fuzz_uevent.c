/*
 * fuzz_uevent.c - libFuzzer target for the kernel uevent parser: each
 * input is one message as the kernel would send it.  Fields of a message
 * that parses go through the PRODUCT and TYPE parsers, and the whole input
 * does too, cut at its first NUL.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/uevent.h"

#define FUZZ_STR_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_uevent u;
	char v[5], p[5], c[3], s[FUZZ_STR_MAX + 1];
	size_t n;

	if (mamori_uevent_parse(data, size, &u) == 0) {
		if (u.action[0] == '\0' || u.devpath[0] != '/' ||
		    u.subsystem[0] == '\0')
			abort();
		(void)mamori_uevent_product(u.product, v, p);
		(void)mamori_uevent_class(u.type, c);
	}
	n = size < FUZZ_STR_MAX ? size : FUZZ_STR_MAX;
	memcpy(s, data, n);
	s[n] = '\0';
	if (mamori_uevent_product(s, v, p) == 0 &&
	    (strlen(v) != 4 || strlen(p) != 4))
		abort();
	if (mamori_uevent_class(s, c) == 0 && strlen(c) != 2)
		abort();
	return 0;
}
