"""pytest set-up shared by tests/ and the nbval run over notebooks/."""
import os
import platform

# The kernels nbval starts inherit this environment: pin OpenBLAS's kernel as `tasks.py` does (see
# tasks.lesson_env), so that a bare `pytest` also reproduces the stored outputs digit for digit.
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
