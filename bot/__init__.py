"""Trợ lý NTM: a Telegram assistant for commune cadres in Vietnam's NTM programme."""

import os
from pathlib import Path

# python-telegram-bot 22 gives durations (RetryAfter.retry_after…) as timedelta when this
# is set, as version 23 will by default; the code handles both, and opting in now keeps
# the logs free of its deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# The knowledge base ships beside the package in the repository (installed editable).
BUNDLED_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
