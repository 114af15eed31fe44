// SPDX-License-Identifier: GPL-2.0
/*
 * mkstream - write a qemu-vfio-pci edu migration stream, built with the
 * driver's own encoder (stream.c), for testing vfio-mig dump and load.
 *
 *   mkstream [--liveness N] [--factorial N] [--status N] [--irq-status N]
 *            [--dma-src N] [--dma-dst N] [--dma-count N] [--dma-cmd N]
 *            [--optional] [--no-end] FILE
 *
 * --optional adds an unknown optional record (type 0x00ff, 16 bytes) in
 * front of the register record; --no-end leaves the END record out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

static int put_record(FILE *f, u16 type, u16 flags, const void *payload,
		      u32 len)
{
	struct qvp_record_header rh;

	qvp_record_header_build(&rh, type, flags, payload, len);
	if (fwrite(&rh, sizeof(rh), 1, f) != 1)
		return -1;
	if (len && fwrite(payload, len, 1, f) != 1)
		return -1;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: mkstream [--liveness N] [--factorial N] [--status N] [--irq-status N]\n"
		"                [--dma-src N] [--dma-dst N] [--dma-count N] [--dma-cmd N]\n"
		"                [--optional] [--no-end] FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned int off;	/* in struct qvp_edu_regs */
		unsigned int size;
	} fields[] = {
		{ "--liveness", offsetof(struct qvp_edu_regs, liveness), 4 },
		{ "--factorial", offsetof(struct qvp_edu_regs, factorial), 4 },
		{ "--status", offsetof(struct qvp_edu_regs, status), 4 },
		{ "--irq-status", offsetof(struct qvp_edu_regs, irq_status), 4 },
		{ "--dma-src", offsetof(struct qvp_edu_regs, dma_src), 8 },
		{ "--dma-dst", offsetof(struct qvp_edu_regs, dma_dst), 8 },
		{ "--dma-count", offsetof(struct qvp_edu_regs, dma_count), 8 },
		{ "--dma-cmd", offsetof(struct qvp_edu_regs, dma_cmd), 8 },
	};
	struct qvp_stream_id id = {
		.vendor = 0x1234,
		.device = 0x11e8,
		.subsystem_vendor = 0x1af4,
		.subsystem_device = 0x1100,
		.revision = 0x10,
		.backend = QVP_BACKEND_EDU,
	};
	struct qvp_edu_regs regs;
	struct qvp_stream_header hdr;
	const char *file = NULL;
	bool optional = false, end = true;
	u8 extra[16];
	FILE *f;
	int i;

	memset(&regs, 0, sizeof(regs));
	for (i = 1; i < argc; i++) {
		unsigned int k;
		bool found = false;

		for (k = 0; k < ARRAY_SIZE(fields); k++) {
			unsigned long long v;
			char *end_p;
			u32 v32;
			u64 v64;

			if (strcmp(argv[i], fields[k].name))
				continue;
			if (i + 1 >= argc)
				return usage();
			v = strtoull(argv[++i], &end_p, 0);
			if (*end_p)
				return usage();
			if (fields[k].size == 4) {
				v32 = cpu_to_le32((u32)v);
				memcpy((u8 *)&regs + fields[k].off, &v32, 4);
			} else {
				v64 = cpu_to_le64((u64)v);
				memcpy((u8 *)&regs + fields[k].off, &v64, 8);
			}
			found = true;
		}
		if (found)
			continue;
		if (!strcmp(argv[i], "--optional"))
			optional = true;
		else if (!strcmp(argv[i], "--no-end"))
			end = false;
		else if (argv[i][0] == '-' || file)
			return usage();
		else
			file = argv[i];
	}
	if (!file)
		return usage();

	f = fopen(file, "wb");
	if (!f) {
		perror(file);
		return 1;
	}
	qvp_stream_header_build(&hdr, &id);
	for (i = 0; i < (int)sizeof(extra); i++)
		extra[i] = i;
	if (fwrite(&hdr, sizeof(hdr), 1, f) != 1 ||
	    (optional && put_record(f, 0x00ff, QVP_REC_F_OPTIONAL, extra,
				    sizeof(extra))) ||
	    put_record(f, QVP_REC_EDU_REGS, 0, &regs, sizeof(regs)) ||
	    (end && put_record(f, QVP_REC_END, 0, NULL, 0)) ||
	    fclose(f)) {
		perror(file);
		return 1;
	}
	return 0;
}
