"""DeepSpeed ZeRO (stages 1, 2, 3) as a parallel backend, with our own optimizer.

DeepSpeed wants the model and the optimizer in one ``deepspeed.initialize`` call, while the trainer
wraps the model first and builds the optimizer second; so ``wrap_model`` returns a holder module and
``make_optimizer`` builds the engine and returns an optimizer facade whose ``step`` is ``engine.step()``.
The trainer's plain ``loss.backward()`` works: DeepSpeed >= 0.18 hooks torch-style backward for ZeRO
optimizers. On CPU it runs with ``DS_ACCELERATOR=cpu`` and gloo. Gradient clipping belongs to DeepSpeed
(option ``gradient_clipping``); micro-batch accumulation is the trainer's, so DeepSpeed sees one
micro-batch per step.

Options: ``stage`` (1/2/3, default 2), ``gradient_clipping`` (default 0 = off), ``config`` (a dict merged
into the DeepSpeed config), ``cpu_shm_comm`` (default False: DeepSpeed's shared-memory CPU all-reduce is
a C++ op compiled on first use, ~3 minutes on a small machine; gloo is used instead).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from .seam import DistributedBackend


def import_deepspeed(device_type: str):
    if device_type != "cuda":
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        import deepspeed
    except ImportError as e:
        from lmforge.core import LmforgeError

        raise LmforgeError("the deepspeed backend needs DeepSpeed: "
                           "pip install 'lmforge-systems[deepspeed]'") from e
    return deepspeed


class DeepSpeedModel(nn.Module):
    """Holds the user's model until ``make_optimizer`` creates the engine; then forwards through it."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module
        self.engine = None

    def forward(self, *args, **kwargs):
        return (self.engine or self.module)(*args, **kwargs)


class EngineOptimizer:
    """What the trainer sees as its optimizer: param_groups of the client optimizer, step = engine.step."""

    def __init__(self, engine):
        self.engine = engine

    @property
    def param_groups(self):
        return self.engine.optimizer.param_groups

    def step(self, closure=None):
        self.engine.step()

    def zero_grad(self, set_to_none: bool = True):
        self.engine.zero_grad()

    def state_dict(self):
        return self.engine.optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.engine.optimizer.load_state_dict(state_dict)


class DeepSpeedBackend(DistributedBackend):
    """DeepSpeed ZeRO stage 1/2/3 via deepspeed.initialize with our optimizer."""

    def setup(self, device: str) -> torch.device:
        dev = super().setup(device)
        deepspeed = import_deepspeed(dev.type)
        if dev.type != "cuda" and not self.options.get("cpu_shm_comm", False):
            import importlib

            # via importlib: the attribute deepspeed.comm.torch is shadowed by the torch module itself
            importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
        deepspeed.init_distributed(dist_backend="nccl" if dev.type == "cuda" else "gloo",
                                   verbose=False)
        return dev

    def wrap_model(self, model: nn.Module) -> nn.Module:
        return DeepSpeedModel(model)

    def ds_config(self) -> dict:
        config = {
            "train_micro_batch_size_per_gpu": 1,
            "gradient_accumulation_steps": 1,
            "train_batch_size": self.world_size,
            "zero_optimization": {"stage": int(self.options.get("stage", 2))},
            "zero_allow_untested_optimizer": True,
            "gradient_clipping": float(self.options.get("gradient_clipping", 0.0)),
            "steps_per_print": 1 << 30,
            "wall_clock_breakdown": False,
        }
        config.update(self.options.get("config", {}))
        return config

    def make_optimizer(self, model: DeepSpeedModel, optimizer_factory):
        deepspeed = import_deepspeed(self.device.type)
        params = [p for p in model.module.parameters() if p.requires_grad]
        engine, _, _, _ = deepspeed.initialize(model=model.module, optimizer=optimizer_factory(params),
                                               config=self.ds_config())
        model.engine = engine
        return EngineOptimizer(engine)

    @property
    def stage(self) -> int:
        return int(self.options.get("stage", 2))

    def unwrap(self, model) -> nn.Module:
        return model.module if isinstance(model, DeepSpeedModel) else model

    def full_state_dict(self, model) -> dict:
        """Collective under ZeRO-3 (every rank calls it; rank 0 gets the weights)."""
        if self.stage == 3:
            sd = model.engine._zero3_consolidated_16bit_state_dict()
            return {} if sd is None else dict(sd)
        return {k: v.detach().clone() for k, v in model.module.state_dict().items()}

    def save_checkpoint(self, directory, model: DeepSpeedModel, optimizer=None) -> None:
        """DeepSpeed's own (sharded) checkpoint; every rank must call it. (The trainer does not use it
        yet: ``sharded_checkpoints`` stays False, so the trainer writes full checkpoints.)"""
        model.engine.save_checkpoint(str(directory))

    @staticmethod
    def checkpoint_to_state_dict(directory: str) -> dict:
        """A DeepSpeed checkpoint folder back to a plain fp32 state dict (no process group needed)."""
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

        return dict(get_fp32_state_dict_from_zero_checkpoint(directory))
