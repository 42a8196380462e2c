// SPDX-License-Identifier: GPL-2.0
/*
 * The controlled back end: one agent runs at a time, on one OS thread; at
 * every schedule point a strategy (controlled.h) picks who runs next.
 *
 * Agents are coroutines.  The thread that set up the run is "main" and
 * keeps its own stack; every created task runs on a pooled coroutine:
 *
 *	stack     mmap'd, CTL_STACK_SIZE plus a PROT_NONE guard page below
 *	          (an overflow is a SIGSEGV, not a silent corruption)
 *	entry     primed once with getcontext/makecontext/setcontext, which
 *	          only has to reach ctl_co_trampoline(): it saves a jmp_buf at
 *	          the top of its loop and longjmps back to the creator
 *	switch    _setjmp()/_longjmp() between agents (no signal-mask
 *	          syscall, unlike swapcontext; bench/sched_bench measures it)
 *	reuse     a coroutine whose task returned goes back to the pool still
 *	          sitting at the top of its loop: the next task_start() only
 *	          hands it the new task.  One that was abandoned mid-body (an
 *	          aborted execution) is primed again before reuse.
 *
 * A switch from agent A to agent B:
 *
 *	A: ctl.cur = B; current = B's task
 *	A: _setjmp(A.env) == 0
 *	A:   sanitizer: start_switch_fiber(B's stack), tsan_switch_to_fiber(B)
 *	A:   _longjmp(B.env)
 *	B: (returns from its own _setjmp) finish_switch_fiber
 *
 * Sanitizers: ASan is told of every stack change (start/finish_switch_fiber,
 * google/sanitizers#189), TSan gets a fiber per coroutine, switched with
 * synchronisation (one agent runs at a time, so agent switches order every
 * access like a lock handoff would).  _FORTIFY_SOURCE is off in this file:
 * its longjmp check rejects jumps between stacks.
 *
 * TLS: every agent shares the thread's TLS.  rt/ has two __thread
 * variables, __mmn_current_task and __mmn_current_gen (task.c); the first
 * is switched here, the second is per run, the same for every agent.
 * Anything else per agent lives in struct mmn_task.
 *
 * Waitpoints carry no state here (wp_lock is a no-op, one agent runs): a
 * parked agent records the waitpoint it waits on, and unpark_all walks the
 * few agents when anybody is parked at all.  So a primitive initialised
 * under the threads back end can be used under this one.
 *
 * The end of an execution that cannot go on (deadlock, the livelock bound,
 * a replay that diverged) is a longjmp to the escape that
 * __mmn_ctl_run_main() armed on main's stack: the other agents are
 * abandoned where they stand.  Their tasks are freed at the end of the run
 * (task.c); what they allocated and the locks they held are lost.  The
 * explorer therefore runs executions in a child process (explore.c).
 */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <mmn/linux/compiler.h>
#include <mmn/report.h>

#include "controlled.h"
#include "lockdep.h"
#include "sched.h"

/* ------------------------------------------------------------------ */
/* Sanitizer annotations.                                              */

#if defined(__SANITIZE_ADDRESS__)
#define CTL_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define CTL_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CTL_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define CTL_TSAN 1
#endif
#endif

#ifdef CTL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CTL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#if defined(CTL_ASAN) || defined(CTL_TSAN) || defined(MMN_SANITIZER)
#define CTL_STACK_SIZE	(1024u << 10)	/* instrumented frames are fat */
#else
#define CTL_STACK_SIZE	(256u << 10)
#endif

/* ------------------------------------------------------------------ */

/* A coroutine: a stack and a saved context.  Main's is ctl_main_co. */
struct ctl_co {
	jmp_buf env;
	struct ctl_co *next_free;
	void *map;			/* mmap base (guard page first) */
	size_t map_size;
	const void *stack;		/* usable stack, lowest address */
	size_t stack_size;
	bool primed;			/* waiting at the top of its loop */
	struct ctl_agent *agent;	/* running (or abandoned) agent */
	void *asan_fake;		/* ASan fake stack while switched out */
	void *tsan_fiber;
};

enum ctl_state { CTL_RUNNABLE, CTL_BLOCKED, CTL_DONE };

struct ctl_agent {
	struct mmn_task *task;
	struct ctl_co *co;
	enum ctl_state state;
	/* while blocked: what on (wp, or the joined task), and why */
	const struct mmn_waitpoint *wp;
	const struct mmn_park *why;
	struct ctl_agent *joiner;	/* parked in task_join on us */
	unsigned long steps;		/* steps it reached */
	unsigned long last_step;	/* the last one */
	enum mmn_sched_point last_point;
};

static struct {
	struct ctl_agent **agents;	/* alive or done, ascending pid */
	unsigned int nr_agents, cap_agents;
	int *pids;			/* candidates at a step (cap_agents) */
	bool *worker;			/* candidate is a driver worker */
	struct ctl_agent **cand;
	struct ctl_agent *cur;
	struct ctl_agent *main;
	unsigned int nr_parked;		/* agents parked on a waitpoint */
	unsigned long steps;
	unsigned long decisions;
	unsigned int preemptions;
	unsigned int agents_seen;
	struct ctl_exec *x;		/* this run's settings */
	struct ctl_exec dflt;		/* ... when nobody prepared any */
	struct ctl_exec *prepared;
	/* the escape out of an execution (__mmn_ctl_run_main) */
	jmp_buf escape;
	bool escape_armed;
	bool aborting;
	enum ctl_abort abort_reason;
} ctl;

static struct ctl_co ctl_main_co;
static struct ctl_co *ctl_pool;		/* free coroutines */

/* ------------------------------------------------------------------ */
/* Switching.                                                          */

#ifdef CTL_ASAN
static struct ctl_co *ctl_san_from;	/* who is switching, for its bounds */

static inline void ctl_san_start(struct ctl_co *from, const struct ctl_co *to, bool dying)
{
	ctl_san_from = from;
	__sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake, to->stack,
				       to->stack_size);
}

static inline void ctl_san_finish(struct ctl_co *self)
{
	const void *bottom;
	size_t size;

	__sanitizer_finish_switch_fiber(self->asan_fake, &bottom, &size);
	/* main's stack bounds are learnt from its first switch away */
	if (ctl_san_from && !ctl_san_from->stack) {
		ctl_san_from->stack = bottom;
		ctl_san_from->stack_size = size;
	}
}
#else
static inline void ctl_san_start(struct ctl_co *from, const struct ctl_co *to, bool dying)
{
}

static inline void ctl_san_finish(struct ctl_co *self)
{
}
#endif

static inline void ctl_tsan_switch(struct ctl_co *to)
{
#ifdef CTL_TSAN
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
}

/* Save @from, resume @to; returns when somebody switches back to @from. */
static void ctl_jump(struct ctl_co *from, struct ctl_co *to, bool dying)
{
	if (!_setjmp(from->env)) {
		ctl_san_start(from, to, dying);
		ctl_tsan_switch(to);
		_longjmp(to->env, 1);
	}
	ctl_san_finish(from);
}

static __attribute__((noreturn)) void ctl_escape(void);

static void ctl_switch(struct ctl_agent *next)
{
	struct ctl_agent *prev = ctl.cur;

	if (next == prev)
		return;
	ctl.cur = next;
	__mmn_current_task = next->task;
	ctl_jump(prev->co, next->co, false);
	if (unlikely(ctl.aborting))
		ctl_escape();		/* only main is resumed while aborting */
}

/* ------------------------------------------------------------------ */
/* Coroutines.                                                         */

static struct ctl_co *ctl_prime_co;	/* being primed */
static jmp_buf ctl_prime_env;		/* its creator */
static struct ctl_co ctl_prime_creator;	/* the creator's sanitizer state */

static void ctl_co_main(struct ctl_co *co) __attribute__((noreturn));

static void ctl_co_trampoline(void)
{
	struct ctl_co *co = ctl_prime_co;

#ifdef CTL_ASAN
	{
		const void *bottom;
		size_t size;

		__sanitizer_finish_switch_fiber(NULL, &bottom, &size);
		ctl_prime_creator.stack = bottom;
		ctl_prime_creator.stack_size = size;
	}
#endif
	if (!_setjmp(co->env)) {
		ctl_san_start(co, &ctl_prime_creator, false);
		ctl_tsan_switch(&ctl_prime_creator);
		_longjmp(ctl_prime_env, 1);
	}
	ctl_san_finish(co);
	ctl_co_main(co);
}

/* Make @co wait at the top of its loop, on a fresh stack. */
static int ctl_co_prime(struct ctl_co *co)
{
	ucontext_t uc;

	if (getcontext(&uc))
		return -errno;
	uc.uc_stack.ss_sp = (void *)co->stack;
	uc.uc_stack.ss_size = co->stack_size;
	uc.uc_link = NULL;
	makecontext(&uc, ctl_co_trampoline, 0);
#ifdef CTL_ASAN
	__asan_unpoison_memory_region(co->stack, co->stack_size);
#endif
#ifdef CTL_TSAN
	if (co->tsan_fiber)
		__tsan_destroy_fiber(co->tsan_fiber);
	co->tsan_fiber = __tsan_create_fiber(0);
	ctl_prime_creator.tsan_fiber = __tsan_get_current_fiber();
#endif
	ctl_prime_co = co;
	if (!_setjmp(ctl_prime_env)) {
		ctl_san_start(&ctl_prime_creator, co, false);
		ctl_tsan_switch(co);
		setcontext(&uc);
		abort();
	}
	ctl_san_finish(&ctl_prime_creator);
	co->primed = true;
	return 0;
}

static struct ctl_co *ctl_co_get(void)
{
	struct ctl_co *co = ctl_pool;
	long page = sysconf(_SC_PAGESIZE);

	if (co) {
		ctl_pool = co->next_free;
	} else {
		co = calloc(1, sizeof(*co));
		if (!co)
			return NULL;
		co->map_size = CTL_STACK_SIZE + (size_t)page;
		co->map = mmap(NULL, co->map_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (co->map == MAP_FAILED)
			goto err_free;
		if (mprotect(co->map, (size_t)page, PROT_NONE))
			goto err_unmap;
		co->stack = (char *)co->map + page;
		co->stack_size = CTL_STACK_SIZE;
	}
	if (!co->primed && ctl_co_prime(co))
		goto err_pool;
	return co;

err_unmap:
	munmap(co->map, co->map_size);
err_free:
	free(co);
	return NULL;
err_pool:
	co->next_free = ctl_pool;
	ctl_pool = co;
	return NULL;
}

static void ctl_co_put(struct ctl_co *co)
{
	co->agent = NULL;
	co->next_free = ctl_pool;
	ctl_pool = co;
}

void __mmn_ctl_pool_drain(void)
{
	while (ctl_pool) {
		struct ctl_co *co = ctl_pool;

		ctl_pool = co->next_free;
#ifdef CTL_TSAN
		if (co->tsan_fiber)
			__tsan_destroy_fiber(co->tsan_fiber);
#endif
		munmap(co->map, co->map_size);
		free(co);
	}
}

/* ------------------------------------------------------------------ */
/* Agents.                                                             */

static struct ctl_agent *ctl_agent_of(struct mmn_task *t)
{
	return t->sched_priv;
}

static int ctl_agents_grow(void)
{
	unsigned int cap = ctl.cap_agents ? ctl.cap_agents * 2 : 8;
	struct ctl_agent **a = realloc(ctl.agents, cap * sizeof(*a));
	struct ctl_agent **c;
	bool *w;
	int *p;

	if (!a)
		return -ENOMEM;
	ctl.agents = a;
	c = realloc(ctl.cand, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	ctl.cand = c;
	p = realloc(ctl.pids, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	ctl.pids = p;
	w = realloc(ctl.worker, cap * sizeof(*w));
	if (!w)
		return -ENOMEM;
	ctl.worker = w;
	ctl.cap_agents = cap;
	return 0;
}

static struct ctl_agent *ctl_agent_new(struct mmn_task *t)
{
	struct ctl_agent *a;

	if (t->pid <= 0 || t->pid > CTL_MAX_PID)
		return NULL;
	if (ctl.nr_agents == ctl.cap_agents && ctl_agents_grow())
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->task = t;
	a->state = CTL_RUNNABLE;
	/* pids are handed out in creation order: the array stays sorted */
	ctl.agents[ctl.nr_agents++] = a;
	ctl.agents_seen++;
	t->sched_priv = a;
	return a;
}

static void ctl_agent_del(struct ctl_agent *a)
{
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		if (ctl.agents[i] != a)
			continue;
		memmove(&ctl.agents[i], &ctl.agents[i + 1],
			(ctl.nr_agents - i - 1) * sizeof(ctl.agents[0]));
		ctl.nr_agents--;
		break;
	}
	a->task->sched_priv = NULL;
	free(a);
}

/* ------------------------------------------------------------------ */
/* Event log (printing a replay only).                                 */

static unsigned int ctl_ev_obj(struct ctl_events *e, const void *obj, const char *name)
{
	unsigned int i;

	if (!obj)
		return 0;
	for (i = 0; i < e->nr_objs; i++)
		if (e->obj_ptr[i] == obj)
			break;
	if (i == e->nr_objs) {
		if (i == CTL_MAX_OBJS)
			return 0;
		e->obj_ptr[i] = obj;
		e->obj_name[i][0] = '\0';
		e->nr_objs++;
	}
	if (name && !e->obj_name[i][0])
		snprintf(e->obj_name[i], CTL_OBJ_NAME_LEN, "%s", name);
	return i + 1;
}

/* Learn lock names from every agent's held list. */
static void ctl_ev_learn_names(struct ctl_events *e)
{
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		const struct mmn_task *t = ctl.agents[i]->task;

		for (int j = 0; j < t->lockdep_depth; j++)
			for (unsigned int k = 0; k < e->nr_objs; k++)
				if (e->obj_ptr[k] == t->held[j].lock && !e->obj_name[k][0])
					snprintf(e->obj_name[k], CTL_OBJ_NAME_LEN, "%s",
						 t->held[j].name);
	}
}

static void ctl_ev_record(enum ctl_event_type type, unsigned int sub, const void *obj,
			  const char *name, const char *arg)
{
	struct ctl_events *e = ctl.x->events;
	struct ctl_event *ev;

	ctl_ev_learn_names(e);
	if (e->nr == e->cap) {
		e->truncated = true;
		return;
	}
	ev = &e->ev[e->nr++];
	ev->pid = ctl.cur->task->pid;
	ev->type = (uint8_t)type;
	ev->sub = (uint8_t)sub;
	ev->obj = (uint16_t)ctl_ev_obj(e, obj, name);
	ev->preempted = false;
	snprintf(ev->comm, sizeof(ev->comm), "%s", ctl.cur->task->comm);
	snprintf(ev->arg, sizeof(ev->arg), "%s", arg ? arg : "");
}

/* ------------------------------------------------------------------ */
/* Deadlock and livelock reports.                                      */

static const char *const ctl_point_names[] = {
#define X(n, s) [MMN_SP_##n] = s,
	MMN_SCHED_POINTS(X)
#undef X
};

static const char *ctl_point_name(enum mmn_sched_point k)
{
	return (unsigned)k < MMN_SP__COUNT ? ctl_point_names[k] : "block/exit";
}

/* The agent whose held list has @obj, if any. */
static struct ctl_agent *ctl_holder(const void *obj)
{
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		struct ctl_agent *a = ctl.agents[i];

		if (a->state != CTL_DONE && obj && __mmn_held_find(a->task, obj))
			return a;
	}
	return NULL;
}

static void ctl_print_wait(struct mmn_buf *b, const struct ctl_agent *a)
{
	const struct mmn_park *why = a->why;
	const struct ctl_agent *h;

	if (!why) {
		mmn_buf_printf(b, "blocked\n");
		return;
	}
	mmn_buf_printf(b, "blocked in %s(%s)", __mmn_park_verb(why->kind),
		       why->name ? why->name : "?");
	if (why->file)
		mmn_buf_printf(b, " at %s:%d", why->file, why->line);
	mmn_buf_printf(b, "\n");
	h = ctl_holder(why->obj);
	if (h)
		mmn_buf_printf(b, "  (%s) is held by %s/%d\n", why->name ? why->name : "?",
			       h->task->comm, h->task->pid);
}

/* Ends the execution; never returns. */
static __attribute__((noreturn)) void ctl_abort(enum ctl_abort why);

/*
 * Every agent is blocked: hung-task style, one paragraph per agent (what
 * it waits for, where, who holds it, its held locks), then lockdep's
 * closing line.
 */
static __attribute__((noreturn)) void ctl_deadlock(void)
{
	struct mmn_buf b = { 0 };
	unsigned int blocked = 0;

	for (unsigned int i = 0; i < ctl.nr_agents; i++)
		blocked += ctl.agents[i]->state == CTL_BLOCKED;
	mmn_buf_printf(&b, "INFO: task deadlock: all %u live agents are blocked (step %lu)\n",
		       blocked, ctl.steps);
	mmn_buf_printf(&b, "------------------------------------------------------------\n");
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		struct ctl_agent *a = ctl.agents[i];

		if (a->state != CTL_BLOCKED)
			continue;
		mmn_buf_printf(&b, "task:%-15s pid:%-5d state:D ", a->task->comm, a->task->pid);
		ctl_print_wait(&b, a);
		__mmn_print_held_locks(&b, a->task);
		mmn_buf_printf(&b, "\n");
	}
	mmn_buf_printf(&b, " *** DEADLOCK ***\n");
	mmn_report(MMN_V_DEADLOCK, NULL, "%s", b.s);
	mmn_buf_free(&b);
	ctl_abort(CTL_ABORT_DEADLOCK);
}

/* The step bound: name the agents that kept reaching schedule points. */
static __attribute__((noreturn)) void ctl_livelock(void)
{
	unsigned long window = ctl.x->max_steps / 10 + 1;
	struct mmn_buf b = { 0 };

	mmn_buf_printf(&b, "INFO: livelock: no end after %lu schedule points (max_steps)\n",
		       ctl.x->max_steps);
	mmn_buf_printf(&b, "agents that kept running in the last %lu points:\n", window);
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		struct ctl_agent *a = ctl.agents[i];

		if (a->state == CTL_DONE || a->last_step + window < ctl.steps)
			continue;
		mmn_buf_printf(&b, "  %s/%d: %lu points in all, last at a %s point\n",
			       a->task->comm, a->task->pid, a->steps,
			       ctl_point_name(a->last_point));
	}
	mmn_buf_printf(&b, "other agents:\n");
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		struct ctl_agent *a = ctl.agents[i];

		if (a->state == CTL_DONE || a->last_step + window >= ctl.steps)
			continue;
		mmn_buf_printf(&b, "  %s/%d: %s, ", a->task->comm, a->task->pid,
			       a->state == CTL_BLOCKED ? "blocked" : "runnable, starved");
		if (a->state == CTL_BLOCKED)
			ctl_print_wait(&b, a);
		else
			mmn_buf_printf(&b, "\n");
	}
	for (unsigned int i = 0; i < ctl.nr_agents; i++)
		if (ctl.agents[i]->state != CTL_DONE)
			__mmn_print_held_locks(&b, ctl.agents[i]->task);
	mmn_report(MMN_V_LIVELOCK, NULL, "%s", b.s);
	mmn_buf_free(&b);
	ctl_abort(CTL_ABORT_LIVELOCK);
}

/* ------------------------------------------------------------------ */
/* Scheduling.                                                         */

/*
 * A step: the running agent reached a schedule point (@kind, or a park /
 * exit when it is no longer runnable).  Ask the strategy, record the
 * decision, return who runs next.  Does not switch.
 */
static struct ctl_agent *ctl_step(enum mmn_sched_point kind)
{
	struct ctl_agent *cur = ctl.cur;
	bool yield = kind == MMN_SP_YIELD && cur->state == CTL_RUNNABLE;
	struct ctl_exec *x = ctl.x;
	struct ctl_point p;
	unsigned int n = 0;
	int cur_idx = -1, i;

	ctl.steps++;
	cur->steps++;
	cur->last_step = ctl.steps;
	cur->last_point = kind;
	if (unlikely(ctl.steps >= x->max_steps))
		ctl_livelock();
	for (unsigned int j = 0; j < ctl.nr_agents; j++) {
		struct ctl_agent *a = ctl.agents[j];

		if (a->state != CTL_RUNNABLE || (a == cur && yield))
			continue;
		if (a == cur)
			cur_idx = (int)n;
		ctl.cand[n] = a;
		ctl.worker[n] = a->task->kind == MMN_TASK_WORKER;
		ctl.pids[n++] = a->task->pid;
	}
	if (!n && yield) {		/* nobody else: the yielder goes on */
		ctl.cand[0] = cur;
		ctl.worker[0] = cur->task->kind == MMN_TASK_WORKER;
		ctl.pids[0] = cur->task->pid;
		n = 1;
		cur_idx = 0;
	}
	if (!n)
		ctl_deadlock();
	p = (struct ctl_point){
		.pids = ctl.pids, .worker = ctl.worker, .nr = n, .cur = cur_idx, .cur_pid = cur->task->pid,
		.yield = yield, .step = ctl.steps, .decision = ctl.decisions,
	};
	i = x->strategy->pick(x->strategy, &p);
	if (unlikely(i < 0 || (unsigned int)i >= n))
		ctl_abort(CTL_ABORT_DIVERGED);
	if (n > 1) {
		uint16_t e = (uint16_t)ctl.pids[i];

		if (cur_idx >= 0 && i != cur_idx) {
			e |= CTL_TRAIL_PREEMPT;
			ctl.preemptions++;
		} else if (i == cur_idx) {
			e |= CTL_TRAIL_CONT;
		}
		ctl.decisions++;
		if (x->trail) {
			if (*x->trail_nr < x->trail_cap)
				x->trail[(*x->trail_nr)++] = e;
			else
				*x->trail_overflow = true;
		}
	}
	return ctl.cand[i];
}

static void ctl_sched_point(enum mmn_sched_point kind, const void *obj)
{
	struct ctl_agent *next;

	mmn_current();		/* adopts main on its first point */
	if (unlikely(ctl.x->events)) {
		unsigned int pre = ctl.preemptions;
		struct ctl_events *e = ctl.x->events;

		ctl_ev_record(CTL_EV_POINT, kind, obj, NULL, NULL);
		next = ctl_step(kind);
		if (ctl.preemptions != pre && e->nr && !e->truncated)
			e->ev[e->nr - 1].preempted = true;
	} else {
		next = ctl_step(kind);
	}
	ctl_switch(next);
}

/* Block current (already marked), run somebody else, return when woken. */
static void ctl_block(const struct mmn_park *why)
{
	struct ctl_agent *next;

	if (unlikely(ctl.x->events)) {
		char at[CTL_EV_ARG_LEN] = "";

		if (why->file)
			snprintf(at, sizeof(at), "%s:%d", why->file, why->line);
		ctl_ev_record(CTL_EV_BLOCK, why->kind, why->obj, why->name, at);
	}
	next = ctl_step(MMN_SP__COUNT);
	ctl_switch(next);
}

static void ctl_wp_park(struct mmn_waitpoint *wp, const struct mmn_park *why)
{
	struct ctl_agent *cur = ctl_agent_of(mmn_current());

	cur->state = CTL_BLOCKED;
	cur->wp = wp;
	cur->why = why;
	ctl.nr_parked++;
	ctl_block(why);
}

static void ctl_wp_unpark_all(struct mmn_waitpoint *wp)
{
	if (likely(!ctl.nr_parked))
		return;
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		struct ctl_agent *a = ctl.agents[i];

		if (a->state == CTL_BLOCKED && a->wp == wp) {
			a->state = CTL_RUNNABLE;
			a->wp = NULL;
			a->why = NULL;
			ctl.nr_parked--;
		}
	}
}

static void ctl_wp_nop(struct mmn_waitpoint *wp)
{
}

static void ctl_wp_init(struct mmn_waitpoint *wp)
{
	/* all-zero is also an initialised threads-back-end waitpoint */
	memset(wp, 0, sizeof(*wp));
}

/* ------------------------------------------------------------------ */
/* Tasks.                                                              */

/* A coroutine's life: run a task, hand the CPU on, wait for the next. */
static void ctl_co_main(struct ctl_co *co)
{
	for (;;) {
		struct ctl_agent *a = co->agent;
		struct ctl_agent *next;

		__mmn_task_body(a->task);
		a->state = CTL_DONE;
		if (a->joiner) {
			a->joiner->state = CTL_RUNNABLE;
			a->joiner->why = NULL;
			a->joiner = NULL;
		}
		if (unlikely(ctl.x->events))
			ctl_ev_record(CTL_EV_EXIT, 0, NULL, NULL, NULL);
		next = ctl_step(MMN_SP__COUNT);
		a->co = NULL;
		ctl_co_put(co);
		ctl.cur = next;
		__mmn_current_task = next->task;
		ctl_jump(co, next->co, false);
		/* reused: task_start() set co->agent */
	}
}

static void ctl_task_adopt(struct mmn_task *t)
{
	struct ctl_agent *a;

	if (ctl.main) {
		fprintf(stderr, "mmnlab: controlled back end: a second thread (%s) called in; "
			"only the thread that set up the run may\n", t->comm);
		abort();
	}
	a = ctl_agent_new(t);
	if (!a)
		abort();
	memset(&ctl_main_co, 0, sizeof(ctl_main_co));
#ifdef CTL_TSAN
	ctl_main_co.tsan_fiber = __tsan_get_current_fiber();
#endif
	ctl_main_co.agent = a;
	a->co = &ctl_main_co;
	ctl.main = a;
	ctl.cur = a;
}

static int ctl_task_start(struct mmn_task *t)
{
	struct ctl_agent *a = ctl_agent_new(t);
	struct ctl_co *co;

	if (!a)
		return -ENOMEM;
	co = ctl_co_get();
	if (!co) {
		ctl_agent_del(a);
		return -ENOMEM;
	}
	co->agent = a;
	a->co = co;
	if (unlikely(ctl.x->events)) {
		char arg[CTL_EV_ARG_LEN];

		snprintf(arg, sizeof(arg), "%s/%d", t->comm, t->pid);
		ctl_ev_record(CTL_EV_CREATE, 0, NULL, NULL, arg);
	}
	return 0;
}

static void ctl_task_join(struct mmn_task *t)
{
	struct ctl_agent *a = ctl_agent_of(t);
	struct ctl_agent *cur = ctl_agent_of(mmn_current());
	struct mmn_park why = { MMN_PARK_JOIN, t, t->comm, NULL, 0 };

	while (a->state != CTL_DONE) {
		cur->state = CTL_BLOCKED;
		cur->why = &why;
		a->joiner = cur;
		ctl_block(&why);
	}
}

static void ctl_task_free(struct mmn_task *t)
{
	struct ctl_agent *a = ctl_agent_of(t);

	if (!a)
		return;
	if (a == ctl.main)
		ctl.main = NULL;
	ctl_agent_del(a);
}

/* ------------------------------------------------------------------ */
/* The default strategy: seeded random (no explorer).                  */

struct ctl_dflt_strategy {
	struct ctl_strategy s;
	uint64_t rng;
};

static struct ctl_dflt_strategy ctl_dflt_strategy;

static int ctl_dflt_pick(struct ctl_strategy *s, const struct ctl_point *p)
{
	struct ctl_dflt_strategy *d = (struct ctl_dflt_strategy *)s;

	return p->nr == 1 ? 0 : (int)__mmn_rand_below(&d->rng, p->nr);
}

/* ------------------------------------------------------------------ */
/* Runs and executions.                                                */

void __mmn_ctl_prepare(struct ctl_exec *x)
{
	ctl.prepared = x;
}

static void ctl_init(const struct mmn_rt_config *cfg)
{
	ctl.nr_agents = 0;
	ctl.cur = ctl.main = NULL;
	ctl.nr_parked = 0;
	ctl.steps = ctl.decisions = 0;
	ctl.preemptions = 0;
	ctl.agents_seen = 0;
	ctl.aborting = false;
	ctl.escape_armed = false;
	ctl.abort_reason = CTL_ABORT_NONE;
	if (ctl.prepared) {
		ctl.x = ctl.prepared;
		ctl.prepared = NULL;
	} else {
		ctl_dflt_strategy.s.pick = ctl_dflt_pick;
		ctl_dflt_strategy.rng = cfg->seed;
		ctl.dflt = (struct ctl_exec){ .strategy = &ctl_dflt_strategy.s };
		ctl.x = &ctl.dflt;
	}
	if (!ctl.x->max_steps)
		ctl.x->max_steps = CTL_DEFAULT_MAX_STEPS;
	ctl.x->aborted = CTL_ABORT_NONE;
}

static void ctl_publish(void)
{
	ctl.x->steps = ctl.steps;
	ctl.x->decisions = ctl.decisions;
	ctl.x->preemptions = ctl.preemptions;
	ctl.x->nr_agents = ctl.agents_seen;
}

static void ctl_exit(void)
{
	if (!ctl.x)
		return;
	ctl_publish();
	/* direct use that never joined: give the coroutines back */
	for (unsigned int i = 0; i < ctl.nr_agents; i++) {
		struct ctl_agent *a = ctl.agents[i];

		if (a->co && a->co != &ctl_main_co) {
			a->co->primed = false;
			ctl_co_put(a->co);
		}
		a->task->sched_priv = NULL;
		free(a);
	}
	free(ctl.agents);
	free(ctl.cand);
	free(ctl.pids);
	ctl.agents = ctl.cand = NULL;
	ctl.pids = NULL;
	ctl.nr_agents = ctl.cap_agents = 0;
	ctl.cur = ctl.main = NULL;
	ctl.x = NULL;
}

static __attribute__((noreturn)) void ctl_escape(void)
{
	ctl.aborting = false;
	_longjmp(ctl.escape, 1);
}

static void ctl_abort(enum ctl_abort why)
{
	ctl.abort_reason = why;
	if (!ctl.escape_armed) {
		fprintf(stderr, "mmnlab: controlled execution cannot go on (%d) and nothing "
			"can unwind it (use __mmn_ctl_run_main / mmn_explore):\n", why);
		mmn_report_print(stderr);
		abort();
	}
	struct ctl_co *self = ctl.cur->co;

	if (ctl.cur == ctl.main)
		ctl_escape();
	ctl.aborting = true;
	ctl.cur = ctl.main;
	__mmn_current_task = ctl.main->task;
	/* this coroutine is abandoned: its fake stack can go */
	ctl_jump(self, &ctl_main_co, true);
	abort();	/* not reached: main escapes */
}

/*
 * After an escape: every agent but main is abandoned.  Its coroutine goes
 * back to the pool to be primed afresh, its task to task.c to be freed at
 * the end of the run.
 */
static void ctl_abandon_all(void)
{
	unsigned int i = 0;

	while (i < ctl.nr_agents) {
		struct ctl_agent *a = ctl.agents[i];
		struct mmn_task *t = a->task;

		if (a == ctl.main) {
			i++;
			continue;
		}
		if (a->co) {
			a->co->primed = false;
			ctl_co_put(a->co);
		}
		ctl_agent_del(a);
		__mmn_task_abandon(t);
	}
	ctl.main->state = CTL_RUNNABLE;
	ctl.main->why = NULL;
	ctl.main->wp = NULL;
	ctl.main->joiner = NULL;
	ctl.nr_parked = 0;
	ctl.cur = ctl.main;
	__mmn_current_task = ctl.main->task;
}

enum ctl_abort __mmn_ctl_run_main(void (*fn)(void *arg), void *arg)
{
	/* volatile: live across the _setjmp() below */
	volatile enum ctl_abort ret = CTL_ABORT_NONE;
	volatile bool live = false;

	mmn_current();		/* main is adopted now, pid 1 */
	ctl.abort_reason = CTL_ABORT_NONE;
	if (!_setjmp(ctl.escape)) {
		ctl.escape_armed = true;
		fn(arg);
	} else {
		ret = ctl.abort_reason;
	}
	ctl.escape_armed = false;
	for (unsigned int i = 0; i < ctl.nr_agents; i++)
		live |= ctl.agents[i] != ctl.main;
	if (live && !ret) {
		struct mmn_buf b = { 0 };

		mmn_buf_printf(&b, "WARNING: the execution ended with tasks never joined:\n");
		for (unsigned int i = 0; i < ctl.nr_agents; i++)
			if (ctl.agents[i] != ctl.main)
				mmn_buf_printf(&b, "  %s/%d (%s)\n", ctl.agents[i]->task->comm,
					       ctl.agents[i]->task->pid,
					       ctl.agents[i]->state == CTL_DONE ? "done" : "running");
		mmn_report(MMN_V_LAB_BUG, "unjoined", "%s", b.s);
		mmn_buf_free(&b);
		ret = CTL_ABORT_UNJOINED;
	}
	if (live)
		ctl_abandon_all();
	if (ret > ctl.x->aborted)
		ctl.x->aborted = ret;
	ctl_publish();
	return ret;
}

/* ------------------------------------------------------------------ */
/* bench/: the cost of one switch there and back.                      */

static unsigned long ctl_bench_rounds;

static void *ctl_bench_fn(void *arg)
{
	for (unsigned long i = 0; i < ctl_bench_rounds; i++)
		ctl_switch(ctl.main);
	return NULL;
}

double __mmn_ctl_switch_cost_ns(unsigned long rounds)
{
	struct mmn_rt_config cfg = { .backend = MMN_BACKEND_CONTROLLED };
	struct mmn_task *t;
	struct ctl_agent *a;
	struct timespec t0, t1;
	double ns;

	mmn_rt_init(&cfg);
	ctl_bench_rounds = rounds;
	t = mmn_task_create("bench", MMN_TASK_WORKER, NULL, ctl_bench_fn, NULL);
	a = ctl_agent_of(t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < rounds; i++)
		ctl_switch(a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mmn_task_join(t);
	mmn_rt_exit();
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	return ns / (double)rounds / 2;
}

const struct mmn_sched_ops __mmn_sched_controlled = {
	.name		= "controlled",
	.init		= ctl_init,
	.exit		= ctl_exit,
	.wp_init	= ctl_wp_init,
	.wp_destroy	= ctl_wp_nop,
	.wp_lock	= ctl_wp_nop,
	.wp_unlock	= ctl_wp_nop,
	.wp_park	= ctl_wp_park,
	.wp_unpark_all	= ctl_wp_unpark_all,
	.sched_point	= ctl_sched_point,
	.task_adopt	= ctl_task_adopt,
	.task_start	= ctl_task_start,
	.task_join	= ctl_task_join,
	.task_free	= ctl_task_free,
};
