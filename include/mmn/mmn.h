/* SPDX-License-Identifier: GPL-2.0 */
/* mmnlab: the umbrella header of the lab's public API. */
#ifndef MMN_MMN_H
#define MMN_MMN_H

#define MMN_VERSION_MAJOR 0
#define MMN_VERSION_MINOR 1
#define MMN_VERSION_PATCH 0
#define MMN_VERSION_STRING "0.1.0"

#include <mmn/era.h>
#include <mmn/mm.h>
#include <mmn/report.h>
#include <mmn/rt.h>

#endif
