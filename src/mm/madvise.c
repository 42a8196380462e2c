// SPDX-License-Identifier: GPL-2.0
/*
 * madvise() (mm/madvise.c): MADV_DONTNEED for now.
 *
 * mmap_lock held for read.  For each VMA in the range
 * (madvise_walk_vmas), zap_page_range_single() over
 * [max(start, vm_start), min(end, vm_end)), each with its own gather:
 *   tlb_gather_mmu -> S(CLEAR, that range) -> zap (PTL per table) -> E ->
 *   tlb_finish_mmu (F, then the pages are freed).
 * Holes in the range give -ENOMEM after the mapped parts were advised.
 * Afterwards private anonymous memory reads as zero (the next fault maps the
 * zero page); shared anonymous memory keeps its data in the shmem object.
 */
#include "mm/internal.h"

static int madvise_dontneed_single_vma(struct vm_area_struct *vma,
				       unsigned long start, unsigned long end)
{
	if (vma->vm_flags & VM_PFNMAP)
		return -EINVAL;
	zap_page_range_single(vma, start, end - start);
	return 0;
}

int mmn_madvise(struct mm_struct *mm, unsigned long start, unsigned long len_in,
		int advice)
{
	unsigned long len, end, tmp;
	struct vm_area_struct *vma;
	int unmapped_error = 0, error = 0;

	switch (advice) {
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_COLLAPSE:
		/* VM flag updates under mmap_lock write; collapse takes its own */
		if ((start & ~PAGE_MASK) || start + PAGE_ALIGN(len_in) < start)
			return -EINVAL;
		if (advice == MADV_COLLAPSE)
			return madvise_collapse(mm, start, start + PAGE_ALIGN(len_in));
		return madvise_vma_flags(mm, start, start + PAGE_ALIGN(len_in), advice);
	}
	if (advice != MADV_DONTNEED && advice != MADV_FREE &&
	    advice != MADV_PAGEOUT)
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	len = PAGE_ALIGN(len_in);
	if (len_in && !len)
		return -EINVAL;
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	mmap_read_lock(mm);
	vma = find_vma(mm, start);
	for (;;) {
		if (!vma) {
			error = -ENOMEM;
			break;
		}
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		tmp = min(vma->vm_end, end);
		/* MADV_FREE and MADV_PAGEOUT: vmscan.c */
		if (advice == MADV_FREE)
			error = madvise_free_vma(vma, start, tmp);
		else if (advice == MADV_PAGEOUT)
			error = madvise_pageout_vma(vma, start, tmp);
		else
			error = madvise_dontneed_single_vma(vma, start, tmp);
		if (error)
			break;
		start = tmp;
		if (start >= end)
			break;
		vma = find_vma(mm, start);
	}
	mmap_read_unlock(mm);
	return error ? error : unmapped_error;
}
