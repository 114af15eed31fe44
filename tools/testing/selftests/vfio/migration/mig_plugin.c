// SPDX-License-Identifier: GPL-2.0
/*
 * The plug-ins of the migration selftests, and opening a device with
 * its plug-in.  See mig_plugin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mig_common.h"
#include "mig_plugin.h"

static const struct mig_plugin *const mig_plugins[] = {
	&mig_plugin_edu,
	&mig_plugin_ivshmem,
	&mig_plugin_igbvf,
};

const struct mig_plugin *mig_plugin_find(const struct vfio_pci_ids *ids)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mig_plugins); i++)
		if (mig_plugins[i]->vendor == ids->vendor &&
		    mig_plugins[i]->device == ids->device)
			return mig_plugins[i];
	return NULL;
}

/* The plug-in of @dev into *@ops: 0, -ENODEV or another -errno, with @why. */
static int plugin_of(struct vfio_dev *dev, const struct mig_plugin **ops,
		     char *why)
{
	struct vfio_pci_ids ids;
	int ret;

	ret = vfio_dev_pci_ids(dev, &ids);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "%s: PCI IDs: %s", dev->bdf,
			 strerror(-ret));
		return ret;
	}
	*ops = mig_plugin_find(&ids);
	if (!*ops) {
		snprintf(why, MIG_WHY_LEN,
			 "%s is %04x:%04x, a device no plug-in knows",
			 dev->bdf, ids.vendor, ids.device);
		return -ENODEV;
	}
	return 0;
}

int mig_pdev_open(struct mig_pdev *d, const char *bdf, char *why)
{
	int ret;

	memset(d, 0, sizeof(*d));
	ret = vfio_dev_open(&d->dev, bdf);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "%s", d->dev.err);
		return ret;
	}
	ret = plugin_of(&d->dev, &d->ops, why);
	if (!ret)
		ret = d->ops->init(d, why);
	if (ret) {
		d->ops = NULL;
		vfio_dev_close(&d->dev);
	}
	return ret;
}

void mig_pdev_close(struct mig_pdev *d)
{
	if (!vfio_dev_is_open(&d->dev))
		return;
	vfio_dev_reset(&d->dev);
	if (d->ops && d->ops->remove)
		d->ops->remove(d);
	d->ops = NULL;
	vfio_dev_close(&d->dev);
}

/* No device, and none that mig_pdev_close() could take for one. */
static void pdev_clear(struct mig_pdev *d)
{
	memset(d, 0, sizeof(*d));
	vfio_dev_init(&d->dev, VFIO_DEV_IOMMU_LEGACY);
}

int mig_pdev_lend(struct mig_pdev *d, struct vfio_dev *dev, char *why)
{
	int ret;

	pdev_clear(d);
	ret = plugin_of(dev, &d->ops, why);
	if (ret)
		return ret;
	d->dev = *dev;
	ret = d->ops->init(d, why);
	if (ret)
		pdev_clear(d);
	return ret;
}

void mig_pdev_unlend(struct mig_pdev *d)
{
	if (d->ops && d->ops->remove)
		d->ops->remove(d);
	pdev_clear(d);
}

const char *mig_precheck_plugin(const char *bdf)
{
	static char why[MIG_WHY_LEN];
	struct mig_pdev d;
	const char *res;

	res = mig_precheck(bdf, false, true);
	if (res)
		return res;
	if (mig_pdev_open(&d, bdf, why))
		return why;
	mig_pdev_close(&d);
	return NULL;
}
