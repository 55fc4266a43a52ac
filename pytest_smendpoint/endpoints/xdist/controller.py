"""The xdist controller's side: start the shared account, brief every worker, and delete what
the workers deployed once the last one is done (or crashed)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.aws.records import TeardownStatus
from pytest_smendpoint.endpoints.xdist.shared import (
    WORKERINPUT_KEY,
    RunShare,
    SessionGuard,
    record_from_json,
    release,
)
from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.tempdirs import XDIST_PREFIX, owned_path, remove_stale

if TYPE_CHECKING:
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.settings.options import Settings

CONTROLLER_PLUGIN = "smendpoint-xdist"  # `-p no:smendpoint-xdist`: every worker deploys its own


def is_controller(config: pytest.Config) -> bool:
    """xdist will start workers from this process (not a worker, not -n0, not --collect-only)."""
    return (
        config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
        and not config.getoption("collectonly", False)
    )


class Controller(SessionGuard):
    """The xdist controller's side: start the shared account, brief workers, clean up last."""

    def __init__(
        self,
        settings: Settings,
        state: Any,
        config: pytest.Config,
    ) -> None:
        super().__init__(config)
        self.settings = settings
        self.identity: SessionIdentity = state.identity
        self.state = state  # state.SessionState: what the session summary shows
        self.config = config
        # Made when the first worker is set up: a run that stops before that leaves none.
        # Named with this pid: a later run removes it if this one was killed (tempdirs.py).
        self.directory = owned_path(XDIST_PREFIX)
        self.server: Any = None
        self.region: str | None = None

    def start(self) -> None:
        """Start the run's shared server now, if the backend has one (moto's): workers need
        its URL when they start."""
        remove_stale()  # what killed runs left in the temporary folder
        from pytest_smendpoint.aws.backends import kind_of

        self.server = kind_of(self.settings.backend).start_run_server(self.settings)
        self.region = self.server.region if self.server is not None else None

    def pytest_configure_node(self, node: Any) -> None:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        run = RunShare(
            identity=dataclasses.asdict(self.identity),
            directory=str(self.directory),
            server_url=self.server.url if self.server is not None else None,
            region=self.region,
        )
        node.workerinput[WORKERINPUT_KEY] = dataclasses.asdict(run)

    def finish(self, session: pytest.Session) -> None:
        """Delete what workers deployed, then stop the server. Called from plugin.py's trylast
        pytest_sessionfinish: after xdist's own has shut the workers down, before the report."""
        try:
            failed = self.release_all()
            failed = self.release_uploads() or failed
        finally:
            self.close()
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self) -> None:
        try:
            self.close()  # a net: sessionfinish did not run (an error at start-up)
        finally:
            super().pytest_unconfigure()

    def release_all(self) -> bool:
        """Delete what workers deployed or began to deploy; True if something could not be."""
        intents = sorted(self.directory.glob("*.intent.json"))
        if not intents:
            return False
        from pytest_smendpoint.aws.endpoints import confirm_gone
        from pytest_smendpoint.aws.records import EndpointRecord
        from pytest_smendpoint.errors import TeardownError

        with self._sagemaker() as (sagemaker, region, backend_name):
            failed = False
            for intent_path in intents:
                key = intent_path.name.removesuffix(".intent.json")
                intent = json.loads(intent_path.read_text())
                record_path = self.directory / f"{key}.record.json"
                if record_path.exists():
                    record = record_from_json(record_path.read_text())
                else:  # deploy never finished: report what was (maybe) created
                    record = EndpointRecord(
                        name=intent["endpoint_name"],
                        config_name=intent["config_name"],
                        model_names=(intent["model_name"],),
                        region=region,
                        backend=backend_name,
                        deploy_seconds=0.0,
                        owned=True,
                        source="an interrupted deploy",
                    )
                if not record.owned or (self.settings.keep_endpoint and record_path.exists()):
                    self._report(record)
                    continue
                self.config.hook.pytest_smendpoint_before_teardown(
                    config=self.config, endpoint=record
                )
                try:
                    deleted = release(
                        sagemaker, region, backend_name, intent, checked=not record_path.exists()
                    )
                except TeardownError as error:
                    record.teardown = TeardownStatus.FAILED
                    record.manual_commands = error.commands
                    failed = True
                else:
                    record.teardown = TeardownStatus.DELETED
                    record.manual_commands = []
                    if not record_path.exists() and not deleted:
                        continue  # nothing had been created: nothing to report
                    if record_path.exists() or f"endpoint {record.name}" in deleted:
                        # As a single process does: DescribeEndpoint says it is gone.
                        record.deletion_confirmed = confirm_gone(sagemaker, record.name)
                self._report(record)
            return failed

    def _report(self, record: EndpointRecord) -> None:
        """Workers report the endpoint with their own sm_invoke counters (report.py); give
        their entries the teardown that happened here, or report it here if none did."""
        entries = [
            entry
            for payload in getattr(self.state, "worker_payloads", ())
            for entry in payload.get("endpoints", ())
            if entry.get("name") == record.name
        ]
        for entry in entries:
            entry["teardown"] = record.teardown
            entry["manual_commands"] = list(record.manual_commands)
            entry["deletion_confirmed"] = record.deletion_confirmed
        if not entries:
            self.state.endpoints.append(record)

    def release_uploads(self) -> bool:
        """Delete what workers uploaded to S3 (they handed the URIs over); True on a failure,
        which is reported with the commands that finish the job."""
        from pytest_smendpoint.aws.uploads import (
            delete_under,
            delete_uploads,
            is_session_upload,
            removal_commands,
            session_key_prefix,
        )
        from pytest_smendpoint.errors import TeardownError

        uris = [
            uri
            for path in sorted(self.directory.glob("uploads.*.json"))
            for uri in json.loads(path.read_text())["uploads"]
        ]
        # A worker killed before its session end handed nothing over, but the models it
        # resolved for the run are in the share: their uploads are found there.
        for path in sorted(self.directory.glob("model*.json")):
            data = json.loads(path.read_text())
            environment = data.get("environment") or {}
            for uri in (data.get("model_data_url"), environment.get("SAGEMAKER_SUBMIT_DIRECTORY")):
                if uri and is_session_upload(uri, self.identity.session_id):
                    uris.append(uri)
        if self.settings.keep_endpoint:
            return False
        commands = removal_commands(uris)
        failures: list[str] = []
        with self._clients() as (client, region, _):
            if uris:
                failures += delete_uploads(client("s3"), uris)
            if self.settings.async_inference.enabled:
                # The run's asynchronous endpoints are gone: whatever any client's requests
                # left under the run's own default output and failure paths goes too.
                account = client("sts").get_caller_identity()["Account"]
                prefix = (
                    f"s3://sagemaker-{region}-{account}/"
                    f"{session_key_prefix(self.identity.session_id)}/async/"
                )
                lost = delete_under(client("s3"), prefix)
                failures += lost
                commands += [f"aws s3 rm --recursive {prefix}"] if lost else []
        if failures:
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            message = str(TeardownError(failures, commands))
            if reporter is not None:
                reporter.write_line(message, red=True)
        return bool(failures)

    @contextlib.contextmanager
    def _sagemaker(self) -> Iterator[tuple[Any, str, str]]:
        """A SageMaker client for the account workers used: the shared server, or AWS."""
        with self._clients() as (client, region, backend_name):
            yield client("sagemaker"), region, backend_name

    @contextlib.contextmanager
    def _clients(self) -> Iterator[tuple[Callable[[str], Any], str, str]]:
        """Clients for the account workers used (the shared server, or AWS), its region and
        the backend's name; credentials and --sm-env values masked in log records, as the
        workers' are (redaction.py)."""
        from pytest_smendpoint.aws.backends import kind_of
        from pytest_smendpoint.aws.redaction import credentials_redacted

        kind = kind_of(self.settings.backend)
        with (
            kind.run_clients(self.settings, self.server) as (client, region, name, session),
            credentials_redacted(session, also=self.settings.env.values()),
        ):
            yield client, region, name

    def close(self) -> None:
        server, self.server = self.server, None
        try:
            if server is not None:
                server.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
