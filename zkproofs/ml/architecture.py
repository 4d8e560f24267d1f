"""The public architecture of a quantized model, and the model itself (architecture + weights).

An :class:`Architecture` is everything about a model that is public and frozen at commit
time: the input shape and the integer range of the inputs (both fixed by the competition),
the ordered layers with their shapes, bit-widths, shifts and ReLU flags, and — derived from
those — the order in which weights and biases are laid out in the committed vector. It never
holds a weight value. A :class:`QuantizedModel` pairs an architecture with the secret integer
weights.

Layers (integer semantics in :mod:`zkproofs.ml.evaluate`, the definition):

- ``Dense(in_features, out_features, ...)``: ``y = floor((W·x + b) / 2^shift)``, then ReLU if
  ``relu``; ``W`` has shape ``(out, in)`` (the ONNX/PyTorch orientation).
- ``Conv2d(in_channels, out_channels, kernel, stride, padding, ...)``: square kernel, zero
  padding on every side, no groups or dilation; same requantization and ReLU as Dense;
  ``W`` has shape ``(out, in, kernel, kernel)``.
- ``AvgPool2d(kernel, stride)``: ``floor(window sum / kernel²)``; no padding, floor mode.
- ``MaxPool2d(kernel, stride)``: window maximum; no padding, floor mode.
- ``Flatten``: ``(C, H, W)`` → ``(C·H·W,)`` in C order.
- ``Reshape(channels, height, width)``: ``(C·H·W,)`` → ``(C, H, W)`` in C order (input element
  ``c·H·W + h·W + w`` becomes ``[c, h, w]``): the inverse of Flatten, a pure relabeling of the
  same integers with no arithmetic. It exists so that a competition whose inputs are flat
  vectors (a 784-pixel row) can be read by a convolutional model as an image, and it is
  allowed only as the first layer, on a flat input.

The last layer is the logit layer: a Dense layer with shift 0 and no ReLU whose outputs are the
K logits;
the prediction is the index of the largest logit, the lowest index winning ties.

Committed-vector layout (version 1): layer by layer in order; within a parametric layer the
weight tensor in C order, then the bias vector. :attr:`Architecture.layout` lists every tensor
with its offset, shape and bit-width; :attr:`Architecture.weight_count` is the total length.

Binary encoding (version 1, all integers big-endian)::

    magic "ZKAR" | u16 version=1
    u8 rank | rank × u32 dims | i64 input_min | i64 input_max
    u16 layer count | per layer: u8 tag, then
        Dense   (1): u32 in, u32 out, u8 weight_bits, u8 bias_bits, u8 shift, u8 relu
        Conv2d  (2): u32 in_ch, u32 out_ch, u16 kernel, u16 stride, u16 padding,
                     u8 weight_bits, u8 bias_bits, u8 shift, u8 relu
        AvgPool (3): u16 kernel, u16 stride
        MaxPool (4): u16 kernel, u16 stride
        Flatten (5): nothing
        Reshape (6): u32 channels, u32 height, u32 width

There is exactly one encoding per architecture (every field is fixed-width and validated),
so :meth:`Architecture.digest` — SHA-256 of the encoding — identifies it.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError

ENCODING_MAGIC = b"ZKAR"
ENCODING_VERSION = 1
JSON_FORMAT = "zkarena/architecture"

# Hard ceilings, whatever a competition allows; competitions set lower ones through
# Architecture.check_limits. They bound every allocation a decoder or evaluator makes.
MAX_LAYERS = 64
MAX_PARAMETERS = 1 << 24
MAX_ACTIVATION_ELEMENTS = 1 << 22  # per sample, any intermediate tensor
MAX_DIM = 1 << 16
MAX_KERNEL = 64
MAX_INPUT_MAGNITUDE = 1 << 32
MAX_WEIGHT_BITS = 32
# Bias magnitudes stay below 2^61, so a bias alone never reaches the ±2^62 interval bound.
MAX_BIAS_BITS = 62
MAX_SHIFT = 62
MAX_ENCODED_BYTES = 6 + 1 + 4 * 3 + 16 + 2 + MAX_LAYERS * 23
MAX_JSON_BYTES = 1 << 16


class ArchitectureError(InvalidInputError):
    """An architecture (or a model for it) that is malformed or inconsistent."""


class ModelLimitError(ArchitectureError):
    """An architecture beyond a size limit (hard ceiling or competition limit)."""


class ArchitectureDecodeError(ArchitectureError):
    """Bytes or JSON that are not the canonical encoding of an architecture."""


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    # bool is an int subclass; True as a dimension is always a bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArchitectureError(f"{name} must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ArchitectureError(f"{name} = {value} is outside [{lo}, {hi}]")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ArchitectureError(f"{name} must be a bool, got {type(value).__name__}")


def signed_range(bits: int) -> tuple[int, int]:
    """The inclusive range of a signed integer of ``bits`` bits: [−2^(b−1), 2^(b−1) − 1]."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# ------------------------------------------------------------------------------ layers


@dataclass(frozen=True)
class Dense:
    in_features: int
    out_features: int
    weight_bits: int = 8
    bias_bits: int = 32
    shift: int = 0
    relu: bool = False

    TAG: ClassVar[int] = 1
    KIND: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        _check_int("Dense.in_features", self.in_features, 1, MAX_ACTIVATION_ELEMENTS)
        _check_int("Dense.out_features", self.out_features, 1, MAX_ACTIVATION_ELEMENTS)
        _check_int("Dense.weight_bits", self.weight_bits, 2, MAX_WEIGHT_BITS)
        _check_int("Dense.bias_bits", self.bias_bits, 2, MAX_BIAS_BITS)
        _check_int("Dense.shift", self.shift, 0, MAX_SHIFT)
        _check_bool("Dense.relu", self.relu)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_features, self.in_features)

    @property
    def bias_shape(self) -> tuple[int, ...]:
        return (self.out_features,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 1:
            raise ArchitectureError(f"Dense needs a flat input, got shape {shape}; add Flatten")
        if shape[0] != self.in_features:
            raise ArchitectureError(
                f"Dense expects {self.in_features} inputs, the previous layer gives {shape[0]}"
            )
        return (self.out_features,)


@dataclass(frozen=True)
class Conv2d:
    in_channels: int
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    weight_bits: int = 8
    bias_bits: int = 32
    shift: int = 0
    relu: bool = False

    TAG: ClassVar[int] = 2
    KIND: ClassVar[str] = "conv2d"

    def __post_init__(self) -> None:
        _check_int("Conv2d.in_channels", self.in_channels, 1, MAX_DIM)
        _check_int("Conv2d.out_channels", self.out_channels, 1, MAX_DIM)
        _check_int("Conv2d.kernel", self.kernel, 1, MAX_KERNEL)
        _check_int("Conv2d.stride", self.stride, 1, MAX_KERNEL)
        # Padding of a whole kernel or more only adds windows that see nothing but zeros.
        _check_int("Conv2d.padding", self.padding, 0, self.kernel - 1)
        _check_int("Conv2d.weight_bits", self.weight_bits, 2, MAX_WEIGHT_BITS)
        _check_int("Conv2d.bias_bits", self.bias_bits, 2, MAX_BIAS_BITS)
        _check_int("Conv2d.shift", self.shift, 0, MAX_SHIFT)
        _check_bool("Conv2d.relu", self.relu)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels, self.kernel, self.kernel)

    @property
    def bias_shape(self) -> tuple[int, ...]:
        return (self.out_channels,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise ArchitectureError(f"Conv2d needs a (C, H, W) input, got shape {shape}")
        c, h, w = shape
        if c != self.in_channels:
            raise ArchitectureError(
                f"Conv2d expects {self.in_channels} channels, the previous layer gives {c}"
            )
        return (self.out_channels, *_window_out(h, w, self.kernel, self.stride, self.padding))


def _window_out(h: int, w: int, kernel: int, stride: int, padding: int) -> tuple[int, int]:
    hp, wp = h + 2 * padding, w + 2 * padding
    if hp < kernel or wp < kernel:
        raise ArchitectureError(f"a {kernel}×{kernel} window does not fit a {h}×{w} input")
    return (hp - kernel) // stride + 1, (wp - kernel) // stride + 1


@dataclass(frozen=True)
class AvgPool2d:
    kernel: int
    stride: int

    TAG: ClassVar[int] = 3
    KIND: ClassVar[str] = "avgpool2d"

    def __post_init__(self) -> None:
        _check_int("AvgPool2d.kernel", self.kernel, 1, MAX_KERNEL)
        _check_int("AvgPool2d.stride", self.stride, 1, MAX_KERNEL)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise ArchitectureError(f"AvgPool2d needs a (C, H, W) input, got shape {shape}")
        return (shape[0], *_window_out(shape[1], shape[2], self.kernel, self.stride, 0))


@dataclass(frozen=True)
class MaxPool2d:
    kernel: int
    stride: int

    TAG: ClassVar[int] = 4
    KIND: ClassVar[str] = "maxpool2d"

    def __post_init__(self) -> None:
        _check_int("MaxPool2d.kernel", self.kernel, 1, MAX_KERNEL)
        _check_int("MaxPool2d.stride", self.stride, 1, MAX_KERNEL)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise ArchitectureError(f"MaxPool2d needs a (C, H, W) input, got shape {shape}")
        return (shape[0], *_window_out(shape[1], shape[2], self.kernel, self.stride, 0))


@dataclass(frozen=True)
class Flatten:
    TAG: ClassVar[int] = 5
    KIND: ClassVar[str] = "flatten"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        # Flattening a flat tensor is a no-op; refusing it keeps one architecture per model.
        if len(shape) < 2:
            raise ArchitectureError(f"Flatten of an already flat tensor of shape {shape}")
        return (int(np.prod(shape)),)


@dataclass(frozen=True)
class Reshape:
    """Flat ``(C·H·W,)`` → ``(C, H, W)`` in C order; only as the first layer (see above)."""

    channels: int
    height: int
    width: int

    TAG: ClassVar[int] = 6
    KIND: ClassVar[str] = "reshape"

    def __post_init__(self) -> None:
        _check_int("Reshape.channels", self.channels, 1, MAX_DIM)
        _check_int("Reshape.height", self.height, 1, MAX_DIM)
        _check_int("Reshape.width", self.width, 1, MAX_DIM)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        size = self.channels * self.height * self.width
        if len(shape) != 1 or shape[0] != size:
            raise ArchitectureError(
                f"Reshape to {self.shape} needs a flat input of {size} elements, got shape {shape}"
            )
        return self.shape


Layer = Dense | Conv2d | AvgPool2d | MaxPool2d | Flatten | Reshape
ParametricLayer = Dense | Conv2d
LAYER_TYPES: tuple[type, ...] = (Dense, Conv2d, AvgPool2d, MaxPool2d, Flatten, Reshape)
_BY_TAG = {cls.TAG: cls for cls in LAYER_TYPES}
_BY_KIND = {cls.KIND: cls for cls in LAYER_TYPES}


def is_parametric(layer: Layer) -> bool:
    return isinstance(layer, (Dense, Conv2d))


# ------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class TensorSlot:
    """Where one weight or bias tensor sits in the committed vector."""

    name: str  # "layers.<i>.weight" or "layers.<i>.bias"
    layer: int
    kind: str  # "weight" or "bias"
    offset: int
    shape: tuple[int, ...]
    bits: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def stop(self) -> int:
        return self.offset + self.size


# ------------------------------------------------------------------------ architecture


@dataclass(frozen=True)
class Architecture:
    """The public, immutable description of a quantized model (see the module docstring)."""

    input_shape: tuple[int, ...]
    input_range: tuple[int, int]
    layers: tuple[Layer, ...]
    # Derived in __post_init__; not part of equality beyond what the fields above determine.
    shapes: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)
    layout: tuple[TensorSlot, ...] = field(init=False, repr=False, compare=False)
    weight_count: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shape = tuple(self.input_shape) if isinstance(self.input_shape, Sequence) else None
        if shape is None or not 1 <= len(shape) <= 3:
            raise ArchitectureError("input_shape must be a tuple of 1 to 3 dimensions")
        for i, d in enumerate(shape):
            _check_int(f"input_shape[{i}]", d, 1, MAX_DIM)
        rng = tuple(self.input_range) if isinstance(self.input_range, Sequence) else ()
        if len(rng) != 2:
            raise ArchitectureError("input_range must be a pair (min, max)")
        _check_int("input_range min", rng[0], -MAX_INPUT_MAGNITUDE, MAX_INPUT_MAGNITUDE)
        _check_int("input_range max", rng[1], rng[0], MAX_INPUT_MAGNITUDE)
        layers = tuple(self.layers)
        if not 1 <= len(layers) <= MAX_LAYERS:
            raise ModelLimitError(
                f"an architecture has 1 to {MAX_LAYERS} layers, not {len(layers)}"
            )
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "input_range", rng)
        object.__setattr__(self, "layers", layers)

        if int(np.prod(shape)) > MAX_ACTIVATION_ELEMENTS:
            raise ModelLimitError(f"input of {int(np.prod(shape))} elements is too large")
        shapes = []
        slots = []
        offset = 0
        for i, layer in enumerate(layers):
            if not isinstance(layer, LAYER_TYPES):
                raise ArchitectureError(f"layer {i} is a {type(layer).__name__}, not a layer")
            if isinstance(layer, Reshape) and i != 0:
                raise ArchitectureError(
                    f"layer {i} (reshape): a Reshape is allowed only as the first layer"
                )
            try:
                shape = layer.output_shape(shape)
            except ArchitectureError as exc:
                raise ArchitectureError(f"layer {i} ({layer.KIND}): {exc}") from None
            if int(np.prod(shape)) > MAX_ACTIVATION_ELEMENTS:
                raise ModelLimitError(
                    f"layer {i} ({layer.KIND}) outputs {int(np.prod(shape))} elements per "
                    f"sample; the limit is {MAX_ACTIVATION_ELEMENTS}"
                )
            shapes.append(shape)
            if is_parametric(layer):
                for kind, tshape, bits in (
                    ("weight", layer.weight_shape, layer.weight_bits),
                    ("bias", layer.bias_shape, layer.bias_bits),
                ):
                    slot = TensorSlot(f"layers.{i}.{kind}", i, kind, offset, tshape, bits)
                    slots.append(slot)
                    offset += slot.size
                if offset > MAX_PARAMETERS:
                    raise ModelLimitError(
                        f"the model has more than {MAX_PARAMETERS} parameters (at layer {i})"
                    )
        last = layers[-1]
        if not isinstance(last, Dense):
            raise ArchitectureError(
                f"the last layer must be the Dense logit layer, not {last.KIND}"
            )
        if last.shift != 0:
            raise ArchitectureError(
                "the logit layer must have shift 0: flooring the logits can create ties "
                "that change the argmax"
            )
        if last.relu:
            raise ArchitectureError(
                "the logit layer cannot have a ReLU: it maps every negative logit to 0, so "
                "the lowest class wins whenever all logits are negative; drop the final ReLU"
            )
        if last.out_features < 2:
            raise ArchitectureError("the logit layer needs at least 2 outputs (one per class)")
        object.__setattr__(self, "shapes", tuple(shapes))
        object.__setattr__(self, "layout", tuple(slots))
        object.__setattr__(self, "weight_count", offset)

    # -------------------------------------------------------------- derived properties

    @property
    def num_classes(self) -> int:
        return self.shapes[-1][0]

    @property
    def input_min(self) -> int:
        return self.input_range[0]

    @property
    def input_max(self) -> int:
        return self.input_range[1]

    def input_shape_of(self, index: int) -> tuple[int, ...]:
        """The per-sample shape entering layer ``index``."""
        return self.input_shape if index == 0 else self.shapes[index - 1]

    def slot(self, name: str) -> TensorSlot:
        for s in self.layout:
            if s.name == name:
                return s
        raise KeyError(name)

    def check_limits(
        self, *, max_parameters: int | None = None, max_layers: int | None = None
    ) -> None:
        """Raise :class:`ModelLimitError` if the model exceeds a competition's limits."""
        if max_parameters is not None and self.weight_count > max_parameters:
            raise ModelLimitError(
                f"the model has {self.weight_count} parameters (weights and biases); "
                f"the limit is {max_parameters}"
            )
        if max_layers is not None and len(self.layers) > max_layers:
            raise ModelLimitError(
                f"the model has {len(self.layers)} layers; the limit is {max_layers}"
            )

    # ------------------------------------------------------------------ binary encoding

    def to_bytes(self) -> bytes:
        out = [ENCODING_MAGIC, struct.pack(">H", ENCODING_VERSION)]
        out.append(struct.pack(">B", len(self.input_shape)))
        out.extend(struct.pack(">I", d) for d in self.input_shape)
        out.append(struct.pack(">qq", *self.input_range))
        out.append(struct.pack(">H", len(self.layers)))
        for layer in self.layers:
            out.append(struct.pack(">B", layer.TAG))
            if isinstance(layer, Dense):
                out.append(
                    struct.pack(
                        ">IIBBBB",
                        layer.in_features,
                        layer.out_features,
                        layer.weight_bits,
                        layer.bias_bits,
                        layer.shift,
                        int(layer.relu),
                    )
                )
            elif isinstance(layer, Conv2d):
                out.append(
                    struct.pack(
                        ">IIHHHBBBB",
                        layer.in_channels,
                        layer.out_channels,
                        layer.kernel,
                        layer.stride,
                        layer.padding,
                        layer.weight_bits,
                        layer.bias_bits,
                        layer.shift,
                        int(layer.relu),
                    )
                )
            elif isinstance(layer, (AvgPool2d, MaxPool2d)):
                out.append(struct.pack(">HH", layer.kernel, layer.stride))
            elif isinstance(layer, Reshape):
                out.append(struct.pack(">III", *layer.shape))
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> Architecture:
        """Decode the canonical encoding; anything else (trailing bytes included) is refused."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ArchitectureDecodeError("architecture encoding must be bytes")
        data = bytes(data)
        if len(data) > MAX_ENCODED_BYTES:
            raise ArchitectureDecodeError(
                f"architecture encoding of {len(data)} bytes exceeds {MAX_ENCODED_BYTES}"
            )
        reader = _Reader(data)
        if reader.take(4) != ENCODING_MAGIC:
            raise ArchitectureDecodeError("bad magic: not a zkarena architecture")
        (version,) = reader.unpack(">H")
        if version != ENCODING_VERSION:
            raise ArchitectureDecodeError(f"unsupported architecture encoding version {version}")
        (rank,) = reader.unpack(">B")
        if not 1 <= rank <= 3:
            raise ArchitectureDecodeError(f"input rank {rank} is not 1 to 3")
        input_shape = reader.unpack(">" + "I" * rank)
        input_range = reader.unpack(">qq")
        (count,) = reader.unpack(">H")
        if not 1 <= count <= MAX_LAYERS:
            raise ArchitectureDecodeError(f"layer count {count} is not 1 to {MAX_LAYERS}")
        layers: list[Layer] = []
        try:
            for _ in range(count):
                (tag,) = reader.unpack(">B")
                if tag == Dense.TAG:
                    i, o, wb, bb, s, relu = reader.unpack(">IIBBBB")
                    layers.append(Dense(i, o, wb, bb, s, _decode_bool(relu)))
                elif tag == Conv2d.TAG:
                    ci, co, k, st, p, wb, bb, s, relu = reader.unpack(">IIHHHBBBB")
                    layers.append(Conv2d(ci, co, k, st, p, wb, bb, s, _decode_bool(relu)))
                elif tag in (AvgPool2d.TAG, MaxPool2d.TAG):
                    k, st = reader.unpack(">HH")
                    layers.append(_BY_TAG[tag](k, st))
                elif tag == Flatten.TAG:
                    layers.append(Flatten())
                elif tag == Reshape.TAG:
                    layers.append(Reshape(*reader.unpack(">III")))
                else:
                    raise ArchitectureDecodeError(f"unknown layer tag {tag}")
            reader.finish()
            return cls(input_shape, input_range, tuple(layers))
        except ArchitectureDecodeError:
            raise
        except ArchitectureError as exc:
            raise ArchitectureDecodeError(f"invalid architecture: {exc}") from None

    def digest(self) -> bytes:
        """SHA-256 of the canonical binary encoding (32 bytes)."""
        return hashlib.sha256(self.to_bytes()).digest()

    # --------------------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        layers = []
        for layer in self.layers:
            entry: dict[str, Any] = {"type": layer.KIND}
            entry.update({f.name: getattr(layer, f.name) for f in fields(layer)})
            layers.append(entry)
        return {
            "format": JSON_FORMAT,
            "version": ENCODING_VERSION,
            "input_shape": list(self.input_shape),
            "input_range": list(self.input_range),
            "layers": layers,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, obj: Any) -> Architecture:
        """Strict inverse of :meth:`to_dict`: unknown or missing keys are refused."""
        try:
            _expect_keys(obj, {"format", "version", "input_shape", "input_range", "layers"}, "")
            if obj["format"] != JSON_FORMAT or obj["version"] != ENCODING_VERSION:
                raise ArchitectureDecodeError(
                    f"not a version-{ENCODING_VERSION} {JSON_FORMAT} document"
                )
            for key in ("input_shape", "input_range", "layers"):
                if not isinstance(obj[key], list):
                    raise ArchitectureDecodeError(f"'{key}' must be a list")
            if len(obj["layers"]) > MAX_LAYERS:
                raise ModelLimitError(f"more than {MAX_LAYERS} layers")
            layers = []
            for i, entry in enumerate(obj["layers"]):
                if not isinstance(entry, dict) or entry.get("type") not in _BY_KIND:
                    raise ArchitectureDecodeError(f"layer {i}: unknown or missing 'type'")
                layer_cls = _BY_KIND[entry["type"]]
                names = {f.name for f in fields(layer_cls)}
                _expect_keys(entry, names | {"type"}, f"layer {i}: ")
                layers.append(layer_cls(**{n: entry[n] for n in names}))
            return cls(tuple(obj["input_shape"]), tuple(obj["input_range"]), tuple(layers))
        except ArchitectureDecodeError:
            raise
        except ArchitectureError as exc:
            raise ArchitectureDecodeError(f"invalid architecture: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Architecture:
        if len(text) > MAX_JSON_BYTES:
            raise ArchitectureDecodeError(f"architecture JSON larger than {MAX_JSON_BYTES} bytes")
        try:
            obj = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArchitectureDecodeError(f"architecture JSON does not parse: {exc}") from None
        return cls.from_dict(obj)

    def describe(self) -> str:
        """A short human summary, one line per layer."""
        lines = [
            f"input {self.input_shape} integers in [{self.input_min}, {self.input_max}]",
        ]
        for i, layer in enumerate(self.layers):
            lines.append(f"  {i}: {layer} -> {self.shapes[i]}")
        lines.append(f"{self.weight_count} parameters, {self.num_classes} classes")
        return "\n".join(lines)


def _decode_bool(value: int) -> bool:
    if value not in (0, 1):
        raise ArchitectureDecodeError(f"flag byte {value} is neither 0 nor 1")
    return bool(value)


def _expect_keys(obj: Any, keys: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ArchitectureDecodeError(f"{where}expected a JSON object")
    missing = keys - obj.keys()
    extra = obj.keys() - keys
    if missing or extra:
        raise ArchitectureDecodeError(
            f"{where}missing keys {sorted(missing)}, unknown keys {sorted(extra)}"
        )


class _Reader:
    def __init__(self, data: bytes):
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise ArchitectureDecodeError("architecture encoding is truncated")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise ArchitectureDecodeError(
                f"{len(self._data) - self._pos} trailing bytes after the architecture"
            )


# ------------------------------------------------------------------------------- model


def _as_int64(name: str, value: Any, shape: tuple[int, ...], bits: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise ArchitectureError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ArchitectureError(f"{name} has shape {arr.shape}, the architecture says {shape}")
    lo, hi = signed_range(bits)
    # Compare before casting: a uint64 above 2^63 would wrap in astype(int64).
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise ArchitectureError(
            f"{name} has values outside its declared {bits}-bit signed range [{lo}, {hi}]"
        )
    out = np.array(arr, dtype=np.int64, order="C", copy=True)
    out.flags.writeable = False
    return out


class QuantizedModel:
    """An architecture plus its secret integer weights and biases (int64, read-only).

    ``tensors`` maps each layout name (``"layers.<i>.weight"``, ``"layers.<i>.bias"``) to
    its array; every value is checked against its declared signed width.
    """

    __slots__ = ("_arch", "_tensors")

    def __init__(self, architecture: Architecture, tensors: Mapping[str, Any]):
        if not isinstance(architecture, Architecture):
            raise TypeError("architecture must be an Architecture")
        expected = [s.name for s in architecture.layout]
        if set(tensors) != set(expected):
            missing = sorted(set(expected) - set(tensors))
            extra = sorted(set(tensors) - set(expected))
            raise ArchitectureError(f"weights missing {missing}, unexpected {extra}")
        checked = {
            s.name: _as_int64(s.name, tensors[s.name], s.shape, s.bits) for s in architecture.layout
        }
        self._arch = architecture
        self._tensors = MappingProxyType(checked)

    @property
    def architecture(self) -> Architecture:
        return self._arch

    @property
    def tensors(self) -> Mapping[str, np.ndarray]:
        return self._tensors

    def weight(self, layer: int) -> np.ndarray:
        return self._tensors[f"layers.{layer}.weight"]

    def bias(self, layer: int) -> np.ndarray:
        return self._tensors[f"layers.{layer}.bias"]

    def __iter__(self) -> Iterator[tuple[TensorSlot, np.ndarray]]:
        for slot in self._arch.layout:
            yield slot, self._tensors[slot.name]

    def flat_weights(self) -> np.ndarray:
        """The committed vector: every tensor in layout order, C order, as int64."""
        if not self._arch.layout:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([self._tensors[s.name].ravel() for s in self._arch.layout])

    @classmethod
    def from_flat(cls, architecture: Architecture, vector: Any) -> QuantizedModel:
        vec = np.asarray(vector)
        if vec.ndim != 1 or vec.shape[0] != architecture.weight_count:
            raise ArchitectureError(
                f"weight vector must be 1-D of length {architecture.weight_count}, "
                f"got shape {vec.shape}"
            )
        return cls(
            architecture,
            {s.name: vec[s.offset : s.stop].reshape(s.shape) for s in architecture.layout},
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantizedModel):
            return NotImplemented
        return self._arch == other._arch and all(
            np.array_equal(self._tensors[k], other._tensors[k]) for k in self._tensors
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Never print weights: reprs end up in logs and tracebacks.
        return (
            f"QuantizedModel(architecture={self._arch.digest().hex()[:16]}…, "
            f"{self._arch.weight_count} parameters)"
        )
