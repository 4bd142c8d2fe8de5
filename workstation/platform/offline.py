"""The network guard: while active, any connection or name lookup beyond loopback raises and is reported.

The product promises that nothing leaves the machine. Libraries we use have habits of their own
(Hugging Face hub look-ups, argostranslate's sentence splitter fetching a model at first use), so the
CLI, the app and the test suite all run with this guard on. The single exception is the explicit,
user-started `workstation models install-argos` download, which runs inside `allow_network()`.

Processing on the organisation's own machines (`workstation cluster`, services/cluster.py) needs one narrower
opening: `allow_peers(hosts)` lets this process reach the named hosts only (the cluster's scheduler; on the
scheduler, each worker that registered with a certificate of the organisation's CA). Everything else stays blocked.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from workstation.platform.errors import WorkstationError

log = logging.getLogger(__name__)

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    # ONNX Runtime (Silero VAD inside faster-whisper) otherwise queues telemetry events, keeps a device id in
    # ~/.cache/Microsoft/DeveloperTools/ and resolves mobile.events.data.microsoft.com from C++ threads, below
    # this guard. It reads the variable when its environment is created, so it must be set before any model loads.
    "ORT_DISABLE_TELEMETRY": "1",
}


class NetworkBlockedError(WorkstationError, ConnectionRefusedError):
    """Raised instead of opening a connection that would leave this machine.

    It is also a ConnectionError so that libraries treat it as 'offline' and fall back gracefully.
    """


@dataclass(frozen=True)
class BlockedAttempt:
    kind: str  # "connect" or "resolve"
    target: str


_lock = threading.Lock()
_attempts: list[BlockedAttempt] = []
_active = False
_allow_depth = 0
_originals: dict[str, Any] = {}
_peers: Counter[str] = Counter()  # host names and addresses allowed by allow_peers(), with their holders


def _is_loopback_host(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain", "", None):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _is_peer(host: str) -> bool:
    with _lock:
        return _peers[host] > 0 or _peers[host.split("%")[0].lower()] > 0


def _address_allowed(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    if isinstance(address, tuple) and address:
        return _is_loopback_host(str(address[0])) or _is_peer(str(address[0]))
    return False


def _block(kind: str, target: str) -> None:
    attempt = BlockedAttempt(kind, target)
    with _lock:
        _attempts.append(attempt)
    log.warning("network guard blocked %s to %s", kind, target)
    raise NetworkBlockedError(
        f"Blocked an attempt to reach {target} over the network: Testimony Workstation works offline only."
    )


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if _allow_depth == 0 and not _address_allowed(self.family, address):
        _block("connect", repr(address))
    return _originals["connect"](self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if _allow_depth == 0 and not _address_allowed(self.family, address):
        _block("connect", repr(address))
    return _originals["connect_ex"](self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host) if host is not None else ""
    if _allow_depth == 0 and not _is_loopback_host(name) and not _is_peer(name):
        _block("resolve", name)
    return _originals["getaddrinfo"](host, *args, **kwargs)


def activate() -> None:
    """Turn the guard on for this process (idempotent) and set the libraries' offline switches.

    The switches are forced, not defaulted: an inherited ORT_DISABLE_TELEMETRY=0 must not turn telemetry back on.
    """
    global _active
    os.environ.update(OFFLINE_ENV)
    with _lock:
        if _active:
            return
        _originals.update(
            connect=socket.socket.connect, connect_ex=socket.socket.connect_ex, getaddrinfo=socket.getaddrinfo
        )
        # setattr: the guard replaces library functions whose exact signatures typeshed spells differently
        setattr(socket.socket, "connect", _guarded_connect)  # noqa: B010
        setattr(socket.socket, "connect_ex", _guarded_connect_ex)  # noqa: B010
        setattr(socket, "getaddrinfo", _guarded_getaddrinfo)  # noqa: B010
        _active = True


def disable_native_telemetry() -> bool:
    """Switch ONNX Runtime's telemetry off in this process too (the environment variable covers its start-up).

    Called where the models run (the sealed worker), after the variable is set. True when onnxruntime is there.
    """
    os.environ.update(OFFLINE_ENV)
    try:
        import onnxruntime
    except ImportError:
        return False
    onnxruntime.disable_telemetry_events()
    return True


def is_active() -> bool:
    return _active


def blocked_attempts() -> list[BlockedAttempt]:
    with _lock:
        return list(_attempts)


def exit_status() -> int:
    """For scripts: print any blocked attempt and return 1, else 0 (a benchmark that tried to reach out fails)."""
    attempts = blocked_attempts()
    if attempts:
        print(f"network attempts blocked: {attempts}")  # noqa: T201  (the benchmark scripts' report)
    return 1 if attempts else 0


def clear_attempts() -> None:
    with _lock:
        _attempts.clear()


@contextmanager
def allow_network() -> Iterator[None]:
    """Lift the guard for an explicit, user-started download (the Argos package index). Nothing else."""
    global _allow_depth
    with _lock:
        _allow_depth += 1
    try:
        yield
    finally:
        with _lock:
            _allow_depth -= 1


def _peer_names(host: str) -> set[str]:
    """The host as given plus the addresses it resolves to (what `connect` will be called with)."""
    names = {host.lower()}
    try:
        resolve = _originals.get("getaddrinfo", socket.getaddrinfo)
        names |= {str(info[4][0]).lower() for info in resolve(host, None)}
    except OSError:
        pass  # unresolvable: the connection will fail on its own, with a clear error from the caller
    return names


@contextmanager
def allow_peers(hosts: Iterable[str]) -> Iterator[None]:
    """Let this process reach these hosts (and only these) inside the block: the cluster's scheduler for the
    workstation and its workers, a registered worker for the scheduler. Every such connection is mutual TLS
    with the organisation's CA (services/cluster.py); nothing else is opened."""
    names: set[str] = set()
    for host in hosts:
        if host and not _is_loopback_host(host):
            names |= _peer_names(host)
    with _lock:
        _peers.update(names)
    try:
        yield
    finally:
        with _lock:
            _peers.subtract(names)
            for name in names:
                if _peers[name] <= 0:
                    del _peers[name]


def allowed_peers() -> set[str]:
    with _lock:
        return {name for name, count in _peers.items() if count > 0}
