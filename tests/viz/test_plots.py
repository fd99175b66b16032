"""Training plots read at page scale: integer epoch ticks, axes that say what they show, distinguishable curves."""

import pytest

pytest.importorskip("matplotlib")

from neurona.viz import plots  # noqa: E402

HISTORY = {"loss": [2.3, 2.2, 2.1], "accuracy": [0.10, 0.15, 0.20],
           "val_loss": [2.31, 2.25, 2.20], "val_accuracy": [0.11, 0.14, 0.18]}


def _epoch_ticks(ax) -> list:
    low, high = ax.get_xlim()
    return [t for t in ax.get_xticks() if low <= t <= high]


def test_epoch_axes_have_integer_ticks():
    for fig in (plots.plot_history(HISTORY), plots.plot_comparison({"a": HISTORY, "b": HISTORY})):
        for ax in fig.axes:
            assert ax.get_xlabel() == "epoch"
            assert all(float(t).is_integer() for t in _epoch_ticks(ax))  # 3 epochs: 1, 2, 3 - never 1.5


def test_the_axes_say_test_accuracy_where_they_show_it():
    fig = plots.plot_comparison({"a": HISTORY}, metrics=("val_accuracy", "accuracy", "val_loss"))
    assert [ax.get_ylabel() for ax in fig.axes] == ["test accuracy", "train accuracy", "test loss"]


def test_overlapping_curves_differ_in_marker_and_line_style():
    fig = plots.plot_comparison({name: HISTORY for name in ("a", "b", "c", "d")}, metrics=("val_accuracy",))
    lines = fig.axes[0].get_lines()
    assert len({(line.get_marker(), line.get_linestyle()) for line in lines}) == 4  # identical data, four looks


def test_figure_text_is_large_enough_for_the_page():
    fig = plots.plot_history(HISTORY, title="a long description " * 8)
    assert fig.axes[0].xaxis.label.get_fontsize() >= 14  # shown two to a row, so about half size
    assert "\n" in fig._suptitle.get_text()  # a long title wraps instead of leaving the figure


def test_a_panel_without_runs_draws_without_a_legend_warning(recwarn):
    plots.plot_comparison({"diverged": {"loss": [], "accuracy": []}}, metrics=("accuracy",))
    assert not [w for w in recwarn if "legend" in str(w.message)]
