// SPDX-License-Identifier: GPL-2.0
/*
 * The exploration driver (<mmn/explore.h>): runs executions under the
 * controlled back end, one strategy decision list each, keeps the first
 * violating one, shrinks it, replays it for printing.
 *
 * Isolation.  With cfg->isolate, executions run in a forked child, which
 * runs them one after another until the batch ends, one violates (unless
 * keep_going) or it dies.  Everything the parent must know survives the
 * child because it lives in one MAP_SHARED mapping made before the fork
 * (struct xp_shared and the arrays after it):
 *
 *	counters, the index of the next execution, "in an execution" flag
 *	the running execution's decision trail, written at every decision
 *	the first violating execution: trail, outcome, report text
 *	the strategy's carried state (PCT step estimate, the DFS stack)
 *
 * A pipe would need a write per decision to hand back the trail of an
 * execution that crashes half-way; shared memory costs a store.  If the
 * child dies (a signal, an exit from inside the execution: ASan's SEGV
 * handler exits) or one execution outlives hang_timeout (the parent
 * polls a pidfd of the child and kills it when the running execution did
 * not change for that long; without pidfds, alarm() in the child), the
 * parent accounts the execution in progress as crashed or hung, with
 * the trail as far as it got, backtracks the DFS stack on its behalf, and
 * forks the next child from the next index.  Children leave by _exit():
 * the leaks of aborted executions (abandoned agents) die with them, and
 * LeakSanitizer does not look.
 *
 * Without isolation everything runs in the caller's process (debuggers,
 * unit tests): a crash is the caller's crash, and an aborted execution
 * leaks what its abandoned agents held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mmn/explore.h>
#include <mmn/report.h>
#include <mmn/rt.h>

#include "controlled.h"
#include "sched.h"
#include "strategy.h"

#define XP_TEXT_CAP		(256u << 10)
#define XP_EVENTS_CAP		(1u << 16)
#define XP_DEFAULT_RUNS		1000ul
#define XP_DEFAULT_DEPTH	3u
#define XP_DEFAULT_HANG		10u
#define XP_DEFAULT_SHRINK	2000ul

static const char *const xp_strategy_names[] = {
#define X(e, s) [MMN_STRATEGY_##e] = s,
	MMN_EXPLORE_STRATEGIES(X)
#undef X
};

const char *mmn_explore_strategy_name(enum mmn_explore_strategy s)
{
	return (unsigned)s < MMN_STRATEGY__COUNT ? xp_strategy_names[s] : "?";
}

int mmn_explore_strategy_parse(const char *name)
{
	for (int i = 0; i < MMN_STRATEGY__COUNT; i++)
		if (name && !strcmp(name, xp_strategy_names[i]))
			return i;
	return -1;
}

const char *mmn_exec_status_name(enum mmn_exec_status s)
{
	switch (s) {
	case MMN_EXEC_OK:
		return "ok";
	case MMN_EXEC_VIOLATION:
		return "violation";
	case MMN_EXEC_CRASHED:
		return "crash";
	case MMN_EXEC_HUNG:
		return "hang";
	}
	return "?";
}

void mmn_schedule_free(struct mmn_schedule *s)
{
	free(s->pid);
	s->pid = NULL;
	s->nr = 0;
}

uint64_t mmn_schedule_hash(const struct mmn_schedule *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < s->nr; i++) {
		h = (h ^ (s->pid[i] & 0xff)) * 0x100000001b3ull;
		h = (h ^ (s->pid[i] >> 8)) * 0x100000001b3ull;
	}
	return h;
}

/* ------------------------------------------------------------------ */
/* State shared with the children.                                     */

struct xp_outcome {
	enum mmn_exec_status status;
	int kind;
	int signal;
	int exit_code;
	unsigned long steps;
	unsigned int preemptions;
	unsigned long decisions;
};

struct xp_shared {
	unsigned long exec_gen;		/* bumped as each execution starts */
	unsigned long next_index;
	unsigned long runs, executions, violating;
	bool in_exec;
	bool child_done;
	bool stop;
	bool found;
	int error;
	char errmsg[256];
	uint64_t cur_seed;
	size_t trail_nr;
	bool trail_overflow;
	struct xp_outcome last;
	size_t last_text_len;
	unsigned long first_index;
	uint64_t first_seed;
	struct xp_outcome first;
	size_t first_trail_nr;
	size_t text_len;
	struct strat_shared strat;
};

struct xp {
	struct mmn_explore_config c;	/* defaults filled in */
	const struct mmn_explore_ops *ops;
	void *arg;
	void *map;
	size_t map_size;
	struct xp_shared *sh;
	uint16_t *trail;		/* the running execution's */
	uint16_t *first_trail;
	size_t trail_cap;
	char *text;			/* the first violation's reports */
	char *last_text;		/* the last execution's (replays) */
	struct strat_dfs_frame *frames;
	struct ctl_events *events;	/* NULL unless printing */
	struct strat st;
	struct timespec t0;
	bool in_child;
	bool child_alarm;		/* no pidfd: the child arms alarm() */
	bool watchdog_killed;
	/* shrinking: only this outcome counts as found */
	bool targeted;
	enum mmn_exec_status want_status;
	int want_kind;
};

static bool xp_aborted;

bool mmn_explore_aborted(void)
{
	return xp_aborted;
}

static double xp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t xp_align(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static int xp_open(struct xp *xp, const struct mmn_explore_config *cfg,
		   const struct mmn_explore_ops *ops, void *arg, bool events)
{
	size_t off_trail, off_first, off_text, off_last_text, off_frames, off_events, size;
	size_t max_frames;
	char *base;

	memset(xp, 0, sizeof(*xp));
	xp->c = *cfg;
	xp->ops = ops;
	xp->arg = arg;
	if (!xp->c.max_steps)
		xp->c.max_steps = CTL_DEFAULT_MAX_STEPS;
	if (!xp->c.pct_depth)
		xp->c.pct_depth = XP_DEFAULT_DEPTH;
	if (!xp->c.hang_timeout)
		xp->c.hang_timeout = XP_DEFAULT_HANG;
	if (!xp->c.shrink_runs)
		xp->c.shrink_runs = XP_DEFAULT_SHRINK;
	if (!xp->c.runs && xp->c.strategy != MMN_STRATEGY_DFS)
		xp->c.runs = xp->c.strategy == MMN_STRATEGY_REPLAY ? 1 : XP_DEFAULT_RUNS;

	/* decisions <= steps <= max_steps: the livelock bound comes first */
	xp->trail_cap = xp->c.max_steps + 2;
	max_frames = xp->c.strategy == MMN_STRATEGY_DFS ? xp->trail_cap : 0;
	off_trail = xp_align(sizeof(struct xp_shared));
	off_first = off_trail + xp_align(xp->trail_cap * sizeof(uint16_t));
	off_text = off_first + xp_align(xp->trail_cap * sizeof(uint16_t));
	off_last_text = off_text + XP_TEXT_CAP;
	off_frames = off_last_text + XP_TEXT_CAP;
	off_events = off_frames + xp_align(max_frames * sizeof(struct strat_dfs_frame));
	size = off_events;
	if (events)
		size += xp_align(sizeof(struct ctl_events) +
				 XP_EVENTS_CAP * sizeof(struct ctl_event));
	base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	xp->map = base;
	xp->map_size = size;
	xp->sh = (struct xp_shared *)(void *)base;
	xp->trail = (uint16_t *)(void *)(base + off_trail);
	xp->first_trail = (uint16_t *)(void *)(base + off_first);
	xp->text = base + off_text;
	xp->last_text = base + off_last_text;
	xp->frames = (struct strat_dfs_frame *)(void *)(base + off_frames);
	if (events) {
		xp->events = (struct ctl_events *)(void *)(base + off_events);
		xp->events->cap = XP_EVENTS_CAP;
	}
	xp->sh->strat = (struct strat_shared){
		.kind = xp->c.strategy, .seed = xp->c.seed, .depth = xp->c.pct_depth,
		.k_given = xp->c.pct_steps, .bound = xp->c.preemption_bound,
		.pass_bound = 0, .max_frames = max_frames,
	};
	__mmn_strat_init(&xp->st, &xp->sh->strat, xp->frames);
	xp->st.replay = xp->c.replay;
	xp->st.lenient = xp->c.replay_lenient;
	clock_gettime(CLOCK_MONOTONIC, &xp->t0);
	return 0;
}

static void xp_close(struct xp *xp)
{
	__mmn_strat_destroy(&xp->st);
	if (xp->map)
		munmap(xp->map, xp->map_size);
	xp->map = NULL;
}

static double xp_elapsed(const struct xp *xp)
{
	return xp_now() - ((double)xp->t0.tv_sec + (double)xp->t0.tv_nsec * 1e-9);
}

static void xp_error(struct xp *xp, int err, const char *msg)
{
	if (!xp->sh->error) {
		xp->sh->error = err;
		snprintf(xp->sh->errmsg, sizeof(xp->sh->errmsg), "%s", msg);
	}
	xp->sh->stop = true;
}

static bool xp_should_stop(struct xp *xp)
{
	struct xp_shared *sh = xp->sh;

	if (sh->stop || sh->strat.exhausted)
		return true;
	if (xp->c.runs && sh->runs >= xp->c.runs)
		return true;
	return xp->c.time_limit > 0 && xp_elapsed(xp) >= xp->c.time_limit;
}

/* ------------------------------------------------------------------ */
/* One execution.                                                      */

static void xp_setup_run(void *p)
{
	struct xp *xp = p;

	if (xp->ops->setup)
		xp->ops->setup(xp->arg);
	xp->ops->run(xp->arg);
}

static void xp_teardown(void *p)
{
	struct xp *xp = p;

	if (xp->ops->teardown)
		xp->ops->teardown(xp->arg);
}

/* Copy the run's reports, as mmn_report_print() has them, into @dst. */
static size_t xp_copy_reports(char *dst, size_t cap)
{
	char *s = NULL;
	size_t len = 0, n;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return 0;
	mmn_report_print(f);
	fclose(f);
	n = len < cap - 1 ? len : cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	free(s);
	return n;
}

static size_t xp_crash_text(char *dst, size_t cap, unsigned long idx, const struct xp_outcome *o)
{
	int n;

	if (o->status == MMN_EXEC_HUNG)
		n = snprintf(dst, cap, "mmnlab: execution %lu hung: no end within the "
			     "watchdog's timeout\n", idx);
	else if (o->signal)
		n = snprintf(dst, cap, "mmnlab: execution %lu crashed: killed by signal %d (%s)\n",
			     idx, o->signal, strsignal(o->signal));
	else
		n = snprintf(dst, cap, "mmnlab: execution %lu crashed: the process exited "
			     "with status %d in the middle of it\n", idx, o->exit_code);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* The execution @idx ended as @o; @counts: it is not a DFS re-run. */
static void xp_account(struct xp *xp, unsigned long idx, const struct xp_outcome *o,
		       bool counts, bool reports)
{
	struct xp_shared *sh = xp->sh;

	sh->runs++;
	sh->last = *o;
	sh->last_text_len = reports ? xp_copy_reports(xp->last_text, XP_TEXT_CAP) :
			    o->status != MMN_EXEC_OK ?
			    xp_crash_text(xp->last_text, XP_TEXT_CAP, idx, o) : 0;
	if (!counts)
		return;
	sh->executions++;
	if (o->status == MMN_EXEC_OK)
		return;
	sh->violating++;
	if (xp->targeted && (o->status != xp->want_status ||
			     (o->status == MMN_EXEC_VIOLATION && o->kind != xp->want_kind)))
		return;
	if (!sh->found) {
		sh->found = true;
		sh->first_index = idx;
		sh->first_seed = sh->cur_seed;
		sh->first = *o;
		sh->first_trail_nr = sh->trail_nr;
		memcpy(xp->first_trail, xp->trail, sh->trail_nr * sizeof(uint16_t));
		memcpy(xp->text, xp->last_text, sh->last_text_len + 1);
		sh->text_len = sh->last_text_len;
	}
	if (!xp->c.keep_going)
		sh->stop = true;
}

static unsigned int xp_trail_preemptions(const struct xp *xp)
{
	unsigned int n = 0;

	for (size_t i = 0; i < xp->sh->trail_nr; i++)
		n += !!(xp->trail[i] & CTL_TRAIL_PREEMPT);
	return n;
}

static void xp_exec(struct xp *xp)
{
	struct xp_shared *sh = xp->sh;
	unsigned long idx = sh->next_index;
	struct mmn_rt_config rc = {
		.backend = MMN_BACKEND_CONTROLLED,
		.seed = __mmn_strat_exec_seed(xp->c.seed, idx),
	};
	struct ctl_exec x = {
		.strategy = &xp->st.s, .max_steps = xp->c.max_steps,
		.trail = xp->trail, .trail_cap = xp->trail_cap,
		.trail_nr = &sh->trail_nr, .trail_overflow = &sh->trail_overflow,
		.events = xp->events,
	};
	struct xp_outcome o = { .kind = -1 };
	enum ctl_abort ab;
	size_t nrep;
	bool counts;

	__mmn_strat_begin(&xp->st, idx);
	sh->cur_seed = rc.seed;
	sh->trail_nr = 0;
	sh->trail_overflow = false;
	if (xp->events) {
		xp->events->nr = 0;
		xp->events->nr_objs = 0;
		xp->events->truncated = false;
	}
	sh->exec_gen++;
	sh->in_exec = true;
	if (xp->child_alarm)
		alarm(xp->c.hang_timeout);

	__mmn_ctl_prepare(&x);
	mmn_rt_init(&rc);
	xp_aborted = false;
	ab = __mmn_ctl_run_main(xp_setup_run, xp);
	xp_aborted = ab != CTL_ABORT_NONE;
	if (ab != CTL_ABORT_DIVERGED)
		__mmn_ctl_run_main(xp_teardown, xp);
	mmn_rt_exit();
	xp_aborted = false;

	if (xp->child_alarm)
		alarm(0);
	sh->in_exec = false;
	if (x.aborted == CTL_ABORT_DIVERGED) {
		xp_error(xp, -EINVAL, xp->st.err[0] ? xp->st.err : "the strategy gave up");
		return;
	}
	if (xp->c.strategy == MMN_STRATEGY_REPLAY && !xp->c.replay_lenient &&
	    xp->c.replay && xp->st.pos < xp->c.replay->nr && ab == CTL_ABORT_NONE) {
		char msg[160];

		snprintf(msg, sizeof(msg), "replay diverged: the execution ended after %zu of "
			 "the schedule's %zu decisions", xp->st.pos, xp->c.replay->nr);
		xp_error(xp, -EINVAL, msg);
		return;
	}
	nrep = mmn_report_count();
	o.status = nrep ? MMN_EXEC_VIOLATION : MMN_EXEC_OK;
	o.kind = nrep ? (int)mmn_report_get(0)->kind : -1;
	o.steps = x.steps;
	o.preemptions = x.preemptions;
	o.decisions = x.decisions;
	counts = __mmn_strat_end(&xp->st, &x);
	xp_account(xp, idx, &o, counts, nrep > 0);
	sh->next_index++;
}

static void xp_batch(struct xp *xp)
{
	while (!xp_should_stop(xp))
		xp_exec(xp);
}

/* The child died: account the execution it was in. */
static void xp_child_died(struct xp *xp, int ws)
{
	struct xp_shared *sh = xp->sh;
	struct xp_outcome o = { .status = MMN_EXEC_CRASHED, .kind = -1 };
	char msg[128];
	bool counts;

	if (!sh->in_exec) {
		snprintf(msg, sizeof(msg), "explorer child died outside an execution (wait "
			 "status %#x)", ws);
		xp_error(xp, -ECHILD, msg);
		return;
	}
	sh->in_exec = false;
	if (WIFSIGNALED(ws)) {
		o.signal = WTERMSIG(ws);
		if (xp->watchdog_killed || (xp->child_alarm && o.signal == SIGALRM)) {
			o.status = MMN_EXEC_HUNG;
			o.signal = 0;
		}
	} else if (WIFEXITED(ws)) {
		o.exit_code = WEXITSTATUS(ws);
	}
	o.decisions = sh->trail_nr;
	o.preemptions = xp_trail_preemptions(xp);
	counts = __mmn_strat_end(&xp->st, NULL);
	xp_account(xp, sh->next_index, &o, counts, false);
	sh->next_index++;
}

/*
 * The watchdog: wait for the child to end, killing it if one execution
 * runs for more than hang_timeout (the same exec_gen, still in_exec, at
 * two looks hang_timeout apart: so a hang is caught within one to two
 * timeouts).  Without pidfd_open(2) the children arm alarm() instead.
 */
static void xp_watch(struct xp *xp, pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	unsigned long gen = xp->sh->exec_gen;

	xp->watchdog_killed = false;
	if (fd < 0)
		return;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)xp->c.hang_timeout * 1000);

		if (n > 0 || (n < 0 && errno != EINTR))
			break;
		if (n < 0)
			continue;
		if (xp->sh->in_exec && xp->sh->exec_gen == gen) {
			xp->watchdog_killed = true;
			kill(pid, SIGKILL);
			break;
		}
		gen = xp->sh->exec_gen;
	}
	close(fd);
#endif
}

static bool xp_have_pidfd(void)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd >= 0) {
		close(fd);
		return true;
	}
#endif
	return false;
}

static void xp_drive(struct xp *xp)
{
	struct xp_shared *sh = xp->sh;

	if (!xp->c.isolate) {
		xp_batch(xp);
		return;
	}
	xp->child_alarm = !xp_have_pidfd();
	while (!xp_should_stop(xp)) {
		pid_t pid;
		int ws;

		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			xp_error(xp, -errno, "fork failed");
			return;
		}
		if (!pid) {
			struct rlimit nocore = { 0, 0 };

			setrlimit(RLIMIT_CORE, &nocore);
			xp->in_child = true;
			xp_batch(xp);
			fflush(NULL);
			sh->child_done = true;
			_exit(0);
		}
		xp_watch(xp, pid);
		while (waitpid(pid, &ws, 0) < 0) {
			if (errno != EINTR) {
				xp_error(xp, -errno, "waitpid failed");
				return;
			}
		}
		if (sh->child_done && WIFEXITED(ws) && !WEXITSTATUS(ws))
			sh->child_done = false;
		else
			xp_child_died(xp, ws);
	}
}

/* ------------------------------------------------------------------ */
/* Replaying one schedule (shrinking, printing).                       */

struct xp_replay {
	struct xp_outcome o;
	uint16_t *trail;		/* with CTL_TRAIL_PREEMPT bits */
	size_t nr;
	char *text;
	struct ctl_events *events;	/* printing only */
	int error;
	char errmsg[256];
};

static void xp_replay_free(struct xp_replay *r)
{
	free(r->trail);
	free(r->text);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

static int xp_replay_once(const struct mmn_explore_config *cfg, const struct mmn_explore_ops *ops,
			  void *arg, const struct mmn_schedule *s, bool lenient, bool events,
			  struct xp_replay *out)
{
	struct mmn_explore_config c = *cfg;
	struct xp xp;
	int ret;

	memset(out, 0, sizeof(*out));
	c.strategy = MMN_STRATEGY_REPLAY;
	c.replay = s;
	c.replay_lenient = lenient;
	c.runs = 1;
	c.keep_going = true;
	c.time_limit = 0;
	ret = xp_open(&xp, &c, ops, arg, events);
	if (ret)
		return ret;
	xp_drive(&xp);
	out->error = xp.sh->error;
	snprintf(out->errmsg, sizeof(out->errmsg), "%s", xp.sh->errmsg);
	out->o = xp.sh->last;
	out->nr = xp.sh->trail_nr;
	out->trail = malloc((out->nr + 1) * sizeof(uint16_t));
	out->text = strdup(xp.last_text);
	if (!out->trail || !out->text) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(out->trail, xp.trail, out->nr * sizeof(uint16_t));
	if (events) {
		size_t sz = sizeof(struct ctl_events) + xp.events->nr * sizeof(struct ctl_event);

		out->events = malloc(sz);
		if (!out->events) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(out->events, xp.events, sz);
	}
	ret = out->error;
out:
	xp_close(&xp);
	return ret;
}

/* ------------------------------------------------------------------ */
/*
 * Shrinking.  A candidate is a schedule replayed leniently; it is kept if
 * it ends the same way (same status, and the same kind of first report)
 * and is smaller: fewer preemptions, or as many and fewer steps (fewer
 * decisions for a crash, whose steps are unknown).  The kept schedule is
 * the one the replay actually took, so its preemption flags are exact.
 *
 *   1. preemptions: for each preempting decision in turn, try to swap
 *      the segment it starts with the next one (xp_shrink_swap), else
 *      to let the running agent go on there (entry 0); restart after
 *      every success, until none can go (greedy fixpoint).  Every
 *      decision that went on is replayed as 0, relative to whoever runs
 *      then: with absolute pids, a later "go on" would become the
 *      switch back;
 *   1b. a dfs with fewer preemptions (xp_shrink_dfs), in what is left of
 *      the budget: it moves preemptions, which local moves cannot;
 *   2. steps: the shortest prefix that, completed without preemptions,
 *      still fails; again to a fixpoint.
 */
struct xp_shrink {
	const struct mmn_explore_config *cfg;
	const struct mmn_explore_ops *ops;
	void *arg;
	enum mmn_exec_status status;
	int kind;
	struct mmn_schedule cur;	/* with preemption bits */
	unsigned int pre;
	unsigned long steps;
	unsigned long runs, budget;
};

static bool xp_shrink_smaller(const struct xp_shrink *k, const struct xp_replay *r)
{
	if (r->error || r->o.status != k->status || r->o.kind != k->kind)
		return false;
	if (r->o.preemptions != k->pre)
		return r->o.preemptions < k->pre;
	if (k->status == MMN_EXEC_VIOLATION)
		return r->o.steps < k->steps;
	return r->nr < k->cur.nr;
}

/* Replay @cand; keep it if smaller.  Returns whether it was kept. */
static bool xp_shrink_try(struct xp_shrink *k, const struct mmn_schedule *cand)
{
	struct xp_replay r;

	if (k->runs >= k->budget)
		return false;
	k->runs++;
	xp_replay_once(k->cfg, k->ops, k->arg, cand, true, false, &r);
	if (!xp_shrink_smaller(k, &r)) {
		xp_replay_free(&r);
		return false;
	}
	free(k->cur.pid);
	k->cur.pid = r.trail;
	k->cur.nr = r.nr;
	r.trail = NULL;
	k->pre = r.o.preemptions;
	k->steps = r.o.steps;
	xp_replay_free(&r);
	return true;
}

/* An entry as the shrinker replays it: "go on" relative, others absolute. */
static uint16_t xp_rel(uint16_t e)
{
	return e & CTL_TRAIL_CONT ? 0 : (uint16_t)CTL_TRAIL_PID(e);
}

/* The first entry at or after @i that is not a "go on": a segment start. */
static size_t xp_next_switch(const struct mmn_schedule *s, size_t i)
{
	while (i < s->nr && (s->pid[i] & CTL_TRAIL_CONT))
		i++;
	return i;
}

/*
 * Candidate 1 for the preemption at @i, a segment swap:
 *
 *	X...  [P: i .. j)  [X': j .. k)  rest	(P preempted X at i)
 *	X... X' (going on)  [P: from i]  rest
 *
 * X' (normally X's next segment) runs right on, P's segment after it.
 * Every agent then reaches `rest` having run the same steps, so what
 * happens there happens again, one preemption fewer.
 */
static bool xp_shrink_swap(const struct xp_shrink *k, size_t i, struct mmn_schedule *cand)
{
	const struct mmn_schedule *s = &k->cur;
	size_t j = xp_next_switch(s, i + 1), e, n = 0;

	if (j >= s->nr)
		return false;
	e = xp_next_switch(s, j + 1);
	for (size_t m = 0; m < i; m++)
		cand->pid[n++] = xp_rel(s->pid[m]);
	cand->pid[n++] = 0;
	for (size_t m = j + 1; m < e; m++)
		cand->pid[n++] = xp_rel(s->pid[m]);
	cand->pid[n++] = (uint16_t)CTL_TRAIL_PID(s->pid[i]);
	for (size_t m = i + 1; m < j; m++)
		cand->pid[n++] = xp_rel(s->pid[m]);
	for (size_t m = e; m < s->nr; m++)
		cand->pid[n++] = xp_rel(s->pid[m]);
	cand->nr = n;
	return true;
}

/* Candidate 2: the running agent simply goes on at @i. */
static void xp_shrink_drop(const struct xp_shrink *k, size_t i, struct mmn_schedule *cand)
{
	for (size_t m = 0; m < k->cur.nr; m++)
		cand->pid[m] = m == i ? 0 : xp_rel(k->cur.pid[m]);
	cand->nr = k->cur.nr;
}

/*
 * Phase 1b: what local moves cannot do (move a preemption elsewhere), a
 * bounded search can: dfs with fewer preemptions than we have, fewest
 * first, stopping at the first execution that ends the same way, within
 * what is left of the budget.
 */
static void xp_shrink_dfs(struct xp_shrink *k)
{
	struct mmn_explore_config c = *k->cfg;
	struct xp xp;

	c.strategy = MMN_STRATEGY_DFS;
	c.preemption_bound = k->pre - 1;
	c.runs = k->budget - k->runs;
	c.keep_going = false;
	c.time_limit = 0;
	c.replay = NULL;
	if (xp_open(&xp, &c, k->ops, k->arg, false))
		return;
	xp.targeted = true;
	xp.want_status = k->status;
	xp.want_kind = k->kind;
	xp_drive(&xp);
	k->runs += xp.sh->runs;
	if (xp.sh->found && !xp.sh->error && xp.sh->first.preemptions < k->pre) {
		uint16_t *t = malloc((xp.sh->first_trail_nr + 1) * sizeof(uint16_t));

		if (t) {
			memcpy(t, xp.first_trail, xp.sh->first_trail_nr * sizeof(uint16_t));
			free(k->cur.pid);
			k->cur.pid = t;
			k->cur.nr = xp.sh->first_trail_nr;
			k->pre = xp.sh->first.preemptions;
			k->steps = xp.sh->first.steps;
		}
	}
	xp_close(&xp);
}

static int xp_shrink(struct xp_shrink *k)
{
	struct mmn_schedule cand = { NULL, 0 };
	bool again;

	do {
		again = false;
		free(cand.pid);
		cand.pid = malloc((k->cur.nr + 1) * sizeof(uint16_t));
		if (!cand.pid)
			return -ENOMEM;
		for (size_t i = 0; i < k->cur.nr && !again; i++) {
			if (!(k->cur.pid[i] & CTL_TRAIL_PREEMPT))
				continue;
			if (xp_shrink_swap(k, i, &cand) && xp_shrink_try(k, &cand)) {
				again = true;
				break;
			}
			xp_shrink_drop(k, i, &cand);
			again = xp_shrink_try(k, &cand);
		}
	} while (again && k->runs < k->budget);
	if (k->pre && k->runs < k->budget)
		xp_shrink_dfs(k);
	do {
		again = false;
		free(cand.pid);
		cand.pid = malloc((k->cur.nr + 1) * sizeof(uint16_t));
		if (!cand.pid)
			return -ENOMEM;
		for (size_t len = 0; len < k->cur.nr && !again; len++) {
			for (size_t j = 0; j < len; j++)
				cand.pid[j] = xp_rel(k->cur.pid[j]);
			cand.nr = len;
			again = xp_shrink_try(k, &cand);
		}
	} while (again && k->runs < k->budget);
	free(cand.pid);
	return 0;
}

/* A public schedule: pids only. */
static int xp_schedule_copy(struct mmn_schedule *dst, const uint16_t *trail, size_t nr)
{
	dst->pid = malloc((nr + 1) * sizeof(uint16_t));
	if (!dst->pid)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++)
		dst->pid[i] = (uint16_t)CTL_TRAIL_PID(trail[i]);
	dst->nr = nr;
	return 0;
}

/* ------------------------------------------------------------------ */

static int xp_check_config(const struct mmn_explore_config *cfg, const struct mmn_explore_ops *ops,
			   struct mmn_explore_result *r)
{
	const char *why = NULL;

	if (!cfg || !ops || !ops->run)
		why = "no configuration or no run() callback";
	else if ((unsigned)cfg->strategy >= MMN_STRATEGY__COUNT)
		why = "unknown strategy";
	else if (cfg->strategy == MMN_STRATEGY_REPLAY && !cfg->replay)
		why = "replay needs a schedule";
	else if (cfg->pct_depth > STRAT_PCT_MAX_DEPTH)
		why = "pct depth above 16";
	else if (cfg->preemption_bound > 0xfff0)
		why = "preemption bound too large";
	if (!why)
		return 0;
	snprintf(r->error, sizeof(r->error), "mmn_explore: %s", why);
	return -EINVAL;
}

int mmn_explore(const struct mmn_explore_config *cfg, const struct mmn_explore_ops *ops,
		void *arg, struct mmn_explore_result *r)
{
	struct mmn_rt_config saved = *mmn_rt_config();
	struct xp_shared *sh;
	struct xp xp;
	int ret;

	memset(r, 0, sizeof(*r));
	r->kind = -1;
	ret = xp_check_config(cfg, ops, r);
	if (ret)
		return ret;
	mmn_rt_exit();
	ret = xp_open(&xp, cfg, ops, arg, false);
	if (ret) {
		snprintf(r->error, sizeof(r->error), "mmn_explore: %s", strerror(-ret));
		goto out_rt;
	}
	sh = xp.sh;
	xp_drive(&xp);
	r->elapsed = xp_elapsed(&xp);
	r->executions = sh->executions;
	r->violating = sh->violating;
	r->runs = sh->runs;
	r->exhausted = sh->strat.exhausted;
	r->pct_d = xp.c.pct_depth;
	r->pct_n = sh->strat.max_agents_seen;
	r->pct_k = xp.c.pct_steps ? xp.c.pct_steps : sh->strat.max_decisions_seen;
	r->pct_bound = __mmn_pct_bound(r->pct_n, r->pct_k, r->pct_d);
	if (sh->error) {
		ret = sh->error;
		snprintf(r->error, sizeof(r->error), "%s", sh->errmsg);
	}
	if (sh->found) {
		r->found = true;
		r->index = sh->first_index;
		r->seed = sh->first_seed;
		r->status = sh->first.status;
		r->kind = sh->first.kind;
		r->signal = sh->first.signal;
		r->exit_code = sh->first.exit_code;
		r->steps = sh->first.steps;
		r->preemptions = sh->first.preemptions;
		r->report = strdup(xp.text);
		if (xp_schedule_copy(&r->schedule, xp.first_trail, sh->first_trail_nr) ||
		    !r->report) {
			ret = -ENOMEM;
			goto out_close;
		}
	}
	if (sh->found && cfg->shrink) {
		struct xp_shrink k = {
			.cfg = &xp.c, .ops = ops, .arg = arg, .status = r->status,
			.kind = r->kind, .pre = r->preemptions, .steps = r->steps,
			.budget = xp.c.shrink_runs,
		};

		k.cur.nr = sh->first_trail_nr;
		k.cur.pid = malloc((k.cur.nr + 1) * sizeof(uint16_t));
		if (!k.cur.pid) {
			ret = -ENOMEM;
			goto out_close;
		}
		memcpy(k.cur.pid, xp.first_trail, k.cur.nr * sizeof(uint16_t));
		if (!xp_shrink(&k) && !xp_schedule_copy(&r->shrunk_schedule, k.cur.pid, k.cur.nr)) {
			r->shrunk = true;
			r->shrunk_preemptions = k.pre;
			r->shrunk_steps = k.steps;
		}
		r->shrink_runs = k.runs;
		free(k.cur.pid);
	}
out_close:
	xp_close(&xp);
	__mmn_ctl_pool_drain();
out_rt:
	mmn_rt_init(&saved);
	return ret;
}

void mmn_explore_result_free(struct mmn_explore_result *r)
{
	mmn_schedule_free(&r->schedule);
	mmn_schedule_free(&r->shrunk_schedule);
	free(r->report);
	r->report = NULL;
}

/* ------------------------------------------------------------------ */
/* Printing an execution, GenMC / CDSChecker style.                    */

static const char *const xp_point_names[] = {
#define X(n, s) [MMN_SP_##n] = s,
	MMN_SCHED_POINTS(X)
#undef X
};

static void xp_print_obj(FILE *f, const struct ctl_events *e, unsigned int obj)
{
	if (!obj || obj > e->nr_objs)
		return;
	if (e->obj_name[obj - 1][0])
		fprintf(f, " %s", e->obj_name[obj - 1]);
	else
		fprintf(f, " obj#%u", obj);
}

static void xp_print_event(FILE *f, const struct ctl_events *e, const struct ctl_event *ev)
{
	switch (ev->type) {
	case CTL_EV_POINT:
		fprintf(f, "%s", ev->sub < MMN_SP__COUNT ? xp_point_names[ev->sub] : "?");
		xp_print_obj(f, e, ev->obj);
		break;
	case CTL_EV_BLOCK:
		fprintf(f, "blocks in %s(", __mmn_park_verb(ev->sub));
		if (ev->obj && ev->obj <= e->nr_objs && e->obj_name[ev->obj - 1][0])
			fprintf(f, "%s", e->obj_name[ev->obj - 1]);
		fprintf(f, ")");
		if (ev->arg[0])
			fprintf(f, " at %s", ev->arg);
		break;
	case CTL_EV_CREATE:
		fprintf(f, "creates %s", ev->arg);
		break;
	case CTL_EV_EXIT:
		fprintf(f, "exits");
		break;
	default:
		fprintf(f, "?");
	}
	fprintf(f, "%s\n", ev->preempted ? "   <- preempted" : "");
}

static void xp_print_events(FILE *f, const struct ctl_events *e)
{
	unsigned int *seq = calloc(e->nr + 1, sizeof(*seq));
	unsigned int *count = calloc(CTL_MAX_PID + 1, sizeof(*count));
	int maxpid = 0;

	if (!seq || !count)
		goto out;
	for (uint32_t i = 0; i < e->nr; i++) {
		int pid = e->ev[i].pid & CTL_MAX_PID;

		seq[i] = ++count[pid];
		if (pid > maxpid)
			maxpid = pid;
	}
	fprintf(f, "Events of each agent:\n");
	for (int pid = 1; pid <= maxpid; pid++) {
		bool head = false;

		for (uint32_t i = 0; i < e->nr; i++) {
			if ((e->ev[i].pid & CTL_MAX_PID) != pid)
				continue;
			if (!head) {
				fprintf(f, "  %s/%d:\n", e->ev[i].comm, pid);
				head = true;
			}
			fprintf(f, "    %d.%-4u ", pid, seq[i]);
			xp_print_event(f, e, &e->ev[i]);
		}
	}
	fprintf(f, "\nInterleaving:\n");
	for (uint32_t i = 0; i < e->nr; i++) {
		char who[MMN_TASK_COMM_LEN + 8];

		snprintf(who, sizeof(who), "%s/%d", e->ev[i].comm, e->ev[i].pid);
		fprintf(f, "  %5u  %-16s %d.%-4u ", i + 1, who, e->ev[i].pid, seq[i]);
		xp_print_event(f, e, &e->ev[i]);
	}
	if (e->truncated)
		fprintf(f, "  ... (event log full: %u events shown)\n", e->nr);
out:
	free(seq);
	free(count);
}

int mmn_explore_print_execution(FILE *f, const struct mmn_explore_config *cfg,
				const struct mmn_explore_ops *ops, void *arg,
				const struct mmn_schedule *s,
				const struct mmn_explore_result *r,
				const char *replay_cmd)
{
	struct mmn_rt_config saved = *mmn_rt_config();
	struct xp_replay rp;
	int ret;

	if (!cfg || !ops || !ops->run || !s)
		return -EINVAL;
	mmn_rt_exit();
	ret = xp_replay_once(cfg, ops, arg, s, false, true, &rp);
	__mmn_ctl_pool_drain();
	mmn_rt_init(&saved);
	if (ret) {
		fprintf(f, "mmnlab: cannot print the execution: %s\n",
			rp.errmsg[0] ? rp.errmsg : strerror(-ret));
		xp_replay_free(&rp);
		return ret;
	}
	fprintf(f, "Execution replayed from a schedule of %zu decisions (%u preemption%s, "
		"%lu steps): %s\n\n", s->nr, rp.o.preemptions, rp.o.preemptions == 1 ? "" : "s",
		rp.o.steps, mmn_exec_status_name(rp.o.status));
	if (rp.events)
		xp_print_events(f, rp.events);
	if (rp.text && rp.text[0])
		fprintf(f, "\n%s", rp.text);
	if (r) {
		fprintf(f, "\nNumber of complete executions explored: %lu\n", r->executions);
		fprintf(f, "Number of violating executions: %lu\n", r->violating);
		fprintf(f, "Total wall-clock time: %.2fs\n", r->elapsed);
	}
	if (replay_cmd)
		fprintf(f, "Replay: %s\n", replay_cmd);
	xp_replay_free(&rp);
	return 0;
}
