/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rt/-internal: the explorer's strategies (strategy.c).
 *
 * What a strategy carries from one execution to the next (PCT's step
 * estimate, the DFS stack) lives in struct strat_shared, which the
 * explorer keeps in memory shared with its child processes: a child that
 * crashes mid-execution leaves it as it was, and the parent (or the next
 * child) goes on from there.  So it holds no pointers.  Per-execution
 * state (PRNG, priorities, replay position) is private to struct strat.
 */
#ifndef MMN_RT_STRATEGY_H
#define MMN_RT_STRATEGY_H

#include <mmn/explore.h>

#include "controlled.h"

#define STRAT_PCT_MAX_DEPTH	16

/* One DFS decision: which of its nr ordered choices is being explored. */
struct strat_dfs_frame {
	uint16_t nr;		/* choices: the running agent first (if it
				 * may continue), then ascending pid */
	uint16_t idx;		/* the one taken */
	uint16_t used;		/* preemptions before this decision */
	uint8_t cur_runnable;	/* choices 1.. are preemptions */
	uint8_t pad;
};

struct strat_shared {
	enum mmn_explore_strategy kind;
	uint64_t seed;
	/* pct */
	unsigned int depth;
	unsigned long k_given;
	unsigned long max_steps_seen;
	unsigned long max_decisions_seen;	/* pct's k */
	unsigned int max_agents_seen;
	/* dfs */
	unsigned int bound;		/* the configured bound */
	unsigned int pass_bound;	/* this pass: exactly this many */
	size_t nr_frames;		/* the stack */
	size_t max_frames;
	bool exhausted;
};

struct strat {
	struct ctl_strategy s;		/* first: ctl calls s.pick */
	struct strat_shared *sh;
	struct strat_dfs_frame *frames;	/* sh's stack, max_frames long */
	char err[256];
	/* per execution */
	uint64_t rng;
	unsigned long cp[STRAT_PCT_MAX_DEPTH];	/* change points, by index 1.. */
	int64_t *prio;			/* by pid, 0: not yet seen */
	size_t prio_cap;
	int64_t yield_floor;
	bool late_workers;		/* pct: workers below every agent */
	const struct mmn_schedule *replay;
	bool lenient;
	size_t pos;
	size_t frame;			/* dfs: decisions so far */
	unsigned int used;		/* dfs: preemptions so far */
};

/* The execution's own seed, from the run's seed and its index. */
uint64_t __mmn_strat_exec_seed(uint64_t seed, unsigned long index);

void __mmn_strat_init(struct strat *st, struct strat_shared *sh,
		      struct strat_dfs_frame *frames);
void __mmn_strat_destroy(struct strat *st);
/* An execution begins. */
void __mmn_strat_begin(struct strat *st, unsigned long index);
/*
 * An execution ended after @x (NULL if it crashed: nothing is known but
 * the DFS stack).  Returns whether it counts as a new execution (a DFS
 * pass re-runs the schedules of the passes before it).
 */
bool __mmn_strat_end(struct strat *st, const struct ctl_exec *x);
/* The PCT guarantee for n agents, k steps, depth d: 1/(n * k^(d-1)). */
double __mmn_pct_bound(unsigned int n, unsigned long k, unsigned int d);

#endif /* MMN_RT_STRATEGY_H */
