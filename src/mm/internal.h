/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The primary MMU's cross-file interface (mm/internal.h in Linux): what the
 * files of src/mm/ call of each other, and what the layers above (notifier/,
 * check/, later mm/ features) may call.  Linux names for Linux functions;
 * lab-only helpers carry the __mmn_ prefix.
 *
 * Page tables are freed only at exit: every table below the pgd is freed by
 * exit_mmap() after the final TLB flush, the pgd by __mmdrop().  munmap,
 * MADV_DONTNEED and mprotect leave empty tables in place.  That is what lets
 * the CPU access path walk the upper levels without locks or RCU.
 */
#ifndef MMN_MM_INTERNAL_H
#define MMN_MM_INTERNAL_H

#include <limits.h>

#include <mmn/era.h>
#include <mmn/linux/lockdep.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/mm.h>

#include "mm/mm_types.h"

#ifndef ULONG_MAX
#define ULONG_MAX (~0UL)
#endif
#define IS_ERR_VALUE(x)	((unsigned long)(x) >= (unsigned long)-4095)
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Per-run setup of the mm layer (called by mmn_mem_init/exit). */
void __mmn_mmap_init(void);
void __mmn_mmap_exit(void);
void __mmn_fork_init(void);
void __mmn_fork_exit(void);
void __mmn_rmap_ids_reset(void);
void __mmn_shmem_ids_reset(void);

/* ------------------------------------------------------------------ */
/* Invariant checks, graded: 0 off, 1 cheap (default), 2 expensive     */
/* walks (whole page tables, every frame).                             */

extern int mmn_mm_debug;
#define MM_CHECK(level, cond)                                          \
	do {                                                            \
		if (mmn_mm_debug >= (level))                            \
			WARN_ON(!(cond));                               \
	} while (0)
#define VM_WARN_ON(cond)	WARN_ON(cond)

/* ------------------------------------------------------------------ */
/* Observation points for the checker (check/).  Empty for now; each is */
/* called at exactly one place per event so check/ can hook it.        */

/* A pte (or PMD leaf) store, from set_pte_at()/ptep_get_and_clear(). */
static inline void __mmn_hook_pte_write(struct mm_struct *mm, unsigned long addr,
					pte_t *ptep, pte_t old, pte_t new) { }
/* A frame goes back to the pool (generation about to be bumped). */
static inline void __mmn_hook_page_free(struct page *page) { }
/* CPU accesses, COW copies, fork's pte copies, zaps and new mappings call
 * the checker's hooks in check/check.h directly. */

/* ------------------------------------------------------------------ */
/* page_alloc.c: the frame pool                                        */

#define ZERO_PFN	0UL

struct page *alloc_pages(unsigned int order);	/* refcount 1, not zeroed */
struct page *alloc_zeroed_page(void);
void __free_pages(struct page *page);		/* the one free path */
struct page *compound_head(struct page *page);
uint64_t *__mmn_page_data(struct page *page);	/* the frame's 512 words */
void clear_page_data(struct page *page);
void copy_page_data(struct page *to, struct page *from);
bool trylock_page(struct page *page);
void lock_page(struct page *page);
void unlock_page(struct page *page);
bool PageLocked(struct page *page);
void page_mapcount_inc(struct page *page);
int page_mapcount_dec(struct page *page);	/* returns the new count */
void __mmn_stat_add(int item, long delta);
enum { MMN_STAT_ANON, MMN_STAT_FILE, MMN_STAT_PGTABLE, MMN_STAT_MMS,
       MMN_STAT_VMAS, MMN_STAT_ANON_VMAS, MMN_STAT_MAPPINGS, MMN_STAT__NR };
/* Every frame's counts are consistent; call only when nothing runs. */
bool page_counts_valid(void);

static inline bool PageFlag(const struct page *page, int bit)
{
	return __atomic_load_n(&page->flags, __ATOMIC_RELAXED) & (1UL << bit);
}
static inline void SetPageFlag(struct page *page, int bit)
{
	__atomic_fetch_or(&page->flags, 1UL << bit, __ATOMIC_RELAXED);
}
static inline void ClearPageFlag(struct page *page, int bit)
{
	__atomic_fetch_and(&page->flags, ~(1UL << bit), __ATOMIC_RELAXED);
}
/* anon-ness is the compound page's (a PTE-mapped THP subpage has none) */
#define PageAnon(p)		PageFlag(compound_head(p), PG_anon)
#define PageKsm(p)		PageFlag((p), PG_ksm)
#define PageAnonExclusive(p)	PageFlag((p), PG_anon_exclusive)
#define SetPageAnonExclusive(p)	SetPageFlag((p), PG_anon_exclusive)
#define ClearPageAnonExclusive(p) ClearPageFlag((p), PG_anon_exclusive)
#define PageReserved(p)		PageFlag((p), PG_reserved)
#define PageDirty(p)		PageFlag((p), PG_dirty)
#define SetPageDirty(p)		SetPageFlag((p), PG_dirty)

/* ------------------------------------------------------------------ */
/* pgtable.c: 4-level page tables                                      */

static inline uint64_t __entry_get(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_ACQUIRE);
}
static inline pte_t ptep_get(pte_t *ptep)
{
	return __pte(__atomic_load_n(&ptep->pte, __ATOMIC_RELAXED));
}
static inline pmd_t pmdp_get(pmd_t *pmdp)
{
	return __pmd(__atomic_load_n(&pmdp->pmd, __ATOMIC_ACQUIRE));
}
static inline bool pte_same(pte_t a, pte_t b)
{
	return a.pte == b.pte;
}
/* The table an upper-level entry points to. */
static inline struct pgtable *entry_table(uint64_t e)
{
	return (struct pgtable *)(uintptr_t)(e & _PAGE_PFN_MASK);
}
static inline unsigned long pte_index(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) & (PTRS_PER_TABLE - 1);
}
static inline unsigned long pmd_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long boundary = (addr + PMD_SIZE) & PMD_MASK;

	return boundary - 1 < end - 1 ? boundary : end;
}
static inline unsigned long pud_addr_end(unsigned long addr, unsigned long end)
{
	unsigned long boundary = (addr + (1UL << PUD_SHIFT)) & ~((1UL << PUD_SHIFT) - 1);

	return boundary - 1 < end - 1 ? boundary : end;
}

struct pgtable *pgtable_alloc(int level, unsigned long base);
void pgtable_free(struct pgtable *table);
/* Lockless lookups: NULL when a level is missing. */
uint64_t *pud_lookup(struct mm_struct *mm, unsigned long addr);
pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long addr);
/* Populate the upper levels (page_table_lock); NULL on -ENOMEM. */
pmd_t *mm_alloc_pmd(struct mm_struct *mm, unsigned long addr);
/* Populate the PTE table under @pmd; -ENOMEM.  0 also when a huge leaf
 * appeared meanwhile (the caller rechecks). */
int __pte_alloc(struct mm_struct *mm, pmd_t *pmd);
/* The PTE table's lock, and the locked pte for @addr; NULL when the PMD is
 * none or a huge leaf. */
spinlock_t *pte_lockptr(pmd_t pmd);
pte_t *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
			   unsigned long addr, spinlock_t **ptlp);
/* The pte for @addr without taking its lock (the caller locks *ptlp). */
pte_t *pte_offset_map_nolock(struct mm_struct *mm, pmd_t *pmd,
			     unsigned long addr, spinlock_t **ptlp);
pte_t *pte_alloc_map_lock(struct mm_struct *mm, pmd_t *pmd,
			  unsigned long addr, spinlock_t **ptlp);
static inline void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	spin_unlock(ptl);
}
/* pmd_lock(): huge PMD leaves are under page_table_lock. */
spinlock_t *pmd_lock(struct mm_struct *mm, pmd_t *pmd);

/* Every pte store of the primary MMU goes through these. */
void set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep, pte_t pte);
pte_t ptep_get_and_clear(struct mm_struct *mm, unsigned long addr, pte_t *ptep);
pte_t ptep_clear_flush(struct vm_area_struct *vma, unsigned long addr, pte_t *ptep);
pte_t ptep_clear_flush_notify(struct vm_area_struct *vma, unsigned long addr,
			      pte_t *ptep);
void set_pte_at_notify(struct mm_struct *mm, unsigned long addr, pte_t *ptep,
		       pte_t pte);
/* era: 2.6.33 has no range pair around one-page invalidations (COW, KSM,
 * reclaim, migration): invalidate_page / change_pte under the PTL only */
static inline bool mm_era_page_range_pair(void)
{
	return mmn_era != MMN_ERA_2_6_33;
}
void ptep_set_wrprotect(struct mm_struct *mm, unsigned long addr, pte_t *ptep);
/* Accessed/dirty update on the pte (fault path); true if it changed. */
bool ptep_set_access_flags(struct vm_area_struct *vma, unsigned long addr,
			   pte_t *ptep, pte_t entry);
/* mprotect's transaction (x86: get_and_clear, then commit). */
pte_t ptep_modify_prot_start(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *ptep);
void ptep_modify_prot_commit(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *ptep, pte_t old_pte, pte_t pte);
/* The MMU's own accessed/dirty update (access.c), not a VM pte write. */
void __mmn_hw_set_ad(uint64_t *entry, uint64_t bits);
pte_t pte_modify(pte_t pte, uint64_t newprot);
/* The struct page behind a pte, NULL for special ptes (zero page, PFN). */
struct page *vm_normal_page(struct vm_area_struct *vma, unsigned long addr, pte_t pte);
/* exit_mmap(): hand every table below the pgd to the gather. */
struct mmu_gather;
void free_pgtables(struct mmu_gather *tlb, struct mm_struct *mm);
/* Level 2: every pte of @mm is consistent with its VMA and its page. */
bool mm_pgtables_valid(struct mm_struct *mm);

/* ------------------------------------------------------------------ */
/* tlb.c: TLB flushes and the mmu_gather                               */

void flush_tlb_mm_range(struct mm_struct *mm, unsigned long start, unsigned long end);
void flush_tlb_page(struct vm_area_struct *vma, unsigned long addr);
void flush_tlb_range(struct vm_area_struct *vma, unsigned long start, unsigned long end);
void flush_tlb_mm(struct mm_struct *mm);

struct mmu_gather {
	struct mm_struct *mm;
	bool fullmm;			/* exit_mmap: the whole mm goes */
	unsigned long start, end;	/* range to flush, [start, end) */
	struct page **pages;		/* puts deferred to after the flush */
	unsigned int nr_pages, max_pages;
	struct pgtable **tables;	/* tables freed after the flush */
	unsigned int nr_tables, max_tables;
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_gather_mmu_fullmm(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_flush_pte_range(struct mmu_gather *tlb, unsigned long addr, unsigned long size);
void tlb_remove_page(struct mmu_gather *tlb, struct page *page);
void tlb_remove_table(struct mmu_gather *tlb, struct pgtable *table);
/* Flush the gathered range now (the pages are still put later). */
void tlb_flush_mmu_tlbonly(struct mmu_gather *tlb);
/* Flush the gathered range, THEN put the gathered pages and free tables. */
void tlb_finish_mmu(struct mmu_gather *tlb);

/* ------------------------------------------------------------------ */
/* mmap.c: the VMA set                                                  */

#define MMAP_MIN_ADDR	0x10000UL
#define MMAP_BASE	0x7f0000000000UL

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);
struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *vma);
struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *vma);
int vma_index(struct mm_struct *mm, struct vm_area_struct *vma);
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);
int vma_link(struct mm_struct *mm, struct vm_area_struct *vma);	/* -ENOMEM */
uint64_t vm_get_page_prot(unsigned long vm_flags);
int split_vma(struct vm_area_struct *vma, unsigned long addr);
/* Merge @vma with its neighbours where Linux would; returns the survivor. */
struct vm_area_struct *vma_merge_neighbours(struct vm_area_struct *vma);
/* Unmap [start, end) under mmap_lock write (munmap, MAP_FIXED). */
int do_munmap_locked(struct mm_struct *mm, unsigned long start, unsigned long end);
/* Free page-table references and the VMA (after tlb_finish_mmu). */
void remove_vma(struct vm_area_struct *vma);
void exit_mmap(struct mm_struct *mm);
bool mm_vmas_valid(struct mm_struct *mm);
static inline bool vma_is_accessible(const struct vm_area_struct *vma)
{
	return vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC);
}

/*
 * mm_take_all_locks(): for mmu_notifier registration.  The caller holds
 * mmap_lock for write.  Takes every anon_vma root rwsem and every mapping
 * i_mmap_rwsem of the mm's VMAs, each once (mappings first, then
 * anon_vmas, as Linux), under a global mutex.  Returns 0 (no signals in
 * the lab).  mm_drop_all_locks() releases them.
 */
int mm_take_all_locks(struct mm_struct *mm);
void mm_drop_all_locks(struct mm_struct *mm);

/* ------------------------------------------------------------------ */
/* memory.c: faults, zap, fork's page-table copy                        */

/* Under mmap_lock (read).  Returns VM_FAULT_* (0 = handled or retry). */
int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags);
void zap_page_range_single(struct vm_area_struct *vma, unsigned long address,
			   unsigned long size);

/*
 * Era 2.6.33: what unmap_mapping_range() hands down to zap_page_range()
 * (2.6.33's struct zap_details, lab fields marked).  All under
 * mapping->i_mmap_lock.
 */
struct zap_details {
	struct address_space *mapping;	/* its i_mmap_lock is held */
	unsigned long first_index, last_index;	/* the hole, in pages */
	unsigned long truncate_count;	/* of this unmap_mapping_range() */
	/* lab: chunks zapped so far, for mmn_truncate_knobs.break_every */
	unsigned long chunks;
	/* lab: need_resched() || spin_needbreak(i_mmap_lock), set by the
	 * knob, cleared by the cond_resched() of the lock break */
	bool need_break;
	/* era 2.6.33+holt: a range_start(atomic) was refused, nothing zapped */
	bool refused;
};

/*
 * Era 2.6.33 knobs of the zap under i_mmap_lock (truncate, hole punch),
 * making need_resched()/spin_needbreak() deterministic under either back
 * end.  Defaults: 8-page chunks (ZAP_BLOCK_SIZE with CONFIG_PREEMPT), no
 * break.  Set them before a run; tests reset them after.
 */
struct mmn_truncate_knobs {
	/* ZAP_BLOCK_SIZE in pages: the zap under i_mmap_lock goes in chunks
	 * of this many pages of address space (0: 8) */
	unsigned int zap_block_pages;
	/* need_resched() becomes true after every Nth chunk zapped within one
	 * unmap_mapping_range() (0: never): the walk stops, records its
	 * restart address, drops i_mmap_lock, cond_resched(), relocks and
	 * restarts */
	unsigned int break_every;
	/*
	 * Era 2.6.33+holt: the unlocked retry as RFP-V2 posted it, BROKEN:
	 * vma->vm_mm read after i_mmap_lock was dropped, no mm_count pin
	 * (Andrea: the VMA may be freed by then).  Default false: Robin's
	 * later variant, mm read under the lock and pinned.
	 */
	bool holt_v2_unpinned;
};
extern struct mmn_truncate_knobs mmn_truncate_knobs;

/*
 * Era 2.6.33 zap_page_range() -> unmap_vmas() over [address, address +
 * size) of @vma: range_start, the zap in chunks, range_end for the whole
 * range even after an early stop.  @details non-NULL: the truncate path,
 * i_mmap_lock held (a chunk may end in a lock break; era +holt: start is
 * called with atomic = true and may refuse).  Returns the address the zap
 * got to: address + size when done, else the restart address (== address
 * with details->refused: nothing was zapped).
 */
unsigned long zap_page_range_2_6_33(struct vm_area_struct *vma,
				    unsigned long address, unsigned long size,
				    struct zap_details *details);
/* One UNMAP range [start, end) around zapping @vmas[0..n). */
void unmap_vmas(struct mmu_gather *tlb, struct vm_area_struct **vmas, int n,
		unsigned long start, unsigned long end);
int copy_page_range(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma);
void copy_user_highpage(struct page *to, struct page *from);

/* ------------------------------------------------------------------ */
/* fork.c: mm lifetime                                                  */

struct mm_struct *mm_alloc(void);
void __mmn_for_each_mm(void (*fn)(struct mm_struct *mm, void *arg), void *arg);
void __mmdrop(struct mm_struct *mm);

/* ------------------------------------------------------------------ */
/* rmap.c                                                               */

int anon_vma_prepare(struct vm_area_struct *vma);	/* -ENOMEM */
int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src);
int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);
void unlink_anon_vmas(struct vm_area_struct *vma);
void get_anon_vma(struct anon_vma *anon_vma);
void put_anon_vma(struct anon_vma *anon_vma);
void anon_vma_lock_write(struct anon_vma *anon_vma);
void anon_vma_unlock_write(struct anon_vma *anon_vma);
void anon_vma_lock_read(struct anon_vma *anon_vma);
void anon_vma_unlock_read(struct anon_vma *anon_vma);

void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma,
			    unsigned long address);
void page_move_anon_rmap(struct page *page, struct vm_area_struct *vma);
void page_add_file_rmap(struct page *page, struct vm_area_struct *vma);
void page_dup_rmap(struct page *page);
void page_remove_rmap(struct page *page, struct vm_area_struct *vma);
static inline struct anon_vma *page_anon_vma(struct page *page)
{
	/* a KSM page's ->mapping is its stable node, not an anon_vma */
	if (!PageAnon(page) || PageKsm(page))
		return NULL;
	return (struct anon_vma *)READ_ONCE(page->mapping);
}
/* Where @page would be mapped in @vma; -EFAULT if outside it. */
unsigned long vma_address(struct page *page, struct vm_area_struct *vma);

/*
 * rmap walk: call rmap_one for every VMA that may map @page at the address
 * it would have there.  Anon: under anon_vma->root->rwsem (read), file:
 * under mapping->i_mmap_rwsem (read).  The caller holds a reference on
 * @page and its lock (as Linux requires the folio lock), so ->mapping is
 * stable.  rmap_one returns false to stop the walk.
 */
struct rmap_walk_control {
	void *arg;
	bool (*rmap_one)(struct page *page, struct vm_area_struct *vma,
			 unsigned long address, void *arg);
};
void rmap_walk(struct page *page, struct rmap_walk_control *rwc);
void rmap_walk_anon(struct page *page, struct rmap_walk_control *rwc);
void rmap_walk_file(struct page *page, struct rmap_walk_control *rwc);
/* page_vma_mapped_walk(), one pte: the locked pte of @vma at @address if
 * it maps @page (*ptlp held), else NULL. */
pte_t *page_vma_mapped_pte(struct page *page, struct vm_area_struct *vma,
			   unsigned long address, spinlock_t **ptlp);

/* ------------------------------------------------------------------ */
/* shmem.c                                                              */

struct file *shmem_file_setup(unsigned long size);	/* NULL: -ENOMEM */
void get_file(struct file *file);
void fput(struct file *file);
extern const struct vm_operations_struct shmem_vm_ops;
/* The page at @index, created (zeroed) if absent, with a reference. */
int shmem_get_page(struct address_space *mapping, unsigned long index,
		   struct page **pagep);
void vma_interval_tree_insert(struct vm_area_struct *vma, struct address_space *mapping);
void vma_interval_tree_remove(struct vm_area_struct *vma, struct address_space *mapping);
void i_mmap_lock_write(struct address_space *mapping);
void i_mmap_unlock_write(struct address_space *mapping);
void i_mmap_lock_read(struct address_space *mapping);
void i_mmap_unlock_read(struct address_space *mapping);

/* ------------------------------------------------------------------ */
/* huge_memory.c: THP (huge anon PMDs)                                  */

#define HPAGE_PMD_SIZE	PMD_SIZE

/* May @vma hold a huge PMD at @haddr?  @sysfs: obey the "enabled" knob
 * (faults, khugepaged), not for MADV_COLLAPSE. */
bool thp_vma_allowable(struct vm_area_struct *vma, unsigned long haddr,
		       bool sysfs);
/* From handle_mm_fault() when the PMD is none or huge: VM_FAULT_FALLBACK
 * continues with the pte path (the PMD may have been split meanwhile). */
int handle_huge_pmd_fault(struct vm_fault *vmf);
/* Zap, fork, mprotect of one whole huge PMD: false / -EAGAIN / < 0 when
 * the PMD was not huge under the lock (the caller walks ptes instead). */
bool zap_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		  pmd_t *pmd, unsigned long addr);
int copy_huge_pmd(struct vm_area_struct *dst_vma, struct vm_area_struct *src_vma,
		  pmd_t *dst_pmd, pmd_t *src_pmd, unsigned long addr);
long change_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		     pmd_t *pmd, unsigned long addr, uint64_t newprot);
/* S(CLEAR, 2M) -> PMD lock -> split -> unlock -> E. */
void __split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd, unsigned long address);
/* __split_vma(): split a huge PMD that @addr cuts (rmap locks held). */
void vma_adjust_trans_huge(struct vm_area_struct *vma, unsigned long addr);
/* The PMD's deposited PTE table (page_table_lock held). */
void pgtable_trans_huge_deposit(struct mm_struct *mm, struct pgtable *table);
struct pgtable *pgtable_trans_huge_withdraw(struct mm_struct *mm);
/* A PTE table for a deposit: a retired one, or a new one. */
struct pgtable *thp_pgtable_alloc(struct mm_struct *mm);
/* exit: every deposited and retired table goes to the gather. */
void thp_free_deposited(struct mmu_gather *tlb, struct mm_struct *mm);
/* A fresh THP becomes anonymous, exclusive, PMD-mapped once. */
void page_add_new_anon_rmap_huge(struct page *head, struct vm_area_struct *vma,
				 unsigned long haddr);
/* Every pte and PMD mapping of the compound page of @page. */
int total_mapcount(struct page *page);
/* madvise()'s VM_HUGEPAGE/NOHUGEPAGE/MERGEABLE/UNMERGEABLE flag update
 * (madvise_update_vma), mmap_lock taken for write inside. */
int madvise_vma_flags(struct mm_struct *mm, unsigned long start,
		      unsigned long end, int advice);

/* khugepaged.c */
int madvise_collapse(struct mm_struct *mm, unsigned long start, unsigned long end);

/* ksm.c */
int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice, unsigned long *vm_flags);
void ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm);
void ksm_exit(struct mm_struct *mm);
void __ksm_page_freed(struct page *page);	/* from __free_pages() */
void rmap_walk_ksm(struct page *page, struct rmap_walk_control *rwc);
void __mmn_ksm_init(void);
void __mmn_ksm_exit(void);

/* ------------------------------------------------------------------ */
/* Swap, reclaim, migration, files, mremap, OOM, soft-dirty             */
/* (swapfile.c, swap_state.c, vmscan.c, migrate.c, filemap.c,           */
/*  truncate.c, mremap.c, oom_kill.c, task_mmu.c; swapops.h)            */

#include "mm/swapops.h"

#define PageSwapCache(p)	PageFlag((p), PG_swapcache)
#define PageLazyFree(p)		PageFlag((p), PG_lazyfree)
#define ClearPageDirty(p)	ClearPageFlag((p), PG_dirty)
bool get_page_unless_zero(struct page *page);
static inline bool page_mapped(struct page *page)
{
	return page_mapcount(page) > 0;
}

/* swapfile.c: the swap device, swap counts, slot data */
void __mmn_swap_init(unsigned long nr_slots);
void __mmn_swap_exit(void);
void __mmn_swap_stats(struct mmn_mem_stats *st);
int swap_duplicate(swp_entry_t entry);		/* swap count++ (fork, unmap) */
void swap_free(swp_entry_t entry);		/* swap count-- */
int __swap_count(swp_entry_t entry);
bool vm_swap_full(void);
/* A swap pte was zapped: count--, and drop the cache page if unused. */
void free_swap_and_cache(swp_entry_t entry);
/* Write @page's data to its slot / read its slot into @page. */
void swap_writepage(struct page *page);
void swap_read_page(struct page *page, swp_entry_t entry);
/* Lockless, for the end audit only: what a swap-in of the entry of @pte
 * would read (the swap-cache page, else the slot), or NULL. */
const uint64_t *__mmn_swap_audit_data(pte_t pte, unsigned long *pfn);

/* swap_state.c: the swap cache and swap-in */
int add_to_swap(struct page *page);		/* page locked; -ENOMEM */
struct page *lookup_swap_cache(swp_entry_t entry);	/* referenced */
/* Page locked: drop it from the swap cache if no swap pte needs it. */
bool folio_free_swap(struct page *page);
/* Page locked: drop it from the swap cache if nothing can reach it. */
void swap_drop_orphan(struct page *page);
/* From the mmu_gather: an unmapped swap-cache page's last users go. */
void free_swap_cache(struct page *page);
/* Reclaim: the locked, clean, unmapped swap-cache page leaves the cache if
 * only the caller's reference and the cache's remain. */
bool __remove_mapping_swapcache(struct page *page);
/* Migration: @new takes @old's place in the swap cache (refs frozen). */
int migrate_swap_cache(struct page *new, struct page *old, int expected);
int do_swap_page(struct vm_fault *vmf);
/* fork: copy a non-present pte (copy_nonpresent_pte), both PTLs held. */
void copy_nonpresent_pte(struct mm_struct *dst_mm, struct mm_struct *src_mm,
			 pte_t *dst_pte, pte_t *src_pte,
			 struct vm_area_struct *dst_vma,
			 struct vm_area_struct *src_vma, unsigned long addr);
/* zap: a non-present pte (swap: count--, migration: just cleared). */
void zap_nonpresent_pte(struct mmu_gather *tlb, struct vm_area_struct *vma,
			unsigned long addr, pte_t *pte);

/* vmscan.c */
bool reclaim_one_page(struct page *page, bool pageout_advice);
int folio_referenced(struct page *page);
/* madvise(MADV_PAGEOUT / MADV_FREE) of one VMA part, mmap_lock read. */
int madvise_pageout_vma(struct vm_area_struct *vma, unsigned long start,
			unsigned long end);
int madvise_free_vma(struct vm_area_struct *vma, unsigned long start,
		     unsigned long end);

/* migrate.c */
void set_pte_migration_entry(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *ptep, struct page *page, struct page *dirty);
void set_pte_from_migration_entry(struct vm_area_struct *vma, unsigned long addr,
				  pte_t *ptep, pte_t old, struct page *page);
void migration_entry_wait(struct mm_struct *mm, pmd_t *pmd, unsigned long addr);

/* memory.c: zap a range of one VMA inside the caller's gather and range */
void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long start, unsigned long end);

/* mmap.c */
unsigned long get_unmapped_area(struct mm_struct *mm, unsigned long hint,
				unsigned long len);

/* filemap.c */
extern const struct vm_operations_struct file_vm_ops;
/* i_size: written under i_pages_lock, read anywhere (i_size_read()) */
static inline unsigned long i_size_read(const struct address_space *mapping)
{
	return __atomic_load_n(&mapping->i_size, __ATOMIC_RELAXED);
}
static inline void i_size_write(struct address_space *mapping, unsigned long size)
{
	__atomic_store_n(&mapping->i_size, size, __ATOMIC_RELAXED);
}
int filemap_grow(struct address_space *mapping, unsigned long nr);

/* truncate.c */
void unmap_mapping_range(struct address_space *mapping, unsigned long holebegin,
			 unsigned long holelen, int even_cows);

/* ------------------------------------------------------------------ */
/* mm counters                                                          */

static inline void inc_mm_counter(struct mm_struct *mm, bool anon)
{
	__atomic_fetch_add(anon ? &mm->rss_anon : &mm->rss_file, 1, __ATOMIC_RELAXED);
}
static inline void dec_mm_counter(struct mm_struct *mm, bool anon)
{
	__atomic_fetch_sub(anon ? &mm->rss_anon : &mm->rss_file, 1, __ATOMIC_RELAXED);
}

#endif /* MMN_MM_INTERNAL_H */
