"""Decode and validate audio (or the audio track of video) from bytes in memory.

Uploaded recordings never touch the disk in plaintext, so everything here works on `bytes` through
`io.BytesIO` (PyAV/FFmpeg reads from it; `BytesIO(bytes)` shares the buffer, it does not copy it).
Output is what Whisper wants: 16 kHz mono float32 in [-1, 1].

Long recordings (three hours and more) are decoded as a stream (`iter_decode`) so memory stays
bounded by the chunk size, whatever the length of the file.

Each kind of bad input has its own exception with a message for people: not audio at all, a damaged
file, an empty file, a file with no sound frames, one that is completely silent, and one over the size or
duration limits (`WORKSTATION_MAX_UPLOAD_MB`, `WORKSTATION_MAX_DURATION_H`).
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np

from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError

SAMPLE_RATE = 16000
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS: below this everywhere, nothing audible was recorded
# A file whose header promises this much more audio than can be decoded was cut short.
TRUNCATION_TOLERANCE_S = 1.0
TRUNCATION_TOLERANCE_FRACTION = 0.05

# Leading bytes of media formats: when FFmpeg cannot open a file that starts like one of these, the file
# is a damaged recording, not "something else".
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"RIFF"),
    (0, b"ID3"),
    (0, b"fLaC"),
    (0, b"OggS"),
    (0, b"\x1aE\xdf\xa3"),  # Matroska / WebM
    (4, b"ftyp"),  # MP4, M4A, MOV, 3GP
    (0, b"#!AMR"),
    (0, b"FORM"),  # AIFF
    (0, b"caff"),
)
# Container formats we accept. FFmpeg will "recognise" almost anything as some raw format (a text file
# as GSM audio, say); only these are real recording containers.
_ACCEPTED_FORMATS = {
    "wav", "w64", "rf64", "mp3", "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "ogg", "flac", "matroska", "webm",
    "amr", "amrnb", "amrwb", "aac", "aiff", "caf", "asf", "avi", "flv", "mpeg", "mpegts", "au", "wv", "ape",
    "dsf", "tta", "opus", "spdif",
}


class MediaError(WorkstationError):
    """The recording cannot be used; the message says why and what to do."""


class NotAudioError(MediaError):
    """The bytes are not a recording (a document, an image, random data) or have no audio track."""


class CorruptMediaError(MediaError):
    """A recording format was recognised but the file is damaged or cut short."""


class TruncatedMediaError(CorruptMediaError):
    """The file holds less audio than its header announces (an interrupted copy)."""


class EmptyMediaError(MediaError):
    """The file has no bytes at all."""


class ZeroDurationError(MediaError):
    """A valid recording container with no sound in it (0 seconds)."""


class SilentMediaError(MediaError):
    """The recording contains only digital silence."""


class TooLargeError(MediaError):
    """The file is over the upload size limit."""


class TooLongError(MediaError):
    """The recording is over the duration limit."""


@dataclass(frozen=True)
class MediaInfo:
    container: str
    codec: str
    duration_s: float
    sample_rate: int  # of the original audio track
    channels: int


# --- helpers -------------------------------------------------------------------------------------


def _looks_like_media(data: bytes) -> bool:
    return any(data[off : off + len(sig)] == sig for off, sig in _SIGNATURES)


def _wav_declared_duration(data: bytes) -> float | None:
    """Seconds announced by a WAV header (FFmpeg trusts the file size instead, hiding a cut-short copy)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 20 <= len(data):
            byte_rate = int.from_bytes(data[pos + 16 : pos + 20], "little")
        elif chunk == b"data":
            if not byte_rate or size in (0xFFFFFFFF, 0x7FFFFFFF):  # streaming placeholders: length unknown
                return None
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def _check_size(data: bytes) -> None:
    if len(data) == 0:
        raise EmptyMediaError("The file is empty (0 bytes). Please choose the recording file again.")
    limit = load_settings().max_upload_bytes
    if len(data) > limit:
        raise TooLargeError(
            f"The file is {len(data) / 2**20:,.0f} MB, over the limit of {limit / 2**20:,.0f} MB. Split the "
            "recording into parts, or raise WORKSTATION_MAX_UPLOAD_MB."
        )


def _too_long(duration_s: float) -> TooLongError:
    limit = load_settings().max_duration_s
    return TooLongError(
        f"The recording is {_hms(duration_s)} long, over the limit of {_hms(limit)}. Split it into parts, or "
        "raise WORKSTATION_MAX_DURATION_H."
    )


def _cut_short(declared: float, present: float) -> CorruptMediaError:
    return TruncatedMediaError(
        f"The recording is cut short: its header announces {_hms(declared)} but only {_hms(present)} is in the "
        "file (an interrupted copy or download?). If you have a complete copy of the file, use that one."
    )


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# Demuxer chosen from the leading bytes: FFmpeg never gets to guess, so a text file disguised as .wav cannot
# reach the sdp, hls, dash or concat demuxers (they open sockets or other files named inside the file).
_MAGIC_FORMATS: tuple[tuple[int, bytes, str], ...] = (
    (8, b"WAVE", "wav"), (8, b"AVI ", "avi"), (0, b"RF64", "rf64"), (0, b"riff", "w64"), (0, b"ID3", "mp3"),
    (0, b"fLaC", "flac"), (0, b"OggS", "ogg"), (0, b"\x1aE\xdf\xa3", "matroska"), (4, b"ftyp", "mov"),
    (4, b"moov", "mov"), (4, b"mdat", "mov"), (4, b"free", "mov"), (4, b"wide", "mov"), (0, b"#!AMR", "amr"),
    (0, b"FORM", "aiff"), (0, b"caff", "caf"), (0, b"0&\xb2u\x8ef\xcf\x11", "asf"), (0, b"FLV", "flv"),
    (0, b".snd", "au"), (0, b"wvpk", "wv"), (0, b"MAC ", "ape"), (0, b"TTA1", "tta"), (0, b"DSD ", "dsf"),
    (0, b"\x00\x00\x01\xba", "mpeg"),
)
# No protocol at all (the bytes come from memory) and, for nested opens and guessing, recording containers only.
_FFMPEG_OPTIONS = {"protocol_whitelist": "", "format_whitelist": ",".join(sorted(_ACCEPTED_FORMATS))}


def _sniff_format(data: bytes) -> str | None:
    """The demuxer for these leading bytes, or None: FFmpeg then guesses, but only among recording containers."""
    for offset, magic, name in _MAGIC_FORMATS:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def _open(data: bytes):
    import av

    _check_size(data)
    try:
        container = av.open(
            io.BytesIO(data), mode="r", format=_sniff_format(data), container_options=dict(_FFMPEG_OPTIONS),
            metadata_errors="ignore",
        )
    except av.error.FFmpegError as exc:
        if _looks_like_media(data):
            raise CorruptMediaError(
                "The recording is damaged and cannot be read (its beginning is missing or garbled). If you "
                "have another copy of the file, try that one."
            ) from exc
        raise NotAudioError(
            "This file is not an audio or video recording we can read. Supported: WAV, MP3, M4A/AAC, OGG/Opus, "
            "FLAC, WebM, AMR, and the sound of MP4/MOV/MKV videos."
        ) from exc
    names = set(container.format.name.split(","))
    if not names & _ACCEPTED_FORMATS:
        container.close()
        raise NotAudioError(
            "This file is not an audio or video recording we can read. Supported: WAV, MP3, M4A/AAC, OGG/Opus, "
            "FLAC, WebM, AMR, and the sound of MP4/MOV/MKV videos."
        )
    if not container.streams.audio:
        container.close()
        raise NotAudioError(
            "This file has no sound track (it may be a picture, a document or a silent video). Please choose the "
            "audio recording."
        )
    return container


def _declared_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        value = float(stream.duration * stream.time_base)
        if value > 0:
            return value
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    return None


class _Decoder:
    """One pass over the audio track: resampled 16 kHz mono blocks, with the checks done on the way."""

    def __init__(self, data: bytes, *, resample: bool = True) -> None:
        self.container = _open(data)
        self.stream = self.container.streams.audio[0]
        found = _declared_duration(self.container, self.stream)
        self.declared = _wav_declared_duration(data) or found
        if self.declared and found and self.declared - found > max(
            TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * self.declared
        ):  # a WAV whose header promises more than the file holds: say so before any decoding
            self.container.close()
            raise _cut_short(self.declared, found)
        limit = load_settings().max_duration_s
        if self.declared is not None and self.declared > limit:
            self.container.close()
            raise _too_long(self.declared)
        self.limit = limit
        self.resample = resample
        self.samples_out = 0  # at 16 kHz
        self.seconds_in = 0.0  # of the original audio
        self.peak = 0.0
        self.bad_packets = 0
        self.packets = 0

    def info(self) -> MediaInfo:
        ctx = self.stream.codec_context
        return MediaInfo(
            container=self.container.format.name,
            codec=ctx.name if ctx else "",
            duration_s=self.declared or 0.0,
            sample_rate=int(ctx.sample_rate or 0) if ctx else 0,
            channels=int(ctx.channels or 0) if ctx else 0,
        )

    def close(self) -> None:
        self.container.close()

    def seek(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            self.container.seek(int(seconds * 1_000_000), any_frame=False, backward=True)
        except Exception:
            pass

    def frames(self) -> Generator[tuple[float | None, np.ndarray], None, None]:
        """(start time in seconds or None, float32 mono 16 kHz samples) per decoded frame."""
        import av

        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE) if self.resample else None
        try:
            for packet in self.container.demux(self.stream):
                self.packets += 1
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    self.bad_packets += 1
                    if self.bad_packets > 10 and self.bad_packets > self.packets // 100:
                        raise CorruptMediaError(
                            f"The recording is damaged from about {_hms(self.seconds_in)} on and cannot be decoded. "
                            "If you have another copy of the file, try that one."
                        ) from None
                    continue
                for frame in decoded:
                    yield from self._frame(frame, resampler)
            if resampler is not None:
                for out in resampler.resample(None):
                    yield None, self._account(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(
                f"The recording is damaged from about {_hms(self.seconds_in)} on and cannot be decoded. If you "
                "have another copy of the file, try that one."
            ) from exc
        finally:
            self.container.close()

    def _frame(self, frame, resampler) -> Iterator[tuple[float | None, np.ndarray]]:
        start = float(frame.time) if frame.time is not None else None
        if frame.sample_rate:
            self.seconds_in += frame.samples / frame.sample_rate
        if self.seconds_in > self.limit:
            raise _too_long(self.seconds_in)
        if resampler is None:
            raw = frame.to_ndarray()
            if raw.size:
                peak = float(np.max(np.abs(raw)))
                if np.issubdtype(raw.dtype, np.integer):
                    peak /= float(np.iinfo(raw.dtype).max)
                self.peak = max(self.peak, peak)
            yield start, raw[:0].astype(np.float32).reshape(-1)
            return
        for out in resampler.resample(frame):
            yield start, self._account(out.to_ndarray().reshape(-1))
            start = None

    def _account(self, samples: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        self.samples_out += samples.size
        if samples.size:
            self.peak = max(self.peak, float(np.max(np.abs(samples))))
        return samples

    def finish(self) -> None:
        """The end-of-file checks: nothing decoded, cut short, silent."""
        decoded_s = self.seconds_in
        if decoded_s <= 0:
            if self.declared and self.declared > TRUNCATION_TOLERANCE_S:
                raise CorruptMediaError(
                    "The recording is damaged: no sound could be decoded from it. If you have another copy of the "
                    "file, try that one."
                )
            raise ZeroDurationError(
                "The recording is 0 seconds long: the file is valid but contains no sound. Check that the "
                "recorder actually recorded, and choose the right file."
            )
        if self.declared and self.declared - decoded_s > max(
            TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * self.declared
        ):
            raise _cut_short(self.declared, decoded_s)
        if self.peak < SILENCE_PEAK:
            raise SilentMediaError(
                f"The recording ({_hms(decoded_s)}) is completely silent: nothing was captured. Check the "
                "microphone or choose another file."
            )


def _pcm_by_soundfile(data: bytes) -> bool:
    """Uncompressed WAV (integer or float PCM) and FLAC: read by libsndfile directly, no demuxer.

    Everything else (compressed WAV codecs, MP3, M4A, Ogg, video) goes through PyAV.
    """
    if data[:4] == b"fLaC":
        return True
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    pos = 12
    while pos + 8 <= min(len(data), 1 << 16):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            tag = int.from_bytes(data[pos + 8 : pos + 10], "little")
            if tag == 0xFFFE and size >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real codec is the SubFormat's first two bytes
                tag = int.from_bytes(data[pos + 32 : pos + 34], "little")
            bits = int.from_bytes(data[pos + 22 : pos + 24], "little")
            return tag in (1, 3) and bits in (8, 16, 24, 32, 64)  # integer or float PCM of a common width
        pos += 8 + size + (size & 1)
    return False


class _SoundfileDecoder(_Decoder):
    """The same pass and checks as `_Decoder`, reading PCM WAV/FLAC with soundfile (several times faster
    than demuxing it frame by frame, and exact seeks for the playback of one segment)."""

    BLOCK_S = 10.0

    def __init__(self, data: bytes, *, resample: bool = True) -> None:
        import soundfile

        _check_size(data)
        try:
            self.file = soundfile.SoundFile(io.BytesIO(data))
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise CorruptMediaError(
                "The recording is damaged and cannot be read (its header is garbled). If you have another copy "
                "of the file, try that one."
            ) from exc
        found = self.file.frames / self.file.samplerate if self.file.samplerate else 0.0
        self.declared = _wav_declared_duration(data) or found or None
        if self.declared and self.declared - found > max(
            TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * self.declared
        ):  # the header promises more than the file holds: say so before any decoding, as PyAV's path does
            self.file.close()
            raise _cut_short(self.declared, found)
        limit = load_settings().max_duration_s
        if self.declared is not None and self.declared > limit:
            self.file.close()
            raise _too_long(self.declared)
        self.limit, self.resample = limit, resample
        self.samples_out, self.seconds_in, self.peak = 0, 0.0, 0.0
        self.bad_packets = self.packets = 0

    def info(self) -> MediaInfo:
        return MediaInfo(
            container=self.file.format.lower(), codec=self.file.subtype.lower(), duration_s=self.declared or 0.0,
            sample_rate=int(self.file.samplerate), channels=int(self.file.channels),
        )

    def close(self) -> None:
        self.file.close()

    def seek(self, seconds: float) -> None:
        if seconds > 0:
            self.file.seek(min(self.file.frames, int(seconds * self.file.samplerate)))
            self.seconds_in = self.file.tell() / self.file.samplerate

    def frames(self) -> Generator[tuple[float | None, np.ndarray], None, None]:
        import soundfile

        rate = int(self.file.samplerate)
        resampler = _resampler() if self.resample and rate != SAMPLE_RATE else None
        try:
            while True:
                start = self.file.tell() / rate
                block = self.file.read(int(self.BLOCK_S * rate), dtype="float32", always_2d=True)
                if not block.size:
                    break
                mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                self.seconds_in += mono.size / rate
                if self.seconds_in > self.limit:
                    raise _too_long(self.seconds_in)
                if not self.resample:
                    self.peak = max(self.peak, float(np.max(np.abs(mono))))
                    yield start, mono[:0]
                elif resampler is None:
                    yield start, self._account(mono)
                else:
                    yield start, self._account(_resample(resampler, mono, rate))
            if resampler is not None:
                yield None, self._account(_resample(resampler, None, rate))
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise CorruptMediaError(
                f"The recording is damaged from about {_hms(self.seconds_in)} on and cannot be decoded. If you "
                "have another copy of the file, try that one."
            ) from exc
        finally:
            self.file.close()


def _resampler():
    import av

    return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)


def _resample(resampler, mono: np.ndarray | None, rate: int) -> np.ndarray:
    """16 kHz float32 from mono samples at `rate` (None flushes the resampler)."""
    import av

    frame = None
    if mono is not None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
    return _concat(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))


def _decoder(data: bytes, *, resample: bool = True) -> _Decoder:
    """The decoder for these bytes: soundfile for PCM WAV and FLAC, PyAV (FFmpeg) for everything else."""
    if _pcm_by_soundfile(data):
        try:
            return _SoundfileDecoder(data, resample=resample)
        except TruncatedMediaError:
            raise
        except CorruptMediaError:
            pass  # libsndfile could not open it: FFmpeg may (and gives the precise message when it cannot either)
    return _Decoder(data, resample=resample)


# --- public API -----------------------------------------------------------------------------------


def probe(data: bytes) -> MediaInfo:
    """Validate a recording and describe it. Raises the MediaError subclass that says what is wrong.

    Reads the whole audio track once (without resampling, in bounded memory) because a damaged middle, a
    cut-short end or a fully silent recording can only be found that way.
    """
    dec = _decoder(data, resample=False)
    info = dec.info()
    for _ in dec.frames():
        pass
    dec.finish()
    return MediaInfo(info.container, info.codec, round(dec.seconds_in, 3), info.sample_rate, info.channels)


def header_info(data: bytes) -> MediaInfo:
    """What the container header says (duration may be 0 when it does not say), without decoding.

    Cheap; raises the same errors as `probe` for files that cannot even be opened, are too large, or
    announce a duration over the limit. Use `probe` for the full check.
    """
    dec = _decoder(data, resample=False)
    try:
        return dec.info()
    finally:
        dec.close()


def iter_decode(data: bytes, chunk_s: float = 60.0) -> Iterator[np.ndarray]:
    """16 kHz mono float32 in blocks of `chunk_s` seconds (the last one shorter). Memory: one block.

    The end-of-file checks (cut short, silent, nothing decoded) raise after the last block, so a caller
    that streams a long file into Whisper learns about it then.
    """
    block = max(1, int(chunk_s * SAMPLE_RATE))
    dec = _decoder(data)
    pending: list[np.ndarray] = []
    size = 0
    for _, samples in dec.frames():
        if not samples.size:
            continue
        pending.append(samples)
        size += samples.size
        while size >= block:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:block]
            rest = joined[block:]
            pending, size = ([rest] if rest.size else []), rest.size
    dec.finish()
    if size:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


def decode(data: bytes, *, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """16 kHz mono float32 of the span [start, end) seconds (the whole recording by default), in memory."""
    start = max(0.0, float(start))
    if end is not None and end <= start:
        return np.zeros(0, dtype=np.float32)
    if start == 0 and end is None:
        return _concat(iter_decode(data, chunk_s=600.0))
    dec = _decoder(data)
    dec.seek(start)
    pieces: list[np.ndarray] = []
    position: float | None = None  # time of the next sample, known from the first frame after the seek
    frames = dec.frames()
    for frame_time, samples in frames:
        if position is None:
            position = frame_time if frame_time is not None else 0.0
        first = position
        position += samples.size / SAMPLE_RATE
        if position <= start:
            continue
        lo = max(0, int(round((start - first) * SAMPLE_RATE)))
        hi = samples.size if end is None else min(samples.size, int(round((end - first) * SAMPLE_RATE)))
        if hi > lo:
            pieces.append(samples[lo:hi])
        if end is not None and position >= end:
            frames.close()  # closes the container
            break
    return _concat(pieces)


def _concat(pieces) -> np.ndarray:
    parts = list(pieces)
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class PcmWriter:
    """A 16-bit PCM mono WAV (or FLAC) written block by block into memory with soundfile.

    For playback (`st.audio`) and the redacted recording in exports: whole hours of audio are written a
    minute at a time, so only the encoded file is ever held, never a second float copy of it.
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE, fmt: str = "WAV") -> None:
        import soundfile

        self._buf = io.BytesIO()
        self._file = soundfile.SoundFile(
            self._buf, mode="w", samplerate=sample_rate, channels=1, format=fmt, subtype="PCM_16"
        )

    def write(self, samples: np.ndarray) -> None:
        self._file.write(np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0))

    def finish(self) -> bytes:
        self._file.close()  # writes the final header sizes
        return self._buf.getvalue()


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE, fmt: str = "WAV") -> bytes:
    """A 16-bit PCM mono WAV (or FLAC) file in memory (for `st.audio`, or for handing audio to a player)."""
    writer = PcmWriter(sample_rate, fmt)
    writer.write(samples)
    return writer.finish()
