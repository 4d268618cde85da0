/*
 * fuzz_authlog.c - libFuzzer target for mamori_authlog_parse: the input is
 * an auth log, each line parsed as the login source would, and the whole
 * input once more as one line.  Every event is freed at once.  Must never
 * keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "authlog.h"
#include "buf.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_cursor c;
	Mamori__Event *ev = NULL;
	const char *line;
	size_t len;

	mamori_cursor_init(&c, data, size);
	while (mamori_next_line(&c, &line, &len)) {
		(void)mamori_authlog_parse(line, len, &ev);
		mamori_event_free(ev);
		ev = NULL;
	}
	(void)mamori_authlog_parse((const char *)data, size, &ev);
	mamori_event_free(ev);
	return 0;
}
