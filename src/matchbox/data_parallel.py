"""Synchronous data-parallel SGD with real worker processes (the plumbing of 08-data-parallel).

    result = train(2, x_train, t_train, x_test, t_test, epochs=2, batch_size=200)

runs W worker processes on this machine that train the same small MLP (784-100-10, ReLU, softmax
cross-entropy; 04's network) the way ChainerMN does: every worker holds a full copy of the
weights; each step, all workers draw the same global batch, each takes its shard of it
(np.array_split: sizes differ by at most one), computes the mean gradient of its shard, scales it
by its share of the batch, and an all-reduce through shared memory sums the scaled gradients (the
learner's ring_allreduce, carried out from its trace, or the naive one), so every worker holds
the gradient of the whole batch and applies the same update. With one worker there is nothing
to send.

The workers are started with the "spawn" method (fresh interpreters that import this module), so
this is safe to call after TensorFlow has been imported. The data travels once, through shared
memory; each worker uses one BLAS thread (OPENBLAS_NUM_THREADS=1), so W workers use W cores.
Each worker times every step: compute (gathering its shard, gradient and update) and communication
(the all-reduce, waiting for the slower worker included).
"""

import math
import multiprocessing
import os
import time
from dataclasses import dataclass, field

import numpy as np

SIZES = (784, 100, 10)   # inputs, hidden units, classes


# ---- the model: 04's two-layer MLP on one flat parameter vector --------------------------------

def parameter_count(sizes=SIZES):
    """Weights and biases of an MLP with layer widths SIZES."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def init_params(seed=0, sizes=SIZES):
    """A flat float32 vector holding He-initialised weights and zero biases."""
    rng = np.random.default_rng(seed)
    parts = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        parts += [rng.normal(0.0, math.sqrt(2.0 / n_in), n_in * n_out), np.zeros(n_out)]
    return np.concatenate(parts).astype(np.float32)


def unpack(params, sizes=SIZES):
    """Views [W1, b1, W2, b2, ...] into the flat vector PARAMS (writing to them writes to it)."""
    views, start = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        views.append(params[start:start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
        views.append(params[start:start + n_out])
        start += n_out
    return views


def mlp_gradient(params, x, t, sizes=SIZES):
    """(gradient, loss) of the mean softmax cross-entropy over the batch x (N, 784), t (N,) ints.

    The gradient is a flat vector shaped like PARAMS (float32): a mean over the N examples."""
    w1, b1, w2, b2 = unpack(params, sizes)
    n = len(x)
    h_in = x @ w1 + b1                          # (N, 100)
    h = np.maximum(h_in, 0.0)                   # (N, 100) ReLU
    a = h @ w2 + b2                             # (N, 10)
    a = a - a.max(axis=1, keepdims=True)
    p = np.exp(a)
    p /= p.sum(axis=1, keepdims=True)           # (N, 10) softmax
    loss = float(-np.mean(np.log(p[np.arange(n), t] + 1e-7)))
    grad = np.empty_like(params)
    g_w1, g_b1, g_w2, g_b2 = unpack(grad, sizes)
    d_a = p
    d_a[np.arange(n), t] -= 1.0
    d_a /= n                                    # (N, 10) the mean over the batch
    g_w2[...] = h.T @ d_a                       # (100, 10)
    g_b2[...] = d_a.sum(axis=0)
    d_h = (d_a @ w2.T) * (h_in > 0)             # (N, 100)
    g_w1[...] = x.T @ d_h                       # (784, 100)
    g_b1[...] = d_h.sum(axis=0)
    return grad, loss


def accuracy(params, x, t, sizes=SIZES):
    """The share of rows of x the MLP classifies as t."""
    w1, b1, w2, b2 = unpack(params, sizes)
    scores = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
    return float(np.mean(np.argmax(scores, axis=1) == t))


# ---- the all-reduce, seen from one worker ------------------------------------------------------
#
# This module holds no all-reduce algorithm of its own (writing one is the notebook's exercise): the
# workers carry out a message SCHEDULE, a list of (step, sender, receiver, chunk) such as the trace
# of the learner's ring_allreduce. In steps 0 ... W-2 the receiver adds the chunk it gets to its own
# (reduce-scatter); in later steps it copies it (all-gather). Without a schedule every worker
# posts its whole vector and adds up everybody's: the naive all-reduce, in one step.

def check_schedule(schedule, workers):
    """The schedule as a tuple of steps, each a tuple of (sender, receiver, chunk), after checking
    on bookkeeping alone (whose contributions each copy of each chunk holds) that it leaves every
    worker with the sum of all; ValueError naming the first thing that goes wrong otherwise."""
    messages = sorted((int(step), int(sender), int(receiver), int(chunk))
                      for step, sender, receiver, chunk in schedule)
    holds = [[{w} for _ in range(workers)] for w in range(workers)]     # holds[worker][chunk]
    steps = []
    for step in range(messages[-1][0] + 1 if messages else 0):
        now = [(sender, receiver, chunk) for s, sender, receiver, chunk in messages if s == step]
        senders = [sender for sender, _, _ in now]
        if len(set(senders)) != len(senders):
            raise ValueError(f"step {step}: a worker sends twice; in a ring each sends one chunk per step")
        if any(not (0 <= w < workers) for m in now for w in m):
            raise ValueError(f"step {step}: a worker or chunk number outside 0 ... {workers - 1}: {now}")
        sent = [(receiver, chunk, set(holds[sender][chunk])) for sender, receiver, chunk in now]
        for receiver, chunk, contributions in sent:                     # all at once, as in the ring
            if step < workers - 1:
                if holds[receiver][chunk] & contributions:
                    raise ValueError(f"step {step}: worker {receiver} would add contributions to chunk {chunk} "
                                     "that it already holds (counted twice)")
                holds[receiver][chunk] |= contributions
            else:
                holds[receiver][chunk] = contributions
        steps.append(tuple(now))
    everyone = set(range(workers))
    for worker in range(workers):
        for chunk in range(workers):
            if holds[worker][chunk] != everyone:
                raise ValueError(f"after the schedule worker {worker}'s chunk {chunk} holds the contributions of "
                                 f"workers {sorted(holds[worker][chunk])}, not of all {workers}")
    return tuple(steps)


def allreduce_worker(rank, workers, vector, steps, mailboxes, barrier):
    """Sum VECTOR over all workers, in place: worker RANK's part of the schedule STEPS (from
    check_schedule; None: the naive all-reduce). mailboxes: a shared (workers, len(vector)) float32
    array; a worker posts what it sends in its own row, the receiver reads it from there."""
    if workers == 1:
        return vector
    if steps is None:
        mailboxes[rank] = vector
        barrier.wait()                           # every worker has posted its vector
        vector[:] = mailboxes.sum(axis=0)
        barrier.wait()                           # every worker has read them all
        return vector
    chunks = np.array_split(vector, workers)     # views: writing a chunk writes the vector
    for step, messages in enumerate(steps):
        for sender, _, chunk in messages:
            if sender == rank:
                mailboxes[rank, :chunks[chunk].size] = chunks[chunk]
        barrier.wait()                           # every worker has posted its chunk
        for sender, receiver, chunk in messages:
            if receiver == rank:
                received = mailboxes[sender, :chunks[chunk].size]
                if step < workers - 1:
                    chunks[chunk] += received
                else:
                    chunks[chunk][...] = received
        barrier.wait()                           # every worker has read what was sent to it
    return vector


# ---- the workers ------------------------------------------------------------------------------

@dataclass
class Result:
    """What train() measured. Times in seconds; compute_s and communicate_s: one entry per step."""
    workers: int
    batch_size: int
    params: np.ndarray
    epoch_s: list = field(default_factory=list)          # wall time of each epoch (worker 0's clock)
    test_accuracy: list = field(default_factory=list)    # after each epoch
    loss: list = field(default_factory=list)             # worker 0's shard loss, each step
    compute_s: np.ndarray = None                         # (steps,) the slowest worker's compute time
    communicate_s: np.ndarray = None                     # (steps,) worker 0's all-reduce time
    startup_s: float = 0.0                               # starting the processes, before the first step

    @property
    def communication_share(self):
        return float(self.communicate_s.sum() / (self.compute_s.sum() + self.communicate_s.sum()))


def _shared(array, ctx):
    """A shared-memory float32/int64 copy of ARRAY: (raw buffer, dtype, shape)."""
    array = np.ascontiguousarray(array)
    raw = ctx.RawArray("b", array.nbytes)
    np.frombuffer(raw, dtype=array.dtype).reshape(array.shape)[...] = array
    return raw, array.dtype.str, array.shape


def _view(shared):
    raw, dtype, shape = shared
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)


def _worker(rank, workers, data, mailboxes, barrier, settings, results):
    schedule = settings["schedule"]                      # the all-reduce's messages (None: naive)
    x, t, x_test, t_test = (_view(shared) for shared in data)
    mailboxes = _view(mailboxes)
    params = init_params(settings["seed"])               # the same start on every worker
    velocity = np.zeros_like(params)
    rng = np.random.default_rng(settings["seed"])        # the same batches on every worker
    batch_size, lr, momentum = settings["batch_size"], settings["lr"], settings["momentum"]
    steps = len(x) // batch_size
    compute, communicate, losses, epoch_s, test_accuracy = [], [], [], [], []
    barrier.wait()                                       # all started: the clock starts now
    for _ in range(settings["epochs"]):
        started = time.perf_counter()
        order = rng.permutation(len(x))
        for step in range(steps):
            t0 = time.perf_counter()
            batch = order[step * batch_size:(step + 1) * batch_size]
            mine = np.array_split(batch, workers)[rank]   # this worker's shard of the global batch
            grad, loss = mlp_gradient(params, x[mine], t[mine])
            grad *= len(mine) / len(batch)               # weighted by the shard's share: the sum is the mean
            t1 = time.perf_counter()
            allreduce_worker(rank, workers, grad, schedule, mailboxes, barrier)
            t2 = time.perf_counter()
            velocity *= momentum
            velocity -= lr * grad
            params += velocity
            t3 = time.perf_counter()
            compute.append((t1 - t0) + (t3 - t2))
            communicate.append(t2 - t1)
            losses.append(loss)
        epoch_s.append(time.perf_counter() - started)
        if rank == 0:                                    # not timed: the others wait at the barrier
            test_accuracy.append(accuracy(params, x_test, t_test))
        barrier.wait()
    results.send({"rank": rank, "compute": compute, "communicate": communicate, "epoch_s": epoch_s,
                  "loss": losses, "test_accuracy": test_accuracy, "params": params if rank == 0 else None})
    results.close()


def train(workers, x_train, t_train, x_test, t_test, epochs=1, batch_size=200, lr=0.05, momentum=0.9,
          seed=0, timeout_s=600, schedule=None):
    """Train the MLP with WORKERS processes on (x_train (N, 784) float32, t_train (N,) ints).

    Every worker sees the same global batches of BATCH_SIZE (the last partial batch of an epoch is
    left out) and holds its shard of each; momentum SGD. schedule: the all-reduce's messages
    [(step, sender, receiver, chunk), ...] (a ring_allreduce's trace for WORKERS workers), checked
    first (ValueError when it does not add up); None: the naive all-reduce. Returns a Result."""
    steps = check_schedule(schedule, workers) if schedule is not None and workers > 1 else None
    ctx = multiprocessing.get_context("spawn")
    data = [_shared(np.asarray(x_train, np.float32), ctx), _shared(np.asarray(t_train, np.int64), ctx),
            _shared(np.asarray(x_test, np.float32), ctx), _shared(np.asarray(t_test, np.int64), ctx)]
    mailboxes = _shared(np.zeros((workers, parameter_count()), np.float32), ctx)
    barrier = ctx.Barrier(workers + 1)                   # the workers and, once, this process
    worker_barrier = ctx.Barrier(workers)
    settings = {"seed": seed, "batch_size": batch_size, "lr": lr, "momentum": momentum, "epochs": epochs,
                "schedule": steps}
    pipes = [ctx.Pipe(duplex=False) for _ in range(workers)]
    started = time.perf_counter()
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"             # the children read it when NumPy loads
    try:
        processes = [ctx.Process(target=_start, args=(rank, workers, data, mailboxes, barrier, worker_barrier,
                                                      settings, pipes[rank][1]), daemon=True)
                     for rank in range(workers)]
        for process in processes:
            process.start()
    finally:
        if threads is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = threads
    try:
        barrier.wait(timeout=timeout_s)
        startup_s = time.perf_counter() - started
        reports = []
        for receiver, sender in pipes:
            sender.close()
            if not receiver.poll(timeout_s):
                raise TimeoutError(f"a worker sent no result within {timeout_s} s")
            reports.append(receiver.recv())
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    reports.sort(key=lambda report: report["rank"])
    first = reports[0]
    return Result(workers=workers, batch_size=batch_size, params=first["params"], epoch_s=first["epoch_s"],
                  test_accuracy=first["test_accuracy"], loss=first["loss"],
                  compute_s=np.max([report["compute"] for report in reports], axis=0),
                  communicate_s=np.asarray(first["communicate"]), startup_s=startup_s)


def _start(rank, workers, data, mailboxes, barrier, worker_barrier, settings, results):
    barrier.wait()                                       # tells the parent this worker is up
    _worker(rank, workers, data, mailboxes, worker_barrier, settings, results)
