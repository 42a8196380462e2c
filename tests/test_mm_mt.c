// SPDX-License-Identifier: GPL-2.0
/*
 * The primary MMU under real threads: CPU tasks load and store in one mm
 * while another task forks (and exits the child), mprotects, DONTNEEDs,
 * munmaps and re-mmaps.  Each CPU task checks the words it wrote itself
 * wherever they must survive.  Clean under TSan; the frame pool is back at
 * baseline at the end (harness).
 */
#include "harness.h"

#include <unistd.h>

#include "mm/internal.h"

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED	(MAP_SHARED | MAP_ANONYMOUS)

#define NR_CPUS		3
#define STABLE_PAGES	16	/* only fork and mprotect touch these */
#define CHAOS_PAGES	16	/* DONTNEED, munmap + MAP_FIXED here */
#define SHM_PAGES	4

struct shared_state {
	struct mm_struct *mm;
	unsigned long stable, chaos, shm;
	int iterations;
	int stop;			/* atomic */
	long rounds;			/* atomic: CPU-task loop rounds */
	int errors;			/* atomic */
};

struct cpu_arg {
	struct shared_state *s;
	int id;
};

static void fail(struct shared_state *s, const char *what, unsigned long va,
		 uint64_t got, uint64_t want)
{
	if (__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED) < 5)
		printf("# %s at %#lx: got %#llx want %#llx\n", what, va,
		       (unsigned long long)got, (unsigned long long)want);
}

/* Word @id of every page: this task's own location. */
static void *cpu_task(void *p)
{
	struct cpu_arg *arg = p;
	struct shared_state *s = arg->s;
	struct mm_struct *mm = s->mm;
	uint64_t last_stable[STABLE_PAGES] = { 0 }, last_chaos[CHAOS_PAGES] = { 0 };
	uint64_t v, seq = (uint64_t)arg->id << 48;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&s->rounds, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < STABLE_PAGES; i++) {
			unsigned long va = s->stable + i * PG + arg->id * 8;
			int ret = mmn_store(mm, va, ++seq);

			if (ret == 0)
				last_stable[i] = seq;
			else if (ret != -EFAULT)	/* -EFAULT: read-only now */
				fail(s, "stable store", va, ret, 0);
			ret = mmn_load(mm, va, &v);
			if (ret || v != last_stable[i])
				fail(s, "stable load", va, ret ? (uint64_t)ret : v,
				     last_stable[i]);
		}
		for (int i = 0; i < CHAOS_PAGES; i++) {
			unsigned long va = s->chaos + i * PG + arg->id * 8;
			int ret = mmn_store(mm, va, ++seq);

			if (ret == 0)
				last_chaos[i] = seq;
			else if (ret != -EFAULT)
				fail(s, "chaos store", va, ret, 0);
			/* zapped or unmapped since: 0, or -EFAULT */
			ret = mmn_load(mm, va, &v);
			if (ret == 0 && v != last_chaos[i] && v != 0)
				fail(s, "chaos load", va, v, last_chaos[i]);
			if (ret && ret != -EFAULT)
				fail(s, "chaos load err", va, ret, 0);
		}
		for (int i = 0; i < SHM_PAGES; i++) {
			unsigned long va = s->shm + i * PG + arg->id * 8;

			if (mmn_store(mm, va, ++seq) || mmn_load(mm, va, &v) || v != seq)
				fail(s, "shm", va, v, seq);
		}
	}
	return NULL;
}

static void chaos_iteration(struct shared_state *s, int it)
{
	struct mm_struct *mm = s->mm, *child;
	uint64_t v;
	int err;

	switch (it % 5) {
	case 0:
		child = mmn_fork(mm, &err);
		if (!child) {
			fail(s, "fork", 0, err, 0);
			break;
		}
		/* the child COWs some pages and sees the shared ones */
		for (int i = 0; i < STABLE_PAGES; i += 3)
			mmn_store(child, s->stable + i * PG + 7 * 8, it);
		for (int i = 0; i < STABLE_PAGES; i += 3)
			if (mmn_load(child, s->stable + i * PG + 7 * 8, &v) || v != (uint64_t)it)
				fail(s, "child", s->stable + i * PG, v, it);
		if (mmn_load(child, s->shm, &v))
			fail(s, "child shm", s->shm, 0, 0);
		mmn_exit(child);
		break;
	case 1:
		if (mmn_mprotect(mm, s->stable + 4 * PG, 4 * PG, PROT_READ))
			fail(s, "mprotect ro", 0, 0, 0);
		mmn_cond_resched(__FILE__, __LINE__);
		if (mmn_mprotect(mm, s->stable + 4 * PG, 4 * PG, RW))
			fail(s, "mprotect rw", 0, 0, 0);
		break;
	case 2:
		if (mmn_madvise(mm, s->chaos + (it % 4) * PG, 8 * PG, MADV_DONTNEED))
			fail(s, "dontneed", 0, 0, 0);
		break;
	case 3:
		if (mmn_munmap(mm, s->chaos + 2 * PG, 4 * PG))
			fail(s, "munmap", 0, 0, 0);
		mmn_cond_resched(__FILE__, __LINE__);
		if (mmn_mmap(mm, s->chaos + 2 * PG, 4 * PG, RW, PRIV | MAP_FIXED) !=
		    (long)(s->chaos + 2 * PG))
			fail(s, "mmap fixed", 0, 0, 0);
		break;
	case 4:
		if (mmn_madvise(mm, s->shm, SHM_PAGES * PG, MADV_DONTNEED))
			fail(s, "dontneed shm", 0, 0, 0);
		break;
	}
}

static void *chaos_task(void *p)
{
	struct shared_state *s = p;

	for (int it = 0; it < s->iterations; it++)
		chaos_iteration(s, it);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void run(int iterations)
{
	struct shared_state s = { .iterations = iterations };
	struct cpu_arg args[NR_CPUS];
	struct mmn_task *cpus[NR_CPUS], *chaos;

	s.mm = mmn_mm_create();
	s.stable = mmn_mmap(s.mm, 0, STABLE_PAGES * PG, RW, PRIV);
	s.chaos = mmn_mmap(s.mm, 0x100000000UL, CHAOS_PAGES * PG, RW, PRIV);
	s.shm = mmn_mmap(s.mm, 0, SHM_PAGES * PG, RW, SHARED);
	for (int i = 0; i < NR_CPUS; i++) {
		args[i] = (struct cpu_arg){ .s = &s, .id = i };
		cpus[i] = mmn_task_create("cpu", MMN_TASK_CPU, s.mm, cpu_task, &args[i]);
	}
	chaos = mmn_task_create("chaos", MMN_TASK_CPU, s.mm, chaos_task, &s);
	mmn_task_join(chaos);
	for (int i = 0; i < NR_CPUS; i++)
		mmn_task_join(cpus[i]);
	EXPECT_EQ(s.errors, 0);
	printf("# %d mm operations, %ld CPU-task rounds\n", iterations, s.rounds);
	mmn_exit(s.mm);
}

/* CPU tasks vs fork, mprotect, DONTNEED, munmap/mmap in one mm. */
TEST(cpus_vs_mm_operations)
{
	run(2000);
}

/* Two processes forked from one another, each with CPU tasks, exit in turn. */
TEST(parallel_cow_two_mms)
{
	struct shared_state s[2] = { { .iterations = 0 }, { .iterations = 0 } };
	struct cpu_arg args[2][2];
	struct mmn_task *t[2][2];
	int err;

	s[0].mm = mmn_mm_create();
	s[0].stable = mmn_mmap(s[0].mm, 0, STABLE_PAGES * PG, RW, PRIV);
	s[0].chaos = mmn_mmap(s[0].mm, 0, CHAOS_PAGES * PG, RW, PRIV);
	s[0].shm = mmn_mmap(s[0].mm, 0, SHM_PAGES * PG, RW, SHARED);
	for (int i = 0; i < STABLE_PAGES; i++)
		mmn_store(s[0].mm, s[0].stable + i * PG, i);
	s[1] = s[0];
	s[1].mm = mmn_fork(s[0].mm, &err);
	ASSERT_EQ(err, 0);
	for (int m = 0; m < 2; m++)
		for (int i = 0; i < 2; i++) {
			args[m][i] = (struct cpu_arg){ .s = &s[m], .id = i + 2 * m };
			t[m][i] = mmn_task_create("cpu", MMN_TASK_CPU, s[m].mm,
						  cpu_task, &args[m][i]);
		}
	usleep(100 * 1000);
	for (int m = 0; m < 2; m++)
		__atomic_store_n(&s[m].stop, 1, __ATOMIC_RELAXED);
	for (int m = 0; m < 2; m++)
		for (int i = 0; i < 2; i++)
			mmn_task_join(t[m][i]);
	EXPECT_EQ(s[0].errors + s[1].errors, 0);
	/* each mm kept the other's words unchanged at fork time: word 0 */
	for (int i = 0; i < STABLE_PAGES; i++) {
		uint64_t v0 = 1, v1 = 1;

		mmn_load(s[0].mm, s[0].stable + i * PG + 6 * 8, &v0);
		mmn_load(s[1].mm, s[1].stable + i * PG + 6 * 8, &v1);
		EXPECT_EQ(v0, 0);
		EXPECT_EQ(v1, 0);
	}
	mmn_exit(s[0].mm);
	mmn_exit(s[1].mm);
}
