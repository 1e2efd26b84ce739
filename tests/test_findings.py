import numpy as np
import pytest

from chestx.findings import (
    FINDINGS,
    PAPER_8,
    canonical,
    classes_for,
    labels_to_vector,
    vector_to_labels,
)


def test_order_is_nih_order():
    assert FINDINGS[0] == "Atelectasis" and FINDINGS[-1] == "Hernia"
    assert len(FINDINGS) == 14 and PAPER_8 == FINDINGS[:8]
    assert PAPER_8[-1] == "Pneumothorax"


def test_aliases():
    assert canonical("Infiltrate") == "Infiltration"
    assert canonical("pleural_thickening") == "Pleural_Thickening"
    with pytest.raises(KeyError):
        canonical("Fracture")


def test_vectors_roundtrip():
    vec = labels_to_vector("Effusion|Infiltrate|Hernia")
    assert vec.dtype == np.float32 and vec.shape == (14,)
    assert np.flatnonzero(vec).tolist() == [2, 3, 13]
    assert vector_to_labels(vec) == "Effusion|Infiltration|Hernia"
    assert labels_to_vector("No Finding").sum() == 0
    assert vector_to_labels(np.zeros(14)) == "No Finding"
    # Hernia is not among the paper's eight: dropped, not an error.
    assert labels_to_vector("Hernia", classes_for(8)).sum() == 0
