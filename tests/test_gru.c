// SPDX-License-Identifier: GPL-2.0
/*
 * gru (src/mirrors/gru.c), deterministic: one task, sequential steps.
 * The correct form stays silent through fork/COW, munmap, mprotect and
 * DONTNEED; each broken form is caught with the kind it must produce:
 *   no-wait     a dropin between start's purge and the pte change installs
 *               the old frame: access-after-invalidate + stale-read;
 *   unbalanced  after an mprotect the counter stays raised and the next
 *               user dropin sleeps forever (shown with a bounded wait
 *               under the threads back end, then rescued).
 * The racing dropin is made from inside the COW's own invalidation by a
 * notifier registered before the device (so called after GRU's start):
 * the interrupt-context dropin, gru_try_dropin(), which never waits.
 */
#include "harness.h"

#include <time.h>

#include <mmn/device.h>
#include <mmn/explore.h>
#include <mmn/linux/mmu_notifier.h>

#include "check/check.h"
#include "mirrors/gru.h"

#ifndef EXPECT_GE
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#define EXPECT_LE(a, b) __H_CMP(0, a, <=, b)
#endif

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

#define VAL_A	0xaaaa0001ULL
#define VAL_B	0xbbbb0002ULL
#define VAL_C	0xcccc0003ULL
#define VAL_D	0xdddd0004ULL

struct rig {
	struct mm_struct *mm, *child;
	struct mmn_device *dev;
	unsigned long va;
	/* the racing dropin, from a notifier called after GRU's start */
	struct mmu_notifier mn;
	bool registered;
	bool race;
	int race_ret;
	int race_calls;
};

static struct rig *the_rig;

static int race_start(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *range)
{
	struct rig *g = container_of(mn, struct rig, mn);

	if (!g->race || range->event != MMU_NOTIFY_CLEAR)
		return 0;
	g->race_calls++;
	/* between GRU's purge and the pte change: the dropin of an interrupt */
	g->race_ret = gru_try_dropin(g->dev, g->va, false);
	return 0;
}

static const struct mmu_notifier_ops race_ops = {
	.invalidate_range_start = race_start,
};

static int rig_init(struct rig *g, const char *form, bool race)
{
	int err;

	memset(g, 0, sizeof(*g));
	the_rig = g;
	mmn_check_begin();
	g->mm = mmn_mm_create();
	g->va = mmn_mmap(g->mm, 0, 16 * PG, RW, PRIV);
	if ((long)g->va < 0)
		return (int)g->va;
	if (race) {
		/* registered first: later in the list than the device's */
		g->mn.ops = &race_ops;
		err = mmu_notifier_register(&g->mn, g->mm);
		if (err)
			return err;
		g->registered = true;
	}
	g->dev = mmn_device_create(mmn_driver_gru.ops, g->mm, form, &err);
	return g->dev ? 0 : err;
}

static unsigned long rig_fini(struct rig *g)
{
	unsigned long mismatches = mmn_check_audit();

	mmn_device_destroy(g->dev);
	if (g->registered)
		mmu_notifier_unregister(&g->mn, g->mm);
	if (g->child)
		mmn_exit(g->child);
	mmn_exit(g->mm);
	mmn_check_end();
	return mismatches;
}

static int dev_rd(struct rig *g, unsigned long va, uint64_t *v)
{
	return mmn_device_access(g->dev, va, false, v);
}

static int dev_wr(struct rig *g, unsigned long va, uint64_t v)
{
	return mmn_device_access(g->dev, va, true, &v);
}

/* the correct form through every primary operation: not one report */
TEST(correct_silent_fork_cow_munmap_mprotect_dontneed)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "correct", false), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_B), 0);
	ASSERT_EQ(dev_wr(&g, g.va + PG, VAL_B), 0);
	/* fork, then the parent's COW */
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_C), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_D), 0);
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_D);
	ASSERT_EQ(mmn_load(g.child, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	/* the device writes the page the parent has not COWed yet */
	ASSERT_EQ(dev_wr(&g, g.va + PG, VAL_C), 0);
	ASSERT_EQ(mmn_load(g.child, g.va + PG, &v), 0);
	EXPECT_EQ(v, VAL_B);
	/* mprotect read-only: reads go on, writes fail as the CPU's do */
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, PROT_READ), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_D);
	EXPECT_EQ(dev_wr(&g, g.va, VAL_A), -EFAULT);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, RW), 0);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_A), 0);
	/* DONTNEED: zero again */
	ASSERT_EQ(mmn_madvise(g.mm, g.va, PG, MADV_DONTNEED), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, 0);
	/* munmap: the device faults like the CPU */
	ASSERT_EQ(mmn_munmap(g.mm, g.va + 2 * PG, PG), 0);
	EXPECT_EQ(dev_rd(&g, g.va + 2 * PG, &v), -EFAULT);
	EXPECT_EQ(gru_range_active(g.dev), 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* the TLB has 8 entries: 12 pages go round it, every value right */
TEST(tlb_replacement)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "correct", false), 0);
	for (int i = 0; i < 12; i++)
		ASSERT_EQ(dev_wr(&g, g.va + i * PG, VAL_A + i), 0);
	EXPECT_LE(gru_tlb_used(g.dev), GRU_TLB_ENTRIES);
	for (int i = 0; i < 12; i++) {
		ASSERT_EQ(mmn_load(g.mm, g.va + i * PG, &v), 0);
		EXPECT_EQ(v, VAL_A + i);
		ASSERT_EQ(dev_rd(&g, g.va + i * PG, &v), 0);
		EXPECT_EQ(v, VAL_A + i);
	}
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* fork; the device reads; the parent's COW; inside the COW's range a
 * dropin races in; then the device reads again */
static void cow_with_racing_dropin(struct rig *g, uint64_t *v)
{
	int err;

	ASSERT_EQ(mmn_store(g->mm, g->va, VAL_A), 0);
	g->child = mmn_fork(g->mm, &err);
	ASSERT_TRUE(g->child);
	ASSERT_EQ(dev_rd(g, g->va, v), 0);
	g->race = true;
	ASSERT_EQ(mmn_store(g->mm, g->va, VAL_C), 0);	/* COW: CLEAR */
	g->race = false;
	EXPECT_EQ(g->race_calls, 1);
	ASSERT_EQ(dev_rd(g, g->va, v), 0);
}

/* no-wait: the racing dropin installs the old frame after the purge */
TEST(no_wait_dropin_in_window_caught)
{
	struct rig g;
	const char *t;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "no-wait", true), 0);
	harness_expect_violations();
	cow_with_racing_dropin(&g, &v);
	EXPECT_EQ(g.race_ret, 0);		/* installed */
	EXPECT_EQ(v, VAL_A);			/* the old frame */
	EXPECT_GE(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	EXPECT_GE(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "BUG: mmnlab: access-after-invalidate in gru (form no-wait)");
	ASSERT_STR_CONTAINS(t, "made inside an invalidation window");
	rig_fini(&g);
}

/* near miss: the correct form refuses the racing dropin ("range active") */
TEST(correct_dropin_in_window_refused)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "correct", true), 0);
	cow_with_racing_dropin(&g, &v);
	EXPECT_EQ(g.race_ret, -EAGAIN);
	EXPECT_EQ(v, VAL_C);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

struct stuck {
	struct rig *g;
	int done;			/* atomic */
	int ret;
	uint64_t v;
};

static void *stuck_access(void *arg)
{
	struct stuck *s = arg;

	s->ret = dev_rd(s->g, s->g->va, &s->v);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Run one device read in its own task; true if it finished within ~300ms. */
static bool access_finishes(struct rig *g, struct stuck *s)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct mmn_task *t;
	bool done = false;

	memset(s, 0, sizeof(*s));
	s->g = g;
	t = mmn_task_create("gru-dev", MMN_TASK_DEVICE, NULL, stuck_access, s);
	for (int i = 0; i < 30 && !done; i++) {
		nanosleep(&ts, NULL);
		done = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
	}
	if (!done)
		gru_test_rescue(g->dev);	/* let it go, to clean up */
	mmn_task_join(t);
	return done;
}

/* unbalanced: after an mprotect the counter stays up, the dropin hangs
 * (a deadlock under the controlled scheduler; bounded wait here) */
TEST(unbalanced_counter_hangs_dropin)
{
	struct stuck s;
	struct rig g;

	ASSERT_EQ(rig_init(&g, "unbalanced", false), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, PROT_READ), 0);
	EXPECT_EQ(gru_range_active(g.dev), 1);	/* the end skipped the dec */
	EXPECT_FALSE(access_finishes(&g, &s));
	EXPECT_EQ(s.ret, 0);			/* after the rescue */
	EXPECT_EQ(s.v, VAL_A);
	EXPECT_EQ(rig_fini(&g), 0);
}

/* near miss: the correct form's counter is back at 0 after mprotect */
TEST(correct_counter_balanced)
{
	struct stuck s;
	struct rig g;

	ASSERT_EQ(rig_init(&g, "correct", false), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, PROT_READ), 0);
	EXPECT_EQ(gru_range_active(g.dev), 0);
	EXPECT_TRUE(access_finishes(&g, &s));
	EXPECT_EQ(s.v, VAL_A);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* GRU never sleeps in its callbacks: silent even in era 2.6.33 (RCU) */
TEST(correct_silent_era_2_6_33)
{
	struct rig g;
	uint64_t v;
	int err;

	mmn_era = MMN_ERA_2_6_33;
	ASSERT_EQ(rig_init(&g, "correct", false), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_B), 0);
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(mmn_madvise(g.mm, g.va + PG, PG, MADV_DONTNEED), 0);
	ASSERT_EQ(mmn_munmap(g.mm, g.va + 2 * PG, PG), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
	mmn_era = MMN_ERA_6_12;
}

/* ---- under the controlled scheduler ---------------------------------- */

struct unb_exec {
	const char *form;
	struct mm_struct *mm;
	struct mmn_device *dev;
	unsigned long va;
};

static void unb_setup(void *arg)
{
	struct mmn_mem_config mc = { .nr_frames = 256 };

	mmn_mem_init(&mc);
	mmn_check_begin();
}

static void *unb_dev(void *arg)
{
	struct unb_exec *u = arg;
	uint64_t v;

	mmn_device_access(u->dev, u->va, false, &v);
	return NULL;
}

static void *unb_cpu(void *arg)
{
	struct unb_exec *u = arg;

	mmn_mprotect(u->mm, u->va, PG, PROT_READ);
	return NULL;
}

static void unb_run(void *arg)
{
	struct unb_exec *u = arg;
	struct mmn_task *d, *c;
	int err;

	u->mm = mmn_mm_create();
	u->va = mmn_mmap(u->mm, 0, PG, RW, PRIV);
	mmn_store(u->mm, u->va, VAL_A);
	u->dev = mmn_device_create(mmn_driver_gru.ops, u->mm, u->form, &err);
	c = mmn_task_create("cpu", MMN_TASK_CPU, u->mm, unb_cpu, u);
	d = mmn_task_create("gru-dev", MMN_TASK_DEVICE, NULL, unb_dev, u);
	mmn_task_join(c);
	mmn_task_join(d);
	mmn_device_destroy(u->dev);
	mmn_exit(u->mm);
}

static void unb_teardown(void *arg)
{
	if (mmn_explore_aborted())
		return;		/* in the isolated child: nothing to give back */
	mmn_check_end();
	mmn_mem_exit();
}

static const struct mmn_explore_ops unb_ops = { unb_setup, unb_run, unb_teardown };

/* unbalanced, explored: every schedule where the dropin comes after the
 * mprotect sleeps forever -- the controlled scheduler calls it a deadlock */
TEST(unbalanced_deadlock_explored)
{
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_PCT, .seed = 1, .runs = 200,
		.isolate = true, .hang_timeout = 5,
	};
	struct unb_exec u = { .form = "unbalanced" };
	struct mmn_explore_result r;

	ASSERT_EQ(mmn_explore(&cfg, &unb_ops, &u, &r), 0);
	ASSERT_TRUE(r.found);
	EXPECT_EQ(r.kind, MMN_V_DEADLOCK);
	ASSERT_STR_CONTAINS(r.report, "deadlock");
	mmn_explore_result_free(&r);
}

/* near miss: the correct form over the same executions */
TEST(correct_no_deadlock_explored)
{
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_PCT, .seed = 1, .runs = 200,
		.isolate = true, .hang_timeout = 5,
	};
	struct unb_exec u = { .form = "correct" };
	struct mmn_explore_result r;

	ASSERT_EQ(mmn_explore(&cfg, &unb_ops, &u, &r), 0);
	EXPECT_FALSE(r.found);
	if (r.found)
		printf("%s", r.report);
	EXPECT_EQ(r.executions, 200);
	mmn_explore_result_free(&r);
}
