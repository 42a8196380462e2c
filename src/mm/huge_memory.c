// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent huge pages, anonymous, PMD-sized (mm/huge_memory.c, 6.12).
 *
 * Notation as memory.c: S = range_start, E = range_end, P = PMD/pte
 * change, F = TLB flush (6.12: with arch_invalidate_secondary_tlbs).
 *
 * do_huge_pmd_anonymous_page (write fault on a none PMD whose 2 MiB range
 *   lies inside a THP-enabled anon VMA), mmap_lock read: allocate an
 *   order-9 compound page and zero it, preallocate a PTE table for the
 *   deposit, PMD lock, recheck none, rmap (entire mapcount 1), deposit,
 *   set the huge PMD (writable+dirty if VM_WRITE).  No notifier.  No order-9
 *   block free: VM_FAULT_FALLBACK, the fault continues with 4 KiB.
 *   Read faults also fall back: they map the 4 KiB zero page (see
 *   "huge zero page" below).
 * do_huge_pmd_wp_page (write to a read-only huge PMD): PMD lock; an
 *   exclusive page (PageAnonExclusive, or refcount 1 under the page lock)
 *   is reused in place (no notifier); otherwise unlock, __split_huge_pmd
 *   and VM_FAULT_FALLBACK: the 4 KiB fault then COWs one page (6.x).
 * __split_huge_pmd, mmap_lock (read or write):
 *   S(CLEAR, [haddr, haddr + 2M)) -> PMD lock -> pmdp_invalidate (P, then
 *   F of the 2 MiB under the lock) -> withdraw the deposited PTE table,
 *   fill 512 ptes (same bits: write, dirty, young, protnone) -> refcount
 *   +511, subpage mapcounts +1, entire mapcount -1 -> pmd_populate ->
 *   unlock -> E.  The compound page is never split itself: PTE-mapped
 *   subpages stay parts of it, each with its own _mapcount and
 *   PageAnonExclusive, the refcount on the head; it is freed whole when
 *   the last reference goes.
 * zap_huge_pmd (zap of a whole PMD, inside the caller's S/E and gather):
 *   PMD lock -> get_and_clear -> range into the gather -> rmap -> the
 *   deposited table retired -> unlock; the page is put after the flush.
 *   A zap of part of a huge PMD splits it first (nested S/E, as Linux).
 * copy_huge_pmd (fork, inside copy_page_range's PROTECTION_PAGE S/E):
 *   dst PMD lock, src PMD lock nested; share the page (refcount and
 *   entire mapcount +1, not exclusive any more), write-protect the
 *   parent's PMD, the child's PMD read-only and old, deposit for the child.
 * change_huge_pmd (mprotect, inside PROTECTION_VMA S/E): PMD lock ->
 *   get_and_clear + set with the new protection -> the flush goes to the
 *   gather (after E) when permissions were lowered.
 * Partial munmap/mprotect split the PMD in __split_vma()
 * (vma_adjust_trans_huge, rmap locks held), before their own S/E.
 *
 * Huge zero page: not modelled.  Linux 6.12 maps the huge zero page on a
 * read fault and, on the first write, splits it (CLEAR 2M) into 4 KiB
 * zero-page ptes and faults 4 KiB; the lab maps the 4 KiB zero page on
 * the read fault directly.  Either way the range ends up PTE-mapped until
 * khugepaged collapses it; the lab only lacks the split's CLEAR 2M.
 *
 * Deposited tables: Linux keeps one PTE table per anon huge PMD
 * (pgtable_trans_huge_deposit) for the split, and frees it at zap.  Here a
 * zapped PMD's table is retired to mm->pte_spare and reused by the next
 * deposit; all are freed at exit, because the lab's lockless walkers
 * (access.c, hmm.c) rely on tables never being freed while the mm lives
 * (Linux frees them under RCU).
 *
 * Era switch points: 6.1 would add invalidate_range after the flushes
 * under the PMD lock (pmdp_huge_clear_flush_notify); 2.6.33 has no THP
 * (2.6.38's pmdp_clear_flush_notify would take its place).
 */
#include "check/check.h"
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

static struct page *pmd_page(pmd_t pmd)
{
	return pfn_to_page(pmd_pfn(pmd));
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

static int do_huge_pmd_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct pgtable *table;
	struct page *page;
	spinlock_t *ptl;
	pmd_t entry;

	/* read faults map the 4 KiB zero page (no huge zero page, see top) */
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		return VM_FAULT_FALLBACK;
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
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

static int do_huge_pmd_wp_page(struct vm_fault *vmf, pmd_t orig)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = vmf->address & PMD_MASK;
	struct page *page;
	spinlock_t *ptl;
	pmd_t entry;

	ptl = pmd_lock(mm, vmf->pmd);
	if (pmdp_get(vmf->pmd).pmd != orig.pmd) {
		spin_unlock(ptl);
		return 0;
	}
	page = pmd_page(orig);
	/* a forced write (FOLL_FORCE) to a read-only VMA: 4 KiB rules */
	if (!(vma->vm_flags & VM_WRITE))
		goto fallback;
	if (PageAnonExclusive(page))
		goto reuse;
	if (!trylock_page(page))
		goto fallback;
	if (page_count(page) == 1 && total_mapcount(page) == 1) {
		page_move_anon_rmap(page, vma);
		unlock_page(page);
		SetPageAnonExclusive(page);
		goto reuse;
	}
	unlock_page(page);
fallback:
	spin_unlock(ptl);
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

/* __split_huge_pmd_locked(), anon: the PMD lock is held. */
static void __split_huge_pmd_locked(struct vm_area_struct *vma, pmd_t *pmd,
				    unsigned long haddr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct pgtable *table;
	struct page *head;
	bool exclusive;
	uint64_t bits;
	pmd_t old;

	old = pmdp_invalidate(vma, haddr, pmd);
	head = pmd_page(old);
	exclusive = PageAnonExclusive(head);
	/* one reference and one mapcount per pte instead of the PMD's */
	__atomic_fetch_add(&head->_refcount, HPAGE_PMD_NR - 1, __ATOMIC_RELAXED);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		page_mapcount_inc(head + i);
		if (exclusive)
			SetPageAnonExclusive(head + i);
	}
	__atomic_sub_fetch(&head->_entire_mapcount, 1, __ATOMIC_RELAXED);

	table = pgtable_trans_huge_withdraw(mm);
	bits = old.pmd & ~(_PAGE_PFN_MASK | _PAGE_PSE);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		set_pte_at(mm, haddr + i * PAGE_SIZE, (pte_t *)&table->e[i],
			   pfn_pte(page_to_pfn(head) + i, bits));
	/* pmd_populate(): pairs with the walkers' acquire loads */
	mmn_sched_point(MMN_SP_PTE_WRITE, pmd);
	__atomic_store_n(&pmd->pmd, (uint64_t)(uintptr_t)table | _PAGE_PRESENT,
			 __ATOMIC_RELEASE);
}

void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = address & PMD_MASK;
	struct mmu_notifier_range range;
	spinlock_t *ptl;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr,
				haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	ptl = pmd_lock(mm, pmd);
	if (pmd_trans_huge(pmdp_get(pmd)))
		__split_huge_pmd_locked(vma, pmd, haddr);
	spin_unlock(ptl);
	/* era: 6.1's __split_huge_pmd ends with only_end (no invalidate_range) */
	if (mmn_era == MMN_ERA_6_1)
		mmu_notifier_invalidate_range_only_end(&range);
	else
		mmu_notifier_invalidate_range_end(&range);
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
	head = pmd_page(orig);
	page_remove_rmap_pmd(head, vma);
	thp_retire_table(mm, pgtable_trans_huge_withdraw(mm));
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
	head = pmd_page(pmd);
	get_page(head);
	/* folio_try_dup_anon_rmap_pmd: shared now (pins are not modelled) */
	ClearPageAnonExclusive(head);
	__atomic_fetch_add(&head->_entire_mapcount, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&dst_mm->rss_anon, HPAGE_PMD_NR, __ATOMIC_RELAXED);
	pgtable_trans_huge_deposit(dst_mm, table);
	if (pmd_write(pmd)) {
		/* pmdp_set_wrprotect: no flush here, dup_mmap flushes */
		pmd.pmd &= ~_PAGE_RW;
		set_pmd_at(src_mm, addr, src_pmd, pmd);
	}
	/* the child's locations start as the parent's, from this moment */
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
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
