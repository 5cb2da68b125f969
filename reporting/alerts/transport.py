"""Delivery: e-mail over SMTP and JSON webhooks. Called from the alert worker only."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage

from reporting.alerts.config import SmtpConfig
from reporting.alerts.events import clean
from reporting.alerts.messages import Message

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_webhook(url: str, payload: Mapping[str, object], timeout: float = 10.0) -> None:
    """POST JSON; raises on a non-2xx answer. Redirects are not followed."""
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": "kidgate-alerts"})
    with _OPENER.open(req, timeout=timeout) as resp:
        if not 200 <= resp.status < 300:
            raise OSError(f"webhook answered {resp.status}")


def send_mail(smtp: SmtpConfig, to: tuple[str, ...], message: Message) -> None:
    """One message to ``to``: the plain text, and its HTML as the alternative a mail client
    shows when it can."""
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = clean(message.subject, 150)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(message.text)
    msg.add_alternative(message.html, subtype="html")
    cls = smtplib.SMTP_SSL if smtp.ssl else smtplib.SMTP
    with cls(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.username and smtp.password:
            client.login(smtp.username, smtp.password)
        client.send_message(msg, from_addr=smtp.sender, to_addrs=list(to))
