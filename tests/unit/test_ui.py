"""The design system's pure parts: the catalogues are complete and current, labels and formats
follow the locale, and the registration form's checks assume nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import io

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.recruitment.domain.registration_form import form_problems
from shared.ui.i18n import (LOCALE_DIR, LOCALES, Formats, catalogue, choose_locale, label, ngettext_for, plural_operand,
                            translations)

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
# as `make messages` extracts them: N_ and _, and the plural n_ / NP_ with their two forms
KEYWORDS = {"_": None, "N_": None, "gettext": None, "n_": (1, 2), "NP_": (1, 2)}


def extracted() -> set[str | tuple[str, str]]:
    """Every message of the code: a string, or (singular, plural) for a plural one."""
    found = set()
    for top in ("shared", "services"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(ROOT / top, METHODS, keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


def untranslated(cat: Catalog, pot: set) -> list:
    """The template's messages the catalogue lacks or leaves empty; a plural message needs every
    one of its forms (Danish and English have two: msgstr[0] for 1, msgstr[1] for the rest)."""
    strings = {m.id: m.string for m in cat if m.id}
    bad = []
    for msgid in sorted(pot, key=str):
        text = strings.get(msgid)
        if isinstance(msgid, tuple):
            if not isinstance(text, tuple) or len(text) != cat.num_plurals or not all(text):
                bad.append(msgid)
        elif not text:
            bad.append(msgid)
    return bad


def test_every_message_is_in_the_template_and_translated_in_every_language():
    pot = {m.id for m in read_po(open(LOCALE_DIR / "messages.pot", "rb")) if m.id}
    missing = extracted() - pot
    assert not missing, f"run `make messages`: not in messages.pot: {sorted(missing, key=str)[:5]}"
    assert any(isinstance(i, tuple) for i in pot), "the plural messages (n_) are extracted with both forms"
    for locale in LOCALES:
        cat = catalogue(locale)
        assert cat.num_plurals == 2 and cat.plural_expr == "(n != 1)"
        bad = untranslated(cat, pot)
        assert not bad, f"{locale}: untranslated {bad[:5]}"
    assert translations("da").gettext("Sign in") == "Log ind"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_a_plural_message_missing_a_form_counts_as_untranslated():
    po = (b'msgid ""\nmsgstr ""\n"Language: da\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
          b'msgid "%(n)s member"\nmsgid_plural "%(n)s members"\nmsgstr[0] "%(n)s medlem"\nmsgstr[1] ""\n\n'
          b'msgid "%(n)s seat"\nmsgid_plural "%(n)s seats"\nmsgstr[0] "%(n)s plads"\nmsgstr[1] "%(n)s pladser"\n')
    cat = read_po(io.BytesIO(po), locale="da")
    pot = {("%(n)s member", "%(n)s members"), ("%(n)s seat", "%(n)s seats"), ("%(n)s vote", "%(n)s votes")}
    assert untranslated(cat, pot) == [("%(n)s member", "%(n)s members"), ("%(n)s vote", "%(n)s votes")]


def test_a_count_of_one_takes_the_singular_in_both_languages():
    da, en = ngettext_for("da"), ngettext_for("en")
    erased = ("The personal data of %(n)s member is erased: their needs are not known.",
              "The personal data of %(n)s members is erased: their needs are not known.")
    assert da(*erased, 1) == "Personoplysningerne om 1 medlem er slettet: medlemmets behov kendes ikke."
    assert da(*erased, 2) == "Personoplysningerne om 2 medlemmer er slettet: deres behov kendes ikke."
    assert en(*erased, 1) == "The personal data of 1 member is erased: their needs are not known."
    assert en(*erased, 2) == "The personal data of 2 members is erased: their needs are not known."
    # the count as the page shows it, and other values beside it
    payment = ("Payment %(n)s: %(total)s to %(payees)s member, %(when)s",
               "Payment %(n)s: %(total)s to %(payees)s members, %(when)s")
    assert da(*payment, 1, n=3, total="500 kr.", payees="1", when="i går") == "Udbetaling 3: 500 kr. til 1 medlem, i går"
    assert en(*payment, 1200, n=3, total="DKK 500", payees=Formats("en").number(1200), when="today") == \
        "Payment 3: DKK 500 to 1,200 members, today"
    # fractions and figures not known take the plural; 1.0 is one
    assert en("%(h)s hour", "%(h)s hours", 1.5, h="1.5") == "1.5 hours"
    assert da("%(h)s hour", "%(h)s hours", 1.0, h="1") == "1 time"
    assert plural_operand(None) == 2 and plural_operand(0) == 0 and plural_operand(2.0) == 2


def test_the_pages_render_the_form_for_the_count():
    from jinja2 import DictLoader, Environment

    env = Environment(loader=DictLoader({"t.html": '{{ n_("member on the panel", "members on the panel", n) }}'}),
                      autoescape=True)
    for lang, one, two in (("da", "medlem i panelet", "medlemmer i panelet"),
                           ("en", "member on the panel", "members on the panel")):
        page = env.get_template("t.html")
        assert page.render(n_=ngettext_for(lang), n=1) == one
        assert page.render(n_=ngettext_for(lang), n=2) == two


def test_the_language_is_chosen_by_the_switch_then_the_cookie_and_is_danish_by_default():
    assert choose_locale(None, None) == "da"
    assert choose_locale("en", "da") == "en"
    assert choose_locale(None, "en") == "en"
    assert choose_locale("fr", "xx") == "da"


def test_labels_and_formats_follow_the_locale():
    da, en = translations("da").gettext, translations("en").gettext
    assert label(da, "gender") == "Køn" and label(en, "gender", "female") == "Woman"
    assert label(da, "age", "18-29") == "18-29 år" and label(en, "age", "60+") == "60 years or older"
    regions = [{"code": "DK01", "name": "Region Hovedstaden"}]
    assert label(en, "region", "DK01", regions) == "Region Hovedstaden"
    assert label(en, "favourite_colour", "sea_green") == "Sea green"  # unknown codes made readable
    assert Formats("da").number(1234567) == "1.234.567" and Formats("en").number(1234567) == "1,234,567"
    assert Formats("da").percent(0.256, 1) == "25,6 %"
    moment = datetime(2027, 3, 1, 9, 30, tzinfo=timezone.utc)
    assert Formats("da").date(moment) == "1. marts 2027" and Formats("en").date(moment) == "1 March 2027"
    assert "10.30" in Formats("da").datetime(moment) or "10:30" in Formats("da").datetime(moment)


def test_the_registration_form_needs_an_explicit_answer_to_everything():
    questions = {"gender": ["female", "male"], "age": ["18-29", "30+"]}
    assert form_problems(questions, {}) == [("code", "missing"), ("q_gender", "missing"), ("q_age", "missing"),
                                            ("consent", "missing")]
    good = {"code": "abcd-efgh-jkmn-pqrs-tvwx", "q_gender": "male", "q_age": "30+", "consent": "true"}
    assert form_problems(questions, good) == []
    assert form_problems(questions, {**good, "code": "123"}) == [("code", "malformed")]
    assert form_problems(questions, {**good, "q_age": "99"}) == [("q_age", "unknown")]
    assert form_problems(questions, {**good, "consent": "on"}) == [("consent", "missing")]


def test_an_id_token_verifies_only_with_its_nonce_audience_issuer_and_access_token(tmp_path):
    import pytest
    from joserfc.errors import JoseError

    from shared.auth.dev_issuer import DevIssuer
    from shared.ui.signin import verify_id_token

    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    idp = DevIssuer(tmp_path / "k.pem", base_url="http://idp")
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
    assert create_s256_code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    code = idp.authorize(client_id="console", redirect_uri="http://c/cb", nonce="n-1", role="auditor",
                         assembly_id="7d497359-65b4-4709-8f0a-000000000001",
                         code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    with pytest.raises(ValueError, match="PKCE"):
        idp.exchange(code=code, client_id="console", redirect_uri="http://c/cb", code_verifier="wrong")
    code = idp.authorize(client_id="console", redirect_uri="http://c/cb", nonce="n-1", role="auditor",
                         assembly_id="7d497359-65b4-4709-8f0a-000000000001",
                         code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    t = idp.exchange(code=code, client_id="console", redirect_uri="http://c/cb", code_verifier=verifier)
    good = dict(issuer=idp.issuer, client_id="console", nonce="n-1", access_token=t["access_token"])
    assert verify_id_token(t["id_token"], idp.jwks(), **good)["sub"] == "dev-auditor"
    for bad in ({"nonce": "n-2"}, {"client_id": "other"}, {"issuer": "http://evil"}, {"access_token": "forged"}):
        with pytest.raises((JoseError, ValueError)):
            verify_id_token(t["id_token"], idp.jwks(), **{**good, **bad})
    with pytest.raises(ValueError, match="used"):
        idp.exchange(code=code, client_id="console", redirect_uri="http://c/cb", code_verifier="x")


def test_the_redirect_uri_uses_the_configured_public_origin_else_the_proxy_headers():
    from types import SimpleNamespace

    from starlette.requests import Request

    from shared.ui.signin import public_base

    def request(public_url: str, headers: dict) -> Request:
        app = SimpleNamespace(state=SimpleNamespace(rt=SimpleNamespace(settings=SimpleNamespace(public_url=public_url))))
        scope = {"type": "http", "method": "GET", "path": "/auth/login", "query_string": b"", "app": app,
                 "scheme": "http", "server": ("10.0.0.5", 8000),
                 "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
        return Request(scope)

    proxied = {"x-forwarded-prefix": "/reporting", "x-forwarded-host": "console.example", "x-forwarded-proto": "https"}
    assert public_base(request("", proxied)) == "https://console.example"
    assert public_base(request("https://console.agency.dk/", {**proxied, "x-forwarded-host": "evil.example"})) == \
        "https://console.agency.dk"
    # without the proxy's prefix, a forwarded host is not believed
    assert public_base(request("", {"x-forwarded-host": "evil.example", "host": "10.0.0.5:8000"})) == "http://10.0.0.5:8000"


def test_every_printed_verify_command_downloads_the_same_way():
    from shared.ui.commands import DOWNLOAD, download_command

    assert DOWNLOAD.startswith("curl ") and "--retry" in DOWNLOAD
    assert download_command("https://x.example/board", "board.json") == f"{DOWNLOAD} -o board.json https://x.example/board"
    assert download_command("https://x.example/audit", "t.json", bearer_env="AUDITOR_TOKEN") == \
        f'{DOWNLOAD} -H "Authorization: Bearer $AUDITOR_TOKEN" -o t.json https://x.example/audit'
    code = "\n".join(p.read_text() for p in [*ROOT.glob("services/*/pages.py"), *ROOT.glob("services/*/pages/*.py"),
                                            *ROOT.glob("services/*/templates/*.html")])
    assert "curl " not in code, "print downloads with shared.ui.commands.download_command (`download` in the pages)"
