"""Symbolic side of noisewise (sympy only, no torch): derives what the empirical side measures.

notation          shared symbols and `instantiate` (a formula for a concrete loss and Σ)
gaussian_moments  Isserlis' theorem: moments of ε ~ N(0, Σ)
taylor            multivariate Taylor coefficients; argument checks
expectation       expected_increase: E[L(w + ε) − L(w)] to a given order
closed_forms      ½ tr(HΣ), the fourth-order term, quadratic exactness, ΔL(η) = a η² + b η⁴
noise_models      Σ₁ of the layer-relative, multiplicative and additive models; a, b for each
variance          Var[ΔL] to fourth order; gᵀΣg + ½ tr((HΣ)²)
stability         heavy-ball characteristic polynomial and the bound λ < 2(1 + β)/lr
kinks             what a piecewise-linear network's Hessian misses: the kink bracket B(a, s)
checks            symbolic checks that raise when a derivation step fails
results           every result as a named equation; derive (CLI) prints and writes them
predict           numeric functions lambdified from the derivations
"""
