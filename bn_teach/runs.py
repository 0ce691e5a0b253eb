"""One training run on the digits: what every lesson's grid, sweep and comparison repeats with its own settings.

    from bn_teach import MLP
    from bn_teach.parallel import run_all
    from bn_teach.runs import train_on_digits

    jobs = [dict(model=MLP(64, [100], 10, norm=norm), seed=0, steps=400, lr=0.5) for norm in (None, "batch")]
    plain, bn = run_all(train_on_digits, jobs)          # two Run results, computed side by side
    plain.history.test_acc[-1]

It lives in the core (not in a lesson module) so that worker processes import only the core.
"""
from dataclasses import dataclass

from .digits import load_digits_split
from .training import History, train


@dataclass
class Run:
    """What `train_on_digits` returns: the History, and the trained model and recorder when asked for."""

    history: History
    model: object = None
    recorder: object = None


def train_on_digits(model, seed=0, n_train=None, recorder=None, keep_model=False, **train_kwargs):
    """Train `model` (an MLP with 64 inputs and 10 outputs) on the digits and return a `Run`.

    The data are `load_digits_split(seed=seed)`, of which the first `n_train` training images when given; the
    mini-batches are drawn with the same `seed` (`train(..., seed=seed)`), so a run is fixed by its model, its
    seed and `train_kwargs` (steps, batch_size, lr, momentum, eval_every, ...: see `bn_teach.training.train`),
    whichever process computes it. `recorder` (a callable or a list, see `train`) comes back filled in
    `Run.recorder`; the trained model comes back only with keep_model=True (it costs memory to send back).
    """
    x_train, y_train, x_test, y_test = load_digits_split(seed=seed)
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    history = train(model, x_train, y_train, x_test, y_test, seed=seed, recorder=recorder, **train_kwargs)
    return Run(history, model if keep_model else None, recorder)
