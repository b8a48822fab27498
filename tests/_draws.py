"""A TorchFunctionMode that records every seeded draw: which function, the generator's device and
the device the numbers land on (device independence: every draw is made on the CPU)."""
from __future__ import annotations

import torch


class DrawRecorder(torch.overrides.TorchFunctionMode):
    """Records (function name, generator device, device of the numbers drawn) of every seeded draw."""

    def __init__(self):
        super().__init__()
        self.draws = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        g = kwargs.get("generator")
        if g is not None:
            where = out.device.type if isinstance(out, torch.Tensor) else None
            self.draws.append((getattr(func, "__name__", str(func)), g.device.type, where))
        return out

    @property
    def devices(self) -> set:
        return {d for _, gen, out in self.draws for d in (gen, out)}
