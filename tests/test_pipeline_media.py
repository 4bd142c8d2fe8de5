"""media.py: in-memory decoding of common containers, typed errors for every kind of bad input, and
bounded memory when streaming a long recording."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import wave

import numpy as np
import pytest

from tests.fixtures_pipeline import SR, encode_audio
from workstation.platform.digest import sha256_hex
from workstation.speech import media


def _wav(samples: np.ndarray, rate: int = SR, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


# --- containers ------------------------------------------------------------------------------------

CONTAINERS = [
    ("mp3", "libmp3lame", 16000, False),
    ("ogg", "libopus", 48000, False),
    ("flac", "flac", 16000, False),
    ("ipod", "aac", 44100, False),  # .m4a
    ("adts", "aac", 16000, False),  # raw .aac
    ("webm", "libopus", 48000, False),
    ("amr", "libopencore_amrnb", 8000, False),
    ("mp4", "aac", 44100, True),  # video with a sound track
    ("mov", "aac", 48000, True),
    ("matroska", "libopus", 48000, True),  # .mkv
]


@pytest.mark.parametrize("fmt,codec,rate,video", CONTAINERS, ids=[c[0] for c in CONTAINERS])
def test_common_containers_decode_in_memory(clip_samples, fmt, codec, rate, video):
    data = encode_audio(clip_samples, fmt, codec, rate, video=video)
    info = media.probe(data)
    assert info.channels == 1 and info.sample_rate == rate
    assert info.duration_s == pytest.approx(clip_samples.size / SR, abs=0.35)
    audio = media.decode(data)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size / SR == pytest.approx(clip_samples.size / SR, abs=0.35)
    # The sound is really there: the waveform matches the original's (codecs delay it a little).
    # AMR-NB is an 8 kHz speech codec that keeps intelligibility, not the waveform.
    assert _best_correlation(audio, clip_samples) > (0.5 if fmt == "amr" else 0.8)


def _best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 4000) -> float:
    """Normalised cross-correlation at the best lag within ±max_lag samples (FFT)."""
    n = min(a.size, b.size)
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    size = 1 << (2 * n).bit_length()
    xc = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    return float(np.max(lags) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_stereo_44k_wav_is_resampled_to_16k_mono(clip_samples):
    import av

    # 44.1 kHz stereo: resample with PyAV to build the input, then check we get 16 kHz mono back.
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=44100)
    frame = av.AudioFrame.from_ndarray((clip_samples * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SR
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in list(resampler.resample(frame)) + list(resampler.resample(None))])
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes(pcm.astype("<i2").tobytes())
    audio = media.decode(buf.getvalue())
    assert audio.size == pytest.approx(clip_samples.size, abs=SR * 0.05)
    assert _best_correlation(audio, clip_samples) > 0.9


def test_decode_span_matches_full_decode(clip_samples):
    data = _wav(clip_samples)
    full = media.decode(data)
    part = media.decode(data, start=1.0, end=2.5)
    assert part.size == int(1.5 * SR)
    np.testing.assert_allclose(part, full[SR : int(2.5 * SR)], atol=1e-4)
    assert media.decode(data, start=2.0, end=2.0).size == 0
    tail = media.decode(data, start=full.size / SR - 0.5)
    assert tail.size == pytest.approx(SR // 2, abs=2)


def test_decode_span_of_compressed_file(clip_samples):
    data = encode_audio(clip_samples, "mp3", "libmp3lame")
    part = media.decode(data, start=2.0, end=3.0)
    assert part.size == pytest.approx(SR, abs=SR // 50)


def test_wav_bytes_roundtrip_and_sha256(clip_samples):
    data = media.wav_bytes(clip_samples)
    assert data[:4] == b"RIFF"
    back = media.decode(data)
    np.testing.assert_allclose(back, clip_samples, atol=2e-4)
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


# --- bad inputs: each its own error --------------------------------------------------------------


def test_empty_file():
    with pytest.raises(media.EmptyMediaError, match="empty"):
        media.probe(b"")
    with pytest.raises(media.EmptyMediaError):
        list(media.iter_decode(b""))


def test_random_bytes_and_documents_are_not_audio():
    rng = np.random.default_rng(1)
    for data in (rng.bytes(50_000), b"%PDF-1.7\n" + rng.bytes(5000), "Привет, это текст.\n".encode() * 100):
        with pytest.raises(media.NotAudioError, match="not an audio or video recording"):
            media.probe(data)


def test_image_only_file_is_not_audio():
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _frame in range(10):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(media.NotAudioError, match="no sound track"):
        media.probe(buf.getvalue())


def test_truncated_files_are_corrupt(clip_samples):
    wav = _wav(clip_samples)
    with pytest.raises(media.CorruptMediaError, match="cut short"):
        media.probe(wav[: len(wav) // 2])  # the header announces twice what is there
    with pytest.raises(media.CorruptMediaError):
        media.probe(wav[:30])  # the header itself is cut
    mp3 = encode_audio(clip_samples, "mp3", "libmp3lame")
    with pytest.raises(media.CorruptMediaError):
        media.probe(mp3[: len(mp3) // 2])  # the Xing header announces the full length
    with pytest.raises(media.CorruptMediaError):
        media.decode(mp3[: len(mp3) // 2])


def test_garbled_middle_is_corrupt(clip_samples):
    flac = encode_audio(np.tile(clip_samples, 3), "flac", "flac")
    rng = np.random.default_rng(3)
    damaged = flac[:2000] + rng.bytes(len(flac) - 2000)
    with pytest.raises(media.CorruptMediaError):
        media.probe(damaged)


def test_zero_length_wav():
    with pytest.raises(media.ZeroDurationError, match="0 seconds"):
        media.probe(_wav(np.zeros(0, dtype=np.float32)))


def test_digital_silence():
    with pytest.raises(media.SilentMediaError, match="silent"):
        media.probe(_wav(np.zeros(SR * 5, dtype=np.float32)))
    with pytest.raises(media.SilentMediaError):
        list(media.iter_decode(encode_audio(np.zeros(SR * 3, dtype=np.float32), "mp3", "libmp3lame")))


def test_size_and_duration_limits(monkeypatch, clip_samples):
    data = _wav(np.tile(clip_samples, 20))  # ~3 minutes, ~6 MB
    monkeypatch.setenv("WORKSTATION_MAX_UPLOAD_MB", "1")
    with pytest.raises(media.TooLargeError, match="over the limit"):
        media.probe(data)
    monkeypatch.delenv("WORKSTATION_MAX_UPLOAD_MB")
    monkeypatch.setenv("WORKSTATION_MAX_DURATION_H", "0")
    with pytest.raises(media.TooLongError, match="over the limit"):
        media.probe(data)
    with pytest.raises(media.TooLongError):
        media.header_info(data)


def test_every_error_is_a_distinct_workstation_error():
    from workstation.platform.errors import WorkstationError

    classes = [media.NotAudioError, media.CorruptMediaError, media.EmptyMediaError, media.ZeroDurationError,
               media.SilentMediaError, media.TooLargeError, media.TooLongError]
    assert len(set(classes)) == 7
    for cls in classes:
        assert issubclass(cls, media.MediaError) and issubclass(cls, WorkstationError)
        assert not any(issubclass(cls, other) for other in classes if other is not cls)


# --- long recordings: bounded memory -------------------------------------------------------------


def test_thirty_minute_recording_streams_in_bounded_memory(clip_samples):
    """30 minutes at 8 kHz (29 MB of WAV): decoded in full it would be 115 MB of float32 at 16 kHz.
    Streaming it must keep the growth of the process far below that."""
    import psutil

    rng = np.random.default_rng(5)
    minutes = 30
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        piece = np.concatenate([clip_samples[::2], (rng.standard_normal(8000) * 0.01).astype(np.float32)])
        pcm = (piece * 32767).astype("<i2").tobytes()
        total = 0
        while total < minutes * 60 * 8000:
            out.writeframes(pcm)
            total += piece.size
    data = buf.getvalue()
    del buf

    proc = psutil.Process(os.getpid())
    peak = [proc.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.02)

    baseline = proc.memory_info().rss
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    samples = 0
    blocks = 0
    try:
        for block in media.iter_decode(data, chunk_s=30.0):
            assert block.dtype == np.float32 and block.size <= 30 * SR
            samples += block.size
            blocks += 1
    finally:
        stop.set()
        watcher.join()
    assert samples / SR == pytest.approx(total / 8000, abs=0.5)
    assert samples / SR >= minutes * 60
    assert blocks >= 60
    growth_mb = (peak[0] - baseline) / 2**20
    assert growth_mb < 40, f"streaming decode grew the process by {growth_mb:.0f} MB"


def test_soundfile_path_matches_pyav_and_keeps_the_checks():
    """PCM WAV/FLAC go through soundfile: same samples as PyAV, same errors, exact span seeks."""
    import soundfile

    rng = np.random.default_rng(5)
    tone = (np.sin(np.linspace(0, 2 * np.pi * 440 * 3, SR * 3)) * 0.3 + rng.standard_normal(SR * 3) * 0.01).astype(np.float32)
    wav = media.wav_bytes(tone)
    assert media._pcm_by_soundfile(wav) and isinstance(media._decoder(wav), media._SoundfileDecoder)
    pyav = np.concatenate([s for _, s in media._Decoder(wav).frames()])
    assert np.array_equal(media.decode(wav), pyav)
    assert np.array_equal(media.decode(wav, start=1.0, end=1.5), pyav[SR : SR + SR // 2])
    stereo = io.BytesIO()
    soundfile.write(stereo, np.stack([tone, tone], axis=1), 44100, format="FLAC")
    flac = stereo.getvalue()
    info = media.probe(flac)
    assert (info.container, info.channels, info.sample_rate) == ("flac", 2, 44100)
    assert media.decode(flac).size == pytest.approx(tone.size * 16000 / 44100, abs=SR // 100)
    with pytest.raises(media.TruncatedMediaError):
        media.header_info(wav[: len(wav) // 2])  # cut short: said before any decoding
    with pytest.raises(media.SilentMediaError):
        media.probe(media.wav_bytes(np.zeros(SR * 2, np.float32)))
    # a WAV whose codec is not PCM (here: A-law) is left to FFmpeg
    alaw = io.BytesIO()
    soundfile.write(alaw, tone, SR, format="WAV", subtype="ALAW")
    assert not media._pcm_by_soundfile(alaw.getvalue())
    assert media.probe(alaw.getvalue()).duration_s == pytest.approx(3.0, abs=0.05)
