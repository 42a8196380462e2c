#!/bin/sh
# Bad command lines and bad files: a clear message naming the flag or the
# file:line:col, exit status 2, never a crash.  Usage: cli_errors.sh MMNLAB SRCDIR
M="$1"; S="$2"; fail=0
t() {	# expected-status expected-text command...
	want="$1"; text="$2"; shift 2
	out=$("$@" 2>&1); st=$?
	if [ "$st" != "$want" ] || ! printf '%s' "$out" | grep -qF -- "$text"; then
		echo "not ok: $* -> status $st (want $want), output:"; echo "$out"; fail=1
	else
		echo "ok: $*"
	fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'process P\nmap A in P private rw pagez 1\n' > "$tmp/bad.mmn"
printf 'mmnlab-trace 1\nstrategy pct\ndecisions x\n' > "$tmp/bad.trace"
t 2 "unknown command 'frobnicate'" "$M" frobnicate
t 2 "usage: mmnlab" "$M"
t 0 "usage: mmnlab" "$M" --help
t 0 "mmnlab 0." "$M" version
t 2 "--runs: 'abc' is not a number" "$M" run "$S/scenarios/seed/fork.mmn" --runs abc
t 2 "--runs: '0' is not a number in [1," "$M" run "$S/scenarios/seed/fork.mmn" --runs 0
t 2 "--seed needs a value" "$M" run "$S/scenarios/seed/fork.mmn" --seed
t 2 "--strategy: 'fast' is not one of pct, random, dfs" "$M" run x.mmn --strategy fast
t 2 "--era: '5.0' is not one of" "$M" explore x.mmn --era 5.0
t 2 "--driver: unknown driver or form 'kvm/sloppy'" "$M" run x.mmn --driver kvm/sloppy
t 2 "unknown option '--bogus'" "$M" run x.mmn --bogus
t 2 "no scenario given" "$M" run
t 2 "give exactly one scenario file" "$M" explore
t 2 "No such file or directory" "$M" run "$tmp/none.mmn"
t 2 "bad.mmn:2:23: error: expected 'pages', found 'pagez'" "$M" run "$tmp/bad.mmn"
t 2 "bad.mmn:2:23: error" "$M" explore "$tmp/bad.mmn"
t 2 "no trace file given" "$M" replay
t 2 "bad.trace:" "$M" replay "$tmp/bad.trace"
t 2 "unexpected argument 'extra'" "$M" list extra
# an era option travels with the trace: the replay runs 2.6.33+holt again
"$M" explore "$S/scenarios/seed/thp-split.mmn" --era 2.6.33 --holt-atomic \
	--driver xpmem/sync-start --out "$tmp/holt.trace" >/dev/null 2>&1
t 1 "== thp-split  xpmem/sync-start  era 2.6.33+holt" "$M" replay "$tmp/holt.trace"
t 0 "--holt-atomic --driver xpmem/sync-start" "$M" run "$S/scenarios/seed/thp-split.mmn" \
	--era 2.6.33 --holt-atomic --driver xpmem/sync-start --runs 5 -v
# the demo: the 2010 asynchronous invalidation loses the device's write in
# every driver that has it, the correct forms keep it
t 0 "dmirror  correct              0xd      0xb      ok" "$M" demo
t 0 "dmirror  deferred             0xc      0xd      VIOLATION" "$M" demo
t 0 "kvm      deferred             0xc      0xd      VIOLATION" "$M" demo
t 0 "xpmem    deferred             0xc      0xd      VIOLATION lost-write" "$M" demo
[ $fail = 0 ] && echo "25 passed, 0 failed" || echo "cli errors: FAILED"
exit $fail
