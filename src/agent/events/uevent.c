/*
 * uevent.c - the kernel uevent parser (see uevent.h).  Must never read
 * past len, never accept a message it had to guess at, and never keep a
 * pointer into the caller's bytes.
 */
#include "uevent.h"

#include <string.h>

#include "err.h"
#include "parse.h"

/* Keys copied into struct mamori_uevent.  Each may appear once. */
static const struct {
	const char *key;
	size_t offset;
	size_t size;
} uevent_keys[] = {
	{"ACTION", offsetof(struct mamori_uevent, action),
	    MAMORI_UEVENT_FIELD_MAX},
	{"DEVPATH", offsetof(struct mamori_uevent, devpath),
	    MAMORI_UEVENT_DEVPATH_MAX},
	{"SUBSYSTEM", offsetof(struct mamori_uevent, subsystem),
	    MAMORI_UEVENT_FIELD_MAX},
	{"DEVTYPE", offsetof(struct mamori_uevent, devtype),
	    MAMORI_UEVENT_FIELD_MAX},
	{"PRODUCT", offsetof(struct mamori_uevent, product),
	    MAMORI_UEVENT_FIELD_MAX},
	{"TYPE", offsetof(struct mamori_uevent, type),
	    MAMORI_UEVENT_FIELD_MAX},
	{"BUSNUM", offsetof(struct mamori_uevent, busnum),
	    MAMORI_UEVENT_FIELD_MAX},
	{"DEVNUM", offsetof(struct mamori_uevent, devnum),
	    MAMORI_UEVENT_FIELD_MAX},
};
#define UEVENT_NKEYS (sizeof(uevent_keys) / sizeof(uevent_keys[0]))
#define UEVENT_SEQNUM_MAX UINT64_MAX

/* Printable ASCII (space included): what the kernel puts in the kept
 * values. */
static int
uevent_value_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* "/a/b/c": absolute, no empty, "." or ".." component, no trailing '/'. */
static int
uevent_devpath_ok(const char *s, size_t len)
{
	size_t i, start;

	if (len < 2 || s[0] != '/' || s[len - 1] == '/')
		return 0;
	for (start = 1, i = 1; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return 0;
		start = i + 1;
	}
	return 1;
}

int
mamori_uevent_parse(const void *data, size_t len, struct mamori_uevent *out)
{
	const char *p = data, *s, *eq, *at;
	unsigned seen = 0;
	size_t off, slen, klen, vlen, i, nvars = 0;
	const char *head_action = NULL, *head_path = NULL;
	size_t head_alen = 0, head_plen = 0;
	uint64_t seq;
	int r = MAMORI_ERR_BAD_MESSAGE;

	memset(out, 0, sizeof(*out));
	if (len > MAMORI_UEVENT_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	/* Every string, the last one too, ends with a NUL inside len. */
	if (len == 0 || p[len - 1] != '\0') {
		r = MAMORI_ERR_TRUNCATED;
		goto out;
	}
	for (off = 0; off < len; off += slen + 1) {
		s = p + off;
		slen = strlen(s);       /* bounded: p[len - 1] is NUL */
		if (off == 0) {
			/* The header "ACTION@DEVPATH". */
			if ((at = memchr(s, '@', slen)) == NULL)
				goto out;
			head_action = s;
			head_alen = (size_t)(at - s);
			head_path = at + 1;
			head_plen = slen - head_alen - 1;
			continue;
		}
		if (++nvars > MAMORI_UEVENT_MAX_VARS) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if (slen == 0 || (eq = memchr(s, '=', slen)) == NULL ||
		    eq == s)
			goto out;
		klen = (size_t)(eq - s);
		vlen = slen - klen - 1;
		if (klen == 6 && memcmp(s, "SEQNUM", 6) == 0) {
			if ((seen & (1u << UEVENT_NKEYS)) != 0 ||
			    mamori_parse_dec(eq + 1, vlen, UEVENT_SEQNUM_MAX,
			    &seq) != 0)
				goto out;
			seen |= 1u << UEVENT_NKEYS;
			out->seqnum = seq;
			continue;
		}
		for (i = 0; i < UEVENT_NKEYS; i++) {
			char *field;

			if (strlen(uevent_keys[i].key) != klen ||
			    memcmp(uevent_keys[i].key, s, klen) != 0)
				continue;
			if ((seen & (1u << i)) != 0 ||
			    vlen >= uevent_keys[i].size ||
			    !uevent_value_ok(eq + 1, vlen))
				goto out;
			seen |= 1u << i;
			field = (char *)out + uevent_keys[i].offset;
			memcpy(field, eq + 1, vlen);
			field[vlen] = '\0';
			break;
		}
	}
	/* ACTION, DEVPATH and SUBSYSTEM are always sent, and must agree with
	 * the header. */
	if ((seen & 7u) != 7u || head_action == NULL)
		goto out;
	if (strlen(out->action) != head_alen ||
	    memcmp(out->action, head_action, head_alen) != 0 ||
	    strlen(out->devpath) != head_plen ||
	    memcmp(out->devpath, head_path, head_plen) != 0)
		goto out;
	if (out->action[0] == '\0' || out->subsystem[0] == '\0' ||
	    !uevent_devpath_ok(out->devpath, strlen(out->devpath)))
		goto out;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* One hex number of 1..maxdigits digits from (s, len) into *v. */
static int
uevent_hex(const char *s, size_t len, size_t maxdigits, uint64_t max,
    uint64_t *v)
{
	if (len == 0 || len > maxdigits)
		return MAMORI_ERR_BAD_MESSAGE;
	if (mamori_parse_hex(s, len, max, v) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	return 0;
}

static void
uevent_hex4(uint64_t v, char out[5])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 3; i >= 0; i--) {
		out[i] = hex[v & 15];
		v >>= 4;
	}
	out[4] = '\0';
}

int
mamori_uevent_product(const char *product, char vendor_id[5],
    char product_id[5])
{
	const char *s1, *s2, *end = product + strlen(product);
	uint64_t v, p, bcd;
	int r = MAMORI_ERR_BAD_MESSAGE;

	vendor_id[0] = product_id[0] = '\0';
	if ((s1 = memchr(product, '/', (size_t)(end - product))) == NULL ||
	    (s2 = memchr(s1 + 1, '/', (size_t)(end - s1 - 1))) == NULL)
		goto out;
	if (uevent_hex(product, (size_t)(s1 - product), 4, 0xffff, &v) != 0 ||
	    uevent_hex(s1 + 1, (size_t)(s2 - s1 - 1), 4, 0xffff, &p) != 0 ||
	    uevent_hex(s2 + 1, (size_t)(end - s2 - 1), 4, 0xffff, &bcd) != 0)
		goto out;
	uevent_hex4(v, vendor_id);
	uevent_hex4(p, product_id);
	r = 0;
out:
	return r;
}

int
mamori_uevent_class(const char *type, char device_class[3])
{
	static const char hex[] = "0123456789abcdef";
	const char *slash;
	uint64_t c;
	size_t n;

	device_class[0] = '\0';
	slash = strchr(type, '/');
	n = slash != NULL ? (size_t)(slash - type) : strlen(type);
	if (slash == NULL || n == 0 || n > 3 ||
	    mamori_parse_dec(type, n, 255, &c) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	device_class[0] = hex[(c >> 4) & 15];
	device_class[1] = hex[c & 15];
	device_class[2] = '\0';
	return 0;
}
