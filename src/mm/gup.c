// SPDX-License-Identifier: GPL-2.0
/*
 * get_user_pages_remote() (mm/gup.c __get_user_pages, check_vma_flags,
 * follow_page_pte, faultin_page): take a reference on the pages backing a
 * range of another mm, faulting them in as needed.
 *
 * The caller holds mmap_read_lock(mm); it is never dropped here (*locked
 * stays 1).  Per page:
 *   check_vma_flags: a write needs VM_WRITE, or FOLL_FORCE on a cow
 *   mapping; a read needs VM_READ, or FOLL_FORCE with VM_MAYREAD;
 *   follow_page_pte under the PTL: a present pte, writable for FOLL_WRITE
 *   (or, with FOLL_FORCE, an exclusive anon page a forced COW already made
 *   ours, can_follow_write_pte), not the zero page for FOLL_WRITE;
 *   get_page() under the PTL; otherwise handle_mm_fault (write faults
 *   break COW: the device gets its own copy, as Linux's FOLL_WRITE does)
 *   and retry.
 * No notifier is called: faulting in only creates mappings.  Returns the
 * number of pages referenced, or -errno if none was.
 */
#include "mm/internal.h"

static int check_vma_flags(struct vm_area_struct *vma, unsigned int gup_flags)
{
	unsigned long vm_flags = vma->vm_flags;

	if (gup_flags & FOLL_WRITE) {
		if (!(vm_flags & VM_WRITE)) {
			if (!(gup_flags & FOLL_FORCE))
				return -EFAULT;
			if (!is_cow_mapping(vm_flags))
				return -EFAULT;
		}
	} else if (!(vm_flags & VM_READ)) {
		if (!(gup_flags & FOLL_FORCE) || !(vm_flags & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

static bool can_follow_write_pte(pte_t pte, struct page *page,
				 struct vm_area_struct *vma, unsigned int flags)
{
	if (pte_write(pte))
		return true;
	if (!(flags & FOLL_FORCE) || (vma->vm_flags & VM_WRITE))
		return false;
	return page && PageAnon(page) && PageAnonExclusive(page) && pte_dirty(pte);
}

/* The referenced page at @address, or NULL when a fault is needed. */
static struct page *follow_page_pte(struct vm_area_struct *vma,
				    unsigned long address, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page = NULL;
	pmd_t *pmd = mm_find_pmd(mm, address);
	spinlock_t *ptl;
	pte_t *ptep, pte;

	if (!pmd)
		return NULL;
	if (pmd_trans_huge(pmdp_get(pmd))) {
		pmd_t pmdval;

		ptl = pmd_lock(mm, pmd);
		pmdval = pmdp_get(pmd);
		if (pmd_trans_huge(pmdval) && (pmdval.pmd & _PAGE_PRESENT) &&
		    (!(flags & FOLL_WRITE) || pmd_write(pmdval))) {
			page = pfn_to_page(pmd_pfn(pmdval) +
					   ((address & ~PMD_MASK) >> PAGE_SHIFT));
			get_page(page);
		}
		spin_unlock(ptl);
		return page;
	}
	ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!ptep)
		return NULL;
	pte = ptep_get(ptep);
	if (!(pte.pte & _PAGE_PRESENT))
		goto out;
	page = vm_normal_page(vma, address, pte);
	if ((flags & FOLL_WRITE) && !can_follow_write_pte(pte, page, vma, flags)) {
		page = NULL;
		goto out;
	}
	if (!page) {
		/* the zero page for a read; never for a write */
		page = (flags & FOLL_WRITE) ? NULL : pfn_to_page(ZERO_PFN);
		if (!page)
			goto out;
	}
	get_page(page);
out:
	pte_unmap_unlock(ptep, ptl);
	return page;
}

long get_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages, int *locked)
{
	long i = 0;

	mmap_assert_locked(mm);
	start &= PAGE_MASK;
	for (; i < (long)nr_pages; i++, start += PAGE_SIZE) {
		struct vm_area_struct *vma = vma_lookup(mm, start);
		struct page *page;
		int ret;

		ret = vma ? check_vma_flags(vma, gup_flags) : -EFAULT;
		if (ret)
			return i ? i : ret;
		while (!(page = follow_page_pte(vma, start, gup_flags))) {
			unsigned int fault_flags = FAULT_FLAG_REMOTE;
			int fault;

			if (gup_flags & FOLL_WRITE)
				fault_flags |= FAULT_FLAG_WRITE;
			mmn_cond_resched(__FILE__, __LINE__);
			fault = handle_mm_fault(vma, start, fault_flags);
			if (fault & VM_FAULT_ERROR) {
				ret = (fault & VM_FAULT_OOM) ? -ENOMEM : -EFAULT;
				return i ? i : ret;
			}
		}
		if (pages)
			pages[i] = page;
		else
			put_page(page);
	}
	if (locked)
		*locked = 1;
	return i;
}
