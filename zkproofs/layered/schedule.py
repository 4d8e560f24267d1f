"""The public shape of a protocol-v2 proof, derived from the architecture and N.

Prover and verifier compute the same ``Schedule`` from public data only (the architecture
frozen at commit time, N, the claimed count; the revealed test set is attached afterwards
by ``with_data``): which auxiliary vectors are committed and their shapes, which lookups
check which of their values, the lookup table, the order of the relations, and from all of
this the exact size of the proof. The range-check widths come from the intervals of
``ml.evaluate.intervals`` over the declared input range and widths (never the test set's
values, so the size is known before the test set is read; never witness values).

Layout of an activation (a per-sample tensor of F features for N samples): feature-major,
index = f·N' + n, with F' = next power of two ≥ F and N' = next power of two ≥ N, so the
sample index is the low bits. Hyrax rows are 2^w = min(2^11, N') entries wide, so every
row holds samples of one feature and every claim the protocol makes shares its column
coordinates (see layered/claims.py). Values at padded features or samples are zero; the
relations force it.

The vectors (``gadgets/linear.py``, ``gadgets/pool.py``, ``gadgets/count.py``,
``gadgets/weights.py``; the terms of each lookup in ``terms.py``):

- hidden layer with ReLU, q = ⌊(W·a + b)/2^s⌋: the ReLU output a = max(q, 0) and d =
  max(−q, 0) (so q = a − d), as one pair lookup relu(k); or, when k > 16 bits, 16-bit
  limbs of a and d with a shared sign bit σ, one signed(16) lookup per limb pair;
- hidden layer without ReLU: u = q + 2^(k−1) on real entries, in 16-bit range limbs;
- the remainder rem = W·a + b − 2^s·q, in range limbs of exactly s bits (Dense and Conv2d
  alike: a convolution is a linear map whose wiring is public);
- AvgPool: q = ⌊window sum / k²⌋ as u limbs, the remainder in [0, k²) exactly;
- MaxPool: the output y and a one-hot selector s per window, each window position a
  select lookup of (s, y − x − [before the selected one]): the first maximum;
- the logits ℓ (the last layer, shift 0): committed, not range-checked (they equal W·a + b);
- the count: b (one bit per sample, range(1)), t (the label's logit) and the margins
  f = [j < K]·(t + 2^B·([n < N] − b)) − ℓ − [j < y], in range limbs of B + 1 bits;
- weights: each weight or bias tensor of width b is range-checked as w + 2^(b−1) ∈ [0, 2^b)
  straight from C_W, with extra limbs (auxiliary vectors) above 16 bits.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import numpy as np

from ..commitments.hyrax import Layout
from ..errors import InvalidInputError
from ..lookup import logup_gkr
from ..lookup.tables import MAX_BITS, Kind, Table
from ..ml import evaluate
from ..ml.architecture import (
    Architecture,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    Reshape,
)
from ..proofstream import EQUALITY, Size, dot_size, sumcheck_size
from .terms import QuotientTerm, Term, WeightTerm, deduplicated, messages

PROTOCOL_VERSION = 2
MAX_ROW_BITS = 11
MAX_SAMPLES = 1 << 20


class ScheduleError(InvalidInputError):
    """An architecture or test set protocol v2 cannot prove (yet)."""


def pow2_bits(n: int) -> int:
    """log2 of the smallest power of two ≥ n (n ≥ 1)."""
    return max(0, (int(n) - 1).bit_length())


MIN_LIMB_BITS = 8


def max_limb_bits(leaves: int) -> int:
    """The widest limb worth a table for a lookup of ``leaves`` values: a table of 2^w
    entries costs about 2^w leaves of the lookup argument, a value of k bits in w-bit limbs
    ⌈k/w⌉·leaves, so w ≈ log2(leaves) + 1 (between 8 and 16) keeps their sum near minimal."""
    return max(MIN_LIMB_BITS, min(MAX_BITS, pow2_bits(leaves) + 1))


def limb_widths(bits: int, max_bits: int = MAX_BITS) -> list[int]:
    """Balanced limbs of at most ``max_bits`` bits covering ``bits`` bits (at least one
    limb): 21 bits become 11 + 10 rather than 16 + 5, which keeps the tables small."""
    bits = max(bits, 1)
    count = -(-bits // max_bits)
    base, extra = divmod(bits, count)
    return [base + 1] * extra + [base] * (count - extra)


def limb_shifts(widths) -> list[int]:
    """The bit offset of each limb: value = Σ_l limb_l·2^shift_l."""
    out, acc = [], 0
    for w in widths:
        out.append(acc)
        acc += w
    return out


def split_limbs(values: np.ndarray, widths) -> list[np.ndarray]:
    """Non-negative int64 values as limbs of the given widths (low limb first)."""
    return [(values >> s) & ((1 << w) - 1) for s, w in zip(limb_shifts(widths), widths,
                                                            strict=True)]


def signed_width(lo: int, hi: int) -> int:
    """k with [lo, hi] ⊆ [−2^(k−1), 2^(k−1))."""
    m = max(-lo, hi + 1, 1)
    return (m - 1).bit_length() + 1


# ------------------------------------------------------------------ the pieces


@dataclass(frozen=True)
class VectorSpec:
    """A committed auxiliary vector: its Hyrax layout and whether it is indexed by sample."""

    name: str
    layout: Layout
    by_sample: bool

    @property
    def size(self) -> int:
        return 1 << self.layout.num_vars


@dataclass(frozen=True)
class Segment:
    """One lookup: every leaf i < 2^bits looks up the tuple (components evaluated at i).

    ``by_sample``: the leaves run over the sample-major order of feature-major vectors
    (leaf n·F' + f reads entry f·N' + n), so a segment point (z_n, z_f) is the vectors'
    point (z_f, z_n); ``f_bits`` = log2 F'. Otherwise leaf i reads entry i."""

    name: str
    kind: Kind
    bits: int
    components: tuple[tuple[Term, ...], ...]
    by_sample: bool
    f_bits: int = 0

    def __post_init__(self) -> None:
        if len(self.components) != self.kind.arity:
            raise ValueError(f"segment {self.name}: {self.kind.name} takes {self.kind.arity}")

    def terms(self):
        for comp in self.components:
            yield from comp


@dataclass(frozen=True)
class Activation:
    """How a layer's output (the next layer's input) is made of committed vectors:
    Σ coeff·vector − offset on the real entries (u = q + 2^(k−1) limbs), per-sample shape
    ``shape`` laid out flat in C order. ``terms`` is empty for the public test inputs."""

    shape: tuple[int, ...]
    terms: tuple[tuple[str, int], ...] = ()
    offset: int = 0
    source: str = ""  # the producing layer's name ("" for the test inputs)

    @property
    def features(self) -> int:
        return int(np.prod(self.shape))

    @property
    def f_bits(self) -> int:
        return pow2_bits(self.features)

    @property
    def public(self) -> bool:
        return not self.terms


@dataclass(frozen=True)
class LinearPlan:
    """A Dense or Conv2d layer (see gadgets/linear.py)."""

    index: int
    layer: Dense | Conv2d
    input: Activation
    out_shape: tuple[int, ...]
    logits: bool
    shift: int
    relu: bool
    k: int  # width of q's magnitude (relu) or signed width (no relu); 0 for logits
    limbs: tuple[int, ...]  # limb widths of a/d (relu) or u (no relu)
    rem_limbs: tuple[int, ...]  # limb widths of the remainder (empty when shift 0)
    weight_offset: int
    bias_offset: int

    @property
    def out(self) -> str:
        return f"L{self.index}"

    @property
    def conv(self) -> bool:
        return isinstance(self.layer, Conv2d)

    @property
    def out_features(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def f_out_bits(self) -> int:
        return pow2_bits(self.out_features)

    @property
    def f_in_bits(self) -> int:
        return self.input.f_bits

    @property
    def pair(self) -> bool:
        """ReLU checked by one relu(k) pair lookup (a single limb)."""
        return self.relu and len(self.limbs) == 1


@dataclass(frozen=True)
class PoolPlan:
    """An AvgPool2d or MaxPool2d layer (see gadgets/pool.py)."""

    index: int
    layer: AvgPool2d | MaxPool2d
    input: Activation
    out_shape: tuple[int, ...]
    k: int  # AvgPool: signed width of q; MaxPool: width of the gaps y − x
    limbs: tuple[int, ...]  # AvgPool: limb widths of u
    rem_bits: int  # AvgPool: bits of the remainder's range check

    @property
    def out(self) -> str:
        return f"L{self.index}"

    @property
    def maxpool(self) -> bool:
        return isinstance(self.layer, MaxPool2d)

    @property
    def windows(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def area(self) -> int:
        return self.layer.kernel * self.layer.kernel

    @property
    def j_bits(self) -> int:
        return pow2_bits(self.area)

    @property
    def f_out_bits(self) -> int:
        return pow2_bits(self.windows)


Plan = LinearPlan | PoolPlan


@dataclass(frozen=True)
class CountPlan:
    """The accuracy count over the logits (see gadgets/count.py)."""

    num_classes: int
    k_bits: int
    B: int
    margin_limbs: tuple[int, ...]
    logits: str


@dataclass(frozen=True)
class WeightRangePlan:
    """The range checks of one weight or bias tensor (see gadgets/weights.py)."""

    name: str
    offset: int
    size: int
    bits: int
    hi_limbs: tuple[int, ...]  # widths of the limbs above the low one


@dataclass
class Schedule:
    arch: Architecture
    num_samples: int
    s_bits: int
    claimed: int
    x: np.ndarray | None  # (N, features) int64, public (with_data)
    y: np.ndarray | None  # (N,) int64, public
    layers: list[Plan]
    count: CountPlan
    weight_ranges: list[WeightRangePlan]
    vectors: dict[str, VectorSpec] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    table: Table | None = None
    weight_layout: Layout | None = None

    # ---------------------------------------------------------------- derived

    @property
    def n_pad(self) -> int:
        return 1 << self.s_bits

    def vector(self, name: str) -> VectorSpec:
        return self.vectors[name]

    def add_vector(self, name: str, f_bits: int, live_features: int) -> VectorSpec:
        layout = Layout(f_bits, self.s_bits, min(MAX_ROW_BITS, f_bits + self.s_bits),
                        live_features, self.num_samples)
        spec = VectorSpec(name, layout, True)
        self.vectors[name] = spec
        return spec

    def add_flat_vector(self, name: str, size: int) -> VectorSpec:
        """A vector without a sample axis (size entries), viewed as F' × S with S ≤ N' (so
        that its sample coordinates are a suffix of the sample reduction's point)."""
        bits = pow2_bits(size)
        s_bits = min(bits, self.s_bits)
        f_bits = bits - s_bits
        s = 1 << s_bits
        live_features = -(-size // s)
        live_samples = s if live_features > 1 else size
        layout = Layout(f_bits, s_bits, min(MAX_ROW_BITS, bits), live_features, live_samples)
        spec = VectorSpec(name, layout, False)
        self.vectors[name] = spec
        return spec

    @property
    def f_bits(self) -> int:
        """Feature variables of the feature reduction: the most any vector has."""
        return max(v.layout.f_bits for v in self.vectors.values())

    @property
    def column_bits(self) -> int:
        """Columns of the batched opening of all vectors: the widest vector's rows."""
        return max(v.layout.w_bits for v in self.vectors.values())

    @property
    def leaf_bits(self) -> int:
        used = sum(1 << s.bits for s in self.segments)
        return max(1, pow2_bits(used))

    def segment_offsets(self) -> list[int]:
        """Aligned offsets of the segments in the leaf vector (they are sorted largest first)."""
        out, off = [], 0
        for s in self.segments:
            out.append(off)
            off += 1 << s.bits
        return out

    def digest(self) -> bytes:
        """SHA-256 of everything in the schedule that shapes the proof (absorbed first)."""
        h = hashlib.sha256(b"zkarena/layered/schedule")
        h.update(struct.pack(">HQB", PROTOCOL_VERSION, self.num_samples, self.s_bits))
        h.update(self.arch.digest())
        for name, v in self.vectors.items():
            lay = v.layout
            h.update(name.encode() + b"\0")
            h.update(struct.pack(">BBBQQB", lay.f_bits, lay.s_bits, lay.w_bits,
                                 lay.live_features, lay.live_samples, int(v.by_sample)))
        for s in self.segments:
            h.update(s.name.encode() + b"\0" + s.kind.name.encode() + b"\0")
            h.update(struct.pack(">BBBB", s.kind.bits, s.bits, int(s.by_sample), s.f_bits))
        for k in self.table.kinds:
            h.update(k.name.encode() + struct.pack(">B", k.bits))
        return h.digest()

    # ---------------------------------------------------------------- sizes

    def leaf_messages(self) -> tuple[int, int]:
        """(commitments the leaf decomposition sends, of which claims on aux vectors)."""
        seen = set()
        sent = aux = 0
        for s in self.segments:
            for term in s.terms():
                if deduplicated(term):
                    key = term.key(s)
                    if key in seen:
                        continue
                    seen.add(key)
                n = messages(term)
                sent += n
                if not isinstance(term, (WeightTerm, QuotientTerm)):
                    aux += n
        return sent, aux

    def proof_size(self) -> Size:
        """The exact number of points and scalars of a proof (see prover.py's order)."""
        from .gadgets import count, linear, pool

        total = Size(sum(v.layout.num_live_rows for v in self.vectors.values()))
        total += logup_gkr.proof_size(self.leaf_bits, self.table.num_vars)
        sent, aux_claims = self.leaf_messages()
        total += Size(sent) + EQUALITY
        for plan in self.layers:
            gadget = pool if isinstance(plan, PoolPlan) else linear
            total += gadget.proof_size(self, plan)
            aux_claims += gadget.claim_count(self, plan)
        total += count.proof_size(self)
        aux_claims += count.claim_count(self) + 1  # and the lookup multiplicities' claim
        total += sumcheck_size(self.s_bits, 2) + Size(aux_claims) + EQUALITY
        total += sumcheck_size(self.f_bits, 2) + Size(len(self.vectors)) + EQUALITY
        total += sumcheck_size(self.weight_layout.num_vars, 2) + Size(1) + EQUALITY
        total += dot_size(1 << self.column_bits) + dot_size(self.weight_layout.width)
        return total


# ------------------------------------------------------------------ building it


def build(arch: Architecture, num_samples: int, claimed: int = 0) -> Schedule:
    """The schedule of a proof about ``num_samples`` samples, from the architecture alone.

    Widths come from the intervals over the whole declared input range (not from the test
    set's values), so the exact proof size is known before the test set is even read: the
    site checks an upload's length from the architecture and N alone. ``with_data`` attaches
    the public test set a prover or verifier works on."""
    from .gadgets import count, linear, pool, weights

    n = int(num_samples)
    if not 1 <= n <= MAX_SAMPLES:
        raise ScheduleError(f"N = {n} is outside [1, {MAX_SAMPLES}]")
    if not 0 <= claimed <= n:
        raise ScheduleError(f"the claimed count {claimed} is not in [0, {n}]")
    s_bits = pow2_bits(n)
    sched = Schedule(
        arch=arch,
        num_samples=n,
        s_bits=s_bits,
        claimed=claimed,
        x=None,
        y=None,
        layers=[],
        count=None,  # type: ignore[arg-type]
        weight_ranges=[],
    )
    ivs = evaluate.intervals(arch)
    current = Activation(tuple(arch.input_shape))
    last = len(arch.layers) - 1
    for i, layer in enumerate(arch.layers):
        if isinstance(layer, (Flatten, Reshape)):
            current = Activation(tuple(arch.shapes[i]), current.terms, current.offset,
                                 current.source)
        elif isinstance(layer, (Dense, Conv2d)):
            current = linear.plan(sched, i, layer, current, ivs.layers[i], i == last)
        elif isinstance(layer, (AvgPool2d, MaxPool2d)):
            before = ivs.input if i == 0 else ivs.layers[i - 1].out
            bounds = (int(before.lo.min()), int(before.hi.max()))
            current = pool.plan(sched, i, layer, current, ivs.layers[i], bounds)
        else:  # pragma: no cover - Architecture admits only the types above
            raise ScheduleError(f"layer {i} ({layer.KIND}) is not supported by protocol v2")
    count.plan(sched, ivs)
    weights.plan(sched)
    sched.weight_layout = weights.weight_layout(arch)
    # Segments largest first (aligned offsets), then the table of every kind they use.
    sched.segments.sort(key=lambda s: (-s.bits, s.name))
    sched.table = Table(tuple({s.kind for s in sched.segments}))
    sched.add_flat_vector("lookup.m", sched.table.size)
    return sched


def with_data(sched: Schedule, x, y) -> Schedule:
    """Attach the public test set (validated against the architecture and N)."""
    x = evaluate.check_inputs(sched.arch, x)
    if x.shape[0] != sched.num_samples:
        raise ScheduleError(f"the test set has {x.shape[0]} samples, the schedule "
                            f"{sched.num_samples}")
    sched.y = evaluate.check_labels(sched.arch, y, sched.num_samples)
    sched.x = np.ascontiguousarray(x.reshape(sched.num_samples, -1))
    return sched
