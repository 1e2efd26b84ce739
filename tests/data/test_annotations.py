"""Boxes on disk: PASCAL VOC files, the one BBox_List_2017.csv writer, the versioned store,
``chestx boxes export-voc / import-voc`` (and the round trip of NIH's real list)."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from chestx.data.annotations import (
    AnnotationStore,
    BoxAnnotation,
    ConflictError,
    InvalidBoxError,
    check_box,
    export_voc,
    import_voc,
    read_voc,
    voc_xml,
    write_bbox_list,
    write_voc,
)
from chestx.data.nih import read_bbox_list
from chestx.errors import ChestxError

NIH_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"


def test_voc_file_holds_one_object_with_exact_corners(tmp_path):
    box = BoxAnnotation("00000007_001.png", "Pleural_Thickening", 0.1, 225.084745762712, 0.2,
                        79.1864406779661, 1024, 1000, k=3, annotator="alice",
                        time="2026-12-03T17:00:00Z", version=4, uid="abc")
    path = write_voc(tmp_path, box)
    assert path.name == "00000007_001_Pleural_Thickening_3.xml"
    root = ET.parse(path).getroot()
    assert root.findtext("filename") == "00000007_001.png"
    assert (root.findtext("size/width"), root.findtext("size/height")) == ("1024", "1000")
    assert len(root.findall("object")) == 1
    obj = root.find("object")
    assert obj.findtext("name") == "Pleural_Thickening"
    # decimal sums: 0.1 + 0.2 is 0.3 here, not float's 0.30000000000000004
    assert obj.findtext("bndbox/xmax") == "0.3"
    assert obj.findtext("bndbox/ymax") == "304.2711864406781"  # 225.084745762712 + 79.18...
    assert (obj.findtext("annotator"), obj.findtext("time")) == ("alice", "2026-12-03T17:00:00Z")
    assert read_voc(path) == box  # w = 0.3 - 0.1 in decimals: exactly the float 0.2


def test_read_voc_names_the_bad_file(tmp_path):
    bad = tmp_path / "x_Mass_1.xml"
    bad.write_text("<annotation><filename>x.png</filename>")
    with pytest.raises(ChestxError, match="x_Mass_1.xml: not a readable VOC"):
        read_voc(bad)
    text = voc_xml(BoxAnnotation("x.png", "Mass", 1, 2, 3, 4, 10, 10))
    bad.write_text(text.replace("<name>Mass</name>", "<name>Fracture</name>"))
    with pytest.raises(ChestxError, match="x_Mass_1.xml: not a one-object VOC"):
        read_voc(bad)


def test_the_bbox_list_writer_speaks_nih(tmp_path):
    path = write_bbox_list(tmp_path / "BBox_List_2017.csv", [
        ("00000009_000.png", "Mass", 1.5, 2, 3, 4.25),
        ("00000002_000.png", "Infiltration", 10, 20, 30, 40),
        ("00000001_000.png", "Mass", 225.084745762712, 0, 512, 1 / 3),
        ("00000003_000.png", "Atelectasis", 5, 6, 7, 8),
    ])
    assert path.read_text().splitlines() == [
        NIH_HEADER,
        "00000003_000.png,Atelectasis,5,6,7,8",
        "00000002_000.png,Infiltrate,10,20,30,40",
        "00000001_000.png,Mass,225.084745762712,0,512,0.3333333333333333",
        "00000009_000.png,Mass,1.5,2,3,4.25",
    ]
    back = read_bbox_list(path)
    assert back["Finding Label"].tolist() == ["Atelectasis", "Infiltration", "Mass", "Mass"]
    assert back["h"].tolist() == [8, 40, 1 / 3, 4.25]


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


def test_export_refuses_a_folder_with_xml_and_import_skips_bad_files(tmp_path):
    gt = write_bbox_list(tmp_path / "gt.csv", [("a.png", "Mass", 1, 2, 3, 4)])
    export_voc(gt, tmp_path / "voc")
    with pytest.raises(ChestxError, match="already holds 1 .xml"):
        export_voc(gt, tmp_path / "voc")
    (tmp_path / "voc" / "broken.xml").write_text("not xml")
    count, bad = import_voc(tmp_path / "voc", tmp_path / "out.csv")
    assert count == 1 and [p.name for p, _ in bad] == ["broken.xml"]
    (tmp_path / "only_bad").mkdir()
    (tmp_path / "only_bad" / "broken.xml").write_text("not xml")
    with pytest.raises(ChestxError, match="only_bad: no readable VOC .xml file"):
        import_voc(tmp_path / "only_bad", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_round_trip_of_nih_boxes_is_exact(shared_dir, tmp_path, run_cli):
    nih = shared_dir / "data" / "nih" / "BBox_List_2017.csv.gz"
    code, out, err = run_cli("boxes", "export-voc", "--gt", nih, "--out", tmp_path / "voc")
    assert code == 0, err
    assert "wrote 984 VOC files" in out and len(list((tmp_path / "voc").glob("*.xml"))) == 984
    code, out, err = run_cli("boxes", "import-voc", tmp_path / "voc", "--out",
                             tmp_path / "BBox_List_2017.csv")
    assert code == 0 and "wrote 984 boxes" in out, err
    original = gzip.decompress(nih.read_bytes()).decode().splitlines()
    again = (tmp_path / "BBox_List_2017.csv").read_text().splitlines()
    assert again[0] == original[0] == NIH_HEADER
    assert sorted(again[1:]) == sorted(original[1:])  # the same text, digit for digit
    columns = ["Image Index", "Finding Label", "x", "y", "w", "h"]
    before = read_bbox_list(nih).sort_values(columns).reset_index(drop=True)
    after = read_bbox_list(tmp_path / "BBox_List_2017.csv").sort_values(columns)
    assert before.equals(after.reset_index(drop=True))


def test_boxes_cli_reads_image_sizes_and_reports_bad_input(tmp_path, run_cli):
    (tmp_path / "data" / "images").mkdir(parents=True)
    Image.new("L", (300, 200)).save(tmp_path / "data" / "images" / "a.png")
    gt = write_bbox_list(tmp_path / "gt.csv", [("a.png", "Mass", 1, 2, 3, 4),
                                               ("z.png", "Mass", 1, 2, 3, 4)])
    code, _, err = run_cli("boxes", "export-voc", "--gt", gt, "--out", tmp_path / "voc",
                           "--images", tmp_path / "data", "--image-size", "512")
    assert code == 0, err
    assert (read_voc(tmp_path / "voc" / "a_Mass_1.xml").width, read_voc(
        tmp_path / "voc" / "a_Mass_1.xml").height) == (300, 200)
    assert read_voc(tmp_path / "voc" / "z_Mass_1.xml").width == 512
    code, _, err = run_cli("boxes", "export-voc", "--gt", tmp_path / "none.csv", "--out",
                           tmp_path / "v2")
    assert code == 2 and err.startswith("error: ") and "none.csv" in err
    (tmp_path / "voc" / "junk.xml").write_text("<a>")
    code, out, err = run_cli("boxes", "import-voc", tmp_path / "voc", "--out",
                             tmp_path / "o.csv")
    assert code == 0 and "skipped" in err and "junk.xml" in err and "1 files skipped" in out
    code, _, err = run_cli("boxes", "import-voc", tmp_path / "empty", "--out", tmp_path / "o.csv")
    assert code == 2 and "empty: folder not found" in err


def test_stored_size_reads_headers_of_png_and_dicom(tmp_path, make_dicom):
    import numpy as np

    from chestx.data.annotations import stored_size

    Image.new("L", (30, 20)).save(tmp_path / "a.png")
    gray = np.zeros((24, 40), dtype=np.uint8)
    gray[0, 0] = 255
    dicom = make_dicom(tmp_path / "b.dcm", gray)
    assert stored_size(tmp_path / "a.png") == (30, 20)
    assert stored_size(dicom) == (40, 24)
    (tmp_path / "c.png").write_bytes(b"not an image")
    with pytest.raises(ChestxError, match="c.png: cannot read the image size"):
        stored_size(tmp_path / "c.png")


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
