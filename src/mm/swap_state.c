// SPDX-License-Identifier: GPL-2.0
/*
 * The swap cache and swap-in (mm/swap_state.c; do_swap_page() and
 * copy_nonpresent_pte()/zap's swap part of mm/memory.c; folio_free_swap()
 * of mm/swapfile.c).
 *
 * The swap cache maps a slot to the page holding its data, both ways:
 * si.cache[offset] -> page, and page->private = the entry with
 * PG_swapcache set.  The cache holds one reference on the page.  A page
 * enters it at add_to_swap() (reclaim, before try_to_unmap) or at a swap-in
 * that misses it (read_swap_cache_async(), which reads the slot into a
 * fresh page), and leaves it:
 *   - at reclaim, when the page is clean, unmapped, and only the caller's
 *     and the cache's references remain (__remove_mapping: a device or GUP
 *     reference keeps it in the cache -- the "works by accident" case);
 *   - by folio_free_swap() when no swap pte names the slot any more
 *     (swap-in on a write fault, do_wp_page reuse, the mmu_gather freeing
 *     an unmapped page, zap of the last swap pte); the page is then dirty,
 *     since its slot is gone;
 *   - by migration, which puts the new page in its place.
 *
 * do_swap_page(), mmap_lock (read) held, in Linux 6.12's order:
 *   migration entry: migration_entry_wait() and retry;
 *   lookup the swap cache (the same frame again if it is still there),
 *   else allocate, claim SWAP_HAS_CACHE, insert, read the slot;
 *   lock the page, check it is still the entry's; PTL, pte_same recheck;
 *   swap_free (count--); on a write fault with no other user
 *   (should_try_to_free_swap) folio_free_swap; exclusive (the swap pte
 *   said so, or nobody else holds the page) and VM_WRITE: map writable
 *   (dirty on a write fault), else read-only -- a write then takes the
 *   do_wp_page path on the retried access; anon rmap; set_pte_at; unlock.
 *   No notifier: a new mapping invalidates nothing.
 */
#include "check/check.h"
#include "mm/swap.h"

/* ---- the cache ----------------------------------------------------------- */

/* Page locked, not yet in the cache: give it a slot (reclaim). */
int add_to_swap(struct page *page)
{
	swp_entry_t entry;
	struct page **slot;

	VM_WARN_ON(!PageLocked(page) || PageSwapCache(page));
	entry = get_swap_page();
	if (!entry.val)
		return -ENOMEM;
	get_page(page);			/* the cache's reference */
	swap_lock();
	slot = __swap_cache_slot(entry);
	*slot = page;
	page->private = entry.val;
	SetPageFlag(page, PG_swapcache);
	__swap_cache_add(1);
	swap_unlock();
	/* the data must reach the slot before the page can be dropped */
	SetPageDirty(page);
	return 0;
}

/* swap_lock held: unlink @page from the cache and drop SWAP_HAS_CACHE. */
static void __delete_from_swap_cache(struct page *page)
{
	swp_entry_t entry = { page->private };
	struct page **slot = __swap_cache_slot(entry);

	VM_WARN_ON(!slot || *slot != page);
	if (slot)
		*slot = NULL;
	ClearPageFlag(page, PG_swapcache);
	page->private = 0;
	__swap_cache_add(-1);
	__put_swap_folio(entry);
}

/* Page locked: out of the cache, the cache's reference dropped. */
static void delete_from_swap_cache(struct page *page)
{
	swap_lock();
	__delete_from_swap_cache(page);
	swap_unlock();
	put_page(page);
}

struct page *lookup_swap_cache(swp_entry_t entry)
{
	struct page **slot, *page = NULL;

	swap_lock();
	slot = __swap_cache_slot(entry);
	if (slot && *slot) {
		page = *slot;
		get_page(page);
	}
	swap_unlock();
	return page;
}

/*
 * A swap-in that missed the cache: a fresh page with the slot's data, in
 * the cache, referenced.  NULL with *@err: -ENOMEM, or -ENOENT when the
 * slot was freed meanwhile (the pte changed: the caller retries).
 */
static struct page *read_swap_cache_async(swp_entry_t entry, int *err)
{
	for (;;) {
		struct page *page = lookup_swap_cache(entry), *new;
		int ret;

		if (page)
			return page;
		new = alloc_pages(0);
		if (!new) {
			*err = -ENOMEM;
			return NULL;
		}
		ret = swapcache_prepare(entry);
		if (ret == -EEXIST) {
			/* another swap-in is inserting it: look again */
			put_page(new);
			mmn_cond_resched(__FILE__, __LINE__);
			continue;
		}
		if (ret) {
			put_page(new);
			*err = ret;
			return NULL;
		}
		/* SWAP_HAS_CACHE is ours: nobody else can insert */
		trylock_page(new);
		new->private = entry.val;
		SetPageFlag(new, PG_swapcache);
		get_page(new);		/* the cache's reference */
		swap_lock();
		*__swap_cache_slot(entry) = new;
		__swap_cache_add(1);
		swap_unlock();
		swap_read_page(new, entry);
		SetPageFlag(new, PG_uptodate);
		unlock_page(new);
		return new;
	}
}

bool folio_free_swap(struct page *page)
{
	swp_entry_t entry = { page->private };

	VM_WARN_ON(!PageLocked(page));
	if (!PageSwapCache(page))
		return false;
	if (__swap_count(entry))
		return false;		/* a swap pte still names the slot */
	delete_from_swap_cache(page);
	/* the slot is gone: the page holds the only copy */
	SetPageDirty(page);
	return true;
}

/*
 * Page locked, about to be unlocked: a swap-cache page that nothing maps
 * and no swap pte names can never be found again -- it is there because a
 * zap's trylock (free_swap_and_cache, free_swap_cache) lost to the lock we
 * hold.  Linux leaves it to LRU reclaim; the lab drops it here so that
 * frames and slots are back to baseline once every process has exited.
 */
void swap_drop_orphan(struct page *page)
{
	if (PageSwapCache(page) && !page_mapped(page))
		folio_free_swap(page);
}

void free_swap_cache(struct page *page)
{
	page = compound_head(page);
	if (PageSwapCache(page) && !page_mapped(page) && trylock_page(page)) {
		folio_free_swap(page);
		unlock_page(page);
	}
}

bool __remove_mapping_swapcache(struct page *page)
{
	int expected = 2;		/* the caller's and the cache's */
	bool removed = false;

	VM_WARN_ON(!PageLocked(page) || !PageSwapCache(page));
	swap_lock();
	/*
	 * folio_ref_freeze(): lookups take their reference under swap_lock,
	 * so no new one appears; any other holder (GUP, a device, a racing
	 * fault) keeps the page in the cache.
	 */
	if (!__swap_keep_cache() &&
	    __atomic_compare_exchange_n(&page->_refcount, &expected, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		__delete_from_swap_cache(page);
		removed = true;
	}
	swap_unlock();
	return removed;
}

int migrate_swap_cache(struct page *new, struct page *old, int expected)
{
	swp_entry_t entry = { old->private };
	int ret = -EAGAIN;

	swap_lock();
	if (__atomic_compare_exchange_n(&old->_refcount, &expected, expected - 1,
					false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		get_page(new);		/* the cache's reference moves */
		new->private = entry.val;
		SetPageFlag(new, PG_swapcache);
		*__swap_cache_slot(entry) = new;
		ClearPageFlag(old, PG_swapcache);
		old->private = 0;
		ret = 0;
	}
	swap_unlock();
	return ret;
}

/* ---- swap-in ----------------------------------------------------------- */

static bool should_try_to_free_swap(struct page *page, struct vm_area_struct *vma,
				    unsigned int fault_flags)
{
	if (!PageSwapCache(page))
		return false;
	if (vm_swap_full())
		return true;
	/* ours (the lookup's) and the cache's: nobody else shares it */
	return (fault_flags & FAULT_FLAG_WRITE) && page_count(page) == 2;
}

int do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	struct page *page;
	bool exclusive;
	int ret = 0, err = 0;
	pte_t pte;

	if (non_swap_entry(entry)) {
		if (is_migration_entry(entry)) {
			migration_entry_wait(mm, vmf->pmd, vmf->address);
			return 0;
		}
		return VM_FAULT_SIGBUS;
	}
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = lookup_swap_cache(entry);
	if (!page) {
		page = read_swap_cache_async(entry, &err);
		if (!page)
			return err == -ENOMEM ? VM_FAULT_OOM : 0;
		ret = VM_FAULT_MAJOR;
	}
	lock_page(page);
	/* reclaim or migration took it out of the cache meanwhile: retry */
	if (!PageSwapCache(page) || page->private != entry.val)
		goto out_page;

	vmf->pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &vmf->ptl);
	if (!vmf->pte)
		goto out_page;
	if (!pte_same(ptep_get(vmf->pte), vmf->orig_pte))
		goto out_nomap;

	exclusive = pte_swp_exclusive(vmf->orig_pte);
	swap_free(entry);
	if (should_try_to_free_swap(page, vma, vmf->flags))
		folio_free_swap(page);

	pte = pfn_pte(page_to_pfn(page), vma->vm_page_prot);
	if (exclusive || page_count(page) == 1) {
		/* nobody else can map it: writable if the VMA is */
		if (vma->vm_flags & VM_WRITE) {
			pte = pte_mkwrite(pte);
			if (vmf->flags & FAULT_FLAG_WRITE)
				pte = pte_mkdirty(pte);
		}
		exclusive = true;
	}
	if (pte_swp_soft_dirty(vmf->orig_pte))
		pte = pte_mksoft_dirty(pte);
	if (!PageAnon(page)) {
		/* a page read from the slot: anonymous from now on */
		page_add_new_anon_rmap(page, vma, vmf->address);
		if (!exclusive)
			ClearPageAnonExclusive(page);
	} else {
		page_mapcount_inc(page);
		inc_mm_counter(mm, true);
		if (exclusive)
			SetPageAnonExclusive(page);
	}
	set_pte_at(mm, vmf->address, vmf->pte, pte);
	pte_unmap_unlock(vmf->pte, vmf->ptl);
	unlock_page(page);
	/* the lookup's reference is now the pte's */
	return ret;

out_nomap:
	pte_unmap_unlock(vmf->pte, vmf->ptl);
out_page:
	swap_drop_orphan(page);
	unlock_page(page);
	put_page(page);
	return ret;
}

/* ---- fork and zap of non-present ptes ------------------------------------ */

void copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,
			 pte_t *dst_pte, pte_t *src_pte,
			 struct vm_area_struct *dst_vma,
			 struct vm_area_struct *src_vma, unsigned long addr)
{
	pte_t orig_pte = ptep_get(src_pte), pte = orig_pte;
	swp_entry_t entry = pte_to_swp_entry(orig_pte);

	if (!non_swap_entry(entry)) {
		if (swap_duplicate(entry) < 0)
			return;
		/* the slot is shared now: neither side may reuse it blindly */
		if (pte_swp_exclusive(orig_pte)) {
			pte = pte_swp_clear_exclusive(orig_pte);
			set_pte_at(src_mm, addr, src_pte, pte);
		}
	} else if (is_migration_entry(entry)) {
		if (!(swp_type(entry) == SWP_MIGRATION_READ) &&
		    is_cow_mapping(src_vma->vm_flags)) {
			/* both sides read-only, and no longer exclusive */
			entry = make_readable_migration_entry(swp_offset(entry));
			pte = swp_entry_to_pte(entry);
			if (pte_swp_soft_dirty(orig_pte))
				pte = pte_swp_mksoft_dirty(pte);
			set_pte_at(src_mm, addr, src_pte, pte);
		}
	} else {
		return;
	}
	/* the child's location starts as the parent's, from this moment */
	if (!(src_vma->vm_flags & VM_SHARED))
		mmn_check_fork_page(src_mm, dst_mm, addr);
	set_pte_at(dst_mm, addr, dst_pte, pte);
}

void zap_nonpresent_pte(struct mmu_gather *tlb, struct vm_area_struct *vma,
			unsigned long addr, pte_t *pte)
{
	pte_t ptent = ptep_get_and_clear(vma->vm_mm, addr, pte);
	swp_entry_t entry = pte_to_swp_entry(ptent);

	/* a migration entry holds nothing: migration finds the pte none */
	if (!non_swap_entry(entry))
		free_swap_and_cache(entry);
}

/* ---- introspection ----------------------------------------------------------- */

int mmn_swap_info(struct mm_struct *mm, unsigned long va, unsigned long *slot,
		  bool *cached)
{
	pmd_t *pmd = mm_find_pmd(mm, va);
	struct page *page;
	swp_entry_t entry;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	if (!pmd)
		return -ENOENT;
	ptep = pte_offset_map_lock(mm, pmd, va, &ptl);
	if (!ptep)
		return -ENOENT;
	pte = ptep_get(ptep);
	pte_unmap_unlock(ptep, ptl);
	if (!is_swap_pte(pte))
		return -ENOENT;
	entry = pte_to_swp_entry(pte);
	if (non_swap_entry(entry))
		return -ENOENT;
	if (slot)
		*slot = swp_offset(entry);
	page = lookup_swap_cache(entry);
	if (cached)
		*cached = page != NULL;
	if (page)
		put_page(page);
	return 0;
}

/* A driver wrote the page through its own translation (set_page_dirty). */
bool set_page_dirty(struct page *page)
{
	page = compound_head(page);
	if (PageDirty(page))
		return false;
	SetPageDirty(page);
	return true;
}
