// SPDX-License-Identifier: GPL-2.0
/*
 * The controlled back end's speed: one agent switch, against the two
 * other ways of running one agent at a time (swapcontext, and a baton
 * passed between real threads), and whole executions per second.
 *
 *	sched_bench [--smoke] [rounds]
 *
 * Seeded and deterministic in what it runs; only the clock varies.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include <mmn/explore.h>
#include <mmn/mmn.h>

#include "rt/controlled.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- swapcontext ping-pong ------------------------------------------ */

static ucontext_t uc_main, uc_co;
static unsigned long uc_rounds;

static void uc_fn(void)
{
	for (;;)
		swapcontext(&uc_co, &uc_main);
}

static double swapcontext_ns(unsigned long rounds)
{
	static char stack[64 << 10];
	double t0;

	getcontext(&uc_co);
	uc_co.uc_stack.ss_sp = stack;
	uc_co.uc_stack.ss_size = sizeof(stack);
	uc_co.uc_link = NULL;
	makecontext(&uc_co, uc_fn, 0);
	uc_rounds = rounds;
	t0 = now();
	for (unsigned long i = 0; i < rounds; i++)
		swapcontext(&uc_main, &uc_co);
	return (now() - t0) * 1e9 / (double)rounds / 2;
}

/* ---- a baton between two threads (mutex + condition variable) ------- */

static pthread_mutex_t baton_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t baton_cv = PTHREAD_COND_INITIALIZER;
static int baton_turn;
static unsigned long baton_rounds;

static void *baton_fn(void *arg)
{
	int me = (int)(long)arg;

	pthread_mutex_lock(&baton_mu);
	for (unsigned long i = 0; i < baton_rounds; i++) {
		while (baton_turn != me)
			pthread_cond_wait(&baton_cv, &baton_mu);
		baton_turn = !me;
		pthread_cond_signal(&baton_cv);
	}
	pthread_mutex_unlock(&baton_mu);
	return NULL;
}

static double baton_ns(unsigned long rounds)
{
	pthread_t t;
	double t0;

	baton_rounds = rounds;
	baton_turn = 0;
	t0 = now();
	pthread_create(&t, NULL, baton_fn, (void *)1L);
	baton_fn((void *)0L);
	pthread_join(t, NULL);
	return (now() - t0) * 1e9 / (double)rounds / 2;
}

/* ---- whole executions ---------------------------------------------- */

struct prog {
	int points;
	int counter;
};

static void *agent(void *arg)
{
	struct prog *p = arg;

	for (int i = 0; i < p->points; i++)
		mmn_sched_point(MMN_SP_CPU_ACCESS, &p->counter);
	p->counter++;
	return NULL;
}

static void run(void *arg)
{
	struct mmn_task *a = mmn_task_create("cpu0", MMN_TASK_CPU, NULL, agent, arg);
	struct mmn_task *b = mmn_task_create("cpu1", MMN_TASK_CPU, NULL, agent, arg);

	mmn_task_join(a);
	mmn_task_join(b);
}

static const struct mmn_explore_ops ops = { NULL, run, NULL };

static void executions(enum mmn_explore_strategy s, int points, bool isolate, unsigned long runs)
{
	struct prog p = { .points = points };
	struct mmn_explore_config cfg = {
		.strategy = s, .seed = 1, .runs = runs, .isolate = isolate,
	};
	struct mmn_explore_result r;

	if (mmn_explore(&cfg, &ops, &p, &r)) {
		printf("  %s: %s\n", mmn_explore_strategy_name(s), r.error);
		return;
	}
	printf("  %-6s 2 agents x %2d points, %-9s %8lu executions in %.3fs: "
	       "%9.0f executions/s, %5.2f us each\n",
	       mmn_explore_strategy_name(s), points, isolate ? "isolated" : "in-process",
	       r.executions, r.elapsed, (double)r.executions / r.elapsed,
	       r.elapsed * 1e6 / (double)r.executions);
	mmn_explore_result_free(&r);
}

int main(int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	bool smoke = argc > 1 && !strcmp(argv[1], "--smoke");
	unsigned long rounds = smoke ? 2000 : argc > 1 ? strtoul(argv[1], NULL, 0) : 2000000;
	unsigned long div = smoke ? 1000 : 1;	/* executions: 1/1000 when smoke */
	double ctl, uc, bt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mmn_rt_init(&rc);
	ctl = __mmn_ctl_switch_cost_ns(rounds);
	uc = swapcontext_ns(rounds);
	bt = baton_ns(rounds / 20);
	printf("agent switch (one way), %lu rounds:\n", rounds);
	printf("  controlled (_setjmp/_longjmp)  %7.1f ns\n", ctl);
	printf("  swapcontext                    %7.1f ns  (%.1fx)\n", uc, uc / ctl);
	printf("  baton between threads (cond)   %7.1f ns  (%.1fx)\n", bt, bt / ctl);
	printf("executions (mmn_explore):\n");
	executions(MMN_STRATEGY_RANDOM, 2, false, 100000 / div);
	executions(MMN_STRATEGY_PCT, 2, false, 100000 / div);
	executions(MMN_STRATEGY_RANDOM, 50, false, 20000 / div);
	executions(MMN_STRATEGY_RANDOM, 2, true, 100000 / div);
	executions(MMN_STRATEGY_RANDOM, 50, true, 20000 / div);
	mmn_rt_exit();
	__mmn_ctl_pool_drain();
	return 0;
}
