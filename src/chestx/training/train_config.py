"""What ``chestx train`` takes: :class:`TrainConfig`, the one place to add a training option.

Each field carries its command-line help in ``metadata`` (:func:`chestx.fields.option`);
``chestx train`` and ``chestx reproduce`` build their options from these fields (see
:func:`chestx.cli.derive.config_options`), so a field added here with a default and a ``help``
is an option of both, with no other change. ``choices`` and ``min`` are checked by
:meth:`TrainConfig.check`; a ``registry`` name (``backbone``, ``pooling``, ``loss``) must be in
that registry of :mod:`chestx.models`, checked when the model is built.

No torch here: the CLI reads this module to build its options for every command.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from chestx.data.dataset_config import dataset_option, uncertain_option, views_option
from chestx.errors import ChestxError
from chestx.fields import option
from chestx.trust.trust_config import DEFAULT_OPERATING_POINT, operating_point_option

#: ``--recipe`` values: ``auto`` picks scratch, imagenet or checkpoint by how the backbone
#: starts (the recipes themselves: ``recipes.tsv``, read by :mod:`chestx.training.recipe`).
RECIPE_NAMES = ("auto", "scratch", "imagenet", "checkpoint", "paper")

#: Options that may change when a run is resumed; all others come from its checkpoint.
RESUMABLE_OVERRIDES = ("data", "out", "epochs", "workers", "device", "amp", "progress",
                       "resume", "cache", "cache_dir")


@dataclass
class TrainConfig:
    """Everything ``chestx train`` takes. ``None`` means "the recipe's value": the options a
    recipe sets (``chestx.training.recipe.RECIPE_FIELDS`` and ``lr``) are filled by
    ``chestx.training.loop.resolve_config`` from the recipe chosen by ``recipe``."""

    data: str = option(help="Dataset folder: NIH layout or a public release's root as "
                       "shipped (CheXpert, MIMIC-CXR-JPG, PadChest, VinDr-CXR, RSNA).",
                       path=True)
    out: str = option(help="Run folder: best.pt, last.pt, metrics.csv.", path=True)
    dataset: str | None = dataset_option()
    uncertain: str = uncertain_option()
    views: str | None = views_option()
    backbone: str = option("resnet50", "Backbone: alexnet, googlenet, vgg16, resnet50, "
                           "densenet121, resnet18 or a torchvision name.", registry="backbone")
    recipe: str = option("auto", "Settings for the options left unset: auto (by how the "
                         "backbone starts: scratch, imagenet or checkpoint) or a recipe by "
                         "name; paper = section 4 exactly. Options given explicitly win.",
                         choices=RECIPE_NAMES)
    pooling: str | None = option(None, "Global pooling (recipe: lse).", registry="pooling")
    lse_r: float | None = option(None, "r of LSE pooling (recipe: 10).")
    loss: str | None = option(None, "Loss (recipe: ce; paper: W-CEL = wce).", registry="loss")
    image_size: int | None = option(None, "Input side (recipe: 1024).", min=1)
    heatmap_size: int | None = option(None, "S of the S x S heatmaps at --image-size: 8, 16 "
                                      "or 32 (dilated backbone; default: its own stride 32, "
                                      "e.g. 8 at 256 px).")
    classes: int = option(14, "14 (ChestX-ray14) or 8 (ChestX-ray8, Table 3).", choices=(14, 8))
    batch_size: int | None = option(None, "Images per forward pass (recipe: 16; paper: 8).",
                                    min=1)
    iter_size: int | None = option(None, "Batches accumulated per optimizer step (recipe: 1; "
                                   "paper: 10, batch x iter = 80).", min=1)
    epochs: int = option(10, "Training epochs.", min=1)
    lr: float | None = option(None, "Learning rate, taken as given (recipe: its rate x batch "
                              "x iter x processes / its reference batch; scratch 0.01 per 16 "
                              "images).")
    momentum: float = option(0.9, "SGD momentum.")
    weight_decay: float = option(1e-4, "Weight decay.")
    optimizer: str | None = option(None, "sgd or adamw (recipe: sgd).",
                                   choices=("sgd", "adamw"))
    half_res_epochs: int = option(0, "Progressive resizing: train the first N epochs at half "
                                  "--image-size.", min=0)
    schedule: str | None = option(None, "Learning-rate schedule, per optimizer step (recipe: "
                                  "cosine; scratch, paper: constant).",
                                  choices=("cosine", "constant"))
    warmup_epochs: float | None = option(None, "Linear warm-up in epochs, at most a tenth of "
                                         "the run (recipe: 0.5 from ImageNet weights).", min=0)
    workers: int | None = option(None, "DataLoader processes (0: in-process; default 0 on a "
                                 "CPU of <= 4 cores: they would take cores from the "
                                 "convolutions).", min=0)
    device: str = option("auto", "Where to train.", choices=("auto", "cpu", "cuda"))
    amp: bool = option(False, "Mixed precision (fp16 on GPU, bf16 on CPU).")
    pretrained: bool = option(True, "Start from torchvision's ImageNet weights (downloaded; "
                              "offline use --weights).")
    weights: str | None = option(None, "Backbone state dict (torchvision) or a chestx "
                                 "checkpoint to start from.", path=True)
    split: str = option("official", "official (test_list.txt) or random (patient-wise).",
                        choices=("official", "random"))
    seed: int = option(0, "Random seed (split, initialization, order).")
    resume: bool = option(False, "Continue the run in --out.")
    cache: bool = option(True, "Use DIR/cache when present.")
    cache_dir: str | None = option(None, "Where `chestx cache --out` wrote the cache "
                                   "(default DIR/cache).", path=True)
    augment: bool | None = option(None, "Crop/rotate/jitter the training images (recipe: off; "
                                  "imagenet: on).")
    max_train_images: int | None = option(None, "Use only the first N training images.", min=1)
    operating_point: str = operating_point_option(DEFAULT_OPERATING_POINT)
    progress: bool = option(True, cli=False)

    def check(self) -> None:
        """Raise :class:`ChestxError` for an option out of range or not among its choices."""
        problems, fields = [], []
        for item in dataclasses.fields(self):
            value, name = getattr(self, item.name), item.name
            choices, low = item.metadata.get("choices"), item.metadata.get("min")
            if choices is not None and value is not None and value not in choices:
                problems.append(f"{name} must be one of {', '.join(map(str, choices))}")
                fields.append(name)
            if low is not None and value is not None and value < low:
                problems.append(f"{name} must be >= {low}")
                fields.append(name)
        if self.pooling == "lse" and self.lse_r is not None and self.lse_r <= 0:
            problems.append("lse_r must be > 0")
            fields.append("lse_r")
        if not 0 <= self.half_res_epochs < self.epochs:
            problems.append("half_res_epochs must be >= 0 and below epochs")
            fields.append("half_res_epochs")
        if problems:
            raise ChestxError("; ".join(problems), remedies=dict.fromkeys(fields))
