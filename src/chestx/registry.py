"""A named registry: the one way chestx maps option names to implementations.

Backbones, pooling functions, losses and box generators each keep a :class:`Registry`;
the CLI takes its choices from :meth:`Registry.names`, so an entry added to a registry is
an accepted option value with no other change.

>>> POOLS = Registry("pooling")
>>> @POOLS.register("avg")
... def average(x): ...
>>> POOLS.get("avg") is average
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from chestx.errors import ChestxError

T = TypeVar("T")


class RegistryError(ChestxError):
    """An unknown name was asked for, or a name was registered twice."""


class Registry(Generic[T]):
    """Names -> objects (classes, functions, specs), in registration order.

    Parameters
    ----------
    kind : what the entries are, for error messages (``"backbone"``, ``"loss"``, ...).
    entries : initial ``{name: entry}``, registered in order.
    """

    def __init__(self, kind: str, entries: Mapping[str, T] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        for name, entry in (entries or {}).items():
            self.add(name, entry)

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``; :class:`RegistryError` when the name is taken."""
        if name in self._entries:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        """The entry registered as ``name``; :class:`RegistryError` naming the choices."""
        if name not in self._entries:
            raise RegistryError(f"unknown {self.kind} {name!r} (choose from "
                                f"{', '.join(self._entries)})")
        return self._entries[name]

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order."""
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.get(name)
