"""``chestx predict`` from its settings: the predictor from a checkpoint, the hand-drawn boxes
to judge the overlays against (when given), the run over files and folders."""

from __future__ import annotations

from chestx.data.bbox_csv import boxes_by_image
from chestx.data.releases import data_options, ground_truth_boxes
from chestx.inference.predict_config import PredictConfig
from chestx.inference.predictor import Predictor, PredictRun, predict_paths


def run_predict(config: PredictConfig, progress: bool = True) -> PredictRun:
    """Predict every image of ``config.inputs`` (files or folders; unreadable ones skipped);
    with ``config.out``, write the tables and overlays there (resumable)."""
    predictor = Predictor.from_checkpoint(config.checkpoint, threshold=config.threshold,
                                          box_method=config.box_method,
                                          batch_size=config.batch_size,
                                          heatmap=config.heatmap,
                                          heatmap_size=config.heatmap_size,
                                          operating_point=config.operating_point)
    truth = (boxes_by_image(ground_truth_boxes(config.gt, data_options(config, views="all")))
             if config.gt is not None else None)
    return predict_paths(predictor, config.inputs, out_dir=config.out, progress=progress,
                         resume=config.resume, truth=truth, save_heatmaps=config.save_heatmaps)
