"""The results folder's format in one place: its files, every CSV column and JSON key, with units.

The writers (:mod:`empirical.sweep.store`) take their column lists from here, the paper's loader
checks a subset of them, and ``docs/results.md`` is :func:`markdown` (``python -m
empirical.sweep.schema > docs/results.md``); its first section states the unit conventions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class File:
    """One file (or folder) of a results folder, relative to it."""

    path: str
    holds: str


@dataclass(frozen=True)
class Column:
    """One CSV column or top-level JSON key; ``unit`` is "" for text, identifiers and nested objects."""

    name: str
    unit: str
    meaning: str


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """The names of ``columns``, in order."""
    return tuple(c.name for c in columns)


FILES = (
    File("config.json", "the resolved sweep configuration, the software versions and the device"),
    File("runs/<run_id>/run.json", "one finished run's record, written last: a run without it is unfinished"),
    File("runs/<run_id>/model.pt", "the trained `state_dict` (`torch.load(path, weights_only=True)`)"),
    File("runs.csv", "one row per (lr, seed): training outcome, curvature, the theory's inputs, timings"),
    File("noise.csv", "one row per (run, noise model, noise level): clean and noisy loss and accuracy, measured and "
         "predicted ΔL"),
    File("layers.csv", "one row per (run, layer, noise level) of the runs of `layer_seeds` (only the header without "
         "them): predicted and measured ΔL with noise on that layer alone"),
    File("summary.json", "aggregates over seeds with 95% intervals and the analysis (one block per noise model)"),
    File("slurm/", "submitit's job logs (only with `--executor slurm`)"),
)  # fmt: skip

_SE = "standard error of the column before"
#: The timed parts of a run, in the order it runs them: ``<part>_seconds`` in runs.csv, empty where
#: a run skipped the part (a diverged run stops after ``clean``).
TIMED_PARTS = {
    "data": "loading the splits and building the model",
    "train": "training and saving the model",
    "clean": "the clean loss and accuracy on both splits",
    "trace": "the traces (`hessian_trace_train`, `hessian_trace_test`, and `noise_trace_test` except for pcm)",
    "lambda_max": "`lambda_max_train` (Lanczos)",
    "fourth_order": "`fourth_moment_test`",
    "variance_terms": "`grad_cov_grad_test` and `hsigma_sq_trace_test`",
    "kink": "the kink term (`kink_delta_loss` of noise.csv, every level)",
    "control": "the Monte Carlo's control variate (top eigenpairs of Σ₁^½HΣ₁^½, Lanczos)",
    "mean_terms": "pcm: gᵀμ, μᵀHμ and tr(HΣ(t)) at every inference time",
    "noise": "the Monte Carlo noisy evaluation, every level",
    "layers": "the per-layer sensitivity (layers.csv; runs of `layer_seeds` only)",
    "extra_noise_models": "the `extra_noise_models`: their traces, kink terms and Monte Carlo",
}
RUNS = (
    Column("run_id", "", "`lr<lr>_seed<seed>`, the run's folder under `runs/`"),
    Column("lr", "w²/nats", "SGD learning rate (constant)"),
    Column("seed", "", "training seed (initialisation and batch order)"),
    Column("status", "", "`ok`, or `diverged`: the run keeps its row with empty curvature and theory fields"),
    Column("failure", "", "why it diverged: `nonfinite` (loss NaN/inf), `exploded` (an epoch's loss past "
           "`divergence_factor` × the first), `collapsed` (final train loss no better than the best constant "
           "predictor); empty when ok"),
    Column("epochs", "count", "epochs completed (fewer than configured when training stopped on divergence)"),
    Column("train_loss", "nats", "final mean cross-entropy on the whole train split"),
    Column("train_acc", "fraction", "final accuracy on the whole train split"),
    Column("test_loss", "nats", "final mean cross-entropy on the test split"),
    Column("test_acc", "fraction", "final accuracy on the test split"),
    Column("hessian_trace_train", "nats/w²", "tr(H) over all trainable parameters, H the Hessian of the mean "
           "train loss on a fixed subset of `curvature_samples` samples"),
    Column("hessian_trace_train_se", "nats/w²", _SE),
    Column("hessian_trace_test", "nats/w²", "tr(H) of the mean test loss over all trainable parameters"),
    Column("hessian_trace_test_se", "nats/w²", _SE),
    Column("noise_trace_test", "nats per unit η²", "tr(HΣ₁) of the mean test loss: ½η² times it is the "
           "predicted E[ΔL]"),
    Column("noise_trace_test_se", "nats per unit η²", _SE),
    Column("lambda_max_train", "nats/w²", "largest Hessian eigenvalue λ_max on the train subset (Lanczos)"),
    Column("lambda_max_residual", "nats/w²", "Lanczos residual ‖Hv − λv‖ (unit v): an eigenvalue lies "
           "within it of λ_max"),
    Column("stability_bound", "nats/w²", "2(1+β)/lr, β the momentum: heavy-ball SGD is stable on a quadratic "
           "iff λ_max is below it"),
    Column("weight_norm", "w", "Euclidean norm of the parameters that receive noise"),
    Column("fourth_moment_test", "nats per unit η⁴", "E_v[D⁴L[v,v,v,v]], v ~ N(0, Σ₁), on the test split: "
           "η⁴/24 times it is the fourth-order term of E[ΔL]"),
    Column("fourth_moment_test_se", "nats per unit η⁴", "standard error over its random directions"),
    Column("fourth_moment_draws", "count", "random directions v behind `fourth_moment_test`"),
    Column("grad_cov_grad_test", "nats² per unit η²", "gᵀΣ₁g, g the test-loss gradient (exact): η² "
           "times it is the leading term of Var[ΔL]"),
    Column("hsigma_sq_trace_test", "nats² per unit η⁴", "tr((HΣ₁)²) on the test split: ½η⁴ times it is the "
           "next term of Var[ΔL]"),
    Column("hsigma_sq_trace_test_se", "nats² per unit η⁴", "standard error over its random probes"),
    *(Column(f"{part}_seconds", "s", f"time of {what}") for part, what in TIMED_PARTS.items()),
    Column("run_seconds", "s", "the sum of the parts: the run's time after its process started"),
)  # fmt: skip

#: The columns that name a row's run, first in noise.csv and layers.csv.
_OF_RUN = (
    Column("run_id", "", "the run (a row of runs.csv)"),
    Column("lr", "w²/nats", "its learning rate"),
    Column("seed", "", "its training seed"),
)

NOISE = (
    *_OF_RUN,
    Column("noise_model", "", "`layer-relative` (std η·std(W_l) per weight tensor W_l), `multiplicative` "
           "(std η·|w|), `additive` (std η) or `pcm` (phase-change memory at a time after programming)"),
    Column("noise_level", "dimensionless or s", "the noise level η: noise ε ~ N(0, η²Σ₁); for `pcm` the inference "
           "time t in seconds after programming"),
    Column("inference_seconds", "s", "`pcm`: the inference time t after programming (as `noise_level`); empty for "
           "the Gaussian models"),
    Column("samples", "count", "noisy passes over the test split: antithetic pairs (ε, −ε), the same draws for "
           "every run"),
    Column("blocks", "count", "draws per noisy pass: the test split is dealt into this many blocks (sample i in "
           "block i mod `blocks`), each evaluated under its own draw; 1: one draw per pass, as one device sees it"),
    Column("clean_loss", "nats", "L(w), mean cross-entropy on the test split without noise"),
    Column("noisy_loss_mean", "nats", "mean over draws of L(w + ε)"),
    Column("delta_loss", "nats", "measured E[ΔL]: mean over pairs of d = (L(w+ε) + L(w−ε))/2 − L(w), with the "
           "control variate (the sweep's `control_directions` > 0, Gaussian models): the intercept of d regressed on "
           "c = ½Σ_j λ_j((u_jᵀz)² − 1) over the pairs, E[c] = 0 exactly, (λ_j, u_j) the top eigenpairs of Σ₁^½HΣ₁^½ "
           "and z the pair's standard normal draw (averaged over its blocks)"),
    Column("delta_loss_se", "nats", "its standard error over pairs (with the control: the regression intercept's, "
           "n − 2 degrees of freedom)"),
    Column("delta_loss_plain", "nats", "the plain Monte Carlo mean of d, without the control (equal to `delta_loss` "
           "without it)"),
    Column("delta_loss_plain_se", "nats", "its standard error over pairs"),
    Column("control_slope", "ratio", "the regression's slope on η²c: 1 where d's spread is the Hessian's quadratic "
           "term along the directions, lower where kinks add their own; empty without the control"),
    Column("delta_loss_std", "nats", "standard deviation of L(w+ε) − L(w) over single draws (the measured spread "
           "from one device to the next); empty when `blocks` > 1, where a pass mixes draws"),
    Column("noise_trace", "nats per unit η² (pcm: nats)", "tr(HΣ₁) of the row's noise model on the test split "
           "(`noise_trace_test` for the sweep's `noise_model`); for `pcm` tr(HΣ(t)) at the row's time"),
    Column("noise_trace_se", "as `noise_trace`", _SE),
    Column("predicted_delta_loss", "nats", "the second-order prediction of `delta_loss`: ½η² `noise_trace_test`; for "
           "`pcm` gᵀμ + ½μᵀHμ + ½tr(HΣ(t)) with μ(t), Σ(t) the per-weight mean and covariance of the noise"),
    Column("predicted_delta_loss_se", "nats", "its standard error (from the trace's)"),
    Column("mean_delta_loss", "nats", "the part of `predicted_delta_loss` that the noise's mean carries, gᵀμ + "
           "½μᵀHμ (g the test-loss gradient); 0 for the zero-mean Gaussian models"),
    Column("kink_delta_loss", "nats", "the kink term on the test split: what noise adds at the kinks of "
           "piecewise-linear activations (ReLU), which the Hessian misses, Σ_n Σ_k g_nk B(a_nk, ητ_nk); exactly 0 "
           "for smooth activations"),
    Column("kink_delta_loss_se", "nats", "its standard error over the random probes of the pre-activations' "
           "noise variance τ²; 0 where τ² is exact (every activation fed by a chain of at most three "
           "Linear/Conv1d layers, as in the package's CNN and MLP)"),
    Column("predicted_delta_loss_kink", "nats", "`predicted_delta_loss` + `kink_delta_loss`: the second-order "
           "prediction with the kink term (equal to `predicted_delta_loss` for smooth activations)"),
    Column("clean_acc", "fraction", "accuracy on the test split without noise"),
    Column("noisy_acc_mean", "fraction", "mean accuracy over draws"),
    Column("noisy_acc_std", "fraction", "its standard deviation over single draws; empty when `blocks` > 1"),
    Column("noisy_acc_se", "fraction", "standard error of `noisy_acc_mean` over pairs"),
    Column("normalized_acc", "ratio", "`noisy_acc_mean` / `clean_acc`"),
)  # fmt: skip

SUMMARY = (
    Column("preset", "", "the sweep's preset name"),
    Column("runs", "count", "finished runs"),
    Column("diverged", "count", "finished runs with `status` diverged"),
    Column("per_lr", "", "per learning rate: counts (`runs`, `ok`, `diverged`), the run metrics as {mean, "
           "ci_low, ci_high, n} over the seeds that did not diverge (95% t-interval; `stability_bound`, which does not "
           "depend on training, over every run), and `levels`: the same per (`noise_model`, noise level)"),
    Column("analysis", "", "does the theory predict the measurement (printed at the end of a sweep; `python -m "
           "empirical.verify` recomputes it): `method`, `activation`, and `noise_models`, one block per noise model "
           "with its `verdict` (the answer first, then its strongest caveat); ratios measured/predicted ΔL per run and "
           "level (`second_order`, `fourth_order`, `with_kinks`; Fieller intervals, `equivalence` holds/fails/"
           "undetermined against ±10%, `se_missing`), per level (`*_fit`, with a curvature-free null) and per lr "
           "(`by_lr`, pooled draw by draw over the shared noise draws, log-ratio intervals; `pooling`), `breakdown`, "
           "`kinks`, `variance` (checked where the η² gradient term dominates), `identification` (within-lr partial "
           "correlation of ΔL with tr(H), tr(HΣ₁), ½η²tr(HΣ₁)+kink, λ_max, ‖w‖, clean loss; bootstrap over seeds "
           "within lr and shared draws), `slope` (ΔL/(½η²) on tr(HΣ₁) at small η: slope and intercept with "
           "intervals), `sweet_spot` (the curvature's pick, the null argmin clean loss, the measured optimum, paired "
           "noisy-loss differences) and `ci_requirement`; for a timed model (`pcm`, `timed`: true) instead "
           "`prediction`/`prediction_fit` (measured / (gᵀμ + ½μᵀHμ + ½tr(HΣ(t))) per run and time, the mean term's "
           "share `mean_share`), `by_lr`, `accuracy` (clean and noisy accuracy and the drop per lr and time), "
           "`identification`, `sweet_spot`; `noise_model_comparison`: per noise model and level the Spearman ρ of the "
           "lr means of ΔL, the accuracy drop, the prediction and the noise trace against lr (bootstrap over seeds "
           "within lr and shared draws), the model's direction and whether the reference model's (`reference`, the "
           "sweep's `noise_model`) learning-rate conclusion holds, flips or vanishes, and its `verdict`; `layers` "
           "(runs of `layer_seeds`): per (run, η) Σ_l ΔL_l against ΔL_all (Fieller ratio, errors combined as "
           "independent) and Kendall τ_b of predicted vs measured over layers, per η their summaries (τ's bootstrap "
           "interval over runs) and each layer's share of the sum, per (lr, η, layer) the seed means, and its "
           "`verdict`"),
)  # fmt: skip

LAYERS = (
    *_OF_RUN,
    Column("noise_model", "", "the sweep's `noise_model`"),
    Column("layer", "", "the noise target (parameter name) that alone receives noise"),
    Column("noise_level", "dimensionless", "η, one of `layer_levels`"),
    Column("predicted", "nats", "½η² tr(H_ll Σ₁,ll) + the kink term of this layer's noise alone, on the test split"),
    Column("predicted_se", "nats", "its standard error (trace block and kink probes)"),
    Column("measured", "nats", "ΔL with noise on this layer alone: the antithetic Monte Carlo over `layer_samples` "
           "passes, draw k this layer's slice of the run's draw k"),
    Column("measured_se", "nats", "its standard error over pairs"),
)  # fmt: skip

RUN = (
    Column("run_id", "", "as in runs.csv"),
    Column("status", "", "`ok` or `diverged`"),
    Column("lr", "w²/nats", "learning rate"),
    Column("seed", "", "training seed"),
    Column("config", "", "the sweep configuration the run was made with (as `config.json[\"sweep\"]`)"),
    Column("noise_targets", "", "names of the parameters that receive noise"),
    Column("input_shape", "", "shape of one input sample, e.g. [1, 40]"),
    Column("num_classes", "count", "number of classes"),
    Column("device", "", "torch device it ran on"),
    Column("metrics", "", "its row of runs.csv"),
    Column("noise", "", "its rows of noise.csv, each (when the run is ok) with `pair_increase`: the increase "
           "d_k = (L(w+ε_k) + L(w−ε_k))/2 − L(w) (nats) of every antithetic pair k, in draw order, minus the "
           "control variate's β̂c_k where there is one (their mean is `delta_loss`); draw k is the same for every run "
           "and level, so the analysis pools runs draw by draw"),
    Column("layers", "", "its rows of layers.csv (empty unless its seed is in `layer_seeds`)"),
    Column("curvature", "", "per estimate: Hessian-vector products (`matvecs`) and seconds; for the traces also how "
           "their Gauss–Newton part was computed (`gauss_newton`: `exact` per class, `sampled` by one backward pass per "
           "sample and draw, with `gn_passes` passes, or `none`); the test split's traces come from one call that "
           "shares their certificate and per-sample gradients, so each gives that call's seconds, and it includes "
           "`noise_trace_test_<model>` of each extra noise model with its `value` and `se` (nats per unit η²); for "
           "`fourth_moment_test` its draws, subset size and E_v[D²L[v,v]] = tr(HΣ₁) from the same draws "
           "(`second_moment`, `second_moment_se`); for `kink_test` its probes (0 without kinked activations "
           "or where τ² is exact) and seconds; for `control_test` the control variate's `directions` (0: none), "
           "`eigenvalues` (of Σ₁^½HΣ₁^½ on the first 250 test samples), `matvecs` and `seconds`"),
    Column("train", "", "`epoch_losses`: mean training loss per epoch (nats)"),
)  # fmt: skip

CONFIG = (
    Column("sweep", "", "the resolved configuration (preset, then --config file, then flags), every key"),
    Column("environment", "", "versions of noisewise, torch, numpy and python, and the git commit"),
    Column("device", "", "the torch device of the sweep"),
)  # fmt: skip

#: The tables of ``docs/results.md`` after the files: (heading, first column's title, columns).
TABLES = (
    ("runs.csv", "column", RUNS),
    ("noise.csv", "column", NOISE),
    ("layers.csv", "column", LAYERS),
    ("summary.json", "key", SUMMARY),
    ("run.json", "key", RUN),
    ("config.json", "key", CONFIG),
)

_INTRO = """\
# The results folder

`python -m empirical.hessian_sweep` writes `results/<preset>/` (or `--out DIR`). This page is
generated from `empirical/sweep/schema.py` (`python -m empirical.sweep.schema > docs/results.md`).

Units: loss in nats (mean cross-entropy, natural log) on the split named; accuracy a fraction;
times in wall-clock seconds (s). `w` is the unit of a parameter (weights are plain numbers, so
w = 1; it shows how a quantity scales): a learning rate is in w²/nats, the Hessian H in nats/w².
The noise level η is dimensionless; Σ₁ is the noise covariance at η = 1, so the noise-weighted
trace tr(HΣ₁) is in nats per unit η² and ½η² tr(HΣ₁) in nats. Every estimate has its standard
error (`_se`) beside it. In CSV files a missing or non-finite value is an empty cell, in JSON
`null`. A diverged run keeps its row in runs.csv and its rows in noise.csv, with empty
curvature, theory and noise fields.
"""


def markdown() -> str:
    """The format as Markdown: the text of ``docs/results.md``."""
    files = [f"| `{f.path}` | {_cell(f.holds)} |" for f in FILES]
    parts = [_INTRO, "## Files\n\n| file | what it holds |\n|---|---|\n" + "\n".join(files) + "\n"]
    for heading, kind, columns in TABLES:
        rows = [f"| `{c.name}` | {c.unit} | {_cell(c.meaning)} |" for c in columns]
        parts.append(f"## {heading}\n\n| {kind} | unit | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a bare | would end the table cell


if __name__ == "__main__":
    print(markdown(), end="")
