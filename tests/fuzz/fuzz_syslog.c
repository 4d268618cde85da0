/*
 * fuzz_syslog.c - the syslog output's RFC 5424 formatter on hostile
 * alert strings.  The host name an agent reported and a rule key come in
 * as raw bytes (any byte but NUL); the formatted message is then parsed
 * back strictly, and the harness aborts when the structured data could be
 * misread: an SD-PARAM value with an unescaped '"', '\' or ']', a control
 * character or invalid UTF-8, a header field outside printable US-ASCII,
 * or a message longer than its limit.  The shared alert built by
 * mamori_output_alert_new from the same bytes must hold valid ASCII JSON
 * without a raw control character.
 *
 * Input: byte 0 the severity, byte 1 the length limit, byte 2 the length
 * of the host name; then the host name, then the rule key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "output.h"
#include "store.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Skips a header field (printable US-ASCII up to a space). */
static size_t
header_field(const uint8_t *m, size_t n, size_t i, size_t max)
{
	size_t start = i;

	while (i < n && m[i] != ' ') {
		if (m[i] < 33 || m[i] > 126)
			abort();
		i++;
	}
	if (i == start || i - start > max || i >= n)
		abort();
	return i + 1;
}

/* Parses a formatted message back; aborts on anything ambiguous. */
static void
check(const uint8_t *m, size_t n, size_t max_len)
{
	size_t i = 0, k, params = 0;

	if (n > max_len || n < 4 || m[0] != '<')
		abort();
	for (i = 1; i < n && m[i] >= '0' && m[i] <= '9'; i++)
		;
	if (i + 3 > n || m[i] != '>' || m[i + 1] != '1' || m[i + 2] != ' ')
		abort();
	i += 3;
	i = header_field(m, n, i, 32);                          /* time */
	i = header_field(m, n, i, MAMORI_SYSLOG_HOSTNAME_MAX);
	i = header_field(m, n, i, MAMORI_SYSLOG_APPNAME_MAX);
	i = header_field(m, n, i, MAMORI_SYSLOG_PROCID_MAX);
	i = header_field(m, n, i, MAMORI_SYSLOG_MSGID_MAX);
	if (m[i++] != '[')
		abort();
	while (i < n && m[i] != ' ' && m[i] != ']')
		i++;
	while (i < n && m[i] == ' ') {
		i++;
		while (i < n && m[i] >= 'a' && m[i] <= 'z')
			i++;
		if (i + 2 > n || m[i] != '=' || m[i + 1] != '"')
			abort();
		i += 2;
		for (;;) {
			if (i >= n)
				abort();
			if (m[i] == '"')
				break;
			if (m[i] == ']')
				abort();        /* must have been escaped */
			if (m[i] == '\\') {
				if (i + 1 >= n || (m[i + 1] != '"' &&
				    m[i + 1] != '\\' && m[i + 1] != ']'))
					abort();
				i += 2;
				continue;
			}
			if (m[i] < 0x20 || m[i] == 0x7f)
				abort();
			if ((k = mamori_utf8_seq(m + i, n - i)) == 0)
				abort();
			i += k;
		}
		i++;
		params++;
	}
	if (params != 6 || i >= n || m[i] != ']')
		abort();
	if (i + 1 < n && m[i + 1] != ' ')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_output_alert a, *shared = NULL;
	struct mamori_output_alert_info info;
	struct mamori_buf b;
	char *host = NULL, *rule = NULL;
	size_t hl, max_len, i;
	json_t *j;

	if (size < 3)
		return 0;
	hl = data[2];
	if (hl > size - 3)
		hl = size - 3;
	max_len = MAMORI_SYSLOG_LENGTH_MIN + (size_t)data[1] * 64;
	host = mamori_memdup_str(data + 3, hl);
	rule = mamori_memdup_str(data + 3 + hl, size - 3 - hl);
	if (host == NULL || rule == NULL)
		goto out;
	memset(&a, 0, sizeof(a));
	a.id = size;
	a.severity = data[0] % 7;
	a.agent_id = (char *)(uintptr_t)"0123456789abcdef0123456789abcdef";
	a.host = host;
	a.rule = rule;
	a.source = (char *)(uintptr_t)"sigma";
	a.json = (char *)(uintptr_t)"{\"x\":1}";
	a.json_len = strlen(a.json);
	mamori_buf_init(&b, MAMORI_SYSLOG_LENGTH_MAX + 16);
	if (mamori_syslog_format(&a, data[0] % 24, 1795850444123456ULL, host,
	    rule, 1, MAMORI_SYSLOG_SD_ID, max_len, &b) == 0)
		check(b.data, b.len, max_len);
	mamori_buf_free(&b);

	memset(&info, 0, sizeof(info));
	info.agent_id = "0123456789abcdef0123456789abcdef";
	info.host = host;
	info.rule = rule;
	info.source = MAMORI_ALERT_INDICATOR;
	info.severity = (uint32_t)(data[0] % 7);
	info.detail_json = rule;
	if (mamori_output_alert_new(&info, &shared) == 0) {
		/* ASCII (DEL is legal JSON), no raw control character. */
		for (i = 0; i < shared->json_len; i++)
			if ((unsigned char)shared->json[i] < 0x20 ||
			    (unsigned char)shared->json[i] > 0x7f)
				abort();
		if ((j = json_loads(shared->json, 0, NULL)) == NULL)
			abort();
		json_decref(j);
	}
	mamori_output_alert_release(shared);
out:
	free(host);
	free(rule);
	return 0;
}
