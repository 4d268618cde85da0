/*
 * fuzz_agent_state.c - the agent's enrollment.json reader: any bytes are
 * either refused or yield a server address that parses and fingerprints of
 * the right length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_agent_state st;
	char host[MAMORI_HOST_MAX + 1];
	uint16_t port;

	memset(&st, 0, sizeof(st));
	if (mamori_state_info_parse((const char *)data, size, &st) == 0) {
		if (mamori_parse_hostport(st.server, host, sizeof(host),
		    &port) != 0 || strlen(st.agent_id) != MAMORI_AGENT_ID_LEN)
			abort();
	}
	return 0;
}
