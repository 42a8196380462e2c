// SPDX-License-Identifier: GPL-2.0
/*
 * 4-level page tables (x86-64 shaped) and the pte accessors
 * (mm/pgtable-generic.c, arch/x86/include/asm/pgtable.h, the
 * pte_offset_map_lock() family of mm/memory.c and include/linux/mm.h).
 *
 * Layout: pgd (level 3) -> pud (2) -> pmd (1) -> pte table (0), 512
 * entries each.  An upper entry is the next table's address | _PAGE_PRESENT;
 * a PMD entry may instead be a huge leaf (_PAGE_PSE).
 *
 * Locking, as Linux with split PT locks:
 *   - populating any upper level, and huge PMD leaves: mm->page_table_lock;
 *   - every pte of a PTE table: that table's ->ptl.
 * Entries are read and written with atomic loads/stores so that the CPU
 * access path (access.c) can walk without locks, as the MMU does; it then
 * takes the leaf's lock and re-checks.  Tables are allocated lazily and
 * freed only at exit: free_pgtables() hands everything below the pgd to
 * exit_mmap()'s mmu_gather (freed after the final flush), __mmdrop() frees
 * the pgd.  So a table reached by a lockless walk stays valid while the mm
 * has users.
 *
 * Every pte store of the primary MMU goes through set_pte_at() or
 * ptep_get_and_clear() (and the helpers built on them here): each is a
 * schedule point (MMN_SP_PTE_WRITE) and a checker observation point.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "mm/internal.h"

#define PGTABLE_ALLOC_SIZE \
	((sizeof(struct pgtable) + PAGE_SIZE - 1) & PAGE_MASK)

struct pgtable *pgtable_alloc(int level, unsigned long base)
{
	struct pgtable *t = aligned_alloc(PAGE_SIZE, PGTABLE_ALLOC_SIZE);

	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->level = level;
	t->base = base;
	if (level == 0)
		mmn_spin_lock_init(&t->ptl.rlock, "ptl");
	__mmn_stat_add(MMN_STAT_PGTABLE, 1);
	return t;
}

void pgtable_free(struct pgtable *t)
{
	if (t->level == 0)
		mmn_spin_lock_destroy(&t->ptl.rlock);
	free(t);
	__mmn_stat_add(MMN_STAT_PGTABLE, -1);
}

static unsigned long level_index(int level, unsigned long addr)
{
	return (addr >> (PAGE_SHIFT + 9 * level)) & (PTRS_PER_TABLE - 1);
}

static unsigned long level_base(int level, unsigned long addr)
{
	/* first VA covered by the child table of an entry at @level */
	return addr & ~((1UL << (PAGE_SHIFT + 9 * level)) - 1);
}

/* ---- lookups (lockless) ------------------------------------------- */

uint64_t *pud_lookup(struct mm_struct *mm, unsigned long addr)
{
	uint64_t pgd = __entry_get(&mm->pgd->e[level_index(3, addr)]);

	if (!pgd)
		return NULL;
	return &entry_table(pgd)->e[level_index(2, addr)];
}

pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	uint64_t *pud = pud_lookup(mm, addr);
	uint64_t v;

	if (!pud)
		return NULL;
	v = __entry_get(pud);
	if (!v)
		return NULL;
	return (pmd_t *)&entry_table(v)->e[level_index(1, addr)];
}

/*
 * lookup_address_in_mm() (arch/x86/mm/pat/set_memory.c), as KVM's
 * host_pfn_mapping_level() reads the primary's page table to learn at
 * which level it maps an address: one atomic read of each level, no lock
 * (KVM disables IRQs so that no table is freed under it; the lab's tables
 * live as long as the mm has users, which the caller guarantees).  Each
 * entry is read once: a PMD turning huge (or splitting) in the middle of
 * the walk cannot send it into the wrong table.
 *
 * Gives the frame mapped at @va (not the head of a huge page), whether it
 * is writable, and the leaf's order: HPAGE_PMD_ORDER for a huge PMD, 0 for
 * a pte.  -ENOENT when nothing present maps @va.  The answer may be stale
 * at once: a secondary MMU uses it only where an invalidation cannot have
 * slipped by unseen (KVM: under mmu_lock, after mmu_invalidate_retry).
 */
int mmn_lookup_address_in_mm(struct mm_struct *mm, unsigned long va,
			     unsigned long *pfn, bool *writable,
			     unsigned int *order)
{
	pmd_t *pmdp = mm_find_pmd(mm, va);
	uint64_t e;
	pmd_t pmd;

	if (!pmdp)
		return -ENOENT;
	pmd = pmdp_get(pmdp);
	if (!(pmd.pmd & _PAGE_PRESENT))
		return -ENOENT;
	if (pmd.pmd & _PAGE_PSE) {
		*pfn = pmd_pfn(pmd) + ((va & ~PMD_MASK) >> PAGE_SHIFT);
		*writable = pmd_write(pmd);
		*order = HPAGE_PMD_ORDER;
		return 0;
	}
	e = __atomic_load_n(&entry_table(pmd.pmd)->e[pte_index(va)],
			    __ATOMIC_RELAXED);
	if (!(e & _PAGE_PRESENT))
		return -ENOENT;
	*pfn = pte_pfn(__pte(e));
	*writable = e & _PAGE_RW;
	*order = 0;
	return 0;
}

/* ---- population (page_table_lock) ---------------------------------- */

/* Make *@e point at a table of @level; false on -ENOMEM. */
static bool entry_populate(struct mm_struct *mm, uint64_t *e, int level,
			   unsigned long base)
{
	struct pgtable *new;

	if (__entry_get(e))
		return true;
	new = pgtable_alloc(level, base);
	if (!new)
		return false;
	spin_lock(&mm->page_table_lock);
	if (!__entry_get(e)) {
		/* pairs with the acquire loads of the lockless walkers */
		__atomic_store_n(e, (uint64_t)(uintptr_t)new | _PAGE_PRESENT,
				 __ATOMIC_RELEASE);
		new = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	if (new)
		pgtable_free(new);	/* somebody else populated it */
	return true;
}

pmd_t *mm_alloc_pmd(struct mm_struct *mm, unsigned long addr)
{
	uint64_t *pgd = &mm->pgd->e[level_index(3, addr)];
	uint64_t *pud;

	if (!entry_populate(mm, pgd, 2, level_base(3, addr)))
		return NULL;
	pud = &entry_table(__entry_get(pgd))->e[level_index(2, addr)];
	if (!entry_populate(mm, pud, 1, level_base(2, addr)))
		return NULL;
	return (pmd_t *)&entry_table(__entry_get(pud))->e[level_index(1, addr)];
}

int __pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	/* a huge leaf is not none: entry_populate() leaves it alone */
	unsigned long base = (unsigned long)0;

	if (!pmd_none(pmdp_get(pmd)))
		return 0;
	return entry_populate(mm, &pmd->pmd, 0, base) ? 0 : -ENOMEM;
}

/* ---- PTE-table locks ------------------------------------------------ */

spinlock_t *pte_lockptr(pmd_t pmd)
{
	return &entry_table(pmd.pmd)->ptl;
}

spinlock_t *pmd_lock(struct mm_struct *mm, pmd_t *pmd)
{
	spin_lock(&mm->page_table_lock);
	return &mm->page_table_lock;
}

pte_t *pte_offset_map_nolock(struct mm_struct *mm, pmd_t *pmd,
			     unsigned long addr, spinlock_t **ptlp)
{
	pmd_t pmdval = pmdp_get(pmd);

	if (pmd_none(pmdval) || pmd_trans_huge(pmdval))
		return NULL;
	*ptlp = pte_lockptr(pmdval);
	return (pte_t *)&entry_table(pmdval.pmd)->e[pte_index(addr)];
}

pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
			   unsigned long addr, spinlock_t **ptlp)
{
	for (;;) {
		pmd_t pmdval = pmdp_get(pmd);
		spinlock_t *ptl;

		if (pmd_none(pmdval) || pmd_trans_huge(pmdval))
			return NULL;
		ptl = pte_lockptr(pmdval);
		spin_lock(ptl);
		/* as Linux: the PMD may have changed (THP collapse) */
		if (likely(pmdp_get(pmd).pmd == pmdval.pmd)) {
			*ptlp = ptl;
			return (pte_t *)&entry_table(pmdval.pmd)->e[pte_index(addr)];
		}
		spin_unlock(ptl);
	}
}

pte_t *pte_alloc_map_lock(struct mm_struct *mm, pmd_t *pmd,
			  unsigned long addr, spinlock_t **ptlp)
{
	if (__pte_alloc(mm, pmd))
		return NULL;
	return pte_offset_map_lock(mm, pmd, addr, ptlp);
}

/* ---- pte stores: the only ones of the primary MMU ------------------ */

void set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep, pte_t pte)
{
	pte_t old = ptep_get(ptep);

	mmn_sched_point(MMN_SP_PTE_WRITE, ptep);
	__atomic_store_n(&ptep->pte, pte.pte, __ATOMIC_RELEASE);
	__mmn_hook_pte_write(mm, addr, ptep, old, pte);
}

pte_t ptep_get_and_clear(struct mm_struct *mm, unsigned long addr, pte_t *ptep)
{
	pte_t old;

	mmn_sched_point(MMN_SP_PTE_WRITE, ptep);
	old = __pte(__atomic_exchange_n(&ptep->pte, 0, __ATOMIC_ACQ_REL));
	__mmn_hook_pte_write(mm, addr, ptep, old, __pte(0));
	return old;
}

/* Clear, then flush the page from every TLB (PT lock held: the 6.12
 * flush also invalidates secondary TLBs here). */
pte_t ptep_clear_flush(struct vm_area_struct *vma, unsigned long addr, pte_t *ptep)
{
	pte_t old;

	/* era: 2.6.33 tells the secondaries after the change, if at all
	 * (invalidate_page, change_pte), or the S/E around it does */
	if (mmn_era == MMN_ERA_2_6_33)
		mmn_check_pte_change_unnotified(vma->vm_mm, addr);
	old = ptep_get_and_clear(vma->vm_mm, addr, ptep);

	if (pte_present(old))
		flush_tlb_page(vma, addr);
	return old;
}

/*
 * ptep_clear_flush_notify(): P+F, then the secondary MMUs hear of the page
 * under the PT lock, per era:
 *   6.12    nothing more (the flush's arch_invalidate_secondary_tlbs);
 *   6.1     mmu_notifier_invalidate_range(addr, addr + PAGE_SIZE);
 *   2.6.33  mmu_notifier_invalidate_page(addr) (the page is freed after).
 */
pte_t ptep_clear_flush_notify(struct vm_area_struct *vma, unsigned long addr,
			      pte_t *ptep)
{
	pte_t old = ptep_clear_flush(vma, addr, ptep);

	addr &= PAGE_MASK;
	if (mmn_era == MMN_ERA_6_1)
		mmu_notifier_invalidate_range(vma->vm_mm, addr, addr + PAGE_SIZE);
	else if (mmn_era == MMN_ERA_2_6_33)
		mmu_notifier_invalidate_page(vma->vm_mm, addr);
	return old;
}

/*
 * set_pte_at_notify(): the pte now maps another page.  6.1: change_pte,
 * then set_pte_at (include/linux/mmu_notifier.h since 3.7); 2.6.33:
 * set_pte_at first, then change_pte; 6.12: plain set_pte_at.
 */
void set_pte_at_notify(struct mm_struct *mm, unsigned long addr, pte_t *ptep,
		       pte_t pte)
{
	switch (mmn_era) {
	case MMN_ERA_6_1:
		mmu_notifier_change_pte(mm, addr, pte);
		set_pte_at(mm, addr, ptep, pte);
		break;
	case MMN_ERA_2_6_33:
		mmn_check_pte_change_unnotified(mm, addr);
		set_pte_at(mm, addr, ptep, pte);
		mmu_notifier_change_pte(mm, addr, pte);
		break;
	case MMN_ERA_6_12:
	default:
		set_pte_at(mm, addr, ptep, pte);
		break;
	}
}

void ptep_set_wrprotect(struct mm_struct *mm, unsigned long addr, pte_t *ptep)
{
	set_pte_at(mm, addr, ptep, pte_wrprotect(ptep_get(ptep)));
}

bool ptep_set_access_flags(struct vm_area_struct *vma, unsigned long addr,
			   pte_t *ptep, pte_t entry)
{
	if (pte_same(ptep_get(ptep), entry))
		return false;
	set_pte_at(vma->vm_mm, addr, ptep, entry);
	/* only permissions were added: no flush needed (x86) */
	return true;
}

pte_t ptep_modify_prot_start(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *ptep)
{
	return ptep_get_and_clear(vma->vm_mm, addr, ptep);
}

void ptep_modify_prot_commit(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *ptep, pte_t old_pte, pte_t pte)
{
	set_pte_at(vma->vm_mm, addr, ptep, pte);
}

void __mmn_hw_set_ad(uint64_t *entry, uint64_t bits)
{
	if ((__atomic_load_n(entry, __ATOMIC_RELAXED) & bits) != bits)
		__atomic_fetch_or(entry, bits, __ATOMIC_RELAXED);
}

/* Bits pte_modify() keeps (x86 _PAGE_CHG_MASK). */
#define _PAGE_CHG_MASK (_PAGE_PFN_MASK | _PAGE_SPECIAL | _PAGE_ACCESSED | \
			_PAGE_DIRTY | _PAGE_PSE | _PAGE_SOFT_DIRTY)

pte_t pte_modify(pte_t pte, uint64_t newprot)
{
	return __pte((pte.pte & _PAGE_CHG_MASK) | (newprot & ~_PAGE_CHG_MASK));
}

struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte)
{
	unsigned long pfn = pte_pfn(pte);

	if (pte_special(pte) || is_zero_pfn(pfn))
		return NULL;
	return pfn_to_page(pfn);
}

/* ---- teardown ------------------------------------------------------- */

static void free_table_tree(struct mmu_gather *tlb, struct pgtable *t)
{
	if (t->level > 0) {
		for (int i = 0; i < PTRS_PER_TABLE; i++) {
			uint64_t e = __entry_get(&t->e[i]);

			if (!e || (t->level == 1 && (e & _PAGE_PSE)))
				continue;
			free_table_tree(tlb, entry_table(e));
		}
	}
	tlb_remove_table(tlb, t);
}

/*
 * exit_mmap(): every table below the pgd goes to the gather, to be freed
 * after the flush (Linux: free_pgtables() + tlb_remove_table()).  The pgd
 * itself stays empty until __mmdrop().  mmap_lock held for write.
 */
void free_pgtables(struct mmu_gather *tlb, struct mm_struct *mm)
{
	mmap_assert_write_locked(mm);
	thp_free_deposited(tlb, mm);
	for (int i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = __entry_get(&mm->pgd->e[i]);

		if (!e)
			continue;
		__atomic_store_n(&mm->pgd->e[i], 0, __ATOMIC_RELEASE);
		free_table_tree(tlb, entry_table(e));
	}
}

/* ---- invariants ------------------------------------------------------ */

/*
 * Level-2 check of one mm's page tables (mmap_lock held, nothing else
 * changing them): every present pte lies inside a VMA; zero-page ptes are
 * special and read-only; every other pte maps an allocated frame with
 * mapcount >= 1 and refcount >= mapcount; a writable private pte maps an
 * exclusive anon page.
 */
bool mm_pgtables_valid(struct mm_struct *mm)
{
	for (int i = 0; i < mm->map_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];

		for (unsigned long addr = vma->vm_start; addr < vma->vm_end;
		     addr += PAGE_SIZE) {
			pmd_t *pmd = mm_find_pmd(mm, addr);
			struct pgtable *t;
			struct page *page;
			pte_t pte;

			if (!pmd || pmd_none(pmdp_get(pmd)) ||
			    pmd_trans_huge(pmdp_get(pmd)))
				continue;
			t = entry_table(pmdp_get(pmd).pmd);
			pte = __pte(__atomic_load_n(&t->e[pte_index(addr)],
						    __ATOMIC_RELAXED));
			if (!pte_present(pte))
				continue;
			if (is_zero_pfn(pte_pfn(pte))) {
				if (!pte_special(pte) || pte_write(pte))
					return false;
				continue;
			}
			page = pfn_to_page(pte_pfn(pte));
			if (!page || page_count(page) < page_mapcount(page) ||
			    page_mapcount(page) < 1)
				return false;
			if (pte_write(pte) && !(vma->vm_flags & VM_SHARED) &&
			    (!PageAnon(page) || !PageAnonExclusive(page)))
				return false;
		}
	}
	/* and nothing is mapped outside the VMAs */
	for (int p = 0; p < PTRS_PER_TABLE; p++) {
		uint64_t pgd = __entry_get(&mm->pgd->e[p]);

		if (!pgd)
			continue;
		for (int u = 0; u < PTRS_PER_TABLE; u++) {
			uint64_t pud = __entry_get(&entry_table(pgd)->e[u]);

			if (!pud)
				continue;
			for (int m = 0; m < PTRS_PER_TABLE; m++) {
				uint64_t pmd = __entry_get(&entry_table(pud)->e[m]);
				unsigned long base = ((unsigned long)p << PGDIR_SHIFT) |
						     ((unsigned long)u << PUD_SHIFT) |
						     ((unsigned long)m << PMD_SHIFT);

				if (!pmd || (pmd & _PAGE_PSE))
					continue;
				for (int e = 0; e < PTRS_PER_TABLE; e++) {
					unsigned long addr = base + ((unsigned long)e << PAGE_SHIFT);

					if (__atomic_load_n(&entry_table(pmd)->e[e], __ATOMIC_RELAXED) &&
					    !vma_lookup(mm, addr))
						return false;
				}
			}
		}
	}
	return true;
}
