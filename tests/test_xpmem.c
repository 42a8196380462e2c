// SPDX-License-Identifier: GPL-2.0
/*
 * xpmem (src/mirrors/xpmem.c), deterministic: one task that plays A's
 * thread or B's thread (current->mm says which: end-only filters on it),
 * sequential steps.  B's loads and stores go through its PFN-mapped
 * attachment and are checked against A's locations.
 *   sync-start  silent through fork/COW, munmap, mprotect, DONTNEED; fails
 *               a non-blockable range with pages attached (-EAGAIN, legal);
 *               in era 2.6.33 its mutex is sleep-in-atomic;
 *   end-only    B uses A's old frame between A's pte change and range_end
 *               (stale-read), and forever when a thread outside A raised
 *               the invalidation (the filter);
 *   deferred    B writes the frame A's COW consumed (lost-write).
 * The window is entered from a notifier registered after the driver's, so
 * that its range_end runs first.
 */
#include "harness.h"

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>

#include "check/check.h"
#include "mirrors/xpmem.h"

#ifndef EXPECT_GE
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#define EXPECT_GT(a, b) __H_CMP(0, a, >, b)
#endif

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define NPAGES	4

#define VAL_A	0xaaaa0001ULL
#define VAL_B	0xbbbb0002ULL
#define VAL_C	0xcccc0003ULL
#define VAL_D	0xdddd0004ULL

struct rig {
	struct mm_struct *a, *b, *child;
	struct mmn_device *dev;
	unsigned long va, at;		/* A's range, B's attachment */
	long segid;
	/* B's access from inside A's range_end */
	struct mmu_notifier mn;
	bool probe;
	int event;
	bool write;
	uint64_t val;
	int ret, calls;
	bool b_mapped;			/* B's pte was present at the probe */
};

static void as_a(struct rig *g)
{
	mmn_current()->mm = g->a;
}

static void as_b(struct rig *g)
{
	mmn_current()->mm = g->b;
}

static void as_kthread(void)
{
	mmn_current()->mm = NULL;
}

static void probe_end(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *range)
{
	struct rig *g = container_of(mn, struct rig, mn);
	struct mm_struct *was = mmn_current()->mm;
	unsigned long pfn;

	if (!g->probe || (int)range->event != g->event)
		return;
	g->calls++;
	/* only if B still maps it: a fault here would take A's mmap_lock */
	g->b_mapped = !mmn_follow_pte(g->b, g->at, &pfn, NULL);
	if (!g->b_mapped)
		return;
	as_b(g);
	g->ret = g->write ? mmn_store(g->b, g->at, g->val) :
			    mmn_load(g->b, g->at, &g->val);
	mmn_current()->mm = was;
}

static int probe_start(struct mmu_notifier *mn,
		       const struct mmu_notifier_range *range)
{
	return 0;
}

static const struct mmu_notifier_ops probe_ops = {
	.invalidate_range_start = probe_start,
	.invalidate_range_end = probe_end,
};

static int rig_init(struct rig *g, const char *form)
{
	int err;
	long at;

	memset(g, 0, sizeof(*g));
	mmn_check_begin();
	g->a = mmn_mm_create();
	g->b = mmn_mm_create();
	as_a(g);
	g->va = mmn_mmap(g->a, 0, NPAGES * PG, RW, PRIV);
	if ((long)g->va < 0)
		return (int)g->va;
	g->dev = mmn_device_create(mmn_driver_xpmem.ops, g->a, form, &err);
	if (!g->dev)
		return err;
	g->segid = xpmem_make(g->dev, g->va, NPAGES * PG);
	if (g->segid < 0)
		return (int)g->segid;
	at = xpmem_attach(g->dev, g->b, xpmem_get(g->dev, g->segid), 0,
			  NPAGES * PG, 0);
	if (at < 0)
		return (int)at;
	g->at = at;
	/* after the driver's notifiers: this end runs first */
	g->mn.ops = &probe_ops;
	g->event = -1;
	return mmu_notifier_register(&g->mn, g->a);
}

static unsigned long rig_fini(struct rig *g)
{
	unsigned long mismatches = mmn_check_audit();

	as_kthread();
	mmu_notifier_unregister(&g->mn, g->a);
	if (xpmem_remove(g->dev, g->segid))
		harness_fail(__FILE__, __LINE__, "xpmem_remove failed");
	mmn_device_destroy(g->dev);
	if (g->child)
		mmn_exit(g->child);
	mmn_exit(g->b);
	mmn_exit(g->a);
	mmn_check_end();
	return mismatches;
}

/* sync-start through every operation of A: B always sees A's memory */
TEST(sync_start_silent_fork_cow_munmap_mprotect_dontneed)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "sync-start"), 0);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	EXPECT_EQ(v, VAL_A);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	ASSERT_EQ(mmn_store(g.b, g.at + PG, VAL_B), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 2);
	as_a(&g);
	ASSERT_EQ(mmn_load(g.a, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	/* fork: B is zapped at the start, re-faults after the COW */
	g.child = mmn_fork(g.a, &err);
	ASSERT_TRUE(g.child);
	EXPECT_EQ(xpmem_pinned(g.dev), 0);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_C), 0);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_D), 0);
	/* B's write fault breaks COW in A for the second page */
	ASSERT_EQ(mmn_store(g.b, g.at + PG, VAL_C), 0);
	as_a(&g);
	ASSERT_EQ(mmn_load(g.a, g.va, &v), 0);
	EXPECT_EQ(v, VAL_D);
	ASSERT_EQ(mmn_load(g.a, g.va + PG, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(mmn_load(g.child, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	ASSERT_EQ(mmn_load(g.child, g.va + PG, &v), 0);
	EXPECT_EQ(v, VAL_B);
	/* DONTNEED in A: B reads zero */
	ASSERT_EQ(mmn_madvise(g.a, g.va, PG, MADV_DONTNEED), 0);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	EXPECT_EQ(v, 0);
	/* mprotect in A: B's attachment needs a writable source */
	as_a(&g);
	ASSERT_EQ(mmn_mprotect(g.a, g.va + PG, PG, PROT_READ), 0);
	as_b(&g);
	EXPECT_EQ(mmn_load(g.b, g.at + PG, &v), -EFAULT);
	as_a(&g);
	ASSERT_EQ(mmn_mprotect(g.a, g.va + PG, PG, RW), 0);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at + PG, &v), 0);
	EXPECT_EQ(v, VAL_C);
	/* munmap in A: B gets SIGBUS */
	as_a(&g);
	ASSERT_EQ(mmn_munmap(g.a, g.va + 2 * PG, PG), 0);
	as_b(&g);
	EXPECT_EQ(mmn_load(g.b, g.at + 2 * PG, &v), -EFAULT);
	EXPECT_EQ(xpmem_pinned(g.dev), 2);
	as_kthread();
	EXPECT_EQ(xpmem_detach(g.dev, g.b, g.at), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* detach unpins; the device's own accesses (ops->dma) attach lazily */
TEST(detach_unpins_and_device_access)
{
	struct rig g;
	uint64_t v = VAL_D;

	ASSERT_EQ(rig_init(&g, "sync-start"), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at + 3 * PG, VAL_A), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 1);
	EXPECT_EQ(xpmem_detach(g.dev, g.b, g.at), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 0);
	EXPECT_EQ(mmn_load(g.b, g.at, &v), -EFAULT);
	as_kthread();
	ASSERT_EQ(mmn_device_access(g.dev, g.va + PG, true, &v), 0);
	ASSERT_EQ(mmn_device_access(g.dev, g.va + 3 * PG, false, &v), 0);
	EXPECT_EQ(v, VAL_A);
	as_a(&g);
	ASSERT_EQ(mmn_load(g.a, g.va + PG, &v), 0);
	EXPECT_EQ(v, VAL_D);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* near miss: sync-start zapped B at the start; nothing to use in the window */
TEST(sync_start_window_empty)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "sync-start"), 0);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	as_a(&g);
	g.probe = true;
	g.event = MMU_NOTIFY_CLEAR;
	g.write = true;
	g.val = VAL_C;
	ASSERT_EQ(mmn_madvise(g.a, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(g.calls, 1);
	EXPECT_FALSE(g.b_mapped);
	ASSERT_EQ(mmn_load(g.a, g.va, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* end-only: B writes A's old frame between A's DONTNEED and its end */
TEST(end_only_window_caught)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "end-only"), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	as_a(&g);
	g.probe = true;
	g.event = MMU_NOTIFY_CLEAR;
	g.write = true;
	g.val = VAL_C;
	ASSERT_EQ(mmn_madvise(g.a, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(g.calls, 1);
	EXPECT_TRUE(g.b_mapped);
	EXPECT_EQ(g.ret, 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 0);	/* the end zapped and unpinned */
	/* A's page is fresh: B's write went to the old frame */
	ASSERT_EQ(mmn_load(g.a, g.va, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ),
			    "last write to this location was 0xcccc0003");
	rig_fini(&g);
}

/* end-only: B's write during A's fork leaks into the child */
TEST(end_only_fork_window_caught)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "end-only"), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	as_a(&g);
	g.probe = true;
	g.event = MMU_NOTIFY_PROTECTION_PAGE;
	g.write = true;
	g.val = VAL_C;
	g.child = mmn_fork(g.a, &err);
	ASSERT_TRUE(g.child);
	EXPECT_TRUE(g.b_mapped);
	ASSERT_EQ(mmn_load(g.child, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);		/* the child forked with VAL_B */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	rig_fini(&g);
}

/* end-only: an invalidation raised outside A's threads is dropped; B
 * keeps the old frame for good */
TEST(end_only_filter_caught)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "end-only"), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	as_kthread();				/* e.g. a reclaim thread */
	ASSERT_EQ(mmn_madvise(g.a, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 1);	/* nobody unpinned */
	as_a(&g);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_C), 0);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	EXPECT_EQ(v, VAL_A);			/* still the old frame */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	rig_fini(&g);
}

/* deferred: the zap waits for a worker; B writes the frame A's COW consumed */
TEST(deferred_lost_write_caught)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "deferred"), 0);
	harness_expect_violations();
	xpmem_hold_worker(g.dev, true);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	as_a(&g);
	g.child = mmn_fork(g.a, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_C), 0);	/* COW: X consumed */
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_D), 0);	/* still X */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LOST_WRITE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE),
			    "through a PFN map of");
	as_a(&g);
	ASSERT_EQ(mmn_load(g.a, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	xpmem_flush_deferred(g.dev);
	rig_fini(&g);
}

/* sync-start on a non-blockable range: fails with -EAGAIN while pages are
 * attached (legal), succeeds when none are */
TEST(sync_start_nonblock_eagain)
{
	struct mmu_notifier_range r;
	struct rig g;

	ASSERT_EQ(rig_init(&g, "sync-start"), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	as_a(&g);
	mmu_notifier_range_init(&r, MMU_NOTIFY_UNMAP, 0, g.a, g.va, g.va + PG);
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), -EAGAIN);
	mmu_notifier_range_init(&r, MMU_NOTIFY_UNMAP, 0, g.a, g.va + PG,
				g.va + 2 * PG);
	ASSERT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), 0);
	mmu_notifier_invalidate_range_end(&r);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* era 2.6.33: the sleeping zap runs under rcu_read_lock */
TEST(sync_start_sleep_in_atomic_2_6_33)
{
	struct rig g;
	const char *t;

	mmn_era = MMN_ERA_2_6_33;
	ASSERT_EQ(rig_init(&g, "sync-start"), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	as_a(&g);
	ASSERT_EQ(mmn_madvise(g.a, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_GE(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	t = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(t, "BUG: sleeping function called from invalid context");
	ASSERT_STR_CONTAINS(t, "RCU nest depth: 1, expected: 0");
	rig_fini(&g);
	mmn_era = MMN_ERA_6_12;
}
