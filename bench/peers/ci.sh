#!/usr/bin/env bash
# ci.sh keeps the peer comparison from rotting: it checks the generated
# benchmark loops are current, vets and tests the module (the adapter test
# and the report's test), runs every peer benchmark once, and holds
# tripwire's windowed policies to a bar beside gobreaker's rolling window
# (TestPerformanceBar: ratios measured side by side). run.sh measures.
set -euo pipefail
cd "$(dirname "$0")"

go run ./cmd/genbench -check
go vet ./...
go test -race -count=1 ./...
go test -count=1 -run '^$' -bench . -benchtime=1x .
go test . -count=1 -run '^TestPerformanceBar$' -v -bar
