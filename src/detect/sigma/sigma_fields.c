/*
 * sigma_fields.c - the ingest schema: the one table that maps Sigma's
 * field names, per logsource category, onto the fields of mamori's events
 * (docs/events.md; the ECS name of each slot is given alongside).
 *
 * Only product linux (or no product) with the categories below is
 * accepted; anything else (auditd, builtin, other products) is refused
 * with a reason, and so is a field the table does not know, so a rule
 * mamori cannot evaluate faithfully is reported, never half applied.
 * Keyword searches have no field in mamori's events and are refused too.
 */
#include <string.h>

#include "err.h"
#include "sigma.h"

static const struct {
	const char *name;
	uint32_t category;
} categories[] = {
	{"process_creation", MAMORI_SIGMA_CAT_PROCESS_CREATION},
	{"file_event", MAMORI_SIGMA_CAT_FILE_EVENT},
	{"file_change", MAMORI_SIGMA_CAT_FILE_CHANGE},
	{"file_delete", MAMORI_SIGMA_CAT_FILE_DELETE},
	{"file_rename", MAMORI_SIGMA_CAT_FILE_RENAME},
	{"network_connection", MAMORI_SIGMA_CAT_NETWORK_CONNECTION},
};

#define CAT_BIT(c) (1u << (c))
#define CAT_PROC CAT_BIT(MAMORI_SIGMA_CAT_PROCESS_CREATION)
#define CAT_FILE (CAT_BIT(MAMORI_SIGMA_CAT_FILE_EVENT) |                    \
	CAT_BIT(MAMORI_SIGMA_CAT_FILE_CHANGE) |                              \
	CAT_BIT(MAMORI_SIGMA_CAT_FILE_DELETE) |                              \
	CAT_BIT(MAMORI_SIGMA_CAT_FILE_RENAME))
#define CAT_RENAME CAT_BIT(MAMORI_SIGMA_CAT_FILE_RENAME)
#define CAT_NET CAT_BIT(MAMORI_SIGMA_CAT_NETWORK_CONNECTION)

/* The mapping: Sigma field, the categories it applies to, the slot. */
static const struct {
	const char *sigma;
	unsigned cats;
	uint32_t slot;
} fields[] = {
	{"Image", CAT_PROC | CAT_FILE | CAT_NET,
	    MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE},
	{"CommandLine", CAT_PROC, MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE},
	{"ProcessId", CAT_PROC | CAT_FILE | CAT_NET,
	    MAMORI_SIGMA_SLOT_PROCESS_PID},
	{"CurrentDirectory", CAT_PROC,
	    MAMORI_SIGMA_SLOT_PROCESS_WORKING_DIRECTORY},
	{"ParentImage", CAT_PROC, MAMORI_SIGMA_SLOT_PARENT_EXECUTABLE},
	{"ParentCommandLine", CAT_PROC,
	    MAMORI_SIGMA_SLOT_PARENT_COMMAND_LINE},
	{"ParentProcessId", CAT_PROC, MAMORI_SIGMA_SLOT_PARENT_PID},
	{"User", CAT_PROC | CAT_FILE | CAT_NET, MAMORI_SIGMA_SLOT_USER_NAME},
	{"UserId", CAT_PROC | CAT_NET, MAMORI_SIGMA_SLOT_USER_ID},
	{"TargetFilename", CAT_FILE, MAMORI_SIGMA_SLOT_FILE_PATH},
	{"SourceFilename", CAT_RENAME, MAMORI_SIGMA_SLOT_FILE_OLD_PATH},
	{"SourceIp", CAT_NET, MAMORI_SIGMA_SLOT_SOURCE_IP},
	{"SourcePort", CAT_NET, MAMORI_SIGMA_SLOT_SOURCE_PORT},
	{"DestinationIp", CAT_NET, MAMORI_SIGMA_SLOT_DESTINATION_IP},
	{"DestinationPort", CAT_NET, MAMORI_SIGMA_SLOT_DESTINATION_PORT},
	{"DestinationHostname", CAT_NET,
	    MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN},
	{"Protocol", CAT_NET, MAMORI_SIGMA_SLOT_NETWORK_TRANSPORT},
	{"Initiated", CAT_NET, MAMORI_SIGMA_SLOT_INITIATED},
};

static const char *const slot_names[MAMORI_SIGMA_INGEST_NSLOTS] = {
	[MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE] = "process.executable",
	[MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE] = "process.command_line",
	[MAMORI_SIGMA_SLOT_PROCESS_PID] = "process.pid",
	[MAMORI_SIGMA_SLOT_PROCESS_WORKING_DIRECTORY] =
	    "process.working_directory",
	[MAMORI_SIGMA_SLOT_PROCESS_HASH_SHA256] = "process.hash.sha256",
	[MAMORI_SIGMA_SLOT_PARENT_EXECUTABLE] = "process.parent.executable",
	[MAMORI_SIGMA_SLOT_PARENT_COMMAND_LINE] =
	    "process.parent.command_line",
	[MAMORI_SIGMA_SLOT_PARENT_PID] = "process.parent.pid",
	[MAMORI_SIGMA_SLOT_USER_NAME] = "user.name",
	[MAMORI_SIGMA_SLOT_USER_ID] = "user.id",
	[MAMORI_SIGMA_SLOT_FILE_PATH] = "file.path",
	[MAMORI_SIGMA_SLOT_FILE_OLD_PATH] = "file.path (before rename)",
	[MAMORI_SIGMA_SLOT_SOURCE_IP] = "source.ip",
	[MAMORI_SIGMA_SLOT_SOURCE_PORT] = "source.port",
	[MAMORI_SIGMA_SLOT_DESTINATION_IP] = "destination.ip",
	[MAMORI_SIGMA_SLOT_DESTINATION_PORT] = "destination.port",
	[MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN] = "destination.domain",
	[MAMORI_SIGMA_SLOT_NETWORK_TRANSPORT] = "network.transport",
	[MAMORI_SIGMA_SLOT_INITIATED] = "event.action (CONNECT = true)",
};

static int
ingest_logsource(void *arg, const struct mamori_sigma_logsource *ls,
    uint32_t *category, const char **reason)
{
	size_t i;

	(void)arg;
	*category = 0;
	*reason = "";
	if (ls->product != NULL && strcmp(ls->product, "linux") != 0) {
		*reason = "product is not linux";
		return MAMORI_ERR_NOT_FOUND;
	}
	if (ls->service != NULL) {
		*reason = "mamori has no events of this service (auditd, "
		    "builtin logs, ...)";
		return MAMORI_ERR_NOT_FOUND;
	}
	if (ls->category == NULL) {
		*reason = "no category (mamori matches process_creation, "
		    "file_event and network_connection)";
		return MAMORI_ERR_NOT_FOUND;
	}
	for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
		if (strcmp(categories[i].name, ls->category) == 0) {
			*category = categories[i].category;
			return 0;
		}
	*reason = "mamori has no events of this category (it matches "
	    "process_creation, file_event and network_connection)";
	return MAMORI_ERR_NOT_FOUND;
}

static int
ingest_field(void *arg, uint32_t category, const char *name, uint32_t *slot,
    const char **reason)
{
	size_t i;

	(void)arg;
	*slot = 0;
	*reason = "";
	if (strcmp(name, MAMORI_SIGMA_KEYWORDS) == 0) {
		*reason = "keyword searches have no field in mamori's events";
		return MAMORI_ERR_NOT_FOUND;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].sigma, name) == 0 &&
		    category < 32 && (fields[i].cats & CAT_BIT(category))) {
			*slot = fields[i].slot;
			return 0;
		}
	*reason = "not in mamori's field mapping for this category";
	return MAMORI_ERR_NOT_FOUND;
}

static size_t
ingest_nslots(void *arg)
{
	(void)arg;
	return MAMORI_SIGMA_INGEST_NSLOTS;
}

void
mamori_sigma_ingest_schema(struct mamori_sigma_schema *schema)
{
	schema->arg = NULL;
	schema->logsource = ingest_logsource;
	schema->field = ingest_field;
	schema->nslots = ingest_nslots;
}

const char *
mamori_sigma_ingest_slot_name(uint32_t slot)
{
	if (slot >= MAMORI_SIGMA_INGEST_NSLOTS || slot_names[slot] == NULL)
		return "?";
	return slot_names[slot];
}
