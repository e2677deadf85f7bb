"""Tests for the `watchdesk` command line: the exact stdout contracts scripts rely on, clear
messages for bad input, feeds and watchlist management against a loopback server, the
database and doctor commands, and a few real subprocesses for the console-script path."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.analysis.claims import ClaimScorer
from bot.cli import main
from bot.feeds.opml import read_opml
from bot.settings import DEFAULT_CONFIG
from bot.store import db
from bot.store.repo import Store
from tests.conftest import REPO, shared_path
from tests.loopback import LoopbackServer

SAMPLE = REPO / "bot" / "demo" / "data" / "zapad-visit.txt"
ENV_PREFIXES = ("SLACK_", "DISCORD_", "WATCHDESK_")

RU_ARTICLE = (
    "Лукашенко помиловал 52 заключенных",
    "Президент Беларуси Александр Лукашенко помиловал 52 политических заключенных, сообщила "
    "пресс-служба. Ранее в Минск приезжал посланник США Джон Коул. Он передал Лукашенко письмо "
    "от Дональда Трампа. Правозащитный центр «Весна» считает, что в стране остаются более "
    "тысячи политзаключенных.",
)


def clean_environment() -> dict[str, str]:
    """This process's environment without chat tokens, DATABASE_URL or WATCHDESK_* settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIXES) and k != "DATABASE_URL"
    }


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in set(os.environ) - set(clean_environment()):
        monkeypatch.delenv(name)


def toml_value(value: object) -> str:
    """JSON strings and arrays of strings are valid TOML too."""
    return json.dumps(value, ensure_ascii=False)


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """The shipped watchlist, a private SQLite file, loopback allowed, no feeds."""
    shipped = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    database_url = f"sqlite:///{tmp_path / 'wd.db'}"
    lines = [
        f"database_url = {toml_value(database_url)}",
        "[fetch]",
        'allow_private_hosts = ["127.0.0.1"]',
        'timeout = "5s"',
    ]
    for entity in shipped["watch"]:
        lines += [
            "[[watch]]",
            f"name = {toml_value(entity['name'])}",
            f"aliases = {toml_value(entity['aliases'])}",
        ]
    path = tmp_path / "watchdesk.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def lines(self) -> list[str]:
        return self.out.splitlines()


Cli = Callable[..., Run]


@pytest.fixture
def cli(config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`watchdesk --config <tmp> ARGS…` in-process; ``stdin`` is text or raw bytes."""

    def run(*argv: str, stdin: str | bytes | None = None, config_path: Path = config) -> Run:
        if stdin is not None:
            data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
            # A strict UTF-8 stream, as a UTF-8 locale gives: main() must cope with bad bytes.
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), "utf-8"))
        code = main(["--config", str(config_path), *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return run


def subprocess_cli(*argv: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> Run:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={**clean_environment(), **(env or {})},
        timeout=120,
    )
    return Run(result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8"))


def jsonl(*items: object) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


# ---------------------------------------------------------------------------- check (files)


def test_check_prints_matches_with_sentences_summary_and_numbered_claims(cli: Cli) -> None:
    run = cli("check", str(SAMPLE))
    assert run.code == 0 and run.err == ""
    out = run.out
    assert out.startswith(
        f"== {SAMPLE}: U.S. Officers Make Surprise Visit To Belarus To Watch Joint Drills"
    )
    for name in ("Belarus", "Lukashenko", "Zapad"):
        assert re.search(rf"^   MATCH {name} \(salience \d\.\d\d, \d+ hit\(s\)\)$", out, re.M)
    assert (
        "“Zapad-2025” [lead] in: In a move that stunned NATO allies, U.S. military officers made "
        "a surprise visit to Belarus this week to watch the Zapad-2025 war games" in out
    )
    assert "“Alexander Lukashenko” [body] in: At the same time, Donald Trump" in out
    summary = out.split("   SUMMARY\n")[1].split("   CLAIMS TO CHECK\n")[0]
    assert 2 <= len(summary.splitlines()) <= 4
    claims = re.findall(r"^     (\d)\. \[[a-z, ]+\] \((\d\.\d\d)\) (.+)$", out, re.M)
    assert [int(n) for n, _, _ in claims] == list(range(1, len(claims) + 1))
    assert all(float(score) >= 0.5 for _, score, _ in claims)
    texts = "\n".join(text for _, _, text in claims)
    assert "delegations from 23 countries" in texts
    assert "Lukashenko would release 52 political prisoners" in texts


def test_check_json_is_the_jsonl_contract_for_every_file(cli: Cli, tmp_path: Path) -> None:
    russian = tmp_path / "ru.txt"
    russian.write_text("\n".join(RU_ARTICLE), encoding="utf-8")
    run = cli("check", "--json", str(SAMPLE), str(russian))
    assert run.code == 0
    docs = json.loads(run.out)
    assert [d["id"] for d in docs] == [str(SAMPLE), str(russian)]
    for doc in docs:
        assert_contract(doc)
    english, ru = docs
    assert {e["name"] for e in english["entities"]} == {"Belarus", "Lukashenko", "Zapad"}
    assert {e["name"] for e in ru["entities"]} == {"Lukashenko", "Belarus"}
    assert ru["entities"][0]["hits"][0] == {
        "text": "Лукашенко",
        "sentence": "Лукашенко помиловал 52 заключенных",
    }


def test_the_teams_sample_article_matches_all_three_entities(cli: Cli) -> None:
    sample = shared_path("samples", "zapad-visit.txt")
    doc = json.loads(cli("check", "--json", str(sample)).out)[0]
    assert_contract(doc)
    assert doc["matched"]
    assert {e["name"] for e in doc["entities"]} == {"Belarus", "Lukashenko", "Zapad"}
    claims = " ".join(c["text"] for c in doc["claims"])
    assert "23 countries" in claims and "52 political prisoners" in claims


def assert_contract(doc: dict[str, object]) -> None:
    """Exactly the keys and types `check --jsonl` promises, and internally consistent."""
    assert set(doc) == {"id", "matched", "entities", "summary", "claims"}
    assert isinstance(doc["matched"], bool)
    assert doc["matched"] == bool(doc["entities"])
    for entity in doc["entities"]:  # type: ignore[attr-defined]
        assert set(entity) == {"name", "salience", "hits"}
        assert isinstance(entity["name"], str) and 0 < entity["salience"] <= 1
        assert entity["hits"]
        for hit in entity["hits"]:
            assert set(hit) == {"text", "sentence"}
            assert hit["text"] in hit["sentence"]
    assert all(isinstance(s, str) and s for s in doc["summary"])  # type: ignore[attr-defined]
    claims = doc["claims"]
    assert [c["n"] for c in claims] == list(range(1, len(claims) + 1))  # type: ignore[arg-type]
    for claim in claims:  # type: ignore[attr-defined]
        assert set(claim) == {"n", "text", "score", "kinds"}
        assert 0 <= claim["score"] <= 1 and isinstance(claim["kinds"], list)


def test_check_reads_html_and_legacy_encodings(cli: Cli, tmp_path: Path) -> None:
    html = (
        '<!doctype html><html><head><meta charset="windows-1251">'
        "<title>Лукашенко встретился с Путиным</title></head><body><article>"
        "<p>Александр Лукашенко провёл переговоры с Владимиром Путиным в Минске.</p>"
        "<p>Стороны обсудили учения «Запад-2025», в которых участвуют 13 тысяч военных.</p>"
        "</article></body></html>"
    )
    (tmp_path / "page.html").write_bytes(html.encode("cp1251"))
    (tmp_path / "cp1251.txt").write_bytes("\n".join(RU_ARTICLE).encode("cp1251"))
    utf16 = "Lukashenko meets Putin\nAlexander Lukashenko met Vladimir Putin in Minsk."
    (tmp_path / "notepad.txt").write_bytes(utf16.encode("utf-16"))  # with a BOM
    (tmp_path / "bom.txt").write_bytes("\n".join(RU_ARTICLE).encode("utf-8-sig"))
    names = ["page.html", "cp1251.txt", "notepad.txt", "bom.txt"]
    run = cli("check", "--json", *(str(tmp_path / n) for n in names))
    docs = {Path(d["id"]).name: d for d in json.loads(run.out)}
    assert run.code == 0 and set(docs) == set(names)
    page = docs["page.html"]
    assert {e["name"] for e in page["entities"]} == {"Lukashenko", "Zapad"}
    assert page["entities"][0]["hits"][0]["sentence"] == "Лукашенко встретился с Путиным"
    for name in ("cp1251.txt", "bom.txt"):
        assert docs[name]["entities"][0]["hits"][0]["sentence"] == RU_ARTICLE[0]
    assert docs["notepad.txt"]["entities"][0]["name"] == "Lukashenko"


def test_bad_files_get_a_message_each_and_good_ones_still_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (tmp_path / "huge.txt").write_bytes(b"Belarus " * (11 * 1024 * 1024 // 8 + 1))
    (tmp_path / "long.txt").write_bytes(b"Belarus. " * 600_000)  # 5.4 MB: under 10 MB
    (tmp_path / "folder.txt").mkdir()
    bad = ["photo.txt", "huge.txt", "long.txt", "folder.txt", "missing.txt"]
    run = cli("check", *(str(tmp_path / n) for n in bad))
    assert run.code == 2 and run.out == ""
    errors = run.err.splitlines()
    assert len(errors) == len(bad)
    assert errors[0] == (
        f"watchdesk: {tmp_path / 'photo.txt'}: input looks binary (NUL or control bytes), "
        "not text or HTML"
    )
    assert errors[1] == f"watchdesk: {tmp_path / 'huge.txt'}: larger than 10 MB; not an article"
    assert "5,400,000 characters, over the 5,000,000 limit" in errors[2]
    assert errors[3].endswith("folder.txt: cannot read it (Is a directory)")
    assert errors[4].endswith("missing.txt: cannot read it (No such file or directory)")

    mixed = cli("check", str(tmp_path / "empty.txt"), str(tmp_path / "photo.txt"), str(SAMPLE))
    assert mixed.code == 0
    assert f"== {tmp_path / 'empty.txt'}: (no headline)\n   no watched entity matched" in mixed.out
    assert "MATCH Zapad" in mixed.out and "photo.txt" in mixed.err


def test_check_needs_files_or_jsonl(cli: Cli) -> None:
    run = cli("check")
    assert run.code == 2
    assert run.err.strip() == (
        "watchdesk: give one or more files to check, or --jsonl to read JSON lines on stdin"
    )


# ---------------------------------------------------------------------------- check --jsonl


def test_check_jsonl_writes_one_contract_line_per_item(cli: Cli) -> None:
    items = [
        {"id": "en-1", "title": "Lukashenko frees prisoners", "text": "Belarus freed 52 people."},
        {"id": 2, "title": RU_ARTICLE[0], "text": RU_ARTICLE[1]},
        {
            "id": "be",
            "text": "Аляксандр Лукашэнка наведаў вучэнні «Захад-2025» пад Барысавам. Міністр "
            "абароны Віктар Хрэнін сказаў, што ў іх удзельнічаюць 7 тысяч вайскоўцаў.",
        },
        {
            "id": "lv",
            "title": "Latvia extends winter opening hours at border crossings",
            "text": "Latvia will keep two road crossings on its eastern border open around the "
            "clock from December, the interior ministry said.",
        },
        {"id": "empty", "text": ""},
        {"id": "binary", "text": "\x00\x01\x02\x03PK\x03\x04" * 20},
        {"id": "de", "text": "Der Bundestag hat am Donnerstag über den Haushalt abgestimmt."},
        {"text": "Лукашенко выступил в Минске."},
    ]
    stdin = jsonl(*items[:4]) + "\n" + "not json\n" + '["a list"]\n' + jsonl(*items[4:])
    run = cli("check", "--jsonl", stdin=stdin)
    assert run.code == 0
    all_docs = [json.loads(line) for line in run.lines()]
    # one output line per input line: the two unreadable lines get empty results in place
    assert [d["id"] for d in all_docs] == [
        "en-1",
        2,
        "be",
        "lv",
        None,
        None,
        "empty",
        "binary",
        "de",
        None,
    ]
    assert (
        all_docs[4]
        == all_docs[5]
        == {"id": None, "matched": False, "entities": [], "summary": [], "claims": []}
    )
    docs = all_docs[:4] + all_docs[6:]
    for doc in all_docs:
        assert_contract(doc)
    matched = {d["id"]: {e["name"] for e in d["entities"]} for d in docs}
    assert matched["en-1"] == {"Lukashenko", "Belarus"}
    assert matched[2] == {"Lukashenko", "Belarus"}
    assert matched["be"] == {"Lukashenko", "Zapad"}
    assert matched[None] == {"Lukashenko"}
    assert not docs[3]["matched"] and docs[3]["summary"]  # still summarised, as `check` shows
    for doc in docs[4:6]:
        assert doc == {"id": doc["id"], "matched": False, "entities": [], "summary": []} | {
            "claims": []
        }
    assert not docs[6]["matched"]
    assert run.err.splitlines() == [
        "watchdesk: stdin line 6: Expecting value: line 1 column 1 (char 0)",
        'watchdesk: stdin line 7: each line must be an object with "id" and "text"',
    ]


def test_check_jsonl_survives_bytes_that_are_not_utf8(cli: Cli) -> None:
    stdin = b'{"id": 1, "text": "Lukashenko \xff\xfe met envoys."}\n' + jsonl(
        {"id": 2, "text": "Belarus"}
    ).encode("utf-8")
    run = cli("check", "--jsonl", stdin=stdin)
    docs = [json.loads(line) for line in run.lines()]
    assert [d["id"] for d in docs] == [1, 2] and all(d["matched"] for d in docs)


# ---------------------------------------------------------------------------- claims score


SENTENCES = [
    "Belarus released 52 political prisoners in September, according to the Viasna rights group.",
    "Thank you all for coming tonight.",
    "",
    "Лукашенко заявил, что в учениях «Запад-2025» участвуют 13 тысяч военных.",
    "Unemployment fell to 3.5 percent last year, the lowest rate since 1969.",
    "Good morning!",
]


def parse_scores(run: Run) -> list[tuple[float, int]]:
    rows = []
    for line in run.lines():
        assert re.fullmatch(r"\d\.\d{4}\t[01]", line), line
        score, flag = line.split("\t")
        rows.append((float(score), int(flag)))
    return rows


def test_claims_score_one_line_per_sentence_flagged_at_the_threshold(
    cli: Cli, tmp_path: Path
) -> None:
    run = cli("claims", "score", stdin="\n".join(SENTENCES) + "\n")
    assert run.code == 0
    rows = parse_scores(run)
    assert len(rows) == len(SENTENCES)
    assert all(flag == int(score >= 0.5) for score, flag in rows)
    scores = [score for score, _ in rows]
    assert scores[0] > 0.5 and scores[4] > 0.5  # figures with a source, a record
    assert scores[1] < 0.5 and scores[5] < 0.5 and scores[2] < 0.5  # pleasantries, nothing

    strict = write_config(tmp_path, "[analysis]\nclaims_threshold = 0.95\n")
    rerun = cli("claims", "score", stdin="\n".join(SENTENCES) + "\n", config_path=strict)
    strict_rows = parse_scores(rerun)
    assert [s for s, _ in strict_rows] == scores
    assert all(flag == int(score >= 0.95) for score, flag in strict_rows)


def test_claims_score_matches_the_scorer_on_debate_sentences(cli: Cli) -> None:
    path = shared_path("data", "claims", "ct24_devtest.tsv")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:81]]
    sentences = [row[1] for row in rows]
    run = cli("claims", "score", stdin="\n".join(sentences) + "\n")
    expected = ClaimScorer.load(model_name="en_core_web_sm").score(sentences)
    assert [s for s, _ in parse_scores(run)] == [round(float(e), 4) for e in expected]


def test_claims_score_copes_with_undecodable_bytes(cli: Cli) -> None:
    run = cli("claims", "score", stdin=b"Belarus freed 52 \xff prisoners.\n\xc3\x28\nOK then.\n")
    assert run.code == 0 and len(parse_scores(run)) == 3


# ---------------------------------------------------------------------------- summarise


EN_ARTICLE = (
    "Belarus released 52 political prisoners on Thursday after a visit by a U.S. envoy. "
    "The envoy, John Coale, carried a letter from President Donald Trump to Alexander "
    "Lukashenko. Officials in Minsk said more releases could follow in the coming weeks. "
    "The European Union welcomed the step but said its sanctions would stay in place. "
    "Opposition leader Sviatlana Tsikhanouskaya called the release a hostage trade. "
    "Rights groups say more than a thousand political prisoners remain behind bars."
)


def test_summarise_jsonl(cli: Cli) -> None:
    stdin = jsonl(
        {"id": "en", "title": "Belarus frees 52 prisoners", "article": EN_ARTICLE},
        {"id": "ru", "title": RU_ARTICLE[0], "article": RU_ARTICLE[1]},
        {"id": "no-title", "article": EN_ARTICLE},
        {"id": "odd-title", "title": 7, "article": EN_ARTICLE},
        {"id": "empty", "article": ""},
        {"id": "binary", "article": "\x00\x01\x02" * 50},
    )
    run = cli("summarise", "--jsonl", "--sentences", "2", stdin=stdin + "[1, 2]\n")
    assert run.code == 0
    docs = [json.loads(line) for line in run.lines()]
    assert [d["id"] for d in docs] == ["en", "ru", "no-title", "odd-title", "empty", "binary"]
    for doc in docs:
        assert set(doc) == {"id", "summary"}
    for doc in docs[:4]:
        assert len(doc["summary"]) == 2
        source = EN_ARTICLE if doc["id"] != "ru" else RU_ARTICLE[1]
        assert all(sentence in source for sentence in doc["summary"])
    assert docs[4]["summary"] == [] and docs[5]["summary"] == []
    assert run.err.strip() == (
        'watchdesk: stdin line 7: each line must be an object with "id" and "article"'
    )
    default = cli("summarize", "--jsonl", stdin=jsonl({"id": 1, "article": EN_ARTICLE}))
    assert len(json.loads(default.out)["summary"]) == 3  # summary_sentences in the config


@pytest.mark.parametrize("n", ["0", "11", "-1"])
def test_summarise_sentence_count_is_checked(cli: Cli, n: str) -> None:
    run = cli("summarise", "--jsonl", "--sentences", n, stdin=jsonl({"id": 1, "article": "A."}))
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == f"watchdesk: --sentences must be between 1 and 10, got {n}"


def test_summarise_requires_jsonl(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("summarise", "--sentences", "2")
    assert exited.value.code == 2
    assert "the following arguments are required: --jsonl" in capsys.readouterr().err


# ---------------------------------------------------------------------------- feeds


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Minsk Wire</title><link>{base}/</link>
<description>News from Minsk</description>
<item><title>Lukashenko meets U.S. envoy</title><link>{base}/a/1</link><guid>a-1</guid>
<description>Alexander Lukashenko met John Coale in Minsk.</description></item>
<item><title>Zapad-2025 drills end</title><link>{base}/a/2</link><guid>a-2</guid>
<description>The joint drills ended on Tuesday.</description></item>
</channel></rss>"""

PAGE = """<!doctype html><html><head><title>Minsk Wire</title>
<link rel="alternate" type="application/rss+xml" title="All news" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" title="Politics" href="/politics.atom">
</head><body><h1>Minsk Wire</h1><p>Front page.</p></body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        server.add(
            "/rss.xml",
            RSS.format(base=server.base_url).encode(),
            headers=[("Content-Type", "application/rss+xml")],
        )
        server.add("/", PAGE.encode(), headers=[("Content-Type", "text/html; charset=utf-8")])
        yield server


def test_feeds_add_an_html_page_says_did_you_mean(cli: Cli, site: LoopbackServer) -> None:
    run = cli("feeds", "add", site.url("/"))
    assert run.code == 2 and run.out == ""
    assert run.err.splitlines() == [
        f"watchdesk: {site.url('/')} is a web page, not a feed. Did you mean:",
        f"• {site.url('/rss.xml')} (All news) — add it with /feeds add {site.url('/rss.xml')}",
        f"• {site.url('/politics.atom')} (Politics) — add it with /feeds add "
        f"{site.url('/politics.atom')}",
    ]
    assert "No feeds yet" in cli("feeds", "list").out


def test_feeds_add_list_remove(cli: Cli, site: LoopbackServer) -> None:
    url = site.url("/rss.xml")
    added = cli("feeds", "add", url, "--interval", "15m", "--name", "Minsk Wire (test)")
    assert added.code == 0
    assert added.out.strip() == (
        f"Added Minsk Wire (test) ({url}), polled every 15 min: the 2 item(s) there now are "
        "recorded without alerting; new ones will alert."
    )
    again = cli("feeds", "add", url)
    assert again.code == 2 and "is already watched" in again.err

    listed = cli("feeds", "list")
    assert listed.lines()[0] == "1 feed(s):"
    assert re.fullmatch(
        rf"• Minsk Wire \(test\) — {re.escape(url)} — active; last success never; "
        r"next poll \d{4}-\d\d-\d\d \d\d:\d\d UTC",
        listed.lines()[1],
    )
    assert cli("feeds", "remove", url).out.strip() == f"Removed {url}."
    gone = cli("feeds", "remove", url)
    assert gone.code == 2 and f"{url} is not one of the feeds" in gone.err


def test_feeds_add_uses_the_feeds_own_title_and_the_configured_interval(
    cli: Cli, site: LoopbackServer
) -> None:
    run = cli("feeds", "add", site.url("/rss.xml"))
    assert run.out.strip().startswith("Added Minsk Wire (")
    assert "polled every 10 min" in run.out


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("soon", "watchdesk: --interval: 'soon' is not a duration; write e.g. 30s, 10m, 2h or 1d"),
        ("5s", "watchdesk: --interval: '5s' is too often; poll a feed at most every 30s"),
    ],
)
def test_feeds_add_checks_the_interval_before_fetching(
    cli: Cli, site: LoopbackServer, interval: str, message: str
) -> None:
    url = site.add(f"/interval-{interval}.xml", RSS.format(base=site.base_url).encode())
    run = cli("feeds", "add", url, "--interval", interval)
    assert run.code == 2 and run.err.strip() == message
    assert site.hits(f"/interval-{interval}.xml") == 0


@pytest.mark.parametrize(
    ("path_or_url", "message"),
    [
        ("/nothing-here.xml", "HTTP 404"),
        ("http://10.0.0.5/feed.xml", "private address 10.0.0.5"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
    ],
)
def test_feeds_add_refusals_are_explained(
    cli: Cli, site: LoopbackServer, path_or_url: str, message: str
) -> None:
    url = site.url(path_or_url) if path_or_url.startswith("/") else path_or_url
    run = cli("feeds", "add", url)
    assert run.code == 2 and run.err.startswith(f"watchdesk: Could not add {url}: ")
    assert message in run.err


def opml(*outlines: str) -> bytes:
    body = "".join(outlines)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head><title>Desk</title>'
        f"</head><body>{body}</body></opml>"
    ).encode()


def outline(url: str, title: str) -> str:
    return f'<outline type="rss" text="{title}" xmlUrl="{url}"/>'


def test_feeds_import_export_round_trip(cli: Cli, tmp_path: Path, site: LoopbackServer) -> None:
    feed_a = site.add("/import/a.xml", RSS.format(base=site.base_url).encode())
    feed_b = site.add("/import/b.xml", RSS.format(base=site.base_url).encode())
    source = tmp_path / "desk.opml"
    source.write_bytes(
        opml(
            outline(feed_a, "BelTA"),
            '<outline text="Folder">',
            outline(feed_b, "Nasha Niva"),
            outline(feed_a, "BelTA again"),
            outline("file:///etc/passwd", "Not a feed"),
            "</outline>",
        )
    )
    first = cli("feeds", "import", str(source), "--interval", "1h")
    assert first.code == 0
    assert first.lines() == [
        f"imported 2 new feed(s) from {source} (2 in all); 1 listed more than once, 1 refused",
        "refused:",
        "  scheme 'file' is not allowed (only http and https):",
        "    file:///etc/passwd",
        "listed more than once (imported once):",
        f"  {feed_a}",
    ]
    hits = site.hits("/import/a.xml")
    again = cli("feeds", "import", str(source))
    assert again.lines()[0] == (
        f"imported 0 new feed(s) from {source} (2 in all); 2 already there, "
        "1 listed more than once, 1 refused"
    )
    assert again.lines()[4:7] == ["already there:", f"  {feed_a}", f"  {feed_b}"]
    assert site.hits("/import/a.xml") == hits  # feeds already there are not fetched again
    exported = cli("feeds", "export")
    feeds = read_opml(exported.out.encode("utf-8"))
    assert [(f.url, f.title) for f in feeds] == [(feed_a, "BelTA"), (feed_b, "Nasha Niva")]
    listed = cli("feeds", "list").out
    assert f"• BelTA — {feed_a} — active; last success never" in listed


def test_feeds_import_puts_every_outline_through_the_feeds_add_checks(
    cli: Cli, tmp_path: Path, site: LoopbackServer
) -> None:
    """A hostile export: local files, script URLs, loopback, private and metadata addresses,
    one feed spelt twice, a web page and a dead URL. Only the real feed is stored, and each
    refusal says why, grouped; 127.0.0.1 is never contacted (only "localhost" is allowed)."""
    config = tmp_path / "localhost-only.toml"
    config.write_text(
        write_config(tmp_path)
        .read_text(encoding="utf-8")
        .replace('allow_private_hosts = ["127.0.0.1"]', 'allow_private_hosts = ["localhost"]'),
        encoding="utf-8",
    )
    site.add("/hostile/feed.xml", RSS.format(base=site.base_url).encode())
    good = site.url("/hostile/feed.xml", host="localhost")
    page = site.url("/", host="localhost")
    internal = site.url("/hostile/feed.xml")  # the same server, by its address
    missing = site.url("/hostile/gone.xml", host="localhost")
    source = tmp_path / "hostile.opml"
    source.write_bytes(
        opml(
            outline("file:///etc/passwd", "passwd"),
            outline("javascript:alert(1)", "script"),
            outline(internal, "loopback"),
            outline("http://10.0.0.5/feed.xml", "private"),
            outline("http://169.254.169.254/latest/meta-data/", "metadata"),
            outline(good, "Good"),
            outline(good.replace("http://localhost", "HTTP://LOCALHOST"), "Good, shouting"),
            outline(page, "A web page"),
            outline(missing, "Gone"),
        )
    )
    run = cli("feeds", "import", str(source), config_path=config)
    assert run.code == 0, run.err
    assert run.lines() == [
        f"imported 1 new feed(s) from {source} (1 in all); 1 listed more than once, 7 refused",
        "refused:",
        "  scheme 'file' is not allowed (only http and https):",
        "    file:///etc/passwd",
        "  scheme 'javascript' is not allowed (only http and https):",
        "    javascript:alert(1)",
        "  the URL points at a loopback address 127.0.0.1; only public internet addresses "
        "may be fetched:",
        f"    {internal}",
        "  the URL points at a private address 10.0.0.5; only public internet addresses "
        "may be fetched:",
        "    http://10.0.0.5/feed.xml",
        "  the URL points at a link-local address 169.254.169.254 (cloud metadata range); "
        "only public internet addresses may be fetched:",
        "    http://169.254.169.254/latest/meta-data/",
        "  a web page, not a feed, that links to a feed:",
        f"    {page} (add {site.url('/rss.xml', host='localhost')} instead)",
        "  HTTP 404 Not Found:",
        f"    {missing}",
        "listed more than once (imported once):",
        f"  {good.replace('http://localhost', 'HTTP://LOCALHOST')}",
    ]
    assert [f.url for f in read_opml(cli("feeds", "export", config_path=config).out.encode())] == [
        good
    ]
    hosts = {r.headers["host"] for r in site.requests("/hostile/feed.xml")}
    assert hosts == {f"localhost:{site.port}"}


def test_feeds_import_is_bounded(cli: Cli, tmp_path: Path, site: LoopbackServer) -> None:
    """Ten thousand outlines are refused as a whole, before any fetch or database write."""
    source = tmp_path / "huge.opml"
    source.write_bytes(
        opml(*(outline(site.url(f"/huge/{i}.xml"), f"Feed {i}") for i in range(10_000)))
    )
    run = cli("feeds", "import", str(source))
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == (
        f"watchdesk: {source} lists 10000 feeds; one import takes at most 1000. "
        "Split the file and import the parts one after another."
    )
    assert not any(r.path.startswith("/huge/") for r in site.requests())
    assert not (tmp_path / "wd.db").exists()


def test_feeds_import_refuses_bad_files(cli: Cli, tmp_path: Path) -> None:
    rss = tmp_path / "feed.opml"
    rss.write_bytes(RSS.format(base="https://x.org").encode())
    run = cli("feeds", "import", str(rss))
    assert run.code == 2 and "this is not an OPML file (its root element is <rss>" in run.err
    broken = tmp_path / "broken.opml"
    broken.write_bytes(b"<opml><body><outline")
    assert "not well-formed XML" in cli("feeds", "import", str(broken)).err
    missing = cli("feeds", "import", str(tmp_path / "nope.opml"), "--interval", "1h")
    assert missing.code == 2 and "cannot read" in missing.err and "nope.opml" in missing.err
    assert not (tmp_path / "wd.db").exists()  # refused before the database was opened


def test_feeds_list_shows_every_feed(cli: Cli, tmp_path: Path, site: LoopbackServer) -> None:
    """Chat replies stop at 50 feeds; the terminal must show them all."""
    urls = [site.add(f"/many/{i}.xml", RSS.format(base=site.base_url).encode()) for i in range(60)]
    source = tmp_path / "many.opml"
    source.write_bytes(opml(*(outline(url, f"Desk {i}") for i, url in enumerate(urls))))
    assert cli("feeds", "import", str(source)).lines()[0].startswith("imported 60 new feed(s)")
    lines = cli("feeds", "list").lines()
    assert lines[0] == "60 feed(s):" and len(lines) == 61
    assert lines[-1].startswith(f"• Desk 59 — {urls[59]} — active")


def test_a_failing_feed_is_disabled_listed_with_its_error_and_re_enabled(
    cli: Cli, tmp_path: Path, site: LoopbackServer
) -> None:
    """`run --once` as a real process polls a feed that answers 500; with
    disable_after_failures = 1 it is disabled at once, `feeds list` says why, `feeds enable`
    brings it back."""
    config = write_config(tmp_path, "[poll]\ndisable_after_failures = 1\n")
    url = site.add("/down.xml", b"boom", status=500)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}")
    db.upgrade(engine)
    Store(engine).feeds.add_feed(url, interval_s=600, name="Down Wire")
    engine.dispose()

    once = subprocess_cli("--config", str(config), "run", "--once")
    assert once.code == 0, once.err
    assert site.hits("/down.xml") == 1

    line = cli("feeds", "list", config_path=config).lines()[1]
    assert line.startswith(f"• Down Wire — {url} — DISABLED (1 consecutive failures; last: ")
    assert "500" in line and "; last error 20" in line

    enabled = cli("feeds", "enable", url, config_path=config)
    assert enabled.out.strip() == f"Re-enabled {url}; it will be polled on the next tick."
    relisted = cli("feeds", "list", config_path=config).lines()[1]
    assert f"{url} — active; last success never" in relisted
    unknown = cli("feeds", "enable", "https://x.org/rss", config_path=config)
    assert unknown.code == 2
    assert unknown.err.strip() == (
        "watchdesk: https://x.org/rss is not one of the feeds; `feeds list` shows them."
    )


# ---------------------------------------------------------------------------- watch


def test_watch_add_list_test_remove(cli: Cli) -> None:
    added = cli("watch", "add", "Viktor Khrenin", "Хренин", "Хрэнін")
    assert added.code == 0
    assert added.lines()[0] == "Now watching Viktor Khrenin (aliases: Хренин, Хрэнін)."
    listed = cli("watch", "list")
    assert listed.lines()[0] == "Watching 4 entities:"
    assert "• Viktor Khrenin — also Хренин, Хрэнін" in listed.lines()

    hit = cli("watch", "test", "Министр обороны Хренин заявил о начале учений.")
    assert hit.code == 0 and hit.lines()[0] == "Would alert."
    assert "Viktor Khrenin: MATCH" in hit.out
    miss = cli("watch", "test", "Latvia keeps two border crossings open around the clock.")
    assert miss.lines()[0] == "Would NOT alert."

    assert (
        cli("watch", "remove", "Viktor Khrenin").out.strip() == "Stopped watching Viktor Khrenin."
    )
    again = cli("watch", "remove", "Viktor Khrenin")
    assert again.code == 2 and again.out == ""
    assert again.err.strip() == (
        "watchdesk: Viktor Khrenin is not on the watchlist (watching: Belarus, Lukashenko, Zapad)."
    )


@pytest.mark.parametrize(
    ("words", "first_line"),
    [
        (
            ["frobnicate"],
            "“frobnicate” is not a /watch subcommand. To watch it: /watch add frobnicate",
        ),
        ([], "/watch needs a subcommand, such as “list”."),
        (["test"], "/watch test"),
    ],
)
def test_bad_watch_commands_get_a_specific_message(
    cli: Cli, words: list[str], first_line: str
) -> None:
    assert cli("db", "upgrade").code == 0  # `watch test` only reads: it needs a schema
    run = cli("watch", *words)
    assert run.code == 2 and run.out == ""
    assert first_line in run.err.splitlines()[0]


# ---------------------------------------------------------------------------- db and doctor


def test_db_upgrade_creates_the_schema_and_is_repeatable(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wd.db'}"
    for _ in range(2):
        run = cli("db", "upgrade")
        assert run.code == 0 and run.out.strip() == f"database at {url} is up to date"
    Store(db.make_engine(url)).feeds.add_feed("https://www.belta.by/rss", interval_s=600)


def test_doctor_without_chat_tokens(cli: Cli) -> None:
    fresh = cli("doctor")
    assert fresh.code == 1
    assert "  FIX  schema at nothing, code expects " in fresh.out
    assert "run `watchdesk db upgrade`" in fresh.out
    assert fresh.out.rstrip().endswith("1 thing(s) to fix.")

    cli("db", "upgrade")
    ready = cli("doctor")
    assert ready.code == 0, ready.out
    out = ready.out
    assert "Config: " in out and "  ok   parsed and validated" in out
    assert re.search(r"  ok   reachable, schema at revision \w+", out)
    assert re.search(r"  ok   spaCy model en_core_web_sm\w* 3\.8", out)
    assert "  ok   check-worthiness model loads" in out
    assert "  ok   3 watched entit(ies) and 0 feed(s)" in out
    assert re.search(r"  ok   no chat tokens set: .*console", out)
    assert "FIX" not in out and out.rstrip().endswith("All good.")


def test_doctor_flags_a_destination_no_token_can_reach(cli: Cli, tmp_path: Path) -> None:
    config = write_config(tmp_path, '[[watch]]\nname = "Khrenin"\nchannels = ["slack:C0123ABCD"]\n')
    cli("db", "upgrade", config_path=config)
    run = cli("doctor", config_path=config)
    assert run.code == 1
    fixes = [line for line in run.lines() if line.startswith("  FIX  ")]
    assert len(fixes) == 1 and "slack:C0123ABCD" in fixes[0] and "SLACK_BOT_TOKEN" in fixes[0]
    assert run.out.rstrip().endswith("1 thing(s) to fix.")


def test_doctor_reports_an_unreachable_database(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://watchdesk@127.0.0.1:1/watchdesk")
    run = cli("doctor")
    assert run.code == 1
    assert "Database (postgresql+psycopg://watchdesk@127.0.0.1:1/watchdesk)" in run.out
    assert "  FIX  cannot connect: OperationalError" in run.out
    assert "check DATABASE_URL and that the server is up" in run.out


# ---------------------------------------------------------------------------- the command itself


def test_no_command_prints_help(cli: Cli) -> None:
    run = cli()
    assert run.code == 2 and "usage: watchdesk" in run.out and "COMMAND" in run.out


@pytest.mark.parametrize("group", ["db", "feeds", "claims"])
def test_a_command_group_without_an_action_names_what_is_missing(
    cli: Cli, capsys: pytest.CaptureFixture[str], group: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(group)
    assert exited.value.code == 2
    assert f"watchdesk {group}: error: the following arguments are required: ACTION" in (
        capsys.readouterr().err
    )


def test_subprocess_check_jsonl_is_utf8_whatever_the_locale(config: Path) -> None:
    """Through `python -m bot`, with a Latin-1 locale forced on the streams."""
    stdin = jsonl({"id": "ru", "title": RU_ARTICLE[0], "text": RU_ARTICLE[1]}).encode("utf-8")
    run = subprocess_cli(
        "--config",
        str(config),
        "check",
        "--jsonl",
        stdin=stdin,
        env={"PYTHONIOENCODING": "latin-1"},
    )
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert_contract(doc)
    assert doc["entities"][0]["hits"][0]["text"] == "Лукашенко"


def test_subprocess_bad_config_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('default_channels = ["#general"]\n', encoding="utf-8")
    run = subprocess_cli("--config", str(bad), "claims", "score", stdin=b"Belarus.\n")
    assert run.code == 2 and run.out == ""
    assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert run.err.startswith(f"watchdesk: {bad}: default_channels: '#general' is not a")


def test_the_installed_console_script(config: Path) -> None:
    script = shutil.which("watchdesk")
    if script is None:
        pytest.skip("the `watchdesk` console script is not on PATH (pip install -e . adds it)")
    result = subprocess.run(
        [script, "--config", str(config), "claims", "score"],
        input=b"Belarus released 52 political prisoners on Thursday.\n",
        capture_output=True,
        env=clean_environment(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    score, flag = result.stdout.decode().strip().split("\t")
    assert float(score) >= 0.5 and flag == "1"


def test_config_is_accepted_before_or_after_the_subcommand() -> None:
    from bot.cli import build_parser

    parser = build_parser()
    for argv in (
        ["--config", "x.toml", "feeds", "list"],
        ["feeds", "list", "--config", "x.toml"],
        ["check", "--config", "x.toml", "a.txt"],
    ):
        args = parser.parse_args(argv)
        assert getattr(args, "config", None) == "x.toml", argv


def test_database_passwords_never_reach_the_terminal(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql+psycopg://watchdesk:s3cret@127.0.0.1:1/watchdesk"
    )
    run = cli("doctor")
    assert "s3cret" not in run.out + run.err and "***" in run.out


def test_watch_honours_config_and_verbose_typed_after_it() -> None:
    import argparse

    from bot.cli import _take_common_options

    args = argparse.Namespace(config=None, verbose=False)
    words = _take_common_options(args, ["add", "Minsk", "--config", "/tmp/x.toml", "-v"])
    assert words == ["add", "Minsk"] and args.config == "/tmp/x.toml" and args.verbose


# ---------------------------------------------------------------------------- init


def test_init_writes_the_shipped_config_and_says_what_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "desk"
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    assert (target / "watchdesk.toml").read_bytes() == DEFAULT_CONFIG.read_bytes()
    manifest = DEFAULT_CONFIG.with_name("slack-manifest.yml")
    assert (target / "slack-manifest.yml").read_bytes() == manifest.read_bytes()
    assert out.startswith(f"Wrote {target / 'watchdesk.toml'} and {target / 'slack-manifest.yml'}.")
    assert "[[watch]]" in out and "default_channels" in out and "user_agent" in out
    assert f"--config {target / 'watchdesk.toml'}" in out and "watchdesk db upgrade" in out


def test_init_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "watchdesk.toml").write_text("# the desk's own edits\n", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'watchdesk.toml'} already exist(s); nothing was written" in err
    assert "--force" in err
    assert (tmp_path / "watchdesk.toml").read_text(encoding="utf-8") == "# the desk's own edits\n"
    assert not (tmp_path / "slack-manifest.yml").exists()
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "watchdesk.toml").read_bytes() == DEFAULT_CONFIG.read_bytes()


def test_a_starter_config_in_the_working_directory_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "watchdesk.toml").write_text('[[watch]]\nname = "Belavia"\n', encoding="utf-8")
    assert main(["watch", "test", "Belavia resumes flights to Minsk."]) == 2  # no schema yet
    assert "run `watchdesk db upgrade`" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "watchdesk.db").exists()
    capsys.readouterr()
    assert main(["watch", "list"]) == 0
    assert "• Belavia" in capsys.readouterr().out


# ---------------------------------------------------------------------------- read-only


@pytest.mark.parametrize(
    "argv", [["feeds", "list"], ["feeds", "export"], ["watch", "list"], ["watch", "test", "Minsk"]]
)
def test_read_only_commands_never_create_or_migrate_the_database(
    cli: Cli, tmp_path: Path, argv: list[str]
) -> None:
    run = cli(*argv)
    assert run.code == 2 and run.out == ""
    assert run.err.strip() == (
        f"watchdesk: there is no database at sqlite:///{tmp_path / 'wd.db'} yet; run "
        f"`watchdesk db upgrade` to create it (or point database_url (or DATABASE_URL) at "
        f"the desk's database)"
    )
    assert not (tmp_path / "wd.db").exists()


def test_read_only_commands_do_not_seed(cli: Cli, tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}")
    db.upgrade(engine)  # the schema only, as an operator's own migration tool would leave it
    assert cli("watch", "list").out.startswith("The watchlist is empty")
    assert Store(engine).watchlist.active_entities() == []
    assert cli("db", "upgrade").code == 0  # seeds the config's watchlist
    assert [e.name for e in Store(engine).watchlist.active_entities()] == [
        "Belarus",
        "Lukashenko",
        "Zapad",
    ]
    engine.dispose()


def test_check_and_claims_score_never_open_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        str(tmp_path / "wd.db"), str(tmp_path / "missing" / "wd.db")
    )
    config.write_text(text, encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE_TEXT, encoding="utf-8")
    assert main(["--config", str(config), "check", str(article)]) == 0
    assert "MATCH Lukashenko" in capsys.readouterr().out
    assert not (tmp_path / "missing").exists()


ARTICLE_TEXT = "Lukashenko visits Moscow\nAlexander Lukashenko met Putin on Tuesday.\n"


# ---------------------------------------------------------------------------- database URLs


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///{tmp}/no/such/folder/wd.db", "the folder {tmp}/no/such/folder for the SQLite"),
        ("postgresql+psycopg://wd@127.0.0.1:{port}/wd", "cannot connect to postgresql+psycopg"),
        ("oracle+nosuch://wd@127.0.0.1/wd", "oracle+nosuch:// is not a database Watchdesk knows"),
    ],
)
@pytest.mark.parametrize("argv", [["feeds", "list"], ["db", "upgrade"], ["run", "--once"]])
def test_a_database_url_that_points_nowhere_is_one_line_naming_the_setting(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    expected: str,
    argv: list[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url.format(tmp=tmp_path, port=closed_port()))
    run = cli(*argv)
    assert run.code == 2 and run.out == ""
    assert run.err.count("\n") == 1, run.err
    assert run.err.startswith("watchdesk: database_url (or DATABASE_URL): "), run.err
    assert expected.format(tmp=tmp_path) in run.err


def test_a_bug_in_a_command_is_one_sentence_and_one_logged_traceback(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The CLI is an entry point like a chat listener: a bug (here planted in the feed
    repository) gives exit 1, `BUG_REPLY` for the person, and the traceback in the log only."""
    from bot.errors import BUG_REPLY
    from bot.store.feeds import FeedRepository

    main(["--config", str(config), "db", "upgrade"])
    capsys.readouterr()

    def broken(self: object) -> list[object]:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(FeedRepository, "list_feeds", broken)
    with caplog.at_level("ERROR"):
        code = main(["--config", str(config), "feeds", "list"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == f"watchdesk: {BUG_REPLY}"
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info is not None and "planted bug" in str(record.exc_info[1])
