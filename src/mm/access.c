// SPDX-License-Identifier: GPL-2.0
/*
 * CPU access to user memory: what the MMU and the page-fault handler do
 * for one load or store (arch/x86/mm/fault.c do_user_addr_fault +
 * access_error, mm/memory.c handle_mm_fault).
 *
 * mmn_load()/mmn_store() of an aligned 64-bit word:
 *   1. walk the page table without locks, as the MMU does (tables are never
 *      freed while the mm has users, see pgtable.c);
 *   2. at the leaf take its lock -- the PTE table's PTL, or page_table_lock
 *      for a huge PMD -- and re-check the entry: present (not PROT_NONE),
 *      and writable for a store;
 *   3. under that lock: the relaxed-atomic word access on the frame, the
 *      accessed (and for a store dirty) bit, and the checker's observation
 *      point (__mmn_hook_cpu_access);
 *   4. on a miss or a permission failure: mmap_read_lock, find_vma (none,
 *      or below vm_start: -EFAULT = SIGSEGV), VMA permission (no access
 *      bits, or a store to a VMA without VM_WRITE: -EFAULT),
 *      handle_mm_fault, unlock, and retry from 1.  VM_FAULT_OOM gives
 *      -ENOMEM, SIGBUS/SIGSEGV -EFAULT.
 * Doing the access under the leaf lock makes it atomic with respect to
 * every pte change of the primary MMU (which all happen under that lock).
 */
#include "check/check.h"
#include "mm/internal.h"

/*
 * The leaf entry mapping @va, locked: a pte under its PTL, or a huge PMD
 * under page_table_lock (*pfn_off: the 4 KiB frame inside it).  NULL if
 * no table reaches @va.
 */
static uint64_t *walk_lock_leaf(struct mm_struct *mm, unsigned long va,
				spinlock_t **ptlp, unsigned long *pfn_off)
{
	pmd_t *pmd = mm_find_pmd(mm, va);
	pmd_t pmdval;
	pte_t *pte;

	if (!pmd)
		return NULL;
	pmdval = pmdp_get(pmd);
	if (pmd_none(pmdval))
		return NULL;
	if (pmdval.pmd & _PAGE_PSE) {
		*ptlp = pmd_lock(mm, pmd);
		if (!(pmdp_get(pmd).pmd & _PAGE_PSE)) {
			spin_unlock(*ptlp);
			return NULL;	/* split meanwhile: take the slow path */
		}
		*pfn_off = (va & ~PMD_MASK) >> PAGE_SHIFT;
		return &pmd->pmd;
	}
	pte = pte_offset_map_lock(mm, pmd, va, ptlp);
	if (!pte)
		return NULL;
	*pfn_off = 0;
	return &pte->pte;
}

static uint64_t *frame_word(uint64_t entry, unsigned long pfn_off,
			    unsigned long va, struct page **pagep)
{
	unsigned long pfn = ((entry & _PAGE_PFN_MASK) >> PAGE_SHIFT) + pfn_off;

	*pagep = pfn_to_page(pfn);
	return __mmn_page_data(*pagep) + ((va & ~PAGE_MASK) >> 3);
}

/* The page-fault handler.  Returns 0 (retry the access) or -errno. */
static int do_user_addr_fault(struct mm_struct *mm, unsigned long va, bool write)
{
	struct vm_area_struct *vma;
	int fault;

	mmap_read_lock(mm);
	vma = find_vma(mm, va);
	if (!vma || va < vma->vm_start)
		goto bad_area;
	/* access_error() */
	if (write ? !(vma->vm_flags & VM_WRITE) : !vma_is_accessible(vma))
		goto bad_area;
	fault = handle_mm_fault(vma, va, write ? FAULT_FLAG_WRITE : 0);
	mmap_read_unlock(mm);
	if (fault & VM_FAULT_OOM)
		return -ENOMEM;
	if (fault & VM_FAULT_ERROR)
		return -EFAULT;
	return 0;
bad_area:
	mmap_read_unlock(mm);
	return -EFAULT;
}

int mmn_load(struct mm_struct *mm, unsigned long va, uint64_t *val)
{
	if (va & 7)
		return -EINVAL;
	for (;;) {
		unsigned long pfn_off;
		spinlock_t *ptl;
		uint64_t *leaf, entry;
		int err;

		mmn_sched_point(MMN_SP_CPU_ACCESS, mm);
		leaf = walk_lock_leaf(mm, va, &ptl, &pfn_off);
		if (leaf) {
			entry = __atomic_load_n(leaf, __ATOMIC_RELAXED);
			if (entry & _PAGE_PRESENT) {
				struct page *page;
				uint64_t *word = frame_word(entry, pfn_off, va, &page);
				uint64_t v;

				/* the load, atomic with the checker's ghost */
				mmn_check_cpu_access(mm, va, page, word, false, &v);
				__mmn_hw_set_ad(leaf, _PAGE_ACCESSED);
				spin_unlock(ptl);
				*val = v;
				return 0;
			}
			spin_unlock(ptl);
		}
		err = do_user_addr_fault(mm, va, false);
		if (err)
			return err;
	}
}

int mmn_store(struct mm_struct *mm, unsigned long va, uint64_t val)
{
	if (va & 7)
		return -EINVAL;
	for (;;) {
		unsigned long pfn_off;
		spinlock_t *ptl;
		uint64_t *leaf, entry;
		int err;

		mmn_sched_point(MMN_SP_CPU_ACCESS, mm);
		leaf = walk_lock_leaf(mm, va, &ptl, &pfn_off);
		if (leaf) {
			entry = __atomic_load_n(leaf, __ATOMIC_RELAXED);
			if ((entry & (_PAGE_PRESENT | _PAGE_RW)) ==
			    (_PAGE_PRESENT | _PAGE_RW)) {
				struct page *page;
				uint64_t *word = frame_word(entry, pfn_off, va, &page);

				/* the store, atomic with the checker's ghost */
				mmn_check_cpu_access(mm, va, page, word, true, &val);
				__mmn_hw_set_ad(leaf, _PAGE_ACCESSED | _PAGE_DIRTY);
				spin_unlock(ptl);
				return 0;
			}
			spin_unlock(ptl);
		}
		err = do_user_addr_fault(mm, va, true);
		if (err)
			return err;
	}
}

/*
 * The same lookup without the PT lock, as a hardware walker or GRU's
 * atomic_pte_lookup() reads the page table: one atomic read of the leaf.
 */
int mmn_follow_pte_lockless(struct mm_struct *mm, unsigned long va,
			    unsigned long *pfn, bool *writable)
{
	pmd_t *pmd = mm_find_pmd(mm, va);
	spinlock_t *ptl;
	uint64_t entry;
	pmd_t pmdval;
	pte_t *pte;

	if (!pmd)
		return -ENOENT;
	pmdval = pmdp_get(pmd);
	if (pmd_none(pmdval))
		return -ENOENT;
	if (pmdval.pmd & _PAGE_PSE) {
		entry = pmdval.pmd;
		if (!(entry & _PAGE_PRESENT))
			return -ENOENT;
		*pfn = ((entry & _PAGE_PFN_MASK) >> PAGE_SHIFT) +
		       ((va & ~PMD_MASK) >> PAGE_SHIFT);
		*writable = entry & _PAGE_RW;
		return 0;
	}
	pte = pte_offset_map_nolock(mm, pmd, va, &ptl);
	if (!pte)
		return -ENOENT;
	entry = __atomic_load_n(&pte->pte, __ATOMIC_RELAXED);
	if (!(entry & _PAGE_PRESENT))
		return -ENOENT;
	*pfn = (entry & _PAGE_PFN_MASK) >> PAGE_SHIFT;
	*writable = entry & _PAGE_RW;
	return 0;
}

int mmn_follow_pte(struct mm_struct *mm, unsigned long va, unsigned long *pfn,
		   bool *writable)
{
	unsigned long pfn_off;
	spinlock_t *ptl;
	uint64_t *leaf, entry;

	leaf = walk_lock_leaf(mm, va, &ptl, &pfn_off);
	if (!leaf)
		return -ENOENT;
	entry = __atomic_load_n(leaf, __ATOMIC_RELAXED);
	spin_unlock(ptl);
	if (!(entry & (_PAGE_PRESENT | _PAGE_PROTNONE)))
		return -ENOENT;
	if (pfn)
		*pfn = ((entry & _PAGE_PFN_MASK) >> PAGE_SHIFT) + pfn_off;
	if (writable)
		*writable = entry & _PAGE_RW;
	return 0;
}
