// SPDX-License-Identifier: GPL-2.0
/*
 * The threads back end: every task is a pthread, a waitpoint is a pthread
 * mutex plus a condition variable, schedule points cost a branch (or a
 * sched_yield() with the stress probability, to shake out interleavings).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "sched.h"

struct thr_wp {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned int nr_parked;		/* under mu: skip the broadcast if 0 */
};

_Static_assert(sizeof(struct thr_wp) <= sizeof(struct mmn_waitpoint),
	       "struct mmn_waitpoint too small for the threads back end");
_Static_assert(_Alignof(struct thr_wp) <= _Alignof(struct mmn_waitpoint),
	       "struct mmn_waitpoint under-aligned for the threads back end");

/* Per task: the thread, and the stress PRNG (seeded from seed + pid). */
struct thr_task {
	pthread_t thread;
	uint64_t rng;
};

/* Read-only while tasks run: set in thr_init() before any exists. */
static unsigned int thr_stress_permille;
static uint64_t thr_seed;

static inline struct thr_wp *thr_wp(struct mmn_waitpoint *wp)
{
	return (struct thr_wp *)(void *)wp->opaque;
}

static void thr_init(const struct mmn_rt_config *cfg)
{
	thr_stress_permille = cfg->stress_yield_permille;
	thr_seed = cfg->seed;
}

static void thr_exit(void)
{
}

static void thr_wp_init(struct mmn_waitpoint *wp)
{
	struct thr_wp *w = thr_wp(wp);

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->nr_parked = 0;
}

static void thr_wp_destroy(struct mmn_waitpoint *wp)
{
	struct thr_wp *w = thr_wp(wp);

	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

static void thr_wp_lock(struct mmn_waitpoint *wp)
{
	pthread_mutex_lock(&thr_wp(wp)->mu);
}

static void thr_wp_unlock(struct mmn_waitpoint *wp)
{
	pthread_mutex_unlock(&thr_wp(wp)->mu);
}

static void thr_wp_park(struct mmn_waitpoint *wp, const struct mmn_park *why)
{
	struct thr_wp *w = thr_wp(wp);

	w->nr_parked++;
	pthread_cond_wait(&w->cv, &w->mu);
	w->nr_parked--;
}

static void thr_wp_unpark_all(struct mmn_waitpoint *wp)
{
	struct thr_wp *w = thr_wp(wp);

	if (w->nr_parked)
		pthread_cond_broadcast(&w->cv);
}

/* splitmix64: tiny, good enough, and the same on every platform. */
static uint64_t thr_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void thr_sched_point(enum mmn_sched_point kind, const void *obj)
{
	struct thr_task *tt;

	if (!thr_stress_permille)
		return;
	tt = mmn_current()->sched_priv;
	if (tt && thr_rng_next(&tt->rng) % 1024 < thr_stress_permille)
		sched_yield();
}

static struct thr_task *thr_task_alloc(struct mmn_task *t)
{
	struct thr_task *tt = calloc(1, sizeof(*tt));

	if (tt) {
		tt->rng = thr_seed + (uint64_t)t->pid;
		t->sched_priv = tt;
	}
	return tt;
}

static void thr_task_adopt(struct mmn_task *t)
{
	/* Without private state the task only loses stress yields. */
	thr_task_alloc(t);
}

static void *thr_task_main(void *arg)
{
	__mmn_task_body(arg);
	return NULL;
}

static int thr_task_start(struct mmn_task *t)
{
	struct thr_task *tt = thr_task_alloc(t);
	int err;

	if (!tt)
		return -ENOMEM;
	err = pthread_create(&tt->thread, NULL, thr_task_main, t);
	return -err;
}

static void thr_task_join(struct mmn_task *t)
{
	struct thr_task *tt = t->sched_priv;

	pthread_join(tt->thread, NULL);
}

static void thr_task_free(struct mmn_task *t)
{
	free(t->sched_priv);
	t->sched_priv = NULL;
}

const struct mmn_sched_ops __mmn_sched_threads = {
	.name		= "threads",
	.init		= thr_init,
	.exit		= thr_exit,
	.wp_init	= thr_wp_init,
	.wp_destroy	= thr_wp_destroy,
	.wp_lock	= thr_wp_lock,
	.wp_unlock	= thr_wp_unlock,
	.wp_park	= thr_wp_park,
	.wp_unpark_all	= thr_wp_unpark_all,
	.sched_point	= thr_sched_point,
	.task_adopt	= thr_task_adopt,
	.task_start	= thr_task_start,
	.task_join	= thr_task_join,
	.task_free	= thr_task_free,
};
