"""Trợ lý NTM: a Telegram assistant for commune cadres in Vietnam's NTM programme."""

from pathlib import Path

# The knowledge base ships beside the package in the repository (installed editable).
BUNDLED_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
