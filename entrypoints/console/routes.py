"""The web console's routes and templates, mounted on the API app by `create_app`.

Pages live under /console (and / sends you there); they call the same queries and use
cases as the API, as the principal of the session the console's cookie names.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import HttpMethod, Router, get, route
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from entrypoints.console.audit_pages import AuditPages
from entrypoints.console.auth_pages import SignInPages
from entrypoints.console.builder_api import BuilderCalls
from entrypoints.console.editor_pages import EditorPages
from entrypoints.console.errors import (
    CONSOLE_EXCEPTION_HANDLERS,
    page_not_found,
    remembered_principal,
)
from entrypoints.console.execution_actions import ExecutionActions
from entrypoints.console.execution_pages import ExecutionPages
from entrypoints.console.live import LiveStreams
from entrypoints.console.member_pages import MemberPages
from entrypoints.console.oidc_pages import OidcPages
from entrypoints.console.presentation import TEMPLATE_FILTERS, TEMPLATE_GLOBALS
from entrypoints.console.retention_pages import RetentionPages
from entrypoints.console.schedule_pages import SchedulePages
from entrypoints.console.secret_pages import SecretPages
from entrypoints.console.session import same_origin_guard
from entrypoints.console.token_pages import TokenPages
from entrypoints.console.workflow_pages import WorkflowPages

HERE = Path(__file__).parent
STATIC_PATH = "/console/static"


def console_template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `tojson` keeps keys in their order: a config form lists fields as the kind declares them.
    environment.policies["json.dumps_kwargs"] = {"sort_keys": False}
    environment.filters.update(TEMPLATE_FILTERS)
    environment.globals.update(TEMPLATE_GLOBALS)
    environment.globals["static"] = lambda name: f"{STATIC_PATH}/{name}"
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/console/executions", status_code=303)


@get("/console", include_in_schema=False)
async def console_home() -> Redirect:
    return Redirect("/console/executions", status_code=303)


def console_handlers() -> list[ControllerRouterHandler]:
    """Everything the console adds to the app: pages, actions, live streams, static files."""
    pages = Router(
        path="/",
        route_handlers=[
            SignInPages,
            OidcPages,
            EditorPages,
            BuilderCalls,
            WorkflowPages,
            ExecutionPages,
            ExecutionActions,
            LiveStreams,
            SchedulePages,
            SecretPages,
            TokenPages,
            MemberPages,
            AuditPages,
            RetentionPages,
            console_home,
        ],
        dependencies={"principal": Provide(remembered_principal)},
        guards=[same_origin_guard],
        exception_handlers=CONSOLE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    pages.register(_not_found_handler(pages))
    static = create_static_files_router(
        path=STATIC_PATH, directories=[HERE / "static"], include_in_schema=False
    )
    return [home, pages, static]


_ANY_METHOD = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]


def dead_ends(paths: list[str], root: str = "/console") -> list[str]:
    """Paths that catch every address under `root` that no route in `paths` matches.

    Litestar looks a path up segment by segment and answers 404 (as the API's JSON) when a
    segment matches nothing. So each point of the console's route tree gets a catch-all
    `{rest:path}` child where it has no parameter child (a parameter takes any segment),
    and each point with no route of its own gets a route too."""
    tree: dict[tuple[str, ...], tuple[str, ...]] = {}  # shape -> the path as written
    routed: set[tuple[str, ...]] = set()
    for path in paths:
        segments = tuple(part for part in path.split("/") if part)
        shape = tuple("{}" if part.startswith("{") else part for part in segments)
        if "/" + "/".join(segments[:1]) != root and "/".join(segments) != root.strip("/"):
            continue
        routed.add(shape)
        for length in range(1, len(segments) + 1):
            tree.setdefault(shape[:length], segments[:length])
    found: list[str] = []
    for shape, segments in tree.items():
        written = "/" + "/".join(segments)
        if shape not in routed:
            found.append(written)
        has_parameter_child = any(
            len(other) == len(shape) + 1 and other[:-1] == shape and other[-1] == "{}"
            for other in tree
        )
        if not has_parameter_child:
            found.append(written + "/{rest:path}")
    return sorted(found)


def _not_found_handler(pages: Router) -> ControllerRouterHandler:
    paths = [r.path for r in pages.routes if not r.path.startswith(STATIC_PATH)]
    return route(
        dead_ends(paths), http_method=_ANY_METHOD, include_in_schema=False, name="console-404"
    )(page_not_found)
