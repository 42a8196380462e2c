// SPDX-License-Identifier: GPL-2.0
/*
 * A plugin whose device crashes (form "segv": a NULL dereference in dma())
 * or hangs (form "hang": dma() never returns).  For the explorer's
 * isolation tests: the lab must report it, not die with it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <mmn/device.h>

static const char *const forms[] = { "segv", "hang", NULL };
static const char *const docs[] = { "dma() dereferences NULL", "dma() spins", NULL };

extern const struct mmn_driver mmn_plugin_driver;

static int crash_dma(struct mmn_device *dev, unsigned long va, bool write,
		     uint64_t *val)
{
	if (!strcmp(dev->form, "hang"))
		for (volatile int spin = 1; spin;)
			;
	raise(SIGSEGV);		/* what a NULL dereference does, minus UB */
	return -EFAULT;
}

static int crash_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	return -EFAULT;
}

static const struct mmn_device_ops crash_ops = {
	.name = "crash",
	.dma = crash_dma,
	.fault = crash_fault,
};

const struct mmn_driver mmn_plugin_driver = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "crash",
	.summary = "a driver that crashes or hangs",
	.forms = forms,
	.form_docs = docs,
	.ops = &crash_ops,
};
