"""Automatic, diagnostic feedback for the exercises in notebooks/exercises/.

    from bn_teach.exercises import check_forward
    report = check_forward(bn_forward)            # E1: training-mode forward            (e1_forward.py)
    report = check_running_stats(bn_forward_full) # E2: running statistics and eval mode (e2_running_stats.py)
    report = check_backward(bn_backward)          # E3: backward                         (e3_backward.py)
    report = check_train_step(train_step)         # E4: BN inside a two-layer network's training step
                                                  #     (e4_train_step.py)
    report = check_fold(fold_bn)                  # E5: fold eval-mode BN into a Linear layer (e5_fold.py)
    report = check_gradient_check(numerical_gradient, rel_error)   # E6: a numerical gradient check
                                                  #     (e6_gradient_check.py)

Each checker runs the student's function on reference cases, compares it with bn_teach's exact implementation and,
when they disagree, recomputes the answer the way each *common mistake* would (unbiased variance, eps outside the
square root, statistics over the wrong axis, ...). A mistake is named when the student's numbers match it.
The returned `Report` prints as plain text; `report.passed` and `report.mistakes` (ids from `MISTAKES`) are what
tests use. The student's code may raise, return None or NaN: the checker says so instead of failing itself.
Each exercise module keeps its catalogue of mistakes beside the code that recognises them; `report.py` holds the
shared machinery and `MISTAKES`, the whole catalogue.
"""
from .e1_forward import check_forward
from .e2_running_stats import check_running_stats
from .e3_backward import check_backward
from .e4_train_step import check_train_step, init_two_layer, reference_train_step
from .e5_fold import check_fold
from .e6_gradient_check import check_gradient_check
from .report import MISTAKES, Report

__all__ = ["check_forward", "check_running_stats", "check_backward", "check_train_step", "check_fold",
           "check_gradient_check", "init_two_layer", "reference_train_step", "MISTAKES", "Report"]
