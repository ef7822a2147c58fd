import doctest
import numpy as np
import pytest
import sympy as sp

import theory.gaussian_moments
from theory.gaussian_moments import (
    as_covariance,
    gaussian_expectation,
    isserlis_moment,
    monomial_moment,
    perfect_matchings,
)

a, b, c = sp.symbols("a b c")
COV2 = sp.ImmutableMatrix([[a, c], [c, b]])


@pytest.mark.parametrize("k, count", [(0, 1), (1, 0), (2, 1), (3, 0), (4, 3), (6, 15), (8, 105)])
def test_matchings_count_is_double_factorial(k: int, count: int) -> None:
    assert sum(1 for _ in perfect_matchings(tuple(range(k)))) == count


def test_known_moments() -> None:
    assert monomial_moment((2, 0), COV2) == a
    assert monomial_moment((1, 1), COV2) == c
    assert monomial_moment((4, 0), COV2) == 3 * a**2
    assert sp.expand(monomial_moment((2, 2), COV2) - (a * b + 2 * c**2)) == 0
    assert sp.expand(monomial_moment((3, 1), COV2) - 3 * a * c) == 0
    assert monomial_moment((6, 0), COV2) == 15 * a**3


@pytest.mark.parametrize("exponents", [(1, 0), (0, 3), (2, 1), (3, 2), (5, 0)])
def test_odd_moments_vanish(exponents: tuple[int, int]) -> None:
    assert monomial_moment(exponents, COV2) == 0


def test_moments_match_monte_carlo_with_correlation() -> None:
    cov = np.array([[1.0, 0.6, -0.3], [0.6, 2.0, 0.4], [-0.3, 0.4, 0.5]])
    x = np.random.default_rng(0).multivariate_normal(np.zeros(3), cov, size=400_000)
    cov_sym = sp.ImmutableMatrix(cov)
    for indices in [(0, 0, 1, 1), (0, 1, 2, 2), (0, 0, 0, 2), (1, 1, 1, 1)]:
        samples = np.prod(x[:, list(indices)], axis=1)
        se = samples.std() / np.sqrt(len(samples))
        assert abs(samples.mean() - float(isserlis_moment(indices, cov_sym))) < 4 * se


def test_gaussian_expectation_of_polynomial() -> None:
    x, y = sp.symbols("x y")
    poly = sp.Poly(3 + x * y + 2 * x**2 * y**2 + x**3, x, y)
    expected = 3 + c + 2 * (a * b + 2 * c**2)
    assert sp.expand(gaussian_expectation(poly.as_dict(), COV2) - expected) == 0


def test_as_covariance_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"must be 2 x 2 .* Got shape \(3, 3\)"):
        as_covariance(sp.eye(3), 2)
    with pytest.raises(ValueError, match=r"symmetric. Got cov\[0, 1\] = 1 but cov\[1, 0\] = 2"):
        as_covariance([[1, 1], [2, 1]], 2)
    with pytest.raises(ValueError, match="must be a 2 x 2 matrix"):
        as_covariance("not a matrix", 2)
    assert as_covariance([[a, c], [c, b]], 2) == COV2


def test_docstring_examples() -> None:
    result = doctest.testmod(theory.gaussian_moments)
    assert result.attempted > 0 and result.failed == 0
