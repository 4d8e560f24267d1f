"""The shape of a logUp-GKR proof, shared by the prover, the verifier and the size count.

Two binary trees of fractions p/q are proven at once, layer by layer from the root:

- the witness tree: 2^D_W leaves 1/(α − v_i), one per looked-up (encoded) value;
- the table tree: 2^D_T leaves m_t/(α − T_t), the multiplicities over the encoded table.

A node of layer k (2^k nodes) with children c₀, c₁ holds p = p₀·q₁ + p₁·q₀ and q = q₀·q₁,
so a root holds the sum of its tree's fractions, and logUp's identity
Σ_i 1/(α − v_i) = Σ_t m_t/(α − T_t) becomes P_W·Q_T = P_T·Q_W at the roots.

Step k (from layer k to layer k + 1) is a sumcheck over k variables; the trees still
active at that depth are batched in it with random weights. At a tree's bottom step part
of the children's values are public (witness leaves have p = 1; table leaves have the
public q = α − T), which saves commitments and product proofs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...proofstream import EQUALITY, PRODUCT, Size, sumcheck_size

WITNESS, TABLE = "witness", "table"


@dataclass(frozen=True)
class TreeStep:
    tree: str  # WITNESS or TABLE
    bottom: bool  # this step reaches the tree's leaves

    @property
    def committed_children(self) -> tuple[str, ...]:
        """Which of A0 = p(·,0), A1 = p(·,1), B0 = q(·,0), B1 = q(·,1) the prover commits."""
        if not self.bottom:
            return ("A0", "A1", "B0", "B1")
        return ("B0", "B1") if self.tree == WITNESS else ("A0", "A1")

    @property
    def products(self) -> tuple[str, ...]:
        """Which of T1 = A0·B1, T2 = A1·B0, T3 = B0·B1 need a product proof (both factors
        committed)."""
        committed = set(self.committed_children)
        pairs = {"T1": ("A0", "B1"), "T2": ("A1", "B0"), "T3": ("B0", "B1")}
        return tuple(name for name, (x, y) in pairs.items() if x in committed and y in committed)


def steps(depth_witness: int, depth_table: int) -> list[list[TreeStep]]:
    """For each step k = 0 … max depth − 1, the trees active in it."""
    if depth_witness < 1 or depth_table < 1:
        raise ValueError("both trees need at least two leaves")
    out = []
    for k in range(max(depth_witness, depth_table)):
        active = []
        if k < depth_witness:
            active.append(TreeStep(WITNESS, k + 1 == depth_witness))
        if k < depth_table:
            active.append(TreeStep(TABLE, k + 1 == depth_table))
        out.append(active)
    return out


ROOT_SIZE = Size(6) + PRODUCT * 2 + EQUALITY  # P_W, Q_W, P_T, Q_T, Z1, Z2


def proof_size(depth_witness: int, depth_table: int) -> Size:
    total = ROOT_SIZE
    for k, active in enumerate(steps(depth_witness, depth_table)):
        total += sumcheck_size(k, 3) + EQUALITY
        for step in active:
            total += Size(len(step.committed_children))
            total += (Size(1) + PRODUCT) * len(step.products)
    return total
