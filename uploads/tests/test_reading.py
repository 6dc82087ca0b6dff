"""What the upload asks of the reader: the preview with a mapping, and the sizes a compressed file declares."""

from __future__ import annotations

import gzip
import io
import zipfile

from uploads import reading


def test_columns_named_otherwise_are_guessed_and_a_correction_wins(tmp_path):
    path = tmp_path / "a.upload"
    path.write_bytes(b"day,shop,product,units,qty\n2017-01-01,1,1,5,7\n")
    guessed = reading.file_preview(path=path)
    assert guessed.layout == "long" and guessed.missing == []
    assert guessed.mapping == {"date": "day", "store": "shop", "item": "product", "sales": "units"}
    corrected = reading.file_preview(path=path, columns={"qty": "sales"})
    assert corrected.mapping == {"date": "day", "store": "shop", "item": "product", "sales": "qty"}
    assert [(c.name, c.role) for c in corrected.columns][3:] == [("units", ""), ("qty", "sales")]


def test_a_layout_the_reader_knows_needs_no_mapping(tmp_path):
    path = tmp_path / "a.upload"
    path.write_bytes(gzip.compress(b"id,date,store_nbr,item_nbr,unit_sales,onpromotion\n0,2017-01-01,1,1,5.5,False\n"))
    preview = reading.file_preview(path=path)
    assert (preview.layout, preview.compression, preview.mapping) == ("favorita", "gzip", {})


def test_the_size_a_zip_declares_counts_every_member(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", b"x" * 1000)
        archive.writestr("stores.csv", b"y" * 500)
    path = tmp_path / "a.upload"
    path.write_bytes(buffer.getvalue())
    assert reading.file_expanded_bytes(path) == 1500


def test_a_files_kind_is_guessed_from_its_header():
    guesses = {
        "store_nbr,city,state,type,cluster": "stores",
        "item_nbr,family,class,perishable": "items",
        "date,wm_yr_wk,weekday,wday,month,year,d,event_name_1": "calendar",
        "code,name,region": "stores",
        "code,name,category": "items",
        "day,store,item,units": "sales",
        "date,store_nbr,item_nbr,unit_sales": "sales",
        "code,name": "sales",
    }
    assert {header: reading.kind_guess(header.split(",")) for header in guesses} == guesses


def test_a_companion_file_is_previewed_with_the_roles_the_reader_finds(tmp_path):
    path = tmp_path / "a.upload"
    path.write_bytes(b"date,wm_yr_wk,d\n2011-01-29,11101,d_1\n")
    preview = reading.file_preview(path=path)
    assert (preview.kind, preview.layout, preview.missing) == ("calendar", "calendar", [])
    assert [(c.name, c.role) for c in preview.columns] == [("date", "date"), ("wm_yr_wk", ""), ("d", "d")]
    # Called a stores file, it lacks the store's code.
    assert reading.file_preview(path=path, kind="stores").missing == ["store"]
