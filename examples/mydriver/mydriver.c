// SPDX-License-Identifier: GPL-2.0
/*
 * mydriver: an out-of-tree secondary-MMU driver for mmnlab, in one file,
 * built as a shared object against the installed headers (see Makefile)
 * and loaded with `mmnlab ... --mirror-plugin ./mydriver.so` or
 * mmn_plugin_load().  A trimmed copy of the built-in dmirror: an HMM
 * mirror with an interval notifier over the whole address space, a small
 * device page table and a driver mutex that orders faults against
 * invalidations:
 *
 *   fault                                  invalidate (interval notifier)
 *   -----                                  ------------------------------
 *   seq = mmu_interval_read_begin()
 *   mmap_read_lock; hmm_range_fault()
 *   mmap_read_unlock                       mutex_lock(&md->mutex)
 *                                          mmu_interval_set_seq(cur_seq)
 *                                          erase the range
 *                                          mutex_unlock
 *   mutex_lock(&md->mutex)
 *   if (mmu_interval_read_retry(seq)) -> unlock, start over
 *   program the entry; mutex_unlock
 *
 * Forms: "correct"; "no-erase", which sets the sequence but forgets to
 * erase the range -- the device keeps its old translation after a COW.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/linux/hmm.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/mutex.h>

#define MD_ENTRIES	64		/* device page table slots */

enum { MD_CORRECT, MD_NO_ERASE };

static const char *const md_forms[] = { "correct", "no-erase", NULL };
static const char *const md_form_docs[] = {
	"set_seq and erase in invalidate, read_retry under the mutex",
	"invalidate sets the sequence but never erases the range",
	NULL
};

struct md_entry {
	bool valid;
	struct mmn_spte spte;
};

struct mydriver {
	struct mmn_device *dev;
	struct mmu_interval_notifier notifier;
	struct mutex mutex;
	int form;
	struct md_entry pt[MD_ENTRIES];	/* direct-mapped by page number */
};

extern const struct mmn_driver mmn_plugin_driver;

static struct md_entry *md_slot(struct mydriver *md, unsigned long va)
{
	return &md->pt[(va >> PAGE_SHIFT) % MD_ENTRIES];
}

/* invalidate: from range_start; may sleep iff blockable. */
static bool md_invalidate(struct mmu_interval_notifier *mni,
			  const struct mmu_notifier_range *range,
			  unsigned long cur_seq)
{
	struct mydriver *md = container_of(mni, struct mydriver, notifier);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&md->mutex);
	else if (!mutex_trylock(&md->mutex))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	for (int i = 0; i < MD_ENTRIES && md->form != MD_NO_ERASE; i++) {
		struct md_entry *e = &md->pt[i];

		if (e->valid && e->spte.va >= range->start &&
		    e->spte.va < range->end)
			e->valid = false;
	}
	mutex_unlock(&md->mutex);
	return true;
}

static const struct mmu_interval_notifier_ops md_mni_ops = {
	.invalidate = md_invalidate,
};

static int md_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct mydriver *md = dev->priv;
	struct mm_struct *mm = dev->mm;
	unsigned long pfn;
	struct hmm_range range = {
		.notifier = &md->notifier,
		.start = va & PAGE_MASK,
		.end = (va & PAGE_MASK) + PAGE_SIZE,
		.hmm_pfns = &pfn,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
	};
	int ret;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	for (;;) {
		range.notifier_seq = mmu_interval_read_begin(&md->notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;
		mutex_lock(&md->mutex);
		if (mmu_interval_read_retry(&md->notifier, range.notifier_seq)) {
			mutex_unlock(&md->mutex);
			continue;
		}
		mmn_spte_make(dev, &md_slot(md, va)->spte, va & PAGE_MASK,
			      hmm_pfn_to_page(pfn), !!(pfn & HMM_PFN_WRITE), 0);
		md_slot(md, va)->valid = true;
		mutex_unlock(&md->mutex);
		break;
	}
	mmput(mm);
	return ret == -EPERM ? -EFAULT : ret;
}

static int md_dma(struct mmn_device *dev, unsigned long va, bool write,
		  uint64_t *val)
{
	struct mydriver *md = dev->priv;
	struct md_entry *e;
	int ret;

	mutex_lock(&md->mutex);
	e = md_slot(md, va);
	if (!e->valid || e->spte.va != (va & PAGE_MASK))
		ret = -ENOENT;
	else if (write)
		ret = mmn_dev_write(dev, &e->spte, va, *val);
	else
		ret = mmn_dev_read(dev, &e->spte, va, val);
	mutex_unlock(&md->mutex);
	return ret;
}

static int md_bind(struct mmn_device *dev)
{
	struct mydriver *md = calloc(1, sizeof(*md));
	int ret;

	if (!md)
		return -ENOMEM;
	md->form = mmn_driver_form(&mmn_plugin_driver, dev->form);
	if (md->form < 0) {
		free(md);
		return -EINVAL;
	}
	md->dev = dev;
	mutex_init(&md->mutex);
	dev->priv = md;
	ret = mmu_interval_notifier_insert(&md->notifier, dev->mm, 0,
					   ULONG_MAX & PAGE_MASK, &md_mni_ops);
	if (ret) {
		mutex_destroy(&md->mutex);
		free(md);
		dev->priv = NULL;
		return ret;
	}
	mmn_device_track(dev, &md->notifier);
	return 0;
}

static void md_unbind(struct mmn_device *dev)
{
	struct mydriver *md = dev->priv;

	mmu_interval_notifier_remove(&md->notifier);
	mmn_device_untrack(dev, &md->notifier);
	mutex_destroy(&md->mutex);
	free(md);
	dev->priv = NULL;
}

static const struct mmn_device_ops md_ops = {
	.name = "mydriver",
	.dma = md_dma,
	.fault = md_fault,
	.bind = md_bind,
	.unbind = md_unbind,
};

const struct mmn_driver mmn_plugin_driver = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "mydriver",
	.summary = "an out-of-tree HMM mirror (examples/mydriver)",
	.forms = md_forms,
	.form_docs = md_form_docs,
	.ops = &md_ops,
};
