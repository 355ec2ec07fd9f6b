#!/usr/bin/env bash
# Lint of the C++ sources: clang-format (--dry-run -Werror, the repository's .clang-format) and
# clang-tidy (the repository's .clang-tidy, with build/release/compile_commands.json) on the
# files changed relative to a base, or on every file. CI runs it from tools/test.sh.
#
#   tools/lint.sh [--all] [--base REV] [--build DIR]
#
# The base is `git merge-base HEAD origin/main` when HEAD has commits beyond origin/main, else
# HEAD's parent (the files of HEAD's last commit, as in CI's clean clone of main; every file
# when HEAD has no parent, as in a shallow clone); changes not yet committed count too. Sources
# that the build does not compile (the fuzz targets in a release build) get the format check only. JOBS clang-tidy
# processes run at once (default: the number of CPUs). Exits 1 on any finding.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
all=0
base=
build=$top/build/release
while (($#)); do
  case "$1" in
    --all) all=1 ;;
    --base) base=$2; shift ;;
    --build) build=$2; shift ;;
    *) echo "usage: $0 [--all] [--base REV] [--build DIR]" >&2; exit 2 ;;
  esac
  shift
done
for tool in clang-format clang-tidy; do
  command -v "$tool" >/dev/null || { echo "lint: $tool missing (tools/setup.sh installs it)" >&2; exit 2; }
done
[[ -f $build/compile_commands.json ]] ||
  { echo "lint: no $build/compile_commands.json (build first: tools/build.sh release)" >&2; exit 2; }

patterns=('*.cpp' '*.hpp' '*.h' '*.cc')
if ((!all)) && [[ -z $base ]] && ! git rev-parse -q --verify origin/main >/dev/null &&
  ! git rev-parse -q --verify HEAD~1 >/dev/null; then
  all=1  # a single commit (or a shallow clone): all of it is new
fi
if ((all)); then
  mapfile -t files < <(git ls-files -- "${patterns[@]}")
  what="every C++ file"
else
  if [[ -z $base ]]; then
    if git rev-parse -q --verify origin/main >/dev/null; then
      base=$(git merge-base HEAD origin/main)
    fi
    # Nothing beyond origin/main (CI's clean clone of main): the files of the last commit.
    if [[ -z $base || $base == "$(git rev-parse HEAD)" ]]; then
      base=HEAD~1
    fi
  fi
  mapfile -t files < <(git diff --name-only --diff-filter=ACMR "$base" -- "${patterns[@]}")
  what="C++ files changed since $(git rev-parse --short "$base")"
fi
if ((${#files[@]} == 0)); then
  echo "lint: no $what"
  exit 0
fi
echo "lint: ${#files[@]} $what"

rc=0
clang-format --dry-run -Werror "${files[@]}" || rc=1

# clang-tidy: sources the build compiles, and changed headers (their flags are taken from a
# source beside them). With --all the headers are checked through the sources that include them
# (.clang-tidy's HeaderFilterRegex), which halves the time.
mapfile -t compiled < <(python3 -c '
import json, os, sys
top = os.path.realpath(sys.argv[1])
for e in json.load(open(sys.argv[2])):
    path = os.path.realpath(os.path.join(e["directory"], e["file"]))
    if path.startswith(top + os.sep):
        print(os.path.relpath(path, top))' "$top" "$build/compile_commands.json" | sort -u)
tidy=()
for f in "${files[@]}"; do
  case "$f" in
    *.hpp | *.h) ((all)) || tidy+=("$f") ;;
    *) if printf '%s\n' "${compiled[@]}" | grep -qxF -- "$f"; then tidy+=("$f"); fi ;;
  esac
done
if ((${#tidy[@]})); then
  printf '%s\n' "${tidy[@]}" |
    xargs -P "${JOBS:-$(nproc)}" -n 1 clang-tidy -p "$build" --quiet 2> >(grep -v "warnings generated" >&2) ||
    rc=1
fi
if ((rc)); then echo "lint: FAILED" >&2; else echo "lint: ok"; fi
exit $rc
