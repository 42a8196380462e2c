// SPDX-License-Identifier: GPL-2.0
/*
 * Notifier cost: one blockable mmu_notifier_invalidate_range_start() +
 * _end() pair over one page,
 *  - with 0, 1, 10 and 100 classic notifiers registered (each callback
 *    does nothing), and
 *  - with 10^3, 10^4 and 10^5 interval notifiers (one page each, side by
 *    side) of which the range hits one: the interval tree makes that
 *    O(log n + hits), so the cost per pair must grow like log n, not n.
 *    Two figures: the same page every time (the tree path stays in the
 *    cache: the algorithm alone), and pages spread over all n (a walk
 *    from memory: 10^5 subscriptions are ~10 MB, past the caches).
 *
 *	notifier_bench [--smoke] [--reps R]
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/mmn.h>
#include <mmn/linux/mmu_notifier.h>

#include "bench.h"

#define PG	4096UL
#define BASE	(1UL << 32)

static int cl_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	return 0;
}

static void cl_end(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
}

static const struct mmu_notifier_ops cl_ops = {
	.invalidate_range_start = cl_start,
	.invalidate_range_end = cl_end,
};

static bool iv_invalidate(struct mmu_interval_notifier *sub,
			  const struct mmu_notifier_range *r, unsigned long cur_seq)
{
	mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops iv_ops = {
	.invalidate = iv_invalidate,
};

/* ns per start+end pair over @pairs pairs, cycling over @span pages */
static double pairs_ns(struct mm_struct *mm, unsigned long pairs, unsigned long span)
{
	double t0 = bench_now(), t1;

	for (unsigned long i = 0; i < pairs; i++) {
		struct mmu_notifier_range r;
		unsigned long a = BASE + (i * 7919 % span) * PG;

		mmu_notifier_range_init(&r, MMU_NOTIFY_CLEAR, MMU_NOTIFIER_RANGE_BLOCKABLE,
					mm, a, a + PG);
		mmu_notifier_invalidate_range_start(&r);
		mmu_notifier_invalidate_range_end(&r);
	}
	t1 = bench_now();
	return (t1 - t0) * 1e9 / (double)pairs;
}

static double classic(unsigned long k, unsigned long pairs)
{
	struct mmn_mem_config mc = { .nr_frames = 1024 };
	struct mmu_notifier *mn = calloc(k ? k : 1, sizeof(*mn));
	struct mm_struct *mm;
	double ns;

	if (!mn || mmn_mem_init(&mc))
		abort();
	mm = mmn_mm_create();
	for (unsigned long i = 0; i < k; i++) {
		mn[i].ops = &cl_ops;
		if (mmu_notifier_register(&mn[i], mm))
			abort();
	}
	ns = pairs_ns(mm, pairs, 1024);
	for (unsigned long i = 0; i < k; i++)
		mmu_notifier_unregister(&mn[i], mm);
	mmn_exit(mm);
	mmn_mem_exit();
	free(mn);
	return ns;
}

static double interval(unsigned long n, unsigned long pairs, bool spread)
{
	struct mmn_mem_config mc = { .nr_frames = 1024 };
	struct mmu_interval_notifier *sub = calloc(n, sizeof(*sub));
	struct mm_struct *mm;
	double ns;

	if (!sub || mmn_mem_init(&mc))
		abort();
	mm = mmn_mm_create();
	for (unsigned long i = 0; i < n; i++)
		if (mmu_interval_notifier_insert(&sub[i], mm, BASE + i * PG, PG, &iv_ops))
			abort();
	ns = pairs_ns(mm, pairs, spread ? n : 1);
	for (unsigned long i = 0; i < n; i++)
		mmu_interval_notifier_remove(&sub[i]);
	mmn_exit(mm);
	mmn_mem_exit();
	free(sub);
	return ns;
}

int main(int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	static const unsigned long ks[] = { 0, 1, 10, 100 };
	static const unsigned long ns[] = { 1000, 10000, 100000 };
	unsigned long pairs = 20000, max_n = 100000;
	double prev = 0;
	int reps = 5;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_smoke(argc, argv)) {
		pairs = 100;
		max_n = 1000;
		reps = 1;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
	if (reps < 1 || reps > 64)
		return 2;
	mmn_rt_init(&rc);
	mmn_era = MMN_ERA_6_12;
	printf("notifier cost: invalidate_range_start+end over one page, %lu pairs, "
	       "%d repetitions, median [min..max] ns per pair, clock: %s\n",
	       pairs, reps, bench_clock_name());
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		double v[64];
		struct bench_stat s;

		for (int r = 0; r < reps; r++)
			v[r] = classic(ks[i], pairs / (ks[i] >= 100 ? 10 : 1));
		s = bench_stat(v, reps);
		printf("  classic notifiers  %6lu                %8.0f [%.0f..%.0f]\n", ks[i], s.med, s.min,
		       s.max);
	}
	for (int spread = 0; spread < 2; spread++) {
		prev = 0;
		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]) && ns[i] <= max_n; i++) {
			double v[64];
			struct bench_stat s;

			for (int r = 0; r < reps; r++)
				v[r] = interval(ns[i], pairs, spread);
			s = bench_stat(v, reps);
			printf("  interval notifiers %6lu, %-11s %8.0f [%.0f..%.0f]", ns[i],
			       spread ? "spread" : "same page", s.med, s.min, s.max);
			if (prev > 0)
				printf("   x%.2f for 10x subscriptions (log n: x%.2f, n: x10)",
				       s.med / prev,
				       log((double)ns[i]) / log((double)ns[i - 1]));
			printf("\n");
			prev = s.med;
		}
	}
	mmn_rt_exit();
	return 0;
}
