"""E-mail over SMTP with STARTTLS, implicit TLS (SMTPS) or, for local relays, no TLS.

Uses the standard library's ``smtplib`` in a worker thread, one connection per message: simple
and robust at the volumes a notification service sends; a relay near the service does pooling.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..settings import NotificationSettings
from .base import OutgoingMessage, SendFailed


class SmtpSender:
    def __init__(self, settings: NotificationSettings) -> None:
        assert settings.smtp_host
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.tls = settings.smtp_tls
        self.user = settings.smtp_user
        self.password = settings.smtp_password
        self.sender = settings.smtp_from
        self.timeout = settings.smtp_timeout_seconds

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        # one Message-ID per delivery: a resend after a lost reply is recognisable downstream
        mail["Message-ID"] = make_msgid(idstring=str(message.delivery_id), domain="pamongdesa.id")
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def _send_blocking(self, mail: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.tls == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(mail)

    async def send(self, message: OutgoingMessage) -> None:
        mail = self.compose(message)
        try:
            await asyncio.to_thread(self._send_blocking, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendFailed(
                f"recipient refused: {exc.recipients}", permanent=min(codes) >= 500
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # the service's credentials, not the message: retry once the setting is fixed
            raise SendFailed(f"SMTP login refused: {exc.smtp_code}", permanent=False) from exc
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            raise SendFailed(reason, permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc

    async def close(self) -> None:
        return None
