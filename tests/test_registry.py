"""The one registry helper: register / get / names, duplicates refused, one error type."""

import pytest

from chestx.errors import ChestxError
from chestx.localize.generators import GENERATORS
from chestx.models import BACKBONES, LOSSES, POOLINGS
from chestx.registry import Registry, RegistryError


def test_register_get_names_in_order():
    shapes = Registry("shape", {"square": 4})
    shapes.add("triangle", 3)

    @shapes.register("line")
    def line():
        return 1

    assert shapes.names() == ("square", "triangle", "line")
    assert shapes.get("triangle") == 3 and shapes["line"] is line
    assert "square" in shapes and "circle" not in shapes and len(shapes) == 3


def test_duplicates_and_unknown_names_are_one_user_error_type():
    shapes = Registry("shape", {"square": 4})
    with pytest.raises(RegistryError, match="shape 'square' is already registered"):
        shapes.add("square", 5)
    assert shapes.get("square") == 4  # the first stays
    with pytest.raises(RegistryError, match=r"unknown shape 'circle' \(choose from square\)"):
        shapes.get("circle")
    assert issubclass(RegistryError, ChestxError)  # the CLI prints it in one line, exit 2
    with pytest.raises(RegistryError, match="already registered"):
        Registry("shape", {"a": 1}).register("a")(2)


def test_every_chestx_registry_is_one():
    for registry, name in ((BACKBONES, "resnet50"), (POOLINGS, "lse"), (LOSSES, "wce"),
                           (GENERATORS, "peak")):
        assert isinstance(registry, Registry) and name in registry.names()
