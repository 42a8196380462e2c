// SPDX-License-Identifier: GPL-2.0
/*
 * The mmu_notifier core (<mmn/linux/mmu_notifier.h>), Linux's algorithms
 * (mm/mmu_notifier.c, 6.12) rewritten for the lab.
 *
 * Two kinds of subscriber hang off mm->notifier_subscriptions:
 *
 *  - classic subscriptions (struct mmu_notifier) on an hlist that is
 *    walked under one global SRCU, so that callbacks may sleep; list
 *    updates take subscriptions->lock; unregister waits a grace period.
 *  - interval subscriptions (struct mmu_interval_notifier) in a per-mm
 *    interval tree, with the invalidate_seq collision-retry protocol
 *    described above mmu_interval_read_begin().
 *
 * Era switch points (<mmn/era.h>), all marked "era:" below:
 *  - 2.6.33: the list is walked under rcu_read_lock (every callback is
 *    atomic), there is no blockable flag, no might_sleep/lockdep map in
 *    range_start, release unhashes before calling, change_pte falls back to
 *    invalidate_page, and there are no interval notifiers.
 *  - 6.1: range_end also calls ->invalidate_range; change_pte and
 *    invalidate_range exist.
 *  - 6.12: arch_invalidate_secondary_tlbs; no legacy callbacks.
 *  - 2.6.33+holt (era option, Robin Holt's RFP-V2, <mmn/era.h>): as
 *    2.6.33, but the list is walked under SRCU only (1/3: callbacks may
 *    sleep where the call site holds no spinlock), and range_start takes
 *    `bool atomic` and returns int (3/3): the primary calls
 *    mmu_notifier_invalidate_range_start_atomic() (atomic only on the
 *    truncate path, under i_mmap_lock), every other site passes false.
 * The lab keeps a global SRCU in every era; in 2.6.33 each read section
 * also holds rcu_read_lock, so readers are atomic as they were and the
 * SRCU grace period stands in for synchronize_rcu().  (The RFP put one
 * srcu_struct in each mm's mmu_notifier_mm; one global SRCU gives the
 * same guarantees.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <mmn/era.h>
#include <mmn/report.h>
#include <mmn/linux/interval_tree.h>
#include <mmn/linux/lockdep.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/rcupdate.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/srcu.h>
#include <mmn/linux/wait.h>

#include "mm/mm_types.h"
#include "notifier/internal.h"

mmn_notifier_hook_t __mmn_notifier_hook;

/*
 * The fake lock that orders "anything a callback may take" against the
 * callers of range_start, range_end, read_begin and interval remove
 * (Linux's __mmu_notifier_invalidate_range_start_map).
 */
struct mmn_lockdep_map __mmu_notifier_invalidate_range_start_map = {
	.name = "mmu_notifier_invalidate_range_start",
};

/* ---- the global SRCU ---------------------------------------------- */

/*
 * One SRCU for every mm's list (Linux: DEFINE_STATIC_SRCU(srcu)).  It is
 * initialised on first use, since the runtime must be up first, and again
 * on first use under a different back end: its waitpoint belongs to the back
 * end that initialised it.  Between runs it is quiescent (no reader, no
 * callback: a run ends with mmu_notifier_synchronize() or without puts), so
 * re-initialising it loses nothing.  It is never torn down, as a static
 * srcu_struct is not.
 */
static struct srcu_struct mn_srcu_struct;
static int mn_srcu_tag;		/* 1 + the back end it was initialised for */
static pthread_mutex_t mn_srcu_init_lock = PTHREAD_MUTEX_INITIALIZER;

static struct srcu_struct *mn_srcu(void)
{
	int want = (int)mmn_rt_config()->backend + 1;

	if (likely(__atomic_load_n(&mn_srcu_tag, __ATOMIC_ACQUIRE) == want))
		return &mn_srcu_struct;
	/* one-time set-up, outside the lab's model of locking */
	pthread_mutex_lock(&mn_srcu_init_lock);
	if (mn_srcu_tag != want) {
		mmn_init_srcu_struct(&mn_srcu_struct.s, "mmu_notifier srcu");
		__atomic_store_n(&mn_srcu_tag, want, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mn_srcu_init_lock);
	return &mn_srcu_struct;
}

/* A read-side section over the subscription list. */
struct mn_read {
	int idx;
	bool rcu;
};

static struct mn_read mn_read_lock(void)
{
	struct mn_read r;

	r.idx = srcu_read_lock(mn_srcu());
	/* era: 2.6.33 walks the list under rcu_read_lock: nothing may sleep;
	 * +holt (RFP 1/3): srcu_read_lock only */
	r.rcu = mmn_era == MMN_ERA_2_6_33 && !mmn_era_holt();
	if (r.rcu)
		rcu_read_lock();
	return r;
}

static void mn_read_unlock(struct mn_read r)
{
	if (r.rcu)
		rcu_read_unlock();
	srcu_read_unlock(mn_srcu(), r.idx);
}

static void mn_synchronize(void)
{
	synchronize_srcu(mn_srcu());
}

/* ---- per-mm state -------------------------------------------------- */

/*
 * The state of one mm's subscriptions, allocated at the first registration
 * and freed from __mmdrop (mmu_notifier_subscriptions_destroy).
 *
 * Interval tree states, from invalidate_seq and active_invalidate_ranges:
 *  - idle: seq even; the tree may be changed directly (under @lock).
 *  - partially excluded: active_invalidate_ranges > 0 but seq even: the
 *    running ranges hit no subscription; inserts go straight into the tree
 *    (and make seq odd so the new subscription waits them out).
 *  - fully excluded: seq odd: an invalidation is walking the tree without
 *    @lock, so inserts and removes are queued on @deferred_list and applied
 *    by the range_end that brings active_invalidate_ranges to 0, which also
 *    makes seq even again and wakes @wq.
 */
struct mmu_notifier_subscriptions {
	/* classic subscriptions; RCU-style list, written under @lock */
	struct hlist_head list;
	/* an interval subscription was ever inserted: walk the tree */
	bool has_itree;
	/* protects everything below and list updates */
	spinlock_t lock;
	unsigned long invalidate_seq;	/* odd: fully excluded; atomic reads */
	unsigned long active_invalidate_ranges;
	struct interval_tree_root itree;
	wait_queue_head_t wq;		/* read_begin / remove wait for seq */
	struct hlist_head deferred_list;	/* mmu_interval_notifier.deferred_item */
};

static inline struct mmu_notifier_subscriptions *mn_subs(struct mm_struct *mm)
{
	/* pairs with the release store in __mmu_notifier_register() */
	return __atomic_load_n(&mm->notifier_subscriptions, __ATOMIC_ACQUIRE);
}

bool mm_has_notifiers(struct mm_struct *mm)
{
	return unlikely(mn_subs(mm) != NULL);
}

static inline unsigned long mn_seq(struct mmu_notifier_subscriptions *subs)
{
	return __atomic_load_n(&subs->invalidate_seq, __ATOMIC_RELAXED);
}

static inline void mn_set_seq(struct mmu_notifier_subscriptions *subs,
			      unsigned long seq)
{
	__atomic_store_n(&subs->invalidate_seq, seq, __ATOMIC_RELAXED);
}

static inline bool mn_has_itree(struct mmu_notifier_subscriptions *subs)
{
	return __atomic_load_n(&subs->has_itree, __ATOMIC_ACQUIRE);
}

static inline int mn_mm_users(struct mm_struct *mm)
{
	return __atomic_load_n(&mm->mm_users, __ATOMIC_RELAXED);
}

/* ---- event table --------------------------------------------------- */

static const struct {
	const char *name;
	bool removes;
} mn_events[] = {
#define MMU_NOTIFY_EVENT(e, s, rm) [MMU_NOTIFY_##e] = { s, rm },
#include <mmn/linux/mmu_notifier_events.def>
#undef MMU_NOTIFY_EVENT
};

const char *mmu_notifier_event_name(enum mmu_notifier_event ev)
{
	return (unsigned)ev < MMU_NOTIFY__COUNT ? mn_events[ev].name : "?";
}

bool mmu_notifier_event_removes(enum mmu_notifier_event ev)
{
	return (unsigned)ev < MMU_NOTIFY__COUNT ? mn_events[ev].removes : true;
}

static const char *const mn_callback_names[] = {
#define X(e, s) [MN_CB_##e] = s,
	MN_CALLBACKS(X)
#undef X
};

const char *__mmn_notifier_callback_name(enum mn_callback cb)
{
	return (unsigned)cb < MN_CB__COUNT ? mn_callback_names[cb] : "?";
}

/* ---- reports ------------------------------------------------------- */

/* %pS: the symbol if the dynamic symbol table has it exactly, else the address. */
static const char *mn_sym(const void *fn, char *buf, size_t size)
{
	Dl_info info;

	if (dladdr(fn, &info) && info.dli_sname && info.dli_saddr == fn)
		snprintf(buf, size, "%s", info.dli_sname);
	else
		snprintf(buf, size, "%p", fn);
	return buf;
}

static void mn_report_range(struct mmn_buf *b,
			    const struct mmu_notifier_range *range,
			    const void *sub)
{
	mmn_buf_printf(b, "  subscription %p, %s [%#lx, %#lx) event %s, %s\n",
		       sub, mmn_mm_name(range->mm), range->start, range->end,
		       mmu_notifier_event_name(range->event),
		       mmu_notifier_range_blockable(range) ? "blockable"
							   : "non-blockable");
}

/*
 * A failed invalidate_range_start (Linux: pr_info, and a WARN unless the
 * range is non-blockable and the error is -EAGAIN).  Only the WARN cases
 * are violations.  era: 2.6.33 start returns nothing, so any error is one.
 */
static void mn_start_failed(struct mmu_notifier *sub,
			    const struct mmu_notifier_range *range, int err)
{
	bool blockable = mmu_notifier_range_blockable(range);
	struct mmn_buf b = { 0 };
	char sym[128];

	if (mmn_era != MMN_ERA_2_6_33 && !blockable && err == -EAGAIN)
		return;
	mmn_buf_printf(&b, "%s callback failed with %d in %sblockable context.\n",
		       mn_sym((const void *)sub->ops->invalidate_range_start,
			      sym, sizeof(sym)),
		       err, blockable ? "" : "non-");
	mn_report_range(&b, range, sub);
	if (mmn_era_holt())
		mmn_buf_printf(&b, "  era 2.6.33+holt: only invalidate_range_start_atomic may fail, and only when atomic\n");
	else if (mmn_era == MMN_ERA_2_6_33)
		mmn_buf_printf(&b, "  era 2.6.33: invalidate_range_start cannot fail\n");
	else if (blockable)
		mmn_buf_printf(&b, "  only a non-blockable range may fail, and only with -EAGAIN\n");
	else
		mmn_buf_printf(&b, "  a non-blockable range may fail only with -EAGAIN (%d)\n",
			       -EAGAIN);
	mmn_report(MMN_V_NONBLOCK, NULL, "%s", b.s);
	mmn_buf_free(&b);
}

/*
 * Linux WARNs when a notifier whose start failed implements end: on any
 * failure every end is called, so that notifier gets an end for a start
 * that did not succeed.
 */
static void mn_start_failed_with_end(struct mmu_notifier *sub,
				     const struct mmu_notifier_range *range,
				     int err)
{
	struct mmn_buf b = { 0 };
	char sym[128];

	mmn_buf_printf(&b, "%s failed with %d but its notifier implements invalidate_range_end\n",
		       mn_sym((const void *)sub->ops->invalidate_range_start,
			      sym, sizeof(sym)), err);
	mn_report_range(&b, range, sub);
	mmn_buf_printf(&b, "  a failed start is followed by invalidate_range_end for every\n"
		       "  subscription, so a start that can fail must not have an end\n");
	mmn_report(MMN_V_UNBALANCED_RANGE, NULL, "%s", b.s);
	mmn_buf_free(&b);
}

/* An interval invalidate returned false where it may not. */
static void mn_interval_failed(struct mmu_interval_notifier *isub,
			       const struct mmu_notifier_range *range)
{
	struct mmn_buf b = { 0 };
	char sym[128];

	mmn_buf_printf(&b, "%s returned false in blockable context.\n",
		       mn_sym((const void *)isub->ops->invalidate, sym,
			      sizeof(sym)));
	mn_report_range(&b, range, isub);
	mmn_buf_printf(&b, "  interval [%#lx, %#lx]: only a non-blockable range may fail\n",
		       isub->start, isub->last);
	mmn_report(MMN_V_NONBLOCK, NULL, "%s", b.s);
	mmn_buf_free(&b);
}

/* The primary MMU called a legacy entry point its era does not have. */
static bool mn_era_has(const char *what, bool ok)
{
	if (likely(ok))
		return true;
	mmn_report(MMN_V_LAB_BUG, what,
		   "mm called %s, which era %s does not have\n", what,
		   mmn_era_name(mmn_era));
	return false;
}

/* ---- interval tree invalidation ------------------------------------ */

static bool mn_itree_is_invalidating(struct mmu_notifier_subscriptions *subs)
{
	lockdep_assert_held(&subs->lock);
	return mn_seq(subs) & 1;
}

static struct mmu_interval_notifier *mn_itree_entry(struct interval_tree_node *node)
{
	return node ? container_of(node, struct mmu_interval_notifier,
				   interval_tree) : NULL;
}

/*
 * Open an invalidation of @range: count it, and if it hits a subscription
 * make seq odd (the tree is frozen until the last range ends).  Returns the
 * first hit and, in *seq, the value to hand to the invalidate callbacks.
 */
static struct mmu_interval_notifier *
mn_itree_inv_start_range(struct mmu_notifier_subscriptions *subs,
			 const struct mmu_notifier_range *range,
			 unsigned long *seq)
{
	struct interval_tree_node *node;

	spin_lock(&subs->lock);
	subs->active_invalidate_ranges++;
	node = interval_tree_iter_first(&subs->itree, range->start,
					range->end - 1);
	if (node)
		mn_set_seq(subs, mn_seq(subs) | 1);
	*seq = mn_seq(subs);
	spin_unlock(&subs->lock);
	return mn_itree_entry(node);
}

/* Lockless: the tree cannot change while seq is odd. */
static struct mmu_interval_notifier *
mn_itree_inv_next(struct mmu_interval_notifier *isub,
		  const struct mmu_notifier_range *range)
{
	return mn_itree_entry(interval_tree_iter_next(&isub->interval_tree,
						      range->start,
						      range->end - 1));
}

/*
 * Tell the observer hook that @range ended for the interval subscriptions
 * it overlaps (they have no end callback).  Before mn_itree_inv_end(): the
 * tree then still holds every subscription the range called.
 */
static void mn_itree_hook_end(struct mmu_notifier_subscriptions *subs,
			      const struct mmu_notifier_range *range)
{
	mmn_notifier_hook_t hook = __atomic_load_n(&__mmn_notifier_hook,
						   __ATOMIC_ACQUIRE);
	struct interval_tree_node *node;

	if (likely(!hook))
		return;
	spin_lock(&subs->lock);
	for (node = interval_tree_iter_first(&subs->itree, range->start,
					     range->end - 1);
	     node; node = interval_tree_iter_next(node, range->start,
						   range->end - 1)) {
		struct mn_call c = MN_CALL_INIT(INTERVAL_END,
						mn_itree_entry(node), range->mm,
						range->start, range->end, range);

		hook(&c, true);
	}
	spin_unlock(&subs->lock);
}

/*
 * Close one invalidation.  The last one of a fully excluded period makes
 * seq even, applies the deferred inserts and removes, and wakes the
 * waiters of read_begin and remove.
 */
static void mn_itree_inv_end(struct mmu_notifier_subscriptions *subs)
{
	struct mmu_interval_notifier *isub;
	struct hlist_node *next;

	spin_lock(&subs->lock);
	/*
	 * An end without a start: the caller held neither the mmap_lock nor
	 * an rmap lock across start..end, so has_itree changed in between
	 * (registration takes all of them), or it called end twice.
	 */
	if (WARN_ON(!subs->active_invalidate_ranges)) {
		spin_unlock(&subs->lock);
		return;
	}
	if (--subs->active_invalidate_ranges ||
	    !mn_itree_is_invalidating(subs)) {
		spin_unlock(&subs->lock);
		return;
	}

	/* Make invalidate_seq even: pairs with the odd value read_begin saw. */
	mn_set_seq(subs, mn_seq(subs) + 1);

	/*
	 * The tree is ours again.  A deferred item not in the tree is a
	 * pending insert; one in the tree is a pending remove (remove() is
	 * waiting for the seq change to return).
	 */
	hlist_for_each_entry_safe(isub, next, &subs->deferred_list,
				  deferred_item) {
		if (interval_tree_node_empty(&isub->interval_tree))
			interval_tree_insert(&isub->interval_tree, &subs->itree);
		else
			interval_tree_remove(&isub->interval_tree, &subs->itree);
		hlist_del_init(&isub->deferred_item);
	}
	spin_unlock(&subs->lock);

	wake_up_all(&subs->wq);
}

/*
 * mmu_interval_read_begin - begin a read-side critical section against a VA
 * range.
 *
 * The collision-retry protocol, between the mm side (an invalidation of a
 * range overlapping the subscription) and the driver's fault path:
 *
 *   states of the mm:  seq even = no invalidation hitting a subscription
 *                      seq odd  = one is running; its value was handed to
 *                                 every invalidate() it called
 *
 *   mm side (range_start .. range_end)      driver fault path
 *   ----------------------------------      ---------------------------------
 *                                           seq = mmu_interval_read_begin(sub)
 *                                             (sleeps while sub's seq == the
 *                                              mm's odd seq: an invalidation
 *                                              that hit sub is still running)
 *   spin_lock(subs->lock)
 *   mm seq |= 1 (odd)
 *   spin_unlock(subs->lock)
 *   sub->ops->invalidate(sub, range, cur_seq)
 *     driver_lock()
 *     mmu_interval_set_seq(sub, cur_seq)
 *     zap device ptes in the range
 *     driver_unlock()
 *                                           look up / fault pages (no driver
 *                                             lock; may see old or new ptes)
 *                                           driver_lock()
 *                                           if (mmu_interval_read_retry(sub, seq))
 *                                                   unlock and start again
 *                                           program the device pte
 *                                           driver_unlock()
 *   ... primary ptes change ...
 *   range_end: spin_lock, mm seq++ (even),
 *     deferred tree updates, spin_unlock,
 *     wake_up_all(wq)
 *
 * Whichever of set_seq and the fault path's driver_lock section comes
 * first, the driver lock orders them: either the fault path sees the new
 * sub seq and retries, or its device pte is installed before invalidate()
 * takes the lock and is zapped by it.  A fault path that begins after
 * invalidate() returned and before range_end reads sub seq == the odd mm
 * seq and sleeps in read_begin until range_end, so it cannot map a page
 * the primary is about to replace.  read_retry needs no barrier of its
 * own: both sides hold the driver lock.
 *
 * A new subscription starts at mm seq - 1: odd, and from the past, so it
 * never equals an odd mm seq of a later invalidation and its first
 * read_begin does not wait.  Inserted during an invalidation it starts at
 * the current odd seq instead, so its first read_begin waits that
 * invalidation out (it may cover the new interval without having called
 * it).
 */
unsigned long mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub)
{
	struct mmu_notifier_subscriptions *subs =
		mn_subs(interval_sub->mm);
	unsigned long seq;
	bool is_invalidating;

	/*
	 * The subscription's seq equals the mm's odd seq only while the
	 * invalidation that set it is still running: seq was written by
	 * set_seq() from that invalidation's cur_seq, and the mm seq moves
	 * to even at its end.  Read both under the lock so the comparison
	 * is against one moment of the mm.
	 */
	spin_lock(&subs->lock);
	seq = READ_ONCE(interval_sub->invalidate_seq);
	is_invalidating = seq == mn_seq(subs);
	spin_unlock(&subs->lock);

	/*
	 * The callers' locks must be ordered against whatever invalidate()
	 * takes: this may wait for an invalidation.
	 */
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
	if (is_invalidating)
		wait_event(subs->wq, mn_seq(subs) != seq);

	/*
	 * Whatever the caller reads of the primary page tables from here on
	 * is checked by read_retry() under the driver lock.
	 */
	return seq;
}

/* Every interval subscription learns that the mm is going away. */
static void mn_itree_release(struct mmu_notifier_subscriptions *subs,
			     struct mm_struct *mm)
{
	struct mmu_notifier_range range = {
		.flags = MMU_NOTIFIER_RANGE_BLOCKABLE,
		.event = MMU_NOTIFY_RELEASE,
		.mm = mm,
		.start = 0,
		.end = ULONG_MAX,
	};
	struct mmu_interval_notifier *isub;
	unsigned long cur_seq;

	for (isub = mn_itree_inv_start_range(subs, &range, &cur_seq); isub;
	     isub = mn_itree_inv_next(isub, &range)) {
		struct mn_call c = MN_CALL_INIT(INTERVAL_INVALIDATE, isub, mm,
						range.start, range.end, &range);

		/*
		 * Held: nothing of the mm (exit_mmap, mm_users == 0).
		 * May sleep (blockable); must not fail.
		 */
		MN_CALL(&c, isub->ops->invalidate(isub, &range, cur_seq));
		if (!c.ret)
			mn_interval_failed(isub, &range);
	}
	mn_itree_hook_end(subs, &range);
	mn_itree_inv_end(subs);
}

/*
 * Returns 0, or -EAGAIN if a subscription could not invalidate a
 * non-blockable range; the invalidation is then closed here and the caller
 * must not call range_end.
 */
static int mn_itree_invalidate(struct mmu_notifier_subscriptions *subs,
			       const struct mmu_notifier_range *range)
{
	bool blockable = mmu_notifier_range_blockable(range);
	struct mmu_interval_notifier *isub;
	unsigned long cur_seq;

	for (isub = mn_itree_inv_start_range(subs, range, &cur_seq); isub;
	     isub = mn_itree_inv_next(isub, range)) {
		struct mn_call c = MN_CALL_INIT(INTERVAL_INVALIDATE, isub,
						range->mm, range->start,
						range->end, range);

		/*
		 * Held: the caller's mmap_lock and/or rmap locks; no notifier
		 * lock (the tree is frozen by the odd seq).
		 * Sleep: iff blockable.  Linux does not wrap this call in
		 * non_block_start(); the lab does, so that sleeping here on a
		 * non-blockable range is reported like it is for the classic
		 * callbacks.
		 */
		if (!blockable)
			non_block_start();
		MN_CALL(&c, isub->ops->invalidate(isub, range, cur_seq));
		if (!blockable)
			non_block_end();
		if (!c.ret) {
			if (blockable) {
				mn_interval_failed(isub, range);
				continue;
			}
			goto out_would_block;
		}
	}
	return 0;

out_would_block:
	/*
	 * The caller will not call range_end for a failed start: close the
	 * invalidation here.  Subscriptions already invalidated got a new seq
	 * and will retry; nothing else changes.
	 */
	mn_itree_hook_end(subs, range);
	mn_itree_inv_end(subs);
	return -EAGAIN;
}

/* ---- classic list invalidation ------------------------------------- */

static void mn_call_end(struct mmu_notifier *sub,
			const struct mmu_notifier_range *range)
{
	bool blockable = mmu_notifier_range_blockable(range);
	bool holt = mmn_era_holt();
	struct mn_call c = MN_CALL_INIT(INVALIDATE_RANGE_END, sub, range->mm,
					range->start, range->end, range);

	/*
	 * Held: the caller's mmap_lock and/or rmap locks, the notifier SRCU
	 * read lock (era 2.6.33: rcu_read_lock, atomic).
	 * Sleep: iff blockable (non_block_start() otherwise).  Era
	 * 2.6.33+holt has no blockable flag and no RCU: end may sleep unless
	 * the caller's context is atomic (the TLB gather, i_mmap_lock).
	 */
	if (!blockable && !holt)
		non_block_start();
	MN_CALL_VOID(&c, sub->ops->invalidate_range_end(sub, range));
	if (!blockable && !holt)
		non_block_end();
}

static int mn_hlist_invalidate_range_start(struct mmu_notifier_subscriptions *subs,
					   struct mmu_notifier_range *range)
{
	bool blockable = mmu_notifier_range_blockable(range);
	struct mmu_notifier *sub;
	struct mn_read rs;
	int ret = 0;

	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		const struct mmu_notifier_ops *ops = sub->ops;
		struct mn_call c = MN_CALL_INIT(INVALIDATE_RANGE_START, sub,
						range->mm, range->start,
						range->end, range);

		if (!ops->invalidate_range_start)
			continue;
		/*
		 * Held: the caller's mmap_lock and/or rmap locks, never the PT
		 * lock; the notifier SRCU read lock (era 2.6.33:
		 * rcu_read_lock, atomic).
		 * Sleep: iff blockable (non_block_start() otherwise); may fail
		 * with -EAGAIN only when not blockable.
		 */
		if (!blockable)
			non_block_start();
		MN_CALL(&c, ops->invalidate_range_start(sub, range));
		if (!blockable)
			non_block_end();
		if (c.ret) {
			mn_start_failed(sub, range, (int)c.ret);
			if (ops->invalidate_range_end)
				mn_start_failed_with_end(sub, range, (int)c.ret);
			ret = (int)c.ret;
		}
	}

	if (ret) {
		/*
		 * The caller does not call range_end after a failed start,
		 * and no notifier can tell whether its own start failed: end
		 * every subscription that has an end, so that those whose
		 * start succeeded are balanced (Linux since 5.13).  This
		 * includes a failing one that (wrongly) has an end.  Linux
		 * does not wrap these in non_block_start(); the lab does, as
		 * range_end does.
		 */
		mn_hlist_for_each(sub, &subs->list)
			if (sub->ops->invalidate_range_end)
				mn_call_end(sub, range);
	}
	mn_read_unlock(rs);
	return ret;
}

/*
 * era 2.6.33+holt: a notifier refused a range_start with atomic false,
 * where nobody retries (RFP 3/3: only the truncate path under i_mmap_lock
 * passes true, and only it retries).
 */
static void mn_holt_refused_unlocked(struct mmu_notifier *sub,
				     const struct mmu_notifier_range *range,
				     int ret)
{
	struct mmn_buf b = { 0 };
	char sym[128];

	mmn_buf_printf(&b, "%s returned %d with atomic == false.\n",
		       mn_sym((const void *)sub->ops->invalidate_range_start_atomic,
			      sym, sizeof(sym)), ret);
	mn_report_range(&b, range, sub);
	mmn_buf_printf(&b, "  era 2.6.33+holt: only an atomic range_start (truncate, under\n"
		       "  i_mmap_lock) may refuse; the unlocked one must invalidate\n");
	mmn_report(MMN_V_NONBLOCK, NULL, "%s", b.s);
	mmn_buf_free(&b);
}

/*
 * era 2.6.33+holt: range_start with Robin Holt's @atomic.  Every notifier
 * is called, refused or not, and the results are OR-ed; the caller calls
 * range_end in either case (RFP 3/3 unmap_vmas(): on a refusal it skips
 * the zap and goes to the range_end at its out: label).
 */
static int mn_hlist_invalidate_range_start_holt(struct mmu_notifier_subscriptions *subs,
						struct mmu_notifier_range *range,
						bool atomic)
{
	struct mmu_notifier *sub;
	struct mn_read rs;
	int ret = 0;

	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		const struct mmu_notifier_ops *ops = sub->ops;
		struct mn_call c = MN_CALL_INIT(INVALIDATE_RANGE_START, sub,
						range->mm, range->start,
						range->end, range);

		/*
		 * Held: the caller's locks -- atomic: i_mmap_lock (a spinlock),
		 * no mmap_lock of range->mm; otherwise mmap_lock and/or none
		 * (the unlocked retry of the truncate path) -- and the SRCU
		 * read lock, no rcu_read_lock (RFP 1/3).
		 * Sleep: wherever the caller's context is not atomic, whatever
		 * @atomic says (the lab's atomic-context tracking decides).
		 */
		if (ops->invalidate_range_start_atomic) {
			MN_CALL(&c, ops->invalidate_range_start_atomic(sub,
					range->mm, range->start, range->end,
					atomic));
			if (c.ret && !atomic)
				mn_holt_refused_unlocked(sub, range, (int)c.ret);
			else
				ret |= (int)c.ret;
		} else if (ops->invalidate_range_start) {
			/* a driver of the old shape: it cannot refuse */
			MN_CALL(&c, ops->invalidate_range_start(sub, range));
			if (c.ret)
				mn_start_failed(sub, range, (int)c.ret);
		}
	}
	mn_read_unlock(rs);
	return ret;
}

static int __mn_invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(range->mm);
	int ret;

	if (mn_has_itree(subs)) {
		ret = mn_itree_invalidate(subs, range);
		if (ret)
			return ret;
	}
	/*
	 * As in Linux, an hlist failure leaves an itree invalidation opened
	 * above open: the caller will not call range_end, so seq stays odd
	 * until some later range_end brings active_invalidate_ranges to 0,
	 * which can no longer happen.  Only the OOM reaper calls the
	 * non-blockable start, with both kinds of subscriber on one mm.
	 */
	if (!mn_hlist_empty(&subs->list))
		return mn_hlist_invalidate_range_start(subs, range);
	return 0;
}

void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	if (mmn_era == MMN_ERA_2_6_33) {
		/*
		 * era: no blockable flag and no sleep checks of the caller:
		 * start may be called in atomic context (unmap_vmas inside
		 * the per-CPU TLB gather).  Callbacks see a non-blockable
		 * range because under rcu_read_lock none may sleep.
		 */
		if (mm_has_notifiers(range->mm)) {
			range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
			/* +holt: every site but truncate passes atomic = 0
			 * and ignores the result (RFP 3/3) */
			if (mmn_era_holt())
				mn_hlist_invalidate_range_start_holt(
					mn_subs(range->mm), range, false);
			else
				__mn_invalidate_range_start(range);
		}
		return;
	}
	might_sleep();
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	if (mm_has_notifiers(range->mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		/* failures of a blockable range were reported; Linux goes on */
		__mn_invalidate_range_start(range);
	}
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
}

int mmu_notifier_invalidate_range_start_atomic(struct mmu_notifier_range *range,
					       bool atomic)
{
	/* era: only Robin Holt's proposal had it */
	if (!mn_era_has("mmu_notifier_invalidate_range_start_atomic",
			mmn_era_holt()))
		return 0;
	if (!mm_has_notifiers(range->mm))
		return 0;
	/* no blockable flag in 2010: @atomic is the only hint */
	range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
	return mn_hlist_invalidate_range_start_holt(mn_subs(range->mm), range,
						    atomic);
}

int mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	int ret = 0;

	/* era: the non-blocking form came with the blockable flag (4.19) */
	if (!mn_era_has("mmu_notifier_invalidate_range_start_nonblock",
			mmn_era != MMN_ERA_2_6_33))
		return 0;
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	if (mm_has_notifiers(range->mm)) {
		range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
		ret = __mn_invalidate_range_start(range);
	}
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
	return ret;
}

static void mn_hlist_invalidate_end(struct mmu_notifier_subscriptions *subs,
				    struct mmu_notifier_range *range,
				    bool only_end)
{
	struct mmu_notifier *sub;
	struct mn_read rs;

	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		/*
		 * era: 6.1 also invalidates secondary TLBs from range_end, so
		 * that a subsystem with invalidate_range needs no end.
		 * Held: the caller's mmap_lock and/or rmap locks, the SRCU
		 * read lock; not the PT lock.  Must not sleep (the same
		 * callback runs under the PT lock elsewhere).
		 */
		if (mmn_era == MMN_ERA_6_1 && !only_end &&
		    sub->ops->invalidate_range) {
			struct mn_call c = MN_CALL_INIT(INVALIDATE_RANGE, sub,
							range->mm, range->start,
							range->end, range);

			MN_CALL_VOID(&c, sub->ops->invalidate_range(sub,
					range->mm, range->start, range->end));
		}
		if (sub->ops->invalidate_range_end)
			mn_call_end(sub, range);
	}
	mn_read_unlock(rs);
}

static void __mn_invalidate_range_end(struct mmu_notifier_range *range,
				      bool only_end)
{
	struct mmu_notifier_subscriptions *subs;
	bool lockdep = mmn_era != MMN_ERA_2_6_33;

	if (lockdep && mmu_notifier_range_blockable(range))
		might_sleep();
	if (!mm_has_notifiers(range->mm))
		return;
	subs = mn_subs(range->mm);
	if (lockdep)
		lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	if (mn_has_itree(subs)) {
		mn_itree_hook_end(subs, range);
		mn_itree_inv_end(subs);
	}
	if (!mn_hlist_empty(&subs->list))
		mn_hlist_invalidate_end(subs, range, only_end);
	if (lockdep)
		lock_map_release(&__mmu_notifier_invalidate_range_start_map);
}

void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	__mn_invalidate_range_end(range, false);
}

void mmu_notifier_invalidate_range_only_end(struct mmu_notifier_range *range)
{
	__mn_invalidate_range_end(range, true);
}

/* ---- the other entry points of the primary MMU ---------------------- */

void mmu_notifier_arch_invalidate_secondary_tlbs(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long end)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;

	if (!subs)
		return;
	/* era: from 6.6, replacing invalidate_range */
	if (!mn_era_has("mmu_notifier_arch_invalidate_secondary_tlbs",
			mmn_era == MMN_ERA_6_12))
		return;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(ARCH_INVALIDATE_SECONDARY_TLBS,
						sub, mm, start, end, NULL);

		if (!sub->ops->arch_invalidate_secondary_tlbs)
			continue;
		/*
		 * Held: whatever the TLB flush site holds -- the PT lock
		 * for ptep_clear_flush (atomic), the mmap_lock for the flushes
		 * after range_end -- and the SRCU read lock.  Must not sleep.
		 */
		MN_CALL_VOID(&c, sub->ops->arch_invalidate_secondary_tlbs(sub,
				mm, start, end));
	}
	mn_read_unlock(rs);
}

/*
 * Classic subscriptions learn that the mm is going away.  Called from
 * exit_mmap before any page is freed, with mm_users == 0: registration
 * cannot race (it needs mm_users > 0), unregister can.
 */
static void mn_hlist_release(struct mmu_notifier_subscriptions *subs,
			     struct mm_struct *mm)
{
	struct mmu_notifier *sub;
	struct mn_read rs;

	/*
	 * The read section keeps unregister (which waits a grace period
	 * after unhashing) from returning while ->release runs here.
	 */
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(RELEASE, sub, mm, 0, 0, NULL);

		/*
		 * The driver must tear down every secondary mapping and stop
		 * making new ones: this is its only chance before the pages
		 * are freed.  Held: the SRCU read lock, nothing of the mm.
		 * May sleep.
		 */
		if (sub->ops->release)
			MN_CALL_VOID(&c, sub->ops->release(sub, mm));
	}

	spin_lock(&subs->lock);
	/* Unhash all: a later unregister only waits for the grace period. */
	while (unlikely(!mn_hlist_empty(&subs->list)))
		mn_hlist_del_init_rcu(&mn_hlist_first(&subs->list)->hlist);
	spin_unlock(&subs->lock);
	mn_read_unlock(rs);

	/*
	 * Do not return to exit_mmap, which frees the pages, before a
	 * ->release running in a concurrent unregister has returned.
	 */
	mn_synchronize();
}

/*
 * era: 2.6.33 pops each subscription, then calls its ->release under
 * rcu_read_lock with the list lock dropped.
 */
static void mn_hlist_release_2_6_33(struct mmu_notifier_subscriptions *subs,
				    struct mm_struct *mm)
{
	spin_lock(&subs->lock);
	while (unlikely(!mn_hlist_empty(&subs->list))) {
		struct mmu_notifier *sub = mn_hlist_first(&subs->list);
		struct mn_call c = MN_CALL_INIT(RELEASE, sub, mm, 0, 0, NULL);
		struct mn_read rs;

		mn_hlist_del_init_rcu(&sub->hlist);
		rs = mn_read_lock();
		spin_unlock(&subs->lock);
		/* Held: rcu_read_lock (atomic), must not sleep; +holt: the
		 * SRCU read lock only, may sleep. */
		if (sub->ops->release)
			MN_CALL_VOID(&c, sub->ops->release(sub, mm));
		mn_read_unlock(rs);
		spin_lock(&subs->lock);
	}
	spin_unlock(&subs->lock);
	mn_synchronize();
}

void mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);

	if (!subs)
		return;
	if (mn_has_itree(subs))
		mn_itree_release(subs, mm);
	if (mn_hlist_empty(&subs->list))
		return;
	if (mmn_era == MMN_ERA_2_6_33)
		mn_hlist_release_2_6_33(subs, mm);
	else
		mn_hlist_release(subs, mm);
}

/*
 * The young callbacks.  Held: the PT lock (or the rmap/MGLRU walk's locks),
 * the SRCU read lock: atomic, must not sleep.
 */
int mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;
	int young = 0;

	if (!subs)
		return 0;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(CLEAR_FLUSH_YOUNG, sub, mm,
						start, end, NULL);

		if (!sub->ops->clear_flush_young)
			continue;
		/* Held: the PT lock (atomic), the SRCU read lock.  No sleep. */
		MN_CALL(&c, sub->ops->clear_flush_young(sub, mm, start, end));
		young |= (int)c.ret;
	}
	mn_read_unlock(rs);
	return young;
}

int mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;
	int young = 0;

	if (!subs)
		return 0;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(CLEAR_YOUNG, sub, mm, start,
						end, NULL);

		if (!sub->ops->clear_young)
			continue;
		/* Held: the PT lock or an MGLRU walk's locks, the SRCU read
		 * lock.  No sleep. */
		MN_CALL(&c, sub->ops->clear_young(sub, mm, start, end));
		young |= (int)c.ret;
	}
	mn_read_unlock(rs);
	return young;
}

int mmu_notifier_test_young(struct mm_struct *mm, unsigned long address)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;
	int young = 0;

	if (!subs)
		return 0;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(TEST_YOUNG, sub, mm, address,
						address + PAGE_SIZE, NULL);

		if (!sub->ops->test_young)
			continue;
		/* Held: the PT lock (khugepaged, page_idle), the SRCU read
		 * lock.  No sleep. */
		MN_CALL(&c, sub->ops->test_young(sub, mm, address));
		young = (int)c.ret;
		if (young)	/* the first subscription that saw an access wins */
			break;
	}
	mn_read_unlock(rs);
	return young;
}

/* ---- legacy entry points (eras 6.1, 2.6.33) ------------------------- */

void mmu_notifier_invalidate_range(struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;

	if (!subs)
		return;
	/* era: 3.19 .. 6.5 */
	if (!mn_era_has("mmu_notifier_invalidate_range", mmn_era == MMN_ERA_6_1))
		return;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(INVALIDATE_RANGE, sub, mm,
						start, end, NULL);

		if (!sub->ops->invalidate_range)
			continue;
		/*
		 * Held: the PT lock (the *_clear_flush_notify helpers) or the
		 * TLB gather's context, the SRCU read lock.  Must not sleep.
		 */
		MN_CALL_VOID(&c, sub->ops->invalidate_range(sub, mm, start, end));
	}
	mn_read_unlock(rs);
}

void mmu_notifier_change_pte(struct mm_struct *mm, unsigned long address,
			     pte_t pte)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;

	if (!subs)
		return;
	/* era: 2.6.32 .. 6.9 */
	if (!mn_era_has("mmu_notifier_change_pte", mmn_era != MMN_ERA_6_12))
		return;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		/*
		 * Held: the PT lock (set_pte_at_notify), the SRCU read lock
		 * (2.6.33: rcu_read_lock).  Must not sleep.
		 */
		if (sub->ops->change_pte) {
			struct mn_call c = MN_CALL_INIT(CHANGE_PTE, sub, mm,
							address,
							address + PAGE_SIZE,
							NULL);

			MN_CALL_VOID(&c, sub->ops->change_pte(sub, mm, address,
							      pte));
		} else if (mmn_era == MMN_ERA_2_6_33 &&
			   sub->ops->invalidate_page) {
			/*
			 * era: until 3.7 a driver without change_pte learns
			 * of the new pte as an invalidation of the address.
			 */
			struct mn_call c = MN_CALL_INIT(INVALIDATE_PAGE, sub,
							mm, address,
							address + PAGE_SIZE,
							NULL);

			MN_CALL_VOID(&c, sub->ops->invalidate_page(sub, mm,
								   address));
		}
	}
	mn_read_unlock(rs);
}

void mmu_notifier_invalidate_page(struct mm_struct *mm, unsigned long address)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct mn_read rs;

	if (!subs)
		return;
	/* era: 2.6.27 .. 4.12 */
	if (!mn_era_has("mmu_notifier_invalidate_page",
			mmn_era == MMN_ERA_2_6_33))
		return;
	rs = mn_read_lock();
	mn_hlist_for_each(sub, &subs->list) {
		struct mn_call c = MN_CALL_INIT(INVALIDATE_PAGE, sub, mm,
						address, address + PAGE_SIZE,
						NULL);

		if (!sub->ops->invalidate_page)
			continue;
		/*
		 * Held: the PT lock (ptep_clear_flush_notify), rcu_read_lock.
		 * Must not sleep.  Until it returns the secondary may still
		 * use the old page, which is not freed before.
		 */
		MN_CALL_VOID(&c, sub->ops->invalidate_page(sub, mm, address));
	}
	mn_read_unlock(rs);
}

/* ---- registration -------------------------------------------------- */

static struct mmu_notifier_subscriptions *mn_subs_alloc(void)
{
	struct mmu_notifier_subscriptions *subs = calloc(1, sizeof(*subs));

	if (!subs)
		return NULL;
	subs->list.first = NULL;
	mmn_spin_lock_init(&subs->lock.rlock, "&subscriptions->lock");
	/* even: idle; 2 so that a new subscription's seq - 1 is never 0 */
	subs->invalidate_seq = 2;
	subs->itree = INTERVAL_TREE_ROOT;
	mmn_init_waitqueue_head(&subs->wq.q, "&subscriptions->wq");
	subs->deferred_list.first = NULL;
	return subs;
}

static void mn_subs_free(struct mmu_notifier_subscriptions *subs)
{
	mmn_spin_lock_destroy(&subs->lock.rlock);
	mmn_wait_queue_destroy(&subs->wq.q);
	free(subs);
}

/*
 * Same as mmu_notifier_register() with the mmap_lock already held for
 * write.  @subscription NULL registers the mm for interval notifiers only.
 */
int __mmu_notifier_register(struct mmu_notifier *subscription,
			    struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = NULL;
	int ret;

	mmap_assert_write_locked(mm);
	WARN_ON(mn_mm_users(mm) <= 0);

	/*
	 * Since 6.6 a notifier for TLBs that walk the CPU page tables must
	 * not also implement start/end: the two are different contracts.
	 */
	if (WARN_ON(subscription &&
		    subscription->ops->arch_invalidate_secondary_tlbs &&
		    (subscription->ops->invalidate_range_start ||
		     subscription->ops->invalidate_range_end)))
		return -EINVAL;
	/*
	 * Robin Holt's range_start exists only under 2.6.33+holt: elsewhere
	 * nobody would call it and the driver would miss every invalidation.
	 */
	if (WARN_ON(subscription &&
		    subscription->ops->invalidate_range_start_atomic &&
		    !mmn_era_holt()))
		return -EINVAL;

	if (!mm->notifier_subscriptions) {
		/*
		 * Allocated before mm_take_all_locks(): nothing that may
		 * sleep in reclaim under the rmap locks.
		 */
		subs = mn_subs_alloc();
		if (!subs)
			return -ENOMEM;
	}

	/*
	 * With every rmap lock and the mmap_lock held, no invalidation runs
	 * on this mm: the list and has_itree change with nobody looking
	 * under the locks that walkers hold.
	 */
	ret = mm_take_all_locks(mm);
	if (unlikely(ret))
		goto out_clean;

	/*
	 * Publish the initialised struct: pairs with the acquire in
	 * mn_subs(), which lockless readers (interval insert) use.
	 */
	if (subs)
		__atomic_store_n(&mm->notifier_subscriptions, subs,
				 __ATOMIC_RELEASE);

	if (subscription) {
		/* Pairs with the mmdrop() in unregister / free after put. */
		mmgrab(mm);
		subscription->mm = mm;
		subscription->users = 1;

		spin_lock(&mm->notifier_subscriptions->lock);
		mn_hlist_add_head_rcu(&subscription->hlist,
				      &mm->notifier_subscriptions->list);
		spin_unlock(&mm->notifier_subscriptions->lock);
	} else {
		__atomic_store_n(&mm->notifier_subscriptions->has_itree, true,
				 __ATOMIC_RELEASE);
	}

	mm_drop_all_locks(mm);
	WARN_ON(mn_mm_users(mm) <= 0);
	return 0;

out_clean:
	if (subs)
		mn_subs_free(subs);
	return ret;
}

/*
 * Register @subscription on @mm.  The caller must not hold the mmap_lock
 * or any rmap lock, and must keep mm_users > 0 for the duration (current->mm
 * or mmget()).  ->release is guaranteed before exit_mmap frees the pages;
 * mmu_notifier_unregister() must be called eventually, before or after
 * exit: registration holds an mm_count reference until then.
 */
int mmu_notifier_register(struct mmu_notifier *subscription,
			  struct mm_struct *mm)
{
	int ret;

	mmap_write_lock(mm);
	ret = __mmu_notifier_register(subscription, mm);
	mmap_write_unlock(mm);
	return ret;
}

static struct mmu_notifier *mn_find_get(struct mm_struct *mm,
					const struct mmu_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;
	struct mmu_notifier *sub;

	spin_lock(&subs->lock);
	mn_hlist_for_each(sub, &subs->list) {
		if (sub->ops != ops)
			continue;
		if (likely(sub->users != UINT_MAX))
			sub->users++;
		else
			sub = ERR_PTR(-EOVERFLOW);
		spin_unlock(&subs->lock);
		return sub;
	}
	spin_unlock(&subs->lock);
	return NULL;
}

/*
 * Return the one notifier of @ops on @mm, with a new user: either an
 * existing one, or a fresh one from ops->alloc_notifier.  mmap_lock held
 * for write.  Balanced by mmu_notifier_put().
 */
struct mmu_notifier *mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
					     struct mm_struct *mm)
{
	struct mmu_notifier *sub;
	struct mn_call c;
	int ret;

	mmap_assert_write_locked(mm);

	if (mm->notifier_subscriptions) {
		sub = mn_find_get(mm, ops);
		if (sub)
			return sub;
	}

	c = MN_CALL_INIT(ALLOC_NOTIFIER, ops, mm, 0, 0, NULL);
	/* Held: the mmap_lock for write.  May sleep. */
	MN_CALL(&c, (intptr_t)ops->alloc_notifier(mm));
	sub = (struct mmu_notifier *)(intptr_t)c.ret;
	if (IS_ERR(sub))
		return sub;
	sub->ops = ops;
	ret = __mmu_notifier_register(sub, mm);
	if (ret)
		goto out_free;
	return sub;

out_free:
	c = MN_CALL_INIT(FREE_NOTIFIER, sub, mm, 0, 0, NULL);
	/* Held: the mmap_lock for write; never registered, so no grace
	 * period is needed.  Must not sleep (its contract). */
	MN_CALL_VOID(&c, sub->ops->free_notifier(sub));
	return ERR_PTR(ret);
}

struct mmu_notifier *mmu_notifier_get(const struct mmu_notifier_ops *ops,
				      struct mm_struct *mm)
{
	struct mmu_notifier *sub;

	mmap_write_lock(mm);
	sub = mmu_notifier_get_locked(ops, mm);
	mmap_write_unlock(mm);
	return sub;
}

/* From __mmdrop(): the last mm_count reference is gone. */
void mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	if (!subs)
		return;
	/* Every registration and interval insert holds an mm_count. */
	WARN_ON(!mn_hlist_empty(&subs->list));
	WARN_ON(!interval_tree_empty(&subs->itree));
	WARN_ON(subs->deferred_list.first != NULL);
	mm->notifier_subscriptions = NULL;
	mn_subs_free(subs);
}

/*
 * Unregister @subscription.  ->release runs here if exit has not run it
 * yet.  When this returns no callback of @subscription runs or will run,
 * and the driver may free it.  Drops the registration's mm_count.
 */
void mmu_notifier_unregister(struct mmu_notifier *subscription,
			     struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	WARN_ON(__atomic_load_n(&mm->mm_count, __ATOMIC_RELAXED) <= 0);

	if (mmn_era == MMN_ERA_2_6_33) {
		/* era: unhash first, then ->release under rcu_read_lock */
		spin_lock(&subs->lock);
		if (!mn_hlist_unhashed(&subscription->hlist)) {
			struct mn_call c = MN_CALL_INIT(RELEASE, subscription,
							mm, 0, 0, NULL);
			struct mn_read rs;

			mn_hlist_del_init_rcu(&subscription->hlist);
			rs = mn_read_lock();
			spin_unlock(&subs->lock);
			/* Held: rcu_read_lock (atomic), must not sleep; +holt:
			 * the SRCU read lock only, may sleep. */
			if (subscription->ops->release)
				MN_CALL_VOID(&c, subscription->ops->release(
						subscription, mm));
			mn_read_unlock(rs);
		} else {
			spin_unlock(&subs->lock);
		}
	} else if (!mn_hlist_unhashed(&subscription->hlist)) {
		struct mn_call c = MN_CALL_INIT(RELEASE, subscription, mm, 0, 0,
						NULL);
		struct mn_read rs;

		/*
		 * The read section makes a concurrent exit_mmap wait, in
		 * mn_hlist_release()'s grace period, until ->release has
		 * returned here, before it frees the pages.
		 * Held: the SRCU read lock.  May sleep.
		 */
		rs = mn_read_lock();
		if (subscription->ops->release)
			MN_CALL_VOID(&c, subscription->ops->release(subscription,
								   mm));
		mn_read_unlock(rs);

		spin_lock(&subs->lock);
		/* exit may have unhashed it meanwhile: del_init is idempotent */
		mn_hlist_del_init_rcu(&subscription->hlist);
		spin_unlock(&subs->lock);
	}

	/*
	 * Wait for every callback still running on this subscription,
	 * including a ->release called by exit_mmap.
	 */
	mn_synchronize();

	WARN_ON(__atomic_load_n(&mm->mm_count, __ATOMIC_RELAXED) <= 0);
	mmdrop(mm);
}

static void mn_free_rcu(struct mmn_rcu_head *rcu)
{
	struct mmu_notifier *sub = container_of(rcu, struct mmu_notifier, rcu);
	struct mm_struct *mm = sub->mm;
	struct mn_call c = MN_CALL_INIT(FREE_NOTIFIER, sub, mm, 0, 0, NULL);

	/* Held: nothing; runs from the SRCU callback: must not sleep. */
	MN_CALL_VOID(&c, sub->ops->free_notifier(sub));
	/* Pairs with the mmgrab() of registration. */
	mmdrop(mm);
}

/*
 * Drop a user taken by mmu_notifier_get().  The last put unhashes the
 * notifier and frees it with ops->free_notifier after an SRCU grace period;
 * ->release is not called.  The free may run after the caller's module
 * would be gone: mmu_notifier_synchronize() waits for it.
 */
void mmu_notifier_put(struct mmu_notifier *subscription)
{
	struct mm_struct *mm = subscription->mm;
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	spin_lock(&subs->lock);
	if (WARN_ON(!subscription->users) || --subscription->users)
		goto out_unlock;
	mn_hlist_del_init_rcu(&subscription->hlist);
	spin_unlock(&subs->lock);

	call_srcu(mn_srcu(), &subscription->rcu, mn_free_rcu);
	return;

out_unlock:
	spin_unlock(&subs->lock);
}

/* Wait until every free_notifier queued by mmu_notifier_put() has run. */
void mmu_notifier_synchronize(void)
{
	srcu_barrier(mn_srcu());
}

/* ---- interval notifiers ---------------------------------------------- */

static int __mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
					  struct mm_struct *mm,
					  struct mmu_notifier_subscriptions *subs,
					  unsigned long start,
					  unsigned long length,
					  const struct mmu_interval_notifier_ops *ops)
{
	unsigned long last;

	interval_sub->mm = mm;
	interval_sub->ops = ops;
	INIT_HLIST_NODE(&interval_sub->deferred_item);
	interval_tree_node_clear(&interval_sub->interval_tree);
	/* [start, start + length - 1]; the last byte must exist */
	if (length == 0 || __builtin_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	interval_sub->start = interval_sub->interval_tree.start = start;
	interval_sub->last = interval_sub->interval_tree.last = last;

	/* Must not insert into an mm that exit_mmap is tearing down. */
	if (WARN_ON(mn_mm_users(mm) <= 0))
		return -EINVAL;

	/* Pairs with the mmdrop() in mmu_interval_notifier_remove(). */
	mmgrab(mm);

	/*
	 * Three cases:
	 *  - fully excluded (seq odd): an invalidation is walking the tree
	 *    unlocked; queue the insert for the last range_end, and start at
	 *    the odd seq so the first read_begin waits for that end.
	 *  - partially excluded (ranges active, seq even): insert now, but a
	 *    running range may cover the new interval without having called
	 *    it: make seq odd so the first read_begin waits for those ranges.
	 *  - idle: insert now at seq - 1 (odd, never the mm's next value), so
	 *    a read_retry against a stale seq fails and no read_begin waits.
	 */
	spin_lock(&subs->lock);
	if (subs->active_invalidate_ranges) {
		if (mn_itree_is_invalidating(subs)) {
			hlist_add_head(&interval_sub->deferred_item,
				       &subs->deferred_list);
		} else {
			mn_set_seq(subs, mn_seq(subs) | 1);
			interval_tree_insert(&interval_sub->interval_tree,
					     &subs->itree);
		}
		WRITE_ONCE(interval_sub->invalidate_seq, mn_seq(subs));
	} else {
		WARN_ON(mn_itree_is_invalidating(subs));
		WRITE_ONCE(interval_sub->invalidate_seq, mn_seq(subs) - 1);
		interval_tree_insert(&interval_sub->interval_tree, &subs->itree);
	}
	spin_unlock(&subs->lock);
	return 0;
}

/*
 * Insert an interval notifier over [start, start + length) of @mm.
 * ops->invalidate is called for every invalidation overlapping it, starting
 * possibly before this returns.  The caller must keep mm_users > 0 and must
 * not hold the mmap_lock (taken for the first insert of the mm).
 */
int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs;
	int ret;

	/* era: interval notifiers arrived in 5.5 */
	if (mmn_era == MMN_ERA_2_6_33)
		return -EOPNOTSUPP;
	subs = mn_subs(mm);
	if (!subs || !mn_has_itree(subs)) {
		ret = mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subs = mn_subs(mm);
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subs, start,
					      length, ops);
}

/* As mmu_interval_notifier_insert(), with the mmap_lock held for write. */
int mmu_interval_notifier_insert_locked(struct mmu_interval_notifier *interval_sub,
					struct mm_struct *mm, unsigned long start,
					unsigned long length,
					const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;
	int ret;

	mmap_assert_write_locked(mm);
	if (mmn_era == MMN_ERA_2_6_33)
		return -EOPNOTSUPP;
	if (!subs || !mn_has_itree(subs)) {
		ret = __mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subs = mm->notifier_subscriptions;
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subs, start,
					      length, ops);
}

static bool mn_seq_released(struct mmu_notifier_subscriptions *subs,
			    unsigned long seq)
{
	bool ret;

	spin_lock(&subs->lock);
	ret = mn_seq(subs) != seq;
	spin_unlock(&subs->lock);
	return ret;
}

/*
 * Remove an interval notifier.  May sleep: if an invalidation is walking
 * the tree, the removal is deferred and this waits for that invalidation to
 * end.  When it returns no invalidate callback runs or will run on
 * @interval_sub, which the caller may free.  Drops the insert's mm_count.
 */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
{
	struct mm_struct *mm = interval_sub->mm;
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;
	unsigned long seq = 0;

	might_sleep();

	spin_lock(&subs->lock);
	if (mn_itree_is_invalidating(subs)) {
		if (interval_tree_node_empty(&interval_sub->interval_tree)) {
			/* a pending insert: cancel it, no callback can run */
			hlist_del_init(&interval_sub->deferred_item);
		} else {
			/* the walk may be on it: remove at the end, and wait */
			hlist_add_head(&interval_sub->deferred_item,
				       &subs->deferred_list);
			seq = mn_seq(subs);
		}
	} else {
		WARN_ON(interval_tree_node_empty(&interval_sub->interval_tree));
		interval_tree_remove(&interval_sub->interval_tree, &subs->itree);
	}
	spin_unlock(&subs->lock);

	/* The caller's locks must not be held by any invalidate callback. */
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
	if (seq)
		wait_event(subs->wq, mn_seq_released(subs, seq));

	/* Pairs with the mmgrab() in __mmu_interval_notifier_insert(). */
	mmdrop(mm);
}

/* ---- introspection for tests ------------------------------------------ */

unsigned long __mmn_notifier_mm_seq(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	unsigned long seq;

	if (!subs)
		return 0;
	spin_lock(&subs->lock);
	seq = mn_seq(subs);
	spin_unlock(&subs->lock);
	return seq;
}

unsigned long __mmn_notifier_active_ranges(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	unsigned long n;

	if (!subs)
		return 0;
	spin_lock(&subs->lock);
	n = subs->active_invalidate_ranges;
	spin_unlock(&subs->lock);
	return n;
}
