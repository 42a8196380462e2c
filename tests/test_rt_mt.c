// SPDX-License-Identifier: GPL-2.0
/*
 * rt/ with real threads (threads back end): mutual exclusion, reader
 * concurrency and writer preference, wake-ups that must not be lost, SRCU
 * grace periods against sleeping readers.  Must stay clean under TSan.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <mmn/linux/completion.h>
#include <mmn/linux/mutex.h>
#include <mmn/linux/rwsem.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/srcu.h>
#include <mmn/linux/wait.h>

#include "harness.h"

#define NR_THREADS	4
#define ITERS		10000

static int load(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int inc(int *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_ACQ_REL);
}

static int dec(int *p)
{
	return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll @p until it equals @v; false after 5 s. */
static bool wait_for_value(const int *p, int v)
{
	double end = now_s() + 5;

	while (load(p) != v) {
		if (now_s() > end)
			return false;
		usleep(100);
	}
	return true;
}

/*
 * Join, but give up after @secs: a lost wake-up would otherwise hang the
 * binary until CTest's timeout.  The stuck tasks cannot be reclaimed, so
 * the test binary ends here.
 */
static void join_or_die(struct mmn_task **t, int n, const int *finished, double secs,
			const char *what)
{
	double end = now_s() + secs;

	while (load(finished) < n) {
		if (now_s() > end) {
			printf("# watchdog: %s did not finish in %.0f s (lost wake-up?)\n",
			       what, secs);
			printf("not ok - %s\n", what);
			fflush(stdout);
			_exit(1);
		}
		usleep(1000);
	}
	for (int i = 0; i < n; i++)
		mmn_task_join(t[i]);
}

static void run_tasks(int n, void *(*fn)(void *), void *arg)
{
	struct mmn_task *t[NR_THREADS * 2];

	for (int i = 0; i < n; i++) {
		t[i] = mmn_task_create("cpu", MMN_TASK_CPU, NULL, fn, arg);
		if (!t[i])
			abort();
	}
	for (int i = 0; i < n; i++)
		mmn_task_join(t[i]);
}

/* ------------------------------------------------------------------ */

struct excl {
	struct mutex m;
	spinlock_t l;
	long counter;		/* plain: protected by m or l */
	int inside;		/* atomic: occupancy of the critical section */
	int max_inside;
	int bad_preempt;
};

static void excl_enter(struct excl *e)
{
	int n = inc(&e->inside);

	if (n > load(&e->max_inside))
		store(&e->max_inside, n);
}

static void *mutex_worker(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < ITERS; i++) {
		long v;

		mutex_lock(&e->m);
		excl_enter(e);
		v = e->counter;
		if (i % 16 == 0)
			sched_yield();	/* widen the window a broken lock leaves */
		e->counter = v + 1;
		dec(&e->inside);
		mutex_unlock(&e->m);
	}
	return NULL;
}

TEST(mutex_mutual_exclusion)
{
	struct excl e = { 0 };

	mutex_init(&e.m);
	run_tasks(NR_THREADS, mutex_worker, &e);
	EXPECT_EQ(e.counter, NR_THREADS * ITERS);
	EXPECT_EQ(e.max_inside, 1);
	EXPECT_FALSE(mutex_is_locked(&e.m));
	mutex_destroy(&e.m);
}

static void *spin_worker(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < ITERS; i++) {
		long v;

		spin_lock(&e->l);
		excl_enter(e);
		if (preempt_count() != 1)
			inc(&e->bad_preempt);
		v = e->counter;
		if (i % 16 == 0)
			sched_yield();
		e->counter = v + 1;
		dec(&e->inside);
		spin_unlock(&e->l);
		if (preempt_count() != 0)
			inc(&e->bad_preempt);
	}
	return NULL;
}

TEST(spinlock_mutual_exclusion)
{
	struct excl e = { 0 };

	spin_lock_init(&e.l);
	run_tasks(NR_THREADS, spin_worker, &e);
	EXPECT_EQ(e.counter, NR_THREADS * ITERS);
	EXPECT_EQ(e.max_inside, 1);
	EXPECT_EQ(e.bad_preempt, 0);
	spin_lock_destroy(&e.l);
}

/* The same under stress mode: schedule points yield the CPU at random. */
TEST(mutex_mutual_exclusion_stress_yield)
{
	struct mmn_rt_config cfg = {
		.backend = MMN_BACKEND_THREADS,
		.stress_yield_permille = 256,
		.seed = 42,
	};
	struct excl e = { 0 };

	mmn_rt_exit();
	mmn_rt_init(&cfg);
	EXPECT_EQ(mmn_rt_config()->stress_yield_permille, 256);
	mutex_init(&e.m);
	run_tasks(NR_THREADS, mutex_worker, &e);
	EXPECT_EQ(e.counter, NR_THREADS * ITERS);
	EXPECT_EQ(e.max_inside, 1);
	mutex_destroy(&e.m);
	mmn_rt_exit();
	cfg.stress_yield_permille = 0;
	mmn_rt_init(&cfg);
}

/* ------------------------------------------------------------------ */

struct rw {
	struct rw_semaphore s;
	int readers_inside;
	int writers_inside;
	int max_readers;
	int errors;
	int ready;
	long value;		/* plain: written under down_write only */
	int log[4], nlog;	/* under the atomics below */
};

/* Three readers must be inside together: a serialising rwsem never gets there. */
static void *reader_together(void *arg)
{
	struct rw *r = arg;
	double end = now_s() + 5;
	int n;

	down_read(&r->s);
	n = inc(&r->readers_inside);
	if (n > load(&r->max_readers))
		store(&r->max_readers, n);
	while (load(&r->max_readers) < 3 && now_s() < end)
		usleep(100);
	dec(&r->readers_inside);
	up_read(&r->s);
	return NULL;
}

TEST(rwsem_readers_run_concurrently)
{
	struct rw r = { 0 };

	init_rwsem(&r.s);
	run_tasks(3, reader_together, &r);
	EXPECT_EQ(r.max_readers, 3);
	destroy_rwsem(&r.s);
}

static void *rw_mixed(void *arg)
{
	struct rw *r = arg;
	int me = inc(&r->ready);

	for (int i = 0; i < ITERS / 2; i++) {
		if ((i + me) % 4 == 0) {
			down_write(&r->s);
			if (inc(&r->writers_inside) != 1 || load(&r->readers_inside))
				inc(&r->errors);
			r->value++;
			dec(&r->writers_inside);
			up_write(&r->s);
		} else {
			long v;

			down_read(&r->s);
			inc(&r->readers_inside);
			if (load(&r->writers_inside))
				inc(&r->errors);
			v = r->value;
			(void)v;
			dec(&r->readers_inside);
			up_read(&r->s);
		}
	}
	return NULL;
}

TEST(rwsem_writer_exclusion)
{
	struct rw r = { 0 };
	long writes = 0;

	init_rwsem(&r.s);
	run_tasks(NR_THREADS, rw_mixed, &r);
	for (int me = 1; me <= NR_THREADS; me++)
		for (int i = 0; i < ITERS / 2; i++)
			writes += (i + me) % 4 == 0;
	EXPECT_EQ(r.errors, 0);
	EXPECT_EQ(r.value, writes);
	EXPECT_FALSE(rwsem_is_locked(&r.s));
	destroy_rwsem(&r.s);
}

static void rw_log(struct rw *r, int what)
{
	int i = inc(&r->nlog) - 1;

	store(&r->log[i], what);
}

static void *pref_writer(void *arg)
{
	struct rw *r = arg;

	down_write(&r->s);
	rw_log(r, 1);
	up_write(&r->s);
	return NULL;
}

static void *pref_reader(void *arg)
{
	struct rw *r = arg;

	store(&r->ready, 1);
	down_read(&r->s);
	rw_log(r, 2);
	up_read(&r->s);
	return NULL;
}

/* A reader arriving behind a queued writer waits for it (no writer starvation). */
TEST(rwsem_writer_preference)
{
	struct rw r = { 0 };
	struct mmn_task *w, *rd;

	init_rwsem(&r.s);
	down_read(&r.s);
	w = mmn_task_create("writer", MMN_TASK_CPU, NULL, pref_writer, &r);
	ASSERT_TRUE(wait_for_value(&r.s.s.writers_waiting, 1));
	rd = mmn_task_create("reader", MMN_TASK_CPU, NULL, pref_reader, &r);
	ASSERT_TRUE(wait_for_value(&r.ready, 1));
	usleep(20000);
	EXPECT_EQ(load(&r.nlog), 0);	/* neither got in while main reads */
	up_read(&r.s);
	mmn_task_join(w);
	mmn_task_join(rd);
	ASSERT_EQ(r.nlog, 2);
	EXPECT_EQ(r.log[0], 1);		/* the writer first */
	EXPECT_EQ(r.log[1], 2);
	destroy_rwsem(&r.s);
}

/* ------------------------------------------------------------------ */

#define PINGPONG 10000

struct pingpong {
	wait_queue_head_t wq;
	int turn;
	int ids;
	int finished;
	bool preempted;		/* yield between the check and the sleep */
};

static void *pingpong_worker(void *arg)
{
	struct pingpong *p = arg;
	int me = inc(&p->ids) - 1;

	for (int i = 0; i < PINGPONG; i++) {
		if (!p->preempted) {
			wait_event(p->wq, load(&p->turn) == me);
		} else {
			/* wait_event() by hand, preempted in its race window */
			for (;;) {
				uint64_t tok = mmn_wait_queue_prepare(&p->wq.q, __FILE__, __LINE__);

				if (load(&p->turn) == me)
					break;
				sched_yield();
				mmn_wait_queue_sleep(&p->wq.q, tok, __FILE__, __LINE__);
			}
		}
		store(&p->turn, !me);
		wake_up(&p->wq);
	}
	inc(&p->finished);
	return NULL;
}

static void pingpong_run(struct pingpong *p)
{
	struct mmn_task *t[2];

	init_waitqueue_head(&p->wq);
	for (int i = 0; i < 2; i++)
		t[i] = mmn_task_create("pingpong", MMN_TASK_CPU, NULL, pingpong_worker, p);
	join_or_die(t, 2, &p->finished, 10, "pingpong");
	destroy_waitqueue_head(&p->wq);
}

/* 10k hand-offs through one wait queue: a lost wake-up hangs it. */
TEST(wait_event_pingpong_no_lost_wakeups)
{
	struct pingpong p = { 0 };

	pingpong_run(&p);
	EXPECT_EQ(p.turn, 0);
}

/* The same, with each waiter preempted between its check and its sleep. */
TEST(wait_event_pingpong_preempted_waiter)
{
	struct pingpong p = { .preempted = true };

	pingpong_run(&p);
	EXPECT_EQ(p.turn, 0);
}

struct compl {
	struct completion c;
	struct completion all;
	int passed;
};

static void *compl_waiter(void *arg)
{
	struct compl *c = arg;

	wait_for_completion(&c->c);
	inc(&c->passed);
	wait_for_completion(&c->all);
	inc(&c->passed);
	return NULL;
}

/* complete() lets exactly one waiter through; complete_all() lets all. */
TEST(completion_wakes_waiters)
{
	struct compl c = { 0 };
	struct mmn_task *t[3];

	init_completion(&c.c);
	init_completion(&c.all);
	for (int i = 0; i < 3; i++)
		t[i] = mmn_task_create("waiter", MMN_TASK_WORKER, NULL, compl_waiter, &c);
	usleep(10000);
	EXPECT_EQ(load(&c.passed), 0);
	complete(&c.c);
	ASSERT_TRUE(wait_for_value(&c.passed, 1));
	usleep(10000);
	EXPECT_EQ(load(&c.passed), 1);
	complete(&c.c);
	complete(&c.c);
	ASSERT_TRUE(wait_for_value(&c.passed, 3));
	complete_all(&c.all);
	for (int i = 0; i < 3; i++)
		mmn_task_join(t[i]);
	EXPECT_EQ(c.passed, 6);
	EXPECT_FALSE(try_wait_for_completion(&c.c));
	EXPECT_TRUE(try_wait_for_completion(&c.all));
	destroy_completion(&c.c);
	destroy_completion(&c.all);
}

/* ------------------------------------------------------------------ */

struct srcu_sleep {
	struct srcu_struct ss;
	struct completion entered, release;
	int reader_done;
	int sync_done;
	int reader_done_at_sync;
};

static void *srcu_sleeping_reader(void *arg)
{
	struct srcu_sleep *s = arg;
	int idx = srcu_read_lock(&s->ss);

	complete(&s->entered);
	wait_for_completion(&s->release);	/* a reader may sleep */
	store(&s->reader_done, 1);
	srcu_read_unlock(&s->ss, idx);
	return NULL;
}

static void *srcu_synchronizer(void *arg)
{
	struct srcu_sleep *s = arg;

	synchronize_srcu(&s->ss);
	store(&s->reader_done_at_sync, load(&s->reader_done));
	store(&s->sync_done, 1);
	return NULL;
}

TEST(synchronize_srcu_waits_for_sleeping_reader)
{
	struct srcu_sleep s = { 0 };
	struct mmn_task *rd, *sy;
	int idx;

	init_srcu_struct(&s.ss);
	init_completion(&s.entered);
	init_completion(&s.release);
	rd = mmn_task_create("reader", MMN_TASK_CPU, NULL, srcu_sleeping_reader, &s);
	wait_for_completion(&s.entered);
	sy = mmn_task_create("sync", MMN_TASK_KTHREAD, NULL, srcu_synchronizer, &s);
	usleep(20000);
	idx = srcu_read_lock(&s.ss);		/* a later reader does not hold it up */
	srcu_read_unlock(&s.ss, idx);
	usleep(20000);
	EXPECT_EQ(load(&s.sync_done), 0);
	complete(&s.release);
	mmn_task_join(sy);
	mmn_task_join(rd);
	EXPECT_EQ(s.sync_done, 1);
	EXPECT_EQ(s.reader_done_at_sync, 1);
	cleanup_srcu_struct(&s.ss);
	destroy_completion(&s.entered);
	destroy_completion(&s.release);
}

/*
 * The RCU publish/retire pattern: readers dereference the current object
 * under srcu_read_lock and check it was not freed; updaters swap it and
 * free the old one with call_srcu().  Every callback must run exactly once,
 * and never while a reader that could see the object is inside.
 */
#define SRCU_OBJS	2000

struct srcu_obj {
	struct rcu_head rh;
	int freed;
	int runs;
};

struct srcu_pub {
	struct srcu_struct ss;
	struct srcu_obj objs[SRCU_OBJS + 1];
	struct srcu_obj *cur;
	int next;
	int stop;
	int uaf;
};

static void srcu_obj_free(struct rcu_head *rh)
{
	struct srcu_obj *o = container_of(rh, struct srcu_obj, rh);

	inc(&o->runs);
	store(&o->freed, 1);
}

static void *srcu_pub_reader(void *arg)
{
	struct srcu_pub *p = arg;

	while (!load(&p->stop)) {
		int idx = srcu_read_lock(&p->ss);
		struct srcu_obj *o = __atomic_load_n(&p->cur, __ATOMIC_ACQUIRE);

		for (int i = 0; i < 3; i++) {
			if (load(&o->freed))
				inc(&p->uaf);
			sched_yield();
		}
		srcu_read_unlock(&p->ss, idx);
	}
	return NULL;
}

static void *srcu_pub_updater(void *arg)
{
	struct srcu_pub *p = arg;
	int i;

	while ((i = inc(&p->next)) <= SRCU_OBJS) {
		struct srcu_obj *old = __atomic_exchange_n(&p->cur, &p->objs[i], __ATOMIC_ACQ_REL);

		call_srcu(&p->ss, &old->rh, srcu_obj_free);
		if (i % 64 == 0)
			synchronize_srcu(&p->ss);
	}
	return NULL;
}

TEST(call_srcu_callbacks_run_exactly_once_after_readers)
{
	struct srcu_pub *p = calloc(1, sizeof(*p));
	struct mmn_task *rd[2], *up[2];
	int total = 0;

	ASSERT_TRUE(p != NULL);
	init_srcu_struct(&p->ss);
	p->cur = &p->objs[0];
	for (int i = 0; i < 2; i++)
		rd[i] = mmn_task_create("reader", MMN_TASK_CPU, NULL, srcu_pub_reader, p);
	for (int i = 0; i < 2; i++)
		up[i] = mmn_task_create("updater", MMN_TASK_CPU, NULL, srcu_pub_updater, p);
	for (int i = 0; i < 2; i++)
		mmn_task_join(up[i]);
	store(&p->stop, 1);
	for (int i = 0; i < 2; i++)
		mmn_task_join(rd[i]);
	srcu_barrier(&p->ss);
	for (int i = 0; i <= SRCU_OBJS; i++) {
		if (&p->objs[i] == p->cur) {
			EXPECT_EQ(p->objs[i].runs, 0);
			continue;
		}
		total += p->objs[i].runs;
		if (p->objs[i].runs != 1)
			EXPECT_EQ(p->objs[i].runs, 1);
	}
	EXPECT_EQ(total, SRCU_OBJS);
	EXPECT_EQ(p->uaf, 0);
	cleanup_srcu_struct(&p->ss);
	free(p);
}

/* A sleep-in-atomic report from a worker thread names that task. */
static void *atomic_sleeper(void *arg)
{
	spinlock_t *l = arg;

	spin_lock(l);
	might_sleep();
	spin_unlock(l);
	return NULL;
}

TEST(report_from_worker_names_it)
{
	spinlock_t l;
	struct mmn_task *t;

	harness_expect_violations();
	spin_lock_init(&l);
	t = mmn_task_create("dmirror-wq", MMN_TASK_WORKER, NULL, atomic_sleeper, &l);
	mmn_task_join(t);
	ASSERT_EQ(mmn_report_count(), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_SLEEP_IN_ATOMIC),
			    "pid: 2, name: dmirror-wq\n");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_SLEEP_IN_ATOMIC),
			    "1 lock held by dmirror-wq/2:\n #0: (&l){+.+.}");
	spin_lock_destroy(&l);
}
