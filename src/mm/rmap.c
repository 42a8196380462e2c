// SPDX-License-Identifier: GPL-2.0
/*
 * Reverse mapping (mm/rmap.c): anon_vma, anon_vma_chain, the rmap
 * counters of struct page, and rmap walks.
 *
 * anon_vma model, as Linux:
 *   - a VMA gets its anon_vma at its first anonymous fault
 *     (anon_vma_prepare), linked through one anon_vma_chain (avc);
 *   - fork: anon_vma_fork() links the child VMA to every anon_vma of the
 *     parent VMA (anon_vma_clone) plus a new anon_vma of its own whose root
 *     is the parent's root, so a COW page faulted in the child is found
 *     only from the child, while the parent's pages are found from every
 *     descendant;
 *   - a split VMA is cloned onto the same anon_vmas;
 *   - unlink_anon_vmas() at unmap/exit.
 * One rwsem per tree, the root's: avc lists (same_anon_vma) change under
 * it for write, rmap walks hold it for read.  Deviation: Linux reuses an
 * anon_vma with no active VMAs at fork (anon_vma_clone's reuse); we always
 * allocate, which only makes the trees deeper.
 *
 * Lifetime: see struct anon_vma's refcount.  Pages pin their anon_vma, so
 * an rmap walk of a referenced, locked page never touches a freed one.
 *
 * Page counters: _mapcount (0-based here) counts ptes; page_add_* and
 * page_remove_rmap() change it under the PT lock; _refcount is separate
 * (each pte mapping also holds one reference, taken by the fault/copy).
 */
#include <stdlib.h>

#include "mm/internal.h"

static int anon_vma_next_id;

void __mmn_rmap_ids_reset(void)
{
	__atomic_store_n(&anon_vma_next_id, 0, __ATOMIC_RELAXED);
}

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = calloc(1, sizeof(*av));

	if (!av)
		return NULL;
	av->root = av;
	av->refcount = 1;
	mmn_rwsem_init(&av->rwsem.s, "anon_vma->rwsem");
	spin_lock_init(&av->lock);
	INIT_LIST_HEAD(&av->rb_root);
	av->id = __atomic_add_fetch(&anon_vma_next_id, 1, __ATOMIC_RELAXED);
	__mmn_stat_add(MMN_STAT_ANON_VMAS, 1);
	return av;
}

void get_anon_vma(struct anon_vma *anon_vma)
{
	__atomic_fetch_add(&anon_vma->refcount, 1, __ATOMIC_RELAXED);
}

void put_anon_vma(struct anon_vma *anon_vma)
{
	while (anon_vma) {
		struct anon_vma *parent = anon_vma->parent, *root = anon_vma->root;
		int ref = __atomic_sub_fetch(&anon_vma->refcount, 1, __ATOMIC_ACQ_REL);

		VM_WARN_ON(ref < 0);
		if (ref)
			return;
		VM_WARN_ON(!list_empty(&anon_vma->rb_root));
		mmn_rwsem_destroy(&anon_vma->rwsem.s);
		spin_lock_destroy(&anon_vma->lock);
		free(anon_vma);
		__mmn_stat_add(MMN_STAT_ANON_VMAS, -1);
		/* a child pins its root (if not its parent) and its parent */
		if (root != anon_vma && root != parent)
			put_anon_vma(root);
		anon_vma = root != anon_vma ? parent : NULL;
	}
}

/*
 * era: 2.6.33's anon_vma->lock was a spinlock (the rmap locks became
 * sleeping in 3.0): every holder is atomic, and so is every notifier
 * called under it (reclaim, migration, khugepaged).  The lab keeps the
 * rwsem for the lock order and takes the spinlock inside it.
 */
static bool anon_vma_is_spinlock(void)
{
	return mmn_era == MMN_ERA_2_6_33;
}

void anon_vma_lock_write(struct anon_vma *anon_vma)
{
	down_write(&anon_vma->root->rwsem);
	if (anon_vma_is_spinlock())
		spin_lock(&anon_vma->root->lock);
}

void anon_vma_unlock_write(struct anon_vma *anon_vma)
{
	if (anon_vma_is_spinlock())
		spin_unlock(&anon_vma->root->lock);
	up_write(&anon_vma->root->rwsem);
}

void anon_vma_lock_read(struct anon_vma *anon_vma)
{
	down_read(&anon_vma->root->rwsem);
	if (anon_vma_is_spinlock())
		spin_lock(&anon_vma->root->lock);
}

void anon_vma_unlock_read(struct anon_vma *anon_vma)
{
	if (anon_vma_is_spinlock())
		spin_unlock(&anon_vma->root->lock);
	up_read(&anon_vma->root->rwsem);
}

/* Link @vma to @anon_vma; the root's rwsem is held for write. */
static void anon_vma_chain_link(struct vm_area_struct *vma,
				struct anon_vma_chain *avc,
				struct anon_vma *anon_vma)
{
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
	list_add_tail(&avc->same_anon_vma, &anon_vma->rb_root);
	get_anon_vma(anon_vma);
}

/*
 * The VMA's first anonymous fault (mmap_lock read held): give it an
 * anon_vma.  Concurrent faults on the same VMA race; page_table_lock
 * decides, as in Linux.
 */
int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma *anon_vma;
	struct anon_vma_chain *avc;

	mmap_assert_locked(mm);
	/* acquire: pairs with the release below, so that a fault which sees
	 * the anon_vma also sees it initialised (page_add_new_anon_rmap) */
	if (likely(smp_load_acquire(&vma->anon_vma)))
		return 0;
	avc = calloc(1, sizeof(*avc));
	if (!avc)
		return -ENOMEM;
	anon_vma = anon_vma_alloc();
	if (!anon_vma) {
		free(avc);
		return -ENOMEM;
	}
	anon_vma_lock_write(anon_vma);
	spin_lock(&mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		anon_vma_chain_link(vma, avc, anon_vma);
		smp_store_release(&vma->anon_vma, anon_vma);
		avc = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	anon_vma_unlock_write(anon_vma);
	/* drop the allocation reference: the avc (if linked) holds one */
	put_anon_vma(anon_vma);
	free(avc);
	return 0;
}

/* Attach @dst to every anon_vma @src is attached to (split, fork, merge). */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;

	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma) {
		struct anon_vma_chain *avc = calloc(1, sizeof(*avc));

		if (!avc) {
			unlink_anon_vmas(dst);
			return -ENOMEM;
		}
		anon_vma_lock_write(pavc->anon_vma);
		anon_vma_chain_link(dst, avc, pavc->anon_vma);
		anon_vma_unlock_write(pavc->anon_vma);
	}
	return 0;
}

/* fork: @vma (child) gets @pvma's anon_vmas plus its own new one. */
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma *anon_vma;
	struct anon_vma_chain *avc;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	if (anon_vma_clone(vma, pvma))
		return -ENOMEM;
	avc = calloc(1, sizeof(*avc));
	anon_vma = avc ? anon_vma_alloc() : NULL;
	if (!anon_vma) {
		free(avc);
		unlink_anon_vmas(vma);
		return -ENOMEM;
	}
	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	get_anon_vma(anon_vma->root);
	if (anon_vma->parent != anon_vma->root)
		get_anon_vma(anon_vma->parent);
	vma->anon_vma = anon_vma;
	anon_vma_lock_write(anon_vma);
	anon_vma_chain_link(vma, avc, anon_vma);
	anon_vma_unlock_write(anon_vma);
	put_anon_vma(anon_vma);		/* the allocation reference */
	return 0;
}

void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		anon_vma_lock_write(anon_vma);
		list_del(&avc->same_anon_vma);
		anon_vma_unlock_write(anon_vma);
		list_del(&avc->same_vma);
		free(avc);
		put_anon_vma(anon_vma);
	}
	vma->anon_vma = NULL;
}

/* ---- page rmap counters (PT lock held) ------------------------------ */

/*
 * A freshly allocated page becomes anonymous and exclusive to @vma.  Its
 * ->mapping pins the anon_vma until the frame is freed.
 */
void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma,
			    unsigned long address)
{
	struct anon_vma *anon_vma = smp_load_acquire(&vma->anon_vma);

	VM_WARN_ON(!anon_vma);
	get_anon_vma(anon_vma);
	WRITE_ONCE(page->mapping, (void *)anon_vma);
	WRITE_ONCE(page->index, linear_page_index(vma, address));
	SetPageFlag(page, PG_anon);
	SetPageAnonExclusive(page);
	__atomic_store_n(&page->_mapcount, 1, __ATOMIC_RELAXED);
	__mmn_stat_add(MMN_STAT_ANON, 1);
	inc_mm_counter(vma->vm_mm, true);
}

/*
 * do_wp_page reuse: the page is exclusively ours now, move it to the
 * VMA's own anon_vma so later rmap walks start there (folio_move_anon_rmap;
 * the page lock is held).
 */
void page_move_anon_rmap(struct page *page, struct vm_area_struct *vma)
{
	struct anon_vma *old = (struct anon_vma *)page->mapping;
	struct anon_vma *anon_vma = vma->anon_vma;

	VM_WARN_ON(!PageLocked(page));
	if (old == anon_vma)
		return;
	get_anon_vma(anon_vma);
	WRITE_ONCE(page->mapping, (void *)anon_vma);
	put_anon_vma(old);
}

void page_add_file_rmap(struct page *page, struct vm_area_struct *vma)
{
	page_mapcount_inc(page);
	inc_mm_counter(vma->vm_mm, false);
}

/* fork: the child's pte maps the page too. */
void page_dup_rmap(struct page *page)
{
	page_mapcount_inc(page);
}

void page_remove_rmap(struct page *page, struct vm_area_struct *vma)
{
	page_mapcount_dec(page);
	dec_mm_counter(vma->vm_mm, PageAnon(page));
}

/* ---- rmap walks ----------------------------------------------------- */

unsigned long vma_address(struct page *page, struct vm_area_struct *vma)
{
	unsigned long pgoff = READ_ONCE(page->index);
	unsigned long address;

	if (pgoff < vma->vm_pgoff)
		return -EFAULT;
	address = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	if (address < vma->vm_start || address >= vma->vm_end)
		return -EFAULT;
	return address;
}

void rmap_walk_anon(struct page *page, struct rmap_walk_control *rwc)
{
	struct anon_vma *anon_vma = page_anon_vma(page);
	struct anon_vma_chain *avc;

	if (!anon_vma)
		return;
	anon_vma_lock_read(anon_vma);
	list_for_each_entry(avc, &anon_vma->rb_root, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long address = vma_address(page, vma);

		if (address == (unsigned long)-EFAULT)
			continue;
		if (!rwc->rmap_one(page, vma, address, rwc->arg))
			break;
	}
	anon_vma_unlock_read(anon_vma);
}

void rmap_walk_file(struct page *page, struct rmap_walk_control *rwc)
{
	struct address_space *mapping = READ_ONCE(page->mapping);
	struct vm_area_struct *vma;

	if (!mapping)
		return;
	i_mmap_lock_read(mapping);
	list_for_each_entry(vma, &mapping->i_mmap, shared) {
		unsigned long address = vma_address(page, vma);

		if (address == (unsigned long)-EFAULT)
			continue;
		if (!rwc->rmap_one(page, vma, address, rwc->arg))
			break;
	}
	i_mmap_unlock_read(mapping);
}

void rmap_walk(struct page *page, struct rmap_walk_control *rwc)
{
	page = compound_head(page);
	VM_WARN_ON(!PageLocked(page));
	if (PageKsm(page))
		rmap_walk_ksm(page, rwc);
	else if (PageAnon(page))
		rmap_walk_anon(page, rwc);
	else
		rmap_walk_file(page, rwc);
}

pte_t *page_vma_mapped_pte(struct page *page, struct vm_area_struct *vma,
			   unsigned long address, spinlock_t **ptlp)
{
	pmd_t *pmd = mm_find_pmd(vma->vm_mm, address);
	pte_t *ptep;
	pte_t pte;

	if (!pmd)
		return NULL;
	ptep = pte_offset_map_lock(vma->vm_mm, pmd, address, ptlp);
	if (!ptep)
		return NULL;
	pte = ptep_get(ptep);
	if (pte_present(pte) && pte_pfn(pte) == page_to_pfn(page))
		return ptep;
	pte_unmap_unlock(ptep, *ptlp);
	return NULL;
}
