"""The channels an alert or a digest goes out on: SMTP email and a webhook
POST. Each failure is a DeliveryError naming the server and what went wrong.

Side effects: SMTP and HTTP connections.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from ..errors import DeliveryError, ErrorCode
from ..sections import EmailSettings


def send_email(cfg: EmailSettings, msg: EmailMessage) -> None:
    """Send one message; DeliveryError names the server and what went wrong."""
    where = f"SMTP server {cfg.smtp_host}:{cfg.smtp_port}"
    timeout = cfg.timeout.total_seconds()
    try:
        smtp: smtplib.SMTP
        context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
        if cfg.ssl:
            smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout)
        with smtp:
            if cfg.starttls and not cfg.ssl:
                smtp.starttls(context=context)
            if cfg.username:
                if cfg.password is None:
                    raise DeliveryError(f"{where}: alerts.email.username is set but the "
                                        f"environment variable {cfg.password_env} is empty",
                                        code=ErrorCode.SMTP_AUTH)
                smtp.login(cfg.username, cfg.password)
            smtp.send_message(msg)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"{where}: login refused: {e.smtp_code} {e.smtp_error!r}",
                            code=ErrorCode.SMTP_AUTH) from None
    except smtplib.SMTPNotSupportedError as e:
        raise DeliveryError(f"{where}: {e}", code=ErrorCode.SMTP_UNSUPPORTED) from None
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as e:
        raise DeliveryError(f"{where} unreachable: {e}", code=ErrorCode.SMTP_UNREACHABLE) from None
    except smtplib.SMTPException as e:  # refused recipients, bad sender, ... (before OSError: a subclass)
        raise DeliveryError(f"{where}: {e}", code=ErrorCode.SMTP_ERROR) from None
    except OSError as e:  # refused, DNS, timeout, TLS
        raise DeliveryError(f"{where} unreachable: {e}", code=ErrorCode.SMTP_UNREACHABLE) from None


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 20.0) -> None:
    try:
        resp = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as e:
        raise DeliveryError(f"webhook {url} unreachable: {e}", code=ErrorCode.WEBHOOK_UNREACHABLE) from None
    if resp.status_code >= 300:
        raise DeliveryError(f"webhook {url} answered {resp.status_code}",
                            code=ErrorCode.for_webhook_status(resp.status_code))


def header_message_id(key: str, sender: str) -> str:
    """The Message-ID header of a stored message id key: the key (install id
    included) at the sender's domain. A key stored before that (already a whole
    "<...@...>") is kept, so a pending resend stays the same email."""
    if key.startswith("<"):
        return key
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "news-monitor.invalid"
    return f"<{key}@{domain}>"


def build_email(cfg: EmailSettings, subject: str, text: str, html: str, msgid: str,
                to: list[str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.from_
    msg["To"] = ", ".join(to or cfg.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = header_message_id(msgid, cfg.from_)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg
