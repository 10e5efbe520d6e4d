"""The Platform API (GraphQL, issue 16) from Python against the local platform: both
credential kinds, variables, an `errors` answer and partial data, the pager, a revoked
account, Ctrl-C, and the asyncio twins (cancellation included)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import mondoo
import mondoo.aio
from conftest import REPO, Platform, SilentServer

SPACE = "//captain.api.mondoo.app/spaces/python-graphql"
OTHER_SPACE = "//captain.api.mondoo.app/spaces/not-mine"

ASSETS = """query($space: String!, $first: Int, $after: String) {
  assets(spaceMrn: $space, first: $first, after: $after) {
    totalCount edges { node { name } } pageInfo { endCursor hasNextPage } } }"""

VIEWER_AND_SPACE = "query($s: String!) { viewer { mrn } space(mrn: $s) { mrn name } }"


@pytest.fixture(autouse=True)
def fresh_platform(platform: Platform) -> Iterator[None]:
    platform.reset()
    yield
    platform.reset()


def account_config(platform: Platform, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A new service account of SPACE written as a config file; the file and the account."""
    account = platform.service_account(SPACE)
    path = tmp_path / "mondoo.json"
    path.write_text(json.dumps(account))
    return path, account


def account_client(platform: Platform, tmp_path: Path, **options: Any) -> tuple[mondoo.Client, dict[str, Any]]:
    path, account = account_config(platform, tmp_path)
    return mondoo.Client(path, env={}, **options), account


def names(pages: list[dict[str, Any]]) -> list[str]:
    return [edge["node"]["name"] for page in pages for edge in page["edges"]]


# --- queries ----------------------------------------------------------------------------


def test_a_service_account_query_with_variables(platform: Platform, tmp_path: Path) -> None:
    client, account = account_client(platform, tmp_path)
    for _ in range(3):
        data = client.graphql(VIEWER_AND_SPACE, {"s": SPACE})
        assert data == {"viewer": {"mrn": account["mrn"]}, "space": {"mrn": SPACE, "name": "python-graphql"}}
    recorded = platform.graphql_requests()
    assert [r["path"] for r in recorded] == ["/query"] * 3
    assert {r["credential"]["kind"] for r in recorded} == {"service-account"}
    # the bearer (no chash) is signed once and reused within its window
    assert len({r["credential"]["bearer_sha256"] for r in recorded}) == 1
    # the variables went as JSON beside the query
    body = json.loads(base64.b64decode(recorded[0]["body_base64"]))
    assert body == {"query": VIEWER_AND_SPACE, "variables": {"s": SPACE}}


def test_threads_sharing_a_client_share_one_bearer(platform: Platform, tmp_path: Path) -> None:
    client, account = account_client(platform, tmp_path)
    viewers: list[str] = []

    def work() -> None:
        for _ in range(5):
            viewers.append(client.graphql("{ viewer { mrn } }")["viewer"]["mrn"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert viewers == [account["mrn"]] * 40
    recorded = platform.graphql_requests()
    assert len(recorded) == 40
    assert len({r["credential"]["bearer_sha256"] for r in recorded}) == 1, "one signature for 40 calls"


def test_an_api_token_from_the_environment(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = platform.api_token(SPACE)
    path, _ = account_config(platform, tmp_path)
    # $MONDOO_API_TOKEN of the process, read when the client is made, wins over the config
    monkeypatch.setenv("MONDOO_API_TOKEN", token)
    client = mondoo.Client(path)
    data = client.graphql("{ viewer { mrn } }")
    assert data["viewer"]["mrn"] != json.loads(path.read_text())["mrn"]
    assert platform.graphql_requests()[-1]["credential"]["kind"] == "api-token"
    assert token not in repr(client)


def test_an_api_token_option_without_a_config(platform: Platform, tmp_path: Path) -> None:
    token = platform.api_token(SPACE)
    client = mondoo.Client.for_registration(tmp_path / "none.yml", api_endpoint=platform.url, api_token=token, env={})
    assert client.graphql("query($s: String!) { space(mrn: $s) { mrn } }", {"s": SPACE}) == {"space": {"mrn": SPACE}}
    assert platform.graphql_requests()[-1]["credential"]["kind"] == "api-token"
    assert token not in repr(client)
    # the endpoint from the environment instead of the option (/query appended)
    env_client = mondoo.Client.for_registration(
        tmp_path / "none.yml", api_token=token, env={"MONDOO_API_ENDPOINT": platform.url}
    )
    assert env_client.graphql("{ viewer { mrn } }")["viewer"]["mrn"]


def test_an_errors_answer_raises_graphql_error_with_errors_and_partial_data(platform: Platform, tmp_path: Path) -> None:
    client, account = account_client(platform, tmp_path)
    with pytest.raises(mondoo.GraphQLError) as raised:
        client.graphql(VIEWER_AND_SPACE, {"s": OTHER_SPACE})
    e = raised.value
    assert isinstance(e, mondoo.MondooError)
    assert e.code_name == "MONDOO_RESULT_GRAPHQL_ERRORS"
    assert len(e.errors) == 1
    entry = e.errors[0]
    assert entry["path"] == ["space"]
    assert entry["locations"] and set(entry["locations"][0]) == {"line", "column"}
    assert entry["extensions"] is not None and entry["extensions"]["code"] == "NOT_FOUND"
    assert entry["message"] and entry["message"] in str(e)
    assert e.data == {"viewer": {"mrn": account["mrn"]}, "space": None}

    # a syntax error: errors, no data at all
    with pytest.raises(mondoo.GraphQLError) as syntax:
        client.graphql("{ viewer { ")
    assert syntax.value.errors and syntax.value.data is None


def test_allow_partial_returns_the_data_beside_the_errors(platform: Platform, tmp_path: Path) -> None:
    client, account = account_client(platform, tmp_path)
    data = client.graphql(VIEWER_AND_SPACE, {"s": OTHER_SPACE}, allow_partial=True)
    assert data == {"viewer": {"mrn": account["mrn"]}, "space": None}
    # no data at all is still an error
    with pytest.raises(mondoo.GraphQLError) as raised:
        client.graphql("{ viewer { ", allow_partial=True)
    assert raised.value.errors


def test_variables_must_be_a_mapping_of_json_values(platform: Platform, tmp_path: Path) -> None:
    client, _ = account_client(platform, tmp_path)
    with pytest.raises(mondoo.InternalError) as not_an_object:
        client.graphql("{ viewer { mrn } }", [1, 2])  # type: ignore[arg-type]
    assert not_an_object.value.code_name == "MONDOO_RESULT_INVALID_ARGUMENT"
    with pytest.raises(TypeError):
        client.graphql("{ viewer { mrn } }", {"x": object()})
    assert platform.graphql_requests() == []


def test_a_revoked_service_account_gets_unauthenticated(platform: Platform, tmp_path: Path) -> None:
    client, account = account_client(platform, tmp_path)
    client.graphql("{ viewer { mrn } }")
    platform.revoke(account["mrn"])
    with pytest.raises(mondoo.RpcError) as raised:
        client.graphql("{ viewer { mrn } }")
    e = raised.value
    assert not isinstance(e, mondoo.GraphQLError)
    assert (e.rpc_status, e.http_status, e.code_name) == ("Unauthenticated", 401, "MONDOO_RESULT_RPC_UNAUTHENTICATED")
    assert account["private_key"] not in str(e) and account["private_key"] not in repr(e)


def test_the_key_and_token_never_show_in_errors(platform: Platform, tmp_path: Path) -> None:
    token = platform.api_token(SPACE)
    client = mondoo.Client.for_registration(tmp_path / "x.yml", api_endpoint=platform.url, api_token=token, env={})
    with pytest.raises(mondoo.GraphQLError) as raised:
        client.graphql(VIEWER_AND_SPACE, {"s": OTHER_SPACE})
    shown = " ".join([str(raised.value), repr(raised.value), repr(raised.value.errors), repr(client)])
    assert token not in shown


# --- the pager --------------------------------------------------------------------------


def test_paginate_walks_every_page_and_stops_after_the_last(platform: Platform, tmp_path: Path) -> None:
    platform.add_assets(SPACE, 9)
    client, _ = account_client(platform, tmp_path)
    pages = list(client.paginate(ASSETS, {"space": SPACE, "first": 2}, path="assets"))
    assert len(pages) == 5
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True] * 4 + [False]
    assert all(p["totalCount"] == 9 for p in pages)
    assert len(names(pages)) == 9 and len(set(names(pages))) == 9, "no page repeated"
    assert len(platform.graphql_requests()) == 5, "the last page stops the pager"
    # the pager passes the cursor of the page before as $after
    sent = [json.loads(base64.b64decode(r["body_base64"])) for r in platform.graphql_requests()]
    afters = [body["variables"].get("after") for body in sent]
    assert afters[0] is None and afters[1:] == [p["pageInfo"]["endCursor"] for p in pages[:-1]]


def test_paginate_past_the_page_limit_raises_after_the_limit(platform: Platform, tmp_path: Path) -> None:
    platform.add_assets(SPACE, 9)
    client, _ = account_client(platform, tmp_path)
    pages = client.paginate(ASSETS, {"space": SPACE, "first": 2}, path="assets", page_limit=3)
    got = [next(pages) for _ in range(3)]
    assert len(names(got)) == 6
    with pytest.raises(mondoo.InternalError) as raised:
        next(pages)
    assert raised.value.code_name == "MONDOO_RESULT_INVALID_ARGUMENT"
    assert "page limit" in str(raised.value)
    # an error ends the iteration
    assert list(pages) == []
    assert len(platform.graphql_requests()) == 3


def test_paginate_checks_its_arguments_before_any_request(platform: Platform, tmp_path: Path) -> None:
    client, _ = account_client(platform, tmp_path)
    for bad in ({"path": "space..assets"}, {"path": "assets", "page_limit": 0}):
        with pytest.raises(mondoo.InternalError):
            client.paginate(ASSETS, {"space": SPACE}, **bad)
    with pytest.raises(OverflowError):
        client.paginate(ASSETS, {"space": SPACE}, path="assets", page_limit=-1)
    assert platform.graphql_requests() == []


def test_a_page_with_errors_raises_graphql_error(platform: Platform, tmp_path: Path) -> None:
    client, _ = account_client(platform, tmp_path)
    with pytest.raises(mondoo.GraphQLError) as raised:
        list(client.paginate(ASSETS, {"space": OTHER_SPACE}, path="assets"))
    assert raised.value.code_name == "MONDOO_RESULT_GRAPHQL_ERRORS"
    assert raised.value.errors[0]["path"] == ["assets"], "the page's errors are carried"
    assert raised.value.errors[0]["message"] in str(raised.value)


@pytest.fixture
def default_sigint_handler() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_in(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.usefixtures("default_sigint_handler")
def test_ctrl_c_cancels_a_graphql_call(silent_server: SilentServer, tmp_path: Path, platform: Platform) -> None:
    token = platform.api_token(SPACE)
    client = mondoo.Client.for_registration(
        tmp_path / "x.yml", api_endpoint=silent_server.url, api_token=token, timeout=60, env={}
    )
    timer = interrupt_in(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            client.graphql("{ viewer { mrn } }")
    finally:
        timer.cancel()
    # not cancelled, the request would hold its connection for the client's 60 s timeout
    assert silent_server.wait_all_closed(5.0), "the interrupted request kept its connection open"


@pytest.mark.usefixtures("default_sigint_handler")
def test_ctrl_c_cancels_a_page_and_ends_the_pager(silent_server: SilentServer, tmp_path: Path, platform: Platform) -> None:
    token = platform.api_token(SPACE)
    client = mondoo.Client.for_registration(
        tmp_path / "x.yml", api_endpoint=silent_server.url, api_token=token, timeout=60, env={}
    )
    pages = client.paginate(ASSETS, {"space": SPACE}, path="assets")
    timer = interrupt_in(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            next(pages)
    finally:
        timer.cancel()
    assert silent_server.wait_all_closed(5.0), "the interrupted page kept its connection open"
    assert list(pages) == []


def test_the_assets_example_lists_every_asset(platform: Platform, tmp_path: Path) -> None:
    platform.add_assets(SPACE, 5)
    path, _ = account_config(platform, tmp_path)
    example = REPO / "examples" / "python" / "assets.py"
    env = {**os.environ, "MONDOO_CONFIG_PATH": str(path)}
    ran = subprocess.run(
        [sys.executable, str(example), "--page-size", "2"], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert len(lines) == 6 and len(set(lines[:5])) == 5, ran.stdout
    assert lines[-1] == f"5 assets in {SPACE}"
    assert len(platform.graphql_requests()) == 3

    # an answer with errors: the example says so and exits 2
    ran = subprocess.run(
        [sys.executable, str(example), "--space", OTHER_SPACE], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 2 and "MONDOO_RESULT_GRAPHQL_ERRORS" in ran.stderr, ran.stderr


def test_one_page_at_a_time_per_pager(silent_server: SilentServer, tmp_path: Path, platform: Platform) -> None:
    token = platform.api_token(SPACE)
    client = mondoo.Client.for_registration(
        tmp_path / "x.yml", api_endpoint=silent_server.url, api_token=token, timeout=2, env={}
    )
    pages = client.paginate(ASSETS, {"space": SPACE}, path="assets")
    outcome: list[BaseException] = []

    def first_page() -> None:
        try:
            next(pages)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            outcome.append(e)

    fetching = threading.Thread(target=first_page)
    fetching.start()
    assert silent_server.wait_connected(10.0)
    with pytest.raises(RuntimeError, match="another thread"):
        next(pages)
    fetching.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], mondoo.NetworkTimeoutError), outcome
    assert list(pages) == []


# --- asyncio ----------------------------------------------------------------------------


def test_aio_graphql_and_errors(platform: Platform, tmp_path: Path) -> None:
    path, account = account_config(platform, tmp_path)

    async def main() -> None:
        async with mondoo.aio.Client(path, env={}) as client:
            first, second = await asyncio.gather(
                client.graphql(VIEWER_AND_SPACE, {"s": SPACE}),
                client.graphql("{ viewer { name } }"),
            )
            assert first["space"]["mrn"] == SPACE and first["viewer"]["mrn"] == account["mrn"]
            assert second["viewer"]["name"]
            with pytest.raises(mondoo.GraphQLError) as raised:
                await client.graphql(VIEWER_AND_SPACE, {"s": OTHER_SPACE})
            assert raised.value.errors[0]["path"] == ["space"]
            assert raised.value.data == {"viewer": {"mrn": account["mrn"]}, "space": None}
            partial = await client.graphql(VIEWER_AND_SPACE, {"s": OTHER_SPACE}, allow_partial=True)
            assert partial["space"] is None

    asyncio.run(main())


def test_aio_paginate_is_an_async_iterator(platform: Platform, tmp_path: Path) -> None:
    platform.add_assets(SPACE, 7)
    path, _ = account_config(platform, tmp_path)

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with mondoo.aio.Client(path, env={}) as client:
            pages = [page async for page in client.paginate(ASSETS, {"space": SPACE, "first": 2}, path="assets")]
            limited: list[dict[str, Any]] = []
            with pytest.raises(mondoo.InternalError):
                async for page in client.paginate(ASSETS, {"space": SPACE, "first": 2}, path="assets", page_limit=2):
                    limited.append(page)
            return pages, limited

    pages, limited = asyncio.run(main())
    assert len(pages) == 4 and pages[-1]["pageInfo"]["hasNextPage"] is False
    assert len(set(names(pages))) == 7
    assert len(limited) == 2


def test_aio_paginate_checks_its_arguments_at_once(platform: Platform, tmp_path: Path) -> None:
    path, _ = account_config(platform, tmp_path)
    client = mondoo.aio.Client(path, env={})
    with pytest.raises(mondoo.InternalError):
        client.paginate(ASSETS, None, path="a..b")
    client.close()


def test_aio_a_revoked_account_gets_unauthenticated(platform: Platform, tmp_path: Path) -> None:
    path, account = account_config(platform, tmp_path)

    async def main() -> mondoo.RpcError:
        async with mondoo.aio.Client(path, env={}) as client:
            await client.graphql("{ viewer { mrn } }")
            platform.revoke(account["mrn"])
            with pytest.raises(mondoo.RpcError) as raised:
                await client.graphql("{ viewer { mrn } }")
            return raised.value

    assert asyncio.run(main()).rpc_status == "Unauthenticated"


def test_aio_cancelling_a_graphql_call_closes_its_connection(silent_server: SilentServer, tmp_path: Path, platform: Platform) -> None:
    token = platform.api_token(SPACE)

    async def main() -> None:
        client = mondoo.aio.Client.for_registration(
            tmp_path / "x.yml", api_endpoint=silent_server.url, api_token=token, timeout=60, env={}
        )
        task = asyncio.ensure_future(client.graphql("{ viewer { mrn } }"))
        assert await asyncio.get_running_loop().run_in_executor(None, silent_server.wait_connected, 10.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # a timeout cancels the same way
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.graphql("{ viewer { mrn } }"), 0.2)

    asyncio.run(main())
    # not cancelled, the requests would hold their connections for the client's 60 s timeout
    assert silent_server.wait_all_closed(5.0), "the cancelled request kept its connection open"


def test_aio_cancelling_a_page_closes_its_connection(silent_server: SilentServer, tmp_path: Path, platform: Platform) -> None:
    token = platform.api_token(SPACE)

    async def first_page() -> None:
        client = mondoo.aio.Client.for_registration(
            tmp_path / "x.yml", api_endpoint=silent_server.url, api_token=token, timeout=60, env={}
        )
        async for _ in client.paginate(ASSETS, {"space": SPACE}, path="assets"):
            pytest.fail("the silent server answered")

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(first_page(), 0.5)

    asyncio.run(main())
    assert silent_server.wait_all_closed(5.0), "the cancelled page kept its connection open"
