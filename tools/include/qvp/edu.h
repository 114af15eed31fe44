/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's "edu" educational device (PCI 1234:11e8), as userspace sees it
 * through VFIO: its IDs and its BAR0 register map (QEMU's
 * docs/specs/edu.rst and hw/misc/edu.c).  The one definition for every
 * C program of the project: the selftests, the benchmark and the tools.
 */
#ifndef QVP_EDU_H
#define QVP_EDU_H

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_ID_VALUE		0x010000edU	/* what EDU_REG_ID reads */

/* BAR0: 32-bit registers, then 64-bit DMA registers */
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04	/* reads back as ~written */
#define EDU_REG_FACTORIAL	0x08	/* write n, read n! mod 2^32 */
#define EDU_REG_STATUS		0x20
#define  EDU_STATUS_COMPUTING	0x01	/* read-only: factorial running */
#define  EDU_STATUS_IRQFACT	0x80	/* interrupt when a factorial ends */
#define EDU_REG_IRQ_STATUS	0x24
#define  EDU_IRQ_FACT		0x00000001U	/* a factorial ended */
#define  EDU_IRQ_DMA		0x00000100U	/* a DMA ended */
#define EDU_REG_IRQ_RAISE	0x60	/* ORs into EDU_REG_IRQ_STATUS */
#define EDU_REG_IRQ_ACK		0x64	/* clears bits of it */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define  EDU_DMA_RUN		0x1ULL
#define  EDU_DMA_TO_RAM		0x2ULL	/* direction: buffer to RAM */
#define  EDU_DMA_RAISE_IRQ	0x4ULL	/* interrupt when the DMA ends */

/* The device's 4 KiB DMA buffer, as a DMA address on the device side */
#define EDU_DMA_BUF		0x40000

#endif /* QVP_EDU_H */
