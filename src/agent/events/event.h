/*
 * event.h - building and freeing mamori.Event messages (proto/mamori.proto)
 * in the agent.  Events are malloc'ed trees freed with protobuf-c's default
 * allocator, as collectors' inventories are.
 */
#ifndef MAMORI_EVENT_H
#define MAMORI_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "mamori.pb-c.h"

/* A new event with the given body allocated and initialised, time_ns set to
 * now (CLOCK_REALTIME); NULL when out of memory. */
Mamori__Event *mamori_event_new(Mamori__Event__BodyCase body);

void mamori_event_free(Mamori__Event *ev);

/* Sets a string field of an event body to a malloc'ed copy of s (or of
 * its first n bytes), freeing what was there unless it is
 * protobuf_c_empty_string.  Fails with MAMORI_ERR_BAD_STRING on a NUL. */
int mamori_event_set_str(char **field, const char *s);
int mamori_event_set_strn(char **field, const char *s, size_t n);

/* Appends a copy of s to a repeated string field (bounded by max). */
int mamori_event_add_str(char ***arr, size_t *n, size_t max, const char *s,
    size_t len);

/* Event time now, ns since the epoch. */
uint64_t mamori_event_now_ns(void);

/* Name of the event's body kind: "process", "login", ... */
const char *mamori_event_kind(const Mamori__Event *ev);

#endif
