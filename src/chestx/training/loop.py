"""The training loop of §4: SGD with momentum and weight decay, gradient accumulation
(``batch_size x iter_size``; the paper keeps it at 80), optional AMP, DDP under torchrun,
validation AUC every epoch, atomic ``last.pt``/``best.pt``/``metrics.csv``, and resume.

Every epoch draws its shuffling and augmentations from generators seeded by
``(seed, epoch)``, so a run stopped after epoch k and resumed reaches exactly the weights of
an uninterrupted run (on CPU, same settings).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from chestx.atomic import atomic_open, remove_leftovers
from chestx.data.releases import data_options
from chestx.data.tensors import resize
from chestx.errors import ChestxError
from chestx.models import LOSSES, POOLINGS, build_model, get_loss
from chestx.models.checkpoint import save_checkpoint
from chestx.models.state import read_checkpoint
from chestx.progress import new_progress, stderr_console
from chestx.training.augment import Augment
from chestx.training.distributed import Context, default_workers, setup, teardown
from chestx.training.loaders import collate_readable, image_dataset, split_ids
from chestx.training.recipe import (
    RECIPE_FIELDS,
    choose_recipe,
    learning_rate,
    too_few_steps,
    warmup_steps,
)
from chestx.training.train_config import RESUMABLE_OVERRIDES, TrainConfig
from chestx.training.trust_fit import calibrate_checkpoint, trust_line
from chestx.training.validation import validate


@dataclass
class TrainResult:
    """What a run ended with: its folder, the best mean val AUC and its epoch, all rows."""

    out: Path
    best_auc: float
    best_epoch: int
    epochs: int
    metrics: list[dict] = field(default_factory=list)


def train(config: TrainConfig,
          on_epoch_end: Callable[[int, dict], None] | None = None) -> TrainResult:
    """Train (or resume) the run in ``config.out``; ``on_epoch_end(epoch, row)`` is called on
    every process after each epoch is saved."""
    context = setup(config.device)
    try:
        return _train(config, context, on_epoch_end)
    finally:
        teardown(context)


def _check_names(config: TrainConfig) -> None:
    """``loss`` and ``pooling`` must name entries of their registries."""
    for name, registry in (("loss", LOSSES), ("pooling", POOLINGS)):
        if getattr(config, name) not in registry:
            raise ChestxError(f"{name} {getattr(config, name)!r}: choose from "
                              f"{', '.join(registry.names())}", remedies={name: None})


def _resumed(config: TrainConfig, state: dict) -> TrainConfig:
    saved = dict(state.get("train_config") or {})
    known = {f.name for f in fields(TrainConfig)}
    merged = {k: v for k, v in saved.items() if k in known}
    merged.update({k: getattr(config, k) for k in RESUMABLE_OVERRIDES})
    return TrainConfig(**merged)


def resolve_config(config: TrainConfig, world_size: int = 1,
                   device: torch.device | None = None) -> tuple[TrainConfig, dict]:
    """Fill every unset (``None``) option from the recipe; returns ``(config, recipe)``
    where ``config.recipe`` names the recipe taken and ``recipe`` records it for the
    checkpoint (name, the options given explicitly, the learning-rate rule).

    The recipe's learning rate is for ``reference_batch`` images per optimizer step and is
    scaled linearly to ``batch_size x iter_size x world_size``; an explicit ``lr`` wins."""
    recipe = choose_recipe(config.recipe, config.pretrained, config.weights)
    given = sorted(name for name in (*RECIPE_FIELDS, "lr") if getattr(config, name) is not None)
    filled = replace(config, recipe=recipe.name, **{
        name: getattr(recipe, name) for name in RECIPE_FIELDS if getattr(config, name) is None})
    images_per_step = filled.batch_size * filled.iter_size * world_size
    if filled.lr is None:
        filled.lr = recipe.scaled_lr(images_per_step)
    if filled.workers is None:
        filled.workers = default_workers(device or torch.device("cpu"))
    record = {"name": recipe.name, "given": given, "images_per_step": images_per_step,
              "lr_rule": (f"{recipe.lr:g} per {recipe.reference_batch} images, linear in "
                          "batch x iter x processes" if "lr" not in given else "given")}
    return filled, record


def _lr(config: TrainConfig, step: int, total: int, warmup: int = 0) -> float:
    if config.half_res_epochs:  # one cosine cycle per resolution: a warm restart at full size
        split = total * config.half_res_epochs // config.epochs
        step, total = (step, split) if step < split else (step - split, total - split)
    return learning_rate(config.lr, step, total, warmup, config.schedule or "cosine")


def make_optimizer(net: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum as in the paper, or AdamW (same ``lr``/``weight_decay`` flags)."""
    if config.optimizer == "adamw":
        return torch.optim.AdamW(net.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    return torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def _loader(dataset: Dataset, config: TrainConfig, context: Context, epoch: int) -> DataLoader:
    if context.distributed:
        sampler = DistributedSampler(dataset, num_replicas=context.world_size,
                                     rank=context.rank, shuffle=True, seed=config.seed)
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(
            config.seed * 100_003 + epoch))
    # drop the ragged last batch: a batch of one breaks BatchNorm on small feature maps
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler,
                      num_workers=config.workers, collate_fn=collate_readable,
                      pin_memory=context.device.type == "cuda",
                      drop_last=len(dataset) // context.world_size > config.batch_size)


def half_resolution(images: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` -> ``(N, 1, H // 2, W // 2)``, antialiased like the cache's resize.

    Progressive resizing: early epochs at half the side cost a quarter of the compute and
    learn the coarse findings; the last epochs at full size adapt to the test resolution. The
    network is fully convolutional up to the global pooling, so nothing else changes."""
    half = resize(images, (images.shape[-2] // 2, images.shape[-1] // 2))
    return half.contiguous(memory_format=torch.channels_last)


def _autocast(config: TrainConfig, device: torch.device):
    if not config.amp:
        return nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype)


def _empty_backward(net: torch.nn.Module, sample: torch.Tensor) -> None:
    """Join the gradient all-reduce with zero gradients on a rank whose batch was empty (all
    its images unreadable), so that the other ranks do not wait for it forever. The forward
    runs in eval mode on ``sample`` (the shape of a batch of 2) so BatchNorm statistics do
    not move."""
    was_training = net.training
    net.eval()
    (net(sample).sum() * 0.0).backward()
    net.train(was_training)


def _group_sizes(batches: int, iter_size: int) -> list[int]:
    """Micro-batches in each accumulation group of an epoch of ``batches`` batches: groups of
    ``iter_size`` and a shorter last one when ``iter_size`` does not divide ``batches``."""
    return [min(iter_size, batches - start) for start in range(0, batches, iter_size)]


def _train_epoch(net: torch.nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, config: TrainConfig, context: Context,
                 epoch: int, first_step: int, total_steps: int, warmup: int = 0
                 ) -> tuple[float, int, int]:
    """One pass over ``loader``; returns (mean loss, images seen, optimizer steps done).

    Each micro-batch's loss is divided by the number of micro-batches of its accumulation
    group (the last group of an epoch may be shorter), so that a step always follows the
    mean gradient of the images it saw: ``batch b x iter k`` is one batch of ``k*b``."""
    loss_fn = get_loss(config.loss)
    augment = Augment() if config.augment else None
    generator = torch.Generator().manual_seed(config.seed * 7_919 + epoch * 31 + context.rank)
    net.train()
    optimizer.zero_grad(set_to_none=True)
    total_loss, seen, steps, batches = 0.0, 0, 0, len(loader)
    groups = _group_sizes(batches, config.iter_size)
    side = config.image_size // 2 if epoch <= config.half_res_epochs else config.image_size
    blank = torch.zeros(2, 1, side, side, device=context.device).contiguous(
        memory_format=torch.channels_last)
    has_gradient = False
    show = config.progress and context.main
    with (new_progress() if show else nullcontext()) as progress:
        task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=batches) if show \
            else None
        for index, batch in enumerate(loader):
            group = groups[index // config.iter_size]
            boundary = (index + 1) % config.iter_size == 0 or index + 1 == batches
            sync = net.no_sync() if context.distributed and not boundary else nullcontext()
            with sync:
                if batch is not None:
                    images, labels = _prepare(batch, augment, generator, config, context, epoch)
                    with _autocast(config, context.device):
                        logits = net(images)
                    loss = loss_fn(logits.float(), labels)
                    scaler.scale(loss / group).backward()
                    total_loss += loss.item() * len(images)
                    seen += len(images)
                    has_gradient = True
                elif context.distributed:
                    _empty_backward(net, blank)
                    has_gradient = True
            if boundary:
                if has_gradient:  # a group of unreadable batches only: nothing to step on
                    for group_ in optimizer.param_groups:
                        group_["lr"] = _lr(config, first_step + steps, total_steps, warmup)
                    scaler.step(optimizer)
                    scaler.update()
                optimizer.zero_grad(set_to_none=True)
                has_gradient = False
                steps += 1
            if progress is not None:
                progress.update(task, advance=1, description=(
                    f"epoch {epoch}/{config.epochs} loss {total_loss / max(seen, 1):.4f}"))
    return total_loss / max(seen, 1), seen, steps


def _prepare(batch: tuple[torch.Tensor, torch.Tensor], augment: Augment | None,
             generator: torch.Generator, config: TrainConfig, context: Context, epoch: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader batch on the device: augmented, and at half size in the first epochs."""
    images = batch[0].to(context.device, non_blocking=True, memory_format=torch.channels_last)
    labels = batch[1].to(context.device, non_blocking=True)
    if augment is not None:
        images = augment(images, generator)
    if epoch <= config.half_res_epochs:
        images = half_resolution(images)
    return images, labels


def recipe_line(config: TrainConfig, recipe: dict, images: int, steps_per_epoch: int,
                warmup: int, world_size: int = 1) -> str:
    """The one line a run starts with: images, images per optimizer step, optimizer steps,
    learning rate and recipe (with the options given explicitly)."""
    given = f"; given: {', '.join(recipe['given'])}" if recipe.get("given") else ""
    pooling = f"lse r={config.lse_r:g}" if config.pooling == "lse" else config.pooling
    return (f"train: {images} images, {config.batch_size} x {config.iter_size} x "
            f"{world_size} = {config.batch_size * config.iter_size * world_size} per optimizer "
            f"step, {steps_per_epoch * config.epochs} optimizer steps ({steps_per_epoch} x "
            f"{config.epochs} epochs), {config.optimizer} lr {config.lr:.4g} "
            f"({recipe.get('lr_rule', 'given')}), warm-up {warmup} steps, {config.schedule}; "
            f"recipe {config.recipe}: loss {config.loss}, pooling {pooling}, augment "
            f"{'on' if config.augment else 'off'}, {config.image_size} px{given}")


def _announce(config: TrainConfig, recipe: dict, images: int, steps_per_epoch: int,
              warmup: int, world_size: int) -> None:
    # plain prints: one line each, never wrapped to a console width
    print(recipe_line(config, recipe, images, steps_per_epoch, warmup, world_size),
          file=sys.stderr)
    warning = too_few_steps(steps_per_epoch * config.epochs, images,
                            config.batch_size * config.iter_size * world_size, config.epochs)
    if warning:
        print(warning, file=sys.stderr)


def _write_metrics(out: Path, metrics: list[dict]) -> None:
    with atomic_open(out / "metrics.csv") as handle:
        pd.DataFrame(metrics).to_csv(handle, index=False, float_format="%.6g")


def _train(config: TrainConfig, context: Context,
           on_epoch_end: Callable[[int, dict], None] | None) -> TrainResult:

    out = Path(config.out)
    last = out / "last.pt"
    state = None
    if last.is_file():
        if not config.resume:
            raise ChestxError(f"{last}: a run is already there; resume it or choose another "
                              "run folder", remedies={"resume": True, "out": None})
        state = read_checkpoint(last)
        config = _resumed(config, state)
        for name in ("last.pt", "best.pt", "metrics.csv"):  # temps of a killed run
            remove_leftovers(out / name)
    config.check()
    config, recipe = resolve_config(config, context.world_size, context.device)
    if state is not None and state.get("recipe"):
        recipe = state["recipe"]
    _check_names(config)
    torch.manual_seed(config.seed)
    model = build_model(config.backbone, config.classes, config.pooling, config.lse_r,
                        pretrained=config.pretrained and state is None,
                        weights=config.weights if state is None else None,
                        image_size=config.image_size, heatmap_size=config.heatmap_size)
    model.config = dataclasses.replace(model.config, loss=config.loss)
    if state is not None:
        model.load_state_dict(state["model_state"])
    # channels-last convolutions run ~10 % faster on CPU (oneDNN) and use tensor cores on GPU
    model.to(context.device, memory_format=torch.channels_last)
    options = data_options(config)
    ids = split_ids(config.data, config.split, config.seed, options)
    train_ids = ids["train"][: config.max_train_images] if config.max_train_images else ids[
        "train"]
    # in-process loading keeps the decoded images: decoding PNGs was ~6 % of a CPU epoch
    in_memory = config.workers == 0
    train_set = image_dataset(config.data, train_ids, config.classes, config.image_size,
                              config.cache, config.cache_dir, in_memory, options)
    val_set = image_dataset(config.data, ids["val"], config.classes, config.image_size,
                            config.cache, config.cache_dir, in_memory, options
                            ) if context.main else None
    net: torch.nn.Module = model
    if context.distributed:
        net = DistributedDataParallel(
            model, device_ids=[context.device.index] if context.device.type == "cuda" else None)
    optimizer = make_optimizer(net, config)
    scaler = torch.amp.GradScaler("cuda", enabled=config.amp and context.device.type == "cuda")
    metrics: list[dict] = []
    best_auc, best_epoch, done = -math.inf, 0, 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer_state"])
        if state.get("scaler_state"):
            scaler.load_state_dict(state["scaler_state"])
        metrics = list(state["metrics"])
        best_auc, best_epoch, done = state["best_auc"], state["best_epoch"], state["epoch"]
        if context.main and config.progress:
            stderr_console.print(f"resuming {out} after epoch {done}")
    per_epoch = math.ceil(len(_loader(train_set, config, context, 0)) / config.iter_size)
    warmup = warmup_steps(config.warmup_epochs, per_epoch, config.epochs * per_epoch)
    if context.main:
        _announce(config, recipe, len(train_set), per_epoch, warmup, context.world_size)
    for epoch in range(done + 1, config.epochs + 1):
        started = time.perf_counter()
        loader = _loader(train_set, config, context, epoch)
        lr = _lr(config, (epoch - 1) * per_epoch, config.epochs * per_epoch, warmup)
        loss, seen, _ = _train_epoch(net, loader, optimizer, scaler, config, context, epoch,
                                     (epoch - 1) * per_epoch, config.epochs * per_epoch, warmup)
        train_seconds = time.perf_counter() - started
        row = {"epoch": epoch, "train_loss": loss, "lr": lr,
               "train_images_per_s": seen * context.world_size / max(train_seconds, 1e-9)}
        if context.main:
            row |= validate(model, val_set, config.loss, config.batch_size, context.device,
                            config.workers, config.amp)
            row["seconds"] = time.perf_counter() - started
            metrics.append(row)
            improved = math.isfinite(row["val_auc"]) and row["val_auc"] > best_auc
            if improved or best_epoch == 0:
                best_auc = row["val_auc"] if math.isfinite(row["val_auc"]) else best_auc
                best_epoch = epoch
            extra = {"train_config": asdict(config), "recipe": recipe, "best_auc": best_auc,
                     "best_epoch": best_epoch, "scaler_state": scaler.state_dict()}
            if best_epoch == epoch:
                # the model to use; resuming reads last.pt, so no optimizer state here (it
                # would double the file and the write)
                save_checkpoint(out / "best.pt", model, epoch, None, metrics, **extra)
            save_checkpoint(last, model, epoch, optimizer, metrics, **extra)
            _write_metrics(out, metrics)
            if config.progress:
                stderr_console.print(
                    f"epoch {epoch}/{config.epochs}  train loss {loss:.4f}  val loss "
                    f"{row['val_loss']:.4f}  val AUC {row['val_auc']:.4f}"
                    f"{'  (best)' if best_epoch == epoch else ''}  {row['seconds']:.0f} s")
        context.barrier()
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    if context.main:
        _add_trust(config, out / "best.pt", context.device)
    return TrainResult(out, best_auc, best_epoch, config.epochs, metrics)


def _add_trust(config: TrainConfig, best: Path, device: torch.device) -> None:
    """Out-of-distribution statistics, temperatures and operating points into ``best.pt``
    (see :mod:`chestx.training.trust_fit`); one line says what was fitted."""
    try:
        done = calibrate_checkpoint(best, config.data, config.operating_point,
                                    batch_size=config.batch_size, device=device,
                                    workers=config.workers or 0, use_cache=config.cache,
                                    cache_dir=config.cache_dir, options=data_options(config))
    except (ValueError, ChestxError) as exc:  # e.g. a validation part too small to fit on
        print(f"trust: not fitted ({exc}); run `chestx calibrate` later", file=sys.stderr)
        return
    print(trust_line(done), file=sys.stderr)
