"""GraSP-abs (FDRC21's variant): |−θ ⊙ H g|, keep the highest."""
from __future__ import annotations

from .gradients import require_data
from .grasp import grasp_raw
from .registry import register


@register("grasp_abs", needs_data=True, bn_mode="train")
def grasp_abs_scores(model, *, data, generator=None, chunk_size: int = 128):
    return {name: s.abs() for name, s in grasp_raw(model, require_data(data, "grasp_abs"), chunk_size).items()}
