// SPDX-License-Identifier: GPL-2.0
/*
 * khugepaged and MADV_COLLAPSE: collapse 512 PTE-mapped anonymous pages
 * into one huge PMD (mm/khugepaged.c, 6.12: hpage_collapse_scan_pmd,
 * collapse_huge_page, __collapse_huge_page_isolate/_copy, madvise_collapse).
 *
 * hpage_collapse_scan_pmd, mmap_lock read: the PMD must be a PTE table;
 * every pte is none / the zero page (at most max_ptes_none of them for
 * khugepaged; any number for MADV_COLLAPSE) or a present anon page whose
 * refcount equals its mapcount (not pinned by GUP or a driver); khugepaged
 * also limits pages mapped by another mm (max_ptes_shared).  Then the
 * read lock is dropped and:
 *
 * collapse_huge_page, in Linux's order:
 *   allocate the huge page (no lock)
 *   mmap_lock WRITE, revalidate the VMA, anon_vma lock WRITE
 *   S(CLEAR, [haddr, haddr + 2M))
 *   PMD lock -> pmdp_collapse_flush: P (PMD cleared) + F (2 MiB, under the
 *     lock: 6.12's arch_invalidate_secondary_tlbs) -> PMD unlock
 *   E
 *   (tlb_remove_table_sync_one: nothing to do, walkers re-check the PMD
 *    under the PTE table's lock)
 *   PTE lock of the detached table -> isolate: recheck every pte, lock
 *     every page (trylock), recheck refcount == mapcount; on failure put
 *     the PMD back and give up -> PTE unlock
 *   anon_vma unlock
 *   C: copy the 512 pages into the huge page AFTER E, while the PMD is
 *     empty: faults wait on mmap_lock, hmm_range_fault and GUP need it too,
 *     and the CPU access path finds no PMD and faults.  Each copy seals its
 *     source frame for the checker (mmn_copy_page_consumed_all() for a
 *     page mapped only here, per-location otherwise); none and zero ptes
 *     give zeros.
 *   PTE lock: clear the ptes, drop the rmap, unlock and put each page
 *     (the TLB was flushed at the PMD clear)
 *   PMD lock: rmap of the huge page (exclusive), deposit the old PTE table,
 *     set the huge PMD (vm_page_prot, dirty, writable if VM_WRITE)
 *   mmap_lock unlocked.
 *
 * The sequence a subscriber sees: interval invalidate, start CLEAR 2M,
 * arch_invalidate_secondary_tlbs 2M (atomic), end CLEAR 2M -- the real
 * 6.1 trace of MADV_COLLAPSE shows the same start/end pair, with
 * invalidate_range from range_end (pmdp_collapse_flush notifies nothing).
 * Era 2.6.33 (2.6.38's collapse_huge_page): pmdp_clear_flush_notify, so
 * S, P+F and E all run under page_table_lock, inside the anon_vma lock
 * (a spinlock then; the lab's stays the rwsem): atomic callbacks.
 *
 * mmn_khugepaged_scan(mm) is one khugepaged pass over @mm: every 2 MiB
 * range of a THP-enabled anon VMA (the "enabled" knob applies), in address
 * order, from the calling task.  madvise_collapse() is MADV_COLLAPSE: the
 * same collapse, synchronously, over the aligned part of the range,
 * ignoring the knob (not VM_NOHUGEPAGE) and max_ptes_none.
 * Simplifications: no swap-in of swap ptes (a swap entry fails the
 * range), no referenced-page requirement, no khugepaged mm list or sleep.
 */
#include <stdlib.h>

#include "check/check.h"
#include "mm/huge_mm.h"
#include "mm/internal.h"

enum scan_result {
	SCAN_FAIL,
	SCAN_SUCCEED,
	SCAN_PMD_NULL,
	SCAN_PMD_MAPPED,
	SCAN_EXCEED_NONE_PTE,
	SCAN_EXCEED_SHARED_PTE,
	SCAN_PTE_NON_PRESENT,
	SCAN_PAGE_NULL,
	SCAN_PAGE_ANON,
	SCAN_PAGE_COUNT,
	SCAN_PAGE_LOCK,
	SCAN_VMA_CHECK,
	SCAN_ALLOC_HUGE_PAGE_FAIL,
};

static unsigned int khugepaged_max_ptes_none = HPAGE_PMD_NR - 1;
static unsigned int khugepaged_max_ptes_shared = HPAGE_PMD_NR / 2;

unsigned int mmn_khugepaged_set_max_ptes_none(unsigned int n)
{
	unsigned int old = READ_ONCE(khugepaged_max_ptes_none);

	WRITE_ONCE(khugepaged_max_ptes_none, min(n, (unsigned int)HPAGE_PMD_NR - 1));
	return old;
}

struct collapse_control {
	bool is_khugepaged;
};

static bool pte_none_or_zero(pte_t pte)
{
	return pte_none(pte) || (pte_present(pte) && is_zero_pfn(pte_pfn(pte)));
}

/* is_refcount_suitable(): no reference beyond the mappings (no GUP pin,
 * no driver reference); the swap cache holds one more. */
static bool is_refcount_suitable(struct page *page)
{
	struct page *head = compound_head(page);
	int expected = total_mapcount(head);

	if (PageFlag(head, PG_swapcache))
		expected++;
	return page_count(head) == expected;
}

/*
 * Check one pte for the collapse (scan or isolate).  Returns SCAN_SUCCEED
 * and counts none/shared, or the failure.
 */
static enum scan_result collapse_check_pte(struct vm_area_struct *vma,
					   unsigned long addr, pte_t pte,
					   struct collapse_control *cc,
					   int *none, int *shared)
{
	struct page *page;

	if (pte_none_or_zero(pte)) {
		if (++*none <= (int)READ_ONCE(khugepaged_max_ptes_none) ||
		    !cc->is_khugepaged)
			return SCAN_SUCCEED;
		return SCAN_EXCEED_NONE_PTE;
	}
	if (!pte_present(pte) || pte_protnone(pte))
		return SCAN_PTE_NON_PRESENT;
	page = vm_normal_page(vma, addr, pte);
	if (!page)
		return SCAN_PAGE_NULL;
	if (!PageAnon(page))
		return SCAN_PAGE_ANON;
	/* this subpage mapped elsewhere too (folio_likely_mapped_shared) */
	if (page_mapcount(page) +
	    __atomic_load_n(&compound_head(page)->_entire_mapcount, __ATOMIC_RELAXED) > 1 &&
	    ++*shared > (int)khugepaged_max_ptes_shared &&
	    cc->is_khugepaged)
		return SCAN_EXCEED_SHARED_PTE;
	if (!is_refcount_suitable(page))
		return SCAN_PAGE_COUNT;
	return SCAN_SUCCEED;
}

/* mmap_lock read held. */
static enum scan_result hpage_collapse_scan_pmd(struct mm_struct *mm,
						struct vm_area_struct *vma,
						unsigned long haddr,
						struct collapse_control *cc)
{
	enum scan_result result = SCAN_SUCCEED;
	int none = 0, shared = 0;
	spinlock_t *ptl;
	pte_t *pte;
	pmd_t *pmd;

	pmd = mm_find_pmd(mm, haddr);
	if (!pmd || pmd_none(pmdp_get(pmd)))
		return SCAN_PMD_NULL;
	if (pmd_trans_huge(pmdp_get(pmd)))
		return SCAN_PMD_MAPPED;
	pte = pte_offset_map_lock(mm, pmd, haddr, &ptl);
	if (!pte)
		return SCAN_PMD_NULL;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		result = collapse_check_pte(vma, haddr + i * PAGE_SIZE,
					    ptep_get(pte + i), cc, &none, &shared);
		if (result != SCAN_SUCCEED)
			break;
	}
	pte_unmap_unlock(pte, ptl);
	return result;
}

static void unlock_pages(struct page **locked, int n)
{
	for (int i = 0; i < n; i++)
		unlock_page(locked[i]);
}

/*
 * __collapse_huge_page_isolate(): the PTE table is detached (PMD none) and
 * its lock held.  Lock every distinct (head) page and recheck.  On success
 * the pages stay locked (*locked, *nr_locked).
 */
static enum scan_result collapse_isolate(struct vm_area_struct *vma,
					 unsigned long haddr, struct pgtable *t,
					 struct collapse_control *cc,
					 struct page **locked, int *nr_locked)
{
	int none = 0, shared = 0;

	*nr_locked = 0;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long addr = haddr + i * PAGE_SIZE;
		pte_t pte = ptep_get((pte_t *)&t->e[i]);
		enum scan_result r;
		struct page *head;
		int k;

		r = collapse_check_pte(vma, addr, pte, cc, &none, &shared);
		if (r != SCAN_SUCCEED) {
			unlock_pages(locked, *nr_locked);
			return r;
		}
		if (pte_none_or_zero(pte))
			continue;
		head = compound_head(vm_normal_page(vma, addr, pte));
		for (k = 0; k < *nr_locked && locked[k] != head; k++)
			;
		if (k < *nr_locked)
			continue;	/* a subpage of a THP already locked */
		if (!trylock_page(head)) {
			unlock_pages(locked, *nr_locked);
			return SCAN_PAGE_LOCK;
		}
		locked[(*nr_locked)++] = head;
		/* recheck under the page lock */
		if (!is_refcount_suitable(head)) {
			unlock_pages(locked, *nr_locked);
			return SCAN_PAGE_COUNT;
		}
	}
	return SCAN_SUCCEED;
}

/* C, then the ptes go (__collapse_huge_page_copy + _copy_succeeded). */
static void collapse_copy(struct vm_area_struct *vma, unsigned long haddr,
			  struct pgtable *t, struct page *hpage)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl = &t->ptl;

	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long addr = haddr + i * PAGE_SIZE;
		pte_t pte = ptep_get((pte_t *)&t->e[i]);
		struct page *src;

		if (pte_none_or_zero(pte)) {
			clear_page_data(hpage + i);
			continue;
		}
		src = vm_normal_page(vma, addr, pte);
		/*
		 * The source will never be mapped here again.  A page only we
		 * map is going away altogether: seal it for every location;
		 * a page another mm still maps is sealed for ours only.
		 */
		if (compound_head(src) == src && total_mapcount(src) == 1)
			mmn_copy_page_consumed_all(hpage + i, src, "collapse_huge_page");
		else
			mmn_copy_page_consumed(hpage + i, src, mm, addr,
					       "collapse_huge_page");
	}

	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long addr = haddr + i * PAGE_SIZE;
		pte_t *ptep = (pte_t *)&t->e[i];
		pte_t pte;
		struct page *src;

		spin_lock(ptl);
		pte = ptep_get(ptep);
		if (pte_none(pte)) {
			spin_unlock(ptl);
			continue;
		}
		ptep_get_and_clear(mm, addr, ptep);
		src = vm_normal_page(vma, addr, pte);
		if (src)
			page_remove_rmap(src, vma);
		spin_unlock(ptl);
		if (!src)
			continue;
		/* free_page_and_swap_cache(): a page swapped in by a read
		 * fault leaves the swap cache once unmapped (it is locked
		 * since the isolation) */
		if (PageSwapCache(src))
			swap_drop_orphan(src);
		put_page(src);
	}
}

static enum scan_result collapse_huge_page(struct mm_struct *mm,
					   unsigned long haddr,
					   struct collapse_control *cc)
{
	struct page **locked = NULL;
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;
	enum scan_result result;
	struct pgtable *table;
	struct page *hpage;
	spinlock_t *pmd_ptl;
	int nr_locked = 0;
	pmd_t *pmd, _pmd, entry;

	hpage = alloc_pages(HPAGE_PMD_ORDER);
	if (!hpage)
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	locked = malloc(HPAGE_PMD_NR * sizeof(*locked));
	if (!locked) {
		put_page(hpage);
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}

	mmap_write_lock(mm);
	/* hugepage_vma_revalidate() */
	result = SCAN_VMA_CHECK;
	vma = vma_lookup(mm, haddr);
	if (!vma || !vma->anon_vma ||
	    !thp_vma_allowable(vma, haddr, cc->is_khugepaged))
		goto out_up_write;
	result = SCAN_PMD_NULL;
	pmd = mm_find_pmd(mm, haddr);
	if (!pmd || pmd_none(pmdp_get(pmd)) || pmd_trans_huge(pmdp_get(pmd)))
		goto out_up_write;

	anon_vma_lock_write(vma->anon_vma);

	if (mmn_era == MMN_ERA_2_6_33) {
		/* era: 2.6.38's pmdp_clear_flush_notify: S, P+F and E all
		 * under page_table_lock (and the anon_vma lock): atomic */
		pmd_ptl = pmd_lock(mm, pmd);
		_pmd = pmdp_clear_flush_notify(vma, haddr, pmd);
		spin_unlock(pmd_ptl);
	} else {
		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr,
					haddr + HPAGE_PMD_SIZE);
		mmu_notifier_invalidate_range_start(&range);
		pmd_ptl = pmd_lock(mm, pmd);
		/* pmdp_collapse_flush(): clear, then flush under the PMD
		 * lock; 6.1 calls no invalidate_range here, its range_end
		 * does (kernel/traces/6.1/collapse.txt) */
		mmn_sched_point(MMN_SP_PTE_WRITE, pmd);
		_pmd = __pmd(__atomic_exchange_n(&pmd->pmd, 0, __ATOMIC_ACQ_REL));
		flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
		spin_unlock(pmd_ptl);
		mmu_notifier_invalidate_range_end(&range);
	}

	table = entry_table(_pmd.pmd);
	spin_lock(&table->ptl);
	result = collapse_isolate(vma, haddr, table, cc, locked, &nr_locked);
	spin_unlock(&table->ptl);
	if (result != SCAN_SUCCEED) {
		/* put the PTE table back: nothing changed in it */
		pmd_ptl = pmd_lock(mm, pmd);
		mmn_sched_point(MMN_SP_PTE_WRITE, pmd);
		__atomic_store_n(&pmd->pmd, _pmd.pmd, __ATOMIC_RELEASE);
		spin_unlock(pmd_ptl);
		anon_vma_unlock_write(vma->anon_vma);
		goto out_up_write;
	}
	anon_vma_unlock_write(vma->anon_vma);

	/* C: after E, the PMD empty */
	collapse_copy(vma, haddr, table, hpage);
	unlock_pages(locked, nr_locked);

	entry = __pmd(((uint64_t)page_to_pfn(hpage) << PAGE_SHIFT) |
		      vma->vm_page_prot | _PAGE_PSE | _PAGE_ACCESSED |
		      _PAGE_DIRTY | _PAGE_SOFT_DIRTY);
	if (vma->vm_flags & VM_WRITE)
		entry.pmd |= _PAGE_RW;
	pmd_ptl = pmd_lock(mm, pmd);
	page_add_new_anon_rmap_huge(hpage, vma, haddr);
	pgtable_trans_huge_deposit(mm, table);
	mmn_sched_point(MMN_SP_PTE_WRITE, pmd);
	__atomic_store_n(&pmd->pmd, entry.pmd, __ATOMIC_RELEASE);
	spin_unlock(pmd_ptl);
	hpage = NULL;
	result = SCAN_SUCCEED;
out_up_write:
	mmap_write_unlock(mm);
	free(locked);
	if (hpage)
		put_page(hpage);
	return result;
}

/*
 * Scan and collapse one 2 MiB range; mmap_lock read is held on entry and
 * on return (collapse_huge_page drops it: the caller revalidates).
 */
static enum scan_result collapse_one(struct mm_struct *mm,
				     struct vm_area_struct *vma,
				     unsigned long haddr,
				     struct collapse_control *cc)
{
	enum scan_result result = hpage_collapse_scan_pmd(mm, vma, haddr, cc);

	if (result != SCAN_SUCCEED)
		return result;
	mmap_read_unlock(mm);
	result = collapse_huge_page(mm, haddr, cc);
	mmap_read_lock(mm);
	return result;
}

int mmn_khugepaged_scan(struct mm_struct *mm)
{
	struct collapse_control cc = { .is_khugepaged = true };
	unsigned long addr = 0;
	int collapsed = 0;

	mmap_read_lock(mm);
	for (;;) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long haddr;

		if (!vma)
			break;
		haddr = (max(addr, vma->vm_start) + HPAGE_PMD_SIZE - 1) & PMD_MASK;
		if (haddr + HPAGE_PMD_SIZE > vma->vm_end) {
			addr = vma->vm_end;
			continue;
		}
		addr = haddr + HPAGE_PMD_SIZE;
		if (!thp_vma_allowable(vma, haddr, true) || !vma->anon_vma)
			continue;
		if (collapse_one(mm, vma, haddr, &cc) == SCAN_SUCCEED)
			collapsed++;
		mmn_cond_resched(__FILE__, __LINE__);
	}
	mmap_read_unlock(mm);
	return collapsed;
}

static int madvise_collapse_errno(enum scan_result r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -ENOMEM;
	case SCAN_EXCEED_NONE_PTE:
		return -EBUSY;
	case SCAN_PAGE_COUNT:
	case SCAN_PAGE_LOCK:
		return -EAGAIN;
	default:
		return -EINVAL;
	}
}

int madvise_collapse(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct collapse_control cc = { .is_khugepaged = false };
	unsigned long hstart = (start + HPAGE_PMD_SIZE - 1) & PMD_MASK;
	unsigned long hend = end & PMD_MASK;
	enum scan_result last_fail = SCAN_FAIL;
	unsigned long thps = 0, haddr;

	mmap_read_lock(mm);
	for (haddr = hstart; haddr < hend; haddr += HPAGE_PMD_SIZE) {
		struct vm_area_struct *vma = vma_lookup(mm, haddr);
		enum scan_result result;

		if (!vma || !thp_vma_allowable(vma, haddr, false)) {
			last_fail = SCAN_VMA_CHECK;
			break;
		}
		if (!vma->anon_vma) {
			last_fail = SCAN_PMD_NULL;
			continue;
		}
		result = collapse_one(mm, vma, haddr, &cc);
		if (result == SCAN_SUCCEED || result == SCAN_PMD_MAPPED)
			thps++;
		else
			last_fail = result;
	}
	mmap_read_unlock(mm);
	if (hstart >= hend)
		return -EINVAL;
	return thps == (hend - hstart) / HPAGE_PMD_SIZE ? 0 :
	       madvise_collapse_errno(last_fail);
}
