/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exploration: run a program many times under the controlled back end of
 * rt/, each time with another interleaving, and hand back the first
 * violating one as a replayable schedule.
 *
 * The caller supplies the execution (struct mmn_explore_ops); the explorer
 * knows nothing of what it does.  Each execution is:
 *
 *	mmn_rt_init(controlled)		fresh run: pids from 1, no reports
 *	setup(arg)			e.g. mmn_mem_init(), checker begin
 *	run(arg)			creates tasks, joins them
 *	teardown(arg)			e.g. audit, mmn_mem_exit()
 *	mmn_rt_exit()
 *	violating = mmn_report_count() > 0
 *
 * All three callbacks run as the main agent (pid 1) with the controlled
 * back end active: they may create, park, join.  An execution that cannot
 * go on (deadlock, livelock bound) is cut short where it stands: its other
 * agents are abandoned, and whatever they held or allocated is lost.
 * teardown() still runs (mmn_explore_aborted() says so).  With isolation
 * on, executions run in a child process, so none of that leaks into the
 * caller, and a crash or hang of an execution is a result, not the end of
 * the explorer.
 *
 * One explorer per process at a time, called from one thread: the
 * controlled back end is process-wide state.
 *
 * Schedules.  At each step where more than one agent could run (a
 * decision) the strategy picks one; the pids picked, in order, are the
 * schedule.  Replaying a schedule re-runs the execution exactly, on any
 * machine: no decision depends on addresses, time or the OS scheduler.
 * A preemption is a decision that switches away from an agent that could
 * have continued (yields, blocking and exit are free switches).
 */
#ifndef MMN_EXPLORE_H
#define MMN_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Strategies; each documents its guarantee in src/rt/strategy.c.
 *   random  every decision uniform among the candidates (seeded)
 *   pct     Burckhardt et al., ASPLOS 2010: random agent priorities and
 *           depth-1 random priority change points among k steps; one
 *           execution finds a depth-d bug with probability at least
 *           1/(n * k^(d-1)) (n agents)
 *   replay  the decisions of mmn_explore_config.replay, in order
 *   dfs     every schedule with at most preemption_bound preemptions,
 *           fewest preemptions first (CHESS iterative context bounding)
 */
#define MMN_EXPLORE_STRATEGIES(X)	\
	X(RANDOM, "random")		\
	X(PCT, "pct")			\
	X(REPLAY, "replay")		\
	X(DFS, "dfs")

enum mmn_explore_strategy {
#define X(e, s) MMN_STRATEGY_##e,
	MMN_EXPLORE_STRATEGIES(X)
#undef X
	MMN_STRATEGY__COUNT
};

const char *mmn_explore_strategy_name(enum mmn_explore_strategy s);
/* -1 for an unknown name. */
int mmn_explore_strategy_parse(const char *name);

/* A schedule: the pid chosen at each decision, in order. */
struct mmn_schedule {
	uint16_t *pid;
	size_t nr;
};

void mmn_schedule_free(struct mmn_schedule *s);
/* Deterministic 64-bit hash (FNV-1a) of a schedule. */
uint64_t mmn_schedule_hash(const struct mmn_schedule *s);

struct mmn_explore_ops {
	/* Before run(), as main: set up what the execution needs.  May be NULL. */
	void (*setup)(void *arg);
	/* The execution, as main: create the agents, join them. */
	void (*run)(void *arg);
	/* After run(), as main, also after an aborted execution: audit,
	 * tear down.  Reports made here count.  May be NULL. */
	void (*teardown)(void *arg);
};

struct mmn_explore_config {
	enum mmn_explore_strategy strategy;
	uint64_t seed;
	/* executions to run; 0: 1000 (random, pct), 1 (replay), no limit (dfs) */
	unsigned long runs;
	unsigned int pct_depth;		/* d >= 1; 0: 3 */
	unsigned long pct_steps;	/* k; 0: the most decisions seen so far */
	unsigned int preemption_bound;	/* dfs */
	unsigned long max_steps;	/* per execution, then livelock; 0: 200000 */
	bool keep_going;		/* do not stop at the first violation */
	double time_limit;		/* seconds, 0: none */
	bool isolate;			/* executions in a child process */
	unsigned int hang_timeout;	/* seconds per execution (isolate); 0: 10 */
	bool shrink;			/* shrink the first violating schedule */
	unsigned long shrink_runs;	/* budget of replays for it; 0: 2000 */
	/* replay: the schedule; lenient: a decision that is not possible
	 * falls back to the default (the running agent continues, else the
	 * lowest pid) instead of being an error */
	const struct mmn_schedule *replay;
	bool replay_lenient;
};

/* How an execution ended. */
enum mmn_exec_status {
	MMN_EXEC_OK,
	MMN_EXEC_VIOLATION,	/* mmn_report_count() > 0 after teardown */
	MMN_EXEC_CRASHED,	/* the child died (signal, or exit in the run) */
	MMN_EXEC_HUNG,		/* the child outlived hang_timeout */
};

const char *mmn_exec_status_name(enum mmn_exec_status s);

struct mmn_explore_result {
	unsigned long executions;	/* complete executions explored */
	unsigned long violating;
	unsigned long runs;		/* executions run (dfs re-runs some) */
	bool exhausted;			/* dfs: every schedule within the bound */
	double elapsed;			/* seconds */

	/* the first violating execution */
	bool found;
	unsigned long index;		/* its number, from 0 */
	uint64_t seed;			/* its own seed (random, pct) */
	enum mmn_exec_status status;
	int kind;			/* enum mmn_violation_kind of the first
					 * report; -1 when crashed or hung */
	int signal;			/* crashed: the signal, or 0 */
	int exit_code;			/* crashed by exit(): the code */
	unsigned long steps;
	unsigned int preemptions;
	struct mmn_schedule schedule;
	char *report;			/* every report, as mmn_report_print() */

	/* shrinking (cfg.shrink) */
	bool shrunk;
	struct mmn_schedule shrunk_schedule;
	unsigned int shrunk_preemptions;
	unsigned long shrunk_steps;
	unsigned long shrink_runs;

	/* pct: the guarantee of one execution, 1/(n * k^(d-1)) */
	unsigned int pct_n;
	unsigned long pct_k;
	unsigned int pct_d;
	double pct_bound;

	/* an error of the explorer itself (bad config, replay diverged,
	 * dfs saw a nondeterministic program): mmn_explore() returned < 0 */
	char error[256];
};

/*
 * Explore.  Ends the caller's rt/ run (mmn_rt_exit) and, before
 * returning, starts a fresh one with the caller's configuration: reports
 * recorded before the call are gone; the executions' reports are copied
 * into the result.  Returns 0 (whether or not a violation was found) or
 * -errno with result->error set.  Free the result with
 * mmn_explore_result_free().
 */
int mmn_explore(const struct mmn_explore_config *cfg, const struct mmn_explore_ops *ops,
		void *arg, struct mmn_explore_result *result);
void mmn_explore_result_free(struct mmn_explore_result *r);

/* In teardown(): the execution was cut short (deadlock, livelock). */
bool mmn_explore_aborted(void);

/*
 * Replay @s once (strictly, in this process unless cfg->isolate), record
 * its events and print it as GenMC and CDSChecker do: each agent's
 * numbered events, then the interleaving, then the reports, then the
 * closing count lines of @r (may be NULL) and @replay_cmd (may be NULL),
 * the one-line command that replays it.  Returns 0 or -errno.
 */
int mmn_explore_print_execution(FILE *f, const struct mmn_explore_config *cfg,
				const struct mmn_explore_ops *ops, void *arg,
				const struct mmn_schedule *s,
				const struct mmn_explore_result *r,
				const char *replay_cmd);

/* ------------------------------------------------------------------ */
/*
 * Trace files: text, versioned, line-oriented.
 *
 *	# comment lines start with '#'; blank lines are ignored
 *	mmnlab-trace 1			first line that is not a comment
 *	version 0.1.0			mmnlab that wrote it
 *	scenario <text to end of line>	opaque identity of the program
 *	strategy pct
 *	seed 42
 *	execution 17			index of the execution (informational)
 *	violation deadlock		kind name, crash, hang or none
 *	preemptions 2			(informational)
 *	steps 123			(informational)
 *	decisions 14			then the decisions, any number per line:
 *	  2 3 3*4 2 ...			pid, or pid*count; '#' comments allowed
 *	end
 *
 * Keys may come in any order before "decisions"; unknown keys, malformed
 * numbers and a decision count that does not match are errors naming
 * file:line.
 */
#define MMN_TRACE_FORMAT	1

struct mmn_trace {
	unsigned int format;
	char version[32];
	char strategy[16];
	char violation[32];
	char *scenario;
	uint64_t seed;
	unsigned long execution;
	unsigned long steps;
	unsigned int preemptions;
	struct mmn_schedule schedule;
};

void mmn_trace_free(struct mmn_trace *t);
/* Fill @t from the first violating execution of @r (0, or -ENOENT). */
int mmn_trace_from_result(struct mmn_trace *t, const struct mmn_explore_config *cfg,
			  const struct mmn_explore_result *r, const char *scenario);
int mmn_explore_write_trace(FILE *f, const struct mmn_trace *t);
/*
 * Parse a trace from memory (any bytes: this is the fuzzing entry point)
 * or a file.  On error returns -EINVAL (-errno for I/O) and writes
 * "name:line: what" to @err.
 */
int mmn_explore_parse_trace(const char *buf, size_t len, const char *name,
			    struct mmn_trace *t, char *err, size_t errlen);
int mmn_explore_read_trace(const char *path, struct mmn_trace *t, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* MMN_EXPLORE_H */
