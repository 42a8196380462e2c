// SPDX-License-Identifier: GPL-2.0
/* A plugin built for another device ABI: mmn_plugin_load() must refuse it. */
#include <mmn/device.h>

static const char *const forms[] = { "correct", NULL };

const struct mmn_driver mmn_plugin_driver = {
	.abi_version = 999,
	.name = "badabi",
	.forms = forms,
};
