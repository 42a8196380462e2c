// SPDX-License-Identifier: GPL-2.0
/*
 * Truncate and hole punch (mm/truncate.c truncate_pagecache(),
 * truncate_inode_pages_range(); mm/memory.c unmap_mapping_range();
 * mm/shmem.c shmem_setattr() and shmem_fallocate(PUNCH_HOLE)).
 *
 * ftruncate to a smaller size, under invalidate_lock (write: no fault can
 * create a page meanwhile), in shmem_setattr()'s order:
 *   i_size lowered (faults beyond it get SIGBUS from now on);
 *   unmap_mapping_range(holebegin, to the end): under i_mmap_rwsem (read;
 *     era 2.6.33: the i_mmap_lock spinlock, see below),
 *     for every VMA mapping part of the hole, zap_page_range_single():
 *     tlb_gather_mmu -> S(CLEAR, that part of the VMA) -> zap (PTL per
 *     table) -> E -> tlb_finish_mmu (F and the pte references put after
 *     E);
 *   truncate_inode_pages(): per page, locked: still mapped (a racing fault
 *     mapped it) -> unmap_mapping_folio (one more CLEAR of that page per
 *     VMA); out of i_pages, ->mapping cleared, the slot's reference put;
 *     the tail of a partial last page zeroed;
 *   unmap_mapping_range() again (private COWed pages in Linux; here it
 *     finds nothing, but notifies all the same, as the real trace shows);
 *   the checker's file locations of the hole start over at zero
 *     (mmn_check_reset_file).
 * Growing only raises i_size: the new part reads zeros.
 *
 * Hole punch (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE): one unmap pass over the
 * whole pages of the hole, the partial pages at its edges zeroed, the
 * whole pages removed as above.
 *
 * Real 6.1 (tmpfs): ftruncate 8 -> 2 pages of a one-VMA mapping gives two
 * (interval +) start/end CLEAR of 0x6000; a punched page one CLEAR of
 * 0x1000.  (6.1 also flushes under the PTL when a dirty shared pte is
 * zapped, force_flush; the lab flushes after E from the gather.)
 *
 * Era 2.6.33 (mm/memory.c of 2.6.33: unmap_mapping_range(),
 * unmap_mapping_range_tree(), unmap_mapping_range_vma()).  i_mmap_lock is
 * a spinlock (shmem.c), held over the whole walk except at a lock break;
 * the target mm's mmap_lock is not held.  Per VMA, zap_page_range() ->
 * unmap_vmas() (memory.c zap_page_range_2_6_33): S and E once for the
 * VMA's part of the hole, the zap in ZAP_BLOCK_SIZE chunks, all atomic.
 * When need_resched() or spin_needbreak() is true after a chunk (the lab:
 * mmn_truncate_knobs.break_every), the zap stops and the walk breaks:
 *
 *   truncating task (invalidate_lock)       the VMA's state
 *   ---------------------------------       ---------------
 *   i_mmap_lock; truncate_count++ (T)
 *   walk: VMA with vm_truncate_count != T
 *     S [a, e)                              vm_truncate_count: old
 *     zap [a, r) in chunks; need_break
 *     E [a, e)   (the whole range)
 *                                           vm_truncate_count = r (page
 *                                             aligned: a restart address)
 *   unlock i_mmap_lock; cond_resched()      (munmap, fork, a fault may run)
 *   lock i_mmap_lock; restart the walk
 *   same VMA: starts at r
 *     S [r, e); zap [r, e); E [r, e)        vm_truncate_count = T (done)
 *   VMAs already at T are skipped
 *   unlock i_mmap_lock
 *
 * So one VMA can get several S/E pairs over shrinking sub-ranges of the
 * hole, and E of a pair covers more than was zapped before it.  A VMA
 * created during a break has vm_truncate_count 0 and is zapped too (Linux
 * sets it to truncate_count in vma_link(): skipped; it maps nothing of the
 * hole anyway, i_size being already lowered).
 *
 * Era option 2.6.33+holt: S takes atomic = true here, and a refusal makes
 * the walk redo S/E for that VMA's range outside the lock and restart
 * (unmap_mapping_range_vma_holt_retry()).
 */
#include <mmn/linux/sched.h>

#include "check/check.h"
#include "mm/internal.h"

/* ---- era 2.6.33 ---------------------------------------------------- */

/* A page-aligned vm_truncate_count is a restart address, not a count. */
static inline bool is_restart_addr(unsigned long truncate_count)
{
	return !(truncate_count & ~PAGE_MASK);
}

/* i_mmap_lock held */
static void reset_vma_truncate_counts(struct address_space *mapping)
{
	struct vm_area_struct *vma;

	list_for_each_entry(vma, &mapping->i_mmap, shared)
		vma->vm_truncate_count = 0;
}

/*
 * Era 2.6.33+holt (Robin Holt's RFP-V2 3/3, with the mm_count pin of his
 * later variant): a notifier refused the atomic range_start of
 * [start, end) of @vma; nothing was zapped and range_end was called.  Redo
 * start (atomic = false) and end outside i_mmap_lock, where they may
 * sleep, then restart the walk.  Held on entry and on return:
 * details->mapping's i_mmap_lock; dropped in between.
 *
 *   truncating task                        a refusing driver (XPMEM)
 *   ---------------                        -------------------------
 *   i_mmap_lock held
 *   S(atomic = 1) [a, e)                   a page of [a, e) is attached:
 *                                            return 1, invalidate nothing
 *   no zap; E [a, e)
 *   mm = vma->vm_mm; mmgrab(mm)
 *   unlock i_mmap_lock                     (the VMA may now be unmapped
 *                                            and freed: Andrea's objection)
 *   S(atomic = 0) [a, e) of mm             mutex; zap the attachers' ptes,
 *                                            unpin; return 0
 *   E [a, e); mmdrop(mm); cond_resched()
 *   lock i_mmap_lock; -EINTR: restart the walk
 *   S(atomic = 1) [a, e)                   nothing attached: return 0
 *   zap [a, e); E [a, e)
 *
 * The v2 posting read vma->vm_mm after the unlock, with no pin: the VMA
 * and the mm could both be gone by then (mmn_truncate_knobs.
 * holt_v2_unpinned reproduces it).  The pin, taken while the lock
 * still holds the VMA, keeps the struct mm (and its notifier
 * subscriptions, freed by __mmdrop) alive across the retry; a retry on an
 * mm that exited meanwhile finds its notifiers released.
 */
static int unmap_mapping_range_vma_holt_retry(struct vm_area_struct *vma,
					      unsigned long start,
					      unsigned long end,
					      struct zap_details *details)
{
	struct address_space *mapping = details->mapping;
	bool pin = !mmn_truncate_knobs.holt_v2_unpinned;
	struct mmu_notifier_range range;
	struct mm_struct *mm = NULL;

	details->refused = false;
	if (pin) {
		mm = vma->vm_mm;
		mmgrab(mm);
	}
	i_mmap_unlock_read(mapping);
	/* @vma must not be touched from here on ... */
	if (!pin)
		mm = vma->vm_mm;	/* BROKEN: ... as v2 did */
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start_atomic(&range, false);
	mmu_notifier_invalidate_range_end(&range);
	if (pin)
		mmdrop(mm);
	cond_resched();
	details->need_break = false;	/* we scheduled */
	i_mmap_lock_read(mapping);
	return -EINTR;
}

/*
 * Zap [start_addr, end_addr) of @vma, from where an earlier pass of this
 * call stopped.  Held: details->mapping's i_mmap_lock (spinlock; atomic),
 * dropped and retaken at a lock break, after which this returns -EINTR
 * and the caller restarts its walk (the VMA may be gone by then); else 0.
 */
static int unmap_mapping_range_vma(struct vm_area_struct *vma,
				   unsigned long start_addr,
				   unsigned long end_addr,
				   struct zap_details *details)
{
	struct address_space *mapping = details->mapping;
	unsigned long restart_addr;
	bool need_break;

again:
	restart_addr = vma->vm_truncate_count;
	if (is_restart_addr(restart_addr) && start_addr < restart_addr) {
		start_addr = restart_addr;
		if (start_addr >= end_addr) {
			/* the top of the VMA was split off since */
			vma->vm_truncate_count = details->truncate_count;
			return 0;
		}
	}

	restart_addr = zap_page_range_2_6_33(vma, start_addr,
					     end_addr - start_addr, details);
	/* +holt: refused, restart_addr == start_addr */
	if (details->refused)
		return unmap_mapping_range_vma_holt_retry(vma, start_addr,
							  end_addr, details);
	need_break = details->need_break;

	if (restart_addr >= end_addr) {
		/* this VMA is done: mark it so */
		vma->vm_truncate_count = details->truncate_count;
		if (!need_break)
			return 0;
	} else {
		/* note the restart address in the VMA */
		vma->vm_truncate_count = restart_addr;
		if (!need_break)
			goto again;
	}

	i_mmap_unlock_read(mapping);
	cond_resched();
	details->need_break = false;	/* we scheduled */
	i_mmap_lock_read(mapping);
	return -EINTR;
}

/* 2.6.33 unmap_mapping_range(): i_mmap_lock over the walk, breaks allowed. */
static void unmap_mapping_pages_2_6_33(struct address_space *mapping,
				       unsigned long first, unsigned long last)
{
	struct zap_details details = {
		.mapping = mapping,
		.first_index = first,
		.last_index = last,
	};
	struct vm_area_struct *vma;

	i_mmap_lock_read(mapping);
	/* protect against endless unmapping loops */
	mapping->truncate_count++;
	if (unlikely(is_restart_addr(mapping->truncate_count))) {
		if (mapping->truncate_count == 0)
			reset_vma_truncate_counts(mapping);
		mapping->truncate_count++;
	}
	details.truncate_count = mapping->truncate_count;
restart:
	/* unmap_mapping_range_tree(): the prio tree is a list here */
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		unsigned long vba = vma->vm_pgoff;
		unsigned long vea = vba + vma_pages(vma) - 1;
		unsigned long zba, zea;

		/* skip quickly over those we have already dealt with */
		if (vma->vm_truncate_count == details.truncate_count)
			continue;
		if (vea < first || vba > last)
			continue;
		zba = max(first, vba);
		zea = min(last, vea);
		if (unmap_mapping_range_vma(vma,
				vma->vm_start + ((zba - vba) << PAGE_SHIFT),
				vma->vm_start + ((zea - vba + 1) << PAGE_SHIFT),
				&details) < 0)
			goto restart;
	}
	i_mmap_unlock_read(mapping);
}

/* ---- all eras -------------------------------------------------------- */

/* Zap the pages [first, last] (inclusive) of @mapping in every VMA. */
static void unmap_mapping_pages(struct address_space *mapping,
				unsigned long first, unsigned long last)
{
	struct vm_area_struct *vma;

	/* era: 2.6.33 unmap_mapping_range() under the i_mmap_lock spinlock */
	if (mmn_era == MMN_ERA_2_6_33) {
		unmap_mapping_pages_2_6_33(mapping, first, last);
		return;
	}
	i_mmap_lock_read(mapping);
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		unsigned long vba = vma->vm_pgoff;
		unsigned long vea = vba + vma_pages(vma) - 1;
		unsigned long zba, zea;

		if (vea < first || vba > last)
			continue;
		zba = max(first, vba);
		zea = min(last, vea);
		zap_page_range_single(vma, vma->vm_start + ((zba - vba) << PAGE_SHIFT),
				      (zea - zba + 1) << PAGE_SHIFT);
	}
	i_mmap_unlock_read(mapping);
}

void unmap_mapping_range(struct address_space *mapping, unsigned long holebegin,
			 unsigned long holelen, int even_cows)
{
	unsigned long first = holebegin >> PAGE_SHIFT;
	unsigned long last = ULONG_MAX;

	/* even_cows: private COW copies too; the lab has no private file maps */
	if (holelen)
		last = first + (PAGE_ALIGN(holelen) >> PAGE_SHIFT) - 1;
	unmap_mapping_pages(mapping, first, last);
}

/* Remove the pages [start, end) from the page cache. */
static void truncate_inode_pages_range(struct address_space *mapping,
				       unsigned long start, unsigned long end)
{
	for (unsigned long index = start; index < end; index++) {
		struct page *page = NULL;
		bool removed = false;

		spin_lock(&mapping->i_pages_lock);
		if (index < mapping->nr_slots)
			page = mapping->i_pages[index];
		if (page)
			get_page(page);
		spin_unlock(&mapping->i_pages_lock);
		if (!page)
			continue;
		lock_page(page);
		if (READ_ONCE(page->mapping) == mapping) {
			/* truncate_cleanup_folio(): a racing fault mapped it */
			if (page_mapped(page))
				unmap_mapping_pages(mapping, index, index);
			spin_lock(&mapping->i_pages_lock);
			if (mapping->i_pages[index] == page) {
				mapping->i_pages[index] = NULL;
				mapping->nrpages--;
				removed = true;
			}
			spin_unlock(&mapping->i_pages_lock);
		}
		if (removed) {
			WRITE_ONCE(page->mapping, NULL);
			ClearPageDirty(page);
			__mmn_stat_add(MMN_STAT_FILE, -1);
			put_page(page);		/* the slot's reference */
		}
		unlock_page(page);
		put_page(page);
	}
}

/* Zero the bytes [from, to) of one page of the file, if it is cached. */
static void zero_partial_page(struct address_space *mapping, unsigned long from,
			      unsigned long to)
{
	unsigned long index = from >> PAGE_SHIFT;
	struct page *page = NULL;

	if (from >= to)
		return;
	spin_lock(&mapping->i_pages_lock);
	if (index < mapping->nr_slots)
		page = mapping->i_pages[index];
	if (page)
		get_page(page);
	spin_unlock(&mapping->i_pages_lock);
	if (!page)
		return;
	lock_page(page);
	if (READ_ONCE(page->mapping) == mapping) {
		/* folio_zero_range(), each word visible to the checker */
		for (unsigned long pos = from; pos < to; pos += 8) {
			uint64_t zero = 0;

			mmn_check_cpu_access(NULL, pos, page,
					     __mmn_page_data(page) + ((pos & ~PAGE_MASK) >> 3),
					     true, &zero);
		}
	}
	unlock_page(page);
	put_page(page);
}

int mmn_file_truncate(struct file *file, unsigned long size)
{
	struct address_space *mapping = file->f_mapping;
	unsigned long old, holebegin;
	int err = 0;

	if (size & 7)
		return -EINVAL;
	down_write(&mapping->invalidate_lock);
	old = i_size_read(mapping);
	if (size >= old) {
		err = filemap_grow(mapping, PAGE_ALIGN(size) >> PAGE_SHIFT);
		if (!err) {
			spin_lock(&mapping->i_pages_lock);
			i_size_write(mapping, size);
			spin_unlock(&mapping->i_pages_lock);
		}
		up_write(&mapping->invalidate_lock);
		return err;
	}
	spin_lock(&mapping->i_pages_lock);
	i_size_write(mapping, size);
	spin_unlock(&mapping->i_pages_lock);

	holebegin = PAGE_ALIGN(size);
	if (old > holebegin)
		unmap_mapping_range(mapping, holebegin, 0, 1);
	zero_partial_page(mapping, size, holebegin);
	truncate_inode_pages_range(mapping, holebegin >> PAGE_SHIFT,
				   PAGE_ALIGN(old) >> PAGE_SHIFT);
	/* again, for what raced with the first pass */
	if (old > holebegin)
		unmap_mapping_range(mapping, holebegin, 0, 1);
	mmn_check_reset_file(mapping, holebegin >> PAGE_SHIFT,
			     PAGE_ALIGN(old) >> PAGE_SHIFT);
	up_write(&mapping->invalidate_lock);
	return 0;
}

int mmn_file_punch_hole(struct file *file, unsigned long offset,
			unsigned long len)
{
	struct address_space *mapping = file->f_mapping;
	unsigned long end = offset + len, first, last;

	if ((offset | len) & 7 || end < offset)
		return -EINVAL;
	if (!len)
		return 0;
	first = PAGE_ALIGN(offset);		/* whole pages [first, last) */
	last = end & PAGE_MASK;
	down_write(&mapping->invalidate_lock);
	if (last > first)
		unmap_mapping_range(mapping, first, last - first, 0);
	if (last >= first) {
		zero_partial_page(mapping, offset, first);
		zero_partial_page(mapping, last, end);
	} else {
		zero_partial_page(mapping, offset, end);	/* inside one page */
	}
	if (last > first) {
		truncate_inode_pages_range(mapping, first >> PAGE_SHIFT,
					   last >> PAGE_SHIFT);
		mmn_check_reset_file(mapping, first >> PAGE_SHIFT,
				     last >> PAGE_SHIFT);
	}
	up_write(&mapping->invalidate_lock);
	return 0;
}
