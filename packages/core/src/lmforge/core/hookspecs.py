"""Every extension point of lmforge, in one file: the map of the house.

A plugin is a module (or object) with functions named like the hooks below, decorated with
``lmforge.core.hookimpl``. It is found through the ``lmforge`` entry-point group
(``[project.entry-points.lmforge] myplugin = "my_package.plugin"``); first-party packages are also
found by module name, so a bare ``PYTHONPATH`` checkout works.

Registration hooks receive a ``register`` callback bound to one kind of part::

    register(name, part, *, description=None, reference=None, ablation_of=None)

``part`` is the part itself, or an import string ``"package.module:attr"`` that core imports on
first ``get_part`` (so listing parts never imports torch; pass ``description=`` since the docstring
is not read). ``description`` defaults to the first line of the part's docstring. ``reference`` names
the part of the same kind this one must compute the same thing as (``lmforge parity`` checks it);
``ablation_of`` names the part this one deliberately differs from (never parity-checked).

Each kind's contract (what a part is and how it is called) lives in ``lmforge.core.contracts`` and is
named in the hook's docstring below. An eager part is checked against it at registration, an
import-string part on first use; a plugin with a part that breaks its contract is quarantined with
one error naming kind, name, package and what is wrong. Two plugins registering the same
``(kind, name)`` is an error that names both packages.
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
    """Tokenizers (contract ``TokenizerPart``): classes with ``load(dir)``, encode/decode/encode_iterable/save/vocab_size."""


@registers("bpe_trainer")
def register_bpe_trainers(register):
    """BPE trainers (contract ``BpeTrainerPart``): ``fn(paths, vocab_size, special_tokens, *, pattern, workers,
    progress) -> (vocab, merges)``."""


# --- model ----------------------------------------------------------------------------------------


@registers("attention")
def register_attention(register):
    """Attention (contract ``AttentionPart``): ``fn(q, k, v, mask=None, is_causal=False) -> out`` over (..., seq, d)."""


@registers("norm")
def register_norms(register):
    """Normalization layers (contract ``NormPart``): ``factory(d_model, eps=..., device=None, dtype=None) -> nn.Module``."""


@registers("ffn")
def register_ffns(register):
    """Feed-forward blocks (contract ``FfnPart``): ``factory(d_model, d_ff, device=None, dtype=None) -> nn.Module``."""


@registers("position")
def register_positions(register):
    """Position encodings (contract ``PositionPart``): ``factory(theta, d_k, max_seq_len, device=None) -> nn.Module``."""


@registers("optimizer")
def register_optimizers(register):
    """Optimizers (contract ``OptimizerPart``): ``factory(params, lr=..., **hyperparameters) -> Optimizer``."""


@registers("lr_schedule")
def register_lr_schedules(register):
    """Learning-rate schedules (contract ``LrSchedulePart``): ``fn(it, max_lr, min_lr, warmup_iters, cosine_cycle_iters) -> lr``."""


@registers("rollout_engine")
def register_rollout_engines(register):
    """Generation engines (contract ``RolloutEnginePart``): ``factory(policy, **options) -> engine``."""


# --- systems --------------------------------------------------------------------------------------


@registers("parallel_backend")
def register_parallel_backends(register):
    """Parallel backends (contract ``ParallelBackendPart``): ``factory(**options)``; wrap model and optimizer, sync grads."""


# --- scaling --------------------------------------------------------------------------------------


@registers("scaling_law")
def register_scaling_laws(register):
    """Scaling-law fits (contract ``ScalingLawPart``): classes with ``fit(table)``, ``from_state``, ``predict_loss``."""


@registers("experiment_backend")
def register_experiment_backends(register):
    """Ways to obtain a run for a shape and budget (contract ``ExperimentBackendPart``): ``factory(**options)``."""


@registers("ablation_trainer")
def register_ablation_trainers(register):
    """Equal-compute data ablations (contract ``AblationTrainerPart``): ``fn(token_files, heldout, tokenizer_dir,
    budget, model, out, **options) -> report`` trains one model per token file for ``budget`` FLOPs each
    (``lmforge data ablate`` calls it, so data never imports a trainer)."""


# --- data -----------------------------------------------------------------------------------------


@registers("html_extractor")
def register_html_extractors(register):
    """HTML to text (contract ``HtmlExtractorPart``): ``fn(html, charset) -> str | None``."""


@registers("language_identifier")
def register_language_identifiers(register):
    """Language ID (contract ``LanguageIdentifierPart``): ``fn(text) -> (code, score)`` with a code such as ``"en"``."""


@registers("classifier")
def register_classifiers(register):
    """Document classifiers (contract ``ClassifierPart``): ``fn(text) -> (label, score)``."""


@registers("doc_filter")
def register_doc_filters(register):
    """Document filters (contract ``DocFilter``): a class, ``DocFilter(**options).filter(doc) -> bool | (False, reason)``."""


@registers("deduper")
def register_dedupers(register):
    """Deduplication steps (contract ``DeduperPart``): ``factory(**options)`` with ``reason`` and ``run(...)``."""


@registers("executor")
def register_executors(register):
    """Pipeline executors (contract ``ExecutorPart``): ``factory(**options)`` with ``map(fn, items, desc)``."""


# --- align ----------------------------------------------------------------------------------------


@registers("rl_loss")
def register_rl_losses(register):
    """Policy-gradient losses (contracts ``RLLossPart``, ``RLLoss``): ``factory(**options) -> loss`` with ``uses_old_log_probs``."""


@registers("preference_loss")
def register_preference_losses(register):
    """DPO-family losses (contract ``PreferenceLossPart``): ``factory(beta, **options)`` -> ``loss(chosen_logratios,
    rejected_logratios, chosen_lengths, rejected_lengths) -> per-pair loss`` (log-ratios: policy minus reference)."""


@registers("reward")
def register_rewards(register):
    """Reward functions (contract ``RewardPart``): ``fn(response, ground_truth) -> {"reward": float, ...}``."""


@registers("task")
def register_tasks(register):
    """Datasets and evals (contract ``TaskPart``): ``fn(split, size, seed, **options) -> list[Example]``."""


# --- core -----------------------------------------------------------------------------------------


@registers("metrics_logger")
def register_metrics_loggers(register):
    """Metrics sinks (contract ``MetricsLoggerPart``): ``factory(run_dir)`` with ``log(step, **m)``, ``close()``."""


@registers("parity_check")
def register_parity_checks(register):
    """How two parts of one kind are compared (contract ``ParityCheckPart``), registered under that kind's name:
    ``compare(candidate, reference, **options) -> ParityResult``; ``lmforge parity`` runs it for every
    part that declares ``reference=``."""


@hookspec
def register_commands(cli):
    """Add subcommands to the ``lmforge`` click group ``cli`` (e.g. ``cli.add_command(tokenize_group)``)."""
