"""Changes to the knowledge files made from the assistant: a question cadres asked, added
as a new phrasing of an entry.

The file is edited with a round-trip YAML parser (ruamel.yaml), so comments, quoting and
layout stay as the coordinators wrote them: only the new line appears in a diff. The
changed knowledge is validated as `ntm-bot check` does, on a copy, before the file is
replaced (atomically), so an edit that would break the base is refused with the reason
and the running knowledge stays as it was.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from bot.knowledge import Knowledge, KnowledgeError, load_knowledge

PHRASING_LIMIT = 300  # characters: a paragraph of a situation is not a phrasing
_PROBLEMS_SHOWN = 3
_LOCK = threading.Lock()  # one edit at a time: two accepted at once must both land


class EditError(Exception):
    """The edit was not made; the message (Vietnamese) says why."""


def add_phrasing(directory: Path, entry_id: str, phrasing: str) -> Knowledge:
    """Add `phrasing` to the alternates of `entry_id`; the knowledge as it now is."""
    text = " ".join(phrasing.split())
    if not text:
        raise EditError("Câu hỏi trống, không có gì để thêm.")
    if len(text) > PHRASING_LIMIT:
        raise EditError(
            f"Câu hỏi dài {len(text)} ký tự (quá {PHRASING_LIMIT}): hãy viết gọn câu cần hỏi "
            "rồi thêm vào tệp kho tri thức."
        )
    with _LOCK:
        knowledge = load_knowledge(directory)
        entry = knowledge.entries.get(entry_id)
        if entry is None:
            raise EditError(f"Không còn mục '{entry_id}' trong kho tri thức.")
        path = directory / f"{entry.category}.yaml"
        data = _yaml().load(path.read_text(encoding="utf-8"))
        node = next((e for e in data["entries"] if e.get("id") == entry_id), None)
        if node is None:
            raise EditError(f"Không tìm thấy mục '{entry_id}' trong {path.name}.")
        node["alternates"].append(DoubleQuotedScalarString(text))
        return _write(directory, path, data)


def add_entry(directory: Path, category_id: str, fields: dict[str, object]) -> Knowledge:
    """Append a new entry (the fields of knowledge/README.md) to a category file; refused
    with the validator's reasons when the base would not pass `ntm-bot check`."""
    with _LOCK:
        path = directory / f"{category_id}.yaml"
        if not path.is_file():
            raise EditError(f"Không có chủ đề '{category_id}' trong kho tri thức.")
        data = _yaml().load(path.read_text(encoding="utf-8"))
        data["entries"].append(_entry_node(fields))
        return _write(directory, path, data)


def _entry_node(fields: dict[str, object]) -> CommentedMap:
    """An entry in the files' own style: quoted questions, the answer as a block."""
    node = CommentedMap()
    for key, value in fields.items():
        if key in ("question", "period"):
            node[key] = DoubleQuotedScalarString(str(value))
        elif key == "alternates":
            node[key] = CommentedSeq(DoubleQuotedScalarString(a) for a in value)
        elif key == "answer":
            node[key] = LiteralScalarString(str(value).rstrip("\n") + "\n")
        elif key == "sources":
            node[key] = CommentedSeq(
                CommentedMap((k, DoubleQuotedScalarString(v)) for k, v in source.items())
                for source in value
            )
        else:
            node[key] = value
    return node


def _write(directory: Path, path: Path, data: object) -> Knowledge:
    """Dump `data` as `path`'s new text, validated first, replaced atomically."""
    out = io.StringIO()
    _yaml().dump(data, out)
    _check(directory, path.name, out.getvalue())
    staged = path.with_name(f".{path.name}.tmp")
    staged.write_text(out.getvalue(), encoding="utf-8")
    os.replace(staged, path)
    return load_knowledge(directory)


def _check(directory: Path, name: str, text: str) -> None:
    """Validate the knowledge with `name` replaced by `text`, on a copy of the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        for path in directory.glob("*.yaml"):
            shutil.copy(path, tmp)
        Path(tmp, name).write_text(text, encoding="utf-8")
        try:
            load_knowledge(Path(tmp))
        except KnowledgeError as exc:
            shown = "; ".join(
                f"{Path(p.file).name}:{p.line}: {p.message}" for p in exc.problems[:_PROBLEMS_SHOWN]
            )
            raise EditError(f"Thêm vào thì kho tri thức không hợp lệ ({shown}).") from None


def _yaml() -> YAML:
    """Round-trip settings under which every bundled file dumps back byte for byte."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 10_000  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml
