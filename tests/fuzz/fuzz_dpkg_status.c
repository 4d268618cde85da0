/*
 * fuzz_dpkg_status.c - libFuzzer target for the dpkg status parser
 * (mamori_parse_dpkg_status): any bytes into a fresh Inventory, then free.
 * Must never keep state between inputs.
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
	(void)mamori_parse_dpkg_status((const char *)data, size, inv);
	mamori_inventory_free(inv);
	return 0;
}
