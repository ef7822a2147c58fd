import doctest
import subprocess
import sys

import numpy as np
import pytest

import theory.predict
from theory.predict import (
    delta_loss_fourth_order,
    delta_loss_second_order,
    delta_loss_variance,
    stability_bound,
)


def test_values_and_broadcasting() -> None:
    eta = np.array([0.0, 0.1, 0.2])
    np.testing.assert_allclose(delta_loss_second_order(eta, 48.0), 0.5 * eta**2 * 48.0)
    np.testing.assert_allclose(
        delta_loss_fourth_order(eta, 48.0, 600.0), 0.5 * eta**2 * 48.0 + eta**4 * 600.0 / 24
    )
    np.testing.assert_allclose(
        delta_loss_variance(eta, 2.0, 30.0), eta**2 * 2.0 + 0.5 * eta**4 * 30.0
    )
    np.testing.assert_allclose(stability_bound([0.1, 0.01], [0.9, 0.0]), [38.0, 200.0])
    assert np.shape(delta_loss_second_order(eta[:, None], np.ones(4))) == (3, 4)
    assert isinstance(float(delta_loss_second_order(0.1, 1.0)), float)


def test_fourth_order_improves_on_second_for_cos() -> None:
    # L = cos, Σ₁ = σ²: exact E[ΔL] = cos(w)(exp(−η²σ²/2) − 1); tr(HΣ₁) = −cos(w)σ² and
    # E_v[L''''(w) v⁴] = 3σ⁴cos(w). Errors shrink like η⁴ and η⁶.
    w, sigma = 0.3, 0.8
    for eta in (0.1, 0.2):
        exact = np.cos(w) * np.expm1(-((eta * sigma) ** 2) / 2)
        second = delta_loss_second_order(eta, -np.cos(w) * sigma**2)
        fourth = delta_loss_fourth_order(eta, -np.cos(w) * sigma**2, 3 * sigma**4 * np.cos(w))
        rel = (eta * sigma) ** 2
        assert abs(second - exact) == pytest.approx(np.cos(w) * rel**2 / 8, rel=0.1)
        assert abs(fourth - exact) == pytest.approx(np.cos(w) * rel**3 / 48, rel=0.1)


def test_negative_noise_level_raises() -> None:
    with pytest.raises(ValueError, match="noise_level must be >= 0"):
        delta_loss_second_order(-0.1, 1.0)


def test_import_is_lazy_and_torch_free() -> None:
    code = (
        "import sys, theory.predict, theory.derive\n"
        "from theory.closed_forms import noise_level_expansion\n"
        "assert noise_level_expansion.cache_info().currsize == 0\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_compile_all_derives_every_prediction_up_front() -> None:
    code = (
        "import theory.predict as p\n"
        "p.compile_all()\n"
        "assert p._compiled.cache_info().currsize == len(p._EXPRESSIONS)\n"
        "assert p._compiled_kinks.cache_info().currsize == len(p._KINK_PIECES)\n"
        "p.delta_loss_second_order(0.1, 1.0), p.kink_bracket(0.0, 1.0), p.max_pool_bracket(0.0, 0.0, 1.0, 1.0, 0.0)\n"
        "assert p._compiled.cache_info().misses + p._compiled_kinks.cache_info().misses == "
        "len(p._EXPRESSIONS) + len(p._KINK_PIECES)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_docstring_examples() -> None:
    result = doctest.testmod(theory.predict)
    assert result.attempted > 0 and result.failed == 0
