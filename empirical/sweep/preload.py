"""What every worker of ``--executor processes`` starts with: the forkserver that forks them imports this module.

Importing it imports everything a run needs, derives and lambdifies the theory's predictions
(``theory.predict.compile_all``) and loads torch's forward-mode decompositions
(``empirical.curvature.forward_mode.prepare``). The forkserver does that once, while the sweep
process generates the data, and each worker forked from it inherits the result: on the development
machine (2 cores) a spawned worker spent about 6 s importing and 2 s more in its first run on these.
"""

from empirical.curvature import forward_mode
from empirical.experiment import run  # noqa: F401  (imported for the workers that fork from here)
from theory import predict

predict.compile_all()
forward_mode.prepare()
