"""The Celery app for the acceptance run (tests/acceptance/test_celery.py).

One module serves both sides: the worker subprocess loads it with
`celery -A celery_app worker`, taking the server's URL from
OMAKASE_CELERY_URL, and the test process builds its own app with
`make_app(url)` for each server it checks.  The same URL is the broker
(kombu's Redis transport: lists, BRPOP, pub/sub fanout, its Lua binding
scripts) and the result backend (SETEX/GET, pub/sub result delivery, the
chord Lua scripts).
"""
from __future__ import annotations

import os

from celery import Celery


def make_app(url: str) -> Celery:
    app = Celery("omakase_acceptance", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=1,
        task_default_queue="omakase-acceptance",
    )

    @app.task(name="acc.add", shared=False)
    def add(x, y):
        return x + y

    @app.task(name="acc.xsum", shared=False)
    def xsum(numbers):
        return sum(numbers)

    @app.task(name="acc.boom", shared=False)
    def boom(message):
        raise ValueError(message)

    @app.task(name="acc.flaky", bind=True, max_retries=3, shared=False)
    def flaky(self, value):
        # Fails its first run and asks to be retried; succeeds on the retry.
        if self.request.retries == 0:
            raise self.retry(countdown=0.2)
        return {"value": value, "retries": self.request.retries}

    return app


app = make_app(os.environ.get("OMAKASE_CELERY_URL", "redis://127.0.0.1:6379/0"))
