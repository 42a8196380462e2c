// SPDX-License-Identifier: GPL-2.0
/*
 * Device access: ns per 8-byte DMA read or write through mmn_device_access()
 * on a translation hit, and on a miss that faults (the driver's fault path:
 * hmm_range_fault for dmirror, the shadow page fault for kvm), for the
 * correct form of each driver, with the checker off and on.
 *
 *	dev_bench [--smoke] [--pages N] [--reps R]
 *
 * Hit: every page of an N-page mapping is faulted into the device, then
 * 16 accesses per page are timed (a page at a time, word after word).
 * Miss: a fresh device over N CPU-resident pages; the first access of each
 * page misses, faults and retries: the time per such access.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/mmn.h>

#include "bench.h"
#include "check/check.h"

#define PG	4096UL
#define HITS	16

static unsigned long npages = 256;

struct world {
	struct mm_struct *mm;
	struct mmn_device *dev;
	unsigned long a;
};

static void world_new(struct world *w, const struct mmn_driver *drv, bool check)
{
	struct mmn_mem_config mc = { .nr_frames = 2 * npages + 1024 };
	long a;
	int err;

	if (mmn_mem_init(&mc))
		abort();
	if (check)
		mmn_check_begin();
	w->mm = mmn_mm_create();
	a = mmn_mmap(w->mm, 0, npages * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS);
	if (a < 0)
		abort();
	w->a = (unsigned long)a;
	for (unsigned long i = 0; i < npages; i++)
		if (mmn_store(w->mm, w->a + i * PG, i))
			abort();
	w->dev = mmn_device_create(drv->ops, w->mm, drv->forms[0], &err);
	if (!w->dev) {
		fprintf(stderr, "dev_bench: %s: bind failed (%d)\n", drv->name, err);
		exit(1);
	}
}

static void world_free(struct world *w, bool check)
{
	mmn_device_destroy(w->dev);
	mmn_exit(w->mm);
	if (check)
		mmn_check_end();
	mmn_mem_exit();
	if (mmn_report_count()) {
		mmn_report_print(stderr);
		exit(1);
	}
}

/* ns per access: [0] hit, [1] miss */
static void measure(const struct mmn_driver *drv, bool write, bool check, double out[2])
{
	struct world w;
	uint64_t v = 7;
	double t0, t1;

	world_new(&w, drv, check);
	t0 = bench_now();
	for (unsigned long i = 0; i < npages; i++)
		if (mmn_device_access(w.dev, w.a + i * PG, write, &v))
			abort();
	t1 = bench_now();
	out[1] = (t1 - t0) * 1e9 / (double)npages;
	t0 = bench_now();
	for (unsigned long i = 0; i < npages; i++)
		for (unsigned long j = 0; j < HITS; j++)
			if (mmn_device_access(w.dev, w.a + i * PG + j * 8, write, &v))
				abort();
	t1 = bench_now();
	out[0] = (t1 - t0) * 1e9 / (double)(npages * HITS);
	world_free(&w, check);
}

int main(int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	const struct mmn_driver *drivers[] = { mmn_driver_find("dmirror"),
					       mmn_driver_find("kvm") };
	int reps = 7;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_smoke(argc, argv)) {
		npages = 8;
		reps = 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			npages = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
	}
	if (reps < 1 || reps > 64 || !npages)
		return 2;
	mmn_rt_init(&rc);
	printf("device access (mmn_device_access, correct form, era 6.12), %lu pages, "
	       "%d repetitions, median [min..max] ns per 8-byte access, clock: %s\n",
	       npages, reps, bench_clock_name());
	printf("%-9s %-6s %-7s %-22s %-22s  %s\n", "driver", "access", "check", "hit",
	       "miss (fault + retry)", "target: hit <= 20 ns");
	for (size_t d = 0; d < 2; d++) {
		if (!drivers[d]) {
			printf("%-9s not built in\n", d ? "kvm" : "dmirror");
			continue;
		}
		for (int write = 0; write < 2; write++)
			for (int check = 0; check < 2; check++) {
				double hit[64], miss[64], o[2];
				struct bench_stat h, m;

				for (int r = 0; r < reps; r++) {
					measure(drivers[d], write, check, o);
					hit[r] = o[0];
					miss[r] = o[1];
				}
				h = bench_stat(hit, reps);
				m = bench_stat(miss, reps);
				printf("%-9s %-6s %-7s %6.1f [%.1f..%.1f]%*s %7.0f [%.0f..%.0f]%*s  %s\n",
				       drivers[d]->name, write ? "write" : "read",
				       check ? "on" : "off", h.med, h.min, h.max, 2, "",
				       m.med, m.min, m.max, 2, "",
				       check ? "" : h.med <= 20 ? "met" : "MISSED");
			}
	}
	mmn_rt_exit();
	return 0;
}
