/*
 * fuzz_passwd.c - libFuzzer target for the account parsers: the same bytes
 * go through mamori_parse_passwd and mamori_parse_group into a fresh
 * Inventory, then it is freed.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Mamori__Inventory *inv;

	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL)
		return 0;
	(void)mamori_parse_passwd((const char *)data, size, inv);
	(void)mamori_parse_group((const char *)data, size, inv);
	mamori_inventory_free(inv);
	return 0;
}
