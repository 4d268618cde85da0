/*
 * pbjson.h - any protobuf-c message as a jansson object, field names as in
 * the schema, for `--json` output.  Bytes fields become lowercase hex;
 * 64-bit integers become JSON integers (jansson's json_int_t is 64-bit).
 */
#ifndef MAMORI_PBJSON_H
#define MAMORI_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Returns a new reference, or NULL on allocation failure. */
json_t *mamori_pb_to_json(const ProtobufCMessage *m);

#endif
