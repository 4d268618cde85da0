/*
 * spool.c - the agent's durable event spool (see spool.h for the record
 * format and the contract).
 *
 * Layout: a directory (0700) of segment files "%020llu.seg", each named by
 * the sequence number of its first record and starting with an 8-byte
 * header ("MSPL", u32 version), plus a "state" file holding the highest
 * acknowledged sequence number (and next_seq at that time, in case every
 * segment is gone).  Within one segment sequence numbers are contiguous
 * (the first record carries the segment's name); any jump - a LossEvent
 * after damage, a restart past a torn tail - starts a new segment.  That
 * invariant keeps the in-memory index to a few numbers per segment and
 * makes a loss range exact wherever the records were known.
 *
 * Losses: an overflow names the unacknowledged records it dropped, and the
 * ranges of any LossEvents among them, so a report of loss is never lost
 * itself.  Damage found at open names the records cut off; when only
 * their start is known (a tail of unreadable bytes in the last segment)
 * last_seq and count are 0 and the reason says "corrupt spool: N bytes
 * unreadable in FILE".  Statistics count records not yet acknowledged.
 *
 * What this file must never do: reuse a sequence number that might have
 * been delivered (recovery skips past every byte of a damaged tail, and
 * mamori_spool_read syncs before it hands out a record that is not yet on
 * stable storage, so nothing delivered can vanish in a power loss); delete
 * a record that was not acknowledged without saying so in a LossEvent; or
 * trust a byte read back from disk before its length, CRC-32C and Event
 * decoding were checked.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#define SPOOL_MAGIC "MSPL"
#define SPOOL_VERSION 1
#define SPOOL_HEADER_LEN 8              /* magic, u32 version */
#define SPOOL_RECORD_HEADER 8           /* u32 length, u32 CRC-32C */
/* The smallest record that can be valid: an Event holding only its seq
 * (tag and one varint byte).  Bounds how many records damaged bytes held. */
#define SPOOL_RECORD_MIN (SPOOL_RECORD_HEADER + 2)
/* The largest segment rotation can produce; a bigger file is damaged past
 * this point and only this much of it is read. */
#define SPOOL_SEGMENT_FILE_MAX (SPOOL_HEADER_LEN + \
	MAMORI_SPOOL_SEGMENT_BYTES + SPOOL_RECORD_HEADER + \
	MAMORI_SPOOL_MAX_RECORD)
/* The read buffer: this much at first, grown to hold the largest record
 * whole only when a record needs it. */
#define SPOOL_READ_CHUNK (64 * 1024)
#define SPOOL_READ_BUF (SPOOL_RECORD_HEADER + MAMORI_SPOOL_MAX_RECORD)
/* Room kept for the LossEvent an overflow appends. */
#define SPOOL_LOSS_RESERVE 128
/* Memory one decoded Event may take: protobuf-c allocates per string. */
#define SPOOL_DECODE_BUDGET (4 * MAMORI_SPOOL_MAX_RECORD)
/* Sequence numbers (segment names, state) beyond this are garbage: taking
 * them would exhaust the number space. */
#define SPOOL_SEQ_MAX (UINT64_C(1) << 62)
/* CRC bytes a resynchronizing scan of a damaged tail may spend. */
#define SPOOL_RESYNC_CRC_MAX (64 * 1024 * 1024)
#define SPOOL_SEGMENTS_MAX (1024 * 1024)
#define SPOOL_NAME_DIGITS 20
#define SPOOL_NAME_SUFFIX ".seg"
#define SPOOL_NAME_LEN (SPOOL_NAME_DIGITS + 4)
#define SPOOL_STATE_FILE "state"
#define SPOOL_STATE_MAGIC "MSPS"
#define SPOOL_STATE_VERSION 1
#define SPOOL_STATE_LEN 28      /* magic, version, acked, next, CRC */
#define SPOOL_REASON_MAX 128
#define SPOOL_OVERFLOW_REASON "overflow"
#define SPOOL_CORRUPT_REASON "corrupt spool"

/*
 * The LossEvents inside one segment, summed: an overflow that drops them
 * carries their ranges into its own LossEvent, so a report of loss is not
 * itself lost.  seq is the last one's number (0: none), first the lowest
 * first_seq named, count the events named.
 */
struct loss_note {
	uint64_t seq;
	uint64_t first;
	uint64_t count;
};

/* One segment file: records name .. name + count - 1, bytes long. */
struct segment {
	uint64_t name;
	uint64_t count;
	uint64_t bytes;
	struct loss_note loss;
};

struct mamori_spool {
	char dir[PATH_MAX];
	int dirfd;              /* holds the flock that keeps others out */
	int wfd;                /* the last segment, O_APPEND; -1 iff none */
	int dirty;              /* written since the last fdatasync */
	uint64_t max_bytes;
	struct segment *segs;   /* oldest first */
	size_t nseg, segcap;
	uint64_t next_seq;
	uint64_t acked;
	int acked_unsaved;      /* acked moved past what the state file says */
	uint64_t synced_seq;    /* every record up to here is on disk */
	uint64_t bytes;
	uint64_t lost;
	struct {                /* where the next read likely starts */
		int valid;
		uint64_t name, seq, off;
	} cursor;
	uint8_t *rbuf;          /* made on first read */
	size_t rbuf_cap;        /* SPOOL_READ_CHUNK or SPOOL_READ_BUF */
	struct mamori_buf wbuf; /* the record being written */
};

/* What scanning one segment found. */
struct scan {
	uint64_t size;          /* of the file */
	uint64_t good;          /* valid records from the start */
	uint64_t good_end;      /* offset just past them; 0: bad header */
	uint64_t hi;            /* highest seq recognized past the damage */
	int single;             /* the damage is one record, cut or spoiled */
	struct loss_note loss;  /* in the good records */
};

/* CRC-32C (Castagnoli, reflected 0x82F63B78), one table lookup a byte. */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351
};

static uint32_t
crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffU;

	while (n-- > 0)
		c = crc32c_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
mamori_spool_record_decode(const uint8_t *data, size_t len,
    const uint8_t **payload, size_t *payload_len, size_t *used)
{
	struct mamori_cursor c;
	const uint8_t *p;
	uint32_t n, crc;
	int r;

	*payload = NULL;
	*payload_len = 0;
	*used = 0;
	mamori_cursor_init(&c, data, len);
	if ((r = mamori_cursor_u32(&c, &n)) != 0 ||
	    (r = mamori_cursor_u32(&c, &crc)) != 0)
		return r;
	if (n > MAMORI_SPOOL_MAX_RECORD)
		return MAMORI_ERR_TOO_LARGE;
	/* Every Event has a seq, so no payload is empty; a run of zeros (a
	 * file extended but never written) is not a record. */
	if (n == 0)
		return MAMORI_ERR_BAD_MESSAGE;
	if ((r = mamori_cursor_bytes(&c, n, &p)) != 0)
		return r;
	if (crc32c(p, n) != crc)
		return MAMORI_ERR_CHECKSUM;
	*payload = p;
	*payload_len = n;
	*used = SPOOL_RECORD_HEADER + (size_t)n;
	return 0;
}

static void
loss_note_add(struct loss_note *note, uint64_t seq, uint64_t first,
    uint64_t count)
{
	note->seq = seq;
	if (first != 0 && (note->first == 0 || first < note->first))
		note->first = first;
	note->count += count;
}

/* Decodes a payload as an Event; *seq gets its number, and a LossEvent is
 * added to note (unless NULL). */
static int
event_seq(const uint8_t *p, size_t n, uint64_t *seq, struct loss_note *note)
{
	const Mamori__Event *e;
	ProtobufCMessage *m;
	int r;

	*seq = 0;
	if ((r = mamori_pb_decode(&mamori__event__descriptor, p, n,
	    SPOOL_DECODE_BUDGET, &m)) != 0)
		return r;
	e = (const Mamori__Event *)m;
	*seq = e->seq;
	if (note != NULL && e->body_case == MAMORI__EVENT__BODY_LOSS)
		loss_note_add(note, e->seq, e->loss->first_seq,
		    e->loss->count);
	mamori_pb_free(m);
	return 0;
}

/* A record that passes its CRC and decodes as an Event numbered want. */
static int
record_check(const uint8_t *data, size_t len, uint64_t want, size_t *used,
    struct loss_note *note)
{
	struct loss_note found = {0, 0, 0};
	const uint8_t *p;
	uint64_t seq;
	size_t n;
	int r;

	if ((r = mamori_spool_record_decode(data, len, &p, &n, used)) != 0)
		return r;
	if ((r = event_seq(p, n, &seq, &found)) != 0)
		return r;
	if (seq != want)
		return MAMORI_ERR_BAD_MESSAGE;
	if (note != NULL && found.seq != 0)
		loss_note_add(note, found.seq, found.first, found.count);
	return 0;
}

static int
segment_filename(uint64_t name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%0*" PRIu64 SPOOL_NAME_SUFFIX,
	    SPOOL_NAME_DIGITS, name);

	return n > 0 && (size_t)n < outlen ? 0 : MAMORI_ERR_TOO_LARGE;
}

/* Parses a segment file name; MAMORI_ERR_INVALID for anything else. */
static int
segment_name_parse(const char *s, uint64_t *name)
{
	char digits[SPOOL_NAME_DIGITS + 1];

	*name = 0;
	if (strlen(s) != SPOOL_NAME_LEN ||
	    strcmp(s + SPOOL_NAME_DIGITS, SPOOL_NAME_SUFFIX) != 0)
		return MAMORI_ERR_INVALID;
	memcpy(digits, s, SPOOL_NAME_DIGITS);
	digits[SPOOL_NAME_DIGITS] = '\0';
	return mamori_parse_u64(digits, 1, SPOOL_SEQ_MAX, name);
}

static int
dir_sync(struct mamori_spool *sp)
{
	if (fsync(sp->dirfd) != 0) {
		log_error("spool: fsync %s: %s", sp->dir, strerror(errno));
		return MAMORI_ERR_IO;
	}
	return 0;
}

static int
segment_unlink(struct mamori_spool *sp, uint64_t name)
{
	char fn[SPOOL_NAME_LEN + 1];
	int r;

	if ((r = segment_filename(name, fn, sizeof(fn))) != 0)
		return r;
	if (unlinkat(sp->dirfd, fn, 0) != 0 && errno != ENOENT) {
		log_error("spool: unlink %s/%s: %s", sp->dir, fn,
		    strerror(errno));
		return MAMORI_ERR_IO;
	}
	return 0;
}

/* Forgets segment i (oldest first); the file must be gone already. */
static void
segment_forget(struct mamori_spool *sp, size_t i)
{
	if (sp->cursor.valid && sp->cursor.name == sp->segs[i].name)
		sp->cursor.valid = 0;
	sp->bytes -= sp->segs[i].bytes;
	if (i == sp->nseg - 1 && sp->wfd >= 0) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->dirty = 0;
	}
	memmove(&sp->segs[i], &sp->segs[i + 1],
	    (sp->nseg - i - 1) * sizeof(sp->segs[0]));
	sp->nseg--;
}

static int
segment_push(struct mamori_spool *sp, uint64_t name, uint64_t count,
    uint64_t bytes, const struct loss_note *loss)
{
	struct segment *n;
	size_t cap;

	if (sp->nseg == sp->segcap) {
		if (sp->segcap >= SPOOL_SEGMENTS_MAX)
			return MAMORI_ERR_TOO_LARGE;
		cap = sp->segcap == 0 ? 16 : sp->segcap * 2;
		if ((n = reallocarray(sp->segs, cap, sizeof(*n))) == NULL)
			return MAMORI_ERR_ALLOC;
		sp->segs = n;
		sp->segcap = cap;
	}
	sp->segs[sp->nseg].name = name;
	sp->segs[sp->nseg].count = count;
	sp->segs[sp->nseg].bytes = bytes;
	sp->segs[sp->nseg].loss = *loss;
	sp->nseg++;
	sp->bytes += bytes;
	return 0;
}

/*
 * Looks for valid records inside damaged bytes (which start with the record
 * numbered first): a chain of records that pass their CRC and decode with
 * consecutive numbers, no further than the bytes could have held.  Returns
 * the highest number found, 0 for none.  Only sharpens the LossEvent; the
 * sequence floor never depends on it.
 */
static uint64_t
resync(const uint8_t *d, size_t len, uint64_t first, uint64_t damaged)
{
	uint64_t bound = first + damaged / SPOOL_RECORD_MIN, hi = 0, seq;
	const uint8_t *p;
	size_t off = 1, n, used, spent = 0;
	uint32_t claimed;

	while (off + SPOOL_RECORD_HEADER < len) {
		claimed = get_be32(d + off);
		if (claimed == 0 || claimed > MAMORI_SPOOL_MAX_RECORD ||
		    claimed > len - off - SPOOL_RECORD_HEADER) {
			off++;
			continue;
		}
		if ((spent += claimed) > SPOOL_RESYNC_CRC_MAX)
			break;
		if (mamori_spool_record_decode(d + off, len - off, &p, &n,
		    &used) != 0 || event_seq(p, n, &seq, NULL) != 0 ||
		    seq < first || seq >= bound) {
			off++;
			continue;
		}
		/* Follow the chain as far as it goes. */
		for (;;) {
			hi = max_u64(hi, seq);
			off += used;
			if (record_check(d + off, len - off, seq + 1,
			    &used, NULL) != 0 || seq + 1 >= bound)
				break;
			seq++;
		}
	}
	return hi;
}

/*
 * Checks the records of one segment held in data (len bytes read of a file
 * size bytes long), whose records must be numbered name, name + 1, ... and
 * stay below limit (0: no limit).  Pure: sc says where the good part ends.
 */
static void
scan_records(const uint8_t *data, size_t len, uint64_t size, uint64_t name,
    uint64_t limit, struct scan *sc)
{
	uint64_t want, damaged;
	size_t off, used;
	uint32_t claimed;

	memset(sc, 0, sizeof(*sc));
	sc->size = size;
	if (len < SPOOL_HEADER_LEN || memcmp(data, SPOOL_MAGIC, 4) != 0 ||
	    get_be32(data + 4) != SPOOL_VERSION)
		return;
	off = SPOOL_HEADER_LEN;
	sc->good_end = off;
	while (off < len) {
		want = name + sc->good;
		if ((limit != 0 && want >= limit) ||
		    record_check(data + off, len - off, want, &used,
		    &sc->loss) != 0)
			break;
		off += used;
		sc->good++;
		sc->good_end = off;
	}
	if (sc->good_end == size)
		return;
	damaged = size - sc->good_end;
	/* One record cut short or spoiled: too few bytes for a header, or
	 * no more bytes than the plausible length its header claims. */
	if (damaged < SPOOL_RECORD_HEADER)
		sc->single = 1;
	else if (off + SPOOL_RECORD_HEADER <= len) {
		claimed = get_be32(data + off);
		if (claimed != 0 && claimed <= MAMORI_SPOOL_MAX_RECORD &&
		    damaged <= SPOOL_RECORD_HEADER + (uint64_t)claimed)
			sc->single = 1;
	}
	sc->hi = resync(data + off, len - off, name + sc->good, damaged);
}

/* Reads a segment file (at most SPOOL_SEGMENT_FILE_MAX of it) into b. */
static int
segment_read(struct mamori_spool *sp, const char *fn, struct mamori_buf *b,
    uint64_t *size)
{
	struct stat st;
	uint8_t *p;
	size_t want, got = 0;
	ssize_t n;
	int fd = -1, r = MAMORI_ERR_IO;

	*size = 0;
	mamori_buf_reset(b);
	if ((fd = openat(sp->dirfd, fn, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0 || fstat(fd, &st) != 0) {
		log_error("spool: open %s/%s: %s", sp->dir, fn,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	want = st.st_size > SPOOL_SEGMENT_FILE_MAX ? SPOOL_SEGMENT_FILE_MAX :
	    (size_t)st.st_size;
	if ((r = mamori_buf_reserve(b, want, &p)) != 0)
		goto out;
	while (got < want) {
		n = pread(fd, p + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("spool: read %s/%s: %s", sp->dir, fn,
			    strerror(errno));
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	b->len = got;
	*size = got < want ? got : (uint64_t)st.st_size;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Cuts segment fn to len bytes, durably. */
static int
segment_cut(struct mamori_spool *sp, const char *fn, uint64_t len)
{
	int fd, r = MAMORI_ERR_IO;

	if ((fd = openat(sp->dirfd, fn, O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0 || ftruncate(fd, (off_t)len) != 0 ||
	    fdatasync(fd) != 0) {
		log_error("spool: truncate %s/%s: %s", sp->dir, fn,
		    strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Writes the whole record in wbuf (numbered seq) with one write(2). */
static int
record_write(struct mamori_spool *sp, uint64_t seq)
{
	struct segment *s = &sp->segs[sp->nseg - 1];
	ssize_t w;

	do
		w = write(sp->wfd, sp->wbuf.data, sp->wbuf.len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != sp->wbuf.len) {
		log_error("spool: write %s/%020" PRIu64 ".seg: %s", sp->dir,
		    s->name, w < 0 ? strerror(errno) : "short write");
		/* Take back a partial record so the segment stays whole. */
		if (w > 0 && ftruncate(sp->wfd, (off_t)s->bytes) != 0)
			log_error("spool: cannot cut back a partial record: "
			    "%s", strerror(errno));
		return MAMORI_ERR_IO;
	}
	s->count++;
	s->bytes += sp->wbuf.len;
	sp->bytes += sp->wbuf.len;
	sp->dirty = 1;
	sp->next_seq = seq + 1;
	return 0;
}

/*
 * Makes the last segment the right one for a record numbered seq of size
 * bytes: continuing its numbers and under MAMORI_SPOOL_SEGMENT_BYTES, or a
 * new one named seq.  The segment left behind is synced first, so records
 * in older segments are always on disk.
 */
static int
segment_ensure(struct mamori_spool *sp, uint64_t seq, size_t size)
{
	char fn[SPOOL_NAME_LEN + 1];
	const struct loss_note none = {0, 0, 0};
	uint8_t hdr[SPOOL_HEADER_LEN];
	struct segment *s;
	ssize_t w;
	int fd = -1, r = MAMORI_ERR_IO;

	if (sp->nseg > 0) {
		s = &sp->segs[sp->nseg - 1];
		if (s->name + s->count == seq && (s->count == 0 ||
		    s->bytes + size <= MAMORI_SPOOL_SEGMENT_BYTES))
			return 0;
		if (s->count == 0) {
			if ((r = segment_unlink(sp, s->name)) != 0)
				return r;
			segment_forget(sp, sp->nseg - 1);
		} else {
			if ((r = mamori_spool_sync(sp)) != 0)
				return r;
			close(sp->wfd);
			sp->wfd = -1;
		}
	}
	if ((r = segment_filename(seq, fn, sizeof(fn))) != 0)
		goto out;
	if ((fd = openat(sp->dirfd, fn, O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		log_error("spool: create %s/%s: %s", sp->dir, fn,
		    strerror(errno));
		r = MAMORI_ERR_IO;
		goto out;
	}
	memcpy(hdr, SPOOL_MAGIC, 4);
	put_be32(hdr + 4, SPOOL_VERSION);
	do
		w = write(fd, hdr, sizeof(hdr));
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof(hdr)) {
		log_error("spool: write %s/%s: %s", sp->dir, fn,
		    w < 0 ? strerror(errno) : "short write");
		r = MAMORI_ERR_IO;
		goto out;
	}
	if ((r = dir_sync(sp)) != 0)
		goto out;
	if ((r = segment_push(sp, seq, 0, SPOOL_HEADER_LEN, &none)) != 0)
		goto out;
	sp->wfd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlinkat(sp->dirfd, fn, 0);
	}
	return r;
}

/* Serializes m (an Event numbered seq) as a record and appends it. */
static int
event_write(struct mamori_spool *sp, const ProtobufCMessage *m, uint64_t seq)
{
	uint8_t *hdr;
	size_t n;
	int r;

	mamori_buf_reset(&sp->wbuf);
	if ((r = mamori_buf_reserve(&sp->wbuf, SPOOL_RECORD_HEADER,
	    &hdr)) != 0)
		return r;
	if ((r = mamori_pb_encode(m, &sp->wbuf)) != 0)
		return r;
	n = sp->wbuf.len - SPOOL_RECORD_HEADER;
	if (n == 0 || n > MAMORI_SPOOL_MAX_RECORD)
		return MAMORI_ERR_TOO_LARGE;
	put_be32(sp->wbuf.data, (uint32_t)n);
	put_be32(sp->wbuf.data + 4,
	    crc32c(sp->wbuf.data + SPOOL_RECORD_HEADER, n));
	if ((r = segment_ensure(sp, seq, sp->wbuf.len)) != 0)
		return r;
	return record_write(sp, seq);
}

/* Appends a LossEvent for [first, last], count events.  last and count 0:
 * only the start is known, and reason says how many bytes were lost. */
static int
loss_append(struct mamori_spool *sp, uint64_t first, uint64_t last,
    uint64_t count, const char *reason)
{
	Mamori__Event ev = MAMORI__EVENT__INIT;
	Mamori__LossEvent loss = MAMORI__LOSS_EVENT__INIT;
	uint64_t seq = sp->next_seq;
	int r;

	if (seq >= SPOOL_SEQ_MAX)
		return MAMORI_ERR_TOO_LARGE;
	loss.first_seq = first;
	loss.last_seq = last;
	loss.count = count;
	loss.reason = (char *)reason;
	ev.seq = seq;
	ev.time_ns = wall_ns();
	ev.body_case = MAMORI__EVENT__BODY_LOSS;
	ev.loss = &loss;
	if (last != 0)
		log_warn("spool %s: lost events %" PRIu64 "..%" PRIu64 " (%"
		    PRIu64 "): %s", sp->dir, first, last, count, reason);
	else
		log_warn("spool %s: lost events from %" PRIu64 " on: %s",
		    sp->dir, first, reason);
	if ((r = event_write(sp, &ev.base, seq)) != 0)
		return r;
	loss_note_add(&sp->segs[sp->nseg - 1].loss, seq, first, count);
	return 0;
}

/* Records of segment s numbered after acked: *first.. its last, *count. */
static uint64_t
segment_unacked(const struct segment *s, uint64_t acked, uint64_t *first)
{
	uint64_t last = s->name + s->count - 1;

	*first = 0;
	if (s->count == 0 || last <= acked)
		return 0;
	*first = max_u64(s->name, acked + 1);
	return last - *first + 1;
}

/*
 * Drops the oldest segments until size more bytes (and a LossEvent) fit
 * under the cap, then appends one LossEvent for what was dropped.  The
 * segment being written goes last, and only by closing it: the next record
 * then starts a fresh one, so a tiny cap still holds one segment.
 */
static int
overflow_make_room(struct mamori_spool *sp, size_t size)
{
	uint64_t need = size + SPOOL_HEADER_LEN + SPOOL_LOSS_RESERVE;
	uint64_t first = 0, last = 0, count = 0, f, n;
	struct loss_note carried = {0, 0, 0};
	struct segment *s;
	int dropped = 0, r;

	while (sp->bytes + need > sp->max_bytes && sp->nseg > 0) {
		s = &sp->segs[0];
		if (sp->nseg == 1 && s->count == 0)
			break;
		if ((n = segment_unacked(s, sp->acked, &f)) > 0) {
			if (count == 0)
				first = f;
			last = s->name + s->count - 1;
			count += n;
		}
		/* Reports of loss not yet delivered go on in ours. */
		if (s->loss.seq > sp->acked)
			loss_note_add(&carried, s->loss.seq,
			    max_u64(s->loss.first, sp->acked + 1),
			    s->loss.count);
		if ((r = segment_unlink(sp, s->name)) != 0)
			return r;
		segment_forget(sp, 0);
		dropped = 1;
	}
	if (dropped && (r = dir_sync(sp)) != 0)
		return r;
	if (count == 0)
		return 0;
	sp->lost += count;
	if (carried.first != 0 && carried.first < first)
		first = carried.first;
	return loss_append(sp, first, last, count + carried.count,
	    SPOOL_OVERFLOW_REASON);
}

int
mamori_spool_append(struct mamori_spool *sp, Mamori__Event *ev,
    uint64_t *seq)
{
	uint64_t old = ev->seq;
	size_t n;
	int r = MAMORI_ERR_INTERNAL;

	*seq = 0;
	if (sp->next_seq + 1 >= SPOOL_SEQ_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	/* Size it with the number it gets if an overflow LossEvent goes
	 * first: a varint never shrinks as its value grows. */
	ev->seq = sp->next_seq + 1;
	n = protobuf_c_message_get_packed_size(&ev->base);
	if (n > MAMORI_SPOOL_MAX_RECORD) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = overflow_make_room(sp, SPOOL_RECORD_HEADER + n)) != 0)
		goto out;
	ev->seq = sp->next_seq;
	if ((r = event_write(sp, &ev->base, ev->seq)) != 0)
		goto out;
	*seq = ev->seq;
	r = 0;
out:
	if (r != 0)
		ev->seq = old;
	return r;
}

int
mamori_spool_sync(struct mamori_spool *sp)
{
	if (sp->wfd < 0 || !sp->dirty) {
		sp->synced_seq = sp->next_seq - 1;
		return 0;
	}
	if (fdatasync(sp->wfd) != 0) {
		log_error("spool: fdatasync in %s: %s", sp->dir,
		    strerror(errno));
		return MAMORI_ERR_IO;
	}
	sp->dirty = 0;
	sp->synced_seq = sp->next_seq - 1;
	return 0;
}

/* The state file: magic, version, acked, next_seq, CRC-32C of the rest. */
static int
state_save(struct mamori_spool *sp, uint64_t acked)
{
	struct mamori_buf b;
	char path[PATH_MAX];
	int r;

	mamori_buf_init(&b, SPOOL_STATE_LEN);
	if ((r = mamori_buf_append(&b, SPOOL_STATE_MAGIC, 4)) != 0 ||
	    (r = mamori_buf_put_u32(&b, SPOOL_STATE_VERSION)) != 0 ||
	    (r = mamori_buf_put_u64(&b, acked)) != 0 ||
	    (r = mamori_buf_put_u64(&b, sp->next_seq)) != 0 ||
	    (r = mamori_buf_put_u32(&b, crc32c(b.data, b.len))) != 0)
		goto out;
	if ((r = mamori_path_join(path, sizeof(path), sp->dir,
	    SPOOL_STATE_FILE)) != 0)
		goto out;
	if ((r = mamori_file_write(path, b.data, b.len, 0600, 0)) != 0) {
		log_error("spool: cannot write %s: %s", path,
		    mamori_strerror(r));
		goto out;
	}
	r = dir_sync(sp);
out:
	mamori_buf_free(&b);
	return r;
}

/* Reads the state file; a missing or damaged one counts as empty. */
static int
state_load(struct mamori_spool *sp, uint64_t *acked, uint64_t *next)
{
	struct mamori_cursor c;
	struct mamori_buf b;
	char path[PATH_MAX];
	uint8_t magic[4];
	uint32_t version, crc;
	uint64_t a, n;
	int r;

	*acked = 0;
	*next = 0;
	mamori_buf_init(&b, SPOOL_STATE_LEN);
	if ((r = mamori_path_join(path, sizeof(path), sp->dir,
	    SPOOL_STATE_FILE)) != 0)
		goto out;
	if ((r = mamori_buf_read_file(&b, path)) != 0) {
		if (r != MAMORI_ERR_NOT_FOUND)
			log_warn("spool: ignoring %s: %s", path,
			    mamori_strerror(r));
		r = 0;
		goto out;
	}
	mamori_cursor_init(&c, b.data, b.len);
	if (mamori_cursor_copy(&c, magic, sizeof(magic)) != 0 ||
	    memcmp(magic, SPOOL_STATE_MAGIC, 4) != 0 ||
	    mamori_cursor_u32(&c, &version) != 0 ||
	    version != SPOOL_STATE_VERSION ||
	    mamori_cursor_u64(&c, &a) != 0 ||
	    mamori_cursor_u64(&c, &n) != 0 ||
	    mamori_cursor_u32(&c, &crc) != 0 ||
	    mamori_cursor_end(&c) != 0 ||
	    crc != crc32c(b.data, SPOOL_STATE_LEN - 4) ||
	    a >= SPOOL_SEQ_MAX || n >= SPOOL_SEQ_MAX) {
		log_warn("spool: ignoring damaged %s", path);
		r = 0;
		goto out;
	}
	*acked = a;
	*next = n;
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

static int
name_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Collects the names of segment files, sorted; notes what else is there. */
static int
segment_list(struct mamori_spool *sp, uint64_t **out, size_t *count,
    uint64_t *floor)
{
	uint64_t *names = NULL, *n, name;
	size_t len = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd = -1, r = MAMORI_ERR_IO;

	*out = NULL;
	*count = 0;
	if ((fd = dup(sp->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_error("spool: cannot list %s: %s", sp->dir,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, SPOOL_STATE_FILE) == 0)
			continue;
		if (segment_name_parse(de->d_name, &name) != 0) {
			log_debug("spool: ignoring %s/%s", sp->dir,
			    de->d_name);
			continue;
		}
		/* A number taken by something else still may not be
		 * reused as a segment name. */
		*floor = max_u64(*floor, name + 1);
		if (fstatat(sp->dirfd, de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
			log_warn("spool: ignoring %s/%s: not a regular file",
			    sp->dir, de->d_name);
			continue;
		}
		if (len == cap) {
			if (cap >= SPOOL_SEGMENTS_MAX) {
				r = MAMORI_ERR_TOO_LARGE;
				goto out;
			}
			cap = cap == 0 ? 64 : cap * 2;
			if ((n = reallocarray(names, cap,
			    sizeof(*n))) == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			names = n;
		}
		names[len++] = name;
	}
	if (len > 0)
		qsort(names, len, sizeof(*names), name_compare);
	*out = names;
	*count = len;
	names = NULL;
	r = 0;
out:
	if (d != NULL)
		closedir(d);
	if (fd >= 0)
		close(fd);
	free(names);
	return r;
}

/* A loss found while scanning, appended once the index is built. */
struct pending_loss {
	uint64_t first, last, count;
	char reason[SPOOL_REASON_MAX];
};

/*
 * Scans segment fn (named name, records below limit, 0: it is the last)
 * and cuts it at its last good record.  Adds it to the index unless it is
 * empty or fully acknowledged, raises *next past every number it may have
 * used, and fills *loss (count 0 and no reason: nothing lost).
 */
static int
segment_recover(struct mamori_spool *sp, struct mamori_buf *b,
    uint64_t name, uint64_t limit, uint64_t *next, struct pending_loss *loss)
{
	char fn[SPOOL_NAME_LEN + 1];
	uint64_t size, damaged, first;
	struct scan sc;
	int r;

	memset(loss, 0, sizeof(*loss));
	if ((r = segment_filename(name, fn, sizeof(fn))) != 0 ||
	    (r = segment_read(sp, fn, b, &size)) != 0)
		return r;
	scan_records(b->data, b->len, size, name, limit, &sc);
	first = name + sc.good;
	*next = max_u64(*next, first);
	if (sc.good_end < sc.size) {
		damaged = sc.size - sc.good_end;
		if (limit != 0) {
			/* Every number below the next segment's name. */
			loss->first = first;
			loss->last = limit - 1;
		} else if (sc.hi >= first) {
			loss->first = first;
			loss->last = sc.hi;
		} else if (sc.single) {
			loss->first = loss->last = first;
		}
		/* Acknowledged records were delivered, not lost. */
		loss->first = max_u64(loss->first, sp->acked + 1);
		if (loss->last != 0 && loss->last < loss->first) {
			/* All of it acknowledged: nothing to report. */
		} else if (loss->last != 0) {
			loss->count = loss->last - loss->first + 1;
			mamori_strlcpy(loss->reason, SPOOL_CORRUPT_REASON,
			    sizeof(loss->reason));
		} else {
			loss->first = first;
			loss->last = 0;
			snprintf(loss->reason, sizeof(loss->reason),
			    SPOOL_CORRUPT_REASON ": %" PRIu64 " bytes "
			    "unreadable in %s", damaged, fn);
		}
		/* The damaged bytes held at most this many records, each
		 * of which may have been sent: never number another so. */
		if (limit == 0)
			*next = max_u64(*next, max_u64(first + damaged /
			    SPOOL_RECORD_MIN + 1, sc.hi + 1));
		log_warn("spool: %s/%s damaged after %" PRIu64 " good "
		    "records: %" PRIu64 " bytes cut", sp->dir, fn, sc.good,
		    damaged);
		if (sc.good > 0 && (r = segment_cut(sp, fn, sc.good_end)) != 0)
			return r;
	}
	if (sc.good == 0 || name + sc.good - 1 <= sp->acked)
		return segment_unlink(sp, name);
	return segment_push(sp, name, sc.good, sc.good_end, &sc.loss);
}

/* Rebuilds the index from the directory and reports what was lost. */
static int
spool_recover(struct mamori_spool *sp, uint64_t state_next)
{
	struct pending_loss *losses = NULL;
	struct mamori_buf b;
	uint64_t *names = NULL, next, floor = 0, limit, lost;
	size_t count = 0, i;
	int r;

	mamori_buf_init(&b, SPOOL_SEGMENT_FILE_MAX);
	if ((r = segment_list(sp, &names, &count, &floor)) != 0)
		goto out;
	if (count > 0 && (losses = calloc(count, sizeof(*losses))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	next = max_u64(1, max_u64(sp->acked + 1, state_next));
	for (i = 0; i < count; i++) {
		limit = i + 1 < count ? names[i + 1] : 0;
		if ((r = segment_recover(sp, &b, names[i], limit, &next,
		    &losses[i])) != 0)
			goto out;
	}
	if (count > 0 && (r = dir_sync(sp)) != 0)
		goto out;
	sp->next_seq = max_u64(next, floor);
	if (sp->nseg > 0) {
		struct segment *s = &sp->segs[sp->nseg - 1];
		char fn[SPOOL_NAME_LEN + 1];

		if ((r = segment_filename(s->name, fn, sizeof(fn))) != 0)
			goto out;
		if ((sp->wfd = openat(sp->dirfd, fn, O_WRONLY | O_APPEND |
		    O_CLOEXEC | O_NOFOLLOW)) < 0) {
			log_error("spool: open %s/%s: %s", sp->dir, fn,
			    strerror(errno));
			r = MAMORI_ERR_IO;
			goto out;
		}
		/* What a crashed process left may be only in the page
		 * cache: make it durable before any of it is sent. */
		sp->dirty = 1;
	}
	if ((r = mamori_spool_sync(sp)) != 0)
		goto out;
	for (i = 0; i < count; i++) {
		if (losses[i].reason[0] == '\0')
			continue;
		/* An unknown range lost at least the record it began. */
		lost = losses[i].count > 0 ? losses[i].count : 1;
		sp->lost += lost;
		if ((r = loss_append(sp, losses[i].first, losses[i].last,
		    losses[i].count, losses[i].reason)) != 0)
			goto out;
	}
	r = mamori_spool_sync(sp);
out:
	mamori_buf_free(&b);
	free(losses);
	free(names);
	return r;
}

int
mamori_spool_open(const char *dir, uint64_t max_bytes,
    struct mamori_spool **out)
{
	struct mamori_spool *sp = NULL;
	struct stat st;
	uint64_t state_next;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return MAMORI_ERR_ALLOC;
	sp->dirfd = -1;
	sp->wfd = -1;
	sp->max_bytes = max_bytes;
	mamori_buf_init(&sp->wbuf, SPOOL_RECORD_HEADER +
	    MAMORI_SPOOL_MAX_RECORD);
	if (mamori_strlcpy(sp->dir, dir, sizeof(sp->dir)) >= sizeof(sp->dir)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("spool: cannot create %s: %s", dir, strerror(errno));
		r = errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
		goto out;
	}
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0 || fstat(sp->dirfd, &st) != 0) {
		log_error("spool: cannot open %s: %s", dir, strerror(errno));
		r = errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
		goto out;
	}
	if ((st.st_mode & 077) != 0 && fchmod(sp->dirfd, 0700) != 0) {
		log_error("spool: cannot make %s private: %s", dir,
		    strerror(errno));
		r = MAMORI_ERR_PERMISSION;
		goto out;
	}
	/* Two writers would interleave numbers: one spool, one process. */
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
		log_error("spool: %s is in use by another process", dir);
		r = MAMORI_ERR_EXISTS;
		goto out;
	}
	if ((r = state_load(sp, &sp->acked, &state_next)) != 0 ||
	    (r = spool_recover(sp, state_next)) != 0)
		goto out;
	*out = sp;
	sp = NULL;
	r = 0;
out:
	mamori_spool_close(sp);
	return r;
}

static int drop_acked(struct mamori_spool *sp);

void
mamori_spool_close(struct mamori_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->wfd >= 0) {
		(void)mamori_spool_sync(sp);
		close(sp->wfd);
		sp->wfd = -1;
	}
	/* What stayed for appending is deleted now if all of it was
	 * acknowledged - once the state file says so. */
	if (sp->acked_unsaved && state_save(sp, sp->acked) == 0)
		sp->acked_unsaved = 0;
	if (!sp->acked_unsaved && sp->dirfd >= 0)
		(void)drop_acked(sp);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->segs);
	free(sp->rbuf);
	mamori_buf_free(&sp->wbuf);
	free(sp);
}

/*
 * Damage found while reading segment i: rescans it, cuts it at its last
 * good record, and appends a LossEvent for exactly the records cut off
 * (the index knows them).  MAMORI_ERR_IO if the rescan finds it whole.
 */
static int
segment_repair(struct mamori_spool *sp, size_t i)
{
	char fn[SPOOL_NAME_LEN + 1];
	struct segment *s = &sp->segs[i];
	struct mamori_buf b;
	uint64_t size, good, first, last, count;
	struct scan sc;
	int current = i == sp->nseg - 1, r;

	mamori_buf_init(&b, SPOOL_SEGMENT_FILE_MAX);
	if ((r = segment_filename(s->name, fn, sizeof(fn))) != 0 ||
	    (r = segment_read(sp, fn, &b, &size)) != 0)
		goto out;
	scan_records(b.data, b.len, size, s->name,
	    current ? 0 : sp->segs[i + 1].name, &sc);
	good = sc.good < s->count ? sc.good : s->count;
	if (good == s->count && sc.good_end == s->bytes) {
		log_error("spool: %s/%s failed to read but rescans whole",
		    sp->dir, fn);
		r = MAMORI_ERR_IO;
		goto out;
	}
	/* Acknowledged records were delivered, not lost. */
	first = max_u64(s->name + good, sp->acked + 1);
	last = s->name + s->count - 1;
	count = last >= first ? last - first + 1 : 0;
	sp->cursor.valid = 0;
	if (good == 0 && !current) {
		if ((r = segment_unlink(sp, s->name)) != 0 ||
		    (r = dir_sync(sp)) != 0)
			goto out;
		segment_forget(sp, i);
	} else {
		if (current) {
			if (ftruncate(sp->wfd, (off_t)sc.good_end) != 0) {
				log_error("spool: truncate %s/%s: %s",
				    sp->dir, fn, strerror(errno));
				r = MAMORI_ERR_IO;
				goto out;
			}
			sp->dirty = 1;
		} else if ((r = segment_cut(sp, fn, sc.good_end)) != 0)
			goto out;
		sp->bytes -= s->bytes - sc.good_end;
		s->bytes = sc.good_end;
		s->count = good;
		s->loss = sc.loss;
	}
	if (count == 0) {
		r = 0;
		goto out;
	}
	sp->lost += count;
	r = loss_append(sp, first, last, count, SPOOL_CORRUPT_REASON);
out:
	mamori_buf_free(&b);
	return r;
}

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Appends one EventBatch element (field 1, length-delimited) to out. */
static int
batch_put(struct mamori_buf *out, const uint8_t *p, size_t n)
{
	uint8_t *w;
	uint64_t v = n;
	int r;

	if ((r = mamori_buf_reserve(out, 1 + varint_len(n) + n, &w)) != 0)
		return r;
	*w++ = 0x0a;
	while (v >= 0x80) {
		*w++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*w++ = (uint8_t)v;
	memcpy(w, p, n);
	return 0;
}

/* Outcome of reading one segment besides errors. */
#define SPOOL_READ_DAMAGED 1
#define SPOOL_READ_FULL 2

/*
 * Reads segment s's records numbered after 'after' into out, starting
 * where the last read stopped when it can.  Records before 'after' are
 * checked by length and CRC only; the ones sent are decoded in full.
 */
static int
segment_read_batch(struct mamori_spool *sp, const struct segment *s,
    uint64_t after, size_t max_bytes, struct mamori_buf *out, size_t *count,
    uint64_t *last_seq)
{
	char fn[SPOOL_NAME_LEN + 1];
	uint64_t seq, got_seq, off, base = 0, end = s->name + s->count;
	const uint8_t *p;
	uint8_t *grown;
	size_t pos = 0, avail = 0, n, used, want;
	ssize_t got;
	int fd = -1, r;

	if (sp->cursor.valid && sp->cursor.name == s->name &&
	    sp->cursor.seq <= after + 1 && sp->cursor.seq < end) {
		seq = sp->cursor.seq;
		off = sp->cursor.off;
	} else {
		seq = s->name;
		off = SPOOL_HEADER_LEN;
	}
	if ((r = segment_filename(s->name, fn, sizeof(fn))) != 0)
		goto out;
	if ((fd = openat(sp->dirfd, fn, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) < 0) {
		log_error("spool: open %s/%s: %s", sp->dir, fn,
		    strerror(errno));
		r = SPOOL_READ_DAMAGED;
		goto out;
	}
	while (seq < end) {
		r = pos < avail ? mamori_spool_record_decode(sp->rbuf + pos,
		    avail - pos, &p, &n, &used) : MAMORI_ERR_TRUNCATED;
		if (r == MAMORI_ERR_TRUNCATED && pos == 0 && avail > 0 &&
		    avail == sp->rbuf_cap && sp->rbuf_cap < SPOOL_READ_BUF) {
			/* A record larger than the buffer: grow it once. */
			if ((grown = realloc(sp->rbuf, SPOOL_READ_BUF)) == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			sp->rbuf = grown;
			sp->rbuf_cap = SPOOL_READ_BUF;
			avail = 0;
		}
		if (r == MAMORI_ERR_TRUNCATED && (pos > 0 || avail == 0)) {
			/* Refill from this record on. */
			want = s->bytes - off < sp->rbuf_cap ?
			    (size_t)(s->bytes - off) : sp->rbuf_cap;
			do
				got = pread(fd, sp->rbuf, want, (off_t)off);
			while (got < 0 && errno == EINTR);
			if (got <= 0) {
				r = SPOOL_READ_DAMAGED;
				goto out;
			}
			base = off;
			pos = 0;
			avail = (size_t)got;
			continue;
		}
		if (r != 0) {
			r = SPOOL_READ_DAMAGED;
			goto out;
		}
		if (seq > after) {
			if (event_seq(p, n, &got_seq, NULL) != 0 ||
			    got_seq != seq) {
				r = SPOOL_READ_DAMAGED;
				goto out;
			}
			if (out->len + 1 + varint_len(n) + n > max_bytes) {
				r = *count == 0 ? MAMORI_ERR_TOO_LARGE :
				    SPOOL_READ_FULL;
				goto out;
			}
			if ((r = batch_put(out, p, n)) != 0) {
				if (r == MAMORI_ERR_TOO_LARGE && *count > 0)
					r = SPOOL_READ_FULL;
				goto out;
			}
			(*count)++;
			*last_seq = seq;
		}
		pos += used;
		off = base + pos;
		seq++;
		sp->cursor.valid = 1;
		sp->cursor.name = s->name;
		sp->cursor.seq = seq;
		sp->cursor.off = off;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
mamori_spool_read(struct mamori_spool *sp, uint64_t after,
    size_t max_bytes, struct mamori_buf *out, size_t *count,
    uint64_t *last_seq)
{
	const struct segment *s;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	*count = 0;
	*last_seq = 0;
	if (sp->rbuf == NULL) {
		if ((sp->rbuf = malloc(SPOOL_READ_CHUNK)) == NULL)
			return MAMORI_ERR_ALLOC;
		sp->rbuf_cap = SPOOL_READ_CHUNK;
	}
	for (i = 0; i < sp->nseg; i++) {
		s = &sp->segs[i];
		if (s->count == 0 || s->name + s->count - 1 <= after)
			continue;
		r = segment_read_batch(sp, s, after, max_bytes, out, count,
		    last_seq);
		if (r == SPOOL_READ_FULL)
			break;
		if (r == SPOOL_READ_DAMAGED) {
			/* The read ends here; the loss is spooled after. */
			if ((r = segment_repair(sp, i)) != 0)
				goto out;
			break;
		}
		if (r != 0)
			goto out;
	}
	/* Nothing leaves the spool that a power loss could take back and
	 * let a later record reuse its number. */
	if (*count > 0 && *last_seq > sp->synced_seq &&
	    (r = mamori_spool_sync(sp)) != 0)
		goto out;
	r = 0;
out:
	return r;
}

static int spool_segment_open(const struct mamori_spool *sp, size_t i);

/* Deletes the oldest segments whose records are all acknowledged (the state
 * file already says so), except the open one. */
static int
drop_acked(struct mamori_spool *sp)
{
	uint64_t last;
	int dropped = 0, r;

	while (sp->nseg > 0) {
		last = sp->segs[0].name + sp->segs[0].count - 1;
		if (sp->segs[0].count == 0 || last > sp->acked ||
		    spool_segment_open(sp, 0))
			break;
		if ((r = segment_unlink(sp, sp->segs[0].name)) != 0)
			return r;
		segment_forget(sp, 0);
		dropped = 1;
	}
	return dropped ? dir_sync(sp) : 0;
}

/*
 * 1 when segment i is the one being written and has room: it stays even
 * when every record in it is acknowledged (the state file's mark skips
 * them), so a steady trickle of events does not create, fsync and delete a
 * segment file on every acknowledgement - that churn was most of the
 * agent's CPU under load.  It goes once it is full and another follows.
 */
static int
spool_segment_open(const struct mamori_spool *sp, size_t i)
{
	return i == sp->nseg - 1 && sp->wfd >= 0 &&
	    sp->segs[i].bytes < MAMORI_SPOOL_SEGMENT_BYTES;
}

int
mamori_spool_ack(struct mamori_spool *sp, uint64_t acked)
{
	int r;

	if (acked <= sp->acked)
		return 0;
	/* A number the spool never gave out: the peer is confused, and
	 * believing it would delete unsent records. */
	if (acked >= sp->next_seq)
		return MAMORI_ERR_INVALID;
	/*
	 * The state file must say "acknowledged" before records are deleted;
	 * while nothing is deleted, a stale value only means a few stored
	 * events are sent again after a crash (the server keeps each once),
	 * so it is written lazily - an fsync per acknowledgement was most of
	 * the agent's CPU under load.
	 */
	if (sp->nseg == 0 || sp->segs[0].count == 0 ||
	    sp->segs[0].name + sp->segs[0].count - 1 > acked ||
	    spool_segment_open(sp, 0)) {
		sp->acked = acked;
		sp->acked_unsaved = 1;
		return 0;
	}
	if ((r = state_save(sp, acked)) != 0)
		return r;
	sp->acked = acked;
	sp->acked_unsaved = 0;
	return drop_acked(sp);
}

void
mamori_spool_stats(const struct mamori_spool *sp,
    struct mamori_spool_stats *st)
{
	uint64_t first;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->next_seq = sp->next_seq;
	st->bytes = sp->bytes;
	st->lost = sp->lost;
	for (i = 0; i < sp->nseg; i++) {
		st->records += segment_unacked(&sp->segs[i], sp->acked,
		    &first);
		if (st->first_seq == 0)
			st->first_seq = first;
	}
}
