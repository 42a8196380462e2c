// SPDX-License-Identifier: GPL-2.0
/*
 * The correct secondary MMUs under real threads, with the checker on: CPU
 * tasks store and load, a chaos task forks (the child writes and exits),
 * mprotects RO/RW, DONTNEEDs, munmaps and re-mmaps with MAP_FIXED, while
 * two device agents read and write the same pages through
 * mmn_device_access().  Zero reports required: any report against a
 * correct driver is a false positive, a bug of the lab.
 *
 * Every agent (CPU task or device) owns one word of each page and checks
 * it wherever it must survive: in the stable area (only fork and mprotect
 * touch it) exactly its last successful write; in the chaos area its last
 * write or 0 (zapped, or unmapped and mapped again); in the shared area
 * exactly.  The words the others own are checked by the checker's ghost,
 * which is the oracle: reads of them are compared with the sequential
 * truth at the moment of the read.  Clean under TSan; the frame pool is
 * back at baseline at the end (harness).
 */
#include "harness.h"

#include <stdlib.h>

#include <mmn/device.h>

#include "check/check.h"
#include "mirrors/dmirror.h"
#include "mirrors/kvm.h"

#ifndef EXPECT_GT
#define EXPECT_GT(a, b) __H_CMP(0, a, >, b)
#endif

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED	(MAP_SHARED | MAP_ANONYMOUS)

#define NR_CPUS		2
#define NR_DEVS		2
#define STABLE_PAGES	8
#define CHAOS_PAGES	8
#define SHM_PAGES	2
#define ITERATIONS	600

struct state {
	struct mm_struct *mm;
	struct mmn_device *dev[NR_DEVS];
	unsigned long stable, chaos, shm;
	int iterations;
	int stop;			/* atomic */
	long rounds[2];			/* atomic: CPU / device loop rounds */
	long dev_errs;			/* atomic: tolerated device errors */
	int errors;			/* atomic */
};

struct agent {
	struct state *s;
	int id;				/* the word this agent owns */
	struct mmn_device *dev;		/* NULL: a CPU task */
};

static void fail(struct state *s, const char *what, unsigned long va,
		 uint64_t got, uint64_t want)
{
	if (__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED) < 5)
		printf("# %s at %#lx: got %#llx want %#llx\n", what, va,
		       (unsigned long long)got, (unsigned long long)want);
}

/* One access by agent @a: a CPU load/store or a device access. */
static int access(struct agent *a, unsigned long va, bool write, uint64_t *val)
{
	struct mm_struct *mm = a->s->mm;
	int ret;

	if (!a->dev)
		return write ? mmn_store(mm, va, *val) : mmn_load(mm, va, val);
	ret = mmn_device_access(a->dev, va, write, val);
	if (ret == -EFAULT || ret == -EPERM)
		__atomic_fetch_add(&a->s->dev_errs, 1, __ATOMIC_RELAXED);
	return ret;
}

/* A write may fail with -EFAULT (CPU: read-only or unmapped) or -EPERM
 * (device: read-only VMA); a read with -EFAULT (unmapped). */
static bool tolerated(int ret)
{
	return ret == -EFAULT || ret == -EPERM;
}

static void *agent_task(void *p)
{
	struct agent *a = p;
	struct state *s = a->s;
	uint64_t last_stable[STABLE_PAGES] = { 0 }, last_chaos[CHAOS_PAGES] = { 0 };
	uint64_t v, seq = (uint64_t)(a->id + 1) << 48;
	unsigned int other = 0;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&s->rounds[!!a->dev], 1, __ATOMIC_RELAXED);
		for (int i = 0; i < STABLE_PAGES; i++) {
			unsigned long va = s->stable + i * PG + a->id * 8;
			int ret;

			v = ++seq;
			ret = access(a, va, true, &v);
			if (ret == 0)
				last_stable[i] = seq;
			else if (!tolerated(ret))
				fail(s, "stable write", va, ret, 0);
			ret = access(a, va, false, &v);
			if (ret || v != last_stable[i])
				fail(s, "stable read", va, ret ? (uint64_t)ret : v,
				     last_stable[i]);
			/* someone else's word: the ghost checks it */
			access(a, s->stable + i * PG + (other++ % 8) * 8, false, &v);
		}
		for (int i = 0; i < CHAOS_PAGES; i++) {
			unsigned long va = s->chaos + i * PG + a->id * 8;
			int ret;

			v = ++seq;
			ret = access(a, va, true, &v);
			if (ret == 0)
				last_chaos[i] = seq;
			else if (!tolerated(ret))
				fail(s, "chaos write", va, ret, 0);
			ret = access(a, va, false, &v);
			if (ret == 0 && v != last_chaos[i] && v != 0)
				fail(s, "chaos read", va, v, last_chaos[i]);
			if (ret && !tolerated(ret))
				fail(s, "chaos read err", va, ret, 0);
		}
		for (int i = 0; i < SHM_PAGES; i++) {
			unsigned long va = s->shm + i * PG + a->id * 8;
			int ret;

			v = ++seq;
			ret = access(a, va, true, &v);
			if (!ret)
				ret = access(a, va, false, &v);
			if (ret || v != seq)
				fail(s, "shm", va, ret ? (uint64_t)ret : v, seq);
		}
	}
	return NULL;
}

static void chaos_iteration(struct state *s, int it)
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
			mmn_store(child, s->stable + i * PG + 15 * 8, it);
		for (int i = 0; i < STABLE_PAGES; i += 3)
			if (mmn_load(child, s->stable + i * PG + 15 * 8, &v) ||
			    v != (uint64_t)it)
				fail(s, "child", s->stable + i * PG, v, it);
		if (mmn_load(child, s->shm, &v))
			fail(s, "child shm", s->shm, 0, 0);
		mmn_exit(child);
		break;
	case 1:
		if (mmn_mprotect(mm, s->stable + 2 * PG, 4 * PG, PROT_READ))
			fail(s, "mprotect ro", 0, 0, 0);
		mmn_cond_resched(__FILE__, __LINE__);
		if (mmn_mprotect(mm, s->stable + 2 * PG, 4 * PG, RW))
			fail(s, "mprotect rw", 0, 0, 0);
		break;
	case 2:
		if (mmn_madvise(mm, s->chaos + (it % 4) * PG, 4 * PG, MADV_DONTNEED))
			fail(s, "dontneed", 0, 0, 0);
		break;
	case 3:
		if (mmn_munmap(mm, s->chaos + 2 * PG, 3 * PG))
			fail(s, "munmap", 0, 0, 0);
		mmn_cond_resched(__FILE__, __LINE__);
		if (mmn_mmap(mm, s->chaos + 2 * PG, 3 * PG, RW, PRIV | MAP_FIXED) !=
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
	struct state *s = p;

	for (int it = 0; it < s->iterations; it++)
		chaos_iteration(s, it);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void run(const struct mmn_driver *drv, int iterations)
{
	const char *env = getenv("MMN_MT_ITERATIONS");	/* longer soaks */
	struct state s = { .iterations = env ? atoi(env) : iterations };
	struct agent agents[NR_CPUS + NR_DEVS];
	struct mmn_task *tasks[NR_CPUS + NR_DEVS], *chaos;
	int err;

	mmn_check_begin();
	s.mm = mmn_mm_create();
	s.stable = mmn_mmap(s.mm, 0, STABLE_PAGES * PG, RW, PRIV);
	s.chaos = mmn_mmap(s.mm, 0x100000000UL, CHAOS_PAGES * PG, RW, PRIV);
	s.shm = mmn_mmap(s.mm, 0, SHM_PAGES * PG, RW, SHARED);
	for (int d = 0; d < NR_DEVS; d++) {
		s.dev[d] = mmn_device_create(drv->ops, s.mm, "correct", &err);
		ASSERT_TRUE(s.dev[d]);
	}
	for (int i = 0; i < NR_CPUS + NR_DEVS; i++) {
		bool dev = i >= NR_CPUS;

		agents[i] = (struct agent){ .s = &s, .id = i,
					    .dev = dev ? s.dev[i - NR_CPUS] : NULL };
		tasks[i] = mmn_task_create(dev ? "dev" : "cpu",
					   dev ? MMN_TASK_DEVICE : MMN_TASK_CPU,
					   s.mm, agent_task, &agents[i]);
	}
	chaos = mmn_task_create("chaos", MMN_TASK_CPU, s.mm, chaos_task, &s);
	mmn_task_join(chaos);
	for (int i = 0; i < NR_CPUS + NR_DEVS; i++)
		mmn_task_join(tasks[i]);
	EXPECT_EQ(s.errors, 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	printf("# %s: %d mm operations, %ld CPU rounds, %ld device rounds, %ld device faults, %ld tolerated device errors\n",
	       drv->name, s.iterations, s.rounds[0], s.rounds[1],
	       (long)(s.dev[0]->faults + s.dev[1]->faults), s.dev_errs);
	EXPECT_GT(s.rounds[1], 0);
	for (int d = 0; d < NR_DEVS; d++)
		mmn_device_destroy(s.dev[d]);
	mmn_exit(s.mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* dmirror (correct) vs CPUs, fork, mprotect, DONTNEED, munmap/mmap: silent */
TEST(dmirror_correct_concurrent)
{
	run(&mmn_driver_dmirror, ITERATIONS);
}

/* kvm (correct) vs the same workload: silent */
TEST(kvm_correct_concurrent)
{
	run(&mmn_driver_kvm, ITERATIONS);
}
