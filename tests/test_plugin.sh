#!/bin/sh
# Install mmnlab into a temporary prefix, build examples/mydriver with its
# own Makefile through pkg-config, build the bad plugins of tests/plugins
# the same way, and run test_plugin on them (MMN_PLUGIN_DIR).
# usage: test_plugin.sh BUILD_DIR SOURCE_DIR TEST_PLUGIN_BINARY
set -eu
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) test=$3
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

# The command line: mmnlab ... --mirror-plugin FILE.so
mmnlab=$build/mmnlab
fail() { echo "test_plugin.sh: $*" >&2; exit 1; }
expect_in() {	# FILE TEXT
	grep -F -- "$2" "$1" >/dev/null || { cat "$1" >&2; fail "expected '$2' in the output"; }
}
out=$tmp/out
# the plugin's name is known to list, to --driver and to the scenario files
"$mmnlab" list --mirror-plugin "$tmp/mydriver.so" >"$out"
expect_in "$out" "  mydriver   an out-of-tree HMM mirror"
"$mmnlab" run "$src/tests/plugins/mydriver.mmn" --mirror-plugin "$tmp/mydriver.so" \
	--runs 200 --no-time >"$out" || fail "run with the plugin: unexpected verdicts"
expect_in "$out" "2 instances, 2 as expected, 0 unexpected"
# a built-in scenario: without --driver only the plugin's instances run
"$mmnlab" run "$src/scenarios/seed/fork.mmn" --era 6.1 --mirror-plugin "$tmp/mydriver.so" \
	--runs 200 --no-time >"$out" || fail "seed fork with the plugin"
expect_in "$out" "mydriver/no-erase              6.1         maybe                              violation access-after-invalidate"
expect_in "$out" "2 instances, 2 as expected"
# explore writes a trace naming the plugin; replay loads it again, from
# another directory, without the option
(cd "$tmp" && "$mmnlab" explore "$src/tests/plugins/mydriver.mmn" --driver mydriver/no-erase \
	--mirror-plugin ./mydriver.so --out "$tmp/md.trace" >"$out") && fail "explore: no violation"
expect_in "$out" "Replay: mmnlab replay $tmp/md.trace"
expect_in "$tmp/md.trace" " plugin $tmp/mydriver.so"
(cd / && "$mmnlab" replay "$tmp/md.trace" >"$out") && fail "replay: no violation"
expect_in "$out" "mmnlab: access-after-invalidate:"
# a crashing plugin is a verdict with the command that finds it again
"$mmnlab" run "$src/scenarios/seed/fork.mmn" --era 6.12 --driver crash/segv \
	--mirror-plugin "$tmp/crash.so" --runs 20 --no-time >"$out" && fail "crash: exit 0"
expect_in "$out" "driver crashed"	# "(signal)", or an exit status under ASan
expect_in "$out" "to see it again: mmnlab explore $src/scenarios/seed/fork.mmn --era 6.12 --driver crash/segv"
expect_in "$out" "--mirror-plugin $tmp/crash.so"
# bad plugins: exit 2, the flag and the reason named
bad() {	# EXPECTED-MESSAGE ARGS...
	msg=$1; shift
	set +e; "$mmnlab" run "$src/tests/plugins/mydriver.mmn" "$@" >"$out" 2>&1; rc=$?; set -e
	[ "$rc" = 2 ] || { cat "$out" >&2; fail "$*: exit $rc, expected 2"; }
	expect_in "$out" "$msg"
}
bad "mmnlab run: --mirror-plugin $tmp/nosym.so: no symbol 'mmn_plugin_driver'" --mirror-plugin "$tmp/nosym.so"
bad "mmnlab run: --mirror-plugin $tmp/badabi.so: built for device ABI" --mirror-plugin "$tmp/badabi.so"
bad "mmnlab run: --mirror-plugin $tmp/none.so: cannot load:" --mirror-plugin "$tmp/none.so"
bad "mmnlab run: --mirror-plugin needs a shared object" --mirror-plugin
bad "unknown driver 'mydriver'"
echo "test_plugin.sh: command line ok"
