#!/usr/bin/env bash
# Runs every test of the solution (Release build), after installing what the tests need.
# Prints one closing line "N passed, N failed, N skipped" summed over the test projects.
set -uo pipefail
cd "$(dirname "$0")/.."

bash eng/install-deps.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test Cluster.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one "Passed!/Failed!  - Failed: F, Passed: P, Skipped: S, Total: T" line per project.
read -r passed failed skipped < <(grep -E '^(Passed|Failed)!' "$log" | awk -F'[:,]' '{f+=$2; p+=$4; s+=$6} END {print p+0, f+0, s+0}')
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "test: no tests ran" >&2
  exit 1
fi
exit "$status"
