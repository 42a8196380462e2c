// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim of anonymous pages and page aging (mm/vmscan.c
 * shrink_folio_list(), reclaim_pages(); mm/rmap.c try_to_unmap_one(),
 * folio_referenced_one(); mm/madvise.c MADV_PAGEOUT and MADV_FREE).
 *
 * Notation as memory.c: S = range_start, E = range_end, P = pte change,
 * F = TLB flush (6.12: also arch_invalidate_secondary_tlbs).
 *
 * shrink_folio_list() for one page, isolated (a reference) and locked:
 *   aging (unless ignored): folio_referenced(); referenced -> kept;
 *   add_to_swap(): a slot, the page in the swap cache, PageDirty;
 *   try_to_unmap(): rmap walk (anon_vma or i_mmap read lock, no mmap_lock),
 *     per mapping try_to_unmap_one():
 *       S(CLEAR, [addr, addr + PAGE_SIZE)) -> PTL -> ptep_clear_flush (P+F
 *       under the PTL; Linux may batch the flush, TTU_BATCH_FLUSH, not
 *       modelled) -> swap pte (swap count++, exclusive and soft-dirty
 *       bits carried) -> rmap removed, the pte's reference put -> PTL
 *       unlock -> E;
 *     a lazyfree (MADV_FREE) page instead is discarded if clean and only
 *     the isolation reference is extra (the location reads zero from now
 *     on: the checker's ghost is reset there), else remapped and kept;
 *   pageout(): dirty -> clear dirty, write the data to the slot
 *     (swap_writepage, synchronous).  Not a seal: see swapfile.c;
 *   __remove_mapping(): clean, unmapped, and only the isolation and cache
 *     references left -> out of the swap cache; the caller's put frees
 *     the frame (its generation changes: a device still using it now
 *     makes a use-after-free).  Any other reference (GUP, a device pin)
 *     or mmn_swap_keep_cache() keeps it in the swap cache.
 *
 * Aging, per era (real-kernel.md section 5):
 *   6.1 (and 2.6.33): folio_referenced() in shrink_folio_list, also for
 *     MADV_PAGEOUT: ptep_clear_flush_young_notify() per mapping, under the
 *     PTL: the primary accessed bit test-and-cleared (x86 does not flush
 *     here), then mmu_notifier_clear_flush_young();
 *   6.12: MADV_PAGEOUT ignores references; the MGLRU path of global
 *     reclaim uses lru_gen_look_around(): ptep_clear_young_notify() ->
 *     mmu_notifier_clear_young() (the look-around of the neighbouring ptes
 *     is not modelled).
 *
 * MADV_PAGEOUT (madvise_cold_or_pageout_pte_range), mmap_lock read, one
 * gather per VMA: per PTE table under its PTL, each private anon page
 * mapped only here is isolated; after the PTL, the isolated pages go
 * through shrink_folio_list.  6.1 first makes each young pte old (the
 * flush comes from tlb_finish_mmu, after the last E), so folio_referenced
 * sees only the secondaries' accessed bits; 6.12 (since 6.9, "pageout:
 * ignore references rather than clearing young") leaves the ptes alone
 * and reclaim ignores references: the recorded 6.12 trace has only the
 * per-page CLEARs.
 *
 * THPs (6.12 without THP swap-out, which the lab lacks): shrink_page()
 * ages a THP as a whole (a huge PMD: pmdp_clear_flush_young_notify, the
 * 2 MiB flushed if young, clear_flush_young over the 2 MiB), then
 * split_folio_to_list() (huge_memory.c: the PMD split with freeze, CLEAR
 * 2M; try_to_migrate_one's CLEAR; the compound page cut; the entries
 * mapped back) and reclaims the head, then each tail, as order-0 pages.
 * A THP with an extra reference (GUP) is not split: kept.  MADV_PAGEOUT
 * isolates a whole huge PMD, or a PTE-mapped THP the range maps entirely,
 * by its head; a THP the range covers in part is split in the walk (the
 * PT lock dropped) and its ptes looked at again; a THP another mm maps,
 * and the huge zero page, are left alone.
 *
 * MADV_FREE (madvise_free_single_vma): S(CLEAR, range in the VMA) -> per
 * pte under the PTL: swap entries freed (the location reads zero), clean
 * exclusive pages: pte made old and clean, page lazyfree -> E ->
 * tlb_finish_mmu (F after E).  A CPU write afterwards dirties the pte and
 * cancels the free at reclaim; a device write does not (Linux: only the
 * MMU's dirty bit or the driver's set_page_dirty() count).
 */
#include <stdlib.h>

#include "check/check.h"
#include "mm/huge_mm.h"
#include "mm/internal.h"

bool get_page_unless_zero(struct page *page)
{
	int ref = __atomic_load_n(&page->_refcount, __ATOMIC_RELAXED);

	while (ref > 0)
		if (__atomic_compare_exchange_n(&page->_refcount, &ref, ref + 1,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

/* ---- page aging ------------------------------------------------------------ */

/* The primary's accessed bit, test-and-clear (an atomic RMW: the MMU sets
 * it concurrently without the PTL). */
static bool ptep_test_and_clear_young(struct vm_area_struct *vma,
				      unsigned long addr, pte_t *ptep)
{
	mmn_sched_point(MMN_SP_PTE_WRITE, ptep);
	return __atomic_fetch_and(&ptep->pte, ~_PAGE_ACCESSED, __ATOMIC_RELAXED) &
	       _PAGE_ACCESSED;
}

/* x86's ptep_clear_flush_young(): no flush ("clearing the accessed bit
 * without a TLB flush doesn't cause data corruption"). */
static bool ptep_clear_flush_young_notify(struct vm_area_struct *vma,
					  unsigned long addr, pte_t *ptep)
{
	bool young = ptep_test_and_clear_young(vma, addr, ptep);

	young |= mmu_notifier_clear_flush_young(vma->vm_mm, addr, addr + PAGE_SIZE);
	return young;
}

static bool ptep_clear_young_notify(struct vm_area_struct *vma,
				    unsigned long addr, pte_t *ptep)
{
	bool young = ptep_test_and_clear_young(vma, addr, ptep);

	young |= mmu_notifier_clear_young(vma->vm_mm, addr, addr + PAGE_SIZE);
	return young;
}

/* One pte's accessed bits, primary and secondary, per era (PTL held). */
static bool pte_referenced(struct vm_area_struct *vma, unsigned long address,
			   pte_t *ptep)
{
	switch (mmn_era) {
	case MMN_ERA_6_12:
		/* MGLRU: lru_gen_look_around() */
		return ptep_clear_young_notify(vma, address, ptep);
	case MMN_ERA_6_1:
	case MMN_ERA_2_6_33:
	default:
		return ptep_clear_flush_young_notify(vma, address, ptep);
	}
}

/*
 * x86 pmdp_clear_flush_young_notify(), every era: the huge PMD's accessed
 * bit test-and-cleared, a flush of the 2 MiB if it was set (unlike a
 * pte's), then mmu_notifier_clear_flush_young() over the 2 MiB.  The PMD
 * lock is held.
 */
static bool pmdp_clear_flush_young_notify(struct vm_area_struct *vma,
					  unsigned long haddr, pmd_t *pmdp)
{
	bool young;

	mmn_sched_point(MMN_SP_PTE_WRITE, pmdp);
	young = __atomic_fetch_and(&pmdp->pmd, ~_PAGE_ACCESSED, __ATOMIC_RELAXED) &
		_PAGE_ACCESSED;
	if (young)
		flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
	young |= mmu_notifier_clear_flush_young(vma->vm_mm, haddr,
						haddr + HPAGE_PMD_SIZE);
	return young;
}

/* A THP's mappings in @vma from @address (its head's): the huge PMD, or
 * each pte still mapping one of its pages. */
static int folio_referenced_huge(struct page *head, struct vm_area_struct *vma,
				 unsigned long address)
{
	struct mm_struct *mm = vma->vm_mm;
	pmd_t *pmd = mm_find_pmd(mm, address);
	int referenced = 0;
	spinlock_t *ptl;
	pmd_t pmdval;

	if (!pmd)
		return 0;
	ptl = pmd_lock(mm, pmd);
	pmdval = pmdp_get(pmd);
	if (pmd_trans_huge(pmdval) && pmd_pfn(pmdval) == page_to_pfn(head)) {
		referenced = pmdp_clear_flush_young_notify(vma, address, pmd);
		spin_unlock(ptl);
		return referenced;
	}
	spin_unlock(ptl);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long addr = address + i * PAGE_SIZE;
		pte_t *ptep;

		if (addr >= vma->vm_end)
			break;
		ptep = page_vma_mapped_pte(head + i, vma, addr, &ptl);
		if (!ptep)
			continue;
		referenced += pte_referenced(vma, addr, ptep);
		pte_unmap_unlock(ptep, ptl);
	}
	return referenced;
}

static bool folio_referenced_one(struct page *page, struct vm_area_struct *vma,
				 unsigned long address, void *arg)
{
	int *referenced = arg;
	spinlock_t *ptl;
	pte_t *ptep;

	if (PageFlag(page, PG_head)) {
		*referenced += folio_referenced_huge(page, vma, address) > 0;
		return true;
	}
	ptep = page_vma_mapped_pte(page, vma, address, &ptl);
	if (!ptep)
		return true;
	if (pte_referenced(vma, address, ptep))
		(*referenced)++;
	pte_unmap_unlock(ptep, ptl);
	return true;
}

/* Page locked and referenced: how many mappings were accessed. */
int folio_referenced(struct page *page)
{
	int referenced = 0;
	struct rmap_walk_control rwc = {
		.arg = &referenced,
		.rmap_one = folio_referenced_one,
	};

	if (!page_mapped(page) && !(PageFlag(page, PG_head) && total_mapcount(page)))
		return 0;
	rmap_walk(page, &rwc);
	return referenced;
}

/* The page mapped at @va, referenced (NULL: none, or the zero page). */
static struct page *page_at(struct mm_struct *mm, unsigned long va,
			    bool *young)
{
	struct page *page = NULL;
	struct vm_area_struct *vma;
	spinlock_t *ptl;
	pte_t *ptep, pte;
	pmd_t *pmd;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, va);
	pmd = vma ? mm_find_pmd(mm, va) : NULL;
	ptep = pmd ? pte_offset_map_lock(mm, pmd, va, &ptl) : NULL;
	if (ptep) {
		pte = ptep_get(ptep);
		if (pte_present(pte)) {
			page = vm_normal_page(vma, va, pte);
			if (page)
				get_page(page);
			if (young)
				*young = pte_young(pte);
		}
		pte_unmap_unlock(ptep, ptl);
	}
	mmap_read_unlock(mm);
	return page;
}

int mmn_page_referenced(struct mm_struct *mm, unsigned long va)
{
	struct page *page = page_at(mm, va & PAGE_MASK, NULL);
	int referenced;

	if (!page)
		return -ENOENT;
	/* folio_referenced() without the caller's lock: as Linux, the
	 * page lock for the rmap walk, no mmap_lock */
	lock_page(page);
	referenced = folio_referenced(page);
	swap_drop_orphan(page);
	unlock_page(page);
	put_page(page);
	return referenced;
}

int mmn_page_test_young(struct mm_struct *mm, unsigned long va)
{
	struct vm_area_struct *vma;
	spinlock_t *ptl;
	pte_t *ptep;
	pmd_t *pmd;
	int young = -ENOENT;

	va &= PAGE_MASK;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, va);
	pmd = vma ? mm_find_pmd(mm, va) : NULL;
	ptep = pmd ? pte_offset_map_lock(mm, pmd, va, &ptl) : NULL;
	if (ptep) {
		pte_t pte = ptep_get(ptep);

		/* page_idle / khugepaged: the primary bit, or a secondary's */
		if (pte_present(pte))
			young = pte_young(pte) || mmu_notifier_test_young(mm, va);
		pte_unmap_unlock(ptep, ptl);
	}
	mmap_read_unlock(mm);
	return young;
}

/* ---- try_to_unmap ------------------------------------------------------------ */

static bool try_to_unmap_one(struct page *page, struct vm_area_struct *vma,
			     unsigned long address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	bool anon_exclusive, ret = true;
	pte_t *ptep, pteval;
	spinlock_t *ptl;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, address,
				address + PAGE_SIZE);
	/* era: 2.6.33: no range pair, invalidate_page under the PTL */
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_start(&range);
	ptep = page_vma_mapped_pte(page, vma, address, &ptl);
	if (!ptep)
		goto out;
	anon_exclusive = PageAnon(page) && PageAnonExclusive(page);
	/* P+F under the PTL: no TLB may keep the page once it can be freed */
	/* era: 6.1 invalidate_range, 2.6.33 invalidate_page, under the PTL */
	pteval = ptep_clear_flush_notify(vma, address, ptep);
	if (pte_dirty(pteval))
		SetPageDirty(page);

	if (PageAnon(page) && PageLazyFree(page)) {
		/* the isolation reference plus the mappings: nobody else */
		if (page_count(page) == 1 + page_mapcount(page) &&
		    !PageDirty(page)) {
			/* discard: the location reads zero from now on */
			mmn_check_reset_range(mm, address, address + PAGE_SIZE);
			goto discard;
		}
		/* redirtied: it cannot be discarded, map it back */
		set_pte_at(mm, address, ptep, pteval);
		ClearPageFlag(page, PG_lazyfree);
		ret = false;
		goto unlock;
	}
	if (PageAnon(page)) {
		swp_entry_t entry = { page->private };
		pte_t swp_pte;

		if (WARN_ON(!PageSwapCache(page)) || swap_duplicate(entry) < 0) {
			set_pte_at(mm, address, ptep, pteval);
			ret = false;
			goto unlock;
		}
		/* folio_try_share_anon_rmap_pte(): the exclusivity moves to
		 * the swap pte (pinned pages are not modelled) */
		if (anon_exclusive)
			ClearPageAnonExclusive(page);
		swp_pte = swp_entry_to_pte(entry);
		if (anon_exclusive)
			swp_pte = pte_swp_mkexclusive(swp_pte);
		if (pteval.pte & _PAGE_SOFT_DIRTY)
			swp_pte = pte_swp_mksoft_dirty(swp_pte);
		set_pte_at(mm, address, ptep, swp_pte);
	}
	/* a file page: the pte is simply gone, faults find the page cache */
discard:
	page_remove_rmap(page, vma);
	put_page(page);			/* the pte's reference */
unlock:
	pte_unmap_unlock(ptep, ptl);
out:
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_end(&range);
	return ret;
}

/* Page locked and referenced: unmap it everywhere; true if it is. */
static bool try_to_unmap(struct page *page)
{
	struct rmap_walk_control rwc = { .rmap_one = try_to_unmap_one };

	rmap_walk(page, &rwc);
	return !page_mapped(page);
}

/* ---- shrink_folio_list ----------------------------------------------------- */

bool reclaim_one_page(struct page *page, bool ignore_references)
{
	bool lazyfree;

	VM_WARN_ON(!PageLocked(page));
	/* file and shmem pages are not reclaimed in the lab; a THP goes
	 * through shrink_page() (split first), never one of its subpages */
	if (!PageAnon(page) || PageTransCompound(page) || PageFlag(page, PG_ksm))
		return false;
	if (!ignore_references && folio_referenced(page) > 0)
		return false;		/* FOLIOREF_ACTIVATE / KEEP */

	lazyfree = PageLazyFree(page);
	if (!lazyfree && !PageSwapCache(page) && add_to_swap(page))
		return false;		/* swap is full */
	if (page_mapped(page) && !try_to_unmap(page))
		return false;
	if (lazyfree && PageLazyFree(page)) {
		/* discarded everywhere: only the isolation reference left? */
		if (page_count(page) != 1)
			return false;
		ClearPageFlag(page, PG_lazyfree);
		return true;
	}
	if (PageDirty(page)) {
		/* pageout(): folio_clear_dirty_for_io(), then the write */
		ClearPageDirty(page);
		swap_writepage(page);
	}
	if (!PageSwapCache(page) || page_mapped(page) || PageDirty(page))
		return false;
	return __remove_mapping_swapcache(page);
}

/*
 * shrink_folio_list() for one isolated (referenced) and locked page: the
 * frames freed.  A THP is aged as a whole, then, as the lab has no THP
 * swap-out (add_to_swap() of a large folio fails: no swap clusters),
 * split_folio_to_list(): the head goes on as an order-0 page, the tails
 * after it, each through the order-0 path (aged again unless references
 * are ignored), as 6.12's loop takes them from the list.  A THP with any
 * reference beyond its mappings and ours (a GUP pin) is not split
 * (can_split_folio) and is kept.
 */
static unsigned long shrink_page(struct page *page, bool ignore_references)
{
	unsigned long freed = 0;
	struct page **tails;

	VM_WARN_ON(!PageLocked(page));
	if (!PageFlag(page, PG_head))
		return reclaim_one_page(page, ignore_references);
	if (!PageAnon(page))
		return 0;
	if (!ignore_references && folio_referenced(page) > 0)
		return 0;		/* FOLIOREF_ACTIVATE */
	tails = calloc(HPAGE_PMD_NR - 1, sizeof(*tails));
	if (!tails)
		return 0;
	if (split_huge_page_to_list(page, tails)) {
		free(tails);
		return 0;
	}
	/* the head: its references were just looked at */
	if (reclaim_one_page(page, true))
		freed++;
	else
		swap_drop_orphan(page);
	for (unsigned long i = 0; i < HPAGE_PMD_NR - 1; i++) {
		struct page *tail = tails[i];

		if (trylock_page(tail)) {
			if (reclaim_one_page(tail, ignore_references))
				freed++;
			else
				swap_drop_orphan(tail);
			unlock_page(tail);
		}
		put_page(tail);		/* the list's reference */
		mmn_cond_resched(__FILE__, __LINE__);
	}
	free(tails);
	return freed;
}

/*
 * Global reclaim (kswapd-like): scan the frames for anonymous pages, age
 * them, and reclaim up to @nr.  A referenced page survives the first round
 * (its accessed bits are cleared), and goes in the second.  A THP is
 * found at its head (tails have no references of their own).
 */
unsigned long mmn_reclaim(unsigned long nr)
{
	struct mmn_mem_stats st;
	unsigned long done = 0;

	mmn_mem_stats(&st);
	for (int round = 0; round < 2 && done < nr; round++) {
		for (unsigned long pfn = 1; pfn < st.nr_frames && done < nr; pfn++) {
			struct page *page = pfn_to_page(pfn);
			unsigned long freed = 0;

			/* free and tail pages have no references; the
			 * reference orders our reads after prep_new_page() */
			if (!get_page_unless_zero(page))
				continue;
			if (PageAnon(page) && trylock_page(page)) {
				freed = shrink_page(page, false);
				if (!freed)
					swap_drop_orphan(page);
				unlock_page(page);
			}
			put_page(page);
			done += freed;
			mmn_cond_resched(__FILE__, __LINE__);
		}
	}
	return done;
}

int mmn_pageout(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	return mmn_madvise(mm, addr, len, MADV_PAGEOUT);
}

/* ---- MADV_PAGEOUT ---------------------------------------------------------- */

/* Not mapped by anybody else (folio_likely_mapped_shared). */
static bool thp_mapped_shared(struct page *head)
{
	int entire = __atomic_load_n(&head->_entire_mapcount, __ATOMIC_RELAXED);

	return page_mapcount(head) > 1 || entire > 1 ||
	       (page_mapcount(head) && entire);
}

/*
 * split_folio() from the walk, mmap_lock read held, no PT lock: the THP
 * @head (referenced by the caller) becomes 512 order-0 pages, or stays
 * (-EAGAIN: pinned, raced).
 */
static int pageout_split_folio(struct page *head)
{
	int err;

	lock_page(head);
	err = split_huge_page_to_list(head, NULL);
	unlock_page(head);
	return err;
}

/* reclaim_pages() of the isolated pages (references put). */
static void pageout_reclaim(struct page **list, unsigned int nr)
{
	/* reclaim_pages(): 6.12 ignores references here, 6.1 ages */
	for (unsigned int i = 0; i < nr; i++) {
		if (trylock_page(list[i])) {
			if (!shrink_page(list[i], mmn_era == MMN_ERA_6_12))
				swap_drop_orphan(list[i]);
			unlock_page(list[i]);
		}
		put_page(list[i]);
	}
}

/*
 * How many ptes from @pte (at @addr, before @end) map consecutive pages of
 * the THP @head, starting with @page (madvise_folio_pte_batch).
 */
static unsigned int thp_pte_batch(pte_t *pte, unsigned long addr,
				  unsigned long end, struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	unsigned int nr = 0;

	for (; addr < end && page + nr < compound_head(page) + HPAGE_PMD_NR;
	     addr += PAGE_SIZE, pte++, nr++) {
		pte_t p = ptep_get(pte);

		if (!pte_present(p) || pte_pfn(p) != pfn + nr)
			break;
	}
	return nr;
}

static void pageout_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			      pmd_t *pmd, unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *list[PTRS_PER_TABLE];
	unsigned int nr = 0, step;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte)
		return;
	for (; addr != end; pte += step, addr += step * PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);
		struct page *page, *head;

		step = 1;
		if (!pte_present(ptent))
			continue;
		page = vm_normal_page(vma, addr, ptent);
		if (!page || !PageAnon(page))
			continue;
		head = compound_head(page);
		if (PageTransCompound(page)) {
			/*
			 * A PTE-mapped THP: reclaimed whole if this range maps
			 * all of it, from its head on (split in shrink_page);
			 * else split here if only we map it, and look at this
			 * pte again (6.12 madvise_cold_or_pageout_pte_range).
			 */
			step = thp_pte_batch(pte, addr, end, page);
			if (page != head || step < HPAGE_PMD_NR) {
				int err;

				step = 1;
				if (thp_mapped_shared(head) || !trylock_page(head))
					continue;
				get_page(head);
				pte_unmap_unlock(start_pte, ptl);
				err = split_huge_page_to_list(head, NULL);
				unlock_page(head);
				put_page(head);
				start_pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
				if (!start_pte)
					break;
				pte = start_pte;
				if (!err)
					step = 0;	/* order-0 pages now */
				continue;
			}
			/* fully mapped here: its mapcount says if only here */
			if (total_mapcount(head) != HPAGE_PMD_NR)
				continue;
		} else if (page_mapcount(page) != 1) {
			/* do not interfere with other mappings of this page */
			continue;
		}
		/*
		 * 6.1 ages the pte here (no notifier; the flush comes from
		 * tlb_finish_mmu) so that reclaim's folio_referenced() sees
		 * only the secondaries' bits; since 6.9 reclaim ignores
		 * references for MADV_PAGEOUT and the pte is left alone.
		 */
		for (unsigned int i = 0; mmn_era != MMN_ERA_6_12 && i < step; i++) {
			pte_t p = ptep_get(pte + i);

			if (!pte_young(p))
				continue;
			p = ptep_get_and_clear(mm, addr + i * PAGE_SIZE, pte + i);
			set_pte_at(mm, addr + i * PAGE_SIZE, pte + i, pte_mkold(p));
			tlb_flush_pte_range(tlb, addr + i * PAGE_SIZE, PAGE_SIZE);
		}
		ClearPageFlag(head, PG_referenced);
		get_page(head);		/* folio_isolate_lru() */
		list[nr++] = head;
	}
	if (start_pte)
		pte_unmap_unlock(start_pte, ptl);
	pageout_reclaim(list, nr);
}

/*
 * A huge PMD in the MADV_PAGEOUT range [addr, next) (6.12
 * madvise_cold_or_pageout_pte_range, its pmd_trans_huge part).  True when
 * it was dealt with; false when the range is PTE-mapped now (split) and
 * the caller walks its ptes.
 */
static bool pageout_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
			     pmd_t *pmd, unsigned long addr, unsigned long next)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *head;
	spinlock_t *ptl;
	pmd_t orig;

	ptl = pmd_lock(mm, pmd);
	orig = pmdp_get(pmd);
	if (!pmd_trans_huge(orig)) {
		spin_unlock(ptl);
		return false;		/* split meanwhile */
	}
	/* nothing to reclaim in the huge zero page */
	if (is_huge_zero_pmd(orig) || !(orig.pmd & _PAGE_PRESENT)) {
		spin_unlock(ptl);
		return true;
	}
	head = pfn_to_page(pmd_pfn(orig));
	/* do not interfere with other mappings of this folio */
	if (thp_mapped_shared(head)) {
		spin_unlock(ptl);
		return true;
	}
	get_page(head);
	if (next - addr != HPAGE_PMD_SIZE) {
		/* part of it: split_folio() now, then the ptes */
		spin_unlock(ptl);
		if (pageout_split_folio(head)) {
			put_page(head);
			return true;
		}
		put_page(head);
		return false;
	}
	/* 6.1 ages the PMD (pmdp_invalidate, old; flushed by the gather) */
	if (mmn_era != MMN_ERA_6_12 && (orig.pmd & _PAGE_ACCESSED)) {
		mmn_sched_point(MMN_SP_PTE_WRITE, pmd);
		__atomic_fetch_and(&pmd->pmd, ~_PAGE_ACCESSED, __ATOMIC_RELAXED);
		tlb_flush_pte_range(tlb, addr, HPAGE_PMD_SIZE);
	}
	ClearPageFlag(head, PG_referenced);
	spin_unlock(ptl);
	/* isolated whole; reclaim splits it (no THP swap-out in the lab) */
	pageout_reclaim(&head, 1);
	return true;
}

int madvise_pageout_vma(struct vm_area_struct *vma, unsigned long start,
			unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_gather tlb;
	unsigned long next;

	if (vma->vm_flags & (VM_PFNMAP | VM_IO))
		return -EINVAL;
	/* file pageout is not modelled (Linux: only with write access) */
	if (!vma_is_anonymous(vma))
		return 0;
	tlb_gather_mmu(&tlb, mm);
	for (unsigned long addr = start; addr < end; addr = next) {
		pmd_t *pmd = mm_find_pmd(mm, addr);

		next = pmd_addr_end(addr, end);
		if (!pmd || pmd_none(pmdp_get(pmd)))
			continue;
		if (pmd_trans_huge(pmdp_get(pmd)) &&
		    pageout_huge_pmd(&tlb, vma, pmd, addr, next))
			continue;
		pageout_pte_range(&tlb, vma, pmd, addr, next);
	}
	tlb_finish_mmu(&tlb);
	return 0;
}

/* ---- MADV_FREE --------------------------------------------------------------- */

static void free_pte_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			   pmd_t *pmd, unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;

	start_pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte)
		return;
	for (pte = start_pte; addr != end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);
		struct page *page;

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent)) {
			swp_entry_t entry = pte_to_swp_entry(ptent);

			/* cheaper than a swap-in: the location reads zero */
			if (!non_swap_entry(entry)) {
				ptep_get_and_clear(mm, addr, pte);
				free_swap_and_cache(entry);
				mmn_check_reset_range(mm, addr, addr + PAGE_SIZE);
			}
			continue;
		}
		page = vm_normal_page(vma, addr, ptent);
		/* THPs are not made lazyfree in the lab (Linux splits them) */
		if (!page || !PageAnon(page) || PageTransCompound(page))
			continue;
		if (PageSwapCache(page) || PageDirty(page)) {
			if (!trylock_page(page))
				continue;
			if (page_mapcount(page) != 1 ||
			    (PageSwapCache(page) && !folio_free_swap(page))) {
				unlock_page(page);
				continue;
			}
			ClearPageDirty(page);
			unlock_page(page);
		}
		if (pte_young(ptent) || pte_dirty(ptent)) {
			ptent = ptep_get_and_clear(mm, addr, pte);
			set_pte_at(mm, addr, pte, pte_mkclean(pte_mkold(ptent)));
			tlb_flush_pte_range(tlb, addr, PAGE_SIZE);
		}
		/* folio_mark_lazyfree() */
		if (!PageSwapCache(page))
			SetPageFlag(page, PG_lazyfree);
	}
	pte_unmap_unlock(start_pte, ptl);
}

int madvise_free_vma(struct vm_area_struct *vma, unsigned long start,
		     unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct mmu_gather tlb;
	unsigned long next;

	if (!vma_is_anonymous(vma))
		return -EINVAL;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_invalidate_range_start(&range);
	for (unsigned long addr = start; addr < end; addr = next) {
		pmd_t *pmd = mm_find_pmd(mm, addr);

		next = pmd_addr_end(addr, end);
		if (!pmd || pmd_none(pmdp_get(pmd)) || pmd_trans_huge(pmdp_get(pmd)))
			continue;
		free_pte_range(&tlb, vma, pmd, addr, next);
	}
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
	return 0;
}
