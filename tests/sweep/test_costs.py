"""Where a sweep's time went: per-part sums over runs, skipped parts left out, shares that add up."""

import pytest

from empirical.sweep import costs


def _record(**seconds):
    return {"metrics": {f"{part}_seconds": s for part, s in seconds.items()}}


def test_parts_are_summed_over_runs_and_skipped_parts_left_out():
    records = [_record(train=2.0, noise=6.0, kink=None), _record(train=1.0, noise=None)]
    assert costs.by_part(records) == {"train": 3.0, "noise": 6.0}


def test_the_report_gives_each_parts_share_of_the_run_time():
    lines = costs.report([_record(train=3.0, noise=1.0)], wall=4.5, jobs=2).splitlines()
    assert "(4.0s of run time; 4.5s wall with 2 at a time)" in lines[0]
    shares = {line.split()[0]: float(line.split()[-1].rstrip("%")) for line in lines[1:]}
    assert shares == pytest.approx({"train": 75.0, "noise": 25.0})


def test_no_executed_run_is_said_plainly():
    assert costs.report([], wall=0.0, jobs=1) == "Time: no run executed in this sweep"
