"""Confidence intervals checked against hand computations and Student's t table."""

from __future__ import annotations

import math

import pytest

from datamill.evaluate.stats import betainc, mean_interval, paired_delta, t_cdf, t_quantile


@pytest.mark.parametrize(("df", "table"), [(1, 12.706), (2, 4.303), (4, 2.776), (7, 2.365), (10, 2.228),
                                           (30, 2.042), (120, 1.980), (100_000, 1.960)])
def test_t_quantile_matches_the_printed_table(df: int, table: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)
    assert t_cdf(t_quantile(0.975, df), df) == pytest.approx(0.975, abs=1e-9)
    assert t_quantile(0.025, df) == pytest.approx(-t_quantile(0.975, df))


def test_betainc_closed_forms() -> None:
    # I_x(1, 1) = x;  I_x(a, 1) = x^a;  I_x(1, b) = 1 - (1 - x)^b
    assert betainc(1, 1, 0.3) == pytest.approx(0.3)
    assert betainc(3, 1, 0.5) == pytest.approx(0.125)
    assert betainc(1, 4, 0.2) == pytest.approx(1 - 0.8**4)


def test_paired_t_interval_by_hand() -> None:
    # exact match of 8 items before/after: the differences d = after - before are 0 1 0 0 1 0 0 1
    before = [1, 0, 0, 1, 0, 1, 0, 0]
    after = [1, 1, 0, 1, 1, 1, 0, 1]
    # mean(d) = 3/8 = 0.375; sum of squared deviations = 3 * 0.625^2 + 5 * 0.375^2 = 1.875;
    # var = 1.875 / 7 = 0.267857; se = sqrt(var / 8) = 0.182981; t(0.975, 7) = 2.364624 (table);
    # half-width = 2.364624 * 0.182981 = 0.432682 -> [-0.057682, 0.807682]
    iv = paired_delta(before, after)
    assert iv.estimate == pytest.approx(0.375)
    assert iv.low == pytest.approx(-0.057682, abs=1e-5)
    assert iv.high == pytest.approx(0.807682, abs=1e-5)
    assert iv.n == 8 and iv.method == "paired-t"


def test_paired_interval_is_narrower_than_comparing_two_independent_means() -> None:
    # the same items: a hard item stays hard; pairing removes that spread
    before = [0.1, 0.9, 0.2, 0.8, 0.15, 0.85] * 5
    after = [b + 0.05 for b in before]
    paired = paired_delta(before, after)
    assert paired.low == pytest.approx(0.05) and paired.high == pytest.approx(0.05)  # every item moved by 0.05
    n = len(before)
    pooled_se = math.sqrt(2 * sum((b - sum(before) / n) ** 2 for b in before) / (n - 1) / n)
    assert 1.96 * pooled_se > 0.05  # an unpaired interval would include 0; the paired one excludes it


def test_bootstrap_is_seeded_and_close_to_the_t_interval_for_many_items() -> None:
    values = [(i * 7919) % 13 / 13 - 0.4 for i in range(400)]
    a = mean_interval(values, method="bootstrap", seed=1)
    b = mean_interval(values, method="bootstrap", seed=1)
    t = mean_interval(values)
    assert (a.low, a.high) == (b.low, b.high)
    assert a.low is not None and a.high is not None and t.low is not None and t.high is not None
    assert a.low == pytest.approx(t.low, abs=0.01) and a.high == pytest.approx(t.high, abs=0.01)
    assert a.low < a.estimate < a.high


def test_too_few_items_have_no_interval() -> None:
    one = mean_interval([1.0])
    assert one.estimate == 1.0 and one.low is None and one.high is None
    assert math.isnan(mean_interval([]).estimate)
    with pytest.raises(ValueError):
        paired_delta([1.0], [1.0, 2.0])
