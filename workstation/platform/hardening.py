"""Process hardening applied at start-up by the CLI (and so by the app it serves, and by the sealed worker).

- No core dumps: a crash must not write decrypted audio or text to disk (the brief's "crash dumps").
- Not dumpable (Linux `PR_SET_DUMPABLE` 0): other processes of the same user cannot attach a debugger or read
  `/proc/PID/mem`, and `/proc/PID/*` becomes root's. Only root (or CAP_SYS_PTRACE) can still look inside.
- A private umask: whatever this process creates (vault files, exports the user asked for) is readable by
  this user only, not by other accounts on a shared workstation.
- `lock_in_memory(buf)`: keeps the pages of a key buffer out of swap (mlock) where the platform allows it. It is
  best effort: Python copies bytes in places we do not control (and OpenSSL keeps its own copy of a cipher key),
  so this narrows what can reach swap, it does not promise that nothing does.
All of it survives `fork`/`exec`, except the dumpable flag, which `exec` of a set-id program resets; the worker
sets it again itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys

PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def disable_core_dumps() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def private_umask() -> None:
    os.umask(0o077)


def make_non_dumpable() -> bool:
    """PR_SET_DUMPABLE 0 (Linux). False where the platform has no such switch."""
    libc = _libc()
    if libc is None:
        return False
    return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0


def die_with_parent(parent_pid: int) -> bool:
    """Be killed (SIGKILL) when the process that started this one dies (Linux `PR_SET_PDEATHSIG`), and exit now
    if it is already gone. A sealed worker whose cluster worker was killed must not go on decoding a recording
    nobody waits for. (The signal follows the parent *thread*: the sealed worker's starter waits for it on the
    thread that started it.) False where the platform has no such switch."""
    libc = _libc()
    if libc is None or libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent_pid:  # it died before the switch was set
        os._exit(1)
    return True


def is_dumpable() -> bool | None:
    """The process's dumpable flag (None: not Linux)."""
    libc = _libc()
    if libc is None:
        return None
    return libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0


def lock_in_memory(buf: bytes | bytearray) -> bool:
    """mlock the pages holding `buf` (no copy is made). False when refused (RLIMIT_MEMLOCK) or unsupported."""
    libc = _libc()
    if libc is None or not buf:
        return False
    if isinstance(buf, bytearray):
        address = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
    else:  # a bytes object's own buffer: c_char_p points into it without copying
        address = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value or 0
    page = os.sysconf("SC_PAGE_SIZE")
    start = address - address % page
    length = address + len(buf) - start
    return libc.mlock(ctypes.c_void_p(start), ctypes.c_size_t(length)) == 0


def harden_process() -> None:
    disable_core_dumps()
    make_non_dumpable()
    private_umask()
