"""One formal neuron, drawn: the helpers of notebook 01-matchbox.

A formal neuron with inputs x, weights w and threshold h outputs

    y = H(w1*x1 + w2*x2 + ... - h),   H(a) = 1 if a > 0 else 0.

With two inputs, the points where w1*x1 + w2*x2 = h form a line in the (x1, x2) plane:
the neuron outputs 1 on one side of it (the side the weight vector (w1, w2) points to) and
0 on the other. The functions here compute that line and draw it; they are plain functions
(no widgets), so the tests call them directly. ``neuron_explorer`` wraps ``draw_neuron`` in
ipywidgets sliders for the notebook and falls back to a still picture without ipywidgets.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from matchbox import say

__all__ = ["CORNERS", "DEFAULT_BOX", "NeuronDrawing", "decision_line", "describe_line",
           "draw_formal_neuron", "draw_neuron", "neuron_explorer", "neuron_output"]

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # (4, 2): the inputs of a truth table
DEFAULT_BOX = (-0.5, 1.5, -0.5, 1.5)  # (x1 min, x1 max, x2 min, x2 max): a margin around them

FIRES_COLOUR = "#f28e2b"  # output 1
QUIET_COLOUR = "#4e79a7"  # output 0
WRONG_COLOUR = "#d62728"  # output differs from the target


def neuron_output(inputs, weights, h):
    """Outputs H(inputs @ weights - h) of a formal neuron, as ints 0 or 1.

    inputs: one input vector (D,) or a batch (N, D); weights: (D,); h: the threshold.
    Returns an int for one vector, an int array (N,) for a batch. H(0) is 0: the neuron
    fires only when the weighted sum is strictly above the threshold.
    """
    inputs = np.asarray(inputs, dtype=float)
    weights = np.asarray(weights, dtype=float)
    fires = inputs @ weights - h > 0  # () or (N,)
    if fires.ndim == 0:
        return int(fires)
    return fires.astype(int)


def _check_finite(**values):
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(say(f"{name} must be a finite number, got {value!r}",
                                 f"{name} には有限の数を渡してください（受け取った値: {value!r}）"))


def decision_line(w1, w2, h, box=DEFAULT_BOX):
    """The part of the line w1*x1 + w2*x2 = h that lies inside box, as its two endpoints.

    box is (x1 min, x1 max, x2 min, x2 max). Returns a float array [[x1, x2], [x1, x2]] of
    shape (2, 2), the endpoint with the smaller x1 first (the lower one first when the line
    is vertical), or None when there is no line to draw: w1 = w2 = 0 (the neuron ignores its
    inputs and answers the same everywhere) or the line misses the box.

    w2 = 0 gives a vertical line x1 = h / w1, w1 = 0 a horizontal line x2 = h / w2.
    """
    w1, w2, h = float(w1), float(w2), float(h)
    _check_finite(w1=w1, w2=w2, h=h)
    x1_min, x1_max, x2_min, x2_max = (float(v) for v in box)
    if w1 == 0 and w2 == 0:
        return None
    tolerance = 1e-12 * max(1.0, abs(x1_min), abs(x1_max), abs(x2_min), abs(x2_max))
    crossings = []  # where the line crosses the four edges of the box
    if w2 != 0:  # not vertical: it crosses the left and right edges somewhere
        for x1 in (x1_min, x1_max):
            x2 = (h - w1 * x1) / w2
            if x2_min - tolerance <= x2 <= x2_max + tolerance:
                crossings.append((x1, min(max(x2, x2_min), x2_max)))
    if w1 != 0:  # not horizontal: it crosses the bottom and top edges somewhere
        for x2 in (x2_min, x2_max):
            x1 = (h - w2 * x2) / w1
            if x1_min - tolerance <= x1 <= x1_max + tolerance:
                crossings.append((min(max(x1, x1_min), x1_max), x2))
    crossings.sort()
    if len(crossings) < 2:
        return None
    start, end = crossings[0], crossings[-1]
    if math.dist(start, end) <= tolerance:  # it only touches a corner
        return None
    return np.array([start, end], dtype=float)


def _number(value):
    """A weight printed with two decimals, without a minus sign on zero."""
    return f"{value + 0.0:.2f}"


def describe_line(w1, w2, h):
    """Say in words where the neuron's line w1*x1 + w2*x2 = h is, e.g. 'x2 = -1.00·x1 + 1.50'."""
    w1, w2, h = float(w1), float(w2), float(h)
    _check_finite(w1=w1, w2=w2, h=h)
    if w1 == 0 and w2 == 0:
        always = 1 if -h > 0 else 0
        return say(f"no line: the output is always {always}", f"直線なし: 出力は常に {always}")
    if w2 == 0:
        return say(f"vertical line x1 = {_number(h / w1)}", f"垂直な直線 x1 = {_number(h / w1)}")
    if w1 == 0:
        return say(f"horizontal line x2 = {_number(h / w2)}", f"水平な直線 x2 = {_number(h / w2)}")
    slope, intercept = -w1 / w2, h / w2
    sign = "-" if intercept < 0 else "+"
    return f"x2 = {_number(slope)}·x1 {sign} {_number(abs(intercept))}"


class NeuronDrawing(NamedTuple):
    """What draw_neuron put on the axes."""
    line: object      # the Line2D of the decision line, or None when there is none in view
    points: object    # the PathCollection of the input points
    region: object    # the AxesImage shading where the neuron outputs 1
    outputs: np.ndarray  # (N,) the neuron's output for each point


def _box_around(points, margin=0.5):
    if len(points) == 0:
        return DEFAULT_BOX
    low, high = points.min(axis=0) - margin, points.max(axis=0) + margin  # (2,), (2,)
    return (low[0], high[0], low[1], high[1])


def draw_neuron(ax, w1, w2, h, points=CORNERS, targets=None, box=None, title=True):
    """Draw a two-input neuron on ax: its line, the side where it fires, and the points.

    points: (N, 2) inputs; each point is filled orange where the neuron outputs 1 and blue
    where it outputs 0. targets: optional (N,) wanted outputs, written next to each point;
    a point whose output differs from its target gets a thick red ring. The region where
    the neuron outputs 1 is shaded light orange. box: (x1 min, x1 max, x2 min, x2 max),
    by default the points plus a margin of 0.5. title: True for a title saying where the
    line is (and how many targets are met), a string for your own, False for none.
    Returns a NeuronDrawing with the artists and the outputs.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)  # (N, 2)
    box = tuple(float(v) for v in (box if box is not None else _box_around(points)))
    x1_min, x1_max, x2_min, x2_max = box
    outputs = neuron_output(points, (w1, w2), h)  # (N,)

    # The firing region: the neuron's output on a fine grid over the box, shaded.
    grid_x1, grid_x2 = np.meshgrid(np.linspace(x1_min, x1_max, 201),
                                   np.linspace(x2_min, x2_max, 201))  # (201, 201) each
    grid_outputs = neuron_output(np.stack([grid_x1.ravel(), grid_x2.ravel()], axis=1),
                                 (w1, w2), h).reshape(grid_x1.shape)  # (201, 201)
    from matplotlib.colors import ListedColormap

    region = ax.imshow(grid_outputs, origin="lower", extent=box, aspect="auto",
                       cmap=ListedColormap(["white", FIRES_COLOUR]), vmin=0, vmax=1,
                       alpha=0.18, interpolation="nearest", zorder=0)

    # The line itself, and an arrow for the weight vector pointing to the firing side.
    line = None
    ends = decision_line(w1, w2, h, box)
    if ends is not None:
        (line,) = ax.plot(ends[:, 0], ends[:, 1], color="black", linewidth=2, zorder=2)
        direction = np.array([w1, w2], dtype=float)
        direction *= 0.2 * min(x1_max - x1_min, x2_max - x2_min) / np.linalg.norm(direction)
        # Put the arrow where it stays clearest of the points: try feet along the line.
        feet = ends[0] + np.linspace(0.15, 0.85, 15)[:, None] * (ends[1] - ends[0])  # (15, 2)
        arrow_points = np.stack([feet + direction * k for k in (0.5, 1.0)], axis=1)  # (15, 2, 2)
        gaps = np.linalg.norm(arrow_points[:, :, None, :] - points[None, None], axis=-1)  # (15, 2, N)
        foot = feet[np.argmax(gaps.min(axis=(1, 2)))] if len(points) else feet[7]  # (2,)
        ax.annotate("", xy=foot + direction, xytext=foot, zorder=2,
                    arrowprops=dict(arrowstyle="->", color="black", linewidth=1.2))

    # The points, coloured by output; rings and labels when there are targets.
    colours = np.where(outputs == 1, FIRES_COLOUR, QUIET_COLOUR)
    edges, widths, wrong = ["black"] * len(points), [1.0] * len(points), 0
    if targets is not None:
        targets = np.asarray(targets).reshape(-1)  # (N,)
        if targets.shape != outputs.shape:
            raise ValueError(say(f"{len(points)} points but {targets.size} targets",
                                 f"点が {len(points)} 個なのに目標（target）が {targets.size} 個です"))
        mistakes = outputs != targets  # (N,)
        wrong = int(mistakes.sum())
        edges = [WRONG_COLOUR if mistake else "black" for mistake in mistakes]
        widths = [3.0 if mistake else 1.0 for mistake in mistakes]
        for (x1, x2), target in zip(points, targets):
            ax.annotate(f"t={target}", (x1, x2), xytext=(9, 9), textcoords="offset points",
                        fontsize=9, zorder=4)
    scatter = ax.scatter(points[:, 0], points[:, 1], s=160, c=colours, edgecolors=edges,
                         linewidths=widths, zorder=3)

    ax.set_xlim(x1_min, x1_max)
    ax.set_ylim(x2_min, x2_max)
    ax.set_xticks(np.arange(math.ceil(x1_min), math.floor(x1_max) + 1))
    ax.set_yticks(np.arange(math.ceil(x2_min), math.floor(x2_max) + 1))
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title is True:
        title = f"w1={w1 + 0.0:.2f}, w2={w2 + 0.0:.2f}, h={h + 0.0:.2f}\n{describe_line(w1, w2, h)}"
        if targets is not None:
            title += say(f"\n{len(points) - wrong} of {len(points)} outputs right",
                         f"\n{len(points)} 個中 {len(points) - wrong} 個の出力が正解")
    if title:
        ax.set_title(title, fontsize=10)
    return NeuronDrawing(line, scatter, region, outputs)


def neuron_explorer(points=CORNERS, targets=None, w1=0.5, w2=0.5, h=0.2, limit=2.0, step=0.1):
    """Sliders for w1, w2 and h that redraw draw_neuron's picture as they move.

    targets: None, one (N,) array of wanted outputs, or a dict {name: targets} to pick from
    a drop-down (e.g. {"AND": [0, 0, 0, 1], ...}). Returns the ipywidgets widget (display it,
    or make it the last line of a cell). Without ipywidgets it draws one still picture for
    the starting values and returns None, so a notebook that calls it always runs.
    """
    import matplotlib.pyplot as plt

    points = np.asarray(points, dtype=float).reshape(-1, 2)  # (N, 2)
    choices = targets if isinstance(targets, dict) else {"(none)" if targets is None else "targets": targets}
    first = next(iter(choices))

    def redraw(w1, w2, h, target=first):
        fig, ax = plt.subplots(figsize=(4.6, 4.8))
        draw_neuron(ax, w1, w2, h, points, choices[target])
        plt.show()

    try:
        import ipywidgets as widgets
    except ImportError:
        redraw(w1, w2, h)
        return None

    def slider(name, value):
        return widgets.FloatSlider(value=value, min=-limit, max=limit, step=step, description=name,
                                   readout_format=".1f", continuous_update=True)

    controls = dict(w1=slider("w1", w1), w2=slider("w2", w2), h=slider("h", h))
    if len(choices) > 1:
        controls["target"] = widgets.Dropdown(options=list(choices), description="target")
    else:
        controls["target"] = widgets.fixed(next(iter(choices)))
    return widgets.interactive(redraw, **controls)


def draw_formal_neuron(ax, weights, h, inputs=None):
    """Draw the diagram of a formal neuron: inputs, weighted arrows, the sum, H, the output.

    weights: the weights (one arrow each); h: the threshold; inputs: optional input values
    written in the input circles (and then the weighted sum and the output are worked out
    on the picture too).
    """
    from matplotlib.patches import Circle, FancyBboxPatch

    weights = [float(w) for w in weights]
    count = len(weights)
    heights = np.linspace(0.85, 0.15, count) if count > 1 else np.array([0.5])  # (D,)
    body = Circle((0.58, 0.5), 0.13, facecolor="#fdebd3", edgecolor="black", zorder=2)
    ax.add_patch(body)
    for i, (weight, y) in enumerate(zip(weights, heights)):
        ax.add_patch(Circle((0.12, y), 0.055, facecolor="white", edgecolor="black", zorder=2))
        ax.text(0.12, y, f"x{i + 1}", ha="center", va="center", fontsize=9, zorder=3)
        if inputs is not None:
            ax.text(0.03, y, f"{inputs[i]:g}", ha="center", va="center", fontsize=11,
                    fontweight="bold")
        tip = np.array([0.46, 0.5 + (y - 0.5) * 0.3])  # where the arrow meets the body
        tail = np.array([0.175, y])
        ax.annotate("", xy=tip, xytext=tail,
                    arrowprops=dict(arrowstyle="->", linewidth=1 + min(abs(weight), 3),
                                    color=FIRES_COLOUR if weight > 0 else QUIET_COLOUR))
        label_at = tail + 0.45 * (tip - tail)
        ax.text(label_at[0], label_at[1], f"w{i + 1}={weight:g}", ha="center", va="center",
                fontsize=9, zorder=3, bbox=dict(boxstyle="round,pad=0.15", facecolor="white",
                                                edgecolor="none"))
    total = "Σ wᵢxᵢ − h"
    if inputs is not None:
        net = float(np.dot(weights, np.asarray(inputs, dtype=float)) - h)
        total = f"{net:+.2f}"
    ax.text(0.58, 0.53, total, ha="center", va="center", fontsize=10, zorder=3)
    ax.text(0.58, 0.43, f"h={h:g}", ha="center", va="center", fontsize=8, zorder=3)
    ax.add_patch(FancyBboxPatch((0.76, 0.43), 0.08, 0.14, boxstyle="round,pad=0.01",
                                facecolor="white", edgecolor="black", zorder=2))
    ax.text(0.80, 0.5, "H", ha="center", va="center", fontsize=12, zorder=3)
    ax.annotate("", xy=(0.76, 0.5), xytext=(0.71, 0.5), arrowprops=dict(arrowstyle="->"))
    ax.annotate("", xy=(0.97, 0.5), xytext=(0.84, 0.5), arrowprops=dict(arrowstyle="->"))
    output = "y" if inputs is None else f"y={neuron_output(inputs, weights, h)}"
    ax.text(0.93, 0.56, output, ha="center", fontsize=11)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.axis("off")
