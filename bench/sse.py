"""SSE fan-out benchmark: N concurrent /api/stream clients on ONE Daphne process.

For each N (100, 1,000, then doubling until it breaks) a fresh Daphne is
started, N raw-socket SSE clients connect, then batches are written through the
real path (streaming.services.sales_ingest: database write, event log, publish
on commit). Reported per N: publish->receipt latency p50/p99/max over every
(client, batch) pair, batches lost, Daphne RSS per connection, and the p99 as a
ratio of the single-client reference measured in the same run. The largest N
with p99 < 250 ms (and nothing lost) is printed at the end.

Latency is measured from just before the write transaction starts to the
moment the client's socket read returns the frame (one process, monotonic
clock), so it includes the database commit, Redis, the hub and Daphne. Also
shown: the median write+publish time ("write ms") and the fan-out spread
("fanout p99": receipt minus the first client's receipt of the same batch),
which isolates the cost of N streams from the publish path. Columns: KiB/conn
is Daphne's RSS growth per open stream, thr its thread count, cpu ms/batch the
Daphne CPU time per batch, client cpu the benchmark's own.

It also prints the bytes of one `sales` event at the usual size (10 stores x 50 items) and at M5 size
(10 x 3,049), for a 60 s tick and for a catch-up batch of 12 hours: the whole batch with its rows
(what every stream used to get), the summary every unfiltered stream gets now, and the frame of a
stream filtered to one store, and to one store-item.

Run by hand against a database that has stores and items (e.g. after
`manage.py load_train`), with DATABASE_URL / REDIS_URL set:
    .venv/bin/python bench/sse.py [--sizes 1000,4000,10000] [--batches 20] [--gap 0.5] [--event-sizes-only]
It writes a few batches of sales for today into that database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from core.testing import DaphneProcess  # noqa: E402
from sales.models import Item, Store  # noqa: E402
from streaming import services, simulation  # noqa: E402
from streaming.hub import EventFrames, sse_frame  # noqa: E402

P99_LIMIT_MS = 250.0
LOG_DIR = Path(tempfile.mkdtemp(prefix="bench-sse-"))
CONNECT_CONCURRENCY = 100


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


class Client(asyncio.Protocol):
    """A minimal SSE reader on a bare asyncio protocol (no task per client, so the
    clients cost the machine as little as possible): records when each `sales`
    frame arrives."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        self.ready = asyncio.Event()
        self.failed: str | None = None
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    async def run(self, port: int, gate: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        async with gate:
            for attempt in range(20):
                try:
                    await loop.create_connection(lambda: self, "127.0.0.1", port)
                    break
                except OSError as error:
                    self.failed = str(error)
                    await asyncio.sleep(0.05 * (attempt + 1))
            else:
                self.ready.set()
                return
            self.failed = None
            assert self.transport is not None  # connection_made set it
            self.transport.write(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
            await self.ready.wait()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer + data
        while (end := buffer.find(b"\n\n")) >= 0:
            frame, buffer = buffer[:end], buffer[end + 2 :]
            start = frame.find(b"event: sales\nid: ")
            if start >= 0:
                self.received[int(frame[start + 17 :].split(b"\n", 1)[0])] = now
            elif not self.ready.is_set() and b"event: metrics" in frame:
                self.ready.set()
        self.buffer = buffer

    def connection_lost(self, exc) -> None:
        if not self.ready.is_set():
            self.failed = f"closed early: {exc}"
            self.ready.set()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def measure(
    n: int, *, batches: int, gap: float, rows: list[tuple[int, int, int]], profile: Path | None = None
) -> dict:
    server = DaphneProcess(
        # PUBLIC_READ: the bare clients below send no credentials (a wall screen's set-up).
        env={
            "DEBUG": "false",
            "PUBLIC_READ": "true",
            # One address opens them all: lift the stream caps past the benchmark's sizes.
            "STREAMING_MAX_PER_CLIENT": "100000",
            "STREAMING_MAX_PER_PROCESS": "100000",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        },
        log_dir=LOG_DIR,
    )
    # The test helper points children at the test database; here it is the database we run against.
    server.env_overrides["DATABASE_URL"] = os.environ["DATABASE_URL"]
    server.start()
    clients: list[Client] = []
    tasks: list[asyncio.Task] = []
    try:
        assert server.process is not None  # started
        pid = server.process.pid
        await asyncio.sleep(0.5)
        base_rss = rss_kib(pid)
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        clients = [Client() for _ in range(n)]
        started = time.monotonic()
        tasks = [asyncio.create_task(c.run(server.port, gate)) for c in clients]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60 + n / 20)
        connect_seconds = time.monotonic() - started
        failed = [c.failed for c in clients if c.failed]
        await asyncio.sleep(1.0)
        rss = rss_kib(pid)
        published: dict[int, float] = {}
        write_ms: list[float] = []
        cpu_before = cpu_seconds(pid)
        own_before = time.process_time()
        profiler = None
        if profile is not None:
            # Daphne's own stacks while it fans the batches out (not while the streams connect).
            out = profile / f"daphne-{n}.raw"
            profiler = await asyncio.create_subprocess_exec(
                "py-spy",
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(batches * gap) + 2),
                "-r",
                "250",
                "-f",
                "raw",
                "-o",
                str(out),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)
        for _ in range(batches):
            t0 = time.monotonic()
            event = await asyncio.to_thread(services.sales_ingest, rows=rows)
            write_ms.append((time.monotonic() - t0) * 1000)
            published[event.id] = t0
            await asyncio.sleep(gap)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(len(c.received) >= batches for c in clients if not c.failed):
                break
            await asyncio.sleep(0.1)
        cpu_per_batch_ms = (cpu_seconds(pid) - cpu_before) / batches * 1000
        if profiler is not None:
            await profiler.wait()
        own_cpu_ms = (time.process_time() - own_before) / batches * 1000
        latencies = [
            (c.received[eid] - t0) * 1000 for c in clients for eid, t0 in published.items() if eid in c.received
        ]
        expected = batches * (n - len(failed))
        # Spread: receipt minus the batch's first receipt, i.e. the fan-out alone (no write, no Redis).
        spread = []
        for eid in published:
            times = [c.received[eid] for c in clients if eid in c.received]
            if times:
                first = min(times)
                spread += [(t - first) * 1000 for t in times]
        return {
            "n": n,
            "connected": n - len(failed),
            "connect_s": connect_seconds,
            "p50": percentile(latencies, 50) if latencies else float("nan"),
            "p99": percentile(latencies, 99) if latencies else float("nan"),
            "max": max(latencies) if latencies else float("nan"),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
            "spread_p99": percentile(spread, 99) if spread else float("nan"),
            "write_ms": statistics.median(write_ms),
            "lost": expected - len(latencies),
            "rss_per_conn_kib": (rss - base_rss) / n,
            "rss_mib": rss / 1024,
            "threads": threads(pid),
            "cpu_ms": cpu_per_batch_ms,
            "client_cpu_ms": own_cpu_ms,
            "errors": failed[:3],
        }
    finally:
        for c in clients:
            c.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.stop()


def synthetic_profiles(*, stores: int, items: int, seed: int = 1) -> simulation.ProfileArrays:
    """Profiles at the sample's scale (about 50 units a day per store-item, stores and items of
    different sizes), without a database: only the event's shape matters here."""
    rng = np.random.default_rng(seed)
    store_ids, item_ids = (
        a.ravel() for a in np.meshgrid(np.arange(1, stores + 1), np.arange(1, items + 1), indexing="ij")
    )
    level = 50 * rng.uniform(0.5, 1.5, stores)[store_ids - 1] * rng.lognormal(0, 0.5, items)[item_ids - 1]
    n = len(store_ids)
    today = date.today()
    return simulation.ProfileArrays(
        store_ids=store_ids,
        item_ids=item_ids,
        level=level,
        trend=np.ones(n),
        dispersion=np.full(n, 1.5),
        weekday_factors=np.ones((n, 7)),
        month_factors=np.ones((n, 12)),
        reference_date=today,
        history_end=today,
    )


def event_sizes() -> None:
    print(
        f"\n{'bytes of one sales event':40} {'rows':>7} {'whole batch':>12} {'summary':>9} {'store=1':>9} {'store=1&item=1':>15}"
    )
    for label, stores, items in (("usual (10 x 50)", 10, 50), ("M5 (10 x 3,049)", 10, 3049)):
        profiles = synthetic_profiles(stores=stores, items=items)
        rng = np.random.default_rng(2)
        for what, fraction in (("60 s tick", 60 / 86400), ("12 h catch-up", 0.5)):
            units = simulation.interval_draw(
                profiles, day=date.today(), fraction=fraction, rng=rng, trend_horizon_days=365
            )[0]
            (hits,) = np.nonzero(units)
            event_id = 123456
            event = {
                "id": event_id,
                "timestamp": "2026-11-26T12:00:00+00:00",
                "date": "2026-11-26",
                "source": "generator",
                "kind": "generated",
                "rows": [
                    {"store": str(profiles.store_ids[k]), "item": str(profiles.item_ids[k]), "quantity": int(units[k])}
                    for k in hits
                ],
                "total": int(units.sum()),
            }
            frames = EventFrames(event)
            whole = len(sse_frame(event="sales", data=event, event_id=event_id))
            summary = len(frames.frame() or b"")
            one_store = len(frames.frame(stores=("1",)) or b"")
            one_series = len(frames.frame(stores=("1",), items=("1",)) or b"")
            print(
                f"{label + ', ' + what:40} {len(hits):>7,} {whole:>12,} {summary:>9,} {one_store:>9,} {one_series:>15,}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,4000,10000", help="comma-separated N values")
    parser.add_argument("--event-sizes-only", action="store_true", help="print the event sizes and stop")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between batches")
    parser.add_argument(
        "--keep-going", action="store_true", help="go on past the latency limit until streams fail or batches are lost"
    )
    parser.add_argument(
        "--profile", type=Path, help="record Daphne with py-spy during each size's batches into DIR/daphne-N.raw"
    )
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    event_sizes()
    if args.event_sizes_only:
        return

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # Daphne inherits it
    stores = list(Store.objects.values_list("id", flat=True)[:10])
    items = list(Item.objects.values_list("id", flat=True)[:10])
    if not stores or not items:
        sys.exit("no stores/items in the database: load some history first (manage.py load_train)")
    # A generated batch's shape: about 20 store-item rows.
    rows = [(s, i, 1 + (s * i) % 3) for s, i in zip(stores * 2, items * 2, strict=False)][:20]
    sizes = [int(x) for x in args.sizes.split(",")]
    print(
        f"fd limit {hard}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} "
        f"(other work on the machine skews the figures); {args.batches} batches, {args.gap}s apart"
    )

    reference = asyncio.run(measure(1, batches=args.batches, gap=args.gap, rows=rows))
    header = f"{'N':>6} {'conn':>6} {'connect s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>6} {'KiB/conn':>9} {'RSS MiB':>8} {'thr':>5} {'cpu ms/batch':>12} {'client cpu':>10} {'write ms':>8} {'fanout p99':>10} {'p99/ref':>8}"
    print(header)

    def show(r: dict) -> None:
        print(
            f"{r['n']:>6} {r['connected']:>6} {r['connect_s']:>9.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['max']:>8.1f} "
            f"{r['lost']:>6} {r['rss_per_conn_kib']:>9.1f} {r['rss_mib']:>8.1f} {r['threads']:>5} {r['cpu_ms']:>12.1f} {r['client_cpu_ms']:>10.1f} {r['write_ms']:>8.1f} {r['spread_p99']:>10.1f} {r['p99'] / reference['p99']:>8.1f}"
            + (f"  errors: {r['errors']}" if r["errors"] else "")
        )

    show(reference)
    best = None
    for n in sizes:
        result = asyncio.run(measure(n, batches=args.batches, gap=args.gap, rows=rows, profile=args.profile))
        show(result)
        ok = result["p99"] < P99_LIMIT_MS and result["lost"] == 0 and result["connected"] == n
        if ok:
            best = max(best or 0, n)
        elif not args.keep_going or result["lost"] or result["connected"] < n:
            break
    print(f"reference (1 client) p99 {reference['p99']:.1f} ms; load average now {os.getloadavg()[0]:.1f}")
    print(f"largest N with p99 < {P99_LIMIT_MS:.0f} ms and nothing lost: {best}")
    print(f"Daphne logs: {LOG_DIR}")


if __name__ == "__main__":
    main()
