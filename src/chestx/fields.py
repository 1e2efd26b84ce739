"""Settings dataclass fields that carry their command-line help (:func:`option`).

A command's settings are a dataclass in the package that does the work (e.g.
:class:`chestx.training.train_config.TrainConfig`); the CLI builds each command's options from
its fields. Metadata keys of :func:`option`:

- ``help`` (required for an option): the help text;
- ``choices``: the allowed values (listed in the help);
- ``registry``: the name must be in that registry (checked where the registry lives);
- ``path``: the value is a file or folder (a ``Path`` option, stored as ``str``);
- ``min`` / ``max``: the smallest / largest allowed value;
- ``flags``: how the option is spelled, when not ``--field-name`` (e.g. ``("-o", "--output")``;
  a bool spelled this way is a switch without a ``--no-`` form);
- ``argument``: a positional argument instead of an option; ``metavar``: its name in the usage;
- ``cli: False``: not an option (set by the caller, e.g. ``progress``).

No third-party imports: the CLI reads these modules to build its options for every command.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(default: Any = dataclasses.MISSING, help: str = "", **metadata: Any) -> Any:
    """A settings field with its command-line ``help`` and other metadata (see above)."""
    if isinstance(default, list | dict):  # a fresh copy for each instance
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata={"help": help, **metadata})
    return dataclasses.field(default=default, metadata={"help": help, **metadata})
