/*
 * err.c - texts for the error space in err.h.  Nothing here may allocate.
 */
#include "err.h"

const char *
mamori_strerror(int code)
{
	switch (code) {
	case MAMORI_OK:
		return "success";
#define MAMORI_ERR_TEXT(name, c, text) \
	case (c):                      \
		return (text);
	MAMORI_ERR_MAP(MAMORI_ERR_TEXT)
#undef MAMORI_ERR_TEXT
	default:
		return "unknown error";
	}
}

const char *
mamori_errname(int code)
{
	switch (code) {
	case MAMORI_OK:
		return "OK";
#define MAMORI_ERR_NAME(name, c, text) \
	case (c):                      \
		return #name;
	MAMORI_ERR_MAP(MAMORI_ERR_NAME)
#undef MAMORI_ERR_NAME
	default:
		return "UNKNOWN";
	}
}
