"""08-data-parallel: wrong answers a beginner writes fail the visible tests with a sentence that
names the wrong part (a dropped remainder, the plain mean of uneven shards, a ring without its
all-gather, a warm-up from zero); right answers written differently (np.array_split, np.average
cast back, index arithmetic instead of views, min() in the warm-up) pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/. No training, no data.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.support.mistakes import accepted, case_ids, caught, check  # noqa: E402

NB = "08-data-parallel"


def wrong(test_id, expected, source):
    """The visible tests fail, say EXPECTED, and end in the test cell."""
    return caught(check(NB, test_id, source), says=expected)


# ---- Exercise 1: shard ---------------------------------------------------------------------------

def shard_with(sizes, slicing="x[start:start + size], t[start:start + size]"):
    """A shard() that computes each size with SIZES (an expression in n, workers, i) and slices."""
    return f'''
def shard(x, t, workers):
    n = len(x)
    shards, start = [], 0
    for i in range(workers):
        size = {sizes}
        shards.append(({slicing}))
        start += size
    return shards
'''


RIGHT_SIZES = "n // workers + (1 if i < n % workers else 0)"

SHARD_WRONG = [
    ("dropped-remainder", "rows were dropped", shard_with("n // workers")),
    ("remainder-to-the-last-shard", "at most one",
     shard_with("n // workers + (n % workers if i == workers - 1 else 0)")),
    ("ceil-sized-shards", "at most one", shard_with("min(-(-n // workers), n - start)")),
    ("smaller-shards-first", "larger shards first",
     shard_with("n // workers + (1 if i >= workers - n % workers else 0)")),
    ("one-row-too-many", "repeated", shard_with(RIGHT_SIZES, "x[start:start + size + 1], t[start:start + size + 1]")),
    ("labels-not-split", "labels must go with their rows", shard_with(RIGHT_SIZES, "x[start:start + size], t")),
    ("labels-shifted", "labels must go with their rows",
     shard_with(RIGHT_SIZES, "x[start:start + size], t[start + 1:start + size + 1]")),
    ("a-shard-per-step-of-the-size", "exactly 4", '''
def shard(x, t, workers):
    size = len(x) // workers
    return [(x[i:i + size], t[i:i + size]) for i in range(0, len(x), size)]
'''),
    ("round-robin", "continues where", '''
def shard(x, t, workers):
    return [(x[i::workers], t[i::workers]) for i in range(workers)]
'''),
    ("np-split-needs-equal-parts", "compute each shard's size", '''
def shard(x, t, workers):
    return list(zip(np.split(x, workers), np.split(t, workers)))
'''),
    ("returns-only-the-inputs", "expected a pair", '''
def shard(x, t, workers):
    return np.array_split(x, workers)
'''),
]

SHARD_RIGHT = [
    ("np-array-split", '''
def shard(x, t, workers):
    return list(zip(np.array_split(x, workers), np.array_split(t, workers)))
'''),
    ("cumsum-of-sizes", '''
def shard(x, t, workers):
    base, extra = divmod(len(x), workers)
    sizes = [base + 1] * extra + [base] * (workers - extra)
    edges = np.cumsum([0] + sizes)
    return [(x[a:b], t[a:b]) for a, b in zip(edges[:-1], edges[1:])]
'''),
    ("start-from-the-index", '''
def shard(x, t, workers):
    n = len(x)
    out = []
    for i in range(workers):
        start = i * (n // workers) + min(i, n % workers)
        stop = (i + 1) * (n // workers) + min(i + 1, n % workers)
        out.append([x[start:stop], t[start:stop]])
    return out
'''),
]


@pytest.mark.parametrize("case", SHARD_WRONG, ids=case_ids(SHARD_WRONG))
def test_shard_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_shard", expected, source)


@pytest.mark.parametrize("case", SHARD_RIGHT, ids=case_ids(SHARD_RIGHT))
def test_shard_right_variant_is_accepted(case):
    accepted(check(NB, "test_shard", case[1]))


# ---- Exercise 2: allreduce_mean ------------------------------------------------------------------

def allreduce_with(total, returned="[total.copy() for _ in grads]"):
    return f'''
def allreduce_mean(grads, counts):
    total = {total}
    return {returned}
'''


ALLREDUCE_WRONG = [
    ("plain-mean-of-the-means", "plain mean", allreduce_with("np.mean(grads, axis=0)")),
    ("sum-of-the-means", "W times too large", allreduce_with("np.sum(grads, axis=0)")),
    ("weighted-but-not-divided", "not yet divided", allreduce_with("sum(n * g for n, g in zip(counts, grads))")),
    ("divided-by-the-workers", "divide by the number of examples",
     allreduce_with("sum(n * g for n, g in zip(counts, grads)) / len(grads)")),
    ("one-array-for-everyone", "its own copy",
     allreduce_with("sum(n * g for n, g in zip(counts, grads)) / sum(counts)", "[total] * len(grads)")),
    ("a-single-array", "expected a list of 3",
     allreduce_with("sum(n * g for n, g in zip(counts, grads)) / sum(counts)", "total")),
    ("np-average-in-float64", "keep the gradients' dtype",
     allreduce_with("np.average(grads, axis=0, weights=counts)")),
    ("added-into-the-first-gradient", "changed worker 0's gradient", '''
def allreduce_mean(grads, counts):
    total = grads[0]
    total *= counts[0]
    for g, n in zip(grads[1:], counts[1:]):
        total += n * g
    total /= sum(counts)
    return [total.copy() for _ in grads]
'''),
    ("weights-swapped", "worker 0 got",
     allreduce_with("sum(n * g for n, g in zip(counts[::-1], grads)) / sum(counts)")),
]

ALLREDUCE_RIGHT = [
    ("np-average-cast-back", allreduce_with("np.average(grads, axis=0, weights=counts).astype(grads[0].dtype)")),
    ("tensordot-then-copies", '''
def allreduce_mean(grads, counts):
    n = np.asarray(counts, dtype=grads[0].dtype)
    mean = np.tensordot(n / n.sum(), np.stack(grads), axes=1)
    return [np.array(mean, dtype=grads[0].dtype) for _ in range(len(grads))]
'''),
    ("shares-first", '''
def allreduce_mean(grads, counts):
    total = sum(counts)
    result = np.zeros_like(grads[0])
    for g, n in zip(grads, counts):
        result = result + g * (n / total)
    return [result.copy() for g in grads]
'''),
]


@pytest.mark.parametrize("case", ALLREDUCE_WRONG, ids=case_ids(ALLREDUCE_WRONG))
def test_allreduce_mean_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_allreduce_mean", expected, source)


@pytest.mark.parametrize("case", ALLREDUCE_RIGHT, ids=case_ids(ALLREDUCE_RIGHT))
def test_allreduce_mean_right_variant_is_accepted(case):
    accepted(check(NB, "test_allreduce_mean", case[1]))


# ---- Exercise 3 (★): ring_allreduce --------------------------------------------------------------

def ring_with(buffers="[a.copy() for a in arrays]", chunks="[np.array_split(b, W) for b in buffers]",
              rs_steps="W - 1", ag_steps="W - 1", receiver="(i + 1) % W", ag_update="[...] = ",
              ag_step="W - 1 + s", rs_chunk="(i - s) % W", record="True", returned="buffers"):
    """The solution's ring with one piece changed (deliveries in sender order, in place)."""
    return f'''
def ring_allreduce(arrays, trace=None):
    W = len(arrays)
    buffers = {buffers}
    chunks = {chunks}
    for s in range({rs_steps}):
        for i in range(W):
            c = {rs_chunk}
            r = {receiver}
            if trace is not None and {record}:
                trace.append((s, i, r, c))
            chunks[r][c] += chunks[i][c]
    for s in range({ag_steps}):
        for i in range(W):
            c = (i + 1 - s) % W
            r = {receiver}
            if trace is not None and {record}:
                trace.append(({ag_step}, i, r, c))
            chunks[r][c]{ag_update}chunks[i][c]
    return {returned}
'''


RING_WRONG = [
    ("no-all-gather", "all-gather phase (W − 1 more steps", ring_with(ag_steps="0")),
    ("chunks-of-p-floor-w", "np.array_split",
     ring_with(chunks="[[b[k * (len(b) // W):(k + 1) * (len(b) // W)] for k in range(W)] for b in buffers]")),
    ("w-steps-per-phase", "2(W − 1) · W = 12", ring_with(rs_steps="W")),
    ("all-gather-adds", "arrived twice", ring_with(ag_update=" += ")),
    ("works-on-the-inputs", "work on copies", ring_with(buffers="arrays")),
    ("no-trace", "the trace is empty", ring_with(record="False")),
    ("all-gather-steps-restart-at-0", "through both phases", ring_with(ag_step="s")),
    ("one-buffer-for-everyone", "its own buffer", ring_with(returned="[buffers[0]] * W")),
    ("wrong-chunk-in-reduce-scatter", "some contributions are missing", ring_with(rs_chunk="(i + s) % W")),
    ("sum-without-a-ring", "the trace is empty", '''
def ring_allreduce(arrays, trace=None):
    total = np.sum(arrays, axis=0)
    return [total.copy() for _ in arrays]
'''),
    ("sum-in-float64", "expected float32", '''
def ring_allreduce(arrays, trace=None):
    W = len(arrays)
    buffers = [np.asarray(a, dtype=np.float64) + 0.0 for a in arrays]
    chunks = [np.array_split(b, W) for b in buffers]
    for phase in range(2):
        for s in range(W - 1):
            for i in range(W):
                c = (i - s) % W if phase == 0 else (i + 1 - s) % W
                if trace is not None:
                    trace.append((phase * (W - 1) + s, i, (i + 1) % W, c))
                if phase == 0:
                    chunks[(i + 1) % W][c] += chunks[i][c]
                else:
                    chunks[(i + 1) % W][c][...] = chunks[i][c]
    return buffers
'''),
]

RING_RIGHT = [
    ("index-arithmetic", '''
def ring_allreduce(arrays, trace=None):
    W, P = len(arrays), len(arrays[0])
    edges = [k * (P // W) + min(k, P % W) for k in range(W + 1)]
    held = [np.copy(a) for a in arrays]
    for step in range(2 * (W - 1)):
        messages = []
        for i in range(W):
            c = (i - step) % W if step < W - 1 else (i + 1 - (step - (W - 1))) % W
            messages.append((i, (i + 1) % W, c, held[i][edges[c]:edges[c + 1]].copy()))
        for i, r, c, payload in messages:
            if trace is not None:
                trace.append((step, i, r, c))
            if step < W - 1:
                held[r][edges[c]:edges[c + 1]] += payload
            else:
                held[r][edges[c]:edges[c + 1]] = payload
    return held
'''),
    ("solution-like-in-place", ring_with()),
]


@pytest.mark.parametrize("case", RING_WRONG, ids=case_ids(RING_WRONG))
def test_ring_allreduce_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_ring_allreduce", expected, source)


@pytest.mark.parametrize("case", RING_RIGHT, ids=case_ids(RING_RIGHT))
def test_ring_allreduce_right_variant_is_accepted(case):
    accepted(check(NB, "test_ring_allreduce", case[1]))


# ---- Exercise 4: scaled_learning_rate ------------------------------------------------------------

def lr_with(target="base_lr * batch / base_batch",
            during="base_lr + (target - base_lr) * step / warmup_steps", condition="step < warmup_steps"):
    return f'''
def scaled_learning_rate(base_lr, base_batch, batch, step=0, warmup_steps=0):
    target = {target}
    if {condition}:
        return {during}
    return target
'''


LR_WRONG = [
    ("square-root-scaling", "8 times the batch", lr_with(target="base_lr * (batch / base_batch) ** 0.5")),
    ("ratio-upside-down", "8 times the batch", lr_with(target="base_lr * base_batch / batch")),
    ("integer-division", "true division", lr_with(target="base_lr * (batch // base_batch)")),
    ("scaled-by-the-batch-alone", "8 times the batch", lr_with(target="base_lr * batch")),
    ("warm-up-from-zero", "not at 0", lr_with(during="target * step / warmup_steps")),
    ("warm-up-one-step-ahead", "not at 0", lr_with(during="base_lr + (target - base_lr) * (step + 1) / warmup_steps")),
    ("no-warm-up", "not at 0", lr_with(condition="False")),
    ("warm-up-that-never-ends", "without dividing", '''
def scaled_learning_rate(base_lr, base_batch, batch, step=0, warmup_steps=0):
    target = base_lr * batch / base_batch
    return base_lr + (target - base_lr) * step / warmup_steps
'''),
    ("warm-up-to-the-wrong-end", "halfway", lr_with(during="base_lr + (target - base_lr) * step / (2 * warmup_steps)")),
]

LR_RIGHT = [
    ("min-of-the-progress", '''
def scaled_learning_rate(base_lr, base_batch, batch, step=0, warmup_steps=0):
    k = batch / base_batch
    progress = min(1.0, step / warmup_steps) if warmup_steps > 0 else 1.0
    return base_lr * (1 + (k - 1) * progress)
'''),
    ("numpy-interp", '''
def scaled_learning_rate(base_lr, base_batch, batch, step=0, warmup_steps=0):
    target = base_lr * batch / base_batch
    if warmup_steps == 0:
        return target
    return float(np.interp(step, [0, warmup_steps], [base_lr, target]))
'''),
]


@pytest.mark.parametrize("case", LR_WRONG, ids=case_ids(LR_WRONG))
def test_scaled_learning_rate_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_scaled_learning_rate", expected, source)


@pytest.mark.parametrize("case", LR_RIGHT, ids=case_ids(LR_RIGHT))
def test_scaled_learning_rate_right_variant_is_accepted(case):
    accepted(check(NB, "test_scaled_learning_rate", case[1]))
