/*
 * sources.c - the event sources compiled into the agent, and the default
 * options.  Adding a source is one line here and one file of its own.
 */
#include <string.h>

#include "source.h"

/* Each source file defines its descriptor. */
extern const struct mamori_event_source mamori_source_process;
extern const struct mamori_event_source mamori_source_logins;
extern const struct mamori_event_source mamori_source_network;
extern const struct mamori_event_source mamori_source_files;
extern const struct mamori_event_source mamori_source_usb;

static const char *const default_watch[] = {
	"/etc",
	"/usr/bin",
	"/usr/sbin",
	"/usr/local/bin",
	"/root/.ssh",
	"/home/*/.ssh",
	"/var/spool/cron",
	"/etc/cron.d",
	"/etc/systemd/system",
};

static const struct mamori_event_source *const sources[] = {
	&mamori_source_process,
	&mamori_source_logins,
	&mamori_source_network,
	&mamori_source_files,
	&mamori_source_usb,
};

const struct mamori_event_source *const *
mamori_event_sources(size_t *n)
{
	*n = sizeof(sources) / sizeof(sources[0]);
	return sources;
}

void
mamori_source_options_default(struct mamori_source_options *opt)
{
	size_t i;

	memset(opt, 0, sizeof(*opt));
	for (i = 0; i < sizeof(default_watch) / sizeof(default_watch[0]); i++)
		opt->watch[opt->n_watch++] = default_watch[i];
	opt->file_hash_max = MAMORI_FILE_HASH_MAX_DEFAULT;
	opt->auth_log = "";
	opt->uevent_replay = NULL;
	opt->network_poll_ms = 500;
}
