/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scenario instance under mmn_explore(), as `mmnlab run` explores it
 * (setup, run, teardown as one phase): shared by explore_bench and
 * model_bench.
 */
#ifndef MMN_BENCH_SCN_H
#define MMN_BENCH_SCN_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <mmn/explore.h>
#include <mmn/mmn.h>

#include "scenario/scenario.h"

/* ---- one instance under the explorer (scn_explore_ops) ---------------- */

struct inst {
	struct scn_scenario *all[SCN_MAX_INSTANCES];
	int n;
	struct scn_scenario *s, *x;
};

static inline void inst_free(struct inst *in)
{
	for (int i = 0; i < in->n; i++)
		scn_free(in->all[i]);
	if (in->s)
		scn_free(in->s);
	memset(in, 0, sizeof(*in));
}

/* The instance of @path for @form under @era (-1: the first era it runs in). */
static inline int inst_find(struct inst *in, const char *path, const char *form, int era)
{
	char err[512], label[96];

	memset(in, 0, sizeof(*in));
	in->s = scn_load(path, err, sizeof(err));
	if (!in->s) {
		fprintf(stderr, "bench: %s\n", err);
		return -ENOENT;
	}
	in->n = scn_expand(in->s, in->all, SCN_MAX_INSTANCES);
	for (int i = 0; i < in->n; i++) {
		scn_instance_label(in->all[i], label, sizeof(label));
		if (strcmp(label, form) || (era >= 0 && (int)in->all[i]->era != era))
			continue;
		in->x = in->all[i];
		return 0;
	}
	return -ENOENT;
}

static inline double cpu_seconds(void)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
			b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
			b.ru_stime.tv_usec) * 1e-6;
}

struct outcome {
	bool found;
	unsigned long execs;	/* to the first violation, or all */
	double wall, cpu;	/* seconds */
	int kind;
	bool exhausted;		/* dfs */
};

static inline int explore_cfg(const struct scn_scenario *x, struct mmn_explore_config *cfg,
		       struct outcome *o)
{
	struct scn_exec *e = scn_exec_new(x);
	struct mmn_explore_result r;
	double c0 = cpu_seconds();
	int ret;

	if (!e)
		return -ENOMEM;
	ret = mmn_explore(cfg, &scn_explore_ops, e, &r);
	o->cpu = cpu_seconds() - c0;
	scn_exec_free(e);
	if (ret) {
		fprintf(stderr, "bench: %s\n", r.error);
		mmn_explore_result_free(&r);
		return ret;
	}
	o->found = r.found;
	o->execs = r.found ? r.index + 1 : r.executions;
	o->wall = r.elapsed;
	o->kind = r.found ? r.kind : -1;
	o->exhausted = r.exhausted;
	mmn_explore_result_free(&r);
	return 0;
}


/* PCT depth 3, no shrinking, as mmnlab's default but for the shrink. */
static inline int explore(const struct scn_scenario *x, uint64_t seed, unsigned long runs,
		   double time_limit, bool isolate, struct outcome *o)
{
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_PCT, .seed = seed, .runs = runs,
		.pct_depth = 3, .isolate = isolate, .time_limit = time_limit,
	};

	return explore_cfg(x, &cfg, o);
}

#endif
