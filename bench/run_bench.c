// SPDX-License-Identifier: GPL-2.0
/* Runs every benchmark program in turn; exits non-zero if one failed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const benches[] = { MMN_BENCHES };

int main(int argc, char **argv)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		pid_t pid;
		int ws;

		printf("== %s\n", benches[i]);
		fflush(stdout);
		pid = fork();
		if (!pid) {
			execv(benches[i], (char *[]){ (char *)benches[i], NULL });
			perror(benches[i]);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)) {
			printf("== %s: FAILED\n", benches[i]);
			failed++;
		}
	}
	return failed ? 1 : 0;
}
