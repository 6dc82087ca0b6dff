"""Benchmark: a file uploaded from the browser's side (tus, in UPLOAD_CHUNK_BYTES pieces, to a real Daphne)
and loaded by a real Celery worker on the `load` queue, end to end, against `manage.py load_train` of the
same file, side by side; and the peak memory (resident) of the web and worker processes.
Goal: end to end at most 1.2x load_train; memory flat whatever the file's size.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/upload.py [PATH] [--repeat N]

PATH defaults to /tmp/train.csv, then data/train.csv, else a 913,000-row sample is generated. A tenth of
the file is also uploaded, to compare peak memory across sizes. It replaces the sales history of the
database it is pointed at (and leaves the file loaded).
"""

from __future__ import annotations

import argparse
import io
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from benchlib import BASE_DIR, django_setup, pick_file

django_setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from core.access import EDITOR_GROUP  # noqa: E402
from core.services import user_in_group_ensure  # noqa: E402
from core.testing import CeleryWorkerProcess, DaphneProcess  # noqa: E402

GOAL_RATIO = 1.2
MAPPING = {"date": "date", "store": "store", "item": "item", "sales": "sales"}


def peak_rss_mb(pid: int) -> float:
    """The largest peak resident set (VmHWM) of `pid` and its children, in MB."""
    import psutil

    peaks = []
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            continue
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks, default=0.0)


def editor_client(server: DaphneProcess) -> httpx.Client:
    """An httpx client with an editor's session and CSRF token, as the page has."""
    user = user_in_group_ensure(username="bench-editor", group=EDITOR_GROUP)
    login = Client()
    login.force_login(user)
    client = httpx.Client(base_url=server.url, timeout=600)
    client.cookies.set(settings.SESSION_COOKIE_NAME, login.cookies[settings.SESSION_COOKIE_NAME].value)
    client.get("/upload/").raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def upload_and_load(client: httpx.Client, path: Path) -> tuple[float, float]:
    """(seconds to upload, seconds end to end) of one file through the tus route and the load queue."""
    started = time.perf_counter()
    size = path.stat().st_size
    tus = {"Tus-Resumable": "1.0.0"}
    created = client.post("/api/uploads/files/", headers={**tus, "Upload-Length": str(size)})
    created.raise_for_status()
    location = created.headers["Location"]
    with path.open("rb") as handle:
        offset = 0
        while piece := handle.read(settings.UPLOAD_CHUNK_BYTES):
            headers = {**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            client.patch(location, content=piece, headers=headers).raise_for_status()
            offset += len(piece)
    uploaded = time.perf_counter() - started
    key = location.rstrip("/").rsplit("/", 1)[-1]
    client.post(f"/api/uploads/{key}/start", json={"columns": MAPPING}).raise_for_status()
    while (state := client.get(f"/api/uploads/{key}").json())["status"] not in {"done", "failed", "cancelled"}:
        time.sleep(0.05)
    if state["status"] != "done":
        raise SystemExit(f"the upload's load did not finish: {state['status']}: {state['error']}")
    return uploaded, time.perf_counter() - started


def load_train_seconds(path: Path) -> float:
    """load_train in this process (Django already set up, as the worker has it)."""
    started = time.perf_counter()
    call_command("load_train", str(path), "--no-followups", stdout=io.StringIO(), stderr=io.StringIO())
    return time.perf_counter() - started


def load_train_process_seconds(path: Path) -> float:
    """`manage.py load_train` as a person runs it, Python and Django start-up included."""
    started = time.perf_counter()
    command = [sys.executable, str(BASE_DIR / "manage.py"), "load_train", str(path), "--no-followups"]
    subprocess.run(command, cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def tenth_of(path: Path, target: Path) -> Path:
    with path.open("rb") as source, target.open("wb") as out:
        for n, line in enumerate(source):
            if n % 10 == 0:
                out.write(line)
    return target


def measure(path: Path, workdir: Path, *, repeat: int) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"UPLOAD_DIR": str(workdir / "uploads"), "UPLOAD_MIN_FREE_BYTES": "0"}
    server = DaphneProcess(log_dir=workdir, env=env)
    worker = CeleryWorkerProcess(log_dir=workdir, queues="load", env=env)
    server.start()
    worker.start()
    try:
        client = editor_client(server)
        ours, sent, reference = [], [], []
        for run in range(1, repeat + 1):
            # Alternate the order so neither side always runs on a warmer cache.
            if run % 2:
                reference.append(load_train_seconds(path))
            uploaded, total = upload_and_load(client, path)
            ours.append(total)
            sent.append(uploaded)
            if not run % 2:
                reference.append(load_train_seconds(path))
            print(
                f"  run {run}: load_train {reference[-1]:6.2f} s   upload + load {ours[-1]:6.2f} s (upload {uploaded:.2f} s)"
            )
        assert server.process is not None and worker.process is not None  # both started
        return {
            "process": load_train_process_seconds(path),
            "reference": statistics.median(reference),
            "ours": statistics.median(ours),
            "upload": statistics.median(sent),
            "web_mb": peak_rss_mb(server.process.pid),
            "worker_mb": peak_rss_mb(worker.process.pid),
        }
    finally:
        worker.stop()
        server.stop()


def main() -> int:
    # Stopped by a signal: the servers started here are stopped too (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        path = pick_file(args.path, work).resolve()
        small = tenth_of(path, work / "tenth.csv")
        results = {}
        for label, file in (("a tenth", small), ("whole", path)):
            rows = sum(1 for _ in file.open("rb")) - 1
            print(f"{label}: {file.name}, {rows:,} rows, {file.stat().st_size / 1e6:.1f} MB")
            results[label] = {"rows": rows, **measure(file, work / label.replace(" ", "-"), repeat=args.repeat)}
    print()
    print(
        f"{'':10}{'rows':>12}{'load_train s':>14}{'upload+load s':>15}{'(upload s)':>12}{'ratio':>8}"
        f"{'web MB':>9}{'worker MB':>11}{'manage.py s':>13}"
    )
    for label, r in results.items():
        ratio = r["ours"] / r["reference"]
        print(
            f"{label:10}{r['rows']:12,}{r['reference']:14.2f}{r['ours']:15.2f}{r['upload']:12.2f}{ratio:8.2f}"
            f"{r['web_mb']:9.0f}{r['worker_mb']:11.0f}{r['process']:13.2f}"
        )
    print("(load_train in process, median of the runs; manage.py: one run as a person starts it, start-up included)")
    ratio = results["whole"]["ours"] / results["whole"]["reference"]
    print()
    print(
        f"ratio upload + load / load_train: {ratio:.2f}x (goal: at most {GOAL_RATIO}x) -> {'OK' if ratio <= GOAL_RATIO else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
