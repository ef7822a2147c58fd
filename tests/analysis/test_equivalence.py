"""The ±10% equivalence test: holds only when the whole interval is in the band, fails only when it
is wholly outside, undetermined otherwise."""

from __future__ import annotations

import math

import pytest

from empirical.analysis.equivalence import BAND, FAILS, HOLDS, UNDETERMINED, equivalence


@pytest.mark.parametrize(
    ("low", "high", "want"),
    [
        (0.95, 1.05, HOLDS),
        (BAND[0], BAND[1], HOLDS),
        (0.5, 0.8, FAILS),
        (1.2, 1.3, FAILS),
        (0.85, 1.05, UNDETERMINED),  # touches the band: the old "compatible" reading called this agreement
        (0.5, 2.0, UNDETERMINED),  # imprecise: covers the band and beyond
        (math.nan, 1.0, UNDETERMINED),
        (1.0, math.inf, UNDETERMINED),
    ],
)
def test_three_outcomes(low, high, want):
    assert equivalence(low, high) == want
