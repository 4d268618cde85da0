/*
 * decision.c - names and texts of trust decisions (see decision.h).
 * Nothing here allocates or reads input.
 */
#include "decision.h"

#include <stdarg.h>
#include <stdio.h>

const char *
mamori_decision_name(enum mamori_decision_reason reason)
{
	switch (reason) {
#define MAMORI_DECISION_NAME(name, code, text) \
	case MAMORI_DECISION_##name:           \
		return #name;
	MAMORI_DECISION_MAP(MAMORI_DECISION_NAME)
#undef MAMORI_DECISION_NAME
	}
	return "UNKNOWN";
}

const char *
mamori_decision_text(enum mamori_decision_reason reason)
{
	switch (reason) {
#define MAMORI_DECISION_TEXT(name, code, text) \
	case MAMORI_DECISION_##name:           \
		return (text);
	MAMORI_DECISION_MAP(MAMORI_DECISION_TEXT)
#undef MAMORI_DECISION_TEXT
	}
	return "unknown decision";
}

void
mamori_decision_set(struct mamori_decision *d,
    enum mamori_decision_reason reason, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return;
	d->reason = reason;
	if (fmt == NULL) {
		snprintf(d->detail, sizeof(d->detail), "%s",
		    mamori_decision_text(reason));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
}
