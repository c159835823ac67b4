"""WSGI entry point: `gunicorn 'simulators.wsgi:create_app(site="shop")'`."""

from simulators.app import create_app

__all__ = ["create_app"]
