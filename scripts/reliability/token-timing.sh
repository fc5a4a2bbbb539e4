#!/usr/bin/env bash
# A dudect-style timing check of the bearer-token comparison `ConstantTime.equal`
# (Sources/AgentMemoryServer/TokenFile.swift), with a naive early-exit comparison as the
# control. Not a test: it measures wall time, so it belongs on a quiet machine (or at least
# reports what the load was); see scripts/reliability/timing/TokenTiming.swift for the method.
#
#   scripts/reliability/token-timing.sh [LENGTH] [MEASUREMENTS] [BATCH]
#       LENGTH bytes of secret (default 4096), MEASUREMENTS timed batches per comparison
#       (default 2,000,000, in two halves), BATCH comparisons per timed batch (default 4)
#
# The enum is taken from the source file at build time (the whole file needs the server's
# dependencies), compiled with the driver by swiftc -O into .build-timing/.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${TIMING_BUILD_DIR:-.build-timing}
mkdir -p "$out"
awk '/^enum ConstantTime \{/ { inside = 1 } inside { print } inside && /^\}/ { exit }' \
    Sources/AgentMemoryServer/TokenFile.swift > "$out/ConstantTime.swift"
grep -q 'static func equal' "$out/ConstantTime.swift" || { echo "ConstantTime.equal not found in TokenFile.swift" >&2; exit 1; }
cp scripts/reliability/timing/TokenTiming.swift "$out/main.swift"
swiftc -O -swift-version 6 -o "$out/token-timing" "$out/ConstantTime.swift" "$out/main.swift"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/token-timing" "${1:-4096}" "${2:-2000000}" "${3:-4}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
