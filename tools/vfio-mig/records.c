// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: the record types of each backend's stream, as the format
 * defines them (include/uapi/linux/qemu_vfio_pci.h).  The driver's own
 * tables live beside its backends (drivers/vfio/pci/qemu/edu.c, ...);
 * these say the same in userspace.  Nothing compiles the two together:
 * stream_test checks these against the format, and vfio_mig_test.sh
 * checks real driver streams with them in the VM.  A backend that wants
 * "vfio-mig dump" to check its records adds its table here.
 */
#include "records.h"

const struct qvp_rec_desc qvp_edu_records[QVP_EDU_NR_RECORDS] = {
	{
		.type = QVP_REC_EDU_REGS,
		.min_len = sizeof(struct qvp_edu_regs),
		.max_len = sizeof(struct qvp_edu_regs),
	},
};

const struct qvp_rec_desc qvp_ivshmem_records[QVP_IVSHMEM_NR_RECORDS] = {
	{
		.type = QVP_REC_IVSHMEM_CONFIG,
		.min_len = sizeof(struct qvp_ivshmem_config),
		.max_len = sizeof(struct qvp_ivshmem_config),
	},
	{
		.type = QVP_REC_IVSHMEM_MEM,
		.bulk = true,
		/* a page, or all of a memory smaller than a page (>= 8 bytes) */
		.min_len = QVP_BULK_OVERHEAD + 8,
		.max_len = QVP_BULK_OVERHEAD + QVP_IVSHMEM_CHUNK,
	},
	{
		.type = QVP_REC_IVSHMEM_REGS,
		.min_len = sizeof(struct qvp_ivshmem_regs),
		.max_len = sizeof(struct qvp_ivshmem_regs),
	},
};

const struct qvp_rec_desc qvp_igbvf_records[QVP_IGBVF_NR_RECORDS] = {
	{
		.type = QVP_REC_IGBVF_REGS,
		.min_len = sizeof(struct qvp_igbvf_regs),
		.max_len = sizeof(struct qvp_igbvf_regs),
	},
	{
		.type = QVP_REC_IGBVF_PF,
		.min_len = sizeof(struct qvp_igbvf_pf),
		.max_len = sizeof(struct qvp_igbvf_pf),
	},
};
