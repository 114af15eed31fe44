// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: the data of bulk records (QVP_REC_F_BULK), copied between
 * device memory and the user's buffer in a single pass that also computes
 * the record's check.
 *
 * A save that first copied device memory into a kernel buffer, then ran a
 * CRC over it, then copied it to the user, moved each byte three times;
 * here each 64-bit word is read from the BAR, stored to the user and
 * hashed in registers on the way, once (unless its store faults; see
 * QVP_BULK_* in the uapi header for the hash, four independent
 * multiply-rotate lanes so that the multiplies overlap).  A resume does
 * the same in the other direction.
 *
 * The caller holds the MMIO bracket (qvp_mmio_begin(), memory_lock for
 * writing), and a page fault on an mmap of this device's BARs would take
 * memory_lock too.  So user memory is accessed with page faults disabled:
 * a copy stops at the first word whose access faults, for whatever
 * reason, and returns what it did; the caller moves that word through a
 * kernel carry word and copy_to_user()/copy_from_user() outside the
 * bracket, which fault the page in or fail, and goes on.  No word is
 * hashed unless it was both read and stored, so a word retried after a
 * fault is hashed once, as its retried value.
 */
#include <linux/io.h>
#include <linux/uaccess.h>

#include "bulk.h"

/* A word as read from or written to memory, as the hash sees it. */
static __always_inline u64 qvp_le(u64 raw)
{
	return le64_to_cpu((__force __le64)raw);
}

/*
 * Copy @n words, all within one block of @s, from @src to @dst, hashing
 * them.  Returns the words done (fewer than @n on a fault).
 *
 * The stripe loop handles one word at a time, so that it needs a single
 * temporary and keeps the four lanes, both pointers and both constants in
 * registers (spilling lanes to the stack costs more memory accesses than
 * the copy itself makes); a fault in the middle of a stripe leaves the
 * words before it done, which the labels count.
 */
static size_t qvp_seg_out(const void __iomem *src, u64 __user *dst,
			  size_t n, struct qvp_bulk_sum *s)
{
	unsigned int lane = (s->pos / 8) % 4;
	/* no bounds-checked array index between user_access_begin/end */
	u64 *v = s->v;
	const void __iomem *end;
	size_t i = 0, k = 0;
	u64 a, b, c, d, w;

	if (!user_access_begin(dst, n * 8))
		return 0;
	/* Single words up to the next stripe of four. */
	for (; i < n && lane; i++, lane = (lane + 1) % 4) {
		w = __raw_readq(src + i * 8);
		unsafe_put_user(w, dst + i, out);
		v[lane] = qvp_bulk_step(v[lane], qvp_le(w));
	}
	a = v[0];
	b = v[1];
	c = v[2];
	d = v[3];
	src += i * 8;
	dst += i;
	end = src + (n - i) / 4 * 32;
	for (; src < end; src += 32, dst += 4, i += 4) {
		w = __raw_readq(src);
		unsafe_put_user(w, dst, stripe_out);
		a = qvp_bulk_step(a, qvp_le(w));
		w = __raw_readq(src + 8);
		unsafe_put_user(w, dst + 1, stripe_out1);
		b = qvp_bulk_step(b, qvp_le(w));
		w = __raw_readq(src + 16);
		unsafe_put_user(w, dst + 2, stripe_out2);
		c = qvp_bulk_step(c, qvp_le(w));
		w = __raw_readq(src + 24);
		unsafe_put_user(w, dst + 3, stripe_out3);
		d = qvp_bulk_step(d, qvp_le(w));
	}
	v[0] = a;
	v[1] = b;
	v[2] = c;
	v[3] = d;
	for (lane = 0; i < n; i++, lane++, src += 8, dst++) {
		w = __raw_readq(src);
		unsafe_put_user(w, dst, out);
		v[lane] = qvp_bulk_step(v[lane], qvp_le(w));
	}
	goto out;
stripe_out3:
	k++;
stripe_out2:
	k++;
stripe_out1:
	k++;
stripe_out:
	v[0] = a;
	v[1] = b;
	v[2] = c;
	v[3] = d;
	i += k;
out:
	user_access_end();
	s->pos += i * 8;
	return i;
}

/* The same from @src in user memory to @dst in device memory. */
static size_t qvp_seg_in(const u64 __user *src, void __iomem *dst,
			 size_t n, struct qvp_bulk_sum *s)
{
	unsigned int lane = (s->pos / 8) % 4;
	u64 *v = s->v;
	const u64 __user *end;
	size_t i = 0, k = 0;
	u64 a, b, c, d, w;

	if (!user_access_begin(src, n * 8))
		return 0;
	for (; i < n && lane; i++, lane = (lane + 1) % 4) {
		unsafe_get_user(w, src + i, out);
		__raw_writeq(w, dst + i * 8);
		v[lane] = qvp_bulk_step(v[lane], qvp_le(w));
	}
	a = v[0];
	b = v[1];
	c = v[2];
	d = v[3];
	src += i;
	dst += i * 8;
	end = src + (n - i) / 4 * 4;
	for (; src < end; src += 4, dst += 32, i += 4) {
		unsafe_get_user(w, src, stripe_out);
		__raw_writeq(w, dst);
		a = qvp_bulk_step(a, qvp_le(w));
		unsafe_get_user(w, src + 1, stripe_out1);
		__raw_writeq(w, dst + 8);
		b = qvp_bulk_step(b, qvp_le(w));
		unsafe_get_user(w, src + 2, stripe_out2);
		__raw_writeq(w, dst + 16);
		c = qvp_bulk_step(c, qvp_le(w));
		unsafe_get_user(w, src + 3, stripe_out3);
		__raw_writeq(w, dst + 24);
		d = qvp_bulk_step(d, qvp_le(w));
	}
	v[0] = a;
	v[1] = b;
	v[2] = c;
	v[3] = d;
	for (lane = 0; i < n; i++, lane++, src++, dst += 8) {
		unsafe_get_user(w, src, out);
		__raw_writeq(w, dst);
		v[lane] = qvp_bulk_step(v[lane], qvp_le(w));
	}
	goto out;
stripe_out3:
	k++;
stripe_out2:
	k++;
stripe_out1:
	k++;
stripe_out:
	v[0] = a;
	v[1] = b;
	v[2] = c;
	v[3] = d;
	i += k;
out:
	user_access_end();
	s->pos += i * 8;
	return i;
}

/* Record the digest of the block that @s just completed (or cut short). */
static void qvp_block_done(const struct qvp_bulk *b, u32 end,
			   struct qvp_bulk_sum *s)
{
	u64 d = qvp_bulk_block_end(s);

	if (b->digests)
		b->digests[(end - 1) / QVP_BULK_BLOCK] = d;
}

/**
 * qvp_bulk_copy_out - copy bulk data to the reader, hashing it
 * @b: the memory
 * @pos: data bytes already sent (a multiple of 8)
 * @s: the record's check so far
 * @dst: the user's buffer
 * @words: 64-bit words to copy, at most what is left of the data
 *
 * Reads the words from @b->mem at @pos, stores them to @dst and hashes
 * them into @s, recording the digest of each block completed in
 * @b->digests (if set).  User memory is accessed with page faults
 * disabled (see above).
 *
 * Context: within the MMIO bracket (qvp_mmio_begin()).
 * Return: the words copied and hashed; fewer than @words (possibly 0)
 * when a store to @dst faulted or @dst is not a valid user range.
 */
size_t qvp_bulk_copy_out(const struct qvp_bulk *b, u32 pos,
			 struct qvp_bulk_sum *s, u64 __user *dst,
			 size_t words)
{
	size_t i = 0, seg, done;

	pagefault_disable();
	while (i < words) {
		seg = min_t(size_t, words - i, (QVP_BULK_BLOCK - s->pos) / 8);
		done = qvp_seg_out(b->mem + pos + i * 8, dst + i, seg, s);
		i += done;
		if (s->pos == QVP_BULK_BLOCK)
			qvp_block_done(b, pos + i * 8, s);
		if (done < seg)
			break;
	}
	pagefault_enable();
	return i;
}

/**
 * qvp_bulk_copy_in - store bulk data from the writer, hashing it
 * @b: the memory (@b->digests unused)
 * @pos: data bytes already stored (a multiple of 8)
 * @s: the record's check so far
 * @src: the user's buffer
 * @words: 64-bit words to store, at most what is left of the data
 *
 * Loads the words from @src, writes them to @b->mem at @pos and hashes
 * them into @s.  User memory is accessed with page faults disabled.
 *
 * Context: within the MMIO bracket (qvp_mmio_begin()).
 * Return: the words stored and hashed; fewer than @words (possibly 0)
 * when a load from @src faulted or @src is not a valid user range.
 */
size_t qvp_bulk_copy_in(const struct qvp_bulk *b, u32 pos,
			struct qvp_bulk_sum *s, const u64 __user *src,
			size_t words)
{
	size_t i = 0, seg, done;

	pagefault_disable();
	while (i < words) {
		seg = min_t(size_t, words - i, (QVP_BULK_BLOCK - s->pos) / 8);
		done = qvp_seg_in(src + i, b->mem + pos + i * 8, seg, s);
		i += done;
		if (s->pos == QVP_BULK_BLOCK)
			qvp_bulk_block_end(s);
		if (done < seg)
			break;
	}
	pagefault_enable();
	return i;
}

/**
 * qvp_bulk_word_out - one word of bulk data for the reader, via @raw
 * @b: the memory
 * @pos: data bytes already sent (a multiple of 8)
 * @s: the record's check so far
 * @raw: set to the word, as its bytes lie in memory
 *
 * Reads the word at @pos and hashes it into @s, recording the block's
 * digest in @b->digests (if set) when the word completes a block.  For a
 * reader that asks for less than a word, whose buffer this architecture
 * cannot store whole words to, or whose buffer faulted in
 * qvp_bulk_copy_out(): the caller hands @raw over outside the bracket.
 *
 * Context: within the MMIO bracket (qvp_mmio_begin()).
 */
void qvp_bulk_word_out(const struct qvp_bulk *b, u32 pos,
		       struct qvp_bulk_sum *s, u64 *raw)
{
	*raw = __raw_readq(b->mem + pos);
	if (qvp_bulk_sum_word(s, qvp_le(*raw)) && b->digests)
		b->digests[pos / QVP_BULK_BLOCK] = s->digest;
}

/**
 * qvp_bulk_word_in - store one word of bulk data gathered from the writer
 * @b: the memory (@b->digests unused)
 * @pos: data bytes already stored (a multiple of 8)
 * @s: the record's check so far
 * @raw: the word, as its bytes lie in the stream
 *
 * The reverse of qvp_bulk_word_out(): writes @raw to @b->mem at @pos and
 * hashes it into @s.  For a word the caller gathered in its carry: the
 * writer gave less than a word, its buffer cannot be loaded in whole
 * words on this architecture, or the load faulted in qvp_bulk_copy_in().
 *
 * Context: within the MMIO bracket (qvp_mmio_begin()).
 */
void qvp_bulk_word_in(const struct qvp_bulk *b, u32 pos,
		      struct qvp_bulk_sum *s, u64 raw)
{
	__raw_writeq(raw, b->mem + pos);
	qvp_bulk_sum_word(s, qvp_le(raw));
}

/**
 * qvp_bulk_finish_out - the check of bulk data the reader got
 * @b: the memory
 * @s: the record's check, with every word of the data hashed
 *
 * Once all of the data was sent: completes the last block if it is
 * partial (recording its digest in @b->digests, if set) and finishes the
 * check.  Touches no device memory, so needs no MMIO bracket.
 *
 * Return: the record's check, which follows the data in the stream.
 */
u64 qvp_bulk_finish_out(const struct qvp_bulk *b, struct qvp_bulk_sum *s)
{
	if (s->pos)
		qvp_block_done(b, b->len, s);
	return qvp_bulk_sum_final(s);
}

/**
 * qvp_bulk_digest_io - digest of one block of device memory
 * @seed: the stream's seed
 * @src: the block in the mapped device memory
 * @len: its length: a multiple of 8, 8 to QVP_BULK_BLOCK
 *
 * Context: within the MMIO bracket (qvp_mmio_begin()).
 * Return: the block's digest: the value that qvp_bulk_copy_out() records
 * in struct qvp_bulk.digests for the same bytes.
 */
u64 qvp_bulk_digest_io(u64 seed, const void __iomem *src, size_t len)
{
	struct qvp_bulk_sum s;
	u64 a, b, c, d;
	size_t i;

	qvp_bulk_sum_init(&s, seed, 0, 0);
	a = s.v[0];
	b = s.v[1];
	c = s.v[2];
	d = s.v[3];
	for (i = 0; i + 32 <= len; i += 32) {
		a = qvp_bulk_step(a, qvp_le(__raw_readq(src + i)));
		b = qvp_bulk_step(b, qvp_le(__raw_readq(src + i + 8)));
		c = qvp_bulk_step(c, qvp_le(__raw_readq(src + i + 16)));
		d = qvp_bulk_step(d, qvp_le(__raw_readq(src + i + 24)));
	}
	s.v[0] = a;
	s.v[1] = b;
	s.v[2] = c;
	s.v[3] = d;
	for (; i < len; i += 8)
		s.v[(i / 8) % 4] = qvp_bulk_step(s.v[(i / 8) % 4],
						 qvp_le(__raw_readq(src + i)));
	s.pos = len;
	return qvp_bulk_block_end(&s);
}
