"""The sealed worker: no network below Python (namespace, or the seccomp fallback), and the real pipeline in it.

The kernel's answer is what is checked, through ctypes calls that no Python guard sees: a socket to an outside
address cannot be connected (namespace) or not even created (seccomp), a DNS query cannot be sent.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workstation.platform import sandbox
from workstation.platform.config import REPO_ROOT
from workstation.services import intake
from workstation.speech import sealed

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network sealing is Linux-only")

# After sealing, the same calls FFmpeg or ONNX Runtime would make, straight to libc.
NATIVE_PROBE = r"""
import ctypes, ctypes.util, json, os, socket, struct
from workstation.platform import sandbox
result = sandbox.seal()
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

def native_connect(family, kind, host, port):
    fd = libc.socket(family, kind, 0)
    if fd < 0:
        return "socket:" + os.strerror(ctypes.get_errno())
    addr = struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port), socket.inet_aton(host))
    rc = libc.connect(fd, addr, len(addr))
    err = ctypes.get_errno()
    libc.close(fd)
    return "connected" if rc == 0 else "connect:" + os.strerror(err)

def native_sendto(host, port):
    fd = libc.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    if fd < 0:
        return "socket:" + os.strerror(ctypes.get_errno())
    addr = struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port), socket.inet_aton(host))
    rc = libc.sendto(fd, b"\x00" * 12, 12, 0, addr, len(addr))
    err = ctypes.get_errno()
    libc.close(fd)
    return "sent" if rc >= 0 else "sendto:" + os.strerror(err)

unix = libc.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)

def setns_back():
    try:
        fd = os.open("/proc/1/ns/net", os.O_RDONLY)
    except OSError:
        return "refused"
    return "joined" if libc.setns(fd, 0x40000000) == 0 else "refused"

print(json.dumps({
    "setns_back": setns_back(),
    "sealing": str(result.sealing),
    "seccomp": result.seccomp,
    "tcp": native_connect(socket.AF_INET, socket.SOCK_STREAM, "192.0.2.1", 443),
    "udp_dns": native_sendto("8.8.8.8", 53),
    "netlink": "refused" if libc.socket(16, socket.SOCK_RAW, 0) < 0 else "created",
    "inet6": "refused" if libc.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0) < 0 else "created",
    "unix": "ok" if unix >= 0 else "refused",
    "resolved": bool(libc.gethostbyname(b"mobile.events.data.microsoft.com")),
}))
"""


def _native_probe(mode: str) -> dict[str, object]:
    import json

    env = dict(os.environ, WORKSTATION_SEAL=mode)
    out = subprocess.run([sys.executable, "-c", NATIVE_PROBE], check=False, capture_output=True, text=True, env=env,
                         cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@linux_only
def test_by_default_namespace_and_seccomp_both_hold() -> None:
    found = _native_probe("auto")
    assert found["sealing"] in (str(sandbox.Sealing.NAMESPACE), str(sandbox.Sealing.USER_NAMESPACE)), found
    assert found["seccomp"] is True and found["tcp"] == "socket:" + os.strerror(sandbox.EAFNOSUPPORT), found
    if found["sealing"] == str(sandbox.Sealing.USER_NAMESPACE):  # even root cannot re-enter the host's network
        assert found["setns_back"] == "refused", found


@linux_only
def test_namespace_alone_refuses_native_connects_sends_and_lookups() -> None:
    found = _native_probe("namespace")
    assert found["sealing"] in (str(sandbox.Sealing.NAMESPACE), str(sandbox.Sealing.USER_NAMESPACE)), found
    assert found["tcp"] == "connect:" + os.strerror(errno.ENETUNREACH), found  # not even a route out
    assert found["udp_dns"] == "sendto:" + os.strerror(errno.ENETUNREACH), found
    assert found["resolved"] is False and found["unix"] == "ok", found


@linux_only
def test_unprivileged_user_namespace_path_seals_too() -> None:
    found = _native_probe("user-namespace")
    assert found["sealing"] == str(sandbox.Sealing.USER_NAMESPACE) and found["setns_back"] == "refused", found
    assert found["tcp"] == found["udp_dns"].replace("sendto:", "connect:") == "connect:" + os.strerror(errno.ENETUNREACH)


@linux_only
def test_seccomp_fallback_refuses_inet_inet6_and_netlink_sockets() -> None:
    found = _native_probe("seccomp")
    assert found["sealing"] == str(sandbox.Sealing.SECCOMP), found
    assert found["tcp"] == found["udp_dns"] == "socket:" + os.strerror(sandbox.EAFNOSUPPORT), found
    assert found["netlink"] == found["inet6"] == "refused", found
    assert found["unix"] == "ok" and found["resolved"] is False, found


def test_seccomp_program_is_well_formed() -> None:
    raw = sandbox.seccomp_program(0xC000003E, 41)
    assert len(raw) % 8 == 0 and 0 < len(raw) // 8 < 64


@linux_only
def test_worker_reports_how_it_is_sealed() -> None:
    report = sealed.check()
    assert report.sealed and not report.reachable, report
    assert "no network" in report.describe()


def test_unsealed_report_says_so_plainly() -> None:
    report = sealed.SealingReport("none", "no network sealing on darwin", reachable=True)
    assert not report.sealed and report.describe().startswith("WARNING")


@pytest.mark.slow
def test_real_pipeline_runs_in_the_sealed_worker(vault_clip: Path) -> None:
    from workstation.domain.testimony import Segment
    from workstation.speech.pipeline import PipelineOptions

    stages: list[str] = []
    result = sealed.run_pipeline(vault_clip.read_bytes(), PipelineOptions(translate=False, device="cpu"),
                                 progress=lambda f, stage: stages.append(stage))
    assert result.segments and all(isinstance(s, Segment) for s in result.segments)
    assert any(s.ru.strip() for s in result.segments) and result.segments[0].words
    assert result.language == "ru" and result.duration_s > 1
    assert stages, "no progress came back from the worker"


@pytest.mark.slow
def test_worker_errors_arrive_as_the_same_exception() -> None:
    from workstation.speech.media import NotAudioError
    from workstation.speech.pipeline import PipelineOptions

    with pytest.raises(NotAudioError, match="not an audio or video recording"):
        sealed.run_pipeline(b"%PDF-1.4 not a recording " * 100, PipelineOptions(translate=False, device="cpu"))


def test_cancel_stops_the_worker(vault_clip: Path) -> None:
    from workstation.speech.asr import PipelineCancelled
    from workstation.speech.pipeline import PipelineOptions

    cancel = threading.Event()
    with pytest.raises(PipelineCancelled):
        sealed.run_pipeline(vault_clip.read_bytes(), PipelineOptions(translate=False, device="cpu"),
                            progress=lambda f, stage: cancel.set(), cancel=cancel)


def test_a_forged_error_from_the_worker_cannot_name_arbitrary_classes() -> None:
    forged = sealed._rebuild_error({"module": "os", "name": "system", "message": "x"})
    assert isinstance(forged, sealed.SealedWorkerError)
    forged = sealed._rebuild_error({"module": "workstation.speech.sealed", "name": "PACKAGE_PARENT", "message": "x"})
    assert isinstance(forged, sealed.SealedWorkerError)


@linux_only
@pytest.mark.slow
def test_doctor_reports_each_protection_as_checked_here() -> None:
    out = subprocess.run([sys.executable, "-m", "workstation.cli.main", "doctor"], check=False, capture_output=True,
                         text=True, cwd=REPO_ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) >= 6 and all(line.startswith("ok") for line in lines), out.stdout
    assert re.search(r"no network \((user and )?network namespace \+ seccomp filter\)", out.stdout), out.stdout


@pytest.mark.slow
def test_retranslation_runs_in_the_sealed_worker(vault_clip: Path) -> None:
    from workstation.domain.testimony import EnglishRoute, Segment
    from workstation.speech.pipeline import PipelineOptions

    data = vault_clip.read_bytes()
    segments = [Segment(0.0, 2.0, "первая часть"), Segment(2.0, 3.9, "вторая часть")]
    pairs = sealed.retranslate(segments, PipelineOptions(device="cpu"), audio=data)
    assert len(pairs) == 2 and all(isinstance(route, EnglishRoute) for _, route in pairs)
    assert any(text.strip() for text, _ in pairs), pairs


def test_a_malformed_answer_is_a_clear_error_not_a_crash() -> None:
    import io

    with pytest.raises(sealed.SealedWorkerError, match="malformed"):
        sealed.read_frame(io.BytesIO((5).to_bytes(4, "big") + b"{not}"))
    with pytest.raises(sealed.SealedWorkerError, match="malformed"):
        sealed._parsed(sealed.result_from_dict, {"segments": [{"start": "x"}], "language": 1})


SERVER_PROBE = """
import json, socket, subprocess, sys
from workstation.platform import sandbox
from workstation.services import intake
result = sandbox.restrict_server()
def make(family, kind):
    try:
        socket.socket(family, kind).close()
        return "ok"
    except OSError as exc:
        return exc.strerror
child = subprocess.run([sys.executable, "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"],
                       capture_output=True)
print(json.dumps({"seccomp": result.seccomp, "tcp": make(socket.AF_INET, socket.SOCK_STREAM),
                  "tcp6": make(socket.AF_INET6, socket.SOCK_STREAM | socket.SOCK_NONBLOCK),
                  "udp": make(socket.AF_INET, socket.SOCK_DGRAM),
                  "udp6": make(socket.AF_INET6, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC),
                  "unix": make(socket.AF_UNIX, socket.SOCK_DGRAM), "child_udp_refused": child.returncode != 0}))
"""


@linux_only
@pytest.mark.slow
def test_app_server_filter_allows_tcp_and_unix_but_no_udp_for_it_and_its_children() -> None:
    import json

    out = subprocess.run([sys.executable, "-c", SERVER_PROBE], check=False, capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    refused = os.strerror(sandbox.EAFNOSUPPORT)
    assert found == {"seccomp": True, "tcp": "ok", "tcp6": "ok", "udp": refused, "udp6": refused, "unix": "ok",
                     "child_udp_refused": True}, found


@pytest.mark.slow
def test_an_upload_is_checked_in_the_sealed_worker_not_in_the_app(vault_clip: Path, vault_editor,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Intake parses untrusted bytes: `ingest_recording` asks the worker, never FFmpeg in the process with the keys."""
    from workstation.domain.testimony import TestimonyMeta
    from workstation.speech import media

    info = sealed.probe(vault_clip.read_bytes())
    assert info.container == "wav" and info.duration_s > 1.0
    with pytest.raises(media.NotAudioError):
        sealed.probe(b"v=0\r\no=- 0 0 IN IP4 239.1.2.3\r\ns=x\r\nc=IN IP4 239.1.2.3\r\nm=audio 5004 RTP/AVP 0\r\n")

    def no_parsing_here(*_a, **_k):
        raise AssertionError("media.probe ran in the app process")

    monkeypatch.setattr(media, "probe", no_parsing_here)
    vault_editor.create_testimony(TestimonyMeta("SEALED-1"))
    recorded = intake.seal_recording(vault_editor, "SEALED-1", vault_clip.read_bytes(), "clip.wav")
    assert recorded.duration_s == pytest.approx(info.duration_s)
