"""Sending one notification over one channel (email, signed webhook, Slack-compatible webhook), the
encryption of contact points' secrets, and the check that keeps webhooks out of private networks.

No library: each channel is a few lines over httpx and Django's email backend, and what the issue
asks of them (an HMAC over the exact body, the idempotency key in a header, the Message-ID, refusing
private addresses at send time) sits between the library and the network in apprise, so it would be
written here anyway; django-anymail brings email providers' APIs, which SMTP settings do not need.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.mail import EmailMessage

SIGNATURE_HEADER = "X-Alerts-Signature"
TIMESTAMP_HEADER = "X-Alerts-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryRefused(Exception):
    """A target the settings do not allow (a private address, a URL that is not http(s))."""


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


# ---------------------------------------------------------------- secrets at rest


def _fernet() -> Fernet:
    key: str | bytes = settings.ALERTS_SECRETS_KEY
    if not key:
        key = base64.urlsafe_b64encode(hashlib.sha256(("alerts-secrets:" + settings.SECRET_KEY).encode()).digest())
    return Fernet(key)


def secret_seal(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def secret_open(sealed: str) -> str:
    """The clear text of a sealed secret; "" when there is none. Raises DeliveryRefused when the key changed."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise DeliveryRefused("the secret cannot be decrypted: ALERTS_SECRETS_KEY (or SECRET_KEY) changed") from None


# ---------------------------------------------------------------- targets


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Which protected range an address is in ("loopback", "link-local", "private"), or None if public."""
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private or address.is_reserved or address.is_multicast or address.is_unspecified:
        return "private"
    return None


def webhook_url_check(url: str) -> None:
    """Refuse (DeliveryRefused, saying why) a URL that is not http(s) or whose host resolves to a
    loopback, private or link-local address not allowed by ALERTS_WEBHOOK_ALLOW. Every address the
    name resolves to is checked: a name with one public and one private address is refused."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DeliveryRefused("must be an http:// or https:// URL with a host")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        infos = socket.getaddrinfo(parsed.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as error:
        raise DeliveryRefused(f"host {parsed.hostname!r} does not resolve ({error})") from None
    for info in infos:
        kind = _address_kind(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        if kind and kind not in settings.ALERTS_WEBHOOK_ALLOW:
            raise DeliveryRefused(
                f"host {parsed.hostname!r} resolves to a {kind} address ({info[4][0]}); ALERTS_WEBHOOK_ALLOW does not allow it"
            )


# ---------------------------------------------------------------- channels


def signature(*, key: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: hex HMAC-SHA256 over "<timestamp>.<body>" (the receiver recomputes it
    and compares, and rejects old timestamps to stop replays)."""
    return "sha256=" + hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_send(*, url: str, signing_key: str, key: str, body: dict) -> DeliveryResult:
    webhook_url_check(url)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key, TIMESTAMP_HEADER: timestamp}
    if signing_key:
        headers[SIGNATURE_HEADER] = signature(key=signing_key, timestamp=timestamp, body=raw)
    return _post(url=url, content=raw, headers=headers)


def slack_send(*, url: str, key: str, text: str) -> DeliveryResult:
    webhook_url_check(url)
    raw = json.dumps({"text": text}).encode()
    return _post(url=url, content=raw, headers={"Content-Type": "application/json", IDEMPOTENCY_HEADER: key})


def _post(*, url: str, content: bytes, headers: dict[str, str]) -> DeliveryResult:
    try:
        # No redirects: a redirect could lead to an address the check above refused.
        response = httpx.post(
            url,
            content=content,
            headers=headers,
            timeout=settings.ALERTS_DELIVERY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return DeliveryResult(ok=False, error=f"{type(error).__name__}: {error}")
    if 200 <= response.status_code < 300:
        return DeliveryResult(ok=True, status_code=response.status_code)
    return DeliveryResult(ok=False, status_code=response.status_code, error=f"HTTP {response.status_code}")


def email_send(*, addresses: list[str], key: str, subject: str, text: str) -> DeliveryResult:
    """Send through Django's email backend (SMTP settings from the environment). The Message-ID carries
    the idempotency key, so a mail client or a filter can drop a repeat."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    message = EmailMessage(
        subject=subject,
        body=text,
        to=addresses,
        headers={"Message-ID": f"<{key}@{domain}>", IDEMPOTENCY_HEADER: key},
    )
    try:
        message.send(fail_silently=False)
    except (OSError, Exception) as error:  # smtplib errors, refused connections, timeouts
        return DeliveryResult(ok=False, error=f"{type(error).__name__}: {error}")
    return DeliveryResult(ok=True)
