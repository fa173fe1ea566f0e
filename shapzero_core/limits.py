"""Resource limits shared by the engine: how much memory this process can use, and sizes in messages."""

from __future__ import annotations

import os

__all__ = ["available_memory", "format_bytes"]


def available_memory() -> int:
    """Bytes of memory this process can still use: ``MemAvailable`` of ``/proc/meminfo`` (else the free physical
    pages), bounded by the address-space limit (``ulimit -v``) if one is set; 4 GiB if nothing can be read."""
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            avail = 4 << 30
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            avail = min(avail, soft)
    except (ImportError, OSError, ValueError):
        pass
    return int(avail)


def format_bytes(nbytes: float) -> str:
    """``"3.1 GB"`` / ``"512.0 MB"``."""
    return f"{nbytes / 2**30:,.1f} GB" if nbytes >= 2**30 else f"{nbytes / 2**20:,.1f} MB"
