import ast
import pathlib

from zkproofs.rng import ProverRandomness

ZKPROOFS = pathlib.Path(__file__).resolve().parents[2] / "zkproofs"


def test_seeded_randomness_is_reproducible_and_hedged():
    a, b = ProverRandomness.for_tests(b"s"), ProverRandomness.for_tests(b"s")
    assert a.scalars(3) == b.scalars(3)
    a.hedge(b"witness", b"w1")
    b.hedge(b"witness", b"w2")
    assert a.scalar() != b.scalar()


def test_os_randomness_differs_between_instances():
    assert ProverRandomness().scalar() != ProverRandomness().scalar()


def test_outputs_do_not_repeat():
    rng = ProverRandomness.for_tests(b"x")
    out = rng.scalars(200)
    assert len(set(out)) == 200


def test_zkproofs_never_uses_insecure_random_modules():
    """Secrets come from rng.ProverRandomness only: no `random`, no numpy.random."""
    offenders = []
    for path in ZKPROOFS.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Attribute) and node.attr == "random":
                names = ["<attr>.random"]
            else:
                continue
            for n in names:
                if (
                    n == "random"
                    or n.startswith("random.")
                    or "numpy.random" in n
                    or (n == "<attr>.random")
                ):
                    offenders.append(f"{path.relative_to(ZKPROOFS)}:{node.lineno} {n}")
    assert offenders == []
