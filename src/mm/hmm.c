// SPDX-License-Identifier: GPL-2.0
/*
 * hmm_range_fault() (Linux mm/hmm.c): snapshot the CPU page table of a
 * range for a mirroring device, faulting where the caller asks.
 *
 * The walk is lockless below mmap_lock, as Linux's: it reads each pte once.
 * Whatever it returns may be stale by the time the caller uses it; that is
 * what mmu_interval_read_retry() under the driver lock is for.  Before each
 * VMA and after a fault the walk checks the notifier sequence and returns
 * -EBUSY if it moved.
 */
#include <errno.h>

#include <mmn/linux/hmm.h>

#include "mm/internal.h"

/* What the caller requires for this page (HMM_PFN_REQ_*). */
static unsigned long hmm_required(const struct hmm_range *range,
				  unsigned long hmm_pfn)
{
	return (range->default_flags | (hmm_pfn & range->pfn_flags_mask)) &
	       (HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE);
}

/* Does a page with @cpu_flags need a fault to satisfy @req? */
static bool hmm_needs_fault(unsigned long req, unsigned long cpu_flags)
{
	if (!(req & HMM_PFN_REQ_FAULT))
		return false;
	if (!(cpu_flags & HMM_PFN_VALID))
		return true;
	return (req & HMM_PFN_REQ_WRITE) && !(cpu_flags & HMM_PFN_WRITE);
}

/*
 * Snapshot one address: the pfn with its flags, or 0 when nothing usable
 * is mapped.  Lockless, like the hardware walk.
 */
static unsigned long hmm_snapshot(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;
	pmd_t *pmdp = mm_find_pmd(mm, addr);
	pmd_t pmd;
	pte_t *ptep, pte;

	if (!pmdp)
		return 0;
	pmd = pmdp_get(pmdp);
	if (pmd_none(pmd))
		return 0;
	if (pmd_trans_huge(pmd)) {
		if (!(pmd_val(pmd) & _PAGE_PRESENT))
			return 0;
		return (pmd_pfn(pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT)) |
		       HMM_PFN_VALID | (pmd_write(pmd) ? HMM_PFN_WRITE : 0) |
		       ((unsigned long)HPAGE_PMD_ORDER << HMM_PFN_ORDER_SHIFT);
	}
	ptep = pte_offset_map_nolock(mm, pmdp, addr, &ptl);
	if (!ptep)
		return 0;
	pte = ptep_get(ptep);
	if (!(pte_val(pte) & _PAGE_PRESENT))
		return 0;
	/* special ptes other than the zero page have no struct page */
	if (pte_special(pte) && !is_zero_pfn(pte_pfn(pte)))
		return HMM_PFN_ERROR;
	return pte_pfn(pte) | HMM_PFN_VALID |
	       (pte_write(pte) ? HMM_PFN_WRITE : 0);
}

int hmm_range_fault(struct hmm_range *range)
{
	struct mmu_interval_notifier *sub = range->notifier;
	struct mm_struct *mm = sub->mm;
	unsigned long addr = range->start;

	mmap_assert_locked(mm);
	while (addr < range->end) {
		unsigned long *pfns = &range->hmm_pfns[(addr - range->start) >> PAGE_SHIFT];
		struct vm_area_struct *vma;
		unsigned long end;

		if (mmu_interval_check_retry(sub, range->notifier_seq))
			return -EBUSY;

		vma = vma_lookup(mm, addr);
		if (!vma) {
			/* a hole: an error only if a fault is required */
			if (hmm_required(range, *pfns) & HMM_PFN_REQ_FAULT)
				return -EFAULT;
			*pfns = 0;
			addr += PAGE_SIZE;
			continue;
		}
		end = min(range->end, vma->vm_end);
		if ((vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
		    !(vma->vm_flags & VM_READ)) {
			for (; addr < end; addr += PAGE_SIZE, pfns++) {
				if (hmm_required(range, *pfns) & HMM_PFN_REQ_FAULT)
					return -EFAULT;
				*pfns = HMM_PFN_ERROR;
			}
			continue;
		}

		for (; addr < end; addr += PAGE_SIZE, pfns++) {
			unsigned long req = hmm_required(range, *pfns);
			unsigned long cpu = hmm_snapshot(mm, addr);
			unsigned int flags = FAULT_FLAG_REMOTE;
			int ret;

			if (cpu == HMM_PFN_ERROR) {
				if (req & HMM_PFN_REQ_FAULT)
					return -EFAULT;
				*pfns = HMM_PFN_ERROR;
				continue;
			}
			if (!hmm_needs_fault(req, cpu)) {
				*pfns = cpu;
				continue;
			}
			if (req & HMM_PFN_REQ_WRITE) {
				if (!(vma->vm_flags & VM_WRITE))
					return -EPERM;
				flags |= FAULT_FLAG_WRITE;
			}
			ret = handle_mm_fault(vma, addr, flags);
			if (ret & VM_FAULT_OOM)
				return -ENOMEM;
			if (ret & VM_FAULT_ERROR)
				return -EFAULT;
			/* walk this page again, rechecking the sequence */
			break;
		}
	}
	if (mmu_interval_check_retry(sub, range->notifier_seq))
		return -EBUSY;
	return 0;
}
