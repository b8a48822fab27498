"""What an entry holds, as plain data (no torch): the tensors of the architecture and the runs
(spec hash → grid cell) planned so far. Built by ``zoo_builder.store`` from ``RunSpec`` objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from paistats.store.grid import canonical_sparsity
from paistats.vocabulary import SEED, SPARSITY, VARIANT, ordered


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the model's ``state_dict``.

    Attributes
    ----------
    name : str
        State-dict key, e.g. ``"features.0.weight"``.
    shape : tuple of int
    dtype : str
        NumPy dtype name (``"float32"``, ``"int64"``).
    prunable : bool
        Conv/Linear weight (gets ``score``/``mask`` arrays and its own root-level group).
    dims : tuple of str, optional
        Dimension names with torch's names for the owning module (``("out_channels",
        "in_channels", "kh", "kw")`` for a Conv2d weight, ``("num_features",)`` for BatchNorm);
        None: by rank (:func:`paistats.store.layout.tensor_dims`).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    prunable: bool
    dims: tuple[str, ...] | None = None

    def __post_init__(self):
        from paistats.store.layout import tensor_dims

        object.__setattr__(self, "dims", tensor_dims(tuple(self.shape), self.prunable, self.dims))

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "prunable": self.prunable,
                "dims": list(self.dims)}

    @classmethod
    def from_dict(cls, d: Mapping) -> "TensorSpec":
        dims = d.get("dims")
        return cls(str(d["name"]), tuple(int(n) for n in d["shape"]), str(d["dtype"]), bool(d["prunable"]),
                   tuple(dims) if dims is not None else None)


@dataclass
class EntryPlan:
    """The planned content of one entry ``{arch}-{dataset}-{method}``.

    Attributes
    ----------
    entry, arch, dataset, method : str
    default_dataset : str
        The architecture's default dataset (recorded so that aliases resolve without torch).
    epochs : int
        Length of the ``epoch`` dimension (training histories).
    tensors : tuple of TensorSpec
        Every tensor of the state dict, in state-dict order.
    score_dtype : str
        dtype of the ``score`` arrays (``float64`` for SynFlow, scored in float64).
    iterative : bool
        The method prunes in several rounds (its entry gets ``score_final`` arrays).
    runs : dict
        spec hash → ``(variant, sparsity, seed)``.
    config : dict
        What every run of the entry shares (``recipe``, ``per_class``, ``iterations``).
    provenance : dict
        ``versions`` (package → version) and ``git_revision`` of the builder.
    """

    entry: str
    arch: str
    dataset: str
    method: str
    default_dataset: str
    epochs: int
    tensors: tuple[TensorSpec, ...]
    score_dtype: str
    runs: dict[str, tuple[str, float, int]]
    config: dict
    provenance: dict = field(default_factory=dict)
    iterative: bool = False
    random_streams: str = ""

    def grid(self) -> dict[str, list]:
        """Sorted labels of each grid dim covered by :attr:`runs` (variants in canonical order)."""
        variants = {r[0] for r in self.runs.values()}
        return {
            VARIANT: ordered(variants),
            SPARSITY: sorted({canonical_sparsity(r[1]) for r in self.runs.values()}),
            SEED: sorted({int(r[2]) for r in self.runs.values()}),
        }


@dataclass
class RunPayload:
    """Every array of one finished run, as NumPy arrays.

    Attributes
    ----------
    hash : str
        The run's spec hash (must be planned in the entry).
    variant, sparsity, seed :
        The run's grid cell.
    initial, reinit, trained : dict name → ndarray
        Whole state dicts (every parameter and buffer).
    scores, masks : dict prunable name → ndarray
    history : dict of lists
        ``train_loss``, ``test_loss``, ``test_accuracy`` per epoch.
    accuracy, density : float (fractions); seconds : float (wall time, s).
    final_scores : dict prunable name → ndarray, optional
        Last pruning round's scores (iterative methods at sparsity > 0).
    start : dict prunable name → ndarray, optional
        Starting prunable weights (before masking) of a variant in
        :data:`~paistats.store.layout.STORED_START_VARIANTS`; required for those, None otherwise.
    disconnected : bool
        The pruned network carries no signal.
    device : str; amp, channels_last : bool
        Where and how the run was trained.
    extra : dict
        JSON-serialisable provenance of the run (e.g. which dense run it shared).
    """

    hash: str
    variant: str
    sparsity: float
    seed: int
    initial: dict
    reinit: dict
    trained: dict
    scores: dict
    masks: dict
    history: dict
    accuracy: float
    density: float
    seconds: float = float("nan")
    final_scores: dict | None = None
    disconnected: bool = False
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    extra: dict = field(default_factory=dict)
    start: dict | None = None

    def __post_init__(self):
        for attr in ("initial", "reinit", "trained", "scores", "masks", "final_scores", "start"):
            value = getattr(self, attr)
            if value is not None:
                setattr(self, attr, {k: np.asarray(v) for k, v in value.items()})
