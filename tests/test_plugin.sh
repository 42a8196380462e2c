#!/bin/sh
# Install mmnlab into a temporary prefix, build examples/mydriver with its
# own Makefile through pkg-config, build the bad plugins of tests/plugins
# the same way, and run test_plugin on them (MMN_PLUGIN_DIR).
# usage: test_plugin.sh BUILD_DIR SOURCE_DIR TEST_PLUGIN_BINARY
set -eu
build=$1 src=$2 test=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name mmn.pc | head -n 1)
[ -n "$pc" ] || { echo "test_plugin.sh: no mmn.pc installed" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
for h in mmn/device.h mmn/plugin.h mmn/linux/mmu_notifier.h mmn/linux/mmu_notifier_events.def; do
	[ -f "$tmp/prefix/include/$h" ] || { echo "test_plugin.sh: $h not installed" >&2; exit 1; }
done
ls "$tmp"/prefix/lib*/libmmn.so* >/dev/null

# the example, with its own Makefile, out of the source tree
make -s -C "$src/examples/mydriver" OUT="$tmp"
# the bad ones, by hand, against the same installed headers
cflags=$(pkg-config --cflags mmn)
for p in badabi nosym crash; do
	${CC:-cc} -std=gnu11 -fPIC -shared $cflags -o "$tmp/$p.so" "$src/tests/plugins/$p.c"
done
MMN_PLUGIN_DIR=$tmp "$test"
