"""Test helpers of the alerts: a day's forecast written as a complete run, and a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone


def forecast_write(
    *, day: date, level: str, series: dict[tuple[int | None, int | None], float], spread: float = 0.2
) -> None:
    """A complete forecast run whose forecast of `day` for each (store, item) of `level` is `mean`, with an
    80 % interval of mean x (1 -/+ spread) and a 95 % one twice as wide."""
    from forecasting.models import ForecastPoint, ForecastRun, SeriesForecast

    now = timezone.now()
    run = ForecastRun.objects.create(
        status=ForecastRun.Status.COMPLETE,
        started_at=now,
        finished_at=now,
        horizon_days=30,
        training_start=day - timedelta(days=400),
        training_end=day - timedelta(days=1),
    )
    for (store, item), mean in series.items():
        forecast = SeriesForecast.objects.create(run=run, level=level, store_id=store, item_id=item, fitted_at=now)
        ForecastPoint.objects.create(
            series=forecast,
            date=day,
            yhat=mean,
            mean=mean,
            lower_80=mean * (1 - spread),
            upper_80=mean * (1 + spread),
            lower_95=max(mean * (1 - 2 * spread), 0),
            upper_95=mean * (1 + 2 * spread),
        )


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records every POST, checks its HMAC signature, and answers
    500 to the first `fail_first` requests. With `stall_first`, the first request gets no answer until
    release() (a receiver that hangs mid-delivery); `accepted` lists the requests answered 200."""

    def __init__(self, *, signing_key: str, fail_first: int = 0, stall_first: bool = False) -> None:
        self.signing_key = signing_key
        self.fail_first = fail_first
        self.requests: list[dict] = []
        self.accepted: list[dict] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        if not stall_first:
            self.released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers.get("X-Alerts-Timestamp", "")
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.signing_key.encode(), timestamp.encode() + b"." + raw, hashlib.sha256
                    ).hexdigest()
                )
                entry = {
                    "body": json.loads(raw),
                    "key": self.headers.get("Idempotency-Key"),
                    "signed": hmac.compare_digest(expected, self.headers.get("X-Alerts-Signature", "")),
                    "at": datetime.now().timestamp(),
                }
                with receiver.lock:
                    receiver.requests.append(entry)
                    first = len(receiver.requests) == 1
                    failing = len(receiver.requests) <= receiver.fail_first
                if first:
                    receiver.released.wait(timeout=300)
                try:
                    self.send_response(500 if failing else 200)
                    self.end_headers()
                except OSError:  # the sender is gone (killed mid-delivery): it never got the answer
                    return
                if not failing:
                    with receiver.lock:
                        receiver.accepted.append(entry)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> None:
        self.thread.start()

    def release(self) -> None:
        """Answer the stalled first request (and every later one at once)."""
        self.released.set()

    @property
    def keys(self) -> list[str]:
        with self.lock:
            return [entry["key"] for entry in self.requests]

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
