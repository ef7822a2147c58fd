"""What every worker of ``--executor processes`` starts with: the forkserver that forks them imports this module.

Importing it imports everything a run needs, derives and lambdifies the theory's predictions
(``theory.predict.compile_all``), loads torch's forward-mode decompositions
(``empirical.curvature.forward_mode.prepare``) and sets up functorch's per-sample Jacobians (the
first ``vmap(jacrev(·))`` of a process takes about 1.6 s whatever the function). The forkserver
does that once, while the sweep process imports and generates the data, and each worker forked from
it inherits the result: on the development machine (2 cores) a spawned worker spent about 6 s
importing and 3–4 s more in its first run on these.
"""

import torch
from torch.func import jacrev, vmap

from empirical.curvature import forward_mode
from empirical.experiment import run  # noqa: F401  (imported for the workers that fork from here)
from theory import predict

predict.compile_all()
forward_mode.prepare()
vmap(jacrev(torch.tanh))(torch.zeros(2, 1))
