"""The web console: server-rendered pages over the application's queries and use cases."""

from entrypoints.console.routes import console_handlers, console_template_config

__all__ = ["console_handlers", "console_template_config"]
