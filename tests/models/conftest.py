"""Model tests run tiny tensors: one intra-op thread is faster (and far faster on a busy CPU)."""

import pytest


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
