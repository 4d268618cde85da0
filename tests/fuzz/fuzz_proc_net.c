/*
 * fuzz_proc_net.c - libFuzzer target for mamori_parse_proc_net.  The first
 * byte picks the file format (tcp, tcp6, udp, udp6); the rest is the file.
 * A fresh Inventory per input, freed after.  Must never keep state between
 * inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const protocols[] = {"tcp", "tcp6", "udp", "udp6"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Mamori__Inventory *inv;
	const char *protocol;

	if (size < 1)
		return 0;
	protocol = protocols[data[0] % (sizeof(protocols) /
	    sizeof(protocols[0]))];
	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL)
		return 0;
	(void)mamori_parse_proc_net((const char *)data + 1, size - 1, inv,
	    protocol);
	mamori_inventory_free(inv);
	return 0;
}
