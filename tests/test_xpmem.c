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
 * Truncate of a file A maps (era 2.6.33: under the i_mmap_lock spinlock):
 *   plain 2.6.33  sync-start's mutex is sleep-in-atomic;
 *   2.6.33+holt   Robin Holt's protocol: the atomic range_start refuses
 *                 while a page of the hole is attached, the unlocked
 *                 retry zaps B and unpins, the restart goes through:
 *                 silent, B gets SIGBUS beyond the new EOF.  Explored
 *                 against a concurrent munmap: the unlocked retry as v2
 *                 posted it (vma->vm_mm read after the unlock, no pin)
 *                 reads the freed VMA -- AddressSanitizer's
 *                 heap-use-after-free, Andrea's objection; with the
 *                 mm_count pin, clean.
 * The window is entered from a notifier registered after the driver's, so
 * that its range_end runs first.
 */
#include "harness.h"

#include <mmn/device.h>
#include <mmn/era.h>
#include <mmn/recorder.h>
#include <mmn/linux/mmu_notifier.h>

#include <mmn/explore.h>

#include "check/check.h"
#include "mirrors/xpmem.h"
#include "mm/internal.h"

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
	struct file *f;			/* A's mapping is this file's, if set */
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

static int __rig_init(struct rig *g, const char *form, bool file)
{
	int err;
	long at;

	memset(g, 0, sizeof(*g));
	mmn_check_begin();
	g->a = mmn_mm_create();
	g->b = mmn_mm_create();
	as_a(g);
	if (file) {
		g->f = mmn_file_create(NPAGES * PG, &err);
		if (!g->f)
			return err;
		g->va = mmn_mmap_file(g->a, 0, NPAGES * PG, RW, MAP_SHARED, g->f, 0);
	} else {
		g->va = mmn_mmap(g->a, 0, NPAGES * PG, RW, PRIV);
	}
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

static int rig_init(struct rig *g, const char *form)
{
	return __rig_init(g, form, false);
}

/* A maps a file of NPAGES pages, shared */
static int rig_init_file(struct rig *g, const char *form)
{
	return __rig_init(g, form, true);
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
	if (g->f)
		mmn_file_close(g->f);
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

/* era 2.6.33, truncate: the zap runs under the i_mmap_lock spinlock (and
 * rcu_read_lock): sync-start's mutex is sleep-in-atomic there */
TEST(sync_start_truncate_sleep_in_atomic_2_6_33)
{
	struct rig g;
	const char *t;

	mmn_era = MMN_ERA_2_6_33;
	ASSERT_EQ(rig_init_file(&g, "sync-start"), 0);
	harness_expect_violations();
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at + 2 * PG, VAL_B), 0);
	as_a(&g);
	ASSERT_EQ(mmn_file_truncate(g.f, PG), 0);
	EXPECT_GE(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	t = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(t, "BUG: sleeping function called from invalid context");
	ASSERT_STR_CONTAINS(t, "i_mmap_lock");
	rig_fini(&g);
	mmn_era = MMN_ERA_6_12;
}

/*
 * era 2.6.33+holt, truncate 4 -> 1 page with B attached to pages 0 and 2:
 * XPMEM refuses the atomic start (page 2 is attached), the unlocked retry
 * zaps B's page 2 and unpins it, the restarted walk's atomic start finds
 * nothing attached and the zap goes through.  No violation; B's page 0
 * stays attached, page 2 is beyond the new end of the file.
 */
TEST(holt_truncate_refuses_then_clears)
{
	struct mmn_recorder *rec;
	struct rig g;
	uint64_t v;
	int err;

	mmn_era = MMN_ERA_2_6_33;
	mmn_era_opts = MMN_ERA_OPT_HOLT;
	ASSERT_EQ(rig_init_file(&g, "sync-start"), 0);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at + 2 * PG, VAL_B), 0);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(xpmem_pinned(g.dev), 2);
	as_a(&g);
	rec = mmn_recorder_create(g.a, MMN_REC_HOLT, &err);
	ASSERT_TRUE(rec);
	mmn_recorder_set_base(rec, g.va);
	ASSERT_EQ(mmn_file_truncate(g.f, PG), 0);
	/* the recorder's own start returns 0: XPMEM's refusal shows as the
	 * unlocked retry (atomic=0) and the restart */
	ASSERT_STR_CONTAINS(mmn_recorder_text(rec),
		"start_atomic [+0x1000,+0x4000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x1000,+0x4000) blk=0 atomic=1\n"
		"start_atomic [+0x1000,+0x4000) arg=0 ret=0 atomic=0\n"
		"end CLEAR [+0x1000,+0x4000) blk=0 atomic=0\n"
		"start_atomic [+0x1000,+0x4000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x1000,+0x4000) blk=0 atomic=1\n"
		"start_atomic [+0x1000,+0x4000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x1000,+0x4000) blk=0 atomic=1\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 8);
	EXPECT_EQ(xpmem_pinned(g.dev), 1);
	as_b(&g);
	EXPECT_EQ(mmn_load(g.b, g.at + 2 * PG, &v), -EFAULT);
	ASSERT_EQ(mmn_load(g.b, g.at, &v), 0);
	EXPECT_EQ(v, VAL_A);
	as_a(&g);
	ASSERT_EQ(mmn_file_truncate(g.f, NPAGES * PG), 0);
	ASSERT_EQ(mmn_load(g.a, g.va + 2 * PG, &v), 0);
	EXPECT_EQ(v, 0);
	mmn_recorder_destroy(rec);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
	mmn_era = MMN_ERA_6_12;
	mmn_era_opts = 0;
}

/* era 2.6.33+holt: nothing of the hole attached: no refusal, one pair per
 * pass; munmap and DONTNEED call start(0) and may sleep there (the gather
 * comes after start) */
TEST(holt_silent_truncate_munmap_dontneed)
{
	struct mmn_recorder *rec;
	struct rig g;
	uint64_t v;
	int err;

	mmn_era = MMN_ERA_2_6_33;
	mmn_era_opts = MMN_ERA_OPT_HOLT;
	ASSERT_EQ(rig_init_file(&g, "sync-start"), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	ASSERT_EQ(mmn_store(g.b, g.at + PG, VAL_B), 0);
	as_a(&g);
	rec = mmn_recorder_create(g.a, MMN_REC_HOLT, &err);
	ASSERT_TRUE(rec);
	mmn_recorder_set_base(rec, g.va);
	ASSERT_EQ(mmn_file_truncate(g.f, 2 * PG), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 4);
	EXPECT_EQ(xpmem_pinned(g.dev), 2);
	/* DONTNEED of page 1: zapped and unpinned in start(0), sleeping */
	ASSERT_EQ(mmn_madvise(g.a, g.va + PG, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 1);
	as_b(&g);
	ASSERT_EQ(mmn_load(g.b, g.at + PG, &v), 0);
	EXPECT_EQ(v, VAL_B);		/* shared file: the page cache kept it */
	as_a(&g);
	ASSERT_EQ(mmn_munmap(g.a, g.va, 2 * PG), 0);
	EXPECT_EQ(xpmem_pinned(g.dev), 0);
	as_b(&g);
	EXPECT_EQ(mmn_load(g.b, g.at, &v), -EFAULT);
	mmn_recorder_destroy(rec);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
	mmn_era = MMN_ERA_6_12;
	mmn_era_opts = 0;
}

/*
 * era 2.6.33+holt, reclaim: try_to_unmap_one still calls invalidate_page
 * under the PT lock, and XPMEM has none: it is not told.  B keeps its pte
 * to the frame; the pin keeps the page in the swap cache, and A's swap-in
 * maps that same frame again, so B's later write is what A reads --
 * "swap works by accident", and the checker, with no contract point for
 * XPMEM at this site, has nothing to report.
 */
TEST(holt_reclaim_not_told_silent_by_accident)
{
	struct rig g;
	unsigned long pfn_b, pfn;
	uint64_t v;

	mmn_era = MMN_ERA_2_6_33;
	mmn_era_opts = MMN_ERA_OPT_HOLT;
	ASSERT_EQ(rig_init(&g, "sync-start"), 0);
	ASSERT_EQ(mmn_store(g.a, g.va, VAL_A), 0);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_B), 0);
	ASSERT_EQ(mmn_follow_pte(g.b, g.at, &pfn_b, NULL), 0);
	as_a(&g);
	ASSERT_EQ(mmn_madvise(g.a, g.va, PG, MADV_PAGEOUT), 0);
	EXPECT_NE(mmn_follow_pte(g.a, g.va, &pfn, NULL), 0);	/* swapped out */
	EXPECT_EQ(xpmem_pinned(g.dev), 1);
	ASSERT_EQ(mmn_follow_pte(g.b, g.at, &pfn, NULL), 0);	/* B not told */
	EXPECT_EQ(pfn, pfn_b);
	as_b(&g);
	ASSERT_EQ(mmn_store(g.b, g.at, VAL_C), 0);
	as_a(&g);
	ASSERT_EQ(mmn_load(g.a, g.va, &v), 0);		/* swap-in */
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(mmn_follow_pte(g.a, g.va, &pfn, NULL), 0);
	EXPECT_EQ(pfn, pfn_b);				/* the same frame */
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
	mmn_era = MMN_ERA_6_12;
	mmn_era_opts = 0;
}

/* ---- Andrea's objection: the VMA after i_mmap_lock is dropped --------- */

struct uaf_exec {
	bool unpinned;
	struct mm_struct *a;
	struct file *f;
	struct mmn_device *dev;
	unsigned long va;
};

static void uaf_setup(void *arg)
{
	struct uaf_exec *u = arg;
	struct mmn_mem_config mc = { .nr_frames = 256 };

	mmn_era = MMN_ERA_2_6_33;
	mmn_era_opts = MMN_ERA_OPT_HOLT;
	mmn_truncate_knobs.holt_v2_unpinned = u->unpinned;
	mmn_mem_init(&mc);
	mmn_check_begin();
}

static void *uaf_truncate(void *arg)
{
	struct uaf_exec *u = arg;

	mmn_file_truncate(u->f, 0);
	return NULL;
}

static void *uaf_munmap(void *arg)
{
	struct uaf_exec *u = arg;

	mmn_munmap(u->a, u->va, NPAGES * PG);
	return NULL;
}

/* A maps a file; the device's process attaches and pins page 0; one thread
 * of A truncates the file while another unmaps the mapping */
static void uaf_run(void *arg)
{
	struct uaf_exec *u = arg;
	struct mmn_task *t, *m;
	uint64_t v = VAL_B;
	int err;

	u->a = mmn_mm_create();
	u->f = mmn_file_create(NPAGES * PG, &err);
	u->va = mmn_mmap_file(u->a, 0, NPAGES * PG, RW, MAP_SHARED, u->f, 0);
	mmn_store(u->a, u->va, VAL_A);
	u->dev = mmn_device_create(mmn_driver_xpmem.ops, u->a, "sync-start", &err);
	mmn_device_access(u->dev, u->va, true, &v);
	t = mmn_task_create("truncate", MMN_TASK_CPU, u->a, uaf_truncate, u);
	m = mmn_task_create("munmap", MMN_TASK_CPU, u->a, uaf_munmap, u);
	mmn_task_join(t);
	mmn_task_join(m);
	mmn_device_destroy(u->dev);
	mmn_exit(u->a);
	mmn_file_close(u->f);
}

static void uaf_teardown(void *arg)
{
	memset(&mmn_truncate_knobs, 0, sizeof(mmn_truncate_knobs));
	mmn_era_opts = 0;
	mmn_era = MMN_ERA_6_12;
	if (mmn_explore_aborted())
		return;
	mmn_check_end();
	mmn_mem_exit();
}

static const struct mmn_explore_ops uaf_ops = { uaf_setup, uaf_run, uaf_teardown };

static void uaf_explore(bool unpinned, struct mmn_explore_result *r)
{
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_PCT, .seed = 1, .runs = 500,
		.isolate = true, .hang_timeout = 10,
	};
	struct uaf_exec u = { .unpinned = unpinned };

	ASSERT_EQ(mmn_explore(&cfg, &uaf_ops, &u, r), 0);
}

/* Robin's later variant (mm read under the lock, mm_count pinned): clean */
TEST(holt_retry_pinned_vs_munmap_explored)
{
	struct mmn_explore_result r;

	uaf_explore(false, &r);
	EXPECT_FALSE(r.found);
	if (r.found)
		printf("%s", r.report);
	EXPECT_EQ(r.executions, 500);
	printf("# pinned retry: %lu executions, %.2f s\n", r.executions, r.elapsed);
	mmn_explore_result_free(&r);
}

/*
 * RFP-V2 as posted: some schedule frees the VMA (munmap) between the
 * unlock and the read of vma->vm_mm.  Only AddressSanitizer sees it (the
 * execution dies: crashed); without it the freed memory still holds the
 * mm pointer and the retry goes on, unnoticed.
 */
TEST(holt_retry_v2_unpinned_vs_munmap_explored)
{
	struct mmn_explore_result r;

	uaf_explore(true, &r);
#ifdef __SANITIZE_ADDRESS__
	ASSERT_TRUE(r.found);
	EXPECT_EQ(r.status, MMN_EXEC_CRASHED);
	printf("# v2 retry: crashed at execution %lu (AddressSanitizer)\n",
	       r.index + 1);
#else
	printf("# v2 retry: %s in %lu executions (no AddressSanitizer)\n",
	       r.found ? mmn_exec_status_name(r.status) : "nothing",
	       r.executions);
#endif
	mmn_explore_result_free(&r);
}
