"""FileStore and the registry document, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry_server.domain.agent import AgentSpec, FactoryRef
from registry_server.domain.errors import StorageUnavailableError, ValidationError
from registry_server.domain.paging import encode_page_token, parse_page_request
from registry_server.registry.document import encode_record, parse_document, render_file
from registry_server.registry.file_store import FileStore, LoadSource

SPEC = AgentSpec("one_agent", FactoryRef("tests.fake_agents", "create_echo_agent", {"prefix": "p"}))


def file_of(*specs: AgentSpec) -> bytes:
    return render_file({spec.name: encode_record(spec) for spec in specs})


def test_rendered_file_is_json_that_parses_back() -> None:
    other = AgentSpec("two_agent", FactoryRef("m", "f"), description='quotes " and ünïcode')
    document = json.loads(file_of(SPEC, other))
    assert document["version"] == "1.0.0"
    assert parse_document(document) == [SPEC, other]
    assert json.loads(render_file({})) == {"version": "1.0.0", "agents": {}}


def test_save_keeps_previous_file_as_backup(tmp_path: Path) -> None:
    store = FileStore(tmp_path, None)
    store.save(b'{"agents": {}}')
    assert not store.backup_path.exists()
    store.save(file_of(SPEC))
    assert store.backup_path.read_bytes() == b'{"agents": {}}'
    assert store.load().specs == [SPEC]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "registry_config.json",
        "registry_config.json.backup",
    ]


def test_failed_write_leaves_the_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path, None)
    store.save(file_of(SPEC))

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("registry_server.registry.file_store.os.replace", fail)
    with pytest.raises(StorageUnavailableError, match="No space left"):
        store.save(b"{}")
    assert store.path.read_bytes() == file_of(SPEC)
    assert not list(tmp_path.glob(".*tmp*"))


def test_load_order_primary_backup_defaults_empty(tmp_path: Path) -> None:
    defaults = tmp_path / "defaults.yaml"
    store = FileStore(tmp_path / "data", defaults)
    assert store.load().source is LoadSource.EMPTY
    defaults.write_text("agents:\n  one_agent:\n    factory: {module: m, function: f}\n")
    assert store.load().source is LoadSource.DEFAULTS
    store.save(file_of(SPEC))
    assert store.load().source is LoadSource.PRIMARY
    store.save(file_of(SPEC))
    store.path.write_text("not json")
    loaded = store.load()
    assert loaded.source is LoadSource.BACKUP and loaded.specs == [SPEC]
    assert [p.read_text() for p in loaded.set_aside] == ["not json"]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"agents": []},
        {"agents": {"x_agent": "nope"}},
        {"agents": {"x_agent": {"factory": {"module": "m", "function": "f"}, "enabled": "yes"}}},
        {"agents": {"x_agent": {"factory": {"module": "m", "function": "f"}, "tags": "one"}}},
        {"agents": {"x_agent": {"name": "y_agent", "factory": {"module": "m", "function": "f"}}}},
        {"agents": {"x_agent": {"factory": {"module": "m", "function": "f"}, "create_time": "yesterday"}}},
    ],
)
def test_malformed_documents_are_rejected(document: object) -> None:
    with pytest.raises(ValueError):
        parse_document(document)


def test_page_tokens_round_trip_and_are_bound_to_filters() -> None:
    token = encode_page_token("b_agent", {"tag": "x"})
    assert parse_page_request(10, token, {"tag": "x"}).cursor == "b_agent"
    with pytest.raises(ValidationError):
        parse_page_request(10, token, {"tag": "y"})
    assert parse_page_request(0, "", {}).size == 50
    assert parse_page_request(5000, "", {}).size == 1000
