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

/* Introspection for tests and reports (no faulting): the pfn mapped at @va
 * and whether the pte is writable; -ENOENT if none. */
int mmn_follow_pte(struct mm_struct *mm, unsigned long va, unsigned long *pfn,
		   bool *writable);

#ifdef __cplusplus
}
#endif
#endif
