"""The web console's routes and templates, mounted on the API app by `create_app`.

Pages live under /console (and / sends you there); they call the same queries and use
cases as the API, as the principal of the token in the console's cookie.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Router, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from entrypoints.console.auth_pages import SignInPages
from entrypoints.console.editor_pages import EditorPages
from entrypoints.console.errors import CONSOLE_EXCEPTION_HANDLERS
from entrypoints.console.execution_actions import ExecutionActions
from entrypoints.console.execution_pages import ExecutionPages
from entrypoints.console.live import LiveStreams
from entrypoints.console.presentation import TEMPLATE_FILTERS, TEMPLATE_GLOBALS
from entrypoints.console.session import CONSOLE_PRINCIPAL, same_origin_guard
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
            EditorPages,
            WorkflowPages,
            ExecutionPages,
            ExecutionActions,
            LiveStreams,
            console_home,
        ],
        dependencies={"principal": CONSOLE_PRINCIPAL},
        guards=[same_origin_guard],
        exception_handlers=CONSOLE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH, directories=[HERE / "static"], include_in_schema=False
    )
    return [home, pages, static]
