"""Entry point for ASGI servers: ``uvicorn --factory scheduler.asgi:app_from_environment``."""

from __future__ import annotations

from litestar import Litestar

from scheduler.app import create_app
from scheduler.settings import load_settings


def app_from_environment() -> Litestar:
    return create_app(load_settings())
