"""The FAQ knowledge base: loaded from `knowledge/*.yaml`, validated, immutable.

`load_knowledge` reads every file and reports every problem it finds (each with its
file and line) instead of stopping at the first one, so a coordinator fixes a broken
edit in one pass. The bot refuses to start on an invalid knowledge base.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot import telegram_html
from bot.actions import BY_ID as KNOWN_ACTIONS
from bot.courtesy import Courtesy, fold_words
from bot.normalize import Lexicon, fold, normalize
from bot.yaml_lines import LineDict, LineList, YamlSyntaxError
from bot.yaml_lines import load as load_yaml

SYNONYMS_FILE = "synonyms.yaml"
CATALOGUE_FILE = "catalogue.yaml"
ACTIONS_FILE = "actions.yaml"
MIN_ACTION_PHRASINGS = 3
MAX_ENTRY_ACTIONS = 4  # the buttons under a how-to answer
_COURTESY_KINDS = ("thanks", "greetings", "polite", "questions")
MIN_ALTERNATES = 6
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_LIMIT = 40  # an id travels in button data ("hd:pick:<ticket>:<id>"), 64 bytes at most
_SOURCE_DATE = re.compile(r"^(?:(?:\d{1,2}/)?\d{1,2}/)?(?:19|20)\d\d$")
_ENTRY_FIELDS = {
    "id",
    "question",
    "alternates",
    "answer",
    "period",
    "sources",
    "updated",
    "related",
    "tags",
    "details",
    "actions",
    "status",
    "superseded_by",
}
# Whether an entry is in force: "current" (the rule or fact that applies today),
# "superseded" (a rule of an ended period; `superseded_by` names what replaced it),
# "guide" (how to use the assistant, general explanations).
STATUSES = ("current", "superseded", "guide")
# A superseded answer must say so in its own words; these are the ways it may.
_NO_LONGER = (
    "het hieu luc",
    "khong con ap dung",
    "khong con hieu luc",
    "da duoc thay",
    "da thay the",
    "duoc thay bang",
    "da ket thuc",
    "bai bo",
    "chi con gia tri",
    "het giai doan",
    "bo cu",
    "bo tieu chi cu",
    "khong con la",
    "da co quy dinh moi",
)
_SOURCE_FIELDS = {"doc", "date", "title", "url", "article"}
# How documents are cited in the short "Căn cứ" line: number and kind, as cadres cite them.
_SHORT_KINDS = (
    ("Thông tư liên tịch", "TTLT"),
    ("Quyết định", "QĐ"),
    ("Nghị định", "NĐ"),
    ("Nghị quyết", "NQ"),
    ("Thông tư", "TT"),
    ("Công văn", "CV"),
)


@dataclass(frozen=True)
class Source:
    doc: str
    date: str
    title: str
    url: str | None = None
    article: str | None = None  # "Điều 10", "Phụ lục I": where in the document

    @property
    def short(self) -> str:
        """'Nghị định 33/2023/NĐ-CP' -> 'NĐ 33/2023/NĐ-CP'."""
        for long, short in _SHORT_KINDS:
            if self.doc.startswith(long + " "):
                return short + self.doc[len(long) :]
        return self.doc


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    period: str
    sources: tuple[Source, ...]
    updated: dt.date
    related: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    details: str | None = None  # shown behind a button, after the short answer
    actions: tuple[str, ...] = ()  # the assistant's actions that do what this entry explains
    status: str = "current"  # one of STATUSES
    superseded_by: tuple[str, ...] = ()  # what applies now, for a superseded entry

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The canonical question first, then the alternates: what the matcher indexes."""
        return (self.question, *self.alternates)


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    entry_ids: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    """An action of the assistant (bot.actions) and the words cadres ask for it with."""

    id: str
    question: str  # how a suggestion names it: "Xem tình hình nông thôn mới của xã tôi"
    alternates: tuple[str, ...]

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternates)


@dataclass(frozen=True)
class Knowledge:
    categories: tuple[Category, ...]
    entries: dict[str, Entry]
    lexicon: Lexicon
    actions: dict[str, Action] = field(default_factory=dict)
    courtesy: Courtesy = field(default_factory=Courtesy)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class _Location:
    """Where an entry and each of its phrasings stand in their file."""

    file: str
    line: int
    phrasing_lines: tuple[int, ...]


class KnowledgeError(Exception):
    """The knowledge base is invalid; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate a knowledge directory; raise `KnowledgeError` listing all problems."""
    problems: list[Problem] = []
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), 0, "không tìm thấy thư mục kho tri thức")])

    lexicon = _load_lexicon(directory / SYNONYMS_FILE, problems)
    categories: list[Category] = []
    entries: dict[str, Entry] = {}
    where: dict[str, _Location] = {}  # entry id -> its location, for cross-file messages
    # Ids written in the files, valid entries or not: an entry with a broken field is
    # reported once, not again by every reference to it.
    declared: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (SYNONYMS_FILE, CATALOGUE_FILE, ACTIONS_FILE):
            continue
        loaded = _load_category(path, problems, declared)
        if loaded is None:
            continue
        category, file_entries = loaded
        categories.append(category)
        for entry, location in file_entries:
            if entry.id in entries:
                first = where[entry.id]
                problems.append(
                    Problem(
                        location.file,
                        location.line,
                        f"id '{entry.id}' bị trùng (đã có ở {first.file}:{first.line})",
                    )
                )
                continue
            entries[entry.id] = entry
            where[entry.id] = location

    actions, action_where, courtesy = _load_actions(directory / ACTIONS_FILE, lexicon, problems)
    for action_id, location in action_where.items():
        if action_id in where:
            first = where[action_id]
            problems.append(
                Problem(
                    location.file,
                    location.line,
                    f"id '{action_id}' bị trùng với một mục ({first.file}:{first.line})",
                )
            )
    _check_related(entries, where, declared, problems)
    _check_successors(entries, where, declared, problems)
    _check_entry_actions(entries, where, actions, action_where, problems)
    phrased = [(e.id, e.phrasings, where[e.id]) for e in entries.values()]
    phrased += [(a.id, a.phrasings, action_where[a.id]) for a in actions.values()]
    _check_shared_phrasings(phrased, lexicon, problems)
    order = _check_catalogue(directory / CATALOGUE_FILE, entries, declared, problems)
    if problems:
        raise KnowledgeError(problems)
    # Catalogue categories in the catalogue's order, then any others by file name.
    categories.sort(key=lambda c: order.index(c.id) if c.id in order else len(order))
    return Knowledge(tuple(categories), entries, lexicon, actions, courtesy)


def render_answer(entry: Entry) -> str:
    """The first message of an answer: the answer, its period and a short legal basis."""
    cited = "; ".join(_cite(source) for source in entry.sources)
    return "\n".join(
        [
            entry.answer.strip(),
            "",
            f"<i>Giai đoạn áp dụng: {telegram_html.escape(entry.period)}</i>",
            f"<b>Căn cứ:</b> {cited}",
        ]
    )


def render_details(entry: Entry) -> str:
    """What the short answer leaves out: the details, and every source with its full title."""
    lines = [f"<b>{telegram_html.escape(entry.question)}</b>", ""]
    if entry.details:
        lines += [entry.details.strip(), ""]
    lines.append("<b>Căn cứ đầy đủ:</b>")
    for source in entry.sources:
        doc = _linked(source, telegram_html.escape(source.doc))
        # A full date reads "ngày 29/12/2025"; a bare year or month reads "(2024)".
        date = telegram_html.escape(source.date)
        when = f"ngày {date}" if source.date.count("/") == 2 else f"({date})"
        where = f", {telegram_html.escape(source.article)}" if source.article else ""
        lines.append(f"• {doc} {when}{where}: {telegram_html.escape(source.title)}")
    return "\n".join(lines)


def _cite(source: Source) -> str:
    """'NĐ 33/2023/NĐ-CP (10/6/2023), Điều 10': number, date and article, no title."""
    text = f"{_linked(source, telegram_html.escape(source.short))} ({source.date})"
    return f"{text}, {telegram_html.escape(source.article)}" if source.article else text


def _linked(source: Source, text: str) -> str:
    return f'<a href="{telegram_html.escape(source.url)}">{text}</a>' if source.url else text


# --- loading one category file ------------------------------------------------------


def _load_category(
    path: Path, problems: list[Problem], declared: set[str]
) -> tuple[Category, list[tuple[Entry, _Location]]] | None:
    name = path.name
    try:
        data = load_yaml(path)
    except YamlSyntaxError as exc:
        problems.append(Problem(name, exc.line, exc.message))
        return None
    if not isinstance(data, LineDict):
        problems.append(Problem(name, 1, "tệp phải có các khóa category, title và entries"))
        return None
    _report_duplicate_keys(name, data, problems)
    category_id = data.get("category")
    if category_id != path.stem:
        problems.append(
            Problem(name, data.line_of("category"), f"category phải là '{path.stem}' (tên tệp)")
        )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(name, data.line_of("title"), "thiếu title (tên chủ đề)"))
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, LineList) or not raw_entries:
        problems.append(Problem(name, data.line_of("entries"), "entries phải là danh sách câu hỏi"))
        return None
    file_entries = []
    for index, raw in enumerate(raw_entries):
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            declared.add(raw["id"])
        line = raw_entries.line_of(index)
        entry = _parse_entry(name, path.stem, raw, line, problems)
        if entry is not None:
            lines = (raw.line_of("question"), *raw["alternates"].lines)
            file_entries.append((entry, _Location(name, line, lines)))
    category = Category(
        path.stem,
        _nfc(title) if isinstance(title, str) else path.stem,
        tuple(e.id for e, _ in file_entries),
    )
    return category, file_entries


def _parse_entry(
    file: str, category: str, raw: Any, line: int, problems: list[Problem]
) -> Entry | None:
    if not isinstance(raw, LineDict):
        problems.append(Problem(file, line, "mỗi mục phải là một bảng khóa: giá trị"))
        return None
    start = len(problems)
    fail = _item_checker(file, raw, _ENTRY_FIELDS, problems)

    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id) or len(entry_id) > ID_LIMIT:
        fail(
            "id",
            "id phải là chữ thường không dấu, số và dấu gạch ngang, tối đa "
            f"{ID_LIMIT} ký tự (vd: chuan-cong-chuc-xa)",
        )
    question = _text(raw, "question", fail)
    answer = _text(raw, "answer", fail)
    period = _text(raw, "period", fail)
    alternates = _string_list(raw, "alternates", fail, required=True)
    if alternates is not None and len(alternates) < MIN_ALTERNATES:
        fail("alternates", f"cần ít nhất {MIN_ALTERNATES} cách hỏi khác (có {len(alternates)})")
    related = _string_list(raw, "related", fail, required=False) or []
    tags = _string_list(raw, "tags", fail, required=False) or []
    sources = _sources(file, raw, problems)
    updated = raw.get("updated")
    if not isinstance(updated, dt.date) or isinstance(updated, dt.datetime):
        fail("updated", "updated phải là ngày dạng YYYY-MM-DD")
    details = _text(raw, "details", fail) if "details" in raw else None
    actions = _string_list(raw, "actions", fail, required=False) or []
    status = raw.get("status")
    if status not in STATUSES:
        fail("status", f"status phải là một trong: {', '.join(STATUSES)} (có: {status!r})")
    successors = _string_list(raw, "superseded_by", fail, required=False) or []
    if status == "superseded" and not successors:
        fail("status", "mục superseded cần superseded_by: id các mục đang áp dụng thay cho nó")
    if successors and status != "superseded":
        fail("superseded_by", "superseded_by chỉ dành cho mục có status: superseded")
    if status == "superseded" and answer and not any(w in fold(answer.lower()) for w in _NO_LONGER):
        fail("answer", "mục superseded phải nói rõ trong answer là quy định đã hết hiệu lực")
    for key, html in (("answer", answer), ("details", details)):
        for message in telegram_html.check(html or ""):
            fail(key, f"{key}: {message}")
    if len(problems) > start:
        return None
    entry = Entry(
        id=entry_id,
        category=category,
        question=question,
        alternates=tuple(alternates),
        answer=answer,
        period=period,
        sources=tuple(sources),
        updated=updated,
        related=tuple(related),
        tags=tuple(tags),
        details=details,
        actions=tuple(actions),
        status=status,
        superseded_by=tuple(successors),
    )
    shown = (
        ("answer", "câu trả lời", render_answer(entry)),
        ("details", "phần chi tiết", render_details(entry)),
    )
    for key, name, rendered in shown:
        if telegram_html.visible_length(rendered) > telegram_html.MESSAGE_LIMIT:
            fail(key, f"{name} dài quá {telegram_html.MESSAGE_LIMIT} ký tự khi hiển thị")
    return None if len(problems) > start else entry


def _item_checker(
    file: str, raw: LineDict, fields: set[str], problems: list[Problem]
) -> Callable[[str, str], None]:
    """Report an item's repeated and unknown keys; returns `fail(key, message)` for the rest."""
    _report_duplicate_keys(file, raw, problems)

    def fail(key: str, message: str) -> None:
        problems.append(Problem(file, raw.line_of(key), message))

    for key in raw:
        if key not in fields:
            fail(key, f"trường '{key}' không hợp lệ (các trường: {', '.join(sorted(fields))})")
    return fail


def _text(raw: LineDict, key: str, fail) -> str | None:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        fail(key, f"thiếu '{key}' hoặc '{key}' không phải là văn bản")
        return None
    return _nfc(value.strip())


def _string_list(raw: LineDict, key: str, fail, required: bool) -> list[str] | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        fail(key, f"'{key}' phải là danh sách các chuỗi ký tự không rỗng")
        return None
    return [_nfc(v.strip()) for v in value]


def _sources(file: str, raw: LineDict, problems: list[Problem]) -> list[Source]:
    value = raw.get("sources")
    if not isinstance(value, LineList) or not value:
        problems.append(
            Problem(file, raw.line_of("sources"), "cần ít nhất một văn bản căn cứ (sources)")
        )
        return []
    sources = []
    for index, item in enumerate(value):
        line = value.line_of(index)
        if not isinstance(item, LineDict):
            problems.append(Problem(file, line, "mỗi nguồn cần doc, date và title"))
            continue
        bad = False
        if "article" in item and not (isinstance(item["article"], str) and item["article"].strip()):
            problems.append(Problem(file, item.line_of("article"), "article phải là chuỗi ký tự"))
            bad = True
        for key in ("doc", "date", "title"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                problems.append(
                    Problem(file, item.line_of(key), f"nguồn thiếu '{key}' (chuỗi ký tự)")
                )
                bad = True
        for key in item:
            if key not in _SOURCE_FIELDS:
                problems.append(
                    Problem(file, item.line_of(key), f"trường nguồn '{key}' không hợp lệ")
                )
                bad = True
        if isinstance(item.get("date"), str) and not _SOURCE_DATE.match(item["date"].strip()):
            problems.append(
                Problem(
                    file, item.line_of("date"), "date phải có dạng dd/mm/yyyy, mm/yyyy hoặc yyyy"
                )
            )
            bad = True
        url = item.get("url")
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            problems.append(
                Problem(file, item.line_of("url"), "url phải bắt đầu bằng http:// hoặc https://")
            )
            bad = True
        if not bad:
            sources.append(
                Source(
                    _nfc(item["doc"].strip()),
                    item["date"].strip(),
                    _nfc(item["title"].strip()),
                    url,
                    _nfc(item["article"].strip()) if item.get("article") else None,
                )
            )
    return sources


def _report_duplicate_keys(file: str, data: LineDict, problems: list[Problem]) -> None:
    for key, line in data.duplicate_keys:
        problems.append(Problem(file, line, f"khóa '{key}' bị lặp lại"))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --- checks across files ------------------------------------------------------------


def _load_lexicon(path: Path, problems: list[Problem]) -> Lexicon:
    if not path.exists():
        return Lexicon()
    try:
        data = load_yaml(path)
    except YamlSyntaxError as exc:
        problems.append(Problem(path.name, exc.line, exc.message))
        return Lexicon()
    if not isinstance(data, LineDict):
        problems.append(
            Problem(path.name, 1, "synonyms.yaml cần các khóa abbreviations và fillers")
        )
        return Lexicon()
    abbreviations = data.get("abbreviations") or {}
    fillers = data.get("fillers") or []
    stopwords = data.get("stopwords") or []
    if not isinstance(abbreviations, LineDict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in abbreviations.items()
    ):
        problems.append(
            Problem(
                path.name,
                data.line_of("abbreviations"),
                "abbreviations phải là bảng 'viết tắt: đầy đủ'",
            )
        )
        abbreviations = {}
    if not _is_string_list(fillers):
        problems.append(
            Problem(path.name, data.line_of("fillers"), "fillers phải là danh sách chuỗi")
        )
        fillers = []
    if not _is_string_list(stopwords):
        problems.append(
            Problem(path.name, data.line_of("stopwords"), "stopwords phải là danh sách chuỗi")
        )
        stopwords = []
    return Lexicon.build(abbreviations, fillers, stopwords)


def _is_string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_related(
    entries: dict[str, Entry],
    where: dict[str, _Location],
    declared: set[str],
    problems: list[Problem],
) -> None:
    for entry in entries.values():
        for rel in entry.related:
            if rel not in declared or rel == entry.id:
                loc = where[entry.id]
                problems.append(
                    Problem(
                        loc.file,
                        loc.line,
                        f"related '{rel}' của '{entry.id}' không trỏ tới mục nào khác",
                    )
                )


def _check_successors(
    entries: dict[str, Entry],
    where: dict[str, _Location],
    declared: set[str],
    problems: list[Problem],
) -> None:
    """A superseded entry's successors exist and are rules, not guides."""
    for entry in entries.values():
        for successor in entry.superseded_by:
            loc = where[entry.id]
            if successor not in declared or successor == entry.id:
                problems.append(
                    Problem(
                        loc.file,
                        loc.line,
                        f"superseded_by '{successor}' của '{entry.id}' không trỏ tới mục nào khác",
                    )
                )
            elif successor in entries and entries[successor].status == "guide":
                problems.append(
                    Problem(loc.file, loc.line, f"superseded_by '{successor}' là mục hướng dẫn")
                )


def _check_entry_actions(
    entries: dict[str, Entry],
    where: dict[str, _Location],
    actions: dict[str, Action],
    action_where: dict[str, _Location],
    problems: list[Problem],
) -> None:
    for entry in entries.values():
        loc = where[entry.id]
        # An action that failed validation is reported where it stands, not here again.
        for action in (a for a in entry.actions if a not in actions and a not in action_where):
            problems.append(
                Problem(
                    loc.file,
                    loc.line,
                    f"actions: '{action}' của '{entry.id}' không có trong {ACTIONS_FILE}",
                )
            )
        for action in (a for a in entry.actions if a in KNOWN_ACTIONS):
            if KNOWN_ACTIONS[action].coordinator:
                message = (
                    f"actions: '{action}' chỉ dành cho điều phối viên, không đặt dưới mục hỏi đáp"
                )
                problems.append(Problem(loc.file, loc.line, message))
        if len(entry.actions) > MAX_ENTRY_ACTIONS:
            message = (
                f"actions: tối đa {MAX_ENTRY_ACTIONS} thao tác mỗi mục (có {len(entry.actions)})"
            )
            problems.append(Problem(loc.file, loc.line, message))


def _check_shared_phrasings(
    phrased: list[tuple[str, tuple[str, ...], _Location]],
    lexicon: Lexicon,
    problems: list[Problem],
) -> None:
    """No phrasing, once normalised, may stand twice: in two entries (or actions) or in one."""
    owner: dict[str, str] = {}
    for owner_id, phrasings, loc in phrased:
        for phrasing, line in zip(phrasings, loc.phrasing_lines, strict=True):
            key = " ".join(normalize(phrasing, lexicon).tokens)
            other = owner.get(key)
            if other is None:
                owner[key] = owner_id
                continue
            twin = (
                "một cách hỏi khác trong cùng mục"
                if other == owner_id
                else f"một cách hỏi của '{other}'"
            )
            problems.append(
                Problem(loc.file, line, f"cách hỏi '{phrasing}' trùng (sau chuẩn hóa) với {twin}")
            )


# --- the assistant's actions and the courtesy around questions ------------------------


def _load_actions(
    path: Path, lexicon: Lexicon, problems: list[Problem]
) -> tuple[dict[str, Action], dict[str, _Location], Courtesy]:
    """`actions.yaml`: optional; when present it describes every action of the catalogue."""
    if not path.exists():
        return {}, {}, Courtesy()
    name = path.name
    try:
        data = load_yaml(path)
    except YamlSyntaxError as exc:
        problems.append(Problem(name, exc.line, exc.message))
        return {}, {}, Courtesy()
    if not isinstance(data, LineDict) or not isinstance(data.get("actions"), LineList):
        problems.append(Problem(name, 1, "tệp cần khóa actions (danh sách thao tác)"))
        return {}, {}, Courtesy()
    _report_duplicate_keys(name, data, problems)
    for key in data:
        if key not in ("courtesy", "personal", "actions"):
            problems.append(
                Problem(
                    name,
                    data.line_of(key),
                    f"khóa '{key}' không hợp lệ (courtesy, personal, actions)",
                )
            )
    courtesy = replace(
        _courtesy(name, data, problems),
        personal=frozenset(tuple(fold_words(p)) for p in _personal(name, data, problems)),
    )
    # The matcher's fillers are polite words too, wherever they stand.
    courtesy = replace(courtesy, polite=courtesy.polite | lexicon.fillers)
    actions: dict[str, Action] = {}
    where: dict[str, _Location] = {}
    raw_actions = data["actions"]
    for index, raw in enumerate(raw_actions):
        line = raw_actions.line_of(index)
        action = _parse_action(name, raw, line, problems)
        if action is None:
            continue
        if action.id in actions:
            first = where[action.id]
            problems.append(Problem(name, line, f"id '{action.id}' bị trùng (dòng {first.line})"))
            continue
        actions[action.id] = action
        lines = (raw.line_of("question"), *raw["alternates"].lines)
        where[action.id] = _Location(name, line, lines)
    declared = {r.get("id") for r in raw_actions if isinstance(r, dict)}
    missing = [a for a in KNOWN_ACTIONS if a not in declared]
    if missing:
        problems.append(
            Problem(name, data.line_of("actions"), f"thiếu thao tác: {', '.join(missing)}")
        )
    return actions, where, courtesy


def _parse_action(file: str, raw: Any, line: int, problems: list[Problem]) -> Action | None:
    if not isinstance(raw, LineDict):
        problems.append(Problem(file, line, "mỗi thao tác phải là một bảng khóa: giá trị"))
        return None
    start = len(problems)
    fail = _item_checker(file, raw, {"id", "question", "alternates"}, problems)
    action_id = raw.get("id")
    if action_id not in KNOWN_ACTIONS:
        known = ", ".join(KNOWN_ACTIONS)
        fail("id", f"trợ lý không có thao tác '{action_id}' (các thao tác: {known})")
    question = _text(raw, "question", fail)
    alternates = _string_list(raw, "alternates", fail, required=True)
    if alternates is not None and len(alternates) < MIN_ACTION_PHRASINGS:
        fail(
            "alternates", f"cần ít nhất {MIN_ACTION_PHRASINGS} cách nói khác (có {len(alternates)})"
        )
    if len(problems) > start:
        return None
    return Action(action_id, question, tuple(alternates))


def _personal(file: str, data: LineDict, problems: list[Problem]) -> list[str]:
    value = data.get("personal", [])
    if _is_string_list(value):
        return value
    problems.append(Problem(file, data.line_of("personal"), "personal phải là danh sách chuỗi"))
    return []


def _courtesy(file: str, data: LineDict, problems: list[Problem]) -> Courtesy:
    raw = data.get("courtesy")
    if raw is None:
        return Courtesy()
    if not isinstance(raw, LineDict):
        problems.append(
            Problem(
                file,
                data.line_of("courtesy"),
                f"courtesy cần các khóa {', '.join(_COURTESY_KINDS)}",
            )
        )
        return Courtesy()
    lists = {}
    for key in raw:
        if key not in _COURTESY_KINDS:
            problems.append(Problem(file, raw.line_of(key), f"khóa courtesy '{key}' không hợp lệ"))
    for kind in _COURTESY_KINDS:
        value = raw.get(kind, [])
        if not _is_string_list(value):
            problems.append(
                Problem(file, raw.line_of(kind), f"courtesy.{kind} phải là danh sách chuỗi")
            )
            value = []
        lists[kind] = value
    return Courtesy.build(**lists)


def _check_catalogue(
    path: Path, entries: dict[str, Entry], declared: set[str], problems: list[Problem]
) -> list[str]:
    """Every required topic has an entry in its category's file; returns the category order."""
    if not path.exists():
        return []
    try:
        data = load_yaml(path)
    except YamlSyntaxError as exc:
        problems.append(Problem(path.name, exc.line, exc.message))
        return []
    catalogue = data.get("categories") if isinstance(data, LineDict) else None
    if not isinstance(catalogue, LineDict) or not all(
        isinstance(t, LineList) for t in catalogue.values()
    ):
        problems.append(
            Problem(path.name, 1, "catalogue.yaml cần khóa categories: chủ đề -> danh sách id")
        )
        return []
    for category_id, topics in catalogue.items():
        for index, topic in enumerate(topics):
            line = topics.line_of(index)
            entry = entries.get(topic)
            if topic not in declared:
                problems.append(
                    Problem(path.name, line, f"chủ đề bắt buộc '{topic}' chưa có mục nào")
                )
            elif entry is not None and entry.category != category_id:
                problems.append(
                    Problem(path.name, line, f"'{topic}' phải nằm trong tệp {category_id}.yaml")
                )
    return list(catalogue)
