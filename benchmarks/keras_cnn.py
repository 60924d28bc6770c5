"""This project's Keras recipe against the keras.io `mnist_convnet` recipe, on this machine.

Usage: python -m benchmarks.keras_cnn [BUDGET_S]        (default 60 s of training for keras.io's)

Both recipes run in this one process, on the same MNIST arrays (all 60,000 training images,
all 10,000 test images, the same seed), one after the other, and both are measured the same
way: a callback measures test accuracy after every epoch with its clock paused, so the times are
training time only. Printed for each: one line per epoch (seconds of training so far, test
accuracy), then a summary with the epochs done, the final test accuracy, and the epoch and the
seconds of training after which test accuracy first reached 99.0 %.

Our recipe is the model of solutions/06-keras-cnn, built by the notebook's own `build_model`
cell (benchmarks/reference.py), trained as the notebook trains it: by epochs (RECIPE, 3), with
the schedule of `matchbox.keras_recipe`, and the notebook's safety cap (OUR_CAP_S) that only a
very busy machine reaches. The keras.io recipe is rebuilt here from its published description
(conv 32 3×3 ReLU → max-pool → conv 64 3×3 ReLU → max-pool → flatten → dropout 0.5 → dense 10
softmax; Adam at its default learning rate, batches of 128, up to 15 epochs) and gets BUDGET_S
seconds of training; unlike the original it keeps no validation split, so that both recipes
train on the same images.

The claim it checks (notebook 06): ours reaches 99.0 % within its 3 epochs, in about 15 s of
training on 2 quiet cores (measured: 99.03 % after epoch 2 at 9.6 s, 99.18 % after epoch 3 at
13.8 s, load average under 0.6). A busy machine makes the epochs slower, not the result worse:
TensorFlow is sensitive to other work, so the load average is printed with the results.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from benchmarks import reference  # noqa: E402
from matchbox import keras_recipe  # noqa: E402
from matchbox.data import load_mnist  # noqa: E402

TARGET = 0.99
OUR_CAP_S = 240.0   # the notebook's MAX_TRAIN_S: a safety cap, not a budget


def keras_io_model():
    """keras.io's mnist_convnet architecture (34,826 parameters)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="keras_io_mnist_convnet")


def run_keras_io(data, budget_s):
    (x_train, t_train), (x_test, t_test) = data
    model = keras_io_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = keras_recipe.TrainingClock(x_test, t_test, budget_s=budget_s, target=TARGET)
    model.fit(x_train, t_train, batch_size=128, epochs=15, callbacks=[clock], verbose=0)
    return model, clock


def run_ours(data, budget_s=OUR_CAP_S):
    """The notebook's model and training (section 4): Adam on the one-cycle schedule, by epochs."""
    (x_train, t_train), (x_test, t_test) = data
    recipe = keras_recipe.RECIPE
    model = reference.load("06-keras-cnn").build_model()
    total_steps = recipe["epochs"] * int(np.ceil(len(x_train) / recipe["batch_size"]))
    schedule = keras_recipe.one_cycle(total_steps, recipe["peak_learning_rate"], recipe["warmup_fraction"])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = keras_recipe.TrainingClock(x_test, t_test, budget_s=budget_s, target=TARGET)
    model.fit(x_train, t_train, batch_size=recipe["batch_size"], epochs=recipe["epochs"],
              callbacks=[clock], verbose=0)
    return model, clock


def first_at_target(clock):
    """(epoch, seconds of training) of the first epoch whose test accuracy reached TARGET, or None."""
    return next(((e["epoch"], e["train_s"]) for e in clock.epochs if e["test_accuracy"] >= TARGET), None)


def main():
    budget_s = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    (x_train, t_train), (x_test, t_test) = load_mnist()
    data = ((x_train[..., None].astype("float32"), t_train.astype("int64")),
            (x_test[..., None].astype("float32"), t_test.astype("int64")))
    devices = ", ".join(f"{d.name} ({d.device_type})" for d in tf.config.list_physical_devices())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    recipe = keras_recipe.RECIPE
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; devices: {devices}; {cores} CPU cores; "
          f"ours: {recipe['epochs']} epochs (safety cap {OUR_CAP_S:.0f} s), keras.io: {budget_s:.0f} s of training")
    rows = []
    for name, run, limit_s in [
        (f"matchbox recipe ({recipe['epochs']} epochs, batch {recipe['batch_size']}, "
         f"one-cycle peak {recipe['peak_learning_rate']})", run_ours, OUR_CAP_S),
        ("keras.io mnist_convnet (batch 128, Adam 0.001)", run_keras_io, budget_s),
    ]:
        keras.utils.set_random_seed(0)
        load_before = os.getloadavg()[0]
        print(f"\n{name}", flush=True)                   # the clock prints one line per epoch
        started = time.perf_counter()
        model, clock = run(data, limit_s)
        rows.append((name, model.count_params(), clock, time.perf_counter() - started, load_before,
                     os.getloadavg()[0]))
    print(f"\n{'recipe':<58} {'params':>7} {'epochs':>6} {'train s':>7} {'test acc':>8} "
          f"{'99% after':>16} {'wall s':>6}  load avg (1 min) before/after")
    for name, params, clock, wall_s, before, after in rows:
        reached = first_at_target(clock)
        at = f"epoch {reached[0]}, {reached[1]:5.1f} s" if reached else "never"
        print(f"{name:<58} {params:7d} {len(clock.epochs):6d} {clock.train_s:7.1f} "
              f"{clock.epochs[-1]['test_accuracy']:8.2%} {at:>16} {wall_s:6.1f}  {before:.2f} / {after:.2f}")
    ours = rows[0][2]
    reached = first_at_target(ours)
    cut_short = len(ours.epochs) < recipe["epochs"]
    print(f"\nclaim (ours >= 99.0 % within {recipe['epochs']} epochs; about 15 s of training on 2 quiet cores): "
          + (f"met, after epoch {reached[0]} and {reached[1]:.1f} s of training" if reached else "MISSED")
          + (f" (the safety cap of {OUR_CAP_S:.0f} s stopped training after {len(ours.epochs)} epochs: "
             "a very busy machine)" if cut_short else ""))
    return 0 if reached else 1


if __name__ == "__main__":
    sys.exit(main())
