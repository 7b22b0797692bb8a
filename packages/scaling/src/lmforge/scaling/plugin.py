"""lmforge-scaling plugin: the ``scaling_law``, ``experiment_backend`` and ``ablation_trainer`` parts and
``lmforge scaling``.

Parts are registered by import string, so polars, statsmodels, scipy and torch load only when a part
is used.
"""

from __future__ import annotations

from lmforge.core import hookimpl


@hookimpl
def register_scaling_laws(register):
    register("isoflops", "lmforge.scaling.isoflops:IsoFlopsLaw",
             description="IsoFLOPs profiles, then OLS power laws N_opt, D_opt ~ C^a (Chinchilla approach 2)")
    register("parametric", "lmforge.scaling.parametric:ParametricLaw",
             description="L = E + A/N^alpha + B/D^beta by Huber + L-BFGS, bootstrap CIs (approach 3)")


@hookimpl
def register_experiment_backends(register):
    register("surrogate", "lmforge.scaling.surrogate:SurrogateBackend",
             description="Known scaling law plus log-normal noise: instant 'runs' for tests and teaching.")
    register("train", "lmforge.scaling.train_backend:TrainBackend",
             description="Really trains lmforge models with the model package's trainer for "
                         "exactly a FLOPs budget.")


@hookimpl
def register_ablation_trainers(register):
    register("lab", "lmforge.scaling.ablate:run_ablation",
             description="One model per token file at exactly equal FLOPs through a Lab (budget ledger, "
                         "reused runs); held-out loss, perplexity and bits per byte.")


@hookimpl
def register_commands(cli):
    from .cli import scaling_group

    cli.add_command(scaling_group)
