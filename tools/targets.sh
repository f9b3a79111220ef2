#!/bin/sh
# targets.sh: prints the Bazel target patterns of the whole project, one per
# top-level package tree (//gateway/..., //io/..., ...), instead of //...:
# Bazel's convenience symlink to the execroot is named after the checkout's
# directory (bazel-<dir>), so a clone in any directory but the ones
# .bazelignore names would let //... crawl Bazel's own external packages.
cd "$(dirname "$0")/.." || exit 1
[ -f BUILD.bazel ] || [ -f BUILD ] && echo "//:all"
for d in */; do
  d=${d%/}
  case "$d" in bazel-*) continue ;; esac
  [ -L "$d" ] && continue
  if [ -n "$(find "$d" \( -name BUILD.bazel -o -name BUILD \) -print -quit 2>/dev/null)" ]; then
    echo "//$d/..."
  fi
done
