"""The versioned store of hand-drawn boxes: checks, numbering, stale edits refused, seeding
from an existing list, and the ``boxes`` commands without torch."""

from __future__ import annotations

import pytest

from chestx.data.annotations import AnnotationStore, ConflictError, InvalidBoxError, check_box
from chestx.data.bbox_csv import read_bbox_list, write_bbox_list
from chestx.data.voc import read_voc
from chestx.errors import ChestxError


@pytest.mark.parametrize("box, words", [
    (("Mass", 0, 0, 0, 5), "positive"),
    (("Mass", 0, 0, 5, -1), "positive"),
    (("Mass", -0.5, 0, 5, 5), "leaves the 100x50 image"),
    (("Mass", 96, 0, 5, 5), "leaves"),
    (("Mass", 0, 46, 5, 5), "leaves"),
    (("Mass", float("inf"), 0, 5, 5), "finite"),
    (("Broken rib", 0, 0, 5, 5), "unknown finding 'Broken rib'"),
])
def test_check_box_refuses(box, words):
    with pytest.raises(InvalidBoxError, match=words):
        check_box(*box, 100, 50)


def test_check_box_accepts_the_whole_image_and_aliases():
    assert check_box("Infiltrate", 0, 0, 100, 50, 100, 50) == "Infiltration"
    assert check_box("mass", 10, 10, 90, 40, 100, 50) == "Mass"


def test_store_numbers_versions_and_refuses_stale_edits(tmp_path):
    store = AnnotationStore(tmp_path)
    first = store.create("a.png", "Nodule", (1, 2, 3, 4), (64, 64), annotator="alice")
    second = store.create("a.png", "nodule", (5, 6, 7, 8), (64, 64), annotator="bob")
    assert (first.id, second.id) == ("a_Nodule_1", "a_Nodule_2")
    assert read_bbox_list(tmp_path).values.tolist() == [["a.png", "Nodule", 1, 2, 3, 4],
                                                        ["a.png", "Nodule", 5, 6, 7, 8]]
    moved = store.update(first.id, (10, 2, 3, 4), version=1, uid=first.uid, annotator="carol")
    assert (moved.version, moved.annotator, moved.uid) == (2, "carol", first.uid)
    with pytest.raises(ConflictError, match="changed meanwhile by carol"):
        store.update(first.id, (20, 2, 3, 4), version=1, uid=first.uid)
    with pytest.raises(ConflictError):
        store.delete(first.id, version=1, uid=first.uid)
    with pytest.raises(InvalidBoxError):
        store.update(first.id, (62, 2, 3, 4), version=2, uid=first.uid)
    assert store.get(first.id) == moved
    store.delete(second.id, version=1, uid=second.uid)
    with pytest.raises(ConflictError, match="deleted meanwhile"):
        store.update(second.id, (5, 6, 7, 8), version=1, uid=second.uid)
    assert read_bbox_list(tmp_path).values.tolist() == [["a.png", "Nodule", 10, 2, 3, 4]]
    assert [b.id for b in store.boxes("a.png")] == ["a_Nodule_1"] and store.boxes("b.png") == []


def test_store_sees_files_written_by_another_store(tmp_path):
    """Two servers on one folder: the file on disk, not a memory copy, decides."""
    one, two = AnnotationStore(tmp_path), AnnotationStore(tmp_path)
    box = one.create("a.png", "Mass", (1, 1, 5, 5), (32, 32))
    assert [b.id for b in two.boxes()] == [box.id]
    two.update(box.id, (2, 2, 5, 5), version=1, uid=box.uid)
    with pytest.raises(ConflictError):
        one.update(box.id, (3, 3, 5, 5), version=1, uid=box.uid)
    made = two.create("a.png", "Mass", (9, 9, 5, 5), (32, 32))
    assert made.k == 2 and len(read_bbox_list(tmp_path)) == 2


def test_seeding_turns_an_existing_list_into_instances(tmp_path):
    write_bbox_list(tmp_path / "BBox_List_2017.csv", [("a.png", "Mass", 1, 2, 3, 4),
                                                      ("a.png", "Mass", 5, 6, 7, 8),
                                                      ("b.png", "Infiltration", 1, 1, 2, 2)])
    store = AnnotationStore(tmp_path)
    assert store.seed_from_list(lambda image: (64, 48)) == 3
    assert sorted(p.name for p in (tmp_path / "annotations").glob("*.xml")) == [
        "a_Mass_1.xml", "a_Mass_2.xml", "b_Infiltration_1.xml"]
    assert read_voc(tmp_path / "annotations" / "a_Mass_2.xml").height == 48
    assert store.seed_from_list(lambda image: (64, 48)) == 0  # the list matches the files now


def test_seeding_refuses_a_list_with_boxes_the_files_lack(tmp_path):
    store = AnnotationStore(tmp_path)
    store.create("a.png", "Mass", (1, 2, 3, 4), (64, 64))
    write_bbox_list(tmp_path / "BBox_List_2017.csv", [("a.png", "Mass", 1, 2, 3, 4),
                                                      ("c.png", "Nodule", 1, 2, 3, 4)])
    with pytest.raises(ChestxError, match="1 boxes .*c.png Nodule.* are not in"):
        store.seed_from_list(lambda image: (64, 64))


def test_boxes_commands_do_not_import_torch(tmp_path):
    """The box storage is layer 2 without torch: converting lists starts fast."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    gt = write_bbox_list(tmp_path / "gt.csv", [("a.png", "Mass", 1, 2, 3, 4)])
    code = ("import sys\nfrom chestx.cli import main\n"
            f"one = main(['boxes', 'export-voc', '--gt', {str(gt)!r}, '--out', "
            f"{str(tmp_path / 'voc')!r}])\n"
            f"two = main(['boxes', 'import-voc', {str(tmp_path / 'voc')!r}, '--out', "
            f"{str(tmp_path / 'again.csv')!r}])\n"
            "print(one, two, 'torch' in sys.modules)\n")
    src = Path(__file__).resolve().parents[2] / "src"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(src)}, check=True)
    assert result.stdout.splitlines()[-1] == "0 0 False", result.stdout + result.stderr
    assert (tmp_path / "again.csv").read_text() == gt.read_text()
