#!/usr/bin/env bash
# ci.sh keeps the peer comparison from rotting: it checks the generated
# benchmark loops are current, vets and tests the module (the adapter test
# and the report's test), and runs every peer benchmark once. It measures
# nothing; run.sh does.
set -euo pipefail
cd "$(dirname "$0")"

go run ./cmd/genbench -check
go vet ./...
go test -race -count=1 ./...
go test -count=1 -run '^$' -bench . -benchtime=1x .
