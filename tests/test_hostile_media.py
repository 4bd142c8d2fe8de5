"""Hostile media: playlists and session descriptions disguised as recordings open no socket.

FFmpeg's sdp, hls, dash and concat demuxers open the addresses written inside the file (the sdp demuxer binds
UDP ports on every interface, or joins a multicast group the file names). `media._open` picks the demuxer from the
leading bytes, lets FFmpeg guess only among recording containers and allows no protocol at all. The proof is
at the syscall level: each file goes through `media.probe` in a child process traced by strace, and not one
AF_INET/AF_INET6 socket is created. A control run opens the same bytes the way FFmpeg would by default, to show
that the trace sees FFmpeg's own sockets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.platform.config import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (scripts/test.sh installs it)")

# Addresses in TEST-NET-1 / multicast: never reachable, and the trace shows any attempt to use them.
HOSTILE: dict[str, bytes] = {
    "sdp": b"v=0\r\no=- 0 0 IN IP4 192.0.2.7\r\ns=x\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
    b"m=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
    "sdp-multicast": b"v=0\r\no=- 0 0 IN IP4 192.0.2.7\r\ns=x\r\nc=IN IP4 239.255.12.42/1\r\nt=0 0\r\n"
    b"m=audio 5006 RTP/AVP 0\r\n",
    "hls": b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://192.0.2.7:9/a.ts\n#EXT-X-ENDLIST\n",
    "dash": b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
    b'mediaPresentationDuration="PT10S"><BaseURL>http://192.0.2.7:9/</BaseURL><Period><AdaptationSet '
    b'mimeType="audio/mp4"><Representation id="a" bandwidth="64000"><SegmentList><SegmentURL media="a.m4s"/>'
    b"</SegmentList></Representation></AdaptationSet></Period></MPD>\n",
    "ffconcat": b"ffconcat version 1.0\nfile 'http://192.0.2.7:9/x.wav'\nfile 'rtp://239.255.12.42:5008'\n",
}

PROBE = """
import sys
from pathlib import Path
from workstation.speech import media
for path in sys.argv[1:]:
    try:
        media.probe(Path(path).read_bytes())
        print(path, "ACCEPTED")
    except media.MediaError as exc:
        print(path, type(exc).__name__)
"""

# What FFmpeg does with the same bytes when it may guess the format and use any protocol (the old av.open).
CONTROL = """
import io, sys
import av
try:
    av.open(io.BytesIO(open(sys.argv[1], "rb").read()), mode="r", timeout=1).close()
except Exception:
    pass
"""

INET_SOCKET = re.compile(r"socket\((AF_INET|AF_INET6|PF_INET|PF_INET6),")


def _traced(tmp_path: Path, script: str, args: list[str]) -> tuple[str, str]:
    """Run `script` under `strace -f` (socket-related syscalls only); (stdout, the trace)."""
    trace = tmp_path / f"trace-{len(list(tmp_path.glob('trace-*')))}.txt"
    cmd = ["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=socket,bind,connect,sendto,sendmsg",
           sys.executable, "-c", script, *args]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout, trace.read_text(errors="replace")


def _disguised(tmp_path: Path) -> list[Path]:
    files = []
    for i, (kind, payload) in enumerate(HOSTILE.items()):
        path = tmp_path / f"{kind}.{('wav', 'm4a', 'mp3')[i % 3]}"
        path.write_bytes(payload)
        files.append(path)
    return files


@pytest.mark.slow
def test_disguised_playlists_and_sdp_are_refused_without_opening_a_socket(tmp_path: Path) -> None:
    files = _disguised(tmp_path)
    stdout, trace = _traced(tmp_path, PROBE, [str(p) for p in files])
    verdicts = dict(line.rsplit(" ", 1) for line in stdout.splitlines())
    assert verdicts == {str(p): "NotAudioError" for p in files}, stdout
    assert not INET_SOCKET.findall(trace), [line for line in trace.splitlines() if INET_SOCKET.search(line)]


@pytest.mark.slow
def test_the_trace_sees_ffmpeg_sockets_when_the_format_is_guessed(tmp_path: Path) -> None:
    """Control: FFmpeg's default open of the disguised SDP binds a UDP port, and strace shows it."""
    sdp = tmp_path / "sdp.wav"
    sdp.write_bytes(HOSTILE["sdp"])
    _, trace = _traced(tmp_path, CONTROL, [str(sdp)])
    assert INET_SOCKET.search(trace), trace[-2000:]
    assert re.search(r"bind\(\d+, \{sa_family=AF_INET, sin_port=htons\(5004\)", trace), trace[-2000:]
