// SPDX-License-Identifier: GPL-2.0
/*
 * Real threads: CPU tasks storing and loading their own words of private,
 * shared-anonymous and file pages while another task swaps them out,
 * migrates them, reclaims globally, forks and exits a child, and
 * truncates and re-extends the file -- with the checker on (every load is
 * compared with the ghost; a lost or stale word is a violation) and the
 * accounting compared with the baseline at the end.  TSan-clean.
 */
#include "harness.h"

#include <stdlib.h>

#include "check/check.h"
#include "mm/internal.h"

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED	(MAP_SHARED | MAP_ANONYMOUS)

#define NR_CPUS		3
#define NR_PAGES	8

struct state {
	struct mm_struct *mm;
	struct file *file;
	unsigned long priv, shm, fmap;
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
	uint64_t last_file[NR_PAGES] = { 0 };

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&s->rounds, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < NR_PAGES; i++) {
			unsigned long off = i * PG + arg->id * 8;
			int ret;

			ret = mmn_store(s->mm, s->priv + off, ++seq);
			if (ret || mmn_load(s->mm, s->priv + off, &v) || v != seq)
				fail(s, "private", s->priv + off, v, seq);
			ret = mmn_store(s->mm, s->shm + off, ++seq);
			if (ret || mmn_load(s->mm, s->shm + off, &v) || v != seq)
				fail(s, "shared", s->shm + off, v, seq);
			/* the file may be truncated under us: SIGBUS, or 0 */
			ret = mmn_load(s->mm, s->fmap + off, &v);
			if (ret == 0 && v != last_file[i] && v != 0)
				fail(s, "file load", s->fmap + off, v, last_file[i]);
			if (ret && ret != -EFAULT)
				fail(s, "file load err", s->fmap + off, ret, 0);
			if (mmn_store(s->mm, s->fmap + off, ++seq) == 0)
				last_file[i] = seq;
		}
	}
	return NULL;
}

static void *chaos_task(void *p)
{
	struct state *s = p;
	struct mm_struct *child;
	uint64_t v;
	int err;

	for (int it = 0; it < 600; it++) {
		switch (it % 6) {
		case 0:
			mmn_pageout(s->mm, s->priv, NR_PAGES * PG);
			break;
		case 1:
			mmn_migrate_pages(s->mm, s->priv, NR_PAGES * PG);
			mmn_migrate_pages(s->mm, s->shm, NR_PAGES * PG);
			break;
		case 2:
			mmn_reclaim(NR_PAGES);
			break;
		case 3:
			child = mmn_fork(s->mm, &err);
			if (!child) {
				fail(s, "fork", 0, err, 0);
				break;
			}
			mmn_load(child, s->priv + 7 * 8, &v);
			mmn_store(child, s->priv + PG + 7 * 8, it);
			mmn_reclaim(4);
			mmn_exit(child);
			break;
		case 4:
			mmn_file_truncate(s->file, 2 * PG);
			mmn_cond_resched(__FILE__, __LINE__);
			mmn_file_truncate(s->file, NR_PAGES * PG);
			break;
		case 5:
			mmn_migrate_pages(s->mm, s->fmap, NR_PAGES * PG);
			mmn_page_referenced(s->mm, s->priv);
			break;
		}
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* CPU tasks vs reclaim, migration, fork and truncate, checker on. */
TEST(cpus_vs_reclaim_migrate_truncate)
{
	struct state s = { 0 };
	struct cpu_arg args[NR_CPUS];
	struct mmn_task *cpus[NR_CPUS], *chaos;
	int err;

	mmn_check_begin();
	s.mm = mmn_mm_create();
	s.file = mmn_file_create(NR_PAGES * PG, &err);
	ASSERT_TRUE(s.file != NULL);
	s.priv = mmn_mmap(s.mm, 0, NR_PAGES * PG, RW, PRIV);
	s.shm = mmn_mmap(s.mm, 0, NR_PAGES * PG, RW, SHARED);
	s.fmap = mmn_mmap_file(s.mm, 0, NR_PAGES * PG, RW, MAP_SHARED, s.file, 0);
	ASSERT_GT((long)s.fmap, 0);
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
	mmn_exit(s.mm);
	mmn_file_close(s.file);
	mmn_check_end();
}
