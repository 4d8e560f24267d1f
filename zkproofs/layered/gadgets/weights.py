"""Range checks of the committed weights and biases (protocol v2).

Every tensor of declared width b must hold values in [−2^(b−1), 2^(b−1)). Its range check
is a lookup of u = w + 2^(b−1) ∈ [0, 2^b) read straight from C_W: the leaves of the
tensor's segment are w[offset + i] + 2^(b−1) for i < size (a linear form on C_W plus a
public constant), so no copy of the weights is committed. Above 16 bits, u splits into a
low 16-bit limb (still read from C_W: u − 2^16·hi) and high limbs hi_l, committed as small
auxiliary vectors with their own range lookups.

C_W is the commit-time weight commitment (zkproofs.weights): rows of 512 values in
the architecture's layout order. For the Hyrax evaluation proof its rows are the "features"
and the 512 columns the "samples" of a layout (the padding rows are implied zero).
"""

from __future__ import annotations

from ...commitments.hyrax import Layout
from ...lookup.tables import Kind
from ...ml.architecture import Architecture
from ...params import KAPPA, ROW_WIDTH
from ..schedule import (
    Schedule,
    Segment,
    WeightRangePlan,
    limb_shifts,
    limb_widths,
    max_limb_bits,
    pow2_bits,
    split_limbs,
)
from ..terms import ConstTerm, VecTerm, WeightTerm  # noqa: E402


def weight_layout(arch: Architecture) -> Layout:
    rows = -(-arch.weight_count // ROW_WIDTH)
    return Layout(pow2_bits(rows), KAPPA, KAPPA, rows, ROW_WIDTH)


def hi_name(plan: WeightRangePlan, limb: int) -> str:
    return f"W.{plan.name}.hi{limb}"


def plan(sched: Schedule) -> None:
    for slot in sched.arch.layout:
        b = slot.bits
        widths = limb_widths(b, max_limb_bits(slot.size))
        p = WeightRangePlan(slot.name, slot.offset, slot.size, b, tuple(widths[1:]))
        sched.weight_ranges.append(p)
        bits = pow2_bits(slot.size)
        shifts = limb_shifts(widths)
        low: list = [WeightTerm(slot.offset, slot.size, 1), ConstTerm(1 << (b - 1), slot.size)]
        for limb in range(len(p.hi_limbs)):
            spec = sched.add_flat_vector(hi_name(p, limb), slot.size)
            bits = max(bits, spec.layout.num_vars)
            low.append(VecTerm(hi_name(p, limb), -(1 << shifts[limb + 1])))
        sched.segments.append(
            Segment(f"range {slot.name}", Kind("range", widths[0]), bits, (tuple(low),),
                    by_sample=False)
        )
        for limb, width in enumerate(p.hi_limbs):
            sched.segments.append(
                Segment(f"range {slot.name} limb {limb + 1}", Kind("range", width), bits,
                        ((VecTerm(hi_name(p, limb), 1),),), by_sample=False)
            )


def hi_values(plan: WeightRangePlan, flat_weights) -> list:
    """The high limbs of u = w + 2^(b−1) for a tensor (int64 arrays of its size)."""
    u = flat_weights[plan.offset : plan.offset + plan.size] + (1 << (plan.bits - 1))
    return split_limbs(u, [plan.bits - sum(plan.hi_limbs), *plan.hi_limbs])[1:]
