"""zoo_builder: train pruned-at-initialization networks and store them as a model zoo.

Library first: ``models``, ``datasets``, ``pruning``, ``variants``, ``training`` and
``run(spec)``, which runs one :class:`RunSpec` end to end and returns every tensor.
"""
from zoo_builder.run import RunResult, run
from zoo_builder.spec import RunSpec

__version__ = "0.1.0"
__all__ = ["RunResult", "RunSpec", "run", "__version__"]
