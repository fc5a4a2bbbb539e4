#!/usr/bin/env bash
# The install build of `agent-memory` (README, "The command line"): release mode, the Swift
# runtime and Foundation linked in, and five flags that take about 8 to 14 ms off every process
# start (BENCHMARKS.md, rounds twenty-two, twenty-three, twenty-eight and thirty-nine). Prints
# the binary's path last.
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
# -Xswiftc -L.../scripts/link-static-cxx, where the toolchain's clang finds GCC's libstdc++.a:
#   the static runtime's `-lstdc++` then finds scripts/link-static-cxx/libstdc++.so, a linker
#   script that links libstdc++.a into the binary (the GCC Runtime Library Exception allows it).
#   The binary starts without loading and relocating libstdc++.so.6, and the 788 references of
#   the runtime's C++ vtables to it need no symbol look-ups: a `recall` process ran 7.2M
#   instructions instead of 5.3M and took 4 to 8% less time (round thirty-nine). Where there is
#   no libstdc++.a (a distribution that packages it apart, such as Fedora's libstdc++-static),
#   the binary links libstdc++.so.6 as before. CI checks that libstdc++ is not among its needs.
set -euo pipefail
cd "$(dirname "$0")/.."
clang="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
static_cxx=()
if [ -f "$("$clang" -print-file-name=libstdc++.a 2>/dev/null)" ]; then
    static_cxx=(-Xswiftc "-L$PWD/scripts/link-static-cxx")
else
    echo "note: no libstdc++.a for $clang; the binary links libstdc++.so.6" >&2
fi
flags=(
    -c release --static-swift-stdlib
    -Xlinker --no-export-dynamic -Xswiftc -use-ld=lld
    -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
    -Xswiftc "-L$PWD/scripts/link"
    "${static_cxx[@]}"
    "$@"
)
swift build "${flags[@]}" --product agent-memory >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/agent-memory"
