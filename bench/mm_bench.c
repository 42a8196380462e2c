// SPDX-License-Identifier: GPL-2.0
/*
 * The lab's primary MMU against this machine's real kernel, in one run.
 *
 *	mm_bench [--smoke] [--pages N] [--reps R]
 *
 * Each operation is measured on the real kernel (this process: mmap,
 * fork, page faults ...) and in the lab through the public API
 * (<mmn/mm.h>), with the checker off and on, at the same size, and the
 * three are interleaved (kernel, lab, lab+check, kernel, lab, ...) so that
 * drift of the machine hits all of them alike.  Every figure is the median
 * of R repetitions with min and max; a ratio is the median of the per-
 * repetition ratios lab/kernel (each pair measured back to back).
 *
 * "fork per resident page" is the marginal cost: (fork of N resident
 * pages - fork of an empty mapping) / N, for the kernel and the lab alike.
 *
 * The kernel side runs in a helper process forked at start (before the
 * lab exists), which takes one operation at a time over a pipe: its forks
 * must not write-protect the lab's frame pool, or the lab would pay a
 * real COW fault per frame after every kernel fork measurement.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mmn/mmn.h>

#include "bench.h"
#include "check/check.h"

#define PG	4096UL
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

enum op {
	OP_FIRST_TOUCH,
	OP_ZERO_READ,
	OP_COW,
	OP_REUSE,
	OP_FORK,
	OP_MUNMAP,
	OP_DONTNEED,
	OP_MPROTECT,
	OP__LAB,		/* below: the copy floor, kernel only */
	OP_MEMCPY_HOT = OP__LAB,
	OP_MEMCPY_STREAM,
	OP__NR
};

static const char *const op_name[OP__NR] = {
	[OP_FIRST_TOUCH] = "first-touch anon fault",
	[OP_ZERO_READ] = "zero-page read fault",
	[OP_COW] = "COW write fault after fork",
	[OP_REUSE] = "write after child exit (reuse)",
	[OP_FORK] = "fork per resident page",
	[OP_MUNMAP] = "munmap per page",
	[OP_DONTNEED] = "MADV_DONTNEED per page",
	[OP_MPROTECT] = "mprotect per page",
	[OP_MEMCPY_HOT] = "4 KiB memcpy, hot",
	[OP_MEMCPY_STREAM] = "4 KiB memcpy, streaming",
};

static unsigned long npages = 1024;

/* ---- the real kernel ------------------------------------------------ */

static char *kmap(unsigned long n)
{
	char *p = mmap(NULL, n * PG, RW, PRIV, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* 4 KiB pages, as the lab's default (no THP) */
	madvise(p, n * PG, MADV_NOHUGEPAGE);
	return p;
}

static void ktouch(char *p, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		((volatile char *)p)[i * PG] = 1;
}

static double kfork_once(unsigned long n)
{
	char *p = kmap(n ? n : 1);
	double t0, t1;
	pid_t pid;

	if (n)
		ktouch(p, n);
	t0 = bench_now();
	pid = fork();
	if (!pid)
		_exit(0);
	t1 = bench_now();
	waitpid(pid, NULL, 0);
	munmap(p, (n ? n : 1) * PG);
	return t1 - t0;
}

/* ns per page (per 4 KiB copy for memcpy) */
static double kernel_op(enum op op)
{
	unsigned long n = npages;
	double t0 = 0, t1 = 0;
	char *p;

	switch (op) {
	case OP_FIRST_TOUCH:
		p = kmap(n);
		t0 = bench_now();
		ktouch(p, n);
		t1 = bench_now();
		munmap(p, n * PG);
		break;
	case OP_ZERO_READ: {
		unsigned long sum = 0;

		p = kmap(n);
		t0 = bench_now();
		for (unsigned long i = 0; i < n; i++)
			sum += ((volatile char *)p)[i * PG];
		t1 = bench_now();
		munmap(p, n * PG);
		if (sum)
			abort();
		break;
	}
	case OP_COW: {
		int fd[2];
		pid_t pid;
		char c = 0;

		p = kmap(n);
		ktouch(p, n);
		if (pipe(fd))
			abort();
		pid = fork();
		if (!pid) {
			close(fd[1]);
			if (read(fd[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
		t0 = bench_now();
		for (unsigned long i = 0; i < n; i++)
			((volatile char *)p)[i * PG] = 2;
		t1 = bench_now();
		close(fd[0]);
		if (write(fd[1], &c, 1) < 0)
			abort();
		close(fd[1]);
		waitpid(pid, NULL, 0);
		munmap(p, n * PG);
		break;
	}
	case OP_REUSE: {
		pid_t pid;

		p = kmap(n);
		ktouch(p, n);
		pid = fork();
		if (!pid)
			_exit(0);
		waitpid(pid, NULL, 0);
		t0 = bench_now();
		for (unsigned long i = 0; i < n; i++)
			((volatile char *)p)[i * PG] = 2;
		t1 = bench_now();
		munmap(p, n * PG);
		break;
	}
	case OP_FORK:
		return (kfork_once(n) - kfork_once(0)) * 1e9 / (double)n;
	case OP_MUNMAP:
		p = kmap(n);
		ktouch(p, n);
		t0 = bench_now();
		munmap(p, n * PG);
		t1 = bench_now();
		break;
	case OP_DONTNEED:
		p = kmap(n);
		ktouch(p, n);
		t0 = bench_now();
		madvise(p, n * PG, MADV_DONTNEED);
		t1 = bench_now();
		munmap(p, n * PG);
		break;
	case OP_MPROTECT:
		p = kmap(n);
		ktouch(p, n);
		t0 = bench_now();
		mprotect(p, n * PG, PROT_READ);
		t1 = bench_now();
		munmap(p, n * PG);
		break;
	case OP_MEMCPY_HOT: {
		static char src[PG], dst[PG];
		unsigned long rounds = n * 16;

		memset(src, 1, PG);
		t0 = bench_now();
		for (unsigned long i = 0; i < rounds; i++) {
			memcpy(dst, src, PG);
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		t1 = bench_now();
		return (t1 - t0) * 1e9 / (double)rounds;
	}
	case OP_MEMCPY_STREAM: {
		/* 64 MiB each way (at least 16x npages): past every cache */
		unsigned long m = n * 16 > 16384 ? n * 16 : 16384;
		char *s = kmap(m), *d = kmap(m);

		memset(s, 1, m * PG);
		memset(d, 2, m * PG);
		t0 = bench_now();
		for (unsigned long i = 0; i < m; i++) {
			memcpy(d + i * PG, s + i * PG, PG);
			__asm__ volatile("" : : "r"(d) : "memory");
		}
		t1 = bench_now();
		munmap(s, m * PG);
		munmap(d, m * PG);
		return (t1 - t0) * 1e9 / (double)m;
	}
	default:
		abort();
	}
	return (t1 - t0) * 1e9 / (double)n;
}

/* The helper process that runs kernel_op() on request. */
static int kreq = -1, kresp = -1;

static void kernel_helper_start(void)
{
	int req[2], resp[2];
	pid_t pid;

	if (pipe(req) || pipe(resp))
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (!pid) {
		int op;

		close(req[1]);
		close(resp[0]);
		while (read(req[0], &op, sizeof(op)) == (ssize_t)sizeof(op)) {
			double ns = kernel_op(op);

			if (write(resp[1], &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
				_exit(1);
		}
		_exit(0);
	}
	close(req[0]);
	close(resp[1]);
	kreq = req[1];
	kresp = resp[0];
}

static double kernel_remote(enum op op)
{
	int o = op;
	double ns;

	if (write(kreq, &o, sizeof(o)) != (ssize_t)sizeof(o) ||
	    read(kresp, &ns, sizeof(ns)) != (ssize_t)sizeof(ns)) {
		fprintf(stderr, "mm_bench: the kernel helper died\n");
		exit(1);
	}
	return ns;
}

static void kernel_helper_stop(void)
{
	close(kreq);
	close(kresp);
	wait(NULL);
}

/* ---- the lab ------------------------------------------------------- */

static void lab_begin(bool check)
{
	struct mmn_mem_config mc = { .nr_frames = 2 * npages + 1024 };

	if (mmn_mem_init(&mc)) {
		fprintf(stderr, "mm_bench: mmn_mem_init failed\n");
		exit(1);
	}
	if (check)
		mmn_check_begin();
}

static void lab_end(bool check)
{
	if (check)
		mmn_check_end();
	mmn_mem_exit();
	if (mmn_report_count()) {
		fprintf(stderr, "mm_bench: the lab reported a violation\n");
		mmn_report_print(stderr);
		exit(1);
	}
}

static unsigned long lmap(struct mm_struct *mm, unsigned long n)
{
	long a = mmn_mmap(mm, 0, n * PG, RW, PRIV);

	if (a < 0) {
		fprintf(stderr, "mm_bench: mmn_mmap: %s\n", strerror((int)-a));
		exit(1);
	}
	return (unsigned long)a;
}

static void lstore_all(struct mm_struct *mm, unsigned long a, unsigned long n, uint64_t v)
{
	for (unsigned long i = 0; i < n; i++)
		if (mmn_store(mm, a + i * PG, v))
			abort();
}

static double lfork_once(bool check, unsigned long n)
{
	struct mm_struct *mm, *child;
	unsigned long a;
	double t0, t1;
	int err;

	lab_begin(check);
	mm = mmn_mm_create();
	a = lmap(mm, n ? n : 1);
	if (n)
		lstore_all(mm, a, n, 1);
	t0 = bench_now();
	child = mmn_fork(mm, &err);
	t1 = bench_now();
	if (!child)
		abort();
	mmn_exit(child);
	mmn_exit(mm);
	lab_end(check);
	return t1 - t0;
}

static double lab_op(enum op op, bool check)
{
	unsigned long n = npages, a;
	struct mm_struct *mm, *child;
	double t0 = 0, t1 = 0;
	int err;

	if (op == OP_FORK)
		return (lfork_once(check, n) - lfork_once(check, 0)) * 1e9 / (double)n;
	lab_begin(check);
	mm = mmn_mm_create();
	a = lmap(mm, n);
	switch (op) {
	case OP_FIRST_TOUCH:
		t0 = bench_now();
		lstore_all(mm, a, n, 1);
		t1 = bench_now();
		break;
	case OP_ZERO_READ: {
		uint64_t v, sum = 0;

		t0 = bench_now();
		for (unsigned long i = 0; i < n; i++) {
			if (mmn_load(mm, a + i * PG, &v))
				abort();
			sum += v;
		}
		t1 = bench_now();
		if (sum)
			abort();
		break;
	}
	case OP_COW:
		lstore_all(mm, a, n, 1);
		child = mmn_fork(mm, &err);
		if (!child)
			abort();
		t0 = bench_now();
		lstore_all(mm, a, n, 2);
		t1 = bench_now();
		mmn_exit(child);
		break;
	case OP_REUSE:
		lstore_all(mm, a, n, 1);
		child = mmn_fork(mm, &err);
		if (!child)
			abort();
		mmn_exit(child);
		t0 = bench_now();
		lstore_all(mm, a, n, 2);
		t1 = bench_now();
		break;
	case OP_MUNMAP:
		lstore_all(mm, a, n, 1);
		t0 = bench_now();
		mmn_munmap(mm, a, n * PG);
		t1 = bench_now();
		break;
	case OP_DONTNEED:
		lstore_all(mm, a, n, 1);
		t0 = bench_now();
		mmn_madvise(mm, a, n * PG, MADV_DONTNEED);
		t1 = bench_now();
		break;
	case OP_MPROTECT:
		lstore_all(mm, a, n, 1);
		t0 = bench_now();
		mmn_mprotect(mm, a, n * PG, PROT_READ);
		t1 = bench_now();
		break;
	default:
		abort();
	}
	mmn_exit(mm);
	lab_end(check);
	return (t1 - t0) * 1e9 / (double)n;
}

/* ---- the table ----------------------------------------------------- */

struct target {
	enum op op;
	double off, on;		/* ratio bounds, 0: none */
};

static const struct target targets[] = {
	{ OP_COW, 0.5, 1.0 },
	{ OP_FORK, 1.0, 0 },
	{ OP_MUNMAP, 1.0, 0 },
};

static const char *verdict(bool has, double ratio, double bound)
{
	if (!has || !bound)
		return "";
	return ratio <= bound ? "met" : "MISSED";
}

int main(int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	int reps = 7;
	double (*k)[OP__NR], (*l0)[OP__NR], (*l1)[OP__NR];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_smoke(argc, argv)) {
		npages = 16;
		reps = 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pages") && i + 1 < argc)
			npages = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
	}
	if (npages < 1 || reps < 1)
		return 2;
	k = calloc((size_t)reps, sizeof(*k));
	l0 = calloc((size_t)reps, sizeof(*l0));
	l1 = calloc((size_t)reps, sizeof(*l1));
	if (!k || !l0 || !l1)
		return 1;
	kernel_helper_start();
	mmn_rt_init(&rc);
	mmn_era = MMN_ERA_6_12;

	/* A B A B: every repetition measures every operation on the kernel,
	 * then in the lab (checking off, on), back to back */
	for (int r = 0; r < reps; r++)
		for (int op = 0; op < OP__NR; op++) {
			k[r][op] = kernel_remote(op);
			if (op < OP__LAB) {
				l0[r][op] = lab_op(op, false);
				l1[r][op] = lab_op(op, true);
			}
		}

	printf("primary MMU: lab (public API, era 6.12) against this kernel, %lu pages, "
	       "%d repetitions, median [min..max] ns per page, clock: %s\n",
	       npages, reps, bench_clock_name());
	printf("%-32s %-24s %-24s %-24s %8s %8s  %s\n", "operation", "kernel",
	       "lab, check off", "lab, check on", "off/kern", "on/kern", "target");
	for (int op = 0; op < OP__NR; op++) {
		double v[3][64], ro[64], rn[64];
		struct bench_stat s[3], so, sn;
		char cell[3][40], tgt[64] = "";
		int n = reps < 64 ? reps : 64;

		for (int r = 0; r < n; r++) {
			v[0][r] = k[r][op];
			v[1][r] = l0[r][op];
			v[2][r] = l1[r][op];
			ro[r] = k[r][op] > 0 ? l0[r][op] / k[r][op] : 0;
			rn[r] = k[r][op] > 0 ? l1[r][op] / k[r][op] : 0;
		}
		for (int j = 0; j < 3; j++) {
			s[j] = bench_stat(v[j], n);
			snprintf(cell[j], sizeof(cell[j]), "%.0f [%.0f..%.0f]", s[j].med,
				 s[j].min, s[j].max);
		}
		so = bench_stat(ro, n);
		sn = bench_stat(rn, n);
		for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
			if (targets[t].op != (enum op)op)
				continue;
			if (targets[t].on)
				snprintf(tgt, sizeof(tgt), "off <= %.1fx %s, on <= %.1fx %s",
					 targets[t].off, verdict(true, so.med, targets[t].off),
					 targets[t].on, verdict(true, sn.med, targets[t].on));
			else
				snprintf(tgt, sizeof(tgt), "off <= %.1fx %s", targets[t].off,
					 verdict(true, so.med, targets[t].off));
		}
		if (op >= OP__LAB)
			printf("%-32s %-24s %-24s %-24s %8s %8s  %s\n", op_name[op], cell[0],
			       "-", "-", "-", "-", "(copy floor, ns per 4 KiB)");
		else
			printf("%-32s %-24s %-24s %-24s %7.2fx %7.2fx  %s\n", op_name[op], cell[0],
			       cell[1], cell[2], so.med, sn.med, tgt);
	}
	mmn_rt_exit();
	kernel_helper_stop();
	free(k);
	free(l0);
	free(l1);
	return 0;
}
