#!/usr/bin/env bash
# ci.sh keeps the peer comparison from rotting: it checks the generated
# benchmark loops are current, vets and tests the module (the adapter test
# and the report's test), and runs every peer benchmark once. It measures
# nothing; run.sh does.
#
# The Rate scenario joins with -tags ratepolicy as soon as the main module
# has policy.Rate, and must then compile.
set -euo pipefail
cd "$(dirname "$0")"

tags=()
if grep -qs '^func Rate(' ../../policy/*.go; then
	tags=(-tags ratepolicy)
fi

go run ./cmd/genbench -check
go vet "${tags[@]}" ./...
go test -race -count=1 "${tags[@]}" ./...
go test -count=1 "${tags[@]}" -run '^$' -bench . -benchtime=1x .
