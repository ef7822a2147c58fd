"""Make torch's forward-mode autodiff ready without its internal deprecation warning.

Source of the warning: the first forward-mode call in a process (``torch.func.jvp``, ``jacfwd``,
``torch.func.hessian``) runs ``torch.autograd.forward_ad._maybe_load_decompositions``, which
imports ``torch._decomp.decompositions_for_jvp``; that module registers its decompositions through
``torch.jit.script``, which torch 2.13 itself marks deprecated. Nothing in this package scripts
anything, and the decompositions are needed (forward-over-reverse through ``nll_loss_backward``),
so the import stays; it happens here, once, with exactly that warning silenced for exactly that
import. Every other warning still reaches the user.
"""

from __future__ import annotations

import functools
import warnings


@functools.cache
def prepare() -> None:
    """Import torch's forward-mode decompositions once per process (call before forward-mode AD)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is", category=DeprecationWarning)
        import torch._decomp.decompositions_for_jvp  # noqa: F401
