/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci: copies of bulk record data between device memory and user
 * buffers that compute the record's check on the way (bulk.c).
 */
#ifndef QVP_BULK_H
#define QVP_BULK_H

#include "backend.h"

size_t qvp_bulk_copy_out(const struct qvp_bulk *b, u32 pos,
			 struct qvp_bulk_sum *s, u64 __user *dst,
			 size_t words);
size_t qvp_bulk_copy_in(const struct qvp_bulk *b, u32 pos,
			struct qvp_bulk_sum *s, const u64 __user *src,
			size_t words);
void qvp_bulk_word_out(const struct qvp_bulk *b, u32 pos,
		       struct qvp_bulk_sum *s, u64 *raw);
void qvp_bulk_word_in(const struct qvp_bulk *b, u32 pos,
		      struct qvp_bulk_sum *s, u64 raw);
u64 qvp_bulk_finish_out(const struct qvp_bulk *b, struct qvp_bulk_sum *s);
u64 qvp_bulk_digest_io(u64 seed, const void __iomem *src, size_t len);

#endif /* QVP_BULK_H */
