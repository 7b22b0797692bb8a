"""Every extension point of lmforge, in one file: the map of the house.

A plugin is a module (or object) with functions named like the hooks below, decorated with
``lmforge.core.hookimpl``. It is found through the ``lmforge`` entry-point group
(``[project.entry-points.lmforge] myplugin = "my_package.plugin"``); first-party packages are also
found by module name, so a bare ``PYTHONPATH`` checkout works.

Registration hooks receive a ``register`` callback bound to one kind of part::

    register(name, part, *, description=None, reference=None)

``part`` is what ``lmforge.core.get_part(kind, name)`` hands back: usually a class or a factory.
``description`` defaults to the first line of the part's docstring. ``reference`` names the part of the
same kind this one must compute the same thing as (its parity test's reference), if any.
Two plugins registering the same ``(kind, name)`` is an error that names both packages.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("lmforge")


def registers(kind: str):
    """Mark a hookspec as the registration hook for parts of ``kind``."""

    def mark(fn):
        fn.lmforge_kind = kind
        return hookspec(fn)

    return mark


# --- tokenize -------------------------------------------------------------------------------------


@registers("tokenizer")
def register_tokenizers(register):
    """Tokenizers: classes with encode/decode/encode_iterable/vocab_size/save and a ``load(dir)``."""


# --- model ----------------------------------------------------------------------------------------


@registers("attention")
def register_attention(register):
    """Attention implementations: ``fn(q, k, v, mask=None, is_causal=False) -> out`` over (..., seq, d)."""


@registers("norm")
def register_norms(register):
    """Normalization layers: ``factory(d_model, eps=..., device=None, dtype=None) -> nn.Module``."""


@registers("ffn")
def register_ffns(register):
    """Feed-forward blocks: ``factory(d_model, d_ff, device=None, dtype=None) -> nn.Module``."""


@registers("position")
def register_positions(register):
    """Position encodings applied to queries and keys (``rope``, ``none``)."""


@registers("optimizer")
def register_optimizers(register):
    """Optimizers: ``factory(params, **hyperparameters) -> torch.optim.Optimizer``."""


@registers("lr_schedule")
def register_lr_schedules(register):
    """Learning-rate schedules: ``fn(it, max_lr, min_lr, warmup_iters, cosine_cycle_iters, ...) -> lr``."""


@registers("rollout_engine")
def register_rollout_engines(register):
    """Generation engines: prompt token ids in, sampled token ids and their log-probs out."""


# --- systems --------------------------------------------------------------------------------------


@registers("parallel_backend")
def register_parallel_backends(register):
    """Parallel backends: wrap model and optimizer, synchronize gradients, say which rank logs."""


# --- scaling --------------------------------------------------------------------------------------


@registers("scaling_law")
def register_scaling_laws(register):
    """Scaling-law fitting methods (``isoflops``, ``parametric``): fit a run table, predict loss."""


@registers("experiment_backend")
def register_experiment_backends(register):
    """Ways to obtain a run for a (model shape, FLOPs budget): really train, or a surrogate law."""


# --- data -----------------------------------------------------------------------------------------


@registers("html_extractor")
def register_html_extractors(register):
    """HTML to text: ``fn(html: bytes) -> str | None``."""


@registers("language_identifier")
def register_language_identifiers(register):
    """Language ID: ``fn(text) -> (code, score)`` with a plain code such as ``"en"``."""


@registers("classifier")
def register_classifiers(register):
    """Document classifiers (nsfw, toxic speech, quality): ``fn(text) -> (label, score)``."""


@registers("doc_filter")
def register_doc_filters(register):
    """Document filters: ``filter(doc) -> bool | (False, reason)``."""


@registers("deduper")
def register_dedupers(register):
    """Deduplication steps over a set of files (exact line, MinHash + LSH)."""


@registers("executor")
def register_executors(register):
    """Pipeline executors that run a function over shards (``local``, ``ray``)."""


# --- align ----------------------------------------------------------------------------------------


@registers("rl_loss")
def register_rl_losses(register):
    """Policy-gradient losses: per-token loss from log-probs, rewards or advantages."""


@registers("preference_loss")
def register_preference_losses(register):
    """DPO-family losses: ``factory(beta, **options)`` -> ``loss(chosen_logratios, rejected_logratios,
    chosen_lengths, rejected_lengths) -> per-pair loss`` (log-ratios are policy minus reference)."""


@registers("reward")
def register_rewards(register):
    """Reward functions: ``fn(response, ground_truth) -> {"reward": float, ...}``."""


# --- core -----------------------------------------------------------------------------------------


@registers("metrics_logger")
def register_metrics_loggers(register):
    """Metrics sinks for a run directory: ``factory(run_dir) -> logger`` with ``log(step, **m)``, ``close()``."""


@hookspec
def register_commands(cli):
    """Add subcommands to the ``lmforge`` click group ``cli`` (e.g. ``cli.add_command(tokenize_group)``)."""
