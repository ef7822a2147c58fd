import pytest
import sympy as sp

from theory.closed_forms import (
    FOURTH_ORDER_TERM,
    SECOND_ORDER,
    fourth_order_term,
    noise_level_expansion,
    quadratic_exactness,
    second_order,
)
from theory.derive import expected_increase
from theory.notation import (
    eta,
    fourth_moment,
    generic_loss,
    instantiate,
    noise_trace,
    symmetric_matrix,
)


def test_closed_forms_are_returned_after_their_checks() -> None:
    assert second_order() == SECOND_ORDER
    assert fourth_order_term() == FOURTH_ORDER_TERM
    assert quadratic_exactness() == SECOND_ORDER


def test_fourth_order_term_with_wrong_pairings_would_fail() -> None:
    # The check has teeth: one pairing instead of three is not what expected_increase yields.
    loss, params = generic_loss(2)
    cov = symmetric_matrix("Sigma", 2)
    difference = expected_increase(loss, params, cov, 4) - expected_increase(loss, params, cov, 2)
    right = instantiate(FOURTH_ORDER_TERM, loss, params, cov)
    assert sp.expand(difference - right) == 0
    assert sp.expand(difference - right / 3) != 0


def test_noise_level_expansion_in_measured_quantities() -> None:
    assert noise_level_expansion(2) == eta**2 * noise_trace / 2
    assert noise_level_expansion(4) == eta**2 * noise_trace / 2 + eta**4 * fourth_moment / 24
    with pytest.raises(ValueError, match="order must be 2 or 4. Got 3"):
        noise_level_expansion(3)
