/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the stream parser's fuzz target (fuzz_stream.c) and the writer of
 * its seed corpus (fuzz_seeds.c) agree on: the device each backend's
 * streams are for.  The identities are those of the golden streams
 * (tools/testing/stream/golden/), so that golden and generated seeds get
 * past the header alike.
 */
#ifndef QVP_FUZZ_H
#define QVP_FUZZ_H

#include "records.h"

struct fz_backend {
	const char *name;
	struct qvp_stream_id id;
	const struct qvp_rec_desc *descs;
	unsigned int nr_descs;
};

/*
 * Indexed by the header's backend byte modulo 3, so that any input picks
 * a table and a mutated backend byte lands on another backend's table.
 */
static const struct fz_backend fz_backends[3] = {
	{
		.name = "igbvf",
		.id = {
			.vendor = 0x8086, .device = 0x10ca,
			.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
			.revision = 0x01, .backend = QVP_BACKEND_IGBVF,
		},
		.descs = qvp_igbvf_records,
		.nr_descs = QVP_IGBVF_NR_RECORDS,
	},
	{
		.name = "edu",
		.id = {
			.vendor = 0x1234, .device = 0x11e8,
			.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
			.revision = 0x10, .backend = QVP_BACKEND_EDU,
		},
		.descs = qvp_edu_records,
		.nr_descs = QVP_EDU_NR_RECORDS,
	},
	{
		.name = "ivshmem",
		.id = {
			.vendor = 0x1af4, .device = 0x1110,
			.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
			.revision = 0x01, .backend = QVP_BACKEND_IVSHMEM,
		},
		.descs = qvp_ivshmem_records,
		.nr_descs = QVP_IVSHMEM_NR_RECORDS,
	},
};

#endif /* QVP_FUZZ_H */
