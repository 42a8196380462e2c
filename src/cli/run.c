// SPDX-License-Identifier: GPL-2.0
/*
 * mmnlab run | explore | replay: scenario files under the controlled
 * scheduler.
 *
 *   run FILE|DIR...   every instance of every scenario (eras x driver
 *                     forms), a verdict each against its expectation, one
 *                     table; exit 1 if any verdict is unexpected
 *   explore FILE      search schedules; on a violation shrink it, write a
 *                     trace file and print the execution (GenMC-style) with
 *                     the command that replays it
 *   replay TRACE      re-run the schedule of a trace file exactly
 *
 * The first line of output states version, strategy and seed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mmn/explore.h>
#include <mmn/mmn.h>

#include "cli/cli.h"
#include "scenario/scenario.h"

struct opts {
	const char *cmd;
	struct mmn_explore_config cfg;
	int era;			/* -1: the scenario's eras */
	char driver[64];		/* "", "dmirror", "dmirror/deferred" */
	const char *out;		/* explore: trace file */
	bool verbose;
	bool why;			/* run: a one-line cause under each violation */
	int jobs;			/* run: worker processes */
	bool no_time;
	bool seed_set;
	int nplugins;			/* --mirror-plugin given */
	const char *paths[256];
	int npaths;
};

static int usage_run(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "replay")) {
		fprintf(f,
			"usage: mmnlab replay TRACE [-v] [--mirror-plugin FILE.so]\n\n"
			"Re-runs the schedule recorded in TRACE (written by 'mmnlab explore')\n"
			"exactly, and prints the execution: each agent's events, the\n"
			"interleaving, the reports.  The plugins the trace names are\n"
			"loaded again from where they were.\n");
		return 0;
	}
	fprintf(f,
		"usage: mmnlab %s %s [options]\n\n"
		"options:\n"
		"  --strategy S     pct (default), random, dfs\n"
		"  --runs N         executions per instance (default 1000; dfs: all)\n"
		"  --seed N         seed of the strategy (default 1)\n"
		"  --depth D        PCT depth d (default 3)\n"
		"  --bound B        dfs preemption bound (default 2)\n"
		"  --era E          run only under era E (6.12, 6.1, 2.6.33)\n"
		"  --holt-atomic    era 2.6.33 with Robin Holt's 2010 proposal\n"
		"                   (2.6.33+holt; docs/seed-thread.md)\n"
		"  --driver D[/F]   run only instances of driver D (form F)\n"
		"  --mirror-plugin FILE.so\n"
		"                   load a driver plugin (repeatable); it joins the\n"
		"                   drivers (--driver, `mirror M NAME`, `mirror M *`);\n"
		"                   without --driver only plugin instances run\n"
		"  --keep-going     count every violating execution, not only the first\n"
		"  --time-limit S   seconds per instance\n"
		"  --no-isolate     run executions in this process (debugging)\n"
		"  --no-time        leave times out of the table (byte-stable output)\n"
		"%s"
		"%s"
		"  -v               print every violation report\n",
		cmd, !strcmp(cmd, "run") ? "FILE|DIR..." : "FILE",
		!strcmp(cmd, "run") ? "  --why            a one-line cause under every violation\n"
				      "  --jobs N         N worker processes (same output)\n" : "",
		!strcmp(cmd, "explore") ? "  --out FILE       trace file (default: NAME.trace)\n" : "");
	return 0;
}

/* Strict number parsing: the whole word, in range, or a clear error. */
static int parse_ulong(const char *cmd, const char *flag, const char *v,
		       unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (!v) {
		fprintf(stderr, "mmnlab %s: %s needs a value\n", cmd, flag);
		return -1;
	}
	errno = 0;
	x = strtoul(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "mmnlab %s: %s: '%s' is not a number in [%lu, %lu]\n",
			cmd, flag, v, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	const char *cmd = argv[0];

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->era = -1;
	o->cfg.strategy = MMN_STRATEGY_PCT;
	o->cfg.seed = 1;
	o->cfg.runs = 1000;
	o->cfg.pct_depth = 3;
	o->cfg.preemption_bound = 2;
	o->cfg.isolate = true;
	o->cfg.shrink = true;
	/* first, so that --driver and the scenario files know the plugins */
	o->nplugins = mmn_cli_scan_plugins(cmd, argc, argv);
	if (o->nplugins < 0)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long x;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage_run(stdout, cmd);
			return 1;
		} else if (!strcmp(a, "--strategy")) {
			int s = v ? mmn_explore_strategy_parse(v) : -1;

			if (s < 0 || s == MMN_STRATEGY_REPLAY) {
				fprintf(stderr, "mmnlab %s: --strategy: '%s' is not one of pct, random, dfs\n",
					cmd, v ? v : "");
				return -1;
			}
			o->cfg.strategy = s;
			i++;
		} else if (!strcmp(a, "--runs")) {
			if (parse_ulong(cmd, a, v, 1, 100000000, &x))
				return -1;
			o->cfg.runs = x;
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (parse_ulong(cmd, a, v, 0, ULONG_MAX, &x))
				return -1;
			o->cfg.seed = x;
			o->seed_set = true;
			i++;
		} else if (!strcmp(a, "--depth")) {
			if (parse_ulong(cmd, a, v, 1, 16, &x))
				return -1;
			o->cfg.pct_depth = (unsigned int)x;
			i++;
		} else if (!strcmp(a, "--bound")) {
			if (parse_ulong(cmd, a, v, 0, 16, &x))
				return -1;
			o->cfg.preemption_bound = (unsigned int)x;
			i++;
		} else if (!strcmp(a, "--time-limit")) {
			if (parse_ulong(cmd, a, v, 1, 86400, &x))
				return -1;
			o->cfg.time_limit = (double)x;
			i++;
		} else if (!strcmp(a, "--era")) {
			o->era = v ? mmn_era_parse(v) : -1;
			if (o->era < 0) {
				fprintf(stderr, "mmnlab %s: --era: '%s' is not one of 6.12, 6.1, 2.6.33\n",
					cmd, v ? v : "");
				return -1;
			}
			i++;
		} else if (!strcmp(a, "--driver")) {
			char name[64], *slash;
			const struct mmn_driver *d;

			if (!v || strlen(v) >= sizeof(name)) {
				fprintf(stderr, "mmnlab %s: --driver needs DRIVER or DRIVER/FORM\n", cmd);
				return -1;
			}
			snprintf(name, sizeof(name), "%s", v);
			slash = strchr(name, '/');
			if (slash)
				*slash = 0;
			d = mmn_driver_find(name);
			if (!d || (slash && mmn_driver_form(d, slash + 1) < 0)) {
				fprintf(stderr, "mmnlab %s: --driver: unknown driver or form '%s' (see 'mmnlab list')\n",
					cmd, v);
				return -1;
			}
			snprintf(o->driver, sizeof(o->driver), "%s", v);
			i++;
		} else if (!strcmp(a, "--mirror-plugin")) {
			i++;		/* loaded by mmn_cli_scan_plugins() */
		} else if (!strcmp(a, "--out") && !strcmp(cmd, "explore")) {
			if (!v) {
				fprintf(stderr, "mmnlab %s: --out needs a file name\n", cmd);
				return -1;
			}
			o->out = v;
			i++;
		} else if (!strcmp(a, "--holt-atomic")) {
			mmn_era_opts_force |= MMN_ERA_OPT_HOLT;
		} else if (!strcmp(a, "--keep-going")) {
			o->cfg.keep_going = true;
		} else if (!strcmp(a, "--no-isolate")) {
			o->cfg.isolate = false;
		} else if (!strcmp(a, "--no-time")) {
			o->no_time = true;
		} else if (!strcmp(a, "--jobs") && !strcmp(cmd, "run")) {
			if (parse_ulong(cmd, a, v, 1, 64, &x))
				return -1;
			o->jobs = (int)x;
			i++;
		} else if (!strcmp(a, "--why") && !strcmp(cmd, "run")) {
			o->why = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (a[0] == '-') {
			fprintf(stderr, "mmnlab %s: unknown option '%s' (see 'mmnlab %s --help')\n",
				cmd, a, cmd);
			return -1;
		} else {
			if (o->npaths >= (int)(sizeof(o->paths) / sizeof(o->paths[0]))) {
				fprintf(stderr, "mmnlab %s: too many files\n", cmd);
				return -1;
			}
			o->paths[o->npaths++] = a;
		}
	}
	if (o->cfg.strategy == MMN_STRATEGY_DFS)
		o->cfg.runs = 0;	/* dfs: until exhausted */
	return 0;
}

/* Does the report text hold a violation of @kind? */
static bool report_has_kind(const char *report, int kind)
{
	char needle[64];

	if (!report)
		return false;
	snprintf(needle, sizeof(needle), "mmnlab: %s:", mmn_violation_name(kind));
	for (const char *p = report; (p = strstr(p, needle)); p++)
		if (p == report || p[-1] == '\n')
			return true;
	return false;
}

static bool instance_has_plugin(const struct scn_scenario *x)
{
	for (int i = 0; i < x->nmirrors; i++)
		if (x->mirrors[i].driver && !mmn_driver_is_builtin(x->mirrors[i].driver))
			return true;
	return false;
}

static bool instance_selected(const struct opts *o, const struct scn_scenario *x)
{
	char label[96];

	if (o->era >= 0 && (int)x->era != o->era)
		return false;
	if (!o->driver[0])
		return !o->nplugins || instance_has_plugin(x);
	scn_instance_label(x, label, sizeof(label));
	if (strchr(o->driver, '/'))
		return !strcmp(label, o->driver);
	return !strncmp(label, o->driver, strlen(o->driver)) &&
	       label[strlen(o->driver)] == '/';
}

/* The instance's era as it runs: "2.6.33+holt" with --holt-atomic or an
 * `era 2.6.33+holt` line. */
static const char *instance_era(const struct scn_scenario *x, char *buf, size_t n)
{
	unsigned int opts = (x->era_opts | mmn_era_opts_force) &
			    mmn_era_opts_valid(x->era);

	return mmn_era_full_name(x->era, opts, buf, n);
}

/* Append "@word PATH" to @buf for each plugin driver the instance binds. */
static void append_plugins(const struct scn_scenario *x, const char *word,
			   char *buf, size_t n)
{
	for (int i = 0; i < x->nmirrors; i++) {
		const char *p = mmn_cli_plugin_path(x->mirrors[i].driver);
		size_t len = strlen(buf);

		if (p && len < n)
			snprintf(buf + len, n - len, " %s %s", word, p);
	}
}

/*
 * The identity of an instance, for trace files: "PATH era E mirror D/F",
 * then " plugin ABSPATH" for each plugin driver it binds, so that replay
 * loads them again.
 */
static void instance_identity(const struct scn_scenario *x, char *buf, size_t n)
{
	char label[96], era[32];

	scn_instance_label(x, label, sizeof(label));
	snprintf(buf, n, "%s era %s mirror %s", x->file, instance_era(x, era, sizeof(era)),
		 label);
	append_plugins(x, "plugin", buf, n);
}

/*
 * The command that finds the same execution again: explore is
 * deterministic in (scenario, instance, strategy, seed, runs), and writes
 * the trace that `mmnlab replay` re-runs.
 */
static void instance_replay_command(const struct opts *o, const struct scn_scenario *x,
				    char *buf, size_t n)
{
	char label[96];
	size_t len;

	scn_instance_label(x, label, sizeof(label));
	snprintf(buf, n, "mmnlab explore %s --era %s%s%s%s --strategy %s --seed %" PRIu64,
		 x->file, mmn_era_name(x->era),
		 mmn_era_opts_force & mmn_era_opts_valid(x->era) & MMN_ERA_OPT_HOLT ?
		 " --holt-atomic" : "", strcmp(label, "-") ? " --driver " : "",
		 strcmp(label, "-") ? label : "", mmn_explore_strategy_name(o->cfg.strategy),
		 o->cfg.seed);
	len = strlen(buf);
	if (o->cfg.strategy == MMN_STRATEGY_PCT && len < n)
		snprintf(buf + len, n - len, " --depth %u", o->cfg.pct_depth);
	len = strlen(buf);
	if (o->cfg.strategy == MMN_STRATEGY_DFS && len < n)
		snprintf(buf + len, n - len, " --bound %u", o->cfg.preemption_bound);
	else if (len < n)
		snprintf(buf + len, n - len, " --runs %lu", o->cfg.runs);
	append_plugins(x, "--mirror-plugin", buf, n);
}

/*
 * Set up one execution in this process, under the threads back end, and
 * tear it down: catches a driver that refuses to bind (e.g. an interval
 * notifier under 2.6.33) before any exploration.
 */
static const char *precheck(const struct scn_scenario *x, char *buf, size_t n)
{
	struct scn_exec *e = scn_exec_new(x);
	const char *err;

	if (!e)
		return "out of memory";
	mmn_report_reset();
	scn_setup(e);
	err = scn_exec_error(e);
	if (err)
		snprintf(buf, n, "%s", err);
	scn_teardown(e);
	scn_exec_free(e);
	mmn_report_reset();
	return err ? buf : NULL;
}

static void print_header(const struct opts *o)
{
	printf("mmnlab %s %s: strategy=%s seed=%" PRIu64, MMN_VERSION_STRING, o->cmd,
	       mmn_explore_strategy_name(o->cfg.strategy), o->cfg.seed);
	if (o->cfg.strategy == MMN_STRATEGY_PCT)
		printf(" depth=%u", o->cfg.pct_depth);
	if (o->cfg.strategy == MMN_STRATEGY_DFS)
		printf(" bound=%u", o->cfg.preemption_bound);
	else
		printf(" runs=%lu", o->cfg.runs);
	printf("\n");
}

/* Collect the .mmn files of a directory, sorted. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int list_dir(const char *dir, char ***files, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nf;

		if (len < 5 || strcmp(de->d_name + len - 4, ".mmn"))
			continue;
		nf = realloc(*files, (size_t)(*n + 1) * sizeof(**files));
		if (!nf)
			break;
		*files = nf;
		if (asprintf(&(*files)[*n], "%s/%s", dir, de->d_name) < 0)
			break;
		(*n)++;
	}
	closedir(d);
	qsort(*files, (size_t)*n, sizeof(**files), cmp_str);
	return 0;
}

static int collect(const struct opts *o, char ***files, int *n)
{
	for (int i = 0; i < o->npaths; i++) {
		struct stat st;

		if (stat(o->paths[i], &st)) {
			fprintf(stderr, "mmnlab %s: %s: %s\n", o->cmd, o->paths[i], strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (list_dir(o->paths[i], files, n)) {
				fprintf(stderr, "mmnlab %s: %s: cannot read directory\n",
					o->cmd, o->paths[i]);
				return -1;
			}
		} else {
			char **nf = realloc(*files, (size_t)(*n + 1) * sizeof(**files));

			if (!nf)
				return -1;
			*files = nf;
			(*files)[(*n)++] = strdup(o->paths[i]);
		}
	}
	return 0;
}

static void free_files(char **files, int n)
{
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

/* The verdict of one explored instance, as printed. */
static void verdict_text(const struct mmn_explore_result *r, char *buf, size_t n)
{
	if (!r->found)
		snprintf(buf, n, "ok");
	else if (r->status == MMN_EXEC_CRASHED)
		snprintf(buf, n, "driver crashed%s", r->signal ? " (signal)" : "");
	else if (r->status == MMN_EXEC_HUNG)
		snprintf(buf, n, "hung");
	else
		snprintf(buf, n, "violation %s", r->kind >= 0 ? mmn_violation_name(r->kind) : "?");
}

static bool verdict_matches(const struct mmn_explore_result *r, int expected)
{
	if (expected < 0)
		return !r->found;
	if (expected == SCN_EXPECT_ANY)
		return r->found;
	if (expected == SCN_EXPECT_MAYBE)
		return true;
	return r->found && r->status == MMN_EXEC_VIOLATION &&
	       (r->kind == expected || report_has_kind(r->report, expected));
}

/*
 * One line that says why: from the first report, the line naming the
 * contract point, the consumed frame, the freed frame, the value or the
 * held lock -- whichever comes first in that order of preference.
 */
static void report_cause(const char *report, char *buf, size_t n)
{
	static const char *const keys[] = {
		" contract point", " value ", " frame ", "BUG: sleeping", "INFO: task",
		"WARNING:", "BUG:",
	};

	buf[0] = 0;
	if (!report)
		return;
	const char *end = strstr(report + 1, "\n=====");

	/* a key starts a line of the first report (after its indentation) */
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *key = keys[k] + (keys[k][0] == ' ');

		for (const char *p = report; p && (!end || p < end);
		     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			const char *q = p + strspn(p, " ");

			if (strncmp(q, key, strlen(key)))
				continue;
			snprintf(buf, n, "%.*s", (int)strcspn(q, "\n"), q);
			return;
		}
	}
}

/*
 * Explore one instance and print its row to @out.  Returns 1 if the
 * verdict is unexpected, 0 if expected, -1 if the instance does not apply
 * (n/a).
 */
static int run_instance(const struct opts *o, const struct scn_scenario *x, FILE *out)
{
	struct mmn_explore_result r;
	char label[96], exp[48], ver[48], why[512], eraname[32];
	const char *na;
	struct scn_exec *e;
	bool ok;
	int ret;

	scn_instance_label(x, label, sizeof(label));
	if (x->expect < 0)
		snprintf(exp, sizeof(exp), "ok");
	else if (x->expect == SCN_EXPECT_MAYBE)
		snprintf(exp, sizeof(exp), "maybe");
	else
		snprintf(exp, sizeof(exp), "violation %s", x->expect == SCN_EXPECT_ANY ?
			 "any" : mmn_violation_name(x->expect));
	na = precheck(x, why, sizeof(why));
	if (na) {
		/* the driver does not exist in this era */
		fprintf(out, "%-28s %-30s %-11s %-34s %-34s %9s\n", x->name, label,
			instance_era(x, eraname, sizeof(eraname)), exp, "n/a", "-");
		if (o->verbose)
			fprintf(out, "    %s\n", na);
		return -1;
	}
	e = scn_exec_new(x);
	memset(&r, 0, sizeof(r));
	ret = mmn_explore(&(struct mmn_explore_config){
				  .strategy = o->cfg.strategy, .seed = o->cfg.seed,
				  .runs = o->cfg.runs, .pct_depth = o->cfg.pct_depth,
				  .preemption_bound = o->cfg.preemption_bound,
				  .keep_going = o->cfg.keep_going,
				  .time_limit = o->cfg.time_limit,
				  .isolate = o->cfg.isolate },
			  &scn_explore_ops, e, &r);
	if (ret < 0) {
		fprintf(out, "%-28s %-30s %-11s %-34s error: %s\n", x->name, label,
			instance_era(x, eraname, sizeof(eraname)), exp, r.error);
		mmn_explore_result_free(&r);
		scn_exec_free(e);
		return 1;
	}
	verdict_text(&r, ver, sizeof(ver));
	ok = verdict_matches(&r, x->expect);
	fprintf(out, "%-28s %-30s %-11s %-34s %-34s %9lu", x->name, label,
		instance_era(x, eraname, sizeof(eraname)), exp, ver, r.executions);
	if (!o->no_time)
		fprintf(out, " %7.2fs", r.elapsed);
	fprintf(out, "%s\n", ok ? "" : "   UNEXPECTED");
	if (r.found && r.report && (o->verbose || !ok)) {
		char cmd[1024];

		instance_replay_command(o, x, cmd, sizeof(cmd));
		fprintf(out, "%s", r.report);
		fprintf(out, "    to see it again: %s\n", cmd);
	} else if (r.found && o->why) {
		char line[200];

		report_cause(r.report, line, sizeof(line));
		if (line[0])
			fprintf(out, "    why: %s\n", line);
	}
	mmn_explore_result_free(&r);
	scn_exec_free(e);
	return ok ? 0 : 1;
}

/*
 * --jobs N: N worker processes take instances round-robin; each writes
 * every row into a buffer of its own in a shared mapping, and the parent
 * prints them in order.  The output is the same as with one job.
 */
#define ROW_BYTES	(64 * 1024)

struct row {
	int status;		/* -2: not run, -1 n/a, 0 expected, 1 unexpected */
	char text[ROW_BYTES];
};

static void run_parallel(const struct opts *o, struct scn_scenario **all, int nall,
			 int *total, int *unexpected)
{
	size_t size = (size_t)nall * sizeof(struct row);
	struct row *rows = mmap(NULL, size, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[64];
	int jobs = o->jobs > 64 ? 64 : o->jobs;

	if (rows == MAP_FAILED) {
		for (int k = 0; k < nall; k++) {
			int v = run_instance(o, all[k], stdout);

			*total += v >= 0;
			*unexpected += v > 0;
		}
		return;
	}
	for (int k = 0; k < nall; k++)
		rows[k].status = -2;
	fflush(stdout);
	for (int j = 0; j < jobs; j++) {
		pids[j] = fork();
		if (pids[j] == 0) {
			for (int k = j; k < nall; k += jobs) {
				FILE *f = fmemopen(rows[k].text, ROW_BYTES - 1, "w");

				if (!f)
					_exit(3);
				setvbuf(f, NULL, _IONBF, 0);
				rows[k].status = run_instance(o, all[k], f);
				fclose(f);
			}
			_exit(0);
		}
	}
	for (int j = 0; j < jobs; j++)
		if (pids[j] > 0)
			waitpid(pids[j], NULL, 0);
	for (int k = 0; k < nall; k++) {
		if (rows[k].status == -2) {
			printf("%-28s worker died before this instance\n", all[k]->name);
			(*unexpected)++;
			(*total)++;
			continue;
		}
		fputs(rows[k].text, stdout);
		*total += rows[k].status >= 0;
		*unexpected += rows[k].status > 0;
	}
	munmap(rows, size);
}

/* ---- run ------------------------------------------------------------- */

static int cmd_run(int argc, char **argv)
{
	struct opts o;
	char **files = NULL;
	int nfiles = 0, unexpected = 0, total = 0, ret;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (!o.npaths) {
		fprintf(stderr, "mmnlab run: no scenario given (see 'mmnlab run --help')\n");
		return 2;
	}
	if (collect(&o, &files, &nfiles)) {
		free_files(files, nfiles);
		return 2;
	}
	/* parse everything first: nothing runs on a malformed file */
	struct scn_scenario **scns = calloc((size_t)nfiles + 1, sizeof(*scns));

	for (int i = 0; i < nfiles; i++) {
		char err[1024];

		scns[i] = scn_load(files[i], err, sizeof(err));
		if (!scns[i]) {
			fprintf(stderr, "%s\n", err);
			for (int j = 0; j < i; j++)
				scn_free(scns[j]);
			free(scns);
			free_files(files, nfiles);
			return 2;
		}
	}

	print_header(&o);
	printf("\n%-28s %-30s %-11s %-34s %-34s %9s", "scenario", "driver/form", "era",
	       "expected", "verdict", "execs");
	if (!o.no_time)
		printf(" %8s", "time");
	printf("\n");
	/* every selected instance, in order */
	struct scn_scenario **all = NULL;
	int nall = 0;

	for (int i = 0; i < nfiles; i++) {
		struct scn_scenario *inst[SCN_MAX_INSTANCES];
		int n = scn_expand(scns[i], inst, SCN_MAX_INSTANCES);

		for (int k = 0; k < n; k++) {
			struct scn_scenario **na;

			if (!instance_selected(&o, inst[k])) {
				scn_free(inst[k]);
				continue;
			}
			na = realloc(all, (size_t)(nall + 1) * sizeof(*all));
			if (!na) {
				scn_free(inst[k]);
				continue;
			}
			all = na;
			all[nall++] = inst[k];
		}
	}
	if (o.jobs <= 1 || nall < 2) {
		for (int k = 0; k < nall; k++) {
			int v = run_instance(&o, all[k], stdout);

			total += v >= 0;
			unexpected += v > 0;
		}
	} else {
		run_parallel(&o, all, nall, &total, &unexpected);
	}
	for (int k = 0; k < nall; k++)
		scn_free(all[k]);
	free(all);
	printf("\n%d instances, %d as expected, %d unexpected\n", total,
	       total - unexpected, unexpected);
	for (int i = 0; i < nfiles; i++)
		scn_free(scns[i]);
	free(scns);
	free_files(files, nfiles);
	return unexpected ? 1 : 0;
}

/* ---- explore --------------------------------------------------------- */

static int cmd_explore(int argc, char **argv)
{
	struct scn_scenario *s, *inst[SCN_MAX_INSTANCES];
	struct opts o;
	char err[1024];
	int n, ret, status = 0, explored = 0, nsel = 0;

	ret = parse_opts(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : 2;
	if (o.npaths != 1) {
		fprintf(stderr, "mmnlab explore: give exactly one scenario file (see 'mmnlab explore --help')\n");
		return 2;
	}
	s = scn_load(o.paths[0], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	print_header(&o);
	n = scn_expand(s, inst, SCN_MAX_INSTANCES);
	for (int k = 0; k < n; k++)
		nsel += instance_selected(&o, inst[k]);
	for (int k = 0; k < n; k++) {
		struct scn_scenario *x = inst[k];
		struct mmn_explore_result r;
		struct scn_exec *e;
		char label[96], id[4096], why[512], eraname[32];

		if (!instance_selected(&o, x))
			continue;
		explored++;
		scn_instance_label(x, label, sizeof(label));
		printf("\n== %s  %s  era %s\n", x->name, label,
		       instance_era(x, eraname, sizeof(eraname)));
		if (precheck(x, why, sizeof(why))) {
			printf("n/a: %s\n", why);
			continue;
		}
		e = scn_exec_new(x);
		memset(&r, 0, sizeof(r));
		ret = mmn_explore(&o.cfg, &scn_explore_ops, e, &r);
		if (ret < 0) {
			fprintf(stderr, "mmnlab explore: %s\n", r.error);
			status = 2;
		} else if (!r.found) {
			printf("No violation in %lu executions (%.2fs)", r.executions, r.elapsed);
			if (r.exhausted)
				printf("; every schedule within the preemption bound explored");
			if (o.cfg.strategy == MMN_STRATEGY_PCT && r.pct_bound > 0)
				printf("; PCT: each execution finds a depth-%u bug with probability >= %.3g (n=%u, k=%lu)",
				       r.pct_d, r.pct_bound, r.pct_n, r.pct_k);
			printf("\n");
		} else {
			struct mmn_trace t;
			char path[600], cmd[700];
			FILE *f;

			if (status < 1)
				status = 1;
			instance_identity(x, id, sizeof(id));
			memset(&t, 0, sizeof(t));
			mmn_trace_from_result(&t, &o.cfg, &r, id);
			if (o.out)
				snprintf(path, sizeof(path), "%s%s%s", o.out,
					 nsel > 1 ? "." : "", nsel > 1 ? label : "");
			else
				snprintf(path, sizeof(path), "%s.trace", x->name);
			for (char *p = path; *p; p++)
				if (*p == '/' && p > path + (o.out ? strlen(o.out) : 0))
					*p = '-';
			f = fopen(path, "w");
			if (f) {
				mmn_explore_write_trace(f, &t);
				fclose(f);
			} else {
				fprintf(stderr, "mmnlab explore: cannot write %s: %s\n", path,
					strerror(errno));
			}
			snprintf(cmd, sizeof(cmd), "mmnlab replay %s", path);
			if (r.shrunk)
				printf("Violation found; schedule shrunk from %u to %u preemptions, %lu to %lu steps\n",
				       r.preemptions, r.shrunk_preemptions, r.steps, r.shrunk_steps);
			mmn_explore_print_execution(stdout, &o.cfg, &scn_explore_ops, e,
						    r.shrunk ? &r.shrunk_schedule : &r.schedule,
						    &r, cmd);
			mmn_trace_free(&t);
		}
		mmn_explore_result_free(&r);
		scn_exec_free(e);
	}
	if (!explored)
		printf("no instance matches --era/--driver\n");
	for (int k = 0; k < n; k++)
		scn_free(inst[k]);
	scn_free(s);
	return status;
}

/* ---- replay ------------------------------------------------------------ */

static int cmd_replay(int argc, char **argv)
{
	struct scn_scenario *s, *inst[SCN_MAX_INSTANCES], *x = NULL;
	struct mmn_explore_config cfg = { .strategy = MMN_STRATEGY_REPLAY, .runs = 1 };
	struct mmn_trace t;
	char err[1024], path[512], era[16], label[96];
	const char *trace = NULL;
	int n, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage_run(stdout, "replay");
		if (!strcmp(argv[i], "-v"))
			continue;
		if (!strcmp(argv[i], "--mirror-plugin")) {
			if (mmn_cli_load_plugin("replay", i + 1 < argc ? argv[i + 1] : NULL))
				return 2;
			i++;
			continue;
		}
		if (argv[i][0] == '-' || trace) {
			fprintf(stderr, "mmnlab replay: unexpected argument '%s' (see 'mmnlab replay --help')\n",
				argv[i]);
			return 2;
		}
		trace = argv[i];
	}
	if (!trace) {
		fprintf(stderr, "mmnlab replay: no trace file given\n");
		return 2;
	}
	memset(&t, 0, sizeof(t));
	if (mmn_explore_read_trace(trace, &t, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (!t.scenario || sscanf(t.scenario, "%511s era %15s mirror %95s", path, era, label) != 3) {
		fprintf(stderr, "%s: the scenario line does not name a scenario file, era and mirror\n",
			trace);
		mmn_trace_free(&t);
		return 2;
	}
	/* "2.6.33+holt": the option is forced as --holt-atomic would */
	{
		unsigned int opts = 0;
		int e = mmn_era_parse_opts(era, &opts);

		if (e < 0) {
			fprintf(stderr, "%s: unknown era '%s'\n", trace, era);
			mmn_trace_free(&t);
			return 2;
		}
		mmn_era_opts_force |= opts;
		snprintf(era, sizeof(era), "%s", mmn_era_name(e));
	}
	/* the plugins the instance binds: " plugin ABSPATH" each */
	for (const char *p = t.scenario; (p = strstr(p, " plugin ")); ) {
		char so[PATH_MAX];

		p += strlen(" plugin ");
		if (sscanf(p, "%4095s", so) != 1 || mmn_cli_load_plugin("replay", so)) {
			mmn_trace_free(&t);
			return 2;
		}
	}
	s = scn_load(path, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "%s\n", err);
		mmn_trace_free(&t);
		return 2;
	}
	n = scn_expand(s, inst, SCN_MAX_INSTANCES);
	for (int k = 0; k < n && !x; k++) {
		char l[96];

		scn_instance_label(inst[k], l, sizeof(l));
		if (!strcmp(mmn_era_name(inst[k]->era), era) && !strcmp(l, label))
			x = inst[k];
	}
	if (!x) {
		fprintf(stderr, "%s: scenario %s has no instance era %s mirror %s\n", trace,
			path, era, label);
		ret = 2;
	} else {
		struct scn_exec *e = scn_exec_new(x);
		char cmd[600], eraname[32];

		printf("mmnlab %s replay: %s (strategy=%s seed=%" PRIu64 " execution %lu)\n",
		       MMN_VERSION_STRING, trace, t.strategy, t.seed, t.execution);
		printf("== %s  %s  era %s\n", x->name, label,
		       instance_era(x, eraname, sizeof(eraname)));
		snprintf(cmd, sizeof(cmd), "mmnlab replay %s", trace);
		cfg.replay = &t.schedule;
		ret = mmn_explore_print_execution(stdout, &cfg, &scn_explore_ops, e,
						  &t.schedule, NULL, cmd);
		if (ret < 0) {
			fprintf(stderr, "mmnlab replay: the schedule does not replay (%s)\n",
				strerror(-ret));
			ret = 2;
		} else {
			ret = strcmp(t.violation, "none") ? 1 : 0;
		}
		scn_exec_free(e);
	}
	for (int k = 0; k < n; k++)
		scn_free(inst[k]);
	scn_free(s);
	mmn_trace_free(&t);
	return ret;
}

/* Each command runs in an rt/ run of its own (the explorer replaces it
 * with controlled runs and gives it back). */
static int with_rt(int (*fn)(int, char **), int argc, char **argv)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	int ret;

	mmn_rt_init(&rc);
	ret = fn(argc, argv);
	mmn_rt_exit();
	return ret;
}

int mmn_cmd_run(int argc, char **argv)
{
	return with_rt(cmd_run, argc, argv);
}

int mmn_cmd_explore(int argc, char **argv)
{
	return with_rt(cmd_explore, argc, argv);
}

int mmn_cmd_replay(int argc, char **argv)
{
	return with_rt(cmd_replay, argc, argv);
}
