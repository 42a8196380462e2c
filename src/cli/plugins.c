// SPDX-License-Identifier: GPL-2.0
/*
 * --mirror-plugin FILE.so: a driver built out of tree (examples/mydriver,
 * docs/drivers.md) joins the lab's drivers for this invocation.
 *
 * Every command that takes the option scans its whole command line for it
 * first, so the plugin's name is known to --driver, to scenario files
 * (`mirror M mydriver on P`, `expect mydriver/FORM ...`) and to the `*`
 * expansion wherever the option stands.  The plugin's absolute path is
 * kept so that a trace file names it and `mmnlab replay` loads it again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/plugin.h>

#include "cli/cli.h"

static struct {
	const struct mmn_driver *drv;
	char path[PATH_MAX];
} loaded_plugins[MMN_MAX_PLUGIN_DRIVERS];
static int nr_loaded_plugins;

int mmn_cli_load_plugin(const char *cmd, const char *path)
{
	const struct mmn_driver *drv;
	char *err = NULL, abs[PATH_MAX];
	int ret;

	if (!path || !path[0]) {
		fprintf(stderr, "mmnlab %s: --mirror-plugin needs a shared object (FILE.so)\n", cmd);
		return -1;
	}
	if (nr_loaded_plugins == MMN_MAX_PLUGIN_DRIVERS) {
		fprintf(stderr, "mmnlab %s: --mirror-plugin %s: at most %d plugins\n", cmd,
			path, MMN_MAX_PLUGIN_DRIVERS);
		return -1;
	}
	drv = mmn_plugin_load(path, &err);
	if (!drv) {
		/* "mmnlab: plugin P: why" -> "mmnlab run: --mirror-plugin P: why" */
		const char *why = err ? strstr(err, path) : NULL;

		fprintf(stderr, "mmnlab %s: --mirror-plugin %s\n", cmd,
			why ? why : (err ? err : path));
		free(err);
		return -1;
	}
	ret = mmn_driver_register(drv);
	if (ret) {
		fprintf(stderr, "mmnlab %s: --mirror-plugin %s: %s '%s'\n", cmd, path,
			ret == -ENOSPC ? "too many drivers for" :
			"another driver (built-in or plugin) is already named",
			drv->name);
		return -1;
	}
	if (!realpath(path, abs))
		snprintf(abs, sizeof(abs), "%s", path);
	for (int i = 0; i < nr_loaded_plugins; i++)
		if (loaded_plugins[i].drv == drv)
			return 0;
	loaded_plugins[nr_loaded_plugins].drv = drv;
	snprintf(loaded_plugins[nr_loaded_plugins].path, PATH_MAX, "%s", abs);
	nr_loaded_plugins++;
	return 0;
}

int mmn_cli_scan_plugins(const char *cmd, int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mirror-plugin"))
			continue;
		if (mmn_cli_load_plugin(cmd, i + 1 < argc ? argv[i + 1] : NULL))
			return -1;
		n++;
		i++;
	}
	return n;
}

const char *mmn_cli_plugin_path(const struct mmn_driver *drv)
{
	for (int i = 0; i < nr_loaded_plugins; i++)
		if (loaded_plugins[i].drv == drv)
			return loaded_plugins[i].path;
	return NULL;
}
