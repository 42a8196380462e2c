/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A short real-thread stress for one driver form, with the checker on: a
 * CPU task stores and loads every page (and, every few rounds, DONTNEEDs
 * one page if @dontneed, write-protects and unprotects another, and -- if
 * @fork -- forks
 * a child that exits at once), while a device agent writes its own word
 * of every page and reads the CPU's through mmn_device_access().  A
 * correct driver must leave no report and a clean audit: the checker's
 * ghost is the oracle for every read.  Included by tests/test_*_mt.c.
 */
#ifndef MMN_TEST_MIRROR_STRESS_H
#define MMN_TEST_MIRROR_STRESS_H

#include <mmn/device.h>

#include "check/check.h"
#include "harness.h"

#define STRESS_PAGES	8
#define STRESS_ROUNDS	300

struct stress {
	struct mm_struct *mm;
	struct mmn_device *dev;
	unsigned long va;
	bool fork, dontneed;
	int stop;		/* atomic */
	long dev_errs;		/* tolerated -EFAULT (protected / zapped) */
	int errors;		/* atomic */
};

static void *stress_cpu(void *arg)
{
	struct stress *s = arg;
	uint64_t v;

	for (int r = 0; r < STRESS_ROUNDS; r++) {
		for (int i = 0; i < STRESS_PAGES; i++) {
			unsigned long va = s->va + i * PAGE_SIZE;

			if (mmn_store(s->mm, va, ((uint64_t)r << 8) | i) ||
			    mmn_load(s->mm, va + 8, &v))
				__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
		}
		if (s->dontneed && r % 7 == 3)
			mmn_madvise(s->mm, s->va + (r % STRESS_PAGES) * PAGE_SIZE,
				    PAGE_SIZE, MADV_DONTNEED);
		if (r % 11 == 5) {
			unsigned long va = s->va + ((r + 3) % STRESS_PAGES) * PAGE_SIZE;

			mmn_mprotect(s->mm, va, PAGE_SIZE, PROT_READ);
			mmn_mprotect(s->mm, va, PAGE_SIZE, PROT_READ | PROT_WRITE);
		}
		if (s->fork && r % 29 == 13) {
			int err;
			struct mm_struct *child = mmn_fork(s->mm, &err);

			if (child)
				mmn_exit(child);
		}
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *stress_dev(void *arg)
{
	struct stress *s = arg;

	for (uint64_t r = 0; !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); r++) {
		for (int i = 0; i < STRESS_PAGES; i++) {
			unsigned long va = s->va + i * PAGE_SIZE;
			uint64_t v = (r << 8) | 0x80 | i;
			int ret = mmn_device_access(s->dev, va + 8, true, &v);

			if (!ret)
				ret = mmn_device_access(s->dev, va, false, &v);
			if (ret == -EFAULT)
				s->dev_errs++;
			else if (ret)
				__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Run the stress on @drv in @form; returns the number of reports. */
static size_t mirror_stress(const struct mmn_driver *drv, const char *form,
			    bool fork, bool dontneed, int *errors)
{
	struct stress s = { .fork = fork, .dontneed = dontneed };
	struct mmn_task *cpu, *dev;
	int err;

	mmn_check_begin();
	s.mm = mmn_mm_create();
	s.va = mmn_mmap(s.mm, 0, STRESS_PAGES * PAGE_SIZE,
			PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	s.dev = mmn_device_create(drv->ops, s.mm, form, &err);
	if (!s.dev) {
		*errors = 1;
		return 0;
	}
	dev = mmn_task_create("dev", MMN_TASK_DEVICE, NULL, stress_dev, &s);
	cpu = mmn_task_create("cpu", MMN_TASK_CPU, s.mm, stress_cpu, &s);
	mmn_task_join(cpu);
	mmn_task_join(dev);
	if (mmn_check_audit())
		s.errors++;
	mmn_device_destroy(s.dev);
	mmn_exit(s.mm);
	mmn_check_end();
	*errors = s.errors;
	return mmn_report_count();
}

#endif
