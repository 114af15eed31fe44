// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig dump: decode a qemu-vfio-pci migration stream from a file.
 *
 * A walker of our own prints every field and keeps going past a bad
 * checksum where the framing still holds, so that one dump shows as much
 * as possible; the stream parser shared with the driver (stream.c) then
 * gives the verdict the driver would give.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-mig.h"
#include "records.h"
#include "stream.h"

#define HDR_SIZE	sizeof(struct qvp_stream_header)
#define RECHDR_SIZE	sizeof(struct qvp_record_header)
#define HDR_CRC_LEN	offsetof(struct qvp_stream_header, crc)
#define REC_CRC_LEN	offsetof(struct qvp_record_header, crc)

struct dump {
	const uint8_t *d;
	size_t len;
	const char *name;
	bool text;		/* human output on stdout */
	struct json *j;		/* JSON output, or NULL */
	bool failed;
	uint64_t err_off;
	char err[256];
	unsigned int records;
	uint64_t seed;		/* the header's, keys the bulk checks */

	/* ivshmem: what the driver's loader would have seen so far */
	bool ivs_config, ivs_regs;
	uint64_t ivs_mem_size;
	struct ivs_run {
		uint64_t offset;
		uint64_t len;
	} *ivs_runs;		/* memory that MEM records carried */
	size_t ivs_nr_runs, ivs_cap_runs;
	bool ivs_nomem;		/* ivs_runs could not grow */
};

static void out(struct dump *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out(struct dump *x, const char *fmt, ...)
{
	va_list ap;

	if (!x->text)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* Record a problem; only the first one is the verdict. */
static void problem(struct dump *x, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct dump *x, uint64_t off, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out(x, "  !! offset %llu: %s\n", (unsigned long long)off, msg);
	if (x->failed)
		return;
	x->failed = true;
	x->err_off = off;
	snprintf(x->err, sizeof(x->err), "%s", msg);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/*
 * The record types of each backend (records.c).  The parser check uses
 * them, the walker knows types by them.
 */
static const struct {
	uint8_t backend;
	const struct qvp_rec_desc *descs;
	unsigned int nr_descs;
} backend_descs[] = {
	{ QVP_BACKEND_EDU, qvp_edu_records, QVP_EDU_NR_RECORDS },
	{ QVP_BACKEND_IVSHMEM, qvp_ivshmem_records, QVP_IVSHMEM_NR_RECORDS },
	{ QVP_BACKEND_IGBVF, qvp_igbvf_records, QVP_IGBVF_NR_RECORDS },
};

/* The descriptor of @type in any backend, and that backend. */
static const struct qvp_rec_desc *find_desc(uint16_t type, uint8_t *backend)
{
	const struct qvp_rec_desc *d;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(backend_descs); i++) {
		d = qvp_rec_desc_find(backend_descs[i].descs,
				      backend_descs[i].nr_descs, type);
		if (d) {
			*backend = backend_descs[i].backend;
			return d;
		}
	}
	return NULL;
}

static const char *backend_name(unsigned int b)
{
	switch (b) {
	case QVP_BACKEND_EDU:
		return "edu";
	case QVP_BACKEND_IVSHMEM:
		return "ivshmem";
	case QVP_BACKEND_IGBVF:
		return "igbvf";
	default:
		return "unknown";
	}
}

static const char *rec_name(uint16_t type, char *buf, size_t len)
{
	switch (type) {
	case QVP_REC_END:
		return "END";
	case QVP_REC_EDU_REGS:
		return "EDU_REGS";
	case QVP_REC_IVSHMEM_CONFIG:
		return "IVSHMEM_CONFIG";
	case QVP_REC_IVSHMEM_MEM:
		return "IVSHMEM_MEM";
	case QVP_REC_IVSHMEM_REGS:
		return "IVSHMEM_REGS";
	case QVP_REC_IGBVF_REGS:
		return "IGBVF_REGS";
	case QVP_REC_IGBVF_PF:
		return "IGBVF_PF";
	default:
		snprintf(buf, len, "UNKNOWN_0x%04x", type);
		return buf;
	}
}

/* Returns false if the header is too broken to go on. */
static bool dump_header(struct dump *x)
{
	const uint8_t *h = x->d;
	uint32_t magic, crc, want;
	uint16_t version, hlen, flags;
	struct json *j = x->j;

	if (x->len < HDR_SIZE) {
		problem(x, x->len,
			"stream ends inside the %zu-byte stream header (file has %zu bytes)",
			HDR_SIZE, x->len);
		return false;
	}
	magic = get32(h);
	version = get16(h + 4);
	hlen = get16(h + 6);
	flags = get16(h + 18);
	crc = get32(h + 28);
	want = qvp_crc32(0, h, HDR_CRC_LEN);
	x->seed = get64(h + 20);

	if (j) {
		json_obj_open(j, "header");
		json_u64(j, "offset", 0);
		json_hex(j, "magic", magic, 8);
		json_u64(j, "version", version);
		json_u64(j, "header_len", hlen);
		json_hex(j, "vendor", get16(h + 8), 4);
		json_hex(j, "device", get16(h + 10), 4);
		json_hex(j, "subsystem_vendor", get16(h + 12), 4);
		json_hex(j, "subsystem_device", get16(h + 14), 4);
		json_hex(j, "revision", h[16], 2);
		json_u64(j, "backend", h[17]);
		json_str(j, "backend_name", backend_name(h[17]));
		json_hex(j, "flags", flags, 4);
		json_hex(j, "seed", x->seed, 16);
		json_hex(j, "crc", crc, 8);
		json_bool(j, "crc_ok", crc == want);
		json_obj_close(j);
	}
	out(x, "header @0: magic 0x%08x%s version %u header_len %u crc 0x%08x %s\n",
	    magic, magic == QVP_STREAM_MAGIC ? " (QVPS)" : "", version, hlen,
	    crc, crc == want ? "ok" : "BAD");
	out(x, "  device %04x:%04x subsystem %04x:%04x revision 0x%02x backend %u (%s) flags 0x%04x\n",
	    get16(h + 8), get16(h + 10), get16(h + 12), get16(h + 14), h[16],
	    h[17], backend_name(h[17]), flags);
	out(x, "  seed 0x%016llx\n", (unsigned long long)x->seed);

	if (magic != QVP_STREAM_MAGIC) {
		problem(x, 0,
			"bad magic 0x%08x (expected 0x%08x, \"QVPS\"): not a qemu-vfio-pci stream",
			magic, QVP_STREAM_MAGIC);
		return false;
	}
	if (crc != want)
		problem(x, 0,
			"stream header checksum mismatch: stored 0x%08x, computed 0x%08x",
			crc, want);
	if (version != QVP_STREAM_VERSION) {
		problem(x, 4, "unsupported stream version %u (this tool knows %u)",
			version, QVP_STREAM_VERSION);
		return false;
	}
	if (hlen != HDR_SIZE) {
		problem(x, 6, "header_len is %u, expected %zu", hlen, HDR_SIZE);
		return false;
	}
	if (flags)
		problem(x, 18, "unknown stream header flags 0x%04x", flags);
	return true;
}

/* Open a record's JSON object with the fields every record has. */
static void json_record_open(struct json *j, size_t off, uint16_t type,
			     const char *name, uint16_t flags, uint32_t len)
{
	json_obj_open(j, NULL);
	json_u64(j, "offset", off);
	json_hex(j, "type", type, 4);
	json_str(j, "type_name", name);
	json_hex(j, "flags", flags, 4);
	json_u64(j, "length", len);
}

/*
 * An igbvf register record: each queue pair's rings (base, length in
 * descriptors, head, tail, enabled), then the interrupt registers.
 */
static void dump_igbvf_regs(struct dump *x, const uint8_t *p)
{
	static const char * const irq[] = {
		"eims", "eiac", "eiam", "eitr0", "eitr1", "eitr2", "ivar0",
		"ivar_misc", "psrtype",
	};
	struct json *j = x->j;
	unsigned int n, i;

	if (j)
		json_obj_open(j, "igbvf_regs");
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		const uint8_t *q = p + n * sizeof(struct qvp_igbvf_queue);
		/* rdbal rdbah rdlen srrctl rdh rdt rxdctl ... (uapi order) */
		uint64_t rx = get32(q) | (uint64_t)get32(q + 4) << 32;
		uint64_t tx = get32(q + 32) | (uint64_t)get32(q + 36) << 32;
		uint32_t rdlen = get32(q + 8), tdlen = get32(q + 40);

		out(x, "  queue %u rx: base 0x%llx, %u descriptors, head %u, tail %u%s\n",
		    n, (unsigned long long)rx, rdlen / 16, get32(q + 16),
		    get32(q + 20), get32(q + 24) & 0x02000000 ? ", enabled" : "");
		out(x, "  queue %u tx: base 0x%llx, %u descriptors, head %u, tail %u%s\n",
		    n, (unsigned long long)tx, tdlen / 16, get32(q + 44),
		    get32(q + 48), get32(q + 52) & 0x02000000 ? ", enabled" : "");
		if (j) {
			char name[16];

			snprintf(name, sizeof(name), "queue%u", n);
			json_obj_open(j, name);
			json_hex(j, "rx_base", rx, 16);
			json_u64(j, "rx_len", rdlen);
			json_u64(j, "rx_head", get32(q + 16));
			json_u64(j, "rx_tail", get32(q + 20));
			json_hex(j, "rxdctl", get32(q + 24), 8);
			json_hex(j, "tx_base", tx, 16);
			json_u64(j, "tx_len", tdlen);
			json_u64(j, "tx_head", get32(q + 44));
			json_u64(j, "tx_tail", get32(q + 48));
			json_hex(j, "txdctl", get32(q + 52), 8);
			json_obj_close(j);
		}
	}
	p += QVP_IGBVF_QUEUES * sizeof(struct qvp_igbvf_queue);
	for (i = 0; i < ARRAY_SIZE(irq); i++) {
		if (j)
			json_hex(j, irq[i], get32(p + 4 * i), 8);
		out(x, "  %-9s 0x%08x\n", irq[i], get32(p + 4 * i));
	}
	/* flags at 36, the mailbox memory at 40, the request at 104 */
	out(x, "  mailbox word 0 0x%08x", get32(p + 40));
	if (get32(p + 36) & QVP_IGBVF_REGS_REQ)
		out(x, ", request in flight 0x%08x", get32(p + 104));
	out(x, "\n");
	if (j) {
		json_hex(j, "mbx0", get32(p + 40), 8);
		json_bool(j, "req_in_flight",
			  get32(p + 36) & QVP_IGBVF_REGS_REQ);
	}
	if (j)
		json_obj_close(j);
}

/* What the PF holds for the VF, as the destination will ask for it. */
static void dump_igbvf_pf(struct dump *x, const uint8_t *p)
{
	uint32_t flags = get32(p);
	unsigned int nr_mc = get16(p + 10), nr_vlan = get16(p + 12);
	unsigned int nr_uc = get16(p + 14), i;
	struct json *j = x->j;

	out(x, "  flags 0x%x:%s%s%s%s%s%s\n", flags,
	    flags & QVP_IGBVF_PF_RESET ? " RESET" : " (no reset handshake)",
	    flags & QVP_IGBVF_PF_MAC ? " MAC" : "",
	    flags & QVP_IGBVF_PF_MAC_PF ? " MAC_FROM_PF" : "",
	    flags & QVP_IGBVF_PF_MC ? " MULTICAST" : "",
	    flags & QVP_IGBVF_PF_LPE ? " LPE" : "",
	    flags & QVP_IGBVF_PF_PROMISC ? " PROMISC" : "");
	out(x, "  mac %02x:%02x:%02x:%02x:%02x:%02x, %u multicast hashes, max frame %u, promisc 0x%x\n",
	    p[4], p[5], p[6], p[7], p[8], p[9], nr_mc, get32(p + 16),
	    get32(p + 20));
	out(x, "  vlans:");
	for (i = 0; i < nr_vlan && i < QVP_IGBVF_VLAN_MAX; i++)
		out(x, " %u", get16(p + 84 + 2 * i));
	out(x, "%s\n", nr_vlan ? "" : " none");
	out(x, "  mac filters:");
	for (i = 0; i < nr_uc && i < QVP_IGBVF_UC_MAX; i++) {
		const uint8_t *m = p + 148 + 6 * i;

		out(x, " %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		    m[3], m[4], m[5]);
	}
	out(x, "%s\n", nr_uc ? "" : " none");
	if (j) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 p[4], p[5], p[6], p[7], p[8], p[9]);
		json_obj_open(j, "igbvf_pf");
		json_hex(j, "flags", flags, 8);
		json_str(j, "mac", mac);
		json_u64(j, "nr_mc", nr_mc);
		json_u64(j, "nr_vlan", nr_vlan);
		json_u64(j, "nr_uc", nr_uc);
		json_u64(j, "max_frame", get32(p + 16));
		json_hex(j, "promisc", get32(p + 20), 8);
		json_obj_close(j);
	}
}

static void dump_edu_regs(struct dump *x, const uint8_t *p)
{
	static const char * const names32[] = {
		"liveness", "factorial", "status", "irq_status",
	};
	static const char * const names64[] = {
		"dma_src", "dma_dst", "dma_count", "dma_cmd",
	};
	struct json *j = x->j;
	unsigned int i;
	uint32_t v;

	if (j)
		json_obj_open(j, "edu_regs");
	for (i = 0; i < 4; i++) {
		v = get32(p + 4 * i);
		if (j)
			json_hex(j, names32[i], v, 8);
		out(x, "  %-11s 0x%08x", names32[i], v);
		if (i == 1)
			out(x, " (%u)", v);
		if (i == 2)
			out(x, "%s%s", v & 0x80 ? " (IRQFACT: interrupt on factorial done)" : "",
			    v & 0x01 ? " (COMPUTING: should never be saved)" : "");
		out(x, "\n");
	}
	for (i = 0; i < 4; i++) {
		uint64_t w = get64(p + 16 + 8 * i);

		if (j)
			json_hex(j, names64[i], w, 16);
		out(x, "  %-11s 0x%016llx\n", names64[i], (unsigned long long)w);
	}
	if (j)
		json_obj_close(j);
}

static void dump_ivs_config(struct dump *x, const uint8_t *p)
{
	uint64_t size = get64(p), rsv = get64(p + 8);
	struct json *j = x->j;

	if (j) {
		json_obj_open(j, "ivshmem_config");
		json_u64(j, "mem_size", size);
		json_hex(j, "reserved", rsv, 16);
		json_obj_close(j);
	}
	out(x, "  %-11s 0x%016llx (%llu bytes)\n", "mem_size",
	    (unsigned long long)size, (unsigned long long)size);
	if (rsv)
		out(x, "  %-11s 0x%016llx\n", "reserved",
		    (unsigned long long)rsv);
}

static void dump_ivs_regs(struct dump *x, const uint8_t *p)
{
	struct json *j = x->j;

	if (j) {
		json_obj_open(j, "ivshmem_regs");
		json_hex(j, "intr_mask", get32(p), 8);
		json_hex(j, "intr_status", get32(p + 4), 8);
		json_obj_close(j);
	}
	out(x, "  %-11s 0x%08x\n", "intr_mask", get32(p));
	out(x, "  %-11s 0x%08x\n", "intr_status", get32(p + 4));
}

/* A record as the walker sees it. */
struct rec {
	size_t off;		/* in the stream */
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	const char *name;
	const uint8_t *payload;
	/* a bulk record of whole words: */
	bool bulk_ok;
	uint64_t mem_off;	/* its head's offset */
	uint32_t data_len;
	uint64_t check;		/* as stored */
	uint64_t computed;	/* from the data and the header's seed */
};

static void dump_bulk(struct dump *x, const struct rec *r)
{
	bool ok = r->check == r->computed;
	struct json *j = x->j;

	if (j) {
		json_obj_open(j, "bulk_data");
		json_hex(j, "offset", r->mem_off, 16);
		json_u64(j, "length", r->data_len);
		json_hex(j, "check", r->check, 16);
		json_bool(j, "check_ok", ok);
		json_obj_close(j);
	}
	out(x, "  %-11s 0x%016llx\n", "offset",
	    (unsigned long long)r->mem_off);
	out(x, "  %-11s %u bytes\n", "data", r->data_len);
	out(x, "  %-11s 0x%016llx %s\n", "check",
	    (unsigned long long)r->check, ok ? "ok" : "BAD");
}

static const char *flag_names(uint16_t flags)
{
	switch (flags & QVP_REC_F_KNOWN) {
	case QVP_REC_F_OPTIONAL:
		return " (OPTIONAL)";
	case QVP_REC_F_BULK:
		return " (BULK)";
	case QVP_REC_F_OPTIONAL | QVP_REC_F_BULK:
		return " (OPTIONAL|BULK)";
	default:
		return "";
	}
}

/* Remember that @len bytes of the memory at @offset were sent. */
static void ivs_add_run(struct dump *x, uint64_t offset, uint64_t len)
{
	struct ivs_run *runs;
	size_t cap;

	if (x->ivs_nr_runs == x->ivs_cap_runs) {
		cap = x->ivs_cap_runs ? 2 * x->ivs_cap_runs : 64;
		runs = realloc(x->ivs_runs, cap * sizeof(*runs));
		if (!runs) {
			x->ivs_nomem = true;
			return;
		}
		x->ivs_runs = runs;
		x->ivs_cap_runs = cap;
	}
	x->ivs_runs[x->ivs_nr_runs].offset = offset;
	x->ivs_runs[x->ivs_nr_runs].len = len;
	x->ivs_nr_runs++;
}

static int ivs_run_cmp(const void *a, const void *b)
{
	const struct ivs_run *ra = a, *rb = b;

	return ra->offset < rb->offset ? -1 : ra->offset > rb->offset;
}

/*
 * The rules of an ivshmem stream (include/uapi/linux/qemu_vfio_pci.h)
 * that the driver applies as it loads one, record by record.
 */
static void ivs_record(struct dump *x, const struct rec *r)
{
	uint64_t size = x->ivs_mem_size, o = r->mem_off;
	uint32_t n = r->data_len;

	switch (r->type) {
	case QVP_REC_IVSHMEM_CONFIG:
		if (x->ivs_config) {
			problem(x, r->off, "second IVSHMEM_CONFIG record at offset %zu",
				r->off);
			return;
		}
		x->ivs_config = true;
		if (r->len != sizeof(struct qvp_ivshmem_config))
			return;
		x->ivs_mem_size = get64(r->payload);
		if (get64(r->payload + 8))
			problem(x, r->off + RECHDR_SIZE + 8,
				"IVSHMEM_CONFIG record at offset %zu has reserved bits set",
				r->off);
		return;
	case QVP_REC_IVSHMEM_MEM:
	case QVP_REC_IVSHMEM_REGS:
		if (!x->ivs_config) {
			problem(x, r->off,
				"%s record at offset %zu comes before the IVSHMEM_CONFIG record",
				r->name, r->off);
			return;
		}
		if (x->ivs_regs) {
			problem(x, r->off,
				"%s record at offset %zu comes after the IVSHMEM_REGS record",
				r->name, r->off);
			return;
		}
		break;
	default:
		return;
	}
	if (r->type == QVP_REC_IVSHMEM_REGS) {
		x->ivs_regs = true;
		return;
	}
	if (!r->bulk_ok || n > QVP_IVSHMEM_CHUNK)
		return;
	if (o % QVP_IVSHMEM_PAGE || o >= size) {
		problem(x, r->off + RECHDR_SIZE,
			"IVSHMEM_MEM record at offset %zu: memory offset 0x%llx is not a page of the %llu-byte memory",
			r->off, (unsigned long long)o,
			(unsigned long long)size);
		return;
	}
	if (n > size - o || (n % QVP_IVSHMEM_PAGE && n != size - o)) {
		problem(x, r->off + 4,
			"IVSHMEM_MEM record at offset %zu: %u bytes at 0x%llx are not whole pages of the %llu-byte memory",
			r->off, n, (unsigned long long)o,
			(unsigned long long)size);
		return;
	}
	ivs_add_run(x, o, n);
}

/* At the END record: the stream must have carried all of the state. */
static void ivs_end(struct dump *x, size_t off)
{
	uint64_t covered = 0;
	size_t i;

	if (!x->ivs_config) {
		problem(x, off, "stream has no IVSHMEM_CONFIG record");
		return;
	}
	if (!x->ivs_regs) {
		problem(x, off, "stream has no IVSHMEM_REGS record");
		return;
	}
	if (x->ivs_nomem) {
		out(x, "  (out of memory: whether every page was sent is not checked)\n");
		return;
	}
	if (x->ivs_nr_runs)
		qsort(x->ivs_runs, x->ivs_nr_runs, sizeof(*x->ivs_runs),
		      ivs_run_cmp);
	for (i = 0; i < x->ivs_nr_runs && covered < x->ivs_mem_size; i++) {
		if (x->ivs_runs[i].offset > covered)
			break;
		if (x->ivs_runs[i].offset + x->ivs_runs[i].len > covered)
			covered = x->ivs_runs[i].offset + x->ivs_runs[i].len;
	}
	if (covered < x->ivs_mem_size)
		problem(x, off,
			"stream lacks the memory page at 0x%llx of the %llu-byte memory",
			(unsigned long long)covered,
			(unsigned long long)x->ivs_mem_size);
}

/* Record lengths of the ivshmem types, and the backend they belong to. */
static void ivs_check_shape(struct dump *x, const struct rec *r,
			    const struct qvp_rec_desc *d, uint8_t backend)
{
	if (!d->bulk && r->len != d->min_len)
		problem(x, r->off + 4,
			"%s record at offset %zu has length %u, expected %u",
			r->name, r->off, r->len, d->min_len);
	if (d->bulk && r->bulk_ok && r->len > d->max_len)
		problem(x, r->off + 4,
			"%s record at offset %zu has %u data bytes, more than %u",
			r->name, r->off, r->data_len,
			d->max_len - (uint32_t)QVP_BULK_OVERHEAD);
	if (backend != QVP_BACKEND_IVSHMEM)
		problem(x, r->off,
			"%s record at offset %zu in a stream for backend %u (%s)",
			r->name, r->off, backend, backend_name(backend));
}

static void dump_records(struct dump *x)
{
	struct json *j = x->j;
	size_t off = HDR_SIZE;
	uint8_t backend = x->d[17];

	if (j)
		json_arr_open(j, "records");
	for (;;) {
		const uint8_t *p = x->d + off;
		const struct qvp_rec_desc *desc;
		struct rec r = { .off = off };
		uint32_t crc, want, covered;
		char nbuf[32];
		bool crc_ok, known, is_end, bulk;
		uint8_t rec_backend = 0;

		if (off == x->len) {
			problem(x, off,
				"stream ends at offset %zu without an END record (truncated?)",
				off);
			break;
		}
		if (x->len - off < RECHDR_SIZE) {
			problem(x, off,
				"stream ends inside a record header at offset %zu (%zu of %zu bytes)",
				off, x->len - off, RECHDR_SIZE);
			break;
		}
		r.type = get16(p);
		r.flags = get16(p + 2);
		r.len = get32(p + 4);
		r.payload = p + RECHDR_SIZE;
		crc = get32(p + 8);
		r.name = rec_name(r.type, nbuf, sizeof(nbuf));
		is_end = r.type == QVP_REC_END;
		desc = find_desc(r.type, &rec_backend);
		known = is_end || desc;
		bulk = r.flags & QVP_REC_F_BULK;

		if (r.len > x->len - off - RECHDR_SIZE) {
			out(x, "record @%zu: %s type 0x%04x flags 0x%04x length %u\n",
			    off, r.name, r.type, r.flags, r.len);
			if (j) {
				json_record_open(j, off, r.type, r.name,
						 r.flags, r.len);
				json_bool(j, "truncated", true);
				json_obj_close(j);
			}
			problem(x, off,
				"record at offset %zu (%s) claims %u payload bytes but only %zu remain (truncated stream or corrupt length)",
				off, r.name, r.len, x->len - off - RECHDR_SIZE);
			break;
		}
		/* A bulk record's CRC covers its head, not its data. */
		covered = r.len;
		if (bulk && covered > sizeof(struct qvp_bulk_head))
			covered = sizeof(struct qvp_bulk_head);
		want = qvp_crc32(qvp_crc32(0, p, REC_CRC_LEN), r.payload,
				 covered);
		crc_ok = crc == want;
		r.bulk_ok = bulk && r.len >= QVP_BULK_OVERHEAD + 8 &&
			    !(r.len % 8);
		if (r.bulk_ok) {
			r.mem_off = get64(r.payload);
			r.data_len = r.len - QVP_BULK_OVERHEAD;
			r.check = get64(r.payload + r.len - 8);
			r.computed = qvp_bulk_check(x->seed, r.mem_off,
						    r.payload + 8, r.data_len);
		}
		x->records++;

		out(x, "record @%zu: %s type 0x%04x flags 0x%04x%s length %u crc 0x%08x %s\n",
		    off, r.name, r.type, r.flags, flag_names(r.flags), r.len,
		    crc, crc_ok ? "ok" : "BAD");
		if (j) {
			json_record_open(j, off, r.type, r.name, r.flags,
					 r.len);
			json_bool(j, "optional", r.flags & QVP_REC_F_OPTIONAL);
			json_bool(j, "bulk", bulk);
			json_hex(j, "crc", crc, 8);
			json_bool(j, "crc_ok", crc_ok);
		}
		if (r.type == QVP_REC_EDU_REGS &&
		    r.len == sizeof(struct qvp_edu_regs))
			dump_edu_regs(x, r.payload);
		if (r.type == QVP_REC_IVSHMEM_CONFIG && !bulk &&
		    r.len == sizeof(struct qvp_ivshmem_config))
			dump_ivs_config(x, r.payload);
		if (r.type == QVP_REC_IVSHMEM_REGS && !bulk &&
		    r.len == sizeof(struct qvp_ivshmem_regs))
			dump_ivs_regs(x, r.payload);
		if (r.type == QVP_REC_IGBVF_REGS &&
		    r.len == sizeof(struct qvp_igbvf_regs))
			dump_igbvf_regs(x, r.payload);
		if (r.type == QVP_REC_IGBVF_PF &&
		    r.len == sizeof(struct qvp_igbvf_pf))
			dump_igbvf_pf(x, r.payload);
		if (r.bulk_ok)
			dump_bulk(x, &r);
		if (j)
			json_obj_close(j);

		if (!crc_ok)
			problem(x, off,
				"record at offset %zu (%s): checksum mismatch: stored 0x%08x, computed 0x%08x",
				off, r.name, crc, want);
		if (r.flags & ~QVP_REC_F_KNOWN)
			problem(x, off + 2,
				"record at offset %zu (%s): unknown flags 0x%04x",
				off, r.name, r.flags);
		/* The parser's rules for the bulk flag, in its words. */
		if (bulk && (r.flags & QVP_REC_F_OPTIONAL))
			problem(x, off + 2,
				"record at offset %zu (%s): bulk record marked optional",
				off, r.name);
		if (is_end && bulk)
			problem(x, off + 2,
				"record at offset %zu (%s): END record marked bulk",
				off, r.name);
		if (desc && bulk != desc->bulk)
			problem(x, off + 2, "record at offset %zu (%s): %s",
				off, r.name,
				bulk ? "bulk flag on a plain record type" :
				"bulk record type without the bulk flag");
		if (bulk && !r.bulk_ok)
			problem(x, off + 4,
				"record at offset %zu (%s): bulk record data is not whole 64-bit words (length %u)",
				off, r.name, r.len);
		if (r.bulk_ok && r.check != r.computed)
			problem(x, off,
				"record at offset %zu (%s): bulk data check mismatch: stored 0x%016llx, computed 0x%016llx",
				off, r.name, (unsigned long long)r.check,
				(unsigned long long)r.computed);
		if (is_end && r.len)
			problem(x, off + 4,
				"END record at offset %zu has length %u, expected 0",
				off, r.len);
		if (r.type == QVP_REC_EDU_REGS) {
			if (r.len != sizeof(struct qvp_edu_regs))
				problem(x, off + 4,
					"EDU_REGS record at offset %zu has length %u, expected %zu",
					off, r.len, sizeof(struct qvp_edu_regs));
			if (backend != QVP_BACKEND_EDU)
				problem(x, off,
					"EDU_REGS record at offset %zu in a stream for backend %u (%s)",
					off, backend, backend_name(backend));
			else if (get32(r.payload + 8) & ~0x80U)
				problem(x, off + RECHDR_SIZE + 8,
					"EDU_REGS status has bits other than IRQFACT (0x80); the driver refuses it");
		}
		if (desc && rec_backend == QVP_BACKEND_IVSHMEM) {
			ivs_check_shape(x, &r, desc, backend);
			if (backend == QVP_BACKEND_IVSHMEM)
				ivs_record(x, &r);
		}
		if (!known) {
			if (r.flags & QVP_REC_F_OPTIONAL) {
				out(x, "  (unknown optional record: a reader skips it)\n");
				if (r.len > QVP_OPTIONAL_REC_MAX)
					problem(x, off + 4,
						"optional record at offset %zu is longer than %u bytes",
						off, QVP_OPTIONAL_REC_MAX);
			} else {
				problem(x, off,
					"record at offset %zu: unknown mandatory record type 0x%04x",
					off, r.type);
			}
		}

		off += RECHDR_SIZE + r.len;
		if (is_end) {
			if (backend == QVP_BACKEND_IVSHMEM)
				ivs_end(x, r.off);
			if (off < x->len)
				problem(x, off,
					"%zu bytes of data after the END record (at offset %zu)",
					x->len - off, off);
			break;
		}
	}
	if (j)
		json_arr_close(j);
	free(x->ivs_runs);
	x->ivs_runs = NULL;
	x->ivs_nr_runs = 0;
	x->ivs_cap_runs = 0;
}

/* The driver's own parser, fed the whole stream: its verdict. */
static void parser_check(struct dump *x)
{
	static uint8_t buf[65536];
	const uint8_t *h = x->d;
	struct qvp_stream_id id = {
		.vendor = get16(h + 8),
		.device = get16(h + 10),
		.subsystem_vendor = get16(h + 12),
		.subsystem_device = get16(h + 14),
		.revision = h[16],
		.backend = h[17],
	};
	const struct qvp_rec_desc *descs = NULL;
	unsigned int i, nr_descs = 0;
	struct qvp_parser p;
	size_t used, off = 0;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(backend_descs); i++) {
		if (backend_descs[i].backend == id.backend) {
			descs = backend_descs[i].descs;
			nr_descs = backend_descs[i].nr_descs;
		}
	}
	qvp_parser_init(&p, &id, descs, nr_descs, buf, sizeof(buf));
	while (off < x->len) {
		ret = qvp_parser_feed(&p, x->d + off, x->len - off, &used);
		off += used;
		if (ret < 0)
			break;
	}
	if (ret < 0)
		problem(x, p.err_offset, "stream parser: %s (%s) at byte %llu",
			p.why, errno_name(ret),
			(unsigned long long)p.err_offset);
	else if (!qvp_parser_done(&p))
		problem(x, x->len, "stream parser: stream incomplete after %zu bytes",
			x->len);
}

static bool decode(struct dump *x)
{
	if (dump_header(x)) {
		dump_records(x);
		if (!x->failed)
			parser_check(x);
	}
	return !x->failed;
}

bool stream_diagnose(const uint8_t *data, size_t len, const char *name)
{
	struct dump x = { .d = data, .len = len, .name = name };

	if (len < 4 || get32(data) != QVP_STREAM_MAGIC)
		return false;
	if (decode(&x)) {
		err_msg("%s decodes as a complete qemu-vfio-pci stream, so the device refused it for another reason (another device model or PCI identity, another memory size, or a register value it cannot load): see dmesg",
			name);
		return false;
	}
	err_msg("%s is not a valid stream: offset %llu: %s (see '%s dump %s')",
		name, (unsigned long long)x.err_off, x.err, prog, name);
	return true;
}

int cmd_dump(int argc, char **argv)
{
	const char *file = argv[0];
	struct vfio_buf buf;
	struct json j;
	struct dump x = { 0 };
	FILE *f;
	size_t n;

	(void)argc;
	vfio_buf_init(&buf);
	f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!f) {
		err_msg("cannot open %s: %s", file, strerror(errno));
		return EXIT_FAIL;
	}
	for (;;) {
		if (vfio_buf_reserve(&buf, 65536)) {
			err_msg("%s: out of memory", file);
			goto fail;
		}
		n = fread(buf.data + buf.len, 1, buf.cap - buf.len, f);
		buf.len += n;
		if (n)
			continue;
		if (ferror(f)) {
			err_msg("reading %s failed: %s", file, strerror(errno));
			goto fail;
		}
		break;
	}
	if (f != stdin)
		fclose(f);
	f = NULL;

	x.d = buf.data;
	x.len = buf.len;
	x.name = file;
	x.text = !opt.json;
	if (opt.json) {
		x.j = &j;
		json_begin(&j, stdout);
		json_str(&j, "file", file);
		json_u64(&j, "size", buf.len);
	} else {
		printf("stream %s: %zu bytes\n", file, buf.len);
	}

	decode(&x);

	if (opt.json) {
		json_bool(&j, "ok", !x.failed);
		json_u64(&j, "record_count", x.records);
		if (x.failed) {
			json_obj_open(&j, "error");
			json_u64(&j, "offset", x.err_off);
			json_str(&j, "message", x.err);
			json_obj_close(&j);
		}
		json_end(&j);
	} else if (!x.failed) {
		printf("stream OK: %u records including END, %zu bytes\n",
		       x.records, buf.len);
	}
	if (x.failed)
		err_msg("dump: %s: corrupt stream at offset %llu: %s", file,
			(unsigned long long)x.err_off, x.err);
	vfio_buf_free(&buf);
	return x.failed ? EXIT_FAIL : EXIT_OK;

fail:
	if (f && f != stdin)
		fclose(f);
	vfio_buf_free(&buf);
	return EXIT_FAIL;
}
