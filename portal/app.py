"""The portal's web application (Starlette, server-rendered HTML that works without JavaScript)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from sys import maxsize

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import FormData, MultiPartException, MultiPartParser
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from application.settings import DEFAULT_MAX_UPLOAD_MB, Network
from errors import SheetChoice, UnusableInput
from intake.inbox import Inbox
from intake.periods import MAX_REASON, current_loaded
from portal.accounts import Account, Accounts
from portal.forwarded import ClientAddress
from portal.logs import silence_parsers
from portal.middleware import PLAIN_500, BodyLimit, Guard, SecurityHeaders
from portal.sessions import Session, Sessions
from portal.signin_limits import SigninLimiter
from portal.status import visible_submission, visible_submissions
from portal.uploads import HeldUploads, check_upload
from privacy import access_log
from schemas.dictionary import dictionary_html, dictionary_markdown, provider_mapping_markdown
from schemas.providers import check_submission, providers
from schemas.standard import FEEDS, PROVIDER_ID

HERE = Path(__file__).parent
MAPPINGS = HERE.parent / "schemas" / "mappings"
COOKIE = "rapporteur_session"
NOT_FOUND = "There is no such page, or it is not yours to see."
GONE = "This upload is not held any more (or is not yours): upload the file again."


def portal_database(home_root: Path) -> Path:
    """Where the portal keeps accounts and sessions: $RAPPORTEUR_HOME/portal/accounts.sqlite."""
    return Path(home_root) / "portal" / "accounts.sqlite"


class _InMemoryParser(MultiPartParser):
    # Keep uploads in memory (the body limit bounds them): a spooled temporary file would put a
    # provider's plaintext on disk.
    spool_max_size = maxsize


class _SignInRequired(Exception):
    pass


BAD_FORM = "The form was not a valid form submission: reload the page and try again."


async def _form(request: Request, parser: type[MultiPartParser] | None = None, **limits) -> FormData:
    """The request's form (`parser`: a multipart parser class for uploads). A body that cannot be parsed is one
    plain message: the parser's own words can quote the body, so they are never shown or logged."""
    try:
        if parser is not None:
            return await parser(request.headers, request.stream(), **limits).parse()
        return await request.form(**limits)
    except (MultiPartException, HTTPException, ValueError, LookupError) as exc:
        if isinstance(exc, HTTPException) and exc.status_code != 400:
            raise
        raise HTTPException(400, BAD_FORM) from None


@dataclass
class Portal:
    """What the request handlers share."""

    accounts: Accounts
    sessions: Sessions
    inbox: Inbox
    limiter: SigninLimiter
    held: HeldUploads
    max_upload_bytes: int
    templates: Jinja2Templates
    key_prints: dict[str, str] | None  # fingerprints of the first-level keys a prepared extract must carry


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def _session(request: Request) -> Session | None:
    return _portal(request).sessions.get(request.cookies.get(COOKIE))


def _signed_in(request: Request) -> tuple[Account, Session]:
    """The account of this request's session; a disabled or unknown account counts as signed out."""
    session = _session(request)
    account = _portal(request).accounts.get(session.org) if session and session.org else None
    if session is None or account is None or account.disabled:
        raise _SignInRequired
    return account, session


def _provider(request: Request) -> tuple[Account, Session]:
    account, session = _signed_in(request)
    if account.is_bureau:
        raise HTTPException(403, "The bureau's account does not submit extracts; sign in as the organisation.")
    return account, session


def _check_csrf(session: Session | None, token: object) -> Session:
    """The session, when the form's token is its own (else 403)."""
    if session is None or not session.csrf_ok(token if isinstance(token, str) else None):
        raise HTTPException(
            403, "This form has expired or did not come from the portal: reload the page and try again."
        )
    return session


def _log(org: str | None, request: Request, action: str, target: str = "-") -> None:
    """One portal action in the access log: the account, the page, what was done (never a form's content)."""
    who = org if org and PROVIDER_ID.fullmatch(org) else "unknown id"
    access_log.record(action, target, access_log.Actor(who, "portal", f"{request.method} {request.url.path[:80]}"))


def _page(request: Request, name: str, status: int = 200, **context) -> Response:
    return _portal(request).templates.TemplateResponse(request, name, context, status_code=status)


def _set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")


async def home(request: Request) -> Response:
    _signed_in(request)
    return RedirectResponse("/submissions", 303)


async def signin_form(request: Request) -> Response:
    try:
        _signed_in(request)
        return RedirectResponse("/submissions", 303)
    except _SignInRequired:
        pass
    session, token = _session(request), None
    if session is None or session.org is not None:  # none yet, or one whose account is gone
        token, session = _portal(request).sessions.new(None)
    response = _page(request, "signin.html", csrf=session.csrf, account=None)
    if token:
        _set_cookie(request, response, token)
    return response


async def signin(request: Request) -> Response:
    portal = _portal(request)
    form = await _form(request, max_files=0, max_fields=5, max_part_size=4096)
    session = _check_csrf(_session(request), form.get("csrf_token"))
    org, password = str(form.get("org", "")).strip().lower()[:64], str(form.get("password", ""))
    address = request.client.host if request.client else "unknown"
    if not portal.limiter.allowed(org, address):
        return _page(
            request, "signin.html", 429, csrf=session.csrf, account=None, org=org,
            error="Too many failed sign-ins. Wait 15 minutes and try again, or ask the bureau.",
        )  # fmt: skip
    account = await run_in_threadpool(portal.accounts.verify, org, password)
    if account is None:
        portal.limiter.failed(org, address)
        _log(org, request, "sign-in refused")
        return _page(
            request, "signin.html", 401, csrf=session.csrf, account=None, org=org,
            error="The organisation id or the password is wrong, or the account is disabled.",
        )  # fmt: skip
    portal.sessions.end(request.cookies.get(COOKIE))
    token, _ = portal.sessions.new(account.org)
    _log(account.org, request, "sign-in")
    response = RedirectResponse("/submissions", 303)
    _set_cookie(request, response, token)
    return response


async def signout(request: Request) -> Response:
    form = await _form(request, max_files=0, max_fields=5, max_part_size=4096)
    session = _session(request)
    _check_csrf(session, form.get("csrf_token"))
    if session is not None:
        _log(session.org, request, "sign-out")
    _portal(request).sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/signin", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _upload_form(request: Request, account: Account, session: Session, status=200, **values) -> Response:
    default_feed = providers().get(account.org) or FEEDS[0]  # the feed the provider is registered for
    return _page(
        request, "upload.html", status, account=account, csrf=session.csrf, feeds=FEEDS,
        max_mb=_portal(request).max_upload_bytes >> 20,
        **({"feed": default_feed, "period": "all"} | values),
    )  # fmt: skip


async def upload_form(request: Request) -> Response:
    account, session = _provider(request)
    return _upload_form(request, account, session)


async def upload(request: Request) -> Response:
    portal = _portal(request)
    account, session = _provider(request)
    form = await _form(request, _InMemoryParser, max_files=1, max_fields=5)
    _check_csrf(session, form.get("csrf_token"))
    feed, period, file = str(form.get("feed", "")), str(form.get("period", "")).strip(), form.get("file")
    sheet, filename = str(form.get("sheet", "")).strip() or None, "upload"
    values = {"feed": feed if feed in FEEDS else FEEDS[0], "period": period[:20]}
    try:
        check_submission(feed, account.org, period)
        if not isinstance(file, UploadFile) or not file.filename:
            raise UnusableInput("choose a file to upload")
        filename = Path(file.filename.replace("\\", "/")).name[:120] or "upload"
        data = await file.read()
        previous = portal.inbox.previous_row_counts(feed, account.org, exclude="")
        checked = await run_in_threadpool(
            check_upload,
            data,
            feed,
            account.org,
            period,
            filename,
            previous,
            portal.held.folder,
            portal.key_prints,
            sheet,
        )
    except SheetChoice as exc:  # the workbook's data sheet cannot be told: the form asks which
        error = f"{filename}: {exc.reason}. Choose the sheet that holds the extract, then the file again."
        return _upload_form(request, account, session, 422, error=error, sheets=exc.sheets, **values)
    except UnusableInput as exc:  # shown to the provider (it may quote their own header); never logged
        return _upload_form(request, account, session, 422, error=str(exc), **values)
    portal.held.put(checked)
    _log(account.org, request, "upload checked", f"{feed} {period}")
    return RedirectResponse(f"/uploads/{checked.token}", 303)


def _held(request: Request):
    account, session = _provider(request)
    upload = _portal(request).held.get(request.path_params["token"], account.org)
    if upload is None:
        raise HTTPException(404, GONE)
    return account, session, upload


def _result_page(request: Request, account: Account, session: Session, upload, status=200, **values) -> Response:
    """The validation result; when the period is approved (locked), the submit form asks for a reason."""
    lock = _portal(request).inbox.locked(account.org, upload.period)
    return _page(
        request, "result.html", status, account=account, csrf=session.csrf, upload=upload,
        locked=lock["period"] if lock else None, **values,
    )  # fmt: skip


async def upload_result(request: Request) -> Response:
    account, session, upload = _held(request)
    return _result_page(request, account, session, upload)


async def upload_failures(request: Request) -> Response:
    account, _, upload = _held(request)
    _log(account.org, request, "download", "failures.csv")
    try:
        source = upload.failures_csv()
    except FileNotFoundError:  # dropped or expired since it was looked up
        raise HTTPException(404, GONE) from None
    return StreamingResponse(
        _chunks(source),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="failures.csv"'},
    )


def _chunks(source) -> Iterator[bytes]:
    with source:
        while chunk := source.read(1 << 16):
            yield chunk


async def submit(request: Request) -> Response:
    portal = _portal(request)
    account, session, upload = _held(request)
    form = await _form(request, max_files=0, max_fields=5, max_part_size=4096)
    _check_csrf(session, form.get("csrf_token"))
    reason = str(form.get("reason", ""))[:MAX_REASON] or None
    try:
        sub, new = await run_in_threadpool(
            portal.inbox.place_bytes, upload.data, upload.feed, account.org, upload.period, reason, upload.sheet
        )
    except UnusableInput as exc:
        return _result_page(request, account, session, upload, 422, error=str(exc))
    portal.held.drop(upload.token)
    _log(account.org, request, "submit", f"submission {sub.submission_id}")
    return RedirectResponse(f"/submissions/{sub.submission_id}?received={'new' if new else 'again'}", 303)


async def signoff(request: Request) -> Response:
    """The provider marks its loaded submission in force for a period as final (the bureau signs nothing)."""
    portal = _portal(request)
    account, session = _provider(request)
    form = await _form(request, max_files=0, max_fields=2, max_part_size=1024)
    _check_csrf(session, form.get("csrf_token"))
    row = visible_submission(portal.inbox, account, request.path_params["sid"])
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    current = current_loaded(portal.inbox.ledger()).get((row["feed"], account.org, row["period"]))
    if current is None or current["submission_id"] != row["submission_id"]:
        raise HTTPException(409, "Only the loaded submission in force for its period can be signed off.")
    portal.inbox.periods.sign_off(row["feed"], account.org, row["period"], current, f"portal:{account.org}")
    _log(account.org, request, "sign off", f"submission {row['submission_id']}")
    return RedirectResponse(f"/submissions/{row['submission_id']}?signed=1", 303)


async def submissions(request: Request) -> Response:
    account, session = _signed_in(request)
    rows = visible_submissions(_portal(request).inbox, account)
    return _page(request, "submissions.html", account=account, csrf=session.csrf, rows=rows)


async def submission(request: Request) -> Response:
    account, session = _signed_in(request)
    row = visible_submission(_portal(request).inbox, account, request.path_params["sid"])
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    received = request.query_params.get("received")
    inbox = _portal(request).inbox
    in_force = current_loaded(inbox.ledger()).get((row["feed"], row["provider"], row["period"]))
    return _page(
        request, "submission.html", account=account, csrf=session.csrf, row=row,
        received=received if received in ("new", "again") else None,
        signed_at=inbox.periods.signed(row["submission_id"]),
        can_sign=not account.is_bureau and in_force is not None and in_force["submission_id"] == row["submission_id"],
        signed_now=request.query_params.get("signed") == "1",
    )  # fmt: skip


def _mapping_orgs(account: Account) -> list[str]:
    if account.is_bureau:
        return list(providers())
    return [account.org] if account.org in providers() else []


async def documents(request: Request) -> Response:
    account, session = _signed_in(request)
    return _page(request, "documents.html", account=account, csrf=session.csrf, mappings=_mapping_orgs(account))


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body.encode(), media_type=media_type, headers={"content-disposition": f'attachment; filename="{filename}"'}
    )


async def dictionary(request: Request) -> Response:
    account, _ = _signed_in(request)
    if request.path_params["fmt"] not in ("html", "md"):
        raise HTTPException(404, NOT_FOUND)
    _log(account.org, request, "download", "data dictionary")
    if request.path_params["fmt"] == "md":
        return _download(dictionary_markdown(), "text/markdown; charset=utf-8", "data-dictionary.md")
    return HTMLResponse(dictionary_html())  # shown, not downloaded: the reports link to its code lists


async def mapping_file(request: Request) -> Response:
    account, _ = _signed_in(request)
    org, fmt = request.path_params["org"], request.path_params["fmt"]
    if fmt not in ("yaml", "md") or not PROVIDER_ID.fullmatch(org) or org not in _mapping_orgs(account):
        raise HTTPException(404, NOT_FOUND)
    _log(account.org, request, "download", f"mapping {org}")
    if fmt == "md":
        return _download(provider_mapping_markdown(org), "text/markdown; charset=utf-8", f"{org}-mapping.md")
    return _download((MAPPINGS / f"{org}.yaml").read_text(), "application/yaml; charset=utf-8", f"{org}.yaml")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "File too large"}
    message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else NOT_FOUND
    if exc.status_code == 405:
        message = "This page cannot be used this way."
    try:
        account, session = _signed_in(request)
        context = {"account": account, "csrf": session.csrf}
    except _SignInRequired:
        context = {"account": None}
    title = titles.get(exc.status_code, "This request could not be completed")
    return _page(request, "error.html", exc.status_code, title=title, message=message, **context)


async def _server_error(request: Request, exc: Exception) -> Response:
    return HTMLResponse(PLAIN_500.decode(), 500)  # portal.middleware.Guard logs it (without its message)


async def _to_signin(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/signin", 303)


ROUTES = [
    Route("/", home),
    Route("/healthz", healthz),
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/upload", upload_form, methods=["GET"]),
    Route("/upload", upload, methods=["POST"]),
    Route("/uploads/{token}", upload_result),
    Route("/uploads/{token}/failures.csv", upload_failures),
    Route("/uploads/{token}/submit", submit, methods=["POST"]),
    Route("/submissions", submissions),
    Route("/submissions/{sid}", submission),
    Route("/submissions/{sid}/signoff", signoff, methods=["POST"]),
    Route("/documents", documents),
    Route("/dictionary.{fmt:str}", dictionary),
    Route("/mappings/{org}.{fmt:str}", mapping_file),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(
    home_root: Path,
    inbox: Inbox,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    limiter: SigninLimiter | None = None,
    key_prints: dict[str, str] | None = None,
    trusted_proxies: tuple[Network, ...] = (),
):
    """The portal as an ASGI application over one installation's inbox and the portal's accounts.

    `key_prints` (public fingerprints, no key) let it refuse at once an extract prepared with a key the
    bureau does not hold; without them such an extract is refused later, by the pipeline. Forwarded headers
    are read only from a peer in `trusted_proxies` (portal.forwarded)."""
    silence_parsers()
    database = portal_database(home_root)
    app = Starlette(
        routes=ROUTES,
        exception_handlers={HTTPException: _http_error, _SignInRequired: _to_signin, Exception: _server_error},  # type: ignore[dict-item]  # Starlette types every handler as taking Exception
        middleware=[
            Middleware(ClientAddress, trusted_proxies=trusted_proxies),
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, max_bytes=max_upload_mb << 20),
        ],
    )
    app.state.portal = Portal(
        accounts=Accounts(database),
        sessions=Sessions(database),
        inbox=inbox,
        limiter=limiter or SigninLimiter(),
        held=HeldUploads(Path(home_root) / "portal" / "held"),
        max_upload_bytes=max_upload_mb << 20,
        templates=Jinja2Templates(directory=HERE / "templates"),
        key_prints=key_prints,
    )
    return Guard(app)
