"""Heatmap sources: a model and images -> logits and one heatmap per class.

A registry maps a name to a callable ``source(model, images, classes=None)`` that takes a
:class:`~chestx.models.ChestXNet` and ``images (N, 1, H, W)`` in [0, 1] and returns
``(logits (N, C), heatmaps (N, C, S, S))`` on the CPU, float32:

- ``cam`` (the paper's, §3.2): the transition activations weighted by the prediction layer,
  ``heatmaps[n, c] = sum_d W[c, d] * transition[n, d]``, one forward pass for every class.
- ``gradcam`` / ``gradcam++``: Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay
  et al. 2018), the channel weights computed by the ``grad-cam`` package from the gradient of
  each class's logit. They weigh the *backbone's* output (the layer before the transition):
  on the transition layer itself Grad-CAM equals CAM up to a constant factor, since the
  pooled logit is linear in it (weights ``W / S^2`` under average pooling, nearly so under
  LSE). One backward pass per class asked for; classes not in ``classes`` get zero maps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

HeatmapSource = Callable[..., tuple[torch.Tensor, torch.Tensor]]

#: The heatmap source chestx uses unless told otherwise (the paper's).
DEFAULT_SOURCE = "cam"


def cam_heatmaps(model: torch.nn.Module, images: torch.Tensor,
                 classes: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's class activation maps: ``(logits (N, C), heatmaps (N, C, S, S))``."""
    with torch.inference_mode():
        logits, heatmaps = model.forward_heatmaps(images)
    return logits.float().cpu(), heatmaps.float().cpu()


def _gradient_heatmaps(method: str, model: torch.nn.Module, images: torch.Tensor,
                       classes: Sequence[int] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass, then per class one backward pass and the package's channel weights
    on the backbone's output; ReLU as in Grad-CAM. Returns CPU float32 tensors."""
    # grad-cam pulls in OpenCV (seconds): loaded when a gradient source is first used
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = getattr(pytorch_grad_cam, method)(model=model, target_layers=[model.backbone])
    try:
        with torch.enable_grad():
            logits = cam.activations_and_grads(images)
            activations = cam.activations_and_grads.activations[0].numpy()
            num = logits.shape[1]
            maps = np.zeros((logits.shape[0], num, *activations.shape[-2:]), np.float32)
            for c in range(num) if classes is None else sorted(set(classes)):
                targets = [ClassifierOutputTarget(c)] * logits.shape[0]
                model.zero_grad(set_to_none=True)
                cam.activations_and_grads.gradients = []
                logits[:, c].sum().backward(retain_graph=True)
                grads = cam.activations_and_grads.gradients[0].numpy()
                raw = cam.get_cam_image(images, model.backbone, targets, activations, grads)
                maps[:, c] = np.maximum(raw, 0)
    finally:
        cam.activations_and_grads.release()
        model.zero_grad(set_to_none=True)
    return logits.detach().float().cpu(), torch.from_numpy(maps)


def gradcam_heatmaps(model: torch.nn.Module, images: torch.Tensor,
                     classes: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM maps on the backbone's output: ``(logits (N, C), heatmaps (N, C, S', S'))``."""
    return _gradient_heatmaps("GradCAM", model, images, classes)


def gradcampp_heatmaps(model: torch.nn.Module, images: torch.Tensor,
                       classes: Sequence[int] | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM++ maps on the backbone's output: ``(logits (N, C), heatmaps (N, C, S', S'))``."""
    return _gradient_heatmaps("GradCAMPlusPlus", model, images, classes)


#: name -> source (see the module docstring).
HEATMAP_SOURCES: dict[str, HeatmapSource] = {
    "cam": cam_heatmaps,
    "gradcam": gradcam_heatmaps,
    "gradcam++": gradcampp_heatmaps,
}


def heatmap_source(name: str) -> HeatmapSource:
    """The source registered as ``name`` (unknown names: ValueError listing the choices)."""
    if name not in HEATMAP_SOURCES:
        raise ValueError(f"unknown heatmap source {name!r} (choose from "
                         f"{', '.join(HEATMAP_SOURCES)})")
    return HEATMAP_SOURCES[name]
