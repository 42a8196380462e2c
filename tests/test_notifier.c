// SPDX-License-Identifier: GPL-2.0
/*
 * The mmu_notifier core, single-threaded: registration and lifetime,
 * get/put, the non-blockable rules, the interval-notifier seq protocol and
 * deferred tree updates, the era switch points, the interval tree against a
 * brute-force model, and the pinned notifier call sequence of each primary
 * operation (checked against the 6.12 traces of a real kernel,
 * reference/real-kernel.md section 5).
 */
#include <limits.h>
#include <stdlib.h>

#include "harness.h"

#include <mmn/recorder.h>
#include <mmn/linux/interval_tree.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/mutex.h>

#include "notifier/internal.h"

#define BASE	0x10000000UL	/* a fixed, page-aligned test area */
#define PG(n)	((unsigned long)(n) * PAGE_SIZE)

/* ------------------------------------------------------------------ */
/* A counting test notifier.                                            */

struct tn {
	struct mmu_notifier mn;
	int start_ret;		/* what invalidate_range_start returns */
	bool sleep;		/* take a mutex in start (may sleep) */
	struct mutex m;
	int young_ret;
	int starts, ends, releases, young, test_young, tlbs;
	int inv_range, change_pte, inv_page;
	int frees;
};

static struct tn *tn_of(struct mmu_notifier *mn)
{
	return container_of(mn, struct tn, mn);
}

static int tn_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	struct tn *t = tn_of(mn);

	t->starts++;
	if (t->sleep) {
		mutex_lock(&t->m);
		mutex_unlock(&t->m);
	}
	return t->start_ret;
}

static void tn_end(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	tn_of(mn)->ends++;
}

static void tn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	tn_of(mn)->releases++;
}

static int tn_cfy(struct mmu_notifier *mn, struct mm_struct *mm,
		  unsigned long s, unsigned long e)
{
	tn_of(mn)->young++;
	return tn_of(mn)->young_ret;
}

static int tn_ty(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long a)
{
	tn_of(mn)->test_young++;
	return tn_of(mn)->young_ret;
}

static void tn_tlbs(struct mmu_notifier *mn, struct mm_struct *mm,
		    unsigned long s, unsigned long e)
{
	tn_of(mn)->tlbs++;
}

static void tn_inv_range(struct mmu_notifier *mn, struct mm_struct *mm,
			 unsigned long s, unsigned long e)
{
	tn_of(mn)->inv_range++;
}

static void tn_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			  unsigned long a, pte_t pte)
{
	tn_of(mn)->change_pte++;
}

static void tn_inv_page(struct mmu_notifier *mn, struct mm_struct *mm,
			unsigned long a)
{
	tn_of(mn)->inv_page++;
}

static const struct mmu_notifier_ops tn_ops = {
	.release = tn_release,
	.invalidate_range_start = tn_start,
	.invalidate_range_end = tn_end,
	.clear_flush_young = tn_cfy,
	.clear_young = tn_cfy,
	.test_young = tn_ty,
};

/* A start that may fail must not have an end. */
static const struct mmu_notifier_ops tn_ops_noend = {
	.release = tn_release,
	.invalidate_range_start = tn_start,
};

static const struct mmu_notifier_ops tn_ops_bad_tlbs = {
	.invalidate_range_start = tn_start,
	.arch_invalidate_secondary_tlbs = tn_tlbs,
};

static const struct mmu_notifier_ops tn_ops_tlbs = {
	.release = tn_release,
	.arch_invalidate_secondary_tlbs = tn_tlbs,
};

/* 2.6.33-shaped: invalidate_page and range start/end, no change_pte (GRU) */
static const struct mmu_notifier_ops tn_ops_legacy_page = {
	.release = tn_release,
	.invalidate_range_start = tn_start,
	.invalidate_range_end = tn_end,
	.invalidate_page = tn_inv_page,
};

static const struct mmu_notifier_ops tn_ops_legacy_61 = {
	.release = tn_release,
	.invalidate_range_start = tn_start,
	.invalidate_range_end = tn_end,
	.invalidate_range = tn_inv_range,
	.change_pte = tn_change_pte,
};

static void tn_init(struct tn *t, const struct mmu_notifier_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->mn.ops = ops;
	mutex_init(&t->m);
}

static void range_init(struct mmu_notifier_range *r, struct mm_struct *mm,
		       enum mmu_notifier_event ev, unsigned long start,
		       unsigned long end)
{
	mmu_notifier_range_init(r, ev, 0, mm, start, end);
}

/* One blockable start/end pair over [start, end). */
static void invalidate(struct mm_struct *mm, enum mmu_notifier_event ev,
		       unsigned long start, unsigned long end)
{
	struct mmu_notifier_range r;

	range_init(&r, mm, ev, start, end);
	mmu_notifier_invalidate_range_start(&r);
	mmu_notifier_invalidate_range_end(&r);
}

/* ------------------------------------------------------------------ */
/* Registration and lifetime.                                           */

/* register, callbacks, unregister calls release; nothing after unregister */
TEST(register_unregister)
{
	struct mm_struct *mm = mmn_mm_create();
	struct tn t;

	ASSERT_TRUE(mm);
	tn_init(&t, &tn_ops);
	EXPECT_FALSE(mm_has_notifiers(mm));
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	EXPECT_TRUE(mm_has_notifiers(mm));
	EXPECT_EQ(t.mn.mm, mm);
	EXPECT_EQ(t.mn.users, 1);

	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(t.starts, 1);
	EXPECT_EQ(t.ends, 1);
	EXPECT_EQ(t.releases, 0);

	mmu_notifier_unregister(&t.mn, mm);
	EXPECT_EQ(t.releases, 1);
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(mmu_notifier_clear_flush_young(mm, BASE, BASE + PG(1)), 0);
	EXPECT_EQ(t.starts, 1);
	EXPECT_EQ(t.ends, 1);
	EXPECT_EQ(t.young, 0);
	mmn_exit(mm);
	EXPECT_EQ(t.releases, 1);
}

/* exit runs ->release once; a later unregister neither calls it again
 * nor leaks the mm (registration's mmgrab is dropped) */
TEST(release_at_exit)
{
	struct mm_struct *mm = mmn_mm_create();
	struct tn a, b;

	ASSERT_TRUE(mm);
	tn_init(&a, &tn_ops);
	tn_init(&b, &tn_ops_noend);
	ASSERT_EQ(mmu_notifier_register(&a.mn, mm), 0);
	ASSERT_EQ(mmu_notifier_register(&b.mn, mm), 0);
	mmn_exit(mm);
	EXPECT_EQ(a.releases, 1);
	EXPECT_EQ(b.releases, 1);
	/* the mm struct is still pinned by the registrations */
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, ULONG_MAX);
	EXPECT_EQ(a.starts, 0);
	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	EXPECT_EQ(a.releases, 1);
	EXPECT_EQ(b.releases, 1);
}

/* a notifier with arch_invalidate_secondary_tlbs and start is refused */
TEST(tlbs_with_start_refused)
{
	struct mm_struct *mm = mmn_mm_create();
	struct tn t, ok;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	tn_init(&t, &tn_ops_bad_tlbs);
	EXPECT_EQ(mmu_notifier_register(&t.mn, mm), -EINVAL);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LAB_BUG), 1);	/* the WARN */
	EXPECT_FALSE(mm_has_notifiers(mm));

	tn_init(&ok, &tn_ops_tlbs);
	ASSERT_EQ(mmu_notifier_register(&ok.mn, mm), 0);
	mmu_notifier_arch_invalidate_secondary_tlbs(mm, BASE, BASE + PG(1));
	EXPECT_EQ(ok.tlbs, 1);
	mmu_notifier_unregister(&ok.mn, mm);
	EXPECT_EQ(ok.releases, 1);
	mmn_exit(mm);
	EXPECT_EQ(mmn_report_count(), 1);
}

/* get/put: one notifier per (ops, mm), users counted, freed via SRCU */
static int gp_allocs, gp_frees;

static struct mmu_notifier *gp_alloc(struct mm_struct *mm)
{
	struct tn *t = malloc(sizeof(*t));

	if (!t)
		return ERR_PTR(-ENOMEM);
	memset(t, 0, sizeof(*t));
	gp_allocs++;
	return &t->mn;
}

static void gp_free(struct mmu_notifier *mn)
{
	gp_frees++;
	free(tn_of(mn));
}

static const struct mmu_notifier_ops gp_ops = {
	.invalidate_range_start = tn_start,
	.invalidate_range_end = tn_end,
	.alloc_notifier = gp_alloc,
	.free_notifier = gp_free,
};

static const struct mmu_notifier_ops gp_ops2 = {
	.invalidate_range_start = tn_start,
	.alloc_notifier = gp_alloc,
	.free_notifier = gp_free,
};

TEST(get_put)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier *a, *b, *c;

	ASSERT_TRUE(mm);
	gp_allocs = gp_frees = 0;
	a = mmu_notifier_get(&gp_ops, mm);
	ASSERT_FALSE(IS_ERR(a));
	b = mmu_notifier_get(&gp_ops, mm);
	EXPECT_TRUE(a == b);
	EXPECT_EQ(a->users, 2);
	EXPECT_EQ(gp_allocs, 1);
	c = mmu_notifier_get(&gp_ops2, mm);
	ASSERT_FALSE(IS_ERR(c));
	EXPECT_TRUE(c != a);
	EXPECT_EQ(gp_allocs, 2);

	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(tn_of(a)->starts, 1);

	mmu_notifier_put(b);
	EXPECT_EQ(a->users, 1);
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(tn_of(a)->starts, 2);
	mmu_notifier_put(a);
	/* unhashed now; freed only after an SRCU grace period */
	EXPECT_EQ(gp_frees, 0);
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	mmu_notifier_synchronize();
	EXPECT_EQ(gp_frees, 1);

	mmn_exit(mm);		/* no release op: nothing to see */
	mmu_notifier_put(c);
	mmu_notifier_synchronize();
	EXPECT_EQ(gp_frees, 2);	/* the last put dropped the last mm ref */
}

/* ------------------------------------------------------------------ */
/* Non-blockable rules.                                                 */

/*
 * -EAGAIN on a non-blockable range: start_nonblock returns it, every start
 * still runs, every subscription with an end gets end; no violation.
 */
TEST(nonblock_eagain)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct tn fail, a, b;

	ASSERT_TRUE(mm);
	tn_init(&fail, &tn_ops_noend);
	tn_init(&a, &tn_ops);
	tn_init(&b, &tn_ops);
	fail.start_ret = -EAGAIN;
	ASSERT_EQ(mmu_notifier_register(&a.mn, mm), 0);
	ASSERT_EQ(mmu_notifier_register(&fail.mn, mm), 0);
	ASSERT_EQ(mmu_notifier_register(&b.mn, mm), 0);

	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE, BASE + PG(4));
	r.flags = MMU_NOTIFIER_RANGE_BLOCKABLE;	/* cleared by _nonblock */
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EAGAIN);
	EXPECT_FALSE(mmu_notifier_range_blockable(&r));
	EXPECT_EQ(a.starts, 1);
	EXPECT_EQ(fail.starts, 1);
	EXPECT_EQ(b.starts, 1);
	EXPECT_EQ(a.ends, 1);
	EXPECT_EQ(b.ends, 1);
	EXPECT_EQ(mmn_report_count(), 0);

	/* without the failing one the same range succeeds */
	mmu_notifier_unregister(&fail.mn, mm);
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), 0);
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(a.ends, 2);
	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	mmn_exit(mm);
}

/*
 * A failing start whose notifier (wrongly) has an end gets that end too,
 * as in Linux, which WARNs: an unbalanced-range violation, no NONBLOCK.
 */
TEST(nonblock_eagain_failing_has_end)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct tn fail, a;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	tn_init(&fail, &tn_ops);
	tn_init(&a, &tn_ops);
	fail.start_ret = -EAGAIN;
	ASSERT_EQ(mmu_notifier_register(&a.mn, mm), 0);
	ASSERT_EQ(mmu_notifier_register(&fail.mn, mm), 0);
	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE, BASE + PG(4));
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EAGAIN);
	EXPECT_EQ(fail.ends, 1);
	EXPECT_EQ(a.ends, 1);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_NONBLOCK), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_UNBALANCED_RANGE), 1);
	EXPECT_EQ(mmn_report_count(), 1);
	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&fail.mn, mm);
	mmn_exit(mm);
}

/* -EAGAIN from a blockable range is a NONBLOCK violation (Linux WARNs) */
TEST(eagain_blockable_violation)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct tn fail;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	tn_init(&fail, &tn_ops_noend);
	fail.start_ret = -EAGAIN;
	ASSERT_EQ(mmu_notifier_register(&fail.mn, mm), 0);
	range_init(&r, mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	mmu_notifier_invalidate_range_start(&r);
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_NONBLOCK), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_NONBLOCK),
			    "callback failed with -11 in blockable context.");
	mmu_notifier_unregister(&fail.mn, mm);
	mmn_exit(mm);
}

/* any error other than -EAGAIN, even non-blockable, is a violation */
TEST(einval_nonblock_violation)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct tn fail;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	tn_init(&fail, &tn_ops_noend);
	fail.start_ret = -EINVAL;
	ASSERT_EQ(mmu_notifier_register(&fail.mn, mm), 0);
	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE, BASE + PG(1));
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EINVAL);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_NONBLOCK), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_NONBLOCK),
			    "callback failed with -22 in non-blockable context.");
	mmu_notifier_unregister(&fail.mn, mm);
	mmn_exit(mm);
}

/* sleeping in a non-blockable start is sleep-in-atomic (non_block: 1);
 * the same callback in a blockable range is fine */
TEST(sleep_in_nonblock)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct tn t;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	tn_init(&t, &tn_ops);
	t.sleep = true;
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);

	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(mmn_report_count(), 0);

	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE, BASE + PG(1));
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), 0);
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_SLEEP_IN_ATOMIC),
			    "non_block: 1");
	EXPECT_EQ(mmn_report_count(), 1);
	mmu_notifier_unregister(&t.mn, mm);
	mmn_exit(mm);
}

/* young: clear_*young results are OR-ed, test_young stops at the first */
TEST(young_callbacks)
{
	struct mm_struct *mm = mmn_mm_create();
	struct tn a, b;

	ASSERT_TRUE(mm);
	tn_init(&a, &tn_ops);
	tn_init(&b, &tn_ops);
	ASSERT_EQ(mmu_notifier_register(&a.mn, mm), 0);
	ASSERT_EQ(mmu_notifier_register(&b.mn, mm), 0);
	EXPECT_EQ(mmu_notifier_clear_flush_young(mm, BASE, BASE + PG(1)), 0);
	a.young_ret = 1;
	EXPECT_EQ(mmu_notifier_clear_flush_young(mm, BASE, BASE + PG(1)), 1);
	EXPECT_EQ(mmu_notifier_clear_young(mm, BASE, BASE + PG(1)), 1);
	EXPECT_EQ(a.young, 3);
	EXPECT_EQ(b.young, 3);
	/* b is first in the list (newest first); both asked while b says no */
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE), 1);
	EXPECT_EQ(a.test_young + b.test_young, 2);
	b.young_ret = 1;
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE), 1);
	EXPECT_EQ(b.test_young, 2);
	EXPECT_EQ(a.test_young, 1);	/* not asked: b already said yes */
	mmu_notifier_unregister(&a.mn, mm);
	mmu_notifier_unregister(&b.mn, mm);
	mmn_exit(mm);
}

/* ------------------------------------------------------------------ */
/* Eras.                                                                */

/* 6.1: change_pte and invalidate_range dispatch; range_end also calls
 * invalidate_range, range_only_end does not */
TEST(era_6_1_legacy)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct tn t;

	ASSERT_TRUE(mm);
	mmn_era = MMN_ERA_6_1;
	tn_init(&t, &tn_ops_legacy_61);
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	range_init(&r, mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	mmu_notifier_invalidate_range_start(&r);
	mmu_notifier_invalidate_range(mm, BASE, BASE + PG(1));
	mmu_notifier_change_pte(mm, BASE, __pte(0));
	mmu_notifier_invalidate_range_only_end(&r);
	EXPECT_EQ(t.inv_range, 1);
	EXPECT_EQ(t.change_pte, 1);
	EXPECT_EQ(t.ends, 1);
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(t.inv_range, 2);
	EXPECT_EQ(t.ends, 2);
	mmu_notifier_unregister(&t.mn, mm);
	mmn_exit(mm);
	mmn_era = MMN_ERA_6_12;
}

/* 6.12 has no legacy callbacks: calling one is a lab bug, not a dispatch */
TEST(era_6_12_no_legacy)
{
	struct mm_struct *mm = mmn_mm_create();
	struct tn t;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	tn_init(&t, &tn_ops_legacy_61);
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	mmu_notifier_change_pte(mm, BASE, __pte(0));
	mmu_notifier_invalidate_range(mm, BASE, BASE + PG(1));
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(t.change_pte, 0);
	EXPECT_EQ(t.inv_range, 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LAB_BUG), 2);
	mmu_notifier_unregister(&t.mn, mm);
	mmn_exit(mm);
}

/* 2.6.33: callbacks under rcu_read_lock (atomic, not blockable),
 * change_pte falls back to invalidate_page, no interval notifiers */
TEST(era_2_6_33)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_interval_notifier isub;
	struct mmn_recorder *rec;
	struct tn t;
	int err;

	ASSERT_TRUE(mm);
	mmn_era = MMN_ERA_2_6_33;
	tn_init(&t, &tn_ops_legacy_page);
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	rec = mmn_recorder_create(mm, MMN_REC_LEGACY, &err);
	ASSERT_TRUE(rec);
	mmn_recorder_set_base(rec, BASE);

	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	mmu_notifier_change_pte(mm, BASE, __pte(0));
	mmu_notifier_invalidate_page(mm, BASE + PG(1));
	EXPECT_EQ(t.starts, 1);
	EXPECT_EQ(t.inv_page, 2);	/* the change_pte fallback + one */
	ASSERT_STR_CONTAINS(mmn_recorder_text(rec),
		"start CLEAR [+0x0,+0x1000) blk=0 atomic=1\n"
		"end CLEAR [+0x0,+0x1000) blk=0 atomic=1\n"
		"change_pte +0x0 atomic=1\n"
		"invalidate_page +0x1000 atomic=1\n");
	EXPECT_EQ(mmu_interval_notifier_insert(&isub, mm, BASE, PG(1), NULL),
		  -EOPNOTSUPP);
	mmn_recorder_unregister(rec);
	ASSERT_STR_CONTAINS(mmn_recorder_text(rec), "release\n");
	mmn_recorder_destroy(rec);
	mmu_notifier_unregister(&t.mn, mm);
	EXPECT_EQ(t.releases, 1);
	mmn_exit(mm);
	mmn_era = MMN_ERA_6_12;
}

/* ------------------------------------------------------------------ */
/* Interval notifiers.                                                  */

struct ti {
	struct mmu_interval_notifier isub;
	spinlock_t lock;		/* the driver lock of the protocol */
	bool ret;			/* what invalidate returns */
	int calls;
	unsigned long last_seq;
	enum mmu_notifier_event last_event;
	bool last_blockable;
};

static bool ti_invalidate(struct mmu_interval_notifier *isub,
			  const struct mmu_notifier_range *range,
			  unsigned long cur_seq)
{
	struct ti *t = container_of(isub, struct ti, isub);

	if (!t->ret)
		return false;
	spin_lock(&t->lock);
	mmu_interval_set_seq(isub, cur_seq);
	t->calls++;
	t->last_seq = cur_seq;
	t->last_event = range->event;
	t->last_blockable = mmu_notifier_range_blockable(range);
	spin_unlock(&t->lock);
	return true;
}

static const struct mmu_interval_notifier_ops ti_ops = {
	.invalidate = ti_invalidate,
};

static int ti_insert(struct ti *t, struct mm_struct *mm, unsigned long start,
		     unsigned long len)
{
	memset(t, 0, sizeof(*t));
	spin_lock_init(&t->lock);
	t->ret = true;
	return mmu_interval_notifier_insert(&t->isub, mm, start, len, &ti_ops);
}

/* seq: even when idle, odd during an invalidation that hits, even after;
 * read_retry sees the collision; a miss changes nothing */
TEST(interval_seq_protocol)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	unsigned long seq, mm_seq;
	struct ti t;

	ASSERT_TRUE(mm);
	ASSERT_EQ(ti_insert(&t, mm, BASE, PG(4)), 0);
	EXPECT_EQ(t.isub.start, BASE);
	EXPECT_EQ(t.isub.last, BASE + PG(4) - 1);
	mm_seq = __mmn_notifier_mm_seq(mm);
	EXPECT_EQ(mm_seq, 2);
	EXPECT_EQ(t.isub.invalidate_seq, mm_seq - 1);
	seq = mmu_interval_read_begin(&t.isub);	/* idle: does not wait */
	EXPECT_EQ(seq, mm_seq - 1);
	EXPECT_FALSE(mmu_interval_read_retry(&t.isub, seq));

	/* a range next to it, not overlapping: nothing */
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE + PG(4), BASE + PG(8));
	EXPECT_EQ(t.calls, 0);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), mm_seq);
	EXPECT_FALSE(mmu_interval_read_retry(&t.isub, seq));

	/* an overlapping one */
	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE + PG(3), BASE + PG(5));
	mmu_notifier_invalidate_range_start(&r);
	EXPECT_EQ(t.calls, 1);
	EXPECT_EQ(t.last_seq, mm_seq + 1);
	EXPECT_EQ(t.last_event, MMU_NOTIFY_UNMAP);
	EXPECT_TRUE(t.last_blockable);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), mm_seq + 1);	/* odd */
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 1);
	EXPECT_TRUE(mmu_interval_read_retry(&t.isub, seq));
	EXPECT_TRUE(mmu_interval_check_retry(&t.isub, seq));
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), mm_seq + 2);	/* even */
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 0);

	/* begin again: the odd seq of the finished invalidation, no wait */
	seq = mmu_interval_read_begin(&t.isub);
	EXPECT_EQ(seq, mm_seq + 1);
	EXPECT_FALSE(mmu_interval_read_retry(&t.isub, seq));

	/* nested ranges: one odd period, even only after the outer end */
	{
		struct mmu_notifier_range outer, inner;

		range_init(&outer, mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
		range_init(&inner, mm, MMU_NOTIFY_CLEAR, BASE + PG(1), BASE + PG(2));
		mmu_notifier_invalidate_range_start(&outer);
		mmu_notifier_invalidate_range_start(&inner);
		EXPECT_EQ(t.calls, 3);
		EXPECT_EQ(t.last_seq, mm_seq + 3);
		EXPECT_EQ(__mmn_notifier_active_ranges(mm), 2);
		mmu_notifier_invalidate_range_end(&inner);
		EXPECT_EQ(__mmn_notifier_mm_seq(mm), mm_seq + 3);
		mmu_notifier_invalidate_range_end(&outer);
		EXPECT_EQ(__mmn_notifier_mm_seq(mm), mm_seq + 4);
	}
	EXPECT_TRUE(mmu_interval_read_retry(&t.isub, seq));

	mmu_interval_notifier_remove(&t.isub);
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(4));
	EXPECT_EQ(t.calls, 3);
	mmn_exit(mm);
}

/* insert during an invalidation that hits: deferred to the last end, and
 * started at the odd seq; removing a pending insert cancels it */
TEST(interval_deferred_insert)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r1, r2;
	struct ti a, b, c;
	unsigned long odd;

	ASSERT_TRUE(mm);
	ASSERT_EQ(ti_insert(&a, mm, BASE, PG(1)), 0);
	range_init(&r1, mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(16));
	mmu_notifier_invalidate_range_start(&r1);
	odd = __mmn_notifier_mm_seq(mm);
	EXPECT_EQ(odd & 1, 1);

	ASSERT_EQ(ti_insert(&b, mm, BASE + PG(2), PG(1)), 0);
	EXPECT_TRUE(interval_tree_node_empty(&b.isub.interval_tree));
	EXPECT_EQ(b.isub.invalidate_seq, odd);
	ASSERT_EQ(ti_insert(&c, mm, BASE + PG(3), PG(1)), 0);

	/* a second range over b: b is not in the tree yet */
	range_init(&r2, mm, MMU_NOTIFY_CLEAR, BASE + PG(2), BASE + PG(3));
	mmu_notifier_invalidate_range_start(&r2);
	EXPECT_EQ(b.calls, 0);
	mmu_notifier_invalidate_range_end(&r2);
	EXPECT_TRUE(interval_tree_node_empty(&b.isub.interval_tree));

	mmu_interval_notifier_remove(&c.isub);	/* pending: no wait */

	mmu_notifier_invalidate_range_end(&r1);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), odd + 1);
	EXPECT_FALSE(interval_tree_node_empty(&b.isub.interval_tree));
	EXPECT_TRUE(interval_tree_node_empty(&c.isub.interval_tree));

	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(16));
	EXPECT_EQ(a.calls, 2);
	EXPECT_EQ(b.calls, 1);
	EXPECT_EQ(c.calls, 0);
	mmu_interval_notifier_remove(&a.isub);
	mmu_interval_notifier_remove(&b.isub);
	mmn_exit(mm);
}

/* insert while ranges run that hit nothing: inserted at once, but seq is
 * made odd so its first read_begin waits those ranges out */
TEST(interval_insert_partially_excluded)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct ti a, b;
	unsigned long even;

	ASSERT_TRUE(mm);
	ASSERT_EQ(ti_insert(&a, mm, BASE + PG(100), PG(1)), 0);
	even = __mmn_notifier_mm_seq(mm);
	range_init(&r, mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(4));
	mmu_notifier_invalidate_range_start(&r);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), even);
	ASSERT_EQ(ti_insert(&b, mm, BASE, PG(1)), 0);
	EXPECT_FALSE(interval_tree_node_empty(&b.isub.interval_tree));
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), even + 1);
	EXPECT_EQ(b.isub.invalidate_seq, even + 1);
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), even + 2);
	EXPECT_EQ(mmu_interval_read_begin(&b.isub), even + 1);
	mmu_interval_notifier_remove(&a.isub);
	mmu_interval_notifier_remove(&b.isub);
	mmn_exit(mm);
}

/* length 0 and [start, start+len) past ULONG_MAX are refused */
TEST(interval_insert_overflow)
{
	struct mm_struct *mm = mmn_mm_create();
	struct ti t;

	ASSERT_TRUE(mm);
	EXPECT_EQ(ti_insert(&t, mm, BASE, 0), -EOVERFLOW);
	EXPECT_EQ(ti_insert(&t, mm, ULONG_MAX - 10, 100), -EOVERFLOW);
	ASSERT_EQ(ti_insert(&t, mm, ULONG_MAX - 9, 10), 0);
	EXPECT_EQ(t.isub.last, ULONG_MAX);
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, ULONG_MAX - 9);
	EXPECT_EQ(t.calls, 0);		/* ends right before it */
	invalidate(mm, MMU_NOTIFY_UNMAP, 0, ULONG_MAX);
	EXPECT_EQ(t.calls, 1);		/* [0, ULONG_MAX) covers its start */
	invalidate(mm, MMU_NOTIFY_UNMAP, ULONG_MAX - 1, ULONG_MAX);
	EXPECT_EQ(t.calls, 2);
	mmu_interval_notifier_remove(&t.isub);
	mmn_exit(mm);
}

/* an interval invalidate that cannot proceed: -EAGAIN on a non-blockable
 * range (the itree invalidation is closed, the hlist not called); false on
 * a blockable range is a violation */
TEST(interval_nonblock)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct ti a;
	struct tn t;
	unsigned long seq;

	ASSERT_TRUE(mm);
	harness_expect_violations();
	ASSERT_EQ(ti_insert(&a, mm, BASE, PG(1)), 0);
	tn_init(&t, &tn_ops);
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	a.ret = false;
	seq = __mmn_notifier_mm_seq(mm);
	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE, BASE + PG(1));
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EAGAIN);
	EXPECT_EQ(t.starts, 0);
	EXPECT_EQ(t.ends, 0);
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 0);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm), seq + 2);
	EXPECT_EQ(mmn_report_count(), 0);

	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	EXPECT_EQ(mmn_report_count_kind(MMN_V_NONBLOCK), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_NONBLOCK),
			    "returned false in blockable context.");
	EXPECT_EQ(t.starts, 1);
	mmu_notifier_unregister(&t.mn, mm);
	mmu_interval_notifier_remove(&a.isub);
	mmn_exit(mm);
}

/*
 * As in Linux 6.12: when a classic start fails a non-blockable range
 * after the interval tree was invalidated, the tree's invalidation is not
 * closed (the caller calls no end), so seq stays odd.  Pinned so that a
 * change is a decision.
 */
TEST(interval_left_open_by_hlist_failure)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmu_notifier_range r;
	struct ti a;
	struct tn fail;

	ASSERT_TRUE(mm);
	ASSERT_EQ(ti_insert(&a, mm, BASE, PG(1)), 0);
	tn_init(&fail, &tn_ops_noend);
	fail.start_ret = -EAGAIN;
	ASSERT_EQ(mmu_notifier_register(&fail.mn, mm), 0);
	range_init(&r, mm, MMU_NOTIFY_UNMAP, BASE, BASE + PG(1));
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EAGAIN);
	EXPECT_EQ(a.calls, 1);
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 1);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm) & 1, 1);
	/* clean up by hand, which Linux's OOM reaper does not do */
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 0);
	mmu_notifier_unregister(&fail.mn, mm);
	mmu_interval_notifier_remove(&a.isub);
	mmn_exit(mm);
}

/* exit: interval RELEASE over everything, then classic release */
TEST(interval_release_at_exit)
{
	struct mm_struct *mm = mmn_mm_create();
	struct ti a;
	struct tn t;

	ASSERT_TRUE(mm);
	ASSERT_EQ(ti_insert(&a, mm, BASE, PG(1)), 0);
	tn_init(&t, &tn_ops);
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	mmu_notifier_release(mm);
	EXPECT_EQ(a.calls, 1);
	EXPECT_EQ(a.last_event, MMU_NOTIFY_RELEASE);
	EXPECT_TRUE(a.last_blockable);
	EXPECT_EQ(t.releases, 1);
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 0);
	mmu_notifier_unregister(&t.mn, mm);
	EXPECT_EQ(t.releases, 1);
	mmu_interval_notifier_remove(&a.isub);
	mmn_exit(mm);
}

/* event names and the removes-mapping property come from the .def */
TEST(event_table)
{
	EXPECT_EQ(strcmp(mmu_notifier_event_name(MMU_NOTIFY_UNMAP), "UNMAP"), 0);
	EXPECT_EQ(strcmp(mmu_notifier_event_name(MMU_NOTIFY_PROTECTION_VMA),
			 "PROTECTION_VMA"), 0);
	EXPECT_EQ(strcmp(mmu_notifier_event_name(MMU_NOTIFY_EXCLUSIVE),
			 "EXCLUSIVE"), 0);
	EXPECT_EQ(MMU_NOTIFY_EXCLUSIVE, 7);
	EXPECT_TRUE(mmu_notifier_event_removes(MMU_NOTIFY_CLEAR));
	EXPECT_TRUE(mmu_notifier_event_removes(MMU_NOTIFY_RELEASE));
	EXPECT_FALSE(mmu_notifier_event_removes(MMU_NOTIFY_PROTECTION_PAGE));
	EXPECT_FALSE(mmu_notifier_event_removes(MMU_NOTIFY_SOFT_DIRTY));
}

/* ------------------------------------------------------------------ */
/* The interval tree against a brute-force list.                        */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

struct tnode {
	struct interval_tree_node it;
	bool in;
};

static bool overlaps(const struct tnode *n, unsigned long s, unsigned long l)
{
	return n->it.start <= l && s <= n->it.last;
}

/* Query [s, l] and compare with brute force; returns false on mismatch. */
static bool query_matches(struct interval_tree_root *root, struct tnode *nodes,
			  size_t n, unsigned long s, unsigned long l)
{
	struct interval_tree_node *it;
	unsigned long found = 0, expect = 0, prev = 0;
	char *seen = calloc(n, 1);
	bool ok = true;

	for (it = interval_tree_iter_first(root, s, l); it;
	     it = interval_tree_iter_next(it, s, l)) {
		struct tnode *t = container_of(it, struct tnode, it);
		size_t i = (size_t)(t - nodes);

		if (i >= n || !t->in || !overlaps(t, s, l) || seen[i] ||
		    it->start < prev)
			ok = false;
		if (i < n)
			seen[i] = 1;
		prev = it->start;
		found++;
	}
	for (size_t i = 0; i < n; i++)
		if (nodes[i].in && overlaps(&nodes[i], s, l))
			expect++;
	free(seen);
	return ok && found == expect;
}

static void random_interval(struct tnode *t, unsigned long domain)
{
	unsigned long len;

	switch (rnd() % 16) {
	case 0:		/* the top of the address space */
		t->it.last = ULONG_MAX;
		t->it.start = ULONG_MAX - rnd() % 64;
		return;
	case 1:		/* huge */
		t->it.start = rnd() % domain;
		t->it.last = t->it.start + domain;
		return;
	default:
		len = rnd() % (domain / 64 + 1);
		t->it.start = rnd() % domain;
		t->it.last = t->it.start + len;
	}
}

TEST(interval_tree_vs_bruteforce)
{
	const size_t n = 600;
	const unsigned long domain = 10000;
	struct interval_tree_root root = INTERVAL_TREE_ROOT;
	struct tnode *nodes = calloc(n, sizeof(*nodes));
	unsigned long count, live = 0;
	int bad = 0;

	ASSERT_TRUE(nodes);
	rng_state = 0x9e3779b97f4a7c15ULL;
	printf("# seed %#llx\n", (unsigned long long)rng_state);
	for (int op = 0; op < 40000 && !bad; op++) {
		struct tnode *t = &nodes[rnd() % n];

		if (t->in) {
			interval_tree_remove(&t->it, &root);
			EXPECT_TRUE(interval_tree_node_empty(&t->it));
			t->in = false;
			live--;
		} else {
			random_interval(t, domain);
			interval_tree_insert(&t->it, &root);
			t->in = true;
			live++;
		}
		if (op % 8 == 0) {
			if (!mmn_interval_tree_is_valid(&root, &count) ||
			    count != live) {
				harness_fail(__FILE__, __LINE__,
					     "tree invalid after op %d", op);
				bad++;
			}
		}
		for (int q = 0; q < 3; q++) {
			unsigned long s = rnd() % (domain + domain / 4), l;

			l = rnd() % 4 ? s + rnd() % (domain / 32) : ULONG_MAX;
			if (!query_matches(&root, nodes, n, s, l)) {
				harness_fail(__FILE__, __LINE__,
					     "query [%lu, %lu] differs at op %d",
					     s, l, op);
				bad++;
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (nodes[i].in)
			interval_tree_remove(&nodes[i].it, &root);
	EXPECT_TRUE(interval_tree_empty(&root));
	free(nodes);
}

/* 10^5 intervals: inserts, overlap queries and removes stay logarithmic */
TEST(interval_tree_scale)
{
	const size_t n = 100000;
	struct interval_tree_root root = INTERVAL_TREE_ROOT;
	struct tnode *nodes = calloc(n, sizeof(*nodes));
	size_t *order = calloc(n, sizeof(*order));
	unsigned long count;
	int height;

	ASSERT_TRUE(nodes && order);
	rng_state = 12345;
	for (size_t i = 0; i < n; i++) {
		/* one page each, in random order, with some big ones */
		nodes[i].it.start = i * PAGE_SIZE;
		nodes[i].it.last = i * PAGE_SIZE + (i % 97 ? PAGE_SIZE :
						     PMD_SIZE) - 1;
		order[i] = i;
	}
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < n; i++) {
		interval_tree_insert(&nodes[order[i]].it, &root);
		nodes[order[i]].in = true;
	}
	ASSERT_TRUE(mmn_interval_tree_is_valid(&root, &count));
	EXPECT_EQ(count, n);
	height = root.node->__height;
	ASSERT_LE(height, 25);		/* AVL: <= 1.44 log2(n + 2) */
	for (int q = 0; q < 200; q++) {
		unsigned long s = (rnd() % n) * PAGE_SIZE;

		if (!query_matches(&root, nodes, n, s, s + rnd() % (64 * PAGE_SIZE))) {
			harness_fail(__FILE__, __LINE__, "query %d differs", q);
			break;
		}
	}
	for (size_t i = 0; i < n; i += 2)
		interval_tree_remove(&nodes[order[i]].it, &root);
	ASSERT_TRUE(mmn_interval_tree_is_valid(&root, &count));
	EXPECT_EQ(count, n / 2);
	for (size_t i = 1; i < n; i += 2)
		interval_tree_remove(&nodes[order[i]].it, &root);
	EXPECT_TRUE(interval_tree_empty(&root));
	free(order);
	free(nodes);
}

/* ------------------------------------------------------------------ */
/*
 * The pinned call sequence of each primary operation, era 6.12, as a
 * recording driver sees it: a classic notifier (start/end/release/young),
 * an SVA-style notifier (arch_invalidate_secondary_tlbs), and an interval
 * notifier over A.  Sources: reference/real-kernel.md section 5 (the 6.12
 * traces: event, range, blockable, context, interval before classic) and,
 * for the flush-time arch_invalidate_secondary_tlbs lines the traces do
 * not list one by one, Linux 6.12's x86 flush_tlb_mm_range() as called by
 * ptep_clear_flush() (under the PTL), tlb_finish_mmu() (after range_end,
 * only for ptes whose change needs a flush: pte_needs_flush()) and
 * dup_mmap()'s flush_tlb_mm() (everything, after the last range_end).
 *
 *   A   0x10000000, 16 pages, private anon RW, touched, interval over it
 *   A2  0x10400000, 4 pages, private anon RW, touched
 *   U   0x10800000, 4 pages, private anon RW, never touched (no anon_vma)
 *   S   0x10c00000, 4 pages, shared anon RW, touched
 *   F   0x200000000000, 4 pages, private anon RW, never touched, alone in
 *       its PUD (mprotect starts its range at the first populated PUD)
 */
#define A	0x10000000UL
#define A2	0x10400000UL
#define U	0x10800000UL
#define S	0x10c00000UL
#define F	0x200000000000UL

struct seq_fixture {
	struct mm_struct *mm;
	struct mmn_recorder *rec;
};

static int map_fixed(struct mm_struct *mm, unsigned long addr,
		     unsigned long len, int flags)
{
	long ret = mmn_mmap(mm, addr, len, PROT_READ | PROT_WRITE,
			    flags | MAP_ANONYMOUS | MAP_FIXED);

	return ret == (long)addr ? 0 : -1;
}

static int touch(struct mm_struct *mm, unsigned long addr, int pages)
{
	for (int i = 0; i < pages; i++)
		if (mmn_store(mm, addr + PG(i), 0x1000 + i))
			return -1;
	return 0;
}

/* Map and populate; the recorder starts with an empty log. */
static bool seq_setup(struct seq_fixture *f)
{
	int err;

	f->mm = mmn_mm_create();
	if (!f->mm || map_fixed(f->mm, A, PG(16), MAP_PRIVATE) ||
	    map_fixed(f->mm, A2, PG(4), MAP_PRIVATE) ||
	    map_fixed(f->mm, U, PG(4), MAP_PRIVATE) ||
	    map_fixed(f->mm, S, PG(4), MAP_SHARED) ||
	    map_fixed(f->mm, F, PG(4), MAP_PRIVATE))
		return false;
	f->rec = mmn_recorder_create(f->mm, MMN_REC_TLBS, &err);
	if (!f->rec || mmn_recorder_add_interval(f->rec, A, PG(16)))
		return false;
	mmn_recorder_set_base(f->rec, A);
	/* fault-in: fresh anonymous memory is populated without a callback */
	if (touch(f->mm, A, 16) || touch(f->mm, A2, 4) || touch(f->mm, S, 4))
		return false;
	return true;
}

static void seq_teardown(struct seq_fixture *f)
{
	if (f->mm)
		mmn_exit(f->mm);
	mmn_recorder_destroy(f->rec);
}

#define EXPECT_LOG(f, text) do {					\
	const char *__log = mmn_recorder_text((f)->rec);		\
	if (strcmp(__log, (text)))					\
		harness_fail(__FILE__, __LINE__,			\
			     "log differs\n--- expected\n%s--- got\n%s", \
			     (text), __log);				\
	mmn_recorder_clear((f)->rec);					\
} while (0)

/* page faults that populate fresh anonymous memory notify nobody */
TEST(seq_fault_in)
{
	struct seq_fixture f = { 0 };

	ASSERT_TRUE(seq_setup(&f));
	EXPECT_LOG(&f, "");
	seq_teardown(&f);
}

/* fork: PROTECTION_PAGE on the parent for each COW VMA with an anon_vma,
 * whole VMA; nothing for U (never touched) or S (shared); then the
 * parent's flush_tlb_mm */
TEST(seq_fork)
{
	struct seq_fixture f = { 0 };
	struct mm_struct *child;
	int err;

	ASSERT_TRUE(seq_setup(&f));
	child = mmn_fork(f.mm, &err);
	ASSERT_TRUE(child);
	EXPECT_LOG(&f,
		"interval PROTECTION_PAGE [+0x0,+0x10000) blk=1 seq=3\n"
		"start PROTECTION_PAGE [+0x0,+0x10000) blk=1 atomic=0\n"
		"end PROTECTION_PAGE [+0x0,+0x10000) blk=1 atomic=0\n"
		"start PROTECTION_PAGE [+0x400000,+0x404000) blk=1 atomic=0\n"
		"end PROTECTION_PAGE [+0x400000,+0x404000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [0x0,0xffffffffffffffff) atomic=0\n");
	mmn_exit(child);
	EXPECT_LOG(&f, "");	/* the child's teardown is not the parent's */
	seq_teardown(&f);
}

/* a write to a COW page while the child lives: CLEAR over one page, the
 * secondary TLB flush under the PT lock, end; after the child exited the
 * page is reused: nothing */
TEST(seq_cow)
{
	struct seq_fixture f = { 0 };
	struct mm_struct *child;
	int err;

	ASSERT_TRUE(seq_setup(&f));
	child = mmn_fork(f.mm, &err);
	ASSERT_TRUE(child);
	mmn_recorder_clear(f.rec);
	ASSERT_EQ(mmn_store(f.mm, A + PG(2), 7), 0);
	EXPECT_LOG(&f,
		"interval CLEAR [+0x2000,+0x3000) blk=1 seq=5\n"
		"start CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x2000,+0x3000) atomic=1\n"
		"end CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n");
	ASSERT_EQ(mmn_store(f.mm, A + PG(2), 8), 0);	/* now writable */
	EXPECT_LOG(&f, "");
	mmn_exit(child);
	ASSERT_EQ(mmn_store(f.mm, A + PG(3), 9), 0);	/* reuse, no copy */
	EXPECT_LOG(&f, "");
	seq_teardown(&f);
}

/* MADV_DONTNEED: CLEAR over the range; the flush (tlb_finish_mmu) after
 * range_end */
TEST(seq_dontneed)
{
	struct seq_fixture f = { 0 };

	ASSERT_TRUE(seq_setup(&f));
	ASSERT_EQ(mmn_madvise(f.mm, A + PG(4), PG(4), MADV_DONTNEED), 0);
	EXPECT_LOG(&f,
		"interval CLEAR [+0x4000,+0x8000) blk=1 seq=3\n"
		"start CLEAR [+0x4000,+0x8000) blk=1 atomic=0\n"
		"end CLEAR [+0x4000,+0x8000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x4000,+0x8000) atomic=0\n");
	seq_teardown(&f);
}

/* mprotect: PROTECTION_VMA over the range from the first populated PUD;
 * RO flushes (after range_end), and so does RW where it makes exclusive
 * pages writable at once (x86 flushes on an RW change either way);
 * nothing when no PUD of the range is populated */
TEST(seq_mprotect)
{
	struct seq_fixture f = { 0 };

	ASSERT_TRUE(seq_setup(&f));
	ASSERT_EQ(mmn_mprotect(f.mm, A, PG(16), PROT_READ), 0);
	EXPECT_LOG(&f,
		"interval PROTECTION_VMA [+0x0,+0x10000) blk=1 seq=3\n"
		"start PROTECTION_VMA [+0x0,+0x10000) blk=1 atomic=0\n"
		"end PROTECTION_VMA [+0x0,+0x10000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x0,+0x10000) atomic=0\n");
	ASSERT_EQ(mmn_mprotect(f.mm, A, PG(16), PROT_READ | PROT_WRITE), 0);
	EXPECT_LOG(&f,
		"interval PROTECTION_VMA [+0x0,+0x10000) blk=1 seq=5\n"
		"start PROTECTION_VMA [+0x0,+0x10000) blk=1 atomic=0\n"
		"end PROTECTION_VMA [+0x0,+0x10000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x0,+0x10000) atomic=0\n");
	ASSERT_EQ(mmn_mprotect(f.mm, F, PG(4), PROT_READ), 0);
	EXPECT_LOG(&f, "");
	seq_teardown(&f);
}

/* munmap: UNMAP over the range, the flush after range_end */
TEST(seq_munmap)
{
	struct seq_fixture f = { 0 };

	ASSERT_TRUE(seq_setup(&f));
	ASSERT_EQ(mmn_munmap(f.mm, A + PG(8), PG(8)), 0);
	EXPECT_LOG(&f,
		"interval UNMAP [+0x8000,+0x10000) blk=1 seq=3\n"
		"start UNMAP [+0x8000,+0x10000) blk=1 atomic=0\n"
		"end UNMAP [+0x8000,+0x10000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x8000,+0x10000) atomic=0\n");
	seq_teardown(&f);
}

/* exit: interval RELEASE over everything, ->release of each classic
 * notifier (newest first), then UNMAP over everything for the interval
 * notifier only: the classic ones are unhashed and get no start/end, and
 * the SVA one no flush */
TEST(seq_exit)
{
	struct seq_fixture f = { 0 };

	ASSERT_TRUE(seq_setup(&f));
	mmn_exit(f.mm);
	f.mm = NULL;
	EXPECT_LOG(&f,
		"interval RELEASE [0x0,0xffffffffffffffff) blk=1 seq=3\n"
		"release tlbs\n"
		"release\n"
		"interval UNMAP [0x0,0xffffffffffffffff) blk=1 seq=5\n");
	seq_teardown(&f);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* the interval notifier is removed: its callbacks stop; unregister calls
 * ->release of both classic notifiers */
TEST(seq_remove_and_unregister)
{
	struct seq_fixture f = { 0 };

	ASSERT_TRUE(seq_setup(&f));
	mmn_recorder_remove_interval(f.rec);
	ASSERT_EQ(mmn_madvise(f.mm, A, PG(1), MADV_DONTNEED), 0);
	EXPECT_LOG(&f,
		"start CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"end CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x0,+0x1000) atomic=0\n");
	mmn_recorder_unregister(f.rec);
	EXPECT_LOG(&f, "release tlbs\nrelease\n");
	ASSERT_EQ(mmn_munmap(f.mm, A, PG(16)), 0);
	EXPECT_LOG(&f, "");
	seq_teardown(&f);
}

/* ------------------------------------------------------------------ */
/* The observer hook (for check/ and the controlled scheduler).         */

static char hook_log[1024];

static void hook_fn(const struct mn_call *c, bool exit)
{
	size_t n = strlen(hook_log);

	snprintf(hook_log + n, sizeof(hook_log) - n, "%s %s ret=%ld\n",
		 exit ? "exit" : "enter", __mmn_notifier_callback_name(c->cb),
		 exit ? c->ret : 0L);
}

/* every callback is bracketed by the hook; interval subscriptions get a
 * synthetic interval_end at range_end */
TEST(observer_hook)
{
	struct mm_struct *mm = mmn_mm_create();
	struct ti a;
	struct tn t;

	ASSERT_TRUE(mm);
	ASSERT_EQ(ti_insert(&a, mm, BASE, PG(1)), 0);
	tn_init(&t, &tn_ops);
	ASSERT_EQ(mmu_notifier_register(&t.mn, mm), 0);
	hook_log[0] = 0;
	__atomic_store_n(&__mmn_notifier_hook, hook_fn, __ATOMIC_RELEASE);
	invalidate(mm, MMU_NOTIFY_CLEAR, BASE, BASE + PG(1));
	__atomic_store_n(&__mmn_notifier_hook, NULL, __ATOMIC_RELEASE);
	EXPECT_EQ(strcmp(hook_log,
		"enter invalidate ret=0\n"
		"exit invalidate ret=1\n"
		"enter invalidate_range_start ret=0\n"
		"exit invalidate_range_start ret=0\n"
		"exit interval_end ret=0\n"
		"enter invalidate_range_end ret=0\n"
		"exit invalidate_range_end ret=0\n"), 0);
	if (harness_failed)
		printf("%s", hook_log);
	mmu_notifier_unregister(&t.mn, mm);
	mmu_interval_notifier_remove(&a.isub);
	mmn_exit(mm);
}
