#!/usr/bin/env bash
# The test suites under ThreadSanitizer or AddressSanitizer, each in its own scratch folder
# (so the normal debug build is not rebuilt).
#
#   scripts/reliability/sanitizers.sh thread  [FILTER]   .build-tsan (CI: the store, executor, loop and JSON suites)
#   scripts/reliability/sanitizers.sh address [FILTER]   .build-asan
#
# Without FILTER the whole suite runs (everything is built: the reliability and CLI tests start
# the package's executables). With a FILTER only the test bundle is built (no executables,
# examples or benchmarks), which is what CI runs. TSan reports make the run fail (halt_on_error).
#
# The tests' hang guards, connection limits and deadlines are stretched by
# AGENT_MEMORY_TEST_TIME_SCALE (4 here unless the caller set it; the tests' default is 1): the
# sanitizers slow everything several times on top of a parallel run. Results are checked as
# always. AGENT_MEMORY_TEST_SANITIZER names the sanitizer, for the few checks it invalidates
# (a resident-memory bound under ASan's quarantine), which say so when they skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
sanitizer=${1:?usage: $0 thread|address [FILTER]}
filter=${2:-}
case $sanitizer in
    thread) scratch=.build-tsan; export TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/scripts/reliability/tsan-suppressions.txt ${TSAN_OPTIONS:-}" ;;
    address) scratch=.build-asan; export ASAN_OPTIONS="detect_leaks=0 ${ASAN_OPTIONS:-}" ;;
    *) echo "unknown sanitizer $sanitizer" >&2; exit 2 ;;
esac
export AGENT_MEMORY_TEST_TIME_SCALE=${AGENT_MEMORY_TEST_TIME_SCALE:-4} AGENT_MEMORY_TEST_SANITIZER=$sanitizer
echo "sanitizers: $sanitizer, AGENT_MEMORY_TEST_TIME_SCALE=$AGENT_MEMORY_TEST_TIME_SCALE, PostgreSQL tests $([ -n "${AGENT_MEMORY_TEST_POSTGRES_URL:-}" ] && echo on || echo "skipped (AGENT_MEMORY_TEST_POSTGRES_URL not set)")"
started=$(mktemp)
trap 'rm -f "$started"' EXIT
start=$(date +%s)
what=(--build-tests)
[ -n "$filter" ] && what=(--product AgentMemoryPackageTests)
swift build "${what[@]}" --sanitize="$sanitizer" --scratch-path "$scratch" 2>&1 | { grep -E 'error|warning: .*(data race|ThreadSanitizer)|Compiling|Build' || true; } | tail -n 3
echo "sanitizers: $sanitizer build took $(( $(date +%s) - start ))s"
if [ "$sanitizer" = thread ]; then
    # The suppressions file's runtime exception, checked: with it the runtime's false positive is
    # gone and a real race through the same functions is still reported.
    check=$scratch/tsan-continuation-check
    swiftc -parse-as-library -sanitize=thread -Onone scripts/reliability/tsan-continuation-check.swift -o "$check"
    if ! "$check" gap >/dev/null 2>&1; then
        echo "sanitizers: the continuation check's false positive is reported despite tsan-suppressions.txt" >&2
        "$check" gap 2>&1 | grep -E 'WARNING|#0|SUMMARY' >&2 || true
        exit 1
    fi
    if "$check" control >/dev/null 2>&1; then
        echo "sanitizers: the continuation check's real race went unreported: tsan-suppressions.txt hides too much" >&2
        exit 1
    fi
    if TSAN_OPTIONS="halt_on_error=1" "$check" gap >/dev/null 2>&1; then
        echo "sanitizers: note: without the suppressions the runtime's continuation false positive did not show; its lines in tsan-suppressions.txt may be obsolete"
    fi
    echo "sanitizers: continuation check passed (the runtime's false positive suppressed, a real race reported)"
fi
start=$(date +%s)
status=0
if [ -n "$filter" ]; then
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter "$filter" || status=$?
else
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" || status=$?
fi
echo "sanitizers: $sanitizer tests took $(( $(date +%s) - start ))s (exit status $status)"
# The processes the tests start write their stderr to files (a sanitizer report there reaches the
# test only as a failed child): any such file of this run with a report is named here and fails
# the run. (Tests delete some of these files; a child that reports also exits nonzero.)
reports=$(find "${TMPDIR:-/tmp}" -xdev -type f -newer "$started" -name 'stderr*' -size -64M 2>/dev/null \
    | xargs -r grep -lE 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer' 2>/dev/null || true)
if [ -n "$reports" ]; then
    echo "sanitizers: sanitizer reports in the output of child processes:"
    echo "$reports"
    [ "$status" -ne 0 ] || status=1
else
    echo "sanitizers: no sanitizer report in the output of child processes"
fi
exit $status
