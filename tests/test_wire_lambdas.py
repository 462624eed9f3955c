"""Lambda Invoke over the wire (`sandbox.lambdas.wire`): boto3's lambda client calling the app's functions."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from tests import wire_app
from tests.wire_app import call, client_factory, seen

clock, sandbox = wire_app.clock, wire_app.sandbox  # the wire app's fixtures


@pytest.fixture
def lam(sandbox: Sandbox) -> Any:
    return client_factory("lambda", sandbox.ports["events"])()


def function_name(sandbox: Sandbox, inventory_name: str) -> str:
    return next(r.function.function_name for r in sandbox.manifest.http if r.function.name == inventory_name)


async def test_lambda_invoke_request_response(sandbox: Sandbox, lam: Any) -> None:
    name = function_name(sandbox, "get /ok")
    answer = await call(lam.invoke, FunctionName=name, Payload=json.dumps({"hello": "world"}))
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    assert json.loads(answer["Payload"].read()) == {"event": {"hello": "world"}, "name": name}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("get /ok", id="inventory-name"),
        pytest.param("arn:aws:lambda:us-west-2:123456789012:function:get /ok", id="arn"),
        pytest.param("arn:aws:lambda:us-west-2:123456789012:function:get /ok:$LATEST", id="qualified-arn"),
    ],
)
async def test_lambda_invoke_finds_functions_by_other_names(lam: Any, name: str) -> None:
    answer = await call(lam.invoke, FunctionName=name)
    assert json.loads(answer["Payload"].read())["event"] == {}


async def test_lambda_invoke_handler_error_as_lambda_returns_it(sandbox: Sandbox, lam: Any) -> None:
    answer = await call(lam.invoke, FunctionName="get /boom")
    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    error = json.loads(answer["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "boom")
    assert isinstance(error["requestId"], str)
    assert [frame.splitlines()[-1].strip() for frame in error["stackTrace"][-2:]] == [
        "inner()",
        "raise ValueError('boom')",
    ]


async def test_lambda_invoke_event_and_dry_run(sandbox: Sandbox, lam: Any) -> None:
    answer = await call(lam.invoke, FunctionName="ping", InvocationType="Event", Payload=b'{"Records": []}')
    assert answer["StatusCode"] == 202
    dry = await call(lam.invoke, FunctionName="ping", InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    await sandbox.settle()
    assert seen(sandbox.manifest.root, "events/ping") == [{"Records": []}]


async def test_lambda_invoke_writes_one_console_line_per_call(
    sandbox: Sandbox, lam: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "arc_sandbox")
    await call(lam.invoke, FunctionName="get /ok")
    await call(lam.invoke, FunctionName="get /boom")
    await call(lam.invoke, FunctionName="get /boom", InvocationType="Event")
    await sandbox.bus.drain()  # the Event call's first attempt: the bus writes its line, as for an @events delivery
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Invoke ")]
    assert [line.split(" ms")[0].split(" ")[:4] for line in lines] == [
        ["Invoke", "get", "/ok", "(RequestResponse)"],
        ["Invoke", "get", "/boom", "(RequestResponse)"],
        ["Invoke", "get", "/boom", "(Event)"],
    ]
    assert " ok " in lines[0] and " failed " in lines[1] and '"errorType": "ValueError"' in lines[1]
    assert "attempt 1 failed, next attempt in 1s" in lines[2] and "ValueError: boom" in lines[2]


async def test_lambda_invoke_unknown_function_and_bad_payload(sandbox: Sandbox, lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as err:
        await call(lam.invoke, FunctionName="nope")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "function:nope" in err.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        await call(lam.invoke, FunctionName="ping", Payload=b"{not json")
    await sandbox.settle()
    assert seen(sandbox.manifest.root, "events/ping") == []


async def test_plain_boto3_in_a_handler_reaches_ssm_sns_sqs_and_lambda(sandbox: Sandbox) -> None:
    """AWS_ENDPOINT_URL_SSM/_SNS/_SQS/_LAMBDA, as every function is given them: no endpoint arguments."""
    async with aiohttp.ClientSession() as session, session.get(f"{sandbox.url}/plain") as response:
        assert response.status == 200, await response.text()
        assert await response.json() == {"invoked": {"from": "plain"}}
    await sandbox.settle()
    assert [e["Records"][0]["Sns"]["Message"] for e in seen(sandbox.manifest.root, "events/ping")] == [
        "from plain boto3"
    ]
    sqs = client_factory("sqs", sandbox.ports["events"])()
    inbox = (await call(sqs.get_queue_url, QueueName="inbox"))["QueueUrl"]
    assert [m["Body"] for m in (await call(sqs.receive_message, QueueUrl=inbox))["Messages"]] == ["from plain boto3"]


async def test_lambda_invoke_of_a_function_that_times_out(tmp_path: Path) -> None:
    """As Lambda answers an Invoke whose function ran out of time: 200, FunctionError, Sandbox.Timedout."""
    app = tmp_path / "slow-app"
    (app / "src" / "http" / "get-slow").mkdir(parents=True)
    (app / "app.arc").write_text("@app\nslow-app\n@http\nget /slow\n")
    (app / "src" / "http" / "get-slow" / "config.arc").write_text("@aws\ntimeout 1\n")
    (app / "src" / "http" / "get-slow" / "lambda.py").write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(60)\n"
    )
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox:
        lam = client_factory("lambda", sandbox.ports["events"])()
        answer = await call(lam.invoke, FunctionName="get /slow")
        assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
        error = json.loads(answer["Payload"].read())
        assert error["errorType"] == "Sandbox.Timedout"
        assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
        tailed = await call(lam.invoke, FunctionName="get /slow", LogType="Tail")
        lines = base64.b64decode(tailed["LogResult"]).decode().splitlines()
        request_id = tailed["ResponseMetadata"]["RequestId"]
        assert lines[-3].endswith(f"Z {request_id} Task timed out after 1.00 seconds")


async def test_lambda_invoke_with_log_type_tail_returns_the_calls_log(tmp_path: Path) -> None:
    """LogType=Tail: the last 4 KB of the call's log (START, what the handler printed or logged, the
    runtime's error line, END, REPORT), base64-encoded, as Lambda returns it for a synchronous call."""
    app = tmp_path / "log-app"
    handlers = {
        "get-chatty": "import logging\n\ndef handler(event, context):\n    print('hello', event['who'])\n"
        "    logging.getLogger().warning('careful')\n    return 1\n",
        "get-boom": "def handler(event, context):\n    raise ValueError('told to fail')\n",
        "get-loud": "def handler(event, context):\n    for n in range(1000):\n        print(f'line {n:04}')\n",
        "get-exit": "import os\n\ndef handler(event, context):\n    os._exit(3)\n",
    }
    (app / "app.arc").parent.mkdir(parents=True)
    (app / "app.arc").write_text("@app\nlog-app\n@http\n" + "".join(f"get /{n[4:]}\n" for n in handlers))
    for folder, code in handlers.items():
        (app / "src" / "http" / folder).mkdir(parents=True)
        (app / "src" / "http" / folder / "lambda.py").write_text(code)
    async with Sandbox(SandboxConfig.ephemeral(app)) as sandbox:
        lam = client_factory("lambda", sandbox.ports["events"])()

        async def tail(name: str, **kwargs: Any) -> tuple[str, list[str]]:
            answer = await call(lam.invoke, FunctionName=name, LogType="Tail", **kwargs)
            return answer["ResponseMetadata"]["RequestId"], base64.b64decode(answer["LogResult"]).decode().splitlines()

        request_id, lines = await tail("get /chatty", Payload=b'{"who": "ann"}')
        assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
        assert "hello ann" in lines and any("careful" in line for line in lines)
        assert lines[-2] == f"END RequestId: {request_id}"
        assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
        assert "\tMemory Size: 1152 MB\tMax Memory Used: " in lines[-1]  # Architect's default

        request_id, lines = await tail("get /boom")
        assert lines.count("    raise ValueError('told to fail')") == 1 and "ValueError: told to fail" in lines
        assert lines[-2] == f"END RequestId: {request_id}"

        exited = await call(lam.invoke, FunctionName="get /exit")
        assert json.loads(exited["Payload"].read()) == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {exited['ResponseMetadata']['RequestId']} Error: Runtime exited with error: "
            "exit status 3",
        }
        request_id, lines = await tail("get /exit")
        assert lines[-4:-2] == [
            f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
            "Runtime.ExitError",
        ]

        answer = await call(lam.invoke, FunctionName="get /loud", LogType="Tail")
        log = base64.b64decode(answer["LogResult"])
        assert len(log) == 4096 and b"line 0999\nEND RequestId: " in log and b"line 0000" not in log

        plain = await call(lam.invoke, FunctionName="get /chatty", Payload=b'{"who": "bob"}')
        assert "LogResult" not in plain  # asked for nothing, given nothing
        queued = await call(lam.invoke, FunctionName="get /chatty", InvocationType="Event", LogType="Tail")
        assert queued["StatusCode"] == 202 and "LogResult" not in queued  # a synchronous call's only
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Unsupported log type 'All'"):
            await call(lam.invoke, FunctionName="get /chatty", LogType="All")
        await sandbox.settle(raise_on_failure=False)
        assert sandbox.log_tails.take(request_id) == ""  # nothing kept once answered


async def test_lambda_operations_other_than_invoke_say_they_are_not_emulated(lam: Any) -> None:
    for operation, kwargs in ((lam.list_functions, {}), (lam.get_function, {"FunctionName": "ping"})):
        with pytest.raises(lam.exceptions.ClientError) as err:
            await call(operation, **kwargs)
        assert err.value.response["Error"]["Code"] == "UnknownOperationException"
        assert "a Lambda operation arc-sandbox does not emulate: it serves Invoke" in str(err.value)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
