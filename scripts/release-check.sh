#!/usr/bin/env bash
# release-check.sh: can a user install every module of this repository, as
# it is, once it is tagged? It packs each module at the version to be tagged
# into a module proxy on the local disk, in the layout and with the file
# selection that the public proxy uses for a tag, then builds a consumer
# module that requires each of them by version, with no replace directive
# and no workspace. Our modules come from the local proxy only; their
# third-party dependencies come from the local module cache and then the
# proxy configured for the go command (go env GOPROXY), as a user's would.
#
# Usage: scripts/release-check.sh [VERSION]     (default: the version below)
#        scripts/release-check.sh --tidy [VERSION]
#
# It checks, before packing, that every nested module requires the main
# module at VERSION and replaces nothing of ours. bench/peers, a harness for
# comparing peers and no library, is not published and not checked.
#
# With --tidy it runs go mod tidy in every nested module instead, against
# the same local proxy: tidy ignores go.work, and the version the nested
# modules require is not on any proxy until it is tagged. It then drops
# from their go.sum the sums of our own modules, which are of the local
# packs and not of the tags to come.
set -euo pipefail

tidy=""
if [ "${1:-}" = --tidy ]; then
	tidy=yes
	shift
fi
version=${1:-v0.1.0}
main_path=github.com/tripwire-go/tripwire
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

work=$(mktemp -d)
cleanup() {
	# The module cache is read-only; make it removable first.
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
proxy="$work/proxy"
mkdir -p "$proxy"

# The files of the repository: those git tracks, if it is a git checkout.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	list_files() { git ls-files --cached --others --exclude-standard | sort; }
else
	list_files() { find . -type f -not -path './.git/*' | sed 's#^\./##' | sort; }
fi
all_files=$(list_files)

# Module directories ("." for the main module), bench/peers left out.
mods=$(printf '%s\n' "$all_files" | grep -E '(^|/)go\.mod$' | xargs -n1 dirname | grep -v '^bench/peers$' | sort)
nested_dirs=$(printf '%s\n' "$all_files" | grep -E '/go\.mod$' | xargs -n1 dirname | sort)

status=0
for dir in $mods; do
	[ "$dir" = . ] && continue
	gomod="$dir/go.mod"
	if go mod edit -json "$gomod" | grep -q '"Replace": \['; then
		echo "release-check: $gomod has a replace directive; a user's build ignores it" >&2
		status=1
	fi
	req=$(grep -v '=>' "$gomod" | sed -nE "s#^(require[[:space:]]+)?[[:space:]]*${main_path//./\\.}[[:space:]]+(v[^[:space:]]+).*#\2#p")
	if [ "$req" != "$version" ]; then
		echo "release-check: $gomod requires $main_path ${req:-(nothing)}, want $version" >&2
		status=1
	fi
done
[ "$status" = 0 ] || exit 1

# pack DIR: writes DIR's module at $version into the proxy.
pack() {
	local dir=$1 path stage files
	path=$(go mod edit -json "$dir/go.mod" | sed -nE 's/^\t\t"Path": "([^"]*)".*/\1/p' | head -1)
	stage="$work/stage/$path@$version"
	mkdir -p "$stage"
	# The module's files: under dir, minus every subtree with a go.mod of
	# its own, and minus vendor directories, as a module zip holds them.
	local prefix="" excl=""
	[ "$dir" = . ] || prefix="$dir/"
	for n in $nested_dirs; do
		[ "$n" = "$dir" ] && continue
		case "$n/" in
		"$prefix"*) excl="$excl|^${n//./\\.}/" ;;
		esac
	done
	files=$(printf '%s\n' "$all_files" | grep -E "^${prefix//./\\.}" | grep -Ev "(^|/)vendor/${excl}" || true)
	local f rel
	while IFS= read -r f; do
		[ -f "$f" ] || continue # deleted but still in the index
		rel=${f#"$prefix"}
		mkdir -p "$stage/$(dirname "$rel")"
		cp "$f" "$stage/$rel"
	done <<<"$files"
	# A module in a subdirectory without a LICENSE of its own gets the
	# repository's, as the public proxy gives it.
	if [ ! -f "$stage/LICENSE" ] && [ -f LICENSE ]; then
		cp LICENSE "$stage/LICENSE"
	fi
	local out="$proxy/$path/@v"
	mkdir -p "$out"
	echo "$version" >>"$out/list"
	printf '{"Version":"%s","Time":"%s"}\n' "$version" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/$version.info"
	cp "$dir/go.mod" "$out/$version.mod"
	(cd "$work/stage" && zip -qrXD "$out/$version.zip" "$path@$version")
	echo "packed $path@$version ($(printf '%s\n' "$files" | grep -c .) files)"
	paths="$paths $path"
}
paths=""
for dir in $mods; do
	pack "$dir"
done

export GOWORK=off
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export GONOSUMDB="$main_path${GONOSUMDB:+,$GONOSUMDB}"
export GOPROXY="file://$proxy,file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
# A module cache of its own, so that the packs do not linger in the
# user's under a version that is not yet tagged; the user's cache serves as
# a proxy (above) for what it holds.
export GOMODCACHE="$work/modcache"

if [ -n "$tidy" ]; then
	for dir in $mods; do
		[ "$dir" = . ] && continue
		echo "== go mod tidy: $dir"
		(cd "$dir" && go mod tidy && sed -i "\#^${main_path//./\\.}[/ ]#d" go.sum)
	done
	exit 0
fi

# The consumer: requires every module, imports every package a user can.
consumer="$work/consumer"
mkdir -p "$consumer"
{
	echo "module consumer"
	echo
	# The newest go version any of our modules states.
	echo "go $(for dir in $mods; do go mod edit -json "$dir/go.mod" | sed -nE 's/^\t"Go": "([^"]*)".*/\1/p'; done | sort -V | tail -1)"
} >"$consumer/go.mod"
for p in $paths; do
	(cd "$consumer" && go mod edit -require="$p@$version")
done

# Every package of our modules that a user can import: not internal, not
# a command, not tests alone.
(cd "$consumer" && go mod download $paths)
pkgs=$(cd "$consumer" && go list -f '{{if and .GoFiles (ne .Name "main")}}{{.ImportPath}}{{end}}' \
	$(for p in $paths; do echo "$p/..."; done) | grep -v '/internal\(/\|$\)' | sort -u)
{
	echo "// Command consumer imports every package of every tripwire module,"
	echo "// as a user's program would."
	echo "package main"
	echo
	echo "import ("
	for pkg in $pkgs; do echo "	_ \"$pkg\""; done
	echo ")"
	echo
	echo "func main() {}"
} >"$consumer/main.go"

cd "$consumer"
go build -o /dev/null .
go vet .
# The tests of every package compile from what was packed (testdata
# included), with the test dependencies a user's go test would fetch.
go test -count=1 -run '^$' $pkgs >/dev/null
echo "release-check: a consumer requiring $(echo $paths | wc -w) modules at $version builds, with no replace:"
for p in $paths; do echo "  $p $version"; done
echo "  and $(echo $pkgs | wc -w) packages imported"
