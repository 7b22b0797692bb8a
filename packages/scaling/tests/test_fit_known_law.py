"""Both methods recover a known law's constants and its compute-optimal allocation."""

import warnings

import numpy as np
import pytest

from lmforge.core import LmforgeError
from lmforge.scaling.isoflops import IsoFlopsLaw
from lmforge.scaling.known_law import KnownLaw, isoflops_table
from lmforge.scaling.law import fit_law
from lmforge.scaling.parametric import ParametricLaw

LAW = KnownLaw()
BUDGETS = (1e18, 1e19, 1e20, 1e21)


def test_parametric_recovers_exact_constants_without_noise():
    fit = ParametricLaw.fit(isoflops_table(LAW, BUDGETS), bootstrap=0)
    s = fit.summary()
    for k, v in LAW.as_dict().items():
        assert s[k]["value"] == pytest.approx(v, rel=1e-4), k
    n, d, loss = fit.optimal(1e23)
    assert n.value == pytest.approx(LAW.optimal(1e23)[0], rel=1e-3)
    assert loss.value == pytest.approx(LAW.optimal(1e23)[2], rel=1e-4)


def test_parametric_with_noise_recovers_allocation_and_brackets_truth():
    fit = ParametricLaw.fit(isoflops_table(LAW, BUDGETS, noise=0.01, seed=3), bootstrap=60)
    s = fit.summary()
    assert s["a"]["value"] == pytest.approx(LAW.a, abs=0.04)
    assert s["alpha"]["value"] == pytest.approx(LAW.alpha, abs=0.06)
    assert s["beta"]["value"] == pytest.approx(LAW.beta, abs=0.06)
    assert s["a"]["low"] < s["a"]["value"] < s["a"]["high"]
    opt = fit.optimal(1e22)
    true_n, _, true_loss = LAW.optimal(1e22)
    assert opt.params.value == pytest.approx(true_n, rel=0.5)
    assert opt.loss.value == pytest.approx(true_loss, rel=0.02)
    assert opt.params.low < opt.params.value < opt.params.high
    assert opt.loss.contains(true_loss)
    assert fit.predict_loss([1e8, 1e9], [1e10, 1e11]) == pytest.approx(LAW.loss([1e8, 1e9], [1e10, 1e11]),
                                                                       rel=0.02)


def test_isoflops_recovers_exponent_and_extrapolates_with_prediction_interval():
    exact = IsoFlopsLaw.fit(isoflops_table(LAW, BUDGETS))
    assert exact.summary()["a"]["value"] == pytest.approx(LAW.a, abs=1e-6)
    assert exact.summary()["b"]["value"] == pytest.approx(LAW.b, abs=1e-6)
    noisy = IsoFlopsLaw.fit(isoflops_table(LAW, BUDGETS, noise=0.005, seed=1))
    s = noisy.summary()
    assert s["a"]["value"] == pytest.approx(LAW.a, abs=0.04)
    assert s["a"]["low"] <= LAW.a <= s["a"]["high"]
    for budget in (1e23, 1e24):
        opt = noisy.optimal(budget)
        true_n, true_d, _ = LAW.optimal(budget)
        assert opt.params.contains(true_n) and opt.tokens.contains(true_d)
        assert opt.params.value == pytest.approx(true_n, rel=0.4)
    # prediction intervals widen with distance from the data
    w = lambda c: np.log(noisy.optimal(c).params.high / noisy.optimal(c).params.low)
    assert w(1e24) > w(1e21)


def test_lowest_loss_selection_is_available():
    law = IsoFlopsLaw.fit(isoflops_table(LAW, BUDGETS, sizes=9, span=8), optimum="min")
    assert law.summary()["a"]["value"] == pytest.approx(LAW.a, abs=0.08)


def test_fewer_than_three_runs_in_a_budget_is_an_error():
    t = isoflops_table(LAW, BUDGETS).head(9)  # 7 runs at the first budget, 2 at the second
    with pytest.raises(LmforgeError, match="at least 3 model sizes"):
        IsoFlopsLaw.fit(t)


def test_downward_parabola_is_flagged_and_excluded():
    import polars as pl

    t = isoflops_table(LAW, BUDGETS + (1e22,))
    # turn the largest budget's profile upside down: its sizes no longer bracket a minimum
    t = t.with_columns(pl.when(pl.col("budget") == 1e22).then(10 - pl.col("loss")).otherwise(pl.col("loss"))
                       .alias("loss"))
    with pytest.warns(UserWarning, match="excluded: parabola opens downward"):
        law = IsoFlopsLaw.fit(t)
    flagged = [b for b in law.summary()["budgets"] if b["excluded"]]
    assert [b["budget"] for b in flagged] == [1e22]
    assert law.summary()["a"]["value"] == pytest.approx(LAW.a, abs=1e-6)


def test_nan_or_nonpositive_losses_are_refused():
    import polars as pl

    t = isoflops_table(LAW, BUDGETS).with_columns(pl.lit(float("nan")).alias("loss"))
    for method in ("isoflops", "parametric"):
        with pytest.raises(LmforgeError, match="non-positive or NaN"):
            fit_law(method, t)


def test_save_and_load_round_trip(tmp_path):
    from lmforge.scaling.law import load_law

    t = isoflops_table(LAW, BUDGETS, noise=0.01, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, opts in (("isoflops", {}), ("parametric", {"bootstrap": 20})):
            law = fit_law(method, t, **opts)
            again = load_law(law.save(tmp_path / f"{method}.json"))
            a, b = law.optimal(1e23), again.optimal(1e23)
            assert a.params.value == pytest.approx(b.params.value)
            assert a.params.high == pytest.approx(b.params.high)
            assert again.table.height == t.height


def test_vertex_far_outside_the_sizes_is_excluded():
    import polars as pl

    t = isoflops_table(LAW, BUDGETS + (1e22,))
    # make the largest budget's losses fall steadily with N (optimum far beyond the largest size)
    t = t.with_columns(pl.when(pl.col("budget") == 1e22).then(3.0 - 0.2 * pl.col("params").log10()
                                                                + 0.001 * pl.col("params").log10() ** 2)
                       .otherwise(pl.col("loss")).alias("loss"))
    with pytest.warns(UserWarning, match="lies far outside the sizes tried"):
        law = IsoFlopsLaw.fit(t)
    assert [b["budget"] for b in law.summary()["budgets"] if b["excluded"]] == [1e22]
