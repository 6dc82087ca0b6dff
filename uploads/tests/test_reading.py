"""What the upload reads from a file before the loader does: the plain CSV it hands over, and the
compression bomb whose header lies."""

from __future__ import annotations

import gzip

import pytest

from uploads import reading

CSV = b"Day,Shop,Product,Units,date\n2017-01-01,1,1,5,x\n"
MAPPING = {"Day": "date", "Shop": "store", "Product": "item", "Units": "sales", "date": ""}


def test_a_file_already_in_the_loaders_shape_is_handed_over_as_it_is(tmp_path):
    path = tmp_path / "a.upload"
    path.write_bytes(b"date,store,item,sales\n2017-01-01,1,1,5\n")
    columns = {"date": "date", "store": "store", "item": "item", "sales": "sales"}
    assert reading.file_prepared_bytes(path=path, columns=columns) == 0
    assert reading.file_prepare(path=path, columns=columns, target=tmp_path / "b.csv") == path


def test_the_mapping_renames_the_header_and_a_column_left_out_gives_up_its_name(tmp_path):
    path = tmp_path / "a.upload"
    path.write_bytes(gzip.compress(CSV))
    prepared = reading.file_prepare(path=path, columns=MAPPING, target=tmp_path / "b.csv")
    assert prepared.read_bytes() == b"date,store,item,sales,ignored_date\n2017-01-01,1,1,5,x\n"


def test_a_gzip_whose_header_understates_its_size_is_refused_as_it_expands(tmp_path, settings):
    settings.UPLOAD_MAX_EXPANSION_RATIO = 100
    data = bytearray(gzip.compress(b"date,store,item,sales\n" + b"0" * 20_000_000))
    data[-4:] = (1000).to_bytes(4, "little")  # the trailer claims 1,000 bytes
    path = tmp_path / "a.upload"
    path.write_bytes(bytes(data))
    reading.file_expansion_check(path)  # the header alone lets it through
    with pytest.raises(reading.FileRefused, match="compression bomb"):
        reading.file_prepare(path=path, columns={}, target=tmp_path / "b.csv")
    assert not (tmp_path / "b.csv").exists()
