"""What a part of each kind is, and how lmforge calls it: one contract per kind.

A contract is documentation first (the ``Protocol`` / ABC below says what the caller relies on) and a
check second: :func:`lmforge.core.contract_check.check_part` verifies, without calling anything, that
the part has the shape (a class, or any callable, or a configured object), the methods, and the call
signature its contract names. Eager parts are checked when their plugin registers them (a violation
quarantines the plugin); import-string parts when they are first resolved.

``hookspecs.py`` names each kind's contract; this module is where the contract itself lives.
Core imports no torch: tensors below are whatever the caller passes (``torch.Tensor`` in practice).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Shape = Literal["callable", "class"]


@dataclass(frozen=True)
class Call:
    """A call the part must accept: placeholder positional arguments and keyword names."""

    args: tuple[str, ...] = ()
    kwargs: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "(" + ", ".join([*self.args, *(f"{k}=..." for k in self.kwargs)]) + ")"


@dataclass(frozen=True)
class Contract:
    """One kind's contract.

    shape: "callable" (a function, a class or a factory: ``part(*call)``), or "class" (a class used
    through its classmethods, constructor and methods).
    call: how the part itself is called (for a class: its constructor), or None to not check.
    methods: name -> call, methods the part must have (None: an attribute, call not checked). For
    "callable" parts they are checked only when the part is a class, since a factory function's
    product cannot be seen without calling it.
    attributes: name -> type, attributes the part's product must carry (checked, like methods, when
    the part is a class, or a factory wrapping one through ``functools.wraps`` / ``partial``).
    """

    kind: str
    protocol: type
    shape: Shape
    call: Call | None = None
    methods: dict[str, Call | None] = field(default_factory=dict)
    attributes: dict[str, type] = field(default_factory=dict)


# --- tokenize -------------------------------------------------------------------------------------


class TokenizerPart(Protocol):
    """A class: ``load(directory)`` (classmethod) -> tokenizer with
    encode/decode/encode_iterable/save/vocab_size.

    Constructors differ per tokenizer (BPE takes vocab and merges, byte takes special tokens); a
    trainable tokenizer also has a ``train(texts, special_tokens, ...)`` classmethod.
    """

    vocab_size: int

    @classmethod
    def load(cls, directory: Any) -> TokenizerPart: ...
    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...
    def encode_iterable(self, iterable: Any) -> Any: ...
    def save(self, directory: Any) -> Any: ...


class BpeTrainerPart(Protocol):
    """``train(paths, vocab_size, special_tokens, *, pattern, workers, progress) -> (vocab, merges)``.

    ``vocab`` maps id -> bytes, ``merges`` is the ordered list of merged byte pairs; the same input gives
    the same result whichever trainer runs (a reference-checked alternative must match exactly).
    """

    def __call__(self, input_path: Any, vocab_size: int, special_tokens: list[str] | None = None, *,
                 pattern: str = "gpt2", workers: int | None = None,
                 progress: bool = False) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]: ...


# --- model ----------------------------------------------------------------------------------------


class AttentionPart(Protocol):
    """``attention(q, k, v, mask=None, is_causal=False) -> out`` over (..., seq, d_head) tensors."""

    def __call__(self, q: Any, k: Any, v: Any, mask: Any = None, is_causal: bool = False) -> Any: ...


class NormPart(Protocol):
    """``norm(d_model, eps=..., device=None, dtype=None) -> nn.Module`` mapping (..., d_model) to
    the same shape."""

    def __call__(self, d_model: int, *, device: Any = None, dtype: Any = None) -> Any: ...


class FfnPart(Protocol):
    """``ffn(d_model, d_ff, device=None, dtype=None) -> nn.Module`` mapping (..., d_model) to the
    same shape."""

    def __call__(self, d_model: int, d_ff: int | None, *, device: Any = None, dtype: Any = None) -> Any: ...


class PositionPart(Protocol):
    """``position(theta, d_k, max_seq_len, device=None) -> nn.Module`` with ``forward(x,
    token_positions)``."""

    def __call__(self, theta: float, d_k: int, max_seq_len: int, *, device: Any = None) -> Any: ...


class OptimizerPart(Protocol):
    """``optimizer(params, lr=..., **hyperparameters) -> torch.optim.Optimizer``."""

    def __call__(self, params: Any, *, lr: float, **hyperparameters: Any) -> Any: ...


class LrSchedulePart(Protocol):
    """``schedule(it, max_lr, min_lr, warmup_iters, cosine_cycle_iters) -> lr`` (a float)."""

    def __call__(self, it: int, max_lr: float, min_lr: float, warmup_iters: int,
                 cosine_cycle_iters: int) -> float: ...


class RolloutEnginePart(Protocol):
    """``engine(policy, **options) -> engine`` that generates token ids and their log-probs from prompts."""

    def __call__(self, policy: Any, **options: Any) -> Any: ...


# --- systems --------------------------------------------------------------------------------------


class ParallelBackendPart(Protocol):
    """``backend(**options) -> backend`` with setup, wrap_model, make_optimizer, after_backward,
    is_main, ..."""

    def __call__(self, **options: Any) -> Any: ...


# --- scaling --------------------------------------------------------------------------------------


class ScalingLawPart(Protocol):
    """A class: ``fit(table, **options)`` and ``from_state(state)`` classmethods;
    ``predict_loss(params, tokens)``."""

    @classmethod
    def fit(cls, table: Any, **options: Any) -> ScalingLawPart: ...
    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScalingLawPart: ...
    def predict_loss(self, params: Any, tokens: Any) -> Any: ...


class ExperimentBackendPart(Protocol):
    """``backend(**options) -> backend`` with ``name``, ``validate(exp)``, ``cost(exp)`` and
    ``run(exp) -> row``."""

    def __call__(self, **options: Any) -> Any: ...


class AblationTrainerPart(Protocol):
    """``train(token_files, heldout, tokenizer_dir, budget, model, out, **options) -> report``.

    ``token_files`` maps a pipeline name to its token file (all made by the tokenizer in
    ``tokenizer_dir``); ``heldout`` is the evaluation text (or its token file); ``model`` the shape
    (``context_length``, ``d_model``, ``num_layers``, ``num_heads``, optional ``d_ff``); ``budget`` the
    FLOPs every pipeline's model trains for: the same shape and the same tokens seen for each, so a
    pipeline that kept less is repeated. Options a trainer should accept: ``batch_size``, ``lr``,
    ``seed``, ``device``, ``eval_batches``, ``ledger``, ``total_flops``. The report is a dict with
    ``budget``, ``model``, ``best`` (a pipeline name), ``plot`` (an image path) and ``rows``, best first,
    each with ``pipeline``, ``kept_tokens``, ``tokens_seen``, ``repetition`` (tokens seen / kept),
    ``flops``, ``val_loss``, ``perplexity``, ``bits_per_byte`` (None when unknown) and ``cached``.
    """

    def __call__(self, token_files: dict[str, Any], heldout: Any, tokenizer_dir: Any, budget: float,
                 model: dict[str, int], out: Any, **options: Any) -> dict[str, Any]: ...


# --- data -----------------------------------------------------------------------------------------


class HtmlExtractorPart(Protocol):
    """``extract(html, charset) -> str | None`` (html as bytes or str; None when nothing is extractable)."""

    def __call__(self, html: bytes | str, charset: str | None = None) -> str | None: ...


class LanguageIdentifierPart(Protocol):
    """``identify(text) -> (code, score)`` with a plain language code such as ``"en"`` and a score
    in [0, 1]."""

    def __call__(self, text: str) -> tuple[str, float]: ...


class ClassifierPart(Protocol):
    """``classify(text) -> (label, score)`` (nsfw, toxic speech, quality, ...), score in [0, 1]."""

    def __call__(self, text: str) -> tuple[str, float]: ...


class DocFilter(ABC):
    """A class: ``DocFilter(**options)``, then ``filter(doc) -> bool | (False, reason)`` per document.

    ``doc`` has ``.text`` (str, which a filter may rewrite, e.g. to mask PII) and ``.metadata`` (a
    dict a filter may add ``*_score`` entries to). Return True to keep, False or ``(False, reason)``
    to drop (the reason is counted in the pipeline's stats). Subclassing is optional: any class with
    this constructor and method satisfies the contract.
    """

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(f"{type(self).__name__} takes no options, got {', '.join(options)}")

    @abstractmethod
    def filter(self, doc: Any) -> bool | tuple[bool, str]: ...


class DeduperPart(Protocol):
    """``deduper(**options) -> deduper`` with ``reason`` and ``run(shards, output_directory,
    work_directory, executor)``."""

    def __call__(self, **options: Any) -> Any: ...


class ExecutorPart(Protocol):
    """``executor(**options) -> executor`` with ``map(fn, items, desc="") -> list`` (results in order)."""

    def __call__(self, **options: Any) -> Any: ...


# --- align ----------------------------------------------------------------------------------------


class RLLoss(Protocol):
    """A built loss: ``loss(log_probs, advantages=, old_log_probs=, response_mask=) -> (per_token, metrics)``.

    ``log_probs`` (batch, seq) carries the gradient; ``advantages`` is (batch, 1); ``old_log_probs``
    is the sampling policy's log-probs (None unless ``uses_old_log_probs``); ``metrics`` is a dict of
    detached per-token tensors. ``uses_old_log_probs`` (bool) tells the loop whether to compute the
    old policy's log-probs before the update. Optional attributes the align loop reads: ``advantage``
    ("group_normalized", "group_centered", "raw") and ``reduction`` (see lmforge.align.policy_gradient).
    """

    uses_old_log_probs: bool

    def __call__(self, log_probs: Any, *, advantages: Any, old_log_probs: Any = None,
                 response_mask: Any = None) -> tuple[Any, dict[str, Any]]: ...


class RLLossPart(Protocol):
    """``loss(**options) -> RLLoss``: a callable object with a bool ``uses_old_log_probs`` (see
    :class:`RLLoss`)."""

    def __call__(self, **options: Any) -> RLLoss: ...


class PreferenceLossPart(Protocol):
    """``loss(beta=..., **options)`` -> ``fn(chosen_logratios, rejected_logratios, chosen_lengths,
    rejected_lengths)``.

    The built loss returns the per-pair loss; log-ratios are the policy's minus the reference model's
    summed log-probs of the chosen and rejected responses (tensors of shape (pairs,)).
    """

    def __call__(self, *, beta: float = 0.1, **options: Any) -> Any: ...


class RewardPart(Protocol):
    """``reward(response, ground_truth) -> {"reward": float, ...}`` (other keys are logged components)."""

    def __call__(self, response: str, ground_truth: str) -> dict[str, float]: ...


class Example(Protocol):
    """One problem of a task: the prompt, the ground-truth answer, and a worked response for SFT."""

    prompt: str
    answer: str
    sft_response: str


class TaskPart(Protocol):
    """``task(split, size, seed, **options) -> list[Example]`` (split "train" or "eval"; they never overlap).

    An example has ``prompt``, ``answer`` (the ground truth a ``reward`` part scores against) and
    ``sft_response``. The same (split, size, seed) gives the same examples.
    """

    def __call__(self, split: str, size: int, seed: int, **options: Any) -> list[Example]: ...


# --- core -----------------------------------------------------------------------------------------


class MetricsLoggerPart(Protocol):
    """``logger(run_dir, start_time_s=0.0) -> logger`` with ``log(step, **metrics)`` and ``close()``."""

    def __call__(self, run_dir: Any, *, start_time_s: float = 0.0) -> Any: ...


@dataclass(frozen=True)
class ParityResult:
    """What a parity check found: the largest error seen, the tolerance it was held to, the verdict."""

    max_error: float
    tolerance: float
    passed: bool
    detail: str = ""


class ParityCheckPart(Protocol):
    """``compare(candidate, reference, **options) -> ParityResult``; registered under the kind it compares.

    ``candidate`` and ``reference`` are the two resolved parts (what ``get_part`` returns), so a check
    builds, calls and compares them the way that kind's contract says they are used.
    """

    def __call__(self, candidate: Any, reference: Any, **options: Any) -> ParityResult: ...


def _c(*args: str, **kw: None) -> Call:
    return Call(args, tuple(kw))


_FACTORY_OPTIONS = _c()  # built as factory(**options); every option must have a default

CONTRACTS: dict[str, Contract] = {c.kind: c for c in [
    Contract("tokenizer", TokenizerPart, "class", None, {
        "load": _c("directory"), "encode": _c("text"), "decode": _c("ids"),
        "encode_iterable": _c("iterable"), "save": _c("directory"), "vocab_size": None}),
    Contract("bpe_trainer", BpeTrainerPart, "callable",
             _c("input_path", "vocab_size", "special_tokens", pattern=None, workers=None, progress=None)),
    Contract("attention", AttentionPart, "callable", _c("q", "k", "v", mask=None, is_causal=None)),
    Contract("norm", NormPart, "callable", _c("d_model", device=None, dtype=None)),
    Contract("ffn", FfnPart, "callable", _c("d_model", "d_ff", device=None, dtype=None)),
    Contract("position", PositionPart, "callable", _c("theta", "d_k", "max_seq_len", device=None)),
    Contract("optimizer", OptimizerPart, "callable", _c("params", lr=None)),
    Contract("lr_schedule", LrSchedulePart, "callable",
             _c("it", "max_lr", "min_lr", "warmup_iters", "cosine_cycle_iters")),
    Contract("rollout_engine", RolloutEnginePart, "callable", _c("policy")),
    Contract("parallel_backend", ParallelBackendPart, "callable", _FACTORY_OPTIONS, {
        "setup": _c("device"), "wrap_model": _c("model"), "after_backward": _c("model"), "is_main": None}),
    Contract("scaling_law", ScalingLawPart, "class", None, {
        "fit": _c("table"), "from_state": _c("state"), "predict_loss": _c("params", "tokens")}),
    Contract("experiment_backend", ExperimentBackendPart, "callable", _FACTORY_OPTIONS, {
        "validate": _c("exp"), "cost": _c("exp"), "run": _c("exp")}),
    Contract("ablation_trainer", AblationTrainerPart, "callable",
             _c("token_files", "heldout", "tokenizer_dir", "budget", "model", "out")),
    Contract("html_extractor", HtmlExtractorPart, "callable", _c("html", "charset")),
    Contract("language_identifier", LanguageIdentifierPart, "callable", _c("text")),
    Contract("classifier", ClassifierPart, "callable", _c("text")),
    Contract("doc_filter", DocFilter, "class", None, {"filter": _c("doc")}),
    Contract("deduper", DeduperPart, "callable", _FACTORY_OPTIONS, {
        "run": _c("shards", "output_directory", "work_directory", "executor"), "reason": None}),
    Contract("executor", ExecutorPart, "callable", _FACTORY_OPTIONS, {"map": _c("fn", "items", desc=None)}),
    Contract("rl_loss", RLLossPart, "callable", _FACTORY_OPTIONS, {
        "__call__": _c("log_probs", advantages=None, old_log_probs=None, response_mask=None)},
        attributes={"uses_old_log_probs": bool}),
    Contract("preference_loss", PreferenceLossPart, "callable", _c(beta=None), {
        "__call__": _c("chosen_logratios", "rejected_logratios", "chosen_lengths", "rejected_lengths")}),
    Contract("reward", RewardPart, "callable", _c("response", "ground_truth")),
    Contract("task", TaskPart, "callable", _c("split", "size", "seed")),
    Contract("metrics_logger", MetricsLoggerPart, "callable", _c("run_dir", start_time_s=None), {
        "log": _c("step"), "close": _c()}),
    Contract("parity_check", ParityCheckPart, "callable", _c("candidate", "reference")),
]}
