"""The published constants of the phase-change-memory (PCM) statistical model.

The model is IBM's analog AI hardware kit's (aihwkit) `PCMLikeNoiseModel`, calibrated on a million
devices (Nandakumar et al., ICECS 2019; Joshi et al., Nature Communications 11, 2473, 2020). Each
constant names where it comes from: "docs" is aihwkit's `docs/source/pcm_inference.rst`, "source"
its `src/aihwkit/inference/noise/pcm.py` (and, where named, the conductance converter and the
drift compensation). Conductances are in µS, times in seconds.
"""

# Largest programmable conductance (µS): the default g_max of aihwkit's
# `SinglePairConductanceConverter` and the reference the programming-noise fit was made at.
G_MAX = 25.0

# Programming noise σ_prog = (c0 + c1 x + c2 x²) · g_max / G_MAX µS with x = g_T / g_max
# (source: `prog_coeff = [0.26348, 1.9650, -1.1731]`, `sig_prog *= g_max / prog_coeff_g_max_reference`
# with the reference 25 µS; docs: max(−1.1731 g_T² + 1.9650 g_T + 0.2635, 0), g_T in [0, 1]). The
# polynomial is ≥ 0.26 on [0, 1], so the docs' max(·, 0) never binds and the source omits it.
PROG_COEFFS = (0.26348, 1.9650, -1.1731)

# Drift g(t) = g_prog (t_total / T_0)^(−ν), t_total = t + T_0 with t the time after programming
# (source: `t = t_inference + self.t_0`, `g_prog * ((t / self.t_0) ** (-drift_noise_param))`,
# `t_0 = 20.0`; docs: g_prog (t/t_c)^(−ν), t_c the time of the first read after programming).
T_0 = 20.0

# ν ~ N(μ_ν, σ_ν²), then |ν| (source: `torch_abs(mu_drift + sig_drift * randn_like(...))`), with
# μ_ν = clip(−0.0155 log x + 0.0244, 0.049, 0.1) and σ_ν = clip(−0.0125 log x − 0.0059, 0.008, 0.045),
# natural log, x = g_T / g_max clipped below at 1e-7 (docs and source, `_ZERO_CLIP = 1e-7`).
NU_MEAN_FIT = (-0.0155, 0.0244)  # (slope, intercept)
NU_MEAN_CLIP = (0.049, 0.1)
NU_STD_FIT = (-0.0125, -0.0059)
NU_STD_CLIP = (0.008, 0.045)
ZERO_CLIP = 1e-7

# Read (1/f) noise σ_nG = g_drift Q_s √log((t_total + T_READ) / (2 T_READ)) with
# Q_s = min(0.0088 / x^0.65, 0.2) (docs, x = g_T / g_max); the source clips x^0.65 below at 1e-3
# (`.clamp(min=1e-3)`), which only matters where the 0.2 cap already binds. T_READ = 250 ns, the
# read pulse width (docs and source, `t_read = 250.0e-9`).
Q_S_SCALE = 0.0088
Q_S_EXPONENT = 0.65
Q_S_FLOOR = 1e-3
Q_S_MAX = 0.2
T_READ = 250e-9
