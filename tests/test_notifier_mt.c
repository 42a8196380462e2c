// SPDX-License-Identifier: GPL-2.0
/*
 * The mmu_notifier core with real threads (threads back end): concurrent,
 * overlapping invalidations against interval-notifier readers running the
 * collision-retry protocol; unregister and interval remove racing with
 * running callbacks.  Must stay clean under TSan.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/spinlock.h>

#include "harness.h"
#include "notifier/internal.h"

#define BASE	0x10000000UL
#define PG(n)	((unsigned long)(n) * PAGE_SIZE)

static long load(const long *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(long *p, long v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static long inc(long *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_ACQ_REL);
}

static long dec(long *p)
{
	return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL);
}

static void join_all(struct mmn_task **t, int n)
{
	for (int i = 0; i < n; i++)
		mmn_task_join(t[i]);
}

/* ------------------------------------------------------------------ */
/*
 * A miniature mirror.  "version" stands for the primary pte: invalidators
 * change it only between range_start and range_end.  A reader snapshots it
 * after read_begin and "installs" it under the driver lock unless
 * read_retry says it collided.  The protocol promises that an install that
 * passed read_retry saw the current version and that no invalidation which
 * already called invalidate() is still running.
 */
struct mirror {
	struct mmu_interval_notifier isub;
	spinlock_t lock;		/* driver lock */
	struct mm_struct *mm;
	long version;			/* "primary pte", atomic */
	long in_flight;			/* invalidations past invalidate() */
	long invalidations, installs, retries, bad;
	long stop;
	unsigned int seed;
};

static bool mirror_invalidate(struct mmu_interval_notifier *isub,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct mirror *m = container_of(isub, struct mirror, isub);

	spin_lock(&m->lock);
	mmu_interval_set_seq(isub, cur_seq);
	inc(&m->in_flight);
	spin_unlock(&m->lock);
	return true;
}

static const struct mmu_interval_notifier_ops mirror_ops = {
	.invalidate = mirror_invalidate,
};

static unsigned int rnd_r(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void *invalidator(void *arg)
{
	struct mirror *m = arg;
	unsigned int seed = __atomic_add_fetch(&m->seed, 7919, __ATOMIC_RELAXED);

	for (int i = 0; i < 3000; i++) {
		struct mmu_notifier_range outer, inner;
		unsigned long s = BASE + PG(rnd_r(&seed) % 8);
		bool nest = rnd_r(&seed) % 4 == 0;

		/*
		 * Every range overlaps the subscription [BASE, BASE + 16
		 * pages).  As every caller in mm/, hold the mmap_lock (or an
		 * rmap lock) across start..end: registration excludes
		 * invalidations by taking all of them.
		 */
		mmu_notifier_range_init(&outer, MMU_NOTIFY_CLEAR, 0, m->mm, s,
					s + PG(1 + rnd_r(&seed) % 8));
		mmap_read_lock(m->mm);
		mmu_notifier_invalidate_range_start(&outer);
		sched_yield();
		inc(&m->version);
		if (nest) {
			/* zap -> split_huge_pmd style nesting, same thread */
			mmu_notifier_range_init(&inner, MMU_NOTIFY_CLEAR, 0,
						m->mm, s, s + PG(1));
			mmu_notifier_invalidate_range_start(&inner);
			inc(&m->version);
			dec(&m->in_flight);
			mmu_notifier_invalidate_range_end(&inner);
		}
		/* before range_end: once seq moves, readers may install */
		dec(&m->in_flight);
		mmu_notifier_invalidate_range_end(&outer);
		mmap_read_unlock(m->mm);
		inc(&m->invalidations);
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct mirror *m = arg;

	while (!load(&m->stop)) {
		unsigned long seq = mmu_interval_read_begin(&m->isub);
		long v = load(&m->version);	/* "hmm_range_fault" */

		sched_yield();

		spin_lock(&m->lock);
		if (mmu_interval_read_retry(&m->isub, seq)) {
			spin_unlock(&m->lock);
			inc(&m->retries);
			continue;
		}
		/* install: must be current, and no invalidation in flight */
		if (load(&m->version) != v || load(&m->in_flight) != 0)
			inc(&m->bad);
		inc(&m->installs);
		spin_unlock(&m->lock);
	}
	return NULL;
}

/* 3 invalidators with nested, overlapping ranges vs 2 readers */
TEST(concurrent_invalidations_vs_readers)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmn_task *inv[3], *rd[2];
	struct mirror *m = calloc(1, sizeof(*m));

	ASSERT_TRUE(mm && m);
	m->mm = mm;
	spin_lock_init(&m->lock);
	ASSERT_EQ(mmu_interval_notifier_insert(&m->isub, mm, BASE, PG(16),
					       &mirror_ops), 0);
	for (int i = 0; i < 2; i++)
		rd[i] = mmn_task_create("reader", MMN_TASK_DEVICE, mm, reader, m);
	for (int i = 0; i < 3; i++)
		inv[i] = mmn_task_create("inval", MMN_TASK_CPU, mm, invalidator, m);
	join_all(inv, 3);
	store(&m->stop, 1);
	join_all(rd, 2);

	printf("# %ld invalidations, %ld installs, %ld retries\n",
	       load(&m->invalidations), load(&m->installs), load(&m->retries));
	EXPECT_EQ(load(&m->bad), 0);
	EXPECT_EQ(load(&m->invalidations), 3 * 3000);
	EXPECT_EQ(load(&m->in_flight), 0);
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 0);
	EXPECT_EQ(__mmn_notifier_mm_seq(mm) & 1, 0);
	mmu_interval_notifier_remove(&m->isub);
	mmn_exit(mm);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Unregister and remove racing with callbacks.                         */

struct victim {
	struct mmu_notifier mn;
	struct mmu_interval_notifier isub;
	long dead;		/* set once unregister/remove returned */
	long *bad;
};

static int victim_start(struct mmu_notifier *mn,
			const struct mmu_notifier_range *range)
{
	struct victim *v = container_of(mn, struct victim, mn);

	if (load(&v->dead))
		inc(v->bad);
	return 0;
}

static void victim_end(struct mmu_notifier *mn,
		       const struct mmu_notifier_range *range)
{
	struct victim *v = container_of(mn, struct victim, mn);

	if (load(&v->dead))
		inc(v->bad);
}

static void victim_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
}

static const struct mmu_notifier_ops victim_ops = {
	.release = victim_release,
	.invalidate_range_start = victim_start,
	.invalidate_range_end = victim_end,
};

static bool victim_invalidate(struct mmu_interval_notifier *isub,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct victim *v = container_of(isub, struct victim, isub);

	if (load(&v->dead))
		inc(v->bad);
	mmu_interval_set_seq(isub, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops victim_iops = {
	.invalidate = victim_invalidate,
};

struct race {
	struct mm_struct *mm;
	long stop, bad, cycles, ranges;
	bool interval;
};

static void *race_invalidator(void *arg)
{
	struct race *r = arg;

	while (!load(&r->stop)) {
		struct mmu_notifier_range range;

		mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, r->mm,
					BASE, BASE + PG(4));
		mmap_read_lock(r->mm);		/* as mm/ callers do */
		mmu_notifier_invalidate_range_start(&range);
		mmn_sched_point(MMN_SP_YIELD, NULL);
		mmu_notifier_invalidate_range_end(&range);
		mmap_read_unlock(r->mm);
		inc(&r->ranges);
	}
	return NULL;
}

static void *race_churner(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 400; i++) {
		/* heap-allocated: a callback after free is an ASan report */
		struct victim *v = calloc(1, sizeof(*v));

		v->bad = &r->bad;
		if (r->interval) {
			if (mmu_interval_notifier_insert(&v->isub, r->mm,
							 BASE + PG(i % 4), PG(1),
							 &victim_iops))
				inc(&r->bad);
		} else {
			v->mn.ops = &victim_ops;
			if (mmu_notifier_register(&v->mn, r->mm))
				inc(&r->bad);
		}
		for (int k = 0; k < 20; k++)
			mmn_sched_point(MMN_SP_YIELD, NULL);
		if (r->interval)
			mmu_interval_notifier_remove(&v->isub);
		else
			mmu_notifier_unregister(&v->mn, r->mm);
		store(&v->dead, 1);
		/* give a late callback the chance to show up */
		for (int k = 0; k < 20; k++)
			mmn_sched_point(MMN_SP_YIELD, NULL);
		free(v);
		inc(&r->cycles);
	}
	return NULL;
}

static void race_run(bool interval)
{
	struct mm_struct *mm = mmn_mm_create();
	struct race *r = calloc(1, sizeof(*r));
	struct mmn_task *inv[2], *ch[2];

	if (!mm || !r) {
		harness_fail(__FILE__, __LINE__, "out of memory");
		return;
	}
	r->mm = mm;
	r->interval = interval;
	for (int i = 0; i < 2; i++)
		inv[i] = mmn_task_create("inval", MMN_TASK_CPU, mm,
					 race_invalidator, r);
	for (int i = 0; i < 2; i++)
		ch[i] = mmn_task_create("churn", MMN_TASK_WORKER, mm,
					race_churner, r);
	join_all(ch, 2);
	store(&r->stop, 1);
	join_all(inv, 2);
	printf("# %ld cycles against %ld ranges\n", load(&r->cycles),
	       load(&r->ranges));
	EXPECT_EQ(load(&r->bad), 0);
	EXPECT_EQ(load(&r->cycles), 800);
	EXPECT_EQ(__mmn_notifier_active_ranges(mm), 0);
	mmn_exit(mm);
	free(r);
}

/* no classic callback runs after mmu_notifier_unregister() returned */
TEST(unregister_races_callbacks)
{
	race_run(false);
}

/* no interval callback runs after mmu_interval_notifier_remove() returned,
 * including removes deferred behind a running invalidation */
TEST(interval_remove_races_callbacks)
{
	race_run(true);
}

/* exit's release racing with unregister: release runs at least once, the
 * mm is freed once both are done */
static void *exit_task(void *arg)
{
	mmn_exit(arg);
	return NULL;
}

static long rr_releases;

static void rr_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	inc(&rr_releases);
}

static const struct mmu_notifier_ops rr_ops = {
	.release = rr_release,
};

TEST(release_races_unregister)
{
	for (int i = 0; i < 200; i++) {
		struct mm_struct *mm = mmn_mm_create();
		struct mmu_notifier mn = { .ops = &rr_ops };
		struct mmn_task *t;

		ASSERT_TRUE(mm);
		store(&rr_releases, 0);
		ASSERT_EQ(mmu_notifier_register(&mn, mm), 0);
		t = mmn_task_create("exit", MMN_TASK_CPU, NULL, exit_task, mm);
		mmu_notifier_unregister(&mn, mm);
		mmn_task_join(t);
		ASSERT_GE(load(&rr_releases), 1);
		ASSERT_LE(load(&rr_releases), 2);
	}
}
