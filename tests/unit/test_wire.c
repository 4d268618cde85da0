/*
 * test_wire.c - unit tests for framing and strict decoding
 * (src/common/wire.c).
 *
 * Every Envelope body kind is framed, read back through the header and
 * decoded, and must re-encode to the same bytes.  The decoder must refuse a
 * version other than 1, an envelope without a body, an unknown field at any
 * depth (appended here by hand to valid messages), truncated bodies, and a
 * message that fits its byte limit but whose decoded form would not fit its
 * memory budget (many tiny repeated items) - as TOO_LARGE, so the server can
 * tell a flood from garbage.  Decoded messages are also shown as JSON,
 * which must keep every item even when an agent's text is not UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "pbjson.h"
#include "wire.h"

/* Appends a protobuf varint. */
static void
put_varint(struct mamori_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		assert_int_equal(mamori_buf_put_u8(b, (uint8_t)(v | 0x80)), 0);
		v >>= 7;
	}
	assert_int_equal(mamori_buf_put_u8(b, (uint8_t)v), 0);
}

/* Appends field `field` of wire type 2 holding data. */
static void
put_len_field(struct mamori_buf *b, unsigned field, const void *data,
    size_t n)
{
	put_varint(b, (uint64_t)field << 3 | 2);
	put_varint(b, n);
	assert_int_equal(mamori_buf_append(b, data, n), 0);
}

/* An unknown varint field (number 99) with value 1. */
static void
put_unknown(struct mamori_buf *b)
{
	put_varint(b, 99u << 3 | 0);
	put_varint(b, 1);
}

static uint8_t sample_bytes[48];
static char *sample_addrs[] = {"192.0.2.1/24", "fe80::1/64"};

/* Fills e with a body of the given kind; sub-messages live in *storage. */
struct bodies {
	Mamori__EnrollRequest enroll_request;
	Mamori__EnrollResponse enroll_response;
	Mamori__Hello hello;
	Mamori__Welcome welcome;
	Mamori__Heartbeat heartbeat;
	Mamori__HeartbeatAck heartbeat_ack;
	Mamori__Inventory inventory, upsert, remove;
	Mamori__InventoryDelta delta;
	Mamori__InventoryAck ack;
	Mamori__Error error;
	Mamori__OsInfo os;
	Mamori__Package pkg;
	Mamori__Package *pkgs[1];
	Mamori__NetInterface nif;
	Mamori__NetInterface *nifs[1];
};

static void
make_envelope(Mamori__Envelope__BodyCase kind, struct bodies *s,
    Mamori__Envelope *e)
{
	Mamori__Envelope init = MAMORI__ENVELOPE__INIT;

	*e = init;
	e->body_case = kind;
	switch (kind) {
	case MAMORI__ENVELOPE__BODY_ENROLL_REQUEST:
		mamori__enroll_request__init(&s->enroll_request);
		s->enroll_request.token_id.data = sample_bytes;
		s->enroll_request.token_id.len = 16;
		s->enroll_request.token_secret.data = sample_bytes;
		s->enroll_request.token_secret.len = 32;
		s->enroll_request.csr_der.data = sample_bytes;
		s->enroll_request.csr_der.len = 48;
		s->enroll_request.hostname = "host-1";
		e->enroll_request = &s->enroll_request;
		break;
	case MAMORI__ENVELOPE__BODY_ENROLL_RESPONSE:
		mamori__enroll_response__init(&s->enroll_response);
		s->enroll_response.agent_id = "0123456789abcdef";
		s->enroll_response.cert_der.data = sample_bytes;
		s->enroll_response.cert_der.len = 40;
		s->enroll_response.ca_der.data = sample_bytes;
		s->enroll_response.ca_der.len = 41;
		e->enroll_response = &s->enroll_response;
		break;
	case MAMORI__ENVELOPE__BODY_HELLO:
		mamori__hello__init(&s->hello);
		s->hello.agent_version = "0.1.0";
		s->hello.boot_time = 1700000000;
		e->hello = &s->hello;
		break;
	case MAMORI__ENVELOPE__BODY_WELCOME:
		mamori__welcome__init(&s->welcome);
		s->welcome.agent_id = "abc";
		s->welcome.heartbeat_seconds = 60;
		s->welcome.server_time = UINT64_MAX;
		e->welcome = &s->welcome;
		break;
	case MAMORI__ENVELOPE__BODY_HEARTBEAT:
		mamori__heartbeat__init(&s->heartbeat);
		s->heartbeat.time = 5;
		e->heartbeat = &s->heartbeat;
		break;
	case MAMORI__ENVELOPE__BODY_HEARTBEAT_ACK:
		mamori__heartbeat_ack__init(&s->heartbeat_ack);
		s->heartbeat_ack.time = 6;
		e->heartbeat_ack = &s->heartbeat_ack;
		break;
	case MAMORI__ENVELOPE__BODY_INVENTORY:
		mamori__inventory__init(&s->inventory);
		mamori__os_info__init(&s->os);
		s->os.pretty_name = "Debian GNU/Linux 12 (bookworm)";
		s->os.boot_time = 1;
		mamori__package__init(&s->pkg);
		s->pkg.name = "openssl";
		s->pkg.version = "3.0.11-1~deb12u2";
		s->pkg.arch = "amd64";
		s->pkgs[0] = &s->pkg;
		mamori__net_interface__init(&s->nif);
		s->nif.name = "eth0";
		s->nif.n_addresses = 2;
		s->nif.addresses = sample_addrs;
		s->nif.up = 1;
		s->nifs[0] = &s->nif;
		s->inventory.collected_at = 1700000001;
		s->inventory.os = &s->os;
		s->inventory.n_packages = 1;
		s->inventory.packages = s->pkgs;
		s->inventory.n_interfaces = 1;
		s->inventory.interfaces = s->nifs;
		e->inventory = &s->inventory;
		break;
	case MAMORI__ENVELOPE__BODY_INVENTORY_DELTA:
		mamori__inventory_delta__init(&s->delta);
		mamori__inventory__init(&s->upsert);
		mamori__inventory__init(&s->remove);
		mamori__package__init(&s->pkg);
		s->pkg.name = "bash";
		s->pkgs[0] = &s->pkg;
		s->remove.n_packages = 1;
		s->remove.packages = s->pkgs;
		s->delta.collected_at = 7;
		s->delta.upsert = &s->upsert;
		s->delta.remove = &s->remove;
		e->inventory_delta = &s->delta;
		break;
	case MAMORI__ENVELOPE__BODY_INVENTORY_ACK:
		mamori__inventory_ack__init(&s->ack);
		s->ack.collected_at = 8;
		e->inventory_ack = &s->ack;
		break;
	case MAMORI__ENVELOPE__BODY_ERROR:
		mamori__error__init(&s->error);
		s->error.code = 12;
		s->error.message = "authentication failed";
		e->error = &s->error;
		break;
	default:
		fail();
	}
}

static const Mamori__Envelope__BodyCase all_kinds[] = {
	MAMORI__ENVELOPE__BODY_ENROLL_REQUEST,
	MAMORI__ENVELOPE__BODY_ENROLL_RESPONSE,
	MAMORI__ENVELOPE__BODY_HELLO,
	MAMORI__ENVELOPE__BODY_WELCOME,
	MAMORI__ENVELOPE__BODY_HEARTBEAT,
	MAMORI__ENVELOPE__BODY_HEARTBEAT_ACK,
	MAMORI__ENVELOPE__BODY_INVENTORY,
	MAMORI__ENVELOPE__BODY_INVENTORY_DELTA,
	MAMORI__ENVELOPE__BODY_INVENTORY_ACK,
	MAMORI__ENVELOPE__BODY_ERROR,
};

static const char *const kind_names[] = {
	"enroll_request", "enroll_response", "hello", "welcome", "heartbeat",
	"heartbeat_ack", "inventory", "inventory_delta", "inventory_ack",
	"error",
};

#define N_KINDS (sizeof(all_kinds) / sizeof(all_kinds[0]))

static void
test_frame_roundtrip(void **state)
{
	struct bodies s;
	Mamori__Envelope e, *d;
	struct mamori_buf f, again;
	uint32_t len;
	size_t i;

	(void)state;
	memset(sample_bytes, 0x5a, sizeof(sample_bytes));
	for (i = 0; i < N_KINDS; i++) {
		make_envelope(all_kinds[i], &s, &e);
		e.version = 77; /* encode sets it */
		mamori_buf_init(&f, MAMORI_FRAME_MAX + MAMORI_FRAME_HEADER);
		assert_int_equal(mamori_buf_append(&f, "pre", 3), 0);
		assert_int_equal(mamori_frame_encode(&e, &f), 0);
		assert_int_equal(e.version, MAMORI_WIRE_VERSION);
		assert_int_equal(mamori_frame_length(f.data + 3,
		    MAMORI_FRAME_MAX_PREAUTH, &len), 0);
		assert_int_equal(len, f.len - 3 - MAMORI_FRAME_HEADER);

		assert_int_equal(mamori_envelope_decode(f.data + 7, len,
		    MAMORI_DECODE_BUDGET_PREAUTH, &d), 0);
		assert_non_null(d);
		assert_int_equal(d->version, 1);
		assert_int_equal(d->body_case, all_kinds[i]);
		assert_string_equal(mamori_envelope_kind(d), kind_names[i]);

		/* Re-encoding gives the same frame. */
		mamori_buf_init(&again, MAMORI_FRAME_MAX + 4);
		assert_int_equal(mamori_frame_encode(d, &again), 0);
		assert_int_equal(again.len, f.len - 3);
		assert_memory_equal(again.data, f.data + 3, again.len);
		mamori_envelope_free(d);
		mamori_buf_free(&again);
		mamori_buf_free(&f);
	}

	/* A few fields read back as written. */
	make_envelope(MAMORI__ENVELOPE__BODY_INVENTORY, &s, &e);
	mamori_buf_init(&f, 4096);
	assert_int_equal(mamori_frame_encode(&e, &f), 0);
	assert_int_equal(mamori_envelope_decode(f.data + 4, f.len - 4,
	    MAMORI_DECODE_BUDGET, &d), 0);
	assert_int_equal(d->inventory->n_packages, 1);
	assert_string_equal(d->inventory->packages[0]->version,
	    "3.0.11-1~deb12u2");
	assert_int_equal(d->inventory->interfaces[0]->n_addresses, 2);
	assert_string_equal(d->inventory->interfaces[0]->addresses[1],
	    "fe80::1/64");
	assert_string_equal(d->inventory->os->pretty_name,
	    "Debian GNU/Linux 12 (bookworm)");
	mamori_envelope_free(d);
	mamori_envelope_free(NULL);
	mamori_buf_free(&f);
}

static void
test_frame_length(void **state)
{
	uint8_t hdr[4] = {0, 0, 0, 0};
	uint32_t len = 5;

	(void)state;
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX, &len),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_int_equal(len, 0);
	hdr[3] = 1;
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX, &len), 0);
	assert_int_equal(len, 1);

	/* 16 KiB exactly, and one more, before authentication. */
	hdr[0] = 0;
	hdr[1] = 0;
	hdr[2] = 0x40;
	hdr[3] = 0;
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX_PREAUTH,
	    &len), 0);
	assert_int_equal(len, MAMORI_FRAME_MAX_PREAUTH);
	hdr[3] = 1;
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX_PREAUTH,
	    &len), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(len, 0);
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX, &len), 0);

	/* Beyond the authenticated limit; and the largest header value. */
	hdr[0] = 0;
	hdr[1] = 0x80;
	hdr[2] = 0;
	hdr[3] = 1;
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX, &len),
	    MAMORI_ERR_TOO_LARGE);
	memset(hdr, 0xff, sizeof(hdr));
	assert_int_equal(mamori_frame_length(hdr, MAMORI_FRAME_MAX, &len),
	    MAMORI_ERR_TOO_LARGE);
}

/* Packs e as is (without frame_encode's version fix-up). */
static void
pack(const Mamori__Envelope *e, struct mamori_buf *b)
{
	mamori_buf_init(b, 1024 * 1024);
	assert_int_equal(mamori_pb_encode(&e->base, b), 0);
}

static void
test_decode_version_body(void **state)
{
	struct bodies s;
	Mamori__Envelope e, *d = NULL;
	struct mamori_buf b;

	(void)state;
	make_envelope(MAMORI__ENVELOPE__BODY_HELLO, &s, &e);
	e.version = 2;
	pack(&e, &b);
	assert_int_equal(mamori_envelope_decode(b.data, b.len,
	    MAMORI_DECODE_BUDGET_PREAUTH, &d), MAMORI_ERR_BAD_VERSION);
	assert_null(d);
	mamori_buf_free(&b);

	e.version = 0; /* not on the wire at all */
	pack(&e, &b);
	assert_int_equal(mamori_envelope_decode(b.data, b.len,
	    MAMORI_DECODE_BUDGET_PREAUTH, &d), MAMORI_ERR_BAD_VERSION);
	mamori_buf_free(&b);

	/* Version 1, no body. */
	e.body_case = MAMORI__ENVELOPE__BODY__NOT_SET;
	e.version = 1;
	pack(&e, &b);
	assert_int_equal(b.len, 2);
	assert_int_equal(mamori_envelope_decode(b.data, b.len,
	    MAMORI_DECODE_BUDGET_PREAUTH, &d), MAMORI_ERR_BAD_MESSAGE);
	assert_null(d);
	mamori_buf_free(&b);

	/* Nothing at all. */
	assert_true(mamori_envelope_decode((const uint8_t *)"", 0,
	    MAMORI_DECODE_BUDGET_PREAUTH, &d) < 0);
	assert_null(d);
}

static void
test_decode_unknown_fields(void **state)
{
	struct bodies s;
	Mamori__Envelope e, *d = NULL;
	struct mamori_buf b, pkg, inv, env;
	size_t i;

	(void)state;
	/* Appended at the top level, to every kind. */
	for (i = 0; i < N_KINDS; i++) {
		make_envelope(all_kinds[i], &s, &e);
		e.version = 1;
		pack(&e, &b);
		assert_int_equal(mamori_envelope_decode(b.data, b.len,
		    MAMORI_DECODE_BUDGET, &d), 0);
		mamori_envelope_free(d);
		put_unknown(&b);
		d = (Mamori__Envelope *)&e;
		assert_int_equal(mamori_envelope_decode(b.data, b.len,
		    MAMORI_DECODE_BUDGET, &d), MAMORI_ERR_BAD_MESSAGE);
		assert_null(d);
		mamori_buf_free(&b);
	}

	/* Inside the body. */
	make_envelope(MAMORI__ENVELOPE__BODY_HELLO, &s, &e);
	mamori_buf_init(&b, 4096);
	assert_int_equal(mamori_pb_encode(&s.hello.base, &b), 0);
	put_unknown(&b);
	mamori_buf_init(&env, 4096);
	put_varint(&env, 1u << 3 | 0);
	put_varint(&env, 1);
	put_len_field(&env, 12, b.data, b.len);
	assert_int_equal(mamori_envelope_decode(env.data, env.len,
	    MAMORI_DECODE_BUDGET, &d), MAMORI_ERR_BAD_MESSAGE);
	mamori_buf_free(&env);
	mamori_buf_free(&b);

	/* Three levels down: Envelope > Inventory > Package. */
	make_envelope(MAMORI__ENVELOPE__BODY_INVENTORY, &s, &e);
	mamori_buf_init(&pkg, 4096);
	assert_int_equal(mamori_pb_encode(&s.pkg.base, &pkg), 0);
	put_unknown(&pkg);
	mamori_buf_init(&inv, 4096);
	put_varint(&inv, 1u << 3 | 0);
	put_varint(&inv, 1700000001);
	put_len_field(&inv, 7, pkg.data, pkg.len);
	mamori_buf_init(&env, 4096);
	put_varint(&env, 1u << 3 | 0);
	put_varint(&env, 1);
	put_len_field(&env, 16, inv.data, inv.len);
	assert_int_equal(mamori_envelope_decode(env.data, env.len,
	    MAMORI_DECODE_BUDGET, &d), MAMORI_ERR_BAD_MESSAGE);
	assert_null(d);
	mamori_buf_free(&env);

	/* The same without the unknown field decodes: the test is sound. */
	mamori_buf_reset(&pkg);
	assert_int_equal(mamori_pb_encode(&s.pkg.base, &pkg), 0);
	mamori_buf_reset(&inv);
	put_varint(&inv, 1u << 3 | 0);
	put_varint(&inv, 1700000001);
	put_len_field(&inv, 7, pkg.data, pkg.len);
	mamori_buf_init(&env, 4096);
	put_varint(&env, 1u << 3 | 0);
	put_varint(&env, 1);
	put_len_field(&env, 16, inv.data, inv.len);
	assert_int_equal(mamori_envelope_decode(env.data, env.len,
	    MAMORI_DECODE_BUDGET, &d), 0);
	assert_string_equal(d->inventory->packages[0]->name, "openssl");
	mamori_envelope_free(d);
	mamori_buf_free(&env);
	mamori_buf_free(&inv);
	mamori_buf_free(&pkg);

	/* An unknown body number (a oneof member from a future version). */
	mamori_buf_init(&env, 4096);
	put_varint(&env, 1u << 3 | 0);
	put_varint(&env, 1);
	put_len_field(&env, 99, "", 0);
	assert_int_equal(mamori_envelope_decode(env.data, env.len,
	    MAMORI_DECODE_BUDGET, &d), MAMORI_ERR_BAD_MESSAGE);
	mamori_buf_free(&env);
}

static void
test_decode_truncated(void **state)
{
	struct bodies s;
	Mamori__Envelope e, *d = NULL;
	struct mamori_buf b;
	size_t n;

	(void)state;
	make_envelope(MAMORI__ENVELOPE__BODY_INVENTORY, &s, &e);
	e.version = 1;
	pack(&e, &b);
	/* Every proper prefix that cuts into the body is refused (a cut
	 * right after the version field leaves a body-less envelope). */
	for (n = 0; n < b.len; n++) {
		int r = mamori_envelope_decode(b.data, n, MAMORI_DECODE_BUDGET,
		    &d);

		assert_true(r < 0);
		assert_null(d);
	}
	mamori_buf_free(&b);
}

/* Inventory of n empty packages, as the wire would carry it. */
static void
many_packages(size_t n, struct mamori_buf *b)
{
	size_t i;

	mamori_buf_init(b, 1024 * 1024);
	put_varint(b, 1u << 3 | 0);
	put_varint(b, 1);
	put_varint(b, 16u << 3 | 2);
	put_varint(b, 2 * n);
	for (i = 0; i < n; i++)
		put_len_field(b, 7, "", 0);
}

static void
test_decode_budget(void **state)
{
	Mamori__Envelope *d = NULL;
	struct mamori_buf b;

	(void)state;
	many_packages(1000, &b);
	assert_true(b.len < 4096);
	assert_int_equal(mamori_envelope_decode(b.data, b.len, 4096, &d),
	    MAMORI_ERR_TOO_LARGE);
	assert_null(d);
	/* The same bytes fit a generous budget. */
	assert_int_equal(mamori_envelope_decode(b.data, b.len,
	    MAMORI_DECODE_BUDGET, &d), 0);
	assert_int_equal(d->inventory->n_packages, 1000);
	mamori_envelope_free(d);
	/* Input longer than the budget is refused before parsing. */
	assert_int_equal(mamori_envelope_decode(b.data, b.len, b.len - 1, &d),
	    MAMORI_ERR_TOO_LARGE);
	mamori_buf_free(&b);

	/* The pre-authentication budget stops a flood that fits a frame. */
	many_packages(7000, &b);
	assert_true(b.len <= MAMORI_FRAME_MAX_PREAUTH);
	assert_int_equal(mamori_envelope_decode(b.data, b.len,
	    MAMORI_DECODE_BUDGET_PREAUTH, &d), MAMORI_ERR_TOO_LARGE);
	mamori_buf_free(&b);
}

/* The arena decoder: same verdicts as the plain one, reusable after a
 * refusal, messages larger than a chunk, the budget enforced. */
static void
test_decode_arena(void **state)
{
	struct mamori_arena *a = NULL;
	Mamori__Envelope *d = NULL;
	struct mamori_buf b, big;
	struct bodies s;
	Mamori__Envelope e;
	int round;

	(void)state;
	assert_int_equal(mamori_arena_new(&a), 0);
	many_packages(1000, &b);
	many_packages(40000, &big);   /* decodes to several chunks */
	for (round = 0; round < 3; round++) {
		assert_int_equal(mamori_envelope_decode_arena(a, b.data, b.len,
		    4096, &d), MAMORI_ERR_TOO_LARGE);
		assert_null(d);
		assert_int_equal(mamori_envelope_decode_arena(a, b.data, b.len,
		    MAMORI_DECODE_BUDGET, &d), 0);
		assert_int_equal(d->inventory->n_packages, 1000);
		assert_int_equal(mamori_envelope_decode_arena(a, big.data,
		    big.len, MAMORI_DECODE_BUDGET, &d), 0);
		assert_int_equal(d->inventory->n_packages, 40000);
		assert_string_equal(d->inventory->packages[39999]->name, "");
		/* Truncated: refused, nothing handed out. */
		assert_true(mamori_envelope_decode_arena(a, b.data, b.len - 1,
		    MAMORI_DECODE_BUDGET, &d) < 0);
		assert_null(d);
		mamori_arena_reset(a);
	}
	make_envelope(MAMORI__ENVELOPE__BODY_HEARTBEAT, &s, &e);
	e.version = 2;
	mamori_buf_free(&b);
	pack(&e, &b);
	assert_int_equal(mamori_envelope_decode_arena(a, b.data, b.len,
	    MAMORI_DECODE_BUDGET, &d), MAMORI_ERR_BAD_VERSION);
	mamori_buf_free(&b);
	mamori_buf_free(&big);
	mamori_arena_free(a);
	mamori_arena_free(NULL);
}

static void
test_pb_decode_other(void **state)
{
	struct bodies s;
	Mamori__Envelope e;
	ProtobufCMessage *m = NULL;
	struct mamori_buf b;

	(void)state;
	make_envelope(MAMORI__ENVELOPE__BODY_INVENTORY, &s, &e);
	mamori_buf_init(&b, 4096);
	assert_int_equal(mamori_pb_encode(&s.inventory.base, &b), 0);
	assert_int_equal(mamori_pb_decode(&mamori__inventory__descriptor,
	    b.data, b.len, MAMORI_DECODE_BUDGET, &m), 0);
	assert_non_null(m);
	assert_int_equal(((Mamori__Inventory *)m)->n_packages, 1);
	mamori_pb_free(m);
	mamori_pb_free(NULL);
	put_unknown(&b);
	assert_int_equal(mamori_pb_decode(&mamori__inventory__descriptor,
	    b.data, b.len, MAMORI_DECODE_BUDGET, &m), MAMORI_ERR_BAD_MESSAGE);
	assert_null(m);
	/* Garbage: a length that runs past the end. */
	assert_int_equal(mamori_pb_decode(&mamori__inventory__descriptor,
	    (const uint8_t *)"\x3a\x7f\x00", 3, MAMORI_DECODE_BUDGET, &m),
	    MAMORI_ERR_BAD_MESSAGE);
	mamori_buf_free(&b);
}

static void
test_frame_encode_too_large(void **state)
{
	Mamori__Envelope e = MAMORI__ENVELOPE__INIT;
	Mamori__EnrollResponse r = MAMORI__ENROLL_RESPONSE__INIT;
	struct mamori_buf f;
	uint8_t *big;

	(void)state;
	assert_non_null(big = calloc(1, MAMORI_FRAME_MAX));
	r.cert_der.data = big;
	r.cert_der.len = MAMORI_FRAME_MAX;
	e.body_case = MAMORI__ENVELOPE__BODY_ENROLL_RESPONSE;
	e.enroll_response = &r;
	mamori_buf_init(&f, 2 * MAMORI_FRAME_MAX);
	assert_int_equal(mamori_buf_append(&f, "x", 1), 0);
	assert_int_equal(mamori_frame_encode(&e, &f), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(f.len, 1);
	/* A frame that does not fit the output buffer leaves it unchanged. */
	r.cert_der.len = 1000;
	mamori_buf_free(&f);
	mamori_buf_init(&f, 500);
	assert_int_equal(mamori_buf_append(&f, "x", 1), 0);
	assert_int_equal(mamori_frame_encode(&e, &f), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(f.len, 1);
	mamori_buf_free(&f);
	free(big);
}

static void
test_json(void **state)
{
	struct bodies s;
	Mamori__Envelope e;
	json_t *j, *pk;
	char *text;

	(void)state;
	make_envelope(MAMORI__ENVELOPE__BODY_INVENTORY, &s, &e);
	s.pkg.name = "bad\xff\xfeutf8";
	s.os.pretty_name = "Debian \xe9t\xe9";
	assert_non_null(j = mamori_pb_to_json(&e.base));
	pk = json_object_get(json_object_get(j, "inventory"), "packages");
	assert_int_equal(json_array_size(pk), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(pk, 0), "name")), "bad??utf8");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(pk, 0), "version")), "3.0.11-1~deb12u2");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "inventory"), "os"), "pretty_name")),
	    "Debian ?t?");
	/* Absent bodies of the oneof are not shown; bytes are hex. */
	assert_null(json_object_get(j, "hello"));
	assert_non_null(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS));
	free(text);
	json_decref(j);

	make_envelope(MAMORI__ENVELOPE__BODY_ENROLL_RESPONSE, &s, &e);
	memset(sample_bytes, 0xab, sizeof(sample_bytes));
	s.enroll_response.cert_der.len = 2;
	assert_non_null(j = mamori_pb_to_json(&e.base));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "enroll_response"), "cert_der")), "abab");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_length),
		cmocka_unit_test(test_decode_version_body),
		cmocka_unit_test(test_decode_unknown_fields),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_budget),
		cmocka_unit_test(test_decode_arena),
		cmocka_unit_test(test_pb_decode_other),
		cmocka_unit_test(test_frame_encode_too_large),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
