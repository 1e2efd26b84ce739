"""``chestx annotate`` options, without a server (uvicorn is replaced by a recorder)."""

from __future__ import annotations

import pytest
from serve_fixtures import make_dataset

from chestx.data.bbox_csv import write_bbox_list

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def test_annotate_listens_on_localhost_and_seeds_an_existing_list(run_cli, tmp_path, captured):
    data = make_dataset(tmp_path / "nih", size=64)
    write_bbox_list(data / "BBox_List_2017.csv", [("00000002_000.png", "Mass", 1, 2, 3, 4)])
    code, _, err = run_cli("annotate", data, "--annotator", "dr x")
    assert code == 0, err
    app, host, port = captured[0]
    assert (host, port) == ("127.0.0.1", 8000) and "warning" not in err
    assert "http://127.0.0.1:8000/" in err and "wrote the 1 boxes" in err
    assert (data / "annotations" / "00000002_000_Mass_1.xml").is_file()
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        assert client.get("/api/config").json()["annotator"] == "dr x"
        assert client.get("/api/images/00000002_000.png").json()["boxes"][0]["x"] == 1


def test_annotate_warns_when_exposed(run_cli, tmp_path, captured):
    data = make_dataset(tmp_path / "nih", size=64)
    code, _, err = run_cli("annotate", data, "--host", "0.0.0.0", "--port", "9001")
    assert code == 0 and captured[0][1:] == ("0.0.0.0", 9001)
    assert "warning: listening on 0.0.0.0" in err


def test_annotate_bad_input_is_one_line(run_cli, tmp_path, captured):
    code, _, err = run_cli("annotate", tmp_path / "nothing")
    assert code == 2 and err.startswith("error: ") and "nothing" in err
    data = make_dataset(tmp_path / "nih", size=64)
    code, _, err = run_cli("annotate", data, "--checkpoint", tmp_path / "none.pt")
    assert code == 2 and "none.pt: checkpoint not found" in err
    assert not captured


def test_annotate_refuses_a_folder_it_cannot_write(run_cli, tmp_path, captured):
    data = make_dataset(tmp_path / "nih", size=64)
    (data / "annotations").write_text("a file where the folder should be")
    code, _, err = run_cli("annotate", data)
    assert code == 2 and "annotations: cannot write the annotations" in err
    assert not captured
