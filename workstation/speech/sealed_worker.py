"""The sealed worker process: `python -m workstation.speech.sealed_worker`. Started only by `workstation.speech.sealed`.

Its first act, before numpy, PyAV or a model is imported, is `sandbox.seal()` (no network below Python), then the
process hardening (not dumpable, no core dumps), the Python guard and native telemetry off. Only then does it
read a request from stdin and decode untrusted media / run the models on it.

Protocol (stdin/stdout, both pipes): frames of a 4-byte big-endian length and a UTF-8 JSON object. The worker
sends ``{"type": "ready", "sealing", "detail", "reachable"}`` first. A request is one frame ``{"op": ...,
"data_len": N}`` followed by N raw bytes (the recording, never written anywhere). Answers: any number of
``{"type": "progress", "fraction", "stage"}`` then one ``{"type": "result", ...}`` or ``{"type": "error",
"module", "name", "message"}``. File descriptor 1 is the protocol channel only: whatever a library prints
goes to stderr.
"""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO


def _channels() -> tuple[BinaryIO, BinaryIO]:
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a library's print() must not corrupt the protocol
    return sys.stdin.buffer, out


def main() -> int:
    parent = os.getppid()
    from workstation.platform import sandbox  # lazy: imported only after seal(): sealing needs a single-threaded process

    sealed = sandbox.seal()  # first, while this process is still a single thread
    reachable = sandbox.network_reachable()

    from workstation.platform import (  # lazy: imported only after seal(): sealing needs a single-threaded process
        hardening,
        offline,
    )
    from workstation.speech.sealed import (  # lazy: imported only after seal(): sealing needs a single-threaded process
        read_frame,
        write_frame,
    )

    hardening.harden_process()
    hardening.die_with_parent(parent)
    offline.activate()
    offline.disable_native_telemetry()
    inp, out = _channels()
    write_frame(out, {"type": "ready", "sealing": sealed.describe(), "detail": sealed.detail, "reachable": reachable})
    request = read_frame(inp)
    if request is None:
        return 0
    expected = int(request.get("data_len", 0))
    data = inp.read(expected)
    if len(data) != expected:  # the app stopped sending (cancelled, or it is exiting): nothing to do
        return 1
    try:
        answer = _handle(str(request.get("op")), request, data, out)
    except Exception as exc:
        write_frame(out, _error(exc))
        return 1
    write_frame(out, {"type": "result", **answer})
    return 0


def _handle(op: str, request: dict[str, Any], data: bytes, out: BinaryIO) -> dict[str, Any]:
    from workstation.speech import sealed  # lazy: imported only after seal(): sealing needs a single-threaded process

    def progress(fraction: float, stage: str) -> None:
        sealed.write_frame(out, {"type": "progress", "fraction": float(fraction), "stage": str(stage)})

    if op == "check":
        return {}
    if op == "probe":  # the intake check of an upload: FFmpeg/libsndfile parse it here, not in the app
        import dataclasses

        from workstation.speech import media  # lazy: imported only after seal(): sealing needs a single-threaded process

        return {"info": dataclasses.asdict(media.probe(data))}
    if op == "pipeline":
        from workstation.speech import pipeline  # lazy: imported only after seal(): sealing needs a single-threaded process

        options = sealed.options_from_dict(request["options"])
        result = pipeline.run_pipeline(data, options, progress=progress)
        return {"result": sealed.result_to_dict(result)}
    if op == "split":  # a recording cut at silences into windows for the cluster (speech/split.py)
        from workstation.speech import split  # lazy: numpy/PyAV load only after the worker sealed itself

        return _split(split, data, request, out)
    if op == "join":  # the parts of one interview, decoded and joined as one WAV (speech/sealed.py `join`)
        return _join(data, request, out)
    if op == "retranslate":
        from workstation.domain.testimony import Segment  # lazy: only after seal() (single-threaded then)
        from workstation.speech import pipeline  # lazy: imported only after seal(): sealing needs a single-threaded process

        options = sealed.options_from_dict(request["options"])
        segments = [Segment.from_dict(s) for s in request["segments"]]
        pairs = pipeline.retranslate(segments, options.glossary, options, audio=data or None)
        return {"translations": [[text, str(route)] for text, route in pairs]}
    raise ValueError(f"unknown request {op!r}")


def _split(split: Any, data: bytes, request: dict[str, Any], out: BinaryIO) -> dict[str, Any]:
    """Each window goes out as a frame {"type": "window", ...} followed by its FLAC bytes, as it is cut."""
    from workstation.speech import media, sealed  # lazy: loaded after sealing, like every op here

    info = media.header_info(data)  # not audio / damaged / too long: refused before decoding
    target = split.target_length(info.duration_s, int(request.get("parts", 1)), float(request["min_s"]),
                                 float(request["max_s"]))
    count, end = 0, 0.0
    for window in split.iter_windows(data, target):
        sealed.write_frame(out, {"type": "window", "index": window.index, "start": window.start_s,
                                 "end": window.end_s, "data_len": len(window.audio)})
        out.write(window.audio)
        out.flush()
        count, end = count + 1, window.end_s
    return {"windows": count, "duration_s": end}


def _join(data: bytes, request: dict[str, Any], out: BinaryIO) -> dict[str, Any]:
    """Each part is checked and decoded in turn into one 16-bit mono WAV; its frame goes out before the result.
    A part that cannot be used is named by its number (the caller knows its file name)."""
    from workstation.speech import media, sealed  # lazy: loaded after sealing, like every op here

    lengths = [int(n) for n in request["lengths"]]
    if any(n < 0 for n in lengths) or sum(lengths) != len(data):
        raise ValueError("the part lengths do not add up to the data sent")
    writer = media.PcmWriter(media.SAMPLE_RATE)
    durations, pos = [], 0
    for number, size in enumerate(lengths, 1):
        part, pos = data[pos:pos + size], pos + size
        samples = 0
        try:
            media.header_info(part)
            for block in media.iter_decode(part, 60.0):
                writer.write(block)
                samples += block.size
        except media.MediaError as exc:
            raise type(exc)(f"Part {number}: {exc}") from None
        durations.append(samples / media.SAMPLE_RATE)
    wav = writer.finish()
    sealed.write_frame(out, {"type": "timeline", "data_len": len(wav)})
    out.write(wav)
    out.flush()
    return {"durations": durations}


def _error(exc: BaseException) -> dict[str, Any]:
    from workstation.platform.errors import (  # lazy: imported only after seal(): sealing needs a single-threaded process
        WorkstationError,
        failure_site,
    )

    if isinstance(exc, WorkstationError):
        return {"type": "error", "module": type(exc).__module__, "name": type(exc).__name__, "message": str(exc)}
    print(f"sealed worker: {type(exc).__name__} at {failure_site(exc)}", file=sys.stderr)  # noqa: T201  (stderr is its log)
    return {"type": "error", "module": "", "name": type(exc).__name__, "message": ""}


if __name__ == "__main__":
    sys.exit(main())
