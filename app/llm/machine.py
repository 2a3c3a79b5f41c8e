"""What this machine offers, for sane default load settings (no psutil dependency)."""

from __future__ import annotations

import ctypes
import os
import sys


def cpu_count() -> int:
    """CPUs this process may run on (respects affinity masks and containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def total_ram() -> int | None:
    """Physical memory in bytes, or None when it cannot be told."""
    try:
        if sys.platform == "win32":
            class MEMORYSTATUSEX(ctypes.Structure):
                _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                            ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                            ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                            ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                            ("sullAvailExtendedVirtual", ctypes.c_ulonglong)]

            st = MEMORYSTATUSEX()
            st.dwLength = ctypes.sizeof(st)
            ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(st))  # type: ignore[attr-defined]
            return int(st.ullTotalPhys)
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def rss_bytes() -> int | None:
    """Current resident memory of this process (Linux; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def default_threads() -> tuple[int, int]:
    """(generation threads, prompt-processing threads).

    llama.cpp's worker threads spin on barriers: one more thread than there are free
    cores makes every decode wait for a descheduled thread (measured: 20x slower on a
    busy 2-core machine). So leave a core for the GUI and import workers, and above 4
    CPUs count hyper-threaded pairs once."""
    n = cpu_count()
    threads = max(1, n - 1) if n <= 4 else n // 2
    return threads, threads


def default_n_ctx(n_ctx_train: int | None, kv_bytes_per_token: int | None, ram: int | None = None) -> int:
    """The context to allocate: the model's trained length, capped at 8192 and at what
    a quarter of the RAM can hold for the KV cache."""
    want = min(n_ctx_train or 4096, 8192)
    ram = total_ram() if ram is None else ram
    if ram and kv_bytes_per_token:
        fit = (ram // 4) // kv_bytes_per_token
        want = min(want, max(512, int(fit) // 256 * 256))
    return max(256, want)
