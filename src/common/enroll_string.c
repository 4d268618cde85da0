/*
 * enroll_string.c - see enroll_string.h.  The decoder reads text an operator
 * pasted and must refuse anything not produced by the encoder.
 */
#include "enroll_string.h"

#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "err.h"

#define CHECK_LEN 4
#define PAYLOAD_MAX (1 + 1 + MAMORI_HOST_MAX + 8 + 2 * MAMORI_SHA256_LEN + \
    MAMORI_TOKEN_ID_LEN + MAMORI_TOKEN_SECRET_LEN + CHECK_LEN)

int
mamori_enroll_string_encode(const struct mamori_enroll_info *info, char *out,
    size_t outlen)
{
	uint8_t digest[MAMORI_SHA256_LEN];
	char host[MAMORI_HOST_MAX + 1];
	struct mamori_buf b;
	size_t plen = sizeof(MAMORI_ENROLL_PREFIX) - 1;
	uint16_t port;
	int r;

	/* Never hand out a string the decoder would refuse. */
	if (mamori_parse_hostport(info->server, host, sizeof(host),
	    &port) != 0)
		return MAMORI_ERR_INVALID;
	mamori_buf_init(&b, PAYLOAD_MAX);
	if ((r = mamori_buf_put_u8(&b, 1)) != 0 ||
	    (r = mamori_buf_put_str8(&b, info->server)) != 0 ||
	    (r = mamori_buf_append(&b, info->ca_fp, MAMORI_SHA256_LEN)) != 0 ||
	    (r = mamori_buf_append(&b, info->owner_fp,
	    MAMORI_SHA256_LEN)) != 0 ||
	    (r = mamori_buf_append(&b, info->token_id,
	    MAMORI_TOKEN_ID_LEN)) != 0 ||
	    (r = mamori_buf_append(&b, info->secret,
	    MAMORI_TOKEN_SECRET_LEN)) != 0)
		goto out;
	mamori_sha256(b.data, b.len, digest);
	if ((r = mamori_buf_append(&b, digest, CHECK_LEN)) != 0)
		goto out;
	if (plen + mamori_b64url_len(b.len) + 1 > outlen) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(out, MAMORI_ENROLL_PREFIX, plen);
	mamori_b64url_encode(b.data, b.len, out + plen);
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_enroll_string_decode(const char *s, struct mamori_enroll_info *info)
{
	uint8_t raw[PAYLOAD_MAX], digest[MAMORI_SHA256_LEN];
	size_t plen = sizeof(MAMORI_ENROLL_PREFIX) - 1, rawlen, slen;
	struct mamori_cursor c;
	char host[MAMORI_HOST_MAX + 1];
	uint16_t port;
	uint8_t version;
	int r;

	memset(info, 0, sizeof(*info));
	slen = strnlen(s, MAMORI_ENROLL_STRING_MAX + 1);
	if (slen > MAMORI_ENROLL_STRING_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if (slen < plen || memcmp(s, MAMORI_ENROLL_PREFIX, plen) != 0)
		return MAMORI_ERR_INVALID;
	if ((r = mamori_b64url_decode(s + plen, slen - plen, raw, sizeof(raw),
	    &rawlen)) != 0)
		return r == MAMORI_ERR_TOO_LARGE ? r : MAMORI_ERR_CHECKSUM;
	if (rawlen < CHECK_LEN + 1)
		return MAMORI_ERR_TRUNCATED;
	mamori_sha256(raw, rawlen - CHECK_LEN, digest);
	if (!mamori_equal(digest, raw + rawlen - CHECK_LEN, CHECK_LEN)) {
		r = MAMORI_ERR_CHECKSUM;
		goto fail;
	}
	mamori_cursor_init(&c, raw, rawlen - CHECK_LEN);
	if ((r = mamori_cursor_u8(&c, &version)) != 0)
		goto fail;
	if (version != 1) {
		r = MAMORI_ERR_BAD_VERSION;
		goto fail;
	}
	if ((r = mamori_cursor_str8(&c, info->server,
	    sizeof(info->server) - 1)) != 0 ||
	    (r = mamori_cursor_copy(&c, info->ca_fp, MAMORI_SHA256_LEN)) != 0 ||
	    (r = mamori_cursor_copy(&c, info->owner_fp,
	    MAMORI_SHA256_LEN)) != 0 ||
	    (r = mamori_cursor_copy(&c, info->token_id,
	    MAMORI_TOKEN_ID_LEN)) != 0 ||
	    (r = mamori_cursor_copy(&c, info->secret,
	    MAMORI_TOKEN_SECRET_LEN)) != 0 ||
	    (r = mamori_cursor_end(&c)) != 0)
		goto fail;
	if ((r = mamori_parse_hostport(info->server, host, sizeof(host),
	    &port)) != 0)
		goto fail;
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
fail:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(info, sizeof(*info));
	return r;
}
