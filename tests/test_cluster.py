"""Processing on the organisation's machines (issue 15): a real Dask scheduler and worker processes on loopback,
mutual TLS with a CA made by `workstation cluster init`.

Without Whisper: the CA's files and roles, what is refused (plain tcp://, another CA, a revoked certificate, a
certificate used for the wrong role), no plain listener, the network guard's opening, the cuts at silences.
With Whisper (slow): the cluster gives the transcript local processing gives; a worker SIGKILLed in the middle
of a window loses and duplicates nothing; the workers' home and temp folders hold no plaintext afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fixtures_pipeline import normalise
from workstation.platform import offline, tls

REPO = Path(__file__).resolve().parents[1]
CLIPS_A = ("voxforge_tiny_ru_0030", "voxforge_tiny_ru_0031")  # clips the base model hears well (WER <= 0.17)
CLIPS_B = ("voxforge_tiny_ru_0032", "pisets_test_sound_ru")
GAP_S = 1.2
MAX_WER = 0.12  # against local processing of the same recording (thread layouts differ: not bit-exact)


# --- nodes: `workstation cluster scheduler|worker` in their own processes ------------------------------


class Node:
    """One `workstation cluster ...` process with its own HOME and TMPDIR (searched for plaintext later)."""

    def __init__(self, root: Path, label: str, args: list[str]) -> None:
        self.label = label
        self.home, self.tmp = root / f"{label}-home", root / f"{label}-tmp"
        self.home.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.log = root / f"{label}.log"
        env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(self.home), TMPDIR=str(self.tmp))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workstation.cli.main", "cluster", *args], stdout=subprocess.PIPE,
            stderr=self.log.open("wb"), env=env, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, pattern: str, timeout: float = 90.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
            if line == "" and self.proc.poll() is not None:
                break
        raise AssertionError(f"{self.label}: no {pattern!r} in {seen!r}; log: {self.log.read_text()[-2000:]}")

    def output(self, timeout: float = 60.0) -> str:
        """Everything it printed, once it has exited by itself."""
        self.proc.wait(timeout=timeout)
        text = []
        while not self.lines.empty():
            text.append(self.lines.get())
        return "".join(text) + self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclasses.dataclass
class Cluster:
    address: str
    scheduler: Node
    workers: list[Node]
    root: Path

    def worker(self, machine: str) -> Node:
        return next(w for w in self.workers if w.label == machine)

    def stop(self) -> None:
        for node in [*self.workers, self.scheduler]:
            node.stop()


def start_scheduler(root: Path, tls_dir: Path, label: str = "scheduler") -> Node:
    return Node(root, label, ["scheduler", "--tls", str(tls_dir), "--port", "0"])


def start_worker(root: Path, address: str, tls_dir: Path, label: str) -> Node:
    return Node(root, label, ["worker", address, "--tls", str(tls_dir), "--nthreads", "1"])


def start_cluster(root: Path, ca: Path, workers: tuple[str, ...] = ("worker-1", "worker-2")) -> Cluster:
    scheduler = start_scheduler(root, ca / "scheduler")
    address = scheduler.wait_for(r"listening at (tls://\S+)").group(1)
    nodes = [start_worker(root, address, ca / name, name) for name in workers]
    for node in nodes:
        node.wait_for(r"Worker listening at")
    return Cluster(address, scheduler, nodes, root)


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cluster") / "tls"
    tls.init_ca(folder, workers=2)
    return folder


@pytest.fixture(scope="module")
def cluster(ca_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("nodes"), ca_dir)
    yield running
    running.stop()


def workers_named(address: str, ca: Path) -> list[str]:
    from workstation.services import cluster as service

    with service.connect(address, ca / "client") as client:
        return sorted(str(w["name"]).split(":")[0] for w in client.scheduler_info()["workers"].values())


def eventually(check, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


# --- the CA ------------------------------------------------------------------------------------------


def test_init_makes_a_private_ca_and_certificates_that_carry_their_role(ca_dir: Path) -> None:
    assert (ca_dir.stat().st_mode & 0o777) == 0o700
    assert (ca_dir / "ca" / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    ca = x509.load_pem_x509_certificate((ca_dir / "ca" / "ca.pem").read_bytes())
    roles = (("scheduler", "scheduler"), ("client", "client"), ("worker-1", "worker"), ("worker-2", "worker"))
    for name, role in roles:
        folder = ca_dir / name
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "key.pem").stat().st_mode & 0o777 == 0o600
        cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
        assert cert.issuer == ca.subject
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
        assert tls.identity_of_cert(cert) == tls.Identity(name, role, cert.serial_number)
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        server = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usages
        assert server == (role != "client")  # the workstation's certificate can never serve as a node
        assert tls.machine_files(folder, role).name == name
    with pytest.raises(tls.TlsError):
        tls.machine_files(ca_dir / "worker-1", "client")  # a worker's folder is not the workstation's
    with pytest.raises(tls.TlsError):
        tls.init_ca(ca_dir)  # never over an existing CA


def test_issue_and_revoke_re_sign_the_crl_everywhere(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    tls.init_ca(folder, workers=1)
    extra = tls.issue(folder, "gpu-1")
    assert (folder / "gpu-1" / "key.pem").stat().st_mode & 0o777 == 0o600
    with pytest.raises(tls.TlsError):
        tls.issue(folder, "gpu-1")
    with pytest.raises(tls.TlsError):
        tls.issue(folder, "../evil")
    tls.revoke(folder, "gpu-1")
    for machine in ("scheduler", "client", "worker-1", "gpu-1", "ca"):
        revoked = tls.revoked_serials(folder / machine / "crl.pem", folder / "ca" / "ca.pem")
        assert revoked == {extra.serial}
    other = tmp_path / "other"
    tls.init_ca(other, workers=0)
    with pytest.raises(tls.TlsError):  # a CRL signed by another CA is never taken
        tls.revoked_serials(other / "ca" / "crl.pem", folder / "ca" / "ca.pem")


def test_security_is_mutual_tls_with_the_crl(ca_dir: Path) -> None:
    from workstation.services import cluster as service

    sec = service.security(ca_dir / "client", "client")
    assert sec.require_encryption is True
    ctx = sec.get_connection_args("client")["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    listen = service.security(ca_dir / "worker-1", "worker").get_listen_args("worker")["ssl_context"]
    assert listen.verify_mode == ssl.CERT_REQUIRED  # a worker demands a certificate from whoever connects


# --- the network guard ---------------------------------------------------------------------------------


def test_the_guard_opens_only_for_the_named_peer() -> None:
    peer, other = "192.0.2.10", "192.0.2.11"  # TEST-NET-1: never routed
    def attempt(host: str) -> type[BaseException] | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(0.05)
        try:
            sock.connect((host, 8786))
        except BaseException as exc:
            return type(exc)
        finally:
            sock.close()
        return None

    with offline.allow_peers([peer]):
        assert attempt(peer) is not offline.NetworkBlockedError
        assert attempt(other) is offline.NetworkBlockedError
    assert attempt(peer) is offline.NetworkBlockedError
    assert [a.target for a in offline.blocked_attempts()] == [repr((other, 8786)), repr((peer, 8786))]
    offline.clear_attempts()  # the two blocked attempts were the point of this test


# --- cutting at silences -------------------------------------------------------------------------------


def _recording(names: tuple[str, ...]) -> tuple[bytes, np.ndarray]:
    from tests.conftest import EVAL_ASR
    from workstation.speech import media

    parts: list[np.ndarray] = []
    for name in names:
        samples = media.decode((EVAL_ASR / "wav" / f"{name}.wav").read_bytes())
        parts += [samples, np.zeros(int(16000 * GAP_S), np.float32)]
    samples = np.concatenate(parts)
    return media.wav_bytes(samples), samples


def test_windows_are_cut_only_in_silence_and_cover_everything() -> None:
    from workstation.speech import sealed
    from workstation.speech.asr import find_speech

    data, samples = _recording(CLIPS_A + CLIPS_B)
    windows = list(sealed.split(data, parts=4, min_s=6, max_s=600))
    assert len(windows) >= 3
    assert windows[0].start_s == 0 and abs(windows[-1].end_s - samples.size / 16000) < 0.01
    for before, after in zip(windows, windows[1:]):
        assert before.end_s == after.start_s  # contiguous: nothing between two windows is dropped
    speech = find_speech(samples)
    for window in windows[1:]:
        cut = int(window.start_s * 16000)
        assert not any(start <= cut < end for start, end in speech), f"cut at {window.start_s:.2f} s is in speech"


def test_stitching_shifts_times_and_keeps_the_order() -> None:
    from workstation.domain.testimony import Segment, Word
    from workstation.services.cluster import remote
    from workstation.speech import sealed
    from workstation.speech.pipeline import PipelineResult

    def answer(text: str, start: float, end: float) -> dict:
        seg = Segment(start, end, text, words=[Word(start, end, text, 0.9)])
        return sealed.result_to_dict(PipelineResult([seg], "ru", 0.9, end + 1, [], {"asr": "base", "asr_sha256": "x"}))

    parts = [remote._Part(sealed.Window(0, 0.0, 10.0, b""), answer=answer("один", 1.0, 2.0)),
             remote._Part(sealed.Window(1, 10.0, 25.0, b""), answer=answer("два", 0.5, 1.5))]
    result = remote._stitch(parts)
    assert [(s.start, s.end, s.ru) for s in result.segments] == [(1.0, 2.0, "один"), (10.5, 11.5, "два")]
    assert result.segments[1].words[0].start == 10.5 and result.duration_s == 25.0
    assert result.warnings == []


# --- what the cluster refuses ----------------------------------------------------------------------------


def test_plain_tcp_is_refused(cluster: Cluster, ca_dir: Path) -> None:
    import dask
    from distributed import Client

    from workstation.services import cluster as service

    with pytest.raises(service.ClusterError):
        service.process_remote(b"", None, cluster.address.replace("tls://", "tcp://"), ca_dir / "client")
    host, port = cluster.address.removeprefix("tls://").rsplit(":", 1)
    with dask.config.set({"distributed.comm.require-encryption": False}), pytest.raises((OSError, TimeoutError)):
        Client(f"tcp://{host}:{port}", timeout=3, set_as_default=False)  # Dask's own plain protocol
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # anything plain: no answer but TLS's
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            answer = sock.recv(100)
        except ConnectionResetError:
            answer = b""  # dropped
    assert b"HTTP" not in answer


def test_certificates_of_another_ca_are_refused(cluster: Cluster, ca_dir: Path, tmp_path: Path) -> None:
    from workstation.services import cluster as service

    other = tmp_path / "other"
    tls.init_ca(other, workers=1)
    with pytest.raises(service.ClusterRefusedError):
        with service.connect(cluster.address, other / "client", timeout_s=5):
            pass
    stranger = start_worker(tmp_path, cluster.address, other / "worker-1", "stranger")
    assert "did not accept each other's certificates" in stranger.output()
    assert stranger.proc.returncode == 1
    assert workers_named(cluster.address, ca_dir) == ["worker-1", "worker-2"]


def test_roles_hold_a_worker_cannot_be_the_client_nor_the_client_a_worker(cluster: Cluster, ca_dir: Path) -> None:
    from distributed import Client, Security, Worker

    from workstation.services.cluster import nodes

    nodes.configure_dask()
    worker_files = ca_dir / "worker-1"
    as_client = Security(require_encryption=True, tls_ca_file=str(worker_files / "ca.pem"),
                         tls_client_cert=str(worker_files / "cert.pem"), tls_client_key=str(worker_files / "key.pem"))
    with pytest.raises(ImportError, match="worker certificate"):  # the scheduler's refusal of register-client
        Client(cluster.address, security=as_client, timeout=5, set_as_default=False)

    client_files = ca_dir / "client"
    as_worker = Security(require_encryption=True, tls_ca_file=str(client_files / "ca.pem"),
                         tls_worker_cert=str(client_files / "cert.pem"), tls_worker_key=str(client_files / "key.pem"))

    async def join() -> None:
        worker = Worker(cluster.address, security=as_worker, nthreads=1, data={}, dashboard_address="127.0.0.1:0")
        try:
            await worker
        finally:
            await worker.close()

    with pytest.raises((RuntimeError, ValueError, OSError)):
        asyncio.run(join())
    assert workers_named(cluster.address, ca_dir) == ["worker-1", "worker-2"]


def test_a_revoked_worker_is_dropped_and_refused(cluster: Cluster, ca_dir: Path, tmp_path: Path) -> None:
    tls.issue(ca_dir, "worker-9")
    late = start_worker(tmp_path, cluster.address, ca_dir / "worker-9", "worker-9")
    late.wait_for(r"Worker listening at")
    assert eventually(lambda: "worker-9" in workers_named(cluster.address, ca_dir))

    tls.revoke(ca_dir, "worker-9")  # the running scheduler re-reads its crl.pem
    assert eventually(lambda: "worker-9" not in workers_named(cluster.address, ca_dir))
    late.proc.wait(timeout=30)  # dropped by the scheduler: it stops
    again = start_worker(tmp_path, cluster.address, ca_dir / "worker-9", "worker-9-again")
    assert "'worker-9' has been revoked" in again.output()
    assert again.proc.returncode == 1

    # a scheduler started after the revocation refuses it in the TLS handshake itself (OpenSSL reads the CRL)
    fresh = start_scheduler(tmp_path, ca_dir / "scheduler", "fresh-scheduler")
    try:
        address = fresh.wait_for(r"listening at (tls://\S+)").group(1)
        third = start_worker(tmp_path, address, ca_dir / "worker-9", "worker-9-third")
        assert "did not accept each other's certificates" in third.output()
    finally:
        fresh.stop()


def test_nothing_listens_in_plain_beyond_loopback(cluster: Cluster, ca_dir: Path, tmp_path: Path) -> None:
    """Only the TLS port faces the network; Dask's HTTP server (always started) is on loopback with no routes."""
    open_scheduler = start_scheduler(tmp_path, ca_dir / "scheduler", "open-scheduler")
    try:
        tls_port = int(open_scheduler.wait_for(r"listening at (tls://\S+)").group(1).rsplit(":", 1)[1])
        nodes = [(open_scheduler, tls_port), *((w, _worker_port(w)) for w in cluster.workers)]
        for node, port in nodes:
            listening = [c.laddr for c in psutil.Process(node.proc.pid).net_connections("inet")
                         if c.status == psutil.CONN_LISTEN]
            assert any(a.port == port for a in listening), node.label
            for address in listening:
                if address.port == port:
                    continue
                assert address.ip == "127.0.0.1", f"{node.label} listens in plain on {address}"
                for path in ("/info/main/workers.html", "/json/counts.json", "/metrics", "/status", "/health"):
                    with pytest.raises(urllib.error.HTTPError) as err:
                        urllib.request.urlopen(f"http://127.0.0.1:{address.port}{path}", timeout=5)
                    assert err.value.code == 404
    finally:
        open_scheduler.stop()


def _worker_port(node: Node) -> int:
    found = re.search(r"Listening to:\s+tls://[\d.]+:(\d+)", node.log.read_text(errors="replace"))
    assert found, node.label
    return int(found.group(1))


def _workspace(node: Node) -> Path:
    """The worker's private folder in RAM (Dask logs its local directory inside it)."""
    found = re.search(r"Local Directory:\s+(\S+)", node.log.read_text(errors="replace"))
    assert found, node.label
    path = Path(found.group(1))
    while not path.name.startswith("workstation-worker-"):
        path = path.parent
    return path


def test_an_unreachable_scheduler_is_reported_and_the_runner_waits_or_fails(ca_dir: Path) -> None:
    from workstation.services import cluster as service
    from workstation.speech.asr import PipelineCancelled

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"tls://127.0.0.1:{sock.getsockname()[1]}"  # closed once the block ends: nobody listens
    with pytest.raises(service.ClusterUnreachableError, match="could not be reached"):
        with service.connect(address, ca_dir / "client", timeout_s=2):
            pass
    failing = service.cluster_runner(address, ca_dir / "client", on_lost="fail", connect_timeout_s=1)
    cancel = threading.Event()
    with pytest.raises(service.ClusterUnreachableError):
        failing(b"x", None, lambda f, s: None, cancel)
    stages: list[str] = []
    waiting = service.cluster_runner(address, ca_dir / "client", on_lost="wait", retry_every_s=0.5,
                                     connect_timeout_s=1)
    threading.Timer(3.0, cancel.set).start()
    with pytest.raises(PipelineCancelled):
        waiting(b"x", None, lambda f, s: stages.append(s), cancel)
    assert any("waiting for the cluster scheduler" in s for s in stages)


# --- with Whisper ----------------------------------------------------------------------------------------


def _words(result) -> list[str]:
    return normalise(" ".join(s.ru for s in result.segments)).split()


def _wer(reference: list[str], hypothesis: list[str]) -> float:
    import jiwer

    return jiwer.wer(" ".join(reference), " ".join(hypothesis))


def _assert_in_order(result) -> None:
    for before, after in zip(result.segments, result.segments[1:]):
        assert before.start <= before.end <= after.start + 0.01, "segments overlap: something was written twice"


@pytest.fixture(scope="module")
def recordings() -> dict[str, bytes]:
    return {"a": _recording(CLIPS_A)[0], "b": _recording(CLIPS_B)[0]}


@pytest.fixture(scope="module")
def local_results(whisper_base: Path, recordings: dict[str, bytes]) -> dict:
    from workstation.speech import sealed
    from workstation.speech.pipeline import PipelineOptions

    return {k: sealed.run_pipeline(v, PipelineOptions(translate=False)) for k, v in recordings.items()}


@pytest.fixture(scope="module")
def cluster_results(cluster: Cluster, ca_dir: Path, recordings: dict[str, bytes], whisper_base: Path) -> dict:
    from workstation.services import cluster as service
    from workstation.speech.pipeline import PipelineOptions

    results = {}
    for key, data in recordings.items():
        stages: list[tuple[float, str]] = []
        result = service.process_remote(data, PipelineOptions(translate=False), cluster.address, ca_dir / "client",
                                        progress=lambda f, s, stages=stages: stages.append((f, s)), min_window_s=8)
        results[key] = (result, stages)
    return results


@pytest.mark.slow
def test_the_cluster_gives_the_transcript_local_processing_gives(cluster_results: dict, local_results: dict) -> None:
    for key, (remote_result, stages) in cluster_results.items():
        local = local_results[key]
        assert _wer(_words(local), _words(remote_result)) <= MAX_WER, (key, _words(local), _words(remote_result))
        _assert_in_order(remote_result)
        assert abs(remote_result.duration_s - local.duration_s) < 0.05
        assert remote_result.models["asr_sha256"] == local.models["asr_sha256"]
        assert remote_result.language == local.language == "ru"
        assert stages[-1][0] == pytest.approx(1.0)
        assert any(re.search(r"on worker-\d", s) for _, s in stages), "progress names the busy workers"
        # ("N/M windows done" lines depend on when progress events arrive: not asserted, flaky in a fresh-clone run)


@pytest.mark.slow
def test_a_worker_killed_mid_window_loses_and_duplicates_nothing(ca_dir: Path, tmp_path: Path,
                                                                  recordings: dict[str, bytes],
                                                                  local_results: dict) -> None:
    from workstation.services import cluster as service
    from workstation.speech.pipeline import PipelineOptions

    running = start_cluster(tmp_path, ca_dir)
    killed: dict[str, object] = {}

    def progress(fraction: float, stage: str) -> None:
        found = re.search(r"on (worker-\d)", stage)
        if found and not killed and fraction > 0.02:
            victim = running.worker(found.group(1))
            killed["children"] = psutil.Process(victim.proc.pid).children(recursive=True)
            killed["node"] = victim
            victim.proc.send_signal(signal.SIGKILL)  # mid-window: its sealed worker is transcribing

    try:
        result = service.process_remote(recordings["a"], PipelineOptions(translate=False), running.address,
                                        ca_dir / "client", progress=progress, min_window_s=8)
    finally:
        running.stop()
    assert killed, "no worker was seen busy"
    assert killed["node"].proc.returncode == -signal.SIGKILL
    local = local_results["a"]
    assert _wer(_words(local), _words(result)) <= MAX_WER, (_words(local), _words(result))
    assert len(_words(result)) <= len(_words(local)) + 2  # a window answered twice would double its words
    _assert_in_order(result)
    _gone, alive = psutil.wait_procs(killed["children"], timeout=30)
    assert not alive, "the killed worker's sealed process outlived it"
    # SIGKILL leaves no time to remove the worker's private folder in RAM: it must hold nothing of the recording
    victim = killed["node"]
    leftover = _workspace(victim)
    needles = [w.encode("utf-8") for w in _words(result) if len(w) >= 7]
    needles += [recordings["a"][i:i + 64] for i in (len(recordings["a"]) // 3, 2 * len(recordings["a"]) // 3)]
    assert_no_plaintext([leftover, victim.home, victim.tmp], needles)
    import shutil

    shutil.rmtree(leftover, ignore_errors=True)


@pytest.mark.slow
def test_workers_keep_no_plaintext_in_their_home_and_temp_folders(cluster: Cluster, cluster_results: dict,
                                                                    recordings: dict[str, bytes]) -> None:
    from workstation.speech import sealed

    words = {w for result, _ in cluster_results.values() for w in _words(result) if len(w) >= 7}
    assert words
    needles = [w.encode("utf-8") for w in words]
    for data in recordings.values():
        for window in sealed.split(data, parts=2, min_s=8, max_s=600):
            middle = len(window.audio) // 2
            needles.append(window.audio[middle:middle + 64])  # what travelled to the workers
        needles += [data[len(data) // 3:len(data) // 3 + 64], data[2 * len(data) // 3:2 * len(data) // 3 + 64]]
    workspaces = [_workspace(w) for w in cluster.workers]
    assert all(w.is_dir() for w in workspaces)
    for worker in cluster.workers:
        worker.stop()
    assert not [w for w in workspaces if w.exists()], "a worker's private RAM folder outlived it"
    assert_no_plaintext([p for w in cluster.workers for p in (w.home, w.tmp)], needles)
    for worker in cluster.workers:  # their logs neither
        log = worker.log.read_bytes()
        assert not any(n in log for n in needles), f"plaintext in the log of {worker.label}"


def assert_no_plaintext(folders: list[Path], needles: list[bytes]) -> None:
    files = [f for folder in folders for f in folder.rglob("*") if f.is_file()]
    for path in files:
        content = path.read_bytes()
        assert not any(n in content for n in needles), f"plaintext in {path}"


@pytest.mark.slow
def test_a_lost_scheduler_is_reported_and_the_runner_can_fall_back_to_local(ca_dir: Path, tmp_path: Path,
                                                                            recordings: dict[str, bytes],
                                                                            local_results: dict) -> None:
    from workstation.services import cluster as service
    from workstation.speech.pipeline import PipelineOptions

    running = start_cluster(tmp_path, ca_dir, workers=("worker-1",))
    stopped: list[bool] = []

    def progress(fraction: float, stage: str) -> None:
        if "on worker-1" in stage and not stopped:
            stopped.append(True)
            running.scheduler.proc.send_signal(signal.SIGKILL)  # the scheduler's machine goes away mid-window

    cancel = threading.Event()
    runner = service.cluster_runner(running.address, ca_dir / "client", on_lost="local", connect_timeout_s=2)
    try:
        began = time.monotonic()
        result = runner(recordings["b"], PipelineOptions(translate=False), progress, cancel)
    finally:
        running.stop()
    assert stopped and time.monotonic() - began < 240
    assert any("Processed on this computer" in w and "lost" in w for w in result.warnings), result.warnings
    assert _wer(_words(local_results["b"]), _words(result)) <= MAX_WER
