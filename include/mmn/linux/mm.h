/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What driver code may know of the primary MMU: opaque mm_struct and page,
 * reference counting, the mmap lock, pfns.  The definitions live in
 * src/mm/mm_types.h and are private to the lab.
 */
#ifndef MMN_LINUX_MM_H
#define MMN_LINUX_MM_H

#include <mmn/linux/compiler.h>

struct mm_struct;
struct page;
struct vm_area_struct;

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PMD_SHIFT	21
#define PMD_SIZE	(1UL << PMD_SHIFT)
#define PMD_MASK	(~(PMD_SIZE - 1))
#define HPAGE_PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define HPAGE_PMD_NR	(1UL << HPAGE_PMD_ORDER)
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)

/* mm reference counts: mm_users pins the address space (page tables,
 * VMAs), mm_count pins only the struct. */
void mmget(struct mm_struct *mm);
bool mmget_not_zero(struct mm_struct *mm);
void mmput(struct mm_struct *mm);
void mmgrab(struct mm_struct *mm);
void mmdrop(struct mm_struct *mm);
/* A short name for reports: "mm#3". */
const char *mmn_mm_name(const struct mm_struct *mm);

void __mmn_mmap_read_lock(struct mm_struct *mm, const char *file, int line);
bool __mmn_mmap_read_trylock(struct mm_struct *mm, const char *file, int line);
void __mmn_mmap_write_lock(struct mm_struct *mm, const char *file, int line);
void mmap_read_unlock(struct mm_struct *mm);
void mmap_write_unlock(struct mm_struct *mm);
void mmap_write_downgrade(struct mm_struct *mm);
void __mmn_mmap_assert_locked(struct mm_struct *mm, const char *file, int line);
void __mmn_mmap_assert_write_locked(struct mm_struct *mm, const char *file, int line);
#define mmap_read_lock(mm)	__mmn_mmap_read_lock((mm), __FILE__, __LINE__)
#define mmap_read_trylock(mm)	__mmn_mmap_read_trylock((mm), __FILE__, __LINE__)
#define mmap_write_lock(mm)	__mmn_mmap_write_lock((mm), __FILE__, __LINE__)
#define mmap_assert_locked(mm)	__mmn_mmap_assert_locked((mm), __FILE__, __LINE__)
#define mmap_assert_write_locked(mm) __mmn_mmap_assert_write_locked((mm), __FILE__, __LINE__)

/* Pages.  A driver holding a struct page * without a reference relies on
 * the notifier to learn when it goes away (dmirror does exactly that). */
unsigned long page_to_pfn(const struct page *page);
struct page *pfn_to_page(unsigned long pfn);
void get_page(struct page *page);
void put_page(struct page *page);
int page_count(const struct page *page);
int page_mapcount(const struct page *page);
bool is_zero_pfn(unsigned long pfn);
/* The device wrote @page through its own translation: the data must be
 * written back before reclaim may drop a clean copy (a driver calls it
 * when it tears down a writable entry it wrote through, as KVM and
 * set_page_dirty_lock() after GUP do).  Returns true if it was clean. */
bool set_page_dirty(struct page *page);

/*
 * get_user_pages_remote(): fault in and take a reference on @nr_pages
 * pages of @mm from @start.  Caller holds mmap_read_lock(mm).  Returns
 * the number of pages pinned, or -errno (-EFAULT: no VMA / no access).
 */
#define FOLL_WRITE	0x01
#define FOLL_FORCE	0x10
long get_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages, int *locked);

#endif
