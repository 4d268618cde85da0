/*
 * fuzz_wtmp.c - libFuzzer target for mamori_wtmp_decode and
 * mamori_wtmp_event: the input is a wtmp file; each whole record is decoded
 * and turned into an event, a close record matched against the record
 * before it.  The input is also decoded whole, which must fail unless it
 * is exactly one record.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "authlog.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_wtmp_record prev, rec;
	Mamori__Event *ev = NULL;
	size_t off;
	int have_prev = 0;

	(void)mamori_wtmp_decode(data, size, &rec);
	for (off = 0; size - off >= MAMORI_WTMP_RECORD_SIZE;
	    off += MAMORI_WTMP_RECORD_SIZE) {
		if (mamori_wtmp_decode(data + off, MAMORI_WTMP_RECORD_SIZE,
		    &rec) != 0)
			return 0;
		(void)mamori_wtmp_event(&rec, have_prev ? &prev : NULL, &ev);
		mamori_event_free(ev);
		ev = NULL;
		prev = rec;
		have_prev = 1;
	}
	return 0;
}
