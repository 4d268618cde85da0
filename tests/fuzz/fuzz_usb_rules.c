/*
 * fuzz_usb_rules.c - the agent's USB rule file decoder.  Each input is
 * tried as it is and, so the fuzzer gets past the checksum, with the
 * correct "sha256" line appended.  A file that is accepted must be
 * canonical: formatting its rules again gives back exactly its bytes, and
 * no rule holds a serial that could never match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "usbctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *data, size_t size)
{
	struct mamori_usb_rule *rules = NULL;
	char *text = NULL;
	size_t n = 0, len = 0, i;

	if (mamori_usbctl_parse(data, size, &rules, &n) != 0) {
		if (rules != NULL || n != 0)
			abort();
		return;
	}
	if (n > MAMORI_USBCTL_RULES_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (strlen(rules[i].serial) > MAMORI_USBCTL_SERIAL_MAX ||
		    (rules[i].block != 0 && rules[i].block != 1))
			abort();
	if (mamori_usbctl_format(rules, n, &text, &len) != 0 ||
	    len != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	free(rules);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sum[MAMORI_SHA256_LEN], *buf;
	char hex[2 * MAMORI_SHA256_LEN + 1];

	check(data, size);
	if (size > MAMORI_USBCTL_FILE_MAX)
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
