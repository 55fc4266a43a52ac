"""Fixtures for the invoker's tests; the fakes themselves live in invoke_fakes.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from helpers.invoke_fakes import FakeRuntime, Handle, LocalRuntimeServer


@pytest.fixture
def fake_runtime() -> type[FakeRuntime]:
    return FakeRuntime


@pytest.fixture
def local_server(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Handle], LocalRuntimeServer]]:
    """Start servers on 127.0.0.1 only; proxies and profiles from the environment are ignored."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    started: list[LocalRuntimeServer] = []

    def start(handle: Handle) -> LocalRuntimeServer:
        server = LocalRuntimeServer(handle)
        server.thread.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.httpd.shutdown()
        server.httpd.server_close()
