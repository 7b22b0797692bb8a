"""Plain-text reports for the CLI: fitted constants, optima, configurations, validation, coverage."""

from __future__ import annotations

from typing import Any


def _est(d: dict[str, float], spec: str = ".4g") -> str:
    return f"{d['value']:{spec}}  [{d['low']:{spec}}, {d['high']:{spec}}]"


def format_summary(law) -> str:
    s = law.summary()
    lines = [f"method: {s['method']}  ({s['level']:.0%} intervals)"]
    if s["method"] == "parametric":
        lines.append("L(N, D) = E + A/N^alpha + B/D^beta   (bootstrap resamples: "
                     f"{s['bootstrap']}, log-residual sd {s['residual_sd']:.4f})")
        keys = ("E", "A", "B", "alpha", "beta", "G")
    else:
        lines.append("N_opt = k C^a,  D_opt = k_D C^b   (OLS in log-log space)")
        keys = ("k", "k_D", "loss_exponent")
        for b in s["budgets"]:
            state = f"excluded: {b['excluded']}" if b["excluded"] else \
                f"N_opt {b['params_opt']:.4g}  D_opt {b['tokens_opt']:.4g}  loss {b['loss_opt']:.4f}"
            lines.append(f"  budget {b['budget']:.3g}  ({b['n_runs']} runs)  {state}")
    for k in keys:
        lines.append(f"  {k:>14} = {_est(s[k])}")
    if s.get("at_bound"):
        pinned = ", ".join(s["at_bound"])
        lines.append(f"  warning: {pinned} sits at the optimiser's bound, not identified by these runs "
                     "(ignore its interval)")
    lines.append(f"  {'a (N_opt ~ C^a)':>14} = {_est(s['a'])}")
    lines.append(f"  {'b (D_opt ~ C^b)':>14} = {_est(s['b'])}")
    return "\n".join(lines)


def format_optimum(law, opt) -> str:
    kind = "prediction" if law.method == "isoflops" else "bootstrap"
    return (f"C = {opt.compute:.3g} FLOPs ({law.method}, {law.level:.0%} {kind} intervals)\n"
            f"  N_opt = {opt.params:.4g}\n  D_opt = {opt.tokens:.4g}\n  loss  = {opt.loss:.4g}")


def format_configuration(cfg) -> str:
    m = cfg.model
    hyper = (f"batch size {cfg.batch_size}, lr {cfg.lr:.3g} ({cfg.hyper_source})" if cfg.lr is not None
             else f"batch size / lr: {cfg.hyper_source}")
    return (f"  model: d_model={m['d_model']} num_layers={m['num_layers']} num_heads={m['num_heads']} "
            f"d_ff={m['d_ff']} (vocab {m['vocab_size']}, context {m['context_length']})\n"
            f"  params: {cfg.params:,} non-embedding ({cfg.relative_error:+.1%} vs N_opt), "
            f"{cfg.params_total:,} total\n"
            f"  tokens: {cfg.tokens:,} (spends the budget exactly; law's D_opt {cfg.law_tokens:.4g})\n"
            f"  predicted loss: {cfg.predicted_loss:.4f}\n  {hyper}")


def format_validation(r: dict[str, Any]) -> str:
    lines = [f"held out: budget {r['held_out_budget']:.3g} FLOPs; fitted on "
             + ", ".join(f"{b:.3g}" for b in r["train_budgets"]),
             f"truth: best loss {r['true_best_loss']:.4f}, optimal N {r['true_optimal_params']:.4g} "
             f"({r['true_optimal_params_source']})"]
    for method, m in r["methods"].items():
        for what in ("loss", "params"):
            c = m[what]
            inside = {True: f"inside the {m['level']:.0%} interval", False: f"OUTSIDE the {m['level']:.0%} "
                      "interval", None: "no interval (too few budgets)"}[c["inside"]]
            lines.append(f"  {method:>10} {what:>6}: predicted {c['predicted']:.4g} "
                         f"[{c['low']:.4g}, {c['high']:.4g}]  truth {c['truth']:.4g}  "
                         f"error {c['relative_error']:+.1%}  {inside}")
    return "\n".join(lines)


def format_coverage(r: dict[str, Any]) -> str:
    lines = [f"coverage of {r['level']:.0%} intervals over {r['seeds']} seeds "
             f"(noise sd {r['noise']}, {r['bootstrap']} bootstrap resamples)"]
    for k, v in r["coverage"].items():
        lines.append(f"  {k:>18}: {v:6.1%}   mean width {r['mean_width'][k]:.4g}")
    return "\n".join(lines)
