// SPDX-License-Identifier: GPL-2.0
/*
 * Real threads and THPs: CPU tasks storing and loading their own words in
 * a THP region, and loading zeros from a region the huge zero page maps,
 * while another task swaps the THP out (whole and in part), migrates it,
 * collapses it again, splits it, reclaims globally, forks and exits a
 * child, and zaps and remaps the zero region -- with the checker on (every load is
 * compared with the ghost) and the accounting compared with the baseline
 * at the end.  TSan-clean.
 */
#include "harness.h"

#include <stdlib.h>

#include "check/check.h"
#include "mm/huge_mm.h"
#include "mm/internal.h"

#define PG	PAGE_SIZE
#define HP	PMD_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define THP_BASE	0x40000000UL	/* the THP region, 2 MiB aligned */
#define ZERO_BASE	0x40200000UL	/* the huge zero page region */

#define NR_CPUS		3
#define ROUNDS		40

/* the pages of the THP each CPU task touches */
static const unsigned int touched[] = { 0, 1, 7, 100, 255, 300, 511 };
#define NR_TOUCHED	(sizeof(touched) / sizeof(touched[0]))

struct state {
	struct mm_struct *mm;
	int stop;			/* atomic */
	int errors;			/* atomic */
	long rounds;			/* atomic */
};

struct cpu_arg {
	struct state *s;
	int id;
};

static void fail(struct state *s, const char *what, unsigned long va,
		 uint64_t got, uint64_t want)
{
	if (__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED) < 5)
		printf("# %s at %#lx: got %#llx want %#llx\n", what, va,
		       (unsigned long long)got, (unsigned long long)want);
}

static void *cpu_task(void *p)
{
	struct cpu_arg *arg = p;
	struct state *s = arg->s;
	uint64_t seq = (uint64_t)(arg->id + 1) << 48, v;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&s->rounds, 1, __ATOMIC_RELAXED);
		for (unsigned int i = 0; i < NR_TOUCHED; i++) {
			unsigned long va = THP_BASE + touched[i] * PG + arg->id * 8;
			unsigned long z = ZERO_BASE + touched[i] * PG + arg->id * 8;

			if (mmn_store(s->mm, va, ++seq) ||
			    mmn_load(s->mm, va, &v) || v != seq)
				fail(s, "thp", va, v, seq);
			if (mmn_load(s->mm, z, &v) || v != 0)
				fail(s, "zero", z, v, 0);
		}
	}
	return NULL;
}

/* Swap every page back in (read faults), so that a collapse can work. */
static void touch_all(struct mm_struct *mm)
{
	uint64_t v;

	for (unsigned long a = THP_BASE; a < THP_BASE + HP; a += PG)
		mmn_load(mm, a + 8 * NR_CPUS, &v);
}

static void *chaos_task(void *p)
{
	struct state *s = p;
	struct mm_struct *child;
	uint64_t v;
	int err;

	for (int it = 0; it < ROUNDS; it++) {
		switch (it % 8) {
		case 0:
			mmn_pageout(s->mm, THP_BASE, HP);
			break;
		case 1:
			touch_all(s->mm);
			mmn_madvise(s->mm, THP_BASE, HP, MADV_COLLAPSE);
			mmn_migrate_pages(s->mm, THP_BASE, HP);
			break;
		case 2:
			mmn_madvise(s->mm, THP_BASE, HP, MADV_COLLAPSE);
			mmn_pageout(s->mm, THP_BASE + 64 * PG, 8 * PG);
			mmn_migrate_pages(s->mm, ZERO_BASE, HP);
			mmn_pageout(s->mm, ZERO_BASE, HP);
			break;
		case 3:
			touch_all(s->mm);
			mmn_khugepaged_scan(s->mm);
			child = mmn_fork(s->mm, &err);
			if (!child) {
				fail(s, "fork", 0, err, 0);
				break;
			}
			mmn_load(child, THP_BASE + 5 * PG, &v);
			mmn_store(child, THP_BASE + PG + 8 * NR_CPUS, it);
			mmn_load(child, ZERO_BASE + 9 * PG, &v);
			mmn_reclaim(HPAGE_PMD_NR + 16);
			mmn_exit(child);
			break;
		case 4:
			mmn_split_huge_pmd(s->mm, THP_BASE);
			mmn_pageout(s->mm, THP_BASE, HP);
			break;
		case 5:
			/* fresh memory: the next read maps the huge zero page */
			if (mmn_mmap(s->mm, ZERO_BASE, HP, RW, PRIV | MAP_FIXED) !=
			    (long)ZERO_BASE)
				fail(s, "mmap", ZERO_BASE, 0, 0);
			touch_all(s->mm);
			mmn_madvise(s->mm, THP_BASE, HP, MADV_COLLAPSE);
			break;
		case 6:
			mmn_migrate_pages(s->mm, THP_BASE + 3 * PG, PG);
			mmn_reclaim(64);
			break;
		case 7:
			mmn_madvise(s->mm, ZERO_BASE + 16 * PG, 4 * PG, MADV_DONTNEED);
			touch_all(s->mm);
			mmn_madvise(s->mm, THP_BASE, HP, MADV_COLLAPSE);
			break;
		}
		mmn_cond_resched(__FILE__, __LINE__);
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* CPU tasks vs THP pageout, migration, collapse, split, reclaim and fork,
 * and the huge zero page zapped under readers, checker on. */
TEST(cpus_vs_thp_reclaim_migrate)
{
	struct state s = { 0 };
	struct cpu_arg args[NR_CPUS];
	struct mmn_task *cpus[NR_CPUS], *chaos;
	uint64_t v;

	mmn_check_begin();
	/* every anon VMA: the remapped zero region too */
	mmn_thp_set_enabled(MMN_THP_ALWAYS);
	s.mm = mmn_mm_create();
	ASSERT_EQ(mmn_mmap(s.mm, THP_BASE, 2 * HP, RW, PRIV | MAP_FIXED),
		  (long)THP_BASE);
	ASSERT_EQ(mmn_madvise(s.mm, THP_BASE, 2 * HP, MADV_HUGEPAGE), 0);
	ASSERT_EQ(mmn_store(s.mm, THP_BASE, 1), 0);
	ASSERT_EQ(mmn_load(s.mm, ZERO_BASE, &v), 0);
	ASSERT_TRUE(is_huge_zero_pfn(pmd_pfn(pmdp_get(mm_find_pmd(s.mm, ZERO_BASE)))));
	for (int i = 0; i < NR_CPUS; i++) {
		args[i] = (struct cpu_arg){ .s = &s, .id = i };
		cpus[i] = mmn_task_create("cpu", MMN_TASK_CPU, s.mm, cpu_task, &args[i]);
	}
	chaos = mmn_task_create("chaos", MMN_TASK_CPU, s.mm, chaos_task, &s);
	mmn_task_join(chaos);
	for (int i = 0; i < NR_CPUS; i++)
		mmn_task_join(cpus[i]);
	EXPECT_EQ(s.errors, 0);
	printf("# %ld CPU-task rounds\n", s.rounds);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(s.mm);
	mmn_check_end();
	mmn_thp_set_enabled(MMN_THP_MADVISE);
	EXPECT_TRUE(page_counts_valid());
}
