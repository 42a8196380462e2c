/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Swap entries and the non-present ptes that carry them
 * (include/linux/swapops.h, include/linux/swap.h, x86's pgtable_64.h
 * __swp_entry encoding).
 *
 * A pte that is neither none nor present holds a swp_entry_t:
 *
 *   bit  0      0 (_PAGE_PRESENT clear)
 *   bits 1..5   type: 0 .. MAX_SWAPFILES-1 a swap device, above that the
 *               "non-swap" entries (migration)
 *   bit  6      _PAGE_SWP_EXCLUSIVE: the anon page was exclusive when it
 *               was unmapped (swap-in / migration may map it writable)
 *   bit  7      _PAGE_SWP_SOFT_DIRTY
 *   bit  8      0 (_PAGE_PROTNONE clear: not present for the VM either)
 *   bits 12..   offset: the slot on the device, or the pfn of a page under
 *               migration
 *
 * Offset 0 of a swap device is its header and never handed out, and pfn 0
 * is the zero page, which never migrates: an entry is never all zero, so
 * it never reads as pte_none().
 */
#ifndef MMN_MM_SWAPOPS_H
#define MMN_MM_SWAPOPS_H

#include <mmn/linux/pgtable.h>

typedef struct {
	unsigned long val;
} swp_entry_t;

#define SWP_TYPE_SHIFT		1
#define SWP_TYPE_BITS		5
#define SWP_TYPE_MASK		((1UL << SWP_TYPE_BITS) - 1)
#define _PAGE_BIT_SWP_SHIFT	12
#define SWP_OFFSET_MASK		((1UL << (52 - _PAGE_BIT_SWP_SHIFT)) - 1)
#define _PAGE_SWP_EXCLUSIVE	(1ULL << 6)
#define _PAGE_SWP_SOFT_DIRTY	(1ULL << 7)

/* Swap devices are types 0 .. MAX_SWAPFILES-1 (the lab has one). */
#define MAX_SWAPFILES		28
#define SWP_MIGRATION_READ	(MAX_SWAPFILES + 0)
#define SWP_MIGRATION_READ_EXCLUSIVE (MAX_SWAPFILES + 1)
#define SWP_MIGRATION_WRITE	(MAX_SWAPFILES + 2)

static inline swp_entry_t swp_entry(unsigned long type, unsigned long offset)
{
	swp_entry_t e = { .val = ((type & SWP_TYPE_MASK) << SWP_TYPE_SHIFT) |
				 ((offset & SWP_OFFSET_MASK) << _PAGE_BIT_SWP_SHIFT) };

	return e;
}

static inline unsigned long swp_type(swp_entry_t e)
{
	return (e.val >> SWP_TYPE_SHIFT) & SWP_TYPE_MASK;
}

static inline unsigned long swp_offset(swp_entry_t e)
{
	return (e.val >> _PAGE_BIT_SWP_SHIFT) & SWP_OFFSET_MASK;
}

/* Neither none nor present: a swap, migration ... entry. */
static inline bool is_swap_pte(pte_t pte)
{
	return !pte_none(pte) && !pte_present(pte);
}

/* The entry of a swap pte, without the exclusive/soft-dirty bits. */
static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	return swp_entry(swp_type((swp_entry_t){ pte.pte }),
			 swp_offset((swp_entry_t){ pte.pte }));
}

static inline pte_t swp_entry_to_pte(swp_entry_t e)
{
	return __pte(e.val);
}

static inline bool non_swap_entry(swp_entry_t e)
{
	return swp_type(e) >= MAX_SWAPFILES;
}

static inline bool is_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ ||
	       swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE ||
	       swp_type(e) == SWP_MIGRATION_WRITE;
}

static inline bool is_writable_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_WRITE;
}

static inline bool is_readable_exclusive_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE;
}

static inline swp_entry_t make_readable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ, pfn);
}

static inline swp_entry_t make_readable_exclusive_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ_EXCLUSIVE, pfn);
}

static inline swp_entry_t make_writable_migration_entry(unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_WRITE, pfn);
}

/* The pfn a migration entry points at. */
static inline unsigned long swp_offset_pfn(swp_entry_t e)
{
	return swp_offset(e);
}

static inline bool pte_swp_exclusive(pte_t pte)
{
	return pte.pte & _PAGE_SWP_EXCLUSIVE;
}

static inline pte_t pte_swp_mkexclusive(pte_t pte)
{
	return __pte(pte.pte | _PAGE_SWP_EXCLUSIVE);
}

static inline pte_t pte_swp_clear_exclusive(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_SWP_EXCLUSIVE);
}

static inline bool pte_swp_soft_dirty(pte_t pte)
{
	return pte.pte & _PAGE_SWP_SOFT_DIRTY;
}

static inline pte_t pte_swp_mksoft_dirty(pte_t pte)
{
	return __pte(pte.pte | _PAGE_SWP_SOFT_DIRTY);
}

static inline pte_t pte_swp_clear_soft_dirty(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_SWP_SOFT_DIRTY);
}

static inline bool pte_soft_dirty(pte_t pte)
{
	return pte.pte & _PAGE_SOFT_DIRTY;
}

static inline pte_t pte_mksoft_dirty(pte_t pte)
{
	return __pte(pte.pte | _PAGE_SOFT_DIRTY);
}

static inline pte_t pte_clear_soft_dirty(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_SOFT_DIRTY);
}

#endif /* MMN_MM_SWAPOPS_H */
