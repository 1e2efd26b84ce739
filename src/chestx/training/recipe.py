"""Training recipes: the settings a run takes for every option the user did not give.

A recipe is chosen by how the backbone starts — from scratch, from torchvision's ImageNet
weights, or from a chestx checkpoint (``--weights`` with a ``model_state``) — or by name
(``--recipe paper`` is §4 of the paper, for reproduction). Each recipe states its learning
rate for a reference number of images per optimizer step; the run's learning rate scales
linearly with its effective batch ``batch_size x iter_size x processes`` (Goyal et al. 2017),
so ``--iter-size`` and DDP keep the recipe. An explicit ``--lr`` is taken as it is.

The recipes themselves live in ``recipes.tsv`` beside this module (one recipe a line).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from chestx.errors import ChestxError
from chestx.models.state import read_checkpoint
from chestx.training.train_config import RECIPE_NAMES

#: The data file of the recipes.
RECIPES_FILE = Path(__file__).with_name("recipes.tsv")


#: TrainConfig fields a recipe fills when they are left unset (``None``).
RECIPE_FIELDS = ("optimizer", "batch_size", "iter_size", "loss", "pooling", "lse_r",
                 "augment", "schedule", "warmup_epochs", "image_size")

#: Below this many optimizer steps in a run, a model rarely learns the findings (the bare
#: loop that reaches 0.97 test AUC on 480 phantoms takes 300; the paper's 80-image steps
#: gave 60 and 0.69).
MIN_STEPS = 200


@dataclass(frozen=True)
class Recipe:
    """One row of ``recipes.tsv``: the optimizer, its learning rate ``lr`` for
    ``reference_batch`` images per step, the effective batch (``batch_size x iter_size``),
    loss, pooling, augmentation, schedule, linear warm-up (in epochs) and input side."""

    name: str
    optimizer: str
    lr: float
    reference_batch: int
    batch_size: int
    iter_size: int
    loss: str
    pooling: str
    lse_r: float
    augment: bool
    schedule: str
    warmup_epochs: float
    image_size: int
    comment: str = ""

    def scaled_lr(self, images_per_step: int) -> float:
        """The learning rate for ``images_per_step`` images per optimizer step (linear)."""
        return self.lr * images_per_step / self.reference_batch


def _parse(row: dict) -> Recipe:
    kinds = {f.name: f.type for f in fields(Recipe)}
    values = {}
    for name, text in row.items():
        kind = kinds[name]
        values[name] = (text == "yes" if kind == "bool" else
                        float(text) if kind == "float" else
                        int(text) if kind == "int" else text)
    return Recipe(**values)


@cache
def load_recipes(path: str | os.PathLike = RECIPES_FILE) -> dict[str, Recipe]:
    """``name -> Recipe`` from the tab-separated recipe file (``#`` lines are comments)."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    try:
        recipes = [_parse(row) for row in csv.DictReader(lines, delimiter="\t")]
    except (KeyError, TypeError, ValueError) as exc:
        raise ChestxError(f"{path}: bad recipe row ({exc})") from exc
    return {recipe.name: recipe for recipe in recipes}


def start_of(pretrained: bool, weights: str | None) -> str:
    """How the backbone starts: ``checkpoint`` (``weights`` is a chestx checkpoint),
    ``imagenet`` (``weights`` is a torchvision state dict, or ``pretrained``) or
    ``scratch``."""
    if weights:
        return "checkpoint" if "model_state" in read_checkpoint(weights) else "imagenet"
    return "imagenet" if pretrained else "scratch"


def choose_recipe(name: str, pretrained: bool, weights: str | None) -> Recipe:
    """The recipe ``name`` (``auto``: the one for how the backbone starts)."""
    if name not in RECIPE_NAMES:
        raise ChestxError(f"recipe must be one of {', '.join(RECIPE_NAMES)}",
                          remedies={"recipe": None})
    return load_recipes()[start_of(pretrained, weights) if name == "auto" else name]


def warmup_steps(warmup_epochs: float, steps_per_epoch: int, total_steps: int) -> int:
    """Optimizer steps of linear warm-up: ``warmup_epochs`` epochs, at most a tenth of the
    run (so a short run still spends most of its steps at the full rate)."""
    return min(round(warmup_epochs * steps_per_epoch), total_steps // 10)


def learning_rate(base: float, step: int, total: int, warmup: int = 0,
                  schedule: str = "cosine") -> float:
    """The rate at optimizer step ``step`` (0-based) of ``total``: linear warm-up from
    ``base / warmup`` to ``base`` over the first ``warmup`` steps, then ``constant`` or a
    cosine from ``base`` to 0 over the remaining steps."""
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return base
    progress = min(step - warmup, total - warmup) / (total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


def too_few_steps(total_steps: int, images: int, images_per_step: int, epochs: int
                  ) -> str | None:
    """A warning naming the options to change when the run has under :data:`MIN_STEPS`
    optimizer steps, else ``None``."""
    if total_steps >= MIN_STEPS:
        return None
    return (f"warning: only {total_steps} optimizer steps ({images} images / "
            f"{images_per_step} per step x {epochs} epochs); a model needs about {MIN_STEPS} "
            "or more to learn: lower --batch-size or --iter-size, or raise --epochs")
