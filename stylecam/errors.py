"""The one exception tree of stylecam.

Every error a user can cause is a ``StylecamError``; its ``str()`` is one line meant for
a person. The CLIs print it on stderr and exit with status 2, the window shows it in the
status bar. Errors of lower libraries (onnxruntime, av, cv2, torch) are wrapped at the
edge where they happen, never leaked as tracebacks.

    StylecamError
    ├── ModelError            a model file cannot be used
    │   ├── ContractError     the file breaks the stylecam model contract (names the rule)
    │   └── UnknownModelError no model of that name (lists the known ones, closest first)
    ├── DeviceError           the asked-for device (e.g. cuda) is not usable here
    ├── InputError            bad input media: missing, empty, unreadable, no video stream
    │   └── TruncatedInputError  the input ended early; what decoded was kept
    ├── OutputError           output cannot be written (exists, folder missing, disk full)
    ├── UsageError            an option out of range or options that do not fit together
    ├── SourceError           a live source failed (camera missing or lost, file ended)
    └── TrainError            the trainer cannot go on (no VGG weights, NaN loss, ...)
"""

from __future__ import annotations


class StylecamError(Exception):
    """Base of every user-facing stylecam error; ``str(err)`` is one line."""

    exit_code = 2

    def __str__(self) -> str:  # keep it one line whatever the caller passed
        return " ".join(super().__str__().split())


class ModelError(StylecamError):
    """A model file cannot be used."""


class ContractError(ModelError):
    """A model file breaks the stylecam model contract."""


class UnknownModelError(ModelError):
    """No model has that name."""


class DeviceError(StylecamError):
    """The asked-for execution device is not usable on this machine."""


class InputError(StylecamError):
    """Input media is missing, empty, unreadable or of the wrong kind."""


class TruncatedInputError(InputError):
    """The input ended before its header said; the frames that decoded were kept."""


class OutputError(StylecamError):
    """The output cannot be written."""


class UsageError(StylecamError):
    """An option is out of range, or options do not fit together."""


class SourceError(StylecamError):
    """A live frame source failed."""


class TrainError(StylecamError):
    """Training cannot go on."""
