#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (the Swift toolchain's -sanitize=fuzzer, with
# AddressSanitizer). The entry points live under Fuzz/ (one file per target, each defining
# LLVMFuzzerTestOneInput and no main), outside the package's targets so that `swift build`
# never sees them. This script compiles the package modules they need with swiftc (static
# libraries, instrumented), links each target, and runs it on a copy of its committed seed
# corpus (Fuzz/corpus/TARGET), so the repository's corpus only changes when you copy new
# inputs in on purpose.
#
#   scripts/reliability/fuzz.sh build                 build every target into .build-fuzz/
#   scripts/reliability/fuzz.sh run TARGET RUNS [FLAG...]  RUNS executions of one target (-runs),
#                                                     more libFuzzer flags after it
#   scripts/reliability/fuzz.sh smoke [RUNS]          every target, RUNS executions each (CI: 20000)
#   scripts/reliability/fuzz.sh long [RUNS] [SECONDS] every target, RUNS executions (default
#                                                     10,000,000) or SECONDS each, whichever first
#
# libFuzzer's per-input timeout is wall time: 20 s here, but 1,200 s in `long`, whose runs are
# meant to run at low priority on a shared machine and may be SIGSTOPped for a while (a run
# stopped or starved for more than the timeout reports a false "timeout"; round 2 had two).
# For `run`, a later -timeout=N overrides the 20 s. Re-run any timeout input alone to tell.
#
# Targets: json, messages, tool-inputs, list-cursor, http-request. A crash leaves the input in
# .build-fuzz/artifacts/; fix the cause and add the input as a regression test in Tests/ReliabilityTests.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${FUZZ_BUILD_DIR:-.build-fuzz}
# The Swift runtime's crash backtracer faults under ASan (it reads the shadow gap); libFuzzer
# prints the stack and saves the input itself.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}
targets=(json messages tool-inputs list-cursor http-request)
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -package-name AgentMemory
    -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility)

source_file() {
    case $1 in
        json) echo Fuzz/FuzzJSON.swift ;;
        messages) echo Fuzz/FuzzMessages.swift ;;
        tool-inputs) echo Fuzz/FuzzToolInputs.swift ;;
        list-cursor) echo Fuzz/FuzzListCursor.swift ;;
        # The server's request-target parser is internal to AgentMemoryServer (which needs
        # Hummingbird and NIO): its source file is compiled into the target itself.
        http-request) echo Fuzz/FuzzHTTPRequest.swift Sources/AgentMemoryServer/RequestTarget.swift ;;
        *) echo "unknown fuzz target $1 (one of: ${targets[*]})" >&2; exit 2 ;;
    esac
}

# The package modules the targets use, in dependency order (AgentMemoryJSON once it exists).
modules=()
for module in AgentMemoryJSON AgentMemoryCore ClaudeMessages AgentMemoryTools ClaudeClient; do
    [ -d "Sources/$module" ] && modules+=("$module")
done

build() {
    mkdir -p "$out/modules"
    # swift-log's Logging, which the executor and the client import: compiled from the copy
    # `swift build` checked out, with its own language mode.
    local logging=.build/checkouts/swift-log/Sources/Logging
    if [ -d "$logging" ] && [ ! -f "$out/modules/libLogging.a" ]; then
        echo "fuzz: compiling Logging (swift-log)"
        swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 5 -module-name Logging -package-name swift_log \
            -emit-module -emit-module-path "$out/modules/Logging.swiftmodule" -emit-library -static \
            -o "$out/modules/libLogging.a" $(find "$logging" -name '*.swift' | sort)
    fi
    for module in "${modules[@]}"; do
        local library="$out/modules/lib$module.a"
        if [ -f "$library" ] && [ -z "$(find "Sources/$module" -name '*.swift' -newer "$library" | head -n 1)" ]; then
            continue  # up to date
        fi
        echo "fuzz: compiling $module"
        swiftc "${flags[@]}" -module-name "$module" -emit-module -emit-module-path "$out/modules/$module.swiftmodule" \
            -emit-library -static -o "$library" -I "$out/modules" $(find "Sources/$module" -name '*.swift' | sort)
    done
    local libraries=() index target  # local: `run` reads its own $target after calling build
    for ((index = ${#modules[@]} - 1; index >= 0; index--)); do libraries+=("-l${modules[index]}"); done
    [ -f "$out/modules/libLogging.a" ] && libraries+=("-lLogging")
    for target in "${targets[@]}"; do
        echo "fuzz: linking fuzz-$target"
        swiftc "${flags[@]}" -module-name "Fuzz_${target//-/_}" -I "$out/modules" -L "$out/modules" \
            $(source_file "$target") Fuzz/Support/*.swift "${libraries[@]}" -o "$out/fuzz-$target"
    done
}

run() {
    local target=$1; shift
    source_file "$target" >/dev/null
    mkdir -p "$out/corpus/$target" "$out/artifacts"
    cp -n "Fuzz/corpus/$target"/* "$out/corpus/$target/" 2>/dev/null || true
    "$out/fuzz-$target" -artifact_prefix="$out/artifacts/$target-" -print_final_stats=1 -rss_limit_mb=4096 \
        -timeout=20 "$@" "$out/corpus/$target"
}

case ${1:-} in
    build) build ;;
    run) [ $# -ge 3 ] || { echo "usage: $0 run TARGET RUNS" >&2; exit 2; }
        target=$2 runs=$3; shift 3
        build; run "$target" -runs="$runs" "$@" ;;
    smoke) build
        for target in "${targets[@]}"; do
            echo "fuzz-$target:"
            run "$target" -runs="${2:-20000}" 2>&1 | tail -n 12
        done ;;
    long) build
        for target in "${targets[@]}"; do
            echo "fuzz-$target:"
            run "$target" -runs="${2:-10000000}" -max_total_time="${3:-1800}" -timeout=1200 2>&1 | tail -n 12
        done ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
