"""The schedule: cosine learning rate, and --minutes fitting the steps to the measured speed."""

import pytest

from trainer.schedule import MinutesFit, cosine_lr


def test_cosine_from_lr_to_lr_times_lr_end():
    assert cosine_lr(0, 101, 1e-3, 0.1) == pytest.approx(1e-3)
    assert cosine_lr(50, 101, 1e-3, 0.1) == pytest.approx(0.55e-3)
    assert cosine_lr(100, 101, 1e-3, 0.1) == pytest.approx(1e-4)
    assert cosine_lr(500, 101, 1e-3, 0.1) == pytest.approx(1e-4)  # past the end (a resume that grew): stays
    assert cosine_lr(0, 1, 1e-3, 0.1) == pytest.approx(1e-3)


def test_minutes_measure_after_warm_up_then_fit_once():
    fit = MinutesFit(1.0, pending=True)  # 60 s
    fit.start(0)
    assert fit.update(10, 10.0, cap=1000) is None and fit.left == 2  # warm-up: before min(30 s, 15 s)
    assert fit.update(25, 16.0, cap=1000) is None and (fit.left, fit.ref) == (1, (25, 16.0))
    assert fit.update(30, 20.0, cap=1000) is None  # 5 steps are too few to measure
    assert fit.update(50, 26.0, cap=1000) == (50 + int(2.5 * 34), 2.5) and fit.left == 0


def test_minutes_are_capped_and_never_end_before_the_next_step():
    fit = MinutesFit(1.0, pending=True)
    fit.start(0)
    fit.update(20, 15.0, cap=100)
    assert fit.update(60, 25.0, cap=100) == (100, 4.0)  # 4 steps/s for 35 s more: 200, capped
    late = MinutesFit(1.0, pending=True)
    late.start(0)
    late.update(20, 15.0, cap=100)
    assert late.update(40, 70.0, cap=100)[0] == 41  # the time is already up: one more step


def test_no_minutes_nothing_to_fit():
    assert MinutesFit(0.0, pending=False).left == 0
