#!/usr/bin/env bash
# The install build of `agent-memory` (README, "The command line"): release mode, the Swift
# runtime and Foundation linked in, and the flags below, which take about 8 to 15 ms off every
# process start (BENCHMARKS.md, rounds twenty-two, twenty-three, twenty-eight and thirty-nine).
# Prints the binary's path last.
#
#   scripts/build-release.sh                               # into .build
#   scripts/build-release.sh --scratch-path .build-release # anywhere else (extra swift build flags)
#
# -Xlinker --no-export-dynamic: the static runtime's link arguments export all 52,000 of the
#   binary's symbols to the dynamic loader, which hashes into that table for every symbol it
#   binds; nothing in the binary looks its own symbols up (crash backtraces are named as before).
# -use-ld=lld: links with LLVM's lld, which ships with the Swift toolchain, instead of the
#   toolchain's default gold. Measured 0.7 to 1.5 ms less at every start with the same relocations,
#   page faults and Swift metadata sections; lld lays the file out differently (read-only data
#   in a segment of its own, apart from the code).
# -disable-concrete-type-metadata-mangled-name-accessors (a Swift frontend flag): the compiler
#   then fetches a generic type's metadata through its accessor with the conformances it already
#   knows, instead of decoding a mangled name at run time, where the runtime looks each
#   conformance up by scanning every conformance record in the binary (11,445 of them) the first
#   time a process needs it. Same behaviour, about 3 ms less at every start.
# -Xswiftc -L.../scripts/link: FoundationNetworking's `-lcurl` then finds scripts/link/libcurl.so,
#   a linker script that adds the system's libcurl only as needed; the CCurlLoader target
#   defines the libcurl functions FoundationNetworking calls and loads libcurl at the first one.
#   So the binary starts without mapping libcurl and its thirty libraries (TLS, Kerberos, LDAP,
#   SSH...), which took 3.5 to 9 ms of every start (round twenty-eight); a command that talks
#   HTTP loads it when it first does. CI checks that libcurl is not among the binary's needs.
# -Xswiftc -L.../scripts/link-static/libstdc++ and .../sqlite, each where the toolchain's clang
#   finds the archive it names: the static runtime's `-lstdc++` and GRDB's `-lsqlite3` then find
#   a linker script there that links GCC's libstdc++.a (the GCC Runtime Library Exception allows
#   it) and the system's libsqlite3.a (the same SQLite as libsqlite3.so.0, from the same
#   package; a system update of SQLite reaches the binary when it is built again). The binary
#   starts without loading and relocating either shared library, and the runtime's 788
#   references to libstdc++ need no symbol look-ups: a `recall` process ran 4.3M instructions
#   instead of 7.2M and took about a tenth less time (round thirty-nine). Where an archive is
#   missing (some distributions package them apart, such as Fedora's libstdc++-static), that
#   library is linked as a shared one, as before. CI checks that neither is among the needs.
# -Xlinker -no-pie: a position-dependent executable, linked at a fixed address. A position-
#   independent one carries 146,784 relative relocations (3.5 MB), which the dynamic loader
#   applies at every start, writing to about 450 pages of the binary's data (Swift's metadata
#   holds absolute pointers): a copy of each page, then the write. Without them a `recall`
#   process runs with 421 page faults instead of 833 and takes 2.2 ms instead of 2.8 (BENCHMARKS.md,
#   round forty-seven). The cost: the binary's own code and data are no longer at a random
#   address at each start (the libraries it loads, the stack and the heap still are); Go builds
#   its Linux binaries this way by default. Add `-Xlinker -pie` to this script's arguments for a
#   position-independent build (the last of the two flags wins).
set -euo pipefail
cd "$(dirname "$0")/.."
clang="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
static_libraries=()
for script in scripts/link-static/*/*.so; do
    archive=$(sed -n 's/^INPUT(\(.*\))$/\1/p' "$script")
    if [ -f "$("$clang" -print-file-name="$archive" 2>/dev/null)" ]; then
        static_libraries+=(-Xswiftc "-L$PWD/$(dirname "$script")")
    else
        echo "note: $clang finds no $archive; the binary links the shared library instead" >&2
    fi
done
flags=(
    -c release --static-swift-stdlib
    -Xlinker --no-export-dynamic -Xlinker -no-pie -Xswiftc -use-ld=lld
    -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
    -Xswiftc "-L$PWD/scripts/link"
    "${static_libraries[@]}"
    "$@"
)
swift build "${flags[@]}" --product agent-memory >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/agent-memory"
