/*
 * wire.h - frames and messages between agent and server.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of one
 * serialized mamori.Envelope (proto/mamori.proto).  Lengths are checked
 * against a named limit before any byte of the body is buffered, and the
 * limit is smaller until the peer presented a fleet certificate.  Decoding
 * is strict: a wrong version, no body, unknown fields anywhere, or a message
 * whose decoded form would exceed its memory budget is refused.
 */
#ifndef MAMORI_WIRE_H
#define MAMORI_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mamori.pb-c.h"

#define MAMORI_WIRE_VERSION 1
#define MAMORI_FRAME_HEADER 4
/* Largest frame from a peer with no certificate (enrollment). */
#define MAMORI_FRAME_MAX_PREAUTH (16 * 1024)
/* Largest frame from an authenticated peer (an inventory snapshot). */
#define MAMORI_FRAME_MAX (8 * 1024 * 1024)
/* Memory a decoded message may take, before and after authentication:
 * protobuf-c allocates per sub-message, so tiny repeated items could
 * otherwise turn one frame into many times its size in memory. */
#define MAMORI_DECODE_BUDGET_PREAUTH (256 * 1024)
#define MAMORI_DECODE_BUDGET (64 * 1024 * 1024)

/* Reads the length from a frame header; fails with MAMORI_ERR_TOO_LARGE when
 * it exceeds max and MAMORI_ERR_BAD_MESSAGE when it is zero. */
int mamori_frame_length(const uint8_t hdr[MAMORI_FRAME_HEADER], size_t max,
    uint32_t *len);

/* Appends the frame for e (header and body) to out.  Sets e->version. */
int mamori_frame_encode(Mamori__Envelope *e, struct mamori_buf *out);

/*
 * Decodes one frame body (without its header).  budget bounds the memory the
 * decoded message may use.  On success *out must be freed with
 * mamori_envelope_free().
 */
int mamori_envelope_decode(const uint8_t *data, size_t len, size_t budget,
    Mamori__Envelope **out);

void mamori_envelope_free(Mamori__Envelope *e);

/*
 * A decode arena: one reusable region that frames are decoded into, so a
 * batch of events costs no malloc per field.  A message decoded into it
 * lives until mamori_arena_reset(); never pass it to mamori_envelope_free().
 * Memory a decode may use is still bounded by its budget.  One arena serves
 * one decode at a time.
 */
#define MAMORI_ARENA_CHUNK (256 * 1024)
struct mamori_arena;
int mamori_arena_new(struct mamori_arena **out);
/* Forgets every message decoded into a; keeps its first chunk for reuse. */
void mamori_arena_reset(struct mamori_arena *a);
void mamori_arena_free(struct mamori_arena *a);
int mamori_envelope_decode_arena(struct mamori_arena *a, const uint8_t *data,
    size_t len, size_t budget, Mamori__Envelope **out);

/* Decodes a protobuf message of the given type with the same strictness and
 * a budget; used for sealed values read back from the store.  Free with
 * mamori_pb_free(). */
int mamori_pb_decode(const ProtobufCMessageDescriptor *desc,
    const uint8_t *data, size_t len, size_t budget, ProtobufCMessage **out);
void mamori_pb_free(ProtobufCMessage *m);

/* Serializes m into out (appending). */
int mamori_pb_encode(const ProtobufCMessage *m, struct mamori_buf *out);

/* Name of the envelope's body ("hello"), for log lines. */
const char *mamori_envelope_kind(const Mamori__Envelope *e);

/* Event types are the body cases of mamori.Event: name ("process") from a
 * code, "unknown" when none; code from a name, 0 when none. */
const char *mamori_event_type_name(uint32_t code);
uint32_t mamori_event_type_code(const char *name);

#endif
