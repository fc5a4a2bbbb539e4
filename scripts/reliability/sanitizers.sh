#!/usr/bin/env bash
# The test suites under ThreadSanitizer or AddressSanitizer, each in its own scratch folder
# (so the normal debug build is not rebuilt).
#
#   scripts/reliability/sanitizers.sh thread  [FILTER]   .build-tsan (CI: the store, executor and loop suites)
#   scripts/reliability/sanitizers.sh address [FILTER]   .build-asan
#
# Without FILTER the whole suite runs (everything is built: the reliability and CLI tests start
# the package's executables). With a FILTER only the test bundle is built (no executables,
# examples or benchmarks), which is what CI runs. TSan reports make the run fail (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/../.."
sanitizer=${1:?usage: $0 thread|address [FILTER]}
filter=${2:-}
case $sanitizer in
    thread) scratch=.build-tsan; export TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/scripts/reliability/tsan-suppressions.txt ${TSAN_OPTIONS:-}" ;;
    address) scratch=.build-asan; export ASAN_OPTIONS="detect_leaks=0 ${ASAN_OPTIONS:-}" ;;
    *) echo "unknown sanitizer $sanitizer" >&2; exit 2 ;;
esac
start=$(date +%s)
what=(--build-tests)
[ -n "$filter" ] && what=(--product AgentMemoryPackageTests)
swift build "${what[@]}" --sanitize="$sanitizer" --scratch-path "$scratch" 2>&1 | { grep -E 'error|warning: .*(data race|ThreadSanitizer)|Compiling|Build' || true; } | tail -n 3
echo "sanitizers: $sanitizer build took $(( $(date +%s) - start ))s"
start=$(date +%s)
if [ -n "$filter" ]; then
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter "$filter"
else
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch"
fi
echo "sanitizers: $sanitizer tests took $(( $(date +%s) - start ))s"
