// SPDX-License-Identifier: GPL-2.0
/*
 * The lab against an exhaustive model checker on one race: the
 * fault-vs-invalidate race of bench/model/race.mmn (a device caching a
 * translation under a sequence count, the CPU remapping the page) and the
 * same race in Promela, bench/model/race.pml, run by bench/model/run-spin
 * (spin -a, gcc pan.c, ./pan).
 *
 *	model_bench [--smoke] [--seeds N]
 *
 * mmnlab: time to the first violation of dmirror/retry-outside-lock with
 * PCT (seeds 1..N, isolated as mmnlab runs it, and in-process), and with
 * DFS (preemption bound 2: deterministic, repeated N times for the
 * median); the correct form explored exhaustively by DFS (bound 2).
 * SPIN: the same, N times each; "pan" is the search alone, "total" adds
 * spin -a and the C compiler.  Without spin: "spin not installed".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "scn_bench.h"

#ifndef MMN_SOURCE_DIR
#define MMN_SOURCE_DIR "."
#endif

static bool smoke;

static void lab_row(const char *what, const char *form, struct mmn_explore_config *base,
		    int reps, bool vary_seed)
{
	char path[512];
	double t[64], c[64], ex[64];
	struct bench_stat st, sc, se;
	int found = 0, exhausted = 0;
	struct inst in;

	snprintf(path, sizeof(path), "%s/bench/model/race.mmn", MMN_SOURCE_DIR);
	if (inst_find(&in, path, form, MMN_ERA_6_12)) {
		printf("  %-44s no instance %s\n", what, form);
		inst_free(&in);
		exit(1);
	}
	for (int r = 0; r < reps; r++) {
		struct mmn_explore_config cfg = *base;
		struct outcome o;

		cfg.seed = vary_seed ? (uint64_t)r + 1 : 1;
		if (explore_cfg(in.x, &cfg, &o))
			exit(1);
		found += o.found;
		exhausted += o.exhausted;
		t[r] = o.wall;
		c[r] = o.cpu;
		ex[r] = (double)o.execs;
	}
	st = bench_stat(t, reps);
	sc = bench_stat(c, reps);
	se = bench_stat(ex, reps);
	printf("  %-44s %8.4f [%.4f..%.4f] %8.4f  %6.0f  %s\n", what, st.med, st.min, st.max,
	       sc.med, se.med,
	       found ? (found == reps ? "found every time" : "found sometimes")
		     : exhausted ? "no violation, exhausted" : "no violation");
	inst_free(&in);
}

/* One run of run-spin: fills pan and total seconds, returns errors (-1: none ran). */
static int spin_once(bool correct, double *pan, double *total, char *states, size_t n,
		     char *msg, size_t mlen)
{
	char cmd[1024], line[512] = "";
	int errors = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s/bench/model/run-spin %s 2>&1", MMN_SOURCE_DIR,
		 correct ? "correct" : "");
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "spin:", 5) || strstr(line, "not installed"))
			snprintf(msg, mlen, "%s", line);
	pclose(f);
	msg[strcspn(msg, "\n")] = 0;
	if (sscanf(msg, "spin: errors=%d states=%63s spin_a=%*f gcc=%*f pan=%lf total=%lf",
		   &errors, states, pan, total) != 4)
		return -1;
	(void)n;
	return errors;
}

static void spin_row(const char *what, bool correct, int reps)
{
	double pan[64] = { 0 }, total[64] = { 0 };
	char states[64] = "?", msg[512] = "";
	struct bench_stat sp, stt;
	int errors = -1;

	for (int r = 0; r < reps; r++) {
		errors = spin_once(correct, &pan[r], &total[r], states, sizeof(states), msg,
				   sizeof(msg));
		if (errors < 0) {
			printf("  %-44s %s\n", what,
			       strstr(msg, "not installed") ? "spin not installed"
							    : msg[0] ? msg : "run-spin failed");
			return;
		}
	}
	sp = bench_stat(pan, reps);
	stt = bench_stat(total, reps);
	printf("  %-44s %8.4f [%.4f..%.4f]  total (spin -a + gcc + pan) %.3f s, %s states, %s\n",
	       what, sp.med, sp.min, sp.max, stt.med, states,
	       errors ? "assertion violated" : "no error: the state space is safe");
}

int main(int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	struct mmn_explore_config pct = {
		.strategy = MMN_STRATEGY_PCT, .runs = 100000, .pct_depth = 3, .isolate = true,
		.time_limit = 30,
	};
	struct mmn_explore_config dfs = {
		.strategy = MMN_STRATEGY_DFS, .preemption_bound = 2, .isolate = true,
		.time_limit = 30,
	};
	int seeds = 10;

	setvbuf(stdout, NULL, _IOLBF, 0);
	smoke = bench_smoke(argc, argv);
	if (smoke)
		seeds = 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
			seeds = atoi(argv[++i]);
	if (seeds < 1 || seeds > 64)
		return 2;
	mmn_rt_init(&rc);
	printf("abstract-model comparison: the fault-vs-invalidate race (bench/model/race.mmn, "
	       "race.pml), %d repetitions, median [min..max]\n", seeds);
	printf("  %-44s %-24s %-8s %-6s\n", "", "wall s to the verdict", "CPU s", "execs");
	lab_row("mmnlab pct, retry-outside-lock, isolated", "dmirror/retry-outside-lock", &pct,
		seeds, true);
	pct.isolate = false;
	lab_row("mmnlab pct, retry-outside-lock, in-process", "dmirror/retry-outside-lock", &pct,
		seeds, true);
	lab_row("mmnlab dfs bound 2, retry-outside-lock", "dmirror/retry-outside-lock", &dfs,
		seeds, false);
	lab_row("mmnlab dfs bound 2, correct (exhaustive)", "dmirror/correct", &dfs, seeds,
		false);
	printf("  %-44s %-24s\n", "", "pan s (the search)");
	spin_row("SPIN 6.5, retry-outside-lock", false, seeds);
	spin_row("SPIN 6.5, correct (exhaustive)", true, seeds);
	mmn_rt_exit();
	return 0;
}
