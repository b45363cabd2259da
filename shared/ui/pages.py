"""Rendering pages through the shared layout, behind one origin.

The browser sees one origin; a path prefix per service routes to it (`make demo`'s proxy,
borgerting/proxy.py; the Ingress in production), which strips the prefix and says it in
X-Forwarded-Prefix. Pages build their own links with `url(path)` (that prefix) and links to
another service's pages with `url(path, service=...)` (SERVICE_PREFIXES); served without a proxy
(tests), the prefix is empty.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from shared.auth.principal import MEMBER, Principal
from shared.auth.sessions import CSRF_COOKIE, csrf_token, new_csrf_cookie
from shared.ui.commands import download_command
from shared.ui.i18n import LOCALES, Formats, N_, choose_locale, gettext_for, label, ngettext_for

HERE = Path(__file__).parent
STATIC = HERE / "static"
SERVICE_PREFIXES = {"recruitment": "/recruitment", "sortition": "/sortition", "sessions": "/sessions",
                    "voting": "/voting", "reporting": "/reporting"}
CONSOLE = "reporting"  # the console's home, staff sign-in and the member portal
LANG_COOKIE = "borgerting_lang"
LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}
_KNOWN_PREFIXES = set(SERVICE_PREFIXES.values())

ERROR_TEXT = {
    400: (N_("The request could not be read"), N_("Please go back and try again.")),
    403: (N_("You do not have access to this page"), N_("Your role does not allow this. Ask the secretariat if you need access.")),
    404: (N_("Page not found"), N_("The page or the thing it shows does not exist, or it is not yours to see.")),
    409: (N_("That is not possible right now"), N_("The assembly is not at the step this needs.")),
    422: (N_("Some information is missing or wrong"), N_("Please go back, correct it and try again.")),
    429: (N_("Too many attempts"), N_("Please wait a minute and try again.")),
    503: (N_("The service is busy"), N_("Please try again in a moment.")),
}


def forwarded_prefix(request: Request) -> str:
    """The path prefix the proxy routed by: only one of the services' own prefixes is believed."""
    value = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    return value if value in _KNOWN_PREFIXES else ""


def service_url(request: Request, path: str, service: str | None = None) -> str:
    """A link to `path` of this service (service None) or of another one, behind the one origin."""
    if service is None:
        return forwarded_prefix(request) + path
    return SERVICE_PREFIXES[service] + path


def safe_next(value: str | None) -> str | None:
    """A local path to return to after signing in (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value and len(value) < 500:
        return value
    return None


def signin_url(request: Request, members: bool = False) -> str:
    here = forwarded_prefix(request) + request.url.path
    if members:
        return SERVICE_PREFIXES["recruitment"] + "/member/signin?" + urlencode({"next": here})
    return SERVICE_PREFIXES[CONSOLE] + "/signin?" + urlencode({"next": here})


# The menu inside an assembly: (label, service, path, roles that may open it). A page on an object
# of an assembly (a session) names the assembly in `request.state.assembly_id`.
ASSEMBLY_NAV = [
    (N_("Dashboard"), CONSOLE, "/assemblies/{aid}/dashboard", {"organiser", "registrar", "facilitator", "auditor"}),
    (N_("Recruitment"), "recruitment", "/assemblies/{aid}/recruitment", {"organiser", "registrar", "facilitator", "auditor"}),
    (N_("Sessions"), "sessions", "/assemblies/{aid}/calendar", {"organiser", "facilitator", "auditor"}),
    (N_("Programme"), "sessions", "/assemblies/{aid}/programme", {"organiser", "facilitator", "auditor"}),
    (N_("Draw"), "sortition", "/assemblies/{aid}/draw", {"organiser", "auditor"}),
    (N_("Recommendations"), "sessions", "/assemblies/{aid}/recommendations", {"organiser", "facilitator", "auditor"}),
    (N_("Voting"), "voting", "/assemblies/{aid}/voting", {"organiser", "registrar", "auditor"}),
    (N_("Report"), CONSOLE, "/assemblies/{aid}/report", {"organiser", "facilitator", "auditor"}),
]


class Pages:
    """A service's pages: `pages.render(request, "x.html", {...}, who=who)`."""

    def __init__(self, service: str, templates: Path | None = None) -> None:
        self.service = service
        loaders = [FileSystemLoader(str(templates))] if templates else []
        loaders.append(PrefixLoader({"ui": FileSystemLoader(str(HERE / "templates" / "ui"))}))
        self.env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True),
                               trim_blocks=True, lstrip_blocks=True, auto_reload=False)
        self.env.globals["download"] = download_command  # the verify commands' download line

    def install(self, app: FastAPI) -> None:
        app.mount("/ui-static", StaticFiles(directory=str(STATIC)), name="ui-static")
        app.state.error_page = self.error_page
        app.state.pages = self

    # ---- the request's language and links ---------------------------------------------------

    @staticmethod
    def locale(request: Request) -> str:
        return choose_locale(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))

    def gettext(self, request: Request):
        """`_(message, **values)` in the request's language."""
        return gettext_for(self.locale(request))

    def ngettext(self, request: Request):
        """`n_(singular, plural, count, **values)` in the request's language: the form for `count`,
        `%(n)s` being the count unless a value `n` (the count as the page shows it) is given."""
        return ngettext_for(self.locale(request))

    def context(self, request: Request, who: Principal | None) -> dict:
        lang = self.locale(request)
        other = "en" if lang == "da" else "da"
        _ = self.gettext(request)
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
        session = getattr(request.state, "web_session", None)
        csrf_cookie = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
        if csrf_cookie is None:
            csrf_cookie = request.state.new_csrf_cookie = new_csrf_cookie()
        secret = request.app.state.rt.settings.secret_key
        members = who is not None and who.member_id is not None
        nav = self.navigation(request, who, _)
        return {
            "lang": lang, "other_lang": other, "other_lang_name": LANGUAGE_NAMES[other], "_": _,
            "n_": self.ngettext(request),
            "fmt": Formats(lang),
            "label": lambda category, value=None, regions=None, strata=None: label(_, category, value, regions, strata,
                                                                                   lang),
            "url": lambda path, service=None: service_url(request, path, service),
            "static": lambda path: service_url(request, "/ui-static/" + path),
            "switch_url": forwarded_prefix(request) + request.url.path + "?" + urlencode(query),
            "home_url": SERVICE_PREFIXES[CONSOLE] + "/",
            "signin_url": signin_url(request, members=False),
            "signout_url": SERVICE_PREFIXES[CONSOLE] + "/signout",
            "csrf_token": csrf_token(secret, csrf_cookie, session.sid if session else None),
            "who": who, "who_label": self.who_label(who, _), "nav": nav, "request": request,
            "is_member": members,
        }

    @staticmethod
    def who_label(who: Principal | None, _) -> str:
        if who is None or who.anonymous:
            return ""
        if who.member_id is not None:
            return _("Signed in as panel member")
        roles = sorted({role for role, _a in who.grants})
        return _("Signed in: %(roles)s", roles=", ".join(_(ROLE_NAMES.get(r, r)) for r in roles))

    def navigation(self, request: Request, who: Principal | None, _) -> list[dict]:
        here = forwarded_prefix(request) + request.url.path
        items: list[tuple[str, str]] = []
        if who is not None and not who.anonymous:
            if who.member_id is not None:
                aid = next(iter(who.assemblies))
                items.append((_("My assembly"), f"{SERVICE_PREFIXES[CONSOLE]}/assemblies/{aid}/portal"))
            else:
                items.append((_("Assemblies"), SERVICE_PREFIXES[CONSOLE] + "/"))
                if "operator" in who.global_roles:
                    items.append((_("Create an assembly"), SERVICE_PREFIXES["recruitment"] + "/console/assemblies"))
                aid = request.path_params.get("assembly_id") or getattr(request.state, "assembly_id", None)
                try:
                    aid = uuid.UUID(str(aid)) if aid else None
                except ValueError:
                    aid = None
                if aid:
                    held = who.roles_in(aid) | who.global_roles
                    for text, service, path, roles in ASSEMBLY_NAV:
                        if held & roles:
                            items.append((_(text), SERVICE_PREFIXES[service] + path.format(aid=aid)))
        return [{"label": text, "url": link, "current": link == here} for text, link in items]

    # ---- responses ----------------------------------------------------------------------------

    def render(self, request: Request, template: str, values: dict | None = None, *, who: Principal | None = None,
               status: int = 200, headers: dict | None = None) -> HTMLResponse:
        ctx = self.context(request, who)
        ctx.update(values or {})
        html = self.env.get_template(template).render(ctx)
        response = HTMLResponse(html, status_code=status, headers=headers)
        self.finish(request, response)
        return response

    @staticmethod
    def finish(request: Request, response: Response) -> None:
        """Cookies a page sets: the CSRF cookie when it was new, the language when switched; and
        no caching of pages that may be personal."""
        secure = request.app.state.rt.settings.env == "production"
        fresh = getattr(request.state, "new_csrf_cookie", None)
        if fresh:
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="lax", secure=secure, path="/")
        lang = request.query_params.get("lang")
        if lang in LOCALES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", secure=secure, path="/")
        response.headers.setdefault("cache-control", "no-store")
        response.headers.setdefault("x-frame-options", "DENY")
        response.headers.setdefault("referrer-policy", "same-origin")

    def csv(self, request: Request, filename: str, header: list[str], rows) -> Response:
        """A CSV download (UTF-8 with a byte-order mark, so spreadsheets read the Danish letters)."""
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        response = Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"content-disposition": f'attachment; filename="{filename}"'})
        self.finish(request, response)
        return response

    def refusal(self, request: Request, exc) -> dict:
        """A refusal of the domain (a shared.problems.DomainError) as a form's page shows it, with the
        `ui.refused` macro: the heading in the chosen language, the service's own words beside it,
        and the status the page answers with."""
        from shared.errors import STATUS

        status = STATUS[exc.kind]
        heading, _explanation = ERROR_TEXT.get(status, ERROR_TEXT[409])
        return {"heading": self.gettext(request)(heading), "message": exc.message, "status": status}

    def redirect(self, request: Request, location: str) -> RedirectResponse:
        response = RedirectResponse(location, status_code=303)
        self.finish(request, response)
        return response

    def error_page(self, request: Request, error: dict, status: int, headers: dict | None) -> Response:
        if error.get("code") == "sign_in_required":
            members = getattr(request.state, "members_only", False)
            return self.redirect(request, signin_url(request, members=members))
        _ = self.gettext(request)
        heading, explanation = ERROR_TEXT.get(status, (N_("Something went wrong"), N_("Please try again later.")))
        who = getattr(request.state, "principal", None)
        return self.render(request, "ui/error.html", {"error": error, "heading": _(heading),
                                                      "explanation": _(explanation)},
                           who=who, status=status, headers=headers)


ROLE_NAMES = {"operator": N_("operator"), "organiser": N_("secretariat"), "registrar": N_("registrar"),
              "facilitator": N_("facilitator"), "auditor": N_("auditor"), MEMBER: N_("panel member")}

