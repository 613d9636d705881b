"""The toolkit's gate inside the Label Studio process that `mmra annotate serve` starts.

Never imported by the toolkit: `server._BOOT` loads this file into Label Studio's own Python (as module
`mmra_ls_guard`, needing only Django and Label Studio 1.23.2) before Label Studio's settings load.

Why: the Community edition has no roles (every account in the organisation may use the whole API), its
annotation API stores `completed_by` as the client writes it, lets any member PATCH anyone's annotation, and
hands the organisation's invite token (which signs new accounts up) to any member on `GET /api/invite`.
The gate makes the server hold these, for every account but the admin (the superuser `serve` creates):

- an account writes only as itself: a new annotation's `completed_by`/`updated_by` (and a draft's `user`)
  must be absent or its own id; only the author may change, delete or convert an annotation, or its draft;
- an account may annotate and nothing else that writes: its own profile, API token, hotkeys, product tour and
  data-manager tabs, and the data manager's read-only "next task" action; every other write is refused (403);
- the invite token never reaches it: `/api/invite` and its reset are refused, and any other response holding
  the token is withheld (403).

The gate runs in Django's request handler (a middleware for the web UI's views, a hook in Django REST
framework's `APIView.initial`, after the account is authenticated, for the API), so it covers every route of
every port the process listens on. Anonymous requests keep Label Studio's own checks (login, the closed signup).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

MODULE = "mmra_ls_guard"
MIDDLEWARE = f"{MODULE}.Gate"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ONLY_ANNOTATE = "mmra gate: annotator accounts may only annotate"
# web-UI (non-API) views a signed-in annotator may post to: sign in/out and its own account page
_UI_WRITES = frozenset({"user-login", "user-signup", "logout", "user-account", "user-account-anything",
                        "login"})  # "login"/"logout" also name DRF's /api-auth/ pages
# API views that only ever act on the requesting account itself
_SELF_ONLY = frozenset({"UserResetTokenAPI", "UserHotkeysAPI", "ProductTourAPI", "ViewAPI", "LSAPITokenView",
                        "LSAPITokenRotateView"})
_INVITE = frozenset({"OrganizationInviteAPI", "OrganizationResetTokenAPI"})
# the fields that name an account: a client may only ever name its own
_ACCOUNT_FIELDS = ("completed_by", "updated_by", "last_created_by", "user")

log = logging.getLogger("mmra.gate")


def install() -> None:
    """Hook `django.setup` so that, once Label Studio's settings are loaded, the gate joins them."""
    import django

    original = django.setup
    if getattr(original, "_mmra_gate", False):
        return

    def setup(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        _configure()

    setup._mmra_gate = True  # type: ignore[attr-defined]
    django.setup = setup


def _configure() -> None:
    from django.conf import settings
    from rest_framework.exceptions import PermissionDenied
    from rest_framework.views import APIView

    if MIDDLEWARE not in settings.MIDDLEWARE:  # last: the session and JWT users are known by then
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    if getattr(APIView.initial, "_mmra_gate", False):
        return
    original = APIView.initial

    def initial(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original(self, request, *args, **kwargs)  # authenticates (token, session, JWT) and checks LS permissions
        refusal = api_refusal(self, request, kwargs)
        if refusal:
            log.warning("refused %s %s for user %s: %s", request.method, request.path,
                        getattr(request.user, "id", None), refusal)
            raise PermissionDenied(refusal)

    initial._mmra_gate = True  # type: ignore[attr-defined]
    APIView.initial = initial


def restricted(user: Any) -> bool:
    """Every signed-in account but the admin (Label Studio's superuser, made by `serve`)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and not user.is_superuser)


def _account_id(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _shown(value: Any) -> str:
    """A client's value in a refusal (and the server log): bounded, whatever it sent."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _names_only_itself(data: Any, user: Any) -> str | None:
    if not isinstance(data, Mapping):
        return f"{ONLY_ANNOTATE}: the request body must be one JSON object"
    for key in _ACCOUNT_FIELDS:
        if key in data and _account_id(data[key]) != user.id:
            return (f"{ONLY_ANNOTATE} as themselves: {key}={_shown(data[key])} is not this account "
                    f"(id {user.id})")
    return None


def _same(data: Mapping, key: str, expected: int | None) -> str | None:
    if key in data and expected is not None and _account_id(data[key]) != expected:
        return f"{ONLY_ANNOTATE}: {key}={_shown(data[key])} does not match the annotation's {key} ({expected})"
    return None


def _annotation_write(request: Any, kwargs: Mapping, *, create: bool) -> str | None:
    from tasks.models import Annotation, Task

    user = request.user
    if create:
        row = Task.objects.filter(pk=kwargs.get("pk")).values("id", "project_id").first()
        where = row and {"task": row["id"], "project": row["project_id"]}
    else:
        row = Annotation.objects.filter(pk=kwargs.get("pk")).values("completed_by_id", "task_id", "project_id").first()
        if row is not None and row["completed_by_id"] != user.id:
            return (f"{ONLY_ANNOTATE}: annotation {kwargs.get('pk')} was written by another account "
                    f"(id {row['completed_by_id']}); only its author may change or delete it")
        where = row and {"task": row["task_id"], "project": row["project_id"]}
    if request.method == "DELETE":
        return None
    data = request.data
    problem = _names_only_itself(data, user)
    if problem or not where:  # no such task/annotation: Label Studio answers 404
        return problem
    return _same(data, "task", where["task"]) or _same(data, "project", where["project"])


def _own_draft(request: Any, kwargs: Mapping) -> str | None:
    from tasks.models import AnnotationDraft

    problem = _names_only_itself(request.data, request.user) if request.method != "DELETE" else None
    if problem:
        return problem
    owner = AnnotationDraft.objects.filter(pk=kwargs.get("pk")).values_list("user_id", flat=True).first()
    if owner is not None and owner != request.user.id:
        return f"{ONLY_ANNOTATE}: draft {kwargs.get('pk')} belongs to another account"
    return None


def _own_annotation(kwargs: Mapping, user: Any) -> str | None:
    from tasks.models import Annotation

    author = Annotation.objects.filter(pk=kwargs.get("pk")).values_list("completed_by_id", flat=True).first()
    if author is not None and author != user.id:
        return f"{ONLY_ANNOTATE}: annotation {kwargs.get('pk')} was written by another account"
    return None


def api_refusal(view: Any, request: Any, kwargs: Mapping) -> str | None:
    """Why this API request is refused, or None. Runs after Label Studio authenticated the account."""
    user = request.user
    if not restricted(user):
        return None
    name = type(view).__name__
    if name in _INVITE:
        return "mmra gate: the organisation's invite link is for the admin only (`mmra annotate users add`)"
    if request.method in SAFE_METHODS:
        return None
    if name == "AnnotationsListAPI":
        return _annotation_write(request, kwargs, create=True)
    if name == "AnnotationAPI":
        return _annotation_write(request, kwargs, create=False)
    if name == "AnnotationConvertAPI":
        return _own_annotation(kwargs, user)
    if name == "AnnotationDraftListAPI":
        return _names_only_itself(request.data, user)
    if name == "AnnotationDraftAPI":
        return _own_draft(request, kwargs)
    if name == "UserAPI":  # its own profile and avatar, never another account nor a new one
        own = _account_id(kwargs.get("pk")) == user.id
        if own and (request.method in ("PATCH", "PUT") or getattr(view, "action", None) == "avatar"):
            return None
        return f"{ONLY_ANNOTATE}: accounts other than the admin may change only their own profile"
    if name == "ProjectActionsAPI" and request.query_params.get("id") == "next_task":
        return None  # the labeling stream's "next task": reads only
    if name in _SELF_ONLY:
        return None
    return f"{ONLY_ANNOTATE}: {request.method} {request.path} is for the admin"


def _invite_tokens() -> list[bytes]:
    from organizations.models import Organization

    return [t.encode() for t in Organization.objects.exclude(token__isnull=True).values_list("token", flat=True) if t]


def _refused(reason: str) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"detail": reason, "status_code": 403}, status=403)


class Gate:
    """Django middleware: web-UI writes by annotator accounts, and any response that would show them the
    invite token. (API views are checked in `APIView.initial`, once their account is authenticated.)"""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        user = getattr(request, "user", None)  # for API views, the account the API authenticated
        if restricted(user) and not getattr(response, "streaming", False):
            content = getattr(response, "content", b"") or b""
            if content and any(token in content for token in _invite_tokens()):
                log.warning("withheld a response to %s %s for user %s: it holds the invite token",
                            request.method, request.path, user.id)
                return _refused("mmra gate: this response holds the organisation's invite token, which is "
                                "for the admin only")
        return response

    def process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        from rest_framework.views import APIView

        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None  # checked in APIView.initial, with the account the API authenticates
        if request.method in SAFE_METHODS or not restricted(getattr(request, "user", None)):
            return None
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in _UI_WRITES:
            return None
        log.warning("refused %s %s for user %s", request.method, request.path, request.user.id)
        return _refused(f"{ONLY_ANNOTATE}: {request.method} {request.path} is for the admin")
