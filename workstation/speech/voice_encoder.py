"""Speaker embeddings in numpy: resemblyzer's GE2E voice encoder (Apache-2.0), re-implemented without torch.

The network (Wan et al., "Generalized end-to-end loss for speaker verification", 2018, as trained by resemblyzer
0.1.4 on LibriSpeech, VoxCeleb 1 and 2): 40 mel-band power spectrogram frames (25 ms windows every 10 ms) →
3-layer LSTM, 256 units → linear 256 → ReLU → L2 normalisation. One embedding describes a "partial" of
160 frames (1.6 s). Two partials of one voice have a cosine similarity near 0.8–0.9; of two voices, lower.

Reproduced exactly as resemblyzer computes it (librosa's Slaney mel filter bank, a periodic Hann window, zero
padding of half a window at either end, power spectrum), so the published weights mean what they were trained
to mean. The weights are read by `weights.state_dict` (no torch, no pickle code).

Cost: about 0.43 GFLOP per partial, all of it in batched matrix products (one `(B, in+256) @ (in+256, 1024)` per
frame and layer); memory is a few MB per batch of partials.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from workstation.speech.weights import WeightsError, state_dict

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s
HIDDEN = 256
LAYERS = 3
BATCH = 128  # partials per forward pass: ~25 MB of activations


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mels = hz / f_sp
    high = hz >= min_log_hz
    mels[high] = min_log_mel + np.log(hz[high] / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    hz = f_sp * mels
    high = mels >= min_log_mel
    hz[high] = min_log_hz * np.exp(logstep * (mels[high] - min_log_mel))
    return hz


def mel_filters(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters with Slaney area normalisation, as librosa.filters.mel."""
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sr / 2]))[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


_MEL = mel_filters()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(audio: np.ndarray) -> np.ndarray:
    """(frames, 40) mel power spectrogram, one frame per 10 ms (frame i centred on sample 160·i)."""
    audio = np.asarray(audio, dtype=np.float32)
    padded = np.pad(audio, N_FFT // 2)
    count = 1 + (padded.size - N_FFT) // HOP
    if count <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(count, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0]), writeable=False
    )
    spectrum = np.fft.rfft(frames * _WINDOW, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return power @ _MEL.T


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.tanh(0.5 * x) + 0.5  # one vectorised tanh instead of exp + divide


class VoiceEncoder:
    """The GE2E network, loaded from resemblyzer's `pretrained.pt` (its "model_state")."""

    def __init__(self, weights_path: Path) -> None:
        params = state_dict(Path(weights_path), "model_state")
        try:
            self.layers = [
                (
                    # one matrix for [x, h] → the four gates (PyTorch order: input, forget, cell, output)
                    np.ascontiguousarray(
                        np.concatenate([params[f"lstm.weight_ih_l{k}"], params[f"lstm.weight_hh_l{k}"]], axis=1).T
                    ).astype(np.float32),
                    (params[f"lstm.bias_ih_l{k}"] + params[f"lstm.bias_hh_l{k}"]).astype(np.float32),
                )
                for k in range(LAYERS)
            ]
            self.linear_w = np.ascontiguousarray(params["linear.weight"].T).astype(np.float32)
            self.linear_b = params["linear.bias"].astype(np.float32)
        except KeyError as exc:
            raise WeightsError(f"{weights_path} is not the resemblyzer voice encoder (no {exc.args[0]}).") from exc
        if self.layers[0][0].shape != (N_MELS + HIDDEN, 4 * HIDDEN) or self.linear_w.shape != (HIDDEN, HIDDEN):
            raise WeightsError(f"{weights_path} has the wrong shapes for the resemblyzer voice encoder.")

    def embed(self, partials: np.ndarray) -> np.ndarray:
        """(n, frames, 40) mel partials → (n, 256) unit-length embeddings, in batches of `BATCH`."""
        out = np.empty((partials.shape[0], HIDDEN), dtype=np.float32)
        for lo in range(0, partials.shape[0], BATCH):
            out[lo : lo + BATCH] = self._forward(partials[lo : lo + BATCH])
        return out

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(mels, dtype=np.float32)
        batch, steps, _ = x.shape
        h = np.zeros((batch, HIDDEN), dtype=np.float32)
        for index, (w, b) in enumerate(self.layers):
            last = index == LAYERS - 1
            h = np.zeros((batch, HIDDEN), dtype=np.float32)
            c = np.zeros((batch, HIDDEN), dtype=np.float32)
            xh = np.empty((batch, x.shape[2] + HIDDEN), dtype=np.float32)
            out = None if last else np.empty((batch, steps, HIDDEN), dtype=np.float32)
            width = x.shape[2]
            for t in range(steps):
                xh[:, :width] = x[:, t]
                xh[:, width:] = h
                gates = xh @ w
                gates += b
                i, f, g, o = (gates[:, k * HIDDEN : (k + 1) * HIDDEN] for k in range(4))
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                if out is not None:
                    out[:, t] = h
            if out is not None:
                x = out
        raw = np.maximum(h @ self.linear_w + self.linear_b, 0.0)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norms, 1e-9)


# --- BLAS threads ---------------------------------------------------------------------------------

_BLAS_LOCK = threading.Lock()


def _openblas() -> ctypes.CDLL | None:
    """numpy's bundled OpenBLAS (scipy-openblas), whose thread count can be changed at run time."""
    folder = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(glob.glob(str(folder / "libscipy_openblas*.so*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


@contextmanager
def blas_threads(count: int) -> Iterator[None]:
    """Run numpy's matrix products on `count` threads, then restore the setting (best effort: other BLAS builds
    are left alone). The LSTM's products are small; on a loaded machine extra BLAS threads only spin."""
    lib = _openblas()
    setter = getattr(lib, "scipy_openblas_set_num_threads64_", None) if lib else None
    getter = getattr(lib, "scipy_openblas_get_num_threads64_", None) if lib else None
    if setter is None or getter is None or count <= 0:
        yield
        return
    with _BLAS_LOCK:
        before = int(getter())
        setter(ctypes.c_int(max(1, min(count, os.cpu_count() or 1))))
        try:
            yield
        finally:
            setter(ctypes.c_int(before))
