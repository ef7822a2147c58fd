"""Is a prediction within ±10% of the measurement? An equivalence test with three outcomes.

The band is |predicted − measured| ≤ 10% of |measured|, i.e. the ratio R = measured/predicted in
[1/1.1, 1/0.9] (:data:`BAND`). From R's 95% interval [low, high]:

- :data:`HOLDS`: the whole interval lies inside the band (equivalence shown, two one-sided tests at 2.5%);
- :data:`FAILS`: the whole interval lies outside it (a miss of more than 10% shown);
- :data:`UNDETERMINED`: the interval straddles an edge of the band, or is not finite (an unknown
  error, an undefined ratio): the data cannot tell.

An imprecise measurement therefore never reads as agreement.
"""

from __future__ import annotations

import math

WITHIN = 0.10  # a prediction "agrees" when |predicted − measured| ≤ 10% of |measured|
BAND = (1 / (1 + WITHIN), 1 / (1 - WITHIN))
HOLDS, FAILS, UNDETERMINED = "holds", "fails", "undetermined"
OUTCOMES = (HOLDS, FAILS, UNDETERMINED)


def equivalence(low: float, high: float) -> str:
    """:data:`HOLDS`, :data:`FAILS` or :data:`UNDETERMINED` for a ratio interval [low, high] against :data:`BAND`."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return UNDETERMINED
    if BAND[0] <= low and high <= BAND[1]:
        return HOLDS
    if high < BAND[0] or low > BAND[1]:
        return FAILS
    return UNDETERMINED
