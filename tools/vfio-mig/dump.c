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

static const char *backend_name(unsigned int b)
{
	switch (b) {
	case QVP_BACKEND_EDU:
		return "edu";
	case QVP_BACKEND_IVSHMEM:
		return "ivshmem";
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
		json_hex(j, "reserved0", get32(h + 20), 8);
		json_hex(j, "reserved1", get32(h + 24), 8);
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
	if (get32(h + 20) || get32(h + 24))
		problem(x, 20, "reserved header fields are not zero");
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

static void dump_records(struct dump *x)
{
	struct json *j = x->j;
	size_t off = HDR_SIZE;
	uint8_t backend = x->d[17];

	if (j)
		json_arr_open(j, "records");
	for (;;) {
		const uint8_t *r = x->d + off;
		uint16_t type, flags;
		uint32_t len, crc, want;
		const char *name;
		char nbuf[32];
		bool crc_ok, known, is_end;

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
		type = get16(r);
		flags = get16(r + 2);
		len = get32(r + 4);
		crc = get32(r + 8);
		name = rec_name(type, nbuf, sizeof(nbuf));
		is_end = type == QVP_REC_END;
		known = is_end || type == QVP_REC_EDU_REGS;

		if (len > x->len - off - RECHDR_SIZE) {
			out(x, "record @%zu: %s type 0x%04x flags 0x%04x length %u\n",
			    off, name, type, flags, len);
			if (j) {
				json_record_open(j, off, type, name, flags, len);
				json_bool(j, "truncated", true);
				json_obj_close(j);
			}
			problem(x, off,
				"record at offset %zu (%s) claims %u payload bytes but only %zu remain (truncated stream or corrupt length)",
				off, name, len, x->len - off - RECHDR_SIZE);
			break;
		}
		want = qvp_crc32(qvp_crc32(0, r, REC_CRC_LEN), r + RECHDR_SIZE,
				 len);
		crc_ok = crc == want;
		x->records++;

		out(x, "record @%zu: %s type 0x%04x flags 0x%04x%s length %u crc 0x%08x %s\n",
		    off, name, type, flags,
		    flags & QVP_REC_F_OPTIONAL ? " (OPTIONAL)" : "", len, crc,
		    crc_ok ? "ok" : "BAD");
		if (j) {
			json_record_open(j, off, type, name, flags, len);
			json_bool(j, "optional", flags & QVP_REC_F_OPTIONAL);
			json_hex(j, "crc", crc, 8);
			json_bool(j, "crc_ok", crc_ok);
		}
		if (type == QVP_REC_EDU_REGS && len == sizeof(struct qvp_edu_regs))
			dump_edu_regs(x, r + RECHDR_SIZE);
		if (j)
			json_obj_close(j);

		if (!crc_ok)
			problem(x, off,
				"record at offset %zu (%s): checksum mismatch: stored 0x%08x, computed 0x%08x",
				off, name, crc, want);
		if (flags & ~QVP_REC_F_KNOWN)
			problem(x, off + 2,
				"record at offset %zu (%s): unknown flags 0x%04x",
				off, name, flags);
		if (is_end && len)
			problem(x, off + 4,
				"END record at offset %zu has length %u, expected 0",
				off, len);
		if (type == QVP_REC_EDU_REGS) {
			if (len != sizeof(struct qvp_edu_regs))
				problem(x, off + 4,
					"EDU_REGS record at offset %zu has length %u, expected %zu",
					off, len, sizeof(struct qvp_edu_regs));
			if (backend != QVP_BACKEND_EDU)
				problem(x, off,
					"EDU_REGS record at offset %zu in a stream for backend %u (%s)",
					off, backend, backend_name(backend));
			else if (get32(r + RECHDR_SIZE + 8) & ~0x80U)
				problem(x, off + RECHDR_SIZE + 8,
					"EDU_REGS status has bits other than IRQFACT (0x80); the driver refuses it");
		}
		if (!known) {
			if (flags & QVP_REC_F_OPTIONAL) {
				out(x, "  (unknown optional record: a reader skips it)\n");
				if (len > QVP_OPTIONAL_REC_MAX)
					problem(x, off + 4,
						"optional record at offset %zu is longer than %u bytes",
						off, QVP_OPTIONAL_REC_MAX);
			} else {
				problem(x, off,
					"record at offset %zu: unknown mandatory record type 0x%04x",
					off, type);
			}
		}

		off += RECHDR_SIZE + len;
		if (is_end) {
			if (off < x->len)
				problem(x, off,
					"%zu bytes of data after the END record (at offset %zu)",
					x->len - off, off);
			break;
		}
	}
	if (j)
		json_arr_close(j);
}

/* The driver's own parser, fed the whole stream: its verdict. */
static void parser_check(struct dump *x)
{
	static uint8_t buf[65536];
	static const struct qvp_rec_desc edu_descs[] = {
		{ QVP_REC_EDU_REGS, sizeof(struct qvp_edu_regs),
		  sizeof(struct qvp_edu_regs) },
	};
	const uint8_t *h = x->d;
	struct qvp_stream_id id = {
		.vendor = get16(h + 8),
		.device = get16(h + 10),
		.subsystem_vendor = get16(h + 12),
		.subsystem_device = get16(h + 14),
		.revision = h[16],
		.backend = h[17],
	};
	struct qvp_parser p;
	size_t used, off = 0;
	int ret = 0;

	qvp_parser_init(&p, &id, edu_descs,
			id.backend == QVP_BACKEND_EDU ? 1 : 0, buf, sizeof(buf));
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
		err_msg("%s decodes as a complete qemu-vfio-pci stream, so the device refused it for another reason (another device model or PCI identity, or a register value it cannot load): see dmesg",
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
