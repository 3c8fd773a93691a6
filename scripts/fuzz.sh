#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, each for a set
# time. Plain `go test` only replays the seeds in testdata/fuzz; this looks
# for new inputs. An input that fails is saved under testdata/fuzz/<Target>/
# by go test: commit it with the fix, as a regression seed.
#
# Usage: scripts/fuzz.sh [time per target] [package pattern]
#   time per target  a go test -fuzztime value: 30s (default), 5m, 10000x
#                    (FUZZTIME in the environment works too)
#   package pattern  the packages to search for targets: ./... (default)
set -euo pipefail

fuzztime=${1:-${FUZZTIME:-30s}}
pattern=${2:-./...}
cd "$(dirname "$0")/.."

# go test -list prints a package's matching test names, then "ok <pkg>".
found=0
while read -r pkg; do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		found=$((found + 1))
		echo "== $pkg $target ($fuzztime)"
		(cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" .)
	done
done < <(go list "$pattern")

if [ "$found" -eq 0 ]; then
	echo "no fuzz targets in $pattern" >&2
	exit 1
fi
echo "fuzzed $found targets for $fuzztime each"
