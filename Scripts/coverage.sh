#!/usr/bin/env bash
# Line coverage of Keygate's sources by the whole test suite, the keygate
# processes the end-to-end tests start included (each writes a profile of
# its own).
#
#   Scripts/coverage.sh                  # the report, file by file, to stdout
#   Scripts/coverage.sh Sources/KeyStore/Steps/KeyValidator+Writes.swift   # its lines run by no test
#
# Builds in .build-cov (about 4 min from clean here), then runs the suite
# with a throwaway PostgreSQL (Scripts/with-postgres.sh), so the
# PostgreSQL store is measured too. Profiles that cannot be read are left
# out and counted on stderr: a process killed by SIGKILL (the crash tests)
# or stopped by a file size limit (the full-disk tests) leaves a
# truncated one, so what only those processes ran reads as not run.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=$(dirname "$(readlink -f "$(command -v swift)")")
profdata="$toolchain/llvm-profdata"
cov="$toolchain/llvm-cov"
scratch=.build-cov
folder="$scratch/debug/codecov"

if [ "${KEYGATE_COVERAGE_SKIP_RUN:-}" != 1 ]; then
  swift build --build-tests --enable-code-coverage --scratch-path "$scratch" >&2
  # After the build, which makes the folder again with its own mode.
  rm -rf "$folder"
  mkdir -p "$folder"
  # The end-to-end tests run some keygate processes as `nobody` (when the
  # suite runs as root): they must be able to write their profiles too, or
  # the runtime adds "LLVM Profile Error" to the stderr those tests compare.
  chmod 1777 "$folder"
  # A profile per process, named here rather than by `swift test
  # --enable-code-coverage`, whose own merge fails the run on the first
  # truncated profile.
  LLVM_PROFILE_FILE="$PWD/$folder/keygate-%p.profraw" \
    Scripts/with-postgres.sh swift test --skip-build --scratch-path "$scratch" >&2
fi

readable=$(mktemp)
merged=$(mktemp)
trap 'rm -f "$readable" "$merged"' EXIT
unreadable=0
for profile in "$folder"/*.profraw; do
  if "$profdata" show "$profile" >/dev/null 2>&1; then
    printf '%s\n' "$profile" >>"$readable"
  else
    unreadable=$((unreadable + 1))
  fi
done
echo "coverage: $(wc -l <"$readable") profiles merged, $unreadable unreadable left out" >&2
tr '\n' '\0' <"$readable" | xargs -0 "$profdata" merge -sparse -o "$merged"

objects=("$scratch/debug/KeygatePackageTests.xctest" -object "$scratch/debug/keygate")
if [ $# -gt 0 ]; then
  # Lines with a count of zero, as `llvm-cov show` numbers them.
  for file in "$@"; do
    echo "== $file"
    "$cov" show "${objects[@]}" -instr-profile "$merged" "$PWD/$file" | grep -E '^ +[0-9]+\| +0\|' || true
  done
else
  "$cov" report "${objects[@]}" -instr-profile "$merged" -ignore-filename-regex='(\.build[^/]*|Tests|checkouts)/'
fi
