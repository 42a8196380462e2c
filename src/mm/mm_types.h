/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The primary MMU's central types.  Private to the lab (drivers see them
 * opaque through <mmn/linux/mm.h>).
 *
 * Glossary
 *   frame     4 KiB of simulated physical memory; frames live in one pool
 *             (mem_map[] + a data array), numbered by pfn.  pfn 0 is the
 *             shared zero page and is never allocated.
 *   page      struct page: the metadata of one frame.  A compound page
 *             (THP) is 512 aligned frames: the head carries order 9, tails
 *             point at the head.
 *   pte/pmd   primary page-table entries (<mmn/linux/pgtable.h>): what the
 *             CPU walks.  spte: a secondary MMU's own translation (a
 *             device page-table entry, a shadow pte, an IOTLB entry) --
 *             never stored here; drivers own them.
 *   mm        struct mm_struct: one address space (a simulated process).
 *   VMA       struct vm_area_struct: [vm_start, vm_end) of an mm with one
 *             set of flags and one backing (anon or a file/shmem object).
 *   address_space  the page cache of one file (or the shmem object behind
 *             MAP_SHARED|MAP_ANONYMOUS): pages by index, and i_mmap, the
 *             VMAs mapping it.
 *   anon_vma  the reverse map root of anonymous pages: from a page to every
 *             VMA (in every forked mm) that may map it.
 *
 * Reference counts and who holds them
 *   page->_refcount   one per pte mapping it, one per page-cache slot, one
 *                     per get_page() (GUP, a driver, an in-flight copy, a
 *                     zapped page waiting in an mmu_gather for the flush).
 *                     The page is freed when it reaches 0.  The zero page
 *                     (pfn 0, PG_reserved) is never counted per mapping
 *                     and never freed; its ptes are _PAGE_SPECIAL.
 *   page->_mapcount   number of ptes mapping it (0-based here: 0 = unmapped;
 *                     Linux stores it minus one).
 *   page->gen         bumped each time the frame is freed: a translation
 *                     made at generation g used at generation g' != g
 *                     touches a freed (maybe reused) frame.
 *   mm->mm_users      tasks and pinners of the address space (mmget);
 *                     at 0 the address space is torn down (exit_mmap).
 *   mm->mm_count      pinners of the struct itself (mmgrab), +1 for all
 *                     of mm_users together; at 0 the struct is freed.
 *   file->f_count     VMAs mapping a shmem object; mapping->refcount: files.
 *
 * Page-table lifetime: tables are allocated lazily and freed only at exit
 * (everything below the pgd by exit_mmap() after the final flush, the pgd
 * by __mmdrop()), so lockless walkers of a live mm never see a table go.
 *   anon_vma->refcount  VMAs linked through anon_vma_chain + pages' ->mapping.
 *
 * Locks (Linux's order: mmap_lock -> folio lock -> i_mmap_rwsem ->
 * anon_vma->rwsem -> PTL)
 *   mm->mmap_lock          rwsem: VMA set.  Read for faults, write for
 *                          mmap/munmap/mprotect/fork.
 *   mm->page_table_lock    spinlock: upper-level table population and huge
 *                          PMD leaves.
 *   pte table ->ptl        spinlock per PTE table (split PT locks): every
 *                          change of a pte in it.
 *   anon_vma->root->rwsem  the anon rmap of a whole fork tree.
 *   mapping->i_mmap_rwsem  the VMAs of a file.
 *   mapping->i_mmap_lock   era 2.6.33 only: the spinlock i_mmap_lock was
 *                          then, taken inside i_mmap_rwsem by every
 *                          i_mmap_lock_*() (shmem.c), so every i_mmap
 *                          section is atomic as it was in 2.6.33.
 */
#ifndef MMN_MM_TYPES_H
#define MMN_MM_TYPES_H

#include <mmn/linux/compiler.h>
#include <mmn/linux/list.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/pgtable.h>
#include <mmn/linux/rwsem.h>
#include <mmn/linux/spinlock.h>
#include <mmn/rt.h>

/* ---- struct page ------------------------------------------------- */

enum pageflags {
	PG_locked,
	PG_anon,		/* mapping is an anon_vma */
	PG_anon_exclusive,	/* exclusively owned by one anon mapping: may be
				 * reused on a write fault without copying */
	PG_dirty,
	PG_head,
	PG_tail,
	PG_ksm,
	PG_swapcache,
	PG_reserved,		/* zero page, never freed */
	PG_pinned,
	PG_lru,
	PG_referenced,
	PG_uptodate,
	PG_lazyfree,		/* MADV_FREE: clean anon page reclaim may drop
				 * (Linux: !PG_swapbacked) */
};

struct page {
	unsigned long flags;		/* PG_* bits, atomic ops */
	int _refcount;			/* atomic */
	int _mapcount;			/* atomic, 0-based */
	void *mapping;			/* struct anon_vma * or address_space * */
	unsigned long index;		/* page offset in mapping */
	uint32_t gen;			/* bumped on free */
	uint8_t order;			/* compound order, on the head */
	struct page *head;		/* for tails; NULL otherwise */
	struct list_head lru;		/* free list / LRU */
	unsigned long private;		/* swap entry while in the swap cache */
	int _entire_mapcount;		/* head of a THP: huge PMDs mapping it
					 * whole (atomic, 0-based); ptes of a
					 * split PMD count in each subpage's
					 * _mapcount (huge_memory.c) */
};

#define MMN_PAGE_WORDS	(PAGE_SIZE / sizeof(uint64_t))

/* ---- page tables ------------------------------------------------- */

#define PTRS_PER_TABLE	512
#define PGDIR_SHIFT	39
#define PUD_SHIFT	30
#define MMN_VA_BITS	48
#define TASK_SIZE	(1UL << (MMN_VA_BITS - 1))

/*
 * One page-table page of any level.  Upper levels hold a pointer to the
 * next table or'ed with _PAGE_PRESENT (tables are 4 KiB aligned); a PMD
 * entry may instead be a huge leaf (_PAGE_PSE).  Entries are read and
 * written with atomic loads/stores: the CPU access path walks without
 * locks, as the MMU hardware does.  Tables are only freed at exit_mmap().
 */
struct pgtable {
	uint64_t e[PTRS_PER_TABLE];
	spinlock_t ptl;			/* split PT lock (PTE tables only) */
	int level;			/* 0 = PTE table ... 3 = PGD */
	unsigned long base;		/* first VA covered */
	struct pgtable *deposit_next;	/* PTE table deposited with a huge PMD
					 * or retired (huge_memory.c) */
};

/* ---- address_space (page cache, shmem) ---------------------------- */

struct address_space {
	struct rw_semaphore i_mmap_rwsem;
	spinlock_t i_mmap_lock;		/* era 2.6.33, inside i_mmap_rwsem */
	/* era 2.6.33: unmap_mapping_range() passes, under i_mmap_lock;
	 * never page aligned (see vm_truncate_count) */
	unsigned long truncate_count;
	bool all_locks_taken;		/* mm_take_all_locks(), under its mutex */
	struct list_head i_mmap;	/* vm_area_struct.shared */
	spinlock_t i_pages_lock;	/* xa_lock of i_pages */
	struct page **i_pages;		/* by index, NULL = hole */
	unsigned long nr_slots;
	unsigned long nrpages;
	unsigned long i_size;		/* bytes */
	int refcount;			/* struct files pointing at it */
	bool shmem;			/* anonymous shared memory object */
	/* filemap_invalidate_lock: truncate and hole punch (write) against
	 * faults that would create pages (read) */
	struct rw_semaphore invalidate_lock;
	int id;
};

struct file {
	struct address_space *f_mapping;
	int f_count;			/* VMAs (atomic) */
};

/* ---- anon_vma ---------------------------------------------------- */

struct anon_vma {
	struct anon_vma *root;		/* root of this anon_vma tree */
	struct rw_semaphore rwsem;	/* only the root's is used */
	spinlock_t lock;		/* era 2.6.33: anon_vma->lock, a spinlock
					 * taken inside the rwsem */
	/*
	 * refcount (atomic): one per anon_vma_chain linking a VMA to it, one
	 * per page whose ->mapping points at it (taken in
	 * page_add_new_anon_rmap, dropped when the frame is freed), one per
	 * child anon_vma (on its parent, and on the root).  Linux instead
	 * relies on SLAB_TYPESAFE_BY_RCU + folio_get_anon_vma(); pinning from
	 * the page keeps rmap walkers safe without RCU-typesafe memory.
	 */
	int refcount;
	struct anon_vma *parent;
	bool all_locks_taken;		/* root only: mm_take_all_locks() */
	struct list_head rb_root;	/* anon_vma_chain.same_anon_vma */
	int id;
};

/* Links a VMA to each anon_vma its pages may belong to (Linux's avc). */
struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma;	/* under mmap_lock */
	struct list_head same_anon_vma;	/* under anon_vma->root->rwsem */
};

/* ---- VMAs -------------------------------------------------------- */

#define VM_READ		0x00000001UL
#define VM_WRITE	0x00000002UL
#define VM_EXEC		0x00000004UL
#define VM_SHARED	0x00000008UL
#define VM_MAYREAD	0x00000010UL
#define VM_MAYWRITE	0x00000020UL
#define VM_MAYEXEC	0x00000040UL
#define VM_MAYSHARE	0x00000080UL
#define VM_PFNMAP	0x00000400UL
#define VM_IO		0x00004000UL
#define VM_DONTCOPY	0x00020000UL
#define VM_DONTEXPAND	0x00040000UL
#define VM_HUGEPAGE	0x20000000UL
#define VM_NOHUGEPAGE	0x40000000UL
#define VM_MERGEABLE	0x80000000UL

/* handle_mm_fault() results (Linux's values) and fault flags. */
#define VM_FAULT_OOM		0x000001
#define VM_FAULT_SIGBUS		0x000002
#define VM_FAULT_MAJOR		0x000004
#define VM_FAULT_HWPOISON	0x000010
#define VM_FAULT_SIGSEGV	0x000040
#define VM_FAULT_NOPAGE		0x000100
#define VM_FAULT_LOCKED		0x000200
#define VM_FAULT_RETRY		0x000400
#define VM_FAULT_FALLBACK	0x000800
#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | \
			 VM_FAULT_HWPOISON)

#define FAULT_FLAG_WRITE	0x01
#define FAULT_FLAG_REMOTE	0x80	/* not current's mm (a device, hmm) */

struct vm_fault;
struct vm_operations_struct {
	const char *name;
	/* returns VM_FAULT_* */
	int (*fault)(struct vm_fault *vmf);
	void (*open)(struct vm_area_struct *vma);
	void (*close)(struct vm_area_struct *vma);
};

struct vm_area_struct {
	unsigned long vm_start, vm_end;	/* [vm_start, vm_end) */
	struct mm_struct *vm_mm;
	unsigned long vm_flags;
	uint64_t vm_page_prot;		/* pte bits for a new mapping */
	unsigned long vm_pgoff;		/* in PAGE_SIZE units */
	struct file *vm_file;		/* shared memory object, or NULL */
	struct list_head shared;	/* mapping->i_mmap */
	struct anon_vma *anon_vma;	/* pages faulted here go to it */
	struct list_head anon_vma_chain; /* anon_vma_chain.same_vma */
	const struct vm_operations_struct *vm_ops;
	void *vm_private_data;
	/*
	 * era 2.6.33, under i_mmap_lock: the mapping's truncate_count once
	 * unmap_mapping_range() dealt with this VMA, or (page aligned) the
	 * address where its zap stopped for a lock break (restart_addr).
	 */
	unsigned long vm_truncate_count;
};

/* The state of one fault, as Linux passes it down the fault path. */
struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;		/* page aligned */
	unsigned long real_address;	/* the faulting address */
	unsigned int flags;		/* FAULT_FLAG_* */
	unsigned long pgoff;		/* linear_page_index(vma, address) */
	pmd_t *pmd;
	pte_t *pte;			/* valid while ptl is held */
	pte_t orig_pte;			/* the pte seen before taking ptl */
	spinlock_t *ptl;
	struct page *page;		/* ->fault() result, referenced */
};

static inline unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return !vma->vm_file && !vma->vm_ops;
}

static inline bool is_cow_mapping(unsigned long flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

/* Page offset of @address in the VMA's backing object. */
static inline unsigned long linear_page_index(const struct vm_area_struct *vma,
					      unsigned long address)
{
	return ((address - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
}

/* ---- mm_struct ---------------------------------------------------- */

struct mmu_notifier_subscriptions;

#define MMF_OOM_SKIP		0	/* mm->flags bits */
#define MMF_UNSTABLE		1
#define MMF_HAS_MMU_NOTIFIER	2
#define MMF_EXITING		3
#define MMF_VM_MERGEABLE	4	/* on KSM's mm list (ksm.c) */

struct mm_struct {
	struct rw_semaphore mmap_lock;
	spinlock_t page_table_lock;
	int mm_users;			/* atomic */
	int mm_count;			/* atomic */
	unsigned long flags;		/* MMF_*, atomic bit ops */
	struct pgtable *pgd;
	/* VMA set: sorted by vm_start, non-overlapping; under mmap_lock */
	struct vm_area_struct **vmas;
	int map_count, vmas_cap;
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	unsigned long write_protect_seq; /* odd while fork copies ptes */
	long rss_anon, rss_file;	/* atomic */
	unsigned long mmap_base;	/* top of the top-down mmap area */
	unsigned long nr_tlb_flushes;	/* atomic: flush_tlb_* calls, for tests */
	struct list_head mmlist;	/* all mms, for audits and KSM */
	/* PTE tables not linked into the tree (huge_memory.c), both under
	 * page_table_lock: one deposited per anon huge PMD (withdrawn by the
	 * split), and retired ones reused by later deposits; freed at exit
	 * only, so a lockless walker never sees a table freed */
	struct pgtable *pmd_huge_pte;
	struct pgtable *pte_spare;
	int id;
	char name[16];			/* "mm#3" */
};

#endif /* MMN_MM_TYPES_H */
