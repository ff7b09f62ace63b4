"""What ``train.py`` and ``evaluate.py`` share: one-line errors, exit codes, a quiet TensorFlow import.

A module of its own, outside the ``keras_wgan`` package, because importing the
package imports TensorFlow: the command lines parse their arguments (and
answer ``--help``) first, and import TensorFlow only when there is work to do.

Exit codes: 0 done, 2 bad input (one line on stderr), 3 training diverged,
4 a worker of a multi-worker job was lost, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from typing import Any, NoReturn

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_WORKER_LOST = 4
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit code 2 (no usage dump).

    It remembers the flag of every option (``flags``: destination -> ``--flag``), so
    that an error about a config field (``keras_wgan.errors.ConfigError``, which
    writes field names in backquotes) can name the flag instead (``in_flags``).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self.flags: dict[str, str] = {}  # before the base class adds --help
        super().__init__(*args, **kwargs)

    def _remember(self, action: argparse.Action) -> argparse.Action:
        longest = max(action.option_strings, key=len, default=None)
        if longest is not None:
            self.flags.setdefault(action.dest, longest)
        return action

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return self._remember(super().add_argument(*args, **kwargs))

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        group = super().add_argument_group(*args, **kwargs)
        add = group.add_argument
        group.add_argument = lambda *a, **kw: self._remember(add(*a, **kw))
        return group

    def in_flags(self, message: str) -> str:
        """``message`` with each backquoted field name that has a flag written as the flag:
        ```g_lr` must be > 0. Received: g_lr=0.0`` -> ``--g-lr must be > 0. Received: --g-lr 0.0``."""
        for dest, flag in self.flags.items():
            message = message.replace(f"Received: {dest}=", f"Received: {flag} ")
        return re.sub(r"`([A-Za-z_][A-Za-z_0-9]*)`", lambda m: self.flags.get(m.group(1), m.group(0)), message)

    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)
        sys.exit(EXIT_BAD_INPUT)


def fail(prog: str, message: Any, code: int = EXIT_BAD_INPUT, prefix: str = "error: ") -> int:
    """Writes ``prog: error: message`` on stderr and returns ``code`` (for ``return fail(...)``)."""
    sys.stderr.write(f"{prog}: {prefix}{message}\n")
    return code


def import_tensorflow_quietly() -> Any:
    """Imports TensorFlow and finds its devices with the C++ start-up chatter held back.

    The CUDA probes and oneDNN notices are shown only if the import fails, or
    always with ``KERAS_WGAN_TF_LOGS=1``.

    Returns:
        The ``tensorflow`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("KERAS_WGAN_TF_LOGS") == "1":
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tf
