/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Notifier core internals shared by the files of src/notifier/ and by the
 * layers that observe it (check/, the controlled scheduler).
 *
 *  - struct mn_call and MN_CALL(): the one place every ops callback is
 *    invoked through.  It marks the callback's entry and exit as schedule
 *    points and calls the observer hook, so that the checker can learn the
 *    contract points (the return of invalidate_range_start, of an interval
 *    invalidate, of arch_invalidate_secondary_tlbs ...) without the core
 *    knowing about it.
 *  - RCU-style hlist helpers: the classic subscription list is read under
 *    SRCU without its lock, so its links are published and read with
 *    atomic accesses, and an unhashed node keeps its ->next for a reader
 *    that is standing on it.
 */
#ifndef MMN_NOTIFIER_INTERNAL_H
#define MMN_NOTIFIER_INTERNAL_H

#include <mmn/linux/mmu_notifier.h>
#include <mmn/rt.h>

struct mm_struct;

#if __has_include("mm/internal.h")
#include "mm/internal.h"
#else
/* Provided by src/mm/ (mm/internal.h); declared here until it lands. */
int mm_take_all_locks(struct mm_struct *mm);
void mm_drop_all_locks(struct mm_struct *mm);
#endif

/* ---- callback invocation ------------------------------------------ */

#define MN_CALLBACKS(X)							\
	X(RELEASE, "release")						\
	X(INVALIDATE_RANGE_START, "invalidate_range_start")		\
	X(INVALIDATE_RANGE_END, "invalidate_range_end")			\
	X(ARCH_INVALIDATE_SECONDARY_TLBS, "arch_invalidate_secondary_tlbs") \
	X(CLEAR_FLUSH_YOUNG, "clear_flush_young")			\
	X(CLEAR_YOUNG, "clear_young")					\
	X(TEST_YOUNG, "test_young")					\
	X(INTERVAL_INVALIDATE, "invalidate")				\
	X(INVALIDATE_RANGE, "invalidate_range")				\
	X(CHANGE_PTE, "change_pte")					\
	X(INVALIDATE_PAGE, "invalidate_page")				\
	X(ALLOC_NOTIFIER, "alloc_notifier")				\
	X(FREE_NOTIFIER, "free_notifier")				\
	X(INTERVAL_END, "interval_end")

enum mn_callback {
#define X(e, s) MN_CB_##e,
	MN_CALLBACKS(X)
#undef X
	MN_CB__COUNT
};

const char *__mmn_notifier_callback_name(enum mn_callback cb);

/*
 * One callback invocation.  @sub is the struct mmu_notifier (or, for
 * MN_CB_INTERVAL_*, the struct mmu_interval_notifier); [start,
 * end) is the range the callback covers (one page for the single-address
 * callbacks, [0, 0) for release and alloc/free).  @ret is the callback's
 * result (int, bool) as a long, valid at exit.
 */
struct mn_call {
	enum mn_callback cb;
	const void *sub;
	struct mm_struct *mm;
	unsigned long start, end;
	const struct mmu_notifier_range *range;	/* start/end/interval */
	long ret;
};

/*
 * Observer hook (check/ sets it; NULL when checking is off, which costs
 * one predictable branch per callback).  Called at entry (exit == false)
 * and at exit (exit == true) of every callback, in the context of the
 * task running it.  The exits of invalidate_range_start (ret 0), of an
 * interval invalidate (ret true), of arch_invalidate_secondary_tlbs and of
 * the legacy callbacks are the contract points of check.h.
 *
 * MN_CB_INTERVAL_END is not a callback: interval subscriptions have no
 * end, so the core reports, once per range_end (or per failed non-blockable
 * start), every interval subscription overlapping the range, with exit ==
 * true, under subscriptions->lock (the hook must not sleep or lock).
 */
typedef void (*mmn_notifier_hook_t)(const struct mn_call *call, bool exit);
extern mmn_notifier_hook_t __mmn_notifier_hook;

static inline void mn_call_enter(struct mn_call *c)
{
	mmn_notifier_hook_t hook = __atomic_load_n(&__mmn_notifier_hook,
						   __ATOMIC_ACQUIRE);

	mmn_sched_point(MMN_SP_NOTIFIER_ENTER, c->sub);
	if (unlikely(hook))
		hook(c, false);
}

static inline void mn_call_exit(struct mn_call *c)
{
	mmn_notifier_hook_t hook = __atomic_load_n(&__mmn_notifier_hook,
						   __ATOMIC_ACQUIRE);

	if (unlikely(hook))
		hook(c, true);
	mmn_sched_point(MMN_SP_NOTIFIER_EXIT, c->sub);
}

#define MN_CALL_INIT(_cb, _sub, _mm, _start, _end, _range)		\
	((struct mn_call){ .cb = MN_CB_##_cb, .sub = (_sub), .mm = (_mm), \
			   .start = (_start), .end = (_end),		\
			   .range = (_range) })

/* Invoke a callback that returns a value: MN_CALL(&c, ops->x(...)). */
#define MN_CALL(c, expr)						\
	do {								\
		mn_call_enter(c);					\
		(c)->ret = (long)(expr);				\
		mn_call_exit(c);					\
	} while (0)

/* Invoke a void callback. */
#define MN_CALL_VOID(c, expr)						\
	do {								\
		mn_call_enter(c);					\
		expr;							\
		(c)->ret = 0;						\
		mn_call_exit(c);					\
	} while (0)

/* ---- RCU-style hlist --------------------------------------------- */

/* Writers hold subscriptions->lock; readers hold the SRCU read lock. */
static inline void mn_hlist_add_head_rcu(struct hlist_node *n,
					 struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	__atomic_store_n(&n->pprev, &h->first, __ATOMIC_RELAXED);
	if (first)
		__atomic_store_n(&first->pprev, &n->next, __ATOMIC_RELAXED);
	/* publish: pairs with the acquire in mn_hlist_first()/_next() */
	__atomic_store_n(&h->first, n, __ATOMIC_RELEASE);
}

/* hlist_del_init_rcu(): ->next stays for readers standing on @n. */
static inline void mn_hlist_del_init_rcu(struct hlist_node *n)
{
	struct hlist_node **pprev = n->pprev, *next = n->next;

	if (!pprev)
		return;
	__atomic_store_n(pprev, next, __ATOMIC_RELEASE);
	if (next)
		__atomic_store_n(&next->pprev, pprev, __ATOMIC_RELAXED);
	__atomic_store_n(&n->pprev, NULL, __ATOMIC_RELAXED);
}

static inline bool mn_hlist_unhashed(struct hlist_node *n)
{
	return !__atomic_load_n(&n->pprev, __ATOMIC_RELAXED);
}

static inline bool mn_hlist_empty(struct hlist_head *h)
{
	return !__atomic_load_n(&h->first, __ATOMIC_RELAXED);
}

static inline struct mmu_notifier *mn_hlist_first(struct hlist_head *h)
{
	struct hlist_node *n = __atomic_load_n(&h->first, __ATOMIC_ACQUIRE);

	return n ? hlist_entry(n, struct mmu_notifier, hlist) : NULL;
}

static inline struct mmu_notifier *mn_hlist_next(struct mmu_notifier *sub)
{
	struct hlist_node *n = __atomic_load_n(&sub->hlist.next,
					       __ATOMIC_ACQUIRE);

	return n ? hlist_entry(n, struct mmu_notifier, hlist) : NULL;
}

/* hlist_for_each_entry_srcu(): under the notifier SRCU read lock. */
#define mn_hlist_for_each(sub, head)					\
	for (sub = mn_hlist_first(head); sub; sub = mn_hlist_next(sub))

/* ---- introspection, for tests and the checker ------------------------ */

/* The mm's invalidate_seq (0 if it has no subscriptions). */
unsigned long __mmn_notifier_mm_seq(struct mm_struct *mm);
/* The number of invalidations open on the mm's interval tree. */
unsigned long __mmn_notifier_active_ranges(struct mm_struct *mm);

/* The fake lock of range_start (Linux exports it for dma-resv priming). */
extern struct mmn_lockdep_map __mmu_notifier_invalidate_range_start_map;

#endif /* MMN_NOTIFIER_INTERNAL_H */
