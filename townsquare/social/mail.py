"""Sending e-mail through the SMTP server in the settings (password-reset links)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from townsquare.config import Settings
from townsquare.errors import TownsquareError

SMTP_TIMEOUT_S = 15


class MailUnavailable(TownsquareError):
    status = 503
    code = "mail_unavailable"


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def sender(settings: Settings) -> str:
    return settings.mail_from or f"Townsquare <townsquare@{settings.host if '.' in settings.host else 'localhost'}>"


def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send a plain-text message; MailUnavailable (503) when SMTP is not set up or the server fails."""
    if not mail_configured(settings):
        raise MailUnavailable("e-mail is not set up on this server (TOWNSQUARE_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = sender(settings)
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="townsquare")
    message.set_content(body)
    security = settings.smtp_security.lower()
    try:
        if security == "tls":
            client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S)
        with client:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailUnavailable(f"the mail server did not take the message: {exc}") from exc
