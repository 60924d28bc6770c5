"""The training side of notebook 06-keras-cnn's recipe: what it needs at run time that is
not an exercise.

- ``one_cycle``: the learning-rate schedule, a short linear warm-up to a high peak, then a
  cosine decay to almost zero, so the last steps settle into a minimum instead of bouncing;
- ``RECIPE``: three epochs of batches of 128 with Adam, peak 0.01, warm-up 15 % of the steps;
- ``TrainingClock``: stops training after a time budget and measures test accuracy after each
  epoch (outside the budget), recording when a target accuracy was first reached.

The model is the participant's own graded ``build_model()``. This package is installed in the
participant image, so no answer lives here: the reference model is the solution notebook's
cell, which ``benchmarks/keras_cnn.py`` runs (through ``benchmarks/reference.py``).
"""

import time

import keras
import numpy as np

from matchbox import say

__all__ = ["RECIPE", "TrainingClock", "one_cycle"]

# The schedule: how many epochs, the batch size, the peak learning rate, the warm-up share.
RECIPE = {"epochs": 3, "batch_size": 128, "peak_learning_rate": 0.01, "warmup_fraction": 0.15}


def one_cycle(total_steps, peak_learning_rate, warmup_fraction=0.15):
    """A one-cycle learning rate as a built-in Keras schedule (so a saved model reloads):
    linear warm-up from peak/10 to the peak over the first warmup_fraction of the steps,
    then a cosine decay to peak/1000 at total_steps."""
    warmup_steps = max(1, int(warmup_fraction * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_learning_rate / 10,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=1e-3,
        warmup_target=peak_learning_rate,
        warmup_steps=warmup_steps,
    )


class TrainingClock(keras.callbacks.Callback):
    """Stops fit() once `budget_s` seconds of training have passed (checked after every batch),
    and after each epoch (also the one cut short) measures test accuracy with the clock paused.

    After fit(): `epochs` is a list of dicts {epoch, train_s, test_accuracy}; `batches` one dict
    {train_s, loss, accuracy} per training batch (that batch's own loss and accuracy, recovered
    from the running means keras reports); `train_s` is the training time (evaluation
    excluded); `target_reached_s` is the training time at the end of the first epoch whose test
    accuracy reached `target` (None if none did).
    """

    def __init__(self, x_test, t_test, budget_s=60.0, target=0.99, verbose=True):
        super().__init__()
        self.x_test, self.t_test = x_test, np.asarray(t_test)
        self.budget_s, self.target, self.verbose = budget_s, target, verbose
        self.epochs, self.batches, self.train_s, self.target_reached_s = [], [], 0.0, None
        self._started, self._running = None, {}

    def on_train_begin(self, logs=None):
        self.epochs, self.batches, self.train_s, self.target_reached_s = [], [], 0.0, None
        self._started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._running = {}                                # keras restarts its running means

    def _elapsed(self):
        return self.train_s + (time.perf_counter() - self._started)

    def on_train_batch_end(self, batch, logs=None):
        record = {"train_s": self._elapsed()}
        for name in ("loss", "accuracy"):
            if logs and name in logs:                     # mean over batches 0..batch of this epoch
                mean = float(logs[name])
                record[name] = (batch + 1) * mean - batch * self._running.get(name, 0.0)
                self._running[name] = mean
        self.batches.append(record)
        if record["train_s"] >= self.budget_s:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.train_s = self._elapsed()                   # pause the clock
        probabilities = self.model.predict(self.x_test, batch_size=1000, verbose=0)
        accuracy = float(np.mean(np.argmax(probabilities, axis=1) == self.t_test))
        self.epochs.append({"epoch": epoch + 1, "train_s": self.train_s, "test_accuracy": accuracy})
        if self.target_reached_s is None and accuracy >= self.target:
            self.target_reached_s = self.train_s
        if self.verbose:
            print(say(f"epoch {epoch + 1}: {self.train_s:5.1f} s of training, test accuracy {accuracy:.2%}",
                      f"エポック {epoch + 1}: 学習 {self.train_s:5.1f} 秒、テストデータの正解率 {accuracy:.2%}"),
                  flush=True)
        self._started = time.perf_counter()              # restart the clock

    def on_train_end(self, logs=None):
        self._started = time.perf_counter()

