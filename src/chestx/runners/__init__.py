"""End-to-end runners above training and inference: ``chestx evaluate`` (:mod:`.evaluate`,
a checkpoint on a dataset split) and ``chestx reproduce`` (:mod:`.reproduce`, the paper's
tables from training to evaluation)."""
