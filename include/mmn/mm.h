/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lab's public API to the primary MMU: create address spaces, map,
 * unmap, protect, advise, fork, exit, and access memory as a CPU would.
 *
 * Addresses, lengths, prot, flags and advice take Linux's values
 * (<sys/mman.h>: PROT_*, MAP_*, MADV_*).  Errors are -errno, as the
 * system calls return them.  Every operation notifies the secondary MMUs
 * exactly where and how Linux does under the run's era.
 */
#ifndef MMN_MM_H
#define MMN_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <mmn/linux/mm.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mmn_mem_config {
	unsigned long nr_frames;	/* size of the frame pool; 0: default (16384 = 64 MiB) */
	unsigned long nr_swap_slots;	/* slots of the swap device; 0: default (4096) */
};

/* The frame pool.  mmn_mem_init() after mmn_rt_init(); exit at the end. */
int mmn_mem_init(const struct mmn_mem_config *cfg);
void mmn_mem_exit(void);

struct mmn_mem_stats {
	unsigned long nr_frames;	/* pool size, zero page included */
	unsigned long free_frames;
	unsigned long anon_pages;	/* allocated, anon */
	unsigned long file_pages;	/* allocated, page cache / shmem */
	unsigned long page_tables;	/* pgtable pages allocated */
	unsigned long nr_mms;		/* mm_structs alive */
	unsigned long nr_vmas;
	unsigned long nr_anon_vmas;
	unsigned long nr_mappings;	/* address_space objects alive */
	unsigned long nr_swap_slots;	/* usable slots of the swap device */
	unsigned long swap_used;	/* slots allocated (swap count or cache) */
	unsigned long swap_cache_pages;	/* pages in the swap cache */
};
void mmn_mem_stats(struct mmn_mem_stats *st);

/* A new, empty address space with mm_users == 1. */
struct mm_struct *mmn_mm_create(void);
/* fork(): a child address space duplicated from @parent (dup_mmap). */
struct mm_struct *mmn_fork(struct mm_struct *parent, int *err);
/* The last user of @mm exits: mmput() -> exit_mmap() -> release, unmap. */
void mmn_exit(struct mm_struct *mm);

/* mmap(): MAP_PRIVATE|MAP_ANONYMOUS or MAP_SHARED|MAP_ANONYMOUS, with
 * optional MAP_FIXED.  Returns the address, or -errno. */
long mmn_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
	      int prot, int flags);
int mmn_munmap(struct mm_struct *mm, unsigned long addr, unsigned long len);
int mmn_mprotect(struct mm_struct *mm, unsigned long addr, unsigned long len,
		 int prot);
/* MADV_DONTNEED (foundation); more advice values in later layers. */
int mmn_madvise(struct mm_struct *mm, unsigned long addr, unsigned long len,
		int advice);

/*
 * CPU access to an aligned 64-bit word: walk the page table as the MMU
 * would, take the fault path on a miss or a write to a read-only pte.
 * Returns 0, or -EFAULT where Linux would deliver SIGSEGV (no VMA, no
 * permission), -EINVAL for a misaligned address, -ENOMEM when out of frames.
 */
int mmn_load(struct mm_struct *mm, unsigned long va, uint64_t *val);
int mmn_store(struct mm_struct *mm, unsigned long va, uint64_t val);

/*
 * Reclaim and swap (vmscan.c, swapfile.c, swap_state.c).
 * mmn_pageout(): MADV_PAGEOUT over [addr, addr + len): private anonymous
 *   pages mapped only here are written to swap and unmapped.  Returns 0 or
 *   -errno as madvise().  (Also reachable as mmn_madvise(MADV_PAGEOUT).)
 * mmn_reclaim(): a global shrink of up to @nr anonymous pages (kswapd-
 *   like, over every frame), aging first; returns the number reclaimed.
 * mmn_swap_keep_cache(): keep written-out pages in the swap cache instead
 *   of freeing them (what an extra page reference does anyway).
 * mmn_swap_info(): the pte at @va is a swap entry: its slot, and whether
 *   the page is still in the swap cache; -ENOENT otherwise.
 */
int mmn_pageout(struct mm_struct *mm, unsigned long addr, unsigned long len);
unsigned long mmn_reclaim(unsigned long nr);
void mmn_swap_keep_cache(bool keep);
int mmn_swap_info(struct mm_struct *mm, unsigned long va, unsigned long *slot,
		  bool *cached);

/* move_pages() to "the other node": every page mapped in [addr, addr + len)
 * is migrated to a new frame.  Returns the number migrated, or -errno. */
long mmn_migrate_pages(struct mm_struct *mm, unsigned long addr,
		       unsigned long len);

/*
 * Page aging (rmap.c folio_referenced): test and clear the accessed bit of
 * every mapping of the page at @va, asking the secondary MMUs too
 * (clear_flush_young in era 6.1, clear_young in 6.12's MGLRU).  Returns
 * the number of mappings that were referenced, or -errno.
 * mmn_page_test_young(): the same question without clearing (test_young).
 */
int mmn_page_referenced(struct mm_struct *mm, unsigned long va);
int mmn_page_test_young(struct mm_struct *mm, unsigned long va);

/* Soft-dirty (fs/proc/task_mmu.c): echo 4 > clear_refs, and the pagemap
 * bit of @va (1, 0, or -ENOENT when nothing is mapped or swapped there). */
int mmn_clear_soft_dirty(struct mm_struct *mm);
int mmn_page_soft_dirty(struct mm_struct *mm, unsigned long va);

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE	1
#define MREMAP_FIXED	2
#endif
/* mremap(): MREMAP_MAYMOVE, MREMAP_FIXED (@new_addr).  Returns the new
 * address or -errno. */
long mmn_mremap(struct mm_struct *mm, unsigned long addr, unsigned long old_len,
		unsigned long new_len, int flags, unsigned long new_addr);

/* The OOM reaper on @mm (the caller holds a reference, mmgrab): unmap its
 * private memory with non-blocking notifiers.  -EAGAIN when mmap_lock
 * could not be taken or a notifier refused a VMA (skipped); -ENOSYS in
 * era 2.6.33, which had no reaper. */
int mmn_oom_reap(struct mm_struct *mm);

/*
 * Regular files (filemap.c, truncate.c): a page cache with an i_size.
 * mmn_file_create(): a file of @size bytes (zero filled), one reference.
 * mmn_file_close(): drop it (the data lives while a mapping remains).
 * mmn_file_read/write(): pread/pwrite of the aligned 64-bit word at @pos;
 *   -EINVAL misaligned, -ENXIO at or beyond i_size (where pread returns 0
 *   bytes and pwrite would extend the file: grow it with truncate).
 * mmn_file_truncate(): ftruncate (8-byte multiples); shrinking unmaps and
 *   drops the pages beyond, growing reads zeros.
 * mmn_file_punch_hole(): fallocate(FALLOC_FL_PUNCH_HOLE|KEEP_SIZE).
 * mmn_mmap_file(): mmap(MAP_SHARED) of @file from page offset @pgoff;
 *   an access beyond i_size gets -EFAULT (SIGBUS).
 */
struct file;
struct file *mmn_file_create(unsigned long size, int *err);
void mmn_file_close(struct file *file);
unsigned long mmn_file_size(struct file *file);
int mmn_file_read(struct file *file, unsigned long pos, uint64_t *val);
int mmn_file_write(struct file *file, unsigned long pos, uint64_t val);
int mmn_file_truncate(struct file *file, unsigned long size);
int mmn_file_punch_hole(struct file *file, unsigned long offset,
			unsigned long len);
long mmn_mmap_file(struct mm_struct *mm, unsigned long addr, unsigned long len,
		   int prot, int flags, struct file *file, unsigned long pgoff);

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux >= 6.1 */
#endif

/*
 * Transparent huge pages (huge_memory.c, khugepaged.c): the global
 * /sys/kernel/mm/transparent_hugepage/enabled knob (the lab's default is
 * MMN_THP_MADVISE: only MADV_HUGEPAGE ranges fault huge), an explicit PMD
 * split at @addr (-ENOENT if no huge PMD maps it), and one khugepaged pass
 * over @mm (returns the number of PMDs collapsed).  MADV_HUGEPAGE,
 * MADV_NOHUGEPAGE and MADV_COLLAPSE go through mmn_madvise().
 */
enum mmn_thp_mode { MMN_THP_ALWAYS, MMN_THP_MADVISE, MMN_THP_NEVER };
void mmn_thp_set_enabled(enum mmn_thp_mode mode);
enum mmn_thp_mode mmn_thp_get_enabled(void);
/* khugepaged/max_ptes_none (default 511); returns the old value. */
unsigned int mmn_khugepaged_set_max_ptes_none(unsigned int n);
int mmn_split_huge_pmd(struct mm_struct *mm, unsigned long addr);
int mmn_khugepaged_scan(struct mm_struct *mm);

/*
 * KSM (ksm.c): one full ksmd pass over every MADV_MERGEABLE VMA of every
 * mm; returns the number of ptes switched to a KSM page in this pass.  A
 * page merges on the second pass that sees it unchanged (the unstable
 * tree), or at once if a KSM page with its content exists.  Run it in a
 * task named "ksmd" to look like the kernel's.  Counts as
 * /sys/kernel/mm/ksm/pages_shared and pages_sharing.
 */
int mmn_ksm_scan(void);
void mmn_ksm_counts(unsigned long *pages_shared, unsigned long *pages_sharing);

/* Introspection for tests and reports (no faulting): the pfn mapped at @va
 * and whether the pte is writable; -ENOENT if none. */
int mmn_follow_pte(struct mm_struct *mm, unsigned long va, unsigned long *pfn,
		   bool *writable);
/* The same without the PT lock (a hardware walker's single read). */
int mmn_follow_pte_lockless(struct mm_struct *mm, unsigned long va,
			    unsigned long *pfn, bool *writable);

/*
 * lookup_address_in_mm(): the primary's leaf for @va, read without locks
 * (one read per level), as KVM's host_pfn_mapping_level() does: the frame
 * mapped at @va, whether it is writable, and the leaf's order
 * (HPAGE_PMD_ORDER: a huge PMD maps the aligned 2 MiB around @va; 0: a
 * pte).  -ENOENT if nothing present maps @va.  The caller holds a
 * reference on mm_users; the answer may be stale at once.
 */
int mmn_lookup_address_in_mm(struct mm_struct *mm, unsigned long va,
			     unsigned long *pfn, bool *writable,
			     unsigned int *order);

#ifdef __cplusplus
}
#endif
#endif
