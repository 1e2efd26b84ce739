"""PASCAL VOC instance files: exact corners, bad files named, ``chestx boxes export-voc /
import-voc`` (and the round trip of NIH's real list), image sizes from headers."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from chestx.boxes import Box
from chestx.data.bbox_csv import read_bbox_list, write_bbox_list
from chestx.data.voc import BoxAnnotation, export_voc, import_voc, read_voc, voc_xml, write_voc
from chestx.errors import ChestxError

NIH_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,"


def test_voc_file_holds_one_object_with_exact_corners(tmp_path):
    box = BoxAnnotation(Box(0.1, 225.084745762712, 0.2, 79.1864406779661,
                            finding="Pleural_Thickening", image="00000007_001.png"),
                        1024, 1000, k=3, annotator="alice",
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
    text = voc_xml(BoxAnnotation(Box(1, 2, 3, 4, finding="Mass", image="x.png"), 10, 10))
    bad.write_text(text.replace("<name>Mass</name>", "<name>Fracture</name>"))
    with pytest.raises(ChestxError, match="x_Mass_1.xml: not a one-object VOC"):
        read_voc(bad)


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

    from chestx.data.voc import stored_size

    Image.new("L", (30, 20)).save(tmp_path / "a.png")
    gray = np.zeros((24, 40), dtype=np.uint8)
    gray[0, 0] = 255
    dicom = make_dicom(tmp_path / "b.dcm", gray)
    assert stored_size(tmp_path / "a.png") == (30, 20)
    assert stored_size(dicom) == (40, 24)
    (tmp_path / "c.png").write_bytes(b"not an image")
    with pytest.raises(ChestxError, match="c.png: cannot read the image size"):
        stored_size(tmp_path / "c.png")
