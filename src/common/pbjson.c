/*
 * pbjson.c - reflection-driven protobuf-to-JSON (see pbjson.h).  Strings
 * from agents are passed to jansson, which escapes them; nothing here
 * formats them.
 */
#include "pbjson.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* jansson refuses text that is not UTF-8, and agents send what they like:
 * such a string is shown with its non-ASCII bytes as '?' rather than
 * failing the whole object.  Returns NULL only when out of memory. */
static json_t *
string_json(const char *s)
{
	json_t *j;
	char *copy;
	size_t i, n;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	n = strlen(s);
	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	copy[n] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *
value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return string_json(*(char *const *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer((json_int_t)*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		/* Enums by name ("START"), as people and scripts read them;
		 * a value this build does not know stays a number. */
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
		    f->descriptor, *(const int *)p);

		return ev != NULL ? json_string(ev->name) :
		    json_integer((json_int_t)*(const int *)p);
	}
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer((json_int_t)*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer((json_int_t)*(const int64_t *)p);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex;
		json_t *j;

		if (b->len > 1024 * 1024 || (hex = malloc(2 * b->len + 1)) ==
		    NULL)
			return json_null();
		mamori_hex(b->data, b->len, hex);
		j = json_string(hex);
		free(hex);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		return m == NULL ? json_null() : mamori_pb_to_json(m);
	}
	default:
		return json_null();
	}
}

static size_t
elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return 8;
	default:
		return 4;
	}
}

json_t *
mamori_pb_to_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_t *obj = json_object();
	unsigned i;

	if (obj == NULL)
		return NULL;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + f->quantifier_offset) !=
			    f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base +
			    f->quantifier_offset), j;
			const char *arr = *(const char *const *)(base +
			    f->offset);

			v = json_array();
			for (j = 0; v != NULL && j < n; j++)
				json_array_append_new(v, value_json(f,
				    arr + j * elem_size(f)));
		} else {
			if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    *(ProtobufCMessage *const *)(base + f->offset) ==
			    NULL)
				continue;
			v = value_json(f, base + f->offset);
		}
		if (v == NULL) {
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(obj, f->name, v);
	}
	return obj;
}
