"""Moments of a zero-mean Gaussian by Isserlis' (Wick's) theorem.

For ε ~ N(0, Σ), E[ε_{a_1} ⋯ ε_{a_k}] is the sum, over all perfect matchings of the k factors, of
the product of Σ_{a b} over the matched pairs: (k − 1)!! terms for even k, and 0 for odd k, which
has no perfect matching. Isserlis, L. (1918), Biometrika 12, 134–139.

Example: E[ε_1² ε_2²] = Σ_11 Σ_22 + 2 Σ_12².

>>> import sympy as sp
>>> cov = sp.ImmutableMatrix([[sp.Symbol("a"), sp.Symbol("c")], [sp.Symbol("c"), sp.Symbol("b")]])
>>> monomial_moment((2, 2), cov)
a*b + 2*c**2
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache

import sympy as sp


def perfect_matchings(items: tuple[int, ...]) -> Iterator[tuple[tuple[int, int], ...]]:
    """All ways to split `items` (by position) into unordered pairs; none for an odd count."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for pos, partner in enumerate(rest):
        for matching in perfect_matchings(rest[:pos] + rest[pos + 1 :]):
            yield ((first, partner),) + matching


@lru_cache(maxsize=None)
def isserlis_moment(indices: tuple[int, ...], cov: sp.ImmutableMatrix) -> sp.Expr:
    """E[ε_{indices[0]} ⋯ ε_{indices[-1]}] for ε ~ N(0, cov); 0-based indices, repeats allowed."""
    return sp.Add(*(sp.Mul(*(cov[a, b] for a, b in m)) for m in perfect_matchings(indices)))


def monomial_moment(exponents: tuple[int, ...], cov: sp.ImmutableMatrix) -> sp.Expr:
    """E[∏_i ε_i^{exponents[i]}] for ε ~ N(0, cov)."""
    return isserlis_moment(tuple(a for a, e in enumerate(exponents) for _ in range(e)), cov)


def gaussian_expectation(
    coefficients: Mapping[tuple[int, ...], sp.Expr], cov: sp.ImmutableMatrix
) -> sp.Expr:
    """E[Σ_α c_α ε^α] for ε ~ N(0, cov), the polynomial given as {α: c_α} (`Poly.as_dict`)."""
    return sp.Add(*(c * monomial_moment(alpha, cov) for alpha, c in coefficients.items()))


def as_covariance(cov: object, dim: int) -> sp.ImmutableMatrix:
    """`cov` as an immutable sympy matrix, checked to be dim × dim and symmetric.

    Raises ValueError naming the bad shape or the first asymmetric pair.
    """
    try:
        matrix = sp.ImmutableMatrix(cov)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cov must be a {dim} x {dim} matrix. Got {cov!r}.") from err
    if matrix.shape != (dim, dim):
        raise ValueError(
            f"cov must be {dim} x {dim} to match the {dim} params. Got shape {matrix.shape}."
        )
    for a in range(dim):
        for b in range(a + 1, dim):
            if sp.simplify(matrix[a, b] - matrix[b, a]) != 0:
                raise ValueError(
                    f"cov must be symmetric. Got cov[{a}, {b}] = {matrix[a, b]} "
                    f"but cov[{b}, {a}] = {matrix[b, a]}."
                )
    return matrix
