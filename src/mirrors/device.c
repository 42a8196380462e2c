// SPDX-License-Identifier: GPL-2.0
/*
 * Devices and device agents (<mmn/device.h>): the lab side of a secondary
 * MMU.  A driver supplies dma() and fault(); this file runs the access loop
 * a device's command processor would: translate, miss, fault, retry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/report.h>
#include <mmn/rt.h>

#include "check/check.h"

void __mmn_check_device_gone(struct mmn_device *dev);

static int device_next_id;

void __mmn_device_reset_ids(void)
{
	device_next_id = 0;
}

struct mmn_device *mmn_device_create(const struct mmn_device_ops *ops,
				     struct mm_struct *mm, const char *form,
				     int *err)
{
	struct mmn_device *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev) {
		*err = -ENOMEM;
		return NULL;
	}
	dev->ops = ops;
	dev->mm = mm;
	dev->form = form ? form : "correct";
	dev->id = ++device_next_id;
	snprintf(dev->name, sizeof(dev->name), "%s#%d", ops->name, dev->id);
	mmgrab(mm);
	ret = ops->bind ? ops->bind(dev) : 0;
	if (ret) {
		mmdrop(mm);
		free(dev);
		*err = ret;
		return NULL;
	}
	*err = 0;
	return dev;
}

void mmn_device_destroy(struct mmn_device *dev)
{
	if (!dev)
		return;
	if (dev->ops->unbind)
		dev->ops->unbind(dev);
	__mmn_check_device_gone(dev);
	mmdrop(dev->mm);
	free(dev);
}

/*
 * A fault loop that never gets a usable translation while nothing else can
 * change what it waits for is a livelock; with real threads we can only
 * bound it.  The bound is generous, and counts only the retries during
 * which no invalidation reached the device (no contract point passed): a
 * correct driver retries only while invalidations collide with it, and a
 * stream of them starves it without a livelock (KVM retries whenever
 * mmu_invalidate_seq moved, anywhere in the address space).
 */
#define DEVICE_MAX_RETRIES	100000

int mmn_device_access(struct mmn_device *dev, unsigned long va, bool write,
		      uint64_t *val)
{
	unsigned long seen = __mmn_check_device_contracts(dev), stalled = 0;

	for (unsigned long tries = 0;; tries++) {
		unsigned long now;
		int ret;

		/*
		 * A retried access is the hardware trying again later (a vCPU
		 * re-entering the guest after RET_PF_RETRY, a device replaying
		 * a faulted command): time passes, others run.  Without this
		 * a spin-retry that waits for an invalidation to end would
		 * starve the task running it under a priority scheduler.  The
		 * first retry follows a fault that normally made progress; only
		 * a fault that did not (tries >= 2) is a wait.
		 */
		if (tries >= 2)
			mmn_cond_resched(__FILE__, __LINE__);
		ret = dev->ops->dma(dev, va, write, val);

		if (ret != -ENOENT && ret != -EPERM)
			return ret;
		now = __mmn_check_device_contracts(dev);
		if (now != seen) {
			seen = now;
			stalled = 0;
		}
		if (stalled++ >= DEVICE_MAX_RETRIES) {
			mmn_report(MMN_V_LIVELOCK, dev->name,
				   "BUG: mmnlab: livelock in %s (form %s)\n"
				   "%s access at %#lx by task %s/%d retried %lu times without progress\n"
				   "(no invalidation reached the device meanwhile)\n",
				   dev->ops->name, dev->form, write ? "write" : "read",
				   va, mmn_current()->comm, mmn_current()->pid,
				   stalled - 1);
			return -EDEADLK;
		}
		dev->faults++;
		ret = dev->ops->fault(dev, va, write);
		if (ret)
			return ret;
	}
}
