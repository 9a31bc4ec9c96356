"""Keep freed memory in the process, so that large numpy temporaries are not handed back and faulted in again.

glibc's allocator serves each block of 128 KB or more (adjusted up to 32 MB as such blocks are freed) with its own
``mmap`` and returns it to the system on ``free``; the next array of that size is mapped afresh, and the kernel
zero-fills every one of its pages on first touch. The analysis stages allocate and free arrays of tens of MB
thousands of times (the exact Bayesian engine's grid-by-studies blocks, one per pass and block): at a million effect
sizes the Effect stage spent about a third of its time in those page faults. :func:`keep_freed_memory` asks glibc
(``mallopt``) to serve blocks up to 1 GB from its heap and to keep up to 2 GB of freed heap, which took that stage
from 72 s to 54 s on this project's 2-core benchmark machine (``benchmarks/README.md``), at the cost of a higher
resident size while the process lives (1.3 GB to 1.55 GB there). Stages are short-lived processes, so the memory is
returned when they end.

On a C library other than glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks up to this size come from the heap, not from their own mapping.
MMAP_THRESHOLD = 1 << 30
#: Freed heap memory up to this size is kept for the next allocation.
TRIM_THRESHOLD = (1 << 31) - 1


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (see the module's docstring); True when they were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
