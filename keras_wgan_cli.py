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
import sys
import tempfile
from typing import Any, NoReturn

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_WORKER_LOST = 4
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit code 2 (no usage dump)."""

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
