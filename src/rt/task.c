// SPDX-License-Identifier: GPL-2.0
/*
 * Tasks: "current", creation, join, pids and comm names.
 *
 * struct mmn_task belongs to this file; how a task runs (a pthread, a
 * coroutine) belongs to the back end (sched.h: task_start/join/free).
 *
 * A thread that was not made by mmn_task_create() (the one that set up the
 * run) is adopted the first time it asks for current, as a MMN_TASK_MAIN
 * task named "main".  Pids count from 1 in creation (or adoption) order per
 * mmn_rt_init(), so the same program gets the same pids every run.  The
 * creator is adopted before its child gets a pid, so "main" is pid 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/linux/compiler.h>

#include "lockdep.h"
#include "sched.h"

__thread struct mmn_task *__mmn_current_task;
__thread uint64_t __mmn_current_gen;

/*
 * task_gen: bumped by every mmn_rt_init()/mmn_rt_exit(), so that a thread's
 * current from an earlier run is seen as stale and the thread is adopted
 * afresh.  Written only while no task runs; read relaxed.
 */
static uint64_t task_gen = 1;
static int task_next_pid = 1;

/*
 * Tasks freed at the end of the run rather than at join: adopted tasks, and
 * zombies -- tasks that exited holding locks, whose owner pointers still sit
 * in those locks (reports print them, held_by_current compares them).
 * Lab bookkeeping, under a plain mutex.
 */
struct task_ref {
	struct mmn_task *t;
	bool adopted;		/* check its exit at the end of the run */
};

static pthread_mutex_t task_retired_lock = PTHREAD_MUTEX_INITIALIZER;
static struct task_ref *task_retired;
static size_t task_nr_retired, task_cap_retired;

static void task_retire(struct mmn_task *t, bool adopted)
{
	pthread_mutex_lock(&task_retired_lock);
	if (task_nr_retired == task_cap_retired) {
		size_t cap = task_cap_retired ? task_cap_retired * 2 : 4;
		struct task_ref *a = realloc(task_retired, cap * sizeof(*a));

		if (!a)
			abort();
		task_retired = a;
		task_cap_retired = cap;
	}
	task_retired[task_nr_retired++] = (struct task_ref){ t, adopted };
	pthread_mutex_unlock(&task_retired_lock);
}

static int task_alloc_pid(void)
{
	return __atomic_fetch_add(&task_next_pid, 1, __ATOMIC_RELAXED);
}

static void task_set_current(struct mmn_task *t)
{
	__mmn_current_task = t;
	__mmn_current_gen = __atomic_load_n(&task_gen, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) struct mmn_task *task_adopt_current(void)
{
	struct mmn_task *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->pid = task_alloc_pid();
	t->kind = MMN_TASK_MAIN;
	snprintf(t->comm, sizeof(t->comm), "main");
	task_retire(t, true);
	__mmn_sched->task_adopt(t);
	task_set_current(t);
	return t;
}

struct mmn_task *mmn_current(void)
{
	struct mmn_task *t = __mmn_current_task;

	if (likely(t && __mmn_current_gen == __atomic_load_n(&task_gen, __ATOMIC_RELAXED)))
		return t;
	return task_adopt_current();
}

void __mmn_task_body(struct mmn_task *t)
{
	task_set_current(t);
	t->ret = t->fn(t->arg);
	__mmn_task_exit_check(t);
	__mmn_current_task = NULL;
}

struct mmn_task *mmn_task_create(const char *comm, enum mmn_task_kind kind,
				 struct mm_struct *mm,
				 void *(*fn)(void *arg), void *arg)
{
	struct mmn_task *t;

	mmn_current();		/* the creator gets its pid first */
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = task_alloc_pid();
	t->kind = kind;
	snprintf(t->comm, sizeof(t->comm), "%s", comm ? comm : "task");
	t->mm = mm;
	t->fn = fn;
	t->arg = arg;
	if (__mmn_sched->task_start(t)) {
		__mmn_sched->task_free(t);
		free(t);
		return NULL;
	}
	return t;
}

void *mmn_task_join(struct mmn_task *t)
{
	void *ret;

	__mmn_sched->task_join(t);
	ret = t->ret;
	__mmn_sched->task_free(t);
	if (t->lockdep_depth)
		task_retire(t, false);	/* a zombie until the run ends */
	else
		free(t);
	return ret;
}

/*
 * A back end gave up on @t mid-body (the controlled back end aborting an
 * execution): it is never joined, so free it at the end of the run, like a
 * zombie.  Its sched_priv is already released.
 */
void __mmn_task_abandon(struct mmn_task *t)
{
	task_retire(t, false);
}

/*
 * The end of a run: the adopted tasks end too.  Their exit is checked like
 * a created task's (locks still held, atomic context), then they and the
 * zombies are freed and every thread's current goes stale.
 */
static void task_free_retired(bool check)
{
	pthread_mutex_lock(&task_retired_lock);
	for (size_t i = 0; i < task_nr_retired; i++) {
		struct mmn_task *t = task_retired[i].t;

		if (check && task_retired[i].adopted)
			__mmn_task_exit_check(t);
		if (task_retired[i].adopted)
			__mmn_sched->task_free(t);
		free(t);
	}
	free(task_retired);
	task_retired = NULL;
	task_nr_retired = task_cap_retired = 0;
	pthread_mutex_unlock(&task_retired_lock);
	__atomic_fetch_add(&task_gen, 1, __ATOMIC_RELAXED);
	__mmn_current_task = NULL;
}

void __mmn_task_run_begin(void)
{
	task_free_retired(false);
	__atomic_store_n(&task_next_pid, 1, __ATOMIC_RELAXED);
}

void __mmn_task_run_end(void)
{
	task_free_retired(true);
}
