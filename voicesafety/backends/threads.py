"""One CPU thread setting for every runtime (torch, TorchScript, ONNX Runtime), and the guard
that keeps torch usable in ``fork``-started worker processes.

- :func:`resolve_threads`: the count a backend uses: the ``threads=`` argument, else
  ``$VOICESAFETY_THREADS``, else :func:`default_threads` (the CPUs this process may use minus
  the ones already busy, from the 1-minute load average; at least 1), decided when the model
  is loaded.
- :func:`torch_threads`: torch's thread count is process-global, so a torch/TorchScript
  backend sets it for the duration of each forward pass and restores the caller's value after.
- :func:`install_fork_guard`: after ``fork()``, torch's OpenMP pool inherited from the parent
  is dead and a parallel region with more than one thread can hang forever; the guard sets
  torch to one thread in the child, and :func:`torch_threads` keeps it at one there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InvalidInputError

#: The environment variable holding the default thread count of every backend.
ENV = "VOICESAFETY_THREADS"

_state = {"forked": False, "guard": False}


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Threads that do not oversubscribe the machine: the usable CPUs minus the load already
    on them (1-minute load average, rounded), at least 1.

    On a quiet machine that is every usable CPU; on a busy one it drops towards 1, where
    OpenMP's spinning threads waiting on descheduled peers made torch up to 25× slower
    (docs/backends.md, "Threads").
    """
    cpus = usable_cpus()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this OS
        return cpus
    return max(1, min(cpus, cpus - int(load + 0.5)))


def resolve_threads(threads: int | None = None) -> int:
    """The thread count to use: ``threads``, else ``$VOICESAFETY_THREADS``, else
    :func:`default_threads`.

    Raises:
        InvalidInputError: ``threads`` or the environment variable is not a positive integer.
    """
    if threads is None:
        env = os.environ.get(ENV, "").strip()
        if not env:
            return default_threads()
        if not env.isdigit() or int(env) < 1:
            raise InvalidInputError(
                f"{ENV}={env!r} is not a positive integer: set it to the number of CPU "
                f"threads voicesafety may use (e.g. {ENV}=1), or unset it for the default"
            )
        return int(env)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InvalidInputError(
            f"threads must be a positive integer (or None for the default), got {threads!r}"
        )
    return threads


def in_forked_child() -> bool:
    """Whether this process was started by ``fork()`` after the guard was installed."""
    return _state["forked"]


def _after_fork_in_child() -> None:
    _state["forked"] = True
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def install_fork_guard() -> None:
    """Make ``fork``-started children run torch on one thread (idempotent).

    Called when a torch or TorchScript backend is created.
    """
    if not _state["guard"] and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _state["guard"] = True


@contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run the body with torch on ``threads`` threads (1 in a forked child), then restore
    the process's previous setting. Yields the count in force."""
    import torch

    want = 1 if _state["forked"] else threads
    previous = torch.get_num_threads()
    if previous != want:
        torch.set_num_threads(want)
    try:
        yield want
    finally:
        if previous != want and torch.get_num_threads() == want:
            torch.set_num_threads(previous)
