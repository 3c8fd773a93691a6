#!/usr/bin/env bash
# run.sh measures tripwire beside its peers and writes RESULTS.md.
#
# It builds the benchmark binary once, checks the adapters, then runs every
# benchmark -count=1 in ROUNDS interleaved rounds (one round runs them all,
# then the next begins): a burst of noise on a shared machine then touches
# one sample of many benchmarks rather than every sample of one. Each
# benchmark runs for a time (-benchtime=BENCHTIME), not a fixed count, which
# would distort RunParallel. benchstat takes the medians, and cmd/report
# turns its CSV into RESULTS.md.
#
# Settings, from the environment:
#   ROUNDS=6          interleaved rounds
#   BENCHTIME=300ms   time per benchmark per round; must stay below 1s, the
#                     open period handy cannot be configured away from
#   BENCH=.           -test.bench pattern
#   CPU=              -test.cpu list (default: GOMAXPROCS = number of cores)
#   NOTE=             a remark printed at the top of RESULTS.md
#   OUT=RESULTS.md    where the report goes
#
# Scratch files go to bin/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-6}
BENCHTIME=${BENCHTIME:-300ms}
BENCH=${BENCH:-.}
CPU=${CPU:-}
NOTE=${NOTE:-}
OUT=${OUT:-RESULTS.md}

case $BENCHTIME in
[0-9]*ms | [0-9]*us | [0-9]*ns) ;;
*)
	echo "run.sh: BENCHTIME=$BENCHTIME: give it in ms (below 1000ms): handy stays open only 1s" >&2
	exit 2
	;;
esac
if [[ $BENCHTIME == *ms && ${BENCHTIME%ms} -ge 1000 ]]; then
	echo "run.sh: BENCHTIME=$BENCHTIME must be below 1000ms: handy stays open only 1s" >&2
	exit 2
fi

mkdir -p bin
raw=bin/raw.txt
: >"$raw"

echo "run.sh: building the benchmark binary" >&2
go test -c -o bin/peers.test .

echo "run.sh: checking the adapters" >&2
bin/peers.test -test.run '^TestAdapters' -test.count 1

cpuflag=()
if [[ -n $CPU ]]; then
	cpuflag=(-test.cpu "$CPU")
fi
for round in $(seq 1 "$ROUNDS"); do
	echo "run.sh: round $round of $ROUNDS" >&2
	if ! bin/peers.test -test.run '^$' -test.bench "$BENCH" -test.benchtime "$BENCHTIME" \
		-test.count 1 "${cpuflag[@]}" >>"$raw"; then
		grep -A3 -e '--- FAIL' -e '^panic' "$raw" >&2 || tail -n 20 "$raw" >&2
		echo "run.sh: round $round failed; no report written" >&2
		exit 1
	fi
done

echo "run.sh: the main module's performance bar, in the same run" >&2
# A bar that fails is reported in RESULTS.md all the same: its report is
# written either way.
(cd ../.. && go test ./bench/ -count=1 -run '^TestPerformanceBar$' -bar -bar.out "$OLDPWD/bin/bar.txt") >&2 ||
	echo "run.sh: the performance bar failed; RESULTS.md quotes its report" >&2

echo "run.sh: installing benchstat" >&2
GOBIN="$PWD/bin" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bin/benchstat -format csv "peers=$raw" >bin/stats.csv 2>/dev/null
bin/benchstat "peers=$raw" >bin/stats.txt 2>/dev/null

go list -m -f '{{.Path}} {{.Version}}' \
	github.com/sony/gobreaker/v2 \
	github.com/failsafe-go/failsafe-go \
	github.com/afex/hystrix-go \
	github.com/eapache/go-resiliency \
	github.com/rubyist/circuitbreaker \
	github.com/streadway/handy >bin/modules.txt

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
go run ./cmd/report \
	-csv bin/stats.csv -text bin/stats.txt -modules bin/modules.txt \
	-cpu "${cpu_model:-$(uname -m)}" -cores "$(nproc)" -go "$(go env GOVERSION)" \
	-date "$(date -u +%Y-%m-%d)" -rounds "$ROUNDS" -benchtime "$BENCHTIME" \
	-note "$NOTE" -bar bin/bar.txt -o "$OUT"
echo "run.sh: wrote $OUT" >&2
