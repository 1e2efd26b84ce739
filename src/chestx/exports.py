"""Package names that load their module on first use (so importing a package stays light).

>>> __getattr__ = lazy_exports(__name__, {"train": "loop"})   # in a package's __init__.py
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``name`` -> ``package.<exports[name]>.name``.

    Parameters
    ----------
    package : the package's ``__name__``.
    exports : public name -> the submodule (relative to ``package``) that defines it.
    """
    def __getattr__(name: str) -> object:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
