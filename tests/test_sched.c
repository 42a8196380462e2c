// SPDX-License-Identifier: GPL-2.0
/*
 * The controlled back end and the explorer: strategies find what they must
 * and only that, schedules replay exactly, exhaustive counts are pinned,
 * deadlocks, livelocks, crashes and hangs end as results, shrinking
 * shrinks, trace files round-trip and reject garbage with file:line.
 *
 * Each test brings its own executions up through mmn_explore() (which ends
 * the harness's threads run and starts a fresh one when it returns) or
 * mmn_rt_init(controlled) directly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmn/explore.h>
#include <mmn/linux/completion.h>
#include <mmn/linux/mutex.h>
#include <mmn/linux/rwsem.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/srcu.h>
#include <mmn/linux/wait.h>

#include "harness.h"
#include "rt/controlled.h"

#ifndef EXPECT_GT
#define EXPECT_GT(a, b) __H_CMP(0, a, >, b)
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#define EXPECT_LT(a, b) __H_CMP(0, a, <, b)
#define EXPECT_LE(a, b) __H_CMP(0, a, <=, b)
#endif

/* ------------------------------------------------------------------ */
/* Programs.                                                           */

/*
 * Lost update: two agents each read the counter, reach a schedule point
 * (not a yield: switching there is a preemption), and write it back plus
 * one.  @pad extra schedule points before the read make the schedules
 * long (for shrinking).
 */
struct lost_update {
	int counter;
	int pad;
	int crash;		/* the agent that sees the loss: 1 derefs NULL,
				 * 2 aborts, 3 spins without a schedule point */
	int done;
};

static void *lu_agent(void *arg)
{
	struct lost_update *lu = arg;
	int v;

	for (int i = 0; i < lu->pad; i++)
		mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
	v = READ_ONCE(lu->counter);
	mmn_sched_point(MMN_SP_CPU_ACCESS, &lu->counter);
	WRITE_ONCE(lu->counter, v + 1);
	return NULL;
}

static void lu_setup(void *arg)
{
	((struct lost_update *)arg)->counter = 0;
	((struct lost_update *)arg)->done = 0;
}

static void lu_run(void *arg)
{
	struct mmn_task *a = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, lu_agent, arg);
	struct mmn_task *b = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, lu_agent, arg);

	mmn_task_join(a);
	mmn_task_join(b);
}

static void lu_teardown(void *arg)
{
	struct lost_update *lu = arg;

	if (lu->counter != 2)
		mmn_report(MMN_V_LOST_WRITE, "counter", "BUG: lost update: counter is %d, "
			   "expected 2\n", lu->counter);
}

static const struct mmn_explore_ops lu_ops = { lu_setup, lu_run, lu_teardown };

/* Chatty: three agents, many schedule points, always "violates" (so the
 * first execution's schedule comes back). */
static void *chatty_agent(void *arg)
{
	for (int i = 0; i < 20; i++)
		mmn_sched_point(MMN_SP_PTE_WRITE, arg);
	return NULL;
}

static void chatty_run(void *arg)
{
	struct mmn_task *t[3];

	for (int i = 0; i < 3; i++)
		t[i] = mmn_task_create("worker", MMN_TASK_WORKER, NULL, chatty_agent, &t[i]);
	for (int i = 0; i < 3; i++)
		mmn_task_join(t[i]);
}

static void always_report(void *arg)
{
	mmn_report(MMN_V_AUDIT, "always", "end of execution\n");
}

static const struct mmn_explore_ops chatty_ops = { NULL, chatty_run, always_report };

/* KTAP diagnostics: every line of @text behind "# ". */
static void diag(const char *text)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		printf("# %.*s\n", n, p);
		p += n + (nl ? 1 : 0);
	}
}

static bool schedules_equal(const struct mmn_schedule *a, const struct mmn_schedule *b)
{
	return a->nr == b->nr && !memcmp(a->pid, b->pid, a->nr * sizeof(a->pid[0]));
}

/* ------------------------------------------------------------------ */

/* A lost update needs one preemption: random and pct find it, dfs with
 * no preemption proves it absent from every non-preemptive schedule. */
TEST(lost_update_found_by_random_and_pct_not_without_preemption)
{
	struct lost_update lu = { 0 };
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_RANDOM, .seed = 1, .runs = 300 };
	struct mmn_explore_result r;

	ASSERT_EQ(mmn_explore(&cfg, &lu_ops, &lu, &r), 0);
	EXPECT_TRUE(r.found);
	EXPECT_EQ(r.kind, MMN_V_LOST_WRITE);
	EXPECT_EQ(r.status, MMN_EXEC_VIOLATION);
	EXPECT_GE(r.preemptions, 1);
	ASSERT_STR_CONTAINS(r.report, "lost update: counter is 1");
	printf("# random: found at execution %lu\n", r.index);
	mmn_explore_result_free(&r);

	cfg.strategy = MMN_STRATEGY_PCT;
	cfg.pct_depth = 2;
	ASSERT_EQ(mmn_explore(&cfg, &lu_ops, &lu, &r), 0);
	EXPECT_TRUE(r.found);
	EXPECT_EQ(r.kind, MMN_V_LOST_WRITE);
	printf("# pct d=2: found at execution %lu\n", r.index);
	mmn_explore_result_free(&r);

	cfg.strategy = MMN_STRATEGY_DFS;
	cfg.preemption_bound = 0;
	cfg.runs = 0;
	ASSERT_EQ(mmn_explore(&cfg, &lu_ops, &lu, &r), 0);
	EXPECT_FALSE(r.found);
	EXPECT_TRUE(r.exhausted);
	EXPECT_EQ(r.violating, 0);
	mmn_explore_result_free(&r);

	/* and the near miss: a mutex around it, no strategy finds anything */
}

struct locked_update {
	struct mutex m;
	int counter;
};

static void *locked_agent(void *arg)
{
	struct locked_update *l = arg;
	int v;

	mutex_lock(&l->m);
	v = READ_ONCE(l->counter);
	mmn_sched_point(MMN_SP_CPU_ACCESS, &l->counter);
	WRITE_ONCE(l->counter, v + 1);
	mutex_unlock(&l->m);
	return NULL;
}

static void locked_setup(void *arg)
{
	struct locked_update *l = arg;

	mutex_init(&l->m);
	l->counter = 0;
}

static void locked_run(void *arg)
{
	struct mmn_task *a = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, locked_agent, arg);
	struct mmn_task *b = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, locked_agent, arg);

	mmn_task_join(a);
	mmn_task_join(b);
}

static void locked_teardown(void *arg)
{
	struct locked_update *l = arg;

	if (l->counter != 2)
		mmn_report(MMN_V_LOST_WRITE, "counter", "lost update under the mutex\n");
	mutex_destroy(&l->m);
}

static const struct mmn_explore_ops locked_ops = { locked_setup, locked_run, locked_teardown };

/* Near miss: under a mutex the update is never lost (all three strategies). */
TEST(locked_update_survives_every_strategy)
{
	struct locked_update l;
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_RANDOM, .seed = 3, .runs = 500 };
	struct mmn_explore_result r;

	ASSERT_EQ(mmn_explore(&cfg, &locked_ops, &l, &r), 0);
	EXPECT_FALSE(r.found);
	EXPECT_EQ(r.executions, 500);
	mmn_explore_result_free(&r);
	cfg.strategy = MMN_STRATEGY_PCT;
	ASSERT_EQ(mmn_explore(&cfg, &locked_ops, &l, &r), 0);
	EXPECT_FALSE(r.found);
	mmn_explore_result_free(&r);
	cfg.strategy = MMN_STRATEGY_DFS;
	cfg.preemption_bound = 3;
	cfg.runs = 0;
	ASSERT_EQ(mmn_explore(&cfg, &locked_ops, &l, &r), 0);
	EXPECT_FALSE(r.found);
	EXPECT_TRUE(r.exhausted);
	printf("# dfs bound 3 over the locked update: %lu executions\n", r.executions);
	mmn_explore_result_free(&r);
}

/* The PCT guarantee 1/(n*k^(d-1)) for known n, k, d. */
TEST(pct_guarantee)
{
	struct lost_update lu = { 0 };
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_PCT, .seed = 9, .runs = 5, .pct_depth = 3,
		.pct_steps = 10,
	};
	struct mmn_explore_result r;

	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, &lu, &r), 0);
	/* main + 3 workers, k = 10 given, d = 3: 1/(4 * 10^2) */
	EXPECT_EQ(r.pct_n, 4);
	EXPECT_EQ(r.pct_k, 10);
	EXPECT_EQ(r.pct_d, 3);
	EXPECT_TRUE(r.pct_bound > 1.0 / 400 - 1e-12 && r.pct_bound < 1.0 / 400 + 1e-12);
	mmn_explore_result_free(&r);

	/* k estimated: the most decisions (points with more than one
	 * candidate) of an execution: at most 3 workers x (20 points + exit)
	 * + main's 3 joins, less the points where one worker is left alone */
	cfg.pct_steps = 0;
	cfg.keep_going = true;
	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, &lu, &r), 0);
	EXPECT_GE(r.pct_k, 40);
	EXPECT_LE(r.pct_k, 66);
	EXPECT_TRUE(r.pct_bound > 0 && r.pct_bound <= 1.0 / (4.0 * 40 * 40));
	mmn_explore_result_free(&r);
}

static uint64_t trace_hash(const struct mmn_explore_config *cfg, const struct mmn_explore_result *r)
{
	struct mmn_trace t;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	uint64_t h = 0xcbf29ce484222325ull;

	if (!f || mmn_trace_from_result(&t, cfg, r, "chatty"))
		return 0;
	mmn_explore_write_trace(f, &t);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	free(s);
	mmn_trace_free(&t);
	return h;
}

/* Same strategy and seed: the same decisions and the same trace, byte
 * for byte; another seed: others. */
TEST(determinism_same_seed_same_trace)
{
	for (int s = MMN_STRATEGY_RANDOM; s <= MMN_STRATEGY_PCT; s++) {
		struct mmn_explore_config cfg = { .strategy = s, .seed = 42, .runs = 1 };
		struct mmn_explore_result r1, r2, r3;

		ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &r1), 0);
		ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &r2), 0);
		cfg.seed = 43;
		ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &r3), 0);
		cfg.seed = 42;
		ASSERT_TRUE(r1.found && r2.found && r3.found);
		EXPECT_GT(r1.schedule.nr, 20);
		EXPECT_TRUE(schedules_equal(&r1.schedule, &r2.schedule));
		EXPECT_EQ(mmn_schedule_hash(&r1.schedule), mmn_schedule_hash(&r2.schedule));
		EXPECT_EQ(trace_hash(&cfg, &r1), trace_hash(&cfg, &r2));
		EXPECT_NE(trace_hash(&cfg, &r1), 0);
		EXPECT_FALSE(schedules_equal(&r1.schedule, &r3.schedule));
		EXPECT_EQ(strcmp(r1.report, r2.report), 0);
		mmn_explore_result_free(&r1);
		mmn_explore_result_free(&r2);
		mmn_explore_result_free(&r3);
	}
}

static char *print_execution(const struct mmn_explore_config *cfg, const struct mmn_explore_ops *ops,
			     void *arg, const struct mmn_schedule *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (mmn_explore_print_execution(f, cfg, ops, arg, s, NULL, "mmnlab replay t.trace")) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* Replaying a schedule gives the same decisions and the same events. */
TEST(replay_reproduces_the_execution)
{
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_RANDOM, .seed = 5, .runs = 1 };
	struct mmn_explore_result r, rr;
	char *p1, *p2;

	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &r), 0);
	ASSERT_TRUE(r.found);

	cfg.strategy = MMN_STRATEGY_REPLAY;
	cfg.replay = &r.schedule;
	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &rr), 0);
	ASSERT_TRUE(rr.found);
	EXPECT_TRUE(schedules_equal(&r.schedule, &rr.schedule));
	EXPECT_EQ(r.steps, rr.steps);
	EXPECT_EQ(r.preemptions, rr.preemptions);
	mmn_explore_result_free(&rr);

	p1 = print_execution(&cfg, &chatty_ops, NULL, &r.schedule);
	p2 = print_execution(&cfg, &chatty_ops, NULL, &r.schedule);
	ASSERT_TRUE(p1 && p2);
	EXPECT_EQ(strcmp(p1, p2), 0);
	ASSERT_STR_CONTAINS(p1, "Events of each agent:\n  main/1:\n    1.1    creates worker/2\n");
	ASSERT_STR_CONTAINS(p1, "    2.1    pte-write obj#");
	ASSERT_STR_CONTAINS(p1, "\nInterleaving:\n");
	ASSERT_STR_CONTAINS(p1, "Replay: mmnlab replay t.trace\n");
	free(p1);
	free(p2);

	/* a decision that cannot be taken is an error, not a crash */
	r.schedule.pid[r.schedule.nr / 2] = 77;
	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &rr), -EINVAL);
	ASSERT_STR_CONTAINS(rr.error, "replay diverged at decision");
	ASSERT_STR_CONTAINS(rr.error, "pid 77 cannot run");
	mmn_explore_result_free(&rr);
	/* so is a schedule that ends too early */
	r.schedule.nr /= 2;
	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &rr), -EINVAL);
	ASSERT_STR_CONTAINS(rr.error, "the schedule ends after");
	mmn_explore_result_free(&rr);
	mmn_explore_result_free(&r);
}

/*
 * DFS over two agents of two schedule points each (main creates them,
 * joins the first, then the second).  Pinned counts, see below.
 */
static void *two_steps(void *arg)
{
	mmn_sched_point(MMN_SP_CPU_ACCESS, arg);
	mmn_sched_point(MMN_SP_CPU_ACCESS, arg);
	return NULL;
}

static void two_by_two_run(void *arg)
{
	struct mmn_task *a = mmn_task_create("a", MMN_TASK_CPU, NULL, two_steps, NULL);
	struct mmn_task *b = mmn_task_create("b", MMN_TASK_CPU, NULL, two_steps, NULL);

	mmn_task_join(a);
	mmn_task_join(b);
}

static const struct mmn_explore_ops two_by_two_ops = { NULL, two_by_two_run, NULL };

TEST(dfs_two_by_two_pinned_counts)
{
	/*
	 * Steps: each agent's two points and its exit; main's join when it
	 * blocks.  Choices at a point are preemptions, at an exit or a block
	 * free.
	 *
	 * Bound 0, 3 schedules.  Main blocks joining a: a or b (free).
	 *   a first: a runs to its exit; then main or b (free): 2.
	 *   b first: b runs to its exit; only a can run, then main: 1.
	 * Exactly 1 preemption: 8; exactly 2: 13; exactly 3: 8 (a
	 * brute-force model of the same rules, kept out of tree, agrees).
	 * Cumulative: 3, 11, 24, 32; 32 is every schedule (no 4th
	 * preemption is possible: each agent has only 2 points).
	 */
	static const unsigned long want[] = { 3, 11, 24, 32 };

	for (unsigned int bound = 0; bound < 4; bound++) {
		struct mmn_explore_config cfg = {
			.strategy = MMN_STRATEGY_DFS, .preemption_bound = bound,
		};
		struct mmn_explore_result r;

		ASSERT_EQ(mmn_explore(&cfg, &two_by_two_ops, NULL, &r), 0);
		printf("# dfs bound %u: %lu executions (%lu runs)\n", bound, r.executions, r.runs);
		EXPECT_TRUE(r.exhausted);
		EXPECT_FALSE(r.found);
		EXPECT_EQ(r.executions, want[bound]);
		mmn_explore_result_free(&r);
	}
}

/* ------------------------------------------------------------------ */

struct abba {
	struct mutex a, b;
};

static void *abba_ab(void *arg)
{
	struct abba *x = arg;

	mutex_lock(&x->a);
	mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
	mutex_lock(&x->b);
	mutex_unlock(&x->b);
	mutex_unlock(&x->a);
	return NULL;
}

static void *abba_ba(void *arg)
{
	struct abba *x = arg;

	mutex_lock(&x->b);
	mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
	mutex_lock(&x->a);
	mutex_unlock(&x->a);
	mutex_unlock(&x->b);
	return NULL;
}

static void abba_setup(void *arg)
{
	struct abba *x = arg;

	mutex_init(&x->a);
	mutex_init(&x->b);
}

static void abba_run(void *arg)
{
	struct mmn_task *t1 = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, abba_ab, arg);
	struct mmn_task *t2 = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, abba_ba, arg);

	mmn_task_join(t1);
	mmn_task_join(t2);
}

static const struct mmn_explore_ops abba_ops = { abba_setup, abba_run, NULL };

/* ABBA: a deadlock violation naming both waits and the holders, no hang;
 * in this process and isolated. */
TEST(abba_deadlock_reported_not_hung)
{
	struct abba x;
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_DFS, .preemption_bound = 1 };
	struct mmn_explore_result r;

	for (int isolate = 0; isolate < 2; isolate++) {
		cfg.isolate = isolate;
		ASSERT_EQ(mmn_explore(&cfg, &abba_ops, &x, &r), 0);
		ASSERT_TRUE(r.found);
		EXPECT_EQ(r.status, MMN_EXEC_VIOLATION);
		EXPECT_EQ(r.kind, MMN_V_DEADLOCK);
		EXPECT_EQ(r.preemptions, 1);
		ASSERT_STR_CONTAINS(r.report, "mmnlab: deadlock: every agent is blocked\n"
				    "INFO: task deadlock: all 3 live agents are blocked");
		ASSERT_STR_CONTAINS(r.report, "task:main            pid:1     state:D "
				    "blocked in task_join(cpu0)\n");
		ASSERT_STR_CONTAINS(r.report, "task:cpu0            pid:2     state:D "
				    "blocked in mutex_lock(&x->b) at ");
		ASSERT_STR_CONTAINS(r.report, "  (&x->b) is held by cpu1/3\n1 lock held by cpu0/2:\n"
				    " #0: (&x->a){+.+.}, at: ");
		ASSERT_STR_CONTAINS(r.report, "  (&x->a) is held by cpu0/2\n1 lock held by cpu1/3:\n"
				    " #0: (&x->b){+.+.}, at: ");
		ASSERT_STR_CONTAINS(r.report, " *** DEADLOCK ***\n");
		if (!isolate)
			diag(r.report);
		mmn_explore_result_free(&r);
	}
	/* no preemption, no deadlock */
	cfg.preemption_bound = 0;
	ASSERT_EQ(mmn_explore(&cfg, &abba_ops, &x, &r), 0);
	EXPECT_FALSE(r.found);
	mmn_explore_result_free(&r);
}

/* Spinning waiters: cond_resched() lets the other agent on; a wait that
 * nobody ends is a livelock violation naming the spinners. */
struct spin {
	int flag[2];
	int wait_for[2];	/* index of the flag each agent waits for */
	int set[2];		/* the flag each sets first (-1: none) */
};

struct spin_agent {
	struct spin *s;
	int me;
};

static void *spin_agent(void *arg)
{
	struct spin_agent *a = arg;
	struct spin *s = a->s;

	if (s->set[a->me] >= 0) {
		mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
		mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
		WRITE_ONCE(s->flag[s->set[a->me]], 1);
	}
	if (s->wait_for[a->me] >= 0)
		while (!READ_ONCE(s->flag[s->wait_for[a->me]]))
			cond_resched();
	return NULL;
}

static void spin_run(void *arg)
{
	struct spin *s = arg;
	struct spin_agent ag[2] = { { s, 0 }, { s, 1 } };
	struct mmn_task *t0, *t1;

	s->flag[0] = s->flag[1] = 0;
	t0 = mmn_task_create("waiter0", MMN_TASK_WORKER, NULL, spin_agent, &ag[0]);
	t1 = mmn_task_create("waiter1", MMN_TASK_WORKER, NULL, spin_agent, &ag[1]);
	mmn_task_join(t0);
	mmn_task_join(t1);
}

static const struct mmn_explore_ops spin_ops = { NULL, spin_run, NULL };

TEST(spinning_waiter_progresses_real_livelock_reported)
{
	/* agent 0 spins on flag 0, which agent 1 sets after two points */
	struct spin ok = { .wait_for = { 0, -1 }, .set = { -1, 0 } };
	/* each waits for a flag nobody sets */
	struct spin stuck = { .wait_for = { 0, 1 }, .set = { -1, -1 } };
	struct mmn_explore_config cfg = { .seed = 11, .runs = 200, .max_steps = 5000 };
	struct mmn_explore_result r;

	for (int s = MMN_STRATEGY_RANDOM; s <= MMN_STRATEGY_PCT; s++) {
		cfg.strategy = s;
		ASSERT_EQ(mmn_explore(&cfg, &spin_ops, &ok, &r), 0);
		EXPECT_FALSE(r.found);
		EXPECT_EQ(r.executions, 200);
		mmn_explore_result_free(&r);
	}
	cfg.strategy = MMN_STRATEGY_DFS;
	cfg.preemption_bound = 2;
	cfg.runs = 0;
	ASSERT_EQ(mmn_explore(&cfg, &spin_ops, &ok, &r), 0);
	EXPECT_FALSE(r.found);
	EXPECT_TRUE(r.exhausted);
	mmn_explore_result_free(&r);

	cfg.strategy = MMN_STRATEGY_RANDOM;
	cfg.runs = 3;
	ASSERT_EQ(mmn_explore(&cfg, &spin_ops, &stuck, &r), 0);
	ASSERT_TRUE(r.found);
	EXPECT_EQ(r.index, 0);
	EXPECT_EQ(r.kind, MMN_V_LIVELOCK);
	EXPECT_EQ(r.steps, 5000);
	ASSERT_STR_CONTAINS(r.report, "INFO: livelock: no end after 5000 schedule points");
	ASSERT_STR_CONTAINS(r.report, "  waiter0/2: ");
	ASSERT_STR_CONTAINS(r.report, "  waiter1/3: ");
	ASSERT_STR_CONTAINS(r.report, "points in all, last at a yield point\n");
	mmn_explore_result_free(&r);
}

/* An execution that crashes (NULL dereference, abort) or hangs is a
 * result with its decisions; the explorer goes on. */
static void *crash_agent(void *arg)
{
	struct lost_update *lu = arg;

	lu_agent(arg);
	if (++lu->done == 2 && READ_ONCE(lu->counter) == 1) {
		/* the other agent is done, the update is lost */
		mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
		if (lu->crash == 1)
			*(volatile int *)(uintptr_t)(lu->counter - 1) = 1;
		else if (lu->crash == 2)
			abort();
		else
			for (;;)
				;
	}
	return NULL;
}

static void crash_run(void *arg)
{
	struct mmn_task *a = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, crash_agent, arg);
	struct mmn_task *b = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, crash_agent, arg);

	mmn_task_join(a);
	mmn_task_join(b);
}

static const struct mmn_explore_ops crash_ops = { lu_setup, crash_run, NULL };

TEST(crash_and_hang_isolated)
{
	struct lost_update lu = { 0 };
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_RANDOM, .seed = 2, .runs = 300, .isolate = true,
		.hang_timeout = 1,
	};
	struct mmn_explore_result r, rr;

	for (lu.crash = 1; lu.crash <= 3; lu.crash++) {
		ASSERT_EQ(mmn_explore(&cfg, &crash_ops, &lu, &r), 0);
		ASSERT_TRUE(r.found);
		EXPECT_EQ(r.status, lu.crash == 3 ? MMN_EXEC_HUNG : MMN_EXEC_CRASHED);
		EXPECT_EQ(r.kind, -1);
		if (lu.crash == 2)
			EXPECT_EQ(r.signal, SIGABRT);
		EXPECT_GT(r.schedule.nr, 0);
		EXPECT_EQ(r.executions, r.index + 1);
		ASSERT_STR_CONTAINS(r.report, lu.crash == 3 ? "hung" : "crashed");
		diag(r.report);

		/* the decisions replay the crash */
		cfg.strategy = MMN_STRATEGY_REPLAY;
		cfg.replay = &r.schedule;
		ASSERT_EQ(mmn_explore(&cfg, &crash_ops, &lu, &rr), 0);
		ASSERT_TRUE(rr.found);
		EXPECT_EQ(rr.status, r.status);
		EXPECT_TRUE(schedules_equal(&r.schedule, &rr.schedule));
		mmn_explore_result_free(&rr);
		cfg.strategy = MMN_STRATEGY_RANDOM;
		cfg.replay = NULL;
		mmn_explore_result_free(&r);
	}
	/* keep going past crashes: every one counted */
	lu.crash = 2;
	cfg.keep_going = true;
	cfg.runs = 100;
	ASSERT_EQ(mmn_explore(&cfg, &crash_ops, &lu, &r), 0);
	EXPECT_EQ(r.executions, 100);
	EXPECT_GT(r.violating, 1);
	EXPECT_LT(r.violating, 100);
	mmn_explore_result_free(&r);
}

static size_t switches(const struct mmn_schedule *s)
{
	size_t n = 0;

	for (size_t i = 1; i < s->nr; i++)
		n += s->pid[i] != s->pid[i - 1];
	return n;
}

/* The lost update after a flag: cpu1 spins (cond_resched) until cpu0
 * raises it, so the number of steps depends on the schedule. */
struct flagged {
	struct lost_update lu;
	int flag;
};

static void *flag_setter(void *arg)
{
	struct flagged *f = arg;

	for (int i = 0; i < 10; i++)
		mmn_sched_point(MMN_SP_CPU_ACCESS, NULL);
	WRITE_ONCE(f->flag, 1);
	return lu_agent(&f->lu);
}

static void *flag_waiter(void *arg)
{
	struct flagged *f = arg;

	while (!READ_ONCE(f->flag))
		cond_resched();
	return lu_agent(&f->lu);
}

static void flagged_setup(void *arg)
{
	struct flagged *f = arg;

	f->flag = 0;
	lu_setup(&f->lu);
}

static void flagged_run(void *arg)
{
	struct mmn_task *a = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, flag_setter, arg);
	struct mmn_task *b = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, flag_waiter, arg);

	mmn_task_join(a);
	mmn_task_join(b);
}

static void flagged_teardown(void *arg)
{
	lu_teardown(&((struct flagged *)arg)->lu);
}

static const struct mmn_explore_ops flagged_ops = { flagged_setup, flagged_run, flagged_teardown };

/* Shrinking: a long random schedule with many preemptions comes down to
 * the one preemption the lost update needs (and, where the program's
 * length depends on the schedule, fewer steps). */
TEST(shrink_long_schedule)
{
	struct lost_update lu = { .pad = 30 };
	struct flagged fl = { .lu = { .pad = 10 } };
	struct mmn_explore_config cfg = {
		.strategy = MMN_STRATEGY_RANDOM, .seed = 4, .runs = 1000, .shrink = true,
	};
	struct mmn_explore_result r, rr;

	ASSERT_EQ(mmn_explore(&cfg, &lu_ops, &lu, &r), 0);
	ASSERT_TRUE(r.found);
	ASSERT_TRUE(r.shrunk);
	printf("# shrunk: %u preemptions, %lu steps, %zu switches -> %u, %lu, %zu "
	       "(%lu replays)\n", r.preemptions, r.steps, switches(&r.schedule),
	       r.shrunk_preemptions, r.shrunk_steps, switches(&r.shrunk_schedule), r.shrink_runs);
	EXPECT_GT(r.preemptions, 5);
	EXPECT_EQ(r.shrunk_preemptions, 1);
	EXPECT_LE(r.shrunk_steps, r.steps);
	EXPECT_LE(switches(&r.shrunk_schedule), 3);
	EXPECT_GT(switches(&r.schedule), 10);

	/* the shrunk schedule still fails, the same way */
	cfg.strategy = MMN_STRATEGY_REPLAY;
	cfg.replay = &r.shrunk_schedule;
	cfg.shrink = false;
	ASSERT_EQ(mmn_explore(&cfg, &lu_ops, &lu, &rr), 0);
	ASSERT_TRUE(rr.found);
	EXPECT_EQ(rr.kind, MMN_V_LOST_WRITE);
	EXPECT_EQ(rr.preemptions, 1);
	mmn_explore_result_free(&rr);
	mmn_explore_result_free(&r);

	cfg.strategy = MMN_STRATEGY_RANDOM;
	cfg.replay = NULL;
	cfg.shrink = true;
	ASSERT_EQ(mmn_explore(&cfg, &flagged_ops, &fl, &r), 0);
	ASSERT_TRUE(r.found);
	ASSERT_TRUE(r.shrunk);
	printf("# shrunk: %u preemptions, %lu steps, %zu decisions -> %u, %lu, %zu "
	       "(%lu replays)\n", r.preemptions, r.steps, r.schedule.nr,
	       r.shrunk_preemptions, r.shrunk_steps, r.shrunk_schedule.nr, r.shrink_runs);
	EXPECT_EQ(r.shrunk_preemptions, 1);
	EXPECT_LT(r.shrunk_steps, r.steps);
	mmn_explore_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* Trace files.                                                        */

TEST(trace_round_trip)
{
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_PCT, .seed = 77, .runs = 1 };
	struct mmn_explore_result r;
	struct mmn_trace t, u;
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f;

	ASSERT_EQ(mmn_explore(&cfg, &chatty_ops, NULL, &r), 0);
	ASSERT_EQ(mmn_trace_from_result(&t, &cfg, &r, "chatty: 3 workers x 20"), 0);
	f = open_memstream(&buf, &len);
	ASSERT_EQ(mmn_explore_write_trace(f, &t), 0);
	fclose(f);
	ASSERT_STR_CONTAINS(buf, "mmnlab-trace 1\nversion 0.1.0\nscenario chatty: 3 workers x 20\n"
			    "strategy pct\nseed 77\nexecution 0\nviolation audit\n");
	ASSERT_EQ(mmn_explore_parse_trace(buf, len, "t.trace", &u, err, sizeof(err)), 0);
	EXPECT_TRUE(schedules_equal(&t.schedule, &u.schedule));
	EXPECT_EQ(u.seed, 77);
	EXPECT_EQ(u.steps, r.steps);
	EXPECT_EQ(u.preemptions, r.preemptions);
	EXPECT_EQ(strcmp(u.scenario, "chatty: 3 workers x 20"), 0);
	EXPECT_EQ(strcmp(u.strategy, "pct"), 0);
	EXPECT_EQ(strcmp(u.violation, "audit"), 0);
	mmn_trace_free(&u);
	mmn_trace_free(&t);
	free(buf);
	mmn_explore_result_free(&r);
}

static int parse(const char *text, char *err)
{
	struct mmn_trace t;
	int ret = mmn_explore_parse_trace(text, strlen(text), "x.trace", &t, err, 256);

	mmn_trace_free(&t);
	return ret;
}

/* Comments and whitespace are fine; anything malformed names file:line. */
TEST(trace_parser_errors)
{
	static const struct { const char *text, *err; } bad[] = {
		{ "", "x.trace:1: empty" },
		{ "mmnlab-trace 2\n", "x.trace:1: trace format 2; this mmnlab reads format 1" },
		{ "hello\n", "x.trace:1: not an mmnlab trace" },
		{ "mmnlab-trace 1\nstrategy pct\nfoo 1\n", "x.trace:3: unknown key 'foo'" },
		{ "mmnlab-trace 1\nstrategy dfz\n", "x.trace:2: unknown strategy 'dfz'" },
		{ "mmnlab-trace 1\nstrategy pct\nseed 18446744073709551616\n",
		  "x.trace:3: seed: not a 64-bit number" },
		{ "mmnlab-trace 1\nstrategy pct\nseed 1\nseed 2\n", "x.trace:4: 'seed' given twice" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 2\n 1 0\nend\n",
		  "x.trace:4: bad decision '0'" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 2\n 1 16384\nend\n",
		  "x.trace:4: bad decision '16384'" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 2\n 1*3\nend\n",
		  "x.trace:4: more decisions than the 2 declared" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 3\n 1*2\nend\n",
		  "3 decisions declared, 2 given" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 1\n 1\n", "x.trace:5: missing 'end'" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 1\n 1 end 2\n", "x.trace:4: text after 'end'" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 1\n 1*\nend\n", "x.trace:4: bad repeat count" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 99999999999\n", "x.trace:3: decisions: not a number" },
		{ "mmnlab-trace 1\ndecisions 0\nend\n", "no 'strategy' line" },
		{ "mmnlab-trace 1\nstrategy pct\ndecisions 0\nend\nmore\n", "x.trace:5: text after 'end'" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(parse(bad[i].text, err), -EINVAL);
		ASSERT_STR_CONTAINS(err, bad[i].err);
	}
	EXPECT_EQ(parse("# a comment\n\n  mmnlab-trace   1  \r\n# more\nstrategy\trandom\n"
			"scenario   two words # not a comment\n"
			"decisions 5\n 2 3  # comment\n\n\t2*3 # x\nend # done\n\n", err), 0);
	{
		struct mmn_trace t;
		const char nul[] = "mmnlab-trace 1\nstrategy pct\0\n";

		EXPECT_EQ(mmn_explore_parse_trace(nul, sizeof(nul) - 1, "n", &t, err, sizeof(err)),
			  -EINVAL);
		ASSERT_STR_CONTAINS(err, "n:2: NUL byte");
	}
}

/* A mutation fuzz of a valid trace: every input parses or fails cleanly. */
TEST(trace_parser_survives_garbage)
{
	static const char valid[] = "mmnlab-trace 1\nversion 0.1.0\nscenario s\nstrategy dfs\n"
				    "seed 0x10\nexecution 3\nviolation deadlock\npreemptions 1\n"
				    "steps 12\ndecisions 6\n  2 3*2 2 3 1\nend\n";
	static const char alphabet[] = "0123456789*# \n\tmmnlab-trace end decisions x\r\0\xff";
	uint64_t rng = 1234;
	char buf[sizeof(valid) + 16], err[256];
	int ok = 0;

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = sizeof(valid) - 1;
		struct mmn_trace t;

		memcpy(buf, valid, len);
		for (int m = 0; m < 1 + iter % 4; m++) {
			size_t at;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			at = (size_t)(rng >> 33) % len;
			switch ((rng >> 20) % 3) {
			case 0:
				buf[at] = alphabet[(rng >> 40) % (sizeof(alphabet) - 1)];
				break;
			case 1:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default:
				if (len < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = alphabet[(rng >> 40) % (sizeof(alphabet) - 1)];
					len++;
				}
			}
		}
		if (!mmn_explore_parse_trace(buf, len, "fuzz", &t, err, sizeof(err)))
			ok++;
		else if (strncmp(err, "fuzz:", 5))
			harness_fail(__FILE__, __LINE__, "error without file:line: %s", err);
		mmn_trace_free(&t);
	}
	printf("# %d of 20000 mutants still parse\n", ok);
}

/* ------------------------------------------------------------------ */

/* The controlled back end set up by hand: locks, wait queues,
 * completions, SRCU and rwsems behave, one agent at a time. */
struct prims {
	struct mutex m;
	struct rw_semaphore s;
	wait_queue_head_t wq;
	struct completion done;
	struct srcu_struct srcu;
	int ready, sum;
};

static void *prims_producer(void *arg)
{
	struct prims *p = arg;

	mutex_lock(&p->m);
	p->sum += 1;
	mutex_unlock(&p->m);
	down_write(&p->s);
	p->sum += 10;
	up_write(&p->s);
	WRITE_ONCE(p->ready, 1);
	wake_up_all(&p->wq);
	synchronize_srcu(&p->srcu);
	complete(&p->done);
	return NULL;
}

static void *prims_consumer(void *arg)
{
	struct prims *p = arg;
	int idx;

	idx = srcu_read_lock(&p->srcu);
	wait_event(p->wq, READ_ONCE(p->ready));
	srcu_read_unlock(&p->srcu, idx);
	down_read(&p->s);
	mutex_lock(&p->m);
	p->sum += 100;
	mutex_unlock(&p->m);
	up_read(&p->s);
	wait_for_completion(&p->done);
	return NULL;
}

static void prims_setup(void *arg)
{
	struct prims *p = arg;

	memset(p, 0, sizeof(*p));
	mutex_init(&p->m);
	init_rwsem(&p->s);
	init_waitqueue_head(&p->wq);
	init_completion(&p->done);
	init_srcu_struct(&p->srcu);
}

static void prims_run(void *arg)
{
	struct mmn_task *c = mmn_task_create("consumer", MMN_TASK_WORKER, NULL, prims_consumer, arg);
	struct mmn_task *q = mmn_task_create("producer", MMN_TASK_WORKER, NULL, prims_producer, arg);

	mmn_task_join(c);
	mmn_task_join(q);
}

static void prims_teardown(void *arg)
{
	struct prims *p = arg;

	if (p->sum != 111)
		mmn_report(MMN_V_LAB_BUG, "sum", "sum %d\n", p->sum);
	cleanup_srcu_struct(&p->srcu);
}

static const struct mmn_explore_ops prims_ops = { prims_setup, prims_run, prims_teardown };

TEST(primitives_under_every_schedule)
{
	struct prims p;
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_DFS, .preemption_bound = 2 };
	struct mmn_explore_result r;

	ASSERT_EQ(mmn_explore(&cfg, &prims_ops, &p, &r), 0);
	if (r.found)
		printf("%s", r.report);
	EXPECT_FALSE(r.found);
	EXPECT_TRUE(r.exhausted);
	printf("# dfs bound 2 over the primitives: %lu executions\n", r.executions);
	mmn_explore_result_free(&r);
	cfg.strategy = MMN_STRATEGY_RANDOM;
	cfg.runs = 300;
	ASSERT_EQ(mmn_explore(&cfg, &prims_ops, &p, &r), 0);
	EXPECT_FALSE(r.found);
	mmn_explore_result_free(&r);
}

TEST(direct_controlled_run)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_CONTROLLED, .seed = 8 };
	struct mmn_rt_config threads = { .backend = MMN_BACKEND_THREADS };
	struct locked_update l;
	struct mmn_task *t[4];

	mmn_rt_exit();
	mmn_rt_init(&rc);
	locked_setup(&l);
	for (int i = 0; i < 4; i++)
		t[i] = mmn_task_create("cpu", MMN_TASK_CPU, NULL, locked_agent, &l);
	for (int i = 0; i < 4; i++)
		mmn_task_join(t[i]);
	EXPECT_EQ(l.counter, 4);
	EXPECT_EQ(mmn_current()->pid, 1);
	mutex_destroy(&l.m);
	EXPECT_EQ(mmn_report_count(), 0);
	mmn_rt_exit();
	__mmn_ctl_pool_drain();
	mmn_rt_init(&threads);
}
