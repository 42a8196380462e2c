// SPDX-License-Identifier: GPL-2.0
/*
 * sva: an IOMMU doing Shared Virtual Addressing (intel svm.c,
 * arm-smmu-v3-sva.c), written only against the kernel-shaped headers,
 * <mmn/device.h> and <mmn/mm.h>.
 *
 * The device shares the CPU page table: its translation is a walk of the
 * primary's own ptes (mmn_follow_pte(), as the IOMMU's page walker reads
 * them), and there is no device page table to maintain.  What it does own
 * is an IOTLB (SVA_IOTLB_ENTRIES entries) of translations made at walk time,
 * and those must be invalidated exactly when the CPU's TLB entries are:
 * the notifier has only arch_invalidate_secondary_tlbs (+ release), which
 * the primary calls from its TLB-flush points -- under the PT lock right
 * after the pte change in ptep_clear_flush(), after range_end from
 * tlb_finish_mmu() (munmap, DONTNEED) and at the end of mprotect and fork
 * (era 6.12; x86 and arm64 since 6.6).  In era 6.1 the same function is
 * registered as ->invalidate_range.  2.6.33 had no SVA: bind fails.
 *
 *   IOTLB miss (dma)                          pte change + flush (mm/)
 *   ----------------                          ------------------------
 *   gen = iotlb_gen
 *   walk: pte -> pfn (PTL taken, dropped)
 *   make the translation                      PTL: pte changed
 *   walk again: still pfn?  else retry        flush: arch_invalidate_...
 *   spin_lock(iotlb_lock)                       spin_lock(iotlb_lock)
 *   gen changed? retry                          iotlb_gen++, purge range
 *   insert, access                              spin_unlock(iotlb_lock)
 *   spin_unlock(iotlb_lock)                   PTL dropped
 *
 * A flush that lands between the walk and the insert moves the generation
 * and the walk is redone; one that comes after the insert purges the entry;
 * while one is in flight (purged, not yet returned) no fill completes, as
 * an ATS invalidation waits for the translation requests in flight.
 * The second walk, after the translation was made, sees a pte change whose
 * flush is still to come (mprotect, munmap: the flush follows range_end)
 * and keeps the device from installing a translation that was stale when
 * made.
 *
 * The legal window.  Between a pte change and the flush that follows it
 * (under the same PT lock for ptep_clear_flush; after range_end for
 * mprotect, munmap and fork) the IOTLB may still hit the old translation,
 * exactly as the CPU's TLB may.  That is legal and the checker stays
 * silent: the device's contract point is the return of
 * arch_invalidate_secondary_tlbs, not range_start; the primary never frees
 * or reuses the old frame before that flush (tlb_finish_mmu flushes, then
 * frees; wp_page_copy flushes under the PTL before installing the copy and
 * puts the old page after range_end), so no access in the window can reach
 * a consumed or freed frame.
 *
 * Broken form:
 *   flush-in-end  registers invalidate_range_start/_end instead and purges
 *                 the IOTLB only in range_end, as if it were a shadow MMU
 *                 that may keep translations until the end.  After a COW
 *                 the device writes the copied-from frame between the pte
 *                 switch and range_end (lost-write); after munmap or
 *                 DONTNEED it uses translations its range_start contract
 *                 told it were gone (access-after-invalidate).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/era.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/spinlock.h>
#include <mmn/mm.h>

#include "mirrors/sva.h"

enum sva_form {
	SVA_CORRECT,
	SVA_FLUSH_IN_END,
};

static const char *const sva_forms[] = { "correct", "flush-in-end", NULL };

static const char *const sva_form_docs[] = {
	"IOTLB purged in arch_invalidate_secondary_tlbs, from the TLB-flush points under the PT lock",
	"IOTLB purged only in invalidate_range_end: stale after COW, munmap and DONTNEED",
	NULL
};

struct sva_iotlb_entry {
	bool valid;
	struct mmn_spte spte;
};

struct sva {
	struct mmn_device *dev;
	struct mmu_notifier mn;
	enum sva_form form;
	spinlock_t iotlb_lock;			/* taken under the PT lock */
	struct sva_iotlb_entry iotlb[SVA_IOTLB_ENTRIES];
	unsigned int iotlb_next;
	unsigned long iotlb_gen;		/* purges, under iotlb_lock */
	long flushing;				/* atomic: invalidations in flight */
	unsigned long flushes;
	bool released;				/* PASID torn down */
};

#define SVA_MAX_WALKS	64

/* ---- the IOTLB (iotlb_lock held) ------------------------------------- */

static struct sva_iotlb_entry *sva_iotlb_lookup(struct sva *sva, unsigned long va)
{
	for (unsigned int i = 0; i < SVA_IOTLB_ENTRIES; i++)
		if (sva->iotlb[i].valid && sva->iotlb[i].spte.va == (va & PAGE_MASK))
			return &sva->iotlb[i];
	return NULL;
}

static void sva_iotlb_purge(struct sva *sva, unsigned long start,
			    unsigned long end)
{
	sva->iotlb_gen++;
	sva->flushes++;
	for (unsigned int i = 0; i < SVA_IOTLB_ENTRIES; i++) {
		struct sva_iotlb_entry *e = &sva->iotlb[i];

		if (e->valid && e->spte.va >= (start & PAGE_MASK) &&
		    (end == 0 || e->spte.va < end))
			e->valid = false;
	}
}

static struct sva_iotlb_entry *sva_iotlb_insert(struct sva *sva,
						const struct mmn_spte *s)
{
	struct sva_iotlb_entry *e = sva_iotlb_lookup(sva, s->va);

	if (!e) {
		e = &sva->iotlb[sva->iotlb_next];
		sva->iotlb_next = (sva->iotlb_next + 1) % SVA_IOTLB_ENTRIES;
	}
	e->spte = *s;
	e->valid = true;
	return e;
}

/* ---- the notifier ------------------------------------------------------ */

static struct sva *mn_to_sva(struct mmu_notifier *mn)
{
	return container_of(mn, struct sva, mn);
}

/*
 * arch_invalidate_secondary_tlbs (6.12) / invalidate_range (6.1): the CPU
 * TLB of [start, end) is being flushed.  Held: whatever the flush site
 * holds -- often the PT lock: must not sleep.  On return no IOTLB entry of
 * the range may be used (the device's contract point).
 */
static void sva_invalidate_secondary_tlbs(struct mmu_notifier *mn,
					  struct mm_struct *mm,
					  unsigned long start, unsigned long end)
{
	struct sva *sva = mn_to_sva(mn);

	spin_lock(&sva->iotlb_lock);
	__atomic_fetch_add(&sva->flushing, 1, __ATOMIC_SEQ_CST);
	sva_iotlb_purge(sva, start, end);
	spin_unlock(&sva->iotlb_lock);
	/*
	 * The invalidation completes when this returns: until then a fill
	 * that raced with it is aborted (an ATS invalidation waits for the
	 * translation requests in flight).  The decrement is the last thing
	 * before the return: nothing can fill in between.
	 */
	__atomic_fetch_sub(&sva->flushing, 1, __ATOMIC_SEQ_CST);
}

/* release: stop the PASID (the device faults from now on), purge all. */
static void sva_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct sva *sva = mn_to_sva(mn);

	spin_lock(&sva->iotlb_lock);
	sva->released = true;
	sva_iotlb_purge(sva, 0, 0);
	spin_unlock(&sva->iotlb_lock);
}

/* BROKEN (flush-in-end): nothing at start ... */
static int sva_start_noop(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	return 0;
}

/* ... and the purge at the end, after the ptes changed and pages went. */
static void sva_end_flush(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	sva_invalidate_secondary_tlbs(mn, range->mm, range->start, range->end);
}

static const struct mmu_notifier_ops sva_mmuops = {
	.arch_invalidate_secondary_tlbs = sva_invalidate_secondary_tlbs,
	.release = sva_release,
};

static const struct mmu_notifier_ops sva_mmuops_6_1 = {
	.invalidate_range = sva_invalidate_secondary_tlbs,
	.release = sva_release,
};

static const struct mmu_notifier_ops sva_mmuops_flush_in_end = {
	.invalidate_range_start = sva_start_noop,
	.invalidate_range_end = sva_end_flush,
	.release = sva_release,
};

/* ---- translation requests ---------------------------------------------- */

/* The IOMMU's page walk: the CPU's pte for @va, usable for @write? */
static bool sva_walk(struct sva *sva, unsigned long va, bool write,
		     unsigned long *pfn, bool *writable)
{
	if (mmn_follow_pte(sva->dev->mm, va, pfn, writable))
		return false;
	return !write || *writable;
}

/*
 * One device access: an IOTLB hit, or a walk that fills the IOTLB.  A walk
 * that finds no usable pte returns -ENOENT: the device sends a page request
 * (PRI), which is ->fault().
 */
static int sva_dma(struct mmn_device *dev, unsigned long va, bool write,
		   uint64_t *val)
{
	struct sva *sva = dev->priv;

	for (int walks = 0; walks < SVA_MAX_WALKS; walks++) {
		struct sva_iotlb_entry *e;
		unsigned long pfn, pfn2, gen;
		struct mmn_spte spte;
		bool w, w2;
		int ret;

		spin_lock(&sva->iotlb_lock);
		if (sva->released) {
			spin_unlock(&sva->iotlb_lock);
			return -EFAULT;
		}
		e = sva_iotlb_lookup(sva, va);
		if (e && write && !e->spte.writable) {
			/*
			 * A write hits a read-only entry: like the CPU's, the
			 * IOMMU walks again before it reports a fault, so an
			 * entry the primary upgraded since (RO -> RW in place:
			 * wp_page_reuse, mprotect; x86 flushes nobody for an
			 * upgrade) is not a fault forever.
			 */
			e->valid = false;
			e = NULL;
		}
		if (e) {
			ret = write ? mmn_dev_write(dev, &e->spte, va, *val) :
				      mmn_dev_read(dev, &e->spte, va, val);
			spin_unlock(&sva->iotlb_lock);
			return ret;
		}
		gen = sva->iotlb_gen;
		spin_unlock(&sva->iotlb_lock);

		if (!sva_walk(sva, va, write, &pfn, &w))
			return -ENOENT;
		mmn_spte_make(dev, &spte, va & PAGE_MASK, pfn_to_page(pfn), w, 0);
		if (!sva_walk(sva, va, write, &pfn2, &w2) || pfn2 != pfn || w2 != w)
			continue;	/* changed under us: walk again */

		spin_lock(&sva->iotlb_lock);
		if (sva->iotlb_gen != gen ||
		    __atomic_load_n(&sva->flushing, __ATOMIC_SEQ_CST)) {
			spin_unlock(&sva->iotlb_lock);
			continue;	/* a purge ran since the walk, or runs */
		}
		e = sva_iotlb_insert(sva, &spte);
		ret = write ? mmn_dev_write(dev, &e->spte, va, *val) :
			      mmn_dev_read(dev, &e->spte, va, val);
		spin_unlock(&sva->iotlb_lock);
		return ret;
	}
	return -ENOENT;		/* let the device agent's retry bound decide */
}

/* The page request (iommu_sva_handle_iopf): handle_mm_fault via GUP. */
static int sva_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct mm_struct *mm = dev->mm;
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
	put_page(page);		/* the IOMMU holds no reference: it walks */
	return 0;
}

/* ---- bind / unbind (iommu_sva_bind_device) ----------------------------- */

static int sva_bind(struct mmn_device *dev)
{
	struct sva *sva;
	int form = mmn_driver_form(&mmn_driver_sva, dev->form);
	int ret;

	if (form < 0)
		return -EINVAL;
	if (mmn_era == MMN_ERA_2_6_33)
		return -EOPNOTSUPP;	/* no SVA in 2010 */
	sva = calloc(1, sizeof(*sva));
	if (!sva)
		return -ENOMEM;
	sva->dev = dev;
	sva->form = form;
	spin_lock_init(&sva->iotlb_lock);
	if (form == SVA_FLUSH_IN_END)
		sva->mn.ops = &sva_mmuops_flush_in_end;
	else if (mmn_era == MMN_ERA_6_1)
		sva->mn.ops = &sva_mmuops_6_1;
	else
		sva->mn.ops = &sva_mmuops;
	dev->priv = sva;
	ret = mmu_notifier_register(&sva->mn, dev->mm);
	if (ret) {
		spin_lock_destroy(&sva->iotlb_lock);
		free(sva);
		dev->priv = NULL;
		return ret;
	}
	mmn_device_track(dev, &sva->mn);
	return 0;
}

static void sva_unbind(struct mmn_device *dev)
{
	struct sva *sva = dev->priv;

	mmu_notifier_unregister(&sva->mn, dev->mm);
	mmn_device_untrack(dev, &sva->mn);
	spin_lock_destroy(&sva->iotlb_lock);
	free(sva);
	dev->priv = NULL;
}

unsigned int sva_iotlb_used(struct mmn_device *dev)
{
	struct sva *sva = dev->priv;
	unsigned int n = 0;

	spin_lock(&sva->iotlb_lock);
	for (unsigned int i = 0; i < SVA_IOTLB_ENTRIES; i++)
		n += sva->iotlb[i].valid;
	spin_unlock(&sva->iotlb_lock);
	return n;
}

unsigned long sva_flushes(struct mmn_device *dev)
{
	struct sva *sva = dev->priv;
	unsigned long n;

	spin_lock(&sva->iotlb_lock);
	n = sva->flushes;
	spin_unlock(&sva->iotlb_lock);
	return n;
}

static const struct mmn_device_ops sva_ops = {
	.name = "sva",
	.dma = sva_dma,
	.fault = sva_fault,
	.bind = sva_bind,
	.unbind = sva_unbind,
};

const struct mmn_driver mmn_driver_sva = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "sva",
	.summary = "IOMMU SVA: walks the CPU page table, IOTLB purged by arch_invalidate_secondary_tlbs",
	.forms = sva_forms,
	.form_docs = sva_form_docs,
	.ops = &sva_ops,
};
