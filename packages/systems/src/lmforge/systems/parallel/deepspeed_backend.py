"""DeepSpeed ZeRO (stages 1, 2, 3) as a parallel backend, with our own optimizer.

DeepSpeed wants the model and the optimizer in one ``deepspeed.initialize`` call, while the trainer
wraps the model first and builds the optimizer second; so ``wrap_model`` returns a holder module and
``make_optimizer`` builds the engine and returns an optimizer facade whose ``step`` is ``engine.step()``.
On CPU it runs with ``DS_ACCELERATOR=cpu`` and gloo.

Gradient accumulation is DeepSpeed's own: ``gradient_accumulation_steps`` is the trainer's
``grad_accum``, every micro-step goes through ``engine.backward`` (which divides the loss by it), and the
micro-steps before the last run with the accumulation boundary off (``no_sync``), so ZeRO-1 reduces
gradients once per step. ZeRO-2/3 partition gradients, so DeepSpeed reduce-scatters them after every
micro-step unless ``coalesce`` (default true) keeps them local until the last micro-step and reduces them
once (``engine.coalesce_grad_reduction``; full-size gradients live until then, as under DDP's no_sync).

Clipping and the gradient norm are DeepSpeed's: ``clip_grad_norm(model, max_norm)`` sets its clipping
threshold to the trainer's and returns the global norm of the reduced gradient partitions, computed the
way ``engine.step()`` computes it (equal to ``engine.get_global_grad_norm()`` after the step).

Checkpoints are DeepSpeed's native sharded ones (``engine.save_checkpoint``: each rank writes its ZeRO
partition); they resume at the world size that wrote them (DeepSpeed refuses another).

Options: ``stage`` (1/2/3, default 2), ``coalesce`` (default true), ``config`` (a dict merged into the
DeepSpeed config), ``cpu_shm_comm`` (default False: DeepSpeed's shared-memory CPU all-reduce is a C++ op
compiled on first use, ~3 minutes on a small machine; gloo is used instead).
"""

from __future__ import annotations

import contextlib
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

    sharded_checkpoints = True
    # checkpoint_urls stays False: engine.save_checkpoint writes its native files to a local folder

    def __init__(self, stage: int = 2, coalesce: bool = True, config: dict | None = None,
                 cpu_shm_comm: bool = False) -> None:
        """``config`` is merged into DeepSpeed's config; clipping comes from optimizer.grad_clip."""
        super().__init__(stage=stage, coalesce=coalesce, config=config or {}, cpu_shm_comm=cpu_shm_comm)
        self._coalescing = None

    def setup(self, device: str) -> torch.device:
        dev = super().setup(device)
        deepspeed = import_deepspeed(dev.type)
        if dev.type != "cuda" and not self.options.get("cpu_shm_comm", False):
            import importlib

            # via importlib: the attribute deepspeed.comm.torch is shadowed by the torch module itself
            importlib.import_module("deepspeed.comm.torch").build_shm_op = lambda: None
        if "WORLD_SIZE" not in os.environ:  # one process, not launched: a one-rank group, no MPI discovery
            from .parity import free_port

            os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1",
                              MASTER_PORT=os.environ.get("MASTER_PORT", str(free_port())))
        deepspeed.init_distributed(dist_backend="nccl" if dev.type == "cuda" else "gloo",
                                   verbose=False)
        return dev

    def wrap_model(self, model: nn.Module) -> nn.Module:
        return DeepSpeedModel(model)

    @property
    def stage(self) -> int:
        return int(self.options.get("stage", 2))

    def ds_config(self) -> dict:
        config = {
            # DeepSpeed only checks these three against each other; the trainer sizes the batches
            "train_micro_batch_size_per_gpu": 1,
            "gradient_accumulation_steps": self.grad_accum,
            "train_batch_size": self.grad_accum * self.world_size,
            "zero_optimization": {"stage": self.stage},
            "zero_allow_untested_optimizer": True,
            "gradient_clipping": 0.0,  # set per step from the trainer's max_norm (clip_grad_norm)
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
        # the trainer calls engine.step() once per optimizer step, not once per micro-batch, so the
        # boundary is set by hand: on, except inside no_sync (the micro-steps before the last)
        engine.set_gradient_accumulation_boundary(True)
        model.engine = engine
        return EngineOptimizer(engine)

    def backward(self, model: DeepSpeedModel, loss: torch.Tensor) -> None:
        model.engine.backward(loss)  # divides by gradient_accumulation_steps itself

    @contextlib.contextmanager
    def no_sync(self, model: DeepSpeedModel):
        engine = model.engine
        engine.set_gradient_accumulation_boundary(False)
        if self.stage >= 2 and self.options.get("coalesce", True) and self._coalescing is None:
            # one block from the first micro-step through the last backward (closed in after_backward)
            self._coalescing = engine.coalesce_grad_reduction()
            self._coalescing.__enter__()
        try:
            yield
        finally:
            engine.set_gradient_accumulation_boundary(True)

    def after_backward(self, model: DeepSpeedModel) -> None:
        if self._coalescing is not None:
            block, self._coalescing = self._coalescing, None
            block.__exit__(None, None, None)  # one reduction of the accumulated gradients
            model.engine.set_gradient_accumulation_boundary(True)  # the block restores the old flag

    def clip_grad_norm(self, model: DeepSpeedModel, max_norm: float) -> float:
        """DeepSpeed clips inside ``engine.step()``; this hands it the threshold and returns the global
        norm of the reduced gradients, computed as step() computes it (a collective: every rank calls
        it; the trainer needs the norm before the step to stop a diverged run)."""
        optimizer = model.engine.optimizer
        optimizer.clip_grad = float(max_norm)
        if self.stage == 3:
            from deepspeed.runtime.utils import combine_grad_norm_groups

            norm = combine_grad_norm_groups(optimizer._get_norm_groups())
        else:
            norm = optimizer.scaled_global_norm()
        return float(norm) / float(optimizer.loss_scale)

    def unwrap(self, model) -> nn.Module:
        return model.module if isinstance(model, DeepSpeedModel) else model

    def full_state_dict(self, model) -> dict:
        """Collective under ZeRO-3 (every rank calls it; rank 0 gets the weights)."""
        if self.stage == 3:
            sd = model.engine._zero3_consolidated_16bit_state_dict()
            return {} if sd is None else dict(sd)
        return {k: v.detach().clone() for k, v in model.module.state_dict().items()}

    def save_checkpoint(self, directory, model: DeepSpeedModel, optimizer=None) -> None:
        """DeepSpeed's own sharded checkpoint (each rank writes its ZeRO partition); every rank calls it."""
        model.engine.save_checkpoint(str(directory))

    def load_checkpoint(self, directory, model: DeepSpeedModel, optimizer=None) -> None:
        from deepspeed.runtime.zero.utils import ZeRORuntimeException

        try:
            path, _ = model.engine.load_checkpoint(str(directory))
        except ZeRORuntimeException as e:  # another world size: the trainer reports a ValueError
            raise ValueError(str(e)) from e
        if path is None:
            raise ValueError(f"{directory} holds no DeepSpeed checkpoint")

    @staticmethod
    def checkpoint_to_state_dict(directory: str) -> dict:
        """A DeepSpeed checkpoint folder back to a plain fp32 state dict (no process group needed)."""
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

        return dict(get_fp32_state_dict_from_zero_checkpoint(directory))
