#include "CProcessMemory.h"

#include <stdlib.h> // defines __GLIBC__ with glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int cprocessmemory_keep_freed_memory(void) {
#if defined(__GLIBC__)
    // 32 MiB is glibc's own ceiling for the mapping threshold on 64-bit systems.
    int mapped = mallopt(M_MMAP_THRESHOLD, 32 << 20);
    int trimmed = mallopt(M_TRIM_THRESHOLD, 64 << 20);
    return mapped == 1 && trimmed == 1;
#else
    return 0;
#endif
}
