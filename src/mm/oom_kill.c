// SPDX-License-Identifier: GPL-2.0
/*
 * The OOM reaper (mm/oom_kill.c oom_reap_task_mm(), __oom_reap_task_mm()).
 *
 * Runs on a victim that is dying but may still hold mmap_lock somewhere:
 * it only tries the lock (mmap_read_trylock; failure: -EAGAIN, the caller
 * retries, as oom_reap_task() does up to MAX_OOM_REAP_RETRIES times).
 * MMF_UNSTABLE is set first (a later fault of the victim must not trust
 * what it reads); then for each private VMA (anonymous or a private file
 * mapping; VM_PFNMAP/VM_IO skipped, shared memory left to exit):
 *   tlb_gather_mmu -> S(UNMAP, [vm_start, vm_end)) NON-BLOCKABLE
 *   (mmu_notifier_invalidate_range_start_nonblock) ->
 *     -EAGAIN from a subscriber: tlb_finish_mmu, the VMA is skipped, and
 *     the caller calls NO range_end (the notifier core unwinds the
 *     subscribers that had succeeded);
 *     else: zap the VMA (unmap_page_range) -> E (non-blockable) ->
 *     tlb_finish_mmu (F and the frees after E).
 * MMF_OOM_SKIP once every VMA was reaped (exit_mmap sets it as well).
 * Linux 6.1 and 6.12 both use UNMAP here (real-kernel.md: blockable=0,
 * one start/end per VMA, from the oom_reaper kthread).
 */
#include "mm/internal.h"

int mmn_oom_reap(struct mm_struct *mm)
{
	bool ret = true;

	/* era: the reaper came with 4.6 (and its non-blocking notifier
	 * calls with 4.19); 2010's OOM killer left the memory to exit */
	if (mmn_era == MMN_ERA_2_6_33)
		return -ENOSYS;
	if (!mmap_read_trylock(mm))
		return -EAGAIN;
	if (READ_ONCE(mm->flags) & (1UL << MMF_OOM_SKIP)) {
		mmap_read_unlock(mm);
		return 0;
	}
	__atomic_fetch_or(&mm->flags, 1UL << MMF_UNSTABLE, __ATOMIC_RELAXED);
	for (int i = 0; i < mm->map_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];
		struct mmu_notifier_range range;
		struct mmu_gather tlb;

		if (vma->vm_flags & (VM_PFNMAP | VM_IO))
			continue;
		/* only what nobody else can see: private memory */
		if (!vma_is_anonymous(vma) && (vma->vm_flags & VM_SHARED))
			continue;
		mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm,
					vma->vm_start, vma->vm_end);
		tlb_gather_mmu(&tlb, mm);
		if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
			tlb_finish_mmu(&tlb);
			ret = false;
			continue;
		}
		unmap_page_range(&tlb, vma, range.start, range.end);
		mmu_notifier_invalidate_range_end(&range);
		tlb_finish_mmu(&tlb);
	}
	mmap_read_unlock(mm);
	if (!ret)
		return -EAGAIN;
	__atomic_fetch_or(&mm->flags, 1UL << MMF_OOM_SKIP, __ATOMIC_RELAXED);
	return 0;
}
