"""`train --search`: a bounded grid, scored by cross-validation, default first."""

from __future__ import annotations

from classifiers.corpus import LabelledData
from classifiers.model import TextClassifier
from classifiers.search import GRID, search


def test_search_scores_the_default_first_and_returns_the_best(tiny_data: LabelledData) -> None:
    result = search(list(tiny_data.texts), list(tiny_data.labels), budget_seconds=600)
    assert result.complete
    sizes = 1
    for values in GRID.values():
        sizes *= len(values)
    assert len(result.trials) == sizes
    default = TextClassifier().get_params()
    assert result.trials[0].params == {k: default[k] for k in GRID}  # scored first
    assert result.best.macro_f1 == max(t.macro_f1 for t in result.trials)
    assert 0.0 < result.best.macro_f1 <= 1.0


def test_a_budget_cut_short_still_returns_the_default_scored(tiny_data: LabelledData) -> None:
    result = search(list(tiny_data.texts), list(tiny_data.labels), budget_seconds=0.0)
    assert not result.complete
    assert len(result.trials) == 1
    assert result.best is result.trials[0]
