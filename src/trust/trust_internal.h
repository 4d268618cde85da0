/*
 * trust_internal.h - helpers shared by the files of src/trust/ and not
 * exported beyond them.
 */
#ifndef MAMORI_TRUST_INTERNAL_H
#define MAMORI_TRUST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Decodes data strictly (mamori_pb_decode: bounded, unknown fields
 * refused) and only in canonical form: protobuf-c must encode what it
 * decoded to the very same bytes, so one message has one encoding and
 * duplicate or reordered fields are refused.  Free *out with
 * mamori_pb_free.
 */
int mamori_trust_decode_canonical(const ProtobufCMessageDescriptor *desc,
    const uint8_t *data, size_t len, size_t budget, ProtobufCMessage **out);

#endif
