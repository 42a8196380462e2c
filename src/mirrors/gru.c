// SPDX-License-Identifier: GPL-2.0
/*
 * gru: the SGI GRU (drivers/misc/sgi-gru/grutlbpurge.c, grufault.c),
 * written only against the kernel-shaped headers and <mmn/device.h>.
 *
 * The GRU translates through a small hardware TLB (GRU_TLB_ENTRIES entries,
 * round-robin replacement here) filled by "dropins" from the driver; there
 * is no device page table to keep coherent, only the TLB.  The notifier
 * has start and end and never sleeps: start raises ms_range_active and
 * purges the range from the TLB (a TGH invalidate, atomic for the
 * hardware: here under tlb_lock); end lowers it and wakes the dropins that
 * wait.  Counter-only protocol: no sequence number, so the dropin must look
 * the translation up and install it in one step that start's purge cannot
 * split, and only while no range is active:
 *
 *   dropin (gru_user_dropin/gru_try_dropin)   invalidate_range_start / _end
 *   ---------------------------------------   -----------------------------
 *   wait_event(ms_range_active == 0)
 *   GUP: fault the page in, put it            atomic_inc(ms_range_active)
 *   spin_lock(tlb_lock)                       spin_lock(tlb_lock)
 *   if (ms_range_active) -> "range active",     purge [start, end) from TLB
 *        unlock, retry (wait again)           spin_unlock(tlb_lock)
 *   atomic pte lookup -> pfn                  [primary changes ptes]
 *   install TLB entry                         atomic_dec(ms_range_active)
 *   spin_unlock(tlb_lock)                     wake_up_all(ms_wait_queue)
 *
 * If the dropin saw the counter at zero under tlb_lock, a start that begins
 * later purges after the unlock, and its pte change comes after its purge:
 * the entry installed is either purged or still right.  If the counter was
 * raised, the dropin fails ("range active") and waits for the end.  A whole
 * start..end between the GUP and the lookup is harmless: the lookup is
 * made under tlb_lock, after it.
 *
 * Broken forms:
 *   no-wait     the dropin neither waits for active ranges nor checks the
 *               counter: a dropin between start's purge and the pte change
 *               installs the old frame (access-after-invalidate, then
 *               stale-read / lost-write once the primary moved on);
 *   unbalanced  invalidate_range_end skips the counter for one event kind
 *               (PROTECTION_VMA: "mprotect changes no pfn, nothing to
 *               undo"), as the OOM-reaper path once left it raised: every
 *               later dropin sleeps forever in wait_event -- a deadlock
 *               under the controlled scheduler, a hang with threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/wait.h>
#include <mmn/mm.h>

#include "mirrors/gru.h"

enum gru_form {
	GRU_CORRECT,
	GRU_NO_WAIT,
	GRU_UNBALANCED,
};

static const char *const gru_forms[] = {
	"correct", "no-wait", "unbalanced", NULL
};

static const char *const gru_form_docs[] = {
	"purge the TLB in range_start, ms_range_active + wait queue, dropin rechecks under tlb_lock (grufault.c)",
	"the dropin neither waits for active ranges nor checks ms_range_active",
	"range_end skips the counter for PROTECTION_VMA: later dropins sleep forever",
	NULL
};

struct gru_tlb_entry {
	bool valid;
	struct mmn_spte spte;
};

/* struct gru_mm_struct + one context's TLB. */
struct gru {
	struct mmn_device *dev;
	struct mmu_notifier ms_notifier;
	enum gru_form form;
	long ms_range_active;			/* atomic_t */
	wait_queue_head_t ms_wait_queue;
	spinlock_t tlb_lock;			/* the TLB, as the hardware sees it */
	struct gru_tlb_entry tlb[GRU_TLB_ENTRIES];
	unsigned int tlb_next;			/* replacement cursor */
	bool released;
};

static inline long gru_atomic_read(long *v)
{
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

/* ---- the TLB (tlb_lock held) ---------------------------------------- */

static struct gru_tlb_entry *gru_tlb_lookup(struct gru *gru, unsigned long va)
{
	for (unsigned int i = 0; i < GRU_TLB_ENTRIES; i++)
		if (gru->tlb[i].valid && gru->tlb[i].spte.va == (va & PAGE_MASK))
			return &gru->tlb[i];
	return NULL;
}

/* gru_flush_tlb_range(): purge [start, end). */
static void gru_flush_tlb_range(struct gru *gru, unsigned long start,
				unsigned long end)
{
	for (unsigned int i = 0; i < GRU_TLB_ENTRIES; i++) {
		struct gru_tlb_entry *e = &gru->tlb[i];

		if (e->valid && e->spte.va >= (start & PAGE_MASK) &&
		    (end == 0 || e->spte.va < end))
			e->valid = false;
	}
}

static void gru_tlb_install(struct gru *gru, const struct mmn_spte *s)
{
	struct gru_tlb_entry *e = gru_tlb_lookup(gru, s->va);

	if (!e) {
		e = &gru->tlb[gru->tlb_next];
		gru->tlb_next = (gru->tlb_next + 1) % GRU_TLB_ENTRIES;
	}
	e->spte = *s;
	e->valid = true;
}

/* ---- mmu notifier ----------------------------------------------------- */

static struct gru *mn_to_gru(struct mmu_notifier *mn)
{
	return container_of(mn, struct gru, ms_notifier);
}

/*
 * invalidate_range_start: mmap_lock and/or rmap locks held.  Never sleeps,
 * never fails.  From here until the matching end no dropin may install an
 * entry of the range: the raised counter sees to that.
 */
static int gru_invalidate_range_start(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range)
{
	struct gru *gru = mn_to_gru(mn);

	__atomic_fetch_add(&gru->ms_range_active, 1, __ATOMIC_SEQ_CST);
	spin_lock(&gru->tlb_lock);
	gru_flush_tlb_range(gru, range->start, range->end);
	spin_unlock(&gru->tlb_lock);
	return 0;
}

/* invalidate_range_end: same context; never sleeps. */
static void gru_invalidate_range_end(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range)
{
	struct gru *gru = mn_to_gru(mn);

	/* BROKEN (unbalanced): "mprotect moves no pfn, nothing to undo" */
	if (gru->form == GRU_UNBALANCED &&
	    range->event == MMU_NOTIFY_PROTECTION_VMA)
		return;
	__atomic_fetch_sub(&gru->ms_range_active, 1, __ATOMIC_SEQ_CST);
	wake_up_all(&gru->ms_wait_queue);
}

/* invalidate_page (era 2.6.33, and change_pte's fallback): PT lock held;
 * 2.6.33's gru_invalidate_page() purges the one page. */
static void gru_invalidate_page(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long address)
{
	struct gru *gru = mn_to_gru(mn);

	address &= PAGE_MASK;
	spin_lock(&gru->tlb_lock);
	gru_flush_tlb_range(gru, address, address + PAGE_SIZE);
	spin_unlock(&gru->tlb_lock);
}

/* release: exit_mmap or unregister.  Purge everything, no more dropins. */
static void gru_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct gru *gru = mn_to_gru(mn);

	spin_lock(&gru->tlb_lock);
	gru->released = true;
	gru_flush_tlb_range(gru, 0, 0);
	spin_unlock(&gru->tlb_lock);
}

static const struct mmu_notifier_ops gru_mmuops = {
	.invalidate_range_start = gru_invalidate_range_start,
	.invalidate_range_end = gru_invalidate_range_end,
	.release = gru_release,
	.invalidate_page = gru_invalidate_page,	/* 2.6.33 */
};

/* ---- dropins ------------------------------------------------------------ */

/* non_atomic_pte_lookup(): fault the page in (GUP), drop the reference. */
static int gru_faultin(struct gru *gru, unsigned long va, bool write)
{
	struct mm_struct *mm = gru->dev->mm;
	struct page *page;
	long npages;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	npages = get_user_pages_remote(mm, va & PAGE_MASK, 1,
				       write ? FOLL_WRITE : 0, &page, NULL);
	mmap_read_unlock(mm);
	mmput(mm);
	if (npages != 1)
		return npages < 0 ? (int)npages : -EFAULT;
	put_page(page);
	return 0;
}

int gru_try_dropin(struct mmn_device *dev, unsigned long va, bool write)
{
	struct gru *gru = dev->priv;
	struct mmn_spte spte;
	unsigned long pfn;
	bool writable;
	int ret = 0;

	spin_lock(&gru->tlb_lock);
	if (gru->released) {
		ret = -EFAULT;
		goto out;
	}
	/* "range active": the dropin would race with a purge */
	if (gru->form != GRU_NO_WAIT && gru_atomic_read(&gru->ms_range_active)) {
		ret = -EAGAIN;
		goto out;
	}
	/* atomic_pte_lookup(): the CPU page table, now, without the PT lock
	 * (which the invalidation may hold while it takes tlb_lock) */
	if (mmn_follow_pte_lockless(dev->mm, va, &pfn, &writable) ||
	    (write && !writable)) {
		ret = -EAGAIN;		/* not (writably) mapped: fault it in */
		goto out;
	}
	mmn_spte_make(dev, &spte, va & PAGE_MASK, pfn_to_page(pfn), writable, 0);
	gru_tlb_install(gru, &spte);
out:
	spin_unlock(&gru->tlb_lock);
	return ret;
}

/*
 * The user-context dropin (gru_handle_user_call_os): wait until no range
 * is active, fault the page in, try the dropin; "range active" or a page
 * gone again means: go round.
 */
static int gru_dev_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct gru *gru = dev->priv;
	int ret;

	if (gru->form != GRU_NO_WAIT)
		wait_event(gru->ms_wait_queue,
			   gru_atomic_read(&gru->ms_range_active) == 0);
	ret = gru_faultin(gru, va, write);
	if (ret)
		return ret;
	ret = gru_try_dropin(dev, va, write);
	return ret == -EAGAIN ? 0 : ret;	/* the access retries */
}

/* A GRU instruction's memory access: through the TLB only. */
static int gru_dma(struct mmn_device *dev, unsigned long va, bool write,
		   uint64_t *val)
{
	struct gru *gru = dev->priv;
	struct gru_tlb_entry *e;
	int ret;

	spin_lock(&gru->tlb_lock);
	e = gru_tlb_lookup(gru, va);
	if (!e)
		ret = -ENOENT;
	else if (write)
		ret = mmn_dev_write(dev, &e->spte, va, *val);
	else
		ret = mmn_dev_read(dev, &e->spte, va, val);
	spin_unlock(&gru->tlb_lock);
	return ret;
}

/* ---- bind / unbind ---------------------------------------------------- */

static int gru_bind(struct mmn_device *dev)
{
	struct gru *gru = calloc(1, sizeof(*gru));
	int form = mmn_driver_form(&mmn_driver_gru, dev->form);
	int ret;

	if (!gru)
		return -ENOMEM;
	if (form < 0) {
		free(gru);
		return -EINVAL;
	}
	gru->dev = dev;
	gru->form = form;
	init_waitqueue_head(&gru->ms_wait_queue);
	spin_lock_init(&gru->tlb_lock);
	gru->ms_notifier.ops = &gru_mmuops;
	dev->priv = gru;
	/* the real driver shares one notifier per mm (mmu_notifier_get) */
	ret = mmu_notifier_register(&gru->ms_notifier, dev->mm);
	if (ret) {
		destroy_waitqueue_head(&gru->ms_wait_queue);
		spin_lock_destroy(&gru->tlb_lock);
		free(gru);
		dev->priv = NULL;
		return ret;
	}
	mmn_device_track(dev, &gru->ms_notifier);
	return 0;
}

static void gru_unbind(struct mmn_device *dev)
{
	struct gru *gru = dev->priv;

	mmu_notifier_unregister(&gru->ms_notifier, dev->mm);
	mmn_device_untrack(dev, &gru->ms_notifier);
	destroy_waitqueue_head(&gru->ms_wait_queue);
	spin_lock_destroy(&gru->tlb_lock);
	free(gru);
	dev->priv = NULL;
}

long gru_range_active(struct mmn_device *dev)
{
	return gru_atomic_read(&((struct gru *)dev->priv)->ms_range_active);
}

unsigned int gru_tlb_used(struct mmn_device *dev)
{
	struct gru *gru = dev->priv;
	unsigned int n = 0;

	spin_lock(&gru->tlb_lock);
	for (unsigned int i = 0; i < GRU_TLB_ENTRIES; i++)
		n += gru->tlb[i].valid;
	spin_unlock(&gru->tlb_lock);
	return n;
}

void gru_test_rescue(struct mmn_device *dev)
{
	struct gru *gru = dev->priv;

	__atomic_store_n(&gru->ms_range_active, 0, __ATOMIC_SEQ_CST);
	wake_up_all(&gru->ms_wait_queue);
}

static const struct mmn_device_ops gru_ops = {
	.name = "gru",
	.dma = gru_dma,
	.fault = gru_dev_fault,
	.bind = gru_bind,
	.unbind = gru_unbind,
};

const struct mmn_driver mmn_driver_gru = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "gru",
	.summary = "SGI GRU: 8-entry TLB, purge in range_start, ms_range_active + wait queue in the dropin",
	.forms = gru_forms,
	.form_docs = gru_form_docs,
	.ops = &gru_ops,
};
