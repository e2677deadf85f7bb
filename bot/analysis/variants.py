"""Owns the surface forms of a watched term: Russian declension (pymorphy3), Belarusian
declension by rule, hyphen/space/quote layouts, English demonyms, and Latin <-> Cyrillic
transliteration for proposing variants to the user.

Two audiences use it. The watchlist compiles `alias_forms` of every alias into its matcher (so
"Беларусь" also matches "Беларуси" and "Беларуссю"); those forms never leave the matcher, and
nonsense forms cost nothing because they simply never occur. `propose_variants` is what a user
sees after "/watch add": other spellings (Lukashenko / Lukashenka / Лукашенко / Лукашэнка) they
may want to add as aliases, with the declensions the matcher will also catch.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable

from bot.analysis.nlp import fold_text

# pymorphy3 tags that mark a proper name: such a word is never "a common word".
_PROPER_TAGS = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr"})
_CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
_QUOTE_CHARS = "\"«»„“”‟‹›'"
_SEGMENT_RE = re.compile(r"\w+|\s+|[^\w\s]")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_BELARUSIAN_ONLY_RE = re.compile(r"[іўІЎ']|(?<=\w)[эЭ]")
_DASH_RE = re.compile(r"\s*[-‐‑‒–—―−]\s*")
_LETTER_DIGIT_SPACE_RE = re.compile(r"(?<=[^\W\d_])\s+(?=\d)|(?<=\d)\s+(?=[^\W\d_])")

FormKey = tuple[str | None, str | None]  # (case, number); (None, None) for uninflected
FormTable = dict[FormKey, tuple[str, ...]]


# --------------------------------------------------------------------------- helpers


def is_cyrillic(text: str) -> bool:
    return bool(_CYRILLIC_RE.search(text))


def is_latin(text: str) -> bool:
    return bool(_LATIN_RE.search(text))


def _match_case(form: str, model: str) -> str:
    """``form`` with the capitalisation of ``model`` (pymorphy3 returns lower case)."""
    if model.isupper() and len(model) > 1:
        return form.upper()
    if model[:1].isupper():
        return form[:1].upper() + form[1:]
    return form


def _dedupe(forms: Iterable[str]) -> tuple[str, ...]:
    """Forms in first-seen order, one per folded spelling."""
    seen: set[str] = set()
    out: list[str] = []
    for form in forms:
        form = " ".join(form.split())
        key = fold_text(form)
        if form and key not in seen:
            seen.add(key)
            out.append(form)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _morph():  # type: ignore[no-untyped-def]
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


# --------------------------------------------------------------------------- Russian


@functools.lru_cache(maxsize=65536)
def russian_forms(word: str) -> dict[FormKey, tuple[str, ...]]:
    """Every form of a Russian word by (case, number), lower case.

    Parses scoring at least a tenth of the best are all used, so "Александра" (a woman's name,
    or the genitive of Александр) declines both ways; an alias is written in the nominative, so
    nominative parses win when there are any. A word the dictionary does not know is declined
    only from a nominative guess (pymorphy3 otherwise guesses "Лукашенка" is the genitive of
    "Лукашенок"). Indeclinable words (Лукашенко: Fixd) give only themselves."""
    low = word.lower()
    parses = [p for p in _morph().parse(low) if p.tag.POS in _DECLINABLE]
    nominative = [p for p in parses if p.tag.case == "nomn"]
    if nominative or not _morph().word_is_known(low):
        parses = nominative
    if not parses:
        return {(None, None): (low,)}
    best = parses[0].score
    table: dict[FormKey, list[str]] = {}
    for parse in parses:
        if parse.score < best * 0.1 or "Fixd" in parse.tag:
            continue
        for form in parse.lexeme:
            bucket = table.setdefault((form.tag.case, form.tag.number), [])
            if form.word not in bucket:
                bucket.append(form.word)
    if not table:
        return {(None, None): (low,)}
    return {key: tuple(forms) for key, forms in table.items()}


_DECLINABLE = frozenset({"NOUN", "ADJF", "PRTF", "NUMR"})


def is_known_russian(word: str) -> bool:
    return bool(_morph().word_is_known(word.lower()))


def is_common_word(alias: str) -> bool:
    """True when ``alias`` (quotes aside) is one capitalised Russian word that the dictionary
    knows as a common noun, not a name: "Запад" is "the West" far more often than the Zapad
    drills, so it may only match where the text marks it as a name (see `Watchlist`). An alias
    written in lower case ("белорус") is meant as the word itself. Latin and Belarusian words
    cannot be judged without a dictionary; write them in quotes («Захад», "Apple") to get the
    same treatment."""
    core = alias.strip().strip(_QUOTE_CHARS).strip()
    if not re.fullmatch(r"[^\W\d_]+", core) or not is_cyrillic(core) or not core[0].isupper():
        return False
    if not is_known_russian(core):
        return False
    parses = _morph().parse(core.lower())
    best = parses[0].score
    likely = [parse for parse in parses if parse.score >= best * 0.5]
    # A name typed by a user is in the nominative: only a word that IS a common noun's dictionary
    # form counts ("Запад"), not a surname that happens to inflect a rare noun ("Хренин").
    return all(
        p.tag.POS == "NOUN" and not _PROPER_TAGS & p.tag.grammemes and p.normal_form == core.lower()
        for p in likely
    )


# --------------------------------------------------------------------------- Belarusian

# Endings by (case, number), by the ending of the nominative. Belarusian has no pymorphy3
# dictionary, so nouns and adjectives decline by these rules; they over-generate on purpose
# (both hard and soft variants, both genders of -а nouns), which is harmless in a matcher.
_BE_A = {
    ("nomn", "sing"): ("а",),
    ("gent", "sing"): ("ы", "і"),
    ("datv", "sing"): ("@", "у"),
    ("accs", "sing"): ("у",),
    ("ablt", "sing"): ("ай", "аю", "ой", "ою", "ам", "ом"),
    ("loct", "sing"): ("@", "у"),
    ("nomn", "plur"): ("ы", "і"),
    ("gent", "plur"): ("аў", ""),
    ("datv", "plur"): ("ам",),
    ("ablt", "plur"): ("амі",),
    ("loct", "plur"): ("ах",),
}
_BE_YA = {
    ("nomn", "sing"): ("я",),
    ("gent", "sing"): ("і",),
    ("datv", "sing"): ("і", "ю"),
    ("accs", "sing"): ("ю",),
    ("ablt", "sing"): ("яй", "яю", "ем"),
    ("loct", "sing"): ("і",),
    ("nomn", "plur"): ("і",),
    ("gent", "plur"): ("яў", "й"),
    ("datv", "plur"): ("ям",),
    ("ablt", "plur"): ("ямі",),
    ("loct", "plur"): ("ях",),
}
_BE_SOFT_SIGN = {  # feminine and masculine together, for words of unknown gender
    ("nomn", "sing"): ("ь",),
    ("gent", "sing"): ("і", "я"),
    ("datv", "sing"): ("і", "ю"),
    ("accs", "sing"): ("ь",),
    ("ablt", "sing"): ("+ю", "ью", "ем", "ам"),
    ("loct", "sing"): ("і", "ю", "е"),
}
_BE_SOFT_SIGN_FEMININE = {  # Беларусь: Беларусі, Беларуссю
    ("nomn", "sing"): ("ь",),
    ("gent", "sing"): ("і",),
    ("datv", "sing"): ("і",),
    ("accs", "sing"): ("ь",),
    ("ablt", "sing"): ("+ю",),
    ("loct", "sing"): ("і",),
}
_BE_NEUTER = {
    ("nomn", "sing"): ("о", "е", "а"),
    ("gent", "sing"): ("а", "я", "і", "ы"),
    ("datv", "sing"): ("у", "ю"),
    ("accs", "sing"): ("о", "е", "у"),
    ("ablt", "sing"): ("ам", "ем", "ом"),
    ("loct", "sing"): ("е", "і", "у"),
    ("nomn", "plur"): ("ы", "і"),
    ("gent", "plur"): ("аў", "яў"),
    ("datv", "plur"): ("ам", "ям"),
    ("ablt", "plur"): ("амі", "ямі"),
    ("loct", "plur"): ("ах", "ях"),
}
_BE_ADJ_OR_PLURAL = {  # беларускі, новы; and plural nouns such as вучэнні
    ("nomn", "sing"): ("і", "ы", "ая", "ае", "е"),
    ("gent", "sing"): ("ага", "ай", "я"),
    ("datv", "sing"): ("аму", "ай", "ю"),
    ("accs", "sing"): ("ую", "ае", "е"),
    ("ablt", "sing"): ("ім", "ым", "ай", "аю", "ем"),
    ("loct", "sing"): ("ім", "ым", "ай", "і"),
    ("nomn", "plur"): ("ія", "ыя", "і", "ы"),
    ("gent", "plur"): ("іх", "ых", "яў", "аў"),
    ("datv", "plur"): ("ім", "ым", "ям", "ам"),
    ("ablt", "plur"): ("імі", "ымі", "ямі", "амі"),
    ("loct", "plur"): ("іх", "ых", "ях", "ах"),
}
_BE_CONSONANT = {
    ("nomn", "sing"): ("",),
    ("gent", "sing"): ("а", "у"),
    ("datv", "sing"): ("у",),
    ("accs", "sing"): ("", "а"),
    ("ablt", "sing"): ("ам", "ом", "ем"),
    ("loct", "sing"): ("е", "у", "і"),
    ("nomn", "plur"): ("ы", "і"),
    ("gent", "plur"): ("аў",),
    ("datv", "plur"): ("ам",),
    ("ablt", "plur"): ("амі",),
    ("loct", "plur"): ("ах",),
}
_BE_ALTERNATION = {"к": "ц", "г": "з", "х": "с"}  # Рэспубліка → Рэспубліцы


@functools.lru_cache(maxsize=65536)
def belarusian_forms(word: str) -> dict[FormKey, tuple[str, ...]]:
    """Forms of a Belarusian (or Belarusian-declined) noun or adjective by rule, lower case."""
    low = word.lower()
    if len(low) < 3 or not re.fullmatch(r"[^\W\d_]+", low) or not is_cyrillic(low):
        return {(None, None): (low,)}
    if low.endswith(("ый", "ій", "ий")):
        stem, paradigm = low[:-2], _BE_ADJ_OR_PLURAL
    elif low.endswith(("і", "ы", "и")):
        stem, paradigm = low[:-1], _BE_ADJ_OR_PLURAL
    elif low.endswith("а"):
        stem, paradigm = low[:-1], _BE_A
    elif low.endswith("я"):
        stem, paradigm = low[:-1], _BE_YA
    elif low.endswith("ь"):
        feminine = _russian_gender(low) == "femn"
        stem, paradigm = low[:-1], _BE_SOFT_SIGN_FEMININE if feminine else _BE_SOFT_SIGN
    elif low.endswith(("о", "е", "э", "ё")):
        stem, paradigm = low[:-1], _BE_NEUTER
    elif low[-1] in "аеёіоуыэюяйў":
        return {(None, None): (low,)}
    else:
        stem, paradigm = low, _BE_CONSONANT
    table: dict[FormKey, tuple[str, ...]] = {}
    for key, endings in paradigm.items():
        table[key] = tuple(dict.fromkeys(_be_spelling(_apply_ending(stem, e)) for e in endings))
    return table


_BE_HARD_ONLY_RE = re.compile(r"(?<=[жшчрц])[іяюеё]")
_BE_VELAR_RE = re.compile(r"(?<=[кгх])[ыяю]")
_BE_HARD = {"і": "ы", "я": "а", "ю": "у", "е": "э", "ё": "о"}
_BE_VELAR = {"ы": "і", "я": "а", "ю": "у"}


def _be_spelling(form: str) -> str:
    """Belarusian spelling rules the endings must obey: only hard vowels after ж ш ч р ц
    (Лукашэнкы is wrong, Лукашэнкі right; кя, кю do not occur)."""
    form = _BE_HARD_ONLY_RE.sub(lambda m: _BE_HARD[m.group()], form)
    return _BE_VELAR_RE.sub(lambda m: _BE_VELAR[m.group()], form)


def _russian_gender(low: str) -> str | None:
    """The gender the Russian dictionary gives a word Russian and Belarusian share (Беларусь),
    so the Belarusian rules can pick the right soft-sign paradigm; None if unknown."""
    if not _morph().word_is_known(low):
        return None
    return _morph().parse(low)[0].tag.gender


def _apply_ending(stem: str, ending: str) -> str:
    if ending == "@":  # dative/locative of -а nouns: к→ц etc. before ы, else е
        last = stem[-1:]
        return stem[:-1] + _BE_ALTERNATION[last] + "ы" if last in _BE_ALTERNATION else stem + "е"
    if ending.startswith("+"):  # Беларусь → Беларуссю: the consonant doubles
        return stem + stem[-1:] + ending[1:]
    return stem + ending


def looks_belarusian(word: str) -> bool:
    """Letters Russian lacks (і ў ') or э after a letter (Лукашэнка, вучэнні)."""
    return bool(_BELARUSIAN_ONLY_RE.search(word))


@functools.lru_cache(maxsize=65536)
def word_forms(word: str) -> dict[FormKey, tuple[str, ...]]:
    """All forms of one Cyrillic word by (case, number): pymorphy3 for Russian, the rules for
    Belarusian, both for names (a Belarusian text declines Беларусь as Беларуссю) and for words
    the Russian dictionary does not know. ``{(None, None): (word,)}`` when nothing declines."""
    low = word.lower()
    if not is_cyrillic(low) or not re.fullmatch(r"[^\W\d_]+", low):
        return {(None, None): (low,)}
    tables: list[dict[FormKey, tuple[str, ...]]] = []
    belarusian = looks_belarusian(low)
    if not belarusian:
        tables.append(russian_forms(low))
    if belarusian or not is_known_russian(low) or _is_name(low):
        tables.append(belarusian_forms(low))
    if low.endswith("енко") or low.endswith("енка"):  # Ukrainian/Belarusian surnames
        stem = low[:-1]
        tables.append(
            {
                ("gent", "sing"): (stem + "а", stem + "і"),
                ("datv", "sing"): (stem + "у",),
                ("ablt", "sing"): (stem + "ам", stem + "ом"),
            }
        )
    merged: dict[FormKey, list[str]] = {}
    for table in tables:
        for key, forms in table.items():
            bucket = merged.setdefault(key, [])
            bucket.extend(f for f in forms if f not in bucket)
    if (None, None) in merged and len(merged) > 1:
        del merged[(None, None)]
    if not any(low in forms for forms in merged.values()):
        merged.setdefault(("nomn", "sing"), []).insert(0, low)
    return {key: tuple(forms) for key, forms in merged.items()}


def _is_name(low: str) -> bool:
    return any(_PROPER_TAGS & p.tag.grammemes for p in _morph().parse(low)[:3])


# --------------------------------------------------------------------------- alias forms


@functools.lru_cache(maxsize=65536)
def alias_forms(alias: str) -> tuple[str, ...]:
    """The surface forms the matcher compiles for one alias (first: the alias itself).

    Declension: Cyrillic words decline, either in agreement ("Александра Лукашенко",
    "Рэспублікі Беларусь") or the first one alone ("Республики Беларусь", "учениях «Запад»").
    A name in quotes after other words stays as written (учениях «Запад», never «Запада»), and
    so does a common word written after a lower-case one ("учения Запад": "учения Запада"
    would be the West's exercises); a name that is entirely in quotes declines inside them
    («Запада-2025»). Layouts of every form: without the quotes, and "Zapad-2025" also as
    "Zapad 2025" and "Zapad2025"."""
    alias = " ".join(str(alias).split())
    if not alias:
        return ()
    forms: list[str] = []
    for form in _declensions(alias):
        layouts = [form]
        core = form.strip(_QUOTE_CHARS).strip()
        if core != form and _QUOTE_CHARS_RE.search(core) is None:
            layouts.append(core)  # «Запад-2025» → Запад-2025
        elif _QUOTE_CHARS_RE.search(form):
            layouts.append(" ".join(_QUOTE_CHARS_RE.sub(" ", form).split()))  # учения Запад
        for layout in list(layouts):
            layouts.extend(_hyphen_layouts(layout))
        forms.extend(layouts)
    return _dedupe(forms)


_QUOTE_CHARS_RE = re.compile(r"[\"«»„“”‟‹›]")


def _hyphen_layouts(text: str) -> list[str]:
    out: list[str] = []
    if _DASH_RE.search(text):
        out += [_DASH_RE.sub(" ", text), _DASH_RE.sub("", text), _DASH_RE.sub("-", text)]
    if _LETTER_DIGIT_SPACE_RE.search(text):
        out += [_LETTER_DIGIT_SPACE_RE.sub("-", text), _LETTER_DIGIT_SPACE_RE.sub("", text)]
    return out


def _declensions(text: str, forms_of: Callable[[str], FormTable] | None = None) -> list[str]:
    forms_of = forms_of or word_forms
    segments = _SEGMENT_RE.findall(text)
    movable = _movable_words(segments)
    if not movable:
        return [text]
    tables = {i: forms_of(segments[i]) for i in movable}
    out = [text]
    keys = sorted({k for t in tables.values() for k in t}, key=_key_order)
    for key in keys:  # agreement: every movable word in the same case and number
        options = [
            [_match_case(f, segments[i]) for f in tables[i].get(key, (segments[i],))]
            for i in movable
        ]
        for combo in itertools.islice(itertools.product(*options), 8):
            out.append(_join(segments, dict(zip(movable, combo, strict=True))))
    head = movable[0]  # the first word alone: "Республики Беларусь", "учениях «Запад»"
    for key in keys:
        for form in tables[head].get(key, ()):
            out.append(_join(segments, {head: _match_case(form, segments[head])}))
    return out


def _key_order(key: FormKey) -> tuple[int, int]:
    case, number = key
    return (
        _CASES.index(case) if case in _CASES else len(_CASES),
        0 if number == "sing" else 1 if number == "plur" else 2,
    )


def _movable_words(segments: list[str]) -> list[int]:
    """Indexes of the Cyrillic words that decline. Words inside quotes stay put when the alias
    also has words outside them (an appositive name); so does a common word written with a
    capital after a lower-case word ("учения Запад")."""
    inside = False
    words_in: list[int] = []
    words_out: list[int] = []
    previous_lower = False
    for i, seg in enumerate(segments):
        if seg in "«„‹":
            inside = True
        elif seg in "»›":
            inside = False
        elif seg in '"“”':
            inside = not inside
        elif is_cyrillic(seg) and re.fullmatch(r"[^\W\d_]+", seg):
            appositive = previous_lower and seg[:1].isupper() and is_common_word(seg)
            if not appositive:
                (words_in if inside else words_out).append(i)
            previous_lower = seg[:1].islower()
    return words_out or words_in


def _join(segments: list[str], replace: dict[int, str]) -> str:
    return "".join(replace.get(i, seg) for i, seg in enumerate(segments))


# Demonyms the suffix rule gets wrong, for places a desk in the region writes about.
_DEMONYM_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "Canada": ("Canadian", "Canadians"),
    "China": ("Chinese",),
    "Cyprus": ("Cypriot", "Cypriots"),
    "Poland": ("Polish", "Poles"),
    "Georgia": ("Georgian", "Georgians"),
    "Germany": ("German", "Germans"),
    "France": ("French",),
    "Hungary": ("Hungarian", "Hungarians"),
    "Turkey": ("Turkish", "Turks"),
    "Finland": ("Finnish", "Finns"),
    "Sweden": ("Swedish", "Swedes"),
    "Norway": ("Norwegian", "Norwegians"),
    "Moscow": ("Muscovite", "Muscovites"),
}


def english_demonyms(word: str) -> tuple[str, ...]:
    """ "Belarus" → Belarusian(s); "Ukraine" → Ukrainian(s); "Russia" → Russian(s).

    Only for one capitalised Latin word that names a place: its Russian spelling must be a
    geographical name in the dictionary (so "Tsikhanouskaya" or "Yelena" never become
    "Tsikhanouskayan"), and places the suffix rule gets wrong come from a short table. These
    are shown to people as spellings to add, so a made-up word is not acceptable."""
    if word in _DEMONYM_EXCEPTIONS:
        return _DEMONYM_EXCEPTIONS[word]
    if not re.fullmatch(r"[A-Z][a-z]{3,}", word) or not _is_place(latin_to_russian(word)):
        return ()
    if word.endswith("ia"):
        base = word + "n"
    elif word.endswith("us"):
        base = word + "ian"
    elif word.endswith("ine"):
        base = word[:-1] + "ian"
    elif word.endswith("a"):
        base = word + "n"
    else:
        return ()
    return (base, base + "s")


def _is_place(word: str) -> bool:
    """True when the dictionary knows ``word`` (Cyrillic) as a geographical name."""
    low = word.lower()
    return is_known_russian(low) and any("Geox" in p.tag for p in _morph().parse(low)[:3])


def _is_person(word: str) -> bool:
    """True when ``word`` (Cyrillic) is a first name, surname or patronymic: the dictionary
    says so, or it is not in the dictionary and ends like a Slavic surname (the dictionary's
    guesses for other unknown words are unreliable)."""
    low = word.lower()
    if not is_known_russian(low):
        return bool(_SURNAME_END_RE.search(low))
    return any(_PERSON_TAGS & p.tag.grammemes for p in _morph().parse(low)[:3])


_SURNAME_END_RE = re.compile(r"(?:ов|ев|ёв|ин|ын|ский|ская|цкий|цкая|енко|енка|ич|ук|юк|ко|ка)$")


_PERSON_TAGS = frozenset({"Name", "Surn", "Patr"})


# --------------------------------------------------------------------------- transliteration


def _letters(spaced: str) -> list[str]:
    return spaced.split()


_RU_TO_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _letters("a b v g d e yo zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya"),
        strict=True,
    )
)
_BE_TO_LATIN = dict(  # the Belarusian national system, as on passports (Aliaksandr Lukashenka)
    zip(
        "абвгдеёжзійклмнопрстуўфхцчшыьэюя'",
        _letters("a b v h d ie io zh z i j k l m n o p r s t u u f kh ts ch sh y _ e iu ia _"),
        strict=True,
    )
)
_SCIENTIFIC = dict(  # scholarly / Łacinka-like: Lukašenka
    zip(
        "абвгдеёжзиійклмнопрстуўфхцчшщъыьэюя",
        _letters("a b v h d e ë ž z i i j k l m n o p r s t u ŭ f ch c č š šč _ y _ e ju ja"),
        strict=True,
    )
)
_VOWELS_CYR = "аеёиіоуыэюяьъ"


def _cyr_to_latin(text: str, table: dict[str, str], soft_initial: bool) -> str:
    out: list[str] = []
    prev = ""
    for ch in text:
        low = ch.lower()
        rep = table.get(low)
        if rep is None:
            out.append(ch)
        else:
            rep = "" if rep == "_" else rep
            if soft_initial and low in "еёюя" and (not prev or prev in _VOWELS_CYR):
                rep = {"е": "ye", "ё": "yo", "ю": "yu", "я": "ya"}[low]  # Yelena, not Ielena
            if ch.isupper() and rep:
                rep = rep[0].upper() + rep[1:]
            out.append(rep)
        prev = low if low.isalpha() else ""
    return "".join(out)


_LATIN_TO_RU = (  # h alone is г: Hanna, Homel, Ihar (Russian BGN writes х as kh)
    ("shch", "щ"), ("th", "т"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"),
    ("ts", "ц"), ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ye", "е"), ("ia", "я"), ("iu", "ю"),
    ("ie", "е"), ("io", "ё"), ("x", "кс"), ("a", "а"), ("b", "б"), ("v", "в"), ("w", "в"),
    ("g", "г"), ("h", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("j", "й"),
    ("k", "к"), ("c", "к"), ("q", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
    ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("y", "ы"),
    ("š", "ш"), ("č", "ч"), ("ž", "ж"), ("ł", "л"), ("ŭ", "ў"), ("ć", "ць"), ("ś", "сь"),
    ("ń", "нь"), ("ź", "зь"),
)  # fmt: skip
_LATIN_TO_RU_RE = re.compile("|".join(re.escape(k) for k, _ in _LATIN_TO_RU))
_LATIN_TO_RU_MAP = dict(_LATIN_TO_RU)


# English names of places whose Russian name is not a transliteration of them.
_EXONYMS = {
    "russia": "россия",
    "moscow": "москва",
    "poland": "польша",
    "lithuania": "литва",
    "georgia": "грузия",
    "germany": "германия",
    "china": "китай",
    "kyiv": "киев",
    "kiev": "киев",
    "warsaw": "варшава",
    "vilnius": "вильнюс",
}


def latin_to_russian(text: str) -> str:
    """ "Lukashenko" → "Лукашенко" (common English press spelling back to Cyrillic)."""

    def one_word(m: re.Match[str]) -> str:
        word = m.group()
        low = word.lower()
        if low in _EXONYMS:
            return _match_case(_EXONYMS[low], word)
        cyr = _LATIN_TO_RU_RE.sub(lambda x: _LATIN_TO_RU_MAP[x.group()], low)
        cyr = re.sub(r"(?<=[аеёиоуыэюя])ы(?![аеёиоуыэюя])", "й", cyr)  # Andrey → Андрей
        cyr = re.sub(r"^е", "э", cyr) if low.startswith("e") else cyr
        cyr = _known_spelling(cyr)
        # "oi", "ei", "ai" before a consonant are й in English spellings (Shoigu, Sergei,
        # Zaitsev) unless the dictionary knows the и spelling (Ukraina).
        short_i = re.sub(r"(?<=[аеоуэ])и(?![аеёиоуыэюя])", "й", cyr)
        if short_i != cyr and (is_known_russian(short_i) or not is_known_russian(cyr)):
            cyr = short_i
        return _match_case(cyr, word)

    return re.sub(r"[^\W\d_]+", one_word, text)


def _known_spelling(cyr: str) -> str:
    """The dictionary's spelling when a letter-by-letter one misses a soft sign or an и:
    "Беларус" → "Беларусь", "Белорусся" → "Белоруссия"; and a place's nominative when the
    letters spell another case of it ("Ukraine" → Украине → "Украина")."""
    if is_known_russian(cyr):
        best = _morph().parse(cyr)[0]
        if "Geox" in best.tag and best.tag.case != "nomn":
            return best.normal_form
        return cyr
    candidates = [cyr + "ь"]
    if cyr.endswith("я"):
        candidates.append(cyr[:-1] + "ия")
    for candidate in candidates:
        if is_known_russian(candidate) and _is_name(candidate):
            return candidate
    return cyr


def russian_to_belarusian(text: str) -> str:
    """Belarusian spelling of a Russian name, by the regular correspondences: и → і, е → э
    after ж ш ч р ц, о → а when unstressed at the end (-енко → -энка), щ → шч, ъ → '."""

    def one_word(m: re.Match[str]) -> str:
        word = m.group()
        low = word.lower().replace("щ", "шч").replace("ъ", "'").replace("и", "і")
        low = re.sub(r"(?<=[жшчрц])е", "э", low)
        low = re.sub(r"(?<=[жшчрц])і", "ы", low)
        low = re.sub(r"ко$", "ка", low)
        low = re.sub(r"(?<=[аеёіоыэюя])у(?![аеёіоуыэюя])", "ў", low)  # Ціханоўская
        return _match_case(low, word)

    return re.sub(r"[^\W\d_]+", one_word, text)


_GERMAN = dict(  # Duden transliteration, as German newspapers write Russian names
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _letters(
            "a b w g d e jo sh s i i k l m n o p r s t u f ch z tsch sch schtsch _ y _ e ju ja"
        ),
        strict=True,
    )
)
_FRENCH = dict(  # as French newspapers write Russian names (Loukachenko, Poutine)
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _letters("a b v g d e io j z i ï k l m n o p r s t ou f kh ts tch ch chtch _ y _ e iou ia"),
        strict=True,
    )
)
# "ou", "au", "eu" before a consonant: ў in a Belarusian name (Tsikhanouskaya), not Russian.
_BELARUSIAN_LATIN_RE = re.compile(r"(?<=[aeo])u(?![aeiouy])", re.IGNORECASE)


def _press_spelling(cyr: str, table: dict[str, str]) -> str:
    """German or French press spelling of a Russian name: the table, plus "ss" for с between
    vowels, as both languages would otherwise read it as z."""
    out = _cyr_to_latin(cyr, table, soft_initial=False)
    out = re.sub(r"(?<=[aeiouy])s(?=[aeiouy])", "ss", out)
    return out.replace("iia", "ia") if table is _FRENCH else out  # Мария: Maria, not Mariia


def _names_a_person(cyr: str) -> bool:
    words = re.findall(r"[^\W\d_]+", cyr)
    return bool(words) and all(_is_person(w) for w in words)


def _belarusian_romanised(ru: str | None, be: str, belarusian_input: bool) -> bool:
    """Whether romanising the Belarusian spelling is worth proposing: for a term written in
    Belarusian, one whose Belarusian spelling differs from the Russian one, or a place
    (Hrodna). "Wagner" is Вагнер in both languages; no one writes it "Vahnier"."""
    if belarusian_input or ru is None or fold_text(ru) != fold_text(be):
        return True
    return all(_is_place(w) for w in re.findall(r"[^\W\d_]+", ru))


def transliterations(term: str) -> tuple[str, ...]:
    """Other spellings of ``term`` across Latin and Cyrillic, each from a system news really
    uses: Russian BGN-style (Lukashenko), the Belarusian national system (Lukashenka,
    Aliaksandr) and the scholarly one (Lukašenka) for Belarusian spellings, German and French
    press spellings of personal names (Lukaschenko, Loukachenko), and back to Russian and
    Belarusian Cyrillic. Never an arbitrary edit: every entry is the term run through one of
    those systems."""
    term = " ".join(term.split())
    out: list[str] = []
    ru: str | None
    if is_cyrillic(term):
        belarusian_input = looks_belarusian(term)
        ru = None if belarusian_input else term
        be = term if belarusian_input else russian_to_belarusian(term)
        out.append(be)
    elif is_latin(term):
        belarusian_input = bool(_BELARUSIAN_LATIN_RE.search(term))
        ru = latin_to_russian(term)
        be = russian_to_belarusian(ru)
        out += [term, be] if belarusian_input else [term, ru, be]
        ru = None if belarusian_input else ru
    else:
        return ()
    if ru is not None:
        out.append(_cyr_to_latin(ru, _RU_TO_LATIN, soft_initial=True))
    if _belarusian_romanised(ru, be, belarusian_input):
        out.append(_cyr_to_latin(be, _BE_TO_LATIN, soft_initial=False))
        out.append(_cyr_to_latin(be, _SCIENTIFIC, soft_initial=False))
    if ru is not None and _names_a_person(ru):
        out.append(_press_spelling(ru, _GERMAN))
        out.append(_press_spelling(ru, _FRENCH))
    return tuple(f for f in _dedupe(out) if fold_text(f) != fold_text(term))


# --------------------------------------------------------------------------- proposals

MAX_PROPOSALS = 40


def propose_variants(term: str, *, limit: int = MAX_PROPOSALS) -> tuple[str, ...]:
    """What to show a user who adds ``term``: the term, its possessive, hyphen and demonym
    forms, its transliterations, then the declensions of its Russian and Belarusian spellings.

    Deterministic, deduplicated after folding (so "Беларусі" and "Беларуси" count once), at
    most ``limit`` entries. Never raises: a term with no letters gives just itself."""
    term = " ".join(str(term or "").split())[:200]
    if not term:
        return ()
    out: list[str] = [term]
    if is_latin(term) and not is_cyrillic(term):
        out += [term + "'s"] + list(english_demonyms(term))
    out += _hyphen_layouts(term)
    translits = transliterations(term)
    out += translits
    for spelling, belarusian in _cyrillic_spellings(term):
        forms_of = belarusian_forms if belarusian else _dictionary_forms
        out += _declensions(spelling, forms_of)[1:]
    return _dedupe(out)[: max(1, limit)]


def _cyrillic_spellings(term: str) -> list[tuple[str, bool]]:
    """(spelling, is Belarusian) for the Russian and Belarusian Cyrillic spellings of a term."""
    if is_cyrillic(term):
        if looks_belarusian(term):
            return [(term, True)]
        return [(term, False), (russian_to_belarusian(term), True)]
    if is_latin(term):
        russian = latin_to_russian(term)
        return [(russian, False), (russian_to_belarusian(russian), True)]
    return []


def _dictionary_forms(word: str) -> FormTable:
    """Russian declensions worth showing a person: only for words the dictionary knows, since
    its guesses for unknown names are often wrong ("Лукашенка" as a form of "Лукашенок")."""
    if not is_known_russian(word):
        return {(None, None): (word.lower(),)}
    return russian_forms(word)
