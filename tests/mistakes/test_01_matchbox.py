"""01-matchbox: wrong answers a beginner writes fail the visible tests with a sentence (hand-computed
values without giving the right ones away); right answers written differently pass."""

import matplotlib.pyplot as plt
import pytest

from tests.support.mistakes import accepted, caught, check

NB = "01-matchbox"
RIGHT_VALUES = {"outputs_a": [0, 0, 0, 1], "outputs_b": [1, 0, 1, 1], "outputs_c": [1, 0, 0, 1, 1]}


@pytest.fixture(autouse=True)
def close_figures():
    """The answer cells of exercises 5-7 draw their neuron: close what they open."""
    yield
    plt.close("all")


def assert_keeps_the_answer(outcome, right):
    """A message about a hand-computed value must not print the right value."""
    assert str(right) not in outcome.message, f"the message gives the answer away: {outcome}"


# ---- Exercises 1-3: outputs of neurons A, B and C, by hand -----------------------------------

OUTPUTS_WRONG = [
    # (grade id, answer, words the message must hold)
    ("test_outputs_a", "outputs_a = [0, 0, 0, 0]", "(1, 1)"),            # 2 - 1.5 is above 0
    ("test_outputs_a", "outputs_a = [0, 1, 1, 1]", "(0, 1)"),            # OR, not A
    ("test_outputs_a", "outputs_a = [1, 1, 1, 0]", "(0, 0)"),            # the sides swapped
    ("test_outputs_a", "outputs_a = [0, 0, 1]", "four outputs"),         # a row left out
    ("test_outputs_a", "outputs_a = [-1.5, -0.5, -0.5, 0.5]", "0 or 1"),  # sums, not outputs
    ("test_outputs_a", "outputs_a = '0001'", "four outputs"),
    ("test_outputs_b", "outputs_b = [0, 0, 1, 1]", "(0, 0)"),            # the negative threshold ignored
    ("test_outputs_b", "outputs_b = [1, 1, 1, 1]", "(0, 1)"),            # the negative weight ignored
    ("test_outputs_b", "outputs_b = [1, 0, 1, 0]", "(1, 1)"),
    ("test_outputs_b", "outputs_b = [True, False]", "four outputs"),
    ("test_outputs_c", "outputs_c = [1, 1, 0, 1, 1]", "(1, 1, 0)"),      # 2 - 1 - 1.5 is below 0
    ("test_outputs_c", "outputs_c = [1, 0, 1, 1, 1]", "(0, 1, 1)"),
    ("test_outputs_c", "outputs_c = [1, 0, 0, 1]", "five outputs"),
    ("test_outputs_c", "outputs_c = [1, 0, 0, 1, 2]", "0 or 1"),
]


@pytest.mark.parametrize("test_id, answer, words", OUTPUTS_WRONG,
                         ids=[f"{t[0][5:]}:{t[1].split('=')[1].strip()}" for t in OUTPUTS_WRONG])
def test_wrong_hand_outputs_are_caught_without_the_answer(test_id, answer, words):
    outcome = caught(check(NB, test_id, answer), says=words)
    assert_keeps_the_answer(outcome, RIGHT_VALUES[test_id[5:]])


@pytest.mark.parametrize("answer", [
    "outputs_a = (0, 0, 0, 1)",
    "outputs_a = np.array([0, 0, 0, 1])",
    "outputs_a = [0.0, 0.0, 0.0, 1.0]",
    "outputs_b = [True, False, True, True]",
    "outputs_c = np.array([1, 0, 0, 1, 1], dtype=np.uint8)",
], ids=["tuple", "array", "floats", "bools", "uint8-array"])
def test_right_hand_outputs_written_differently_are_accepted(answer):
    accepted(check(NB, f"test_{answer.split()[0]}", answer))


# ---- Exercise 4: four learning steps by hand -------------------------------------------------

def steps(*weights):
    return "\n".join(f"weight_after_step_{i} = {w!r}" for i, w in enumerate(weights, start=1))


STEPS_WRONG = {
    "forgot-times-x": (steps(1.25, 1.625, 2.2875, 2.94125), "step 2"),         # w += eta * e
    "forgot-eta": (steps(6.0, -12.0, 182.0, -2702.0), "step 1"),              # w += e * x
    "error-sign-flipped": (steps(0.75, 0.05, -0.91, -6.2), "step 1"),          # e = y - t
    "not-chained-from-1": (steps(1.25, 1.8, 3.1, 4.2), "step 2"),              # each step from w = 1
    "rounded-in-between": (steps(1.25, 2.0, 3.5, 4.6), "step 4"),
    "errors-not-weights": (steps(5.0, 7.5, 10.0, 6.0), "step 1"),
    "one-step-wrong": (steps(1.25, 2.0, 3.2, 4.7), "step 3"),
    "strings": (steps("1.25", "2.0", "3.5", "4.7"), "plain number"),
}


@pytest.mark.parametrize("mistake", STEPS_WRONG)
def test_wrong_learning_steps_are_caught_without_the_answer(mistake):
    answer, words = STEPS_WRONG[mistake]
    outcome = caught(check(NB, "test_matchbox_steps", answer), says=words)
    for right in ("1.25", "3.5", "4.7"):
        assert right not in outcome.message or mistake == "strings", f"the message gives {right} away: {outcome}"


@pytest.mark.parametrize("answer", [
    steps(1.25, 2.0, 3.5, 4.7),
    "weight_after_step_1 = 1 + 0.05 * (6 - 1 * 1) * 1\n"
    "weight_after_step_2 = weight_after_step_1 + 0.05 * (10 - weight_after_step_1 * 2) * 2\n"
    "weight_after_step_3 = weight_after_step_2 + 0.05 * (16 - weight_after_step_2 * 3) * 3\n"
    "weight_after_step_4 = weight_after_step_3 + 0.05 * (20 - weight_after_step_3 * 4) * 4",
    steps(1.25, 2, 3.5, 4.70),
    "weight_after_step_1, weight_after_step_2, weight_after_step_3, weight_after_step_4 = "
    "np.float64(1.25), np.float32(2.0), 3.5, np.float32(4.7)",
], ids=["typed", "calculator", "int-2", "numpy-floats"])
def test_right_learning_steps_written_differently_are_accepted(answer):
    accepted(check(NB, "test_matchbox_steps", answer))


# ---- Exercises 5-7: AND, OR and NAND neurons, checked by truth table --------------------------

GATES_WRONG = [
    ("test_and_weights", "and_weights = (1, 1, 2)", "exactly 0"),          # H(0) = 0: (1, 1) stays silent
    ("test_and_weights", "and_weights = (1, 1, 0.5)", "AND is"),           # that is OR
    ("test_and_weights", "and_weights = (1.5, 1, 1)", "AND is"),           # h written first
    ("test_and_weights", "and_weights = (-1.5, 1, 1)", "AND is"),          # 02's (w0, w1, w2) with w0 = -h
    ("test_and_weights", "and_weights = (1, 1)", "three numbers"),
    ("test_and_weights", "and_weights = (True, True, 1.5)", "plain, finite"),
    ("test_and_weights", "and_weights = (float('inf'), float('inf'), 1e308)", "plain, finite"),
    ("test_or_weights", "or_weights = (1, 1, 1)", "exactly 0"),
    ("test_or_weights", "or_weights = (1, 1, 1.5)", "OR is"),              # AND again
    ("test_or_weights", "or_weights = (1, 1, -0.5)", "OR is"),             # (0, 0) fires too
    ("test_or_weights", "or_weights = ('1', '1', '0.5')", "plain, finite"),
    ("test_nand_weights", "nand_weights = (-1, -1, 1.5)", "NAND is"),      # weights flipped, h not
    ("test_nand_weights", "nand_weights = (-1, -1, -1)", "exactly 0"),
    ("test_nand_weights", "nand_weights = (-1, -1, -0.5)", "NAND is"),     # NOR
    ("test_nand_weights", "nand_weights = (1, 1, 1.5)", "NAND is"),        # AND copied
]


@pytest.mark.parametrize("test_id, answer, words", GATES_WRONG,
                         ids=[t[1].replace(" ", "") for t in GATES_WRONG])
def test_wrong_gate_weights_are_caught(test_id, answer, words):
    caught(check(NB, test_id, answer), says=words)


@pytest.mark.parametrize("test_id, answer", [
    ("test_and_weights", "and_weights = (10, 10, 15)"),                     # scaled
    ("test_and_weights", "and_weights = [0.3, 0.7, 0.9]"),                  # a list, uneven weights
    ("test_and_weights", "and_weights = np.array([2, 2, 3])"),              # ints in an array
    ("test_or_weights", "or_weights = (2, 3, 1)"),
    ("test_or_weights", "or_weights = (np.float32(0.5), np.float32(0.5), np.float32(0.25))"),
    ("test_nand_weights", "nand_weights = (-2, -2, -3)"),
    ("test_nand_weights", "nand_weights = (-0.5, -0.5, -0.75)"),
], ids=["and-scaled", "and-list", "and-int-array", "or-uneven", "or-float32", "nand-ints", "nand-halves"])
def test_right_gate_weights_written_differently_are_accepted(test_id, answer):
    accepted(check(NB, test_id, answer))


# ---- Exercise 8: is_linearly_separable --------------------------------------------------------

SEPARABLE_WRONG = {
    "always-true": ("""
def is_linearly_separable(points, targets):
    return True
""", "XOR"),
    "always-false": ("""
def is_linearly_separable(points, targets):
    return False
""", "AND"),
    "returns-int": ("""
def is_linearly_separable(points, targets):
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.array_equal(neuron_output(np.asarray(points), (w1, w2), h), np.asarray(targets)):
            return 1
    return 0
""", "True or False"),
    "any-output-matches": ("""
def is_linearly_separable(points, targets):
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.any(neuron_output(np.asarray(points), (w1, w2), h) == np.asarray(targets)):
            return True
    return False
""", "XOR"),
    "gives-up-after-first-neuron": ("""
def is_linearly_separable(points, targets):
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.array_equal(neuron_output(np.asarray(points), (w1, w2), h), np.asarray(targets)):
            return True
        else:
            return False
""", "AND"),
    "hard-coded-xor-table": ("""
def is_linearly_separable(points, targets):
    return not np.array_equal(targets, [0, 1, 1, 0]) and not np.array_equal(targets, [1, 0, 0, 1])
""", "XNOR in another order"),
    "ignores-points-uses-corners": ("""
def is_linearly_separable(points, targets):
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.array_equal(neuron_output(CORNERS, (w1, w2), h), np.asarray(targets)):
            return True
    return False
""", "in their order"),
    "sorts-targets": ("""
def is_linearly_separable(points, targets):
    targets = np.sort(targets)
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.array_equal(neuron_output(np.asarray(points), (w1, w2), h), targets):
            return True
    return False
""", "XOR"),
    "mutates-targets-to-plus-minus-one": ("""
def is_linearly_separable(points, targets):
    targets = np.asarray(targets)
    targets[targets == 0] = -1
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        signs = np.where(np.asarray(points) @ np.array([w1, w2]) - h > 0, 1, -1)
        if np.array_equal(signs, targets):
            return True
    return False
""", "unchanged"),
    "assumes-four-points": ("""
def is_linearly_separable(points, targets):
    points = np.asarray(points).reshape(4, 2)
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.array_equal(neuron_output(points, (w1, w2), h), np.asarray(targets)):
            return True
    return False
""", ""),
    "last-target-per-corner-wins": ("""
def is_linearly_separable(points, targets):
    table = {tuple(p): t for p, t in zip(np.asarray(points).tolist(), np.asarray(targets).tolist())}
    kept = np.array(list(table)), np.array(list(table.values()))
    grid = np.linspace(-2, 2, 9)
    for w1, w2, h in itertools.product(grid, grid, grid):
        if np.array_equal(neuron_output(kept[0], (w1, w2), h), kept[1]):
            return True
    return False
""", "twice"),
}


@pytest.mark.parametrize("mistake", SEPARABLE_WRONG)
def test_is_linearly_separable_mistake_is_caught(mistake):
    answer, words = SEPARABLE_WRONG[mistake]
    outcome = caught(check(NB, "test_is_linearly_separable", answer))
    assert words in outcome.message, outcome


SEPARABLE_RIGHT = {
    "all-neurons-at-once": """
def is_linearly_separable(points, targets):
    points = np.asarray(points, dtype=float)
    targets = np.asarray(targets)
    grid = np.linspace(-2, 2, 9)
    w1, w2, h = (a.ravel() for a in np.meshgrid(grid, grid, grid, indexing="ij"))   # (729,) each
    outputs = (points @ np.stack([w1, w2]) - h > 0).astype(int)                      # (N, 729)
    return np.any(np.all(outputs == targets[:, None], axis=0))
""",
    "nested-loops-by-hand": """
def is_linearly_separable(points, targets):
    grid = [-2 + 0.5 * i for i in range(9)]
    pairs = list(zip(np.asarray(points).tolist(), np.asarray(targets).tolist()))
    for w1 in grid:
        for w2 in grid:
            for h in grid:
                if all(int(w1 * x1 + w2 * x2 - h > 0) == t for (x1, x2), t in pairs):
                    return True
    return False
""",
    "fires-at-zero-variant": """
def is_linearly_separable(points, targets):
    points, targets = np.asarray(points), np.asarray(targets)
    grid = np.linspace(-2, 2, 9)
    found = False
    for w1, w2, h in itertools.product(grid, grid, grid):
        if ((points @ np.array([w1, w2]) - h >= 0).astype(int) == targets).all():
            found = True
            break
    return found
""",
}


@pytest.mark.parametrize("variant", SEPARABLE_RIGHT)
def test_is_linearly_separable_right_variant_is_accepted(variant):
    accepted(check(NB, "test_is_linearly_separable", SEPARABLE_RIGHT[variant]))
