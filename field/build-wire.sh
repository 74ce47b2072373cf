#!/usr/bin/env bash
# Builds the network emulator (field/wire, Go, no modules outside the standard library) into a
# cache outside the repo, keyed by a hash of its sources, and prints the binary's path. Runs when
# a field test or benchmark first needs it (a few seconds); HAVATAR_WIRE_BIN overrides it.
set -euo pipefail
if [ -n "${HAVATAR_WIRE_BIN:-}" ]; then
  [ -x "$HAVATAR_WIRE_BIN" ] || { echo "HAVATAR_WIRE_BIN=$HAVATAR_WIRE_BIN is not an executable file" >&2; exit 1; }
  echo "$HAVATAR_WIRE_BIN"; exit 0
fi
SRC="$(cd "$(dirname "$0")/wire" && pwd)"
CACHE="${HAVATAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/havatar}"
# The sources the binary is built from, in a fixed order: their hash is the cache key.
mapfile -t GO_FILES < <(cd "$SRC" && printf '%s\n' *.go | grep -v '_test\.go$' | sort)
HASH=$(cd "$SRC" && cat go.mod "${GO_FILES[@]}" | sha256sum | cut -c1-12)
BIN="$CACHE/havatar-wire-$HASH"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
GO=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$GO" ] || { echo "the network emulator needs Go (https://go.dev/dl), or HAVATAR_WIRE_BIN set to a built havatar-wire" >&2; exit 1; }
mkdir -p "$CACHE"
( cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" build -trimpath -o "$BIN.tmp.$$" . ) >&2 || { echo "building havatar-wire failed" >&2; exit 1; }
mv "$BIN.tmp.$$" "$BIN"
echo "$BIN"
