#!/usr/bin/env bash
# Checks of the committed schema.graphql, run by .ci/run (after `npm ci` in this folder):
#
#   check.sh lint       graphql-schema-linter with graphql-schema-linter.config.js: every type,
#                       field, argument, enum value and input field has a description, etc.
#   check.sh breaking   graphql-inspector diff against schema.graphql of the last release; a
#                       breaking change fails unless CHANGELOG.md names its coordinate (e.g.
#                       `Grid.foo`) in backticks under `### Breaking` in `## Unreleased`.
#   check.sh            both.
#
# The last release is the newest tag `v*` reachable from HEAD or, in a clone without tags, the
# commit named in .ci/schema/last-release ("<tag> <full commit hash>").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
schema="$root/schema.graphql"
bin="$here/node_modules/.bin"
[ -x "$bin/graphql-schema-linter" ] || {
  echo "check.sh: run \`npm ci\` in .ci/schema first" >&2
  exit 2
}

lint() {
  # The config is found from the working directory (cosmiconfig).
  if (cd "$here" && "$bin/graphql-schema-linter" --format compact "$schema"); then
    echo "schema lint: 0 errors"
  else
    echo
    echo "schema lint failed: the items above (type, Type.field, Type.field.argument, Enum.VALUE," >&2
    echo "Input.field) need a description. Add a doc comment on the Rust item (a type's" >&2
    echo "#[Object] impl, a field's fn, an enum variant, an input struct's field) or" >&2
    echo "#[graphql(desc = \"…\")] on an argument, then regenerate schema.graphql with" >&2
    echo "\`cargo run -q -p gridgov -- schema > schema.graphql\`." >&2
    return 1
  fi
}

# Prints "<label> <commit>" of the last release.
last_release() {
  local tag
  if tag="$(git -C "$root" describe --tags --abbrev=0 --match 'v*' HEAD 2>/dev/null)"; then
    echo "$tag $(git -C "$root" rev-parse "$tag^{commit}")"
    return
  fi
  local file="$here/last-release" label commit
  [ -f "$file" ] || {
    echo "no tag v* reachable from HEAD and no $file" >&2
    return 1
  }
  read -r label commit < "$file"
  git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null || {
    echo "last release $label ($commit, from .ci/schema/last-release) is not in this clone" >&2
    return 1
  }
  echo "$label $commit"
}

breaking() {
  local base label commit old
  base="$(last_release)"
  read -r label commit <<< "$base"
  old="$(mktemp --suffix=.graphql)"
  trap 'rm -f "$old"' RETURN
  git -C "$root" show "$commit:schema.graphql" > "$old"
  echo "breaking-change check: schema.graphql of $label ($commit) → working tree"
  # The inspector logs every change, descriptions included; show only the breaking (✖) and
  # dangerous (⚠) ones and the verdict of breaking.cjs (on stderr), or everything when the
  # inspector itself failed.
  local log rc=0
  log="$(mktemp)"
  GRIDGOV_CHANGELOG="$root/CHANGELOG.md" \
    "$bin/graphql-inspector" diff "$old" "$schema" --onComplete "$here/breaking.cjs" \
    > "$log" || rc=$?
  if grep -q '^» ' "$log"; then
    grep -E '^\[log\] (✖|⚠)' "$log" || true
    echo "($(grep -c '^\[log\] ✔' "$log") non-breaking changes not shown)"
    sed -n 's/^» //p' "$log"
  elif [ "$rc" -ne 0 ] || ! grep -q 'No changes detected' "$log"; then
    cat "$log"
  else
    echo "breaking-change check: no changes"
  fi
  rm -f "$log"
  return "$rc"
}

case "${1:-all}" in
  lint) lint ;;
  breaking) breaking ;;
  all) lint && breaking ;;
  *)
    echo "usage: check.sh [lint|breaking]" >&2
    exit 2
    ;;
esac
