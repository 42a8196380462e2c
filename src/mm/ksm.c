// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel samepage merging (mm/ksm.c, 6.12): ksmd merges identical
 * anonymous pages of MADV_MERGEABLE VMAs into one read-only KSM page.
 *
 * One ksmd pass (mmn_ksm_scan, ksm_do_scan): under ksm_thread_mutex, for
 * every mm on KSM's mm list, for every present order-0 anon page of every
 * VM_MERGEABLE VMA (mmap_lock read while finding it, a page reference
 * taken, the lock dropped; scan_get_next_rmap_item) --
 * cmp_and_merge_page:
 *   1. stable tree (every live KSM page): same content -> merge this page
 *      into it (try_to_merge_with_ksm_page);
 *   2. else the page's checksum must equal the one of the previous pass
 *      (a page that keeps changing is not worth merging);
 *   3. unstable tree (pages seen unchanged in this pass): same content ->
 *      try_to_merge_two_pages: write-protect this page (it becomes the
 *      KSM page), then write-protect the other and replace it; a stable
 *      node is made for the new KSM page.  Otherwise this page joins the
 *      unstable tree.  The unstable tree is emptied after every full pass.
 * So two identical pages merge on the second pass that sees them; a third
 * merges on its first pass with the stable tree.
 *
 * try_to_merge_one_page(vma, page, kpage), mmap_lock read, page locked
 * (trylock, else skip):
 *   write_protect_page: S(CLEAR, [addr, addr + 4K)) -> PTL -> if the pte is
 *     writable, dirty or the page exclusive: ptep_clear_flush (P + F under
 *     the PTL) -> mapcount + 1 (ksmd's reference) + swapcache must equal
 *     refcount, else restore the pte and abort (GUP pin, driver reference,
 *     an in-flight copy; the restore is a plain set_pte_at, in 2.6.33
 *     set_pte_at_notify: change_pte of the unchanged pte, or its
 *     invalidate_page fallback) -> not exclusive any more -> clean +
 *     read-only -> set_pte_at (6.1: set_pte_at_notify, change_pte) ->
 *     PTL unlock -> E;
 *   pages_identical (memcmp, outside any range, after the write-protect);
 *   replace_page: S(CLEAR, one page) -> PTL -> pte_same(orig) ->
 *     kpage referenced and mapped (rmap) -> ptep_clear_flush (P + F) ->
 *     set_pte_at kpage read-only (6.1: change_pte) -> the checker seals the
 *     old frame for this location -> old rmap removed, old page put ->
 *     PTL unlock -> E.
 * The real 6.1 trace (ksmd, cur_mm=0): per page start CLEAR 1 page ->
 * change_pte -> invalidate_range -> end from write_protect_page, then the
 * same from replace_page; 6.12 has arch_invalidate_secondary_tlbs at each
 * ptep_clear_flush instead.
 *
 * KSM pages: PG_anon and PG_ksm, ->mapping = the stable node, whose rmap
 * items (mm, address, anon_vma referenced) let rmap_walk_ksm() find every
 * mapping, forked children included (through the anon_vma).  A stable
 * node holds no page reference: when the KSM page is freed
 * (__ksm_page_freed) the node goes stale, and is freed with its last rmap
 * item.  do_wp_page never reuses a KSM page: a write copies
 * (wp_page_copy, CLEAR one page).  MADV_UNMERGEABLE breaks COW on every
 * KSM page of the range (break_ksm: a write fault, as 6.1; 6.12 uses
 * FAULT_FLAG_UNSHARE, which leaves the copy read-only -- same notifier
 * sequence).
 *
 * Simplifications (documented in docs/thp-ksm.md): the trees are lists
 * (linear search by content instead of rbtrees ordered by memcmp); pages
 * of a THP are skipped (Linux splits the THP first); a failed second
 * merge of try_to_merge_two_pages leaves the first page write-protected
 * instead of breaking COW on it; the zero-page merging option
 * (use_zero_pages) and NUMA merging knobs are absent.
 *
 * Locks: ksm_thread_mutex (the scan, ksm_exit) -> mmap_lock ->
 * ksm_rmap_sem (rmap item lists; rmap_walk_ksm holds it for read) ->
 * anon_vma -> PTL -> ksm_lock (spinlock: stable tree, node rmap lists, a
 * node's kpage; also taken from __free_pages()).  ksm_mmlist_lock
 * (spinlock) guards the mm list alone.
 */
#include <stdlib.h>

#include "check/check.h"
#include "mm/internal.h"

struct ksm_stable_node {
	struct list_head list;		/* ksm_stable_tree, ksm_lock */
	struct page *kpage;		/* NULL once the page was freed */
	struct list_head rmap_list;	/* ksm_rmap_item.node_link */
};

struct ksm_mm_slot {
	struct list_head link;		/* ksm_mm_list, ksm_mmlist_lock */
	struct mm_struct *mm;		/* mmgrab'ed */
	struct list_head items;		/* rmap items by address, thread mutex */
};

struct ksm_rmap_item {
	struct list_head mm_link;	/* slot->items */
	struct list_head node_link;	/* stable node's rmap_list, or unstable */
	struct mm_struct *mm;
	unsigned long address;
	struct anon_vma *anon_vma;	/* referenced once merged */
	struct ksm_stable_node *node;	/* stable: the KSM page's node */
	bool unstable;			/* in the unstable tree this pass */
	bool checksum_valid;
	uint64_t oldchecksum;
};

static mmn_mutex_t ksm_thread_mutex;
static mmn_spinlock_t ksm_mmlist_lock;
static mmn_spinlock_t ksm_lock;
static struct rw_semaphore ksm_rmap_sem;
static LIST_HEAD(ksm_mm_list);
static LIST_HEAD(ksm_stable_tree);
static LIST_HEAD(ksm_unstable_tree);
static unsigned long ksm_pass_merged;

void __mmn_ksm_init(void)
{
	mmn_mutex_init(&ksm_thread_mutex, "ksm_thread_mutex");
	mmn_spin_lock_init(&ksm_mmlist_lock, "ksm_mmlist_lock");
	mmn_spin_lock_init(&ksm_lock, "ksm_lock");
	init_rwsem(&ksm_rmap_sem);
	INIT_LIST_HEAD(&ksm_mm_list);
	INIT_LIST_HEAD(&ksm_stable_tree);
	INIT_LIST_HEAD(&ksm_unstable_tree);
}

void __mmn_ksm_exit(void)
{
	struct ksm_stable_node *node, *n;

	/* nodes of KSM pages still alive (a test that leaked on purpose) */
	list_for_each_entry_safe(node, n, &ksm_stable_tree, list) {
		list_del(&node->list);
		free(node);
	}
	WARN_ON(!list_empty(&ksm_mm_list));
	destroy_rwsem(&ksm_rmap_sem);
	mmn_spin_lock_destroy(&ksm_lock);
	mmn_spin_lock_destroy(&ksm_mmlist_lock);
	mmn_mutex_destroy(&ksm_thread_mutex);
}

/* ---- page helpers ------------------------------------------------------- */

static bool pages_identical(struct page *a, struct page *b)
{
	const uint64_t *x = __mmn_page_data(a), *y = __mmn_page_data(b);

	for (unsigned long i = 0; i < MMN_PAGE_WORDS; i++)
		if (__atomic_load_n(&x[i], __ATOMIC_RELAXED) !=
		    __atomic_load_n(&y[i], __ATOMIC_RELAXED))
			return false;
	return true;
}

static uint64_t calc_checksum(struct page *page)
{
	const uint64_t *d = __mmn_page_data(page);
	uint64_t h = 0xcbf29ce484222325ULL;

	for (unsigned long i = 0; i < MMN_PAGE_WORDS; i++) {
		h ^= __atomic_load_n(&d[i], __ATOMIC_RELAXED);
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool ksm_get_page_unless_zero(struct page *page)
{
	int ref = __atomic_load_n(&page->_refcount, __ATOMIC_RELAXED);

	while (ref > 0)
		if (__atomic_compare_exchange_n(&page->_refcount, &ref, ref + 1,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

static struct ksm_stable_node *page_stable_node(struct page *page)
{
	return PageKsm(page) ? READ_ONCE(page->mapping) : NULL;
}

/*
 * The present order-0 anon page (KSM pages included) at @addr, referenced;
 * NULL if none (THPs are not merged).  mmap_lock held.
 */
static struct page *follow_anon_page(struct vm_area_struct *vma, unsigned long addr)
{
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, addr);
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *ptep, pte;

	if (!pmd)
		return NULL;
	ptep = pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl);
	if (!ptep)
		return NULL;	/* none or huge */
	pte = ptep_get(ptep);
	if (pte_present(pte) && !pte_protnone(pte)) {
		page = vm_normal_page(vma, addr, pte);
		if (page && (!PageAnon(page) || compound_head(page) != page ||
			     PageFlag(page, PG_head)))
			page = NULL;
		if (page)
			get_page(page);
	}
	pte_unmap_unlock(ptep, ptl);
	return page;
}

static struct vm_area_struct *find_mergeable_vma(struct mm_struct *mm,
						 unsigned long addr)
{
	struct vm_area_struct *vma;

	if (READ_ONCE(mm->mm_users) <= 0)	/* ksm_test_exit() */
		return NULL;
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
		return NULL;
	return vma;
}

/* set_pte_at_notify() (pgtable.c): 6.12 set_pte_at; 6.1 change_pte then
 * set_pte_at; 2.6.33 set_pte_at then change_pte, with no range pair. */

/* ---- the two pte operations ------------------------------------------- */

static int write_protect_page(struct vm_area_struct *vma, struct page *page,
			      unsigned long addr, pte_t *orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	bool anon_exclusive;
	spinlock_t *ptl;
	pte_t *ptep, entry;
	int err = -EFAULT;

	if (vma_address(page, vma) != addr)
		return -EFAULT;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_start(&range);
	ptep = page_vma_mapped_pte(page, vma, addr, &ptl);
	if (!ptep)
		goto out_mn;
	anon_exclusive = PageAnonExclusive(page);
	entry = ptep_get(ptep);
	if (pte_write(entry) || pte_dirty(entry) || anon_exclusive) {
		int swapped = PageFlag(page, PG_swapcache);

		entry = ptep_clear_flush(vma, addr, ptep);
		/* nobody but the ptes and ksmd holds it (no O_DIRECT, GUP) */
		if (page_mapcount(page) + 1 + swapped != page_count(page)) {
			/*
			 * Pinned: the original pte goes back.  era: 2.6.33
			 * with set_pte_at_notify (change_pte of the unchanged
			 * value, or invalidate_page for a notifier without
			 * change_pte); later kernels (4.x, 6.1, 6.12) use a
			 * plain set_pte_at: nothing changed, nobody is told.
			 */
			if (mmn_era == MMN_ERA_2_6_33)
				set_pte_at_notify(mm, addr, ptep, entry);
			else
				set_pte_at(mm, addr, ptep, entry);
			goto out_unlock;
		}
		if (anon_exclusive)
			ClearPageAnonExclusive(page);
		if (pte_dirty(entry))
			SetPageDirty(page);
		entry = pte_mkclean(pte_wrprotect(entry));
		set_pte_at_notify(mm, addr, ptep, entry);
	}
	*orig_pte = entry;
	err = 0;
out_unlock:
	pte_unmap_unlock(ptep, ptl);
out_mn:
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

static int replace_page(struct vm_area_struct *vma, struct page *page,
			struct page *kpage, unsigned long addr, pte_t orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	pmd_t *pmd = mm_find_pmd(mm, addr);
	spinlock_t *ptl;
	pte_t *ptep, newpte;
	int err = -EFAULT;

	if (!pmd)
		return -EFAULT;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!ptep)
		goto out_mn;
	if (!pte_same(ptep_get(ptep), orig_pte)) {
		pte_unmap_unlock(ptep, ptl);
		goto out_mn;
	}
	VM_WARN_ON(PageAnonExclusive(page) || PageAnonExclusive(kpage));
	get_page(kpage);
	page_dup_rmap(kpage);
	inc_mm_counter(mm, true);	/* page_remove_rmap() below takes it */
	newpte = pte_wrprotect(pfn_pte(page_to_pfn(kpage), vma->vm_page_prot));

	ptep_clear_flush(vma, addr, ptep);
	set_pte_at_notify(mm, addr, ptep, newpte);
	/* the old frame is never mapped at this location again */
	mmn_check_seal(page, mm, addr, "replace_page");
	page_remove_rmap(page, vma);
	put_page(page);		/* the pte's; ksmd still holds one */
	pte_unmap_unlock(ptep, ptl);
	ksm_pass_merged++;
	err = 0;
out_mn:
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

/* @kpage NULL: only write-protect @page (it is to become the KSM page). */
static int try_to_merge_one_page(struct vm_area_struct *vma, struct page *page,
				 struct page *kpage, unsigned long addr)
{
	pte_t orig_pte = __pte(0);
	int err = -EFAULT;

	if (page == kpage)	/* a forked mapping of the KSM page */
		return 0;
	if (!PageAnon(page) || PageFlag(compound_head(page), PG_head))
		return -EFAULT;
	if (!trylock_page(page))
		return -EFAULT;
	if (write_protect_page(vma, page, addr, &orig_pte) == 0) {
		if (!kpage) {
			if (!PageDirty(page))
				SetPageDirty(page);
			err = 0;
		} else if (pages_identical(page, kpage)) {
			err = replace_page(vma, page, kpage, addr, orig_pte);
		}
	}
	unlock_page(page);
	return err;
}

/* ---- rmap items and the trees -------------------------------------------- */

static void remove_rmap_item_from_tree(struct ksm_rmap_item *item)
{
	struct ksm_stable_node *node = item->node;

	if (node) {
		bool free_node;

		down_write(&ksm_rmap_sem);
		mmn_spin_lock(&ksm_lock, __FILE__, __LINE__);
		list_del(&item->node_link);
		free_node = list_empty(&node->rmap_list) && !node->kpage;
		if (free_node)
			list_del(&node->list);
		mmn_spin_unlock(&ksm_lock);
		up_write(&ksm_rmap_sem);
		if (free_node)
			free(node);
		item->node = NULL;
	} else if (item->unstable) {
		list_del(&item->node_link);
		item->unstable = false;
	}
	if (item->anon_vma) {
		put_anon_vma(item->anon_vma);
		item->anon_vma = NULL;
	}
}

static void stable_tree_append(struct ksm_rmap_item *item,
			       struct ksm_stable_node *node)
{
	down_write(&ksm_rmap_sem);
	mmn_spin_lock(&ksm_lock, __FILE__, __LINE__);
	list_add_tail(&item->node_link, &node->rmap_list);
	item->node = node;
	mmn_spin_unlock(&ksm_lock);
	up_write(&ksm_rmap_sem);
}

/* A KSM page with @page's content (or @page itself), referenced. */
static struct page *stable_tree_search(struct page *page)
{
	struct ksm_stable_node *node;
	struct page *found = NULL;

	mmn_spin_lock(&ksm_lock, __FILE__, __LINE__);
	list_for_each_entry(node, &ksm_stable_tree, list) {
		struct page *kpage = node->kpage;

		if (!kpage)
			continue;
		if (kpage == page || pages_identical(page, kpage)) {
			if (ksm_get_page_unless_zero(kpage)) {
				found = kpage;
				break;
			}
		}
	}
	mmn_spin_unlock(&ksm_lock);
	return found;
}

/* @kpage (write-protected, referenced) becomes a KSM page. */
static struct ksm_stable_node *stable_tree_insert(struct page *kpage)
{
	struct ksm_stable_node *node = calloc(1, sizeof(*node));
	struct anon_vma *old;

	if (!node)
		return NULL;
	INIT_LIST_HEAD(&node->rmap_list);
	node->kpage = kpage;
	lock_page(kpage);
	old = READ_ONCE(kpage->mapping);
	WRITE_ONCE(kpage->mapping, (void *)node);
	SetPageFlag(kpage, PG_ksm);
	unlock_page(kpage);
	put_anon_vma(old);	/* the page's pin; rmap items pin their own */
	mmn_spin_lock(&ksm_lock, __FILE__, __LINE__);
	list_add_tail(&node->list, &ksm_stable_tree);
	mmn_spin_unlock(&ksm_lock);
	return node;
}

void __ksm_page_freed(struct page *page)
{
	struct ksm_stable_node *node = READ_ONCE(page->mapping);
	bool free_node;

	mmn_spin_lock(&ksm_lock, __FILE__, __LINE__);
	node->kpage = NULL;
	free_node = list_empty(&node->rmap_list);
	if (free_node)
		list_del(&node->list);
	mmn_spin_unlock(&ksm_lock);
	if (free_node)
		free(node);
}

static int try_to_merge_with_ksm_page(struct ksm_rmap_item *item,
				      struct page *page, struct page *kpage)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	int err = -EFAULT;

	mmap_read_lock(mm);
	vma = find_mergeable_vma(mm, item->address);
	if (!vma)
		goto out;
	err = try_to_merge_one_page(vma, page, kpage, item->address);
	if (err)
		goto out;
	/* unstable no more; its anon_vma lets rmap_walk_ksm find the mapping */
	remove_rmap_item_from_tree(item);
	item->anon_vma = vma->anon_vma;
	get_anon_vma(vma->anon_vma);
out:
	mmap_read_unlock(mm);
	return err;
}

/* The page now mapped at @item's address, referenced, or NULL. */
static struct page *get_mergeable_page(struct ksm_rmap_item *item)
{
	struct vm_area_struct *vma;
	struct page *page = NULL;

	mmap_read_lock(item->mm);
	vma = find_mergeable_vma(item->mm, item->address);
	if (vma)
		page = follow_anon_page(vma, item->address);
	mmap_read_unlock(item->mm);
	return page;
}

static struct ksm_rmap_item *unstable_tree_search_insert(struct ksm_rmap_item *item,
							 struct page *page,
							 struct page **tree_pagep)
{
	struct ksm_rmap_item *tree_item;

	list_for_each_entry(tree_item, &ksm_unstable_tree, node_link) {
		struct page *tree_page = get_mergeable_page(tree_item);

		if (!tree_page)
			continue;
		if (tree_page == page) {
			/* already shared (fork): nothing to merge */
			put_page(tree_page);
			return NULL;
		}
		if (!PageKsm(tree_page) && pages_identical(page, tree_page)) {
			*tree_pagep = tree_page;
			return tree_item;
		}
		put_page(tree_page);
	}
	item->unstable = true;
	list_add_tail(&item->node_link, &ksm_unstable_tree);
	return NULL;
}

static void cmp_and_merge_page(struct page *page, struct ksm_rmap_item *item)
{
	struct ksm_rmap_item *tree_item;
	struct page *kpage, *tree_page;
	uint64_t checksum;

	if (item->node) {
		if (page_stable_node(page) == item->node)
			return;		/* still merged here */
		remove_rmap_item_from_tree(item);	/* COW broke it */
	}
	kpage = stable_tree_search(page);
	if (kpage) {
		if (try_to_merge_with_ksm_page(item, page, kpage) == 0)
			stable_tree_append(item, page_stable_node(kpage));
		put_page(kpage);
		return;
	}
	if (PageKsm(page))
		return;
	checksum = calc_checksum(page);
	if (!item->checksum_valid || item->oldchecksum != checksum) {
		item->oldchecksum = checksum;
		item->checksum_valid = true;
		return;
	}
	tree_item = unstable_tree_search_insert(item, page, &tree_page);
	if (!tree_item)
		return;
	/* try_to_merge_two_pages(): @page becomes the KSM page */
	if (try_to_merge_with_ksm_page(item, page, NULL) == 0 &&
	    try_to_merge_with_ksm_page(tree_item, tree_page, page) == 0) {
		struct ksm_stable_node *node = stable_tree_insert(page);

		if (node) {
			stable_tree_append(tree_item, node);
			stable_tree_append(item, node);
		}
	}
	put_page(tree_page);
}

/* ---- mm slots, the scan --------------------------------------------------- */

static struct ksm_mm_slot *mm_slot_lookup(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot, *found = NULL;

	mmn_spin_lock(&ksm_mmlist_lock, __FILE__, __LINE__);
	list_for_each_entry(slot, &ksm_mm_list, link)
		if (slot->mm == mm) {
			found = slot;
			break;
		}
	mmn_spin_unlock(&ksm_mmlist_lock);
	return found;
}

static int __ksm_enter(struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;

	if (__atomic_fetch_or(&mm->flags, 1UL << MMF_VM_MERGEABLE,
			      __ATOMIC_RELAXED) & (1UL << MMF_VM_MERGEABLE))
		return 0;
	slot = calloc(1, sizeof(*slot));
	if (!slot) {
		__atomic_fetch_and(&mm->flags, ~(1UL << MMF_VM_MERGEABLE),
				   __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	slot->mm = mm;
	INIT_LIST_HEAD(&slot->items);
	mmgrab(mm);
	mmn_spin_lock(&ksm_mmlist_lock, __FILE__, __LINE__);
	list_add_tail(&slot->link, &ksm_mm_list);
	mmn_spin_unlock(&ksm_mmlist_lock);
	return 0;
}

void ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	if (__atomic_load_n(&oldmm->flags, __ATOMIC_RELAXED) & (1UL << MMF_VM_MERGEABLE))
		__ksm_enter(mm);
}

static void free_rmap_item(struct ksm_rmap_item *item)
{
	remove_rmap_item_from_tree(item);
	list_del(&item->mm_link);
	free(item);
}

/* __mmput(), before exit_mmap: KSM forgets the mm (waits for a scan). */
void ksm_exit(struct mm_struct *mm)
{
	struct ksm_rmap_item *item, *n;
	struct ksm_mm_slot *slot;

	if (!(__atomic_load_n(&mm->flags, __ATOMIC_RELAXED) & (1UL << MMF_VM_MERGEABLE)))
		return;
	mmn_mutex_lock(&ksm_thread_mutex, __FILE__, __LINE__);
	slot = mm_slot_lookup(mm);
	if (slot) {
		list_for_each_entry_safe(item, n, &slot->items, mm_link)
			free_rmap_item(item);
		mmn_spin_lock(&ksm_mmlist_lock, __FILE__, __LINE__);
		list_del(&slot->link);
		mmn_spin_unlock(&ksm_mmlist_lock);
		free(slot);
	}
	__atomic_fetch_and(&mm->flags, ~(1UL << MMF_VM_MERGEABLE), __ATOMIC_RELAXED);
	mmn_mutex_unlock(&ksm_thread_mutex);
	if (slot)
		mmdrop(mm);
}

/*
 * The rmap item for @addr after *@cursor in the slot's sorted list,
 * dropping the items of addresses passed over (their page went away).
 */
static struct ksm_rmap_item *get_next_rmap_item(struct ksm_mm_slot *slot,
						struct list_head **cursor,
						unsigned long addr)
{
	struct list_head *pos = (*cursor)->next;
	struct ksm_rmap_item *item;

	while (pos != &slot->items) {
		struct list_head *next = pos->next;

		item = list_entry(pos, struct ksm_rmap_item, mm_link);
		if (item->address == addr) {
			*cursor = pos;
			return item;
		}
		if (item->address > addr)
			break;
		free_rmap_item(item);
		pos = next;
	}
	item = calloc(1, sizeof(*item));
	if (!item)
		return NULL;
	item->mm = slot->mm;
	item->address = addr;
	INIT_LIST_HEAD(&item->node_link);
	list_add(&item->mm_link, *cursor);
	*cursor = &item->mm_link;
	return item;
}

static void ksm_scan_mm(struct ksm_mm_slot *slot)
{
	struct mm_struct *mm = slot->mm;
	struct list_head *cursor = &slot->items;
	unsigned long addr = 0;

	for (;;) {
		struct ksm_rmap_item *item = NULL;
		struct vm_area_struct *vma;
		struct page *page = NULL;

		mmap_read_lock(mm);
		if (READ_ONCE(mm->mm_users) <= 0) {
			mmap_read_unlock(mm);
			break;
		}
		for (vma = find_vma(mm, addr); vma && !page; vma = vma_next(mm, vma)) {
			if (!(vma->vm_flags & VM_MERGEABLE) || !vma->anon_vma)
				continue;
			for (addr = max(addr, vma->vm_start); addr < vma->vm_end;
			     addr += PAGE_SIZE) {
				page = follow_anon_page(vma, addr);
				if (page)
					break;
			}
		}
		if (page)
			item = get_next_rmap_item(slot, &cursor, addr);
		mmap_read_unlock(mm);
		if (!page)
			break;
		if (item)
			cmp_and_merge_page(page, item);
		put_page(page);
		addr += PAGE_SIZE;
		mmn_cond_resched(__FILE__, __LINE__);
	}
	/* items beyond the last page seen are stale */
	while (cursor->next != &slot->items)
		free_rmap_item(list_entry(cursor->next, struct ksm_rmap_item, mm_link));
}

int mmn_ksm_scan(void)
{
	struct ksm_mm_slot **slots = NULL, *slot;
	struct ksm_rmap_item *item, *n;
	int nr = 0, i = 0, merged;

	mmn_mutex_lock(&ksm_thread_mutex, __FILE__, __LINE__);
	ksm_pass_merged = 0;
	/* slots leave only under ksm_thread_mutex: a snapshot stays valid */
	mmn_spin_lock(&ksm_mmlist_lock, __FILE__, __LINE__);
	list_for_each_entry(slot, &ksm_mm_list, link)
		nr++;
	slots = nr ? malloc(nr * sizeof(*slots)) : NULL;
	if (slots)
		list_for_each_entry(slot, &ksm_mm_list, link)
			slots[i++] = slot;
	mmn_spin_unlock(&ksm_mmlist_lock);
	for (i = 0; slots && i < nr; i++)
		ksm_scan_mm(slots[i]);
	free(slots);
	/* a full pass is over: the unstable tree starts afresh */
	list_for_each_entry_safe(item, n, &ksm_unstable_tree, node_link) {
		list_del_init(&item->node_link);
		item->unstable = false;
	}
	merged = (int)ksm_pass_merged;
	mmn_mutex_unlock(&ksm_thread_mutex);
	return merged;
}

void mmn_ksm_counts(unsigned long *pages_shared, unsigned long *pages_sharing)
{
	struct ksm_stable_node *node;
	unsigned long shared = 0, sharing = 0;

	mmn_spin_lock(&ksm_lock, __FILE__, __LINE__);
	list_for_each_entry(node, &ksm_stable_tree, list) {
		struct ksm_rmap_item *item;
		unsigned long n = 0;

		if (!node->kpage)
			continue;
		list_for_each_entry(item, &node->rmap_list, node_link)
			n++;
		if (!n)
			continue;
		shared++;
		sharing += n - 1;
	}
	mmn_spin_unlock(&ksm_lock);
	if (pages_shared)
		*pages_shared = shared;
	if (pages_sharing)
		*pages_sharing = sharing;
}

/* ---- rmap walk ------------------------------------------------------------ */

/*
 * Every mapping of a KSM page: each rmap item's anon_vma, first the VMAs
 * of the item's own mm, then those of forked mms (search_new_forks).  The
 * caller holds the page lock and a reference.
 */
void rmap_walk_ksm(struct page *page, struct rmap_walk_control *rwc)
{
	struct ksm_stable_node *node = page_stable_node(page);
	struct ksm_rmap_item *item;

	if (!node)
		return;
	down_read(&ksm_rmap_sem);
	for (int new_forks = 0; new_forks < 2; new_forks++) {
		list_for_each_entry(item, &node->rmap_list, node_link) {
			struct anon_vma *anon_vma = item->anon_vma;
			struct anon_vma_chain *avc;

			anon_vma_lock_read(anon_vma);
			list_for_each_entry(avc, &anon_vma->rb_root, same_anon_vma) {
				struct vm_area_struct *vma = avc->vma;

				if (item->address < vma->vm_start ||
				    item->address >= vma->vm_end)
					continue;
				if ((item->mm == vma->vm_mm) == (bool)new_forks)
					continue;
				if (!rwc->rmap_one(page, vma, item->address, rwc->arg)) {
					anon_vma_unlock_read(anon_vma);
					goto out;
				}
			}
			anon_vma_unlock_read(anon_vma);
		}
	}
out:
	up_read(&ksm_rmap_sem);
}

/* ---- madvise ---------------------------------------------------------------- */

/* break_ksm(): write-fault until no KSM page is mapped at @addr. */
static int break_ksm(struct vm_area_struct *vma, unsigned long addr)
{
	int ret = 0;

	for (;;) {
		pmd_t *pmd = mm_find_pmd(vma->vm_mm, addr);
		bool ksm_page = false;
		spinlock_t *ptl;
		pte_t *ptep;

		ptep = pmd ? pte_offset_map_lock(vma->vm_mm, pmd, addr, &ptl) : NULL;
		if (ptep) {
			pte_t pte = ptep_get(ptep);
			struct page *page = pte_present(pte) ?
					    vm_normal_page(vma, addr, pte) : NULL;

			ksm_page = page && PageKsm(page);
			pte_unmap_unlock(ptep, ptl);
		}
		if (!ksm_page)
			return 0;
		ret = handle_mm_fault(vma, addr, FAULT_FLAG_WRITE | FAULT_FLAG_REMOTE);
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & VM_FAULT_ERROR)
			return 0;
		mmn_cond_resched(__FILE__, __LINE__);
	}
}

/* ksm_madvise(): mmap_lock held for write. */
int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice, unsigned long *vm_flags)
{
	int err;

	switch (advice) {
	case MADV_MERGEABLE:
		if (*vm_flags & (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE |
				 VM_PFNMAP | VM_IO | VM_DONTEXPAND))
			return 0;
		if (!vma_is_anonymous(vma))
			return 0;	/* private file mappings: not modelled */
		err = __ksm_enter(vma->vm_mm);
		if (err)
			return err;
		*vm_flags |= VM_MERGEABLE;
		return 0;
	case MADV_UNMERGEABLE:
		if (!(*vm_flags & VM_MERGEABLE))
			return 0;
		if (vma->anon_vma) {
			for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
				err = break_ksm(vma, addr);
				if (err)
					return err;
			}
		}
		*vm_flags &= ~VM_MERGEABLE;
		return 0;
	default:
		return -EINVAL;
	}
}
