#!/usr/bin/env bash
# Runs every berth test: the unit and integration suites under Bazel, then the format check.
# Ends with one line "N passed, N failed" counting every test case executed.
#
#   sudo scripts/test.sh
#
# Root is needed for the tests tagged requires-root (namespaces, mounts, cgroups); as another
# user they are skipped, and the summary says so.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || exit 1

filters=()
if [[ $(id -u) -ne 0 ]]; then
  echo "test: not root: skipping tests tagged requires-root"
  filters=(--test_tag_filters=-requires-root)
fi

bazel test --keep_going "${filters[@]}" //...
bazel_rc=$?

# Count test cases from each test target's JUnit XML (gtest writes one per target; Bazel
# writes one for a target that crashed before gtest could).
targets=$(bazel query 'tests(//...)' 2>/dev/null)
counts=$(python3 scripts/count_tests.py bazel-testlogs $targets)
passed=${counts% *}
failed=${counts#* }

# The release build (what scripts/setup.sh installs) counts as one more test: -O2 brings
# warnings of its own, and a broken set-up must not pass CI.
if bazel build -c opt //services/daemon:berthd //ctl:berth //runtime:berth-runtime; then
  passed=$((passed + 1))
else
  echo "opt: the release build of berthd, berth and berth-runtime failed"
  failed=$((failed + 1))
fi

# Formatting counts as one more test: every tracked C++ file must be clang-formatted.
unformatted=$(git ls-files '*.cc' '*.h' | while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [[ -n "$unformatted" ]]; then
  echo "format: not clang-formatted (fix with clang-format -i):"
  echo "$unformatted" | sed 's/^/  /'
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi

if ((bazel_rc != 0 && failed == 0)); then
  # The build broke before tests could fail one by one: count that as a failure.
  echo "test: bazel exited with $bazel_rc"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
((failed == 0))
