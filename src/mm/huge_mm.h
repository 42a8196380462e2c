/* SPDX-License-Identifier: GPL-2.0 */
/*
 * THP interfaces beyond internal.h's THP block (Linux's
 * include/linux/huge_mm.h): the huge zero page, splitting a compound page
 * (split_folio) for reclaim and migration, and the era 2.6.33 (2.6.38)
 * pmd notifier helpers.  Implemented in huge_memory.c.
 */
#ifndef MMN_MM_HUGE_MM_H
#define MMN_MM_HUGE_MM_H

#include "mm/internal.h"

/* mm->flags bit (after mm_types.h's MMF_*): the mm holds one reference on
 * the huge zero page (huge_zero_refcount), dropped at exit */
#define MMF_HUGE_ZERO_PAGE	5

/* Per-run reset (mmn_mem_init): no huge zero page, no reference. */
void __mmn_thp_init(void);

/* ---- the huge zero page ----------------------------------------------- */

/* The huge zero page's head pfn, or ~0UL while there is none. */
unsigned long huge_zero_pfn_read(void);
static inline bool is_huge_zero_pfn(unsigned long pfn)
{
	return pfn == huge_zero_pfn_read();
}
static inline bool is_huge_zero_pmd(pmd_t pmd)
{
	return pmd_trans_huge(pmd) && is_huge_zero_pfn(pmd_pfn(pmd));
}
/* Any of its 512 frames (a GUP of one subpage, a device translation). */
bool is_huge_zero_page(struct page *page);
/*
 * mm_get_huge_zero_folio(): the huge zero page, allocated (order 9, zeroed)
 * on first use, with one reference for @mm taken once (MMF_HUGE_ZERO_PAGE)
 * and kept until exit.  NULL: no free order-9 block.  May sleep (the
 * allocation and a retry while it is being freed); never does when the
 * page exists and another mm holds it (copy_huge_pmd, under PMD locks).
 */
struct page *mm_get_huge_zero_page(struct mm_struct *mm);
/*
 * exit (free_pgtables, after the zap): @mm's reference goes; if it was the
 * last, the page is freed as the shrinker would, through @tlb (after the
 * final flush).  Nothing can map it any more: every mapping mm holds one.
 */
void mm_put_huge_zero_page(struct mmu_gather *tlb, struct mm_struct *mm);

/* ---- compound pages ------------------------------------------------- */

static inline bool PageTransCompound(struct page *page)
{
	return PageFlag(page, PG_head) || PageFlag(page, PG_tail);
}

/*
 * split_huge_page_to_list(): split the anonymous THP @head (locked, one
 * reference held by the caller) into 512 order-0 pages, mapped where the
 * subpages were.  6.12's split_huge_page_to_list_to_order() for anon:
 * anon_vma write lock; no extra reference (GUP pin, driver) else -EAGAIN
 * before anything changes; unmap_folio(): per VMA, the PMD split with
 * freeze (its own CLEAR 2M: migration entries at once) and
 * try_to_migrate_one() over the folio's part of the VMA (CLEAR; present
 * ptes: clear + flush + migration entry); refcount frozen, the compound
 * page split (tails locked, each pinning the anon_vma), remap_page() (the
 * migration entries become ptes, no notifier), tails unlocked.  With
 * @tails (511 slots), every tail comes back referenced (as isolated for
 * the caller's list), else its reference goes.  The caller keeps the head
 * (page 0) locked and referenced.  0, -EAGAIN or -EBUSY.
 */
int split_huge_page_to_list(struct page *head, struct page **tails);

/*
 * 2.6.38's pmdp_clear_flush_notify() (era 2.6.33): S(CLEAR, [haddr, +2M)),
 * the PMD cleared, F, E -- all under the caller's page_table_lock, so the
 * callbacks run in atomic context.  Returns the old PMD.
 */
pmd_t pmdp_clear_flush_notify(struct vm_area_struct *vma, unsigned long haddr,
			      pmd_t *pmdp);

#endif /* MMN_MM_HUGE_MM_H */
