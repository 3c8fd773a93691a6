#!/usr/bin/env bash
# Installs staticcheck at a pinned version and runs it on every module of
# the repository (the main module and any nested one, such as bench/).
# Bump the version here, deliberately: a new release may report new things.
set -euo pipefail

version=v0.8.2
cd "$(dirname "$0")/.."

go install "honnef.co/go/tools/cmd/staticcheck@${version}"
staticcheck="$(go env GOPATH)/bin/staticcheck"

status=0
while read -r mod; do
	dir=$(dirname "$mod")
	echo "== staticcheck ${version}: ${dir}"
	(cd "$dir" && "$staticcheck" ./...) || status=1
done < <(find . -name go.mod -not -path './.git/*' | sort)
exit "$status"
