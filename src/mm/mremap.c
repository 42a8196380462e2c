// SPDX-License-Identifier: GPL-2.0
/*
 * mremap() (mm/mremap.c: do_mremap, vma_expandable, move_vma,
 * move_page_tables, move_ptes; mm/vma.c copy_vma).
 *
 * mmap_lock held for write throughout.
 *   shrink: do_munmap of the tail (UNMAP, as munmap);
 *   grow in place when the gap above allows: the VMA's end moves (under
 *     its rmap locks), no pte changes, no notifier;
 *   otherwise, with MREMAP_MAYMOVE (or to MREMAP_FIXED's address, after
 *   unmapping what was there), move_vma():
 *     copy_vma: a new VMA at the new address with the same pgoff for the
 *       moved part (page->index stays valid), the same anon_vmas (cloned)
 *       or file;
 *     move_page_tables(): S(UNMAP, [old, old + old_len)) -> per PMD
 *       extent, under the rmap locks (i_mmap and anon_vma write, Linux's
 *       need_rmap_locks case taken always) and both PT locks: each old
 *       pte get-and-cleared and set at the new address (swap and
 *       migration entries move as they are), the checker's ghost of the
 *       moved anon locations moved with them, and flush_tlb_range of the
 *       old extent BEFORE the PT locks are dropped (CVE-2018-18281: a
 *       flush after the unlock leaves a window in which another thread
 *       frees the page the stale TLB entry still maps) -> E;
 *     do_munmap of the old range: another UNMAP (nothing left to zap).
 * Real 6.1 trace of MAYMOVE grow: start/end UNMAP of the old range from
 * move_page_tables, then UNMAP from unmap_vmas via do_munmap.
 *
 * Not modelled: huge PMDs (moved whole in Linux: left to the THP layer;
 * warned and skipped here), MREMAP_DONTUNMAP, old_len == 0 duplication.
 */
#include "check/check.h"
#include "mm/internal.h"

static void take_rmap_locks(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		i_mmap_lock_write(vma->vm_file->f_mapping);
	if (vma->anon_vma)
		anon_vma_lock_write(vma->anon_vma);
}

static void drop_rmap_locks(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		anon_vma_unlock_write(vma->anon_vma);
	if (vma->vm_file)
		i_mmap_unlock_write(vma->vm_file->f_mapping);
}

static void move_ptes(struct vm_area_struct *vma, pmd_t *old_pmd,
		      unsigned long old_addr, unsigned long old_end,
		      struct vm_area_struct *new_vma, pmd_t *new_pmd,
		      unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long len = old_end - old_addr, new_start = new_addr;
	pte_t *old_pte, *new_pte, *old_start;
	spinlock_t *old_ptl, *new_ptl;
	bool force_flush = false;

	take_rmap_locks(vma);
	old_start = old_pte = pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl);
	if (!old_pte)
		goto out;
	new_pte = pte_offset_map_nolock(mm, new_pmd, new_addr, &new_ptl);
	if (!new_pte) {
		pte_unmap_unlock(old_pte, old_ptl);
		goto out;
	}
	if (new_ptl != old_ptl)
		spin_lock(new_ptl);	/* spin_lock_nested */
	for (unsigned long a = old_addr; a < old_end;
	     a += PAGE_SIZE, old_pte++, new_pte++, new_addr += PAGE_SIZE) {
		pte_t pte = ptep_get(old_pte);

		if (pte_none(pte))
			continue;
		pte = ptep_get_and_clear(mm, a, old_pte);
		/* a present pte may sit in a TLB: flush before unlocking */
		if (pte_present(pte))
			force_flush = true;
		set_pte_at(mm, new_addr, new_pte, pte);
	}
	/* the moved anon locations keep their values at the new address */
	if (!(vma->vm_flags & VM_SHARED))
		mmn_check_move_range(mm, old_addr, new_start, len);
	if (force_flush)
		flush_tlb_range(vma, old_end - len, old_end);
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	pte_unmap_unlock(old_start, old_ptl);
out:
	drop_rmap_locks(vma);
}

static void move_page_tables(struct vm_area_struct *vma, unsigned long old_addr,
			     struct vm_area_struct *new_vma, unsigned long new_addr,
			     unsigned long len)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long old_end = old_addr + len, extent;
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, old_addr, old_end);
	mmu_notifier_invalidate_range_start(&range);
	for (; old_addr < old_end; old_addr += extent, new_addr += extent) {
		pmd_t *old_pmd, *new_pmd;
		pmd_t pmdval;

		extent = pmd_addr_end(old_addr, old_end) - old_addr;
		extent = min(extent, pmd_addr_end(new_addr, new_addr + extent) - new_addr);
		old_pmd = mm_find_pmd(mm, old_addr);
		if (!old_pmd)
			continue;
		pmdval = pmdp_get(old_pmd);
		if (pmd_none(pmdval))
			continue;
		if (WARN_ON(pmd_trans_huge(pmdval)))
			continue;	/* move_huge_pmd: the THP layer */
		new_pmd = mm_alloc_pmd(mm, new_addr);
		if (!new_pmd || __pte_alloc(mm, new_pmd))
			break;		/* -ENOMEM: Linux moves back; not modelled */
		move_ptes(vma, old_pmd, old_addr, old_addr + extent, new_vma,
			  new_pmd, new_addr);
	}
	mmu_notifier_invalidate_range_end(&range);
}

/* copy_vma(): the VMA for [new_addr, new_addr + new_len). */
static struct vm_area_struct *copy_vma(struct vm_area_struct *vma,
				       unsigned long addr, unsigned long new_addr,
				       unsigned long new_len)
{
	struct vm_area_struct *new_vma = vm_area_dup(vma);

	if (!new_vma)
		return NULL;
	new_vma->vm_start = new_addr;
	new_vma->vm_end = new_addr + new_len;
	new_vma->vm_pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	if (anon_vma_clone(new_vma, vma)) {
		vm_area_free(new_vma);
		return NULL;
	}
	if (new_vma->vm_file) {
		get_file(new_vma->vm_file);
		i_mmap_lock_write(new_vma->vm_file->f_mapping);
		vma_interval_tree_insert(new_vma, new_vma->vm_file->f_mapping);
		i_mmap_unlock_write(new_vma->vm_file->f_mapping);
	}
	if (vma_link(vma->vm_mm, new_vma)) {
		if (new_vma->vm_file) {
			i_mmap_lock_write(new_vma->vm_file->f_mapping);
			vma_interval_tree_remove(new_vma, new_vma->vm_file->f_mapping);
			i_mmap_unlock_write(new_vma->vm_file->f_mapping);
		}
		unlink_anon_vmas(new_vma);
		remove_vma(new_vma);
		return NULL;
	}
	return new_vma;
}

static long move_vma(struct vm_area_struct *vma, unsigned long old_addr,
		     unsigned long old_len, unsigned long new_len,
		     unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new_vma;

	mmn_check_reset_range(mm, new_addr, new_addr + new_len);
	new_vma = copy_vma(vma, old_addr, new_addr, new_len);
	if (!new_vma)
		return -ENOMEM;
	move_page_tables(vma, old_addr, new_vma, new_addr, old_len);
	/* the old range goes: split as needed, UNMAP, nothing left to zap */
	do_munmap_locked(mm, old_addr, old_addr + old_len);
	return (long)new_addr;
}

static bool vma_expandable(struct vm_area_struct *vma, unsigned long delta)
{
	struct vm_area_struct *next = find_vma(vma->vm_mm, vma->vm_end);
	unsigned long end = vma->vm_end + delta;

	if (end < vma->vm_end || end > TASK_SIZE)
		return false;
	return !next || next->vm_start >= end;
}

long mmn_mremap(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
		unsigned long new_len, int flags, unsigned long new_addr)
{
	struct vm_area_struct *vma;
	long ret;

	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	if (!new_len || !old_len)
		return -EINVAL;		/* old_len 0: shmem duplication, not modelled */
	if (flags & MREMAP_FIXED) {
		if (new_addr & ~PAGE_MASK || new_addr < MMAP_MIN_ADDR ||
		    new_addr > TASK_SIZE - new_len)
			return -EINVAL;
		if (new_addr < addr + old_len && addr < new_addr + new_len)
			return -EINVAL;		/* overlapping */
	}

	mmap_write_lock(mm);
	if (flags & MREMAP_FIXED) {
		/* mremap_to(): the target is unmapped first */
		ret = do_munmap_locked(mm, new_addr, new_addr + new_len);
		if (ret)
			goto out;
		if (old_len > new_len) {
			ret = do_munmap_locked(mm, addr + new_len, addr + old_len);
			if (ret)
				goto out;
			old_len = new_len;
		}
		vma = vma_lookup(mm, addr);
		if (!vma || addr + old_len > vma->vm_end) {
			ret = -EFAULT;
			goto out;
		}
		ret = move_vma(vma, addr, old_len, new_len, new_addr);
		goto out;
	}
	if (old_len >= new_len) {
		ret = do_munmap_locked(mm, addr + new_len, addr + old_len);
		if (!ret)
			ret = (long)addr;
		goto out;
	}
	vma = vma_lookup(mm, addr);
	if (!vma || addr + old_len > vma->vm_end) {
		ret = -EFAULT;
		goto out;
	}
	if (addr + old_len == vma->vm_end &&
	    vma_expandable(vma, new_len - old_len)) {
		/* vma_expand(): only the bounds change */
		mmn_check_reset_range(mm, vma->vm_end, addr + new_len);
		take_rmap_locks(vma);
		vma->vm_end = addr + new_len;
		drop_rmap_locks(vma);
		ret = (long)addr;
		goto out;
	}
	ret = -ENOMEM;
	if (!(flags & MREMAP_MAYMOVE))
		goto out;
	new_addr = get_unmapped_area(mm, 0, new_len);
	if (IS_ERR_VALUE(new_addr)) {
		ret = (long)new_addr;
		goto out;
	}
	ret = move_vma(vma, addr, old_len, new_len, new_addr);
out:
	MM_CHECK(1, mm_vmas_valid(mm));
	MM_CHECK(2, mm_pgtables_valid(mm));
	mmap_write_unlock(mm);
	return ret;
}
