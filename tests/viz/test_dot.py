"""Graph drawing: DOT text with forward values (black) and gradients (red), draw() to files, Jupyter views."""

import ast
import math
import os
import re
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from neurona import Tensor
from neurona.viz import Drawing, GraphvizNotFoundWarning, draw, reading_order, summarize, to_dot

SRC = Path(__file__).resolve().parents[2] / "src" / "neurona"


def small_graph():
    """y = sigmoid(w * x) with w = 2, x = 3, in float64."""
    w = Tensor(2.0, requires_grad=True, name="w", dtype="float64")
    x = Tensor(3.0, name="x", dtype="float64")
    return w, x, (w * x).sigmoid()


def node_line(dot: str, title: str) -> str:
    (line,) = [ln for ln in dot.splitlines() if f"<B>{title}</B>" in ln]
    return line


def edges(dot: str) -> set:
    titles = {m.group(1): m.group(2) for m in re.finditer(r"(n\d+) \[.*?<B>(.*?)</B>", dot)}
    return {(titles[a], titles[b]) for a, b in re.findall(r"(n\d+) -> (n\d+);", dot)}


# ----- to_dot -----
def test_forward_values_and_no_red_before_backward():
    _, _, y = small_graph()
    dot = to_dot(y)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "2.000" in node_line(dot, "w") and "3.000" in node_line(dot, "x")
    assert "6.000" in node_line(dot, "*")  # w * x = 6
    assert "0.998" in node_line(dot, "sigmoid")  # 1 / (1 + e^-6) = 1 / 1.00248 = 0.99753
    assert "red" not in dot
    assert edges(dot) == {("w", "*"), ("x", "*"), ("*", "sigmoid")}


def test_gradients_in_red_after_backward():
    w, _, y = small_graph()
    y.backward()
    dot = to_dot(y)
    # dy/d(wx) = σ(6)(1 - σ(6)) = 0.99753 * 0.00247 = 0.002467; dy/dw = that * x = 0.0074
    assert '<FONT COLOR="red">1.000</FONT>' in node_line(dot, "sigmoid")
    assert '<FONT COLOR="red">0.002</FONT>' in node_line(dot, "*")
    assert '<FONT COLOR="red">0.007</FONT>' in node_line(dot, "w")
    assert "red" not in node_line(dot, "x")  # x does not require grad: no gradient to show
    assert "red" not in to_dot(y, show_grad=False)


def test_output_is_deterministic_and_ids_follow_reading_order():
    first, second = to_dot(small_graph()[2]), to_dot(small_graph()[2])
    assert first == second
    assert re.findall(r"(n\d+) \[", first) == ["n0", "n1", "n2", "n3"]
    assert "<B>w</B>" in first.splitlines()[3]  # w is the first parent of w * x, so it comes first


def test_leaves_are_boxes_ops_are_ellipses_and_options():
    dot = to_dot(small_graph()[2], rankdir="TB")
    assert "rankdir=TB;" in dot
    assert "shape=box" in node_line(dot, "w") and "shape=ellipse" in node_line(dot, "*")
    assert "6.00000" in to_dot(small_graph()[2], precision=5)


def test_named_op_nodes_show_name_and_op():
    a = Tensor(1.0, requires_grad=True, name="a", dtype="float64")
    z = a + 1.0
    z.name = "z"
    dot = to_dot(z)
    assert "<B>z = +</B>" in dot
    assert "<B>const</B>" in dot  # the lifted 1.0


def test_unnamed_array_leaf_is_input():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert "<B>input</B>" in to_dot(x * 2.0)


def test_array_summaries():
    # linspace(-0.3, 0.4, 1000): mean is the midpoint (-0.3 + 0.4) / 2 = 0.05
    big = Tensor(np.linspace(-0.3, 0.4, 1000).reshape(100, 10), requires_grad=True, name="A", dtype="float64")
    total = (big * 2.0).sum()
    total.backward()
    line = node_line(to_dot(total), "A")
    assert "<B>A</B> (100, 10)<BR/>mean 0.050 [min -0.300, max 0.400]<BR/>" in line  # the shape once, by the name
    assert '<FONT COLOR="red">mean 2.000 [min 2.000, max 2.000]</FONT>' in line  # d(sum 2A)/dA = 2
    assert summarize(big.data) == "(100, 10) mean 0.050 [min -0.300, max 0.400]"  # one line, for tables
    small = Tensor([[1.0, -2.5], [0.0, 4.0]], name="S", dtype="float64")
    assert "[[1.000, -2.500], [0.000, 4.000]]" in node_line(to_dot(small), "S")
    empty = Tensor(np.zeros((0, 3)), name="E")
    assert "(0, 3) empty" in node_line(to_dot(empty), "E")


def test_number_formatting():
    assert "<BR/>0.000>" in to_dot(Tensor(-0.0, name="n"))  # no "-0.000"
    assert "1.234e-05" in to_dot(Tensor(1.234e-5, name="t", dtype="float64"))  # tiny values keep their digits
    assert "2.500e+07" in to_dot(Tensor(2.5e7, name="h", dtype="float64"))
    assert "nan" in to_dot(Tensor(float("nan"), name="q"))


def test_escaping_in_html_labels():
    t = Tensor(1.0, name='a<b & "c">', dtype="float64")
    line = node_line(to_dot(t), "a&lt;b &amp; &quot;c&quot;&gt;")
    assert 'a<b' not in line and '"c"' not in line
    p = Tensor(2.0, requires_grad=True, name="p")
    assert "<B>**2</B>" in to_dot(p ** 2)


def test_to_dot_validates_its_arguments():
    y = small_graph()[2]
    with pytest.raises(TypeError, match=r"t must be a Tensor. Received: t=\[1, 2\]"):
        to_dot([1, 2])
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT. Received: rankdir='XY'"):
        to_dot(y, rankdir="XY")
    with pytest.raises(ValueError, match="precision must be an int in \\[0, 12\\]. Received: precision=-1"):
        to_dot(y, precision=-1)


def test_reading_order_parents_first_each_node_once():
    x = Tensor(3.0, requires_grad=True, name="x")
    square = x * x
    out = square + x  # x is reached along three paths
    order = reading_order(out)
    assert [n.name or n._op for n in order] == ["x", "*", "+"]
    chain = x
    for _ in range(5000):  # deeper than Python's recursion limit
        chain = chain + 1.0
    assert len(reading_order(chain)) == 1 + 2 * 5000 and len(to_dot(chain).splitlines()) > 5000


def test_the_engine_does_not_import_viz():
    for path in (SRC / "autodiff").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [getattr(node, "module", None) or ""] + [alias.name for alias in node.names]
                assert not any("viz" in name for name in names), f"{path.name} imports viz"


# ----- draw -----
def no_dot(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)


def fake_dot(monkeypatch, tmp_path, body: str) -> None:
    """Install a stand-in `dot` (a shell script) that shutil.which finds."""
    script = tmp_path / "bin" / "dot"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: str(script) if name == "dot" else None)


def test_draw_dot_file(tmp_path):
    y = small_graph()[2]
    drawing = draw(y, tmp_path / "g.dot")
    assert isinstance(drawing, Drawing) and drawing.path == tmp_path / "g.dot" and drawing.note == ""
    assert (tmp_path / "g.dot").read_text() == to_dot(y) == drawing.source
    assert os.listdir(tmp_path) == ["g.dot"]  # no temporary file left behind


def test_draw_keeps_an_existing_files_mode(tmp_path):
    target = tmp_path / "g.dot"
    target.write_text("old")
    target.chmod(0o640)
    draw(small_graph()[2], str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() != "old"


def test_draw_without_graphviz_writes_dot_and_says_how_to_install(tmp_path, monkeypatch):
    no_dot(monkeypatch)
    y = small_graph()[2]
    with pytest.warns(GraphvizNotFoundWarning, match="apt-get install graphviz") as caught:
        drawing = draw(y, tmp_path / "graph.svg")
    message = str(caught[0].message)
    assert "brew install graphviz" in message and "https://graphviz.org/download/" in message
    assert drawing.path == tmp_path / "graph.dot" and drawing.note == message
    assert os.listdir(tmp_path) == ["graph.dot"]
    assert (tmp_path / "graph.dot").read_text() == to_dot(y)
    assert drawing._repr_svg_() is None
    assert drawing._repr_mimebundle_() == {"text/plain": drawing.source}


def test_draw_with_a_fake_dot_renders_atomically(tmp_path, monkeypatch):
    fake_dot(monkeypatch, tmp_path, 'cat > /dev/null\necho "<svg>$1</svg>"')
    out = tmp_path / "out"
    out.mkdir()
    (out / "graph.svg").write_text("old")
    drawing = draw(small_graph()[2], out / "graph.svg")
    assert (out / "graph.svg").read_text() == "<svg>-Tsvg</svg>\n"
    assert os.listdir(out) == ["graph.svg"]
    assert drawing._repr_svg_() == "<svg>-Tsvg</svg>\n"
    assert drawing._repr_mimebundle_() == {"image/svg+xml": "<svg>-Tsvg</svg>\n"}
    assert draw(small_graph()[2], out / "graph.png").path == out / "graph.png"
    assert (out / "graph.png").read_text() == "<svg>-Tpng</svg>\n"


def test_png_graphs_render_at_twice_graphviz_s_default_resolution(tmp_path, monkeypatch):
    fake_dot(monkeypatch, tmp_path, 'cat > /dev/null\necho "$@"')  # echoes its arguments as the "image"
    draw(small_graph()[2], tmp_path / "g.png")
    draw(small_graph()[2], tmp_path / "g.svg")
    assert (tmp_path / "g.png").read_text().split() == ["-Tpng", "-Gdpi=192"]  # Graphviz's default is 96
    assert (tmp_path / "g.svg").read_text().split() == ["-Tsvg"]  # vectors need no resolution


def test_draw_failure_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    fake_dot(monkeypatch, tmp_path, "cat > /dev/null\necho boom >&2\nexit 3")
    out = tmp_path / "out"
    out.mkdir()
    (out / "graph.pdf").write_text("old")
    with pytest.raises(RuntimeError, match="exit code 3.*boom"):
        draw(small_graph()[2], out / "graph.pdf")
    assert os.listdir(out) == ["graph.pdf"] and (out / "graph.pdf").read_text() == "old"


def test_draw_times_out(tmp_path, monkeypatch):
    fake_dot(monkeypatch, tmp_path, "exec sleep 10")
    with pytest.raises(RuntimeError, match="timeout=0.3"):
        draw(small_graph()[2], tmp_path / "graph.svg", timeout=0.3)
    assert not (tmp_path / "graph.svg").exists()


def test_draw_rejects_unknown_extensions(tmp_path):
    with pytest.raises(ValueError, match=r"path must end in .dot, .gv, .svg, .png or .pdf. Received: path='.*g\.jpg'"):
        draw(small_graph()[2], tmp_path / "g.jpg")


def test_draw_without_path_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    drawing = draw(small_graph()[2], rankdir="TB")
    assert drawing.path is None and "rankdir=TB;" in drawing.source and os.listdir(tmp_path) == []
    assert "Drawing(path=None" in repr(drawing)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_draw_with_real_graphviz(tmp_path):
    w, _, y = small_graph()
    y.backward()
    svg = draw(y, tmp_path / "g.svg")
    text = (tmp_path / "g.svg").read_text()
    assert "<svg" in text and "0.007" in text and svg._repr_svg_() == text
    draw(y, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in draw(y)._repr_mimebundle_()["image/svg+xml"]
    assert math.isclose(w.grad, 3 * (1 / (1 + math.exp(-6))) * (1 - 1 / (1 + math.exp(-6))))
