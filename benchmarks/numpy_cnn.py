"""The from-scratch NumPy ConvNet of 05-cnn-scratch: seconds of training to ≥ 98 % test accuracy.

Usage: python -m benchmarks.numpy_cnn [--target 0.98] [--epochs 3] [--check-every 100]
(target on 2 cores: ≤ 120 s). Trains the ConvNet of solutions/05-cnn-scratch, run from the
notebook's own cells (benchmarks/reference.py): conv 5×5×16 - max pool 2×2 - ReLU - affine 100 -
ReLU - affine 10, float32, Adam 1e-3, batches of 100, on all 60,000 training images (or
--train-images) and prints the accuracy on all 10,000 test images every --check-every steps.
The clock covers training and those checkpoints, not loading the data. Prints wall and CPU
seconds. One BLAS thread unless OPENBLAS_NUM_THREADS says otherwise (as in the notebook).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS

import numpy as np  # noqa: E402

from benchmarks import reference  # noqa: E402
from matchbox.data import load_mnist  # noqa: E402


def train(net, optimizer, x_train, t_train, x_test, t_test, epochs, batch_size=100,
          check_every=100, target=None, rng=None):
    """The notebook's training loop (section 8): mini-batch steps of the optimiser, and every
    check_every steps (and at each epoch's end) the test accuracy. Returns a list of
    (seconds, step, test accuracy); stops early once target is reached."""
    rng = np.random.default_rng(0) if rng is None else rng
    history, started, step = [], time.perf_counter(), 0
    steps_per_epoch = len(x_train) // batch_size
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for batch in range(steps_per_epoch):
            chosen = order[batch * batch_size:(batch + 1) * batch_size]
            net.loss(x_train[chosen], t_train[chosen])
            net.backward()
            optimizer.update(net.layers)
            step += 1
            if step % check_every == 0 or batch == steps_per_epoch - 1:
                history.append((time.perf_counter() - started, step, net.accuracy(x_test, t_test)))
                print(f"epoch {epoch + 1} step {step:5d}  {history[-1][0]:6.1f} s  "
                      f"test accuracy {history[-1][2]:.4f}", flush=True)
                if target is not None and history[-1][2] >= target:
                    return history
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.98, help="test accuracy to reach (default 0.98)")
    parser.add_argument("--epochs", type=int, default=3, help="give up after this many epochs (default 3)")
    parser.add_argument("--check-every", type=int, default=100, help="steps between test checkpoints")
    parser.add_argument("--train-images", type=int, default=60_000, help="train on the first N images only")
    args = parser.parse_args()

    solution = reference.load("05-cnn-scratch")
    (x_train, t_train), (x_test, t_test) = load_mnist()
    x_train, x_test = x_train[:args.train_images, None], x_test[:, None]  # (N, 1, 28, 28) float32
    t_train = t_train[:args.train_images]
    t_train, t_test = t_train.astype(np.int64), t_test.astype(np.int64)
    print(f"cores available: {len(os.sched_getaffinity(0))}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, NumPy {np.__version__}", flush=True)

    net = solution.ConvNet(rng=np.random.default_rng(0))
    wall, cpu = time.perf_counter(), time.process_time()
    history = train(net, solution.Adam(lr=1e-3), x_train, t_train, x_test, t_test, epochs=args.epochs,
                    check_every=args.check_every, target=args.target)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    reached = [(seconds, step, accuracy) for seconds, step, accuracy in history if accuracy >= args.target]
    print(f"training: {wall:.1f} s wall, {cpu:.1f} s CPU, {history[-1][1]} steps, "
          f"final test accuracy {history[-1][2]:.4f}")
    if reached:
        seconds, step, accuracy = reached[0]
        verdict = "met" if seconds <= 120 else "MISSED"
        print(f"seconds to {args.target:.1%} test accuracy: {seconds:.1f} (step {step}, {accuracy:.4f}); "
              f"target ≤ 120 s: {verdict}")
        return 0
    print(f"{args.target:.1%} test accuracy not reached in {args.epochs} epochs")
    return 1


if __name__ == "__main__":
    sys.exit(main())
