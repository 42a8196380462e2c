/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmm_range_fault(): snapshot (and optionally fault) the CPU page table of
 * a range for a mirroring device, Linux's include/linux/hmm.h shape.
 */
#ifndef MMN_LINUX_HMM_H
#define MMN_LINUX_HMM_H

#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>

/*
 * Output flags, in the high bits of each hmm_pfns[] entry:
 *   VALID  the pfn is valid and the page may be read
 *   WRITE  ... and written
 *   ERROR  the page cannot be accessed (PROT_NONE, special mapping ...)
 *   order  log2 of the CPU mapping size, in pages (0 or 9)
 * Input flags (default_flags / per entry under pfn_flags_mask):
 *   REQ_FAULT  fault the page in if it is not present
 *   REQ_WRITE  fault it in writable (breaks COW)
 */
#define HMM_PFN_VALID		(1UL << 63)
#define HMM_PFN_WRITE		(1UL << 62)
#define HMM_PFN_ERROR		(1UL << 61)
#define HMM_PFN_ORDER_SHIFT	56
#define HMM_PFN_ORDER_MASK	(0x1FUL << HMM_PFN_ORDER_SHIFT)
#define HMM_PFN_FLAGS		(~((1UL << HMM_PFN_ORDER_SHIFT) - 1))
#define HMM_PFN_REQ_FAULT	HMM_PFN_VALID
#define HMM_PFN_REQ_WRITE	HMM_PFN_WRITE

struct hmm_range {
	struct mmu_interval_notifier *notifier;
	unsigned long notifier_seq;
	unsigned long start;		/* [start, end) */
	unsigned long end;
	unsigned long *hmm_pfns;	/* (end - start) >> PAGE_SHIFT entries */
	unsigned long default_flags;
	unsigned long pfn_flags_mask;
	void *dev_private_owner;
};

/*
 * Caller holds mmap_read_lock(notifier->mm).  Returns 0, -EBUSY when the
 * notifier sequence moved (retry from mmu_interval_read_begin()), -EFAULT
 * for a hole or a VMA that cannot be mirrored, -EPERM for a write request
 * on a read-only VMA, -ENOMEM.
 */
int hmm_range_fault(struct hmm_range *range);

static inline struct page *hmm_pfn_to_page(unsigned long hmm_pfn)
{
	return pfn_to_page(hmm_pfn & ~HMM_PFN_FLAGS);
}

static inline unsigned long hmm_pfn_to_pfn(unsigned long hmm_pfn)
{
	return hmm_pfn & ~HMM_PFN_FLAGS;
}

static inline unsigned int hmm_pfn_to_map_order(unsigned long hmm_pfn)
{
	return (unsigned int)((hmm_pfn & HMM_PFN_ORDER_MASK) >> HMM_PFN_ORDER_SHIFT);
}

#endif
