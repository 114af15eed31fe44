/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-device plug-ins of the migration selftests, in the manner of the
 * drivers of upstream's libvfio (tools/testing/selftests/vfio/lib/drivers):
 * what a generic suite must know of a device to check that its state
 * migrates.  A plug-in names its device by PCI IDs, and can put a known
 * state into it, read the state back, compare two states and, where the
 * device can, change the state while the device runs (PRE_COPY).  The
 * suites (migration_roundtrip) know devices only through this.
 *
 * A new device is one file in plugins/ and one line in mig_plugins[]
 * (mig_plugin.c).  No kselftest harness here: ops return 0 or -errno and
 * say what went wrong in @why (MIG_WHY_LEN bytes).
 */
#ifndef MIG_PLUGIN_H
#define MIG_PLUGIN_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio_dev.h"

#define MIG_WHY_LEN		256
#define MIG_STATE_MAX		256

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* A device's state as its plug-in reads it; the layout is the plug-in's. */
struct mig_state {
	uint8_t data[MIG_STATE_MAX];
};

struct mig_plugin;

/* A device under test, open, with its plug-in. */
struct mig_pdev {
	struct vfio_dev dev;
	const struct mig_plugin *ops;
	void *mem;		/* the plug-in's: e.g. an mmap of a BAR */
	size_t mem_size;
};

/**
 * struct mig_plugin - what the generic suites may do to one kind of device
 * @name: for messages, e.g. "edu"
 * @vendor: PCI vendor ID of the devices it drives
 * @device: PCI device ID
 * @parts: in how many parts (as @compare counts them) any two states
 *	that @put_state gives, and any of them and the device after a
 *	reset, differ: a round trip must restore them all
 * @init: once the device is open: map what it needs; may refuse a device
 * @remove: undo @init
 * @put_state: program known state number @n (1, 2, 3, ...; different
 *	numbers are different states) into the RUNNING device
 * @read_state: read the state of the RUNNING device into @st
 * @compare: the number of parts of the state in which @want and @got
 *	differ, described in @why
 * @make_dirty: optional: change the state of the running device to one
 *	@put_state(@n) would not give, as a guest would between PRE_COPY
 *	passes; NULL where the suites know no way
 * @check_stream: optional: check a whole saved stream of a device whose
 *	state was @want, by the driver's stream format; NULL: not checked
 * @refuses_bad_streams: the device's driver checks its streams end to
 *	end, so that migration_badinput may require it to refuse a stream
 *	cut short, with one bit flipped, or with bytes after its end: a
 *	write() that fails with EINVAL or EFBIG (and again for one more
 *	byte), or else RESUMING -> STOP failing with EINVAL, which leaves
 *	the device in ERROR.  vfio.h does not ask that of a driver: false
 *	keeps only what it asks (no hang; reset, then a good stream,
 *	restores the state)
 */
struct mig_plugin {
	const char *name;
	uint16_t vendor;
	uint16_t device;
	unsigned int parts;
	int (*init)(struct mig_pdev *d, char *why);
	void (*remove)(struct mig_pdev *d);
	int (*put_state)(struct mig_pdev *d, unsigned int n, char *why);
	int (*read_state)(struct mig_pdev *d, struct mig_state *st,
			  char *why);
	int (*compare)(const struct mig_state *want,
		       const struct mig_state *got, char *why);
	int (*make_dirty)(struct mig_pdev *d, unsigned int n, char *why);
	int (*check_stream)(struct mig_pdev *d, const uint8_t *s, size_t len,
			    const struct mig_state *want, char *why);
	bool refuses_bad_streams;
};

extern const struct mig_plugin mig_plugin_edu;
extern const struct mig_plugin mig_plugin_ivshmem;
extern const struct mig_plugin mig_plugin_igbvf;

/* The plug-in for a device with @ids, or NULL. */
const struct mig_plugin *mig_plugin_find(const struct vfio_pci_ids *ids);

/*
 * Open @bdf, find its plug-in and init it.  0; -ENODEV when no plug-in
 * knows the device; or another -errno.  @why says why not.
 */
int mig_pdev_open(struct mig_pdev *d, const char *bdf, char *why);
/* Undo mig_pdev_open(), after a reset; harmless on a closed one. */
void mig_pdev_close(struct mig_pdev *d);

/*
 * Lend @dev, which the caller opened and keeps, to its plug-in: @d gets a
 * copy of the handle (the same fds) and the plug-in is initialised on it,
 * for a suite that opens devices itself (migration_conformance) but may
 * use a plug-in's @put_state.  0; -ENODEV when no plug-in knows the
 * device; or another -errno (the plug-in refused it), with @why.  Never
 * mig_pdev_close() a lent @d, whose fds are @dev's: end the loan with
 * mig_pdev_unlend(), which leaves @dev open and as it is.  After that, or
 * a refusal, @d holds no fd (mig_pdev_close() ignores it).
 */
int mig_pdev_lend(struct mig_pdev *d, struct vfio_dev *dev, char *why);
void mig_pdev_unlend(struct mig_pdev *d);

/*
 * For mig_test_main(): NULL if a plug-in knows @bdf and its driver
 * migrates, else why not.
 */
const char *mig_precheck_plugin(const char *bdf);

#endif /* MIG_PLUGIN_H */
