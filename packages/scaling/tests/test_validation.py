"""Held-out prediction and interval coverage on data from a known law."""

import pytest

from lmforge.scaling.coverage import measure_coverage
from lmforge.scaling.known_law import KnownLaw, isoflops_table
from lmforge.scaling.validate import held_out_check


def test_held_out_budget_is_predicted_within_tolerance():
    law = KnownLaw()
    table = isoflops_table(law, (1e17, 1e18, 1e19, 1e20, 1e21), sizes=7, noise=0.005, seed=11)
    result = held_out_check(table, bootstrap=60)
    assert result["held_out_budget"] == 1e21
    true_n, _, true_loss = law.optimal(1e21)
    assert result["true_optimal_params"] == pytest.approx(true_n, rel=0.2)
    for method, tol in (("isoflops", 0.08), ("parametric", 0.02)):
        m = result["methods"][method]
        assert m["loss"]["relative_error"] == pytest.approx(0, abs=tol), method
        assert m["params"]["relative_error"] == pytest.approx(0, abs=0.35), method
        assert m["params"]["inside"], method


@pytest.mark.slow
def test_bootstrap_intervals_cover_the_truth_near_their_nominal_rate():
    # 10 seeds x 30 resamples: bounded, yet enough to catch intervals that are badly wrong; the full
    # study is `lmforge scaling coverage`.
    r = measure_coverage(seeds=10, bootstrap=30, noise=0.01, level=0.9)
    cov = r["coverage"]
    for k in ("parametric.alpha", "parametric.beta", "parametric.a", "isoflops.a"):
        assert cov[k] >= 0.6, (k, cov[k])
    assert r["mean_width"]["parametric.a"] < 0.2
