// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: the data of bulk records (QVP_REC_F_BULK), copied between
 * device memory and the user's buffer in a single pass that also computes
 * the record's check.  A save frames the record's header and head
 * (save.c), then qvp_bulk_read() gives the data and the check; a resume's
 * parser verifies the head (resume.c), then qvp_bulk_write() stores the
 * data and the parser verifies the check (stream.c, whose hash helpers
 * are shared with the userspace tools).
 *
 * A save that first copied device memory into a kernel buffer, then ran a
 * CRC over it, then copied it to the user, moved each byte three times;
 * here each 64-bit word is read from the BAR, stored to the user and
 * hashed in registers on the way, once (unless its store faults; see
 * QVP_BULK_* in the uapi header for the hash, four independent
 * multiply-rotate lanes so that the multiplies overlap).  A resume does
 * the same in the other direction.
 *
 * The copies run inside the MMIO bracket (qvp_mmio_begin(), memory_lock
 * for writing), and a page fault on an mmap of this device's BARs would
 * take memory_lock too.  So user memory is accessed with page faults disabled:
 * a copy stops at the first word whose access faults, for whatever
 * reason, and returns what it did; qvp_bulk_read() and qvp_bulk_write()
 * move that word through a kernel carry word and copy_to_user() or
 * copy_from_user() outside the bracket, which fault the page in or fail,
 * and go on.  No word is hashed unless it was both read and stored, so a
 * word retried after a fault is hashed once, as its retried value.
 */
#include <linux/io.h>
#include <linux/uaccess.h>

#include "session.h"

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
static size_t qvp_bulk_copy_out(const struct qvp_bulk *b, u32 pos,
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
static size_t qvp_bulk_copy_in(const struct qvp_bulk *b, u32 pos,
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
static void qvp_bulk_word_out(const struct qvp_bulk *b, u32 pos,
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
static void qvp_bulk_word_in(const struct qvp_bulk *b, u32 pos,
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
static u64 qvp_bulk_finish_out(const struct qvp_bulk *b,
			       struct qvp_bulk_sum *s)
{
	if (s->pos)
		qvp_block_done(b, b->len, s);
	return qvp_bulk_sum_final(s);
}

/*
 * The reader's pointer is fit for whole-word stores.  Some architectures
 * cannot store a word to an unaligned address; those get bulk data a word
 * at a time through @carry instead.
 */
static bool qvp_word_ok(const void __user *p)
{
	return IS_ENABLED(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS) ||
	       IS_ALIGNED((unsigned long)p, 8);
}

/**
 * qvp_bulk_read - give the reader bytes of the bulk record in transit
 * @mf: the save session, with a bulk record in transit (@mf->bulk)
 * @ubuf: the reader's buffer
 * @count: its size
 *
 * Gives what is left of a word in @mf->carry, else data copied straight
 * from the device, else the check, which goes to the transfer buffer and
 * ends the bulk data.
 *
 * The straight copy runs with page faults disabled (above).  When it
 * cannot store even the first word (its page is not present, or the word
 * straddles into a page that cannot take it), that word goes to @carry
 * and from there by copy_to_user() outside the MMIO bracket, which faults
 * the page in or fails with -EFAULT: every call makes progress.
 *
 * Context: @mf->lock held.
 * Return: the bytes given (0 when it only moved data to @mf->carry or
 * queued the check), or -errno.
 */
ssize_t qvp_bulk_read(struct qvp_mig_file *mf, char __user *ubuf,
		      size_t count)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_bulk *b = &mf->bulk;
	size_t n = 0, words;
	__le64 check;
	u64 raw;
	u16 set;

	lockdep_assert_held(&mf->lock);

	if (mf->carry_pos < mf->carry_len) {
		n = min_t(size_t, count, mf->carry_len - mf->carry_pos);
		n -= copy_to_user(ubuf, mf->carry + mf->carry_pos, n);
		if (!n)
			return -EFAULT;
		mf->carry_pos += n;
		return n;
	}
	if (mf->bulk_pos == b->len) {
		check = cpu_to_le64(qvp_bulk_finish_out(b, &mf->sum));
		memcpy(mf->buf, &check, sizeof(check));
		mf->pos = 0;
		mf->len = sizeof(check);
		b->len = 0;
		return 0;
	}
	words = min_t(size_t, count, b->len - mf->bulk_pos) / 8;
	if (!qvp_word_ok(ubuf))
		words = 0;
	set = qvp_mmio_begin(qdev);
	if (words)
		n = qvp_bulk_copy_out(b, mf->bulk_pos, &mf->sum,
				      (u64 __user *)ubuf, words) * 8;
	if (!n)
		qvp_bulk_word_out(b, mf->bulk_pos, &mf->sum, &raw);
	qvp_mmio_end(qdev, set);
	if (!n) {
		memcpy(mf->carry, &raw, sizeof(raw));
		mf->carry_pos = 0;
		mf->carry_len = sizeof(raw);
		mf->bulk_pos += sizeof(raw);
		return 0;
	}
	mf->bulk_pos += n;
	return n;
}

/*
 * End the bracket of a bulk store.  QEMU's destination keeps memory
 * decoding off while it loads a device (it restores the config space
 * after the device data) and writes the data in pieces; turning decoding
 * on and off around each piece would write PCI_COMMAND twice per piece,
 * and in a VM each such write makes the hypervisor remap the device's
 * BARs (milliseconds).  So once a store has turned decoding on, it stays
 * on until the session ends or its file is closed (qvp_disable_file(),
 * qvp_resume_flush()), which give the user's setting back.
 */
static void qvp_bulk_store_end(struct qvp_mig_file *mf, u16 set)
{
	if (qvp_mmio_end_hold(mf->qdev, set))
		mf->decode_held = true;
}

/**
 * qvp_bulk_write - store bytes of the bulk data that the parser expects
 * @mf: the resume session, with a bulk record in transit (@mf->bulk)
 * @ubuf: the writer's buffer
 * @count: bytes available there, at most what is left of the data
 *
 * Stores straight to the device while whole words come, through
 * @mf->carry otherwise.  As for a save, a word that the straight copy
 * (page faults disabled) cannot load goes through @mf->carry by
 * copy_from_user(), outside the MMIO bracket, which faults its page in
 * or fails.  Memory decoding that a store turns on stays on until the
 * session ends or its file is closed (qvp_bulk_store_end()).
 *
 * Context: @mf->lock held.
 * Return: the bytes taken (at least one), or -errno.
 */
ssize_t qvp_bulk_write(struct qvp_mig_file *mf, const char __user *ubuf,
		       size_t count)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_bulk_sum *s = &mf->parser.bulk_sum;
	size_t n, words = count / 8;
	u64 raw;
	u16 set;

	lockdep_assert_held(&mf->lock);

	if (!mf->carry_len && words && qvp_word_ok(ubuf)) {
		set = qvp_mmio_begin(qdev);
		n = qvp_bulk_copy_in(&mf->bulk, mf->bulk_pos, s,
				     (const u64 __user *)ubuf, words) * 8;
		qvp_bulk_store_end(mf, set);
		mf->bulk_pos += n;
		if (n)
			return n;
	}
	n = min_t(size_t, count, sizeof(raw) - mf->carry_len);
	n -= copy_from_user(mf->carry + mf->carry_len, ubuf, n);
	if (!n)
		return -EFAULT;
	mf->carry_len += n;
	if (mf->carry_len < sizeof(raw))
		return n;
	memcpy(&raw, mf->carry, sizeof(raw));
	set = qvp_mmio_begin(qdev);
	qvp_bulk_word_in(&mf->bulk, mf->bulk_pos, s, raw);
	qvp_bulk_store_end(mf, set);
	mf->bulk_pos += sizeof(raw);
	mf->carry_len = 0;
	return n;
}
