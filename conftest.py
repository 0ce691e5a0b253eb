"""pytest set-up shared by tests/ and the nbval run over notebooks/."""
import os

from tasks import lesson_env

# The kernels nbval starts inherit this environment: the same settings as `python3 tasks.py test` (OpenBLAS's
# kernel pinned, see tasks.lesson_env), so that a bare `pytest` also reproduces the stored outputs digit for digit.
for key, value in lesson_env().items():
    os.environ.setdefault(key, value)
