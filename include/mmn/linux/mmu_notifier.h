/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MMU notifiers, kernel-shaped: the header a secondary-MMU driver writes
 * against.  Semantics are Linux's (include/linux/mmu_notifier.h, 6.12) with
 * the legacy callbacks of the 6.1 and 2.6.33 eras kept so that legacy
 * drivers compile, and the range_start of Robin Holt's 2010 proposal (era
 * option 2.6.33+holt).  Which callbacks the primary MMU calls, and where,
 * depends on the run's era and its options (<mmn/era.h>).
 */
#ifndef MMN_LINUX_MMU_NOTIFIER_H
#define MMN_LINUX_MMU_NOTIFIER_H

#include <mmn/linux/compiler.h>
#include <mmn/linux/err.h>
#include <mmn/linux/interval_tree.h>
#include <mmn/linux/list.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/pgtable.h>
#include <mmn/rt.h>

struct mmu_notifier;
struct mmu_notifier_ops;
struct mmu_interval_notifier;

enum mmu_notifier_event {
#define MMU_NOTIFY_EVENT(e, s, rm) MMU_NOTIFY_##e,
#include <mmn/linux/mmu_notifier_events.def>
#undef MMU_NOTIFY_EVENT
	MMU_NOTIFY__COUNT
};

const char *mmu_notifier_event_name(enum mmu_notifier_event ev);
/* Does the event remove the mapping (vs. only lower protection)? */
bool mmu_notifier_event_removes(enum mmu_notifier_event ev);

#define MMU_NOTIFIER_RANGE_BLOCKABLE	(1 << 0)

/* [start, end): end is exclusive. */
struct mmu_notifier_range {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
	unsigned flags;
	enum mmu_notifier_event event;
	void *owner;
};

static inline bool
mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

static inline void mmu_notifier_range_init(struct mmu_notifier_range *range,
					   enum mmu_notifier_event event,
					   unsigned flags, struct mm_struct *mm,
					   unsigned long start, unsigned long end)
{
	range->event = event;
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->flags = flags;
	range->owner = NULL;
}

static inline void
mmu_notifier_range_init_owner(struct mmu_notifier_range *range,
			      enum mmu_notifier_event event, unsigned flags,
			      struct mm_struct *mm, unsigned long start,
			      unsigned long end, void *owner)
{
	mmu_notifier_range_init(range, event, flags, mm, start, end);
	range->owner = owner;
}

struct mmu_notifier_ops {
	/*
	 * release: the address space is going away.
	 * When: from mmu_notifier_unregister(), or from exit_mmap() before any
	 *   page is freed (first thing).  May run concurrently with the other
	 *   methods.  Era 2.6.33: under rcu_read_lock (must not sleep).
	 * Held: nothing of the mm (no mmap_lock).
	 * Must: tear down every secondary mapping and freeze the secondary MMU.
	 */
	void (*release)(struct mmu_notifier *subscription, struct mm_struct *mm);

	/*
	 * clear_flush_young: page aging, after the primary test-and-cleared
	 * the accessed bit.  Clear the secondary's bit and flush.
	 * Held: PT lock (atomic, must not sleep).  Returns accessed (OR-ed).
	 */
	int (*clear_flush_young)(struct mmu_notifier *subscription,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long end);
	/* clear_young: like clear_flush_young, may skip the flush. Atomic. */
	int (*clear_young)(struct mmu_notifier *subscription,
			   struct mm_struct *mm, unsigned long start,
			   unsigned long end);
	/* test_young: report accessed without clearing. Atomic. */
	int (*test_young)(struct mmu_notifier *subscription,
			  struct mm_struct *mm, unsigned long address);

	/*
	 * invalidate_range_start: the primary is about to change ptes in
	 * [range->start, range->end).
	 * When: before the pte change; every page in the range is still mapped
	 *   with refcount >= 1.
	 * Held: mmap_lock and/or rmap locks (never the PT lock).
	 * Sleep: may sleep iff mmu_notifier_range_blockable(range); if not
	 *   blockable and it would have to, return -EAGAIN (and only then).
	 * Must: on return no secondary mapping of the range may be used, and
	 *   until the matching invalidate_range_end none may be established.
	 * A notifier whose start can fail must not implement end.
	 */
	int (*invalidate_range_start)(struct mmu_notifier *subscription,
				      const struct mmu_notifier_range *range);
	/*
	 * invalidate_range_end: the pages were unmapped and possibly freed.
	 * Paired with a successful start.  Same locks; may sleep iff blockable.
	 */
	void (*invalidate_range_end)(struct mmu_notifier *subscription,
				     const struct mmu_notifier_range *range);

	/*
	 * arch_invalidate_secondary_tlbs: for TLBs that walk the CPU page
	 * tables (IOMMU SVA).  Called by the TLB-flush code with the PT lock
	 * held: must not sleep.  Cannot be combined with start/end
	 * (registration fails with -EINVAL).
	 */
	void (*arch_invalidate_secondary_tlbs)(struct mmu_notifier *subscription,
					       struct mm_struct *mm,
					       unsigned long start,
					       unsigned long end);

	/* mmu_notifier_get(): allocate one notifier per (ops, mm). */
	struct mmu_notifier *(*alloc_notifier)(struct mm_struct *mm);
	/* After the final put, from an SRCU callback: must not sleep. */
	void (*free_notifier)(struct mmu_notifier *subscription);

	/* ---- legacy callbacks (eras 6.1 and 2.6.33) ---- */

	/*
	 * invalidate_range (6.1): under the PT lock right after the pte was
	 * cleared (*_clear_flush_notify), from range_end and from the
	 * TLB-gather flush.  Atomic.
	 */
	void (*invalidate_range)(struct mmu_notifier *subscription,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long end);
	/*
	 * change_pte (6.1, 2.6.33): the pte at @address now maps a different
	 * page (set_pte_at_notify: KSM, COW).  Held: PT lock (atomic).
	 */
	void (*change_pte)(struct mmu_notifier *subscription,
			   struct mm_struct *mm, unsigned long address,
			   pte_t pte);
	/*
	 * invalidate_page (2.6.33): one page at @address was unmapped
	 * (ptep_clear_flush_notify: reclaim, migration, KSM).  Until it
	 * returns the secondary may still use the old page, which is not
	 * freed before the return.  Held: PT lock (atomic).
	 */
	void (*invalidate_page)(struct mmu_notifier *subscription,
				struct mm_struct *mm, unsigned long address);

	/*
	 * invalidate_range_start_atomic (era 2.6.33+holt only): Robin Holt's
	 * "[RFP-V2 3/3] Make mmu_notifier_invalidate_range_start able to
	 * sleep" (Feb 2010, never merged), whose range_start was
	 *   int (*invalidate_range_start)(struct mmu_notifier *mn,
	 *                                 struct mm_struct *mm,
	 *                                 unsigned long start,
	 *                                 unsigned long end, bool atomic);
	 * When: where invalidate_range_start is called, instead of it (a
	 *   notifier with only the range-shaped invalidate_range_start gets
	 *   that one, as KVM and GRU, which would just have returned 0).
	 * Held: @atomic true: the file's i_mmap_lock spinlock (truncate, hole
	 *   punch: unmap_mapping_range), and no mmap_lock of @mm; must not
	 *   sleep.  @atomic false: every other site; the list is walked under
	 *   SRCU, so it may sleep unless the site holds a spinlock.
	 * Returns: 0, every secondary mapping of [start, end) is gone.
	 *   Non-zero (only when @atomic): refused, nothing needs to have been
	 *   invalidated; the primary zaps nothing, calls invalidate_range_end,
	 *   drops i_mmap_lock, calls this again with @atomic false and then
	 *   invalidate_range_end outside the lock, and restarts the walk, which
	 *   calls this with @atomic true once more.  The results of all
	 *   notifiers are OR-ed.
	 * Registering a notifier with this op outside 2.6.33+holt fails with
	 * -EINVAL.
	 */
	int (*invalidate_range_start_atomic)(struct mmu_notifier *subscription,
					     struct mm_struct *mm,
					     unsigned long start,
					     unsigned long end, bool atomic);
};

struct mmu_notifier {
	struct hlist_node hlist;
	const struct mmu_notifier_ops *ops;
	struct mm_struct *mm;
	struct mmn_rcu_head rcu;
	unsigned int users;
};

/* Registration.  The caller must not hold mmap_lock; mm_users pinned. */
int mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm);
/* Caller holds mmap_lock for write. */
int __mmu_notifier_register(struct mmu_notifier *subscription, struct mm_struct *mm);
/* Calls ->release if still hashed, unhashes, waits for callbacks to end. */
void mmu_notifier_unregister(struct mmu_notifier *subscription, struct mm_struct *mm);

struct mmu_notifier *mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
					     struct mm_struct *mm);
struct mmu_notifier *mmu_notifier_get(const struct mmu_notifier_ops *ops,
				      struct mm_struct *mm);
void mmu_notifier_put(struct mmu_notifier *subscription);
/* Wait for every pending free_notifier (module exit). */
void mmu_notifier_synchronize(void);

/* ------------------------------------------------------------------ */
/* Interval notifiers.                                                 */

struct mmu_interval_notifier_ops {
	/*
	 * invalidate: the primary is about to change ptes overlapping the
	 * subscription.
	 * When: from invalidate_range_start (and with RELEASE at exit).
	 * Held: mmap_lock and/or rmap locks.
	 * Sleep: may sleep iff blockable; return false only when it would
	 *   have to sleep and the range is not blockable.
	 * Must: call mmu_interval_set_seq(sub, cur_seq) under the driver lock
	 *   that read_retry() is checked under, and on return no SPTE of the
	 *   range may be used.
	 */
	bool (*invalidate)(struct mmu_interval_notifier *interval_sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq);
};

/*
 * [start, last]: the interval tree stores an inclusive last address.
 * start/last are the driver-visible copy of interval_tree.start/.last, set
 * by mmu_interval_notifier_insert() and constant until remove.
 */
struct mmu_interval_notifier {
	unsigned long start;
	unsigned long last;
	const struct mmu_interval_notifier_ops *ops;
	struct mm_struct *mm;
	struct hlist_node deferred_item;
	unsigned long invalidate_seq;
	/* interval tree linkage, private to the notifier core */
	struct interval_tree_node interval_tree;
};

int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops);
int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *interval_sub,
					struct mm_struct *mm, unsigned long start,
					unsigned long length,
					const struct mmu_interval_notifier_ops *ops);
void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub);

unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub);

static inline void
mmu_interval_set_seq(struct mmu_interval_notifier *interval_sub,
		     unsigned long cur_seq)
{
	WRITE_ONCE(interval_sub->invalidate_seq, cur_seq);
}

/* Under the driver lock that invalidate() takes: true = collided, retry. */
static inline bool
mmu_interval_read_retry(struct mmu_interval_notifier *interval_sub,
			unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

/* Lockless hint: true is reliable, false is not. */
static inline bool
mmu_interval_check_retry(struct mmu_interval_notifier *interval_sub,
			 unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

/* ------------------------------------------------------------------ */
/* Entry points used by the primary MMU (mm/).                         */

void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range);
int __must_check
mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range);
void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range);
/*
 * Era 6.1 only: range_end without the ->invalidate_range call that
 * range_end makes in that era, for callers that already called
 * invalidate_range under the PT lock (wp_page_copy, the *_clear_flush_notify
 * users).  In the other eras it is mmu_notifier_invalidate_range_end().
 */
void mmu_notifier_invalidate_range_only_end(struct mmu_notifier_range *range);
void mmu_notifier_arch_invalidate_secondary_tlbs(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long end);
void mmu_notifier_release(struct mm_struct *mm);
int mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start,
				   unsigned long end);
int mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start,
			     unsigned long end);
int mmu_notifier_test_young(struct mm_struct *mm, unsigned long address);
/* Legacy entry points: called by mm/ only in the eras that have them. */
void mmu_notifier_invalidate_range(struct mm_struct *mm, unsigned long start,
				   unsigned long end);
void mmu_notifier_change_pte(struct mm_struct *mm, unsigned long address,
			     pte_t pte);
void mmu_notifier_invalidate_page(struct mm_struct *mm, unsigned long address);
/*
 * Era 2.6.33+holt only: range_start with Robin Holt's @atomic (true only
 * under i_mmap_lock, the truncate path).  Returns the OR of the notifiers'
 * results; the caller calls mmu_notifier_invalidate_range_end() in either
 * case.  In that era mmu_notifier_invalidate_range_start() is this with
 * @atomic false, its result ignored.
 */
int mmu_notifier_invalidate_range_start_atomic(struct mmu_notifier_range *range,
					       bool atomic);
bool mm_has_notifiers(struct mm_struct *mm);
/* Free the per-mm subscriptions (from __mmdrop). */
void mmu_notifier_subscriptions_destroy(struct mm_struct *mm);

#endif
