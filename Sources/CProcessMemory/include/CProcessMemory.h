// CProcessMemory: the C allocator's settings for a short-lived process (glibc's mallopt, whose
// header Swift's Glibc module does not import).

#ifndef CPROCESSMEMORY_H
#define CPROCESSMEMORY_H

/// Keeps freed memory in the process: blocks up to 32 MiB come from the heap rather than from
/// mappings of their own, and the heap is not trimmed below 64 MiB. Returns 1 when glibc took
/// both settings, 0 otherwise (another C library: nothing changes).
int cprocessmemory_keep_freed_memory(void);

#endif
