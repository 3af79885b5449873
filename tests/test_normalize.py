"""The normaliser: how cadres type becomes what the matcher compares."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot import BUNDLED_KNOWLEDGE_DIR
from bot.knowledge import load_knowledge
from bot.matcher import Matcher
from bot.normalize import clean, fold, normalize, telex_fold
from tests.conftest import FIXTURES

LEXICON = load_knowledge(FIXTURES / "mini").lexicon


def tokens(text: str) -> tuple[str, ...]:
    return normalize(text, LEXICON).tokens


def test_diacritics_are_folded_and_d_bar_becomes_d():
    assert fold("Tiêu chí Đảng bộ đạt chuẩn") == "Tieu chi Dang bo dat chuan"


def test_decomposed_input_equals_composed():
    composed = "Cán bộ, công chức xã đạt chuẩn"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalize(decomposed, LEXICON) == normalize(composed, LEXICON)


def test_old_and_new_tone_placement_compare_equal():
    assert clean("hoà thuỷ khoá") == clean("hòa thủy khóa")
    assert clean("quý") == "quý"  # 'qu' is a consonant: nothing to move


def test_invisible_characters_are_dropped():
    assert tokens("tiêu\u200b chí\u202e 18\ufeff") == ("tieu", "chi", "18")


def test_telex_leftovers():
    assert telex_fold("tieeu") == "tieu"
    assert telex_fold("chis") == "chi"
    assert telex_fold("dduowcj") == "duoc"


def test_abbreviations_expand_longest_first():
    assert tokens("cb xa ko du chuan") == ("can", "bo", "xa", "khong", "du", "chuan")
    assert tokens("tc llct") == ("trung", "cap", "ly", "luan", "chinh", "tri")
    assert tokens("tc 18") == ("tieu", "chi", "18")
    assert tokens("QĐ 51") == tokens("qd 51") == ("quyet", "dinh", "51")


def test_fillers_are_removed():
    assert tokens("Ad ơi cho em hỏi tiêu chí 18 là gì ạ") == ("tieu", "chi", "18", "la", "gi")


def test_document_numbers_and_ranges_stay_whole():
    assert "51/2025" in tokens("QĐ 51/2025/QĐ-TTg")
    assert "18.1" in tokens("chỉ tiêu 18.1")
    assert "2016-2020" in tokens("giai đoạn 2016 – 2020")
    assert "2021-2025" in tokens("giai doan 2021-25")
    assert tokens("tc18") == ("tieu", "chi", "18")


MATCHER = Matcher(load_knowledge(FIXTURES / "mini"))


@given(st.text(max_size=3000))
def test_any_text_matches_without_raising(text):
    result = MATCHER.match(text)
    assert result.decision in {"answer", "suggest", "none"}
    assert 0 <= result.score <= 100


@given(
    st.lists(
        st.sampled_from(
            ["\u200b", "\u202e", "\x00", "😀", "ạ", "<b>", "'; DROP TABLE", "\n", "a" * 50]
        ),
        max_size=200,
    )
)
def test_odd_characters_match_without_raising(parts):
    assert MATCHER.match("".join(parts)).decision in {"answer", "suggest", "none"}


REAL = Matcher(load_knowledge(BUNDLED_KNOWLEDGE_DIR))


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=500))
def test_the_real_knowledge_matches_any_text_without_raising(text):
    result = REAL.match(text)
    assert result.decision in {"answer", "suggest", "none"}
    assert all(0 <= c.score <= 100 for c in result.candidates)
    known = REAL.knowledge.entries.keys() | REAL.knowledge.actions.keys()
    assert result.id is None or result.id in known
