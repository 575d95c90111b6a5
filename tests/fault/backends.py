"""An e-mail backend for fault tests run in a Celery worker: slow, and writing each message to a folder."""

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class SlowFolderBackend(BaseEmailBackend):
    """Marks that sending started, waits FAULT_MAIL_DELAY seconds, then writes the message.

    A worker killed during the wait leaves the marker but no message: the test sees both.
    """

    def send_messages(self, messages):
        folder = Path(os.environ["FAULT_MAIL_DIR"])
        (folder / f"started-{os.getpid()}-{uuid.uuid4().hex}").touch()
        time.sleep(float(os.environ.get("FAULT_MAIL_DELAY", "0")))
        for message in messages:
            (folder / f"mail-{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(messages)
