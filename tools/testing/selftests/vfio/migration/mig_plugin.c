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

int mig_pdev_open(struct mig_pdev *d, const char *bdf, char *why)
{
	struct vfio_pci_ids ids;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = vfio_dev_open(&d->dev, bdf);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "%s", d->dev.err);
		return ret;
	}
	ret = vfio_dev_pci_ids(&d->dev, &ids);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "%s: PCI IDs: %s", d->dev.bdf,
			 strerror(-ret));
		goto fail;
	}
	d->ops = mig_plugin_find(&ids);
	if (!d->ops) {
		snprintf(why, MIG_WHY_LEN,
			 "%s is %04x:%04x, a device no plug-in knows",
			 d->dev.bdf, ids.vendor, ids.device);
		ret = -ENODEV;
		goto fail;
	}
	ret = d->ops->init(d, why);
	if (ret)
		goto fail;
	return 0;
fail:
	d->ops = NULL;
	vfio_dev_close(&d->dev);
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
