"""Outgoing mail: a real SMTP client, or an mbox file under the data dir when none is set."""

from __future__ import annotations

import asyncio
import logging
import mailbox
import smtplib
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from bastion.config import Settings
from bastion.private_files import private_file

MBOX_NAME = "mail.mbox"

log = logging.getLogger(__name__)


class Mailer:
    """Sends plain-text messages to the configured SMTP server (or the embedded mbox)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def mbox_path(self) -> Path:
        return self.settings.data_dir / MBOX_NAME

    def build(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = self.settings.smtp_from.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        return message

    async def send(self, to: str, subject: str, body: str) -> None:
        """Deliver one message; SMTP runs in a worker thread so the event loop stays free."""
        message = self.build(to, subject, body)
        if self.settings.smtp_host:
            await asyncio.to_thread(self._send_smtp, message)
        else:
            await asyncio.to_thread(self._append_mbox, message)

    def _send_smtp(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(message)

    def _append_mbox(self, message: EmailMessage) -> None:
        # One writer at a time in this process; other processes (workers, the CLI) are
        # waited for through the mbox's own dot lock, which fails at once when taken.
        with _MBOX_WRITER:
            private_file(self.mbox_path)  # messages hold reset links: 0600 from the start
            box = mailbox.mbox(self.mbox_path)
            try:
                _lock_patiently(box)
                try:
                    box.add(message)
                    box.flush()
                finally:
                    box.unlock()
            finally:
                box.close()


_MBOX_WRITER = threading.Lock()
MBOX_LOCK_SECONDS = 10.0


def _lock_patiently(box: mailbox.mbox) -> None:
    """Take the mbox's lock, retrying while another process holds it."""
    deadline = time.monotonic() + MBOX_LOCK_SECONDS
    while True:
        try:
            box.lock()
            return
        except mailbox.ExternalClashError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
