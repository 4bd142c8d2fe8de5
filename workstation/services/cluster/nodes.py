"""The cluster's scheduler and workers: Dask's own, with mutual TLS of the organisation's CA and nothing on disk.

What is Dask's and what is ours: scheduling, retries, rescheduling after a lost worker, the wire protocol and
TLS are Dask's (`distributed.Scheduler`, `distributed.Worker`, `distributed.Security`). Ours are admission
checks on top of them, made where a connection is handed to its handler (`handle_comm`), after OpenSSL has
verified the peer's certificate against the CA and the CRL:

- who may connect: to the scheduler, certificates of role `client` or `worker`; to a worker, `scheduler` or
  `worker` (a client certificate cannot fetch data from a worker nor run anything there);
- what each role may ask the scheduler: only a `worker` certificate registers as a worker (and so receives
  recordings), only the `client` certificate registers as a client, gathers results, scatters, broadcasts;
- a serial revoked after the process started (the CRL is re-read every 2 s) is refused from then on, and a
  connected worker or client holding it is dropped.

Nothing is written: `Worker(data={})` is a plain dict (no spill buffer can exist), memory target/spill/pause
are off, the worker's local directory and TMPDIR are a private folder in /dev/shm (RAM) removed at exit.
There is no plain TCP listener: `require_encryption` refuses `tcp://`, the HTTP server Dask always starts is
bound to 127.0.0.1 with no routes (no dashboard, no /info, no metrics), code execution handlers
(`run_function`, a worker's `run`/`run_coroutine`) are blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import shutil
import signal
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
from distributed import Scheduler, Security, Worker
from distributed.comm import connect
from distributed.comm.core import FatalCommClosedError
from distributed.core import Status
from tornado.ioloop import PeriodicCallback

from workstation.platform import offline, tls
from workstation.platform.errors import WorkstationError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8786
_MESSAGE = re.compile(r"""'message': (['"])(.*?)\1""")
SCHEDULER_PEERS = frozenset({"client", "worker"})
WORKER_PEERS = frozenset({"scheduler", "worker"})
# Scheduler operations that hand out results or act on the whole cluster: the workstation's certificate only.
CLIENT_ONLY_OPS = ("register-client", "gather", "scatter", "broadcast", "proxy", "cancel", "restart",
                   "retire_workers", "rebalance", "replicate", "get_task_stream", "dump_cluster_state_to_url")
DASK_CONFIG: dict[str, Any] = {
    "distributed.comm.require-encryption": True,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
    "distributed.scheduler.blocked-handlers": ["run_function"],
    "distributed.worker.blocked-handlers": ["run", "run_coroutine"],
    "distributed.worker.profile.enabled": False,
    # monitoring only (event-loop latency, the dashboard's memory graphs): every 20 ms / 500 ms by default, a
    # few per cent of a core on an idle node; a worker waiting all night for the next recording should not
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.large-graph-warning-threshold": "1GB",  # windows of audio travel in the task itself
}


class ClusterError(WorkstationError):
    """Processing on the cluster failed; the message says what to do."""


def configure_dask() -> None:
    """Apply the cluster's Dask settings to this process (scheduler, worker and workstation alike)."""
    dask.config.set(DASK_CONFIG)


class CertifiedSecurity(Security):
    """Dask's `Security` for one machine folder: mutual TLS 1.3, the CA's CRL checked in every handshake."""

    def __init__(self, files: tls.MachineFiles) -> None:
        role = files.role
        super().__init__(
            require_encryption=True,
            tls_min_version=ssl.TLSVersion.TLSv1_3,
            tls_ca_file=str(files.ca),
            **{f"tls_{role}_cert": str(files.cert), f"tls_{role}_key": str(files.key)},
        )
        self.files = files

    def _get_tls_context(self, tls_config: dict[str, Any], purpose: ssl.Purpose) -> ssl.SSLContext | None:
        ctx = super()._get_tls_context(tls_config, purpose)
        if ctx is not None:
            ctx.load_verify_locations(cafile=str(self.files.crl))
            ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF  # a revoked peer fails the handshake
        return ctx


def security(tls_dir: Path, role: str) -> Security:
    """`distributed.Security` for `role` from its certificate folder (require_encryption, mutual, CRL)."""
    return CertifiedSecurity(tls.machine_files(Path(tls_dir), role))


def peer_identity(comm: Any) -> tls.Identity | None:
    """The verified certificate identity of the other end of a Dask comm (None: not TLS)."""
    info = getattr(comm, "extra_info", None) or {}
    return tls.identity_of_peer(info.get("peercert"))


class _Admission:
    """The checks shared by the scheduler and the workers: role allowed here, serial not revoked."""

    def __init__(self, files: tls.MachineFiles, roles: frozenset[str]) -> None:
        self.revocations = tls.Revocations(files)
        self.roles = roles

    def refusal(self, comm: Any) -> str | None:
        """Why this connection is refused, or None when it is admitted."""
        who = peer_identity(comm)
        if who is None:
            text = "No certificate."
        elif self.revocations.revoked(who.serial):
            text = f"The certificate {who.name!r} has been revoked."
        elif who.role not in self.roles:
            text = f"A {who.role} certificate ({who.name!r}) may not connect here."
        else:
            return None
        log.warning("refused a connection from %s: %s", getattr(comm, "peer_address", "?"), text)
        return text

    def handle(self, comm: Any, admitted: Callable[[Any], Any]) -> Any:
        text = self.refusal(comm)
        return admitted(comm) if text is None else _turn_away(comm, text)


async def _turn_away(comm: Any, text: str) -> None:
    """Answer a refused peer's registration with the reason (a worker then stops with it, a client raises it)
    and close; any other request just sees the connection close."""
    try:
        msg = await asyncio.wait_for(comm.read(), 5.0)
        op = msg.get("op") if isinstance(msg, dict) else None
        if op == "register-worker":
            await comm.write({"status": "error", "message": text, "time": time.time()})
        elif op == "register-client":
            await comm.write([{"op": "stream-start", "error": text}])
    except Exception:
        pass
    finally:
        comm.abort()


class CertifiedScheduler(Scheduler):
    """Dask's scheduler with the admission checks of this module (see the module docstring)."""

    def __init__(self, *args: Any, files: tls.MachineFiles, **kwargs: Any) -> None:
        self._admission = _Admission(files, SCHEDULER_PEERS)
        self._peer_stack = contextlib.ExitStack()
        self._swept: frozenset[int] = frozenset()
        super().__init__(*args, **kwargs)
        for op in CLIENT_ONLY_OPS:
            if op in self.handlers:
                self.handlers[op] = self._only("client", op, self.handlers[op])
        self.handlers["register-worker"] = self._only("worker", "register-worker", self.handlers["register-worker"])
        self.periodic_callbacks["revocations"] = PeriodicCallback(self._sweep_revoked, 2000)

    def handle_comm(self, comm: Any) -> Any:
        return self._admission.handle(comm, super().handle_comm)

    def _only(self, role: str, op: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        takes_comm = next(iter(inspect.signature(handler).parameters), None) == "comm"

        async def guarded(comm: Any, **msg: Any) -> Any:
            who = peer_identity(comm)
            if who is None or who.role != role:
                return await self._refuse(comm, op, who)
            if op == "register-worker":
                self._allow_worker_host(msg.get("address", ""))
            result = handler(comm, **msg) if takes_comm else handler(**msg)
            return await result if inspect.isawaitable(result) else result

        guarded.__name__ = getattr(handler, "__name__", op)
        return guarded

    async def _refuse(self, comm: Any, op: str, who: tls.Identity | None) -> Any:
        text = (f"The certificate {who.name!r} is a {who.role} certificate: it may not {op.replace('-', ' ')} "
                "on this cluster." if who else "No certificate.")
        log.warning("refused %s from %s: %s", op, getattr(comm, "peer_address", "?"), text)
        if op == "register-client":  # the client waits for this message and raises its error
            await comm.write([{"op": "stream-start", "error": text}])
        elif op == "register-worker":
            await comm.write({"status": "error", "message": text, "time": time.time()})
        else:
            raise ClusterError(text)
        return Status.dont_reply

    def _allow_worker_host(self, address: str) -> None:
        """The scheduler may connect back to a certified worker's host (the network guard blocks the rest)."""
        host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
        if host and host not in offline.allowed_peers():
            self._peer_stack.enter_context(offline.allow_peers([host]))

    def _sweep_revoked(self) -> None:
        """Drop connected workers and clients whose certificate has been revoked since they connected."""
        self._admission.revocations.refresh()
        serials = self._admission.revocations.serials
        if serials == self._swept:
            return
        self._swept = serials
        for address, stream in list(self.stream_comms.items()):
            who = peer_identity(getattr(stream, "comm", None))
            if who is not None and who.serial in serials:
                log.warning("dropping worker %s: its certificate %r was revoked", address, who.name)
                # Dask annotates call_soon narrower than its own remove_worker returns
                self._ongoing_background_tasks.call_soon(
                    self.remove_worker,  # type: ignore[arg-type]
                    address=address, stimulus_id=f"certificate-revoked-{time.time()}", close=True)
        for client, stream in list(self.client_comms.items()):
            who = peer_identity(getattr(stream, "comm", None))
            if who is not None and who.serial in serials and stream.comm is not None:
                log.warning("dropping client %s: its certificate was revoked", client)
                stream.comm.abort()

    async def close(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().close(*args, **kwargs)
        finally:
            self._peer_stack.close()


class CertifiedWorker(Worker):
    """Dask's worker, reachable only by the scheduler and other workers of the organisation's CA."""

    def __init__(self, *args: Any, files: tls.MachineFiles, **kwargs: Any) -> None:
        self._admission = _Admission(files, WORKER_PEERS)
        super().__init__(*args, **kwargs)

    def handle_comm(self, comm: Any) -> Any:
        return self._admission.handle(comm, super().handle_comm)


# --- running them ----------------------------------------------------------------------------------


def scheduler_address(host: str, port: int) -> str:
    return f"tls://{host}:{port}" if ":" not in host else f"tls://[{host}]:{port}"


async def run_scheduler(tls_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                        ready: Callable[[str], None] | None = None) -> None:
    """Serve as the cluster's scheduler until stopped (SIGINT/SIGTERM close it cleanly)."""
    configure_dask()
    files = tls.machine_files(Path(tls_dir), "scheduler")
    scheduler = CertifiedScheduler(
        files=files, security=CertifiedSecurity(files), host=host, port=port,
        dashboard=False, dashboard_address="127.0.0.1:0",
    )
    async with scheduler:
        _close_on_signals(scheduler)
        if ready is not None:
            ready(scheduler.address)
        await scheduler.finished()


def start_scheduler(tls_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                    ready: Callable[[str], None] | None = None) -> None:
    """Blocking: `run_scheduler` in this process (the `workstation cluster scheduler` command)."""
    asyncio.run(run_scheduler(tls_dir, host, port, ready))


async def run_worker(address: str, tls_dir: Path, nthreads: int = 1, *, host: str | None = None,
                     ready: Callable[[str], None] | None = None) -> bool:
    """Serve as a worker of the scheduler at `address` (tls://HOST:PORT) until stopped (True: SIGINT/SIGTERM)
    or until the scheduler goes away or drops it (False; Dask's worker ends with its scheduler connection)."""
    configure_dask()
    files = tls.machine_files(Path(tls_dir), "worker")
    sec = CertifiedSecurity(files)
    stop = asyncio.Event()
    _on_signals(stop.set)
    with private_workspace() as workspace, offline.allow_peers([_host_of(address)]):
        await _check_certificates(address, sec, files)
        worker = CertifiedWorker(
            address, files=files, security=sec, nthreads=nthreads, host=host,
            name=f"{files.name}:{os.getpid()}", data={}, memory_limit=0, local_directory=str(workspace),
            dashboard=False, dashboard_address="127.0.0.1:0", resources=None,
        )
        try:
            if not await _until_stopped(_join(worker), stop):
                await worker.close(reason="stopped")
                return True
        except (OSError, ValueError, RuntimeError) as exc:  # Dask wraps the scheduler's refusal in RuntimeError
            await worker.close(reason="could not join")
            raise ClusterError(
                f"This worker could not join the scheduler at {address}: {_refusal_text(exc)} Check the address, "
                f"that the scheduler runs, and that {files.folder} holds a certificate of the same CA that is not "
                "revoked."
            ) from exc
        if ready is not None:
            ready(worker.address)
        if not await _until_stopped(worker.finished(), stop):
            await worker.close(reason="stopped")
            return True
        return False


async def _join(worker: Worker) -> bool:
    await worker
    return True


async def _until_stopped(work: Any, stop: asyncio.Event) -> bool:
    """Await `work` unless `stop` is set first (then False, `work` cancelled); `work`'s error is raised."""
    task, stopping = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False
    stopping.cancel()
    task.result()
    return True


async def _check_certificates(address: str, sec: Security, files: tls.MachineFiles) -> None:
    """One connection before joining: a certificate refused in the TLS handshake (revoked, another CA) stops
    the worker with that reason, where Dask would retry forever. An unreachable scheduler is waited for."""
    try:
        comm = await connect(address, timeout=10, **sec.get_connection_args("worker"))
    except OSError as exc:
        if not tls_refused(exc):
            return  # not up yet: Dask keeps trying to reach it
        raise ClusterError(
            f"The scheduler at {address} and this worker did not accept each other's certificates (revoked, or "
            f"of another CA). Ask for a new certificate folder for {files.name!r}."
        ) from exc
    await comm.close()


def _refusal_text(exc: BaseException) -> str:
    """The scheduler's own words when it refused the registration (Dask quotes its answer), else the error's."""
    current: BaseException | None = exc
    while current is not None:
        found = _MESSAGE.search(str(current))
        if found:
            return found.group(2)
        current = current.__cause__ or current.__context__
    return f"{type(exc).__name__}: {exc}"


def tls_refused(exc: BaseException) -> bool:
    """Whether a failed connection was a TLS refusal (a certificate not accepted, by either side)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError | FatalCommClosedError):  # Dask's "TLS certificate does not match"
            return True
        current = current.__cause__ or current.__context__
    return False


def start_worker(address: str, tls_dir: Path, nthreads: int = 1, *, host: str | None = None,
                 ready: Callable[[str], None] | None = None, rejoin: bool = True) -> None:
    """Blocking: `run_worker` in this process (the `workstation cluster worker` command). With `rejoin`, a
    worker whose scheduler went away waits for it and joins again (a fresh Dask worker, a fresh RAM folder), so
    the queue resumes when the scheduler is back; a refused certificate ends it with ClusterError."""
    if not address.startswith("tls://"):
        raise ClusterError(f"{address} is not a tls:// address: the cluster speaks mutual TLS only.")
    while not asyncio.run(run_worker(address, tls_dir, nthreads, host=host, ready=ready)) and rejoin:
        log.warning("the scheduler at %s went away; joining again when it is back", address)
        time.sleep(2.0)


@contextlib.contextmanager
def private_workspace() -> Iterator[Path]:
    """A 0700 folder in RAM (/dev/shm) for Dask's worker directory and every temporary file of this process
    and the sealed workers it starts (TMPDIR); removed, whatever is in it, when the worker stops."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="workstation-worker-", dir=base))
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        yield folder
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
        shutil.rmtree(folder, ignore_errors=True)


def _host_of(address: str) -> str:
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0].strip("[]")


def _on_signals(callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, callback)


def _close_on_signals(server: Any) -> None:
    _on_signals(lambda: asyncio.ensure_future(server.close()))
