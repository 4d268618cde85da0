/*
 * state.c - the agent's state directory: its private key (made here, mode
 * 0600, never sent anywhere), its certificate, the pinned fleet CA and
 * enrollment.json (server address, agent id, pinned fingerprints).
 *
 * Loading re-checks what enrollment established: the CA file must still
 * hash to the pinned fingerprint and the certificate must belong to the
 * key, so a tampered state directory stops the agent instead of making it
 * trust something new.
 */
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agent.h"
#include "err.h"
#include "pki.h"

int
mamori_state_info_parse(const char *text, size_t len,
    struct mamori_agent_state *st)
{
	const char *server, *id, *ca, *owner;
	uint8_t tmp[MAMORI_SHA256_LEN + 8];
	char host[MAMORI_HOST_MAX + 1];
	json_error_t jerr;
	size_t n;
	uint16_t port;
	json_t *j;
	int r = MAMORI_ERR_BAD_MESSAGE;

	if (len > MAMORI_STATE_INFO_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return MAMORI_ERR_BAD_MESSAGE;
	server = json_string_value(json_object_get(j, "server"));
	id = json_string_value(json_object_get(j, "agent_id"));
	ca = json_string_value(json_object_get(j, "ca_fingerprint"));
	owner = json_string_value(json_object_get(j, "owner_fingerprint"));
	if (server == NULL || id == NULL || ca == NULL || owner == NULL)
		goto out;
	if (mamori_parse_hostport(server, host, sizeof(host), &port) != 0 ||
	    strlen(id) != MAMORI_AGENT_ID_LEN)
		goto out;
	if (strncmp(ca, "SHA256:", 7) != 0 || strncmp(owner, "SHA256:", 7) != 0)
		goto out;
	if (mamori_b64url_decode(ca + 7, strlen(ca + 7), tmp, sizeof(tmp),
	    &n) != 0 || n != MAMORI_SHA256_LEN)
		goto out;
	memcpy(st->ca_fp, tmp, MAMORI_SHA256_LEN);
	if (mamori_b64url_decode(owner + 7, strlen(owner + 7), tmp,
	    sizeof(tmp), &n) != 0 || n != MAMORI_SHA256_LEN)
		goto out;
	memcpy(st->owner_fp, tmp, MAMORI_SHA256_LEN);
	mamori_strlcpy(st->server, server, sizeof(st->server));
	mamori_strlcpy(st->agent_id, id, sizeof(st->agent_id));
	r = 0;
out:
	json_decref(j);
	return r;
}

int
mamori_state_info_save(const struct mamori_agent_state *st)
{
	char ca[MAMORI_FP_STRLEN], owner[MAMORI_FP_STRLEN], path[PATH_MAX];
	char *text = NULL;
	json_t *j;
	int r = MAMORI_ERR_ALLOC;

	mamori_fingerprint_str(st->ca_fp, ca);
	mamori_fingerprint_str(st->owner_fp, owner);
	j = json_pack("{s:s, s:s, s:s, s:s}", "server", st->server,
	    "agent_id", st->agent_id, "ca_fingerprint", ca,
	    "owner_fingerprint", owner);
	if (j == NULL || (text = json_dumps(j, JSON_INDENT(2))) == NULL)
		goto out;
	if ((r = mamori_path_join(path, sizeof(path), st->dir,
	    MAMORI_STATE_INFO)) != 0)
		goto out;
	r = mamori_file_write(path, text, strlen(text), 0600, 0);
out:
	free(text);
	json_decref(j);
	return r;
}

int
mamori_state_load(const char *dir, struct mamori_agent_state *st, char *why,
    size_t whylen)
{
	struct mamori_buf b;
	uint8_t fp[MAMORI_SHA256_LEN];
	char path[PATH_MAX];
	int r;

	memset(st, 0, sizeof(*st));
	why[0] = '\0';
	mamori_buf_init(&b, MAMORI_STATE_INFO_MAX);
	mamori_strlcpy(st->dir, dir, sizeof(st->dir));
	if ((r = mamori_path_join(path, sizeof(path), dir,
	    MAMORI_STATE_INFO)) != 0)
		goto out;
	if ((r = mamori_buf_read_file(&b, path)) != 0) {
		if (r == MAMORI_ERR_NOT_FOUND)
			snprintf(why, whylen, "%s holds no enrollment; enroll "
			    "first with: mamori-agent enroll --state %s STRING",
			    dir, dir);
		else
			snprintf(why, whylen, "cannot read %.300s: %s", path,
			    mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_state_info_parse((const char *)b.data, b.len,
	    st)) != 0) {
		snprintf(why, whylen, "%s is damaged; enroll again with "
		    "--force", path);
		goto out;
	}
	if ((r = mamori_path_join(path, sizeof(path), dir,
	    MAMORI_STATE_CA)) != 0 ||
	    (r = mamori_cert_load(path, &st->ca)) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), dir,
	    MAMORI_STATE_CERT)) != 0 ||
	    (r = mamori_cert_load(path, &st->cert)) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), dir,
	    MAMORI_STATE_KEY)) != 0 ||
	    (r = mamori_key_load(path, &st->key)) != 0) {
		snprintf(why, whylen, "cannot load %s: %s; enroll again with "
		    "--force", path, mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_cert_fingerprint(st->ca, fp)) != 0 ||
	    !mamori_equal(fp, st->ca_fp, sizeof(fp))) {
		snprintf(why, whylen, "%s/%s does not match the pinned CA "
		    "fingerprint; the state was tampered with", dir,
		    MAMORI_STATE_CA);
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	if (X509_check_private_key(st->cert, st->key) != 1) {
		snprintf(why, whylen, "the certificate in %s does not belong "
		    "to its key; enroll again with --force", dir);
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	mamori_buf_free(&b);
	if (r != 0)
		mamori_state_free(st);
	return r;
}

void
mamori_state_free(struct mamori_agent_state *st)
{
	X509_free(st->ca);
	X509_free(st->cert);
	EVP_PKEY_free(st->key);
	st->ca = st->cert = NULL;
	st->key = NULL;
}
