/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rt/-internal: the controlled back end (sched_controlled.c), its
 * strategies (strategy.c) and the exploration driver (explore.c).
 *
 * Vocabulary
 *   agent      a task as the controlled back end sees it: a coroutine (or,
 *              for "main", the OS thread's own stack) plus its state:
 *              runnable, blocked (parked on a waitpoint or in task_join),
 *              or done (its body returned, not yet joined).
 *   step       one schedule point reached by the running agent: a
 *              mmn_sched_point(), a park, a task exit.  Steps are counted
 *              per execution, from 1.
 *   decision   a step where more than one agent could run next; the
 *              strategy's choice (the chosen agent's pid) is appended to
 *              the execution's trail.  A step with one candidate is not a
 *              decision and is not recorded: replaying the decisions in
 *              order re-runs the execution.
 *   preemption a decision that switches away from an agent that could
 *              have continued (it was runnable and did not yield).
 *              Yields, parks and exits are free switches (CHESS counts
 *              them the same way).
 *
 * Candidates at a step: every runnable agent, ascending pid; at a yield
 * (MMN_SP_YIELD: cond_resched()) the yielding agent is left out when
 * anybody else can run, so that a spinning waiter always lets the agent it
 * waits for make progress ("fairness for yields").
 */
#ifndef MMN_RT_CONTROLLED_H
#define MMN_RT_CONTROLLED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mmn/rt.h>

/*
 * A trail entry: the chosen pid, with CTL_TRAIL_PREEMPT if it preempted,
 * CTL_TRAIL_CONT if the running agent went on.  The shrinker uses the
 * second to replay "go on" relative to whoever runs (entry 0), so that
 * dropping one preemption does not turn a later "go on" into a switch.
 */
#define CTL_TRAIL_PREEMPT	0x8000u
#define CTL_TRAIL_CONT		0x4000u
#define CTL_MAX_PID		0x3fff
#define CTL_TRAIL_PID(e)	((int)((e) & CTL_MAX_PID))

/* What the strategy is asked at every step (not only at decisions). */
struct ctl_point {
	const int *pids;	/* candidates, ascending pid; nr >= 1 */
	const bool *worker;	/* pids[i] is a driver worker (MMN_TASK_WORKER) */
	unsigned int nr;
	int cur;		/* index in pids of the agent that reached the
				 * point if it may continue without a
				 * preemption, else -1 (it blocked, exited or
				 * yielded) */
	int cur_pid;		/* the agent that reached the point */
	bool yield;		/* it yielded */
	unsigned long step;	/* this step's number, from 1 */
	unsigned long decision;	/* decisions before this one */
};

/*
 * A strategy.  pick() is called at every step, with nr == 1 too (PCT
 * counts steps); only its answer at a decision (nr > 1) is recorded.  It
 * returns an index into p->pids, or -1 when it cannot answer (a replayed
 * decision names an agent that is not a candidate): the back end then
 * aborts the execution with CTL_ABORT_DIVERGED.  It runs on the agent's
 * stack, between two agents: it must not call into rt/.
 */
struct ctl_strategy {
	int (*pick)(struct ctl_strategy *s, const struct ctl_point *p);
	char *error;		/* set by pick() before returning -1 */
	size_t error_len;
};

/* Why an execution ended early.  0: it did not. */
enum ctl_abort {
	CTL_ABORT_NONE,
	CTL_ABORT_DEADLOCK,	/* every agent blocked: reported */
	CTL_ABORT_LIVELOCK,	/* max_steps reached: reported */
	CTL_ABORT_DIVERGED,	/* the strategy could not answer */
	CTL_ABORT_UNJOINED,	/* run() returned with live tasks: reported */
};

/* Events, recorded only when ctl_exec.events is set (printing a replay). */
enum ctl_event_type {
	CTL_EV_POINT,		/* sub: enum mmn_sched_point */
	CTL_EV_BLOCK,		/* sub: enum mmn_park_kind; arg: file:line */
	CTL_EV_CREATE,		/* arg: the new task's comm/pid */
	CTL_EV_EXIT,		/* the task's function returned */
};

#define CTL_EV_ARG_LEN		64
#define CTL_OBJ_NAME_LEN	48
#define CTL_MAX_OBJS		512

struct ctl_event {
	int pid;
	uint8_t type;
	uint8_t sub;
	uint16_t obj;		/* 1 + index in ctl_events.obj_name, 0: none */
	bool preempted;		/* the agent was switched away here, runnable */
	char comm[MMN_TASK_COMM_LEN];
	char arg[CTL_EV_ARG_LEN];
};

/*
 * An event log, in memory the explorer may share with a child process: so
 * no pointers to anything but itself (obj_ptr is only compared, in the
 * process that records).  Objects are numbered in order of first
 * appearance, so the numbering is the same on every replay; a name is
 * filled in when one is learnt (a lock in somebody's held list, a park).
 */
struct ctl_events {
	uint32_t nr, cap;
	uint32_t nr_objs;
	bool truncated;
	const void *obj_ptr[CTL_MAX_OBJS];
	char obj_name[CTL_MAX_OBJS][CTL_OBJ_NAME_LEN];
	struct ctl_event ev[];
};

/*
 * One execution's settings and outputs, handed to the back end before
 * mmn_rt_init(controlled) by __mmn_ctl_prepare().  Without it (a program
 * that calls mmn_rt_init(controlled) itself) the back end picks with a
 * seeded random strategy (mmn_rt_config.seed), records nothing and has
 * max_steps CTL_DEFAULT_MAX_STEPS.
 */
#define CTL_DEFAULT_MAX_STEPS	200000ul

struct ctl_exec {
	struct ctl_strategy *strategy;
	unsigned long max_steps;
	/* the trail; may be shared memory */
	uint16_t *trail;
	size_t trail_cap;
	size_t *trail_nr;
	bool *trail_overflow;
	struct ctl_events *events;	/* NULL: do not record */
	/* outputs, valid after the run */
	unsigned long steps;
	unsigned long decisions;
	unsigned int preemptions;
	unsigned int nr_agents;		/* agents ever alive, main included */
	enum ctl_abort aborted;
};

/* Use @x for the next mmn_rt_init(controlled) run (NULL: defaults). */
void __mmn_ctl_prepare(struct ctl_exec *x);

/*
 * Run @fn(@arg) as the main agent, with an escape: if the execution must
 * end early (deadlock, livelock, divergence) every other agent is
 * abandoned where it stands, @fn's frames are unwound by a longjmp, and
 * the reason is returned.  Abandoned agents' tasks are freed at the end of
 * the run; whatever they allocated, and the state of the locks they held,
 * is lost: that is why the explorer runs executions in a child process.
 * Returns CTL_ABORT_NONE when @fn returned (and every task it created was
 * joined; otherwise CTL_ABORT_UNJOINED, reported).
 */
enum ctl_abort __mmn_ctl_run_main(void (*fn)(void *arg), void *arg);

/* Unmap the pooled coroutine stacks (they outlive runs, to be reused). */
void __mmn_ctl_pool_drain(void);

/* Measured by bench/: one switch there and back, in nanoseconds. */
double __mmn_ctl_switch_cost_ns(unsigned long rounds);

/* strategy.c: splitmix64, the PRNG of every strategy. */
static inline uint64_t __mmn_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform integer in [0, n), n > 0, without modulo bias. */
static inline uint64_t __mmn_rand_below(uint64_t *s, uint64_t n)
{
	uint64_t lim = -n % n, r;

	do
		r = __mmn_splitmix64(s);
	while (r < lim);
	return r % n;
}

#endif /* MMN_RT_CONTROLLED_H */
