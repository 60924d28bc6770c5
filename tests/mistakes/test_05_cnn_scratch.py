"""05-cnn-scratch: wrong answers a beginner writes fail the visible tests with a sentence that names
the wrong part (and the traceback ends at that check, not in the clean-up that puts the learner's
im2col and col2im back); right answers written differently (loops, sliding windows, einsum,
masks) pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/. The visible tests use
batches of 2, 3 channels, non-square images and filters, stride 2 and padding 1, because the
mistakes of this notebook (a reshape that scrambles the feature maps, a pool that mixes
channels, padding that is never cut off) all pass on one image, one channel and pad 0.
"""

import json

import numpy as np
import pytest

from benchmarks import reference
from tests.support.mistakes import accepted, case_ids, caught, check, right_answers

NB = "05-cnn-scratch"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# the notebook's plain statements the test cells use
SETUP = '''
tiny_image = np.array([[1, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 0], [1, 3, 2, 1]], dtype=float)
tiny_kernel = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float)
'''


def run(test_id, source):
    return check(NB, test_id, source, setup=SETUP)


def wrong(test_id, expected, source):
    """The visible tests fail, say EXPECTED, and end in the test cell (not in its clean-up)."""
    return caught(run(test_id, source), says=expected)


def variant(base, old, new):
    """BASE with OLD replaced by NEW (OLD must occur in it: the mistake is made where it is named)."""
    assert old in base, f"{old!r} is not in the base answer"
    return base.replace(old, new)


# ---- Exercise 1: output_by_hand ----------------------------------------------------------------

BY_HAND_WRONG = [
    ("flipped-filter", "recompute entry (0, 0)", "output_by_hand = [[1, 0], [3, -1]]"),
    ("transposed", "recompute entry (0, 1)", "output_by_hand = [[-1, -3], [0, 1]]"),
    ("one-slip-bottom-left", "recompute entry (1, 0)", "output_by_hand = [[-1, 0], [-2, 1]]"),
    ("slip-bottom-right", "recompute entry (1, 1)", "output_by_hand = [[-1, 0], [-3, -1]]"),
    ("strings", "without quotes", "output_by_hand = [['-1', '0'], ['-3', '1']]"),
    ("flat-list", "shape (4,)", "output_by_hand = [-1, 0, -3, 1]"),
    ("half-numbers", "whole number", "output_by_hand = [[-1.5, 0], [-3, 1]]"),
    ("left-as-none", "shape ()", "output_by_hand = None"),
]

BY_HAND_RIGHT = [
    ("float-array", "output_by_hand = np.array([[-1.0, 0.0], [-3.0, 1.0]])"),
    ("tuples-with-minus-zero", "output_by_hand = ((-1, -0.0), (-3, 1))"),
    ("numpy-ints", "output_by_hand = [[np.int64(-1), np.int64(0)], [np.int64(-3), np.int64(1)]]"),
]


@pytest.mark.parametrize("case", BY_HAND_WRONG, ids=case_ids(BY_HAND_WRONG))
def test_output_by_hand_mistake_is_caught(case):
    outcome = wrong("test_output_by_hand", case[1], case[2])
    assert "-3" not in outcome.message and "[[-1, 0]" not in outcome.message, \
        f"the message gives the answer away: {outcome}"


@pytest.mark.parametrize("case", BY_HAND_RIGHT, ids=case_ids(BY_HAND_RIGHT))
def test_output_by_hand_right_variant_is_accepted(case):
    accepted(run("test_output_by_hand", case[1]))


# ---- Exercise 2: conv_output_size --------------------------------------------------------------

SIZE_RIGHT_BODY = '''
def conv_output_size(input_size, filter_size, stride=1, pad=0):
    padded = input_size + 2 * pad
    if filter_size > padded:
        raise ValueError("the filter does not fit")
    return (padded - filter_size) // stride + 1
'''

SIZE_WRONG = [
    ("float-division", "a float", variant(SIZE_RIGHT_BODY, "// stride + 1", "/ stride + 1")),
    ("padding-missing", "the padding is missing", variant(SIZE_RIGHT_BODY, "return (padded - filter_size)",
                                                          "return (input_size - filter_size)")),
    ("pad-added-once", "+ 2 * pad", variant(SIZE_RIGHT_BODY, "return (padded - filter_size)",
                                            "return (input_size + pad - filter_size)")),
    ("stride-ignored", "the stride is ignored", variant(SIZE_RIGHT_BODY, "// stride + 1", "+ 1")),
    ("plus-one-missing", "the + 1 is missing", variant(SIZE_RIGHT_BODY, "// stride + 1", "// stride")),
    ("plus-one-inside", "after the division", variant(SIZE_RIGHT_BODY, "(padded - filter_size) // stride + 1",
                                                      "(padded - filter_size + 1) // stride")),
    ("rounds-up", "rounds up", variant(SIZE_RIGHT_BODY, "(padded - filter_size) // stride + 1",
                                       "-(-(padded - filter_size) // stride) + 1")),
    ("never-raises", "expected a ValueError", variant(SIZE_RIGHT_BODY, "filter_size > padded", "False")),
    ("raises-ignoring-padding", "raised ValueError", variant(SIZE_RIGHT_BODY, "filter_size > padded",
                                                             "filter_size > input_size")),
]

SIZE_RIGHT = [
    ("formula", SIZE_RIGHT_BODY),
    ("len-of-range", '''
def conv_output_size(input_size, filter_size, stride=1, pad=0):
    if filter_size > input_size + 2 * pad:
        raise ValueError(f"a filter of {filter_size} does not fit")
    return len(range(0, input_size + 2 * pad - filter_size + 1, stride))
'''),
    ("floor-of-float-as-numpy-int", '''
def conv_output_size(input_size, filter_size, stride=1, pad=0):
    if filter_size > input_size + 2 * pad:
        raise ValueError("too long")
    return np.int64(np.floor((input_size + 2 * pad - filter_size) / stride)) + 1
'''),
    ("counting-loop", '''
def conv_output_size(input_size, filter_size, stride=1, pad=0):
    if filter_size > input_size + 2 * pad:
        raise ValueError("too long")
    count, start = 0, 0
    while start + filter_size <= input_size + 2 * pad:
        count, start = count + 1, start + stride
    return count
'''),
]


@pytest.mark.parametrize("case", SIZE_WRONG, ids=case_ids(SIZE_WRONG))
def test_conv_output_size_mistake_is_caught(case):
    wrong("test_conv_output_size", case[1], case[2])


@pytest.mark.parametrize("case", SIZE_RIGHT, ids=case_ids(SIZE_RIGHT))
def test_conv_output_size_right_variant_is_accepted(case):
    accepted(run("test_conv_output_size", case[1]))


# ---- Exercise 3: im2col ------------------------------------------------------------------------

IM2COL = '''
def im2col(x, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = x.shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col6 = np.empty((n, c, filter_h, filter_w, out_h, out_w), dtype=x.dtype)
    for dy in range(filter_h):
        for dx in range(filter_w):
            col6[:, :, dy, dx] = padded[:, :, dy:dy + stride * out_h:stride, dx:dx + stride * out_w:stride]
    return col6.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, c * filter_h * filter_w)
'''

IM2COL_WRONG = [
    ("pads-all-four-axes", "np.pad on all four axes",
     variant(IM2COL, "np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])", "np.pad(x, pad)")),
    ("no-transpose", "expected the window at position",
     variant(IM2COL, "col6.transpose(0, 4, 5, 1, 2, 3).reshape", "col6.reshape")),
    ("columns-channel-last", "the columns go channel, then filter row",
     variant(IM2COL, "transpose(0, 4, 5, 1, 2, 3)", "transpose(0, 4, 5, 2, 3, 1)")),
    ("rows-batch-last", "Rows go image, then output row",
     variant(IM2COL, "transpose(0, 4, 5, 1, 2, 3)", "transpose(4, 5, 0, 1, 2, 3)")),
    ("stride-missing-in-slice", "row 5",
     variant(IM2COL, "padded[:, :, dy:dy + stride * out_h:stride, dx:dx + stride * out_w:stride]",
             "padded[:, :, dy:dy + out_h, dx:dx + out_w]")),
    ("never-pads", "the padding is missing",
     variant(variant(IM2COL, "np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])", "x"),
             "out_h = (h + 2 * pad - filter_h) // stride + 1\n    out_w = (w + 2 * pad - filter_w) // stride + 1",
             "out_h = (h - filter_h) // stride + 1\n    out_w = (w - filter_w) // stride + 1")),
    ("square-filter", "filter_w",
     variant(IM2COL, "out_w = (w + 2 * pad - filter_w)", "out_w = (w + 2 * pad - filter_h)")),
    ("always-float64", "dtype=x.dtype", variant(IM2COL, ", dtype=x.dtype)", ")")),
]

IM2COL_RIGHT = [
    ("offset-loops", IM2COL),
    ("loop-over-positions", '''
def im2col(x, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = x.shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    rows = [padded[image, :, i * stride:i * stride + filter_h, j * stride:j * stride + filter_w].ravel()
            for image in range(n) for i in range(out_h) for j in range(out_w)]
    return np.array(rows, dtype=x.dtype)
'''),
    ("sliding-window-view", '''
def im2col(x, filter_h, filter_w, stride=1, pad=0):
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, (filter_h, filter_w), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]                 # (N, C, OH, OW, FH, FW)
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, x.shape[1] * filter_h * filter_w)
'''),
]


@pytest.mark.parametrize("case", IM2COL_WRONG, ids=case_ids(IM2COL_WRONG))
def test_im2col_mistake_is_caught(case):
    wrong("test_im2col", case[1], case[2])


@pytest.mark.parametrize("case", IM2COL_RIGHT, ids=case_ids(IM2COL_RIGHT))
def test_im2col_right_variant_is_accepted(case):
    accepted(run("test_im2col", case[1]))


# ---- Exercise 4: col2im ------------------------------------------------------------------------

COL2IM = '''
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    col6 = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for dy in range(filter_h):
        for dx in range(filter_w):
            padded[:, :, dy:dy + stride * out_h:stride, dx:dx + stride * out_w:stride] += col6[:, :, dy, dx]
    return padded[:, :, pad:pad + h, pad:pad + w]
'''

COL2IM_WRONG = [
    ("never-cuts-the-padding", "the padding was not cut off",
     variant(COL2IM, "return padded[:, :, pad:pad + h, pad:pad + w]", "return padded")),
    ("cuts-with-minus-pad", "[pad:-pad] is [0:0]",
     variant(COL2IM, "padded[:, :, pad:pad + h, pad:pad + w]", "padded[:, :, pad:-pad, pad:-pad]")),
    ("overwrites-instead-of-adding", "add them up with +=",
     variant(COL2IM, "stride * out_w:stride] += col6", "stride * out_w:stride] = col6")),
    ("reshape-without-transpose", "should put 5 at [1, 2, 2, 3]",
     variant(COL2IM, "col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)",
             "col.reshape(n, c, filter_h, filter_w, out_h, out_w)")),
    ("channels-last-columns", "should put 5 at [1, 2, 2, 3]",
     variant(COL2IM, "col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)",
             "col.reshape(n, out_h, out_w, filter_h, filter_w, c).transpose(0, 5, 3, 4, 1, 2)")),
    ("stride-missing-in-slice", "check the stride",
     variant(COL2IM, "padded[:, :, dy:dy + stride * out_h:stride, dx:dx + stride * out_w:stride]",
             "padded[:, :, dy:dy + out_h, dx:dx + out_w]")),
    ("always-float64", "dtype=col.dtype", variant(COL2IM, ", dtype=col.dtype)", ")")),
]

COL2IM_RIGHT = [
    ("offset-loops", COL2IM),
    ("loop-over-positions", '''
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    row = 0
    for image in range(n):
        for i in range(out_h):
            for j in range(out_w):
                window = col[row].reshape(c, filter_h, filter_w)
                padded[image, :, i * stride:i * stride + filter_h, j * stride:j * stride + filter_w] += window
                row += 1
    return padded[:, :, pad:padded.shape[2] - pad, pad:padded.shape[3] - pad]
'''),
    ("np-add-at", '''
def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    n, c, h, w = input_shape
    out_h = (h + 2 * pad - filter_h) // stride + 1
    out_w = (w + 2 * pad - filter_w) // stride + 1
    blocks = col.reshape(n, out_h, out_w, c, filter_h, filter_w)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for i in range(out_h):
        for j in range(out_w):
            rows = np.arange(filter_h)[:, None] + i * stride
            cols = np.arange(filter_w)[None, :] + j * stride
            np.add.at(padded, (slice(None), slice(None), rows, cols), blocks[:, i, j])
    return padded[:, :, pad:pad + h, pad:pad + w]
'''),
]


@pytest.mark.parametrize("case", COL2IM_WRONG, ids=case_ids(COL2IM_WRONG))
def test_col2im_mistake_is_caught(case):
    wrong("test_col2im", case[1], case[2])


@pytest.mark.parametrize("case", COL2IM_RIGHT, ids=case_ids(COL2IM_RIGHT))
def test_col2im_right_variant_is_accepted(case):
    accepted(run("test_col2im", case[1]))


# ---- Exercise 5: Conv2D ------------------------------------------------------------------------

CONV = '''
class Conv2D:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b = W, b
        self.stride, self.pad = stride, pad
        self.dW, self.db = None, None

    def forward(self, x):
        n_filters, _, filter_h, filter_w = self.W.shape
        n, _, h, w = x.shape
        out_h = (h + 2 * self.pad - filter_h) // self.stride + 1
        out_w = (w + 2 * self.pad - filter_w) // self.stride + 1
        self.x_shape = x.shape
        self.col = im2col(x, filter_h, filter_w, self.stride, self.pad)
        self.W_col = self.W.reshape(n_filters, -1).T
        out_rows = self.col @ self.W_col + self.b
        return out_rows.reshape(n, out_h, out_w, n_filters).transpose(0, 3, 1, 2)

    def backward(self, dout):
        n_filters, _, filter_h, filter_w = self.W.shape
        dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, n_filters)
        self.db = dout_rows.sum(axis=0)
        self.dW = (self.col.T @ dout_rows).T.reshape(self.W.shape)
        dcol = dout_rows @ self.W_col.T
        return col2im(dcol, self.x_shape, filter_h, filter_w, self.stride, self.pad)
'''

CONV_WRONG = [
    ("reshape-straight-to-N-FN-OH-OW", "reshape it to (N, OH, OW, FN) first",
     variant(variant(CONV, "out_rows.reshape(n, out_h, out_w, n_filters).transpose(0, 3, 1, 2)",
                     "out_rows.reshape(n, n_filters, out_h, out_w)"),
             "dout.transpose(0, 2, 3, 1).reshape(-1, n_filters)", "dout.reshape(-1, n_filters)")),
    ("W-col-without-transpose", "W_col = W.reshape(FN, -1).T",
     variant(CONV, "self.W.reshape(n_filters, -1).T", "self.W.reshape(-1, n_filters)")),
    ("bias-added-on-the-last-axis", "add b to out_rows",
     variant(CONV, "out_rows = self.col @ self.W_col + self.b\n        return out_rows.reshape"
                   "(n, out_h, out_w, n_filters).transpose(0, 3, 1, 2)",
             "out_rows = self.col @ self.W_col\n        return out_rows.reshape"
             "(n, out_h, out_w, n_filters).transpose(0, 3, 1, 2) + self.b")),
    ("db-summed-to-one-number", "self.db", variant(CONV, "dout_rows.sum(axis=0)", "dout_rows.sum()")),
    ("dW-without-transpose", "laid out as (C·FH·FW, FN)",
     variant(CONV, "(self.col.T @ dout_rows).T.reshape", "(self.col.T @ dout_rows).reshape")),
    ("dout-plain-reshape-in-backward", "a plain reshape mixes filters and positions",
     variant(CONV, "dout.transpose(0, 2, 3, 1).reshape(-1, n_filters)", "dout.reshape(-1, n_filters)")),
    ("col2im-without-stride-and-pad", "backward(dout of shape (2, 4, 3, 4)) raised",
     variant(CONV, "col2im(dcol, self.x_shape, filter_h, filter_w, self.stride, self.pad)",
             "col2im(dcol, self.x_shape, filter_h, filter_w)")),
    ("backward-returns-nothing", "backward returned None",
     variant(CONV, "return col2im(dcol,", "self.dx = col2im(dcol,")),
    ("dx-without-W", "dx differs from the numerical gradient",
     variant(CONV, "dcol = dout_rows @ self.W_col.T", "dcol = np.repeat(dout_rows.sum(axis=1, keepdims=True), "
                                                     "self.W_col.shape[0], axis=1)")),
    ("db-cast-to-float64", "expected float32 for all four",
     variant(CONV, "self.db = dout_rows.sum(axis=0)", "self.db = dout_rows.sum(axis=0).astype(float)")),
]

CONV_RIGHT = [
    ("as-in-the-table", CONV),
    ("filters-first-products", '''
class Conv2D:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b = W, b
        self.stride, self.pad = stride, pad
        self.dW, self.db = None, None

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = conv_output_size(h, fh, self.stride, self.pad), conv_output_size(w, fw, self.stride, self.pad)
        self.x = x
        self.col = im2col(x, fh, fw, self.stride, self.pad)                # (N·OH·OW, C·FH·FW)
        maps = self.W.reshape(fn, -1) @ self.col.T                          # (FN, N·OH·OW)
        return maps.reshape(fn, n, oh, ow).transpose(1, 0, 2, 3) + self.b[None, :, None, None]

    def backward(self, dout):
        fn, _, fh, fw = self.W.shape
        self.db = dout.sum(axis=(0, 2, 3))
        dmaps = dout.transpose(1, 0, 2, 3).reshape(fn, -1)                  # (FN, N·OH·OW)
        self.dW = (dmaps @ self.col).reshape(self.W.shape)
        dcol = dmaps.T @ self.W.reshape(fn, -1)
        return col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)
'''),
    ("einsum", '''
class Conv2D:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b = W, b
        self.stride, self.pad = stride, pad
        self.dW, self.db = None, None

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh = (h + 2 * self.pad - fh) // self.stride + 1
        ow = (w + 2 * self.pad - fw) // self.stride + 1
        self.shape = x.shape
        self.col = im2col(x, fh, fw, self.stride, self.pad).reshape(n, oh, ow, -1)
        return np.einsum("nijk,fk->nfij", self.col, self.W.reshape(fn, -1)) + self.b.reshape(1, fn, 1, 1)

    def backward(self, dout):
        fn, _, fh, fw = self.W.shape
        self.db = np.einsum("nfij->f", dout)
        self.dW = np.einsum("nijk,nfij->fk", self.col, dout).reshape(self.W.shape)
        dcol = np.einsum("nfij,fk->nijk", dout, self.W.reshape(fn, -1))
        return col2im(dcol.reshape(-1, dcol.shape[-1]), self.shape, fh, fw, self.stride, self.pad)
'''),
]


@pytest.mark.parametrize("case", CONV_WRONG, ids=case_ids(CONV_WRONG))
def test_conv2d_mistake_is_caught(case):
    wrong("test_Conv2D", case[1], case[2])


@pytest.mark.parametrize("case", CONV_RIGHT, ids=case_ids(CONV_RIGHT))
def test_conv2d_right_variant_is_accepted(case):
    accepted(run("test_Conv2D", case[1]))


def test_a_wrong_col2im_is_named_in_the_conv2d_message():
    """Validate runs Conv2D with the learner's col2im: a dx that is wrong because of col2im says so."""
    outcome = wrong("test_Conv2D", "fix col2im first",
                    CONV + variant(COL2IM, "stride * out_w:stride] += col6", "stride * out_w:stride] = col6"))
    assert "dx" in outcome.message


# ---- Exercise 6: MaxPool2D ---------------------------------------------------------------------

POOL = '''
class MaxPool2D:
    def __init__(self, pool_size=2, stride=2):
        self.pool_size, self.stride = pool_size, stride

    def forward(self, x):
        n, c, h, w = x.shape
        size = self.pool_size
        out_h, out_w = (h - size) // self.stride + 1, (w - size) // self.stride + 1
        windows = im2col(x, size, size, self.stride).reshape(-1, size * size)
        self.argmax = windows.argmax(axis=1)
        self.x_shape = x.shape
        maxima = windows[np.arange(len(windows)), self.argmax]
        return maxima.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        size = self.pool_size
        dout_flat = dout.transpose(0, 2, 3, 1).ravel()
        dwindows = np.zeros((dout_flat.size, size * size), dtype=dout.dtype)
        dwindows[np.arange(dout_flat.size), self.argmax] = dout_flat
        dcol = dwindows.reshape(-1, self.x_shape[1] * size * size)
        return col2im(dcol, self.x_shape, size, size, self.stride)
'''

POOL_WRONG = [
    ("reshape-mixes-channels", "mixes channels",
     variant(POOL, "maxima.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)", "maxima.reshape(n, c, out_h, out_w)")),
    ("max-over-all-channels", "pool each channel on its own",
     variant(variant(POOL, "im2col(x, size, size, self.stride).reshape(-1, size * size)",
                     "im2col(x, size, size, self.stride)"),
             "maxima = windows[np.arange(len(windows)), self.argmax]", "maxima = windows.max(axis=1)")),
    ("gradient-to-every-pixel", "every pixel of a window got a gradient",
     variant(POOL, "dwindows[np.arange(dout_flat.size), self.argmax] = dout_flat",
             "dwindows[:] = dout_flat[:, None]")),
    ("backward-plain-ravel", "dout.transpose(0, 2, 3, 1).ravel()",
     variant(POOL, "dout_flat = dout.transpose(0, 2, 3, 1).ravel()", "dout_flat = dout.ravel()")),
    ("stride-is-pool-size", "moved by stride 2",
     variant(variant(POOL, "im2col(x, size, size, self.stride)", "im2col(x, size, size, size)"),
             "out_h, out_w = (h - size) // self.stride + 1, (w - size) // self.stride + 1",
             "out_h, out_w = (h - size) // size + 1, (w - size) // size + 1")),
    ("overlapping-gradients-overwritten", "collects both gradients", '''
class MaxPool2D:
    def __init__(self, pool_size=2, stride=2):
        self.pool_size, self.stride = pool_size, stride

    def forward(self, x):
        self.x = x
        n, c, h, w = x.shape
        s, k = self.stride, self.pool_size
        out = np.zeros((n, c, (h - k) // s + 1, (w - k) // s + 1), dtype=x.dtype)
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
        return out

    def backward(self, dout):
        s, k = self.stride, self.pool_size
        dx = np.zeros_like(self.x, dtype=dout.dtype)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                window = self.x[:, :, i * s:i * s + k, j * s:j * s + k]
                winner = window == window.max(axis=(2, 3), keepdims=True)
                dx[:, :, i * s:i * s + k, j * s:j * s + k] = winner * dout[:, :, i:i + 1, j:j + 1]
        return dx
'''),
    ("always-float64", "dtype=dout.dtype", variant(POOL, ", dtype=dout.dtype)", ")")),
]

POOL_RIGHT = [
    ("im2col-and-argmax", POOL),
    ("loops-and-masks", '''
class MaxPool2D:
    def __init__(self, pool_size=2, stride=2):
        self.pool_size, self.stride = pool_size, stride

    def forward(self, x):
        self.x = x
        n, c, h, w = x.shape
        s, k = self.stride, self.pool_size
        out = np.zeros((n, c, (h - k) // s + 1, (w - k) // s + 1), dtype=x.dtype)
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
        return out

    def backward(self, dout):
        s, k = self.stride, self.pool_size
        dx = np.zeros(self.x.shape, dtype=dout.dtype)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                window = self.x[:, :, i * s:i * s + k, j * s:j * s + k]
                winner = window == window.max(axis=(2, 3), keepdims=True)
                dx[:, :, i * s:i * s + k, j * s:j * s + k] += winner * dout[:, :, i:i + 1, j:j + 1]
        return dx
'''),
    ("max-and-mask-on-windows", '''
class MaxPool2D:
    def __init__(self, pool_size=2, stride=2):
        self.pool_size, self.stride = pool_size, stride

    def forward(self, x):
        n, c, h, w = x.shape
        k = self.pool_size
        self.shape = (n, c, (h - k) // self.stride + 1, (w - k) // self.stride + 1)
        self.x_shape = x.shape
        windows = im2col(x, k, k, self.stride).reshape(-1, k * k)
        self.mask = windows == windows.max(axis=1, keepdims=True)
        n, c, oh, ow = self.shape
        return windows.max(axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        k = self.pool_size
        dwindows = self.mask * dout.transpose(0, 2, 3, 1).reshape(-1, 1)
        return col2im(dwindows.reshape(-1, self.x_shape[1] * k * k).astype(dout.dtype), self.x_shape, k, k,
                      self.stride)
'''),
]


@pytest.mark.parametrize("case", POOL_WRONG, ids=case_ids(POOL_WRONG))
def test_maxpool2d_mistake_is_caught(case):
    wrong("test_MaxPool2D", case[1], case[2])


@pytest.mark.parametrize("case", POOL_RIGHT, ids=case_ids(POOL_RIGHT))
def test_maxpool2d_right_variant_is_accepted(case):
    accepted(run("test_MaxPool2D", case[1]))


# ---- the swap of im2col/col2im while graded ----------------------------------------------------

@pytest.mark.parametrize("test_id, answer", [("test_Conv2D", variant(CONV, "dout_rows.sum(axis=0)", "dout_rows.sum()")),
                                             ("test_MaxPool2D", POOL_WRONG[0][2])])
def test_graded_cell_reports_its_own_check_and_puts_the_learners_functions_back(test_id, answer):
    """The full test cell (hidden tests included, as autograde runs it) swaps in reference copies of
    im2col and col2im; a failing check is reported at its own line, and the learner's are back."""
    notebook = reference.SOLUTIONS / NB / f"{NB}.ipynb"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = next("".join(cell["source"]) for cell in cells
                  if cell["metadata"].get("nbgrader", {}).get("grade_id") == test_id)
    namespace = right_answers(NB)
    exec(SETUP, namespace)
    exec(answer, namespace)
    learners = namespace["im2col"], namespace["col2im"]
    with pytest.raises(AssertionError) as failure:
        exec(compile(source, "<graded cell>", "exec"), namespace)
    last = failure.traceback[-1]
    assert str(last.path) == "<graded cell>" and "finally" not in source.splitlines()[last.lineno], \
        f"the failure is not reported at a check of the cell: {failure.traceback[-1]}"
    assert (namespace["im2col"], namespace["col2im"]) == learners, "the learner's im2col/col2im were not put back"
    assert np.shape(namespace["im2col"](np.zeros((1, 1, 4, 4)), 3, 3)) == (4, 9)
