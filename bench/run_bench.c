// SPDX-License-Identifier: GPL-2.0
/*
 * Runs every benchmark program in turn, passing its arguments on (--smoke:
 * one tiny run each, for CI); exits non-zero if one failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const benches[] = { MMN_BENCHES };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	int failed = 0;
	double t_all = now();

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		char *args[16];
		double t0 = now();
		pid_t pid;
		int ws, n = 0;

		args[n++] = (char *)benches[i];
		for (int a = 1; a < argc && n < 15; a++)
			args[n++] = argv[a];
		args[n] = NULL;
		printf("== %s\n", benches[i]);
		fflush(stdout);
		pid = fork();
		if (!pid) {
			execv(benches[i], args);
			perror(benches[i]);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)) {
			printf("== %s: FAILED\n", benches[i]);
			failed++;
		} else {
			printf("== %s: %.1f s\n\n", benches[i], now() - t0);
		}
		fflush(stdout);
	}
	printf("== all benchmarks: %.1f s wall%s\n", now() - t_all,
	       failed ? ", some FAILED" : "");
	return failed ? 1 : 0;
}
