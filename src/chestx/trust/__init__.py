"""Trust at the point of use: is an image like the training images, what do the
probabilities mean, where is each finding's threshold, and what is the model for.

- :mod:`.detectors`: out-of-distribution scores (Mahalanobis, energy) and their threshold;
- :mod:`.checks`: input checks before the model (near-constant, colour, text, too small);
- :mod:`.temperature`: temperature scaling per finding;
- :mod:`.operating`: per-finding operating points (Youden's J, sensitivity, specificity);
- :mod:`.features`: the pooled features and logits caught during a forward pass;
- :mod:`.fit` / :mod:`.state`: fitting the record a checkpoint keeps, and applying it;
- :mod:`.scoring`: ``calibration.csv`` / ``calibration.png`` of ``chestx evaluate``;
- :mod:`.card`: the model card.

Above models, localize and metrics; below training, inference, runners and serve.
"""
