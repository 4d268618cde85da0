/*
 * fuzz_admin_request.c - the admin socket's request decoder: any bytes must
 * be either refused with a reason or parsed into a known command whose
 * arguments all have their declared types.
 */
#include <stdint.h>
#include <stdlib.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mamori_admin_cmd *cmd;
	json_t *req;
	char why[512];

	if (mamori_admin_request_parse((const char *)data, size, &req, &cmd,
	    why, sizeof(why)) == 0) {
		if (req == NULL || cmd == NULL ||
		    mamori_admin_cmd_name(cmd) == NULL)
			abort();
		json_decref(req);
	} else if (why[0] == '\0') {
		abort(); /* every refusal says why */
	}
	return 0;
}
