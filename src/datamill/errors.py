"""Errors that reach the user as one clear sentence plus a hint.

Every error raised on purpose by datamill derives from :class:`DatamillError`. The CLI prints
``message`` and ``hint`` and exits with ``exit_code``; a traceback is shown only with ``--debug``.
Exit codes: 1 unexpected (a bug), 2 recipe or usage, 3 input, 4 a step failed, 5 a missing optional
dependency, 6 data loss (a stage lost all, or more than ``max_loss``, of its input), 130 interrupted.
"""

from __future__ import annotations


class DatamillError(Exception):
    """Base class: ``message`` says what went wrong, ``hint`` what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"

    def __reduce__(self) -> tuple[object, ...]:
        # errors cross process boundaries (worker -> parent): rebuild from state, not __init__ args
        return (_rebuild, (type(self), self.args, self.__dict__))


class RecipeError(DatamillError):
    """The recipe (or a ``--set`` override) is invalid; ``location`` is like ``steps[2].params.min_chars``."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, location: str | None = None) -> None:
        super().__init__(f"{location}: {message}" if location else message, hint)
        self.location = location


class InputError(DatamillError):
    """An input cannot be found, opened or recognised."""

    exit_code = 3


class FormatDetectionError(InputError):
    """Auto-detection could not decide; the message lists the candidates."""


class StepError(DatamillError):
    """A step failed as a whole (not a single bad record, which goes to quarantine)."""

    exit_code = 4


class DataLossError(DatamillError):
    """A stage lost all of a non-empty input, or more than the recipe's ``max_loss`` share of it: almost
    always a mapping, expression or format mistake rather than what the user wanted."""

    exit_code = 6


class ReconcileError(DatamillError):
    """A stage's counts do not add up (``in + generated != out + dropped + quarantined``): a datamill bug."""

    exit_code = 1


class MissingExtraError(DatamillError):
    """An optional dependency is not installed; the hint names the ``pip install`` command."""

    exit_code = 5

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package '{package}', which is not installed",
            hint=f"pip install 'datamill[{extra}]'",
        )
        self.package = package
        self.extra = extra


def require(module: str, extra: str, feature: str) -> object:
    """Import ``module`` lazily, or raise :class:`MissingExtraError` naming the install command."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised via tests with a fake module name
        raise MissingExtraError(module.split(".")[0], extra, feature) from exc


def _rebuild(cls: type[DatamillError], args: tuple[object, ...], state: dict[str, object]) -> DatamillError:
    err = Exception.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err
