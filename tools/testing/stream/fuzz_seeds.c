// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the generated part of the stream parser's seed corpus: small,
 * complete streams of every backend, written with the encoder helpers of
 * stream.c.  The golden edu and igbvf streams join them as they are; the
 * golden ivshmem streams do not, as their 64 MiB would make every
 * execution slow, so the ivshmem seeds here are of small memories (the
 * parser does not know the memory size: the backend checks it).
 *
 * Usage: fuzz_seeds OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "stream.h"

#define SEED_MAX	(16 * 1024)
#define T_OPTIONAL	0x7f01	/* a type no backend knows */

struct seed {
	u8 bytes[SEED_MAX];
	size_t len;
	u64 seed;
};

static void put(struct seed *s, const void *p, size_t len)
{
	if (s->len + len > SEED_MAX) {
		fprintf(stderr, "fuzz_seeds: seed too large\n");
		exit(1);
	}
	memcpy(s->bytes + s->len, p, len);
	s->len += len;
}

static void start(struct seed *s, unsigned int be, u64 seed)
{
	struct qvp_stream_header h;

	s->len = 0;
	s->seed = seed;
	qvp_stream_header_build(&h, &fz_backends[be % 3].id, seed);
	put(s, &h, sizeof(h));
}

static void record(struct seed *s, u16 type, u16 flags, const void *payload,
		   u32 len)
{
	struct qvp_record_header rh;

	qvp_record_header_build(&rh, type, flags, payload, len);
	put(s, &rh, sizeof(rh));
	if (len)
		put(s, payload, len);
}

static void bulk(struct seed *s, u16 type, u64 offset, const u8 *data,
		 u32 len)
{
	struct qvp_record_header rh;
	u8 head[sizeof(struct qvp_bulk_head)];
	__le64 check = cpu_to_le64(qvp_bulk_check(s->seed, offset, data, len));

	qvp_bulk_header_build(&rh, type, head, offset, len);
	put(s, &rh, sizeof(rh));
	put(s, head, sizeof(head));
	put(s, data, len);
	put(s, &check, sizeof(check));
}

static void finish(struct seed *s, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	record(s, QVP_REC_END, 0, NULL, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->bytes, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Memory contents that are neither all zeros nor one byte repeated. */
static void fill(u8 *p, size_t len, unsigned int salt)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)(i * 7 + salt + (i >> 9));
}

static void ivshmem(struct seed *s, const char *dir, const char *name,
		    u64 seed, u32 mem_size, bool again, bool optional)
{
	static u8 mem[2 * QVP_IVSHMEM_PAGE];
	struct qvp_ivshmem_config cfg = { .mem_size = cpu_to_le64(mem_size) };
	struct qvp_ivshmem_regs regs = {
		.intr_mask = cpu_to_le32(1),
		.intr_status = cpu_to_le32(0),
	};
	u32 at, n;

	fill(mem, mem_size, 3);
	start(s, QVP_BACKEND_IVSHMEM, seed);
	record(s, QVP_REC_IVSHMEM_CONFIG, 0, &cfg, sizeof(cfg));
	if (optional)
		record(s, T_OPTIONAL, QVP_REC_F_OPTIONAL, "seed", 4);
	/* Runs of a page, as a PRE_COPY dirty pass may cut them. */
	for (at = 0; at < mem_size; at += n) {
		n = mem_size - at < QVP_IVSHMEM_PAGE ? mem_size - at :
		    QVP_IVSHMEM_PAGE;
		bulk(s, QVP_REC_IVSHMEM_MEM, at, mem + at, n);
	}
	if (again) {
		/* A PRE_COPY pass that sends a changed page again. */
		fill(mem + QVP_IVSHMEM_PAGE, QVP_IVSHMEM_PAGE, 11);
		bulk(s, QVP_REC_IVSHMEM_MEM, QVP_IVSHMEM_PAGE,
		     mem + QVP_IVSHMEM_PAGE, QVP_IVSHMEM_PAGE);
	}
	record(s, QVP_REC_IVSHMEM_REGS, 0, &regs, sizeof(regs));
	finish(s, dir, name);
}

int main(int argc, char **argv)
{
	static struct seed s;
	struct qvp_edu_regs edu = {
		.liveness = cpu_to_le32(0x676f6c64),
		.factorial = cpu_to_le32(3628800),
		.status = cpu_to_le32(0x80),
		.dma_src = cpu_to_le64(0x40000),
		.dma_count = cpu_to_le64(4096),
	};
	struct qvp_igbvf_regs vf_regs;
	struct qvp_igbvf_pf pf;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds OUTDIR\n");
		return 2;
	}

	start(&s, QVP_BACKEND_EDU, 0);
	record(&s, QVP_REC_EDU_REGS, 0, &edu, sizeof(edu));
	finish(&s, argv[1], "gen-edu.qvps");

	start(&s, QVP_BACKEND_EDU, 0x0123456789abcdefULL);
	record(&s, T_OPTIONAL, QVP_REC_F_OPTIONAL, &edu, 12);
	record(&s, QVP_REC_EDU_REGS, 0, &edu, sizeof(edu));
	finish(&s, argv[1], "gen-edu-optional.qvps");

	memset(&vf_regs, 0, sizeof(vf_regs));
	vf_regs.queue[0].rdlen = cpu_to_le32(4096);
	vf_regs.queue[0].rdt = cpu_to_le32(255);
	vf_regs.eims = cpu_to_le32(7);
	vf_regs.flags = cpu_to_le32(QVP_IGBVF_REGS_REQ);
	vf_regs.req[0] = cpu_to_le32(0x02);
	memset(&pf, 0, sizeof(pf));
	pf.flags = cpu_to_le32(QVP_IGBVF_PF_RESET | QVP_IGBVF_PF_MAC_PF |
			       QVP_IGBVF_PF_MC);
	memcpy(pf.mac, "\x52\x54\x00\x12\x34\x56", 6);
	pf.nr_mc = cpu_to_le16(2);
	pf.mc[0] = cpu_to_le16(0x0123);
	pf.mc[1] = cpu_to_le16(0x0456);
	start(&s, QVP_BACKEND_IGBVF, 0);
	record(&s, QVP_REC_IGBVF_REGS, 0, &vf_regs, sizeof(vf_regs));
	record(&s, QVP_REC_IGBVF_PF, 0, &pf, sizeof(pf));
	finish(&s, argv[1], "gen-igbvf.qvps");

	ivshmem(&s, argv[1], "gen-ivshmem-8K.qvps", 0, 2 * QVP_IVSHMEM_PAGE,
		false, false);
	ivshmem(&s, argv[1], "gen-ivshmem-8K-precopy.qvps",
		0xfedcba9876543210ULL, 2 * QVP_IVSHMEM_PAGE, true, true);
	/* A memory smaller than a page: one short MEM record. */
	ivshmem(&s, argv[1], "gen-ivshmem-64.qvps", 0x5eed, 64, false, false);
	return 0;
}
