"""Auto processing size: the largest height whose measured time fits 24 fps, on simulated machines."""

import random

import pytest

from stylecam.autosize import AutoSize


def run(auto, cost, frame=(480, 640, 3), frames=400, noise=0.0, seed=0):
    """Feed ``auto`` the time ``cost(height)`` of each frame at its current choice; the choices made."""
    rng = random.Random(seed)
    choices = [auto.chosen]
    for _ in range(frames):
        h = auto.chosen if auto.chosen is not None else min(frame[:2])
        if auto.add(cost(h) * (1 + rng.uniform(-noise, noise)), frame):
            choices.append(auto.chosen)
    return choices


def per_pixel(ms_at_480):
    return lambda h: ms_at_480 * (h / 480) ** 2


@pytest.mark.parametrize("ms_at_480, expect", [
    (10.0, None),  # an AVX-512 desktop: the source's own 480 lines
    (28.0, None),  # 28 of the 41.7 ms a frame has at 24 fps: under the 0.7 of it needed to move up
    (32.0, 360),  # 32 ms would be over that: 360 lines (18 ms)
    (80.0, 240),  # an AVX2 laptop at 80 ms for 480 lines
    (400.0, 240),  # nothing fits: the smallest
])
def test_it_settles_on_the_largest_size_that_fits(ms_at_480, expect):
    auto = AutoSize()
    choices = run(auto, per_pixel(ms_at_480))
    assert auto.chosen == expect
    assert len(choices) <= 3  # it jumps near the answer, it does not walk every size


def test_a_size_that_measured_too_slow_is_not_tried_again():
    # the cost grows faster than the pixel count above 360 (caches): the prediction says 480
    # fits, the measurement says no; it goes back down and stays
    cost = lambda h: 0.0001 * h ** 2 if h <= 360 else 60.0  # noqa: E731
    auto = AutoSize()
    choices = run(auto, cost, noise=0.05)
    assert choices == [240, None, 360]  # 240 predicts 23 ms at 480 lines; it measures 60


def test_noise_does_not_make_it_see_saw():
    auto = AutoSize()
    choices = run(auto, per_pixel(20.0), noise=0.3, frames=2000, seed=3)
    assert len(choices) <= 4 and auto.chosen in (360, None)


def test_restart_and_a_smaller_source():
    auto = AutoSize()
    run(auto, per_pixel(80.0))
    assert auto.chosen == 240 and "Auto 240p" in auto.text()
    auto.restart()  # a lighter style now
    run(auto, per_pixel(5.0))
    assert auto.chosen is None and auto.text().startswith("Auto full (480p)")
    auto.restart()  # a 200-line source: every height is its own size
    assert auto.add(3.0, (200, 320, 3)) is False and auto.candidates() == [None]
    assert auto.add(0.0, (200, 320, 3)) is False  # "Original" frames are not measured
