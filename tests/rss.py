"""Peak-memory probes for tests that run code in a subprocess: source text to prepend to the child's script.

``ru_maxrss`` is not usable there: Linux carries the forked parent's resident size into the child's maximum
across ``exec``, so a child of a large pytest process "peaks" at the parent's size. The child instead resets
its own high-water mark (``/proc/self/clear_refs``) after its imports and reads ``VmHWM`` afterwards (Linux).
"""

PROBE = '''
def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(key)

def start_peak():
    """Reset the peak resident size to the current one; returns the current resident size (bytes)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status("VmRSS")

def peak():
    """Peak resident size (bytes) since start_peak()."""
    return _status("VmHWM")
'''
