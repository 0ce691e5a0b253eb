"""The BLAS under NumPy: one thread per process, and a word when it is not the one the stored outputs came from.

Importing bn_teach calls both functions below, once per process:

- `limit_blas_threads()`: the lessons' matrices are small (at most a few hundred rows), where BLAS threads cost
  more than they gain; on a shared server (a JupyterHub, a lab machine) OpenBLAS's threads busy-wait against other
  students' kernels, and four students on two cores took four times as long as they should. One thread per
  process gives the same numbers (the lessons' products are not split along their sums) and no environment
  variable is needed. Lessons that train many networks use the cores through worker processes instead
  (`bn_teach.parallel`).
- `check_blas_kernel()`: the lessons' stored outputs were computed with NumPy's OpenBLAS running its Haswell
  kernels. Other kernels (OpenBLAS picks AVX-512 ones on newer x86-64 CPUs; conda's MKL; Apple's Accelerate)
  add up sums in another order, and a training run carries that last-digit difference into the printed
  accuracies. OpenBLAS reads its kernel choice (OPENBLAS_CORETYPE) once, when NumPy is first imported, which in a
  lesson happens before bn_teach is imported (`%matplotlib widget`); so instead of pinning it too late, the
  lesson's first cell says so (a `StoredOutputsWarning`) and how to get the stored digits.
"""
import multiprocessing
import platform
import warnings

STORED_BLAS = {"internal_api": "openblas", "architecture": "Haswell"}
HOW_TO_PIN = ("start Jupyter with OPENBLAS_CORETYPE=Haswell in its environment (`python3 tasks.py lab` does this), "
              "or select the kernel \"Python (bn-teach)\" that `python3 tasks.py kernel` installs")


class StoredOutputsWarning(UserWarning):
    """This process computes with another BLAS kernel than the lessons' stored outputs."""


def blas_libraries():
    """threadpoolctl's description of NumPy's BLAS (name, version, kernel, threads): the one the lessons compute
    with. Other BLAS libraries a process may load as well (SciPy's, through scikit-learn) are left out; when none
    can be told to be NumPy's, every BLAS loaded is returned."""
    import numpy  # noqa: F401  (loads NumPy's BLAS, so that there is something to describe)
    from threadpoolctl import threadpool_info

    blas = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    numpys = [lib for lib in blas if "numpy" in str(lib.get("filepath", "")).replace("\\", "/").split("/")[-2]]
    return numpys or blas


def limit_blas_threads(threads=1):
    """Limit every BLAS (and OpenMP) library loaded in this process to `threads` threads, now."""
    import numpy  # noqa: F401  (loads NumPy's BLAS, so that there is something to limit)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def stored_kernel_mismatch(libraries=None):
    """None when NumPy's BLAS is the one the stored outputs were computed with, else a sentence saying why the
    digits may differ."""
    libraries = blas_libraries() if libraries is None else libraries
    if not libraries:
        return ("NumPy's BLAS could not be identified; the lessons' stored outputs were computed with OpenBLAS's "
                "Haswell kernels")
    lib = libraries[0]
    if all(lib.get(k) == v for k, v in STORED_BLAS.items()):
        return None
    name = f"{lib.get('internal_api', 'an unknown BLAS')} {lib.get('version') or ''}".strip()
    kernel = f" with its {lib['architecture']} kernels" if lib.get("architecture") else ""
    pin = f" To get the stored digits, {HOW_TO_PIN}." if _can_pin(lib) else ""
    return (f"NumPy here computes with {name}{kernel}; the stored outputs of these lessons were computed with "
            f"OpenBLAS's Haswell kernels, which add up sums in another order. Trained accuracies and losses may "
            f"differ from the stored ones in their last digits: read the patterns (which setting trains faster, which "
            f"gap is larger), not the last digit.{pin}")


def _can_pin(lib):
    """Whether OPENBLAS_CORETYPE=Haswell can select the stored kernels here (OpenBLAS on an AVX2 x86-64 CPU)."""
    if lib.get("internal_api") != "openblas" or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return True  # not Linux: assume a CPU of the last ten years
    return " avx2" in flags and " fma" in flags


def check_blas_kernel():
    """Warn (StoredOutputsWarning) when the stored outputs were computed with another BLAS kernel. Silent in
    worker processes: their parent has already said it."""
    if multiprocessing.current_process().name != "MainProcess":  # set before a spawned worker imports anything
        return
    try:
        reason = stored_kernel_mismatch()
    except Exception as exc:  # threadpoolctl missing or confused: say so rather than fail the import
        reason = f"the BLAS under NumPy could not be inspected ({exc})"
    if reason:
        warnings.warn(reason, StoredOutputsWarning, stacklevel=2)
