import unicodedata

from assistant.text import clause_spans, fold, normalize, sentence_spans, tokens, words


def test_normalize_nfc_spaces_and_invisible_characters():
    nfd = unicodedata.normalize("NFD", "Bắc Giang")
    raw = f"\ufeff{nfd}\u00a0có\u2009 1.422\u200b trạm\u202fBTS\r\nDòng hai\rba"
    assert normalize(raw) == "Bắc Giang có  1.422 trạm BTS\nDòng hai\nba"
    assert unicodedata.is_normalized("NFC", normalize(raw))


def test_fold_removes_diacritics_and_keeps_length():
    s = "Đắk Lắk, Bắc Giang, Thừa Thiên Huế, thuỷ sản"
    assert fold(s) == "Dak Lak, Bac Giang, Thua Thien Hue, thuy san"
    assert len(fold(s)) == len(s)


def test_words_keep_vietnamese_syllables_numbers_and_one_letter_words():
    assert words("Toàn tỉnh có 1.422 trạm BTS, đạt 45,7% và xếp 31/63; ở A") == [
        "toàn",
        "tỉnh",
        "có",
        "1.422",
        "trạm",
        "bts",
        "đạt",
        "45,7%",
        "và",
        "xếp",
        "31/63",
        "ở",
        "a",
    ]


def test_old_and_new_tone_placement_give_the_same_token():
    assert words("hoà thuỷ") == words("hòa thủy") == ["hòa", "thủy"]


def test_tokens_are_syllables_numbers_and_neighbour_pairs():
    assert tokens("Toàn tỉnh có 1.422 trạm BTS") == [
        "toàn",
        "tỉnh",
        "có",
        "1.422",
        "trạm",
        "bts",
        "toàn_tỉnh",
        "tỉnh_có",
        "có_1.422",
        "1.422_trạm",
        "trạm_bts",
    ]
    assert tokens("45,7%") == ["45,7%", "45,7"]
    assert tokens("Đà") == ["đà"]


def test_folded_tokens_let_plain_queries_match_accented_text():
    doc = set(tokens(fold("Bắc Giang: toàn tỉnh có 1.422 trạm BTS")))
    query = tokens(fold("bac giang co bao nhieu tram bts"))
    assert [t for t in query if t in doc] == [
        "bac",
        "giang",
        "co",
        "tram",
        "bts",
        "bac_giang",
        "tram_bts",
    ]


def test_sentence_spans_split_on_sentence_ends_not_numbers_or_abbreviations():
    text = "Toàn tỉnh có 1.422 trạm BTS. Tại TP. Đồng Hới có 75 bộ phát.\nDòng mới"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "Toàn tỉnh có 1.422 trạm BTS.",
        "Tại TP. Đồng Hới có 75 bộ phát.",
        "Dòng mới",
    ]


def test_clause_spans_split_at_semicolons():
    text = "Hiện nay, toàn tỉnh có 1.422 trạm BTS; 100% UBND cấp xã có internet."
    assert [text[a:b] for a, b in clause_spans(text, 0, len(text))] == [
        "Hiện nay, toàn tỉnh có 1.422 trạm BTS",
        "100% UBND cấp xã có internet.",
    ]
