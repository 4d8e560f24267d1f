"""Lookup arguments: range and tuple checks of committed values against small public
tables (protocol v2).

- :mod:`.tables`: the table kinds, their layout and closed-form multilinear extensions;
- :mod:`.logup_gkr`: logUp (Haböck, "Multivariate lookups based on logarithmic
  derivatives", 2022) with its fractional sums proven by a GKR-style layered sumcheck
  (Papini–Haböck, "Improving logarithmic derivative lookups using GKR", 2023), in zero
  knowledge: no vector of inverses is ever committed.
"""
