/*
 * wire.c - framing and strict protobuf decoding (see wire.h).  Input here
 * comes from the network: never trust a length, never allocate without a
 * budget, never accept what the schema does not name.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int
mamori_frame_length(const uint8_t hdr[MAMORI_FRAME_HEADER], size_t max,
    uint32_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	*len = 0;
	if (n == 0)
		return MAMORI_ERR_BAD_MESSAGE;
	if (n > max)
		return MAMORI_ERR_TOO_LARGE;
	*len = n;
	return 0;
}

int
mamori_pb_encode(const ProtobufCMessage *m, struct mamori_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p;
	int r;

	if ((r = mamori_buf_reserve(out, n, &p)) != 0)
		return r;
	if (protobuf_c_message_pack(m, p) != n)
		return MAMORI_ERR_INTERNAL;
	return 0;
}

int
mamori_frame_encode(Mamori__Envelope *e, struct mamori_buf *out)
{
	size_t start = out->len, n;
	int r;

	e->version = MAMORI_WIRE_VERSION;
	n = protobuf_c_message_get_packed_size(&e->base);
	if (n == 0 || n > MAMORI_FRAME_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = mamori_buf_put_u32(out, (uint32_t)n)) != 0)
		return r;
	if ((r = mamori_pb_encode(&e->base, out)) != 0)
		out->len = start;
	return r;
}

/*
 * A budgeted allocator: each block carries its size in a header so frees
 * give budget back.  When the budget is spent, allocation fails and
 * protobuf-c abandons the decode.
 */
struct budget {
	size_t used;
	size_t max;
	int exhausted; /* an allocation was refused: report TOO_LARGE */
};

union block_header {
	size_t size;
	max_align_t align;
};

static void *
budget_alloc(void *ctx, size_t size)
{
	struct budget *b = ctx;
	union block_header *h;

	if (size > b->max - b->used ||
	    sizeof(*h) + size > b->max - b->used) {
		b->exhausted = 1;
		return NULL;
	}
	if ((h = malloc(sizeof(*h) + size)) == NULL)
		return NULL;
	h->size = size;
	b->used += sizeof(*h) + size;
	return h + 1;
}

static void
budget_free(void *ctx, void *p)
{
	struct budget *b = ctx;
	union block_header *h;

	if (p == NULL)
		return;
	h = (union block_header *)p - 1;
	if (b != NULL)
		b->used -= sizeof(*h) + h->size;
	free(h);
}

/* Frees from the plain allocator after decode: the budget context is gone,
 * so the free function must not need it. */
static void
block_free(void *ctx, void *p)
{
	(void)ctx;
	budget_free(NULL, p);
}

static ProtobufCAllocator block_allocator = {
	.alloc = NULL,
	.free = block_free,
	.allocator_data = NULL,
};

/* Walks m and every sub-message; fails if any holds unknown fields. */
static int
pb_strict(const ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned i;

	if (depth > 8)
		return MAMORI_ERR_BAD_MESSAGE;
	if (m->n_unknown_fields != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base +
			    f->quantifier_offset);
			ProtobufCMessage *const *items =
			    *(ProtobufCMessage *const *const *)(base +
			    f->offset);
			size_t j;

			for (j = 0; j < n; j++)
				if (pb_strict(items[j], depth + 1) != 0)
					return MAMORI_ERR_BAD_MESSAGE;
		} else {
			const ProtobufCMessage *sub =
			    *(ProtobufCMessage *const *)(base + f->offset);

			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
				uint32_t which = *(const uint32_t *)(base +
				    f->quantifier_offset);

				if (which != f->id)
					continue;
			}
			if (sub != NULL && pb_strict(sub, depth + 1) != 0)
				return MAMORI_ERR_BAD_MESSAGE;
		}
	}
	return 0;
}

int
mamori_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
    size_t len, size_t budget, ProtobufCMessage **out)
{
	struct budget b = {.used = 0, .max = budget, .exhausted = 0};
	ProtobufCAllocator a = {
		.alloc = budget_alloc,
		.free = budget_free,
		.allocator_data = &b,
	};
	ProtobufCMessage *m;

	*out = NULL;
	if (len > budget)
		return MAMORI_ERR_TOO_LARGE;
	if ((m = protobuf_c_message_unpack(desc, &a, len, data)) == NULL)
		/* Not b.used: protobuf-c has given every block back by now. */
		return b.exhausted ? MAMORI_ERR_TOO_LARGE :
		    MAMORI_ERR_BAD_MESSAGE;
	if (pb_strict(m, 0) != 0) {
		protobuf_c_message_free_unpacked(m, &block_allocator);
		return MAMORI_ERR_BAD_MESSAGE;
	}
	*out = m;
	return 0;
}

void
mamori_pb_free(ProtobufCMessage *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, &block_allocator);
}

int
mamori_envelope_decode(const uint8_t *data, size_t len, size_t budget,
    Mamori__Envelope **out)
{
	ProtobufCMessage *m;
	Mamori__Envelope *e;
	int r;

	*out = NULL;
	if ((r = mamori_pb_decode(&mamori__envelope__descriptor, data, len,
	    budget, &m)) != 0)
		return r;
	e = (Mamori__Envelope *)m;
	if (e->version != MAMORI_WIRE_VERSION) {
		mamori_pb_free(m);
		return MAMORI_ERR_BAD_VERSION;
	}
	if (e->body_case == MAMORI__ENVELOPE__BODY__NOT_SET) {
		mamori_pb_free(m);
		return MAMORI_ERR_BAD_MESSAGE;
	}
	*out = e;
	return 0;
}

void
mamori_envelope_free(Mamori__Envelope *e)
{
	if (e != NULL)
		mamori_pb_free(&e->base);
}

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;   /* bytes of data */
	size_t off;    /* bytes used */
	max_align_t data[];
};

struct mamori_arena {
	struct arena_chunk *chunks;  /* newest first; the last one is kept */
	size_t used, max;            /* this decode's budget */
	int exhausted;
};

#define ARENA_ALIGN (sizeof(max_align_t))

static void *
arena_alloc(void *ctx, size_t size)
{
	struct mamori_arena *a = ctx;
	struct arena_chunk *c = a->chunks;
	size_t need, csize;
	void *p;

	if (size > a->max || (need = (size + ARENA_ALIGN - 1) &
	    ~(ARENA_ALIGN - 1)) > a->max - a->used) {
		a->exhausted = 1;
		return NULL;
	}
	if (c == NULL || c->size - c->off < need) {
		csize = need > MAMORI_ARENA_CHUNK ? need : MAMORI_ARENA_CHUNK;
		if ((c = malloc(sizeof(*c) + csize)) == NULL)
			return NULL;
		c->size = csize;
		c->off = 0;
		c->next = a->chunks;
		a->chunks = c;
	}
	p = (uint8_t *)c->data + c->off;
	c->off += need;
	a->used += need;
	return p;
}

static void
arena_free_block(void *ctx, void *p)
{
	/* Freed all at once by mamori_arena_reset(). */
	(void)ctx;
	(void)p;
}

int
mamori_arena_new(struct mamori_arena **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

void
mamori_arena_reset(struct mamori_arena *a)
{
	struct arena_chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->chunks; c != NULL && c->next != NULL; c = next) {
		next = c->next;
		free(c);
		a->chunks = next;
	}
	if (a->chunks != NULL)
		a->chunks->off = 0;
	a->used = 0;
	a->exhausted = 0;
}

void
mamori_arena_free(struct mamori_arena *a)
{
	if (a == NULL)
		return;
	mamori_arena_reset(a);
	free(a->chunks);
	free(a);
}

int
mamori_envelope_decode_arena(struct mamori_arena *a, const uint8_t *data,
    size_t len, size_t budget, Mamori__Envelope **out)
{
	ProtobufCAllocator alloc = {
		.alloc = arena_alloc,
		.free = arena_free_block,
		.allocator_data = a,
	};
	Mamori__Envelope *e;
	int r;

	*out = NULL;
	mamori_arena_reset(a);
	a->max = budget;
	if (len > budget)
		return MAMORI_ERR_TOO_LARGE;
	e = (Mamori__Envelope *)protobuf_c_message_unpack(
	    &mamori__envelope__descriptor, &alloc, len, data);
	if (e == NULL)
		r = a->exhausted ? MAMORI_ERR_TOO_LARGE : MAMORI_ERR_BAD_MESSAGE;
	else if (pb_strict(&e->base, 0) != 0)
		r = MAMORI_ERR_BAD_MESSAGE;
	else if (e->version != MAMORI_WIRE_VERSION)
		r = MAMORI_ERR_BAD_VERSION;
	else if (e->body_case == MAMORI__ENVELOPE__BODY__NOT_SET)
		r = MAMORI_ERR_BAD_MESSAGE;
	else
		r = 0;
	if (r != 0) {
		mamori_arena_reset(a);
		return r;
	}
	*out = e;
	return 0;
}

const char *
mamori_envelope_kind(const Mamori__Envelope *e)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(
	    &mamori__envelope__descriptor, (unsigned)e->body_case);
	return f == NULL ? "none" : f->name;
}

const char *
mamori_event_type_name(uint32_t code)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(&mamori__event__descriptor,
	    code);
	if (f == NULL || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return "unknown";
	return f->name;
}

uint32_t
mamori_event_type_code(const char *name)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field_by_name(
	    &mamori__event__descriptor, name);
	if (f == NULL || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return 0;
	return f->id;
}
