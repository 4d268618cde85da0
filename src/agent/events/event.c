/*
 * event.c - see event.h.  Must never leave a string field pointing at
 * memory protobuf-c's free would not accept.
 */
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

uint64_t
mamori_event_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

Mamori__Event *
mamori_event_new(Mamori__Event__BodyCase body)
{
	const ProtobufCFieldDescriptor *f;
	Mamori__Event *ev;
	ProtobufCMessage *m;

	f = protobuf_c_message_descriptor_get_field(&mamori__event__descriptor,
	    (unsigned)body);
	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	if ((ev = malloc(sizeof(*ev))) == NULL)
		return NULL;
	mamori__event__init(ev);
	if ((m = malloc(((const ProtobufCMessageDescriptor *)
	    f->descriptor)->sizeof_message)) == NULL) {
		free(ev);
		return NULL;
	}
	protobuf_c_message_init(f->descriptor, m);
	*(ProtobufCMessage **)(void *)((char *)ev + f->offset) = m;
	ev->body_case = body;
	ev->time_ns = mamori_event_now_ns();
	return ev;
}

void
mamori_event_free(Mamori__Event *ev)
{
	if (ev != NULL)
		protobuf_c_message_free_unpacked(&ev->base, NULL);
}

int
mamori_event_set_strn(char **field, const char *s, size_t n)
{
	char *copy;

	if (memchr(s, '\0', n) != NULL)
		return MAMORI_ERR_BAD_STRING;
	if ((copy = malloc(n + 1)) == NULL)
		return MAMORI_ERR_ALLOC;
	memcpy(copy, s, n);
	copy[n] = '\0';
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
	return 0;
}

int
mamori_event_set_str(char **field, const char *s)
{
	return mamori_event_set_strn(field, s, strlen(s));
}

int
mamori_event_add_str(char ***arr, size_t *n, size_t max, const char *s,
    size_t len)
{
	char **grown, *copy = NULL;
	int r;

	if (*n >= max)
		return MAMORI_ERR_TOO_LARGE;
	if ((grown = realloc(*arr, (*n + 1) * sizeof(*grown))) == NULL)
		return MAMORI_ERR_ALLOC;
	*arr = grown;
	if ((r = mamori_event_set_strn(&copy, s, len)) != 0)
		return r;
	(*arr)[(*n)++] = copy;
	return 0;
}

const char *
mamori_event_kind(const Mamori__Event *ev)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(&mamori__event__descriptor,
	    (unsigned)ev->body_case);
	return f == NULL ? "none" : f->name;
}
