"""Every way the product writes a time: one helper each, so the CLI, the app and the exports agree."""

from __future__ import annotations


def _ms(seconds: float) -> int:
    return int(round(max(0.0, seconds) * 1000))


def cue(seconds: float, sep: str = ",") -> str:
    """HH:MM:SS,mmm — subtitle cue times (SRT uses ",", WebVTT ".")."""
    ms = _ms(seconds)
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}{sep}{ms % 1000:03d}"


def hms(seconds: float) -> str:
    """HH:MM:SS, whole seconds (document headers)."""
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def position(seconds: float, *, tenths: bool = False) -> str:
    """A place in a recording as people read it: M:SS or H:MM:SS (with tenths where a cut matters)."""
    if tenths:
        tenth = int(round(max(0.0, seconds) * 10))
        whole, frac = divmod(tenth, 10)
        return f"{position(whole)}.{frac}"
    s = int(max(0.0, seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def duration(seconds: float | None) -> str:
    """A length in words: "45 s", "3 min 05 s", "2 h 10 min" (None: still being estimated)."""
    if seconds is None:
        return "estimating…"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"
