/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The runtime's back-end interface: one API, one back end per file.
 *
 *   sched_threads.c     real pthreads, real contention (stress, benchmarks)
 *   sched_controlled.c  one agent runs at a time (coroutines); a strategy
 *                       picks the next agent at every schedule point
 *                       (controlled.h, strategy.c, explore.c)
 *
 * Every primitive (locking.c, wait.c, srcu.c) is written once, over a small
 * parking lot: each primitive embeds a struct mmn_waitpoint and keeps its own
 * state words (owner, readers, done ...).  The discipline is that of a
 * monitor:
 *
 *	__mmn_wp_lock(wp);
 *	while (!can_proceed(state))
 *		__mmn_wp_park(wp, &why);	// drops wp, sleeps, retakes wp
 *	update(state);
 *	__mmn_wp_unlock(wp);
 *	...
 *	__mmn_wp_lock(wp);
 *	update(state);
 *	__mmn_wp_unpark_all(wp);		// everyone parked re-checks
 *	__mmn_wp_unlock(wp);
 *
 * So a back end only has to provide mutual exclusion on a waitpoint, a way
 * to block until the next unpark_all, and schedule points.  The threads back
 * end maps these onto a pthread mutex and condition variable; the controlled
 * back end makes wp_lock a no-op (one agent runs at a time), makes wp_park
 * "mark this agent blocked on wp, pick another agent", makes unpark_all
 * "mark every agent blocked on wp runnable", and reports a deadlock, naming
 * each agent's struct mmn_park, when no agent is runnable.
 *
 * Rules for callers (the primitives):
 *   - wp state words are read and written only between wp_lock/wp_unlock
 *     (fast-path peeks outside use __atomic loads and are only hints);
 *   - nothing that may switch agents runs with a wp locked: no schedule
 *     point, no report, no callback, no second wp_lock;
 *   - after wp_park returns the caller re-checks its condition: a park may
 *     return spuriously, and another agent may have got there first.
 *
 * Dispatch is a function-pointer table picked in mmn_rt_init() from
 * cfg->backend.  The indirect call is cheap next to the pthread mutex it
 * wraps; it buys a controlled back end that drops in without touching a
 * single caller.  A back end that is not linked in is a weak NULL symbol.
 */
#ifndef MMN_RT_SCHED_H
#define MMN_RT_SCHED_H

#include <mmn/rt.h>

/*
 * Why an agent is parked: what the controlled back end prints for each
 * blocked agent in a deadlock report ("cpu0/3 blocked in mutex_lock(&m)
 * at src/x.c:12").  Points into the parker's stack, valid while parked.
 */
#define MMN_PARK_KINDS(X)                               \
	X(SPIN, "spin_lock")                            \
	X(MUTEX, "mutex_lock")                          \
	X(RWSEM_READ, "down_read")                      \
	X(RWSEM_WRITE, "down_write")                    \
	X(WAITQ, "wait_event")                          \
	X(COMPLETION, "wait_for_completion")            \
	X(SRCU_GP, "synchronize_srcu")                  \
	X(SRCU_BARRIER, "srcu_barrier")                 \
	X(JOIN, "task_join")

enum mmn_park_kind {
#define X(n, s) MMN_PARK_##n,
	MMN_PARK_KINDS(X)
#undef X
	MMN_PARK__COUNT
};

struct mmn_park {
	enum mmn_park_kind kind;
	const void *obj;	/* the primitive (lock, wait queue ...) */
	const char *name;	/* its name, as lockdep prints it */
	const char *file;	/* where the parker called in, may be NULL */
	int line;
};

const char *__mmn_park_verb(enum mmn_park_kind kind);

struct mmn_sched_ops {
	const char *name;

	/*
	 * init: called by mmn_rt_init() with the run's configuration, before
	 * any task exists.  exit: called by mmn_rt_exit() after every task
	 * was joined and the adopted tasks were freed.
	 */
	void (*init)(const struct mmn_rt_config *cfg);
	void (*exit)(void);

	/*
	 * wp_init/wp_destroy: set up / tear down the parking lot embedded in
	 * a primitive.  Nobody is parked at destroy time.
	 */
	void (*wp_init)(struct mmn_waitpoint *wp);
	void (*wp_destroy)(struct mmn_waitpoint *wp);

	/*
	 * wp_lock/wp_unlock: mutual exclusion over the primitive's state
	 * words.  Short, never held across a schedule point, never nested.
	 * Threads: a pthread mutex.  Controlled: nothing (one agent runs).
	 */
	void (*wp_lock)(struct mmn_waitpoint *wp);
	void (*wp_unlock)(struct mmn_waitpoint *wp);

	/*
	 * wp_park: called with wp locked by the current task.  Atomically
	 * releases wp and blocks until a later wp_unpark_all(wp) (or
	 * spuriously), then retakes wp and returns.  It is a schedule point
	 * (the "contention" point of a lock).  @why says what is awaited.
	 */
	void (*wp_park)(struct mmn_waitpoint *wp, const struct mmn_park *why);

	/*
	 * wp_unpark_all: called with wp locked.  Every task parked on wp
	 * becomes runnable; none runs before the caller unlocks wp.  Must be
	 * cheap when nobody is parked.  Not a schedule point (the caller adds
	 * one after unlocking, where it makes sense).
	 */
	void (*wp_unpark_all)(struct mmn_waitpoint *wp);

	/*
	 * sched_point: current reached a place where another agent could
	 * run (lock, unlock, wake, pte write, device access ...).  Threads:
	 * nothing, or sched_yield() with the stress probability.  Controlled:
	 * the strategy picks who runs next.  Never called with a wp locked.
	 */
	void (*sched_point)(enum mmn_sched_point kind, const void *obj);

	/*
	 * Tasks.  task.c owns struct mmn_task and the "current" pointer; the
	 * back end owns how a task runs.
	 *
	 * task_adopt: @t is the calling thread, which was not made by
	 *	task_start (the thread that set up the run).  Set up private
	 *	state in t->sched_priv.
	 * task_start: make @t run __mmn_task_body(t) as a new agent (its
	 *	own thread, or a coroutine).  Called by the creating task;
	 *	returns 0 or -errno (then t was not started and is freed by
	 *	the caller through task_free).
	 * task_join: block the calling task until @t's __mmn_task_body
	 *	returned.  A blocking wait (the controlled back end parks the
	 *	caller and can report it in a deadlock).
	 * task_free: release t->sched_priv (after join, or at mmn_rt_exit for
	 *	adopted tasks).
	 */
	void (*task_adopt)(struct mmn_task *t);
	int (*task_start)(struct mmn_task *t);
	void (*task_join)(struct mmn_task *t);
	void (*task_free)(struct mmn_task *t);
};

extern const struct mmn_sched_ops __mmn_sched_threads;
/* Weak: absent until sched_controlled.c exists. */
extern const struct mmn_sched_ops __mmn_sched_controlled __attribute__((weak));

/* The back end of the current run (threads before any mmn_rt_init()). */
extern const struct mmn_sched_ops *__mmn_sched;

/*
 * The running task.  Set by __mmn_task_body() on the thread that runs a
 * task, and by task.c when it adopts a foreign thread; a back end that runs
 * several tasks on one thread (coroutines) must set it at every switch.
 * __mmn_current_gen pairs it with the run (mmn_rt_init) it belongs to.
 */
extern __thread struct mmn_task *__mmn_current_task;
extern __thread uint64_t __mmn_current_gen;

/* task.c: the body of every created task; back ends call it. */
void __mmn_task_body(struct mmn_task *t);
/* task.c: a back end abandoned @t (never joined): free it when the run ends. */
void __mmn_task_abandon(struct mmn_task *t);
/* task.c: a run begins (pids restart at 1) / ends (adopted tasks freed). */
void __mmn_task_run_begin(void);
void __mmn_task_run_end(void);

static inline void __mmn_wp_init(struct mmn_waitpoint *wp)
{
	__mmn_sched->wp_init(wp);
}

static inline void __mmn_wp_destroy(struct mmn_waitpoint *wp)
{
	__mmn_sched->wp_destroy(wp);
}

static inline void __mmn_wp_lock(struct mmn_waitpoint *wp)
{
	__mmn_sched->wp_lock(wp);
}

static inline void __mmn_wp_unlock(struct mmn_waitpoint *wp)
{
	__mmn_sched->wp_unlock(wp);
}

static inline void __mmn_wp_park(struct mmn_waitpoint *wp, const struct mmn_park *why)
{
	__mmn_sched->wp_park(wp, why);
}

static inline void __mmn_wp_unpark_all(struct mmn_waitpoint *wp)
{
	__mmn_sched->wp_unpark_all(wp);
}

#endif /* MMN_RT_SCHED_H */
