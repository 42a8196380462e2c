/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driver plugins: a secondary-MMU driver built out of tree as a shared
 * object against the installed headers (<mmn/device.h>, <mmn/linux/...>),
 * exporting
 *
 *	const struct mmn_driver mmn_plugin_driver = {
 *		.abi_version = MMN_DEVICE_ABI_VERSION, ...
 *	};
 *
 * A plugin does not link libmmn: it resolves the lab's functions from the
 * program that loads it (mmnlab exports them), so that it shares that
 * program's one lab.  See docs/drivers.md, "writing your own driver".
 */
#ifndef MMN_PLUGIN_H
#define MMN_PLUGIN_H

#include <mmn/device.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMN_PLUGIN_SYMBOL	"mmn_plugin_driver"

/*
 * Load the driver plugin at @path (dlopen; a path without '/' is taken
 * relative to the current directory, not searched).  Returns the driver,
 * valid until the process exits, or NULL with *@err set to a malloc'ed
 * one-line message ("mmnlab: plugin ./x.so: ...") the caller frees:
 * cannot be loaded (the loader's reason), has no mmn_plugin_driver, was
 * built for another device ABI, or declares an unusable driver.
 */
const struct mmn_driver *mmn_plugin_load(const char *path, char **err);

/*
 * A built-in driver by name, or, if @name_or_path contains '/' or ends in
 * ".so", a plugin (mmn_plugin_load()).  NULL with *@err set otherwise.
 */
const struct mmn_driver *mmn_driver_resolve(const char *name_or_path, char **err);

#ifdef __cplusplus
}
#endif
#endif
