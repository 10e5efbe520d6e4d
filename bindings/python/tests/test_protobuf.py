"""The local platform's protobuf side, checked by Python's `protobuf` package: the
messages of protocol section 3.1 are built here from descriptors (no protoc, nothing of
the platform's own code), sent as the Go client sends them (protobuf in, protobuf
accepted) and the answers, errors included, parsed as a protobuf client parses them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

import mondoo
from conftest import Platform

FieldProto = descriptor_pb2.FieldDescriptorProto
STRING = FieldProto.TYPE_STRING
INT32 = FieldProto.TYPE_INT32
ENUM = FieldProto.TYPE_ENUM
MESSAGE = FieldProto.TYPE_MESSAGE
PROTOBUF = "application/protobuf"
UNAUTHENTICATED = "request permission unauthenticated"


def add_message(
    container: Any, name: str, fields: list[tuple[str, int, int, str]], repeated: tuple[str, ...] = ()
) -> descriptor_pb2.DescriptorProto:
    """A message type in `container` (a file or a message): fields as (name, number,
    type, type name for messages and enums), those named in `repeated` repeated."""
    if isinstance(container, descriptor_pb2.FileDescriptorProto):
        message: descriptor_pb2.DescriptorProto = container.message_type.add(name=name)
    else:
        message = container.nested_type.add(name=name)
    for field_name, number, kind, type_name in fields:
        field = message.field.add(name=field_name, number=number, type=kind)
        field.label = FieldProto.LABEL_REPEATED if field_name in repeated else FieldProto.LABEL_OPTIONAL
        if type_name:
            field.type_name = type_name
    return message


def build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(any_pb2.DESCRIPTOR.serialized_pb))

    health = descriptor_pb2.FileDescriptorProto(name="health.proto", package="mondoo.cnquery.health.v1", syntax="proto3")
    add_message(health, "HealthCheckRequest", [("service", 1, STRING, "")])
    response = add_message(
        health,
        "HealthCheckResponse",
        [
            ("status", 1, ENUM, ".mondoo.cnquery.health.v1.HealthCheckResponse.ServingStatus"),
            ("time", 2, STRING, ""),
            ("apiVersion", 3, STRING, ""),
            ("build", 4, STRING, ""),
        ],
    )
    status_enum = response.enum_type.add(name="ServingStatus")
    for number, value in enumerate(["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]):
        status_enum.value.add(name=value, number=number)
    pool.Add(health)

    up = ".mondoo.mql.upstream.v1."
    upstream = descriptor_pb2.FileDescriptorProto(name="upstream.proto", package="mondoo.mql.upstream.v1", syntax="proto3")
    agent_info = add_message(
        upstream,
        "AgentInfo",
        [
            ("mrn", 1, STRING, ""),
            ("version", 2, STRING, ""),
            ("build", 3, STRING, ""),
            ("platform_name", 4, STRING, ""),
            ("platform_release", 5, STRING, ""),
            ("platform_arch", 6, STRING, ""),
            ("platform_ip", 7, STRING, ""),
            ("platform_hostname", 8, STRING, ""),
            ("labels", 18, MESSAGE, up + "AgentInfo.LabelsEntry"),
            ("platform_id", 20, STRING, ""),
        ],
        repeated=("labels",),
    )
    # map<string, string> is a repeated entry message with map_entry set
    entry = add_message(agent_info, "LabelsEntry", [("key", 1, STRING, ""), ("value", 2, STRING, "")])
    entry.options.map_entry = True
    add_message(
        upstream,
        "AgentRegistrationRequest",
        [("token", 1, STRING, ""), ("name", 2, STRING, ""), ("agent_info", 3, MESSAGE, up + "AgentInfo")],
    )
    add_message(
        upstream,
        "ServiceAccountCredentials",
        [
            ("mrn", 1, STRING, ""),
            ("parent_mrn", 2, STRING, ""),
            ("private_key", 3, STRING, ""),
            ("certificate", 4, STRING, ""),
            ("api_endpoint", 5, STRING, ""),
            ("scope_mrn", 6, STRING, ""),
        ],
    )
    add_message(
        upstream,
        "AgentRegistrationConfirmation",
        [("agent_mrn", 1, STRING, ""), ("credential", 2, MESSAGE, up + "ServiceAccountCredentials")],
    )
    for name in ["Mrn", "Confirmation"]:
        add_message(upstream, name, [("mrn", 1, STRING, "")])
    for name in ["Ping", "Pong", "AgentCheckinResponse"]:
        add_message(upstream, name, [])
    pool.Add(upstream)

    rpc = descriptor_pb2.FileDescriptorProto(
        name="status.proto", package="google.rpc", syntax="proto3", dependency=["google/protobuf/any.proto"]
    )
    add_message(
        rpc,
        "Status",
        [("code", 1, INT32, ""), ("message", 2, STRING, ""), ("details", 3, MESSAGE, ".google.protobuf.Any")],
        repeated=("details",),
    )
    pool.Add(rpc)
    return pool


POOL = build_pool()


def new(message_type: str, /, **fields: Any) -> Message:
    cls = message_factory.GetMessageClass(POOL.FindMessageTypeByName(message_type))
    message: Message = cls(**fields)
    return message


def upstream(message_type: str, /, **fields: Any) -> Message:
    """A message of `mondoo.mql.upstream.v1` (fields may be called `name`, hence `/`)."""
    return new("mondoo.mql.upstream.v1." + message_type, **fields)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def parse(self, full_name: str) -> Any:
        """The body as that message; `Any` because the classes are made at run time."""
        message: Any = new(full_name)
        message.ParseFromString(self.body)
        return message

    def rpc_status(self) -> Any:
        assert self.content_type == PROTOBUF, self.content_type
        return self.parse("google.rpc.Status")


def post(
    platform: Platform,
    service_method: str,
    body: bytes,
    bearer: Optional[str] = None,
    content_type: str = PROTOBUF,
    accept: Optional[str] = PROTOBUF,
) -> Answer:
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    request = urllib.request.Request(f"{platform.url}/{service_method}", data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return Answer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("Content-Type", ""), error.read())


@pytest.fixture(autouse=True)
def fresh_platform(platform: Platform) -> None:
    platform.reset()


def signer_for(credentials: dict[str, str], tmp_path: Path) -> mondoo.Signer:
    path = tmp_path / f"credentials-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(credentials))
    return mondoo.Signer.from_config(mondoo.Config.load(path))


def test_health_check_answers_in_protobuf(platform: Platform) -> None:
    request = new("mondoo.cnquery.health.v1.HealthCheckRequest", service="")
    answer = post(platform, "Health/Check", request.SerializeToString())
    assert (answer.status, answer.content_type) == (200, PROTOBUF)
    health = answer.parse("mondoo.cnquery.health.v1.HealthCheckResponse")
    serving = POOL.FindEnumTypeByName("mondoo.cnquery.health.v1.HealthCheckResponse.ServingStatus")
    assert health.status == serving.values_by_name["SERVING"].number
    assert health.apiVersion == "local-test-platform"
    assert health.time.endswith("Z")

    # Accept picks JSON for a protobuf request; without Accept the request's encoding wins.
    json_answer = post(platform, "Health/Check", b"", accept="application/json")
    assert json_answer.content_type == "application/json"
    assert json.loads(json_answer.body)["status"] == "SERVING"
    assert post(platform, "Health/Check", b"", accept=None).content_type == PROTOBUF
    octet = post(platform, "Health/Check", b"", content_type="application/octet-stream", accept=None)
    assert octet.parse("mondoo.cnquery.health.v1.HealthCheckResponse").status == 1


def test_errors_are_google_rpc_status(platform: Platform, fixture_config: Path) -> None:
    status = post(platform, "AgentManager/PingPong", b"").rpc_status()
    assert (status.code, status.message, len(status.details)) == (16, UNAUTHENTICATED, 0)
    answer = post(platform, "AgentManager/Nope", b"")
    assert answer.status == 404
    assert (answer.rpc_status().code, answer.rpc_status().message) == (5, "method not defined")
    # a length-delimited field that claims more bytes than there are
    malformed = post(platform, "Health/Check", b"\x0a\x64x")
    assert (malformed.status, malformed.rpc_status().code) == (500, 2)
    platform.fault(kind="aborted")
    aborted = post(platform, "Health/Check", b"")
    assert (aborted.status, aborted.rpc_status().code) == (409, 10)
    # Signed over other bytes than those sent: 401, whatever the encoding.
    signer = mondoo.Signer.from_config(mondoo.Config.load(fixture_config))
    ping = upstream("Ping").SerializeToString()
    assert post(platform, "AgentManager/PingPong", ping, bearer=signer.sign(b"{}")).rpc_status().code == 16
    pong = post(platform, "AgentManager/PingPong", ping, bearer=signer.sign(ping))
    assert (pong.status, pong.body) == (200, b"")
    pong.parse("mondoo.mql.upstream.v1.Pong")


def test_register_check_in_and_unregister_in_protobuf(platform: Platform, tmp_path: Path) -> None:
    token = platform.mint_token(labels={"env": "prod"})
    info = upstream(
        "AgentInfo",
        version="1.2.3",
        platform_name="debian",
        platform_release="12",
        platform_arch="x86_64",
        platform_ip="192.0.2.1",
        platform_hostname="py.example",
        labels={"team": "green"},
        platform_id="//platformid.api.mondoo.app/hostname/py.example",
    )
    request = upstream("AgentRegistrationRequest", token=token, name="py-agent", agent_info=info)
    answer = post(platform, "AgentManager/RegisterAgent", request.SerializeToString(), bearer=token)
    assert (answer.status, answer.content_type) == (200, PROTOBUF), answer.body
    confirmation = answer.parse("mondoo.mql.upstream.v1.AgentRegistrationConfirmation")
    assert confirmation.agent_mrn.startswith("//agents.api.mondoo.app/spaces/")
    credential = confirmation.credential
    assert credential.parent_mrn == platform.info()["fixture_space"]
    assert credential.api_endpoint == platform.url
    assert "BEGIN" in credential.private_key and "BEGIN CERTIFICATE" in credential.certificate

    agent = next(a for a in platform.agents() if a["mrn"] == confirmation.agent_mrn)
    assert agent["name"] == "py-agent"
    assert agent["labels"] == {"env": "prod", "team": "green"}
    assert agent["info"]["platform_id"] == "//platformid.api.mondoo.app/hostname/py.example"
    assert agent["info"]["labels"] == {"team": "green"}

    signer = signer_for(
        {"mrn": credential.mrn, "private_key": credential.private_key, "certificate": credential.certificate},
        tmp_path,
    )
    check_in = upstream("AgentInfo", mrn=confirmation.agent_mrn, platform_hostname="py.example").SerializeToString()
    answer = post(platform, "AgentManager/HealthCheck", check_in, bearer=signer.sign(check_in))
    assert answer.status == 200, answer.body
    answer.parse("mondoo.mql.upstream.v1.AgentCheckinResponse")
    assert next(a for a in platform.agents() if a["mrn"] == confirmation.agent_mrn)["check_ins"] == 1

    mrn = upstream("Mrn", mrn=confirmation.agent_mrn).SerializeToString()
    answer = post(platform, "AgentManager/UnRegisterAgent", mrn, bearer=signer.sign(mrn))
    assert answer.parse("mondoo.mql.upstream.v1.Confirmation").mrn == confirmation.agent_mrn
    gone = post(platform, "AgentManager/UnRegisterAgent", mrn, bearer=signer.sign(mrn))
    assert gone.status == 401 and gone.rpc_status().code == 16  # its credential was revoked with it
    registered = [r for r in platform.requests() if r["method"] == "RegisterAgent"][-1]
    assert {name.lower(): value for name, value in registered["headers"]}["content-type"] == PROTOBUF
    assert registered["auth"] == "accepted"
