"""The window survives thousands of repaints: PySide6 6.12.0 on Python 3.11 lowered
None's reference count in QPainter calls until Python aborted ("none_dealloc") during a
long summary run. These tests repaint the trace's coverage strip and table the way a long
run does and check that the process's count of references to None does not fall."""

from __future__ import annotations

import sys

from app.ui.coverage import CoverageStrip, page_runs


def test_page_runs_merge_consecutive_pages():
    assert page_runs({7, 1, 2, 3, 0, 99}, 10) == [(1, 3), (7, 7)]
    assert page_runs(set(), 5) == []
    assert page_runs(set(range(1, 1159)), 1158) == [(1, 1158)]


def test_thousands_of_coverage_repaints_keep_none_alive(qtbot):
    painted = []

    class Counted(CoverageStrip):
        def paintEvent(self, e):
            painted.append(1)
            super().paintEvent(e)

    strip = Counted()
    qtbot.addWidget(strip)
    strip.resize(900, 80)
    strip.show()
    before = sys.getrefcount(None)
    pages: set[int] = set()
    for i in range(3000):
        pages.add((i * 37) % 1158 + 1)  # scattered pages, as a map over a manual reads them
        strip.set_coverage([(1, "Manual", 1158, pages), (2, "Report", 40, {i % 40 + 1})])
        strip.grab()  # renders through paintEvent, exposed or not
    after = sys.getrefcount(None)
    assert len(painted) >= 3000  # every update really painted
    # Each leaked decrement costs one; 3,000 repaints of ~100 runs would lose far more than 500.
    assert after > before - 500, f"None lost {before - after} references in 3,000 repaints"
