// SPDX-License-Identifier: GPL-2.0
/*
 * Soft-dirty tracking (fs/proc/task_mmu.c clear_refs_write() with
 * CLEAR_REFS_SOFT_DIRTY, clear_soft_dirty(); the pagemap soft-dirty bit).
 *
 * echo 4 > /proc/PID/clear_refs, mmap_lock held for WRITE:
 *   S(SOFT_DIRTY, [0, ULONG_MAX)) -> walk every VMA (VM_PFNMAP skipped),
 *   per PTE table under its PTL: a present pte is write-protected and
 *   loses its soft-dirty bit (ptep_modify_prot_start/commit, no flush
 *   here), a swap pte loses its swap soft-dirty bit -> E ->
 *   flush_tlb_mm (F after E, [0, ULONG_MAX)).
 * The next write faults: do_wp_page reuses the page (exclusive anon or
 * shared) and pte_mkdirty() sets the soft-dirty bit again.
 * Not modelled: VM_SOFTDIRTY on VMAs (new mappings count as soft-dirty in
 * Linux) and write-notify page protection of shared VMAs, huge PMDs.
 */
#include "mm/internal.h"

static void clear_soft_dirty_range(struct vm_area_struct *vma, pmd_t *pmd,
				   unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

	start_pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte)
		return;
	for (pte = start_pte; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);

		if (pte_present(ptent)) {
			pte_t old = ptep_modify_prot_start(vma, addr, pte);

			ptent = pte_clear_soft_dirty(pte_wrprotect(old));
			ptep_modify_prot_commit(vma, addr, pte, old, ptent);
		} else if (is_swap_pte(ptent)) {
			set_pte_at(mm, addr, pte, pte_swp_clear_soft_dirty(ptent));
		}
	}
	pte_unmap_unlock(start_pte, ptl);
}

int mmn_clear_soft_dirty(struct mm_struct *mm)
{
	struct mmu_notifier_range range;

	mmap_write_lock(mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_SOFT_DIRTY, 0, mm, 0, ULONG_MAX);
	mmu_notifier_invalidate_range_start(&range);
	for (int i = 0; i < mm->map_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];
		unsigned long addr, next;

		if (vma->vm_flags & VM_PFNMAP)
			continue;
		for (addr = vma->vm_start; addr < vma->vm_end; addr = next) {
			pmd_t *pmd = mm_find_pmd(mm, addr);

			next = pmd_addr_end(addr, vma->vm_end);
			if (!pmd || pmd_none(pmdp_get(pmd)) ||
			    pmd_trans_huge(pmdp_get(pmd)))
				continue;
			clear_soft_dirty_range(vma, pmd, addr, next);
		}
	}
	mmu_notifier_invalidate_range_end(&range);
	flush_tlb_mm(mm);
	mmap_write_unlock(mm);
	return 0;
}

int mmn_page_soft_dirty(struct mm_struct *mm, unsigned long va)
{
	pmd_t *pmd;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	mmap_read_lock(mm);
	pmd = mm_find_pmd(mm, va);
	ptep = pmd ? pte_offset_map_lock(mm, pmd, va, &ptl) : NULL;
	if (!ptep) {
		mmap_read_unlock(mm);
		return -ENOENT;
	}
	pte = ptep_get(ptep);
	pte_unmap_unlock(ptep, ptl);
	mmap_read_unlock(mm);
	if (pte_present(pte))
		return pte_soft_dirty(pte);
	if (is_swap_pte(pte))
		return pte_swp_soft_dirty(pte);
	return -ENOENT;
}
