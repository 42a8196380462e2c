// SPDX-License-Identifier: GPL-2.0
/*
 * Strategies of the controlled back end: who runs at each decision.
 *
 * Every strategy is a pure function of (the run's seed, the execution's
 * index, what it carried over from earlier executions, the candidates it
 * is shown): never of addresses, time or the OS.  The candidates are
 * agents by pid, in ascending order, and pids are handed out in creation
 * order from 1 at every execution, so the same program gives the same
 * questions and the same answers, byte for byte.
 *
 * random   Uniform among the candidates at every decision.
 *          Guarantee: a given schedule of m decisions with at most c
 *          candidates each comes up with probability >= c^-m per
 *          execution; a bug that needs one particular choice at each of
 *          its j critical decisions, and tolerates anything elsewhere, is
 *          found with probability >= c^-j.  Good at shallow bugs, and its
 *          schedules switch agents very often.
 *
 * pct      Probabilistic Concurrency Testing (Burckhardt, Kothari,
 *          Musuvathi, Nagarakatte, ASPLOS 2010).  Each agent gets a
 *          random priority >= d when first seen; d-1 change points are
 *          drawn uniformly among decisions 1..k; when decision k_i is
 *          reached the running agent's priority drops to i (1 <= i < d).
 *          The highest priority candidate always runs.  Guarantee: for a
 *          bug of depth d (d ordering constraints between events of
 *          different agents) in a program of n agents and at most k
 *          decisions, one execution finds it with probability >=
 *          1/(n * k^(d-1)).  k counts decisions (steps where more than one
 *          agent could run), not steps: at a step with one candidate a
 *          priority change has the same effect as at the next decision of
 *          the same agent, so the paper's bound holds with the smaller k
 *          (our executions have five to ten steps per decision: spinlocks
 *          and bookkeeping of the running agent).  k is given, or the most
 *          decisions any earlier execution made (the first execution then
 *          has no change points).  Outside the paper's model: a
 *          yield (cond_resched) drops the yielder below every other
 *          priority, as sched_yield() sends a thread to the back of the
 *          queue, so that a spinning waiter cannot starve the agent it
 *          waits for; the guarantee assumes no yield sits between the
 *          bug's events.  Also outside it: in every other execution (a
 *          coin of its own, drawn from the seed and the execution index
 *          apart from the priorities), the drivers' workers
 *          (MMN_TASK_WORKER: deferred invalidation) start below every
 *          agent and every change point, as a work item may wait
 *          arbitrarily long; they run when the agents are blocked,
 *          done or yielding (yields then drop below them).  The
 *          asynchronous bugs this targets -- an access after the
 *          invalidation returned and before the worker ran -- otherwise
 *          need one change point more to keep the woken worker off the
 *          CPU: a depth-3 XPMEM lost write went from ~1 in 10^4
 *          executions at depth 4 to ~1 in 10^2 at depth 3.  The
 *          executions are as legal as any other.
 *
 * replay   The decisions of a schedule, in order.  Strict: a decision
 *          naming an agent that is not a candidate, or a schedule that
 *          ends too early or too late, is an error (the execution is
 *          aborted and mmn_explore() fails with the position).  Lenient
 *          (the shrinker): such a decision, an entry 0, and every
 *          decision past the end take the default: the running agent
 *          continues if it can, else the lowest pid.  (Entry 0 is
 *          "the default" in a strict replay too; trace files cannot hold
 *          it.)  Guarantee: the
 *          same program gives the same execution.
 *
 * dfs      Stateless depth-first search over decisions, with a
 *          preemption bound (Musuvathi and Qadeer, "Iterative context
 *          bounding", PLDI 2007).  Choices at a decision are ordered: the
 *          running agent first (if it can go on: no preemption), then the
 *          others by pid (each a preemption if the running agent could
 *          have gone on).  Pass b explores every schedule with at most b
 *          preemptions and counts those with exactly b; passes run for
 *          b = 0..bound, so the first bug found has the fewest
 *          preemptions.  Each execution replays the stack's prefix, so
 *          the program must be deterministic given its decisions (checked:
 *          a decision that changes shape on replay is an error).
 *          Guarantee: with runs unbounded, every schedule with at most
 *          `bound` preemptions is executed, each counted exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategy.h"

uint64_t __mmn_strat_exec_seed(uint64_t seed, unsigned long index)
{
	uint64_t s = seed ^ ((uint64_t)index * 0xd1342543de82ef95ull);

	return __mmn_splitmix64(&s);
}

double __mmn_pct_bound(unsigned int n, unsigned long k, unsigned int d)
{
	double b = n ? 1.0 / n : 1.0;

	for (unsigned int i = 1; i < d; i++)
		b /= k ? (double)k : 1.0;
	return b;
}

/* ------------------------------------------------------------------ */

static int strat_random_pick(struct ctl_strategy *s, const struct ctl_point *p)
{
	struct strat *st = (struct strat *)s;

	return p->nr == 1 ? 0 : (int)__mmn_rand_below(&st->rng, p->nr);
}

/* ------------------------------------------------------------------ */

#define PCT_UNSEEN	INT64_MIN

static int64_t *pct_prio(struct strat *st, int pid)
{
	if ((size_t)pid >= st->prio_cap) {
		size_t cap = st->prio_cap ? st->prio_cap : 16;
		int64_t *p;

		while (cap <= (size_t)pid)
			cap *= 2;
		p = realloc(st->prio, cap * sizeof(*p));
		if (!p)
			abort();
		for (size_t i = st->prio_cap; i < cap; i++)
			p[i] = PCT_UNSEEN;
		st->prio = p;
		st->prio_cap = cap;
	}
	if (st->prio[pid] == PCT_UNSEEN)	/* >= d, distinct in practice */
		st->prio[pid] = (int64_t)st->sh->depth +
				(int64_t)(__mmn_splitmix64(&st->rng) >> 2);
	return &st->prio[pid];
}

/*
 * The bands, highest first: agents' initial priorities (>= d); change
 * points (d-1 .. 1); yields (0, -1, ...); late workers (at most PCT_LATE,
 * in the order their normal priorities would have had); change points of
 * late workers (PCT_LATE_CP + i); yields of a late-worker execution
 * (PCT_LATE_YIELD, -1 ...).
 */
#define PCT_LATE	(-((int64_t)1 << 61))
#define PCT_LATE_CP	(-((int64_t)1 << 61) - ((int64_t)1 << 59))
#define PCT_LATE_YIELD	(-((int64_t)1 << 62))

static bool pct_is_late(int64_t prio)
{
	return prio <= PCT_LATE && prio > PCT_LATE_YIELD;
}

static void pct_first_seen(struct strat *st, const struct ctl_point *p)
{
	for (unsigned int i = 0; i < p->nr; i++) {
		int pid = p->pids[i];

		if (!st->late_workers || !p->worker || !p->worker[i])
			continue;
		if ((size_t)pid < st->prio_cap && st->prio[pid] != PCT_UNSEEN)
			continue;
		/* the draw it would have had, shifted into the late band */
		*pct_prio(st, pid) = PCT_LATE - ((int64_t)1 << 57) + (*pct_prio(st, pid) >> 6);
	}
}

static int strat_pct_pick(struct ctl_strategy *s, const struct ctl_point *p)
{
	struct strat *st = (struct strat *)s;
	int64_t best = PCT_UNSEEN;
	int pick = 0;

	pct_first_seen(st, p);
	if (p->nr > 1)
		for (unsigned int i = 1; i < st->sh->depth; i++)
			if (st->cp[i] == p->decision + 1) {
				int64_t *pr = pct_prio(st, p->cur_pid);

				*pr = pct_is_late(*pr) ? PCT_LATE_CP + i : (int64_t)i;
			}
	if (p->yield)
		*pct_prio(st, p->cur_pid) = st->yield_floor--;
	for (unsigned int i = 0; i < p->nr; i++) {
		int64_t pr = *pct_prio(st, p->pids[i]);

		if (pr > best) {
			best = pr;
			pick = (int)i;
		}
	}
	return pick;
}

/* ------------------------------------------------------------------ */

static int replay_default(const struct ctl_point *p)
{
	return p->cur >= 0 ? p->cur : 0;
}

static int strat_replay_pick(struct ctl_strategy *s, const struct ctl_point *p)
{
	struct strat *st = (struct strat *)s;
	const struct mmn_schedule *r = st->replay;
	int pid;

	if (p->nr == 1)
		return 0;
	if (!r || st->pos >= r->nr) {
		if (st->lenient)
			return replay_default(p);
		snprintf(st->err, sizeof(st->err),
			 "replay diverged: the schedule ends after %zu decisions, "
			 "but the execution goes on", r ? r->nr : 0);
		return -1;
	}
	pid = CTL_TRAIL_PID(r->pid[st->pos++]);
	for (unsigned int i = 0; i < p->nr; i++)
		if (p->pids[i] == pid)
			return (int)i;
	if (st->lenient || !pid)
		return replay_default(p);
	{
		char cands[128] = "";
		size_t len = 0;

		for (unsigned int i = 0; i < p->nr && len < sizeof(cands) - 8; i++)
			len += (size_t)snprintf(cands + len, sizeof(cands) - len, " %d",
						p->pids[i]);
		snprintf(st->err, sizeof(st->err),
			 "replay diverged at decision %zu (step %lu): pid %d cannot run "
			 "there; candidates:%s", st->pos - 1, p->step, pid, cands);
	}
	return -1;
}

/* ------------------------------------------------------------------ */

static int strat_dfs_pick(struct ctl_strategy *s, const struct ctl_point *p)
{
	struct strat *st = (struct strat *)s;
	struct strat_shared *sh = st->sh;
	struct strat_dfs_frame *f;
	bool runnable = p->cur >= 0;
	int i;

	if (p->nr == 1)
		return 0;
	if (st->frame < sh->nr_frames) {
		f = &st->frames[st->frame];
		if (f->nr != p->nr || f->cur_runnable != runnable) {
			snprintf(st->err, sizeof(st->err),
				 "dfs: decision %zu changed on replay (%u candidates, was %u): "
				 "the program is not deterministic given its schedule",
				 st->frame, p->nr, f->nr);
			return -1;
		}
	} else {
		if (sh->nr_frames == sh->max_frames) {
			snprintf(st->err, sizeof(st->err),
				 "dfs: more than %zu decisions in one execution", sh->max_frames);
			return -1;
		}
		f = &st->frames[sh->nr_frames++];
		*f = (struct strat_dfs_frame){
			.nr = (uint16_t)p->nr, .idx = 0, .used = (uint16_t)st->used,
			.cur_runnable = runnable,
		};
	}
	st->frame++;
	if (!runnable)
		return f->idx;
	if (!f->idx)
		return p->cur;
	st->used++;
	i = f->idx - 1;		/* the idx-th of the others */
	return i >= p->cur ? i + 1 : i;
}

/* Next schedule: the deepest decision with an untried choice in budget. */
static bool strat_dfs_end(struct strat *st)
{
	struct strat_shared *sh = st->sh;
	unsigned int pre = 0;
	bool counts;

	for (size_t i = 0; i < sh->nr_frames; i++)
		pre += st->frames[i].cur_runnable && st->frames[i].idx;
	counts = pre == sh->pass_bound;
	while (sh->nr_frames) {
		struct strat_dfs_frame *f = &st->frames[sh->nr_frames - 1];

		if (f->idx + 1 < f->nr && f->used + (f->cur_runnable ? 1u : 0u) <= sh->pass_bound) {
			f->idx++;
			return counts;
		}
		sh->nr_frames--;
	}
	if (sh->pass_bound < sh->bound)
		sh->pass_bound++;
	else
		sh->exhausted = true;
	return counts;
}

/* ------------------------------------------------------------------ */

void __mmn_strat_init(struct strat *st, struct strat_shared *sh,
		      struct strat_dfs_frame *frames)
{
	static int (*const picks[])(struct ctl_strategy *, const struct ctl_point *) = {
		[MMN_STRATEGY_RANDOM] = strat_random_pick,
		[MMN_STRATEGY_PCT] = strat_pct_pick,
		[MMN_STRATEGY_REPLAY] = strat_replay_pick,
		[MMN_STRATEGY_DFS] = strat_dfs_pick,
	};

	memset(st, 0, sizeof(*st));
	st->sh = sh;
	st->frames = frames;
	st->s.pick = picks[sh->kind];
}

void __mmn_strat_destroy(struct strat *st)
{
	free(st->prio);
	st->prio = NULL;
	st->prio_cap = 0;
}

void __mmn_strat_begin(struct strat *st, unsigned long index)
{
	struct strat_shared *sh = st->sh;

	st->rng = __mmn_strat_exec_seed(sh->seed, index);
	st->err[0] = '\0';
	st->pos = 0;
	st->frame = 0;
	st->used = 0;
	if (sh->kind == MMN_STRATEGY_PCT) {
		unsigned long k = sh->k_given ? sh->k_given : sh->max_decisions_seen;

		for (unsigned int i = 1; i < sh->depth; i++)
			st->cp[i] = k ? 1 + __mmn_rand_below(&st->rng, k) : 0;
		for (size_t i = 0; i < st->prio_cap; i++)
			st->prio[i] = PCT_UNSEEN;
		/* apart from st->rng: executions without workers are as before */
		st->late_workers = __mmn_strat_exec_seed(sh->seed ^ 0x6c617465ULL, index) & 1;
		st->yield_floor = st->late_workers ? PCT_LATE_YIELD : 0;
	}
}

bool __mmn_strat_end(struct strat *st, const struct ctl_exec *x)
{
	struct strat_shared *sh = st->sh;

	if (x) {
		if (x->steps > sh->max_steps_seen)
			sh->max_steps_seen = x->steps;
		if (x->decisions > sh->max_decisions_seen)
			sh->max_decisions_seen = x->decisions;
		if (x->nr_agents > sh->max_agents_seen)
			sh->max_agents_seen = x->nr_agents;
	}
	if (sh->kind == MMN_STRATEGY_DFS)
		return strat_dfs_end(st);
	return true;
}
