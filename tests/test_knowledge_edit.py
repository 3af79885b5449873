"""The round trip that writes accepted phrasings keeps every knowledge file as written."""

from __future__ import annotations

import io

import pytest

from bot import BUNDLED_KNOWLEDGE_DIR
from bot.knowledge_edit import EditError, _yaml, add_phrasing


@pytest.mark.parametrize("path", sorted(BUNDLED_KNOWLEDGE_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_file_dumps_back_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    yaml = _yaml()
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)
    assert out.getvalue() == text


def test_a_paragraph_is_not_a_phrasing(tmp_path):
    with pytest.raises(EditError, match="quá 300"):
        add_phrasing(tmp_path, "tieu-chi-mau", "x " * 200)
