"""The neuron helpers of notebook 01-matchbox: the decision line, its description and the drawings."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from matchbox.brain import (  # noqa: E402
    CORNERS,
    DEFAULT_BOX,
    decision_line,
    describe_line,
    draw_formal_neuron,
    draw_neuron,
    neuron_explorer,
    neuron_output,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def on_line(point, w1, w2, h):
    return np.isclose(w1 * point[0] + w2 * point[1], h)


# ---- neuron_output -----------------------------------------------------------------------------

def test_outputs_follow_the_formula():
    """Does neuron_output give H(w·x - h) for every row, as ints?"""
    outputs = neuron_output(CORNERS, (1.0, 1.0), 1.5)
    assert outputs.dtype.kind == "i"
    assert outputs.tolist() == [0, 0, 0, 1]
    assert neuron_output(CORNERS, (2, -1), -0.5).tolist() == [1, 0, 1, 1]
    assert neuron_output([[1, 1, 0], [1, 0, 1]], (2, -1, 1), 1.5).tolist() == [0, 1]


def test_the_step_is_zero_at_zero():
    """Does the neuron stay quiet when the weighted sum equals the threshold exactly?"""
    assert neuron_output([1, 1], (0.5, 0.5), 1.0) == 0
    assert neuron_output([1, 1], (0.5, 0.5), 0.999) == 1


def test_one_input_vector_gives_a_plain_int():
    """Is the output for a single input vector an int rather than an array?"""
    output = neuron_output([1, 0], (1, 1), 0.5)
    assert type(output) is int and output == 1


# ---- decision_line -------------------------------------------------------------------------------

def test_diagonal_line_through_the_corners_of_the_box():
    """Does w1 = w2 = 1, h = 1 give the anti-diagonal x2 = 1 - x1, clipped to the box?"""
    ends = decision_line(1, 1, 1)
    np.testing.assert_allclose(ends, [[-0.5, 1.5], [1.5, -0.5]])


def test_and_line_crosses_the_box_edges():
    """Does the AND neuron (1, 1, 1.5) give the segment of x2 = 1.5 - x1 inside the box?"""
    ends = decision_line(1, 1, 1.5)
    assert ends.shape == (2, 2) and ends.dtype.kind == "f"
    np.testing.assert_allclose(ends, [[0.0, 1.5], [1.5, 0.0]])
    assert all(on_line(point, 1, 1, 1.5) for point in ends)


def test_sloped_line_endpoints_lie_on_the_line_and_on_the_box():
    """For random weights, do both endpoints lie on the line and on the border of the box?"""
    rng = np.random.default_rng(0)
    x1_min, x1_max, x2_min, x2_max = DEFAULT_BOX
    for _ in range(200):
        w1, w2 = rng.uniform(-2, 2, size=2)
        h = rng.uniform(-1, 1)
        ends = decision_line(w1, w2, h)
        if ends is None:
            continue
        assert ends[0, 0] <= ends[1, 0], "the endpoint with the smaller x1 comes first"
        for x1, x2 in ends:
            assert on_line((x1, x2), w1, w2, h)
            assert x1_min - 1e-9 <= x1 <= x1_max + 1e-9 and x2_min - 1e-9 <= x2 <= x2_max + 1e-9
            on_border = np.isclose([x1, x1, x2, x2], [x1_min, x1_max, x2_min, x2_max])
            assert on_border.any()


def test_w2_zero_gives_a_vertical_line():
    """With w2 = 0, is the line vertical at x1 = h / w1, from the bottom of the box to the top?"""
    ends = decision_line(2, 0, 1)
    np.testing.assert_allclose(ends, [[0.5, -0.5], [0.5, 1.5]])
    ends = decision_line(-4, 0, -1)
    np.testing.assert_allclose(ends, [[0.25, -0.5], [0.25, 1.5]])


def test_w1_zero_gives_a_horizontal_line():
    """With w1 = 0, is the line horizontal at x2 = h / w2?"""
    np.testing.assert_allclose(decision_line(0, 1, 0.5), [[-0.5, 0.5], [1.5, 0.5]])


def test_both_weights_zero_gives_no_line():
    """With w1 = w2 = 0 there is no line: does decision_line say so with None, whatever h is?"""
    for h in (-1.0, 0.0, 0.7):
        assert decision_line(0, 0, h) is None


def test_line_outside_the_box_gives_none():
    """Is a line that misses the box (or only touches a corner) reported as None?"""
    assert decision_line(1, 0, 5) is None
    assert decision_line(0, 1, -3) is None
    assert decision_line(1, 1, 3) is None, "x1 + x2 = 3 only touches the corner (1.5, 1.5)"


def test_custom_box():
    """Does decision_line clip to the box it is given?"""
    np.testing.assert_allclose(decision_line(1, -1, 0, box=(0, 4, 0, 2)), [[0, 0], [2, 2]])


def test_inputs_are_checked():
    """Are infinite or nan weights refused with a clear error?"""
    with pytest.raises(ValueError, match="w1"):
        decision_line(float("inf"), 1, 0)
    with pytest.raises(ValueError, match="h"):
        describe_line(1, 1, float("nan"))


# ---- describe_line -------------------------------------------------------------------------------

@pytest.mark.parametrize("w1, w2, h, words", [
    (1, 1, 1.5, "x2 = -1.00·x1 + 1.50"),
    (1, -2, 1, "x2 = 0.50·x1 - 0.50"),
    (2, 0, 1, "vertical line x1 = 0.50"),
    (0, 4, 2, "horizontal line x2 = 0.50"),
    (0, 0, 0.5, "no line: the output is always 0"),
    (0, 0, -0.5, "no line: the output is always 1"),
    (0, 0, 0, "no line: the output is always 0"),
])
def test_describe_line(w1, w2, h, words):
    """Does describe_line put the line into the words a learner would write?"""
    assert describe_line(w1, w2, h) == words


# ---- drawing -----------------------------------------------------------------------------------

def test_draw_neuron_draws_line_points_and_region(ax):
    """Does draw_neuron draw the decision line, colour the points by output and shade the region?"""
    drawing = draw_neuron(ax, 1, 1, 1.5, CORNERS, [0, 0, 0, 1])
    np.testing.assert_allclose(drawing.line.get_xydata(), decision_line(1, 1, 1.5))
    assert drawing.outputs.tolist() == [0, 0, 0, 1]
    assert len(drawing.points.get_offsets()) == 4
    colours = drawing.points.get_facecolors()  # (4, 4) RGBA
    assert np.allclose(colours[0], colours[1]) and np.allclose(colours[1], colours[2])
    assert not np.allclose(colours[2], colours[3]), "output 1 and output 0 look different"
    assert drawing.region.get_array().shape == (201, 201)
    assert "4 of 4" in ax.get_title()
    assert [text.get_text() for text in ax.texts if text.get_text()] == ["t=0", "t=0", "t=0", "t=1"]
    ax.figure.canvas.draw()


def test_draw_neuron_marks_mistakes(ax):
    """Does a point whose output misses its target get a thicker, red ring?"""
    drawing = draw_neuron(ax, 1, 1, 0.5, CORNERS, [0, 1, 1, 0])  # OR weights on XOR targets
    widths = drawing.points.get_linewidths()
    assert widths[3] > widths[0]
    assert "3 of 4" in ax.get_title()


def test_draw_neuron_vertical_and_no_line(ax):
    """Does draw_neuron cope with a vertical line and with no line at all (w1 = w2 = 0)?"""
    drawing = draw_neuron(ax, 2, 0, 1, CORNERS)
    np.testing.assert_allclose(drawing.line.get_xdata(), [0.5, 0.5])
    ax.clear()
    drawing = draw_neuron(ax, 0, 0, -1, CORNERS, [1, 1, 1, 1])
    assert drawing.line is None
    assert drawing.outputs.tolist() == [1, 1, 1, 1]
    assert drawing.region.get_array().min() == 1, "the neuron fires everywhere"
    ax.figure.canvas.draw()


def test_draw_neuron_checks_targets(ax):
    """Is a target list of the wrong length refused?"""
    with pytest.raises(ValueError, match="targets"):
        draw_neuron(ax, 1, 1, 1, CORNERS, [0, 1])


def test_draw_formal_neuron(ax):
    """Does the neuron diagram show one weight label per input and work out the sum when given inputs?"""
    draw_formal_neuron(ax, [2, -1, 1], 1.5, inputs=[1, 1, 0])
    texts = [text.get_text() for text in ax.texts]
    assert {"w1=2", "w2=-1", "w3=1"} <= set(texts)
    assert "-0.50" in texts and "y=0" in texts
    ax.figure.canvas.draw()


def test_explorer_builds_without_a_frontend():
    """Can the slider widget be created headless (no browser, no kernel), as nbclient does?"""
    explorer = neuron_explorer(CORNERS, {"AND": [0, 0, 0, 1], "XOR": [0, 1, 1, 0]})
    plt.close("all")
    if explorer is None:  # no ipywidgets: a still picture was drawn instead
        return
    names = [getattr(child, "description", None) for child in explorer.children]
    assert names[:4] == ["w1", "w2", "h", "target"]
    explorer.children[0].value = -1.0  # moving a slider redraws without error
    plt.close("all")


def test_explorer_without_ipywidgets(monkeypatch):
    """Without ipywidgets, does neuron_explorer draw one picture and return None instead of failing?"""
    import builtins

    real_import = builtins.__import__

    def no_ipywidgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("no ipywidgets here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipywidgets)
    plt.close("all")
    assert neuron_explorer(CORNERS, [0, 0, 0, 1]) is None
    assert len(plt.get_fignums()) == 1, "one still picture (Agg's show() leaves it open)"
    plt.close("all")


def test_describe_line_speaks_the_workshop_language(monkeypatch):
    """MATCHBOX_LANG=ja (set by the image from the participant's choice) gives the words in Japanese."""
    from matchbox.brain import describe_line

    monkeypatch.setenv("MATCHBOX_LANG", "ja")
    assert describe_line(1, 0, 0.5) == "垂直な直線 x1 = 0.50"
    assert describe_line(0, 0, -1) == "直線なし: 出力は常に 1"
    monkeypatch.setenv("MATCHBOX_LANG", "en")
    assert describe_line(1, 0, 0.5) == "vertical line x1 = 0.50"
