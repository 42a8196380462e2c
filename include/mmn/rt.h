/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmnlab runtime (rt/): tasks, locks, wait queues, SRCU, atomic context.
 *
 * Every blocking or ordering operation of the lab goes through this API, so
 * that a second, controlled back end (one agent runs at a time, a strategy
 * picks who runs at each schedule point) can replace real pthreads without a
 * single caller changing.  Driver code does not use this header directly: it
 * uses the kernel-shaped wrappers in <mmn/linux/...> (mutex_lock(),
 * spin_lock(), wait_event(), srcu_read_lock() ...), which are static inlines
 * onto the mmn_ functions below and pass __FILE__/__LINE__ along so that
 * reports can say where a lock was taken.
 *
 * Glossary
 *   task      an agent: a CPU thread of a simulated process, a device agent,
 *             a driver worker, a kernel thread (ksmd, khugepaged ...).  Each
 *             real thread that runs lab code is a task ("current").
 *   atomic    preempt_count > 0 (a spinlock is held, preemption is disabled)
 *             or an RCU read-side section is open, or non_block_start() is in
 *             force.  A sleeping primitive there is a violation, reported in
 *             the kernel's might_sleep format.
 *   schedule point   a place where the controlled back end may switch tasks:
 *             lock acquire/release, contention, wait/wake, pte writes, device
 *             accesses, notifier callback entry/exit, explicit yields.
 *
 * Lock classes are named after the Linux lock they model ("mmap_lock",
 * "ptl", "&dmirror->mutex"); reports print them like lockdep does.
 */
#ifndef MMN_RT_H
#define MMN_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Back-end parking lot, embedded in every blocking primitive.          */
/* Its layout is private to the back ends (src/rt/sched_*.c); callers   */
/* only reserve room for it.                                            */

struct mmn_waitpoint {
	_Alignas(16) unsigned char opaque[160];
};

/* ------------------------------------------------------------------ */
/* Lock bookkeeping shared by every lock type.                          */

enum mmn_lock_type {
	MMN_LOCK_SPIN,
	MMN_LOCK_MUTEX,
	MMN_LOCK_RWSEM,
	MMN_LOCK_SRCU,		/* an SRCU read-side section, for the held list */
	MMN_LOCK_RCU,		/* rcu_read_lock(), for the held list */
	MMN_LOCK_FAKE,		/* lockdep map with no lock behind it */
};

struct mmn_lock_class {
	const char *name;
	enum mmn_lock_type type;
};

/* ------------------------------------------------------------------ */
/* Spinlock: holding one is atomic context.                            */

typedef struct mmn_spinlock {
	struct mmn_waitpoint wp;
	struct mmn_task *owner;		/* NULL when free */
	const char *name;
} mmn_spinlock_t;

void mmn_spin_lock_init(mmn_spinlock_t *l, const char *name);
void mmn_spin_lock_destroy(mmn_spinlock_t *l);
void mmn_spin_lock(mmn_spinlock_t *l, const char *file, int line);
bool mmn_spin_trylock(mmn_spinlock_t *l, const char *file, int line);
void mmn_spin_unlock(mmn_spinlock_t *l);
bool mmn_spin_is_locked(const mmn_spinlock_t *l);
bool mmn_spin_held_by_current(const mmn_spinlock_t *l);

/* ------------------------------------------------------------------ */
/* Mutex: may sleep; calling it in atomic context is a violation.      */

typedef struct mmn_mutex {
	struct mmn_waitpoint wp;
	struct mmn_task *owner;
	const char *name;
} mmn_mutex_t;

void mmn_mutex_init(mmn_mutex_t *m, const char *name);
void mmn_mutex_destroy(mmn_mutex_t *m);
void mmn_mutex_lock(mmn_mutex_t *m, const char *file, int line);
bool mmn_mutex_trylock(mmn_mutex_t *m, const char *file, int line);
void mmn_mutex_unlock(mmn_mutex_t *m);
bool mmn_mutex_is_locked(const mmn_mutex_t *m);
bool mmn_mutex_held_by_current(const mmn_mutex_t *m);

/* ------------------------------------------------------------------ */
/* Read/write semaphore (mmap_lock, i_mmap_rwsem, anon_vma->rwsem).    */
/* Writers are preferred once waiting, as in Linux: a new reader waits */
/* behind a queued writer.                                             */

typedef struct mmn_rwsem {
	struct mmn_waitpoint wp;
	int readers;			/* active readers */
	int writers_waiting;
	struct mmn_task *writer;	/* active writer, NULL if none */
	const char *name;
} mmn_rwsem_t;

void mmn_rwsem_init(mmn_rwsem_t *s, const char *name);
void mmn_rwsem_destroy(mmn_rwsem_t *s);
void mmn_down_read(mmn_rwsem_t *s, const char *file, int line);
bool mmn_down_read_trylock(mmn_rwsem_t *s, const char *file, int line);
void mmn_up_read(mmn_rwsem_t *s);
void mmn_down_write(mmn_rwsem_t *s, const char *file, int line);
bool mmn_down_write_trylock(mmn_rwsem_t *s, const char *file, int line);
void mmn_up_write(mmn_rwsem_t *s);
void mmn_downgrade_write(mmn_rwsem_t *s);
bool mmn_rwsem_is_locked(const mmn_rwsem_t *s);
bool mmn_rwsem_is_write_locked(const mmn_rwsem_t *s);
/* Held by current: for read (or write), or for write only. */
bool mmn_rwsem_held_by_current(const mmn_rwsem_t *s);
bool mmn_rwsem_write_held_by_current(const mmn_rwsem_t *s);

/* ------------------------------------------------------------------ */
/* Wait queue.  The condition is re-evaluated by the caller's macro    */
/* (wait_event) around mmn_wait_queue_sleep(); wake_up() wakes all.    */
/* A waiter sleeps only if no wake_up() happened since it armed with   */
/* mmn_wait_queue_prepare(): no lost wake-ups.                         */

typedef struct mmn_wait_queue_head {
	struct mmn_waitpoint wp;
	uint64_t wake_seq;
	const char *name;
} mmn_wait_queue_head_t;

void mmn_init_waitqueue_head(mmn_wait_queue_head_t *wq, const char *name);
void mmn_wait_queue_destroy(mmn_wait_queue_head_t *wq);
/* Returns a token to pass to mmn_wait_queue_sleep(). */
uint64_t mmn_wait_queue_prepare(mmn_wait_queue_head_t *wq, const char *file, int line);
/* Sleep until a wake_up() newer than @token. Might sleep. */
void mmn_wait_queue_sleep(mmn_wait_queue_head_t *wq, uint64_t token, const char *file, int line);
void mmn_wake_up_all(mmn_wait_queue_head_t *wq);

#define mmn_wait_event(wq, cond, file, line)                                 \
	do {                                                                  \
		for (;;) {                                                    \
			uint64_t __tok = mmn_wait_queue_prepare((wq), (file), (line)); \
			if (cond)                                             \
				break;                                        \
			mmn_wait_queue_sleep((wq), __tok, (file), (line));    \
		}                                                             \
	} while (0)

/* ------------------------------------------------------------------ */
/* Completion.                                                         */

struct mmn_completion {
	struct mmn_waitpoint wp;
	unsigned int done;
	const char *name;
};

void mmn_init_completion(struct mmn_completion *c, const char *name);
void mmn_completion_destroy(struct mmn_completion *c);
void mmn_wait_for_completion(struct mmn_completion *c, const char *file, int line);
bool mmn_try_wait_for_completion(struct mmn_completion *c);
void mmn_complete(struct mmn_completion *c);
void mmn_complete_all(struct mmn_completion *c);
void mmn_reinit_completion(struct mmn_completion *c);

/* ------------------------------------------------------------------ */
/* SRCU.  Readers may sleep.  synchronize_srcu() waits for every       */
/* reader that started before it; call_srcu() runs @func after such a  */
/* grace period, in atomic context (it must not sleep), from whichever  */
/* task ends the grace period, or from mmn_srcu_barrier().             */

struct mmn_rcu_head {
	struct mmn_rcu_head *next;
	void (*func)(struct mmn_rcu_head *head);
	uint64_t gp;			/* grace period it waits for */
};

struct mmn_srcu_struct {
	struct mmn_waitpoint wp;
	unsigned long readers[2];	/* active readers per epoch */
	unsigned int idx;		/* epoch new readers enter */
	uint64_t completed;		/* grace periods completed */
	bool gp_running;
	unsigned int gp_phase;		/* 0 idle, 1/2: after the 1st/2nd flip */
	unsigned int cbs_running;	/* callbacks taken off @cbs, still running */
	struct mmn_rcu_head *cbs;	/* pending call_srcu() callbacks */
	const char *name;
};

void mmn_init_srcu_struct(struct mmn_srcu_struct *s, const char *name);
void mmn_cleanup_srcu_struct(struct mmn_srcu_struct *s);
int mmn_srcu_read_lock(struct mmn_srcu_struct *s, const char *file, int line);
void mmn_srcu_read_unlock(struct mmn_srcu_struct *s, int idx);
void mmn_synchronize_srcu(struct mmn_srcu_struct *s, const char *file, int line);
void mmn_call_srcu(struct mmn_srcu_struct *s, struct mmn_rcu_head *head,
		   void (*func)(struct mmn_rcu_head *head));
void mmn_srcu_barrier(struct mmn_srcu_struct *s);

/* ------------------------------------------------------------------ */
/* Atomic context.                                                     */

void mmn_preempt_disable(void);
void mmn_preempt_enable(void);
void mmn_rcu_read_lock(const char *file, int line);
void mmn_rcu_read_unlock(void);
void mmn_non_block_start(void);
void mmn_non_block_end(void);
int mmn_preempt_count(void);
int mmn_rcu_depth(void);
bool mmn_in_atomic(void);
/*
 * might_sleep(): if current is in atomic context (or inside
 * non_block_start()), record a sleep-in-atomic violation in the kernel's
 * format, once per call site per run.  Never aborts.
 */
void mmn_might_sleep(const char *file, int line);
/*
 * lockdep_assert_held(): a violated assertion is a lab bug or a driver bug;
 * it is recorded as a "lockdep-assert" violation with the held locks.
 */
void mmn_lockdep_assert_held(const void *lock, bool held, const char *what,
			     const char *file, int line);

/* Fake lock maps (lockdep_map), e.g. __mmu_notifier_invalidate_range_start_map. */
struct mmn_lockdep_map {
	const char *name;
};
void mmn_lock_map_acquire(struct mmn_lockdep_map *map, const char *file, int line);
void mmn_lock_map_release(struct mmn_lockdep_map *map);

/* ------------------------------------------------------------------ */
/* Tasks.                                                              */

enum mmn_task_kind {
	MMN_TASK_CPU,		/* a thread of a simulated process */
	MMN_TASK_DEVICE,	/* a device agent issuing DMA */
	MMN_TASK_WORKER,	/* a driver worker (deferred invalidation ...) */
	MMN_TASK_KTHREAD,	/* ksmd, khugepaged, kswapd, oom_reaper */
	MMN_TASK_MAIN,		/* the thread that set up the run */
};

#define MMN_TASK_COMM_LEN	16
#define MMN_MAX_HELD_LOCKS	48

struct mmn_held_lock {
	const void *lock;
	const char *name;
	enum mmn_lock_type type;
	bool read;		/* rwsem held for read */
	const char *file;
	int line;
};

struct mm_struct;

struct mmn_task {
	int pid;
	enum mmn_task_kind kind;
	char comm[MMN_TASK_COMM_LEN];
	struct mm_struct *mm;		/* current->mm: the process it runs in */
	/* context tracking, touched only by the task itself */
	int preempt_count;
	int rcu_depth;
	int non_block;
	int lockdep_depth;
	struct mmn_held_lock held[MMN_MAX_HELD_LOCKS];
	/* back end private */
	void *sched_priv;
	void *(*fn)(void *arg);
	void *arg;
	void *ret;
};

/* The task running this code.  Never NULL once mmn_rt_init() ran: a
 * thread not created through mmn_task_create() is adopted as "main". */
struct mmn_task *mmn_current(void);

struct mmn_task *mmn_task_create(const char *comm, enum mmn_task_kind kind,
				 struct mm_struct *mm,
				 void *(*fn)(void *arg), void *arg);
/* Waits for the task to finish, returns its result and frees it. */
void *mmn_task_join(struct mmn_task *t);

/* ------------------------------------------------------------------ */
/* Schedule points.  The threads back end ignores them (or yields the  */
/* CPU when stress mode is on); the controlled back end may switch.    */

#define MMN_SCHED_POINTS(X)                  \
	X(YIELD, "yield")                    \
	X(LOCK, "lock")                      \
	X(UNLOCK, "unlock")                  \
	X(WAKE, "wake")                      \
	X(PTE_WRITE, "pte-write")            \
	X(CPU_ACCESS, "cpu-access")          \
	X(DEV_ACCESS, "dev-access")          \
	X(NOTIFIER_ENTER, "notifier-enter")  \
	X(NOTIFIER_EXIT, "notifier-exit")

enum mmn_sched_point {
#define X(n, s) MMN_SP_##n,
	MMN_SCHED_POINTS(X)
#undef X
	MMN_SP__COUNT
};

void mmn_sched_point(enum mmn_sched_point kind, const void *obj);
/* cond_resched()/schedule(): an explicit schedule point that may sleep. */
void mmn_cond_resched(const char *file, int line);

/* ------------------------------------------------------------------ */
/* Run setup.                                                          */

enum mmn_backend {
	MMN_BACKEND_THREADS,
	MMN_BACKEND_CONTROLLED,
};

struct mmn_rt_config {
	enum mmn_backend backend;
	/* threads back end: sched_yield() at a schedule point with this
	 * probability in 1/1024 (0: never), to shake out interleavings */
	unsigned int stress_yield_permille;
	uint64_t seed;
};

void mmn_rt_init(const struct mmn_rt_config *cfg);
void mmn_rt_exit(void);
const struct mmn_rt_config *mmn_rt_config(void);

#ifdef __cplusplus
}
#endif
#endif /* MMN_RT_H */
