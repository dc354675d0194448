"""Emulated AWS: moto in server mode on a free loopback port, reached through AWS_ENDPOINT_URL.

The server runs in a thread of this process. boto3 in the handlers, the job and the adapters finds it
through the standard `AWS_ENDPOINT_URL` variable, so no code path knows it is local.
"""

from __future__ import annotations

import contextlib
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# Dummy credentials: moto accepts anything; real ones must never reach a local run.
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
_UNSET = ("AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


@contextlib.contextmanager
def environ_overlay(values: dict[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    """Set `values` (and drop `remove`) in os.environ; everything is put back as it was afterwards."""
    saved = {k: os.environ.get(k) for k in (*values, *remove)}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class LocalAws:
    """A moto server bound to 127.0.0.1 on a free port; `environment()` points boto3 at it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}

    def start(self) -> LocalAws:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # moto's backends live in this process; start from an empty account, whatever ran before.
        self.reset()
        return self

    def stop(self) -> None:
        self.reset()
        self._server.stop()

    def reset(self) -> None:
        """Empty every emulated service (moto's own reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        with direct.open(request, timeout=30) as response:
            response.read()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        # The server is on the loopback: a proxy set for the way out (HTTP_PROXY) must not carry it.
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY") or os.environ.get("no_proxy"),
                                          "127.0.0.1,localhost"]))
        return {**_ENV, "AWS_ENDPOINT_URL": self.endpoint_url, "NO_PROXY": no_proxy, "no_proxy": no_proxy}

    def environment(self) -> contextlib.AbstractContextManager[None]:
        """Set the endpoint and dummy credentials in os.environ for the duration (restored after)."""
        return environ_overlay(self.env(), remove=_UNSET)

    def client(self, service: str) -> Any:
        """A boto3 client for the emulated AWS, independent of os.environ; one per service (building a
        client loads its service model, which takes a noticeable fraction of a second)."""
        if service not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session(
                    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
            self._clients[service] = self._session.client(  # type: ignore[call-overload]
                service, endpoint_url=self.endpoint_url)
        return self._clients[service]
