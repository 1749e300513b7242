"""The WSGI entry point for production servers: `gunicorn storyhub.wsgi:app`."""

from storyhub import create_app

app = create_app()
