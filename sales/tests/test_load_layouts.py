"""`load_train` with the reader's options: other column names, compression, attribute files alone.
Real PostgreSQL; the load's COPY needs real transactions."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from sales.models import Sale

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [(date(2020, 1, d), s, i, d * s + i) for d in range(1, 15) for s in (1, 2) for i in (1, 2, 3)]


def shop_csv(path: Path) -> Path:
    lines = ["Day,Shop,Sku,Units,Note", *(f"{d.isoformat()},{s},{i},{v},x" for d, s, i, v in ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_train", *args, "--no-followups", stdout=out, stderr=out)
    return out.getvalue()


def history() -> set[tuple]:
    return set(Sale.objects.values_list("date", "store_id", "item_id", "sales"))


def test_a_mapping_loads_any_column_names(tmp_path):
    output = load(str(shop_csv(tmp_path / "shop.csv")), "--columns", "date=Day,store=Shop,item=Sku,sales=Units")
    assert history() == set(ROWS)
    assert f"loaded {len(ROWS)} rows from {tmp_path / 'shop.csv'}" in output


def test_a_zipped_gzip_loads_like_the_plain_file(tmp_path):
    plain = tmp_path / "train.csv"
    plain.write_text("date,store,item,sales\n" + "".join(f"{d.isoformat()},{s},{i},{v}\n" for d, s, i, v in ROWS))
    packed = tmp_path / "train.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    outer = tmp_path / "download.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(packed, "train.csv.gz")
    load(str(outer))
    assert history() == set(ROWS)
    assert Sale.objects.aggregate(total=Sum("sales"))["total"] == sum(v for *_, v in ROWS)


def test_a_bad_date_in_a_mapped_file_names_the_source_line_and_changes_nothing(tmp_path):
    load(str(shop_csv(tmp_path / "shop.csv")), "--columns", "date=Day,store=Shop,item=Sku,sales=Units")
    bad = tmp_path / "bad.csv"
    lines = (tmp_path / "shop.csv").read_text().splitlines()
    lines[9] = lines[9].replace("2020-01-", "2020-02-3")
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError) as caught:
        load(str(bad), "--columns", "date=Day,store=Shop,item=Sku,sales=Units")
    assert str(caught.value).startswith(f"{bad}: line 10, column Day: '2020-02-3")
    assert history() == set(ROWS)


def test_attribute_files_alone_do_not_read_the_default_sales_file(tmp_path, settings):
    settings.TRAIN_CSV_PATH = tmp_path / "absent.csv"
    (tmp_path / "stores.csv").write_text("store_nbr,city,state,type,cluster\n1,Quito,Pichincha,D,13\n")
    (tmp_path / "items.csv").write_text("item_nbr,family,class,perishable\n96995,GROCERY I,1093,0\n")
    output = load("--stores", str(tmp_path / "stores.csv"), "--items", str(tmp_path / "items.csv"))
    assert "read 1 stores" in output and "read 1 items" in output
    assert not Sale.objects.exists()


def test_a_bad_attribute_file_stops_the_load_before_any_write(tmp_path):
    load(str(shop_csv(tmp_path / "shop.csv")), "--columns", "date=Day,store=Shop,item=Sku,sales=Units")
    (tmp_path / "items.csv").write_text("item_nbr,family,class,perishable\n,GROCERY I,1093,0\n")
    (tmp_path / "other.csv").write_text("date,store,item,sales\n2021-01-01,9,9,9\n")
    with pytest.raises(CommandError) as caught:
        load(str(tmp_path / "other.csv"), "--items", str(tmp_path / "items.csv"))
    assert f"{tmp_path / 'items.csv'}: line 2, column item_nbr: '' has no item code" == str(caught.value)
    assert history() == set(ROWS)


def test_a_bad_mapping_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="'weight' is not a role"):
        load(str(shop_csv(tmp_path / "shop.csv")), "--columns", "weight=Units")
