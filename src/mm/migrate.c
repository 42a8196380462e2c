// SPDX-License-Identifier: GPL-2.0
/*
 * CPU page migration (mm/migrate.c migrate_pages(), move_to_new_folio(),
 * remove_migration_ptes(), migration_entry_wait(); mm/rmap.c
 * try_to_migrate_one(); mm/migrate.c's move_pages() front end).
 *
 * mmn_migrate_pages(mm, addr, len) is move_pages() of every page mapped
 * in the range to "the other node": under mmap_lock (read) each page is
 * looked up and isolated (a reference); then, with no mmap_lock, each is
 * migrated, in 6.12's order:
 *   allocate the new page; lock the old one;
 *   try_to_migrate(): rmap walk (anon_vma / i_mmap read lock), per mapping
 *     try_to_migrate_one(): S(CLEAR, [addr, addr + PAGE_SIZE)) -> PTL ->
 *     ptep_clear_flush (P+F under the PTL) -> migration entry (writable,
 *     readable-exclusive or readable, soft-dirty kept) -> rmap removed,
 *     the pte's reference put -> PTL unlock -> E;
 *   move_to_new_folio(), AFTER every E: the old page must hold exactly the
 *     expected references (isolation, + the page cache or swap cache);
 *     C: copy old -> new with the checker's seal on the old frame
 *     (mmn_copy_page_consumed_all: a device write to it from now on is a
 *     lost write); the new page takes the old one's place (anon_vma and
 *     index, or the page-cache / swap-cache slot);
 *   remove_migration_ptes(): rmap walk of the new page; every migration
 *     entry naming the old pfn becomes a pte of the new page (no
 *     notifier: the entries were not present), writable again only if
 *     the entry was and the VMA still is;
 *   unlock; the isolation reference is put and the old frame freed.
 * On failure (extra references: GUP, a device pin) the old page is put
 * back instead (remove_migration_ptes(old, old)) and the new one freed.
 *
 * A THP (huge PMD or PTE-mapped) is looked up once, by its head, split
 * first (try_split_folio -> split_huge_page_to_list, huge_memory.c: CLEAR
 * 2M of the PMD split with freeze, try_to_migrate_one's CLEAR, the
 * compound page cut, the entries mapped back), then its 512 pages migrate
 * one by one as above; a pinned THP is not split, nothing moves.  (6.12
 * migrates a PMD-mapped THP whole through a PMD migration entry when the
 * target has a huge page; the lab always takes the split fallback.)  The
 * huge zero page is not migrated.
 *
 * A CPU or device fault (hmm_range_fault, GUP use handle_mm_fault) on a
 * migration entry waits in migration_entry_wait() until the old page is
 * unlocked, then retries.
 */
#include <stdlib.h>

#include "check/check.h"
#include "mm/huge_mm.h"
#include "mm/internal.h"

/* ---- waiting on a migration entry ----------------------------------------- */

void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		return;
	pte = ptep_get(ptep);
	if (is_swap_pte(pte) && is_migration_entry(pte_to_swp_entry(pte))) {
		/* the folio: a THP being split has its entries too */
		page = compound_head(pfn_to_page(swp_offset_pfn(pte_to_swp_entry(pte))));
		/*
		 * The migration holds it (isolated, locked) while the entry
		 * exists: a reference is safe to take under the PTL.  Zero: a
		 * THP split has frozen it (or just split it): retry the fault.
		 * (Linux waits without a reference; ours can make a THP split
		 * fail with -EAGAIN, which its callers accept.)
		 */
		if (!get_page_unless_zero(page))
			page = NULL;
	}
	pte_unmap_unlock(ptep, ptl);
	if (!page)
		return;
	/* folio_wait_locked(): sleep until the migration unlocks it */
	mmn_might_sleep(__FILE__, __LINE__);
	while (PageLocked(page))
		mmn_cond_resched(__FILE__, __LINE__);
	put_page(page);
}

/* ---- try_to_migrate ------------------------------------------------------- */

/*
 * The present pte of @page at @addr becomes a migration entry (PTL held):
 * P+F (2.6.33: with invalidate_page under the PTL; 6.1 calls no
 * invalidate_range here, the entry is non-present), the dirty bit moved to
 * @dirty (the page, or its THP head), the entry as writable, exclusive or
 * readable, soft-dirty kept, the rmap and the pte's reference gone.
 */
void set_pte_migration_entry(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *ptep, struct page *page, struct page *dirty)
{
	bool anon_exclusive = PageAnon(page) && PageAnonExclusive(page);
	swp_entry_t entry;
	pte_t pteval, swp_pte;

	if (mmn_era == MMN_ERA_2_6_33)
		pteval = ptep_clear_flush_notify(vma, addr, ptep);
	else
		pteval = ptep_clear_flush(vma, addr, ptep);
	if (pte_dirty(pteval))
		SetPageDirty(dirty);
	if (pte_write(pteval))
		entry = make_writable_migration_entry(page_to_pfn(page));
	else if (anon_exclusive)
		entry = make_readable_exclusive_migration_entry(page_to_pfn(page));
	else
		entry = make_readable_migration_entry(page_to_pfn(page));
	if (anon_exclusive)
		ClearPageAnonExclusive(page);
	swp_pte = swp_entry_to_pte(entry);
	if (pteval.pte & _PAGE_SOFT_DIRTY)
		swp_pte = pte_swp_mksoft_dirty(swp_pte);
	set_pte_at(vma->vm_mm, addr, ptep, swp_pte);
	page_remove_rmap(page, vma);
	put_page(page);			/* the pte's reference */
}

static bool try_to_migrate_one(struct page *page, struct vm_area_struct *vma,
			       unsigned long address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *ptep;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, address,
				address + PAGE_SIZE);
	/* era: 2.6.33: no range pair, invalidate_page under the PTL */
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_start(&range);
	ptep = page_vma_mapped_pte(page, vma, address, &ptl);
	if (!ptep)
		goto out;
	set_pte_migration_entry(vma, address, ptep, page, page);
	pte_unmap_unlock(ptep, ptl);
out:
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_end(&range);
	return true;
}

static void try_to_migrate(struct page *page)
{
	struct rmap_walk_control rwc = { .rmap_one = try_to_migrate_one };

	rmap_walk(page, &rwc);
}

/* ---- remove_migration_ptes ------------------------------------------------ */

/*
 * The migration entry @old at @addr (PTL held) maps @page again: not
 * young, soft-dirty kept, writable if the entry was and the VMA is,
 * exclusive if the entry said so (anon), the pte's reference and mapcount
 * taken.  No notifier: the entry was not present.
 */
void set_pte_from_migration_entry(struct vm_area_struct *vma, unsigned long addr,
				  pte_t *ptep, pte_t old, struct page *page)
{
	swp_entry_t entry = pte_to_swp_entry(old);
	pte_t pte = pte_mkold(pfn_pte(page_to_pfn(page), vma->vm_page_prot));

	if (pte_swp_soft_dirty(old))
		pte = pte_mksoft_dirty(pte);
	if (is_writable_migration_entry(entry) && (vma->vm_flags & VM_WRITE))
		pte = pte_mkwrite(pte);
	get_page(page);			/* the pte's reference */
	page_mapcount_inc(page);
	inc_mm_counter(vma->vm_mm, PageAnon(page));
	if (PageAnon(page) && (is_writable_migration_entry(entry) ||
			       is_readable_exclusive_migration_entry(entry)))
		SetPageAnonExclusive(page);
	set_pte_at(vma->vm_mm, addr, ptep, pte);
}

struct rmap_migration {
	struct page *old;		/* the pfn the entries name */
};

static bool remove_migration_pte(struct page *new, struct vm_area_struct *vma,
				 unsigned long address, void *arg)
{
	struct rmap_migration *rm = arg;
	struct mm_struct *mm = vma->vm_mm;
	pmd_t *pmd = mm_find_pmd(mm, address);
	swp_entry_t entry;
	spinlock_t *ptl;
	pte_t *ptep, old_pte;

	if (!pmd)
		return true;
	ptep = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!ptep)
		return true;
	old_pte = ptep_get(ptep);
	if (!is_swap_pte(old_pte))
		goto unlock;
	entry = pte_to_swp_entry(old_pte);
	if (!is_migration_entry(entry) ||
	    swp_offset_pfn(entry) != page_to_pfn(rm->old))
		goto unlock;

	set_pte_from_migration_entry(vma, address, ptep, old_pte, new);
unlock:
	pte_unmap_unlock(ptep, ptl);
	return true;
}

/* @new (locked) maps every migration entry that names @old. */
static void remove_migration_ptes(struct page *old, struct page *new)
{
	struct rmap_migration rm = { .old = old };
	struct rmap_walk_control rwc = {
		.arg = &rm,
		.rmap_one = remove_migration_pte,
	};

	rmap_walk(new, &rwc);
}

/* ---- move_to_new_folio ------------------------------------------------------ */

/* The page cache slot of @old goes to @new, with @expected refs frozen. */
static int migrate_page_cache(struct page *new, struct page *old, int expected)
{
	struct address_space *mapping = old->mapping;
	int ret = -EAGAIN;

	spin_lock(&mapping->i_pages_lock);
	if (old->index < mapping->nr_slots && mapping->i_pages[old->index] == old &&
	    __atomic_compare_exchange_n(&old->_refcount, &expected, expected - 1,
					false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		get_page(new);		/* the cache's reference moves */
		mapping->i_pages[old->index] = new;
		ret = 0;
	}
	spin_unlock(&mapping->i_pages_lock);
	return ret;
}

/* Old and new locked, old unmapped (migration entries only). */
static int move_to_new_page(struct page *new, struct page *old)
{
	bool anon = PageAnon(old);
	int expected = 1 + (anon ? PageSwapCache(old) : 1);
	int ret;

	/* __migrate_folio(): no extra references before doing the work */
	if (page_count(old) != expected)
		return -EAGAIN;
	/* C: after every E, the old frame unreachable (migration entries) */
	mmn_copy_page_consumed_all(new, old, "migrate");

	new->index = old->index;
	if (PageFlag(old, PG_uptodate))
		SetPageFlag(new, PG_uptodate);
	if (anon) {
		if (PageSwapCache(old)) {
			ret = migrate_swap_cache(new, old, expected);
			if (ret)
				return ret;
		}
		/* the new page pins the anon_vma as the old one did */
		get_anon_vma((struct anon_vma *)old->mapping);
		WRITE_ONCE(new->mapping, old->mapping);
		SetPageFlag(new, PG_anon);
		__mmn_stat_add(MMN_STAT_ANON, 1);
	} else {
		WRITE_ONCE(new->mapping, old->mapping);
		ret = migrate_page_cache(new, old, expected);
		if (ret) {
			WRITE_ONCE(new->mapping, NULL);
			return ret;
		}
	}
	if (PageDirty(old))
		SetPageDirty(new);
	if (PageLazyFree(old))
		SetPageFlag(new, PG_lazyfree);
	return 0;
}

/* One isolated page (the caller's reference is consumed). */
static int migrate_one_page(struct page *old)
{
	struct page *new = alloc_pages(0);
	int ret = -EAGAIN;

	if (!new) {
		put_page(old);
		return -ENOMEM;
	}
	lock_page(old);
	trylock_page(new);
	/* truncated meanwhile, or turned into something we do not move */
	if (!old->mapping || PageTransCompound(old) || PageFlag(old, PG_ksm))
		goto out;
	if (page_mapped(old))
		try_to_migrate(old);
	if (!page_mapped(old))
		ret = move_to_new_page(new, old);
	/* the mappings come back: to the new page, or to the old on failure */
	remove_migration_ptes(old, ret ? old : new);
	swap_drop_orphan(ret ? old : new);
out:
	unlock_page(new);
	unlock_page(old);
	put_page(old);			/* isolation: frees it on success */
	/* the allocation's reference: on success the ptes and the cache hold
	 * their own, on failure this frees the unused page */
	put_page(new);
	return ret;
}

/*
 * A THP (isolated: the caller's reference is consumed).  6.12 migrates a
 * PMD-mapped THP whole (set_pmd_migration_entry: S(CLEAR, 2M), PMD
 * migration entry, E, copy, remove_migration_pmd) when the target node
 * has a huge page; the lab has no PMD migration entries and always takes
 * 6.12's fallback, try_split_folio(): split_folio_to_list() (the head
 * locked, MIGRATE_SYNC), then every one of the 512 pages migrates as an
 * order-0 page.  Returns the pages migrated.
 */
static long migrate_huge_page(struct page *head)
{
	struct page **tails = calloc(HPAGE_PMD_NR - 1, sizeof(*tails));
	long done = 0;
	int err;

	if (!tails) {
		put_page(head);
		return 0;
	}
	lock_page(head);
	if (!PageFlag(head, PG_head)) {
		/* split meanwhile (reclaim): an order-0 page now */
		unlock_page(head);
		free(tails);
		return !migrate_one_page(head);
	}
	err = split_huge_page_to_list(head, tails);
	unlock_page(head);
	if (err) {
		put_page(head);
		free(tails);
		return 0;
	}
	if (!migrate_one_page(head))
		done++;
	for (unsigned long i = 0; i < HPAGE_PMD_NR - 1; i++) {
		if (!migrate_one_page(tails[i]))
			done++;
		mmn_cond_resched(__FILE__, __LINE__);
	}
	free(tails);
	return done;
}

long mmn_migrate_pages(struct mm_struct *mm, unsigned long addr,
		       unsigned long len)
{
	unsigned long end = addr + PAGE_ALIGN(len), nr = 0, cap;
	struct page **pages;
	long done = 0;

	if (addr & ~PAGE_MASK || end < addr)
		return -EINVAL;
	cap = (end - addr) >> PAGE_SHIFT;
	pages = calloc(cap ? cap : 1, sizeof(*pages));
	if (!pages)
		return -ENOMEM;

	/* add_page_for_migration(): look up and isolate, mmap_lock read;
	 * a THP (huge PMD or PTE-mapped) once, by its head */
	mmap_read_lock(mm);
	for (unsigned long va = addr; va < end; va += PAGE_SIZE) {
		struct vm_area_struct *vma = vma_lookup(mm, va);
		pmd_t *pmd = vma ? mm_find_pmd(mm, va) : NULL;
		struct page *page = NULL;
		spinlock_t *ptl;
		pte_t *ptep;
		bool dup = false;

		if (pmd && pmd_trans_huge(pmdp_get(pmd))) {
			pmd_t pmdval;

			ptl = pmd_lock(mm, pmd);
			pmdval = pmdp_get(pmd);
			/* the huge zero page is not migrated (-EFAULT) */
			if (pmd_trans_huge(pmdval) && (pmdval.pmd & _PAGE_PRESENT) &&
			    !is_huge_zero_pmd(pmdval))
				page = pfn_to_page(pmd_pfn(pmdval));
			for (unsigned long i = 0; page && i < nr; i++)
				dup |= pages[i] == page;
			if (page && !dup) {
				get_page(page);
				pages[nr++] = page;
			}
			spin_unlock(ptl);
			continue;
		}
		ptep = pmd ? pte_offset_map_lock(mm, pmd, va, &ptl) : NULL;
		if (!ptep)
			continue;
		if (pte_present(ptep_get(ptep)))
			page = vm_normal_page(vma, va, ptep_get(ptep));
		if (page) {
			page = compound_head(page);
			for (unsigned long i = 0; i < nr; i++)
				dup |= pages[i] == page;
			if (!dup) {
				get_page(page);
				pages[nr++] = page;
			}
		}
		pte_unmap_unlock(ptep, ptl);
	}
	mmap_read_unlock(mm);

	for (unsigned long i = 0; i < nr; i++) {
		if (PageFlag(pages[i], PG_head))
			done += migrate_huge_page(pages[i]);
		else if (!migrate_one_page(pages[i]))
			done++;
	}
	free(pages);
	return done;
}
