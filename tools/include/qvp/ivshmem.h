/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's "ivshmem-plain" shared memory device (PCI 1af4:1110), as
 * userspace sees it through VFIO: its IDs, its BAR0 registers and its
 * BARs (QEMU's docs/specs/ivshmem-spec.rst).  The one definition for
 * every C program of the project.
 */
#ifndef QVP_IVSHMEM_H
#define QVP_IVSHMEM_H

#define IVS_VENDOR		0x1af4
#define IVS_DEVICE		0x1110

#define IVS_BAR_REGS		VFIO_PCI_BAR0_REGION_INDEX
#define IVS_BAR_MEM		VFIO_PCI_BAR2_REGION_INDEX	/* shared memory */

/* BAR0 */
#define IVS_REG_INTRMASK	0x00
#define IVS_REG_INTRSTATUS	0x04	/* reading clears it */

#endif /* QVP_IVSHMEM_H */
