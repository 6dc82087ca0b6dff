"""How many problems a refused load lists: load_train's first ten, or as many as its caller asks for (the
upload's report), always with the count of all, in the same words; and a good load never looks for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sales import loading, reading
from sales.loading import LoadError
from sales.models import Sale
from sales.services import sales_load_csv, sales_load_files

pytestmark = pytest.mark.django_db(transaction=True)


def bad_units_file(path: Path, *, rows: int, bad_every: int | None, header: str = "date,store,item,sales") -> int:
    """`rows` rows, one in `bad_every` (from the first) with units that are not a number; returns how many
    are bad."""
    lines, bad = [header], 0
    for n in range(rows):
        units = "x" if bad_every and n % bad_every == 0 else "3"
        bad += units == "x"
        lines.append(f"2017-01-{n % 28 + 1:02d},{n // 28 % 50 + 1},{n // 1400 + 1},{units}")
    path.write_text("\n".join(lines) + "\n")
    return bad


def test_the_loader_lists_as_many_problems_as_asked_and_load_train_keeps_its_ten(tmp_path):
    path = tmp_path / "train.csv"
    assert bad_units_file(path, rows=250, bad_every=10) == 25
    with pytest.raises(LoadError) as asked:
        sales_load_csv(path=path, problem_limit=20)
    assert (len(asked.value.problems), asked.value.total) == (20, 25)
    assert [p.line for p in asked.value.problems] == list(range(2, 202, 10))
    with pytest.raises(CommandError) as printed:
        call_command("load_train", str(path), "--no-followups")
    message = str(printed.value)
    assert "25 problems (first 10 listed)" in message and message.count("\n  line ") == 10
    # The same words in both: the upload's report reads as load_train's message.
    assert f"  {asked.value.problems[0]}" in message
    assert not Sale.objects.exists()


def test_a_good_load_never_looks_for_problems(tmp_path, monkeypatch):
    def searched(**kwargs):
        raise AssertionError("a good load looked for problems")

    for name in ("staging_problems", "staging_duplicates", "file_structure_problems"):
        monkeypatch.setattr(loading, name, searched)
    path = tmp_path / "train.csv"
    bad_units_file(path, rows=300, bad_every=None)
    assert sales_load_csv(path=path, problem_limit=100_000, followups=False).rows == 300


def test_a_mapped_file_is_checked_to_its_end_past_its_first_bad_block(tmp_path):
    path = tmp_path / "sales.csv"
    rows = 150_000  # several of the reader's blocks
    bad = bad_units_file(path, rows=rows, bad_every=1000, header="day,shop,product,units")
    mapping = {"date": "day", "store": "shop", "item": "product", "sales": "units"}
    with pytest.raises(LoadError) as refused:
        sales_load_files(sales=path, columns=mapping, problem_limit=140, followups=False)
    assert (len(refused.value.problems), refused.value.total) == (140, bad)
    assert [p.line for p in refused.value.problems] == [2 + 1000 * n for n in range(140)]
    assert {(p.column, p.value, p.message) for p in refused.value.problems} == {
        ("units", "'x'", "is not a decimal number (at most 3 decimal places)")
    }
    with pytest.raises(LoadError) as short:
        sales_load_files(sales=path, columns=mapping, followups=False)
    assert (len(short.value.problems), short.value.total) == (loading.MAX_LISTED_PROBLEMS, bad)


def test_an_attribute_file_lists_as_many_problems_as_asked(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("item_nbr,family\n" + "".join(f",FOOD{n}\n" for n in range(15)))
    with pytest.raises(LoadError) as refused:
        reading.attributes_read(path=path, kind="items", problem_limit=12)
    assert (len(refused.value.problems), refused.value.total) == (12, 15)
    assert refused.value.problems[0].message == "has no item code"
