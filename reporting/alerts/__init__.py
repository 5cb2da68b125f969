"""Safeguarding alerts: tell the adult who should know when a child hits a dangerous category.

Configured as a mapping (YAML section ``alerts``)::

    smtp: {host: mail.school.example, port: 587, from: kidgate@school.example,
           starttls: true, username: kidgate, password: secret}
    helpline: "116 111"
    digest_time: "18:00"          # daily digests are sent at this local time
    digest_timezone: Europe/Bucharest
    rules:
      - {profiles: ["*"], categories: [self_harm], email: [lead@school.example],
         webhook: "https://hooks.example/kidgate", digest: false, min_interval: 10m}
      - {profiles: [ana, ben], access_requests: true, email: [parent@home.example],
         access_requests_per_hour: 10}

A rule with ``access_requests: true`` also tells its recipients when a child of one of its
``profiles`` asks for access, with one-click decision links (``categories`` is then optional).
Those messages are sent at once (a child is waiting; ``digest`` does not apply to them), one
per request, at most ``access_requests_per_hour`` (default 10) per rule and profile: a child
cannot flood a parent; the requests beyond stay pending and are counted in the next message.

A message carries only the URL, category, profile, time and reason: never page content.
:meth:`Alerter.notify` only matches rules and queues; a worker thread delivers, so the proxy
never waits for a mail server. The rate limit (one alert per rule, profile and category per
``min_interval``) is kept in the database, so it holds across proxy workers; events inside
the interval are logged as suppressed and counted in the next alert.

The package by concern: :mod:`~reporting.alerts.config` (the rules and their checks),
:mod:`~reporting.alerts.events` (the facts an alert may carry), :mod:`~reporting.alerts.messages`
(subject, text and HTML, translated), :mod:`~reporting.alerts.transport` (SMTP, webhooks) and
:mod:`~reporting.alerts.alerter` (matching, rate limits in the database, digests, the worker).
"""

from __future__ import annotations

from reporting.alerts.alerter import Alerter
from reporting.alerts.config import (DEFAULT_ACCESS_REQUESTS_PER_HOUR, AlertConfig, AlertRule,
                                     SmtpConfig, parse_interval)
from reporting.alerts.events import AccessRequestEvent, AlertEvent, DecisionEvent
from reporting.alerts.messages import Message
from reporting.alerts.transport import post_webhook, send_mail

__all__ = ["DEFAULT_ACCESS_REQUESTS_PER_HOUR", "AccessRequestEvent", "AlertConfig", "AlertEvent",
           "AlertRule", "Alerter", "DecisionEvent", "Message", "SmtpConfig", "parse_interval",
           "post_webhook", "send_mail"]
