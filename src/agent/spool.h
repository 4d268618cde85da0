/*
 * spool.h - the agent's durable event spool.
 *
 * An event counts as captured once it is in the spool.  The spool is a
 * directory of segment files; each record is
 *
 *   u32 length | u32 CRC-32C of the payload | payload (a mamori.Event,
 *   serialized, whose seq field is the record's sequence number)
 *
 * big-endian, appended in sequence order.  Records are deleted only when
 * the server has acknowledged them (mamori_spool_ack).  When the spool would
 * grow past its cap, the oldest segments are dropped and a LossEvent naming
 * the dropped sequence range is appended in their place; a segment cut
 * short or damaged (power loss) is read up to its last good record and the
 * loss is reported the same way.  Sequence numbers never repeat, also
 * across restarts and losses.
 *
 * Durability: see mamori_spool_append.  Not thread-safe.
 */
#ifndef MAMORI_SPOOL_H
#define MAMORI_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mamori.pb-c.h"

#define MAMORI_SPOOL_MAX_DEFAULT (256ULL * 1024 * 1024)
#define MAMORI_SPOOL_MAX_RECORD (1024 * 1024)   /* payload bytes */
#define MAMORI_SPOOL_SEGMENT_BYTES (4 * 1024 * 1024)

struct mamori_spool;

struct mamori_spool_stats {
	uint64_t first_seq;     /* oldest record still in the spool, 0: none */
	uint64_t next_seq;      /* the sequence number the next append gets */
	uint64_t bytes;         /* on disk */
	uint64_t records;
	uint64_t lost;          /* events dropped since open (overflow, damage) */
};

/*
 * Opens (creating) the spool in dir, capped at max_bytes, recovering what a
 * crash left: torn or corrupt tails are cut at the last good record and
 * reported as a LossEvent.  *out is freed with mamori_spool_close.
 */
int mamori_spool_open(const char *dir, uint64_t max_bytes,
    struct mamori_spool **out);

void mamori_spool_close(struct mamori_spool *sp);

/*
 * Assigns ev->seq, appends it, and returns 0 once it is written; *seq gets
 * the number.  Records are written with write(2) at once and fdatasync'ed by
 * mamori_spool_sync; the agent calls sync at most every
 * MAMORI_SPOOL_SYNC_MS, so a power failure loses at most that window (a
 * process crash loses nothing: the data is in the kernel).
 */
int mamori_spool_append(struct mamori_spool *sp, Mamori__Event *ev,
    uint64_t *seq);
#define MAMORI_SPOOL_SYNC_MS 100
int mamori_spool_sync(struct mamori_spool *sp);

/*
 * Reads records with seq > after, in order, appending each as one element
 * of a serialized mamori.EventBatch to out (the field header 0x0a, a varint
 * length, the payload as stored), until out would pass max_bytes or no
 * record is left; *count and *last_seq tell what was read (0: nothing).
 * Records that fail their checksum here (damage after open) end the read
 * and are reported as lost.
 */
int mamori_spool_read(struct mamori_spool *sp, uint64_t after,
    size_t max_bytes, struct mamori_buf *out, size_t *count,
    uint64_t *last_seq);

/* The server stored every record with seq <= acked: delete them (whole
 * segments; a partly acknowledged segment stays until it is all acked). */
int mamori_spool_ack(struct mamori_spool *sp, uint64_t acked);

void mamori_spool_stats(const struct mamori_spool *sp,
    struct mamori_spool_stats *st);

/*
 * Decodes one record from a buffer: on success *payload and *payload_len point
 * into data and *used is the record's full size.  MAMORI_ERR_TRUNCATED when
 * data ends inside the record, MAMORI_ERR_CHECKSUM when its CRC is wrong,
 * MAMORI_ERR_TOO_LARGE when its length exceeds MAMORI_SPOOL_MAX_RECORD.
 * The fuzz target calls this.
 */
int mamori_spool_record_decode(const uint8_t *data, size_t len,
    const uint8_t **payload, size_t *payload_len, size_t *used);

#endif
