"""A one-file Django project: `django_app.py runserver [--noreload] 127.0.0.1:PORT`."""

import gc
import os
import sys

from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="test-only-not-secret",
    INSTALLED_APPS=[],
    DATABASES={},
)


def index(request):
    gc.collect()
    return HttpResponse(f"pid {os.getpid()}\n", content_type="text/plain")


urlpatterns = [path("", index)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    print("django", os.getpid(), file=sys.stderr, flush=True)
    execute_from_command_line(sys.argv)
