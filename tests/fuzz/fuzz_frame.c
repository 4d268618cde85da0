/*
 * fuzz_frame.c - libFuzzer target for what a peer sends on a connection:
 * a frame header and the Envelope it announces (src/common/wire.c).
 *
 * The input is read as a 4-byte header followed by the body.  It is tried
 * with both sets of limits (before and after authentication).  A message
 * that decodes must re-encode, the re-encoding must decode again to the
 * same bytes (the encoding is a fixed point), and the message must turn
 * into JSON (mamori_pb_to_json) - agent strings included.  The arena
 * decoder the server uses after authentication must agree with the plain
 * one: same verdict, same message.  Any violation
 * aborts, so libFuzzer reports it.  This target must stay deterministic and
 * must not leak: every input is independent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "pbjson.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every field of m is in j, repeated ones with all their items: agent
 * text that jansson would refuse must not make items disappear. */
static void
check_json_matches(const ProtobufCMessage *m, const json_t *j, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	unsigned i;

	if (depth > 8 || !json_is_object(j))
		abort();
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const json_t *v = json_object_get(j, f->name);

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)(base +
		    f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			const void *q = base + f->quantifier_offset;
			const void *a = base + f->offset;
			size_t n = *(const size_t *)q, k;
			ProtobufCMessage *const *items;

			if (!json_is_array(v) || json_array_size(v) != n)
				abort();
			if (f->type != PROTOBUF_C_TYPE_MESSAGE)
				continue;
			items = *(ProtobufCMessage *const *const *)a;
			for (k = 0; k < n; k++)
				check_json_matches(items[k],
				    json_array_get(v, k), depth + 1);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			const void *a = base + f->offset;
			const ProtobufCMessage *sub =
			    *(ProtobufCMessage *const *)a;

			if (sub != NULL)
				check_json_matches(sub, v, depth + 1);
		} else if (v == NULL || json_is_null(v)) {
			if (f->type != PROTOBUF_C_TYPE_BYTES)
				abort();
		}
	}
}

static void
check_json(const Mamori__Envelope *e)
{
	json_t *j = mamori_pb_to_json(&e->base);
	char *text;

	if (j == NULL)
		abort();
	check_json_matches(&e->base, j, 0);
	/* The dump must succeed: every string in it is valid UTF-8. */
	if ((text = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	free(text);
	json_decref(j);
}

static void
roundtrip(Mamori__Envelope *e, size_t budget)
{
	struct mamori_buf first, second;
	Mamori__Envelope *again = NULL;

	mamori_buf_init(&first, MAMORI_FRAME_HEADER + MAMORI_FRAME_MAX);
	mamori_buf_init(&second, MAMORI_FRAME_HEADER + MAMORI_FRAME_MAX);
	(void)mamori_envelope_kind(e);
	/* Re-encoding never grows a message past what was accepted. */
	if (mamori_frame_encode(e, &first) != 0)
		abort();
	if (mamori_envelope_decode(first.data + MAMORI_FRAME_HEADER,
	    first.len - MAMORI_FRAME_HEADER, budget, &again) != 0)
		abort();
	if (again->body_case != e->body_case)
		abort();
	if (mamori_frame_encode(again, &second) != 0)
		abort();
	if (first.len != second.len ||
	    memcmp(first.data, second.data, first.len) != 0)
		abort();
	mamori_envelope_free(again);
	mamori_buf_free(&first);
	mamori_buf_free(&second);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		size_t frame_max;
		size_t budget;
	} limits[] = {
		{MAMORI_FRAME_MAX_PREAUTH, MAMORI_DECODE_BUDGET_PREAUTH},
		{MAMORI_FRAME_MAX, MAMORI_DECODE_BUDGET},
	};
	static struct mamori_arena *arena;
	struct mamori_buf pa, pp;
	Mamori__Envelope *ea;
	size_t i;
	int rp, ra;

	if (size < MAMORI_FRAME_HEADER)
		return 0;
	/* One arena for the whole run, as in the server: reuse is tested. */
	if (arena == NULL && mamori_arena_new(&arena) != 0)
		abort();
	mamori_buf_init(&pa, MAMORI_FRAME_HEADER + MAMORI_FRAME_MAX);
	mamori_buf_init(&pp, MAMORI_FRAME_HEADER + MAMORI_FRAME_MAX);
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		Mamori__Envelope *e = NULL;
		uint32_t len;

		if (mamori_frame_length(data, limits[i].frame_max, &len) != 0)
			continue;
		/* A reader would wait for the rest; bytes after the frame
		 * belong to the next one. */
		if (len > size - MAMORI_FRAME_HEADER)
			continue;
		rp = mamori_envelope_decode(data + MAMORI_FRAME_HEADER, len,
		    limits[i].budget, &e);
		ra = mamori_envelope_decode_arena(arena, data +
		    MAMORI_FRAME_HEADER, len, limits[i].budget, &ea);
		if ((rp == 0) != (ra == 0))
			abort();
		if (ra == 0) {
			mamori_buf_reset(&pa);
			mamori_buf_reset(&pp);
			if (mamori_frame_encode(ea, &pa) != 0 ||
			    mamori_frame_encode(e, &pp) != 0 ||
			    pa.len != pp.len ||
			    memcmp(pa.data, pp.data, pa.len) != 0)
				abort();
		}
		mamori_arena_reset(arena);
		if (rp != 0) {
			if (e != NULL)
				abort();
			continue;
		}
		if (e->version != MAMORI_WIRE_VERSION ||
		    e->body_case == MAMORI__ENVELOPE__BODY__NOT_SET)
			abort();
		roundtrip(e, limits[i].budget);
		check_json(e);
		mamori_envelope_free(e);
	}
	mamori_buf_free(&pa);
	mamori_buf_free(&pp);
	return 0;
}
