/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the benchmark programs: clocks, medians, the command
 * line every program accepts (--smoke: one tiny repetition, for CI).
 */
#ifndef MMN_BENCH_H
#define MMN_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The clock: this thread's CPU time by default.  The machine the numbers
 * are taken on is shared (a loaded 2-core sandbox), and wall time there
 * mostly measures the other tenants; CPU time still counts everything the
 * measured code makes the kernel do for it (faults, syscalls, TLB
 * shootdowns), and nothing of the time it waited for a core.
 * MMN_BENCH_CLOCK=wall switches every program to CLOCK_MONOTONIC.
 */
static inline clockid_t bench_clockid(void)
{
	static int id = -1;

	if (id < 0) {
		const char *c = getenv("MMN_BENCH_CLOCK");

		id = c && !strcmp(c, "wall") ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
	}
	return (clockid_t)id;
}

static inline const char *bench_clock_name(void)
{
	return bench_clockid() == CLOCK_MONOTONIC ? "wall (CLOCK_MONOTONIC)"
						  : "thread CPU time (CLOCK_THREAD_CPUTIME_ID)";
}

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(bench_clockid(), &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double bench_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, min and max of @n samples (sorts a copy). */
struct bench_stat {
	double med, min, max;
};

static inline struct bench_stat bench_stat(const double *v, int n)
{
	double *s = malloc(sizeof(double) * (size_t)(n ? n : 1));
	struct bench_stat st = { 0, 0, 0 };

	if (!s || !n) {
		free(s);
		return st;
	}
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), bench_cmp_double);
	st.min = s[0];
	st.max = s[n - 1];
	st.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return st;
}

static inline bool bench_smoke(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--smoke"))
			return true;
	return false;
}

#endif
