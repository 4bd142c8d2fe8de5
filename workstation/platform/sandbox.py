"""Take the network away from this process, below Python: a network namespace, or a seccomp filter.

Used by the sealed worker (`workstation/speech/sealed_worker.py`) as its very first act, while it is still one thread
and before any media library or model is loaded. The Python guard in `offline.py` only sees Python's own
`socket` calls; FFmpeg, ONNX Runtime, CTranslate2 and glibc's resolver call the kernel directly. Here the kernel
itself refuses:

1. **Network namespace** (Linux): `unshare(CLONE_NEWUSER | CLONE_NEWNET)` with this user mapped to itself (root
   too: its capabilities then end at the worker's own namespaces); root falls back to `unshare(CLONE_NEWNET)`. The new namespace has only a loopback interface, left down:
   every connect, sendto or bind to an address outside fails with ENETUNREACH/EADDRNOTAVAIL, DNS included.
2. **seccomp filter**, on top of the namespace and alone where namespaces are refused (containers, kernels with
   unprivileged user namespaces off): `socket()` of any family but AF_UNIX fails with EAFNOSUPPORT (AF_INET,
   AF_INET6, AF_NETLINK, AF_PACKET...), `io_uring_setup` (which can open sockets without `socket()`) with ENOSYS,
   and syscalls of another architecture (x32, i386 `int 0x80`) with EPERM. Set with PR_SET_NO_NEW_PRIVS, inherited
   by every thread and child and impossible to lift. On top of the namespace it matters for root: a worker running
   as root could `setns` back into the host's network namespace, but still could not create an inet socket.
3. **Nothing** on other systems (macOS, Windows, exotic CPUs): `seal()` says so, and the worker, `workstation
   doctor` and the app's start-up line repeat it instead of claiming more than is done.

`WORKSTATION_SEAL=seccomp` skips the namespace (tests, or kernels whose namespaces misbehave); `namespace` and
`user-namespace` (the unprivileged path, even as root) leave the filter out, so tests can check each layer alone.
Nothing turns sealing off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
X32_SYSCALL_BIT = 0x40000000
IO_URING_SETUP = 425  # the same number on x86_64 and aarch64
# machine -> (AUDIT_ARCH_*, __NR_socket)
_ARCHES = {"x86_64": (0xC000003E, 41), "amd64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198), "arm64": (0xC00000B7, 198)}
# classic BPF opcodes
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K, _AND_K = 0x20, 0x15, 0x35, 0x06, 0x54
AF_PACKET, SOCK_TYPE_MASK = 17, 0xF


class Sealing(StrEnum):
    NAMESPACE = "network namespace"  # root, where user namespaces are off: CLONE_NEWNET
    USER_NAMESPACE = "user and network namespace"  # CLONE_NEWUSER | CLONE_NEWNET (root included)
    SECCOMP = "seccomp filter"
    NONE = "none"

    @property
    def sealed(self) -> bool:
        return self is not Sealing.NONE


@dataclass(frozen=True)
class SealResult:
    sealing: Sealing
    detail: str  # what was tried and why something was refused, for `workstation doctor`
    seccomp: bool = False  # the filter is on (alone, or on top of a namespace)

    def describe(self) -> str:
        if self.seccomp and self.sealing is not Sealing.SECCOMP:
            return f"{self.sealing} + {Sealing.SECCOMP}"
        return str(self.sealing)


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _errno_text() -> str:
    err = ctypes.get_errno()
    return f"{os.strerror(err)} (errno {err})"


def _write_proc(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def _only_loopback() -> bool:
    """True when this process's network namespace has no interface but loopback (the unshare took)."""
    return all(name == "lo" for _, name in socket.if_nameindex())


def _user_and_network(libc: ctypes.CDLL) -> tuple[Sealing | None, str]:
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return None, f"unshare(CLONE_NEWUSER|CLONE_NEWNET) refused: {_errno_text()}"
    try:  # map this user to itself so files keep their owner; setgroups must be denied before gid_map
        _write_proc("/proc/self/setgroups", "deny")
        _write_proc("/proc/self/uid_map", f"{uid} {uid} 1")
        _write_proc("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as exc:  # the namespace holds even unmapped; files are still checked against the real user
        return Sealing.USER_NAMESPACE, f"new user and network namespace (id map not written: {exc.strerror})"
    return Sealing.USER_NAMESPACE, "new user and network namespace"


def _unshare_network(libc: ctypes.CDLL, mode: str) -> tuple[Sealing | None, str]:
    """A user + network namespace first, even for root: root's capabilities then stop at the worker's own
    namespaces (it cannot `setns` back into the host's network, nor ptrace the non-dumpable app). Root falls back
    to a plain network namespace where user namespaces are off; `mode="namespace"` asks for that one (tests)."""
    if os.geteuid() == 0 and mode == "namespace":
        if libc.unshare(CLONE_NEWNET) != 0:
            return None, f"unshare(CLONE_NEWNET) refused: {_errno_text()}"
        return Sealing.NAMESPACE, "new network namespace"
    sealing, note = _user_and_network(libc)
    if sealing is None and os.geteuid() == 0 and mode == "auto":
        if libc.unshare(CLONE_NEWNET) == 0:
            return Sealing.NAMESPACE, f"{note}; new network namespace"
        return None, f"{note}; unshare(CLONE_NEWNET) refused: {_errno_text()}"
    return sealing, note


def seccomp_program(arch: int, socket_nr: int) -> bytes:
    """The filter as raw `struct sock_filter` records (for tests and for `install_seccomp`)."""
    deny_socket = SECCOMP_RET_ERRNO | EAFNOSUPPORT
    program = [
        (_LD_W_ABS, 0, 0, 4),  # 0: A = seccomp_data.arch
        (_JEQ_K, 0, 9, arch),  # 1: another ABI -> 11
        (_LD_W_ABS, 0, 0, 0),  # 2: A = seccomp_data.nr
        (_JGE_K, 7, 0, X32_SYSCALL_BIT),  # 3: x32 syscall -> 11
        (_JEQ_K, 5, 0, IO_URING_SETUP),  # 4: io_uring -> 10
        (_JEQ_K, 0, 2, socket_nr),  # 5: not socket() -> 8 (allow)
        (_LD_W_ABS, 0, 0, 16),  # 6: A = low 32 bits of args[0], the address family
        (_JEQ_K, 0, 1, socket.AF_UNIX),  # 7: AF_UNIX -> 8, anything else -> 9
        (_RET_K, 0, 0, SECCOMP_RET_ALLOW),  # 8
        (_RET_K, 0, 0, deny_socket),  # 9
        (_RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS),  # 10
        (_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),  # 11
    ]
    return b"".join(struct.pack("=HBBI", *ins) for ins in program)


def server_program(arch: int, socket_nr: int) -> bytes:
    """The app server's filter: TCP and AF_UNIX sockets only. No UDP (so no DNS query, no RTP or multicast socket
    from FFmpeg), no raw or packet sockets, no io_uring. Its TCP listener is bound to 127.0.0.1; outbound TCP is
    left to the Python guard (seccomp cannot read the address a connect() names)."""
    deny_socket = SECCOMP_RET_ERRNO | EAFNOSUPPORT
    program = [
        (_LD_W_ABS, 0, 0, 4),  # 0: A = arch
        (_JEQ_K, 0, 14, arch),  # 1: another ABI -> 16
        (_LD_W_ABS, 0, 0, 0),  # 2: A = nr
        (_JGE_K, 12, 0, X32_SYSCALL_BIT),  # 3: x32 -> 16
        (_JEQ_K, 10, 0, IO_URING_SETUP),  # 4: io_uring -> 15
        (_JEQ_K, 0, 7, socket_nr),  # 5: not socket() -> 13 (allow)
        (_LD_W_ABS, 0, 0, 16),  # 6: A = family
        (_JEQ_K, 2, 0, socket.AF_INET),  # 7: -> 10
        (_JEQ_K, 1, 0, socket.AF_INET6),  # 8: -> 10
        (_JEQ_K, 4, 3, AF_PACKET),  # 9: AF_PACKET -> 14, anything else -> 13
        (_LD_W_ABS, 0, 0, 24),  # 10: A = low 32 bits of args[1], the type (with SOCK_CLOEXEC/NONBLOCK flags)
        (_AND_K, 0, 0, SOCK_TYPE_MASK),  # 11
        (_JEQ_K, 0, 1, socket.SOCK_STREAM),  # 12: TCP -> 13, UDP/raw -> 14
        (_RET_K, 0, 0, SECCOMP_RET_ALLOW),  # 13
        (_RET_K, 0, 0, deny_socket),  # 14
        (_RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS),  # 15
        (_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),  # 16
    ]
    return b"".join(struct.pack("=HBBI", *ins) for ins in program)


def install_seccomp(libc: ctypes.CDLL, build: Callable[[int, int], bytes] | None = None) -> tuple[bool, str]:
    arch = _ARCHES.get(platform.machine().lower())
    if arch is None or sys.byteorder != "little":
        return False, f"no seccomp filter for this processor ({platform.machine()})"
    raw = (build or seccomp_program)(*arch)
    count = len(raw) // ctypes.sizeof(_SockFilter)
    filters = (_SockFilter * count).from_buffer_copy(raw)
    prog = _SockFprog(count, ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False, f"PR_SET_NO_NEW_PRIVS refused: {_errno_text()}"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        return False, f"seccomp filter refused: {_errno_text()}"
    return True, "seccomp filter: only AF_UNIX sockets" if build is None else "seccomp filter: TCP and AF_UNIX sockets only"


def seal() -> SealResult:
    """Remove network access from this process and its future threads and children. Call while single-threaded."""
    if not sys.platform.startswith("linux"):
        return SealResult(Sealing.NONE, f"no network sealing on {sys.platform}: only the Python guard applies")
    libc = _libc()
    mode = os.environ.get("WORKSTATION_SEAL", "auto")
    notes: list[str] = []
    sealing: Sealing | None = None
    if mode != "seccomp":
        sealing, note = _unshare_network(libc, mode)
        notes.append(note)
        if sealing is not None and not _only_loopback():
            notes.append("but interfaces other than loopback are still visible")
            sealing = None
        if sealing is not None and mode in ("namespace", "user-namespace"):
            return SealResult(sealing, "; ".join(notes))
    ok, note = install_seccomp(libc)
    notes.append(note)
    if sealing is None:
        sealing = Sealing.SECCOMP if ok else Sealing.NONE
    return SealResult(sealing, "; ".join(notes), seccomp=ok)


def restrict_server() -> SealResult:
    """For `workstation app`: no UDP, raw or packet socket in this process and its children (see server_program).

    Call before Streamlit starts threads (the filter is per thread; threads started later inherit it).
    """
    if not sys.platform.startswith("linux"):
        return SealResult(Sealing.NONE, f"no seccomp on {sys.platform}")
    ok, note = install_seccomp(_libc(), server_program)
    return SealResult(Sealing.SECCOMP if ok else Sealing.NONE, note, seccomp=ok)


def network_reachable() -> bool:
    """Self-test after sealing: could this process reach a host outside? Asked without addressing one.

    No outside address is ever connected to (the egress test counts every such syscall, refused or not): an AF_INET
    socket that cannot be created (seccomp), or a namespace with no interface but loopback, means unreachable.
    Uses `_socket` directly so the Python guard, if active, does not answer in the kernel's place.
    """
    import _socket

    try:
        _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).close()
    except OSError:
        return False
    try:
        return not _only_loopback()
    except OSError:  # no netlink either: nothing to route with
        return False
