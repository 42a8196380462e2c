/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checker's hook interface (DESIGN.md section 6).
 *
 * mm/, notifier/ and the device API call these hooks at the points where
 * memory is accessed, translations are made, content is consumed, and
 * contract points pass.  With checking off every hook is a predictable
 * branch on mmn_check_enabled and nothing else.
 *
 * The checker keeps, per run:
 *   ghost memory   the sequential truth of every logical location (anon:
 *                  mm + address; shared memory: the object + offset), one
 *                  64-bit word at a time, updated atomically with every CPU
 *                  and device access (both happen under check_lock).
 *   seals          (frame, generation, location) triples: the primary has
 *                  consumed the frame's content for that location (COW copy,
 *                  KSM merge, collapse copy, migration copy) and will never
 *                  map it there again; a later device write there is lost.
 *   windows        per device, the invalidations it was told about: range,
 *                  event, contract point (the return of its callback) and
 *                  the matching end.  A device access through a translation
 *                  made before a contract point that covers it is
 *                  access-after-invalidate.
 *   a clock        one tick per observed event, printed as #N in reports.
 */
#ifndef MMN_CHECK_H
#define MMN_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>

struct mm_struct;
struct page;

extern bool mmn_check_enabled;

/* Start a run with checking on (resets all checker state) / end it.
 * mmn_check_audit() reads every mapped location through the primary and
 * compares it with the ghost; returns the number of mismatches. */
void mmn_check_begin(void);
unsigned long mmn_check_audit(void);
void mmn_check_end(void);

/* What kind of contract point a notifier callback's return is. */
enum mmn_contract {
	MMN_CONTRACT_RANGE_START,	/* classic invalidate_range_start */
	MMN_CONTRACT_INTERVAL,		/* interval ->invalidate */
	MMN_CONTRACT_SECONDARY_TLBS,	/* arch_invalidate_secondary_tlbs */
	MMN_CONTRACT_INVALIDATE_RANGE,	/* legacy invalidate_range (6.1) */
	MMN_CONTRACT_INVALIDATE_PAGE,	/* legacy invalidate_page (2.6.33) */
	MMN_CONTRACT_CHANGE_PTE,	/* legacy change_pte */
	MMN_CONTRACT_RELEASE,		/* ->release */
};

/* ---- hooks; call through the inline wrappers below ---- */
void __mmn_check_cpu_access(struct mm_struct *mm, unsigned long va,
			    struct page *page, uint64_t *word, bool write,
			    uint64_t *val);
void __mmn_check_fork_page(struct mm_struct *src, struct mm_struct *dst,
			   unsigned long addr);
void __mmn_check_reset_range(struct mm_struct *mm, unsigned long start,
			     unsigned long end);
void __mmn_check_pte_change_unnotified(struct mm_struct *mm, unsigned long va);
void __mmn_check_fork_done(struct mm_struct *src);

/* dup_mmap's flush_tlb_mm(parent) is done: a secondary's write through a
 * translation older than the fork no longer reaches the child's locations
 * (see fork shares in check.c). */
static inline void mmn_check_fork_done(struct mm_struct *src)
{
	if (mmn_check_enabled)
		__mmn_check_fork_done(src);
}
void __mmn_check_mm_gone(struct mm_struct *mm);
void __mmn_check_consumed(struct page *src, struct mm_struct *mm,
			  unsigned long va, const char *why);
void __mmn_check_contract(const void *subscription, enum mmn_contract kind,
			  struct mm_struct *mm, unsigned long start,
			  unsigned long end, int event);
void __mmn_check_range_end(const void *subscription, struct mm_struct *mm,
			   unsigned long start, unsigned long end, int event);
void __mmn_check_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct address_space;
void __mmn_check_mapping_gone(struct address_space *mapping);
void __mmn_check_device_gone(struct mmn_device *dev);
unsigned long __mmn_check_device_contracts(struct mmn_device *dev);
void __mmn_device_reset_ids(void);
/*
 * Seals for the other consumers of a frame's content (they take check_lock
 * themselves):
 *   mmn_check_seal()      @page was consumed for location (@mm, @va) and
 *                         will never be mapped there again (KSM
 *                         replace_page, at the pte switch);
 *   mmn_check_seal_all()  @page was consumed for every location it held
 *                         (migration and collapse copies: the frame is
 *                         going away, any write to it is lost);
 *   mmn_copy_page_consumed_all()  copy + seal_all as one step.
 * And for file data: the locations [@from, @to) (page indices) of
 * @mapping start over at zero (truncate, hole punch).
 */
/* exit_mmap() is about to free @mm's page tables (mm_users is 0). */
void mmn_check_pgtables_going(struct mm_struct *mm);
void mmn_check_seal(struct page *page, struct mm_struct *mm, unsigned long va,
		    const char *why);
void mmn_check_seal_all(struct page *page, const char *why);
void mmn_copy_page_consumed_all(struct page *dst, struct page *src,
				const char *why);
void mmn_check_reset_file(struct address_space *mapping, unsigned long from,
			  unsigned long to);
/* Copy @src into @dst for the COW of (@mm, @va), sealing @src for that
 * location, as one step with respect to device accesses. */
void mmn_copy_page_consumed(struct page *dst, struct page *src,
			    struct mm_struct *mm, unsigned long va,
			    const char *why);

/*
 * PFN-map aliases (mm/pfnmap.c, for XPMEM attachments): CPU accesses at
 * [@start, @end) of @mm are accesses to the locations of @target from
 * @target_start on -- the ghost of an attached address is the exporter's
 * -- and a write there through a frame the exporter's primary consumed is
 * a lost-write.  Independent of mmn_check_begin()/end(): the mm layer
 * registers an area for its whole life.
 */
void mmn_check_alias_add(struct mm_struct *mm, unsigned long start,
			 unsigned long end, struct mm_struct *target,
			 unsigned long target_start);
void mmn_check_alias_del(struct mm_struct *mm, unsigned long start);

/* The lock that makes an access atomic with its ghost update.  Innermost:
 * nothing is taken and no schedule point is passed while it is held. */
void mmn_check_lock(void);
void mmn_check_unlock(void);

/*
 * A CPU access of the word @word of @page at (@mm, @va), under the PT lock:
 * performs the access (store *@val, or load into *@val) atomically with
 * the ghost update.
 */
static inline void mmn_check_cpu_access(struct mm_struct *mm, unsigned long va,
					struct page *page, uint64_t *word,
					bool write, uint64_t *val)
{
	if (mmn_check_enabled)
		__mmn_check_cpu_access(mm, va, page, word, write, val);
	else if (write)
		__atomic_store_n(word, *val, __ATOMIC_RELAXED);
	else
		*val = __atomic_load_n(word, __ATOMIC_RELAXED);
}

static inline void mmn_check_fork_page(struct mm_struct *src,
				       struct mm_struct *dst,
				       unsigned long addr)
{
	if (mmn_check_enabled)
		__mmn_check_fork_page(src, dst, addr);
}

/* The anon locations of [start, end) of @mm start over at zero
 * (DONTNEED, munmap, a new mmap). */
static inline void mmn_check_reset_range(struct mm_struct *mm,
					 unsigned long start,
					 unsigned long end)
{
	if (mmn_check_enabled)
		__mmn_check_reset_range(mm, start, end);
}

/*
 * Era 2.6.33: (@mm, @va)'s pte changes now and the secondaries hear of it
 * only afterwards (ptep_clear_flush then invalidate_page; do_wp_page's and
 * KSM's ptep_clear_flush then change_pte).  A translation made stale by it
 * in between breaks no contract yet (rule (b) waits for the notification).
 */
static inline void mmn_check_pte_change_unnotified(struct mm_struct *mm,
						   unsigned long va)
{
	if (mmn_check_enabled)
		__mmn_check_pte_change_unnotified(mm, va);
}

/* mremap moved the anon locations [@old, @old + @len) of @mm to @new,
 * with their ptes (under both PT locks). */
void __mmn_check_move_range(struct mm_struct *mm, unsigned long old,
			    unsigned long new, unsigned long len);
static inline void mmn_check_move_range(struct mm_struct *mm, unsigned long old,
					unsigned long new, unsigned long len)
{
	if (mmn_check_enabled)
		__mmn_check_move_range(mm, old, new, len);
}

static inline void mmn_check_mm_gone(struct mm_struct *mm)
{
	if (mmn_check_enabled)
		__mmn_check_mm_gone(mm);
}

/* The primary consumed @src's content for location (@mm, @va) and will
 * never map @src there again.  Call with the copy it made, under
 * mmn_check_lock() (see mmn_copy_page_consumed()). */
static inline void mmn_check_consumed(struct page *src, struct mm_struct *mm,
				      unsigned long va, const char *why)
{
	if (mmn_check_enabled)
		__mmn_check_consumed(src, mm, va, why);
}

static inline void mmn_check_contract(const void *sub, enum mmn_contract kind,
				      struct mm_struct *mm, unsigned long start,
				      unsigned long end, int event)
{
	if (mmn_check_enabled)
		__mmn_check_contract(sub, kind, mm, start, end, event);
}

static inline void mmn_check_range_end(const void *sub, struct mm_struct *mm,
				       unsigned long start, unsigned long end,
				       int event)
{
	if (mmn_check_enabled)
		__mmn_check_range_end(sub, mm, start, end, event);
}

#endif
