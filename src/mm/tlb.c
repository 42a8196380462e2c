// SPDX-License-Identifier: GPL-2.0
/*
 * TLB flushes and the mmu_gather (arch/x86/mm/tlb.c flush_tlb_mm_range(),
 * mm/mmu_gather.c, include/asm-generic/tlb.h).
 *
 * The lab's CPUs have no TLB of their own (access.c walks the page table
 * on every access), so a flush is only what the secondary MMUs see of it:
 *
 *   era 6.12  flush_tlb_mm_range() ends with
 *             mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end),
 *             as x86 does since 6.6; flush_tlb_mm() flushes [0, ULONG_MAX).
 *             Called wherever the CPU flush is: under the PT lock from
 *             ptep_clear_flush(), after range_end from tlb_finish_mmu().
 *   era 6.1   invalidate_range is called from the *_clear_flush_notify
 *             helpers (pgtable.c), range_end (the core) and the gather
 *             flush (tlb_flush_mmu_tlbonly below), not from here.
 *   2.6.33    nothing from the flush itself (invalidate_page from
 *             ptep_clear_flush_notify, range start/end around the zap).
 *
 * mmu_gather: zap defers the put_page() of every page it unmapped and the
 * freeing of page tables; tlb_finish_mmu() first flushes the gathered
 * range, THEN puts the pages and frees the tables.  With the notifier
 * calls of unmap_vmas()/zap_page_range_single() inside the gather, that is
 * Linux's "F and page freeing after E".  The page array grows instead of
 * forcing an early flush when a batch fills (Linux does flush early then,
 * inside the range, for very large zaps).
 */
#include <stdlib.h>

#include "mm/internal.h"

void flush_tlb_mm_range(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	__atomic_fetch_add(&mm->nr_tlb_flushes, 1, __ATOMIC_RELAXED);
	switch (mmn_era) {
	case MMN_ERA_6_12:
		mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end);
		break;
	case MMN_ERA_6_1:
	case MMN_ERA_2_6_33:
	default:
		/* the legacy eras notify from elsewhere (see above) */
		break;
	}
}

void flush_tlb_page(struct vm_area_struct *vma, unsigned long addr)
{
	addr &= PAGE_MASK;
	flush_tlb_mm_range(vma->vm_mm, addr, addr + PAGE_SIZE);
}

/*
 * x86 flush_tlb_range(): stride PAGE_SHIFT, and more than
 * tlb_single_page_flush_ceiling (33) pages become a full flush, which the
 * secondary TLBs hear as [0, ULONG_MAX) -- the real 6.12 trace of a THP
 * split or collapse (pmdp_invalidate / pmdp_collapse_flush, 512 pages).
 */
#define TLB_SINGLE_PAGE_FLUSH_CEILING	33

void flush_tlb_range(struct vm_area_struct *vma, unsigned long start, unsigned long end)
{
	if ((end - start) >> PAGE_SHIFT > TLB_SINGLE_PAGE_FLUSH_CEILING) {
		start = 0;
		end = ULONG_MAX;
	}
	flush_tlb_mm_range(vma->vm_mm, start, end);
}

void flush_tlb_mm(struct mm_struct *mm)
{
	flush_tlb_mm_range(mm, 0, ULONG_MAX);
}

/* ---- mmu_gather ---------------------------------------------------- */

static void __tlb_reset_range(struct mmu_gather *tlb)
{
	if (tlb->fullmm) {
		tlb->start = 0;
		tlb->end = ULONG_MAX;
	} else {
		tlb->start = ULONG_MAX;
		tlb->end = 0;
	}
}

static void __tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm,
			     bool fullmm)
{
	tlb->mm = mm;
	tlb->fullmm = fullmm;
	tlb->pages = NULL;
	tlb->nr_pages = tlb->max_pages = 0;
	tlb->tables = NULL;
	tlb->nr_tables = tlb->max_tables = 0;
	__tlb_reset_range(tlb);
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	__tlb_gather_mmu(tlb, mm, false);
}

void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm)
{
	__tlb_gather_mmu(tlb, mm, true);
}

void tlb_flush_pte_range(struct mmu_gather *tlb, unsigned long addr, unsigned long size)
{
	if (tlb->fullmm)
		return;
	tlb->start = min(tlb->start, addr);
	tlb->end = max(tlb->end, addr + size);
}

void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb)
{
	if (!tlb->end)
		return;
	if (tlb->fullmm)
		flush_tlb_mm(tlb->mm);
	else
		flush_tlb_mm_range(tlb->mm, tlb->start, tlb->end);
	/* era: 6.1's tlb_flush_mmu_tlbonly() tells the secondary TLBs
	 * (fullmm: exit, whose notifiers are released already) */
	if (mmn_era == MMN_ERA_6_1 && !tlb->fullmm)
		mmu_notifier_invalidate_range(tlb->mm, tlb->start, tlb->end);
	__tlb_reset_range(tlb);
}

static void tlb_flush_mmu_free(struct mmu_gather *tlb)
{
	for (unsigned int i = 0; i < tlb->nr_pages; i++) {
		/* free_pages_and_swap_cache(): an unmapped swap-cache page
		 * whose slot nobody names leaves the cache too */
		free_swap_cache(tlb->pages[i]);
		put_page(tlb->pages[i]);
	}
	tlb->nr_pages = 0;
	for (unsigned int i = 0; i < tlb->nr_tables; i++)
		pgtable_free(tlb->tables[i]);
	tlb->nr_tables = 0;
}

/* Flush now, and free what was gathered: for an allocation failure. */
static void tlb_flush_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu_tlbonly(tlb);
	tlb_flush_mmu_free(tlb);
}

static bool grow(void *arrayp, unsigned int *max, size_t elem)
{
	void **array = arrayp;
	unsigned int n = *max ? *max * 2 : 64;
	void *p = realloc(*array, n * elem);

	if (!p)
		return false;
	*array = p;
	*max = n;
	return true;
}

/* The pte was cleared and the rmap dropped; the reference goes after the flush. */
void tlb_remove_page(struct mmu_gather *tlb, struct page *page)
{
	if (tlb->nr_pages == tlb->max_pages &&
	    !grow(&tlb->pages, &tlb->max_pages, sizeof(*tlb->pages))) {
		/* no memory to defer: flush early, as a full batch does */
		tlb_flush_mmu(tlb);
		put_page(page);
		return;
	}
	tlb->pages[tlb->nr_pages++] = page;
}

void tlb_remove_table(struct mmu_gather *tlb, struct pgtable *table)
{
	if (tlb->nr_tables == tlb->max_tables &&
	    !grow(&tlb->tables, &tlb->max_tables, sizeof(*tlb->tables))) {
		tlb_flush_mmu(tlb);
		pgtable_free(table);
		return;
	}
	tlb->tables[tlb->nr_tables++] = table;
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu(tlb);
	free(tlb->pages);
	free(tlb->tables);
	tlb->pages = NULL;
	tlb->tables = NULL;
	tlb->max_pages = tlb->max_tables = 0;
}
