// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent huge pages, anonymous, PMD-sized (mm/huge_memory.c, 6.12).
 *
 * Notation as memory.c: S = range_start, E = range_end, P = PMD/pte
 * change, F = TLB flush (6.12: with arch_invalidate_secondary_tlbs).
 *
 * do_huge_pmd_anonymous_page (fault on a none PMD whose 2 MiB range lies
 *   inside a THP-enabled anon VMA), mmap_lock read, anon_vma prepared:
 *   - read fault (6.12, 6.1): the huge zero page (below), read-only huge
 *     PMD, a deposited PTE table, no rmap, no refcount per mapping.  No
 *     notifier.  No free order-9 block for it: VM_FAULT_FALLBACK (4 KiB
 *     zero page);
 *   - write fault (and, era 2.6.33, a read fault: 2.6.38 had no huge zero
 *     page and mapped a fresh THP for either): allocate an order-9
 *     compound page and zero it, preallocate a PTE table for the deposit,
 *     PMD lock, recheck none, rmap (entire mapcount 1), deposit, set the
 *     huge PMD (writable+dirty if VM_WRITE).  No notifier.  No order-9
 *     block free: VM_FAULT_FALLBACK, the fault continues with 4 KiB.
 * do_huge_pmd_wp_page (write to a read-only huge PMD):
 *   - the huge zero page (6.12, 6.1): __split_huge_pmd (CLEAR 2M; the 512
 *     ptes map the 4 KiB zero page) and VM_FAULT_FALLBACK: the 4 KiB fault
 *     copies (wp_page_copy: CLEAR 4K);
 *   - PMD lock; an exclusive page (PageAnonExclusive, or refcount 1 under
 *     the page lock) is reused in place (no notifier);
 *   - otherwise 6.12/6.1: unlock, __split_huge_pmd and VM_FAULT_FALLBACK:
 *     the 4 KiB fault then COWs one page;
 *   - era 2.6.33 (2.6.38's huge COW): C first, the whole huge page (or,
 *     with no free order-9 block, 512 small pages: the _fallback), with
 *     mmap_lock read only; then page_table_lock -> pmd_same ->
 *     pmdp_clear_flush_notify (S, P+F, E: atomic) -> the new huge PMD (or
 *     the deposited table filled with the 512 copies) -> old rmap removed
 *     -> unlock -> the old page put.
 * __split_huge_pmd, mmap_lock (read or write):
 *   6.12/6.1: S(CLEAR, [haddr, haddr + 2M)) -> PMD lock -> pmdp_invalidate
 *   (P, then F of the 2 MiB under the lock) -> withdraw the deposited PTE
 *   table, fill 512 ptes (same bits: write, dirty, young, protnone) ->
 *   refcount +511, subpage mapcounts +1, entire mapcount -1 ->
 *   pmd_populate -> unlock -> E (6.1: only_end, no invalidate_range: the
 *   ptes map the same pages -- kernel/traces/6.1/thp-split.txt).  The
 *   huge zero page: the same S, F and E; the ptes map the 4 KiB zero page
 *   (__split_huge_zero_page_pmd).  With freeze (split_huge_page_to_list
 *   only) the ptes are migration entries and the PMD's rmap and reference
 *   go.  The compound page itself is not split here: PTE-mapped subpages
 *   stay parts of it, each with its own _mapcount and PageAnonExclusive,
 *   the refcount on the head; it is freed whole when the last reference
 *   goes, unless reclaim or migration splits it (below).
 *   era 2.6.33 (2.6.38's split_huge_page): page_table_lock ->
 *   pmdp_splitting_flush_notify (S, the splitting flush F, E: atomic; the
 *   PMD stays present and huge) -> the map step: PMD made non-present + F,
 *   the deposited table filled, pmd_populate, no notifier -> unlock.  No
 *   range pair outside the lock.
 * split_huge_page_to_list (split_folio; reclaim and migration of a THP):
 *   anon_vma write lock -> no extra reference, else -EAGAIN before any
 *   change -> unmap_folio(): per VMA holding part of the THP,
 *   split_huge_pmd_address(freeze) (the CLEAR 2M above, even when the PMD
 *   is no longer huge: 6.12's mm_find_pmd does not look) and
 *   try_to_migrate_one() over the THP's part of the VMA: S(CLEAR) -> PTL
 *   -> each present pte of it: P+F (2.6.33: invalidate_page, no range
 *   pair), migration entry -> E -> refcount frozen (else the entries are
 *   mapped back, -EAGAIN) -> the compound page becomes 512 order-0 pages
 *   (each pins the anon_vma; the tails locked) -> remap_page(): every
 *   migration entry maps its page again, no notifier -> tails unlocked ->
 *   anon_vma unlock.  No data moves, no frame is freed by the split itself
 *   (a tail whose entry was zapped meanwhile is).
 * zap_huge_pmd (zap of a whole PMD, inside the caller's S/E and gather):
 *   PMD lock -> get_and_clear -> range into the gather -> rmap -> the
 *   deposited table retired -> unlock; the page is put after the flush.
 *   The huge zero page: no rmap, no reference.  A zap of part of a huge
 *   PMD splits it first (nested S/E, as Linux).
 * copy_huge_pmd (fork, inside copy_page_range's PROTECTION_PAGE S/E):
 *   dst PMD lock, src PMD lock nested; share the page (refcount and
 *   entire mapcount +1, not exclusive any more), write-protect the
 *   parent's PMD, the child's PMD read-only and old, deposit for the child.
 *   The huge zero page: the child takes its own huge zero reference.
 * change_huge_pmd (mprotect, inside PROTECTION_VMA S/E): PMD lock ->
 *   get_and_clear + set with the new protection -> the flush goes to the
 *   gather (after E) when permissions were lowered.  (A private VMA's
 *   vm_page_prot is read-only: the huge zero PMD stays read-only.)
 * Partial munmap/mprotect split the PMD in __split_vma()
 * (vma_adjust_trans_huge, rmap locks held), before their own S/E.
 *
 * The huge zero page (6.12 mm_get_huge_zero_folio, since 3.8): one
 * order-9 zeroed compound page, not anonymous, allocated at the first
 * read fault that wants it.  huge_zero_refcount counts one reference per
 * mm that ever mapped it (MMF_HUGE_ZERO_PAGE, kept until exit) plus the
 * shrinker's; mapping it takes no page reference (GUP does, on the head).
 * Linux frees it from a shrinker once only the shrinker's reference is
 * left; the lab does that at once when an exiting mm drops the last
 * mm reference (mm_put_huge_zero_page), through the exit's gather: after
 * the final flush.  So it is never freed while mapped, and a device that
 * keeps a translation of it past that point uses a freed frame.
 *
 * Deposited tables: Linux keeps one PTE table per anon huge PMD
 * (pgtable_trans_huge_deposit) for the split, and frees it at zap.  Here a
 * zapped PMD's table is retired to mm->pte_spare and reused by the next
 * deposit; all are freed at exit, because the lab's lockless walkers
 * (access.c, hmm.c) rely on tables never being freed while the mm lives
 * (Linux frees them under RCU).
 *
 * Eras: 6.1 calls invalidate_range under the PMD lock only from
 * pmdp_huge_clear_flush_notify(), which Linux uses for file and DAX THPs
 * (not modelled); the anon paths use pmdp_invalidate (split) and
 * pmdp_collapse_flush (collapse), so 6.1 differs from 6.12 only by
 * range_end's invalidate_range (collapse) and only_end (split).  2.6.33
 * has no THP: the lab runs 2.6.38's (pmdp_clear_flush_notify,
 * pmdp_splitting_flush_notify, reference linux-2.6.33.md section 3).
 */
#include <stdlib.h>

#include "check/check.h"
#include "mm/huge_mm.h"
#include "mm/internal.h"

static enum mmn_thp_mode thp_enabled = MMN_THP_MADVISE;

void mmn_thp_set_enabled(enum mmn_thp_mode mode)
{
	WRITE_ONCE(thp_enabled, mode);
}

enum mmn_thp_mode mmn_thp_get_enabled(void)
{
	return READ_ONCE(thp_enabled);
}

bool thp_vma_allowable(struct vm_area_struct *vma, unsigned long haddr,
		       bool sysfs)
{
	unsigned long flags = READ_ONCE(vma->vm_flags);

	if (!vma_is_anonymous(vma) || (flags & (VM_NOHUGEPAGE | VM_PFNMAP | VM_IO)))
		return false;
	if (haddr & ~PMD_MASK)
		return false;
	if (haddr < vma->vm_start || haddr + HPAGE_PMD_SIZE > vma->vm_end)
		return false;
	if (!sysfs)
		return true;
	switch (mmn_thp_get_enabled()) {
	case MMN_THP_ALWAYS:
		return true;
	case MMN_THP_MADVISE:
		return flags & VM_HUGEPAGE;
	default:
		return false;
	}
}

/* ---- PMD entries ---------------------------------------------------- */

static pmd_t mk_huge_pmd(struct page *head, uint64_t prot)
{
	return __pmd(((uint64_t)page_to_pfn(head) << PAGE_SHIFT) | prot | _PAGE_PSE);
}

static pmd_t maybe_pmd_mkwrite(pmd_t pmd, struct vm_area_struct *vma)
{
	if (vma->vm_flags & VM_WRITE)
		pmd.pmd |= _PAGE_RW;
	return pmd;
}

/* The PMD lock is held.  A schedule point, as every pte store. */
static void set_pmd_at(struct mm_struct *mm, unsigned long addr, pmd_t *pmdp,
		       pmd_t pmd)
{
	mmn_sched_point(MMN_SP_PTE_WRITE, pmdp);
	__atomic_store_n(&pmdp->pmd, pmd.pmd, __ATOMIC_RELEASE);
}

static pmd_t pmdp_huge_get_and_clear(struct mm_struct *mm, unsigned long addr,
				     pmd_t *pmdp)
{
	mmn_sched_point(MMN_SP_PTE_WRITE, pmdp);
	return __pmd(__atomic_exchange_n(&pmdp->pmd, 0, __ATOMIC_ACQ_REL));
}

/*
 * pmdp_invalidate(): take the huge PMD away and flush it from every TLB
 * under the PMD lock (x86 flush_pmd_tlb_range; in 6.12 the secondary TLBs
 * hear it here).  Linux leaves an invalid, non-present PSE entry; the lab
 * leaves none, which every walker of the lab re-checks under
 * page_table_lock before populating.
 */
static pmd_t pmdp_invalidate(struct vm_area_struct *vma, unsigned long haddr,
			     pmd_t *pmdp)
{
	pmd_t old = pmdp_huge_get_and_clear(vma->vm_mm, haddr, pmdp);

	flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
	return old;
}

/* pmd_populate(): pairs with the walkers' acquire loads. */
static void thp_pmd_populate(pmd_t *pmd, struct pgtable *table)
{
	mmn_sched_point(MMN_SP_PTE_WRITE, pmd);
	__atomic_store_n(&pmd->pmd, (uint64_t)(uintptr_t)table | _PAGE_PRESENT,
			 __ATOMIC_RELEASE);
}

static struct page *pmd_page(pmd_t pmd)
{
	return pfn_to_page(pmd_pfn(pmd));
}

/*
 * 2.6.38's pmdp_clear_flush_notify() (era 2.6.33 only): the range pair
 * around the clear and the flush, inside the caller's page_table_lock.
 */
pmd_t pmdp_clear_flush_notify(struct vm_area_struct *vma, unsigned long haddr,
			      pmd_t *pmdp)
{
	struct mmu_notifier_range range;
	pmd_t pmd;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr,
				haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pmd = pmdp_huge_get_and_clear(vma->vm_mm, haddr, pmdp);
	flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_end(&range);
	return pmd;
}

/*
 * 2.6.38's pmdp_splitting_flush_notify() (era 2.6.33): the range pair
 * around pmdp_splitting_flush(), which sets the splitting bit and flushes;
 * the PMD stays present and huge.  The lab has no splitting bit: the
 * caller keeps page_table_lock until the split is done.
 */
static void pmdp_splitting_flush_notify(struct vm_area_struct *vma,
					unsigned long haddr)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, haddr,
				haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	flush_tlb_range(vma, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_end(&range);
}

/* ---- the huge zero page ------------------------------------------------ */

static struct page *huge_zero_page;		/* atomic: cmpxchg, xchg */
static unsigned long huge_zero_pfn = ~0UL;	/* READ_ONCE */
static int huge_zero_refcount;			/* atomic */

void __mmn_thp_init(void)
{
	/* the frames of a previous run are gone with it */
	__atomic_store_n(&huge_zero_page, NULL, __ATOMIC_RELAXED);
	WRITE_ONCE(huge_zero_pfn, ~0UL);
	__atomic_store_n(&huge_zero_refcount, 0, __ATOMIC_RELAXED);
}

unsigned long huge_zero_pfn_read(void)
{
	return __atomic_load_n(&huge_zero_pfn, __ATOMIC_ACQUIRE);
}

bool is_huge_zero_page(struct page *page)
{
	return is_huge_zero_pfn(page_to_pfn(compound_head(page)));
}

static bool atomic_inc_not_zero(int *v)
{
	int old = __atomic_load_n(v, __ATOMIC_RELAXED);

	while (old)
		if (__atomic_compare_exchange_n(v, &old, old + 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	return false;
}

/* get_huge_zero_page(): a reference, allocating the page if needed. */
static bool get_huge_zero_page(void)
{
	struct page *page, *expected;

	for (;;) {
		if (atomic_inc_not_zero(&huge_zero_refcount))
			return true;
		page = alloc_pages(HPAGE_PMD_ORDER);
		if (!page)
			return false;		/* THP_ZERO_PAGE_ALLOC_FAILED */
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			clear_page_data(page + i);
		expected = NULL;
		if (__atomic_compare_exchange_n(&huge_zero_page, &expected, page,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_store_n(&huge_zero_pfn, page_to_pfn(page),
					 __ATOMIC_RELEASE);
			/* ours, and the shrinker's */
			__atomic_store_n(&huge_zero_refcount, 2, __ATOMIC_RELEASE);
			return true;
		}
		/* another task installed one (or the last is being freed) */
		put_page(page);
		mmn_cond_resched(__FILE__, __LINE__);
	}
}

static void put_huge_zero_page(void)
{
	/* the shrinker's reference is never dropped here */
	WARN_ON(__atomic_sub_fetch(&huge_zero_refcount, 1, __ATOMIC_ACQ_REL) <= 0);
}

struct page *mm_get_huge_zero_page(struct mm_struct *mm)
{
	if (__atomic_load_n(&mm->flags, __ATOMIC_ACQUIRE) & (1UL << MMF_HUGE_ZERO_PAGE))
		return __atomic_load_n(&huge_zero_page, __ATOMIC_ACQUIRE);
	if (!get_huge_zero_page())
		return NULL;
	if (__atomic_fetch_or(&mm->flags, 1UL << MMF_HUGE_ZERO_PAGE,
			      __ATOMIC_ACQ_REL) & (1UL << MMF_HUGE_ZERO_PAGE))
		put_huge_zero_page();
	return __atomic_load_n(&huge_zero_page, __ATOMIC_ACQUIRE);
}

void mm_put_huge_zero_page(struct mmu_gather *tlb, struct mm_struct *mm)
{
	int one = 1;
	struct page *page;

	if (!(__atomic_fetch_and(&mm->flags, ~(1UL << MMF_HUGE_ZERO_PAGE),
				 __ATOMIC_ACQ_REL) & (1UL << MMF_HUGE_ZERO_PAGE)))
		return;
	put_huge_zero_page();
	/* shrink_huge_zero_page_scan(), at once: only its reference left */
	if (!__atomic_compare_exchange_n(&huge_zero_refcount, &one, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	/* the pfn first: a new page may be installed once the pointer is NULL */
	__atomic_store_n(&huge_zero_pfn, ~0UL, __ATOMIC_RELEASE);
	page = __atomic_exchange_n(&huge_zero_page, NULL, __ATOMIC_ACQ_REL);
	/* GUP references keep the frames; the last put frees them */
	tlb_remove_page(tlb, page);
}

/* ---- deposited PTE tables -------------------------------------------- */

void pgtable_trans_huge_deposit(struct mm_struct *mm, struct pgtable *table)
{
	table->deposit_next = mm->pmd_huge_pte;
	mm->pmd_huge_pte = table;
}

struct pgtable *pgtable_trans_huge_withdraw(struct mm_struct *mm)
{
	struct pgtable *table = mm->pmd_huge_pte;

	if (WARN_ON(!table))
		return NULL;
	mm->pmd_huge_pte = table->deposit_next;
	table->deposit_next = NULL;
	return table;
}

/* zap_deposited_table(): kept as a spare until exit (see the header). */
static void thp_retire_table(struct mm_struct *mm, struct pgtable *table)
{
	if (!table)
		return;
	table->deposit_next = mm->pte_spare;
	mm->pte_spare = table;
}

struct pgtable *thp_pgtable_alloc(struct mm_struct *mm)
{
	struct pgtable *table;

	spin_lock(&mm->page_table_lock);
	table = mm->pte_spare;
	if (table) {
		mm->pte_spare = table->deposit_next;
		table->deposit_next = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	return table ? table : pgtable_alloc(0, 0);
}

void thp_free_deposited(struct mmu_gather *tlb, struct mm_struct *mm)
{
	struct pgtable **lists[] = { &mm->pmd_huge_pte, &mm->pte_spare };

	/* mm_put_huge_zero_folio() of __mmput(): every PMD is zapped now */
	mm_put_huge_zero_page(tlb, mm);

	for (unsigned int i = 0; i < 2; i++) {
		while (*lists[i]) {
			struct pgtable *t = *lists[i];

			*lists[i] = t->deposit_next;
			t->deposit_next = NULL;
			tlb_remove_table(tlb, t);
		}
	}
}

/* ---- rmap of compound pages ------------------------------------------- */

void page_add_new_anon_rmap_huge(struct page *head, struct vm_area_struct *vma,
				 unsigned long haddr)
{
	struct anon_vma *anon_vma = vma->anon_vma;

	VM_WARN_ON(!anon_vma || !PageFlag(head, PG_head));
	get_anon_vma(anon_vma);
	WRITE_ONCE(head->mapping, (void *)anon_vma);
	WRITE_ONCE(head->index, linear_page_index(vma, haddr));
	SetPageFlag(head, PG_anon);
	SetPageAnonExclusive(head);
	__atomic_store_n(&head->_entire_mapcount, 1, __ATOMIC_RELAXED);
	__mmn_stat_add(MMN_STAT_ANON, HPAGE_PMD_NR);
	__atomic_fetch_add(&vma->vm_mm->rss_anon, HPAGE_PMD_NR, __ATOMIC_RELAXED);
}

static void page_remove_rmap_pmd(struct page *head, struct vm_area_struct *vma)
{
	int n = __atomic_sub_fetch(&head->_entire_mapcount, 1, __ATOMIC_RELAXED);

	VM_WARN_ON(n < 0);
	__atomic_fetch_sub(&vma->vm_mm->rss_anon, HPAGE_PMD_NR, __ATOMIC_RELAXED);
}

int total_mapcount(struct page *page)
{
	struct page *head = compound_head(page);
	int n;

	if (!PageFlag(head, PG_head))
		return page_mapcount(head);
	n = __atomic_load_n(&head->_entire_mapcount, __ATOMIC_RELAXED);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		n += page_mapcount(head + i);
	return n;
}

/* ---- faults ------------------------------------------------------------ */

/* set_huge_zero_folio(): PMD lock held, the PMD none. */
static void set_huge_zero_page(struct pgtable *table, struct mm_struct *mm,
			       struct vm_area_struct *vma, unsigned long haddr,
			       pmd_t *pmd, struct page *zero)
{
	pmd_t entry = mk_huge_pmd(zero, vma->vm_page_prot);

	/* read-only whatever the VMA: private vm_page_prot has no RW */
	entry.pmd &= ~_PAGE_RW;
	entry.pmd |= _PAGE_ACCESSED;
	pgtable_trans_huge_deposit(mm, table);
	set_pmd_at(mm, haddr, pmd, entry);
}

static int do_huge_pmd_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct pgtable *table;
	struct page *page;
	spinlock_t *ptl;
	pmd_t entry;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	/* era: the huge zero page exists since 3.8; 2.6.38 mapped a THP */
	if (!(vmf->flags & FAULT_FLAG_WRITE) && mmn_era != MMN_ERA_2_6_33) {
		struct page *zero;

		table = thp_pgtable_alloc(mm);
		if (!table)
			return VM_FAULT_OOM;
		zero = mm_get_huge_zero_page(mm);
		ptl = pmd_lock(mm, vmf->pmd);
		if (!zero || !pmd_none(pmdp_get(vmf->pmd))) {
			thp_retire_table(mm, table);
			spin_unlock(ptl);
			/* no zero page: THP_FAULT_FALLBACK (4 KiB zero page) */
			return zero ? 0 : VM_FAULT_FALLBACK;
		}
		set_huge_zero_page(table, mm, vma, haddr, vmf->pmd, zero);
		spin_unlock(ptl);
		return 0;
	}
	page = alloc_pages(HPAGE_PMD_ORDER);
	if (!page)
		return VM_FAULT_FALLBACK;	/* THP_FAULT_FALLBACK */
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		clear_page_data(page + i);
	table = thp_pgtable_alloc(mm);
	if (!table) {
		put_page(page);
		return VM_FAULT_OOM;
	}
	entry = mk_huge_pmd(page, vma->vm_page_prot);
	entry.pmd |= _PAGE_ACCESSED;
	if (vma->vm_flags & VM_WRITE)
		entry.pmd |= _PAGE_RW | _PAGE_DIRTY | _PAGE_SOFT_DIRTY;

	ptl = pmd_lock(mm, vmf->pmd);
	if (!pmd_none(pmdp_get(vmf->pmd))) {
		thp_retire_table(mm, table);
		spin_unlock(ptl);
		put_page(page);
		return 0;
	}
	/* the allocation's reference becomes the PMD's */
	page_add_new_anon_rmap_huge(page, vma, haddr);
	pgtable_trans_huge_deposit(mm, table);
	set_pmd_at(mm, haddr, vmf->pmd, entry);
	spin_unlock(ptl);
	return 0;
}

static void huge_pmd_set_accessed(struct vm_fault *vmf, pmd_t orig)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	spinlock_t *ptl = pmd_lock(mm, vmf->pmd);
	pmd_t entry = pmdp_get(vmf->pmd);

	if (entry.pmd == orig.pmd) {
		entry.pmd |= _PAGE_ACCESSED;
		if ((vmf->flags & FAULT_FLAG_WRITE) && pmd_write(entry))
			entry.pmd |= _PAGE_DIRTY | _PAGE_SOFT_DIRTY;
		if (entry.pmd != orig.pmd)
			set_pmd_at(mm, vmf->address & PMD_MASK, vmf->pmd, entry);
	}
	spin_unlock(ptl);
}

/*
 * Era 2.6.33: 2.6.38's huge COW (do_huge_pmd_wp_page, and
 * do_huge_pmd_wp_page_fallback when no huge page can be had).  @page: the
 * head mapped by @orig, referenced by the caller (the reference is put
 * here).  mmap_lock read; the copy is made with no other lock, the switch
 * under page_table_lock with pmdp_clear_flush_notify (S, P+F, E atomic).
 */
static int do_huge_pmd_wp_page_2_6_38(struct vm_fault *vmf, pmd_t orig,
				      struct page *page)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct page *new_page = NULL, **pages = NULL;
	int ret = 0;
	spinlock_t *ptl;

	if (thp_vma_allowable(vma, haddr, true))
		new_page = alloc_pages(HPAGE_PMD_ORDER);
	if (new_page) {
		/* C: copy_user_huge_page, before any notifier */
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			mmn_copy_page_consumed(new_page + i, page + i, mm,
					       haddr + i * PAGE_SIZE,
					       "do_huge_pmd_wp_page");
	} else {
		pages = calloc(HPAGE_PMD_NR, sizeof(*pages));
		if (!pages) {
			ret = VM_FAULT_OOM;
			goto out;
		}
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
			pages[i] = alloc_pages(0);
			if (!pages[i]) {
				ret = VM_FAULT_OOM;
				goto out;
			}
			mmn_copy_page_consumed(pages[i], page + i, mm,
					       haddr + i * PAGE_SIZE,
					       "do_huge_pmd_wp_page_fallback");
		}
	}

	ptl = pmd_lock(mm, vmf->pmd);
	if (pmdp_get(vmf->pmd).pmd != orig.pmd) {
		spin_unlock(ptl);
		goto out;
	}
	pmdp_clear_flush_notify(vma, haddr, vmf->pmd);
	if (new_page) {
		pmd_t entry = mk_huge_pmd(new_page, vma->vm_page_prot);

		entry.pmd |= _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SOFT_DIRTY;
		entry = maybe_pmd_mkwrite(entry, vma);
		page_add_new_anon_rmap_huge(new_page, vma, haddr);
		set_pmd_at(mm, haddr, vmf->pmd, entry);
		new_page = NULL;
	} else {
		/* the fallback: the deposited table, filled with the copies */
		struct pgtable *table = pgtable_trans_huge_withdraw(mm);

		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
			unsigned long addr = haddr + i * PAGE_SIZE;
			pte_t pte = pte_mkdirty(pfn_pte(page_to_pfn(pages[i]),
							vma->vm_page_prot));

			if (vma->vm_flags & VM_WRITE)
				pte = pte_mkwrite(pte);
			page_add_new_anon_rmap(pages[i], vma, addr);
			set_pte_at(mm, addr, (pte_t *)&table->e[i], pte);
			pages[i] = NULL;
		}
		thp_pmd_populate(vmf->pmd, table);
	}
	page_remove_rmap_pmd(page, vma);
	spin_unlock(ptl);
	put_page(page);			/* the old PMD's reference */
out:
	if (new_page)
		put_page(new_page);
	if (pages) {
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			if (pages[i])
				put_page(pages[i]);
		free(pages);
	}
	put_page(page);			/* the caller's */
	return ret;
}

static int do_huge_pmd_wp_page(struct vm_fault *vmf, pmd_t orig)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct page *page;
	spinlock_t *ptl;
	pmd_t entry;

	/* the huge zero page: split it into zero ptes, then COW 4 KiB */
	if (is_huge_zero_pmd(orig))
		goto fallback;
	ptl = pmd_lock(mm, vmf->pmd);
	if (pmdp_get(vmf->pmd).pmd != orig.pmd) {
		spin_unlock(ptl);
		return 0;
	}
	page = pmd_page(orig);
	/* a forced write (FOLL_FORCE) to a read-only VMA: 4 KiB rules */
	if (!(vma->vm_flags & VM_WRITE))
		goto unlock_fallback;
	if (PageAnonExclusive(page))
		goto reuse;
	if (!trylock_page(page))
		goto unlock_fallback;
	if (page_count(page) == 1 && total_mapcount(page) == 1) {
		page_move_anon_rmap(page, vma);
		unlock_page(page);
		SetPageAnonExclusive(page);
		goto reuse;
	}
	unlock_page(page);
	/* era: 2.6.38 copied the whole huge page instead of splitting */
	if (mmn_era == MMN_ERA_2_6_33) {
		get_page(page);
		spin_unlock(ptl);
		return do_huge_pmd_wp_page_2_6_38(vmf, orig, page);
	}
unlock_fallback:
	spin_unlock(ptl);
fallback:
	__split_huge_pmd(vma, vmf->pmd, vmf->address);
	return VM_FAULT_FALLBACK;
reuse:
	entry = orig;
	entry.pmd |= _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SOFT_DIRTY;
	entry = maybe_pmd_mkwrite(entry, vma);
	/* permissions only added: no notifier, no flush (pmdp_set_access_flags) */
	set_pmd_at(mm, haddr, vmf->pmd, entry);
	spin_unlock(ptl);
	return 0;
}

int handle_huge_pmd_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	pmd_t pmd = pmdp_get(vmf->pmd);

	if (pmd_none(pmd)) {
		if (!thp_vma_allowable(vma, vmf->address & PMD_MASK, true))
			return VM_FAULT_FALLBACK;
		return do_huge_pmd_anonymous_page(vmf);
	}
	if (!pmd_trans_huge(pmd))
		return VM_FAULT_FALLBACK;
	if ((vmf->flags & FAULT_FLAG_WRITE) && !pmd_write(pmd))
		return do_huge_pmd_wp_page(vmf, pmd);
	huge_pmd_set_accessed(vmf, pmd);
	return 0;
}

/* ---- split --------------------------------------------------------------- */

/*
 * __split_huge_zero_page_pmd(): the PMD lock is held.  pmdp_huge_clear_flush
 * (P, F under the lock), the deposited table filled with 4 KiB zero-page
 * ptes, populated.  No rmap or reference changes: neither zero page is
 * counted per mapping.
 */
static void __split_huge_zero_page_pmd(struct vm_area_struct *vma,
				       unsigned long haddr, pmd_t *pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t entry = __pte(pfn_pte(ZERO_PFN, vma->vm_page_prot).pte | _PAGE_SPECIAL);
	struct pgtable *table;

	entry.pte &= ~_PAGE_RW;
	pmdp_invalidate(vma, haddr, pmd);
	table = pgtable_trans_huge_withdraw(mm);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		set_pte_at(mm, haddr + i * PAGE_SIZE, (pte_t *)&table->e[i], entry);
	thp_pmd_populate(pmd, table);
}

/*
 * __split_huge_pmd_locked(), anon: the PMD lock is held, the PMD huge.
 * @freeze: migration entries instead of ptes (split_huge_page_to_list),
 * and the PMD's rmap and reference go (the caller holds another).
 */
static void __split_huge_pmd_locked(struct vm_area_struct *vma, pmd_t *pmd,
				    unsigned long haddr, bool freeze)
{
	struct mm_struct *mm = vma->vm_mm;
	struct pgtable *table;
	struct page *head;
	bool exclusive;
	uint64_t bits;
	pmd_t old;

	if (is_huge_zero_pmd(pmdp_get(pmd))) {
		if (!WARN_ON(freeze))
			__split_huge_zero_page_pmd(vma, haddr, pmd);
		return;
	}
	old = pmdp_invalidate(vma, haddr, pmd);
	head = pmd_page(old);
	exclusive = PageAnonExclusive(head);
	table = pgtable_trans_huge_withdraw(mm);
	if (freeze) {
		/* the entries carry write, exclusive and soft-dirty */
		if (old.pmd & _PAGE_DIRTY)
			SetPageDirty(head);
		if (exclusive)
			ClearPageAnonExclusive(head);
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
			unsigned long pfn = page_to_pfn(head) + i;
			swp_entry_t entry;
			pte_t swp_pte;

			if (pmd_write(old))
				entry = make_writable_migration_entry(pfn);
			else if (exclusive)
				entry = make_readable_exclusive_migration_entry(pfn);
			else
				entry = make_readable_migration_entry(pfn);
			swp_pte = swp_entry_to_pte(entry);
			if (old.pmd & _PAGE_SOFT_DIRTY)
				swp_pte = pte_swp_mksoft_dirty(swp_pte);
			set_pte_at(mm, haddr + i * PAGE_SIZE,
				   (pte_t *)&table->e[i], swp_pte);
		}
		thp_pmd_populate(pmd, table);
		page_remove_rmap_pmd(head, vma);
		put_page(head);		/* the PMD's; never the last */
		return;
	}
	/* one reference and one mapcount per pte instead of the PMD's */
	__atomic_fetch_add(&head->_refcount, HPAGE_PMD_NR - 1, __ATOMIC_RELAXED);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		page_mapcount_inc(head + i);
		if (exclusive)
			SetPageAnonExclusive(head + i);
	}
	__atomic_sub_fetch(&head->_entire_mapcount, 1, __ATOMIC_RELAXED);

	bits = old.pmd & ~(_PAGE_PFN_MASK | _PAGE_PSE);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		set_pte_at(mm, haddr + i * PAGE_SIZE, (pte_t *)&table->e[i],
			   pfn_pte(page_to_pfn(head) + i, bits));
	thp_pmd_populate(pmd, table);
}

/*
 * __split_huge_pmd() with 6.12's folio and freeze arguments: split the PMD
 * at @address if it is huge (and maps @folio, when given).  The notifier
 * calls are made whether or not it is.  See the top of the file, per era.
 */
static void __split_huge_pmd_folio(struct vm_area_struct *vma, pmd_t *pmd,
				   unsigned long address, bool freeze,
				   struct page *folio)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = address & PMD_MASK;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pmd_t pmdval;

	/* era: 2.6.38's split_huge_page_pmd: the pair inside the lock */
	if (mmn_era == MMN_ERA_2_6_33) {
		ptl = pmd_lock(mm, pmd);
		pmdval = pmdp_get(pmd);
		if (pmd_trans_huge(pmdval) && (!folio || pmd_page(pmdval) == folio)) {
			if (!is_huge_zero_pmd(pmdval))
				pmdp_splitting_flush_notify(vma, haddr);
			/*
			 * the map step: no notifier.  2.6.38 kept the frames
			 * mapped; the lab's freeze (reclaim, migration)
			 * puts migration entries first, told nobody: for the
			 * checker, changes whose notification is to come
			 */
			for (unsigned long i = 0; freeze && i < HPAGE_PMD_NR; i++)
				mmn_check_pte_change_unnotified(mm, haddr + i * PAGE_SIZE);
			__split_huge_pmd_locked(vma, pmd, haddr, freeze);
		}
		spin_unlock(ptl);
		return;
	}
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr,
				haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(mm, pmd);
	pmdval = pmdp_get(pmd);
	if (pmd_trans_huge(pmdval) && (!folio || pmd_page(pmdval) == folio))
		__split_huge_pmd_locked(vma, pmd, haddr, freeze);
	spin_unlock(ptl);
	/* era: 6.1's __split_huge_pmd ends with only_end (no invalidate_range) */
	if (mmn_era == MMN_ERA_6_1)
		mmu_notifier_invalidate_range_only_end(&range);
	else
		mmu_notifier_invalidate_range_end(&range);
}

void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address)
{
	__split_huge_pmd_folio(vma, pmd, address, false, NULL);
}

void vma_adjust_trans_huge(struct vm_area_struct *vma, unsigned long addr)
{
	unsigned long haddr = addr & PMD_MASK;
	pmd_t *pmd;

	/* split_huge_pmd_if_needed() */
	if (!(addr & ~PMD_MASK) || haddr < vma->vm_start ||
	    haddr + HPAGE_PMD_SIZE > vma->vm_end)
		return;
	pmd = mm_find_pmd(vma->vm_mm, addr);
	if (pmd && pmd_trans_huge(pmdp_get(pmd)))
		__split_huge_pmd(vma, pmd, addr);
}

int mmn_split_huge_pmd(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;
	int ret = -ENOENT;
	pmd_t *pmd;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	pmd = vma ? mm_find_pmd(mm, addr) : NULL;
	if (pmd && pmd_trans_huge(pmdp_get(pmd))) {
		__split_huge_pmd(vma, pmd, addr);
		ret = 0;
	}
	mmap_read_unlock(mm);
	return ret;
}

/* ---- split_huge_page_to_list (split_folio) ------------------------------ */

/*
 * The part of @vma the THP @head spans: [*start, *end), inside one PMD
 * range (a THP is never moved: mremap refuses huge PMDs).  False if none.
 */
static bool folio_in_vma(struct page *head, struct vm_area_struct *vma,
			 unsigned long *start, unsigned long *end)
{
	unsigned long index = READ_ONCE(head->index);
	unsigned long first = vma->vm_pgoff, last = vma->vm_pgoff + vma_pages(vma);
	unsigned long from = max(index, first), to = min(index + HPAGE_PMD_NR, last);

	if (from >= to)
		return false;
	*start = vma->vm_start + ((from - first) << PAGE_SHIFT);
	*end = vma->vm_start + ((to - first) << PAGE_SHIFT);
	if (WARN_ON((*start & PMD_MASK) != ((*end - 1) & PMD_MASK)))
		*end = pmd_addr_end(*start, *end);
	return true;
}

/*
 * try_to_migrate_one() for the PTE-mapped part [start, end) of the THP
 * @head in @vma; the anon_vma lock is held, the head locked.  6.12/6.1:
 * S(CLEAR, [start, end)) -> PTL -> per present pte of the THP: P+F,
 * migration entry, rmap and reference gone -> unlock -> E (6.1: with
 * invalidate_range).  2.6.33: invalidate_page after each flush, no pair.
 */
static void try_to_migrate_range(struct page *head, struct vm_area_struct *vma,
				 unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long hpfn = page_to_pfn(head), addr;
	struct mmu_notifier_range range;
	pte_t *start_pte, *ptep;
	spinlock_t *ptl;
	pmd_t *pmd;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_start(&range);
	pmd = mm_find_pmd(mm, start);
	start_pte = pmd ? pte_offset_map_lock(mm, pmd, start, &ptl) : NULL;
	if (!start_pte)
		goto out;
	for (addr = start, ptep = start_pte; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t pteval = ptep_get(ptep);

		if (!pte_present(pteval) || pte_pfn(pteval) - hpfn >= HPAGE_PMD_NR)
			continue;
		/* the pte's reference goes; the caller holds one */
		set_pte_migration_entry(vma, addr, ptep, pfn_to_page(pte_pfn(pteval)),
					head);
	}
	pte_unmap_unlock(start_pte, ptl);
out:
	if (mm_era_page_range_pair())
		mmu_notifier_invalidate_range_end(&range);
}

/*
 * remove_migration_ptes() for [start, end) of @vma: every migration entry
 * naming a frame of the (former) THP at @hpfn maps that frame's page
 * again (no notifier: the entries were not present), writable only if the
 * entry was and the VMA still is.  The anon_vma lock is held.
 */
static void remap_folio_range(unsigned long hpfn, struct vm_area_struct *vma,
			      unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t *start_pte, *ptep;
	unsigned long addr;
	spinlock_t *ptl;
	pmd_t *pmd;

	pmd = mm_find_pmd(mm, start);
	start_pte = pmd ? pte_offset_map_lock(mm, pmd, start, &ptl) : NULL;
	if (!start_pte)
		return;
	for (addr = start, ptep = start_pte; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t old = ptep_get(ptep);
		swp_entry_t entry;
		unsigned long pfn;

		if (!is_swap_pte(old))
			continue;
		entry = pte_to_swp_entry(old);
		if (!is_migration_entry(entry))
			continue;
		pfn = swp_offset_pfn(entry);
		if (pfn - hpfn >= HPAGE_PMD_NR)
			continue;
		set_pte_from_migration_entry(vma, addr, ptep, old, pfn_to_page(pfn));
	}
	pte_unmap_unlock(start_pte, ptl);
}

/* remap_page(): every VMA of the anon_vma (its lock held); @head keeps
 * the THP's index whether or not it was split. */
static void remap_folio(struct page *head, struct anon_vma *anon_vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &anon_vma->rb_root, same_anon_vma) {
		unsigned long start, end;

		if (folio_in_vma(head, avc->vma, &start, &end))
			remap_folio_range(page_to_pfn(head), avc->vma, start, end);
	}
}

/*
 * __split_huge_page(): refcount frozen at 0, every mapping a migration
 * entry.  Each tail becomes an order-0 anon page of the same anon_vma
 * (pinned per page, as page_add_new_anon_rmap does), locked, with one
 * reference; the head keeps the caller's.  Flags are set before the tail
 * leaves the compound page, so PageAnon() never reads false meanwhile.
 */
static void __split_huge_page(struct page *head, struct anon_vma *anon_vma)
{
	unsigned long copy = __atomic_load_n(&head->flags, __ATOMIC_RELAXED) &
			     (1UL << PG_dirty | 1UL << PG_uptodate);

	for (unsigned long i = 1; i < HPAGE_PMD_NR; i++) {
		struct page *p = head + i;

		get_anon_vma(anon_vma);
		WRITE_ONCE(p->mapping, (void *)anon_vma);
		WRITE_ONCE(p->index, head->index + i);
		__atomic_fetch_or(&p->flags, copy | 1UL << PG_anon | 1UL << PG_locked,
				  __ATOMIC_RELAXED);
		ClearPageFlag(p, PG_tail);
		__atomic_store_n(&p->head, NULL, __ATOMIC_RELEASE);
		__atomic_store_n(&p->_refcount, 1, __ATOMIC_RELEASE);
	}
	WRITE_ONCE(head->order, 0);
	ClearPageFlag(head, PG_head);
	__atomic_store_n(&head->_refcount, 1, __ATOMIC_RELEASE);
}

int split_huge_page_to_list(struct page *head, struct page **tails)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int expected = 1, ret = 0;

	VM_WARN_ON(!PageLocked(head));
	if (!PageFlag(head, PG_head) || PageKsm(head) || PageSwapCache(head))
		return -EBUSY;
	anon_vma = page_anon_vma(head);
	if (!anon_vma)
		return -EBUSY;
	anon_vma_lock_write(anon_vma);
	/* can_split_folio(): the mappings and the caller's reference only */
	if (page_count(head) != total_mapcount(head) + 1) {
		ret = -EAGAIN;
		goto out;
	}
	/* unmap_folio(): try_to_migrate(TTU_SPLIT_HUGE_PMD) */
	list_for_each_entry(avc, &anon_vma->rb_root, same_anon_vma) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long start, end;
		pmd_t *pmd;

		if (!folio_in_vma(head, vma, &start, &end))
			continue;
		pmd = mm_find_pmd(vma->vm_mm, start);
		if (pmd)
			__split_huge_pmd_folio(vma, pmd, start, true, head);
		try_to_migrate_range(head, vma, start, end);
		if (!total_mapcount(head))
			break;		/* folio_not_mapped() */
	}
	/* folio_ref_freeze(): a racing reference makes the split fail */
	if (total_mapcount(head) ||
	    !__atomic_compare_exchange_n(&head->_refcount, &expected, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		remap_folio(head, anon_vma);
		ret = -EAGAIN;
		goto out;
	}
	__split_huge_page(head, anon_vma);
	remap_folio(head, anon_vma);
	for (unsigned long i = 1; i < HPAGE_PMD_NR; i++) {
		struct page *p = head + i;

		unlock_page(p);
		if (tails) {
			get_page(p);	/* isolated, for the caller's list */
			tails[i - 1] = p;
		}
		/* the split's reference: frees a tail nothing maps any more */
		put_page(p);
	}
out:
	anon_vma_unlock_write(anon_vma);
	return ret;
}

/* ---- zap, fork, mprotect ------------------------------------------------- */

bool zap_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		  pmd_t *pmd, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *head;
	spinlock_t *ptl;
	pmd_t orig;

	ptl = pmd_lock(mm, pmd);
	if (!pmd_trans_huge(pmdp_get(pmd))) {
		spin_unlock(ptl);
		return false;
	}
	/* private locations start over with their mapping, under its lock */
	if (!(vma->vm_flags & VM_SHARED))
		mmn_check_reset_range(mm, addr, addr + HPAGE_PMD_SIZE);
	orig = pmdp_huge_get_and_clear(mm, addr, pmd);
	tlb_flush_pte_range(tlb, addr, HPAGE_PMD_SIZE);	/* tlb_remove_pmd_tlb_entry */
	thp_retire_table(mm, pgtable_trans_huge_withdraw(mm));
	if (is_huge_zero_pmd(orig)) {
		/* no rmap, no reference: the mm keeps its own until exit */
		spin_unlock(ptl);
		return true;
	}
	head = pmd_page(orig);
	page_remove_rmap_pmd(head, vma);
	spin_unlock(ptl);
	/* the PMD's reference is put after the flush */
	tlb_remove_page(tlb, head);
	return true;
}

int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
		  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long addr)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	struct pgtable *table;
	struct page *head;
	bool zero;
	pmd_t pmd;

	table = thp_pgtable_alloc(dst_mm);
	if (!table)
		return -ENOMEM;
	spin_lock(&dst_mm->page_table_lock);
	spin_lock(&src_mm->page_table_lock);	/* nested: dst then src */
	pmd = pmdp_get(src_pmd);
	if (!pmd_trans_huge(pmd) || !pmd_none(pmdp_get(dst_pmd))) {
		thp_retire_table(dst_mm, table);
		spin_unlock(&src_mm->page_table_lock);
		spin_unlock(&dst_mm->page_table_lock);
		return -EAGAIN;
	}
	zero = is_huge_zero_pmd(pmd);
	if (zero) {
		/* never allocates: the parent holds a reference (may not sleep) */
		WARN_ON(!mm_get_huge_zero_page(dst_mm));
	} else {
		head = pmd_page(pmd);
		get_page(head);
		/* folio_try_dup_anon_rmap_pmd: shared now (pins are not modelled) */
		ClearPageAnonExclusive(head);
		__atomic_fetch_add(&head->_entire_mapcount, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&dst_mm->rss_anon, HPAGE_PMD_NR, __ATOMIC_RELAXED);
	}
	pgtable_trans_huge_deposit(dst_mm, table);
	if (pmd_write(pmd)) {
		/* pmdp_set_wrprotect: no flush here, dup_mmap flushes */
		pmd.pmd &= ~_PAGE_RW;
		set_pmd_at(src_mm, addr, src_pmd, pmd);
	}
	/* the child's locations start as the parent's, from this moment
	 * (the huge zero page's are all zero, as the child's start) */
	for (unsigned long i = 0; !zero && i < HPAGE_PMD_NR; i++)
		mmn_check_fork_page(src_mm, dst_mm, addr + i * PAGE_SIZE);
	pmd.pmd &= ~_PAGE_ACCESSED;
	set_pmd_at(dst_mm, addr, dst_pmd, pmd);
	spin_unlock(&src_mm->page_table_lock);
	spin_unlock(&dst_mm->page_table_lock);
	return 0;
}

/* x86 huge_pmd_needs_flush(): as pte_needs_flush() in mprotect.c. */
static bool huge_pmd_needs_flush(pmd_t old, pmd_t new)
{
	uint64_t diff = old.pmd ^ new.pmd;

	if (!(old.pmd & _PAGE_PRESENT))
		return false;
	if (pmd_pfn(old) != pmd_pfn(new))
		return true;
	if (diff & old.pmd & (_PAGE_PRESENT | _PAGE_RW))
		return true;
	return diff & (_PAGE_USER | _PAGE_PSE);
}

long change_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		     pmd_t *pmd, unsigned long addr, uint64_t newprot)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pmd_t old, entry;

	ptl = pmd_lock(mm, pmd);
	if (!pmd_trans_huge(pmdp_get(pmd))) {
		spin_unlock(ptl);
		return -EAGAIN;
	}
	/* pmdp_invalidate_ad(): no flush needed under the lock (x86) */
	old = pmdp_huge_get_and_clear(mm, addr, pmd);
	entry = __pmd(pte_modify(__pte(old.pmd), newprot).pte);
	/* never a writable huge zero PMD (a shared VMA cannot have one) */
	if (is_huge_zero_pmd(old))
		entry.pmd &= ~_PAGE_RW;
	set_pmd_at(mm, addr, pmd, entry);
	if (huge_pmd_needs_flush(old, entry))
		tlb_flush_pte_range(tlb, addr, HPAGE_PMD_SIZE);
	spin_unlock(ptl);
	return HPAGE_PMD_NR;
}

/* ---- madvise: VM_HUGEPAGE / VM_NOHUGEPAGE / VM_MERGEABLE ------------------ */

/*
 * madvise_update_vma() for the flag-only advice (hugepage_madvise(),
 * ksm_madvise()): mmap_lock for write, split the VMAs at the range ends,
 * set the flags, merge again.  Holes: -ENOMEM after the mapped parts.
 * Lives here rather than in madvise.c to keep that file's diff small.
 */
int madvise_vma_flags(struct mm_struct *mm, unsigned long start,
		      unsigned long end, int advice)
{
	struct vm_area_struct *vma;
	int error = 0, unmapped_error = 0;

	if (end == start)
		return 0;
	mmap_write_lock(mm);
	while (start < end) {
		unsigned long new_flags, tmp;

		vma = find_vma(mm, start);
		if (!vma || vma->vm_start >= end) {
			unmapped_error = -ENOMEM;
			break;
		}
		if (vma->vm_start > start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
		}
		tmp = min(vma->vm_end, end);
		new_flags = vma->vm_flags;
		switch (advice) {
		case MADV_HUGEPAGE:
			new_flags = (new_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
			break;
		case MADV_NOHUGEPAGE:
			new_flags = (new_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
			break;
		default:
			error = ksm_madvise(vma, start, tmp, advice, &new_flags);
			break;
		}
		if (error)
			break;
		if (new_flags != vma->vm_flags) {
			if (start > vma->vm_start) {
				error = split_vma(vma, start);
				if (error)
					break;
				vma = find_vma(mm, start);
			}
			if (tmp < vma->vm_end) {
				error = split_vma(vma, tmp);
				if (error)
					break;
			}
			WRITE_ONCE(vma->vm_flags, new_flags);
			vma_merge_neighbours(vma);
		}
		start = tmp;
	}
	MM_CHECK(1, mm_vmas_valid(mm));
	mmap_write_unlock(mm);
	return error ? error : unmapped_error;
}
