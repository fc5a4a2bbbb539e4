#!/usr/bin/env bash
# The long forms of the reliability tests (RELIABILITY.md): the same Swift Testing suites as
# CI runs, with larger counts, each under a time limit so that the run stops by itself.
#
#   scripts/reliability/long.sh [SUITE...]    default: every suite below
#
# Suites: crash (200 SIGKILLs per kind), http (the HTTP server killed 200 times under load,
# its paths and tokens), model (5,000 random turns), contention (1,000 rounds per process),
# rss (1,000,000 tool calls; a watch through 86,400 changes, a day at one a second), faults
# (API faults, the API key in crash output, I/O faults, security: no count to raise, run
# once). PostgreSQL runs when AGENT_MEMORY_TEST_POSTGRES_URL is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(crash http model contention rss faults)

swift build --build-tests >/dev/null
for suite in "${suites[@]}"; do
    case $suite in
        crash) filter=CrashSafetyTests; limit=3600; export RELIABILITY_KILLS=${RELIABILITY_KILLS:-200} ;;
        http) filter='HTTPServerCrashTests|HTTPSecurityTests'; limit=3600; export RELIABILITY_HTTP_KILLS=${RELIABILITY_HTTP_KILLS:-200} ;;
        model) filter=ExecutorModelTests; limit=1800; export RELIABILITY_MODEL_TURNS=${RELIABILITY_MODEL_TURNS:-5000} ;;
        contention) filter=ContentionTests; limit=1800; export RELIABILITY_ROUNDS=${RELIABILITY_ROUNDS:-1000} ;;
        rss) filter=ResourceBoundsTests; limit=3600; export RELIABILITY_RSS_CALLS=${RELIABILITY_RSS_CALLS:-1000000}
            export RELIABILITY_WATCH_EVENTS=${RELIABILITY_WATCH_EVENTS:-86400} ;;
        faults) filter='APIFaultTests|APIKeyLeakTests|IOFaultTests|SecurityTests'; limit=900 ;;
        *) echo "unknown suite $suite" >&2; exit 2 ;;
    esac
    echo "== $suite ($filter, at most ${limit}s)"
    start=$(date +%s)
    timeout "$limit" swift test --skip-build --filter "ReliabilityTests.($filter)" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' | tail -n 40
    echo "== $suite took $(( $(date +%s) - start ))s"
done
