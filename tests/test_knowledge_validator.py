"""`ntm-bot check`: every kind of mistake is reported with its file and line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.knowledge import KnowledgeError, load_knowledge
from tests.conftest import FIXTURES

GOOD_ENTRY = """\
  - id: {id}
    question: "{question}"
    alternates:
      - "{key} cách hỏi một"
      - "{key} cách hỏi hai"
      - "{key} cách hỏi ba"
      - "{key} cách hỏi bốn"
      - "{key} cách hỏi năm"
      - "{key} cách hỏi sáu"
    answer: "Câu trả lời {key}."
    period: "2026-2030 (hiện hành)"
    sources:
      - doc: "Quyết định 51/2025/QĐ-TTg"
        date: "29/12/2025"
        title: "Bộ tiêu chí quốc gia về xã nông thôn mới giai đoạn 2026-2030"
    updated: 2026-11-26
    status: current
"""


def entry(id: str, key: str, **replace: str) -> str:
    text = GOOD_ENTRY.format(id=id, key=key, question=f"Câu hỏi {key}?")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    directory = tmp_path / "kb"
    directory.mkdir()
    shutil.copy(FIXTURES / "mini" / "synonyms.yaml", directory / "synonyms.yaml")
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def problems(directory: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return [str(p) for p in info.value.problems]


def category(name: str, *entries: str) -> str:
    return f'category: {name}\ntitle: "Chủ đề {name}"\nentries:\n' + "".join(entries)


def test_valid_directory_loads(tmp_path):
    kb = write(tmp_path, {"a.yaml": category("a", entry("mot", "alpha"), entry("hai", "beta"))})
    knowledge = load_knowledge(kb)
    assert list(knowledge.entries) == ["mot", "hai"]
    assert knowledge.categories[0].title == "Chủ đề a"


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    kb = write(tmp_path, {"a.yaml": 'category: a\ntitle: "x"\nentries:\n  - id: [unclosed\n'})
    [problem] = problems(kb)
    assert problem.startswith("a.yaml:5:") or problem.startswith("a.yaml:4:")
    assert "cú pháp YAML" in problem


def test_missing_and_wrong_typed_fields(tmp_path):
    text = category(
        "a",
        entry("mot", "alpha", **{'    period: "2026-2030 (hiện hành)"\n': ""}),
        entry("hai", "beta", **{"updated: 2026-11-26": "updated: hôm qua"}),
    )
    kb = write(tmp_path, {"a.yaml": text})
    found = problems(kb)
    assert "a.yaml:4: thiếu 'period' hoặc 'period' không phải là văn bản" in found
    line = text.splitlines().index("    updated: hôm qua") + 1
    assert f"a.yaml:{line}: updated phải là ngày dạng YYYY-MM-DD" in found


def test_too_few_alternates_and_unknown_field(tmp_path):
    text = category(
        "a",
        entry("mot", "alpha", **{'      - "alpha cách hỏi sáu"\n': "", "question:": "questoin:"}),
    )
    kb = write(tmp_path, {"a.yaml": text})
    found = problems(kb)
    assert any(p.startswith("a.yaml:6: cần ít nhất 6 cách hỏi khác (có 5)") for p in found)
    assert any(p.startswith("a.yaml:5: trường 'questoin' không hợp lệ") for p in found)


def test_duplicate_ids_across_files(tmp_path):
    kb = write(
        tmp_path,
        {
            "a.yaml": category("a", entry("mot", "alpha")),
            "b.yaml": category("b", entry("mot", "beta")),
        },
    )
    assert problems(kb) == ["b.yaml:4: id 'mot' bị trùng (đã có ở a.yaml:4)"]


def test_related_must_exist(tmp_path):
    text = category(
        "a",
        entry(
            "mot",
            "alpha",
            **{"updated: 2026-11-26": "updated: 2026-11-26\n    related: [khong-co]"},
        ),
    )
    kb = write(tmp_path, {"a.yaml": text})
    assert problems(kb) == ["a.yaml:4: related 'khong-co' của 'mot' không trỏ tới mục nào khác"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("<span>x</span>", "thẻ <span> không được Telegram hỗ trợ"),
        ("<b>đậm", "thẻ <b> chưa được đóng"),
        ("<b><i>x</b></i>", "thẻ đóng </b> không khớp với thẻ mở"),
        ("a < b", "ký tự '<' chưa được viết thành &lt;"),
        ("Sở Nội vụ & Sở Tư pháp", "ký tự '&' chưa được viết thành &amp;"),
        ("<a>link</a>", 'thẻ <a> cần đúng một thuộc tính href="…"'),
    ],
)
def test_html_that_telegram_would_reject(tmp_path, answer, message):
    text = category("a", entry("mot", "alpha", **{"Câu trả lời alpha.": answer}))
    kb = write(tmp_path, {"a.yaml": text})
    found = problems(kb)
    assert all(p.startswith("a.yaml:13: answer: ") for p in found)
    assert any(message in p for p in found)


def test_answer_over_telegram_limit(tmp_path):
    text = category("a", entry("mot", "alpha", **{"Câu trả lời alpha.": "dài " * 1100}))
    kb = write(tmp_path, {"a.yaml": text})
    assert problems(kb) == ["a.yaml:13: câu trả lời dài quá 4096 ký tự khi hiển thị"]


def test_same_phrasing_in_two_entries_after_normalisation(tmp_path):
    text = category(
        "a",
        entry("mot", "alpha"),
        entry("hai", "beta", **{'"beta cách hỏi ba"': '"ALPHA cach hoi ba!"'}),
    )
    kb = write(tmp_path, {"a.yaml": text})
    line = text.splitlines().index('      - "ALPHA cach hoi ba!"') + 1
    assert problems(kb) == [
        f"a.yaml:{line}: cách hỏi 'ALPHA cach hoi ba!' trùng (sau chuẩn hóa) "
        "với một cách hỏi của 'mot'"
    ]


def test_catalogue_topic_without_entry(tmp_path):
    kb = write(
        tmp_path,
        {
            "a.yaml": category("a", entry("mot", "alpha")),
            "catalogue.yaml": "categories:\n  a:\n    - mot\n    - thieu-muc\n",
        },
    )
    assert problems(kb) == ["catalogue.yaml:4: chủ đề bắt buộc 'thieu-muc' chưa có mục nào"]


def test_bad_source_date_and_url(tmp_path):
    text = category(
        "a",
        entry(
            "mot",
            "alpha",
            **{'date: "29/12/2025"': 'date: "cuối năm 2025"\n        url: "ftp://x"'},
        ),
    )
    kb = write(tmp_path, {"a.yaml": text})
    date_line = text.splitlines().index('        date: "cuối năm 2025"') + 1
    assert problems(kb) == [
        f"a.yaml:{date_line}: date phải có dạng dd/mm/yyyy, mm/yyyy hoặc yyyy",
        f"a.yaml:{date_line + 1}: url phải bắt đầu bằng http:// hoặc https://",
    ]


def test_check_command_reports_and_exits_non_zero(tmp_path):
    kb = write(
        tmp_path, {"a.yaml": category("a", entry("mot", "alpha", **{"id: mot": "id: Mot Hai"}))}
    )
    result = CliRunner().invoke(main, ["check", str(kb)])
    assert result.exit_code == 1
    assert "a.yaml:4: id phải là chữ thường không dấu" in result.output


def test_check_command_passes_on_fixture():
    result = CliRunner().invoke(main, ["check", str(FIXTURES / "mini")])
    assert result.exit_code == 0, result.output
    assert "2 mục" in result.output


def test_catalogue_matches_the_project_topic_list():
    from tests.conftest import SHARED

    spec_path = SHARED / "spec" / "faq-topics.yaml"
    if not spec_path.exists():
        pytest.skip("../shared is not beside this checkout")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    from bot import BUNDLED_KNOWLEDGE_DIR

    ours = yaml.safe_load((BUNDLED_KNOWLEDGE_DIR / "catalogue.yaml").read_text(encoding="utf-8"))
    expected = {
        c: [t["id"] for t in spec["topics"] if t["category"] == c] for c in spec["categories"]
    }
    assert ours["categories"] == expected


# --- actions.yaml ------------------------------------------------------------------


def _actions_file(*, drop: str | None = None, phrasing: str = "") -> str:
    """A valid actions.yaml (every action of the catalogue), changed as asked."""
    from bot.actions import ACTIONS

    lines = ["courtesy:", "  thanks: [cảm ơn]", "  greetings: [chào]", "actions:"]
    for spec in ACTIONS:
        if spec.id == drop:
            continue
        lines += [
            f"  - id: {spec.id}",
            f'    question: "làm việc {spec.id}"',
            "    alternates:",
            *(f'      - "việc {spec.id} cách {n}"' for n in ("một", "hai", "ba")),
        ]
    if phrasing:
        lines.append(f'      - "{phrasing}"')
    return "\n".join(lines) + "\n"


def test_actions_file_loads_with_every_action(tmp_path):
    kb = write(
        tmp_path, {"a.yaml": category("a", entry("mot", "alpha")), "actions.yaml": _actions_file()}
    )
    knowledge = load_knowledge(kb)
    assert knowledge.actions["xa"].phrasings[0] == "làm việc xa"
    assert ("cam", "on") in knowledge.courtesy.thanks


def test_actions_file_mistakes_are_reported_with_their_line(tmp_path):
    kb = write(
        tmp_path,
        {
            "a.yaml": category(
                "a",
                entry("mot", "alpha", **{"    updated:": "    actions: [khongco]\n    updated:"}),
            ),
            "actions.yaml": _actions_file(drop="chuan", phrasing="alpha cách hỏi một"),
        },
    )
    found = problems(kb)
    assert any("thiếu thao tác: chuan" in p for p in found)
    assert any("actions: 'khongco' của 'mot' không có trong actions.yaml" in p for p in found)
    assert any(
        p.startswith("actions.yaml:") and "trùng (sau chuẩn hóa) với một cách hỏi của 'mot'" in p
        for p in found
    )


def test_an_unknown_action_names_the_known_ones(tmp_path):
    text = _actions_file().replace("  - id: reload\n", "  - id: bay\n")
    kb = write(tmp_path, {"a.yaml": category("a", entry("mot", "alpha")), "actions.yaml": text})
    found = problems(kb)
    assert any("trợ lý không có thao tác 'bay'" in p and "xa" in p for p in found)
    assert any("thiếu thao tác: reload" in p for p in found)


# --- status ------------------------------------------------------------------------


def test_status_is_required_and_checked(tmp_path):
    kb = write(
        tmp_path,
        {
            "a.yaml": category(
                "a",
                entry("mot", "alpha", **{"    status: current\n": ""}),
                entry("hai", "beta", **{"status: current": "status: hien-hanh"}),
                entry("ba", "gamma", **{"status: current": "status: superseded"}),
                entry(
                    "bon",
                    "delta",
                    **{
                        "status: current": "status: superseded\n    superseded_by: [khong-co]",
                        '"Câu trả lời delta."': '"Đã hết hiệu lực."',
                    },
                ),
                entry(
                    "nam",
                    "epsilon",
                    **{"status: current": "status: current\n    superseded_by: [mot]"},
                ),
            )
        },
    )
    found = problems(kb)
    assert any(
        p.startswith("a.yaml:") and "status phải là một trong" in p and "None" in p for p in found
    )
    assert any("status phải là một trong" in p and "'hien-hanh'" in p for p in found)
    assert any("mục superseded cần superseded_by" in p for p in found)
    assert any("superseded_by 'khong-co' của 'bon' không trỏ tới mục nào khác" in p for p in found)
    assert any("superseded_by chỉ dành cho mục có status: superseded" in p for p in found)


def test_a_superseded_answer_must_say_it_no_longer_applies(tmp_path):
    old = {"status: current": "status: superseded\n    superseded_by: [moi]"}
    kb = write(
        tmp_path,
        {"a.yaml": category("a", entry("moi", "alpha"), entry("cu", "beta", **old))},
    )
    [problem] = problems(kb)
    assert problem.endswith("mục superseded phải nói rõ trong answer là quy định đã hết hiệu lực")
    said = {**old, '"Câu trả lời beta."': '"Quy định này đã hết hiệu lực từ 15/02/2026."'}
    (tmp_path / "2").mkdir()
    kb2 = write(
        tmp_path / "2",
        {"a.yaml": category("a", entry("moi", "alpha"), entry("cu", "beta", **said))},
    )
    assert load_knowledge(kb2).entries["cu"].superseded_by == ("moi",)
