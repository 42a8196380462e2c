// SPDX-License-Identifier: GPL-2.0
/*
 * Driver plugins (<mmn/plugin.h>): dlopen() a shared object, find its
 * `mmn_plugin_driver`, and check it before anything calls into it -- a bad
 * plugin gets a message naming the file and what is wrong, never a crash
 * of the lab.  (A plugin that crashes or hangs once running is the
 * explorer's business: executions in a child process, <mmn/explore.h>.)
 *
 * Handles are never closed: the driver's ops and strings live in the
 * object, and devices may outlive any caller's idea of "done".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/plugin.h>

static void __attribute__((format(printf, 2, 3)))
plugin_err(char **err, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (!err)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*err = s;
}

/* Is @drv something the lab can run?  The reason if not. */
static const char *plugin_driver_invalid(const struct mmn_driver *drv)
{
	if (!drv->name || !drv->name[0])
		return "the driver has no name";
	if (!drv->ops)
		return "the driver has no ops";
	if (!drv->ops->dma || !drv->ops->fault)
		return "the driver's ops lack dma() or fault()";
	if (!drv->ops->name)
		return "the driver's ops have no name";
	if (!drv->forms || !drv->forms[0])
		return "the driver declares no forms (forms[0] is the correct one)";
	return NULL;
}

const struct mmn_driver *mmn_plugin_load(const char *path, char **err)
{
	const struct mmn_driver *drv;
	const char *why;
	char rel[4096];
	void *handle;

	if (err)
		*err = NULL;
	if (!path || !path[0]) {
		plugin_err(err, "mmnlab: plugin: empty path");
		return NULL;
	}
	/* dlopen() searches the library path for a bare name: do not */
	if (!strchr(path, '/')) {
		snprintf(rel, sizeof(rel), "./%s", path);
		path = rel;
	}
	dlerror();
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *e = dlerror();

		plugin_err(err, "mmnlab: plugin %s: cannot load: %s", path,
			   e ? e : "unknown error");
		return NULL;
	}
	dlerror();
	drv = dlsym(handle, MMN_PLUGIN_SYMBOL);
	if (!drv) {
		plugin_err(err, "mmnlab: plugin %s: no symbol '%s' (a plugin defines "
			   "'const struct mmn_driver %s' with .abi_version = "
			   "MMN_DEVICE_ABI_VERSION)", path, MMN_PLUGIN_SYMBOL,
			   MMN_PLUGIN_SYMBOL);
		dlclose(handle);
		return NULL;
	}
	if (drv->abi_version != MMN_DEVICE_ABI_VERSION) {
		plugin_err(err, "mmnlab: plugin %s: built for device ABI %u, this "
			   "mmnlab has ABI %u: rebuild it against this mmnlab's "
			   "headers", path, drv->abi_version,
			   (unsigned int)MMN_DEVICE_ABI_VERSION);
		dlclose(handle);
		return NULL;
	}
	why = plugin_driver_invalid(drv);
	if (why) {
		plugin_err(err, "mmnlab: plugin %s: %s", path, why);
		dlclose(handle);
		return NULL;
	}
	return drv;
}

const struct mmn_driver *mmn_driver_resolve(const char *name_or_path, char **err)
{
	const struct mmn_driver *drv;
	size_t n;

	if (err)
		*err = NULL;
	if (!name_or_path) {
		plugin_err(err, "mmnlab: no driver named");
		return NULL;
	}
	n = strlen(name_or_path);
	if (strchr(name_or_path, '/') ||
	    (n > 3 && !strcmp(name_or_path + n - 3, ".so")))
		return mmn_plugin_load(name_or_path, err);
	drv = mmn_driver_find(name_or_path);
	if (!drv)
		plugin_err(err, "mmnlab: unknown driver '%s' (mmnlab list shows "
			   "the built-in ones; a plugin is a path to a .so)",
			   name_or_path);
	return drv;
}
