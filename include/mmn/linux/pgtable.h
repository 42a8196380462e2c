/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page-table entries, x86-64 shaped: 4 levels of 512 entries, 4 KiB pages,
 * 2 MiB huge PMD leaves.  A present leaf holds pfn << PAGE_SHIFT | flags.
 * A non-present, non-none entry is a swap entry (swap, migration, device
 * exclusive): type and offset packed above _PAGE_BIT_SWP_SHIFT.
 */
#ifndef MMN_LINUX_PGTABLE_H
#define MMN_LINUX_PGTABLE_H

#include <mmn/linux/compiler.h>

typedef struct { uint64_t pte; } pte_t;
typedef struct { uint64_t pmd; } pmd_t;
typedef struct { uint64_t pud; } pud_t;
typedef struct { uint64_t pgd; } pgd_t;

#define _PAGE_PRESENT	(1ULL << 0)
#define _PAGE_RW	(1ULL << 1)
#define _PAGE_USER	(1ULL << 2)
#define _PAGE_ACCESSED	(1ULL << 5)
#define _PAGE_DIRTY	(1ULL << 6)
#define _PAGE_PSE	(1ULL << 7)	/* huge leaf at PMD level */
#define _PAGE_PROTNONE	(1ULL << 8)	/* present for the VM, not for the CPU */
#define _PAGE_SPECIAL	(1ULL << 9)	/* no struct page behind (PFN map) */
#define _PAGE_SOFT_DIRTY (1ULL << 11)
#define _PAGE_PFN_MASK	(((1ULL << 52) - 1) & ~((1ULL << 12) - 1))

#define __pte(x)	((pte_t){ (x) })
#define pte_val(p)	((p).pte)
#define __pmd(x)	((pmd_t){ (x) })
#define pmd_val(p)	((p).pmd)

static inline bool pte_none(pte_t p)	{ return p.pte == 0; }
static inline bool pte_present(pte_t p)	{ return p.pte & (_PAGE_PRESENT | _PAGE_PROTNONE); }
static inline bool pte_write(pte_t p)	{ return p.pte & _PAGE_RW; }
static inline bool pte_dirty(pte_t p)	{ return p.pte & _PAGE_DIRTY; }
static inline bool pte_young(pte_t p)	{ return p.pte & _PAGE_ACCESSED; }
static inline bool pte_special(pte_t p)	{ return p.pte & _PAGE_SPECIAL; }
static inline bool pte_protnone(pte_t p) { return (p.pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE; }
static inline unsigned long pte_pfn(pte_t p) { return (unsigned long)((p.pte & _PAGE_PFN_MASK) >> 12); }
static inline pte_t pfn_pte(unsigned long pfn, uint64_t prot) { return __pte(((uint64_t)pfn << 12) | prot); }
static inline pte_t pte_wrprotect(pte_t p) { return __pte(p.pte & ~_PAGE_RW); }
static inline pte_t pte_mkwrite(pte_t p) { return __pte(p.pte | _PAGE_RW); }
static inline pte_t pte_mkdirty(pte_t p) { return __pte(p.pte | _PAGE_DIRTY | _PAGE_SOFT_DIRTY); }
static inline pte_t pte_mkclean(pte_t p) { return __pte(p.pte & ~_PAGE_DIRTY); }
static inline pte_t pte_mkyoung(pte_t p) { return __pte(p.pte | _PAGE_ACCESSED); }
static inline pte_t pte_mkold(pte_t p)	{ return __pte(p.pte & ~_PAGE_ACCESSED); }

static inline bool pmd_none(pmd_t p)	{ return p.pmd == 0; }
static inline bool pmd_present(pmd_t p)	{ return p.pmd & (_PAGE_PRESENT | _PAGE_PROTNONE); }
static inline bool pmd_trans_huge(pmd_t p) { return pmd_present(p) && (p.pmd & _PAGE_PSE); }
static inline bool pmd_write(pmd_t p)	{ return p.pmd & _PAGE_RW; }
static inline unsigned long pmd_pfn(pmd_t p) { return (unsigned long)((p.pmd & _PAGE_PFN_MASK) >> 12); }

#endif
