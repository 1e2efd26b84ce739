"""A command's options from a settings dataclass (fields made with :func:`chestx.fields.option`).

A command is written as ``def command(config: SomeConfig, quiet: Quiet = False)``: the
settings arrive as one dataclass instance, built from options derived from its fields; the
parameters after it are CLI-only options (shared annotated types of :mod:`.options`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path

import typer

_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def config_options(cls: type, defaults: dict | None = None,
                   skip: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """Typer parameters for the fields of dataclass ``cls`` (see :mod:`chestx.fields`).

    Each field with ``help`` metadata becomes ``--field-name`` (``--x/--no-x`` for a bool),
    or the spellings in its ``flags``, or a positional argument (``argument``), with the
    field's default (or ``defaults[name]``), its help, its ``choices`` listed, its ``min`` and
    ``max``, and ``Path`` for a ``path`` field; a field without a default is required.
    """
    hints = typing.get_type_hints(cls)
    params = []
    for item in dataclasses.fields(cls):
        meta = item.metadata
        if item.name in skip or not meta.get("cli", True):
            continue
        default = (defaults or {}).get(item.name, item.default)
        if item.default_factory is not dataclasses.MISSING:
            default = None  # a list argument or repeated option: none given -> the factory
        kind = hints[item.name]
        if meta.get("path"):
            kind = Path if default is dataclasses.MISSING else Path | None
            default = Path(default) if isinstance(default, str) else default
        help_text = (meta.get("help") or None) and meta["help"] + (
            f" (one of {', '.join(map(str, meta['choices']))})" if "choices" in meta else "")
        value = ... if default is dataclasses.MISSING else default
        if meta.get("argument"):
            typed = typer.Argument(value, help=help_text, metavar=meta.get("metavar"))
        else:
            typed = typer.Option(value, *_spellings(item.name, kind, meta), help=help_text,
                                 min=meta.get("min"), max=meta.get("max"))
        params.append(inspect.Parameter(item.name, _KEYWORD, default=typed, annotation=kind))
    return params


def _spellings(name: str, kind: object, meta: typing.Mapping) -> list[str]:
    if "flags" in meta:
        return list(meta["flags"])
    flag = "--" + name.replace("_", "-")
    if kind in (bool, bool | None):  # None: left to the recipe
        return [f"{flag}/--no-{flag[2:]}"]
    return [flag]


def config_from(cls: type, options: dict, **fixed) -> object:
    """An instance of dataclass ``cls`` from parsed options (``Path`` as ``str`` where the
    field is a ``str``; an option left out (``None``) of a field with a factory: its default).
    """
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):
        if item.name not in options:
            continue
        value = options[item.name]
        if value is None and item.default_factory is not dataclasses.MISSING:
            continue
        if isinstance(value, Path) and hints[item.name] in (str, str | None):
            value = str(value)
        elif isinstance(value, tuple) and typing.get_origin(hints[item.name]) is list:
            value = list(value)
        values[item.name] = value
    return cls(**{**values, **fixed})


def with_options(command: Callable, params: list[inspect.Parameter]) -> Callable:
    """Give ``command(**options)`` the signature typer reads its options from."""
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def configured(*classes: type, defaults: dict | None = None, skip: tuple[str, ...] = (),
               after: dict[str, str] | None = None) -> Callable[[Callable], Callable]:
    """Decorate ``command(config_1, ..., config_k, **own)`` into a typer command whose options
    are those of the dataclasses ``classes`` then the command's own parameters.

    ``after`` places an own parameter right after the named field in the help (to keep an
    option where users have always seen it). An own ``quiet`` sets the ``progress`` field of
    a configuration that has one (``progress = not quiet``).
    """
    def wrap(func: Callable) -> Callable:
        hints = typing.get_type_hints(func, include_extras=True)
        own = [p.replace(kind=_KEYWORD, annotation=hints[p.name])
               for p in list(inspect.signature(func).parameters.values())[len(classes):]]
        params = [p for cls in classes for p in config_options(cls, defaults, skip)]
        for param in own:
            names = [p.name for p in params]
            anchor = (after or {}).get(param.name)
            params.insert(names.index(anchor) + 1 if anchor else len(params), param)

        @functools.wraps(func)
        def command(**options):
            configs = [config_from(cls, options, **_progress(cls, options)) for cls in classes]
            return func(*configs, **{p.name: options[p.name] for p in own})

        del command.__wrapped__  # typer must read the signature below, not the function's
        return with_options(command, params)
    return wrap


def _progress(cls: type, options: dict) -> dict:
    """``{"progress": not quiet}`` for a configuration with a ``progress`` field."""
    has_progress = any(item.name == "progress" for item in dataclasses.fields(cls))
    return {"progress": not options["quiet"]} if has_progress and "quiet" in options else {}
