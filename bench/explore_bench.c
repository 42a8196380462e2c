// SPDX-License-Identifier: GPL-2.0
/*
 * Exploration speed: mmn_explore() with PCT (depth 3, isolated executions,
 * no shrinking) on the scenario catalogue, as `mmnlab run` explores it.
 *
 *	explore_bench [--smoke] [--seeds N] [--select]
 *
 *  1. executions per second on the fork + COW + dmirror workload
 *     (scenarios/seed/fork.mmn, dmirror/correct, era 6.12), isolated (as
 *     mmnlab runs it) and in-process;
 *  2. executions per second on every correct form (fork.mmn);
 *  3. for every broken form: the time and the executions to the first
 *     violation, median [min..max] over seeds 1..N (default 10), on the
 *     scenario that exercises the form, named in the table (chosen with
 *     --select, below).
 *
 * Rates are given per wall second (mmn_explore's own elapsed time) and per
 * CPU second (this process and its children, getrusage): on a loaded
 * machine the second is the one-core figure.
 *
 * --select: for every broken form, every scenario of scenarios/seed and
 * scenarios/races whose expectation for it (era 6.12, else the first era
 * it runs in) is not "ok", seeds 1..5, at most 2000 executions or 2 s each:
 * prints the scenario with the least median CPU time.  The table below
 * (picks[]) is its output, kept by hand so that a run of the benchmark
 * measures and does not search.  (kvm/seq-in-start: a 3-seed wall-time
 * selection on a loaded machine picked truncate.mmn, median 0.12 s over
 * 10 seeds; migration.mmn does it in 0.01 s.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <mmn/explore.h>
#include <mmn/mmn.h>

#include "bench.h"
#include "scn_bench.h"

#ifndef MMN_SOURCE_DIR
#define MMN_SOURCE_DIR "."
#endif

struct pick {
	const char *form;	/* driver/form */
	const char *scenario;	/* under MMN_SOURCE_DIR */
	const char *era;
};

/* The output of --select (see the top). */
static const struct pick picks[] = {
	{ "dmirror/retry-outside-lock", "scenarios/seed/migration.mmn", "6.12" },
	{ "dmirror/no-set-seq", "scenarios/seed/fork.mmn", "6.12" },
	{ "dmirror/deferred", "scenarios/seed/fork.mmn", "6.12" },
	{ "kvm/seq-in-start", "scenarios/seed/migration.mmn", "6.12" },
	{ "kvm/no-in-progress", "scenarios/seed/do_wp_page.mmn", "6.12" },
	{ "kvm/deferred", "scenarios/seed/munmap.mmn", "6.12" },
	{ "kvm/huge-partial", "scenarios/races/kvm-huge.mmn", "6.12" },
	{ "gru/no-wait", "scenarios/seed/migration.mmn", "6.12" },
	{ "gru/unbalanced", "scenarios/races/mprotect-race.mmn", "6.12" },
	{ "sva/flush-in-end", "scenarios/seed/swap-accident.mmn", "6.12" },
	{ "xpmem/end-only", "scenarios/seed/fork.mmn", "6.12" },
	/* found under 6.12 since PCT runs drivers' workers late in every
	 * other execution (src/rt/strategy.c) */
	{ "xpmem/deferred", "scenarios/seed/fork.mmn", "6.12" },
};

static bool smoke;

/* ---- 1 and 2: executions per second ------------------------------------ */

static void rate(const char *form, bool isolate, int reps, unsigned long runs)
{
	char path[512];
	double w[16], c[16];
	struct bench_stat sw, sc;
	struct inst in;

	snprintf(path, sizeof(path), "%s/scenarios/seed/fork.mmn", MMN_SOURCE_DIR);
	if (inst_find(&in, path, form, MMN_ERA_6_12)) {
		printf("  %-28s fork.mmn has no such instance\n", form);
		inst_free(&in);
		return;
	}
	for (int r = 0; r < reps; r++) {
		struct outcome o;

		if (explore(in.x, (uint64_t)r + 1, runs, 0, isolate, &o))
			exit(1);
		if (o.found) {
			printf("  %-28s violation in a correct form (seed %d)\n", form, r + 1);
			exit(1);
		}
		w[r] = (double)o.execs / o.wall;
		c[r] = (double)o.execs / o.cpu;
	}
	sw = bench_stat(w, reps);
	sc = bench_stat(c, reps);
	printf("  %-28s %-10s %8.0f [%.0f..%.0f] per wall s   %8.0f [%.0f..%.0f] per CPU s\n",
	       form, isolate ? "isolated" : "in-process", sw.med, sw.min, sw.max, sc.med,
	       sc.min, sc.max);
	inst_free(&in);
}

/* ---- 3: time to the first violation ------------------------------------ */

static void first_violation(const struct pick *p, int seeds)
{
	char path[512];
	double t[64], c[64], ex[64];
	int era = mmn_era_parse(p->era), found = 0;
	struct bench_stat st, sc, se;
	struct inst in;

	snprintf(path, sizeof(path), "%s/%s", MMN_SOURCE_DIR, p->scenario);
	if (inst_find(&in, path, p->form, era)) {
		printf("  %-28s %s (%s): no such instance\n", p->form, p->scenario, p->era);
		inst_free(&in);
		return;
	}
	for (int s = 0; s < seeds; s++) {
		struct outcome o;

		if (explore(in.x, (uint64_t)s + 1, smoke ? 50 : 100000, smoke ? 2 : 30, true, &o))
			exit(1);
		found += o.found;
		t[s] = o.wall;
		c[s] = o.cpu;
		ex[s] = (double)o.execs;
	}
	st = bench_stat(t, seeds);
	sc = bench_stat(c, seeds);
	se = bench_stat(ex, seeds);
	printf("  %-28s %-34s %-6s %2d/%-2d %7.3f [%.3f..%.3f] %7.3f %7.0f [%.0f..%.0f]  %s\n",
	       p->form, strrchr(p->scenario, '/') ? strrchr(p->scenario, '/') + 1 : p->scenario,
	       p->era, found, seeds, st.med, st.min, st.max, sc.med, se.med, se.min, se.max,
	       smoke ? "" : found < seeds ? "MISSED (not always found)" :
	       st.med <= 0.1 ? "met" : "MISSED");
	inst_free(&in);
}

/* ---- --select ---------------------------------------------------------- */

static int scenario_files(char ***files)
{
	static const char *const dirs[] = { "scenarios/seed", "scenarios/races" };
	int n = 0;

	*files = NULL;
	for (size_t d = 0; d < 2; d++) {
		char dir[512];
		struct dirent *de;
		DIR *dp;

		snprintf(dir, sizeof(dir), "%s/%s", MMN_SOURCE_DIR, dirs[d]);
		dp = opendir(dir);
		if (!dp)
			continue;
		while ((de = readdir(dp))) {
			size_t len = strlen(de->d_name);

			if (len < 5 || strcmp(de->d_name + len - 4, ".mmn"))
				continue;
			*files = realloc(*files, sizeof(char *) * (size_t)(n + 1));
			if (asprintf(&(*files)[n], "%s/%s", dirs[d], de->d_name) < 0)
				exit(1);
			n++;
		}
		closedir(dp);
	}
	return n;
}

static void select_scenarios(void)
{
	char **files;
	int nf = scenario_files(&files);

	printf("--select: per broken form, median CPU seconds to the first violation over "
	       "seeds 1..5 (at most 2000 executions, 2 s)\n");
	for (int d = 0; mmn_builtin_drivers[d]; d++)
		for (int f = 1; mmn_builtin_drivers[d]->forms[f]; f++) {
			char form[96], best[512] = "(none)";
			double best_t = 1e9;

			snprintf(form, sizeof(form), "%s/%s", mmn_builtin_drivers[d]->name,
				 mmn_builtin_drivers[d]->forms[f]);
			for (int i = 0; i < nf; i++) {
				char path[512];
				double t[5];
				int found = 0;
				struct inst in;

				snprintf(path, sizeof(path), "%s/%s", MMN_SOURCE_DIR, files[i]);
				if (inst_find(&in, path, form, MMN_ERA_6_12) &&
				    (inst_free(&in), inst_find(&in, path, form, -1))) {
					inst_free(&in);
					continue;
				}
				if (in.x->expect < 0) {
					inst_free(&in);
					continue;
				}
				for (int s = 0; s < 5; s++) {
					struct outcome o;

					if (explore(in.x, (uint64_t)s + 1, 2000, 2, true, &o))
						exit(1);
					found += o.found;
					t[s] = o.found ? o.cpu : 1e9;
				}
				if (found >= 3 && bench_stat(t, 5).med < best_t) {
					best_t = bench_stat(t, 5).med;
					snprintf(best, sizeof(best), "%s (%s)", files[i],
						 mmn_era_name(in.x->era));
				}
				inst_free(&in);
			}
			printf("  %-28s %-44s %.3f s\n", form, best, best_t < 1e9 ? best_t : 0);
		}
	for (int i = 0; i < nf; i++)
		free(files[i]);
	free(files);
}

int main(int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	int seeds = 10, reps = 5;
	unsigned long runs = 5000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	smoke = bench_smoke(argc, argv);
	if (smoke) {
		seeds = 1;
		reps = 1;
		runs = 20;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
			seeds = atoi(argv[++i]);
	if (seeds < 1 || seeds > 64)
		return 2;
	mmn_rt_init(&rc);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--select")) {
			select_scenarios();
			mmn_rt_exit();
			return 0;
		}
	printf("exploration (mmn_explore, pct depth 3, no shrinking), era 6.12 unless named\n");
	printf("executions per second, fork + COW + dmirror workload (seed/fork.mmn, "
	       "%lu executions, seeds 1..%d, median [min..max]); target >= 5000 per CPU s:\n",
	       runs, reps);
	rate("dmirror/correct", true, reps, runs);
	rate("dmirror/correct", false, reps, runs);
	printf("executions per second, correct forms (seed/fork.mmn, isolated, %lu executions, "
	       "seeds 1..%d):\n", runs / 5 ? runs / 5 : 1, reps);
	for (int d = 0; mmn_builtin_drivers[d]; d++) {
		char form[96];

		snprintf(form, sizeof(form), "%s/%s", mmn_builtin_drivers[d]->name,
			 mmn_builtin_drivers[d]->forms[0]);
		rate(form, true, reps, runs / 5 ? runs / 5 : 1);
	}
	printf("time to the first violation, broken forms (isolated, seeds 1..%d); "
	       "target: median <= 0.1 s\n", seeds);
	printf("  %-28s %-34s %-6s %-5s %-22s %-7s %-18s\n", "form", "scenario", "era", "found",
	       "wall s, med [min..max]", "CPU s", "executions");
	for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++)
		first_violation(&picks[i], seeds);
	mmn_rt_exit();
	return 0;
}
