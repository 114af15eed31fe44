// SPDX-License-Identifier: GPL-2.0
/*
 * mkstream - write a qemu-vfio-pci migration stream, built with the
 * driver's own encoder (stream.c), for testing vfio-mig dump and load.
 *
 *   mkstream [--liveness N] [--factorial N] [--status N] [--irq-status N]
 *            [--dma-src N] [--dma-dst N] [--dma-count N] [--dma-cmd N]
 *            [--seed N] [--optional] [--no-end] FILE
 *   mkstream --ivshmem [--mem-size N] [--chunk N] [--intr-mask N]
 *            [--intr-status N] [--seed N] [--optional] [--no-end] FILE
 *
 * The first form writes an edu stream.  --ivshmem writes an ivshmem-plain
 * stream instead: the CONFIG record, the memory (--mem-size bytes, 8192
 * by default, filled with a fixed pattern) in MEM records of --chunk data
 * bytes (4096 by default; a multiple of 4096, at most 65536), the REGS
 * record.  --seed sets the stream's seed (0x0123456789abcdef by default,
 * so that the output is reproducible).  --optional adds an unknown
 * optional record (type 0x00ff, 16 bytes) in front of the first record;
 * --no-end leaves the END record out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qvp/edu.h>
#include <qvp/ivshmem.h>

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

/* The bulk record of @len bytes of @mem at @offset, checked with @seed. */
static int put_bulk(FILE *f, u64 seed, const u8 *mem, u64 offset, u32 len)
{
	struct qvp_record_header rh;
	struct qvp_bulk_head head;
	__le64 check;

	qvp_bulk_header_build(&rh, QVP_REC_IVSHMEM_MEM, &head, offset, len);
	check = cpu_to_le64(qvp_bulk_check(seed, offset, mem + offset, len));
	if (fwrite(&rh, sizeof(rh), 1, f) != 1 ||
	    fwrite(&head, sizeof(head), 1, f) != 1 ||
	    fwrite(mem + offset, len, 1, f) != 1 ||
	    fwrite(&check, sizeof(check), 1, f) != 1)
		return -1;
	return 0;
}

/* The ivshmem records: CONFIG, the memory in MEM records, REGS. */
static int put_ivshmem(FILE *f, u64 seed, u64 mem_size, u32 chunk,
		       u32 intr_mask, u32 intr_status)
{
	struct qvp_ivshmem_config cfg = {
		.mem_size = cpu_to_le64(mem_size),
	};
	struct qvp_ivshmem_regs regs = {
		.intr_mask = cpu_to_le32(intr_mask),
		.intr_status = cpu_to_le32(intr_status),
	};
	u64 i, n;
	u8 *mem;
	int ret = 0;

	mem = malloc(mem_size);
	if (!mem)
		return -1;
	for (i = 0; i < mem_size; i++)
		mem[i] = (u8)(i * 7 + (i >> 12));
	if (put_record(f, QVP_REC_IVSHMEM_CONFIG, 0, &cfg, sizeof(cfg)))
		ret = -1;
	for (i = 0; !ret && i < mem_size; i += n) {
		n = mem_size - i < chunk ? mem_size - i : chunk;
		ret = put_bulk(f, seed, mem, i, n);
	}
	if (!ret)
		ret = put_record(f, QVP_REC_IVSHMEM_REGS, 0, &regs,
				 sizeof(regs));
	free(mem);
	return ret;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: mkstream [--liveness N] [--factorial N] [--status N] [--irq-status N]\n"
		"                [--dma-src N] [--dma-dst N] [--dma-count N] [--dma-cmd N]\n"
		"                [--seed N] [--optional] [--no-end] FILE\n"
		"       mkstream --ivshmem [--mem-size N] [--chunk N] [--intr-mask N]\n"
		"                [--intr-status N] [--seed N] [--optional] [--no-end] FILE\n");
	return 2;
}

/* The number in argv[*i + 1]; false if there is none. */
static bool number_arg(int argc, char **argv, int *i, u64 *v)
{
	char *end;

	if (*i + 1 >= argc)
		return false;
	*v = strtoull(argv[++*i], &end, 0);
	return argv[*i][0] && !*end;
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
		.vendor = EDU_VENDOR,
		.device = EDU_DEVICE,
		.subsystem_vendor = 0x1af4,
		.subsystem_device = 0x1100,
		.revision = 0x10,
		.backend = QVP_BACKEND_EDU,
	};
	static const struct qvp_stream_id ivshmem_id = {
		.vendor = IVS_VENDOR,
		.device = IVS_DEVICE,
		.subsystem_vendor = 0x1af4,
		.subsystem_device = 0x1100,
		.revision = 0x01,
		.backend = QVP_BACKEND_IVSHMEM,
	};
	struct qvp_edu_regs regs;
	struct qvp_stream_header hdr;
	const char *file = NULL;
	bool optional = false, end = true, ivshmem = false;
	u64 seed = 0x0123456789abcdefULL, mem_size = 8192, chunk = 4096;
	u64 intr_mask = 0, intr_status = 0;
	u8 extra[16];
	FILE *f;
	int i, ret;

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
		if (!strcmp(argv[i], "--optional")) {
			optional = true;
		} else if (!strcmp(argv[i], "--no-end")) {
			end = false;
		} else if (!strcmp(argv[i], "--ivshmem")) {
			ivshmem = true;
		} else if (!strcmp(argv[i], "--seed")) {
			if (!number_arg(argc, argv, &i, &seed))
				return usage();
		} else if (!strcmp(argv[i], "--mem-size")) {
			if (!number_arg(argc, argv, &i, &mem_size))
				return usage();
		} else if (!strcmp(argv[i], "--chunk")) {
			if (!number_arg(argc, argv, &i, &chunk))
				return usage();
		} else if (!strcmp(argv[i], "--intr-mask")) {
			if (!number_arg(argc, argv, &i, &intr_mask))
				return usage();
		} else if (!strcmp(argv[i], "--intr-status")) {
			if (!number_arg(argc, argv, &i, &intr_status))
				return usage();
		} else if (argv[i][0] == '-' || file) {
			return usage();
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return usage();
	/* Whole pages; the memory of a BAR: at least 8 bytes, words. */
	if (!chunk || chunk % QVP_IVSHMEM_PAGE || chunk > QVP_IVSHMEM_CHUNK ||
	    mem_size < 8 || mem_size % 8 || mem_size > (1ULL << 32)) {
		fprintf(stderr, "mkstream: bad --chunk or --mem-size\n");
		return 2;
	}
	if (ivshmem)
		id = ivshmem_id;

	f = fopen(file, "wb");
	if (!f) {
		perror(file);
		return 1;
	}
	qvp_stream_header_build(&hdr, &id, seed);
	for (i = 0; i < (int)sizeof(extra); i++)
		extra[i] = i;
	ret = fwrite(&hdr, sizeof(hdr), 1, f) != 1;
	if (!ret && optional)
		ret = put_record(f, 0x00ff, QVP_REC_F_OPTIONAL, extra,
				 sizeof(extra));
	if (!ret && ivshmem)
		ret = put_ivshmem(f, seed, mem_size, chunk, intr_mask,
				  intr_status);
	else if (!ret)
		ret = put_record(f, QVP_REC_EDU_REGS, 0, &regs, sizeof(regs));
	if (!ret && end)
		ret = put_record(f, QVP_REC_END, 0, NULL, 0);
	if (fclose(f) || ret) {
		perror(file);
		return 1;
	}
	return 0;
}
