"""The load of an uploaded file by a real Celery worker on the `load` queue: done, refused with its report,
dry run, cancel, a worker killed mid-load, two uploads at once, and the lock shared with load_train."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from core.testing import history_load
from sales.models import DailyTotal, Sale
from uploads.models import UploadJob
from uploads.tests.conftest import job_wait, table_hold, tus_send

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = {"done", "checked", "failed", "cancelled"}
NEW = b"day,shop,product,units\n2017-03-01,7,8,5\n2017-03-01,7,9,6\n2017-03-02,7,8,1\n"
MAPPING = {"day": "date", "shop": "store", "product": "item", "units": "sales"}


def history_rows() -> list[tuple]:
    sales = sorted(Sale.objects.values_list("date", "store_id", "item_id", "sales"))
    return sales + sorted(DailyTotal.objects.values_list("date", "sales", "rows"))


@pytest.fixture
def history(tmp_path):
    history_load(tmp_path, stores=2, items=2, align_to_today=False)
    return history_rows()


def start(client, key: str, **options) -> dict:
    answer = client.post(f"/api/uploads/{key}/start", {"columns": MAPPING} | options, format="json")
    assert answer.status_code == 202, answer.content
    return answer.json()


def test_an_upload_replaces_the_history_and_its_file_is_deleted(editor_client, history, load_worker, upload_dir):
    before = {name: queued(name) for name in ("live", "forecast")}
    key = tus_send(editor_client, NEW, filename="march.csv")
    start(editor_client, key)
    state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    assert state["status"] == "done", state
    assert state["rows"] == 3 and state["user"] == "editor" and state["seconds"] is not None
    assert sorted(Sale.objects.values_list("date", "store_id", "item_id", "sales")) == [
        (d, s, i, v) for d, s, i, v in sorted(_typed(NEW))
    ]
    assert list(upload_dir.iterdir()) == [] and state["file_deleted"]
    # The follow-ups of a load (the live profile, the refit) wait on their queues, as after load_train.
    assert {name: queued(name) - before[name] for name in before} == {"live": 1, "forecast": 1}
    listed = editor_client.get("/api/uploads/").json()["results"]
    assert [(r["filename"], r["status"], r["rows"]) for r in listed] == [("march.csv", "done", 3)]


def queued(queue: str) -> int:
    from config.celery import app

    with app.connection_for_read() as connection:
        return connection.default_channel.client.llen(queue)


def _typed(data: bytes):
    for line in data.decode().splitlines()[1:]:
        day, store, item, units = line.split(",")
        yield date.fromisoformat(day), int(store), int(item), int(units)


def test_a_bad_file_gives_its_report_and_leaves_the_history_as_it_was(editor_client, history, load_worker):
    bad = b"date,store,item,sales\n2017-03-01,7,8,5\n2017-13-01,7,9,6\n2017-03-02,7,8,x\n"
    key = tus_send(editor_client, bad)
    start(editor_client, key, columns={})
    state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    assert state["status"] == "failed" and state["problem_total"] == 2
    assert [(p["line"], p["column"], p["value"], p["message"]) for p in state["problems"]] == [
        (3, "date", "'2017-13-01'", "is not an ISO date (YYYY-MM-DD)"),
        (
            4,
            "sales",
            "'x'",
            "is not a number of units (such as 12, 7.5 or -2: at most 3 decimals, below 1,000,000,000)",
        ),
    ]
    report = editor_client.get(f"/api/uploads/{key}/report.csv").content.decode().splitlines()
    assert report == [
        "line,column,value,reason",
        "3,date,'2017-13-01',is not an ISO date (YYYY-MM-DD)",
        "4,sales,'x',\"is not a number of units (such as 12, 7.5 or -2: at most 3 decimals, below 1,000,000,000)\"",
    ]
    assert history_rows() == history


def test_the_report_shows_the_first_thousand_problems_and_its_csv_every_one_up_to_the_bound(
    editor_client, history, load_worker
):
    lines = ["date,store,item,sales", *(f"2017-03-{n % 28 + 1:02d},{n // 28 + 1},1,x" for n in range(1300))]
    key = tus_send(editor_client, ("\n".join(lines) + "\n").encode())
    start(editor_client, key, columns={})
    state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    assert (state["status"], state["problem_total"], len(state["problems"])) == ("failed", 1300, 1000)
    assert state["problems"][-1] == {
        "line": 1001,
        "column": "sales",
        "value": "'x'",
        "message": "is not a number of units (such as 12, 7.5 or -2: at most 3 decimals, below 1,000,000,000)",
    }
    report = editor_client.get(f"/api/uploads/{key}/report.csv").content.decode().splitlines()
    assert len(report) == 1 + 1100 + 1
    assert (
        report[1100]
        == "1101,sales,'x',\"is not a number of units (such as 12, 7.5 or -2: at most 3 decimals, below 1,000,000,000)\""
    )
    assert report[-1] == ",,,200 more problem(s) not listed (UPLOAD_REPORT_MAX_PROBLEMS)"
    assert history_rows() == history


def test_a_mapped_file_is_reported_by_its_own_column_names_as_load_train_does(editor_client, history, load_worker):
    bad = NEW.replace(b"2017-03-02", b"2017-13-02")
    key = tus_send(editor_client, bad)
    start(editor_client, key)
    state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    assert state["status"] == "failed"
    assert [(p["line"], p["column"], p["value"], p["message"]) for p in state["problems"]] == [
        (4, "day", "'2017-13-02'", "is not an ISO date (YYYY-MM-DD)")
    ]
    assert history_rows() == history


def test_a_dry_run_checks_every_row_and_writes_nothing(editor_client, history, load_worker):
    key = tus_send(editor_client, NEW)
    start(editor_client, key, dry_run=True)
    state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    assert (state["status"], state["rows"]) == ("checked", 3)
    assert history_rows() == history


def test_cancel_in_the_middle_of_the_load_leaves_the_history_as_it_was(editor_client, history, load_worker):
    holder = table_hold()
    try:
        key = tus_send(editor_client, NEW)
        start(editor_client, key)
        job_wait(editor_client, key, lambda s: s["progress"]["stage"] == "written")
        assert editor_client.post(f"/api/uploads/{key}/cancel").status_code == 202
        state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    finally:
        holder.close()
    assert state["status"] == "cancelled", state
    assert history_rows() == history


def test_a_worker_killed_in_the_middle_of_the_load_leaves_the_history_and_fails_the_job(
    editor_client, history, load_worker
):
    holder = table_hold()
    try:
        key = tus_send(editor_client, NEW)
        start(editor_client, key)
        job_wait(editor_client, key, lambda s: s["progress"]["stage"] == "written")
        os.killpg(load_worker.process.pid, signal.SIGKILL)
        state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    finally:
        holder.close()
    assert state["status"] == "failed"
    assert "worker stopped in the middle of the load" in state["error"]
    assert history_rows() == history


def test_two_uploads_at_once_give_one_load_and_one_waiting(editor_client, history, load_worker):
    holder = table_hold()
    try:
        first, second = tus_send(editor_client, NEW), tus_send(editor_client, NEW.replace(b",5\n", b",50\n"))
        start(editor_client, first)
        job_wait(editor_client, first, lambda s: s["progress"]["stage"] == "written")
        start(editor_client, second)
        waiting = editor_client.get(f"/api/uploads/{second}").json()
        assert (waiting["status"], waiting["progress"]["queue_position"]) == ("queued", 1)
        assert waiting["progress"]["stage"] == "waiting"
    finally:
        holder.close()
    for key in (first, second):
        assert job_wait(editor_client, key, lambda s: s["status"] in FINISHED)["status"] == "done"
    assert Sale.objects.get(date="2017-03-01", store_id=7, item_id=8).sales == 50


def test_load_train_waits_for_an_upload_that_is_loading(editor_client, history, load_worker, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("date,store,item,sales\n2018-05-01,3,3,9\n")
    holder = table_hold()
    errors = StringIO()
    try:
        key = tus_send(editor_client, NEW)
        start(editor_client, key)
        job_wait(editor_client, key, lambda s: s["progress"]["stage"] == "written")
        command = threading.Thread(
            target=call_command, args=("load_train", str(other), "--no-followups"), kwargs={"stderr": errors}
        )
        command.start()
        deadline = time.monotonic() + 30
        while "another load is running" not in errors.getvalue() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert command.is_alive() and "another load is running" in errors.getvalue()
    finally:
        holder.close()
    command.join(timeout=60)
    assert job_wait(editor_client, key, lambda s: s["status"] in FINISHED)["status"] == "done"
    # The upload committed first; load_train then replaced its history.
    assert list(Sale.objects.values_list("date", "store_id", "item_id", "sales")) == [(date(2018, 5, 1), 3, 3, 9)]
    assert UploadJob.objects.get().status == "done"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    for layout in ("m5", "favorita"):
        call_command("generate_sample", str(folder / layout), "--layout", layout, stdout=StringIO())
    return folder


def test_m5s_wide_file_loads_with_its_calendar_and_not_without(
    editor_client, history, load_worker, samples, upload_dir
):
    wide = tus_send(editor_client, (samples / "m5" / "sales_train_evaluation.csv").read_bytes(), filename="wide.csv")
    calendar = tus_send(editor_client, (samples / "m5" / "calendar.csv").read_bytes(), filename="calendar.csv")
    kinds = {key: editor_client.get(f"/api/uploads/{key}").json()["kind"] for key in (wide, calendar)}
    assert kinds == {wide: "sales", calendar: "calendar"}
    alone = editor_client.post(f"/api/uploads/{wide}/start", {"kind": "sales"}, format="json")
    assert alone.status_code == 400 and "add its calendar" in alone.json()["error"]
    answer = editor_client.post(
        f"/api/uploads/{wide}/start", {"kind": "sales", "files": {calendar: "calendar"}}, format="json"
    )
    assert answer.status_code == 202, answer.content
    assert [(c["filename"], c["kind"]) for c in answer.json()["companions"]] == [("calendar.csv", "calendar")]
    state = job_wait(editor_client, wide, lambda s: s["status"] in FINISHED)
    assert state["status"] == "done", state
    assert state["rows"] == Sale.objects.count() > 0
    assert editor_client.get(f"/api/uploads/{calendar}").json()["status"] == "done"
    listed = editor_client.get("/api/uploads/").json()["results"]
    assert [(r["filename"], [c["filename"] for c in r["companions"]]) for r in listed] == [
        ("wide.csv", ["calendar.csv"])
    ]
    assert state["file_deleted"] and list(upload_dir.iterdir()) == []


def test_a_stores_file_alone_is_read_and_leaves_the_sales_as_they_were(editor_client, history, load_worker, samples):
    key = tus_send(editor_client, (samples / "favorita" / "stores.csv").read_bytes(), filename="stores.csv")
    state = editor_client.get(f"/api/uploads/{key}").json()
    assert state["kind"] == "stores"
    preview = editor_client.post(f"/api/uploads/{key}/preview", {}, format="json").json()
    assert (preview["layout"], preview["missing"]) == ("stores", [])
    assert ("store_nbr", "store") in [(c["name"], c["role"]) for c in preview["columns"]]
    answer = editor_client.post(f"/api/uploads/{key}/start", {"kind": "stores"}, format="json")
    assert answer.status_code == 202, answer.content
    state = job_wait(editor_client, key, lambda s: s["status"] in FINISHED)
    stores = len((samples / "favorita" / "stores.csv").read_text().splitlines()) - 1
    assert (state["status"], state["rows"]) == ("done", stores)
    assert history_rows() == history


def test_a_bad_items_file_is_reported_by_its_own_name(editor_client, history, load_worker):
    key = tus_send(editor_client, b"item_nbr,family\n,FOOD\n7,FOOD\n7,DRINK\n", filename="items.csv")
    sales = tus_send(editor_client, NEW, filename="march.csv")
    start(editor_client, sales, files={key: "items"})
    state = job_wait(editor_client, sales, lambda s: s["status"] in FINISHED)
    assert state["status"] == "failed"
    assert state["error"] == "2 problem(s) in items.csv; nothing was written"
    assert [p["line"] for p in state["problems"]] == [2, 4]
    assert history_rows() == history
