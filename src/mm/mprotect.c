// SPDX-License-Identifier: GPL-2.0
/*
 * mprotect() (mm/mprotect.c: do_mprotect_pkey, mprotect_fixup,
 * change_protection and its page-table walk).
 *
 * Order, mmap_lock held for write throughout:
 *   tlb_gather_mmu -> for each VMA of the range:
 *     split at the ends / set vm_flags and vm_page_prot /
 *     change_protection: per PGD entry (Linux: per p4d, in
 *     change_pud_range), S(PROTECTION_VMA, [first populated PUD's address,
 *     end of that PGD entry's part of the range)) started lazily -- no
 *     notifier at all where no PUD is populated -- then per PTE table under
 *     its PTL every present pte goes through ptep_modify_prot_start/commit
 *     (get_and_clear + set, x86) with pte_modify(vm_page_prot), and
 *     ptes that need it are recorded in the gather; E;
 *     merge with the neighbours where compatible;
 *   -> tlb_finish_mmu: F after every E, only if a pte needed a flush.
 *
 * Upgrades never make private ptes writable: vm_page_prot of a private
 * mapping is read-only, and the next write takes do_wp_page(), which
 * reuses exclusive pages (Linux's MM_CP_TRY_CHANGE_WRITABLE shortcut is not
 * modelled).  Shared mappings get writable ptes back from pte_modify(), as
 * in Linux.  Page tables are never freed before exit, so a range whose
 * pages were all zapped still has populated PUDs and still notifies.
 */
#include "mm/internal.h"

/*
 * x86 pte_needs_flush() (pte_flags_need_flush(), accessed bit ignored):
 * the pfn changed, PRESENT or DIRTY was cleared, or RW/USER/PSE changed in
 * either direction -- x86 flushes when write permission is given back too
 * (the real 6.12 trace of mprotect RW shows it).
 */
static bool pte_needs_flush(pte_t oldpte, pte_t newpte)
{
	uint64_t diff = oldpte.pte ^ newpte.pte;

	if (!(oldpte.pte & _PAGE_PRESENT))
		return false;
	if (pte_pfn(oldpte) != pte_pfn(newpte))
		return true;
	if (diff & oldpte.pte & (_PAGE_PRESENT | _PAGE_DIRTY))
		return true;
	return diff & (_PAGE_RW | _PAGE_USER | _PAGE_PSE);
}

/*
 * can_change_pte_writable(): mprotect may make a pte writable at once when
 * no write fault is needed to learn anything: an exclusive anonymous page
 * of a private mapping (no COW to break), a dirty pte of a shared one.
 */
static bool can_change_pte_writable(struct vm_area_struct *vma,
				    unsigned long addr, pte_t pte)
{
	struct page *page;

	if (!(vma->vm_flags & VM_WRITE) || pte_protnone(pte))
		return false;
	if (vma->vm_flags & VM_SHARED)
		return pte_dirty(pte);
	page = vm_normal_page(vma, addr, pte);
	return page && PageAnon(page) && PageAnonExclusive(page);
}

static long change_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			     pmd_t *pmd, unsigned long addr, unsigned long end,
			     uint64_t newprot)
{
	spinlock_t *ptl;
	pte_t *start_pte, *pte;
	long pages = 0;

	start_pte = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!start_pte)
		return 0;
	for (pte = start_pte; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t oldpte = ptep_get(pte), ptent;

		if (!pte_present(oldpte))
			continue;	/* none; swap entries come later */
		oldpte = ptep_modify_prot_start(vma, addr, pte);
		ptent = pte_modify(oldpte, newprot);
		/* MM_CP_TRY_CHANGE_WRITABLE, as mprotect() asks */
		if (!pte_write(ptent) && can_change_pte_writable(vma, addr, ptent))
			ptent = pte_mkwrite(ptent);
		ptep_modify_prot_commit(vma, addr, pte, oldpte, ptent);
		if (pte_needs_flush(oldpte, ptent))
			tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
		pages++;
	}
	pte_unmap_unlock(start_pte, ptl);
	return pages;
}

static long change_pmd_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			     unsigned long addr, unsigned long end, uint64_t newprot)
{
	unsigned long next;
	long pages = 0;

	for (; addr != end; addr = next) {
		pmd_t *pmd = mm_find_pmd(vma->vm_mm, addr);
		pmd_t pmdval;

		next = pmd_addr_end(addr, end);
		if (!pmd)
			continue;
		pmdval = pmdp_get(pmd);
		if (pmd_none(pmdval))
			continue;
		if (pmd_trans_huge(pmdval)) {
			/* a partial PMD was split by split_vma() already */
			if (next - addr != HPAGE_PMD_SIZE) {
				__split_huge_pmd(vma, pmd, addr);
			} else {
				long nr = change_huge_pmd(tlb, vma, pmd, addr, newprot);

				if (nr >= 0) {
					pages += nr;
					continue;
				}
			}
		}
		pages += change_pte_range(tlb, vma, pmd, addr, next, newprot);
	}
	return pages;
}

/* One PGD entry's part [addr, end) of the range: Linux's change_pud_range. */
static long change_pud_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			     unsigned long addr, unsigned long end, uint64_t newprot)
{
	struct mmu_notifier_range range;
	bool started = false;
	unsigned long next;
	long pages = 0;

	for (; addr != end; addr = next) {
		uint64_t *pud = pud_lookup(vma->vm_mm, addr);

		next = pud_addr_end(addr, end);
		if (!pud || !__entry_get(pud))
			continue;
		if (!started) {
			mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, 0,
						vma->vm_mm, addr, end);
			mmu_notifier_invalidate_range_start(&range);
			started = true;
		}
		pages += change_pmd_range(tlb, vma, addr, next, newprot);
	}
	if (started)
		mmu_notifier_invalidate_range_end(&range);
	return pages;
}

static long change_protection(struct mmu_gather *tlb, struct vm_area_struct *vma,
			      unsigned long start, unsigned long end)
{
	uint64_t newprot = vma->vm_page_prot;
	unsigned long addr, next;
	long pages = 0;

	for (addr = start; addr != end; addr = next) {
		unsigned long boundary = (addr + (1UL << PGDIR_SHIFT)) &
					 ~((1UL << PGDIR_SHIFT) - 1);

		next = boundary - 1 < end - 1 ? boundary : end;
		if (!__entry_get(&vma->vm_mm->pgd->e[(addr >> PGDIR_SHIFT) &
						     (PTRS_PER_TABLE - 1)]))
			continue;
		pages += change_pud_range(tlb, vma, addr, next, newprot);
	}
	return pages;
}

static int mprotect_fixup(struct mmu_gather *tlb, struct vm_area_struct *vma,
			  unsigned long start, unsigned long end,
			  unsigned long newflags)
{
	struct mm_struct *mm = vma->vm_mm;
	int error;

	if (newflags == vma->vm_flags)
		return 0;
	if (start > vma->vm_start) {
		error = split_vma(vma, start);
		if (error)
			return error;
		vma = find_vma(mm, start);
	}
	if (end < vma->vm_end) {
		error = split_vma(vma, end);
		if (error)
			return error;
	}
	WRITE_ONCE(vma->vm_flags, newflags);
	WRITE_ONCE(vma->vm_page_prot, vm_get_page_prot(newflags));
	change_protection(tlb, vma, start, end);
	vma_merge_neighbours(vma);
	return 0;
}

int mmn_mprotect(struct mm_struct *mm, unsigned long start, unsigned long len,
		 int prot)
{
	unsigned long end, nstart, reqflags = 0;
	struct vm_area_struct *vma;
	struct mmu_gather tlb;
	int error;

	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (prot & PROT_READ)
		reqflags |= VM_READ;
	if (prot & PROT_WRITE)
		reqflags |= VM_WRITE;
	if (prot & PROT_EXEC)
		reqflags |= VM_EXEC;

	mmap_write_lock(mm);
	vma = find_vma(mm, start);
	error = -ENOMEM;
	if (!vma || vma->vm_start > start)
		goto out;
	tlb_gather_mmu(&tlb, mm);
	for (nstart = start;;) {
		unsigned long newflags, tmp;

		vma = find_vma(mm, nstart);
		if (!vma || vma->vm_start > nstart) {
			error = -ENOMEM;
			break;
		}
		newflags = reqflags | (vma->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC));
		/* every requested access must be allowed by the VM_MAY* bits */
		if ((newflags & ~(newflags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC)) {
			error = -EACCES;
			break;
		}
		tmp = min(vma->vm_end, end);
		error = mprotect_fixup(&tlb, vma, nstart, tmp, newflags);
		if (error)
			break;
		nstart = tmp;
		if (nstart >= end)
			break;
	}
	tlb_finish_mmu(&tlb);
	MM_CHECK(1, mm_vmas_valid(mm));
	MM_CHECK(2, mm_pgtables_valid(mm));
out:
	mmap_write_unlock(mm);
	return error;
}
