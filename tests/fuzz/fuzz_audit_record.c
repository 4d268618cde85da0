/*
 * fuzz_audit_record.c - libFuzzer target for the audit record parser
 * (audit_parse.c).  The input is lines "TYPE TEXT": each line is one record
 * of the type given in decimal, fed in order to one exec assembler; the
 * exec is then finished, its command line built, and everything freed.
 * Each record's text also goes through the field scanner and the value
 * decoder on its own.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_parse.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TYPE_DIGITS 5

/* Every field of the body, and every value decoded. */
static void
scan_fields(const char *text, size_t len)
{
	struct mamori_audit_field f;
	struct mamori_audit_id id;
	struct mamori_buf b;
	const char *body;
	size_t left;

	if (mamori_audit_header(text, len, &id, &body, &left) != 0) {
		body = text;
		left = len;
	}
	mamori_buf_init(&b, MAMORI_AUDIT_STR_MAX);
	while (mamori_audit_next_field(&body, &left, &f) == 1) {
		mamori_buf_reset(&b);
		if (mamori_audit_value(&f, &b) == 0 && b.len > 0)
			mamori_audit_text_fix((char *)b.data, b.len);
	}
	mamori_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_audit_exec x;
	const char *p = (const char *)data, *end = p + size, *nl, *sp;
	char *cmdline = NULL;
	unsigned type;
	size_t i;

	mamori_audit_exec_init(&x);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		type = 0;
		for (sp = p; sp < nl && sp - p < FUZZ_TYPE_DIGITS &&
		    *sp >= '0' && *sp <= '9'; sp++)
			type = type * 10 + (unsigned)(*sp - '0');
		if (sp < nl && *sp == ' ')
			sp++;
		scan_fields(sp, (size_t)(nl - sp));
		(void)mamori_audit_exec_add(&x, type, sp, (size_t)(nl - sp));
		p = nl < end ? nl + 1 : end;
	}
	if (mamori_audit_exec_finish(&x) == 1 &&
	    mamori_audit_command_line(&x, &cmdline) == 0) {
		mamori_audit_text_fix(cmdline, strlen(cmdline));
		free(cmdline);
	}
	for (i = 0; i < x.n_args; i++)
		if (strlen(x.args[i]) > MAMORI_AUDIT_ARGV_BYTES_MAX)
			abort();
	mamori_audit_exec_free(&x);
	return 0;
}
