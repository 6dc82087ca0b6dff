"""sales.reading: every layout and compression into the normalized stream, totals exact to the last
decimal, and each bad file refused with its file, line and column named."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from sales import reading
from sales.loading import LoadError
from sales.reading import sources
from sales.sample_layouts import sample_layout_write


def normalized(path: Path, *, columns=None, calendar=None, extras=False, stats=None) -> list[dict[str, str]]:
    layout = reading.layout_detect(path=path, columns=columns, calendar=calendar)
    text = b"".join(
        reading.sales_stream(path=path, layout=layout, calendar=calendar, extras=extras, stats=stats)
    ).decode()
    return list(csv.DictReader(io.StringIO(text)))


def total(rows, key="sales") -> Decimal:
    return sum((Decimal(row[key]) for row in rows), Decimal(0))


def source_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layouts")
    for layout in ("m5", "favorita", "walmart"):
        sample_layout_write(layout=layout, folder=root / layout, days=70, seed=7)
    return {name: root / name for name in ("m5", "favorita", "walmart")}


def test_favorita_keeps_fractional_units_and_returns_to_the_last_decimal(samples):
    source = source_rows(samples["favorita"] / "train.csv")
    rows = normalized(samples["favorita"] / "train.csv")
    assert reading.layout_detect(path=samples["favorita"] / "train.csv").name == "favorita"
    assert list(rows[0]) == ["date", "store", "item", "sales"]
    assert len(rows) == len(source)
    assert total(rows) == total(source, "unit_sales")
    assert any(Decimal(r["sales"]) < 0 for r in rows) and any("." in r["sales"] for r in rows)
    by_store = {s: total([r for r in rows if r["store"] == s]) for s in ("1", "2", "24")}
    assert by_store["24"] == total([r for r in source if r["store_nbr"] == "24"], "unit_sales")


def test_favorita_keeps_onpromotion_as_an_extra(samples):
    layout = reading.layout_detect(path=samples["favorita"] / "train.csv")
    assert layout.extras == ["onpromotion"]
    rows = normalized(samples["favorita"] / "train.csv", extras=True)
    assert {r["onpromotion"] for r in rows} == {"", "True", "False"}


def test_walmart_is_weekly_and_its_dollars_add_up(samples):
    path = samples["walmart"] / "train.csv"
    layout = reading.layout_detect(path=path)
    assert (layout.name, layout.frequency, layout.extras) == ("walmart", "W", ["IsHoliday"])
    assert layout.roles == {"date": "Date", "store": "Store", "item": "Dept", "sales": "Weekly_Sales"}
    rows = normalized(path)
    assert total(rows) == total(source_rows(path), "Weekly_Sales")


def test_a_mapping_reads_any_column_names(samples):
    path = samples["walmart"] / "train.csv"
    mapping = reading.columns_parse("date=Date,store=Store,item=Dept,sales=Weekly_Sales")
    layout = reading.layout_detect(path=path, columns=mapping)
    assert (layout.name, layout.frequency) == ("long", "W")
    assert normalized(path, columns=mapping) == normalized(path)


def test_m5_wide_becomes_long_with_its_calendar_and_hierarchy(samples):
    path, calendar = samples["m5"] / "sales_train_evaluation.csv", samples["m5"] / "calendar.csv"
    source = source_rows(path)
    days = [name for name in source[0] if name.startswith("d_")]
    stats = reading.ReadStats()
    rows = normalized(path, calendar=calendar, stats=stats)
    assert list(rows[0]) == ["date", "store", "item", "sales", "category", "department", "region"]
    assert total(rows) == sum((Decimal(r[d]) for r in source for d in days), Decimal(0))
    leading = 0
    for r in source:
        values = [int(r[d]) for d in days]
        leading += next((i for i, v in enumerate(values) if v), len(values))
    assert stats.cells == len(source) * len(days)
    assert stats.trimmed == leading and len(rows) == stats.cells - leading == stats.rows_written
    first = next(r for r in rows if r["item"] == "FOODS_3_090")
    assert (first["category"], first["department"], first["region"][:2]) == ("FOODS", "FOODS_3", first["store"][:2])
    assert min(r["date"] for r in rows) >= "2011-01-29"


def test_m5_events_come_from_the_calendar(samples):
    path, calendar = samples["m5"] / "sales_train_evaluation.csv", samples["m5"] / "calendar.csv"
    rows = normalized(path, calendar=calendar, extras=True)
    assert {r["event_name_1"] for r in rows if r["date"] == "2011-02-06"} == {"SuperBowl"}


def test_every_compression_gives_the_same_stream(samples, tmp_path):
    plain = samples["favorita"] / "train.csv"
    expected = normalized(plain)
    gz = tmp_path / "train.csv.gz"
    with plain.open("rb") as handle, gzip.open(gz, "wb") as out:
        shutil.copyfileobj(handle, out)
    inner = tmp_path / "train.csv.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(plain, "train.csv")
    outer = tmp_path / "download.zip"
    with zipfile.ZipFile(outer, "w") as archive:  # as Walmart's download: zips inside a zip
        archive.write(inner, "train.csv.zip")
        archive.writestr("features.csv.zip", b"")
        archive.writestr("stores.csv", "Store,Type,Size\n1,A,151315\n")
    import py7zr

    seven = tmp_path / "train.csv.7z"
    with py7zr.SevenZipFile(seven, "w") as archive:
        archive.write(plain, "train.csv")
    parquet = tmp_path / "train.parquet"
    table = pa.csv.read_csv(plain, convert_options=pa.csv.ConvertOptions(column_types={"unit_sales": pa.string()}))
    pq.write_table(table, parquet)
    for path in (gz, inner, outer, seven, parquet):
        assert normalized(path) == expected, path


def test_parquet_floats_and_dates_become_text(tmp_path):
    path = tmp_path / "sales.parquet"
    dates = pa.array([__import__("datetime").date(2020, 1, d) for d in (1, 2)])
    pq.write_table(pa.table({"date": dates, "store": [1, 2], "item": ["A", "B"], "sales": [2.474, -1.0]}), path)
    rows = normalized(path)
    assert rows == [
        {"date": "2020-01-01", "store": "1", "item": "A", "sales": "2.474"},
        {"date": "2020-01-02", "store": "2", "item": "B", "sales": "-1"},
    ]


def test_favorita_attribute_files(samples):
    stores = reading.attributes_read(path=samples["favorita"] / "stores.csv", kind="stores")
    assert (stores[0].code, stores[0].region, stores[0].attributes["city"]) == ("1", "Pichincha", "Quito")
    items = reading.attributes_read(path=samples["favorita"] / "items.csv", kind="items")
    never_sold = next(i for i in items if i.code == "2113914")
    assert (never_sold.category, never_sold.department, never_sold.attributes) == (
        "CLEANING",
        "3034",
        {"perishable": "0"},
    )


def test_preview_shows_layout_roles_and_types(samples):
    shown = reading.preview(path=samples["favorita"] / "train.csv", rows=5)
    assert shown.layout.name == "favorita" and len(shown.rows) == 5
    described = {c.name: (c.role, c.type) for c in shown.columns}
    assert described["unit_sales"] == ("sales", "decimal")
    assert described["date"] == ("date", "date")
    assert described["id"] == (None, "integer")
    wide = reading.preview(path=samples["m5"] / "sales_train_evaluation.csv", rows=3)
    assert wide.layout.name == "m5" and wide.hidden_columns == 70 - 7
    assert {c.name: c.role for c in wide.columns}["d_1"] == "sales"


def test_preview_of_an_unknown_layout_says_why(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("when,shop,thing\n2020-01-01,1,2\n")
    shown = reading.preview(path=path)
    assert shown.layout is None and "not a layout this reader knows" in shown.problems[0]


# ---------------------------------------------------------------- bad files


def refused(call) -> str:
    with pytest.raises(LoadError) as caught:
        call()
    return str(caught.value)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("id,date,store_nbr,item_nbr,onpromotion\n0,2013-01-01,1,96995,\n")
    message = refused(lambda: reading.layout_detect(path=path))
    assert f"{path}: line 1" in message and "lacks unit_sales" in message


def test_bad_date_names_file_line_column_and_value(samples, tmp_path):
    lines = (samples["favorita"] / "train.csv").read_text().splitlines()
    lines[7] = lines[7].replace("2013-01-", "2013-13-")
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    message = refused(lambda: normalized(path))
    assert message.startswith(f"{path}: line 8, column date: '2013-13-")
    assert "is not an ISO date" in message


def test_bad_units_name_the_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("date,store,item,sales\n2020-01-01,CA_1,FOODS_3_090,2.474\n2020-01-02,CA_1,FOODS_3_090,1.2345\n")
    assert "line 3, column sales: '1.2345'" in refused(lambda: normalized(path))


def test_a_weekly_file_with_another_weekday_is_refused(samples, tmp_path):
    lines = (samples["walmart"] / "train.csv").read_text().splitlines()
    lines[4] = lines[4].replace(lines[4].split(",")[2], "2010-03-04")
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    assert "line 5, column Date: '2010-03-04' falls on another weekday than line 2's Friday" in refused(
        lambda: normalized(path)
    )


def test_a_day_the_calendar_lacks(samples, tmp_path):
    calendar = tmp_path / "calendar.csv"
    lines = (samples["m5"] / "calendar.csv").read_text().splitlines()
    calendar.write_text("\n".join(line for line in lines if ",d_9," not in line) + "\n")
    path = samples["m5"] / "sales_train_evaluation.csv"
    message = refused(lambda: normalized(path, calendar=calendar))
    assert f"{path}: line 1, column d_9: is not a day of the calendar {calendar}" in message


def test_m5_without_a_calendar(samples):
    assert "needs its calendar" in refused(lambda: normalized(samples["m5"] / "sales_train_evaluation.csv"))


def test_an_item_in_two_departments(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "date,store,item,sales,department\n"
        "2020-01-01,CA_1,FOODS_3_090,1,FOODS_3\n2020-01-01,CA_2,FOODS_3_090,1,FOODS_3\n"
        "2020-01-02,CA_1,FOODS_3_090,1,FOODS_2\n"
    )
    message = refused(lambda: normalized(path))
    assert "line 4, column department: 'FOODS_2' puts item 'FOODS_3_090' in department 'FOODS_2', line 2" in message


def test_an_item_in_two_departments_in_a_wide_file(samples, tmp_path):
    lines = (samples["m5"] / "sales_train_evaluation.csv").read_text().splitlines()
    fields = lines[1].split(",")
    moved = [fields[0], fields[1], "HOBBIES_1", *fields[3:4], "TX_1", "TX", *fields[6:]]
    path = tmp_path / "sales_train_evaluation.csv"
    path.write_text("\n".join([*lines, ",".join(moved)]) + "\n")
    message = refused(lambda: normalized(path, calendar=samples["m5"] / "calendar.csv"))
    assert f"line {len(lines) + 1}, column dept_id: 'HOBBIES_1' puts item '{fields[1]}' in department" in message


def test_attribute_rows_without_a_code_or_twice(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "item_nbr,family,class,perishable\n96995,GROCERY I,1093,0\n,BEVERAGES,1120,0\n96995,GROCERY I,1093,1\n"
        "96995,GROCERY I,1094,0\n"
    )
    message = refused(lambda: reading.attributes_read(path=path, kind="items"))
    assert f"{path}: 3 problems" in message
    assert "line 3, column item_nbr: '' has no item code" in message
    assert "line 4: '96995' is listed twice (line 2)" in message
    assert "line 5, column class: '96995' is in department '1094' here and '1093' on line 2" in message


def test_a_department_in_two_categories(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("item_nbr,family,class,perishable\n1,GROCERY I,1093,0\n2,BEVERAGES,1093,0\n")
    assert "line 3, column family: '2' puts department '1093' in category 'BEVERAGES', line 2" in refused(
        lambda: reading.attributes_read(path=path, kind="items")
    )


@pytest.mark.parametrize("suffix", ["zip", "gz", "7z"])
def test_a_corrupt_archive(samples, tmp_path, suffix):
    plain = (samples["favorita"] / "train.csv").read_bytes()
    path = tmp_path / f"train.csv.{suffix}"
    if suffix == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("train.csv", plain)
        data = bytearray(buffer.getvalue())
        data[60:90] = b"\x00" * 30  # inside the deflated data
        path.write_bytes(bytes(data))
    elif suffix == "gz":
        path.write_bytes(gzip.compress(plain)[: len(plain) // 20])
    else:
        import py7zr

        buffer = io.BytesIO()
        with py7zr.SevenZipFile(buffer, "w") as archive:
            archive.writestr(plain, "train.csv")
        path.write_bytes(buffer.getvalue()[:200])
    message = refused(lambda: normalized(path))
    assert message.startswith(f"{path}: ") and "corrupt" in message


def test_a_zip_bomb_is_refused_before_it_unpacks(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.csv", b"date,store,item,sales\n" + b"0" * (sources.RATIO_ALLOWANCE_BYTES + (1 << 20)))
    assert "refused as an archive bomb" in refused(lambda: reading.layout_detect(path=path))


def test_a_gzip_bomb_stops_while_it_unpacks(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"date,store,item,sales\n")
        row = b"2020-01-01,1,1,0\n" * 4096
        for _ in range((sources.RATIO_ALLOWANCE_BYTES >> 16) + 64):
            out.write(row)
    layout = reading.layout_detect(path=path)
    message = refused(lambda: b"".join(reading.sales_stream(path=path, layout=layout)))
    assert f"{path}: " in message and "refused as an archive bomb" in message


def test_generate_sample_writes_each_layout(tmp_path):
    out = io.StringIO()
    call_command("generate_sample", str(tmp_path / "w"), "--layout", "walmart", stdout=out)
    assert "train.csv" in out.getvalue()
    assert (tmp_path / "w" / "train.csv").read_text().startswith("Store,Dept,Date,Weekly_Sales,IsHoliday\n")


def test_a_row_with_missing_fields_names_its_line(samples, tmp_path):
    lines = (samples["favorita"] / "train.csv").read_text().splitlines()
    lines[30] = ",".join(lines[30].split(",")[:4])
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n")
    assert "line 31: " in refused(lambda: normalized(path)) and "has 4 fields; the header has 6" in refused(
        lambda: normalized(path)
    )


def test_a_fraction_in_a_wide_file_names_its_line_and_day(samples, tmp_path):
    lines = (samples["m5"] / "sales_train_evaluation.csv").read_text().splitlines()
    fields = lines[5].split(",")
    fields[6 + 9] = "1.5"
    lines[5] = ",".join(fields)
    path = tmp_path / "sales_train_evaluation.csv"
    path.write_text("\n".join(lines) + "\n")
    message = refused(lambda: normalized(path, calendar=samples["m5"] / "calendar.csv"))
    assert f"{path}: line 6, column d_10: '1.5' is not a whole number of units" == message


def test_whole_downloads_give_the_file_asked_for(samples, tmp_path):
    """M5's zip holds the sales files and the calendar; Favorita's holds 7z archives of each file."""
    m5 = tmp_path / "m5-forecasting-accuracy.zip"
    with zipfile.ZipFile(m5, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("sales_train_evaluation.csv", "calendar.csv"):
            archive.write(samples["m5"] / name, name)
        archive.write(samples["m5"] / "sales_train_evaluation.csv", "sales_train_validation.csv")
        archive.writestr("sell_prices.csv", "store_id,item_id,wm_yr_wk,sell_price\n")
    plain = normalized(samples["m5"] / "sales_train_evaluation.csv", calendar=samples["m5"] / "calendar.csv")
    assert normalized(m5, calendar=m5) == plain
    import py7zr

    favorita = tmp_path / "favorita-grocery-sales-forecasting.zip"
    with zipfile.ZipFile(favorita, "w") as archive:
        for name in ("train.csv", "stores.csv", "items.csv"):
            packed = tmp_path / f"{name}.7z"
            with py7zr.SevenZipFile(packed, "w") as seven:
                seven.write(samples["favorita"] / name, name)
            archive.write(packed, packed.name)
        archive.writestr("transactions.csv.7z", b"")
    assert normalized(favorita) == normalized(samples["favorita"] / "train.csv")
    items = reading.attributes_read(path=favorita, kind="items")
    assert [i.code for i in items] == [r["item_nbr"] for r in source_rows(samples["favorita"] / "items.csv")]


def test_an_archive_without_a_clear_member_lists_what_it_holds(tmp_path):
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "date,store,item,sales\n")
        archive.writestr("b.csv", "date,store,item,sales\n")
    assert "the archive holds a.csv, b.csv; none is clearly the sales file" in refused(
        lambda: reading.layout_detect(path=path)
    )


def test_a_line_that_is_not_utf8_is_named(samples, tmp_path):
    lines = (samples["favorita"] / "train.csv").read_bytes().split(b"\n")
    lines[12] = lines[12].replace(b"2013-01-", b"2013-01-\xff")
    path = tmp_path / "train.csv"
    path.write_bytes(b"\n".join(lines))
    assert "line 13: " in refused(lambda: normalized(path)) and "is not UTF-8 text" in refused(lambda: normalized(path))


def test_preview_follows_a_mapping_through_an_archive(samples, tmp_path):
    path = tmp_path / "walmart.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(samples["walmart"] / "train.csv", "train.csv")
    mapping = reading.columns_parse("date=Date,store=Store,item=Dept,sales=Weekly_Sales")
    shown = reading.preview(path=path, columns=mapping, rows=3)
    assert shown.name == f"{path}/train.csv" and (shown.layout.name, shown.layout.frequency) == ("long", "W")
    assert [(c.name, c.role, c.type) for c in shown.columns] == [
        ("Store", "store", "integer"),
        ("Dept", "item", "integer"),
        ("Date", "date", "date"),
        ("Weekly_Sales", "sales", "decimal"),
        ("IsHoliday", None, "boolean"),
    ]


def test_generate_sample_will_not_write_into_a_folder_with_files(tmp_path):
    (tmp_path / "x.csv").write_text("x\n")
    with pytest.raises(CommandError, match="not empty"):
        call_command("generate_sample", str(tmp_path), "--layout", "m5", stdout=io.StringIO())


def test_a_7z_bomb_is_refused_by_its_declared_size(tmp_path):
    import py7zr

    path = tmp_path / "train.csv.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(b"date,store,item,sales\n" + b"0" * (sources.RATIO_ALLOWANCE_BYTES + (1 << 20)), "train.csv")
    message = refused(lambda: reading.layout_detect(path=path))
    assert message.startswith(f"{path}: ") and "train.csv expands from" in message and "archive bomb" in message
