#!/usr/bin/env bash
# Builds MediaMTX v1.20.1 once into a cache outside the repo and prints the binary's path.
# No release binary can be downloaded here and a plain `go install` lacks two generated files,
# so we build from the module proxy's copy. MEDIAMTX_BIN overrides everything.
set -euo pipefail
VERSION=v1.20.1
HLSJS_VERSION=1.7.0
if [ -n "${MEDIAMTX_BIN:-}" ]; then
  [ -x "$MEDIAMTX_BIN" ] || { echo "MEDIAMTX_BIN=$MEDIAMTX_BIN is not an executable file" >&2; exit 1; }
  echo "$MEDIAMTX_BIN"; exit 0
fi
CACHE="${HAVATAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/havatar}"
BIN="$CACHE/mediamtx-$VERSION"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "$VERSION"; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "MediaMTX build needs Go (https://go.dev/dl) or set MEDIAMTX_BIN to a v1.20.1 binary" >&2; exit 1; }
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
fail() { echo "MediaMTX $VERSION build failed: $1. Fix it, or set MEDIAMTX_BIN to a MediaMTX $VERSION binary." >&2; exit 1; }
echo "building MediaMTX $VERSION into $BIN (about a minute, once)" >&2
DIR=$(go mod download -json "github.com/bluenviron/mediamtx@$VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})') || fail "go mod download"
cp -r "$DIR" "$WORK/src" && chmod -R u+w "$WORK/src"
echo "$VERSION" > "$WORK/src/internal/core/VERSION"
want=$(tr -d 'v \n' < "$WORK/src/internal/servers/hls/hlsjsdownloader/VERSION" 2>/dev/null || true)
[ -z "$want" ] || [ "$want" = "$HLSJS_VERSION" ] || echo "note: MediaMTX names hls.js $want, using $HLSJS_VERSION" >&2
( cd "$WORK" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null 2>&1 && tar -xzf hls.js-*.tgz ) || fail "npm pack hls.js@$HLSJS_VERSION"
cp "$WORK/package/dist/hls.min.js" "$WORK/src/internal/servers/hls/hls.min.js"
( cd "$WORK/src" && CGO_ENABLED=0 go build -o "$BIN.tmp" . ) >&2 || fail "go build"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
